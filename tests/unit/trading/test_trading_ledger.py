"""Ledger: average-cost accounting, marks, NAV identities, expiry settlement, exit rules."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskdesk.domain.instruments import OptionRight
from riskdesk.trading.ledger import (
    ExitBasis,
    ExitRule,
    ExitRules,
    ExpiringOption,
    Ledger,
    SettlementKind,
    TradeEntry,
    TradePosition,
    exit_signal,
    settle_expiry,
)
from riskdesk.trading.model import Fill, FillLeg, Side

D = Decimal
T0 = datetime(2024, 3, 15, 14, 30, tzinfo=UTC)
CLOSE = datetime(2024, 3, 15, 20, 0, tzinfo=UTC)


def fill(*legs: tuple[str, Side, int, str, int], commission: str = "0", fees: str = "0") -> Fill:
    fill_legs = tuple(
        FillLeg(symbol=s, side=side, quantity=q, price=D(p), multiplier=m)
        for s, side, q, p, m in legs
    )
    return Fill(
        units=1,
        legs=fill_legs,
        net_price=D(0),
        commission=D(commission),
        fees=D(fees),
        slippage_bps=0,
        at=T0,
    )


def assert_identities(ledger: Ledger, prices: dict[str, Decimal]) -> None:
    snap = ledger.nav_snapshot(prices, T0)
    assert snap.cash + snap.positions_value == snap.nav
    assert snap.realized + snap.unrealized == snap.nav - ledger.starting_cash
    assert snap.total_pnl == snap.nav - ledger.starting_cash


# --------------------------------------------------------------------------- hand examples


def test_ledger_with_add_then_partial_close_realizes_against_average_cost() -> None:
    ledger = Ledger.open(D("10000"))
    ledger = ledger.apply_fill(
        fill(("OPT", Side.BUY, 2, "1.50", 100), commission="1.30", fees="0.10")
    )
    assert ledger.cash == D("9698.60")
    ledger = ledger.apply_fill(
        fill(("OPT", Side.SELL, 1, "2.00", 100), commission="0.65", fees="0.05")
    )

    position = ledger.position("OPT")
    assert position is not None
    assert ledger.cash == D("9897.90")
    assert (position.quantity, position.cost, position.realized) == (1, D("150"), D("50"))
    assert position.average_price == D("1.50")
    assert ledger.costs == D("2.10")
    assert ledger.realized == D("47.90")
    snap = ledger.nav_snapshot({"OPT": D("1.80")}, T0)
    assert (snap.positions_value, snap.unrealized, snap.nav) == (D("180"), D("30"), D("10077.90"))
    assert snap.total_pnl == D("77.90")


def test_ledger_with_adds_at_two_prices_averages_the_entry() -> None:
    ledger = Ledger.open(D("0"))
    ledger = ledger.apply_fill(fill(("S", Side.SELL, 1, "2", 100)))
    ledger = ledger.apply_fill(fill(("S", Side.SELL, 1, "4", 100)))
    position = ledger.position("S")
    assert position is not None
    assert (position.quantity, position.cost, position.average_price) == (-2, D("-600"), D("3"))

    ledger = ledger.apply_fill(fill(("S", Side.BUY, 1, "1", 100)))
    position = ledger.position("S")
    assert position is not None
    assert (position.quantity, position.cost, position.realized) == (-1, D("-300"), D("200"))


def test_ledger_with_flip_closes_then_opens_at_trade_price() -> None:
    ledger = Ledger.open(D("100"))
    ledger = ledger.apply_fill(fill(("X", Side.BUY, 1, "10", 1)))
    ledger = ledger.apply_fill(fill(("X", Side.SELL, 3, "12", 1)))
    position = ledger.position("X")
    assert position is not None
    assert (position.quantity, position.cost, position.realized) == (-2, D("-24"), D("2"))
    assert position.average_price == D("12")
    assert ledger.cash == D("126")
    assert_identities(ledger, {"X": D("11")})


def test_ledger_with_partial_close_of_uneven_cost_rounds_and_stays_exact() -> None:
    ledger = Ledger.open(D("0"))
    ledger = ledger.apply_fill(fill(("X", Side.BUY, 1, "1", 1)))
    ledger = ledger.apply_fill(fill(("X", Side.BUY, 2, "1.01", 1)))
    ledger = ledger.apply_fill(fill(("X", Side.SELL, 1, "2", 1)))
    position = ledger.position("X")
    assert position is not None
    assert position.realized == D("0.99333333")
    assert position.cost == D("2.01333333")
    ledger = ledger.apply_fill(fill(("X", Side.SELL, 2, "2", 1)))
    position = ledger.position("X")
    assert position is not None
    assert (position.quantity, position.cost, position.realized) == (0, D("0.00000000"), D("2.98"))
    assert ledger.open_positions == ()
    assert ledger.nav_snapshot({}, T0).nav == D("2.98")


def test_ledger_with_multi_leg_fill_moves_cash_by_fill_cash() -> None:
    f = fill(
        ("P1", Side.SELL, 1, "2.10", 100),
        ("P2", Side.BUY, 1, "0.60", 100),
        commission="1.30",
        fees="0.04",
    )
    ledger = Ledger.open(D("5000")).apply_fill(f)
    assert ledger.cash - D("5000") == f.cash == D("148.66")


def test_ledger_with_missing_mark_for_open_position_raises() -> None:
    ledger = Ledger.open(D("0")).apply_fill(fill(("X", Side.BUY, 1, "1", 1)))
    with pytest.raises(ValueError, match="no mark for open position X"):
        ledger.mark({})


def test_ledger_with_changed_multiplier_raises() -> None:
    ledger = Ledger.open(D("0")).apply_fill(fill(("X", Side.BUY, 1, "1", 100)))
    with pytest.raises(ValueError, match="multiplier 1 differs"):
        ledger.apply_fill(fill(("X", Side.BUY, 1, "1", 1)))


def test_ledger_with_negative_commission_raises() -> None:
    with pytest.raises(ValueError, match="must be >= 0"):
        Ledger.open(D("0")).apply_fill(fill(("X", Side.BUY, 1, "1", 1), commission="-1"))


def test_nav_snapshot_with_naive_time_raises() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        Ledger.open(D("1")).nav_snapshot({}, datetime(2024, 1, 1))


# --------------------------------------------------------------------------- identities

MULTIPLIERS = {"A": 100, "B": 1, "C": 100}
prices = st.integers(min_value=0, max_value=50_000).map(lambda c: D(c) / 100)
legs = st.tuples(
    st.sampled_from(sorted(MULTIPLIERS)),
    st.sampled_from([Side.BUY, Side.SELL]),
    st.integers(min_value=1, max_value=7),
    prices,
)
fills = st.lists(
    st.tuples(
        st.lists(legs, min_size=1, max_size=3, unique_by=lambda leg: leg[0]),
        st.integers(min_value=0, max_value=500),
    ),
    max_size=25,
)


def build(spec: list[tuple[list[tuple[str, Side, int, Decimal]], int]]) -> list[Fill]:
    return [
        Fill(
            units=1,
            legs=tuple(FillLeg(s, side, q, p, MULTIPLIERS[s]) for s, side, q, p in leg_spec),
            net_price=D(0),
            commission=D(cents) / 100,
            fees=D(cents % 7) / 100,
            slippage_bps=0,
            at=T0,
        )
        for leg_spec, cents in spec
    ]


@settings(max_examples=150, deadline=None)
@given(spec=fills, marks=st.fixed_dictionaries({s: prices for s in MULTIPLIERS}))
def test_ledger_with_any_fill_sequence_keeps_identities_exact(
    spec: list[tuple[list[tuple[str, Side, int, Decimal]], int]], marks: dict[str, Decimal]
) -> None:
    ledger = Ledger.open(D("100000"))
    traded: dict[str, int] = defaultdict(int)
    cash_moved = D(0)
    for f in build(spec):
        ledger = ledger.apply_fill(f)
        cash_moved += f.cash
        for leg in f.legs:
            traded[leg.symbol] += leg.side.sign * leg.quantity
        assert_identities(ledger, marks)
    assert ledger.cash == D("100000") + cash_moved
    for symbol in MULTIPLIERS:
        position = ledger.position(symbol)
        assert (position.quantity if position else 0) == traded[symbol]


@settings(max_examples=100, deadline=None)
@given(
    spec=fills,
    marks=st.fixed_dictionaries({s: prices for s in MULTIPLIERS}),
    underlying=prices,
    index=prices,
)
def test_settle_expiry_with_any_book_keeps_identities_exact(
    spec: list[tuple[list[tuple[str, Side, int, Decimal]], int]],
    marks: dict[str, Decimal],
    underlying: Decimal,
    index: Decimal,
) -> None:
    ledger = Ledger.open(D("100000")).apply_fills(build(spec))
    before = {s: (p.quantity if (p := ledger.position(s)) else 0) for s in ("A", "B", "C")}
    expiring = [
        ExpiringOption("A", "B", OptionRight.CALL, D("2.50"), cash_settled=False),
        ExpiringOption("C", "IDX", OptionRight.PUT, D("3.00"), cash_settled=True),
    ]
    settled, records = settle_expiry(ledger, expiring, {"B": underlying, "IDX": index}, CLOSE)

    assert_identities(settled, {**marks, "B": underlying})
    assert settled.cash - ledger.cash == sum((r.cash for r in records), D(0))
    shares = sum(r.shares for r in records)
    b = settled.position("B")
    assert (b.quantity if b else 0) == before["B"] + shares
    for symbol in ("A", "C"):
        p = settled.position(symbol)
        assert p is None or p.quantity == 0
    assert {r.symbol for r in records} == {s for s in ("A", "C") if before[s] != 0}


# --------------------------------------------------------------------------- settlement


def held(symbol: str, side: Side, qty: int, price: str, multiplier: int = 100) -> Ledger:
    return Ledger.open(D("50000")).apply_fill(fill((symbol, side, qty, price, multiplier)))


CALL = ExpiringOption("XYZ240315C00100000", "XYZ", OptionRight.CALL, D("100"), cash_settled=False)
PUT = ExpiringOption("XYZ240315P00100000", "XYZ", OptionRight.PUT, D("100"), cash_settled=False)


def test_settle_expiry_with_long_call_itm_exercises_into_shares_at_strike() -> None:
    ledger = held(CALL.symbol, Side.BUY, 2, "1.50")
    settled, (record,) = settle_expiry(ledger, [CALL], {"XYZ": D("103")}, CLOSE)
    assert record.kind is SettlementKind.EXERCISED
    assert (record.quantity, record.shares, record.cash) == (2, 200, D("-20000"))
    shares = settled.position("XYZ")
    assert shares is not None
    assert (shares.quantity, shares.cost) == (200, D("20000"))
    option = settled.position(CALL.symbol)
    assert option is not None
    assert (option.quantity, option.realized) == (0, D("-300"))
    assert settled.cash == D("50000") - D("300") - D("20000")
    assert settled.nav_snapshot({"XYZ": D("103")}, CLOSE).total_pnl == D("300")


def test_settle_expiry_with_short_call_itm_assigns_shares_away() -> None:
    ledger = held(CALL.symbol, Side.SELL, 1, "0.80")
    settled, (record,) = settle_expiry(ledger, [CALL], {"XYZ": D("101")}, CLOSE)
    assert record.kind is SettlementKind.ASSIGNED
    assert (record.shares, record.cash) == (-100, D("10000"))
    shares = settled.position("XYZ")
    assert shares is not None
    assert shares.quantity == -100
    assert settled.nav_snapshot({"XYZ": D("101")}, CLOSE).total_pnl == D("-20")


def test_settle_expiry_with_long_put_itm_exercises_by_selling_shares() -> None:
    ledger = held(PUT.symbol, Side.BUY, 1, "3.00")
    settled, (record,) = settle_expiry(ledger, [PUT], {"XYZ": D("95")}, CLOSE)
    assert record.kind is SettlementKind.EXERCISED
    assert (record.shares, record.cash) == (-100, D("10000"))
    assert settled.nav_snapshot({"XYZ": D("95")}, CLOSE).total_pnl == D("200")


def test_settle_expiry_with_short_put_itm_assigns_shares_bought_at_strike() -> None:
    ledger = held(PUT.symbol, Side.SELL, 1, "4.00")
    settled, (record,) = settle_expiry(ledger, [PUT], {"XYZ": D("90")}, CLOSE)
    assert record.kind is SettlementKind.ASSIGNED
    assert (record.shares, record.cash) == (100, D("-10000"))
    assert settled.nav_snapshot({"XYZ": D("90")}, CLOSE).total_pnl == D("-600")


def test_settle_expiry_with_otm_option_expires_worthless() -> None:
    ledger = held(CALL.symbol, Side.BUY, 1, "1.25")
    settled, (record,) = settle_expiry(ledger, [CALL], {"XYZ": D("99")}, CLOSE)
    assert record.kind is SettlementKind.EXPIRED_WORTHLESS
    assert (record.shares, record.cash) == (0, D("0"))
    assert settled.realized == D("-125")
    assert settled.position("XYZ") is None


def test_settle_expiry_with_itm_by_less_than_a_cent_expires_worthless() -> None:
    ledger = held(CALL.symbol, Side.SELL, 1, "0.05")
    settled, (record,) = settle_expiry(ledger, [CALL], {"XYZ": D("100.005")}, CLOSE)
    assert record.kind is SettlementKind.EXPIRED_WORTHLESS
    assert "below 0.01" in record.reason
    assert settled.realized == D("5")


def test_settle_expiry_with_cash_settled_index_options_pays_intrinsic() -> None:
    call = ExpiringOption("SPXW C5000", "SPX", OptionRight.CALL, D("5000"), cash_settled=True)
    put = ExpiringOption("SPXW P5020", "SPX", OptionRight.PUT, D("5020"), cash_settled=True)
    ledger = Ledger.open(D("100000")).apply_fill(
        fill((call.symbol, Side.BUY, 1, "10", 100), (put.symbol, Side.SELL, 2, "6", 100))
    )
    settled, records = settle_expiry(ledger, [call, put], {"SPX": D("5012.50")}, CLOSE)
    kinds = [(r.kind, r.price, r.shares, r.cash) for r in records]
    assert kinds == [
        (SettlementKind.CASH_SETTLED, D("12.50"), 0, D("1250.00")),
        (SettlementKind.CASH_SETTLED, D("7.50"), 0, D("-1500.00")),
    ]
    assert settled.open_positions == ()
    # 1 x (12.50 - 10) x 100 + 2 x (6 - 7.50) x 100 = 250 - 300
    assert settled.realized == D("-50")
    assert settled.cash == D("99950")


def test_settle_expiry_with_cash_settled_otm_expires_worthless() -> None:
    call = ExpiringOption("XSP C500", "XSP", OptionRight.CALL, D("500"), cash_settled=True)
    ledger = held(call.symbol, Side.SELL, 1, "0.40")
    _, (record,) = settle_expiry(ledger, [call], {"XSP": D("498")}, CLOSE)
    assert (record.kind, record.cash) == (SettlementKind.EXPIRED_WORTHLESS, D("0"))


def test_settle_expiry_with_option_not_held_skips_it() -> None:
    ledger = Ledger.open(D("1"))
    settled, records = settle_expiry(ledger, [CALL], {"XYZ": D("150")}, CLOSE)
    assert (settled, records) == (ledger, ())


def test_settle_expiry_with_missing_underlying_close_raises() -> None:
    ledger = held(CALL.symbol, Side.BUY, 1, "1")
    with pytest.raises(ValueError, match="no close for underlying XYZ"):
        settle_expiry(ledger, [CALL], {}, CLOSE)


# --------------------------------------------------------------------------- exit rules

CONDOR = TradePosition(label="IC", units=2, multiplier=100)
CREDIT = TradeEntry(net_price=D("-1.00"), max_profit=D("1.00"), max_loss=D("4.00"))
DEBIT = TradeEntry(net_price=D("2.00"), max_profit=D("3.00"), max_loss=D("2.00"))


def test_exit_signal_with_half_of_entry_credit_captured_fires_profit_target() -> None:
    rules = ExitRules(profit_target=D("0.5"))
    signal = exit_signal(CONDOR, D("-0.50"), CREDIT, rules, T0, CLOSE)
    assert signal is not None
    assert (signal.rule, signal.pnl_per_share, signal.pnl) == (
        ExitRule.PROFIT_TARGET,
        D("0.50"),
        D("100.00"),
    )
    assert exit_signal(CONDOR, D("-0.51"), CREDIT, rules, T0, CLOSE) is None


def test_exit_signal_with_fraction_of_max_profit_fires_profit_target() -> None:
    rules = ExitRules(profit_target=D("0.5"), profit_basis=ExitBasis.MAX)
    signal = exit_signal(CONDOR, D("3.50"), DEBIT, rules, T0, CLOSE)
    assert signal is not None
    assert signal.rule is ExitRule.PROFIT_TARGET
    assert exit_signal(CONDOR, D("3.49"), DEBIT, rules, T0, CLOSE) is None


def test_exit_signal_with_loss_of_twice_the_credit_fires_stop_loss() -> None:
    rules = ExitRules(stop_loss=D("2"))
    signal = exit_signal(CONDOR, D("-3.00"), CREDIT, rules, T0, CLOSE)
    assert signal is not None
    assert (signal.rule, signal.pnl) == (ExitRule.STOP_LOSS, D("-400.00"))
    assert exit_signal(CONDOR, D("-2.99"), CREDIT, rules, T0, CLOSE) is None


def test_exit_signal_with_half_of_max_loss_fires_stop_loss() -> None:
    rules = ExitRules(stop_loss=D("0.5"), stop_basis=ExitBasis.MAX)
    signal = exit_signal(CONDOR, D("1.00"), DEBIT, rules, T0, CLOSE)
    assert signal is not None
    assert signal.rule is ExitRule.STOP_LOSS
    assert exit_signal(CONDOR, D("1.01"), DEBIT, rules, T0, CLOSE) is None


def test_exit_signal_with_minutes_before_close_fires_time_rule() -> None:
    rules = ExitRules(minutes_before_close=15)
    at_cutoff = CLOSE - timedelta(minutes=15)
    signal = exit_signal(CONDOR, D("-1.00"), CREDIT, rules, at_cutoff, CLOSE)
    assert signal is not None
    assert signal.rule is ExitRule.TIME
    before = at_cutoff - timedelta(seconds=1)
    assert exit_signal(CONDOR, D("-1.00"), CREDIT, rules, before, CLOSE) is None


def test_exit_signal_with_stop_and_time_both_due_reports_stop_first() -> None:
    rules = ExitRules(profit_target=D("0.5"), stop_loss=D("1"), minutes_before_close=30)
    signal = exit_signal(CONDOR, D("-2.50"), CREDIT, rules, CLOSE, CLOSE)
    assert signal is not None
    assert signal.rule is ExitRule.STOP_LOSS


def test_exit_signal_with_unbounded_max_profit_raises() -> None:
    rules = ExitRules(profit_target=D("0.5"), profit_basis=ExitBasis.MAX)
    with pytest.raises(ValueError, match="bounded max profit"):
        exit_signal(CONDOR, D("3"), TradeEntry(net_price=D("2")), rules, T0, CLOSE)


def test_exit_rules_with_non_positive_fraction_raises() -> None:
    with pytest.raises(ValueError, match="profit_target must be a fraction > 0"):
        ExitRules(profit_target=D("0"))


def test_exit_signal_with_naive_time_raises() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        exit_signal(CONDOR, D("0"), CREDIT, ExitRules(), datetime(2024, 1, 1), CLOSE)
