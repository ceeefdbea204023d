"""Greeks queries and the seed-003 trade log: the repository of ``greek_snapshots`` reads.

Keyword-only functions over a session that the caller's unit of work holds; no business
rules (those live in :mod:`riskdesk.streaming.queries`).

* :func:`latest_greeks` -- the newest row of each logical contract ``(broker, account_id,
  contract_key)``: newest by ``event_time``, ties broken by ``received_at`` then ``id``. It
  never depends on insertion order, so an out-of-order event stored after a newer one does not
  replace it. PostgreSQL answers with ``DISTINCT ON`` (which walks
  ``idx_greek_snapshots_contract_time``); SQLite with ``ROW_NUMBER()`` over the same partition.
* :func:`greek_history_page` / :func:`count_greeks` -- rows by broker, account, contract and
  an ``event_time`` range, newest first, keyset pages on ``(event_time DESC, id DESC)``
  (:func:`riskdesk.store.paging.keyset_page`, whose :class:`PageKey` then holds the event
  time in ``created_at``).
* :func:`insert_trade_log` / :func:`trade_log_page` -- seed 003's trade log (``trades`` rows
  with ``broker`` set), keyset pages on ``(created_at DESC, id DESC)``.

Time ranges are half-open: ``start <= t < end``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.orm import Session, aliased

from riskdesk.store.models import GreekSnapshot, Trade
from riskdesk.store.paging import KeysetPage, PageKey, keyset_page

__all__ = [
    "GreekFilter",
    "TradeLogFilter",
    "count_greeks",
    "count_trade_log",
    "greek_history_page",
    "insert_trade_log",
    "latest_greeks",
    "trade_log_page",
]


def _check_range(start: datetime | None, end: datetime | None) -> None:
    for name, value in (("from", start), ("to", end)):
        if value is not None and (value.tzinfo is None or value.utcoffset() is None):
            raise ValueError(
                f"{name} {value.isoformat()} has no timezone; give an aware time "
                "(e.g. 2025-01-17T15:30:00Z)"
            )
    if start is not None and end is not None and start >= end:
        raise ValueError(
            f"from {start.isoformat()} must be before to {end.isoformat()} "
            "(the range is from <= time < to)"
        )


@dataclass(frozen=True, slots=True)
class GreekFilter:
    """Which ``greek_snapshots`` rows a query reads (None: any).

    ``start`` and ``end`` bound ``event_time`` (``start <= event_time < end``); they must be
    timezone-aware and ``start < end``.

    Raises
    ------
    ValueError
        For a naive time or an empty range.

    """

    broker: str | None = None
    account_id: str | None = None
    contract_key: str | None = None
    start: datetime | None = None
    end: datetime | None = None

    def __post_init__(self) -> None:
        _check_range(self.start, self.end)

    def conditions(self) -> list[ColumnElement[bool]]:
        """The WHERE conditions of this filter."""
        out: list[ColumnElement[bool]] = []
        if self.broker is not None:
            out.append(GreekSnapshot.broker == self.broker)
        if self.account_id is not None:
            out.append(GreekSnapshot.account_id == self.account_id)
        if self.contract_key is not None:
            out.append(GreekSnapshot.contract_key == self.contract_key)
        if self.start is not None:
            out.append(GreekSnapshot.event_time >= self.start)
        if self.end is not None:
            out.append(GreekSnapshot.event_time < self.end)
        return out


@dataclass(frozen=True, slots=True)
class TradeLogFilter:
    """Which trade-log entries a list reads (None: any); ``start <= created_at < end``."""

    broker: str | None = None
    account_id: str | None = None
    symbol: str | None = None
    contract_key: str | None = None
    strategy_tag: str | None = None
    start: datetime | None = None
    end: datetime | None = None

    def __post_init__(self) -> None:
        _check_range(self.start, self.end)

    def conditions(self) -> list[ColumnElement[bool]]:
        """The WHERE conditions of this filter (seed-003 entries only: ``broker`` is set)."""
        out: list[ColumnElement[bool]] = [Trade.broker.is_not(None)]
        if self.broker is not None:
            out.append(Trade.broker == self.broker)
        if self.account_id is not None:
            out.append(Trade.broker_account_id == self.account_id)
        if self.symbol is not None:
            out.append(Trade.symbol == self.symbol)
        if self.contract_key is not None:
            out.append(Trade.contract_key == self.contract_key)
        if self.strategy_tag is not None:
            out.append(Trade.strategy_tag == self.strategy_tag)
        if self.start is not None:
            out.append(Trade.created_at >= self.start)
        if self.end is not None:
            out.append(Trade.created_at < self.end)
        return out


def latest_greeks(session: Session, *, where: GreekFilter, limit: int) -> list[GreekSnapshot]:
    """The newest row of each ``(broker, account_id, contract_key)`` matching ``where``.

    Newest means the greatest ``(event_time, received_at, id)``, whatever the insertion
    order. Rows come ordered by broker, account and contract key, at most ``limit`` of them.
    """
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    contract = (GreekSnapshot.broker, GreekSnapshot.account_id, GreekSnapshot.contract_key)
    newest_first = (
        GreekSnapshot.event_time.desc(),
        GreekSnapshot.received_at.desc(),
        GreekSnapshot.id.desc(),
    )
    if session.get_bind().dialect.name == "postgresql":
        stmt = (
            select(GreekSnapshot)
            .where(*where.conditions())
            .ext(distinct_on(*contract))
            .order_by(*contract, *newest_first)
            .limit(limit)
        )
        return list(session.scalars(stmt))
    rank = func.row_number().over(partition_by=contract, order_by=newest_first).label("rank")
    ranked = select(GreekSnapshot, rank).where(*where.conditions()).subquery("ranked")
    latest = aliased(GreekSnapshot, ranked)
    stmt = (
        select(latest)
        .where(ranked.c.rank == 1)
        .order_by(latest.broker, latest.account_id, latest.contract_key)
        .limit(limit)
    )
    return list(session.scalars(stmt))


def greek_history_page(
    session: Session, *, where: GreekFilter, after: PageKey | None, limit: int
) -> KeysetPage[GreekSnapshot]:
    """One page of rows matching ``where``, newest ``event_time`` first (ties: ``id``).

    ``after`` is the previous page's ``next_key`` (its ``created_at`` is an event time).
    """
    stmt: Select[Any] = select(GreekSnapshot).where(*where.conditions())
    return keyset_page(
        session,
        stmt,
        created_at=GreekSnapshot.event_time,
        id_=GreekSnapshot.id,
        after=after,
        limit=limit,
    )


def count_greeks(session: Session, *, where: GreekFilter) -> int:
    """How many rows match ``where``."""
    stmt = select(func.count()).select_from(GreekSnapshot).where(*where.conditions())
    return int(session.scalar(stmt) or 0)


def insert_trade_log(
    session: Session,
    *,
    broker: str,
    account_id: str,
    symbol: str,
    action: str,
    quantity: Decimal,
    contract_key: str | None = None,
    price: Decimal | None = None,
    strategy_tag: str | None = None,
    metadata: dict[str, Any] | None = None,
) -> Trade:
    """Add one seed-003 trade-log entry to ``session`` and flush it (its id and time set)."""
    row = Trade(
        broker=broker,
        broker_account_id=account_id,
        symbol=symbol,
        contract_key=contract_key,
        action=action,
        quantity=quantity,
        price=price,
        strategy_tag=strategy_tag,
        metadata_json=metadata,
    )
    session.add(row)
    session.flush()
    return row


def trade_log_page(
    session: Session, *, where: TradeLogFilter, after: PageKey | None, limit: int
) -> KeysetPage[Trade]:
    """One page of trade-log entries matching ``where``, newest first."""
    stmt: Select[Any] = select(Trade).where(*where.conditions())
    return keyset_page(
        session, stmt, created_at=Trade.created_at, id_=Trade.id, after=after, limit=limit
    )


def count_trade_log(session: Session, *, where: TradeLogFilter) -> int:
    """How many trade-log entries match ``where``."""
    stmt = select(func.count()).select_from(Trade).where(*where.conditions())
    return int(session.scalar(stmt) or 0)
