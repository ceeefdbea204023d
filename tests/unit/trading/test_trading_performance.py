"""Performance: returns, ratios against numpy, drawdowns, monthly series, tax lots, CSV."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
import pytest

from riskdesk.trading.ledger import NavSnapshot
from riskdesk.trading.model import Fill, FillLeg, Side
from riskdesk.trading.performance import (
    ClosedTrade,
    LotSide,
    Term,
    daily_returns,
    lots_to_csv,
    performance,
    tax_lots,
)

D = Decimal


def snap(at: datetime, nav: str) -> NavSnapshot:
    value = D(nav)
    return NavSnapshot(
        at=at,
        starting_cash=D("100"),
        cash=value,
        positions_value=D(0),
        nav=value,
        realized=value - 100,
        unrealized=D(0),
        total_pnl=value - 100,
    )


def day(n: int, hour: int = 20) -> datetime:
    return datetime(2024, 3, 1, hour, tzinfo=UTC) + timedelta(days=n)


NAVS = ["100", "110", "99", "104.5", "121"]


def reference_ratios(navs: list[float], rf: float) -> tuple[float, float, float]:
    returns = [navs[i] / navs[i - 1] - 1 for i in range(1, len(navs))]
    excess = [r - rf / 252 for r in returns]
    n = len(excess)
    mean = sum(excess) / n
    std = math.sqrt(sum((x - mean) ** 2 for x in excess) / (n - 1))
    downside = math.sqrt(sum(min(x, 0.0) ** 2 for x in excess) / n)
    rmean = sum(returns) / n
    vol = math.sqrt(sum((r - rmean) ** 2 for r in returns) / (n - 1))
    return mean / std * math.sqrt(252), mean / downside * math.sqrt(252), vol * math.sqrt(252)


@pytest.mark.parametrize("rf", [0.0, 0.0252])
def test_performance_with_daily_navs_matches_straightforward_ratios(rf: float) -> None:
    report = performance([snap(day(i), n) for i, n in enumerate(NAVS)], risk_free=rf)
    sharpe, sortino, vol = reference_ratios([float(n) for n in NAVS], rf)
    assert report.sharpe == pytest.approx(sharpe, rel=1e-12)
    assert report.sortino == pytest.approx(sortino, rel=1e-12)
    assert report.volatility == pytest.approx(vol, rel=1e-12)
    assert report.total_return == pytest.approx(0.21, rel=1e-12)


def test_performance_with_recovered_drawdown_reports_depth_and_duration() -> None:
    report = performance([snap(day(i), n) for i, n in enumerate(NAVS)])
    assert report.max_drawdown == pytest.approx(-0.10, rel=1e-12)
    assert report.max_drawdown_amount == D("-11")
    assert report.max_drawdown_duration == timedelta(days=3)  # peak day 1, back above day 4
    assert report.max_drawdown_recovered is True
    navs = np.array([float(n) for n in NAVS])
    expected = navs / np.maximum.accumulate(navs) - 1
    assert [p.drawdown for p in report.drawdowns] == pytest.approx(expected.tolist(), abs=1e-15)
    assert [p.nav for p in report.equity] == [D(n) for n in NAVS]


def test_performance_with_unrecovered_drawdown_runs_to_last_snapshot() -> None:
    report = performance([snap(day(i), n) for i, n in enumerate(["100", "120", "90", "100"])])
    assert report.max_drawdown == pytest.approx(-0.25, rel=1e-12)
    assert report.max_drawdown_amount == D("-30")
    assert report.max_drawdown_duration == timedelta(days=2)
    assert report.max_drawdown_recovered is False


def test_performance_with_rising_equity_has_no_drawdown_and_no_sortino() -> None:
    report = performance([snap(day(i), n) for i, n in enumerate(["100", "101", "103"])])
    assert (report.max_drawdown, report.max_drawdown_duration) == (0.0, timedelta(0))
    assert report.sortino is None
    assert report.sharpe is not None


def test_daily_returns_with_intraday_snapshots_use_each_days_last_nav() -> None:
    snaps = [snap(day(0, 14), "100"), snap(day(0, 20), "102"), snap(day(1, 20), "101")]
    assert daily_returns(snaps).tolist() == pytest.approx([0.02, 101 / 102 - 1], rel=1e-12)


def test_performance_with_one_return_has_no_ratios() -> None:
    report = performance([snap(day(0), "100"), snap(day(1), "105")])
    assert (report.sharpe, report.sortino, report.volatility) == (None, None, None)


def test_performance_with_two_months_gives_monthly_returns() -> None:
    snaps = [
        snap(datetime(2024, 1, 2, 20, tzinfo=UTC), "100"),
        snap(datetime(2024, 1, 31, 20, tzinfo=UTC), "110"),
        snap(datetime(2024, 2, 15, 20, tzinfo=UTC), "99"),
        snap(datetime(2024, 2, 29, 20, tzinfo=UTC), "121"),
    ]
    monthly = performance(snaps).monthly_returns
    assert [m.month for m in monthly] == ["2024-01", "2024-02"]
    assert [m.ret for m in monthly] == pytest.approx([0.10, 0.10], rel=1e-12)


def test_performance_with_closed_trades_counts_wins_losses_and_profit_factor() -> None:
    trades = [ClosedTrade("X", day(0), day(0), D(p)) for p in ("100", "-50", "0", "200", "-25")]
    report = performance([snap(day(0), "100")], trades)
    assert (report.trades, report.wins, report.losses) == (5, 2, 2)
    assert report.win_rate == pytest.approx(0.4)
    assert (report.average_win, report.average_loss) == (D("150"), D("-37.5"))
    assert report.profit_factor == D("4")


def test_performance_with_no_snapshot_raises() -> None:
    with pytest.raises(ValueError, match="at least one NAV snapshot"):
        performance([])


# --------------------------------------------------------------------------- tax lots


def trade(
    symbol: str,
    side: Side,
    qty: int,
    price: str,
    at: datetime,
    *,
    mult: int = 1,
    commission: str = "0",
) -> Fill:
    return Fill(
        units=1,
        legs=(FillLeg(symbol, side, qty, D(price), mult),),
        net_price=D(price),
        commission=D(commission),
        fees=D(0),
        slippage_bps=0,
        at=at,
    )


def utc(y: int, m: int, d: int) -> datetime:
    return datetime(y, m, d, 15, tzinfo=UTC)


def test_tax_lots_with_two_buys_and_one_sale_match_fifo_and_split_terms() -> None:
    lots = tax_lots(
        [
            trade("X", Side.BUY, 10, "10", utc(2023, 1, 3), commission="1.00"),
            trade("X", Side.BUY, 10, "12", utc(2023, 6, 1)),
            trade("X", Side.SELL, 15, "15", utc(2024, 3, 1), commission="1.50"),
        ]
    )
    first, second = lots
    assert (first.quantity, first.term, first.cost_basis, first.proceeds) == (
        10,
        Term.LONG,
        D("101.00"),
        D("149.00"),
    )
    assert first.gain == D("48.00")
    assert (second.quantity, second.term, second.cost_basis, second.proceeds) == (
        5,
        Term.SHORT,
        D("60"),
        D("74.50"),
    )
    assert second.wash_sale_disallowed == D("0")


def test_tax_lots_with_repurchase_after_loss_adds_disallowed_loss_to_replacement() -> None:
    # buy 100 at 50 (5,000); sell at 40 (loss 1,000); buy 100 at 42 fourteen days later:
    # the 1,000 loss is disallowed and the new lot's basis is 4,200 + 1,000 = 5,200; sold at
    # 45 (4,500) two months on, with no repurchase: a 700 loss, allowed.
    lots = tax_lots(
        [
            trade("XYZ", Side.BUY, 100, "50", utc(2024, 1, 2)),
            trade("XYZ", Side.SELL, 100, "40", utc(2024, 3, 1)),
            trade("XYZ", Side.BUY, 100, "42", utc(2024, 3, 15)),
            trade("XYZ", Side.SELL, 100, "45", utc(2024, 5, 1)),
        ]
    )
    washed, later = lots
    assert (washed.gain, washed.wash_sale_disallowed, washed.adjusted_gain) == (
        D("-1000"),
        D("1000"),
        D("0"),
    )
    assert (later.cost_basis, later.proceeds, later.gain) == (D("5200"), D("4500"), D("-700"))
    assert later.wash_sale_disallowed == D("0")


def test_tax_lots_with_partial_replacement_before_sale_disallows_in_proportion() -> None:
    # lot 1: 100 at 50; lot 2: 40 at 45 (9 days before the sale); sell 100 at 40 (FIFO:
    # lot 1, loss 1,000). 40 replacement shares: 400 disallowed, lot 2 basis 1,800 + 400.
    lots = tax_lots(
        [
            trade("XYZ", Side.BUY, 100, "50", utc(2024, 1, 2)),
            trade("XYZ", Side.BUY, 40, "45", utc(2024, 2, 20)),
            trade("XYZ", Side.SELL, 100, "40", utc(2024, 3, 1)),
            trade("XYZ", Side.SELL, 40, "60", utc(2024, 6, 3)),
        ]
    )
    washed, later = lots
    assert (washed.gain, washed.wash_sale_disallowed, washed.adjusted_gain) == (
        D("-1000"),
        D("400.00"),
        D("-600.00"),
    )
    assert (later.cost_basis, later.proceeds, later.gain) == (D("2200.00"), D("2400"), D("200.00"))


def test_tax_lots_with_repurchase_after_window_keeps_loss() -> None:
    lots = tax_lots(
        [
            trade("XYZ", Side.BUY, 10, "50", utc(2024, 1, 2)),
            trade("XYZ", Side.SELL, 10, "40", utc(2024, 3, 1)),
            trade("XYZ", Side.BUY, 10, "42", utc(2024, 4, 1)),  # 31 days later
        ]
    )
    assert lots[0].wash_sale_disallowed == D("0")


def test_tax_lots_with_short_option_match_open_sale_to_closing_buy() -> None:
    (lot,) = tax_lots(
        [
            trade("OPT", Side.SELL, 1, "2.00", utc(2024, 3, 1), mult=100),
            trade("OPT", Side.BUY, 1, "0.50", utc(2024, 3, 8), mult=100),
        ]
    )
    assert (lot.side, lot.proceeds, lot.cost_basis, lot.gain) == (
        LotSide.SHORT,
        D("200.00"),
        D("50.00"),
        D("150.00"),
    )


def test_lots_to_csv_with_one_lot_writes_header_and_row() -> None:
    lots = tax_lots(
        [
            trade("X", Side.BUY, 2, "10", utc(2024, 1, 2)),
            trade("X", Side.SELL, 2, "11", utc(2024, 1, 9)),
        ]
    )
    assert lots_to_csv(lots) == (
        "symbol,side,quantity,opened_at,closed_at,term,proceeds,cost_basis,gain,"
        "wash_sale_disallowed,adjusted_gain\n"
        "X,long,2,2024-01-02T15:00:00+00:00,2024-01-09T15:00:00+00:00,short,22,20,2,0,2\n"
    )
