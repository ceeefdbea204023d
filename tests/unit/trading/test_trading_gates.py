"""Pre-trade risk gates: each gate's block and its check, the order, the band, missing inputs."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from riskdesk.trading import gates
from riskdesk.trading.gates import (
    RISK_BLOCKED,
    AccountState,
    GateAction,
    GateCheck,
    GateDecision,
    GateRule,
    Limit,
    OpenPosition,
    OrderContext,
    RiskPolicy,
    Severity,
    evaluate,
)
from riskdesk.trading.model import OrderLeg, OrderRequest, Side

D = Decimal
NOW = datetime(2026, 3, 2, 16, 0, tzinfo=UTC)
DAY_START = datetime(2026, 3, 2, 14, 30, tzinfo=UTC)
CALL = "SPY   260302C00600000"
PUT = "SPY   260302P00590000"


def _leg(symbol: str = CALL, side: Side = Side.BUY, *, option: bool = True) -> OrderLeg:
    return OrderLeg(symbol, side, multiplier=100 if option else 1, is_option=option)


def _order(*legs: OrderLeg, quantity: int = 1) -> OrderRequest:
    return OrderRequest(legs=legs or (_leg(),), quantity=quantity)


def _state(**changes: Any) -> AccountState:
    base = AccountState(
        nav=D("100000"),
        open_exposure=D("0"),
        positions=(),
        daily_pnl=D("0"),
        last_loss_at=None,
        trade_times=(),
        day_start=DAY_START,
    )
    return dataclasses.replace(base, **changes)


def _context(**changes: Any) -> OrderContext:
    base = OrderContext(
        order=_order(),
        underlying="SPY",
        order_value=D("500"),
        projected_exposure=D("500"),
        max_loss=D("500"),
        delta=D("0"),
        gamma=D("0"),
        vega=D("0"),
        confidence=D("0.9"),
        price_move_5m_pct=D("1"),
    )
    return dataclasses.replace(base, **changes)


def _position(symbol: str, quantity: int, **changes: Any) -> OpenPosition:
    base = OpenPosition(
        symbol=symbol,
        underlying="SPY",
        quantity=quantity,
        is_option=True,
        delta=D("0"),
        gamma=D("0"),
        vega=D("0"),
    )
    return dataclasses.replace(base, **changes)


def _decide(
    policy: RiskPolicy, *, state: AccountState | None = None, context: OrderContext | None = None
) -> GateDecision:
    return evaluate(context or _context(), state or _state(), policy, NOW)


def _only(decision: GateDecision) -> GateCheck:
    assert len(decision.checks) == 1
    return decision.checks[0]


def _assert_blocked(
    decision: GateDecision,
    rule: GateRule,
    observed: Decimal | None,
    threshold: Decimal | None,
    severity: Severity,
) -> GateCheck:
    check = _only(decision)
    assert check.rule is rule
    assert check.action is GateAction.BLOCKED
    assert check.observed == observed
    assert check.threshold == threshold
    assert check.severity is severity
    assert check.message.startswith(rule.value)
    assert decision.action is GateAction.BLOCKED
    assert not decision.allowed
    assert decision.reason == check
    assert decision.code == RISK_BLOCKED
    return check


# --- one test per gate ---------------------------------------------------------------------


def test_max_order_size_with_value_over_percent_of_nav_blocks() -> None:
    policy = RiskPolicy(max_order_size=Limit.percent_of_nav(D("1")))

    decision = _decide(policy, context=_context(order_value=D("1000.01")))

    check = _assert_blocked(
        decision, GateRule.MAX_ORDER_SIZE, D("1000.01"), D("1000"), Severity.HIGH
    )
    assert "exceeds" in check.message
    assert _only(_decide(policy, context=_context(order_value=D("1000")))).action is not (
        GateAction.BLOCKED
    )


def test_max_open_exposure_with_projected_exposure_over_multiple_of_nav_blocks() -> None:
    policy = RiskPolicy(max_open_exposure=Limit.multiple_of_nav(D("0.5")))

    decision = _decide(
        policy,
        state=_state(open_exposure=D("40000")),
        context=_context(projected_exposure=D("60000")),
    )

    _assert_blocked(decision, GateRule.MAX_OPEN_EXPOSURE, D("60000"), D("50000.0"), Severity.HIGH)


def test_max_open_exposure_with_order_reducing_an_existing_breach_warns() -> None:
    policy = RiskPolicy(max_open_exposure=Limit.absolute(D("50000")))

    decision = _decide(
        policy,
        state=_state(open_exposure=D("70000")),
        context=_context(projected_exposure=D("60000")),
    )

    check = _only(decision)
    assert check.action is GateAction.WARNED
    assert check.observed == D("60000")
    assert "reduces risk" in check.message
    assert decision.allowed


def test_max_open_positions_with_order_opening_one_too_many_blocks() -> None:
    policy = RiskPolicy(max_open_positions=2)
    state = _state(positions=(_position("AAA", 1), _position("BBB", -1)))

    decision = _decide(policy, state=state)

    _assert_blocked(decision, GateRule.MAX_OPEN_POSITIONS, D(3), D(2), Severity.HIGH)


def test_max_open_positions_with_order_closing_a_position_passes() -> None:
    policy = RiskPolicy(max_open_positions=2)
    state = _state(positions=(_position(CALL, 1), _position("BBB", -1)))
    closing = _context(order=_order(_leg(CALL, Side.SELL)))

    check = _only(_decide(policy, state=state, context=closing))

    assert check.action is GateAction.ALLOWED
    assert check.observed == D(1)


def test_max_loss_per_trade_with_order_loss_over_limit_blocks() -> None:
    policy = RiskPolicy(max_loss_per_trade=Limit.percent_of_nav(D("0.5")))

    decision = _decide(policy, context=_context(max_loss=D("600")))

    _assert_blocked(decision, GateRule.MAX_LOSS_PER_TRADE, D("600"), D("500"), Severity.HIGH)


def test_max_loss_per_trade_with_unlimited_loss_blocks() -> None:
    policy = RiskPolicy(max_loss_per_trade=Limit.absolute(D("500")))

    decision = _decide(policy, context=_context(max_loss=D("Infinity")))

    _assert_blocked(decision, GateRule.MAX_LOSS_PER_TRADE, D("Infinity"), D("500"), Severity.HIGH)


def test_max_daily_loss_with_loss_reaching_limit_blocks_critical() -> None:
    policy = RiskPolicy(max_daily_loss=Limit.absolute(D("2000")))

    decision = _decide(policy, state=_state(daily_pnl=D("-2000")))

    check = _assert_blocked(
        decision, GateRule.MAX_DAILY_LOSS, D("2000"), D("2000"), Severity.CRITICAL
    )
    assert "reaches" in check.message
    below = _only(_decide(policy, state=_state(daily_pnl=D("-1999.99"))))
    assert below.action is GateAction.WARNED
    profit = _only(_decide(policy, state=_state(daily_pnl=D("500"))))
    assert (profit.action, profit.observed) == (GateAction.ALLOWED, D(0))


def test_cooldown_with_loss_inside_cooldown_blocks() -> None:
    policy = RiskPolicy(cooldown_seconds=300)
    recent = _state(last_loss_at=NOW - timedelta(seconds=299, microseconds=500_000))

    decision = _decide(policy, state=recent)

    _assert_blocked(decision, GateRule.COOLDOWN, D("299.5"), D(300), Severity.MEDIUM)
    done = _only(_decide(policy, state=_state(last_loss_at=NOW - timedelta(seconds=300))))
    assert done.action is GateAction.ALLOWED
    never = _only(_decide(policy, state=_state(last_loss_at=None)))
    assert (never.action, never.observed) == (GateAction.ALLOWED, None)


def test_max_trades_per_hour_with_limit_reached_in_last_hour_blocks() -> None:
    policy = RiskPolicy(max_trades_per_hour=3)
    times = tuple(NOW - timedelta(minutes=m) for m in (10, 20, 30))

    decision = _decide(policy, state=_state(trade_times=times))

    _assert_blocked(decision, GateRule.MAX_TRADES_PER_HOUR, D(4), D(3), Severity.MEDIUM)
    aged = (*times[:2], NOW - timedelta(hours=1))
    assert _only(_decide(policy, state=_state(trade_times=aged))).observed == D(3)


def test_max_trades_per_day_with_limit_reached_since_day_start_blocks() -> None:
    policy = RiskPolicy(max_trades_per_day=2)
    times = (DAY_START, DAY_START + timedelta(minutes=5), DAY_START - timedelta(seconds=1))

    decision = _decide(policy, state=_state(trade_times=times))

    _assert_blocked(decision, GateRule.MAX_TRADES_PER_DAY, D(3), D(2), Severity.MEDIUM)


def test_min_confidence_with_confidence_below_floor_blocks() -> None:
    policy = RiskPolicy(min_confidence=D("0.6"))

    decision = _decide(policy, context=_context(confidence=D("0.59")))

    _assert_blocked(decision, GateRule.MIN_CONFIDENCE, D("0.59"), D("0.6"), Severity.MEDIUM)
    at_floor = _only(_decide(policy, context=_context(confidence=D("0.6"))))
    assert at_floor.action is GateAction.WARNED


def test_min_price_move_5m_with_small_move_either_way_blocks() -> None:
    policy = RiskPolicy(min_price_move_5m_pct=D("0.2"))

    decision = _decide(policy, context=_context(price_move_5m_pct=D("-0.1")))

    _assert_blocked(decision, GateRule.MIN_PRICE_MOVE_5M, D("0.1"), D("0.2"), Severity.MEDIUM)
    falling = _only(_decide(policy, context=_context(price_move_5m_pct=D("-0.3"))))
    assert (falling.action, falling.observed) == (GateAction.ALLOWED, D("0.3"))


@pytest.mark.parametrize(
    ("greek", "rule"),
    [
        ("delta", GateRule.MAX_PORTFOLIO_DELTA),
        ("gamma", GateRule.MAX_PORTFOLIO_GAMMA),
        ("vega", GateRule.MAX_PORTFOLIO_VEGA),
    ],
)
def test_max_portfolio_greek_with_projected_greek_over_limit_blocks(
    greek: str, rule: GateRule
) -> None:
    limit: dict[str, Any] = {f"max_portfolio_{greek}": D("100")}
    policy = RiskPolicy(**limit)
    positions = (_position("AAA", 1, **{greek: D("-50")}), _position("BBB", 1, **{greek: D("-30")}))

    decision = _decide(
        policy, state=_state(positions=positions), context=_context(**{greek: D("-30")})
    )

    _assert_blocked(decision, rule, D("110"), D("100"), Severity.HIGH)


def test_max_portfolio_delta_with_hedge_reducing_a_breach_warns() -> None:
    policy = RiskPolicy(max_portfolio_delta=D("100"))
    state = _state(positions=(_position("AAA", 1, delta=D("120")),))

    check = _only(_decide(policy, state=state, context=_context(delta=D("-10"))))

    assert (check.action, check.observed) == (GateAction.WARNED, D("110"))


def test_max_positions_per_symbol_with_one_more_on_underlying_blocks() -> None:
    policy = RiskPolicy(max_positions_per_symbol=2)
    positions = (
        _position("AAA", 1),
        _position("BBB", 1),
        _position("QQQ1", 1, underlying="QQQ"),
        _position("QQQ2", 1, underlying="QQQ"),
    )
    state = _state(positions=positions)

    decision = _decide(policy, state=state)

    _assert_blocked(decision, GateRule.MAX_POSITIONS_PER_SYMBOL, D(3), D(2), Severity.HIGH)
    other = _context(underlying="QQQ", order=_order(_leg("QQQ1")))
    assert _only(_decide(policy, state=state, context=other)).observed == D(2)


def test_max_short_options_with_iron_condor_over_count_blocks() -> None:
    policy = RiskPolicy(max_short_options=3)
    state = _state(positions=(_position("AAA", -1), _position("SHARES", -100, is_option=False)))
    condor = _order(
        _leg("P1"),
        _leg("P2", Side.SELL),
        _leg("C1", Side.SELL),
        _leg("C2"),
        quantity=2,
    )

    decision = _decide(policy, state=state, context=_context(order=condor))

    _assert_blocked(decision, GateRule.MAX_SHORT_OPTIONS, D(5), D(3), Severity.HIGH)


# --- order, band, missing inputs, validation -----------------------------------------------


def test_evaluate_with_every_gate_set_returns_checks_in_seed_order() -> None:
    policy = RiskPolicy(
        max_order_size=Limit.absolute(D("10000")),
        max_open_exposure=Limit.absolute(D("10000")),
        max_open_positions=10,
        max_loss_per_trade=Limit.absolute(D("10000")),
        max_daily_loss=Limit.absolute(D("10000")),
        cooldown_seconds=60,
        max_trades_per_hour=10,
        max_trades_per_day=10,
        min_confidence=D("0.5"),
        min_price_move_5m_pct=D("0.1"),
        max_portfolio_delta=D("100"),
        max_portfolio_gamma=D("100"),
        max_portfolio_vega=D("100"),
        max_positions_per_symbol=10,
        max_short_options=10,
    )

    decision = _decide(policy)

    assert [c.rule for c in decision.checks] == list(GateRule)
    assert {c.action for c in decision.checks} == {GateAction.ALLOWED}
    assert {c.severity for c in decision.checks} == {Severity.LOW}
    assert decision.allowed
    assert decision.reason is None
    assert decision.code is None


def test_evaluate_with_several_breaches_reports_all_and_first_as_reason() -> None:
    policy = RiskPolicy(
        max_short_options=0,
        min_confidence=D("0.95"),
        max_order_size=Limit.absolute(D("100")),
    )

    decision = _decide(policy, context=_context(order=_order(_leg(side=Side.SELL))))

    assert [c.rule for c in decision.checks] == [
        GateRule.MAX_ORDER_SIZE,
        GateRule.MIN_CONFIDENCE,
        GateRule.MAX_SHORT_OPTIONS,
    ]
    assert all(c.action is GateAction.BLOCKED for c in decision.checks)
    assert decision.reason is not None
    assert decision.reason.rule is GateRule.MAX_ORDER_SIZE


def test_evaluate_with_value_in_warning_band_warns() -> None:
    policy = RiskPolicy(max_order_size=Limit.absolute(D("1000")))

    warned = _decide(policy, context=_context(order_value=D("800")))
    below = _only(_decide(policy, context=_context(order_value=D("799.99"))))
    no_band = _only(
        _decide(
            dataclasses.replace(policy, warn_fraction=None),
            context=_context(order_value=D("1000")),
        )
    )

    check = _only(warned)
    assert (check.action, check.severity) == (GateAction.WARNED, Severity.MEDIUM)
    assert warned.action is GateAction.WARNED
    assert warned.allowed
    assert warned.warnings == (check,)
    assert below.action is GateAction.ALLOWED
    assert no_band.action is GateAction.ALLOWED


def test_evaluate_with_minimum_in_warning_band_warns() -> None:
    policy = RiskPolicy(min_confidence=D("0.6"))

    assert _only(_decide(policy, context=_context(confidence=D("0.74")))).action is (
        GateAction.WARNED
    )
    assert _only(_decide(policy, context=_context(confidence=D("0.75")))).action is (
        GateAction.ALLOWED
    )


@pytest.mark.parametrize(
    ("policy", "state_changes", "context_changes", "field"),
    [
        (RiskPolicy(max_order_size=Limit.percent_of_nav(D(1))), {"nav": None}, {}, "nav"),
        (RiskPolicy(max_order_size=Limit.absolute(D(1))), {}, {"order_value": None}, "order_value"),
        (
            RiskPolicy(max_open_exposure=Limit.absolute(D(1))),
            {},
            {"projected_exposure": None},
            "projected_exposure",
        ),
        (RiskPolicy(max_loss_per_trade=Limit.absolute(D(1))), {}, {"max_loss": None}, "max_loss"),
        (RiskPolicy(max_daily_loss=Limit.absolute(D(1))), {"daily_pnl": None}, {}, "daily_pnl"),
        (RiskPolicy(max_daily_loss=Limit.multiple_of_nav(D(1))), {"nav": None}, {}, "nav"),
        (RiskPolicy(max_trades_per_day=5), {"day_start": None}, {}, "day_start"),
        (RiskPolicy(min_confidence=D("0.5")), {}, {"confidence": None}, "confidence"),
        (
            RiskPolicy(min_price_move_5m_pct=D("0.1")),
            {},
            {"price_move_5m_pct": None},
            "price_move_5m_pct",
        ),
        (RiskPolicy(max_portfolio_vega=D(1)), {}, {"vega": None}, "vega of the order"),
        (
            RiskPolicy(max_portfolio_gamma=D(1)),
            {"positions": (_position("AAA", 1, gamma=None),)},
            {},
            "gamma of position AAA",
        ),
    ],
)
def test_evaluate_with_missing_input_blocks(
    policy: RiskPolicy,
    state_changes: dict[str, Any],
    context_changes: dict[str, Any],
    field: str,
) -> None:
    decision = _decide(policy, state=_state(**state_changes), context=_context(**context_changes))

    check = _only(decision)
    assert check.action is GateAction.BLOCKED
    assert check.observed is None
    assert check.severity is Severity.HIGH
    assert check.message.endswith(f"missing input: {field}")
    assert decision.code == RISK_BLOCKED


def test_evaluate_with_no_limit_set_returns_no_checks() -> None:
    decision = _decide(RiskPolicy(), state=_state(nav=None), context=_context(confidence=None))

    assert decision.checks == ()
    assert decision.action is GateAction.ALLOWED


def test_limit_with_nav_at_or_below_zero_gives_zero_threshold() -> None:
    assert Limit.percent_of_nav(D(5)).threshold(D("-10")) == D(0)
    assert Limit.absolute(D(5)).threshold(None) == D(5)
    assert Limit.multiple_of_nav(D(2)).threshold(None) is None


@pytest.mark.parametrize(
    ("build", "match"),
    [
        (lambda: RiskPolicy(min_confidence=D("1.5")), "min_confidence"),
        (lambda: RiskPolicy(max_open_positions=-1), "max_open_positions"),
        (lambda: RiskPolicy(warn_fraction=D(0)), "warn_fraction"),
        (lambda: RiskPolicy(max_portfolio_delta=D("NaN")), "max_portfolio_delta"),
        (lambda: Limit.absolute(D("-1")), "absolute limit"),
        (lambda: _context(confidence=D("-0.1")), "confidence"),
        (lambda: _context(max_loss=D("-1")), "max_loss"),
        (lambda: _state(day_start=datetime(2026, 3, 2, 14, 30)), "day_start"),
        (lambda: _state(positions=(_position("A", 1), _position("A", 2))), "each instrument"),
    ],
)
def test_gate_inputs_with_invalid_value_raise_naming_field(build: Any, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        build()


def test_evaluate_with_naive_now_raises() -> None:
    with pytest.raises(ValueError, match="now"):
        evaluate(_context(), _state(), RiskPolicy(), datetime(2026, 3, 2, 16, 0))


def test_gates_all_with_every_name_resolves() -> None:
    for name in gates.__all__:
        assert getattr(gates, name) is not None
