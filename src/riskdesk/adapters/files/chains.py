"""Import option chains and underlying quotes from CSV or Parquet into a MarketSnapshot.

The format is chosen by suffix: ``.csv`` (also ``.csv.gz``/``.txt``) or ``.parquet``/``.pq``.
CSV files may be comma-, semicolon- or tab-delimited: the delimiter is the one of ``,``
``;`` and tab that splits the header line into the most fields (commas win ties). Numbers
are plain ASCII decimals with a point in every case (``2,10`` is not a number).
Header names are matched case-insensitively, with spaces and hyphens read as underscores,
and each canonical column accepts the aliases listed below. Unknown columns are ignored
(and named in the report's warnings). See ``docs/market-data.md`` for examples.

Option chain columns
--------------------
===================  ==========================================================  =========
canonical            aliases                                                     required
===================  ==========================================================  =========
underlying           underlying_symbol, ticker                                   [1]
expiration           expiry, expiration_date, expiry_date, exp_date              [1]
strike               strike_price                                                [1]
option_type          right, call_put, put_call, cp_flag, type                    [1]
occ_symbol           option_symbol, contract_symbol, osi_symbol, occ             [1]
bid                  bid_price                                                   yes
ask                  ask_price, offer                                            yes
mark                 mid, mark_price                                             no
iv                   implied_volatility, implied_vol, impl_vol                   no
delta gamma          (provider Greeks, kept in ``ImportReport.greeks``)          no
theta vega
volume                                                                           no
open_interest        oi, openinterest                                            no
quote_time           timestamp, quote_timestamp, quote_datetime,                 no
                     provider_timestamp
style                exercise_style (AMERICAN/EUROPEAN/UNKNOWN, A/E)             no
settlement           settlement_type (AM/PM)                                     no
multiplier           contract_multiplier                                         no
underlying_price     underlying_last, underlying_spot, spot                      no
===================  ==========================================================  =========

[1] Either all of ``underlying, expiration, strike, option_type`` or ``occ_symbol``. When
both are present the four columns win and the OCC symbol must agree on expiry, strike and
type (its root may differ from the underlying: ``SPXW`` for ``SPX``).

Defaults: style AMERICAN, settlement PM, multiplier 100, quote time = ``as_of``. ``bid``/``ask``
cells may be blank (a one-sided or empty market lands and shows up in the diagnostics'
``missing_quote``), but the columns must exist. ``iv`` is a decimal fraction (0.25 = 25%).

Underlying quote columns (``underlyings_path``)
-----------------------------------------------
===========  ===========================================  ==========
canonical    aliases                                      required
===========  ===========================================  ==========
symbol       underlying, ticker, underlying_symbol        yes
spot         price, underlying_price, mark                [2]
bid          bid_price                                    [2]
ask          ask_price, offer                             [2]
last         last_price, close                            [2]
quote_time   timestamp, quote_timestamp, quote_datetime,  no
             provider_timestamp
===========  ===========================================  ==========

[2] At least one of ``spot``, ``bid`` + ``ask`` or ``last`` per row; ``spot`` wins, then the mid
of bid/ask, then last. Without ``underlyings_path`` an ``underlying_price`` column of the chain
file gives each underlying's spot (first good row per symbol).

Row rules (each broken rule is one :class:`~riskdesk.adapters.files.parsing.RowError`):
unparseable number/date/timestamp, unknown option_type, strike <= 0, negative price,
ask < bid, expiry not a trading day, expired before ``as_of``, quote timestamp after
``as_of``, iv outside [0, 10], delta outside [-1, 1], negative gamma/vega/volume/open interest,
OCC symbol disagreeing with the other columns, a value the store would refuse or round
(more than 8 decimal places, a price or strike of 1e12 or more, a multiplier beyond a 32-bit
or a volume beyond a 64-bit integer), duplicate contract (same underlying, expiry, strike,
right, settlement, multiplier, style and currency as an earlier row) or symbol. Bad rows are
skipped; good rows land. File-level problems (unknown suffix, missing or ambiguous columns)
raise :class:`ChainImportError` and nothing is imported; a chain in which no option row is
good raises :class:`NoRowsImportedError` (a ChainImportError).
"""

from __future__ import annotations

import csv
import gzip
import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar, cast

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from riskdesk.adapters.files.parsing import (
    CONTRACT_COLUMNS,
    EncodedColumn,
    ImportReport,
    OptionColumns,
    ParsedOptionRow,
    ParsedUnderlyingRow,
    RowError,
    clip,
    option_columns,
    parsed_option_row,
    validate_option_row,
    validate_underlying_row,
)
from riskdesk.analytics.diagnostics import snapshot_diagnostics
from riskdesk.domain.diagnostics import DEFAULT_STALE_AFTER
from riskdesk.domain.instruments import OptionContract
from riskdesk.domain.market import (
    MarketOverrides,
    MarketSnapshot,
    OptionQuote,
    SnapshotMode,
    UnderlyingQuote,
    describe_contract,
)
from riskdesk.domain.option_table import (
    AMOUNT_TYPE,
    IDENTITY_COLUMNS,
    OPTION_SCHEMA,
    OptionTable,
    contract_at,
    identity_keys,
    quote_columns,
    repeats,
)

__all__ = [
    "OPTION_COLUMNS",
    "UNDERLYING_COLUMNS",
    "ChainFileSource",
    "ChainImportError",
    "NoRowsImportedError",
    "import_chain",
    "import_underlyings",
    "read_rows",
]

OPTION_COLUMNS: Mapping[str, tuple[str, ...]] = {
    "underlying": ("underlying_symbol", "ticker"),
    "expiration": ("expiry", "expiration_date", "expiry_date", "exp_date"),
    "strike": ("strike_price",),
    "option_type": ("right", "call_put", "put_call", "cp_flag", "type"),
    "occ_symbol": ("option_symbol", "contract_symbol", "osi_symbol", "occ"),
    "bid": ("bid_price",),
    "ask": ("ask_price", "offer"),
    "mark": ("mid", "mark_price"),
    "iv": ("implied_volatility", "implied_vol", "impl_vol"),
    "delta": (),
    "gamma": (),
    "theta": (),
    "vega": (),
    "volume": (),
    "open_interest": ("oi", "openinterest"),
    "quote_time": ("timestamp", "quote_timestamp", "quote_datetime", "provider_timestamp"),
    "style": ("exercise_style",),
    "settlement": ("settlement_type",),
    "multiplier": ("contract_multiplier",),
    "underlying_price": ("underlying_last", "underlying_spot", "spot"),
}
"""Canonical option-chain column -> accepted aliases."""

UNDERLYING_COLUMNS: Mapping[str, tuple[str, ...]] = {
    "symbol": ("underlying", "ticker", "underlying_symbol"),
    "spot": ("price", "underlying_price", "mark"),
    "bid": ("bid_price",),
    "ask": ("ask_price", "offer"),
    "last": ("last_price", "close"),
    "quote_time": ("timestamp", "quote_timestamp", "quote_datetime", "provider_timestamp"),
}
"""Canonical underlying-quote column -> accepted aliases."""

_CSV_SUFFIXES = (".csv", ".csv.gz", ".txt")
_PARQUET_SUFFIXES = (".parquet", ".pq")

_Row = TypeVar("_Row")
_Parsed = TypeVar("_Parsed")

RAGGED_MARK = "\x00ragged:"
"""Key of the placeholder row standing for a CSV line with more fields than the header."""

CSV_DELIMITERS: tuple[str, ...] = (",", ";", "\t")
"""Accepted CSV delimiters, in the order that breaks ties."""

_LISTED_COLUMNS = 20
"""Most column names listed in an error or warning."""

_SUMMARY_ERRORS = 3
"""Row errors quoted in a :class:`NoRowsImportedError` message."""


class ChainImportError(ValueError):
    """The file as a whole cannot be imported (format, columns); nothing was imported."""


class NoRowsImportedError(ChainImportError):
    """No option row of the chain file is good: there is no snapshot to store.

    ``report`` is the :class:`~riskdesk.adapters.files.parsing.ImportReport` of the attempt
    (every rejected row with its reasons), so a caller can show the table before the message.
    """

    def __init__(self, message: str, *, report: ImportReport) -> None:
        super().__init__(message)
        self.report = report


@dataclass(frozen=True, slots=True)
class _Table:
    """A file read into raw rows keyed by canonical column names."""

    path: Path
    rows: list[dict[str, object]]
    names: dict[str, str]  # canonical -> column name in the file
    ignored: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Columns:
    """A file read column-wise: each canonical column's cells, and its ragged lines.

    ``ragged`` maps the 0-based index of a CSV line with more fields than the header to
    ``"<fields>:<clipped text>"``; the cells of such a row are placeholders.
    """

    path: Path
    rows: int
    columns: dict[str, EncodedColumn]  # canonical -> cells
    names: dict[str, str]  # canonical -> column name in the file
    ignored: tuple[str, ...]
    ragged: dict[int, str]


def _normalize(name: str) -> str:
    return re.sub(r"[\s\-]+", "_", name.strip().lower())


def _column_list(names: Sequence[str]) -> str:
    """Column names for a message: each clipped, at most :data:`_LISTED_COLUMNS` of them."""
    shown = [clip(name) for name in names[:_LISTED_COLUMNS]]
    if len(names) > _LISTED_COLUMNS:
        shown.append(f"... ({len(names) - _LISTED_COLUMNS} more)")
    return ", ".join(shown)


def read_rows(path: Path | str) -> tuple[list[str], list[dict[str, object]]]:
    """Read a CSV (every cell as text) or Parquet (typed cells) file into header and rows.

    CSV cells stay strings (``""`` for empty) so that nothing is coerced before validation;
    Parquet cells are the column's Python values (``None`` for nulls).

    Raises
    ------
    ChainImportError
        For a missing file, an unknown suffix or an unreadable file.

    """
    file = Path(path)
    name = file.name.lower()
    if not file.is_file():
        raise ChainImportError(f"{file}: no such file")
    try:
        if name.endswith(_CSV_SUFFIXES):
            return _read_csv(file)
        if name.endswith(_PARQUET_SUFFIXES):
            import pyarrow.parquet as pq

            table = pq.read_table(file)
            return list(table.column_names), table.to_pylist()
    except ChainImportError:
        raise
    except Exception as exc:  # pandas/pyarrow raise many types; name the file and the cause
        raise ChainImportError(
            f"{file}: cannot read ({type(exc).__name__}: {clip(str(exc), 200)})"
        ) from exc
    raise ChainImportError(
        f"{file}: unknown file type; use one of {', '.join(_CSV_SUFFIXES + _PARQUET_SUFFIXES)}"
    )


def _header_line(file: Path) -> str:
    opener = gzip.open if file.name.lower().endswith(".gz") else open
    with opener(file, "rt", encoding="utf-8-sig", errors="replace", newline="") as handle:
        return str(handle.readline())


def sniff_delimiter(header: str) -> str:
    """The delimiter of a CSV header line: whichever of :data:`CSV_DELIMITERS` gives most fields.

    >>> sniff_delimiter("underlying;strike;bid;ask")
    ';'
    >>> sniff_delimiter("underlying,strike")
    ','
    """
    counts = dict.fromkeys(CSV_DELIMITERS, 0)
    quoted = False
    for char in header:
        if char == '"':
            quoted = not quoted  # a doubled quote toggles twice: still inside
        elif not quoted and char in counts:
            counts[char] += 1
    best = CSV_DELIMITERS[0]
    for delimiter in CSV_DELIMITERS:
        if counts[delimiter] > counts[best]:
            best = delimiter
    return best


def _read_csv_frame(file: Path) -> Any:
    """The CSV as a pandas frame of text cells; a ragged line becomes a marked row in place."""
    import pandas as pd

    delimiter = sniff_delimiter(_header_line(file))
    options: dict[str, Any] = {
        "sep": delimiter,
        "dtype": str,
        "keep_default_na": False,
        "na_filter": False,
        "encoding": "utf-8-sig",
    }
    try:
        return pd.read_csv(file, **options)
    except pd.errors.ParserError:
        # Only the python engine can hand bad lines to a callable; it keeps the row in place
        # (so row numbers stay right) as a marked row that validation reports.
        width = len(pd.read_csv(file, nrows=0, **options).columns)

        def mark(fields: list[str]) -> list[str]:
            text = clip(delimiter.join(fields))
            return [f"{RAGGED_MARK}{len(fields)}:{text}", *([""] * (width - 1))]

        return pd.read_csv(file, engine="python", on_bad_lines=mark, **options)


def _read_csv(file: Path) -> tuple[list[str], list[dict[str, object]]]:
    """Every cell as text; a line with more fields than the header becomes a ragged row."""
    frame = _read_csv_frame(file)
    header = [str(c) for c in frame.columns]
    rows: list[dict[str, object]] = []
    for values in frame.itertuples(index=False, name=None):
        first = values[0] if values else ""
        if isinstance(first, str) and first.startswith(RAGGED_MARK):
            rows.append({RAGGED_MARK: first.removeprefix(RAGGED_MARK)})
        else:
            rows.append(dict(zip(header, values, strict=True)))
    return header, rows


def _encode_arrow(tables: list[Any]) -> dict[str, EncodedColumn]:
    """Each column of a pyarrow table as its distinct cells and per-row codes (in C).

    The table is handed over in a one-element list that this function empties: each column
    is released as soon as it is encoded, so the text of the whole file and all its codes are
    never held at once.
    """
    table = tables.pop()
    encoded: dict[str, EncodedColumn] = {}
    for column in list(table.column_names):
        cells = table.column(0).combine_chunks()  # one dictionary for the whole column
        table = table.remove_column(0)
        coded = pc.dictionary_encode(cells, null_encoding="encode")  # in order of appearance
        del cells
        codes = coded.indices.to_numpy(zero_copy_only=False)
        encoded[column] = EncodedColumn(
            values=coded.dictionary.to_pylist(), codes=np.asarray(codes, dtype=np.intp)
        )
        del coded
    return encoded


def _read_csv_arrow(file: Path) -> dict[str, EncodedColumn] | None:
    """The CSV column-wise with pyarrow (every cell as text), or None to read it with pandas.

    pyarrow reads a well-formed file in C, keeping each column compact until it is encoded;
    anything it reads differently from :func:`_read_csv_frame` (a repeated column name, a line
    with more or fewer fields than the header, a parse error) is left to pandas.
    """
    import pyarrow as pa
    import pyarrow.csv as pa_csv

    header_line = _header_line(file)
    delimiter = sniff_delimiter(header_line)
    try:
        header = next(csv.reader([header_line], delimiter=delimiter), [])
    except csv.Error:  # a field beyond the csv module's limit: pandas words the problem
        return None
    if not header or len(set(header)) != len(header):
        return None
    try:
        table = pa_csv.read_csv(
            file,
            parse_options=pa_csv.ParseOptions(delimiter=delimiter, newlines_in_values=True),
            convert_options=pa_csv.ConvertOptions(
                column_types=dict.fromkeys(header, pa.string()),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, UnicodeDecodeError):
        return None
    if table.column_names != header:
        return None
    tables = [table]
    del table
    return _encode_arrow(tables)


def _read_columns(path: Path, spec: Mapping[str, tuple[str, ...]]) -> _Columns:
    """The file column-wise (cells as :func:`read_rows` reads them), columns mapped by ``spec``.

    Raises
    ------
    ChainImportError
        As :func:`read_rows`, and for missing or ambiguous columns.

    """
    file = Path(path)
    name = file.name.lower()
    if not file.is_file():
        raise ChainImportError(f"{file}: no such file")
    ragged: dict[int, str] = {}
    try:
        if name.endswith(_CSV_SUFFIXES):
            cells = _read_csv_arrow(file)
            if cells is None:
                frame = _read_csv_frame(file)
                cells = {
                    str(column): EncodedColumn.from_cells(frame.iloc[:, position].tolist())
                    for position, column in enumerate(frame.columns)
                }
                if cells:
                    first = next(iter(cells.values()))
                    ragged = {
                        index: str(first.cell(index)).removeprefix(RAGGED_MARK)
                        for index in range(len(frame))
                        if str(first.cell(index)).startswith(RAGGED_MARK)
                    }
                del frame
        elif name.endswith(_PARQUET_SUFFIXES):
            import pyarrow.parquet as pq

            cells = _encode_arrow([pq.read_table(file)])
        else:
            raise ChainImportError(
                f"{file}: unknown file type; use one of "
                f"{', '.join(_CSV_SUFFIXES + _PARQUET_SUFFIXES)}"
            )
    except ChainImportError:
        raise
    except Exception as exc:  # pandas/pyarrow raise many types; name the file and the cause
        raise ChainImportError(
            f"{file}: cannot read ({type(exc).__name__}: {clip(str(exc), 200)})"
        ) from exc
    header = list(cells)
    rows = len(next(iter(cells.values())).codes) if cells else 0
    names, ignored = _map_columns(header, spec, path=file)
    columns = {canonical: cells[column] for canonical, column in names.items()}
    return _Columns(
        path=file, rows=rows, columns=columns, names=names, ignored=ignored, ragged=ragged
    )


def _map_columns(
    header: Sequence[str], spec: Mapping[str, tuple[str, ...]], *, path: Path
) -> tuple[dict[str, str], tuple[str, ...]]:
    lookup = {canonical: canonical for canonical in spec}
    for canonical, aliases in spec.items():
        lookup.update({alias: canonical for alias in aliases})
    names: dict[str, str] = {}
    ignored: list[str] = []
    for column in header:
        found = lookup.get(_normalize(column))
        if found is None:
            ignored.append(column)
            continue
        canonical = found
        if canonical in names:
            raise ChainImportError(
                f"{path}: columns {clip(names[canonical])!r} and {clip(column)!r} both mean "
                f"{canonical!r}; keep one"
            )
        names[canonical] = column
    return names, tuple(ignored)


def _read_table(path: Path, spec: Mapping[str, tuple[str, ...]]) -> _Table:
    header, raw_rows = read_rows(path)
    names, ignored = _map_columns(header, spec, path=path)
    rows = [
        raw
        if RAGGED_MARK in raw
        else {canonical: raw[column] for canonical, column in names.items()}
        for raw in raw_rows
    ]
    return _Table(path=path, rows=rows, names=names, ignored=ignored)


def _require_option_columns(table: _Columns) -> None:
    names = table.names
    missing = [c for c in ("bid", "ask") if c not in names]
    present = [c for c in CONTRACT_COLUMNS if c in names]
    if len(present) < len(CONTRACT_COLUMNS) and "occ_symbol" not in names:
        lacking = [c for c in CONTRACT_COLUMNS if c not in names]
        missing.append(f"{', '.join(lacking)} (or occ_symbol)")
    if missing:
        raise ChainImportError(_missing_message(table, missing))


def _require_underlying_columns(table: _Table) -> None:
    names = table.names
    problems = []
    if "symbol" not in names:
        problems.append("symbol")
    if not ({"spot", "last"} & names.keys() or {"bid", "ask"} <= names.keys()):
        problems.append("a price: spot, bid and ask, or last")
    if problems:
        raise ChainImportError(_missing_message(table, problems))


def _missing_message(table: _Table | _Columns, missing: Sequence[str]) -> str:
    found = sorted(table.names.values()) + list(table.ignored)
    message = (
        f"{table.path}: missing required column(s): {'; '.join(missing)}; "
        f"found: {_column_list(found)}"
    )
    if len(found) == 1 and table.path.name.lower().endswith(_CSV_SUFFIXES):
        message += (
            "; the header reads as a single column: riskdesk reads CSV separated by commas, "
            "semicolons or tabs"
        )
    return message


def _validate_rows(
    table: _Table,
    validate: Callable[..., tuple[_Parsed | None, list[RowError]]],
    build: Callable[[_Parsed], _Row],
    key: Callable[[_Row], tuple[object, str]],
    *,
    as_of: datetime,
    naive_timezone: str | None,
    what: str,
) -> tuple[list[tuple[int, _Parsed, _Row]], list[RowError], int]:
    """Validate each row, build its domain object and refuse repeats of an earlier row's key.

    ``build`` turns a valid row into the domain object (which checks what the store needs);
    a ValueError it raises is the row's error. ``key`` gives the identity that must not
    repeat and its readable form for the error.
    """
    good: list[tuple[int, _Parsed, _Row]] = []
    errors: list[RowError] = []
    rejected = 0
    seen: dict[object, int] = {}
    width = len(table.names) + len(table.ignored)
    for number, raw in enumerate(table.rows, start=1):
        if RAGGED_MARK in raw:
            count, _, text = str(raw[RAGGED_MARK]).partition(":")
            reason = f"row has {count} fields but the header has {width}"
            errors.append(RowError(number, "(row)", text, reason))
            rejected += 1
            continue
        parsed, row_errors = validate(
            raw, row=number, as_of=as_of, names=table.names, naive_timezone=naive_timezone
        )
        if parsed is not None:
            try:
                built = build(parsed)
            except ValueError as exc:
                row_errors = [RowError(number, "(row)", "", clip(str(exc), 200))]
            else:
                identity, shown = key(built)
                if identity in seen:
                    row_errors = [
                        RowError(
                            number,
                            what,
                            clip(shown),
                            f"duplicate {what} (first seen at row {seen[identity]})",
                        )
                    ]
                else:
                    seen[identity] = number
                    good.append((number, parsed, built))
                    continue
        rejected += 1
        errors.extend(row_errors)
    return good, errors, rejected


_ROW = "_row"
"""Extra column of the good rows: the 0-based row index in the file."""

_SPOT = "_spot"
"""Extra column of the good rows: the position of the row's underlying_price in the spots."""

_TIMESTAMP = pa.timestamp("us", tz="UTC")


@dataclass(slots=True)
class _GoodRows:
    """The good option rows of a chain, column-wise, one per contract, in contract order.

    ``table`` has the columns of :data:`~riskdesk.domain.option_table.OPTION_SCHEMA` plus
    :data:`_ROW` and :data:`_SPOT` (into ``spots``: each parsed underlying_price, or None).
    """

    table: pa.Table
    spots: list[Decimal | None]
    greeks: dict[str, dict[str, float]]


def _coded_array(
    column: EncodedColumn,
    rows: npt.NDArray[np.intp],
    kind: pa.DataType,
    convert: Callable[[Any], Any] | None = None,
) -> pa.Array:
    """The values of ``column`` at ``rows`` as an Arrow array (each distinct value built once)."""
    values = column.values if convert is None else [convert(v) for v in column.values]
    return pa.array(values, type=kind).take(pa.array(column.codes[rows], type=pa.int64()))


def _fast_table(decided: OptionColumns, rows: npt.NDArray[np.intp], *, as_of: datetime) -> pa.Table:
    """The good rows ``rows`` decided column-wise, as OPTION_SCHEMA columns plus _ROW, _SPOT."""
    fields = decided.fields
    enum_value: Callable[[Any], Any] = lambda member: None if member is None else member.value  # noqa: E731
    stamp: Callable[[Any], Any] = lambda t: as_of if t is None else t.astimezone(UTC)  # noqa: E731
    arrays = {
        "underlying": _coded_array(fields["underlying"], rows, pa.string()),
        "expiry": _coded_array(fields["expiry"], rows, pa.date32()),
        "strike": _coded_array(fields["strike"], rows, AMOUNT_TYPE),
        "right": _coded_array(fields["right"], rows, pa.string(), enum_value),
        "style": _coded_array(fields["style"], rows, pa.string(), enum_value),
        "settlement": _coded_array(fields["settlement"], rows, pa.string(), enum_value),
        "multiplier": _coded_array(fields["multiplier"], rows, pa.int32()),
        "currency": pa.array(["USD"], pa.string()).take(pa.array(np.zeros(len(rows), np.int64))),
        "bid": _coded_array(fields["bid"], rows, AMOUNT_TYPE),
        "ask": _coded_array(fields["ask"], rows, AMOUNT_TYPE),
        "mark": _coded_array(fields["mark"], rows, AMOUNT_TYPE),
        "iv": _coded_array(fields["iv"], rows, pa.float64()),
        "volume": _coded_array(fields["volume"], rows, pa.int64()),
        "open_interest": _coded_array(fields["open_interest"], rows, pa.int64()),
        "provider_timestamp": _coded_array(fields["quote_time"], rows, _TIMESTAMP, stamp),
        "receive_timestamp": pa.array([as_of], _TIMESTAMP).take(
            pa.array(np.zeros(len(rows), np.int64))
        ),
    }
    columns = [arrays[field.name] for field in OPTION_SCHEMA]
    columns.append(pa.array(rows, type=pa.int64()))
    columns.append(pa.array(fields["underlying_price"].codes[rows], type=pa.int64()))
    return pa.Table.from_arrays(columns, schema=_GOOD_SCHEMA)


_GOOD_SCHEMA = OPTION_SCHEMA.append(pa.field(_ROW, pa.int64())).append(pa.field(_SPOT, pa.int64()))


def _validate_option_columns(
    table: _Columns, *, as_of: datetime, naive_timezone: str | None
) -> tuple[_GoodRows, list[RowError], int]:
    """The chain's rows validated column-wise; bad rows reported by :func:`validate_option_row`.

    :func:`~riskdesk.adapters.files.parsing.option_columns` decides the good rows from each
    column's distinct values, and they go into Arrow columns without a Python object per row;
    every other row goes through the per-row validator, so a bad row's errors (line, column,
    value, reason) are exactly the per-row ones. Repeats of an earlier good row's contract are
    refused as in :func:`_validate_rows`, in row order (found by sorting on the contract).
    """
    columns = table.columns
    decided = option_columns(columns, rows=table.rows, as_of=as_of, naive_timezone=naive_timezone)
    errors: list[RowError] = []
    width = len(table.names) + len(table.ignored)
    slow_quotes: list[OptionQuote] = []
    slow_rows: list[int] = []
    slow_parsed: list[ParsedOptionRow] = []
    for index in np.flatnonzero(~decided.good).tolist():
        number = index + 1
        ragged = table.ragged.get(index)
        if ragged is not None:
            count, _, text = ragged.partition(":")
            reason = f"row has {count} fields but the header has {width}"
            errors.append(RowError(number, "(row)", text, reason))
            continue
        raw = {name: column.cell(index) for name, column in columns.items()}
        parsed, row_errors = validate_option_row(
            raw, row=number, as_of=as_of, names=table.names, naive_timezone=naive_timezone
        )
        if parsed is not None:
            stamp = as_of if parsed.quote_time is None else parsed.quote_time.astimezone(UTC)
            try:
                quote = OptionQuote(
                    contract=parsed.contract,
                    bid=parsed.bid,
                    ask=parsed.ask,
                    mark=parsed.mark,
                    iv=parsed.iv,
                    provider_timestamp=stamp,
                    receive_timestamp=as_of,
                    volume=parsed.volume,
                    open_interest=parsed.open_interest,
                )
            except ValueError as exc:
                row_errors = [RowError(number, "(row)", "", clip(str(exc), 200))]
            else:
                slow_quotes.append(quote)
                slow_rows.append(index)
                slow_parsed.append(parsed)
                continue
        errors.extend(row_errors)
    fast_rows = np.flatnonzero(decided.good)
    spots: list[Decimal | None] = [
        value if isinstance(value, Decimal) else None
        for value in decided.fields["underlying_price"].values
    ]
    if not slow_quotes:  # sorted by contract before any Arrow column is built: no reordering
        keys = _field_keys(decided, fast_rows)
        order = np.lexsort(keys[::-1])  # stable: a repeated contract keeps its rows in order
        repeat = repeats([key[order] for key in keys])
        errors.extend(
            _duplicate_errors(
                order,
                repeat,
                fast_rows,
                lambda position: parsed_option_row(decided, int(fast_rows[position])).contract,
            )
        )
        good = _fast_table(decided, fast_rows[order[~repeat]], as_of=as_of)
    else:
        slow = quote_columns(slow_quotes)
        first_spot = len(spots)
        spots.extend(parsed.underlying_price for parsed in slow_parsed)
        slow = slow.append_column(_ROW, pa.array(slow_rows, type=pa.int64()))
        slow = slow.append_column(_SPOT, pa.array(range(first_spot, len(spots)), type=pa.int64()))
        good = pa.concat_tables(
            [_fast_table(decided, fast_rows, as_of=as_of), slow.cast(_GOOD_SCHEMA)]
        ).combine_chunks()
        rows = good.column(_ROW).to_numpy()
        table_keys = identity_keys(good)
        if table_keys is None:  # a strike beyond 64-bit integers of 1e-8: sort the columns
            order = pc.sort_indices(
                good, sort_keys=[(name, "ascending") for name in (*IDENTITY_COLUMNS, _ROW)]
            ).to_numpy()
            repeat = _repeats(good.take(order))
        else:
            order = np.lexsort((rows, *table_keys[::-1]))
            repeat = repeats([key[order] for key in table_keys])
        errors.extend(
            _duplicate_errors(order, repeat, rows, lambda position: contract_at(good, position))
        )
        good = good.take(pa.array(order[~repeat], type=pa.int64()))
    errors.sort(key=lambda error: error.row)  # stable: a row's errors stay in their order
    greeks = _greeks(good, decided, dict(zip(slow_rows, slow_parsed, strict=True)))
    rejected = table.rows - len(good)
    return _GoodRows(table=good, spots=spots, greeks=greeks), errors, rejected


def _field_keys(decided: OptionColumns, rows: npt.NDArray[np.intp]) -> list[npt.NDArray[np.int64]]:
    """Integer keys of the rows' contracts in ``contract_identity`` order (currency is USD)."""
    by_value: Callable[[Any], Any] = lambda member: member.value  # noqa: E731
    return [
        _rank_codes(decided.fields["underlying"], rows),
        _rank_codes(decided.fields["expiry"], rows),
        _rank_codes(decided.fields["strike"], rows),
        _rank_codes(decided.fields["right"], rows, by_value),
        _rank_codes(decided.fields["settlement"], rows, by_value),
        _rank_codes(decided.fields["multiplier"], rows),
        _rank_codes(decided.fields["style"], rows, by_value),
    ]


def _rank_codes(
    column: EncodedColumn,
    rows: npt.NDArray[np.intp],
    key: Callable[[Any], Any] | None = None,
) -> npt.NDArray[np.int64]:
    """Each row's value ranked among the column's distinct values (equal values: one rank)."""

    def sort_key(value: Any) -> Any:
        return value if key is None else key(value)

    distinct = sorted({sort_key(v) for v in column.values if v is not None})
    rank = {value: position for position, value in enumerate(distinct)}
    table = np.fromiter(
        (-1 if v is None else rank[sort_key(v)] for v in column.values),
        dtype=np.int64,
        count=len(column.values),
    )
    result: npt.NDArray[np.int64] = table[column.codes[rows]]
    return result


def _duplicate_errors(
    order: npt.NDArray[np.intp],
    repeat: npt.NDArray[np.bool_],
    rows: npt.NDArray[Any],
    contract: Callable[[int], OptionContract],
) -> list[RowError]:
    """A row error for each repeat of a contract, naming the contract's first good row.

    ``order`` sorts the good rows by contract, then row; ``repeat`` marks (in that order) the
    rows whose contract is the previous one's; ``rows`` are their 0-based file rows and
    ``contract(position)`` the contract at a position before sorting.
    """
    if not repeat.any():
        return []
    positions = np.arange(len(order))
    first = np.maximum.accumulate(np.where(repeat, 0, positions))
    return [
        RowError(
            int(rows[order[at]]) + 1,
            "contract",
            clip(describe_contract(contract(int(order[at])))),
            f"duplicate contract (first seen at row {int(rows[order[first[at]]]) + 1})",
        )
        for at in np.flatnonzero(repeat).tolist()
    ]


def _repeats(table: pa.Table) -> npt.NDArray[np.bool_]:
    """Rows of ``table`` (sorted by contract) whose contract is the previous row's."""
    n = len(table)
    same = np.zeros(n, dtype=np.bool_)
    if n < 2:
        return same
    equal: Any = None
    for name in IDENTITY_COLUMNS:
        column = table.column(name)
        step = pc.equal(column.slice(1), column.slice(0, n - 1))
        equal = step if equal is None else pc.and_(equal, step)
    same[1:] = equal.to_numpy()
    return same


def _greeks(
    good: pa.Table, decided: OptionColumns, slow: Mapping[int, ParsedOptionRow]
) -> dict[str, dict[str, float]]:
    """Provider Greeks by contract key; in row order, the first row of a key gives them."""
    if not decided.greeks:
        return {}
    rows = good.column(_ROW).to_numpy()
    has = np.zeros(len(decided.good), dtype=np.bool_)
    for column in decided.greeks.values():
        has |= np.fromiter((v is not None for v in column.values), np.bool_)[column.codes]
    for row, parsed in slow.items():
        has[row] = bool(parsed.greeks)
    order = np.argsort(rows, kind="stable")
    out: dict[str, dict[str, float]] = {}
    for position in order[has[rows[order]]].tolist():
        row = int(rows[position])
        key = contract_at(good, position).key
        if key in out:
            continue
        slow_row = slow.get(row)
        if slow_row is not None:
            out[key] = dict(slow_row.greeks)
        else:
            out[key] = {
                name: cast(float, value)
                for name, column in decided.greeks.items()
                if (value := column.cell(row)) is not None
            }
    return out


def _utc(name: str, value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware (UTC), got naive {value!r}")
    return value.astimezone(UTC)


def import_underlyings(
    path: Path | str,
    *,
    as_of: datetime,
    naive_timezone: str | None = None,
) -> tuple[tuple[UnderlyingQuote, ...], ImportReport]:
    """Read an underlying-quotes file (columns in the module docstring).

    ``receive_timestamp`` is ``as_of`` (the file is read as of then); ``provider_timestamp`` is
    the row's quote time or ``as_of``.
    """
    as_of = _utc("as_of", as_of)
    table = _read_table(Path(path), UNDERLYING_COLUMNS)
    _require_underlying_columns(table)
    good, errors, rejected = _validate_rows(
        table,
        validate_underlying_row,
        lambda parsed: _underlying_quote(parsed, as_of=as_of),
        lambda quote: (quote.symbol, quote.symbol),
        as_of=as_of,
        naive_timezone=naive_timezone,
        what="symbol",
    )
    quotes = tuple(sorted((quote for _, _, quote in good), key=lambda q: q.symbol))
    warnings = _ignored_warning(table)
    report = ImportReport(
        path=str(table.path),
        rows_read=len(table.rows),
        rows_ok=len(good),
        rows_rejected=rejected,
        errors=tuple(errors),
        warnings=warnings,
    )
    return quotes, report


def _underlying_quote(parsed: ParsedUnderlyingRow, *, as_of: datetime) -> UnderlyingQuote:
    stamp = parsed.quote_time.astimezone(UTC) if parsed.quote_time is not None else as_of
    return UnderlyingQuote(
        symbol=parsed.symbol,
        spot=parsed.spot,
        bid=parsed.bid,
        ask=parsed.ask,
        last=parsed.last,
        provider_timestamp=stamp,
        receive_timestamp=as_of,
    )


def _ignored_warning(table: _Table | _Columns) -> tuple[str, ...]:
    if not table.ignored:
        return ()
    return (f"ignored unknown column(s): {_column_list(table.ignored)}",)


def _underlyings_from_chain(
    good: _GoodRows, *, as_of: datetime
) -> tuple[list[UnderlyingQuote], list[str]]:
    """A spot per underlying from the first good row (in row order) with an underlying_price.

    A later row of the symbol with another price is named in a warning (the first such row
    per symbol, warnings in row order).
    """
    table = good.table
    if len(table) == 0:
        return [], []
    ids: dict[Decimal, int] = {}
    canon = np.fromiter(
        (-1 if v is None else ids.setdefault(v, len(ids)) for v in good.spots),
        dtype=np.int64,
        count=len(good.spots),
    )
    rows = table.column(_ROW).to_numpy()
    spot_codes = table.column(_SPOT).to_numpy()
    encoded = pc.dictionary_encode(table.column("underlying")).combine_chunks()
    symbols: list[str] = encoded.dictionary.to_pylist()
    order = np.argsort(rows, kind="stable")
    order = order[canon[spot_codes[order]] >= 0]  # table positions with a spot, in row order
    symbol_of = np.asarray(encoded.indices.to_numpy(zero_copy_only=False), dtype=np.int64)[order]
    price_of = canon[spot_codes[order]]
    present, first = np.unique(symbol_of, return_index=True)
    first_price = np.full(len(symbols), -1, dtype=np.int64)
    first_price[present] = price_of[first]
    first_at = np.zeros(len(symbols), dtype=np.int64)
    first_at[present] = first
    differing = np.flatnonzero(price_of != first_price[symbol_of])
    warnings: list[str] = []
    if len(differing):
        differ_symbols, differ_first = np.unique(symbol_of[differing], return_index=True)
        for at, code in sorted(
            zip(differing[differ_first].tolist(), differ_symbols.tolist(), strict=True)
        ):
            start = int(first_at[code])
            first_spot = good.spots[int(spot_codes[order[start]])]
            spot = good.spots[int(spot_codes[order[at]])]
            warnings.append(
                f"{symbols[code]}: underlying_price differs across rows ({first_spot} at row "
                f"{int(rows[order[start]]) + 1}, {spot} at row {int(rows[order[at]]) + 1}); "
                "the spot is the first one"
            )
    stamps = table.column("provider_timestamp")
    quotes = []
    for code in sorted(present.tolist(), key=symbols.__getitem__):
        position = int(order[first_at[code]])
        spot = good.spots[int(spot_codes[position])]
        assert spot is not None
        quotes.append(
            UnderlyingQuote(
                symbol=symbols[code],
                spot=spot,
                bid=None,
                ask=None,
                last=None,
                provider_timestamp=stamps[position].as_py().replace(tzinfo=UTC),
                receive_timestamp=as_of,
            )
        )
    return quotes, warnings


def import_chain(
    path: Path | str,
    *,
    as_of: datetime,
    underlyings_path: Path | str | None = None,
    source: str | None = None,
    overrides: MarketOverrides | None = None,
    mode: SnapshotMode = SnapshotMode.PINNED,
    naive_timezone: str | None = None,
    stale_after: timedelta | None = DEFAULT_STALE_AFTER,
) -> tuple[MarketSnapshot, ImportReport]:
    """Import an option chain (and optionally underlying quotes) into a MarketSnapshot.

    Parameters
    ----------
    path : Path or str
        Option-chain file, ``.csv`` or ``.parquet`` (columns in the module docstring).
    as_of : datetime
        Timezone-aware snapshot time (stored in UTC); expired contracts and quotes stamped
        after it are rejected.
    underlyings_path : Path or str or None
        Underlying-quotes file; without it, an ``underlying_price`` column supplies spots.
    source : str or None
        Snapshot source label, default ``file:<file name>``.
    overrides : MarketOverrides or None
        Rate / dividend / borrow inputs stored with the snapshot.
    mode : SnapshotMode
        PINNED by default (a file is a frozen market).
    naive_timezone : str or None
        IANA zone for timestamps written without an offset; None rejects such rows.
    stale_after : timedelta or None
        Passed to :func:`~riskdesk.analytics.diagnostics.snapshot_diagnostics`.

    Returns
    -------
    tuple[MarketSnapshot, ImportReport]
        The snapshot of the good rows (options sorted by underlying, expiry, strike, type,
        then settlement, multiplier, style and currency; diagnostics filled) and the report of
        what was read, kept and rejected (``warnings`` names ignored columns).

    Raises
    ------
    NoRowsImportedError
        When no option row is good (a header-only file, every row expired or invalid); its
        ``report`` lists the rejected rows. Nothing is returned, so nothing can be stored.
    ChainImportError
        When a file cannot be imported at all (unknown suffix, missing/ambiguous columns).

    """
    as_of = _utc("as_of", as_of)
    table = _read_columns(Path(path), OPTION_COLUMNS)
    _require_option_columns(table)
    good, errors, rejected = _validate_option_columns(
        table, as_of=as_of, naive_timezone=naive_timezone
    )
    table.columns.clear()  # the cells are parsed: free them before the snapshot is built
    warnings = list(_ignored_warning(table))
    underlying_report: ImportReport | None = None
    if underlyings_path is not None:
        quotes, underlying_report = import_underlyings(
            underlyings_path, as_of=as_of, naive_timezone=naive_timezone
        )
        underlyings = list(quotes)
    else:
        underlyings, spot_warnings = _underlyings_from_chain(good, as_of=as_of)
        warnings.extend(spot_warnings)
    known = {u.symbol for u in underlyings}
    quoted = pc.unique(good.table.column("underlying")).to_pylist()
    without = sorted(set(quoted) - known)
    if without:
        warnings.append(f"no underlying quote for {', '.join(without)}")
    options = OptionTable(good.table.drop_columns([_ROW, _SPOT]))
    report = ImportReport(
        path=str(table.path),
        rows_read=table.rows,
        rows_ok=len(options),
        rows_rejected=rejected,
        errors=tuple(errors),
        warnings=tuple(warnings),
        greeks=good.greeks,
        underlyings=underlying_report,
    )
    del good
    if not len(options):
        raise NoRowsImportedError(_no_rows_message(report), report=report)
    snapshot = MarketSnapshot(
        as_of=as_of,
        mode=mode,
        source=source if source is not None else f"file:{table.path.name}",
        underlyings=tuple(underlyings),
        options=options,
        overrides=overrides if overrides is not None else MarketOverrides(),
    )
    snapshot = replace(
        snapshot, diagnostics=snapshot_diagnostics(snapshot, stale_after=stale_after)
    )
    return snapshot, report


def _no_rows_message(report: ImportReport) -> str:
    """Why no option row was imported: counts of errors per column and the first few errors."""
    head = f"{report.path}: no option quote imported, nothing stored"
    if report.rows_read == 0:
        return f"{head}: the file has a header but no data rows"
    by_column = Counter(error.column for error in report.errors)
    counts = ", ".join(f"{column} {count}" for column, count in by_column.most_common(5))
    first = "; ".join(str(error) for error in report.errors[:_SUMMARY_ERRORS])
    return (
        f"{head}: all {report.rows_read} row(s) rejected (errors by column: {counts}); "
        f"first: {first}"
    )


class ChainFileSource:
    """A chain file (plus optional underlyings file) as a :class:`~riskdesk.domain.sources.MarketSource`.

    :meth:`snapshot` imports the file with :func:`import_chain` and keeps the
    :class:`ImportReport` of that import in :attr:`report` (the rows kept and rejected, to show
    the user). A file is a fixed market: :meth:`refresh` raises, asking for a newer file.
    """

    def __init__(
        self,
        path: Path | str,
        *,
        as_of: datetime,
        underlyings_path: Path | str | None = None,
        source: str | None = None,
        overrides: MarketOverrides | None = None,
    ) -> None:
        self.path = path
        self.as_of = as_of
        self.underlyings_path = underlyings_path
        self.label = source
        self.overrides = overrides
        self.report: ImportReport | None = None
        """The report of the last :meth:`snapshot` call (None before the first)."""

    @property
    def name(self) -> str:
        """The ``source`` label given, else ``file:<chain file name>``."""
        return self.label if self.label is not None else f"file:{Path(self.path).name}"

    def snapshot(self, *, mode: SnapshotMode = SnapshotMode.LIVE) -> MarketSnapshot:
        """The good rows of the file as a snapshot in ``mode``.

        Raises
        ------
        NoRowsImportedError
            When no option row is good; its ``report`` lists the rejected rows.
        ChainImportError
            When the file cannot be imported at all.

        """
        self.report = None
        try:
            snapshot, report = import_chain(
                self.path,
                as_of=self.as_of,
                underlyings_path=self.underlyings_path,
                source=self.label,
                overrides=self.overrides,
                mode=mode,
            )
        except NoRowsImportedError as exc:
            self.report = exc.report
            raise
        self.report = report
        if report.rows_ok == 0 or not snapshot.options:  # pragma: no cover - import_chain raises
            raise NoRowsImportedError(
                f"{self.path}: no row could be imported ({report.rows_read:,} read, "
                f"{report.rows_rejected:,} rejected); nothing was stored",
                report=report,
            )
        return snapshot

    def refresh(self, base: MarketSnapshot, *, minutes: int) -> MarketSnapshot:
        """Always raises: a file holds one market; import a newer file instead."""
        raise ValueError(
            f"snapshot source is {base.source!r}: refresh it by importing a newer file"
        )

    def describe(self) -> dict[str, Any]:
        """The files, the snapshot time and the source label."""
        return {
            "source": self.name,
            "chain": str(self.path),
            "underlyings": None if self.underlyings_path is None else str(self.underlyings_path),
            "as_of": self.as_of,
        }
