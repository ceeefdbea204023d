"""What every broker adapter's wire parsing reports the same way (pure, no I/O).

The rules for reading a value (which sentinels mean "unset", whether a non-number is an
error) belong to each broker's ``parsing`` module; this module holds only how a malformed
value is named in an error: :class:`WireParseError` (``where`` and ``problem``) and
:func:`describe` (a value's ``repr``, shortened).

Examples
--------
>>> describe("x" * 100)[-5:]
'xx...'
>>> str(WireParseError("Greeks.delta", "'oops' is not numeric"))
"malformed Greeks.delta: 'oops' is not numeric"

"""

from __future__ import annotations

from typing import Final

__all__ = ["WireParseError", "describe"]

_DESCRIBE_MAX: Final = 80


class WireParseError(ValueError):
    """A broker wire value is malformed (the base of each adapter's parse error).

    Attributes
    ----------
    where : str
        What was being read.
    problem : str
        What is wrong with it, with the offending value.

    """

    def __init__(self, where: str, problem: str) -> None:
        self.where = where
        self.problem = problem
        super().__init__(f"malformed {where}: {problem}")


def describe(value: object) -> str:
    """``repr(value)``, cut to 80 characters (ending in ``...``) for an error message.

    Parameters
    ----------
    value : object
        The offending value.

    Returns
    -------
    str
        Its ``repr``, or the first 77 characters of it and ``...`` when longer than 80.

    """
    text = repr(value)
    return text if len(text) <= _DESCRIBE_MAX else text[: _DESCRIBE_MAX - 3] + "..."
