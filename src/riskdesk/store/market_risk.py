"""Repository of seed 001's market risk rows: ``short_selling_metrics`` and ``risk_events``.

* Short metrics are upserted by ``(ticker, metric_date)`` (``INSERT ... ON CONFLICT DO
  UPDATE`` with an ``IS DISTINCT FROM`` guard, like :func:`riskdesk.store.history.upsert_bars`),
  so re-writing the same metrics writes nothing.
* A market-regime risk event carries ``rule = "market_regime:YYYY-MM-DD"`` (the session it was
  measured on) and no order: :func:`regime_event_types` finds the types already raised on a
  day, so a re-run writes each ``(event_type, day)`` at most once. On PostgreSQL the writer
  first takes a transaction-level advisory lock (:func:`lock_regime_events`) so two concurrent
  runs cannot both insert; SQLite's writing units are already serialised.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Table, and_, func, or_, select, text
from sqlalchemy.orm import Session

from riskdesk.store.bulk import upsert_changed
from riskdesk.store.models import RiskEvent, ShortSellingMetric
from riskdesk.store.paging import KeysetPage, PageKey, keyset_page

__all__ = [
    "METRIC_COLUMNS",
    "REGIME_RULE_PREFIX",
    "insert_regime_event",
    "latest_short_metrics",
    "lock_regime_events",
    "page_risk_events",
    "regime_event_types",
    "regime_rule",
    "upsert_short_metrics",
]

METRIC_COLUMNS: tuple[str, ...] = (
    "ticker",
    "metric_date",
    "cost_to_borrow_rate",
    "short_interest_ratio",
    "days_to_cover",
    "data_source",
)
"""Keys of a metric mapping given to :func:`upsert_short_metrics`."""

REGIME_RULE_PREFIX = "market_regime:"
"""Prefix of the ``rule`` of a market-regime event (the day follows)."""

_VALUES = ("cost_to_borrow_rate", "short_interest_ratio", "days_to_cover", "data_source")
_BATCH = 2_000
_LOCK_KEY = 0x5249534B5245474D % (2**63)
"""Advisory lock id of the regime event writer (``RISKREGM``)."""


def _table() -> Table:
    table = ShortSellingMetric.__table__
    assert isinstance(table, Table)
    return table


def upsert_short_metrics(session: Session, metrics: Iterable[Mapping[str, Any]]) -> int:
    """Insert or update metrics by ``(ticker, metric_date)``; return rows inserted or changed."""
    return upsert_changed(
        session,
        _table(),
        metrics,
        keys=("ticker", "metric_date"),
        values=_VALUES,
        batch=_BATCH,
        what="metric",
    )


def latest_short_metrics(
    session: Session, *, tickers: Sequence[str], on: date, since: date
) -> dict[str, ShortSellingMetric]:
    """Per ticker, its latest metric row dated in ``[since, on]`` (tickers without one absent)."""
    if not tickers:
        return {}
    newest = (
        select(ShortSellingMetric.ticker, func.max(ShortSellingMetric.metric_date).label("day"))
        .where(
            ShortSellingMetric.ticker.in_(sorted(set(tickers))),
            ShortSellingMetric.metric_date <= on,
            ShortSellingMetric.metric_date >= since,
        )
        .group_by(ShortSellingMetric.ticker)
        .subquery()
    )
    query = select(ShortSellingMetric).join(
        newest,
        and_(
            ShortSellingMetric.ticker == newest.c.ticker,
            ShortSellingMetric.metric_date == newest.c.day,
        ),
    )
    return {row.ticker: row for row in session.scalars(query)}


def regime_rule(day: date) -> str:
    """The ``rule`` of a market-regime event measured on ``day``."""
    return f"{REGIME_RULE_PREFIX}{day.isoformat()}"


def lock_regime_events(session: Session) -> None:
    """Serialise regime event writers until the transaction ends (PostgreSQL only)."""
    if session.connection().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})


def regime_event_types(session: Session, *, day: date) -> set[str]:
    """The event types already raised by the market regime on ``day``."""
    query = select(RiskEvent.event_type).where(
        RiskEvent.rule == regime_rule(day), RiskEvent.order_id.is_(None)
    )
    return {t for t in session.scalars(query) if t is not None}


def insert_regime_event(
    session: Session,
    *,
    day: date,
    event_type: str,
    severity: str,
    description: str,
    triggered_value: Decimal,
    threshold_value: Decimal,
    action_taken: str,
    details: Mapping[str, Any],
) -> RiskEvent:
    """Add a seed-001 risk event measured on ``day`` (no user, account or order)."""
    row = RiskEvent(
        event_type=event_type,
        severity=severity,
        description=description,
        triggered_value=triggered_value,
        threshold_value=threshold_value,
        action_taken=action_taken,
        rule=regime_rule(day),
        details=dict(details),
    )
    session.add(row)
    session.flush()
    return row


def page_risk_events(
    session: Session,
    *,
    user_id: uuid.UUID | None,
    after: PageKey | None,
    limit: int,
    event_type: str | None = None,
    severity: str | None = None,
    day: date | None = None,
) -> KeysetPage[RiskEvent]:
    """One page of risk events, newest first.

    A scoped caller (``user_id``) sees the market-wide events (no user) and its own; None
    (the local user) sees every event. ``day`` keeps the market-regime events of that session.
    """
    query = select(RiskEvent)
    if user_id is not None:
        market_wide = and_(RiskEvent.user_id.is_(None), RiskEvent.order_id.is_(None))
        query = query.where(or_(market_wide, RiskEvent.user_id == user_id))
    if event_type is not None:
        query = query.where(RiskEvent.event_type == event_type)
    if severity is not None:
        query = query.where(RiskEvent.severity == severity)
    if day is not None:
        query = query.where(RiskEvent.rule == regime_rule(day))
    return keyset_page(
        session,
        query,
        created_at=RiskEvent.created_at,
        id_=RiskEvent.id,
        after=after,
        limit=limit,
    )
