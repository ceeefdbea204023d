"""Repository of daily price bars (``market_data_cache``): bulk upsert and ordered reads.

:func:`upsert_bars` writes bars keyed by ``(ticker, date)`` with one ``INSERT ... ON CONFLICT
(ticker, date) DO UPDATE`` statement per batch on both backends, so concurrent writers of the
same bar never fail on the unique rule (the last writer's values win). A bar whose values are
already stored is left untouched (the update has a ``WHERE ... IS DISTINCT FROM`` guard), so
re-writing the same bars changes nothing and counts nothing.

Reads (:func:`read_bars`, :func:`read_closes`) return dates ascending.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Table, func, select
from sqlalchemy.orm import Session

from riskdesk.store.bulk import upsert_changed
from riskdesk.store.models import MarketDataCache

__all__ = [
    "BAR_COLUMNS",
    "StoredBar",
    "TickerCoverage",
    "close_on",
    "coverage",
    "read_bars",
    "read_closes",
    "upsert_bars",
]

BAR_COLUMNS: tuple[str, ...] = (
    "ticker",
    "date",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "data_source",
)
"""Keys of a bar mapping given to :func:`upsert_bars`."""

_VALUE_COLUMNS = ("open", "high", "low", "close", "volume", "data_source")

_BATCH = 2_000
"""Rows per statement (SQLAlchemy splits further where a driver's parameter limit needs)."""


@dataclass(frozen=True, slots=True)
class StoredBar:
    """A stored bar (a ``market_data_cache`` row without its id and timestamp)."""

    ticker: str
    date: date
    open: Decimal | None
    high: Decimal | None
    low: Decimal | None
    close: Decimal
    volume: int | None
    data_source: str


@dataclass(frozen=True, slots=True)
class TickerCoverage:
    """How much history one ticker has."""

    ticker: str
    first: date
    last: date
    bars: int


def _table() -> Table:
    table = MarketDataCache.__table__
    assert isinstance(table, Table)
    return table


def upsert_bars(session: Session, bars: Iterable[Mapping[str, Any]]) -> int:
    """Insert or update ``bars`` by ``(ticker, date)``; return how many rows were written.

    Each bar is a mapping with the keys of :data:`BAR_COLUMNS`. When the same
    ``(ticker, date)`` appears twice in ``bars`` the later one wins. Rows whose stored values
    already equal the new ones are not rewritten and not counted, so the count is the number
    of bars inserted or changed. Runs in ``session``'s transaction (nothing is committed here).
    """
    value_columns = _VALUE_COLUMNS
    return upsert_changed(
        session,
        _table(),
        bars,
        keys=("ticker", "date"),
        values=value_columns,
        batch=_BATCH,
        what="bar",
    )


def _stored(row: MarketDataCache) -> StoredBar:
    return StoredBar(
        ticker=row.ticker,
        date=row.date,
        open=row.open,
        high=row.high,
        low=row.low,
        close=row.close,
        volume=row.volume,
        data_source=row.data_source,
    )


def read_bars(
    session: Session,
    *,
    tickers: Sequence[str],
    start: date | None = None,
    end: date | None = None,
) -> list[StoredBar]:
    """The bars of ``tickers`` between ``start`` and ``end`` (inclusive), by ticker then date."""
    if not tickers:
        return []
    query = select(MarketDataCache).where(MarketDataCache.ticker.in_(sorted(set(tickers))))
    if start is not None:
        query = query.where(MarketDataCache.date >= start)
    if end is not None:
        query = query.where(MarketDataCache.date <= end)
    query = query.order_by(MarketDataCache.ticker, MarketDataCache.date)
    return [_stored(row) for row in session.scalars(query)]


def read_closes(
    session: Session,
    *,
    tickers: Sequence[str],
    start: date | None = None,
    end: date | None = None,
) -> list[tuple[str, date, Decimal]]:
    """``(ticker, date, close)`` of ``tickers`` in [start, end], by date ascending, then ticker."""
    if not tickers:
        return []
    query = select(MarketDataCache.ticker, MarketDataCache.date, MarketDataCache.close).where(
        MarketDataCache.ticker.in_(sorted(set(tickers)))
    )
    if start is not None:
        query = query.where(MarketDataCache.date >= start)
    if end is not None:
        query = query.where(MarketDataCache.date <= end)
    query = query.order_by(MarketDataCache.date, MarketDataCache.ticker)
    return [(t, d, c) for t, d, c in session.execute(query)]


def close_on(
    session: Session, *, ticker: str, day: date, on_or_before: bool = False
) -> tuple[date, Decimal] | None:
    """The close of ``ticker`` on ``day`` (or, with ``on_or_before``, the latest before it)."""
    query = select(MarketDataCache.date, MarketDataCache.close).where(
        MarketDataCache.ticker == ticker
    )
    if on_or_before:
        query = query.where(MarketDataCache.date <= day).order_by(MarketDataCache.date.desc())
    else:
        query = query.where(MarketDataCache.date == day)
    row = session.execute(query.limit(1)).first()
    return None if row is None else (row[0], row[1])


def coverage(session: Session, *, tickers: Sequence[str] | None = None) -> list[TickerCoverage]:
    """First and last date and bar count per ticker (all tickers when None), by ticker."""
    query = select(
        MarketDataCache.ticker,
        func.min(MarketDataCache.date),
        func.max(MarketDataCache.date),
        func.count(),
    ).group_by(MarketDataCache.ticker)
    if tickers is not None:
        query = query.where(MarketDataCache.ticker.in_(sorted(set(tickers))))
    query = query.order_by(MarketDataCache.ticker)
    return [
        TickerCoverage(ticker=t, first=first, last=last, bars=int(n))
        for t, first, last, n in session.execute(query)
    ]
