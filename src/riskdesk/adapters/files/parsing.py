"""Pure row validation for option-chain and underlying-quote files (no I/O).

Every reader in :mod:`riskdesk.adapters.files.chains` turns a file into rows of raw cell values
(``str`` from CSV; ``str``/``int``/``float``/``Decimal``/``date``/``datetime``/``None`` from
Parquet) keyed by *canonical* column names, and hands each row to
:func:`validate_option_row` or :func:`validate_underlying_row`. They return either a parsed row
or the list of :class:`RowError` explaining why the row is rejected; nothing is coerced
silently (a strike ``"abc"`` is an error, never NaN).

A chain file is first validated column-wise (:func:`validate_option_columns`): each column is
an :class:`EncodedColumn` (its distinct cells and one code per row), the parsers and rules
run once per distinct cell, and a row whose cells all pass is assembled from those values.
Every other row goes through :func:`validate_option_row`, so the errors reported for a bad row
are the per-row validator's, whichever path found it.

Missing values
--------------
A cell is *missing* when it is ``None``, an empty or blank string, one of the markers
``NA``, ``N/A``, ``NaN``, ``null``, ``None`` (any case), or a float NaN. A missing required
value is an error; a missing optional value is simply absent.

Storage limits
--------------
A row the store would refuse or round is a row error, never a failed import: prices,
strikes and spots must fit ``NUMERIC(20, 8)`` exactly (at most 8 decimal places, absolute
value below 1e12: :func:`riskdesk.domain.numbers.check_amount`), the multiplier a 32-bit
integer (:data:`~riskdesk.domain.market.MAX_MULTIPLIER`), volume and open interest a 64-bit one
(:data:`~riskdesk.domain.market.MAX_COUNT`), and every float (iv, Greeks) must be finite.

Accepted cell formats
---------------------
* numbers: plain ASCII decimals such as ``12``, ``-0.5``, ``1.25``, ``1e-3`` (no thousands
  separators, no ``1_000``, no non-ASCII digits such as ``\u0661``, no currency signs, no
  ``inf``), read by :func:`riskdesk.domain.numbers.parse_decimal`; Parquet integers, floats
  and decimals; booleans are refused;
* dates: ``YYYY-MM-DD``, ``YYYYMMDD`` or ``MM/DD/YYYY``; Parquet ``date32``, or a timestamp at
  midnight;
* timestamps: ISO-8601 with an offset or ``Z`` (``2024-06-03T19:59:00Z``); naive values are
  refused unless the caller names the zone they were written in (``naive_timezone``);
  Parquet timestamps with a time zone (or naive ones with ``naive_timezone``);
* option type: ``C``/``P``/``CALL``/``PUT`` (any case);
* OCC symbols: ``ROOT YYMMDD C|P STRIKE*1000`` in 8 digits, with or without the OSI space
  padding of the root and an optional ``O:`` prefix, e.g. ``AAPL240119C00150000`` or
  ``SPY   240621P00500000``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import numpy.typing as npt

from riskdesk.domain import numbers
from riskdesk.domain.instruments import ExerciseStyle, OptionContract, OptionRight, Settlement
from riskdesk.domain.market import MAX_COUNT, MAX_MULTIPLIER
from riskdesk.domain.occ import OccSymbolError, parse_occ
from riskdesk.domain.timeutil import expiry_datetime, is_trading_day

__all__ = [
    "CLIP_CHARS",
    "CONTRACT_COLUMNS",
    "GREEK_COLUMNS",
    "MAX_IV",
    "MISSING_MARKERS",
    "EncodedColumn",
    "FieldError",
    "ImportReport",
    "OccSymbol",
    "OptionColumns",
    "ParsedOptionRow",
    "ParsedUnderlyingRow",
    "RowError",
    "clip",
    "is_missing",
    "option_columns",
    "parse_date",
    "parse_decimal",
    "parse_float",
    "parse_int",
    "parse_occ_symbol",
    "parse_option_right",
    "parse_ticker",
    "parse_timestamp",
    "parsed_option_row",
    "validate_option_columns",
    "validate_option_row",
    "validate_underlying_row",
]

MISSING_MARKERS: frozenset[str] = frozenset({"", "na", "n/a", "nan", "null", "none"})
"""Lower-cased cell texts that mean "no value"."""

CONTRACT_COLUMNS: tuple[str, ...] = ("underlying", "expiration", "strike", "option_type")
"""Columns that name a contract; together they replace (or cross-check) ``occ_symbol``."""

GREEK_COLUMNS: tuple[str, ...] = ("delta", "gamma", "theta", "vega")
"""Provider Greeks accepted (validated and kept in :attr:`ImportReport.greeks`)."""

MAX_IV = 10.0
"""Largest accepted implied vol (a decimal fraction: 0.25 is 25%; 1000% is surely a unit bug)."""

CLIP_CHARS = 60
"""Longest cell text or column name echoed in an error or warning (longer ones are clipped)."""

_MAX_EXPONENT = 300
"""Numbers whose decimal exponent is beyond +/- this are refused before any arithmetic."""

_WHOLE_LIMIT = Decimal(2) ** 63
"""Whole-number cells must be below this in absolute value (the widest integer column)."""

_TICKER = re.compile(r"^[A-Z0-9][A-Z0-9./-]{0,9}$")
_RIGHTS = {
    "C": OptionRight.CALL,
    "CALL": OptionRight.CALL,
    "P": OptionRight.PUT,
    "PUT": OptionRight.PUT,
}
_DATE_FORMATS = ("%Y-%m-%d", "%Y%m%d", "%m/%d/%Y")


class FieldError(ValueError):
    """One cell broke a rule; the message is the rule (the caller adds row, column, value)."""


def clip(text: str, limit: int = CLIP_CHARS) -> str:
    """``text`` cut to ``limit`` characters, marking a cut with ``...`` and the full length.

    >>> clip("x" * 100, 20)
    'xxxxxxxxxxxxxxxxx... (100 chars)'
    """
    if len(text) <= limit:
        return text
    return f"{text[: max(limit - 3, 0)]}... ({len(text)} chars)"


@dataclass(frozen=True, slots=True)
class RowError:
    """Why a row was rejected.

    ``row`` is the 1-based data row number (the header is not counted: in a CSV with one
    header line, data row ``n`` is line ``n + 1``); ``column`` is the column as named in the
    file (or a canonical name for rules spanning columns); ``value`` is the raw cell text,
    clipped to :data:`CLIP_CHARS` characters (see :func:`clip`).
    """

    row: int
    column: str
    value: str
    reason: str

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON output."""
        return {"row": self.row, "column": self.column, "value": self.value, "reason": self.reason}

    def __str__(self) -> str:
        return f"row {self.row}, column {self.column!r}, value {self.value!r}: {self.reason}"


@dataclass(frozen=True, slots=True)
class ImportReport:
    """Outcome of importing one file: counts, rejected rows with reasons, warnings.

    ``rows_read == rows_ok + rows_rejected``. ``errors`` may hold several entries per rejected
    row (one per broken rule). ``greeks`` keeps provider Greeks by contract key (the snapshot
    has no place for them). ``underlyings`` is the report of the separate underlying-quotes
    file, when one was given.
    """

    path: str
    rows_read: int
    rows_ok: int
    rows_rejected: int
    errors: tuple[RowError, ...] = ()
    warnings: tuple[str, ...] = ()
    greeks: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    underlyings: ImportReport | None = None

    @property
    def rejected_rows(self) -> tuple[int, ...]:
        """Sorted distinct row numbers that were rejected."""
        return tuple(sorted({e.row for e in self.errors}))

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict."""
        return {
            "path": self.path,
            "rows_read": self.rows_read,
            "rows_ok": self.rows_ok,
            "rows_rejected": self.rows_rejected,
            "errors": [e.to_dict() for e in self.errors],
            "warnings": list(self.warnings),
            "greeks": {k: dict(v) for k, v in self.greeks.items()},
            "underlyings": None if self.underlyings is None else self.underlyings.to_dict(),
        }


@dataclass(frozen=True, slots=True)
class OccSymbol:
    """The fields of an OCC option symbol."""

    root: str
    expiry: date
    right: OptionRight
    strike: Decimal


@dataclass(frozen=True, slots=True)
class ParsedOptionRow:
    """A valid option-chain row."""

    contract: OptionContract
    bid: Decimal | None
    ask: Decimal | None
    mark: Decimal | None
    iv: float | None
    greeks: Mapping[str, float]
    volume: int | None
    open_interest: int | None
    quote_time: datetime | None
    underlying_price: Decimal | None


@dataclass(frozen=True, slots=True)
class ParsedUnderlyingRow:
    """A valid underlying-quote row; ``spot`` is resolved (spot, else mid, else last)."""

    symbol: str
    spot: Decimal
    bid: Decimal | None
    ask: Decimal | None
    last: Decimal | None
    quote_time: datetime | None


def raw_text(value: object) -> str:
    """Return the cell as text for error messages (``""`` for None)."""
    if value is None:
        return ""
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def is_missing(value: object) -> bool:
    """Whether a cell means "no value" (see module docstring)."""
    if value is None:
        return True
    if isinstance(value, str):
        return value.strip().lower() in MISSING_MARKERS
    if isinstance(value, float):
        return math.isnan(value)
    return False


def parse_decimal(value: object) -> Decimal:
    """Parse a finite decimal from a number or plain ASCII decimal text; FieldError otherwise.

    Text goes through :func:`riskdesk.domain.numbers.parse_decimal` (no ``1_000``, no
    non-ASCII digits, no ``nan``/``inf``); numbers whose exponent is beyond +/-300
    (``1e999999``) are refused before any arithmetic.

    >>> parse_decimal(" 1.25 ")
    Decimal('1.25')
    """
    if isinstance(value, bool):
        raise FieldError("must be a number, got a boolean")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        if abs(value) >= 10**_MAX_EXPONENT:
            raise FieldError(f"number out of range (beyond 1e{_MAX_EXPONENT})")
        result = Decimal(value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise FieldError("must be a finite number")
        result = Decimal(repr(value))
    elif isinstance(value, str):
        try:
            result = numbers.parse_decimal(value, field="cell")
        except numbers.NumberOutOfRangeError as exc:
            raise FieldError(f"number out of range (beyond 1e+/-{_MAX_EXPONENT})") from exc
        except ValueError as exc:
            raise FieldError(
                "not a number (plain ASCII decimal like 12.5 or -3 expected: no '_', "
                "thousands separators or non-ASCII digits)"
            ) from exc
    else:
        raise FieldError(f"must be a number, got {type(value).__name__}")
    if not result.is_finite():
        raise FieldError("must be a finite number")
    if result and not -_MAX_EXPONENT <= result.adjusted() <= _MAX_EXPONENT:
        raise FieldError(f"number out of range (beyond 1e+/-{_MAX_EXPONENT})")
    return result


def parse_float(value: object) -> float:
    """Parse a finite float from a number or plain decimal text; FieldError otherwise."""
    if isinstance(value, float) and not isinstance(value, bool):
        result = value
    else:
        result = float(parse_decimal(value))
    if not math.isfinite(result):
        raise FieldError("must be a finite number")
    return result


def parse_int(value: object) -> int:
    """Parse a whole number (``12`` or ``12.0``, never ``12.5``) below 2**63; FieldError otherwise."""
    number = parse_decimal(value)
    if abs(number) >= _WHOLE_LIMIT:
        raise FieldError(f"whole number out of range: must be below 2**63 ({_WHOLE_LIMIT})")
    if number != number.to_integral_value():
        raise FieldError("must be a whole number")
    return int(number)


def _amount(value: object) -> Decimal:
    """Parse a price, strike or spot that the store keeps exactly (NUMERIC(20, 8))."""
    number = parse_decimal(value)
    try:
        numbers.check_amount(number, field="number")
    except ValueError as exc:
        raise FieldError(str(exc)) from exc
    return number


def parse_date(value: object) -> date:
    """Parse a calendar date (formats in the module docstring); FieldError otherwise."""
    if isinstance(value, datetime):
        if value.time() != time(0, 0):
            raise FieldError("must be a date, got a timestamp with a time of day")
        return value.date()
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        raise FieldError(f"must be a date, got {type(value).__name__}")
    text = value.strip()
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()  # noqa: DTZ007 - a date, no time zone
        except ValueError:
            continue
    raise FieldError("unparseable date (use YYYY-MM-DD, YYYYMMDD or MM/DD/YYYY)")


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"naive_timezone {name!r} is not an IANA time zone") from exc


def parse_timestamp(value: object, *, naive_timezone: str | None = None) -> datetime:
    """Parse an aware timestamp (naive only with ``naive_timezone``); FieldError otherwise."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError as exc:
            raise FieldError("unparseable timestamp (ISO-8601 with offset expected)") from exc
    else:
        raise FieldError(f"must be a timestamp, got {type(value).__name__}")
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        if naive_timezone is None:
            raise FieldError(
                "timestamp has no time zone (add an offset such as Z or -04:00, or import "
                "with naive_timezone='America/New_York')"
            )
        parsed = parsed.replace(tzinfo=_zone(naive_timezone))
    return parsed


def parse_option_right(value: object) -> OptionRight:
    """``C``/``P``/``CALL``/``PUT`` (any case); FieldError otherwise."""
    if not isinstance(value, str):
        raise FieldError(
            f"unknown option_type (C, P, CALL or PUT expected), got {type(value).__name__}"
        )
    right = _RIGHTS.get(value.strip().upper())
    if right is None:
        raise FieldError("unknown option_type (C, P, CALL or PUT expected)")
    return right


def parse_ticker(value: object) -> str:
    """Parse an upper-cased ticker such as ``SPY`` or ``BRK.B``; FieldError otherwise."""
    if not isinstance(value, str):
        raise FieldError(f"must be a ticker, got {type(value).__name__}")
    text = value.strip().upper()
    if not _TICKER.match(text):
        raise FieldError("not a ticker (1-10 letters, digits, '.', '/', '-')")
    return text


def parse_occ_symbol(value: object) -> OccSymbol:
    """Parse the fields of an OCC symbol such as ``AAPL240119C00150000``; FieldError otherwise.

    Surrounding blanks and an ``O:`` prefix are dropped and letters upper-cased, then
    :func:`riskdesk.domain.occ.parse_occ` reads the padded or compact form.

    >>> parse_occ_symbol("AAPL240119C00150000").strike
    Decimal('150')
    """
    if not isinstance(value, str):
        raise FieldError(f"must be an OCC symbol, got {type(value).__name__}")
    text = value.strip().upper()
    text = text.removeprefix("O:")
    try:
        contract = parse_occ(text)
    except OccSymbolError as exc:
        raise FieldError(str(exc)) from exc
    return OccSymbol(
        root=contract.underlying,
        expiry=contract.expiry,
        right=contract.right,
        strike=contract.strike.normalize(),
    )


class _RowCollector:
    """Accumulates FieldErrors of one row as RowErrors, with the file's column names."""

    def __init__(self, raw: Mapping[str, object], *, row: int, names: Mapping[str, str]) -> None:
        self.raw = raw
        self.row = row
        self.names = names
        self.errors: list[RowError] = []

    def name(self, column: str) -> str:
        return self.names.get(column, column)

    def add(self, column: str, reason: str, value: object = None) -> None:
        shown = clip(raw_text(self.raw.get(column) if value is None else value))
        self.errors.append(RowError(self.row, clip(self.name(column)), shown, reason))

    def get(self, column: str, parser: Any, *, required: bool = False) -> Any:
        """Return the parsed value; None if missing (an error if required) or invalid (an error)."""
        value = self.raw.get(column)
        if is_missing(value):
            if required:
                self.add(column, "missing required value")
            return None
        try:
            return parser(value)
        except FieldError as exc:
            self.add(column, str(exc))
            return None


def _non_negative(collector: _RowCollector, column: str, value: Decimal | None) -> Decimal | None:
    if value is not None and value < 0:
        collector.add(column, "negative price")
        return None
    return value


def _check_quote_time(
    collector: _RowCollector, column: str, value: datetime | None, as_of: datetime
) -> None:
    if value is not None and value > as_of:
        collector.add(column, f"quote timestamp is after as_of {as_of.isoformat()}")


def validate_option_row(
    raw: Mapping[str, object],
    *,
    row: int,
    as_of: datetime,
    names: Mapping[str, str] | None = None,
    naive_timezone: str | None = None,
) -> tuple[ParsedOptionRow | None, list[RowError]]:
    """Validate one option-chain row keyed by canonical column names.

    Parameters
    ----------
    raw : Mapping[str, object]
        Cell values by canonical column (see :mod:`riskdesk.adapters.files.chains`).
    row : int
        1-based data row number, used in the errors.
    as_of : datetime
        Snapshot time (UTC); contracts whose expiry instant is at or before it are rejected
        ("expired before as_of"), as are quotes timestamped after it.
    names : Mapping[str, str] or None
        Canonical -> file column names, so errors name the column as the user wrote it.
    naive_timezone : str or None
        IANA zone for timestamps without an offset; None refuses them.

    Returns
    -------
    tuple
        ``(ParsedOptionRow, [])`` for a good row, ``(None, errors)`` for a bad one.

    """
    c = _RowCollector(raw, row=row, names=names or {})
    present = [k for k in CONTRACT_COLUMNS if k in raw]
    use_fields = len(present) == len(CONTRACT_COLUMNS)
    occ: OccSymbol | None = c.get("occ_symbol", parse_occ_symbol, required=not use_fields)
    underlying = c.get("underlying", parse_ticker, required=True) if "underlying" in raw else None
    expiry = c.get("expiration", parse_date, required=True) if "expiration" in raw else None
    strike = c.get("strike", _amount, required=True) if "strike" in raw else None
    right = (
        c.get("option_type", parse_option_right, required=True) if "option_type" in raw else None
    )
    if occ is not None:
        mismatch = [
            name
            for name, mine, theirs in (
                ("expiration", expiry, occ.expiry),
                ("strike", strike, occ.strike),
                ("option_type", right, occ.right),
            )
            if name in raw and mine is not None and mine != theirs
        ]
        if mismatch:
            c.add("occ_symbol", f"OCC symbol disagrees with {', '.join(mismatch)}")
        if not use_fields:
            # The OCC root can differ from the underlying (SPXW for SPX, AAPL1 after an
            # adjustment), so an underlying column, when present, names the underlying.
            underlying = underlying if "underlying" in raw else occ.root
            expiry, strike, right = occ.expiry, occ.strike, occ.right

    if strike is not None and strike <= 0:
        c.add("strike", "strike must be > 0")
        strike = None
    style = c.get("style", _parse_style) or ExerciseStyle.AMERICAN
    settlement = c.get("settlement", _parse_settlement) or Settlement.PM
    multiplier = c.get("multiplier", parse_int)
    if multiplier is not None and multiplier <= 0:
        c.add("multiplier", "multiplier must be > 0")
    elif multiplier is not None and multiplier > MAX_MULTIPLIER:
        c.add("multiplier", f"multiplier must be <= {MAX_MULTIPLIER} (a 32-bit integer column)")
    if expiry is not None:
        column = "expiration" if "expiration" in raw else "occ_symbol"
        _check_expiry(c, expiry, settlement, as_of, column=column)

    bid = _non_negative(c, "bid", c.get("bid", _amount))
    ask = _non_negative(c, "ask", c.get("ask", _amount))
    mark = _non_negative(c, "mark", c.get("mark", _amount))
    if bid is not None and ask is not None and ask < bid:
        c.add("ask", f"ask < bid ({ask} < {bid})")
    iv = c.get("iv", parse_float)
    if iv is not None and not 0.0 <= iv <= MAX_IV:
        c.add("iv", f"iv must be a decimal fraction in [0, {MAX_IV:g}] (0.25 means 25%)")
    greeks: dict[str, float] = {}
    for name in GREEK_COLUMNS:
        value = c.get(name, parse_float)
        if value is not None:
            greeks[name] = value
    if "delta" in greeks and not -1.0 <= greeks["delta"] <= 1.0:
        c.add("delta", "delta must be in [-1, 1]")
    for name in ("gamma", "vega"):
        if greeks.get(name, 0.0) < 0.0:
            c.add(name, f"{name} must be >= 0")
    volume = c.get("volume", parse_int)
    open_interest = c.get("open_interest", parse_int)
    for name, count in (("volume", volume), ("open_interest", open_interest)):
        if count is not None and count < 0:
            c.add(name, f"{name} must be >= 0")
        elif count is not None and count > MAX_COUNT:
            c.add(name, f"{name} must be <= {MAX_COUNT} (a 64-bit integer column)")
    quote_time = c.get("quote_time", lambda v: parse_timestamp(v, naive_timezone=naive_timezone))
    _check_quote_time(c, "quote_time", quote_time, as_of)
    underlying_price = c.get("underlying_price", _amount)
    if underlying_price is not None and underlying_price <= 0:
        c.add("underlying_price", "underlying_price must be > 0")

    if c.errors:
        return None, c.errors
    assert underlying is not None
    assert expiry is not None
    assert strike is not None
    assert right is not None
    contract = OptionContract(
        underlying=underlying,
        expiry=expiry,
        strike=strike,
        right=right,
        style=style,
        settlement=settlement,
        multiplier=multiplier if multiplier is not None else 100,
    )
    parsed = ParsedOptionRow(
        contract=contract,
        bid=bid,
        ask=ask,
        mark=mark,
        iv=iv,
        greeks=greeks,
        volume=volume,
        open_interest=open_interest,
        quote_time=quote_time,
        underlying_price=underlying_price,
    )
    return parsed, []


def _check_expiry(
    c: _RowCollector, expiry: date, settlement: Settlement, as_of: datetime, *, column: str
) -> None:
    try:
        if not is_trading_day(expiry):
            c.add(column, "expiry is not a trading day (weekend or exchange holiday)", expiry)
            return
        instant = expiry_datetime(expiry, settlement=settlement)
    except ValueError as exc:
        c.add(column, str(exc), expiry)
        return
    if instant <= as_of:
        c.add(column, f"expired before as_of {as_of.isoformat()}", expiry)


def _parse_style(value: object) -> ExerciseStyle:
    text = value.strip().upper() if isinstance(value, str) else ""
    text = {"A": "AMERICAN", "E": "EUROPEAN"}.get(text, text)
    try:
        return ExerciseStyle(text)
    except ValueError as exc:
        raise FieldError("unknown style (AMERICAN, EUROPEAN, UNKNOWN, A or E expected)") from exc


def _parse_settlement(value: object) -> Settlement:
    text = value.strip().upper() if isinstance(value, str) else ""
    try:
        return Settlement(text)
    except ValueError as exc:
        raise FieldError("unknown settlement (AM or PM expected)") from exc


def validate_underlying_row(
    raw: Mapping[str, object],
    *,
    row: int,
    as_of: datetime,
    names: Mapping[str, str] | None = None,
    naive_timezone: str | None = None,
) -> tuple[ParsedUnderlyingRow | None, list[RowError]]:
    """Validate one underlying-quote row keyed by canonical column names.

    The valuation ``spot`` is the ``spot`` cell if present, else the mid of ``bid``/``ask``
    when both are present (and not crossed), else ``last``; a row with none of them is
    rejected. Every price present must be > 0 (bid may be 0) and ``ask >= bid``.
    """
    c = _RowCollector(raw, row=row, names=names or {})
    symbol = c.get("symbol", parse_ticker, required=True)
    spot = c.get("spot", _amount)
    bid = _non_negative(c, "bid", c.get("bid", _amount))
    ask = _non_negative(c, "ask", c.get("ask", _amount))
    last = c.get("last", _amount)
    for name, value in (("spot", spot), ("last", last), ("ask", ask)):
        if value is not None and value <= 0:
            c.add(name, "negative price" if value < 0 else f"{name} must be > 0")
    crossed = bid is not None and ask is not None and ask < bid
    if crossed:
        c.add("ask", f"ask < bid ({ask} < {bid})")
    quote_time = c.get("quote_time", lambda v: parse_timestamp(v, naive_timezone=naive_timezone))
    _check_quote_time(c, "quote_time", quote_time, as_of)
    resolved: Decimal | None = spot
    if resolved is None and bid is not None and ask is not None and not crossed:
        resolved = (bid + ask) / 2
        if numbers.decimal_places(resolved.normalize()) > numbers.AMOUNT_SCALE:
            c.add(
                "spot",
                f"the mid of bid and ask has more than {numbers.AMOUNT_SCALE} decimal places "
                "and would be rounded; give the spot",
                format(resolved, "f"),
            )
    if resolved is None:
        resolved = last
    if resolved is None and not c.errors:
        c.add("spot", "no price: need spot, bid and ask, or last")
    if c.errors or resolved is None or symbol is None:
        return None, c.errors
    parsed = ParsedUnderlyingRow(
        symbol=symbol, spot=resolved, bid=bid, ask=ask, last=last, quote_time=quote_time
    )
    return parsed, []


# --- Column-wise validation ------------------------------------------------------------------
#
# A full-market chain holds millions of rows but few distinct expiries, strikes, symbols,
# timestamps and prices: each column is parsed once per DISTINCT cell value, with exactly the
# parsers and rules of validate_option_row, and a row whose cells all pass is assembled from
# the cached values. A row with any doubt (a bad cell, a cross-field rule) is handed back as
# None so that the caller runs validate_option_row on it: the errors of a bad row are the
# per-row validator's, word for word, and the columns only decide the good rows faster.

_BAD: Any = object()
"""Marks a cell that breaks a rule (the row goes to :func:`validate_option_row`)."""

_NO_GREEKS: Mapping[str, float] = MappingProxyType({})
"""The ``greeks`` of a row without provider Greeks (one shared, read-only mapping)."""


def _cell_key(value: object) -> object:
    """A cache key telling apart cells that parse differently (``1`` vs ``True`` vs ``1.0``)."""
    return value if type(value) is str else (type(value), repr(value))


@dataclass(frozen=True, slots=True)
class EncodedColumn:
    """A column as its distinct cells and, for each row, the position of its cell among them.

    ``values[codes[i]]`` is row ``i``'s cell. Rules run once per distinct cell: a full-market
    chain has millions of rows but a few thousand distinct strikes, expiries or prices.
    """

    values: Sequence[object]
    codes: npt.NDArray[np.intp]

    @classmethod
    def from_cells(cls, cells: Sequence[object]) -> EncodedColumn:
        """Encode raw cells; cells that parse differently (``1``, ``1.0``, ``True``) stay apart."""
        positions: dict[object, int] = {}
        values: list[object] = []
        codes = np.empty(len(cells), dtype=np.intp)
        for row, cell in enumerate(cells):
            key = _cell_key(cell)
            position = positions.get(key)
            if position is None:
                position = positions[key] = len(values)
                values.append(cell)
            codes[row] = position
        return cls(values=values, codes=codes)

    def cell(self, row: int) -> object:
        """Row ``row``'s raw cell."""
        return self.values[int(self.codes[row])]


def _parse_cell(
    cell: object,
    parser: Callable[[Any], Any],
    *,
    required: bool,
    rule: Callable[[Any], bool] | None,
) -> Any:
    if is_missing(cell):
        return _BAD if required else None
    try:
        parsed = parser(cell)
    except FieldError:
        return _BAD
    if rule is not None and not rule(parsed):
        return _BAD
    return parsed


def _expiry_ok(expiry: date, settlement: Settlement, as_of: datetime) -> bool:
    """Whether :func:`_check_expiry` passes (a trading day whose expiry instant is after as_of)."""
    try:
        if not is_trading_day(expiry):
            return False
        instant = expiry_datetime(expiry, settlement=settlement)
    except ValueError:
        return False
    return instant > as_of


def _count_ok(limit: int) -> Callable[[int], bool]:
    return lambda count: 0 <= count <= limit


@dataclass(frozen=True, slots=True)
class OptionColumns:
    """A chain's rows decided column by column (:func:`option_columns`).

    ``good`` marks the rows whose cells pass every rule of :func:`validate_option_row`; every
    other row is to be validated alone. ``fields`` holds each parsed field as an
    :class:`EncodedColumn` of parsed values (defaults filled in: style AMERICAN, settlement
    PM, multiplier 100; an absent or blank optional cell is None), meaningful on the good
    rows: ``underlying``, ``expiry``, ``strike``, ``right``, ``style``, ``settlement``,
    ``multiplier``, ``bid``, ``ask``, ``mark``, ``iv``, ``volume``, ``open_interest``,
    ``quote_time`` and ``underlying_price``. ``greeks`` holds the provider Greek columns the
    file has.
    """

    good: npt.NDArray[np.bool_]
    fields: Mapping[str, EncodedColumn]
    greeks: Mapping[str, EncodedColumn]


def _constant(value: object, rows: int) -> EncodedColumn:
    """A column holding ``value`` on every row (the codes take no memory)."""
    return EncodedColumn(values=[value], codes=np.broadcast_to(np.intp(0), (rows,)))


def _value_flags(column: EncodedColumn, test: Callable[[Any], bool]) -> npt.NDArray[np.bool_]:
    """``test`` of each row's value, evaluated once per distinct value."""
    flags = np.fromiter((bool(test(v)) for v in column.values), dtype=np.bool_)
    if not len(column.values):
        return np.zeros(len(column.codes), dtype=np.bool_)
    return flags[column.codes]


def _pair_flags(
    first: EncodedColumn, second: EncodedColumn, test: Callable[[Any, Any], bool]
) -> npt.NDArray[np.bool_]:
    """``test`` of each row's pair of values, evaluated once per distinct pair of cells."""
    n = len(first.codes)
    if n == 0:
        return np.zeros(0, dtype=np.bool_)
    width = max(len(second.values), 1)
    keys = first.codes.astype(np.int64) * width + second.codes
    pairs, inverse = np.unique(keys, return_inverse=True)
    flags = np.fromiter(
        (
            bool(test(first.values[key // width], second.values[key % width]))
            for key in pairs.tolist()
        ),
        dtype=np.bool_,
        count=len(pairs),
    )
    result: npt.NDArray[np.bool_] = flags[inverse.reshape(-1)]
    return result


def _less_flags(low: EncodedColumn, high: EncodedColumn) -> npt.NDArray[np.bool_]:
    """Rows where both values exist and ``high < low`` (compared by rank, exactly)."""
    distinct = sorted({v for v in (*low.values, *high.values) if isinstance(v, Decimal)})
    rank = {value: position for position, value in enumerate(distinct)}  # equal values: one rank

    def ranks(column: EncodedColumn) -> npt.NDArray[np.int64]:
        table = np.fromiter(
            (rank[v] if isinstance(v, Decimal) else -1 for v in column.values),
            dtype=np.int64,
            count=len(column.values),
        )
        return table[column.codes] if len(table) else np.full(len(column.codes), -1)

    low_rank, high_rank = ranks(low), ranks(high)
    return (low_rank >= 0) & (high_rank >= 0) & (high_rank < low_rank)


def _disagrees(attribute: str) -> Callable[[OccSymbol | None, Any], bool]:
    """Whether a row's OCC symbol and its own cell disagree on ``attribute`` (both present)."""

    def test(symbol: OccSymbol | None, mine: Any) -> bool:
        return symbol is not None and mine is not None and mine != getattr(symbol, attribute)

    return test


def _replace(column: EncodedColumn, convert: Callable[[Any], Any]) -> EncodedColumn:
    return EncodedColumn(values=[convert(v) for v in column.values], codes=column.codes)


def option_columns(
    columns: Mapping[str, EncodedColumn],
    *,
    rows: int,
    as_of: datetime,
    naive_timezone: str | None = None,
) -> OptionColumns:
    """Validate option-chain rows column by column, without a Python object per row.

    Each column is parsed once per distinct cell with the parsers and rules of
    :func:`validate_option_row`; the rules across columns (OCC symbol against the contract
    columns, ``ask < bid``, the expiry against the settlement and ``as_of``) run once per
    distinct pair of cells. A row is good when every rule holds; the caller validates every
    other row with :func:`validate_option_row`, whose errors are the ones to report (such a
    row may still turn out good there).

    Parameters
    ----------
    columns : Mapping[str, EncodedColumn]
        Cells by canonical column, ``rows`` of them each (a column the file lacks is absent).
    rows : int
        Number of data rows.
    as_of, naive_timezone
        As for :func:`validate_option_row`.

    """
    present = set(columns)
    use_fields = all(name in present for name in CONTRACT_COLUMNS)
    bad = np.zeros(rows, dtype=np.bool_)

    def parsed(
        name: str,
        parser: Callable[[Any], Any],
        *,
        required: bool = False,
        rule: Callable[[Any], bool] | None = None,
    ) -> EncodedColumn:
        nonlocal bad
        if name not in present:
            return _constant(None, rows)
        column = columns[name]
        values = [_parse_cell(cell, parser, required=required, rule=rule) for cell in column.values]
        coded = EncodedColumn(values=values, codes=column.codes)
        flags = _value_flags(coded, lambda value: value is _BAD)
        if flags.any():
            bad |= flags
            coded = _replace(coded, lambda value: None if value is _BAD else value)
        return coded

    def stamp(value: object) -> datetime:
        return parse_timestamp(value, naive_timezone=naive_timezone)

    non_negative: Callable[[Decimal], bool] = lambda value: value >= 0  # noqa: E731
    occ = parsed("occ_symbol", parse_occ_symbol, required=not use_fields)
    underlying = parsed("underlying", parse_ticker, required=True)
    expiry = parsed("expiration", parse_date, required=True)
    strike = parsed("strike", _amount, required=True)
    right = parsed("option_type", parse_option_right, required=True)
    if "occ_symbol" in present:
        for name, column, attribute in (
            ("expiration", expiry, "expiry"),
            ("strike", strike, "strike"),
            ("option_type", right, "right"),
        ):
            if name in present:
                bad |= _pair_flags(occ, column, _disagrees(attribute))
        if not use_fields:
            if "underlying" not in present:
                underlying = _replace(occ, lambda s: None if s is None else s.root)
            expiry = _replace(occ, lambda s: None if s is None else s.expiry)
            strike = _replace(occ, lambda s: None if s is None else s.strike)
            right = _replace(occ, lambda s: None if s is None else s.right)
    bad |= _value_flags(underlying, lambda u: u is None or not u.strip())
    bad |= _value_flags(strike, lambda s: s is None or not _strike_ok(s))
    bad |= _value_flags(right, lambda r: r is None)
    style = _replace(parsed("style", _parse_style), lambda s: s or ExerciseStyle.AMERICAN)
    settlement = _replace(parsed("settlement", _parse_settlement), lambda s: s or Settlement.PM)
    multiplier = _replace(
        parsed("multiplier", parse_int, rule=lambda m: 0 < m <= MAX_MULTIPLIER),
        lambda m: 100 if m is None else m,
    )
    bad |= _pair_flags(
        expiry,
        settlement,
        lambda day, kind: day is None or not _expiry_ok(day, kind, as_of),
    )
    bid = parsed("bid", _amount, rule=non_negative)
    ask = parsed("ask", _amount, rule=non_negative)
    bad |= _less_flags(bid, ask)
    greek_rules: dict[str, Callable[[float], bool]] = {
        "delta": lambda d: -1.0 <= d <= 1.0,
        "gamma": lambda g: g >= 0.0,
        "vega": lambda v: v >= 0.0,
    }
    fields = {
        "underlying": underlying,
        "expiry": expiry,
        "strike": strike,
        "right": right,
        "style": style,
        "settlement": settlement,
        "multiplier": multiplier,
        "bid": bid,
        "ask": ask,
        "mark": parsed("mark", _amount, rule=non_negative),
        "iv": parsed("iv", parse_float, rule=lambda iv: 0.0 <= iv <= MAX_IV),
        "volume": parsed("volume", parse_int, rule=_count_ok(MAX_COUNT)),
        "open_interest": parsed("open_interest", parse_int, rule=_count_ok(MAX_COUNT)),
        "quote_time": parsed("quote_time", stamp, rule=lambda t: not t > as_of),
        "underlying_price": parsed("underlying_price", _amount, rule=lambda s: s > 0),
    }
    greeks = {
        name: parsed(name, parse_float, rule=greek_rules.get(name))
        for name in GREEK_COLUMNS
        if name in present
    }
    return OptionColumns(good=~bad, fields=fields, greeks=greeks)


def _strike_ok(strike: Decimal) -> bool:
    """Whether an ``OptionContract`` takes ``strike`` (> 0, an amount the store keeps)."""
    if not strike > 0:
        return False
    try:
        numbers.check_amount(strike, field="strike")
    except ValueError:
        return False
    return True


def parsed_option_row(table: OptionColumns, row: int) -> ParsedOptionRow:
    """Good row ``row`` of ``table`` as :func:`validate_option_row` parses it."""
    cell: dict[str, Any] = {name: column.cell(row) for name, column in table.fields.items()}
    greeks: dict[str, Any] = {
        name: value
        for name, column in table.greeks.items()
        if (value := column.cell(row)) is not None
    }
    contract = OptionContract(
        underlying=cell["underlying"],
        expiry=cell["expiry"],
        strike=cell["strike"],
        right=cell["right"],
        style=cell["style"],
        settlement=cell["settlement"],
        multiplier=cell["multiplier"],
    )
    return ParsedOptionRow(
        contract=contract,
        bid=cell["bid"],
        ask=cell["ask"],
        mark=cell["mark"],
        iv=cell["iv"],
        greeks=greeks or _NO_GREEKS,
        volume=cell["volume"],
        open_interest=cell["open_interest"],
        quote_time=cell["quote_time"],
        underlying_price=cell["underlying_price"],
    )


def validate_option_columns(
    columns: Mapping[str, EncodedColumn],
    *,
    rows: int,
    as_of: datetime,
    naive_timezone: str | None = None,
) -> list[ParsedOptionRow | None]:
    """Validate option-chain rows column by column; None for each row to validate alone.

    :func:`option_columns` with each good row built as a :class:`ParsedOptionRow` (a
    Python object per row: the import itself keeps the columns).

    Returns
    -------
    list of ParsedOptionRow or None
        For each row, the row exactly as :func:`validate_option_row` parses it when every rule
        holds, else None: the caller validates that row with :func:`validate_option_row`,
        whose errors are the ones to report (a None row may still turn out good there).

    """
    table = option_columns(columns, rows=rows, as_of=as_of, naive_timezone=naive_timezone)
    out: list[ParsedOptionRow | None] = [None] * rows
    for row in np.flatnonzero(table.good).tolist():
        out[row] = parsed_option_row(table, row)
    return out
