"""Performance reports of a paper account: period metrics, daily P&L rows and tax lots.

:class:`PerformanceReports` is the use case behind ``riskdesk performance`` and
``/v1/performance``. It reads the account's stored NAV snapshots and closed trades, runs the
pure engine :func:`riskdesk.trading.performance.performance`, and stores what it found:

* one ``performance_metrics`` row per (account, period), replaced when the same period is
  reported again. Ratios are stored to 10 decimal places, money to 8;
  ``max_drawdown_duration`` is in whole days (rounded down; the exact duration in seconds is
  in the report);
* one ``daily_pnl`` row per account and UTC day with a NAV snapshot in the period
  (``ticker_id`` NULL: the account total), replaced on a new report. With ``prev`` the last
  snapshot of the day before (none: the account's opening, NAV = starting cash, no P&L) and
  ``close`` the day's last snapshot:

  - ``commission`` / ``fees``: the sums over the account's fills that day;
  - ``realized_pnl = close.realized - prev.realized + commission + fees`` (gross of costs:
    the ledger books costs into realized P&L);
  - ``unrealized_pnl = close.unrealized - prev.unrealized``;
  - ``total_pnl = realized_pnl + unrealized_pnl``;
  - ``net_pnl = total_pnl - commission - fees`` (= ``close.nav - prev.nav`` when the
    snapshots reconcile);
  - ``trades_count`` / ``winning_trades`` / ``losing_trades``: trades closed that day, won
    (P&L > 0) and lost (P&L < 0).

A closed trade is a ``trades`` row of the account with ``closed_at`` and ``realized_pnl`` set
(the desk sets them when a fill realizes P&L); its P&L is ``realized_pnl`` as the desk stored
it. Tax lots come from every fill of the account (:func:`riskdesk.trading.performance.tax_lots`).

The queries are plain ORM statements in the desk's units of work (the store has no repository
functions for these tables); the account row is locked while its rows are replaced, so two
reports of one account never interleave.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from riskdesk.store import models as m
from riskdesk.store import trading as repo
from riskdesk.trading.desk import PaperDesk
from riskdesk.trading.ledger import NavSnapshot
from riskdesk.trading.model import money_text
from riskdesk.trading.performance import (
    ClosedTrade,
    PerformanceReport,
    RealizedLot,
    lots_to_csv,
    performance,
    tax_lots,
)

__all__ = [
    "DailyPnlRow",
    "NoNavHistoryError",
    "PerformanceReports",
    "PerformanceResult",
    "lot_dict",
]

_ZERO = Decimal(0)
_RATIO = Decimal("0.0000000001")
_MONEY = Decimal("0.00000001")


class NoNavHistoryError(ValueError):
    """The account has no NAV snapshot in the period asked: nothing to measure yet."""


@dataclass(frozen=True, slots=True)
class DailyPnlRow:
    """One day's P&L of an account (see the module docstring for each figure)."""

    day: date
    realized: Decimal
    unrealized: Decimal
    total: Decimal
    commission: Decimal
    fees: Decimal
    net: Decimal
    trades: int
    wins: int
    losses: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (money as strings)."""
        return {
            "date": self.day.isoformat(),
            "realized_pnl": money_text(self.realized),
            "unrealized_pnl": money_text(self.unrealized),
            "total_pnl": money_text(self.total),
            "commission": money_text(self.commission),
            "fees": money_text(self.fees),
            "net_pnl": money_text(self.net),
            "trades": self.trades,
            "wins": self.wins,
            "losses": self.losses,
        }


@dataclass(frozen=True, slots=True)
class PerformanceResult:
    """A period's performance of one account, as computed and stored."""

    account_id: uuid.UUID
    account: str
    period_start: date
    period_end: date
    report: PerformanceReport
    daily: tuple[DailyPnlRow, ...]
    metrics_id: uuid.UUID

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ratios as numbers (null when undefined), money as strings."""
        r = self.report

        def money(value: Decimal | None) -> str | None:
            return None if value is None else money_text(value)

        return {
            "account_id": str(self.account_id),
            "account": self.account,
            "period_start": self.period_start.isoformat(),
            "period_end": self.period_end.isoformat(),
            "metrics_id": str(self.metrics_id),
            "start": r.start.isoformat(),
            "end": r.end.isoformat(),
            "starting_nav": money_text(r.starting_nav),
            "ending_nav": money_text(r.ending_nav),
            "total_return": r.total_return,
            "trades": r.trades,
            "wins": r.wins,
            "losses": r.losses,
            "win_rate": r.win_rate,
            "average_win": money(r.average_win),
            "average_loss": money(r.average_loss),
            "profit_factor": money(r.profit_factor),
            "sharpe": r.sharpe,
            "sortino": r.sortino,
            "volatility": r.volatility,
            "max_drawdown": r.max_drawdown,
            "max_drawdown_amount": money_text(r.max_drawdown_amount),
            "max_drawdown_duration_seconds": r.max_drawdown_duration.total_seconds(),
            "max_drawdown_recovered": r.max_drawdown_recovered,
            "risk_free": r.risk_free,
            "equity": [{"at": p.at.isoformat(), "nav": money_text(p.nav)} for p in r.equity],
            "drawdowns": [
                {"at": p.at.isoformat(), "drawdown": p.drawdown, "amount": money_text(p.amount)}
                for p in r.drawdowns
            ],
            "monthly_returns": [{"month": p.month, "return": p.ret} for p in r.monthly_returns],
            "daily_pnl": [d.to_dict() for d in self.daily],
        }


def _ratio(value: float | Decimal | None) -> Decimal | None:
    if value is None:
        return None
    return Decimal(repr(float(value))).quantize(_RATIO)


def _money(value: Decimal | None) -> Decimal | None:
    return None if value is None else value.quantize(_MONEY)


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def _utc_day(at: datetime) -> date:
    return at.astimezone(UTC).date()


class PerformanceReports:
    """Performance, daily P&L and tax lots of the desk's accounts (see the module docstring).

    Parameters
    ----------
    desk
        The paper desk whose caller, database and accounts are used.

    """

    def __init__(self, desk: PaperDesk) -> None:
        self.desk = desk

    # ----------------------------------------------------------------- reads

    def _closed_trades(
        self, session: Session, account_id: uuid.UUID, start: datetime | None, end: datetime | None
    ) -> list[tuple[ClosedTrade, datetime]]:
        stmt = (
            select(m.Trade, m.Ticker.symbol)
            .outerjoin(m.Ticker, m.Ticker.id == m.Trade.ticker_id)
            .where(
                m.Trade.account_id == account_id,
                m.Trade.closed_at.is_not(None),
                m.Trade.realized_pnl.is_not(None),
            )
            .order_by(m.Trade.closed_at, m.Trade.id)
        )
        if start is not None:
            stmt = stmt.where(m.Trade.closed_at >= start)
        if end is not None:
            stmt = stmt.where(m.Trade.closed_at < end)
        out: list[tuple[ClosedTrade, datetime]] = []
        for trade, symbol in session.execute(stmt):
            closed = trade.closed_at
            assert closed is not None
            assert trade.realized_pnl is not None
            out.append(
                (
                    ClosedTrade(
                        symbol=symbol or trade.symbol or "",
                        opened_at=trade.opened_at or closed,
                        closed_at=closed,
                        pnl=trade.realized_pnl,
                    ),
                    closed,
                )
            )
        return out

    def _costs_by_day(
        self, session: Session, account_id: uuid.UUID, start: datetime, end: datetime
    ) -> dict[date, tuple[Decimal, Decimal]]:
        rows = session.execute(
            select(m.Fill.filled_at, m.Fill.commission, m.Fill.fee)
            .join(m.Order, m.Order.id == m.Fill.order_id)
            .where(
                m.Order.account_id == account_id,
                m.Fill.filled_at >= start,
                m.Fill.filled_at < end,
            )
        )
        out: dict[date, tuple[Decimal, Decimal]] = {}
        for at, commission, fee in rows:
            day = _utc_day(at)
            c, f = out.get(day, (_ZERO, _ZERO))
            out[day] = (c + Decimal(commission), f + Decimal(fee))
        return out

    # ----------------------------------------------------------------- performance

    def performance(
        self,
        account: str | uuid.UUID,
        start: date | None = None,
        end: date | None = None,
        *,
        risk_free: float = 0.0,
    ) -> PerformanceResult:
        """Performance of ``account`` over the UTC days ``[start, end]``, stored.

        Parameters
        ----------
        account
            The account's name or id (the desk's caller must own it).
        start, end
            First and last UTC day (inclusive); None: from the first / to the last snapshot.
        risk_free
            Annual simple risk-free rate for Sharpe and Sortino (0.05 is 5%).

        Raises
        ------
        AccountNotFoundError
            For an account the caller does not have.
        NoNavHistoryError
            When the account has no NAV snapshot in the period.
        ValueError
            When ``end`` is before ``start`` or ``risk_free`` is not finite.

        """
        if start is not None and end is not None and end < start:
            raise ValueError(f"the period ends ({end}) before it starts ({start})")
        if not -1.0 <= float(risk_free) <= 1.0:
            raise ValueError(
                f"risk_free must be an annual rate in [-1, 1] (0.05 is 5%), got {risk_free}"
            )
        lower = None if start is None else _day_start(start)
        upper = None if end is None else _day_start(end + timedelta(days=1))
        view = self.desk.get_account(account)
        snapshots = self.desk.nav_snapshots(view.id, start=lower, end=upper)
        if not snapshots:
            period = f"between {start or 'the start'} and {end or 'now'}"
            raise NoNavHistoryError(
                f"account {view.name!r} has no NAV snapshot {period}: mark it to the market "
                "first (a NAV snapshot is taken by each market pass and at the close)"
            )
        first_day = start or _utc_day(snapshots[0].at)
        last_day = end or _utc_day(snapshots[-1].at)
        with self.desk._write() as uow:
            session = uow.session
            row = repo.lock_account(session, view.id)
            trades = self._closed_trades(session, row.id, lower, upper)
            report = performance(snapshots, [t for t, _ in trades], risk_free=float(risk_free))
            metrics_id = self._store_metrics(session, row, first_day, last_day, report)
            daily = self._daily(session, row, snapshots, trades)
            self._store_daily(session, row, daily)
            uow.audit(
                "performance.report",
                resource_type="trading_account",
                resource_id=str(row.id),
                new={"period_start": first_day.isoformat(), "period_end": last_day.isoformat()},
            )
            return PerformanceResult(
                account_id=row.id,
                account=row.account_number,
                period_start=first_day,
                period_end=last_day,
                report=report,
                daily=tuple(daily),
                metrics_id=metrics_id,
            )

    def _store_metrics(
        self,
        session: Session,
        account: m.TradingAccount,
        start: date,
        end: date,
        report: PerformanceReport,
    ) -> uuid.UUID:
        values: dict[str, Any] = {
            "total_return": _ratio(report.total_return),
            "total_trades": report.trades,
            "winning_trades": report.wins,
            "losing_trades": report.losses,
            "win_rate": _ratio(report.win_rate),
            "avg_win": _money(report.average_win),
            "avg_loss": _money(report.average_loss),
            "profit_factor": _ratio(report.profit_factor),
            "sharpe_ratio": _ratio(report.sharpe),
            "max_drawdown": _ratio(report.max_drawdown),
            "max_drawdown_duration": report.max_drawdown_duration.days,
            "volatility": _ratio(report.volatility),
        }
        row = session.scalars(
            select(m.PerformanceMetric).where(
                m.PerformanceMetric.user_id == account.user_id,
                m.PerformanceMetric.account_id == account.id,
                m.PerformanceMetric.period_start == start,
                m.PerformanceMetric.period_end == end,
            )
        ).first()
        if row is None:
            row = m.PerformanceMetric(
                user_id=account.user_id,
                account_id=account.id,
                period_start=start,
                period_end=end,
                **values,
            )
            session.add(row)
        else:
            for key, value in values.items():
                setattr(row, key, value)
        session.flush()
        return row.id

    def _previous(
        self, session: Session, account: m.TradingAccount, before: datetime
    ) -> NavSnapshot | None:
        prior = session.scalars(
            select(m.PortfolioSnapshot)
            .where(
                m.PortfolioSnapshot.account_id == account.id,
                m.PortfolioSnapshot.captured_at < before,
            )
            .order_by(m.PortfolioSnapshot.captured_at.desc(), m.PortfolioSnapshot.id.desc())
            .limit(1)
        ).first()
        if prior is None:
            return None
        return NavSnapshot(
            at=prior.captured_at,
            starting_cash=account.starting_cash or _ZERO,
            cash=prior.cash or _ZERO,
            positions_value=prior.total_value or _ZERO,
            nav=prior.nav or _ZERO,
            realized=prior.realized_pnl or _ZERO,
            unrealized=prior.unrealized_pnl or _ZERO,
            total_pnl=prior.total_pnl or _ZERO,
        )

    def _daily(
        self,
        session: Session,
        account: m.TradingAccount,
        snapshots: Sequence[NavSnapshot],
        trades: Sequence[tuple[ClosedTrade, datetime]],
    ) -> list[DailyPnlRow]:
        closes: dict[date, NavSnapshot] = {}
        for snap in snapshots:
            closes[_utc_day(snap.at)] = snap
        days = sorted(closes)
        costs = self._costs_by_day(
            session, account.id, _day_start(days[0]), _day_start(days[-1] + timedelta(days=1))
        )
        previous = self._previous(session, account, _day_start(days[0]))
        prev_realized = _ZERO if previous is None else previous.realized
        prev_unrealized = _ZERO if previous is None else previous.unrealized
        out: list[DailyPnlRow] = []
        for day in days:
            close = closes[day]
            commission, fees = costs.get(day, (_ZERO, _ZERO))
            realized = close.realized - prev_realized + commission + fees
            unrealized = close.unrealized - prev_unrealized
            total = realized + unrealized
            closed = [t for t, at in trades if _utc_day(at) == day]
            out.append(
                DailyPnlRow(
                    day=day,
                    realized=realized,
                    unrealized=unrealized,
                    total=total,
                    commission=commission,
                    fees=fees,
                    net=total - commission - fees,
                    trades=len(closed),
                    wins=sum(1 for t in closed if t.pnl > 0),
                    losses=sum(1 for t in closed if t.pnl < 0),
                )
            )
            prev_realized, prev_unrealized = close.realized, close.unrealized
        return out

    def _store_daily(
        self, session: Session, account: m.TradingAccount, daily: Sequence[DailyPnlRow]
    ) -> None:
        existing = {
            row.trade_date: row
            for row in session.scalars(
                select(m.DailyPnl).where(
                    m.DailyPnl.user_id == account.user_id,
                    m.DailyPnl.account_id == account.id,
                    m.DailyPnl.ticker_id.is_(None),
                    m.DailyPnl.trade_date.in_([d.day for d in daily]),
                )
            )
        }
        for d in daily:
            values: dict[str, Any] = {
                "realized_pnl": d.realized,
                "unrealized_pnl": d.unrealized,
                "total_pnl": d.total,
                "commission": d.commission,
                "fees": d.fees,
                "net_pnl": d.net,
                "trades_count": d.trades,
                "winning_trades": d.wins,
                "losing_trades": d.losses,
            }
            row = existing.get(d.day)
            if row is None:
                session.add(
                    m.DailyPnl(
                        user_id=account.user_id,
                        account_id=account.id,
                        ticker_id=None,
                        trade_date=d.day,
                        **values,
                    )
                )
            else:
                for key, value in values.items():
                    setattr(row, key, value)
        session.flush()

    def daily_pnl(self, account: str | uuid.UUID) -> list[DailyPnlRow]:
        """The account's stored ``daily_pnl`` totals (ticker NULL), oldest first."""
        view = self.desk.get_account(account)
        with self.desk._read() as uow:
            rows = uow.session.scalars(
                select(m.DailyPnl)
                .where(m.DailyPnl.account_id == view.id, m.DailyPnl.ticker_id.is_(None))
                .order_by(m.DailyPnl.trade_date)
            )
            return [
                DailyPnlRow(
                    day=r.trade_date,
                    realized=r.realized_pnl,
                    unrealized=r.unrealized_pnl,
                    total=r.total_pnl,
                    commission=r.commission,
                    fees=r.fees,
                    net=r.net_pnl,
                    trades=r.trades_count,
                    wins=r.winning_trades,
                    losses=r.losing_trades,
                )
                for r in rows
            ]

    def stored_metrics(self, account: str | uuid.UUID) -> list[dict[str, Any]]:
        """The account's stored ``performance_metrics`` rows, by period."""
        view = self.desk.get_account(account)
        with self.desk._read() as uow:
            rows = uow.session.scalars(
                select(m.PerformanceMetric)
                .where(m.PerformanceMetric.account_id == view.id)
                .order_by(m.PerformanceMetric.period_start, m.PerformanceMetric.period_end)
            )
            names = (
                "total_return",
                "win_rate",
                "avg_win",
                "avg_loss",
                "profit_factor",
                "sharpe_ratio",
                "max_drawdown",
                "volatility",
            )
            return [
                {
                    "period_start": r.period_start.isoformat(),
                    "period_end": r.period_end.isoformat(),
                    "total_trades": r.total_trades,
                    "winning_trades": r.winning_trades,
                    "losing_trades": r.losing_trades,
                    "max_drawdown_duration": r.max_drawdown_duration,
                    **{n: None if getattr(r, n) is None else str(getattr(r, n)) for n in names},
                }
                for r in rows
            ]

    # ----------------------------------------------------------------- tax lots

    def tax_lots(self, account: str | uuid.UUID) -> tuple[RealizedLot, ...]:
        """The account's realized tax lots (FIFO, wash sales adjusted), in closing order."""
        return tax_lots(self.desk.engine_fills(account))

    def tax_lots_csv(self, account: str | uuid.UUID) -> str:
        """The account's realized tax lots as CSV text (:func:`lots_to_csv`)."""
        return lots_to_csv(self.tax_lots(account))


def lot_dict(lot: RealizedLot) -> dict[str, Any]:
    """A realized lot, JSON-ready (money as strings)."""
    return {
        "symbol": lot.symbol,
        "side": lot.side.value,
        "quantity": lot.quantity,
        "opened_at": lot.opened_at.isoformat(),
        "closed_at": lot.closed_at.isoformat(),
        "term": lot.term.value,
        "proceeds": str(lot.proceeds),
        "cost_basis": str(lot.cost_basis),
        "gain": str(lot.gain),
        "wash_sale_disallowed": str(lot.wash_sale_disallowed),
        "adjusted_gain": str(lot.adjusted_gain),
    }
