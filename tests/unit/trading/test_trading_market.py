"""The paper venue's view of a snapshot: sizes, legs, Greeks, max loss, moves, expiry."""

from __future__ import annotations

import dataclasses
import math
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from scipy.stats import norm

from riskdesk.adapters.simulated import generate_market
from riskdesk.domain.market import MarketSnapshot
from riskdesk.domain.occ import format_occ
from riskdesk.domain.timeutil import expiry_datetime, year_fraction
from riskdesk.trading.market import (
    DisplayedSize,
    MidHistory,
    closes_for,
    expiring_options,
    leg_greeks,
    order_leg,
    quotes_from_snapshot,
    structure_max_loss,
    underlying_of,
)
from riskdesk.trading.model import Side

AS_OF = datetime(2025, 3, 4, 15, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def snapshot() -> MarketSnapshot:
    return generate_market(seed=11, as_of=AS_OF, symbols=["SPY"], max_expiry_days=20)


def _quoted(snapshot: MarketSnapshot) -> list[str]:
    return [format_occ(q.contract) for q in snapshot.options if q.bid and q.ask and q.iv]


def test_displayed_size_with_same_minute_is_reproducible_and_in_range() -> None:
    sizes = DisplayedSize(low=5, high=9, share_multiple=10)
    at = datetime(2025, 3, 4, 15, 0, 12, tzinfo=UTC)
    first = sizes.size("X", "bid", at, option=True)
    assert first == sizes.size("X", "bid", at.replace(second=59), option=True)
    drawn = {sizes.size(f"S{i}", "ask", at, option=True) for i in range(200)}
    assert drawn <= set(range(5, 10))
    assert len(drawn) == 5
    assert sizes.size("X", "bid", at, option=False) == first * 10


def test_displayed_size_with_low_above_high_is_refused() -> None:
    with pytest.raises(ValueError, match="low <= high"):
        DisplayedSize(low=10, high=2)


def test_quotes_from_snapshot_with_option_and_stock_match_the_snapshot(
    snapshot: MarketSnapshot,
) -> None:
    symbol = _quoted(snapshot)[10]
    quotes = quotes_from_snapshot(snapshot, [symbol, "SPY", "QQQ"])
    assert set(quotes) == {symbol, "SPY"}  # QQQ is not in the snapshot: left out
    option = next(q for q in snapshot.options if format_occ(q.contract) == symbol)
    assert (quotes[symbol].bid, quotes[symbol].ask) == (option.bid, option.ask)
    assert quotes[symbol].bid_size >= 20
    assert quotes[symbol].at == option.provider_timestamp
    spy = snapshot.underlying("SPY")
    assert quotes["SPY"].bid == (spy.bid if spy.bid is not None else spy.spot)


def test_order_leg_with_occ_symbol_and_ticker_sets_multiplier_and_kind() -> None:
    leg = order_leg(" spy   250321c00580000 ", Side.SELL, 2)
    assert (leg.symbol, leg.multiplier, leg.is_option, leg.ratio) == (
        "SPY   250321C00580000",
        100,
        True,
        2,
    )
    stock = order_leg("aapl", Side.BUY)
    assert (stock.symbol, stock.multiplier, stock.is_option) == ("AAPL", 1, False)
    with pytest.raises(ValueError, match="neither an OCC option symbol nor a stock ticker"):
        order_leg("NOT A SYMBOL!", Side.BUY)


def test_underlying_of_with_weekly_index_root_is_the_index() -> None:
    assert underlying_of("SPXW  250306C05800000") == "SPX"
    assert underlying_of("SPY   250306C00580000") == "SPY"
    assert underlying_of("msft") == "MSFT"


def test_leg_greeks_with_listed_call_match_closed_form_bsm(snapshot: MarketSnapshot) -> None:
    symbol = _quoted(snapshot)[40]
    quote = next(q for q in snapshot.options if format_occ(q.contract) == symbol)
    c = quote.contract
    at = AS_OF + timedelta(seconds=1)
    greeks = leg_greeks(snapshot, symbol, at)
    # independent Black-Scholes-Merton with scipy
    S = float(snapshot.underlying("SPY").spot)
    K = float(c.strike)
    T = year_fraction(at, expiry_datetime(c.expiry, settlement=c.settlement))
    r = snapshot.overrides.rate
    q = snapshot.overrides.carry_yield("SPY")
    sigma = quote.iv
    assert sigma is not None
    d1 = (math.log(S / K) + (r - q + sigma**2 / 2) * T) / (sigma * math.sqrt(T))
    disc_q = math.exp(-q * T)
    delta = disc_q * (norm.cdf(d1) if c.right.value == "C" else norm.cdf(d1) - 1)
    gamma = disc_q * norm.pdf(d1) / (S * sigma * math.sqrt(T))
    vega = S * disc_q * norm.pdf(d1) * math.sqrt(T) / 100
    assert float(greeks.delta) == pytest.approx(delta * 100, rel=1e-7, abs=1e-8)
    assert float(greeks.gamma) == pytest.approx(gamma * 100, rel=1e-7, abs=1e-8)
    assert float(greeks.vega) == pytest.approx(vega * 100, rel=1e-6, abs=1e-8)
    assert leg_greeks(snapshot, "SPY", at).delta == 1


def test_structure_max_loss_with_known_structures_matches_hand_values() -> None:
    call_580 = "SPY   250321C00580000"
    call_590 = "SPY   250321C00590000"
    put_560 = "SPY   250321P00560000"
    put_550 = "SPY   250321P00550000"
    # premiums are money per unit: price x ratio x 100 per contract
    # bull call spread for a 4.00 debit: lose the debit, x100 x 2 units
    assert structure_max_loss([(call_580, 1), (call_590, -1)], Decimal(400), 2) == Decimal(800)
    # short iron condor for a 2.50 credit, 10-wide wings: (10 - 2.5) x 100
    condor = [(put_550, 1), (put_560, -1), (call_580, -1), (call_590, 1)]
    assert structure_max_loss(condor, Decimal(-250), 1) == Decimal(750)
    # naked short call: unlimited
    assert structure_max_loss([(call_580, -1)], Decimal(-300), 1) == Decimal("Infinity")
    # long put for 1.20: the premium
    assert structure_max_loss([(put_550, 1)], Decimal(120), 3) == Decimal(360)
    # short put for 2.00 credit: strike - credit, x100
    assert structure_max_loss([(put_560, -1)], Decimal(-200), 1) == Decimal(55800)
    # 100 shares at 50: lose all 5,000 at zero
    assert structure_max_loss([("SPY", 1)], Decimal(50), 100) == Decimal(5000)
    # covered call: 100 shares at 570 and a 580 call sold for 3.00: worst at zero
    covered = [("SPY", 100), (call_580, -1)]
    assert structure_max_loss(covered, Decimal(57000 - 300), 1) == Decimal(56700)


def test_mid_history_with_moves_reports_percent_and_feeds(snapshot: MarketSnapshot) -> None:
    history = MidHistory(window=timedelta(minutes=10))
    spy = snapshot.underlying("SPY")
    base = spy.spot
    for minute, factor in ((0, Decimal(1)), (3, Decimal("1.01")), (6, Decimal("1.02"))):
        at = AS_OF + timedelta(minutes=minute)
        moved = dataclasses.replace(
            spy, spot=base * factor, bid=None, ask=None, provider_timestamp=at, receive_timestamp=at
        )
        history.record(dataclasses.replace(snapshot, underlyings=(moved,), as_of=at))
    now = AS_OF + timedelta(minutes=6)
    # five minutes back from 6 is minute 1: the last mid at or before it is minute 0's
    assert history.move_pct("SPY", now) == Decimal("2.0000")
    assert history.move_pct("QQQ", now) is None
    (feed,) = history.feeds(["SPY"])
    assert feed.last_quote_at == now
    assert len(feed.mids) == 3
    (empty,) = history.feeds(["QQQ"])
    assert empty.last_quote_at is None


def test_expiring_options_with_index_and_equity_roots_set_settlement() -> None:
    day = date(2025, 3, 6)
    found = expiring_options(
        ["SPXW  250306C05800000", "SPY   250306P00560000", "SPY   250307P00560000", "SPY"], day
    )
    assert [(e.symbol, e.underlying, e.cash_settled) for e in found] == [
        ("SPXW  250306C05800000", "SPX", True),
        ("SPY   250306P00560000", "SPY", False),
    ]


def test_closes_for_with_missing_underlying_names_it(snapshot: MarketSnapshot) -> None:
    assert closes_for(snapshot, ["SPY"]) == {"SPY": snapshot.underlying("SPY").spot}
    with pytest.raises(ValueError, match="no closing price for QQQ"):
        closes_for(snapshot, ["SPY", "QQQ"])
