"""Portfolio repository: portfolios, their positions, the users' tags and the tag links.

Keyword-only functions over a session that the caller's unit of work holds; no business rules
(the import rules live in :mod:`riskdesk.risk.book_csv` and :mod:`riskdesk.risk.portfolios`).
Get-or-create rows (the local user, tags) are inserted in a savepoint so concurrent writers of
the same name both succeed and one row exists.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TypeVar

from sqlalchemy import ColumnElement, delete, select, tuple_
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session, selectinload

from riskdesk.store import models as m
from riskdesk.store.bulk import insert_rows
from riskdesk.store.models import User
from riskdesk.store.models.market import MarketDataCache
from riskdesk.store.models.portfolio import Portfolio, Position, PositionTag, StrategyGroup, Tag
from riskdesk.store.paging import KeysetPage, PageKey, keyset_page
from riskdesk.store.workbench import AmbiguousReferenceError, NotFoundError

__all__ = [
    "LOCAL_EMAIL",
    "LOCAL_USERNAME",
    "NewPosition",
    "assign_strategy_group",
    "closes_on",
    "create_portfolio",
    "delete_empty_strategy_groups",
    "find_portfolio",
    "get_or_create_local_user",
    "get_or_create_strategy_group",
    "get_or_create_tags",
    "insert_positions",
    "load_positions",
    "page_portfolios",
    "strategy_group_names",
]

LOCAL_USERNAME = "local"
"""The user row that owns the local (CLI) caller's portfolios."""

LOCAL_EMAIL = "local@localhost"

_CHUNK = 500
"""Values per ``IN (...)`` list (well under both backends' parameter limits)."""

RowT = TypeVar("RowT")


def _get_or_insert(
    session: Session, lookup: Callable[[], RowT | None], make: Callable[[], RowT]
) -> RowT:
    """The row ``lookup`` finds, or ``make()`` inserted in a savepoint (race-safe)."""
    existing = lookup()
    if existing is not None:
        return existing
    row = make()
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except sa_exc.IntegrityError:
        existing = lookup()
        if existing is None:
            raise
        return existing
    return row


def get_or_create_local_user(session: Session) -> uuid.UUID:
    """The id of the ``local`` user (no password, admin), created on first use."""
    user = _get_or_insert(
        session,
        lambda: session.scalars(select(User).where(User.username == LOCAL_USERNAME)).first(),
        lambda: User(username=LOCAL_USERNAME, email=LOCAL_EMAIL, password_hash=None, role="admin"),
    )
    return user.id


def create_portfolio(
    session: Session,
    *,
    user_id: uuid.UUID,
    name: str,
    description: str | None,
    base_currency: str,
) -> Portfolio:
    """Insert a portfolio of ``user_id``.

    Raises
    ------
    ValueError
        When that user already has a portfolio named ``name``.

    """
    taken = session.scalars(
        select(Portfolio.id).where(Portfolio.user_id == user_id, Portfolio.name == name)
    ).first()
    if taken is not None:
        raise ValueError(
            f"a portfolio named {name!r} already exists (id {taken}): pick another name"
        )
    row = Portfolio(
        user_id=user_id, name=name, description=description, base_currency=base_currency
    )
    session.add(row)
    session.flush()
    return row


def _scope(user_id: uuid.UUID | None) -> list[ColumnElement[bool]]:
    return [] if user_id is None else [Portfolio.user_id == user_id]


def find_portfolio(
    session: Session, *, ref: str | uuid.UUID, user_id: uuid.UUID | None, for_update: bool = False
) -> Portfolio:
    """The portfolio whose id or name is ``ref`` (only ``user_id``'s when given).

    Raises
    ------
    NotFoundError
        When none matches (another user's portfolio is reported the same way).
    AmbiguousReferenceError
        When several users' portfolios share the name (give the id).

    """
    text = str(ref).strip()
    if not text:
        raise NotFoundError("empty portfolio reference: give a portfolio name or id")
    try:
        full_id: uuid.UUID | None = uuid.UUID(text)
    except ValueError:
        full_id = None
    stmt = select(Portfolio).where(*_scope(user_id))
    if for_update:
        stmt = stmt.with_for_update()
    if full_id is not None:
        row = session.scalars(stmt.where(Portfolio.id == full_id)).first()
        if row is not None:
            return row
    rows = list(session.scalars(stmt.where(Portfolio.name == text).limit(2)))
    if not rows:
        raise NotFoundError(
            f"no portfolio named or with id {text!r} (see `riskdesk portfolio list`)"
        )
    if len(rows) > 1:
        raise AmbiguousReferenceError(
            f"several users have a portfolio named {text!r}: give its id instead"
        )
    return rows[0]


def page_portfolios(
    session: Session, *, user_id: uuid.UUID | None, after: PageKey | None, limit: int
) -> KeysetPage[Portfolio]:
    """One page of portfolios (only ``user_id``'s when given), newest first."""
    return keyset_page(
        session,
        select(Portfolio).where(*_scope(user_id)),
        created_at=Portfolio.created_at,
        id_=Portfolio.id,
        after=after,
        limit=limit,
    )


def load_positions(session: Session, *, portfolio_id: uuid.UUID) -> list[Position]:
    """The portfolio's positions with their tags, by entry date then symbol."""
    return list(
        session.scalars(
            select(Position)
            .where(Position.portfolio_id == portfolio_id)
            .options(selectinload(Position.tags))
            .order_by(Position.entry_date, Position.symbol, Position.id)
        )
    )


def get_or_create_tags(
    session: Session, *, user_id: uuid.UUID, names: Iterable[str]
) -> dict[str, uuid.UUID]:
    """Name -> id of ``user_id``'s tags, creating the missing ones as ``regular`` tags."""
    wanted = sorted(set(names))
    out: dict[str, uuid.UUID] = {}
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        for tag_id, name in session.execute(
            select(Tag.id, Tag.name).where(Tag.user_id == user_id, Tag.name.in_(chunk))
        ):
            out[name] = tag_id
    for name in wanted:
        if name in out:
            continue
        tag = _get_or_insert(
            session,
            lambda n=name: session.scalars(  # type: ignore[misc]
                select(Tag).where(Tag.user_id == user_id, Tag.name == n)
            ).first(),
            lambda n=name: Tag(user_id=user_id, name=n, tag_type="regular"),  # type: ignore[misc]
        )
        out[name] = tag.id
    return out


@dataclass(frozen=True, slots=True)
class NewPosition:
    """The column values of one portfolio position to insert (seed 002's fields)."""

    symbol: str
    position_type: str
    quantity: Decimal
    entry_price: Decimal
    entry_date: date
    tag_ids: tuple[uuid.UUID, ...] = ()
    is_active: bool = True
    exit_date: date | None = None
    exit_price: Decimal | None = None
    strike_price: Decimal | None = None
    expiration_date: date | None = None
    underlying_ticker: str | None = None


def insert_positions(
    session: Session, *, portfolio_id: uuid.UUID, positions: Sequence[NewPosition]
) -> list[uuid.UUID]:
    """Insert ``positions`` into the portfolio with their tag links; their new ids, in order."""
    rows = [
        Position(
            id=uuid.uuid4(),
            portfolio_id=portfolio_id,
            symbol=p.symbol,
            position_type=p.position_type,
            quantity=p.quantity,
            avg_entry_price=p.entry_price,
            entry_date=p.entry_date,
            is_active=p.is_active,
            exit_date=p.exit_date,
            exit_price=p.exit_price,
            strike_price=p.strike_price,
            expiration_date=p.expiration_date,
            underlying_ticker=p.underlying_ticker,
        )
        for p in positions
    ]
    session.add_all(rows)
    session.flush()
    links = [
        PositionTag(position_id=row.id, tag_id=tag_id)
        for row, p in zip(rows, positions, strict=True)
        for tag_id in p.tag_ids
    ]
    if links:
        session.add_all(links)
        session.flush()
    return [row.id for row in rows]


def closes_on(
    session: Session, *, keys: Iterable[tuple[str, date]]
) -> dict[tuple[str, date], Decimal]:
    """``(ticker, date) -> close`` from ``market_data_cache`` for the keys that have a bar."""
    wanted = sorted(set(keys))
    out: dict[tuple[str, date], Decimal] = {}
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        stmt = select(MarketDataCache.ticker, MarketDataCache.date, MarketDataCache.close).where(
            tuple_(MarketDataCache.ticker, MarketDataCache.date).in_(chunk)
        )
        for ticker, day, close in session.execute(stmt):
            out[(ticker, day)] = close
    return out


def replace_position_greeks(
    session: Session,
    *,
    position_ids: Sequence[uuid.UUID],
    day: date,
    rows: Sequence[m.PositionGreeks],
) -> None:
    """Replace the ``position_greeks`` of ``position_ids`` on ``day`` with ``rows``.

    Deleting first makes a re-run of the same date idempotent: one row per position and day.
    """
    if position_ids:
        session.execute(
            delete(m.PositionGreeks).where(
                m.PositionGreeks.position_id.in_(list(position_ids)),
                m.PositionGreeks.calculation_date == day,
            )
        )
    insert_rows(session, rows)


def strategy_group_names(session: Session, *, portfolio_id: uuid.UUID) -> dict[uuid.UUID, str]:
    """Group id -> name of the portfolio's strategy groups."""
    rows = session.execute(
        select(StrategyGroup.id, StrategyGroup.name).where(
            StrategyGroup.portfolio_id == portfolio_id
        )
    )
    return {group_id: name for group_id, name in rows}


def get_or_create_strategy_group(
    session: Session, *, portfolio_id: uuid.UUID, name: str, strategy_type: str | None
) -> StrategyGroup:
    """The portfolio's group ``name`` (its type updated), created when missing."""
    group = _get_or_insert(
        session,
        lambda: session.scalars(
            select(StrategyGroup).where(
                StrategyGroup.portfolio_id == portfolio_id, StrategyGroup.name == name
            )
        ).first(),
        lambda: StrategyGroup(portfolio_id=portfolio_id, name=name, strategy_type=strategy_type),
    )
    group.strategy_type = strategy_type
    return group


def assign_strategy_group(
    session: Session,
    *,
    portfolio_id: uuid.UUID,
    position_ids: Sequence[uuid.UUID],
    group_id: uuid.UUID | None,
) -> int:
    """Put the portfolio's ``position_ids`` into ``group_id`` (None: out of every group).

    Returns the number of positions updated.
    """
    updated = 0
    wanted = list(position_ids)
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        rows = session.scalars(
            select(Position).where(Position.portfolio_id == portfolio_id, Position.id.in_(chunk))
        ).all()
        for row in rows:
            row.strategy_group_id = group_id
        updated += len(rows)
    session.flush()
    return updated


def delete_empty_strategy_groups(session: Session, *, portfolio_id: uuid.UUID) -> list[str]:
    """Delete the portfolio's groups no position belongs to; their names."""
    used = select(Position.strategy_group_id).where(
        Position.portfolio_id == portfolio_id, Position.strategy_group_id.is_not(None)
    )
    empty = session.scalars(
        select(StrategyGroup).where(
            StrategyGroup.portfolio_id == portfolio_id, StrategyGroup.id.not_in(used)
        )
    ).all()
    names = sorted(g.name for g in empty)
    for group in empty:
        session.delete(group)
    session.flush()
    return names
