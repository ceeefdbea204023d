"""Daily batch repository: audit log steps, daily snapshots and position marks.

The tables: ``calculation_audit_log``, ``portfolio_snapshots`` and ``positions`` (marks).

Keyword-only functions on a session (the caller's unit of work holds the transaction).

- One ``calculation_audit_log`` row per (portfolio, date, step): a new attempt of a step
  (a resumed or forced run) updates that row in place, so a date's log never holds two rows
  for one step; the row shows the latest attempt.
- One ``portfolio_snapshots`` row per (portfolio, date, ``'daily'``): each batch step writes
  the columns it computes (:func:`update_daily_snapshot`), replacing their previous values.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import exc as sa_exc
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from riskdesk.store.errors import describe_db_error
from riskdesk.store.models.portfolio import (
    FactorDefinition,
    Portfolio,
    PortfolioFactorExposure,
    PortfolioSnapshot,
    Position,
)
from riskdesk.store.models.system import CalculationAuditLog

__all__ = [
    "DAILY",
    "SNAPSHOT_COLUMNS",
    "PositionMark",
    "StepRow",
    "error_text",
    "finish_step",
    "is_transient",
    "market_beta",
    "portfolio_names",
    "previous_daily_snapshot",
    "read_daily_snapshot",
    "start_step",
    "step_rows",
    "unrealized_pnl",
    "update_daily_snapshot",
    "write_position_marks",
]

DAILY = "daily"
SNAPSHOT_COLUMNS: frozenset[str] = frozenset(
    {
        "total_value",
        "long_exposure",
        "short_exposure",
        "gross_exposure",
        "net_exposure",
        "daily_pnl",
        "total_pnl",
        "portfolio_beta",
        "annualized_volatility",
        "position_correlation",
        "diversification_score",
    }
)
"""The seed-002 columns of a daily snapshot the batch writes."""
_REQUIRED_ON_INSERT = (
    "total_value",
    "long_exposure",
    "short_exposure",
    "gross_exposure",
    "net_exposure",
)


@dataclass(frozen=True, slots=True)
class StepRow:
    """One ``calculation_audit_log`` row as plain data."""

    portfolio_id: uuid.UUID | None
    step: str
    day: date
    status: str
    start_time: datetime
    end_time: datetime | None
    records: int | None
    error: str | None

    @property
    def duration_seconds(self) -> float | None:
        """Seconds from start to end (None while running)."""
        if self.end_time is None:
            return None
        return (self.end_time - self.start_time).total_seconds()


@dataclass(frozen=True, slots=True)
class PositionMark:
    """The mark of one position: price per unit and unrealized P&L in money (None: unmarked)."""

    position_id: uuid.UUID
    mark_price: Decimal | None
    unrealized_pnl: Decimal | None


_TRANSIENT_SQLSTATES = frozenset({"40001", "40P01", "55P03"})


def is_transient(error: BaseException) -> bool:
    """True for a lock or serialization error that a retry of the same work may clear.

    SQLite ``SQLITE_BUSY`` / ``SQLITE_LOCKED`` (a writer held the lock past the busy
    timeout) and PostgreSQL serialization failures, deadlocks and lock timeouts.
    """
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, sa_exc.OperationalError | sa_exc.DBAPIError):
            orig = seen.orig
            name = str(getattr(orig, "sqlite_errorname", "") or "")
            if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
                return True
            if "database is locked" in str(orig):
                return True
            if getattr(orig, "sqlstate", None) in _TRANSIENT_SQLSTATES:
                return True
        seen = seen.__cause__
    return False


def error_text(error: BaseException) -> str:
    """One line about ``error``: a database error without its SQL or parameters.

    Any other error reads ``Type: message``.
    """
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, sa_exc.DBAPIError):
            return str(describe_db_error(seen))
        seen = seen.__cause__
    return f"{type(error).__name__}: {error}"


def _row(row: CalculationAuditLog) -> StepRow:
    return StepRow(
        row.portfolio_id,
        row.calculation_type,
        row.calculation_date,
        row.status,
        row.start_time,
        row.end_time,
        row.records_processed,
        row.error_message,
    )


def start_step(
    session: Session, *, portfolio_id: uuid.UUID, step: str, day: date, started: datetime
) -> uuid.UUID:
    """Mark ``step`` of ``portfolio_id`` on ``day`` as running (insert or restart its row)."""
    row = session.scalars(
        select(CalculationAuditLog).where(
            CalculationAuditLog.portfolio_id == portfolio_id,
            CalculationAuditLog.calculation_type == step,
            CalculationAuditLog.calculation_date == day,
        )
    ).first()
    if row is None:
        row = CalculationAuditLog(
            calculation_type=step,
            portfolio_id=portfolio_id,
            calculation_date=day,
            start_time=started,
            status="running",
        )
        session.add(row)
    else:
        row.start_time = started
        row.end_time = None
        row.status = "running"
        row.records_processed = None
        row.error_message = None
    session.flush()
    return row.id


def finish_step(
    session: Session,
    *,
    row_id: uuid.UUID,
    ended: datetime,
    records: int | None,
    error: str | None,
) -> None:
    """Close a running step: ``completed`` without ``error``, else ``failed`` with it."""
    session.execute(
        update(CalculationAuditLog)
        .where(CalculationAuditLog.id == row_id)
        .values(
            end_time=ended,
            status="completed" if error is None else "failed",
            records_processed=records,
            error_message=error,
        )
    )


def step_rows(
    session: Session, *, day: date, portfolio_ids: Sequence[uuid.UUID] | None = None
) -> list[StepRow]:
    """The audit rows of ``day`` (of ``portfolio_ids`` when given), by portfolio then start."""
    stmt = select(CalculationAuditLog).where(CalculationAuditLog.calculation_date == day)
    if portfolio_ids is not None:
        if not portfolio_ids:
            return []
        stmt = stmt.where(CalculationAuditLog.portfolio_id.in_(list(portfolio_ids)))
    stmt = stmt.order_by(CalculationAuditLog.portfolio_id, CalculationAuditLog.start_time)
    return [_row(r) for r in session.scalars(stmt)]


def portfolio_names(
    session: Session, *, portfolio_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, str]:
    """``portfolio id -> name`` for the ids that exist."""
    ids = list(set(portfolio_ids))
    if not ids:
        return {}
    rows = session.execute(select(Portfolio.id, Portfolio.name).where(Portfolio.id.in_(ids)))
    return {pid: name for pid, name in rows}


def write_position_marks(session: Session, *, marks: Sequence[PositionMark]) -> int:
    """Set ``mark_price`` and ``unrealized_pnl`` of each position; returns rows updated."""
    if marks:  # one executemany: an ORM bulk UPDATE by primary key
        session.execute(
            update(Position),
            [
                {
                    "id": m.position_id,
                    "mark_price": m.mark_price,
                    "unrealized_pnl": m.unrealized_pnl,
                }
                for m in marks
            ],
        )
    return len(marks)


def _snapshot(session: Session, portfolio_id: uuid.UUID, day: date) -> PortfolioSnapshot | None:
    return session.scalars(
        select(PortfolioSnapshot).where(
            PortfolioSnapshot.portfolio_id == portfolio_id,
            PortfolioSnapshot.snapshot_date == day,
            PortfolioSnapshot.frequency == DAILY,
        )
    ).first()


def update_daily_snapshot(
    session: Session, *, portfolio_id: uuid.UUID, day: date, values: Mapping[str, Any]
) -> None:
    """Upsert the (portfolio, day, daily) snapshot with ``values`` (columns of SNAPSHOT_COLUMNS).

    The first write of a date must carry the value and exposure columns (the table's CHECK);
    later writes replace only the columns they name.

    Raises
    ------
    ValueError
        For a column the batch does not write, or a first write without the exposures.

    """
    unknown = sorted(set(values) - SNAPSHOT_COLUMNS)
    if unknown:
        raise ValueError(f"not a daily snapshot column the batch writes: {', '.join(unknown)}")
    row = _snapshot(session, portfolio_id, day)
    if row is None:
        missing = [c for c in _REQUIRED_ON_INSERT if values.get(c) is None]
        if missing:
            raise ValueError(
                f"no daily snapshot of {day.isoformat()} yet and the first write lacks "
                f"{', '.join(missing)}: run the position values step first"
            )
        row = PortfolioSnapshot(portfolio_id=portfolio_id, snapshot_date=day, frequency=DAILY)
        session.add(row)
    for name, value in values.items():
        setattr(row, name, value)
    session.flush()


def read_daily_snapshot(
    session: Session, *, portfolio_id: uuid.UUID, day: date
) -> dict[str, Any] | None:
    """The batch columns of the (portfolio, day, daily) snapshot, or None."""
    row = _snapshot(session, portfolio_id, day)
    if row is None:
        return None
    return {name: getattr(row, name) for name in sorted(SNAPSHOT_COLUMNS)}


def previous_daily_snapshot(
    session: Session, *, portfolio_id: uuid.UUID, before: date
) -> tuple[date, Decimal] | None:
    """The newest daily snapshot strictly before ``before``: (date, total value), or None."""
    found = session.execute(
        select(PortfolioSnapshot.snapshot_date, PortfolioSnapshot.total_value)
        .where(
            PortfolioSnapshot.portfolio_id == portfolio_id,
            PortfolioSnapshot.frequency == DAILY,
            PortfolioSnapshot.snapshot_date < before,
            PortfolioSnapshot.total_value.is_not(None),
        )
        .order_by(PortfolioSnapshot.snapshot_date.desc())
        .limit(1)
    ).first()
    if found is None or found[0] is None or found[1] is None:
        return None
    return found[0], found[1]


def market_beta(
    session: Session, *, portfolio_id: uuid.UUID, day: date, factor_name: str
) -> Decimal | None:
    """The stored portfolio exposure (``exposure_value``) to the factor named ``factor_name``."""
    return session.scalar(
        select(PortfolioFactorExposure.exposure_value)
        .join(FactorDefinition, FactorDefinition.id == PortfolioFactorExposure.factor_id)
        .where(
            PortfolioFactorExposure.portfolio_id == portfolio_id,
            PortfolioFactorExposure.calculation_date == day,
            FactorDefinition.name == factor_name,
        )
    )


def unrealized_pnl(session: Session, *, position_ids: Sequence[uuid.UUID]) -> list[Decimal]:
    """The stored ``unrealized_pnl`` of the positions that have one."""
    if not position_ids:
        return []
    rows = session.scalars(
        select(Position.unrealized_pnl).where(
            Position.id.in_(list(position_ids)), Position.unrealized_pnl.is_not(None)
        )
    )
    return [r for r in rows if r is not None]
