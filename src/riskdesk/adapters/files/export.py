"""Write a MarketSnapshot's quotes as CSV or Parquet in the canonical import layout.

The option file has the columns ``underlying, expiration, strike, option_type, occ_symbol,
style, settlement, multiplier, bid, ask, mark, iv, volume, open_interest, quote_time``; the
underlying file ``symbol, spot, bid, ask, last, quote_time``. Reading both back with
:func:`~riskdesk.adapters.files.chains.import_chain` at the snapshot's ``as_of`` (with the
same source, overrides and mode) gives the same ``snapshot_hash``.

CSV cells are exact text (decimals without exponent, floats in shortest round-trip form,
timestamps ISO-8601 UTC with ``Z``); Parquet columns are typed (``float64`` prices, ``date32``
expirations, ``timestamp[us, UTC]`` quote times, nullable ``int64`` counts).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from riskdesk.domain.hashing import decimal_str
from riskdesk.domain.market import MarketSnapshot, OptionQuote, UnderlyingQuote
from riskdesk.domain.occ import OccSymbolError, format_occ

__all__ = ["OPTION_EXPORT_COLUMNS", "UNDERLYING_EXPORT_COLUMNS", "export_chain"]

OPTION_EXPORT_COLUMNS: tuple[str, ...] = (
    "underlying",
    "expiration",
    "strike",
    "option_type",
    "occ_symbol",
    "style",
    "settlement",
    "multiplier",
    "bid",
    "ask",
    "mark",
    "iv",
    "volume",
    "open_interest",
    "quote_time",
)
UNDERLYING_EXPORT_COLUMNS: tuple[str, ...] = ("symbol", "spot", "bid", "ask", "last", "quote_time")


def _occ(quote: OptionQuote) -> str | None:
    try:
        return format_occ(quote.contract, padded=False)
    except OccSymbolError:
        return None


def _option_row(quote: OptionQuote) -> dict[str, Any]:
    c = quote.contract
    return {
        "underlying": c.underlying,
        "expiration": c.expiry,
        "strike": c.strike,
        "option_type": c.right.value,
        "occ_symbol": _occ(quote),
        "style": c.style.value,
        "settlement": c.settlement.value,
        "multiplier": c.multiplier,
        "bid": quote.bid,
        "ask": quote.ask,
        "mark": quote.mark,
        "iv": quote.iv,
        "volume": quote.volume,
        "open_interest": quote.open_interest,
        "quote_time": quote.provider_timestamp,
    }


def _underlying_row(quote: UnderlyingQuote) -> dict[str, Any]:
    return {
        "symbol": quote.symbol,
        "spot": quote.spot,
        "bid": quote.bid,
        "ask": quote.ask,
        "last": quote.last,
        "quote_time": quote.provider_timestamp,
    }


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return decimal_str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _write_csv(path: Path, columns: Sequence[str], rows: Sequence[dict[str, Any]]) -> None:
    import pandas as pd

    frame = pd.DataFrame(
        [[_text(row[c]) for c in columns] for row in rows], columns=list(columns), dtype=str
    )
    frame.to_csv(path, index=False)


def _write_parquet(path: Path, columns: Sequence[str], rows: Sequence[dict[str, Any]]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    def as_float(v: object) -> float | None:
        return None if v is None else float(v)  # type: ignore[arg-type]

    def as_utc(v: object) -> datetime | None:
        return None if v is None else v.astimezone(UTC)  # type: ignore[attr-defined]

    converters: dict[str, tuple[Any, Callable[[object], object]]] = {
        "expiration": (pa.date32(), lambda v: v),
        "quote_time": (pa.timestamp("us", tz="UTC"), as_utc),
        "multiplier": (pa.int64(), lambda v: v),
        "volume": (pa.int64(), lambda v: v),
        "open_interest": (pa.int64(), lambda v: v),
    }
    arrays = []
    for column in columns:
        kind, convert = converters.get(column, (None, lambda v: v))
        values = [row[column] for row in rows]
        if kind is None:
            if column in {
                "underlying",
                "option_type",
                "occ_symbol",
                "style",
                "settlement",
                "symbol",
            }:
                kind = pa.string()
            else:
                kind, convert = pa.float64(), as_float
        arrays.append(pa.array([convert(v) for v in values], type=kind))
    pq.write_table(pa.Table.from_arrays(arrays, names=list(columns)), path)


def _write(path: Path, columns: Sequence[str], rows: Sequence[dict[str, Any]]) -> None:
    name = path.name.lower()
    if name.endswith(".csv"):
        _write_csv(path, columns, rows)
    elif name.endswith((".parquet", ".pq")):
        _write_parquet(path, columns, rows)
    else:
        raise ValueError(f"{path}: unknown file type; use .csv, .parquet or .pq")


def export_chain(
    snapshot: MarketSnapshot,
    path: Path | str,
    *,
    underlyings_path: Path | str | None = None,
) -> None:
    """Write the option quotes of ``snapshot`` to ``path`` (and its underlyings, if asked).

    The format follows the suffix (``.csv``, ``.parquet``/``.pq``); rows are sorted by
    underlying, expiry, strike and type. Existing files are overwritten.
    """
    options = sorted(
        snapshot.options,
        key=lambda q: (
            q.contract.underlying,
            q.contract.expiry,
            q.contract.strike,
            q.contract.right.value,
        ),
    )
    _write(Path(path), OPTION_EXPORT_COLUMNS, [_option_row(q) for q in options])
    if underlyings_path is not None:
        rows = [_underlying_row(u) for u in sorted(snapshot.underlyings, key=lambda u: u.symbol)]
        _write(Path(underlyings_path), UNDERLYING_EXPORT_COLUMNS, rows)
