"""Paper-trading repository: accounts, orders and their legs, fills, ledger rows, events.

Keyword-only functions over a session that the caller's unit of work holds; no business
rules (those live in :mod:`riskdesk.trading`). :func:`lock_account` serializes the writers of
one account: ``SELECT ... FOR UPDATE`` on PostgreSQL; on SQLite every writing unit of work
already holds the database's write lock (``BEGIN IMMEDIATE``).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from riskdesk.store.models import (
    DevnetSmokeRun,
    Fill,
    KillSwitchEvent,
    Order,
    OrderEvent,
    PortfolioSnapshot,
    Position,
    RiskEvent,
    RiskParameter,
    Signal,
    Ticker,
    Trade,
    TradeCycle,
    TradeLeg,
    TradingAccount,
)
from riskdesk.store.paging import KeysetPage, PageKey, keyset_page
from riskdesk.store.portfolio import _get_or_insert
from riskdesk.store.types import as_number
from riskdesk.store.workbench import AmbiguousReferenceError, NotFoundError

__all__ = [
    "account_fill_rows",
    "account_orders",
    "costs_paid",
    "expire_signals",
    "find_account",
    "find_order",
    "get_or_create_ticker",
    "last_loss_at",
    "last_nav_before",
    "latest_kill_switch",
    "list_accounts",
    "lock_account",
    "next_event_seq",
    "order_by_key",
    "order_events",
    "order_legs",
    "page_fills",
    "page_kill_switch_events",
    "page_nav_snapshots",
    "page_orders",
    "page_risk_events",
    "page_signals",
    "page_smoke_runs",
    "peak_nav",
    "positions_of",
    "resting_orders",
    "risk_parameters",
    "trade_cycle_by_key",
]


def _window(
    stmt: Select[Any], column: Any, start: datetime | None, end: datetime | None
) -> Select[Any]:
    """``stmt`` limited to ``start <= column < end`` (either bound optional)."""
    if start is not None:
        stmt = stmt.where(column >= start)
    if end is not None:
        stmt = stmt.where(column < end)
    return stmt


def get_or_create_ticker(session: Session, symbol: str) -> uuid.UUID:
    """The ``tickers`` row of ``symbol``, created (race-safe) on first use."""
    row = _get_or_insert(
        session,
        lambda: session.scalars(select(Ticker).where(Ticker.symbol == symbol)).first(),
        lambda: Ticker(symbol=symbol, name=symbol, exchange="UNKNOWN"),
    )
    return row.id


def find_account(session: Session, *, user_id: uuid.UUID | None, ref: str) -> TradingAccount:
    """The account named ``ref`` (its number) or with id ``ref``, of ``user_id`` when given.

    Raises
    ------
    NotFoundError
        When no account of the user matches.

    """
    stmt = select(TradingAccount)
    if user_id is not None:
        stmt = stmt.where(TradingAccount.user_id == user_id)
    try:
        account_id = uuid.UUID(ref)
    except ValueError:
        rows = list(session.scalars(stmt.where(TradingAccount.account_number == ref)))
    else:
        rows = list(session.scalars(stmt.where(TradingAccount.id == account_id)))
    if not rows:
        raise NotFoundError(f"no trading account {ref!r}")
    if len(rows) > 1:
        raise AmbiguousReferenceError(
            f"account {ref!r} names {len(rows)} accounts of different users; use its id"
        )
    return rows[0]


def list_accounts(session: Session, *, user_id: uuid.UUID | None) -> list[TradingAccount]:
    """The user's accounts (every account when ``user_id`` is None), by number."""
    stmt = select(TradingAccount).order_by(TradingAccount.account_number)
    if user_id is not None:
        stmt = stmt.where(TradingAccount.user_id == user_id)
    return list(session.scalars(stmt))


def lock_account(session: Session, account_id: uuid.UUID) -> TradingAccount:
    """The account row, locked for the rest of the transaction (PostgreSQL: FOR UPDATE)."""
    stmt = select(TradingAccount).where(TradingAccount.id == account_id)
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    row = session.scalars(stmt.execution_options(populate_existing=True)).one()
    return row


def risk_parameters(session: Session, account_id: uuid.UUID) -> list[RiskParameter]:
    """The account's active risk parameters."""
    return list(
        session.scalars(
            select(RiskParameter).where(
                RiskParameter.account_id == account_id, RiskParameter.is_active.is_(True)
            )
        )
    )


def positions_of(session: Session, account_id: uuid.UUID) -> list[Position]:
    """Every ledger row of the account (open and closed), by symbol."""
    return list(
        session.scalars(
            select(Position).where(Position.account_id == account_id).order_by(Position.symbol)
        )
    )


def costs_paid(session: Session, account_id: uuid.UUID) -> Decimal:
    """Commissions and fees on every fill of the account."""
    total = session.execute(
        select(func.coalesce(func.sum(Fill.commission), 0), func.coalesce(func.sum(Fill.fee), 0))
        .join(Order, Order.id == Fill.order_id)
        .where(Order.account_id == account_id)
    ).one()
    return Decimal(str(total[0])) + Decimal(str(total[1]))


def account_fill_rows(session: Session, account_id: uuid.UUID) -> list[Fill]:
    """Every fill of the account, oldest first (ties by execution and leg order)."""
    return list(
        session.scalars(
            select(Fill)
            .join(Order, Order.id == Fill.order_id)
            .where(Order.account_id == account_id)
            .order_by(Fill.filled_at, Fill.execution_id, Fill.fill_id)
        )
    )


def order_by_key(session: Session, account_id: uuid.UUID, key: str) -> Order | None:
    """The account's order submitted under idempotency ``key``, if any."""
    return session.scalars(
        select(Order).where(Order.account_id == account_id, Order.idempotency_key == key)
    ).first()


def trade_cycle_by_key(session: Session, account_id: uuid.UUID, key: str) -> TradeCycle | None:
    """The account's trade cycle run under idempotency ``key``, if any."""
    return session.scalars(
        select(TradeCycle).where(
            TradeCycle.account_id == account_id, TradeCycle.idempotency_key == key
        )
    ).first()


def find_order(session: Session, order_id: uuid.UUID, *, user_id: uuid.UUID | None) -> Order:
    """The paper order ``order_id`` (of an account of ``user_id`` when given).

    Raises
    ------
    NotFoundError
        When there is no such order the user can see.

    """
    stmt = select(Order).where(Order.id == order_id, Order.account_id.is_not(None))
    if user_id is not None:
        stmt = stmt.join(TradingAccount, TradingAccount.id == Order.account_id).where(
            TradingAccount.user_id == user_id
        )
    row = session.scalars(stmt).first()
    if row is None:
        raise NotFoundError(f"no order {order_id}")
    return row


def order_legs(session: Session, order: Order) -> list[TradeLeg]:
    """The legs of a paper order (its trade's legs), in order."""
    if order.trade_id is None:
        return []
    return list(
        session.scalars(
            select(TradeLeg).where(TradeLeg.trade_id == order.trade_id).order_by(TradeLeg.leg_order)
        )
    )


def order_events(session: Session, order_ids: Sequence[uuid.UUID]) -> list[OrderEvent]:
    """The status transitions of the orders, in order (by order, then ``seq``)."""
    if not order_ids:
        return []
    return list(
        session.scalars(
            select(OrderEvent)
            .where(OrderEvent.order_id.in_(order_ids))
            .order_by(OrderEvent.order_id, OrderEvent.seq)
        )
    )


def next_event_seq(session: Session, order_id: uuid.UUID) -> int:
    """The ``seq`` of the order's next transition (1 for the first)."""
    current = session.scalar(
        select(func.coalesce(func.max(OrderEvent.seq), 0)).where(OrderEvent.order_id == order_id)
    )
    return int(current or 0) + 1


def resting_orders(session: Session, account_id: uuid.UUID | None = None) -> list[Order]:
    """Paper orders still working (submitted or partially filled), oldest first."""
    stmt = select(Order).where(
        Order.account_id.is_not(None), Order.status.in_(("submitted", "partially_filled"))
    )
    if account_id is not None:
        stmt = stmt.where(Order.account_id == account_id)
    return list(session.scalars(stmt.order_by(Order.created_at, Order.id)))


def account_orders(
    session: Session, account_id: uuid.UUID, *, since: datetime | None = None
) -> list[Order]:
    """The account's orders created since ``since`` (all when None), oldest first."""
    stmt = select(Order).where(Order.account_id == account_id)
    if since is not None:
        stmt = stmt.where(Order.created_at >= since)
    return list(session.scalars(stmt.order_by(Order.created_at, Order.id)))


def page_orders(
    session: Session,
    *,
    account_ids: Sequence[uuid.UUID],
    status: str | None,
    symbol: str | None,
    start: datetime | None,
    end: datetime | None,
    after: PageKey | None,
    limit: int,
) -> KeysetPage[Order]:
    """A page of the accounts' orders, newest first."""
    stmt = select(Order).where(Order.account_id.in_(account_ids))
    if status is not None:
        stmt = stmt.where(Order.status == status)
    if symbol is not None:
        stmt = stmt.where(Order.symbol == symbol)
    stmt = _window(stmt, Order.created_at, start, end)
    return keyset_page(
        session, stmt, created_at=Order.created_at, id_=Order.id, after=after, limit=limit
    )


def page_fills(
    session: Session,
    *,
    account_ids: Sequence[uuid.UUID],
    symbol: str | None,
    start: datetime | None,
    end: datetime | None,
    after: PageKey | None,
    limit: int,
) -> KeysetPage[Fill]:
    """A page of the accounts' fills, newest first."""
    stmt = (
        select(Fill).join(Order, Order.id == Fill.order_id).where(Order.account_id.in_(account_ids))
    )
    if symbol is not None:
        stmt = stmt.where(Fill.symbol == symbol)
    stmt = _window(stmt, Fill.filled_at, start, end)
    return keyset_page(
        session, stmt, created_at=Fill.filled_at, id_=Fill.fill_id, after=after, limit=limit
    )


def page_risk_events(
    session: Session,
    *,
    account_ids: Sequence[uuid.UUID],
    action: str | None,
    start: datetime | None,
    end: datetime | None,
    after: PageKey | None,
    limit: int,
) -> KeysetPage[RiskEvent]:
    """A page of the accounts' risk events, newest first."""
    stmt = select(RiskEvent).where(RiskEvent.account_id.in_(account_ids))
    if action is not None:
        stmt = stmt.where(RiskEvent.action == action)
    stmt = _window(stmt, RiskEvent.created_at, start, end)
    return keyset_page(
        session, stmt, created_at=RiskEvent.created_at, id_=RiskEvent.id, after=after, limit=limit
    )


def page_nav_snapshots(
    session: Session,
    *,
    account_ids: Sequence[uuid.UUID],
    start: datetime | None,
    end: datetime | None,
    after: PageKey | None,
    limit: int,
) -> KeysetPage[PortfolioSnapshot]:
    """A page of the accounts' NAV snapshots, newest first."""
    stmt = select(PortfolioSnapshot).where(PortfolioSnapshot.account_id.in_(account_ids))
    stmt = _window(stmt, PortfolioSnapshot.captured_at, start, end)
    return keyset_page(
        session,
        stmt,
        created_at=PortfolioSnapshot.captured_at,
        id_=PortfolioSnapshot.id,
        after=after,
        limit=limit,
    )


def nav_snapshots(
    session: Session, account_id: uuid.UUID, *, start: datetime | None, end: datetime | None
) -> list[PortfolioSnapshot]:
    """The account's NAV snapshots in ``[start, end)``, oldest first."""
    stmt = select(PortfolioSnapshot).where(PortfolioSnapshot.account_id == account_id)
    stmt = _window(stmt, PortfolioSnapshot.captured_at, start, end)
    return list(session.scalars(stmt.order_by(PortfolioSnapshot.captured_at)))


def last_nav_before(
    session: Session, account_id: uuid.UUID, before: datetime
) -> PortfolioSnapshot | None:
    """The account's latest NAV snapshot captured before ``before``."""
    return session.scalars(
        select(PortfolioSnapshot)
        .where(PortfolioSnapshot.account_id == account_id, PortfolioSnapshot.captured_at < before)
        .order_by(PortfolioSnapshot.captured_at.desc())
        .limit(1)
    ).first()


def peak_nav(session: Session, account_id: uuid.UUID) -> Decimal | None:
    """The account's highest stored NAV (exact: the row's Decimal, sorted numerically)."""
    row = session.scalars(
        select(PortfolioSnapshot)
        .where(PortfolioSnapshot.account_id == account_id, PortfolioSnapshot.nav.is_not(None))
        .order_by(as_number(PortfolioSnapshot.nav).desc())
        .limit(1)
    ).first()
    return None if row is None else row.nav


def last_loss_at(session: Session, account_id: uuid.UUID) -> datetime | None:
    """When the account's latest losing round trip closed (None: never)."""
    value: datetime | None = session.scalar(
        select(func.max(Trade.closed_at)).where(
            Trade.account_id == account_id,
            Trade.closed_at.is_not(None),
            as_number(Trade.realized_pnl) < 0,
        )
    )
    if value is not None and value.tzinfo is None:  # SQLite's max() returns text
        value = value.replace(tzinfo=UTC)
    return value


def latest_kill_switch(session: Session) -> KillSwitchEvent | None:
    """The latest kill-switch change (None: never touched: off)."""
    return session.scalars(
        select(KillSwitchEvent).order_by(
            KillSwitchEvent.created_at.desc(), KillSwitchEvent.event_id.desc()
        )
    ).first()


def page_kill_switch_events(
    session: Session, *, after: PageKey | None, limit: int
) -> KeysetPage[KillSwitchEvent]:
    """A page of the kill switch's history, newest first."""
    return keyset_page(
        session,
        select(KillSwitchEvent),
        created_at=KillSwitchEvent.created_at,
        id_=KillSwitchEvent.event_id,
        after=after,
        limit=limit,
    )


def page_signals(
    session: Session,
    *,
    status: str | None,
    symbol: str | None,
    after: PageKey | None,
    limit: int,
) -> KeysetPage[Signal]:
    """A page of signals, newest first."""
    stmt = select(Signal)
    if status is not None:
        stmt = stmt.where(Signal.status == status)
    if symbol is not None:
        stmt = stmt.where(Signal.symbol == symbol)
    return keyset_page(
        session, stmt, created_at=Signal.created_at, id_=Signal.id, after=after, limit=limit
    )


def page_smoke_runs(
    session: Session, *, after: PageKey | None, limit: int
) -> KeysetPage[DevnetSmokeRun]:
    """A page of venue smoke runs, newest first."""
    return keyset_page(
        session,
        select(DevnetSmokeRun),
        created_at=DevnetSmokeRun.ran_at,
        id_=DevnetSmokeRun.run_id,
        after=after,
        limit=limit,
    )


def expire_signals(session: Session, now: datetime) -> int:
    """Mark every active signal whose ``expires_at`` has passed as expired; how many."""
    rows = list(
        session.scalars(
            select(Signal).where(
                Signal.status == "active",
                Signal.expires_at.is_not(None),
                Signal.expires_at <= now,
            )
        )
    )
    for row in rows:
        row.status = "expired"
    session.flush()
    return len(rows)


def add_all(session: Session, rows: Iterable[Any]) -> None:
    """Add ``rows`` to the session and flush (constraint errors surface here)."""
    session.add_all(list(rows))
    session.flush()
