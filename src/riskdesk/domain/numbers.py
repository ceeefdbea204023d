"""Strict parsing and range rules for the numbers users type and files carry.

Python's :class:`~decimal.Decimal` and :func:`float` accept more than a user means by a
number: ``Decimal("1_000")`` is 1000, ``Decimal("\u0661")`` (an Arabic-Indic digit) is 1, and
``float("nan")`` is a float. riskdesk reads numbers with :func:`parse_decimal` /
:func:`parse_float`, which accept plain ASCII decimal text only, and checks money-like amounts
with :func:`check_amount` against what the database stores exactly: at most
:data:`AMOUNT_SCALE` decimal places and an absolute value below ``10 **``
:data:`AMOUNT_INTEGER_DIGITS` (``NUMERIC(20, 8)``). A value that would be rounded or would not
fit is refused with a :class:`ValueError` that names the field, never quantised silently.

>>> parse_decimal("1.25", field="--price")
Decimal('1.25')
>>> check_amount(Decimal("0.123456789"), field="entry_price")
Traceback (most recent call last):
...
ValueError: entry_price 0.123456789 has 9 decimal places; at most 8 are stored exactly
"""

from __future__ import annotations

import math
import re
from decimal import Decimal, InvalidOperation

__all__ = [
    "AMOUNT_INTEGER_DIGITS",
    "AMOUNT_SCALE",
    "NumberOutOfRangeError",
    "check_amount",
    "check_whole",
    "decimal_places",
    "parse_decimal",
    "parse_float",
]

AMOUNT_SCALE = 8
"""Decimal places stored exactly for money, prices and quantities (``NUMERIC(20, 8)``)."""

AMOUNT_INTEGER_DIGITS = 12
"""Digits before the point that ``NUMERIC(20, 8)`` holds: absolute values below 1e12."""


class NumberOutOfRangeError(ValueError):
    """Well-formed number text whose exponent is beyond what riskdesk reads (``1e999999999``)."""


_WHOLE_DIGITS = 18
_MAX_EXPONENT = 1000

_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?", re.ASCII)
"""Plain ASCII decimal text: no underscores, no non-ASCII digits, no nan/inf words."""


def parse_decimal(text: str, *, field: str) -> Decimal:
    """Parse plain ASCII decimal text (``12``, ``-0.5``, ``1e3``) into a finite Decimal.

    Raises
    ------
    ValueError
        Naming ``field`` and the text, for anything else (``1_000``, ``nan``, ``inf``,
        non-ASCII digits, empty text).

    """
    stripped = text.strip()
    if not _NUMBER.fullmatch(stripped):
        raise ValueError(
            f"{field} {_clip(text)!r} is not a plain decimal number (digits 0-9, an optional "
            "sign, point and exponent, e.g. 12.5 or -3)"
        )
    try:
        value = Decimal(stripped)
    except InvalidOperation as exc:  # pragma: no cover - the pattern admits valid text only
        raise ValueError(f"{field} {_clip(text)!r} is not a decimal number") from exc
    if not value.is_zero() and abs(value.adjusted()) > _MAX_EXPONENT:
        raise NumberOutOfRangeError(
            f"{field} {_clip(text)!r} is out of range (exponent beyond 1e{_MAX_EXPONENT})"
        )
    return value


def parse_float(
    text: str, *, field: str, low: float | None = None, high: float | None = None
) -> float:
    """Parse plain decimal text into a finite float, optionally within ``[low, high]``."""
    number = parse_decimal(text, field=field)
    value = float(number)
    if not math.isfinite(value):
        raise ValueError(f"{field} {_clip(text)!r} is too large to be a finite number")
    if low is not None and value < low:
        raise ValueError(f"{field} must be >= {low:g}, got {_clip(text)}")
    if high is not None and value > high:
        raise ValueError(f"{field} must be <= {high:g}, got {_clip(text)}")
    return value


def decimal_places(value: Decimal) -> int:
    """Digits after the point once trailing zeros are dropped (``1.50`` -> 1, ``1E+2`` -> 0).

    Works on the digits themselves (no arithmetic context), so it is exact for any length.
    """
    _sign, digits, exponent = value.as_tuple()
    if not isinstance(exponent, int):
        raise ValueError(f"{value!r} is not a finite decimal")
    count = len(digits)
    while count > 1 and digits[count - 1] == 0:
        count -= 1
        exponent += 1
    if count == 1 and digits[0] == 0:
        return 0
    return max(0, -exponent)


def check_amount(value: Decimal, *, field: str) -> Decimal:
    """Return ``value`` if the database stores it exactly; ValueError naming ``field`` if not.

    Exactly means finite, at most :data:`AMOUNT_SCALE` decimal places once trailing zeros are
    dropped, and an absolute value below ``1e12``. The magnitude is checked on the exponent
    first, so absurd values (``1e999999999``) are refused without any arithmetic.
    """
    if not value.is_finite():
        raise ValueError(f"{field} must be finite, got {value}")
    if value.is_zero():
        return value
    if value.adjusted() >= AMOUNT_INTEGER_DIGITS:
        raise ValueError(
            f"{field} {_clip(str(value))} is too large: the absolute value must be below "
            f"1e{AMOUNT_INTEGER_DIGITS}"
        )
    if value.adjusted() < -40:
        raise ValueError(
            f"{field} {_clip(str(value))} is smaller than 1e-{AMOUNT_SCALE}: at most "
            f"{AMOUNT_SCALE} decimal places are stored exactly"
        )
    places = decimal_places(value)
    if places > AMOUNT_SCALE:
        raise ValueError(
            f"{field} {_clip(format(value, 'f'))} has {places} decimal places; at most "
            f"{AMOUNT_SCALE} are stored exactly"
        )
    return value


def check_whole(value: Decimal, *, field: str, what: str = "a whole number") -> Decimal:
    """Return ``value`` if it is integral (and below 1e18); ValueError naming ``field`` otherwise."""
    if not value.is_finite() or (not value.is_zero() and value.adjusted() >= _WHOLE_DIGITS):
        raise ValueError(f"{field} {_clip(str(value))} is too large to be {what}")
    if value != value.to_integral_value():
        raise ValueError(f"{field} must be {what}, got {_clip(format(value, 'f'))}")
    return value


def _clip(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else f"{text[: limit - 3]}..."
