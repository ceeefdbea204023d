r"""Parse and check an uploaded book (seed 002's CSV upload format): pure, no SQL, no clock.

The format is ``ticker,quantity,entry_price,entry_date,tags``:

* headers are case-insensitive and surrounding spaces are ignored; extra columns are ignored;
  ``tags`` is optional (comma-separated inside quotes: ``"momentum,tech"``);
* a ticker is a stock / ETF symbol (1-10 of ``A-Z``, ``0-9``, ``.``, ``-``) or an OCC option
  symbol, padded (``AAPL  240119C00150000``) or compact (``AAPL240119C00150000``); options are
  stored under the compact form, so both forms name the same contract;
* quantity is a plain decimal, not 0 (options: a whole number of contracts); entry price is a
  plain decimal > 0; both must be stored exactly (at most 8 decimal places, below 1e12);
* entry date is ``YYYY-MM-DD`` (or ``date_format``), not after ``today`` and not more than 5
  years before it (and, for an option, not after its expiry);
* a second row with the same (ticker, entry date) is a duplicate; two *open* rows of one
  ticker are refused too (the book holds one open position per ticker: merge the lots).

A file over :data:`MAX_FILE_BYTES` or :data:`MAX_DATA_ROWS` data rows, an empty file, a
header without a required column, or text that is not UTF-8 is refused as a whole
(:class:`BookFileError`). Every other problem is a :class:`RowError` naming the line (1-based,
the header is line 1), the column, the reason and the value; the good rows come back as
:class:`BookRow` values.

A broker export imports through a column ``mapping`` (field -> the export's header, e.g.
``{"ticker": "Symbol", "entry_price": "Avg Price"}``, see :func:`parse_mapping`) and a
``date_format`` (``%m/%d/%Y``); the same rules apply after mapping.

Examples
--------
>>> book = parse_book(b"Ticker,Quantity,Entry_Price,Entry_Date\nAAPL,10,150,2026-01-02\n",
...                   today=date(2026, 3, 1))
>>> [(r.line, r.position.symbol, str(r.position.position_type)) for r in book.rows]
[(2, 'AAPL', 'LONG')]

"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from riskdesk.domain.instruments import Instrument, OptionContract, Stock
from riskdesk.domain.numbers import check_amount, parse_decimal
from riskdesk.domain.occ import OccSymbolError, format_occ, parse_occ
from riskdesk.risk.positions import BookPosition

__all__ = [
    "FIELDS",
    "MAX_AGE_YEARS",
    "MAX_DATA_ROWS",
    "MAX_FILE_BYTES",
    "MAX_TAG_LENGTH",
    "REQUIRED_FIELDS",
    "BookFileError",
    "BookRow",
    "ParsedBook",
    "RowError",
    "parse_book",
    "parse_mapping",
    "years_before",
]

MAX_FILE_BYTES = 10 * 1024 * 1024
"""Largest file accepted (10 MB); a larger file is refused as a whole."""

MAX_DATA_ROWS = 10_000
"""Most data rows accepted per file (blank lines not counted)."""

MAX_AGE_YEARS = 5
"""An entry date may be at most this many years before ``today``."""

MAX_TAG_LENGTH = 100
"""Longest tag name (the ``tags.name`` column)."""

REQUIRED_FIELDS: tuple[str, ...] = ("ticker", "quantity", "entry_price", "entry_date")
FIELDS: tuple[str, ...] = (*REQUIRED_FIELDS, "tags")

_STOCK_RE = re.compile(r"[A-Z0-9][A-Z0-9.\-]{0,9}")
_ISO_DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_MAPPING_ITEM_RE = re.compile(r'\s*([A-Za-z_]+)\s*=\s*(?:"([^"]*)"|([^,]*))\s*(?:,|$)')
_VALUE_CLIP = 80


class BookFileError(ValueError):
    """The file is refused as a whole (nothing of it is stored); the message says why."""


@dataclass(frozen=True, slots=True)
class RowError:
    """One problem of one row: its line (header = 1), column, reason and the value given."""

    line: int
    column: str | None
    reason: str
    value: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types: ``{"line", "column", "reason", "value"}``."""
        return {
            "line": self.line,
            "column": self.column,
            "reason": self.reason,
            "value": self.value,
        }


@dataclass(frozen=True, slots=True)
class BookRow:
    """A good row: its line and the position it describes.

    ``expired`` is True for an option whose expiry is before ``today`` (imported closed, never
    priced as live).
    """

    line: int
    position: BookPosition
    expired: bool = False


@dataclass(frozen=True, slots=True)
class ParsedBook:
    """The outcome of :func:`parse_book`: good rows, row errors, the row count and file hash."""

    rows: tuple[BookRow, ...]
    errors: tuple[RowError, ...]
    data_rows: int
    sha256: str
    columns: dict[str, str] = field(default_factory=dict)

    @property
    def rejected_lines(self) -> tuple[int, ...]:
        """The lines with at least one error, in order."""
        return tuple(sorted({e.line for e in self.errors}))


def years_before(day: date, years: int) -> date:
    """``day`` moved back ``years`` calendar years (29 February becomes 28 February)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def parse_mapping(text: str) -> dict[str, str]:
    """``ticker=Symbol,quantity=Qty,entry_price="Avg Price"`` to ``{field: header}``.

    Raises
    ------
    BookFileError
        For text that is not ``FIELD=HEADER`` pairs, an unknown field, or a field mapped twice.

    """
    out: dict[str, str] = {}
    pos = 0
    stripped = text.strip()
    if not stripped:
        raise BookFileError("the column mapping is empty: give FIELD=HEADER pairs")
    while pos < len(stripped):
        match = _MAPPING_ITEM_RE.match(stripped, pos)
        if match is None or match.end() == pos:
            raise BookFileError(
                f"column mapping {text!r} must be FIELD=HEADER pairs separated by commas, e.g. "
                'ticker=Symbol,quantity=Qty,entry_price="Avg Price",entry_date="Open Date"'
            )
        key = match.group(1).strip().lower()
        header = (match.group(2) if match.group(2) is not None else match.group(3)).strip()
        if key not in FIELDS:
            raise BookFileError(
                f"column mapping names unknown field {key!r}; the fields are {', '.join(FIELDS)}"
            )
        if key in out:
            raise BookFileError(f"column mapping maps {key!r} twice")
        if not header:
            raise BookFileError(f"column mapping gives no header for {key!r}")
        out[key] = header
        pos = match.end()
    return out


def _clip(text: str) -> str:
    return text if len(text) <= _VALUE_CLIP else text[: _VALUE_CLIP - 3] + "..."


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BookFileError(
            f"the file is not UTF-8 text (byte {exc.start + 1} is invalid): save it as UTF-8 CSV"
        ) from exc


def _read_records(text: str) -> list[tuple[int, list[str]]]:
    """``(first line, cells)`` of every non-blank record (quoted fields may span lines)."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    out: list[tuple[int, list[str]]] = []
    start = 1
    try:
        for cells in reader:
            if any(c.strip() for c in cells):
                out.append((start, cells))
                if len(out) > MAX_DATA_ROWS + 1:
                    raise BookFileError(
                        f"the file has more than {MAX_DATA_ROWS:,} data rows: split it into "
                        "files of at most that many rows"
                    )
            start = reader.line_num + 1
    except csv.Error as exc:
        raise BookFileError(f"line {reader.line_num}: the CSV is malformed ({exc})") from exc
    return out


def _columns(header: list[str], mapping: Mapping[str, str] | None) -> dict[str, int]:
    """Field -> column index, following ``mapping`` (field -> header) when given."""
    names = [h.strip().lower() for h in header]
    index: dict[str, int] = {}
    for field_name in FIELDS:
        wanted = (mapping or {}).get(field_name, field_name).strip().lower()
        found = [i for i, n in enumerate(names) if n == wanted]
        if len(found) > 1:
            raise BookFileError(
                f"the header names column {wanted!r} {len(found)} times; keep one of them"
            )
        if found:
            index[field_name] = found[0]
    missing = [f for f in REQUIRED_FIELDS if f not in index]
    if missing:
        wanted_names = [(mapping or {}).get(f, f) for f in missing]
        shown = ", ".join(repr(h.strip()) for h in header)
        hint = (
            " (check the column mapping)"
            if mapping
            else "; map a broker export's columns with a mapping such as ticker=Symbol"
        )
        raise BookFileError(
            f"line 1: the header lacks required column(s) {', '.join(wanted_names)} "
            f"(found {shown}){hint}"
        )
    return index


def _instrument(raw: str) -> tuple[str, Instrument]:
    """The canonical symbol and instrument of a ticker cell (ValueError with the reason)."""
    text = raw.strip().upper()
    if not text:
        raise ValueError("ticker is empty")
    if len(text) > 10 or " " in text:
        try:
            contract = parse_occ(text)
        except OccSymbolError as exc:
            raise ValueError(str(exc)) from exc
        return format_occ(contract, padded=False), contract
    if _STOCK_RE.fullmatch(text) is None:
        raise ValueError(
            f"ticker {_clip(raw.strip())!r} is neither a stock/ETF symbol (1-10 of A-Z, 0-9, "
            "'.', '-') nor an OCC option symbol (e.g. AAPL240119C00150000)"
        )
    return text, Stock(text)


def _amount(raw: str, name: str) -> Decimal:
    return check_amount(parse_decimal(raw, field=name), field=name)


def _date(raw: str, date_format: str | None) -> date:
    text = raw.strip()
    if date_format is None:
        if _ISO_DATE_RE.fullmatch(text) is None:
            raise ValueError(f"entry_date {_clip(text)!r} is not a date written YYYY-MM-DD")
        try:
            return date.fromisoformat(text)
        except ValueError as exc:
            raise ValueError(f"entry_date {text!r} is not a real calendar date ({exc})") from exc
    try:
        return datetime.strptime(text, date_format).date()  # noqa: DTZ007 - a date, no time
    except ValueError as exc:
        raise ValueError(
            f"entry_date {_clip(text)!r} does not match the date format {date_format!r}"
        ) from exc


def _tags(raw: str) -> tuple[str, ...]:
    out: list[str] = []
    for part in raw.split(","):
        name = part.strip()
        if not name:
            continue
        if len(name) > MAX_TAG_LENGTH:
            raise ValueError(
                f"tag {_clip(name)!r} has {len(name)} characters; at most {MAX_TAG_LENGTH}"
            )
        if name not in out:
            out.append(name)
    return tuple(out)


class _RowChecker:
    """Checks one row at a time, remembering the good rows for the duplicate rules."""

    def __init__(self, *, today: date, date_format: str | None) -> None:
        self.today = today
        self.oldest = years_before(today, MAX_AGE_YEARS)
        self.date_format = date_format
        self.seen: dict[tuple[str, date], int] = {}
        self.open_lines: dict[str, int] = {}

    def check(self, line: int, cell: dict[str, str]) -> tuple[BookRow | None, list[RowError]]:
        errors: list[RowError] = []

        def bad(column: str, reason: str) -> None:
            errors.append(RowError(line, column, reason, _clip(cell.get(column, ""))))

        symbol: str | None = None
        instrument: Instrument | None = None
        try:
            symbol, instrument = _instrument(cell["ticker"])
        except ValueError as exc:
            bad("ticker", str(exc))
        quantity: Decimal | None = None
        try:
            quantity = _amount(cell["quantity"], "quantity")
            if quantity == 0:
                bad("quantity", "quantity must not be 0 (positive is long, negative is short)")
                quantity = None
            elif isinstance(instrument, OptionContract) and quantity != quantity.to_integral():
                bad("quantity", "an option quantity is a whole number of contracts")
                quantity = None
        except ValueError as exc:
            bad("quantity", str(exc))
        price: Decimal | None = None
        try:
            price = _amount(cell["entry_price"], "entry_price")
            if price <= 0:
                bad("entry_price", "entry_price must be greater than 0 (also for shorts)")
                price = None
        except ValueError as exc:
            bad("entry_price", str(exc))
        entry: date | None = None
        try:
            entry = _date(cell["entry_date"], self.date_format)
            if entry > self.today:
                bad("entry_date", f"entry_date {entry} is in the future (today is {self.today})")
                entry = None
            elif entry < self.oldest:
                bad(
                    "entry_date",
                    f"entry_date {entry} is more than {MAX_AGE_YEARS} years ago (the oldest "
                    f"accepted is {self.oldest})",
                )
                entry = None
            elif isinstance(instrument, OptionContract) and entry > instrument.expiry:
                bad(
                    "entry_date",
                    f"entry_date {entry} is after the option's expiry {instrument.expiry}",
                )
                entry = None
        except ValueError as exc:
            bad("entry_date", str(exc))
        tags: tuple[str, ...] = ()
        try:
            tags = _tags(cell.get("tags", ""))
        except ValueError as exc:
            bad("tags", str(exc))
        if errors or symbol is None or instrument is None:
            return None, errors
        assert quantity is not None
        assert price is not None
        assert entry is not None
        first = self.seen.get((symbol, entry))
        if first is not None:
            bad("ticker", f"duplicate of line {first}: same ticker {symbol} and entry_date {entry}")
            return None, errors
        expired = isinstance(instrument, OptionContract) and instrument.expiry < self.today
        if not expired and symbol in self.open_lines:
            bad(
                "ticker",
                f"{symbol} is already held open by line {self.open_lines[symbol]}: a book holds "
                "one open position per ticker (merge the lots into one row)",
            )
            return None, errors
        self.seen[(symbol, entry)] = line
        if not expired:
            self.open_lines[symbol] = line
        position = BookPosition(
            symbol=symbol,
            instrument=instrument,
            quantity=quantity,
            entry_price=price,
            entry_date=entry,
            tags=tags,
        )
        return BookRow(line, position, expired), errors


def parse_book(
    data: bytes,
    *,
    today: date,
    mapping: Mapping[str, str] | None = None,
    date_format: str | None = None,
) -> ParsedBook:
    """Parse and check an uploaded book file.

    Parameters
    ----------
    data : bytes
        The file as uploaded (UTF-8, an optional byte-order mark).
    today : date
        The day the rules are checked against (no future dates, at most 5 years old, options
        expired before it). Never read from a clock here.
    mapping : Mapping[str, str] | None
        Field -> the file's header for a broker export (see :func:`parse_mapping`); fields
        not mapped keep their own names.
    date_format : str | None
        A :func:`datetime.strptime` format for ``entry_date`` (default ``YYYY-MM-DD``).

    Returns
    -------
    ParsedBook
        The good rows, every row error, the data row count and the file's SHA-256.

    Raises
    ------
    BookFileError
        For a file refused as a whole: too large, too many rows, empty, not UTF-8, malformed
        CSV, a header without a required column, or a bad mapping.

    """
    if len(data) > MAX_FILE_BYTES:
        raise BookFileError(
            f"the file is {len(data):,} bytes; at most {MAX_FILE_BYTES:,} (10 MB) are accepted: "
            "split it into smaller files"
        )
    if mapping is not None:
        unknown = sorted(set(mapping) - set(FIELDS))
        if unknown:
            raise BookFileError(
                f"column mapping names unknown field(s) {', '.join(unknown)}; the fields are "
                f"{', '.join(FIELDS)}"
            )
    sha256 = hashlib.sha256(data).hexdigest()
    records = _read_records(_decode(data))
    if not records:
        raise BookFileError(
            "the file is empty: it needs a header (ticker,quantity,entry_price,entry_date,tags) "
            "and at least one data row"
        )
    header_line, header = records[0]
    if header_line != 1:
        raise BookFileError(
            f"line 1 is blank: the header (ticker,quantity,...) must be the first line, found it "
            f"on line {header_line}"
        )
    index = _columns(header, mapping)
    body = records[1:]
    if not body:
        raise BookFileError("the file has a header but no data rows")
    if len(body) > MAX_DATA_ROWS:  # pragma: no cover - _read_records stops earlier
        raise BookFileError(f"the file has more than {MAX_DATA_ROWS:,} data rows")
    checker = _RowChecker(today=today, date_format=date_format)
    rows: list[BookRow] = []
    errors: list[RowError] = []
    for line, cells in body:
        missing = [
            f for f in REQUIRED_FIELDS if index[f] >= len(cells) or not cells[index[f]].strip()
        ]
        if missing:
            errors.extend(RowError(line, f, f"{f} is missing", None) for f in missing)
            continue
        cell = {f: cells[i] for f, i in index.items() if i < len(cells)}
        row, row_errors = checker.check(line, cell)
        errors.extend(row_errors)
        if row is not None:
            rows.append(row)
    columns = {f: header[i].strip() for f, i in index.items()}
    return ParsedBook(tuple(rows), tuple(errors), len(body), sha256, columns)
