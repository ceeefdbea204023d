"""Price history use cases: synthesize, import from CSV/Parquet, and read closes.

:class:`PriceHistory` works on one :class:`~riskdesk.store.Database` as one
:class:`~riskdesk.domain.caller.Caller` (the local user when None). Every write is one unit
of work with its audit row; reads are read-only units.

Import format
-------------
A ``.csv`` (also ``.csv.gz``/``.txt``; comma, semicolon or tab) or ``.parquet``/``.pq`` file
with the columns ``ticker`` (or ``symbol``), ``date`` and ``close``, and optionally ``open``,
``high``, ``low`` and ``volume``; header names are case-insensitive and other columns are
ignored. Each bad row is reported (:class:`HistoryRowError`: line, column, value, reason) and
skipped; the good rows are upserted in one transaction with ``data_source="import"``, so
importing the same file again changes nothing. Rules:

* ``ticker``: 1-10 letters, digits, ``.``, ``/``, ``-`` (upper-cased), or the rate symbol
  ``US10Y`` or the volatility index ``VIX``;
* ``date``: ``YYYY-MM-DD``, ``YYYYMMDD`` or ``MM/DD/YYYY`` (or a Parquet date);
* ``close`` (and ``open``/``high``/``low`` when given): a number > 0 with at most 8 decimal
  places; ``low <= open, close <= high`` when those are given;
* ``volume``: a whole number >= 0;
* a ``(ticker, date)`` already seen earlier in the file is a duplicate.

In a CSV file, line ``n + 1`` holds data row ``n`` (line 1 is the header); in a Parquet
file the line is the 1-based row number.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd

from riskdesk.adapters.files.chains import RAGGED_MARK, ChainImportError, read_rows
from riskdesk.adapters.files.parsing import (
    FieldError,
    clip,
    is_missing,
    parse_date,
    parse_decimal,
    parse_int,
    parse_ticker,
    raw_text,
)
from riskdesk.adapters.simulated.config import DEFAULT_CONFIG
from riskdesk.domain import numbers
from riskdesk.domain.caller import Caller
from riskdesk.domain.market import MAX_COUNT
from riskdesk.risk.history import (
    FACTOR_ETF_SPECS,
    FACTOR_ETFS,
    MARKET_DAILY_VOL,
    RATE_SYMBOL,
    REGIME_ETFS,
    STYLE_DAILY_VOL,
    VIX_SYMBOL,
    SymbolSpec,
    last_sessions,
    synthesize_history,
    trading_sessions,
)
from riskdesk.store import Database
from riskdesk.store import history as repo
from riskdesk.store.history import StoredBar, TickerCoverage

__all__ = [
    "IMPORT_SOURCE",
    "HistoryImportError",
    "HistoryImportReport",
    "HistoryRowError",
    "KeyedFile",
    "PriceHistory",
    "ProgressCallback",
    "RowCheck",
    "SynthReport",
    "map_columns",
    "read_keyed_file",
    "reference_specs",
    "validate_rows",
]

IMPORT_SOURCE = "import"
"""``data_source`` of imported bars."""

ProgressCallback = Callable[[str, int, int], None]
"""``progress(label, done, total)``, called as a long operation advances."""

_COLUMNS: Mapping[str, tuple[str, ...]] = {
    "ticker": ("ticker", "symbol"),
    "date": ("date", "day", "trade_date"),
    "open": ("open",),
    "high": ("high",),
    "low": ("low",),
    "close": ("close", "adj_close"),
    "volume": ("volume",),
}
_REQUIRED = ("ticker", "date", "close")
_CSV_SUFFIXES = (".csv", ".csv.gz", ".txt")
_BETA_BOUNDS = (0.6, 1.6)
_TRADING_DAYS = 252


class HistoryImportError(ValueError):
    """The file as a whole cannot be imported (missing, unreadable, required columns absent)."""


@dataclass(frozen=True, slots=True)
class HistoryRowError:
    """Why a row of an imported file was rejected (``line`` as in the module docstring)."""

    line: int
    column: str
    value: str
    reason: str

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON output."""
        return {
            "line": self.line,
            "column": self.column,
            "value": self.value,
            "reason": self.reason,
        }

    def __str__(self) -> str:
        return f"line {self.line}, column {self.column!r}, value {self.value!r}: {self.reason}"


@dataclass(frozen=True, slots=True)
class HistoryImportReport:
    """Outcome of one import: rows read, kept and rejected, and bars written (new or changed)."""

    path: str
    rows_read: int
    rows_ok: int
    rows_rejected: int
    written: int
    tickers: tuple[str, ...] = ()
    errors: tuple[HistoryRowError, ...] = ()
    ignored_columns: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict."""
        return {
            "path": self.path,
            "rows_read": self.rows_read,
            "rows_ok": self.rows_ok,
            "rows_rejected": self.rows_rejected,
            "written": self.written,
            "tickers": list(self.tickers),
            "errors": [e.to_dict() for e in self.errors],
            "ignored_columns": list(self.ignored_columns),
        }


@dataclass(frozen=True, slots=True)
class SynthReport:
    """Outcome of :meth:`PriceHistory.synthesize`."""

    seed: int
    start: date
    end: date
    sessions: int
    rows: Mapping[str, int]
    written: int
    betas: Mapping[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict."""
        return {
            "seed": self.seed,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "sessions": self.sessions,
            "rows": dict(self.rows),
            "written": self.written,
            "betas": {k: round(v, 4) for k, v in self.betas.items()},
        }


def reference_specs() -> dict[str, SymbolSpec]:
    """Specs whose last closes are the synthetic market's reference spots.

    Every underlying of :data:`riskdesk.adapters.simulated.DEFAULT_CONFIG` ends at its
    reference ``spot``, so the history meets the demo's market. A factor ETF keeps its
    loadings; another underlying gets the market beta ``market_beta * vol_long / SPY vol``
    (clamped to [0.6, 1.6]), a growth tilt from its ``sector_beta``, and the idiosyncratic
    volatility that makes its total volatility about ``vol_long``.
    """
    underlyings = {u.symbol: u for u in DEFAULT_CONFIG.underlyings}
    spy_vol = underlyings["SPY"].vol_long if "SPY" in underlyings else 0.19
    specs: dict[str, SymbolSpec] = {}
    for symbol, u in underlyings.items():
        base = FACTOR_ETF_SPECS.get(symbol)
        if base is not None:
            specs[symbol] = SymbolSpec(base.loadings, base.idio_vol, u.spot, base.volume)
            continue
        beta = min(max(u.market_beta * u.vol_long / spy_vol, _BETA_BOUNDS[0]), _BETA_BOUNDS[1])
        loadings = (beta, -0.6 * u.sector_beta, 0.0, 0.5 * u.sector_beta, 0.0)
        daily = u.vol_long / math.sqrt(_TRADING_DAYS)
        systematic = (beta * MARKET_DAILY_VOL) ** 2 + sum(
            (b * STYLE_DAILY_VOL) ** 2 for b in loadings[1:]
        )
        idio = math.sqrt(max(daily**2 - systematic, 0.004**2))
        volume = 40_000_000 if u.kind.value == "ETF" else 25_000_000
        specs[symbol] = SymbolSpec(loadings, idio, u.spot, volume)
    return specs


class PriceHistory:
    """Daily price history (``market_data_cache``) on ``db``, acting as ``caller``."""

    def __init__(self, db: Database, caller: Caller | None = None) -> None:
        self.db = db
        self.caller = caller if caller is not None else Caller.local(db.actor)

    # -- writes ---------------------------------------------------------------------------------

    def synthesize(
        self,
        symbols: Iterable[str],
        *,
        seed: int,
        end: date,
        days: int | None = None,
        start: date | None = None,
        include_factors: bool = False,
        include_regime: bool = False,
        progress: ProgressCallback | None = None,
    ) -> SynthReport:
        """Generate and store a synthetic history (see :mod:`riskdesk.risk.history`).

        Give either ``days`` (the last ``days`` NYSE sessions up to ``end``) or ``start``.
        ``include_factors`` adds the factor ETFs and the 10-year yield ``US10Y``;
        ``include_regime`` adds seed 001's regime inputs (SPY, QQQ, IWM and the volatility
        index ``VIX``, tied to the synthetic market's volatility clustering). Symbols of
        the synthetic market end at its reference spots (:func:`reference_specs`). Stored
        bars of the same tickers and dates are overwritten (one transaction).
        """
        if (days is None) == (start is None):
            raise ValueError("give either days or start (not both)")
        wanted = {s.strip().upper() for s in symbols if s.strip()}
        if include_factors:
            wanted.update(FACTOR_ETFS)
            wanted.add(RATE_SYMBOL)
        if include_regime:
            wanted.update(REGIME_ETFS)
            wanted.add(VIX_SYMBOL)
        if not wanted:
            raise ValueError("no symbols: name at least one, or include the factors")
        if days is not None:
            sessions = last_sessions(end, days)
        else:
            assert start is not None
            sessions = trading_sessions(start, end)
        history = synthesize_history(
            sorted(wanted),
            start=sessions[0],
            end=sessions[-1],
            seed=seed,
            specs=reference_specs(),
        )
        by_ticker: dict[str, list[dict[str, object]]] = {}
        for bar in history.bars:
            by_ticker.setdefault(bar.ticker, []).append(bar.to_dict())
        written = 0
        total = len(by_ticker)
        with self.db.unit_of_work_for(self.caller) as uow:
            for done, (ticker, rows) in enumerate(sorted(by_ticker.items()), start=1):
                written += repo.upsert_bars(uow.session, rows)
                if progress is not None:
                    progress(ticker, done, total)
            report = SynthReport(
                seed=seed,
                start=sessions[0],
                end=sessions[-1],
                sessions=len(history.sessions),
                rows={t: len(r) for t, r in sorted(by_ticker.items())},
                written=written,
                betas={t: s.beta for t, s in sorted(history.specs.items())},
            )
            uow.audit(
                "market_data.synthesized",
                resource_type="market_data_cache",
                payload=report.to_dict(),
            )
        return report

    def import_file(
        self, path: Path | str, *, progress: ProgressCallback | None = None
    ) -> HistoryImportReport:
        """Import a CSV or Parquet price file (format in the module docstring).

        Raises
        ------
        HistoryImportError
            For a missing or unreadable file or missing required columns (nothing imported).

        """
        loaded = read_keyed_file(
            path,
            aliases=_COLUMNS,
            required_columns=_REQUIRED,
            hint=" (a price file needs ticker, date and close; open, high, low, volume are "
            "optional)",
            validate=_validate,
        )
        file, bars, rejected = loaded.file, loaded.good, loaded.rejected
        written = 0
        if bars:
            with self.db.unit_of_work_for(self.caller) as uow:
                chunk = 5_000
                for start in range(0, len(bars), chunk):
                    written += repo.upsert_bars(uow.session, bars[start : start + chunk])
                    if progress is not None:
                        progress(file.name, min(start + chunk, len(bars)), len(bars))
                uow.audit(
                    "market_data.imported",
                    resource_type="market_data_cache",
                    payload={
                        "path": str(file),
                        "rows_ok": len(bars),
                        "rows_rejected": rejected,
                        "written": written,
                    },
                )
        return loaded.report(written)

    # -- reads ----------------------------------------------------------------------------------

    def closes(
        self, tickers: Sequence[str], start: date | None = None, end: date | None = None
    ) -> pd.DataFrame:
        """Closes as a float DataFrame: dates ascending (``datetime.date`` index) x tickers.

        Columns follow ``tickers``' order; a date on which a ticker has no bar holds NaN.

        Raises
        ------
        LookupError
            When a ticker has no bar in [start, end].

        """
        wanted = list(dict.fromkeys(t.strip().upper() for t in tickers))
        if not wanted:
            raise ValueError("closes needs at least one ticker")
        with self.db.unit_of_work_for(self.caller, read_only=True) as uow:
            rows = repo.read_closes(uow.session, tickers=wanted, start=start, end=end)
        seen = {t for t, _, _ in rows}
        missing = [t for t in wanted if t not in seen]
        if missing:
            window = f"{start or 'the start'} to {end or 'the end'}"
            raise LookupError(
                f"no price history for {', '.join(missing)} from {window}; run "
                "`riskdesk history synth` or `riskdesk history import FILE` first"
            )
        frame = pd.DataFrame(
            {"ticker": [r[0] for r in rows], "date": [r[1] for r in rows]},
        )
        frame["close"] = [float(r[2]) for r in rows]
        table = frame.pivot(index="date", columns="ticker", values="close")
        table = table.reindex(columns=wanted).sort_index()
        table.columns.name = None
        table.index.name = "date"
        return table

    def close_on(self, ticker: str, day: date, *, on_or_before: bool = False) -> Decimal | None:
        """The close of ``ticker`` on ``day`` (or the latest before, with ``on_or_before``)."""
        with self.db.unit_of_work_for(self.caller, read_only=True) as uow:
            found = repo.close_on(
                uow.session, ticker=ticker.strip().upper(), day=day, on_or_before=on_or_before
            )
        return None if found is None else found[1]

    def bars(
        self, ticker: str, *, start: date | None = None, end: date | None = None
    ) -> list[StoredBar]:
        """The stored bars of ``ticker`` in [start, end], dates ascending."""
        with self.db.unit_of_work_for(self.caller, read_only=True) as uow:
            return repo.read_bars(
                uow.session, tickers=[ticker.strip().upper()], start=start, end=end
            )

    def coverage(self, tickers: Sequence[str] | None = None) -> list[TickerCoverage]:
        """First and last date and bar count per ticker."""
        with self.db.unit_of_work_for(self.caller, read_only=True) as uow:
            return repo.coverage(uow.session, tickers=tickers)


# -- file validation ----------------------------------------------------------------------------


def _normalize(name: str) -> str:
    return re.sub(r"[\s\-]+", "_", name.strip().lower())


def map_columns(
    header: Sequence[str],
    file: Path,
    *,
    aliases: Mapping[str, Sequence[str]],
    required: Sequence[str],
    any_of: Sequence[str] = (),
    hint: str = "",
) -> tuple[dict[str, str], tuple[str, ...]]:
    """Map a file's header: canonical field -> its column, and the columns ignored.

    A column means a field when its name, in any case and with spaces or dashes as ``_``, is
    one of the field's ``aliases``.

    Raises
    ------
    HistoryImportError
        For two columns meaning one field, or a missing ``required`` column (or none of
        ``any_of`` when given); the message lists the header and ends with ``hint``.

    """
    lookup = {alias: canonical for canonical, names in aliases.items() for alias in names}
    names: dict[str, str] = {}
    ignored: list[str] = []
    for column in header:
        canonical = lookup.get(_normalize(column))
        if canonical is None:
            ignored.append(column)
            continue
        if canonical in names:
            raise HistoryImportError(
                f"{file}: columns {clip(names[canonical])!r} and {clip(column)!r} both mean "
                f"{canonical!r}; keep one"
            )
        names[canonical] = column
    missing = [c for c in required if c not in names]
    if any_of and not any(m in names for m in any_of):
        missing.append("one of " + ", ".join(any_of))
    if missing:
        found = ", ".join(clip(c) for c in header[:20]) or "(none)"
        raise HistoryImportError(
            f"{file}: missing required column(s): {'; '.join(missing)}; found: {found}{hint}"
        )
    return names, tuple(ignored)


@dataclass(frozen=True, slots=True)
class KeyedFile:
    """A (ticker, date)-keyed CSV or Parquet file read and checked row by row."""

    file: Path
    rows_read: int
    good: list[dict[str, object]]
    errors: tuple[HistoryRowError, ...]
    rejected: int
    ignored_columns: tuple[str, ...]

    def report(self, written: int) -> HistoryImportReport:
        """The import report once the good rows are stored (``written`` new or changed)."""
        return HistoryImportReport(
            path=str(self.file),
            rows_read=self.rows_read,
            rows_ok=len(self.good),
            rows_rejected=self.rejected,
            written=written,
            tickers=tuple(sorted({str(r["ticker"]) for r in self.good})),
            errors=self.errors,
            ignored_columns=self.ignored_columns,
        )


def read_keyed_file(
    path: Path | str,
    *,
    aliases: Mapping[str, Sequence[str]],
    required_columns: Sequence[str],
    any_of: Sequence[str] = (),
    hint: str = "",
    validate: Callable[..., tuple[list[dict[str, object]], list[HistoryRowError], int]],
) -> KeyedFile:
    """Read ``path`` (CSV or Parquet), map its columns, and ``validate`` its rows.

    Raises
    ------
    HistoryImportError
        For a missing or unreadable file or missing required columns (nothing imported).

    """
    file = Path(path)
    try:
        header, raw_rows = read_rows(file)
    except ChainImportError as exc:
        raise HistoryImportError(str(exc)) from exc
    names, ignored = map_columns(
        header, file, aliases=aliases, required=required_columns, any_of=any_of, hint=hint
    )
    offset = 1 if file.name.lower().endswith(_CSV_SUFFIXES) else 0
    good, errors, rejected = validate(raw_rows, names, offset=offset, width=len(header))
    return KeyedFile(file, len(raw_rows), good, tuple(errors), rejected, ignored)


def _history_ticker(value: object) -> str:
    if isinstance(value, str) and value.strip().upper() in (RATE_SYMBOL, VIX_SYMBOL):
        return value.strip().upper()
    return parse_ticker(value)


def _price(value: object) -> Decimal:
    number = parse_decimal(value)
    try:
        numbers.check_amount(number, field="price")
    except ValueError as exc:
        raise FieldError(str(exc)) from exc
    if number <= 0:
        raise FieldError("must be > 0" if number == 0 else "must be > 0 (negative price)")
    return number


def _volume(value: object) -> int:
    count = parse_int(value)
    if count < 0:
        raise FieldError("volume must be >= 0")
    if count > MAX_COUNT:
        raise FieldError(f"volume must be <= {MAX_COUNT} (a 64-bit integer column)")
    return count


_PARSERS: Mapping[str, Callable[[object], object]] = {
    "ticker": _history_ticker,
    "date": parse_date,
    "open": _price,
    "high": _price,
    "low": _price,
    "close": _price,
    "volume": _volume,
}


RowCheck = Callable[[Mapping[str, object], Mapping[str, str], int], list[HistoryRowError]]
"""Checks of a row whose cells all parsed: ``(values, column names, line) -> errors``."""


def validate_rows(
    raw_rows: Sequence[Mapping[str, object]],
    names: Mapping[str, str],
    *,
    parsers: Mapping[str, Callable[[object], object]],
    required: Collection[str],
    date_field: str,
    offset: int,
    width: int,
    check: RowCheck | None = None,
    reason: Callable[[str, str], str] | None = None,
) -> tuple[list[dict[str, object]], list[HistoryRowError], int]:
    """Parse every row of a (ticker, date)-keyed file: the good rows, the errors, rejected count.

    ``names`` maps each canonical field to its column; ``parsers`` parse a cell (raising
    :class:`FieldError`); a ``required`` field may not be empty. A row is rejected with every
    reason found: a ragged row, a missing required cell, a cell that does not parse (a date
    error reads ``bad date: ...``; ``reason(field, text)`` may reword the others), the
    ``check`` of a fully parsed row, or a (ticker, date) already seen (naming its first line).
    Lines count from the header (``offset``); a good row holds every parsed field (None when
    empty).
    """
    good: list[dict[str, object]] = []
    errors: list[HistoryRowError] = []
    rejected = 0
    seen: dict[tuple[str, date], int] = {}
    for number, raw in enumerate(raw_rows, start=1):
        line = number + offset
        if RAGGED_MARK in raw:
            count, _, text = str(raw[RAGGED_MARK]).partition(":")
            errors.append(
                HistoryRowError(
                    line, "(row)", text, f"row has {count} fields but the header has {width}"
                )
            )
            rejected += 1
            continue
        row_errors: list[HistoryRowError] = []
        values: dict[str, object] = {}
        for canonical, column in names.items():
            cell = raw.get(column)
            if is_missing(cell):
                if canonical in required:
                    row_errors.append(
                        HistoryRowError(line, clip(column), "", "missing required value")
                    )
                values[canonical] = None
                continue
            try:
                values[canonical] = parsers[canonical](cell)
            except FieldError as exc:
                text = str(exc)
                if canonical == date_field:
                    text = f"bad date: {text}"
                elif reason is not None:
                    text = reason(canonical, text)
                row_errors.append(HistoryRowError(line, clip(column), clip(raw_text(cell)), text))
        if not row_errors and check is not None:
            row_errors.extend(check(values, names, line))
        if not row_errors:
            day = values[date_field]
            assert isinstance(day, date)
            key = (str(values["ticker"]), day)
            first = seen.get(key)
            if first is not None:
                row_errors.append(
                    HistoryRowError(
                        line,
                        "(ticker, date)",
                        f"{key[0]} {key[1].isoformat()}",
                        f"duplicate (ticker, date) (first seen at line {first})",
                    )
                )
            else:
                seen[key] = line
        if row_errors:
            rejected += 1
            errors.extend(row_errors)
            continue
        good.append(values)
    return good, errors, rejected


def _close_reason(field: str, text: str) -> str:
    return f"non-positive close: {text}" if field == "close" and "> 0" in text else text


def _validate(
    raw_rows: Sequence[Mapping[str, object]],
    names: Mapping[str, str],
    *,
    offset: int,
    width: int,
) -> tuple[list[dict[str, object]], list[HistoryRowError], int]:
    """Parse every bar; return the good bars, the errors and the number of rejected rows."""
    good, errors, rejected = validate_rows(
        raw_rows,
        names,
        parsers=_PARSERS,
        required=_REQUIRED,
        date_field="date",
        offset=offset,
        width=width,
        check=_check_range,
        reason=_close_reason,
    )
    bars = [
        {
            "ticker": values["ticker"],
            "date": values["date"],
            "open": values.get("open"),
            "high": values.get("high"),
            "low": values.get("low"),
            "close": values["close"],
            "volume": values.get("volume"),
            "data_source": IMPORT_SOURCE,
        }
        for values in good
    ]
    return bars, errors, rejected


def _check_range(
    values: Mapping[str, object], names: Mapping[str, str], line: int
) -> list[HistoryRowError]:
    """``low <= open, close <= high`` for whichever of them the row has."""
    errors: list[HistoryRowError] = []
    high = values.get("high")
    low = values.get("low")
    if isinstance(high, Decimal) and isinstance(low, Decimal) and low > high:
        errors.append(
            HistoryRowError(line, clip(names["low"]), str(low), f"low > high ({low} > {high})")
        )
        return errors
    for column in ("open", "close"):
        price = values.get(column)
        if not isinstance(price, Decimal):
            continue
        if isinstance(high, Decimal) and price > high:
            errors.append(
                HistoryRowError(
                    line, clip(names[column]), str(price), f"{column} > high ({price} > {high})"
                )
            )
        if isinstance(low, Decimal) and price < low:
            errors.append(
                HistoryRowError(
                    line, clip(names[column]), str(price), f"{column} < low ({price} < {low})"
                )
            )
    return errors
