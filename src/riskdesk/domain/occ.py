"""OCC / OSI option symbols: parse and format.

The OCC Options Symbology Initiative (OSI) symbol has four fields::

    AAPL  240119C00150000
    |     |     ||
    |     |     |strike x 1000, 8 digits (00150000 = 150.000)
    |     |     right: C (call) or P (put)
    |     expiry YYMMDD (240119 = 2024-01-19; years are 2000-2099)
    root, 1-6 characters, left-justified and space-padded to 6

* The **padded** form is exactly 21 characters (``AAPL  240119C00150000``).
* The **compact** form drops the padding (``AAPL240119C00150000``); 16-21 characters.
  For a 6-character root both forms are the same string.

Roots are 1-6 characters of ``A-Z``, ``0-9`` and ``.``, starting with a letter or digit
(``SPXW``, ``BRK.B``, adjusted roots like ``AAPL1``).  The root is kept as the contract's
``underlying``; mapping a root to its index (``SPXW`` -> ``SPX``) and choosing exercise style
and settlement are the caller's job (``parse_occ(..., style=EUROPEAN, settlement=AM)`` for
SPX monthlies).

Strikes are exact :class:`~decimal.Decimal` values: ``00150000`` -> ``Decimal("150")``,
``00012500`` -> ``Decimal("12.5")``; formatting refuses strikes with more than three decimals.

Examples
--------
>>> c = parse_occ("AAPL  240119C00150000")
>>> c.underlying, c.expiry.isoformat(), c.strike, c.right.value
('AAPL', '2024-01-19', Decimal('150'), 'C')
>>> format_occ(c, padded=False)
'AAPL240119C00150000'

"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

from riskdesk.domain.instruments import ExerciseStyle, OptionContract, OptionRight, Settlement

__all__ = [
    "OccSymbolError",
    "format_occ",
    "is_occ_symbol",
    "parse_occ",
]

_ROOT_WIDTH = 6
_TAIL_WIDTH = 15  # YYMMDD + C/P + 8-digit strike
_PADDED_LENGTH = _ROOT_WIDTH + _TAIL_WIDTH
_MIN_LENGTH = 1 + _TAIL_WIDTH
_STRIKE_SCALE = 1000
_MAX_STRIKE_UNITS = 10**8 - 1
_ROOT_RE = re.compile(r"[A-Z0-9][A-Z0-9.]{0,5}")
_DIGITS6_RE = re.compile(r"[0-9]{6}")
_DIGITS8_RE = re.compile(r"[0-9]{8}")
_TAIL_RE = re.compile(r"[0-9]{6}[CP][0-9]{8}")

_LAYOUT = (
    "an OCC symbol is a 1-6 character root (space-padded to 6 in the 21-character OSI "
    "form), then YYMMDD, C or P, and the strike x 1000 as 8 digits, e.g. "
    "'AAPL  240119C00150000' or 'AAPL240119C00150000'"
)
_ROOT_RULE = "roots are 1-6 characters of A-Z, 0-9 or '.', starting with a letter or digit"


class OccSymbolError(ValueError):
    """A string is not a valid OCC symbol, or a contract cannot be written as one.

    Attributes
    ----------
    symbol : str
        The offending symbol (or the contract key when formatting).
    part : str
        Which field is wrong: ``length``, ``root``, ``expiry``, ``right`` or ``strike``.
    rule : str
        What the field must look like.

    """

    def __init__(self, symbol: str, part: str, problem: str, rule: str) -> None:
        self.symbol = symbol
        self.part = part
        self.rule = rule
        super().__init__(f"invalid OCC symbol {symbol!r}: {part} {problem}; {rule}")


def _split(symbol: str) -> tuple[str, str]:
    """Split into (root, 15-character tail), checking length and padding."""
    n = len(symbol)
    if symbol != symbol.strip():
        raise OccSymbolError(
            symbol,
            "symbol",
            "has leading or trailing whitespace",
            "strip it first; only the padded form has spaces, between root and expiry",
        )
    if n == _TAIL_WIDTH and _TAIL_RE.fullmatch(symbol) is not None:
        raise OccSymbolError(symbol, "root", "is empty", _ROOT_RULE)
    if n < _MIN_LENGTH:
        raise OccSymbolError(symbol, "length", f"is {n} characters (minimum 16)", _LAYOUT)
    head, tail = symbol[: n - _TAIL_WIDTH], symbol[n - _TAIL_WIDTH :]
    root = head.rstrip(" ")  # non-empty: head has >= 1 character and no leading space
    if root != head and n != _PADDED_LENGTH:
        raise OccSymbolError(
            symbol,
            "length",
            f"is {n} characters with a space-padded root {head!r}",
            "the padded OSI form is exactly 21 characters (root left-justified in 6); "
            "the compact form has no spaces",
        )
    if len(root) > _ROOT_WIDTH:
        raise OccSymbolError(symbol, "root", f"{root!r} has {len(root)} characters", _ROOT_RULE)
    if _ROOT_RE.fullmatch(root) is None:
        raise OccSymbolError(symbol, "root", f"{root!r} has invalid characters", _ROOT_RULE)
    return root, tail


def _parse_expiry(symbol: str, field: str) -> date:
    rule = "expiry must be a real calendar date written YYMMDD (years 2000-2099)"
    if _DIGITS6_RE.fullmatch(field) is None:
        raise OccSymbolError(symbol, "expiry", f"{field!r} is not 6 digits", rule)
    try:
        return date(2000 + int(field[:2]), int(field[2:4]), int(field[4:6]))
    except ValueError as exc:
        raise OccSymbolError(symbol, "expiry", f"{field!r} is not a date ({exc})", rule) from exc


def _parse_strike(symbol: str, field: str) -> Decimal:
    rule = "strike is the price x 1000 as 8 ASCII digits, > 0 (00150000 = 150.000)"
    if _DIGITS8_RE.fullmatch(field) is None:
        raise OccSymbolError(symbol, "strike", f"{field!r} is not 8 digits", rule)
    units = int(field)
    if units == 0:
        raise OccSymbolError(symbol, "strike", f"{field!r} is zero", rule)
    return Decimal(units) / _STRIKE_SCALE


def parse_occ(
    symbol: str,
    *,
    style: ExerciseStyle = ExerciseStyle.AMERICAN,
    settlement: Settlement = Settlement.PM,
    multiplier: int = 100,
) -> OptionContract:
    """Parse a padded (21-character) or compact OCC symbol into an :class:`OptionContract`.

    Parameters
    ----------
    symbol : str
        ``AAPL  240119C00150000`` or ``AAPL240119C00150000``; no surrounding whitespace,
        upper case.
    style : ExerciseStyle
        Exercise style to record (not encoded in the symbol); American by default.
    settlement : Settlement
        PM (close) by default; pass ``Settlement.AM`` for AM-settled index monthlies (SPX).
    multiplier : int
        Shares per contract (not encoded in the symbol), 100 by default.

    Returns
    -------
    OptionContract
        ``underlying`` is the OCC root, ``strike`` an exact Decimal (units of 0.001).

    Raises
    ------
    OccSymbolError
        Naming the symbol, the wrong field and the rule: bad length, empty or too-long root,
        invalid date (``240230``), right other than ``C``/``P``, non-digit or zero strike.

    """
    if not isinstance(symbol, str):
        raise OccSymbolError(
            repr(symbol), "symbol", f"has type {type(symbol).__name__}", "an OCC symbol is a str"
        )
    root, tail = _split(symbol)
    expiry = _parse_expiry(symbol, tail[0:6])
    right_field = tail[6]
    if right_field not in ("C", "P"):
        raise OccSymbolError(
            symbol,
            "right",
            f"{right_field!r} is not C or P",
            "the character after YYMMDD is C (call) or P (put)",
        )
    strike = _parse_strike(symbol, tail[7:15])
    return OptionContract(
        underlying=root,
        expiry=expiry,
        strike=strike,
        right=OptionRight(right_field),
        style=style,
        settlement=settlement,
        multiplier=multiplier,
    )


def format_occ(contract: OptionContract, *, padded: bool = True) -> str:
    """Write ``contract`` as an OCC symbol.

    Parameters
    ----------
    contract : OptionContract
        ``underlying`` must be a valid root (1-6 of ``A-Z0-9.``), the expiry in 2000-2099
        and the strike a multiple of 0.001 below 100 000.
    padded : bool
        True (default): the 21-character OSI form with the root padded to 6 characters;
        False: the compact form without padding.

    Returns
    -------
    str
        e.g. ``'AAPL  240119C00150000'`` / ``'AAPL240119C00150000'``.

    Raises
    ------
    OccSymbolError
        If a field cannot be represented; ``symbol`` is then the contract key.

    """
    key = contract.key
    root = contract.underlying
    if len(root) > _ROOT_WIDTH or _ROOT_RE.fullmatch(root) is None:
        raise OccSymbolError(key, "root", f"{root!r} cannot be an OCC root", _ROOT_RULE)
    if not 2000 <= contract.expiry.year <= 2099:
        raise OccSymbolError(
            key,
            "expiry",
            f"{contract.expiry.isoformat()} is out of range",
            "OCC symbols have two-digit years, 2000-2099",
        )
    scaled = Decimal(contract.strike) * _STRIKE_SCALE
    strike_rule = "the strike x 1000 must be an integer from 1 to 99999999 (at most 3 decimals)"
    if scaled != scaled.to_integral_value():
        raise OccSymbolError(
            key, "strike", f"{contract.strike} x 1000 = {scaled} is not an integer", strike_rule
        )
    units = int(scaled)
    if not 1 <= units <= _MAX_STRIKE_UNITS:
        raise OccSymbolError(key, "strike", f"{contract.strike} is out of range", strike_rule)
    root_field = root.ljust(_ROOT_WIDTH) if padded else root
    return f"{root_field}{contract.expiry:%y%m%d}{contract.right.value}{units:08d}"


def is_occ_symbol(text: object) -> bool:
    """Return True when ``text`` parses with :func:`parse_occ` (either form), else False."""
    if not isinstance(text, str):
        return False
    try:
        parse_occ(text)
    except ValueError:
        return False
    return True
