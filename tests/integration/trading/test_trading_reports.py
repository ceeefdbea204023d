"""PerformanceReports: period metrics and daily P&L rows from stored NAV, tax lots as CSV."""

from __future__ import annotations

import csv
import io
import math
import statistics
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import Engine, select

from riskdesk.adapters.simulated import generate_market
from riskdesk.domain.market import MarketSnapshot
from riskdesk.domain.occ import format_occ
from riskdesk.store import Database, make_session_factory
from riskdesk.store import models as m
from riskdesk.trading.desk import OrderTicket, PaperDesk, StaticMarket, TicketLeg
from riskdesk.trading.fills import FillConfig
from riskdesk.trading.model import Side
from riskdesk.trading.reports import NoNavHistoryError, PerformanceReports

AS_OF = datetime(2025, 3, 4, 15, 0, tzinfo=UTC)
START = Decimal(100000)
# (time, NAV): day 1 opens and closes, then one close a day
SERIES = (
    (datetime(2025, 3, 3, 10, tzinfo=UTC), Decimal(100000)),
    (datetime(2025, 3, 3, 16, tzinfo=UTC), Decimal(101000)),
    (datetime(2025, 3, 4, 16, tzinfo=UTC), Decimal(99000)),
    (datetime(2025, 3, 5, 16, tzinfo=UTC), Decimal(102000)),
    (datetime(2025, 3, 6, 16, tzinfo=UTC), Decimal(100500)),
)


@pytest.fixture
def db(migrated_engine: Engine) -> Database:
    return Database(engine=migrated_engine, sessions=make_session_factory(migrated_engine))


@pytest.fixture(scope="module")
def snapshot() -> MarketSnapshot:
    return generate_market(seed=11, as_of=AS_OF, symbols=["SPY"], max_expiry_days=20)


def _known_account(db: Database, snapshot: MarketSnapshot) -> PaperDesk:
    """An account whose NAV history is SERIES (all cash, P&L realized) and two closed trades."""
    desk = PaperDesk(db, market=StaticMarket(snapshot), clock=lambda: AS_OF)
    account = desk.create_account("known", START)
    with db.unit_of_work() as uow:
        row = uow.session.get(m.TradingAccount, account.id)
        assert row is not None
        ticker = m.Ticker(symbol="SPY", name="SPY", exchange="TEST")
        uow.session.add(ticker)
        uow.session.flush()
        for at, nav in SERIES:
            uow.session.add(
                m.PortfolioSnapshot(
                    account_id=row.id,
                    nav=nav,
                    cash=nav,
                    realized_pnl=nav - START,
                    unrealized_pnl=Decimal(0),
                    total_value=Decimal(0),
                    total_pnl=nav - START,
                    captured_at=at,
                )
            )
        for closed, pnl in ((SERIES[1][0], Decimal(300)), (SERIES[3][0], Decimal(-100))):
            uow.session.add(
                m.Trade(
                    user_id=row.user_id,
                    account_id=row.id,
                    ticker_id=ticker.id,
                    strategy_type="single",
                    trade_type="manual",
                    status="filled",
                    opened_at=closed - timedelta(hours=1),
                    closed_at=closed,
                    realized_pnl=pnl,
                )
            )
    return desk


def test_performance_with_known_nav_series_matches_an_independent_computation(
    db: Database, snapshot: MarketSnapshot
) -> None:
    desk = _known_account(db, snapshot)
    reports = PerformanceReports(desk)
    navs = [float(nav) for _, nav in SERIES]
    returns = [navs[i] / navs[i - 1] - 1 for i in range(1, len(navs))]
    sharpe = statistics.mean(returns) / statistics.stdev(returns) * math.sqrt(252)
    downside = math.sqrt(sum(min(r, 0.0) ** 2 for r in returns) / len(returns))

    result = reports.performance("known")
    again = reports.performance("known")

    r = result.report
    assert r.total_return == pytest.approx(100500 / 100000 - 1, rel=1e-12)
    assert r.sharpe == pytest.approx(sharpe, rel=1e-9)
    assert r.sortino == pytest.approx(statistics.mean(returns) / downside * math.sqrt(252))
    assert r.volatility == pytest.approx(statistics.stdev(returns) * math.sqrt(252), rel=1e-9)
    assert r.max_drawdown == pytest.approx(99000 / 101000 - 1, rel=1e-12)
    assert r.max_drawdown_duration == timedelta(days=2)
    assert (r.trades, r.wins, r.losses, r.win_rate) == (2, 1, 1, 0.5)
    assert r.profit_factor == Decimal(3)
    assert (result.period_start, result.period_end) == (date(2025, 3, 3), date(2025, 3, 6))
    assert again.metrics_id == result.metrics_id
    stored = reports.stored_metrics("known")
    assert len(stored) == 1
    assert Decimal(stored[0]["total_return"]) == Decimal("0.0050000000")
    assert Decimal(stored[0]["max_drawdown"]) == Decimal(repr(99000 / 101000 - 1)).quantize(
        Decimal("1E-10")
    )
    assert stored[0]["max_drawdown_duration"] == 2
    assert (stored[0]["total_trades"], stored[0]["winning_trades"]) == (2, 1)


def test_performance_with_known_nav_series_stores_one_daily_pnl_row_per_day(
    db: Database, snapshot: MarketSnapshot
) -> None:
    desk = _known_account(db, snapshot)
    reports = PerformanceReports(desk)

    reports.performance("known", start=date(2025, 3, 4), end=date(2025, 3, 6))
    reports.performance("known")
    daily = reports.daily_pnl("known")

    assert [d.day for d in daily] == [date(2025, 3, d) for d in (3, 4, 5, 6)]
    assert [d.net for d in daily] == [Decimal(v) for v in (1000, -2000, 3000, -1500)]
    assert all(d.realized + d.unrealized == d.total for d in daily)
    assert [(d.trades, d.wins, d.losses) for d in daily] == [
        (1, 1, 0),
        (0, 0, 0),
        (1, 0, 1),
        (0, 0, 0),
    ]
    with db.unit_of_work() as uow:
        rows = list(uow.session.scalars(select(m.DailyPnl)))
    assert len(rows) == 4
    assert all(r.ticker_id is None for r in rows)


def test_performance_with_no_nav_snapshot_in_the_period_says_so(
    db: Database, snapshot: MarketSnapshot
) -> None:
    desk = _known_account(db, snapshot)

    with pytest.raises(NoNavHistoryError, match="no NAV snapshot"):
        PerformanceReports(desk).performance("known", start=date(2025, 4, 1))
    with pytest.raises(ValueError, match="ends"):
        PerformanceReports(desk).performance("known", start=date(2025, 4, 2), end=date(2025, 4, 1))


def test_performance_with_real_fills_and_costs_reconciles_daily_pnl_and_exports_tax_lots(
    db: Database, snapshot: MarketSnapshot
) -> None:
    now = [AS_OF + timedelta(seconds=1)]
    costs = FillConfig(commission_per_contract=Decimal("0.65"), fee_per_contract=Decimal("0.02"))
    desk = PaperDesk(db, market=StaticMarket(snapshot), clock=lambda: now[0], fill_config=costs)
    desk.create_account("real", START)
    quote = next(
        q
        for q in snapshot.options
        if q.bid is not None and q.ask is not None and q.bid > Decimal(1) and q.ask > q.bid
    )
    occ = format_occ(quote.contract)
    desk.snapshot_nav("real")
    bought = desk.submit("real", OrderTicket(legs=(TicketLeg(occ, Side.BUY),), quantity=2))
    now[0] += timedelta(seconds=10)
    sold = desk.submit("real", OrderTicket(legs=(TicketLeg(occ, Side.SELL),), quantity=2))
    now[0] += timedelta(seconds=10)
    desk.snapshot_nav("real")
    reports = PerformanceReports(desk)

    result = reports.performance("real")
    lots = reports.tax_lots("real")
    table = list(csv.DictReader(io.StringIO(reports.tax_lots_csv("real"))))

    assert bought.order.status == sold.order.status == "filled"
    [day] = result.daily
    assert day.commission == Decimal("2.60")
    assert day.fees == Decimal("0.08")
    assert day.realized + day.unrealized == day.total
    assert day.net == day.total - day.commission - day.fees
    assert day.net == result.report.ending_nav - START
    assert quote.ask is not None
    assert quote.bid is not None
    spread = (quote.ask - quote.bid) * 2 * 100
    assert day.net == -spread - Decimal("2.68")
    assert len(lots) == 1
    assert lots[0].gain == day.net
    assert table[0]["symbol"] == occ
    assert Decimal(table[0]["gain"]) == day.net
    assert table[0]["term"] == "short"
