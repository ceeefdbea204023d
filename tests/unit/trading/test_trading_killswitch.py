"""The kill switch: manual on / off, every automatic trigger and its boundaries, admission."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from riskdesk.trading import killswitch
from riskdesk.trading.gates import Limit
from riskdesk.trading.killswitch import (
    KILL_SWITCH_ACTIVE,
    STALE_MARKET_DATA,
    SYSTEM_ACTOR,
    KillSwitchAction,
    KillSwitchPolicy,
    KillSwitchResult,
    KillSwitchState,
    KillSwitchTrigger,
    MarketFeed,
    MarketView,
    admit,
    check_market,
    manual_off,
    manual_on,
)
from riskdesk.trading.model import OrderLeg, OrderRequest, Side

D = Decimal
NOW = datetime(2026, 3, 2, 16, 0, tzinfo=UTC)
OFF = KillSwitchState.initial()
ORDER = OrderRequest(legs=(OrderLeg("SPY", Side.BUY),), quantity=1)
POLICY = KillSwitchPolicy(max_drawdown_pct=D("10"), max_daily_loss=Limit.percent_of_nav(D("2")))


def _feed(
    age: timedelta | None = timedelta(0), mids: tuple[tuple[int, str], ...] = ()
) -> MarketFeed:
    """A SPY feed whose last quote is ``age`` old, with mids given as (seconds ago, mid)."""
    return MarketFeed(
        symbol="SPY",
        last_quote_at=None if age is None else NOW - age,
        mids=tuple((NOW - timedelta(seconds=ago), D(mid)) for ago, mid in mids),
    )


def _market(*feeds: MarketFeed, **changes: Any) -> MarketView:
    values: dict[str, Any] = {
        "vix": D("18"),
        "nav": D("100000"),
        "peak_nav": D("100000"),
        "daily_pnl": D("0"),
    }
    values.update(changes)
    return MarketView(feeds=feeds or (_feed(),), **values)


def _check(market: MarketView, state: KillSwitchState = OFF) -> KillSwitchResult:
    return check_market(state, market, POLICY, NOW)


def _assert_tripped(
    result: KillSwitchResult,
    trigger: KillSwitchTrigger,
    observed: Decimal | None,
    threshold: Decimal | None,
) -> None:
    assert result.state.on
    assert result.state.since == NOW
    assert result.state.trigger is trigger
    assert result.state.actor == SYSTEM_ACTOR
    assert result.cancel_resting_orders
    (event,) = result.events
    assert (event.at, event.action, event.trigger, event.actor) == (
        NOW,
        KillSwitchAction.ON,
        trigger,
        SYSTEM_ACTOR,
    )
    assert (event.observed, event.threshold) == (observed, threshold)
    assert event.reason == result.state.reason
    admission = admit(ORDER, result.state, NOW)
    assert (admission.allowed, admission.code) == (False, KILL_SWITCH_ACTIVE)


def _assert_quiet(result: KillSwitchResult) -> None:
    assert not result.state.on
    assert result.events == ()
    assert not result.cancel_resting_orders


# --- manual on / off -----------------------------------------------------------------------


def test_manual_on_with_actor_and_reason_turns_on_and_cancels_resting() -> None:
    result = manual_on(OFF, actor=" alice ", reason="fat finger", now=NOW)

    assert result.state == KillSwitchState(
        on=True, since=NOW, reason="fat finger", actor="alice", trigger=KillSwitchTrigger.MANUAL
    )
    (event,) = result.events
    assert (event.action, event.trigger, event.actor, event.reason) == (
        KillSwitchAction.ON,
        KillSwitchTrigger.MANUAL,
        "alice",
        "fat finger",
    )
    assert (event.observed, event.threshold) == (None, None)
    assert result.cancel_resting_orders
    admission = admit(ORDER, result.state, NOW)
    assert (admission.allowed, admission.code) == (False, KILL_SWITCH_ACTIVE)
    assert admission.message is not None
    assert "alice" in admission.message


def test_manual_on_with_switch_already_on_returns_no_event() -> None:
    on = manual_on(OFF, actor="alice", reason="halt", now=NOW).state

    again = manual_on(on, actor="bob", reason="halt again", now=NOW + timedelta(seconds=5))

    assert again.state == on
    assert again.events == ()
    assert not again.cancel_resting_orders


def test_manual_off_with_actor_and_reason_resets_a_trip_and_is_audited() -> None:
    tripped = _check(_market(vix=D("40"))).state
    later = NOW + timedelta(minutes=5)

    result = manual_off(tripped, actor="risk-officer", reason="VIX back to normal", now=later)

    assert not result.state.on
    assert (result.state.since, result.state.actor) == (later, "risk-officer")
    (event,) = result.events
    assert (event.at, event.action, event.actor, event.reason) == (
        later,
        KillSwitchAction.OFF,
        "risk-officer",
        "VIX back to normal",
    )
    assert not result.cancel_resting_orders
    assert admit(ORDER, result.state, later).allowed


def test_manual_off_with_switch_already_off_returns_no_event() -> None:
    result = manual_off(OFF, actor="alice", reason="nothing to do", now=NOW)

    assert result.state == OFF
    assert result.events == ()


@pytest.mark.parametrize("switch", [manual_on, manual_off])
@pytest.mark.parametrize(
    ("actor", "reason", "field"),
    [
        ("", "why", "actor"),
        ("   ", "why", "actor"),
        ("alice", "", "reason"),
        ("alice", " ", "reason"),
    ],
)
def test_manual_switch_with_blank_actor_or_reason_raises(
    switch: Any, actor: str, reason: str, field: str
) -> None:
    on = KillSwitchState(
        on=True, since=NOW, reason="x", actor="y", trigger=KillSwitchTrigger.MANUAL
    )
    state = OFF if switch is manual_on else on

    with pytest.raises(ValueError, match=f"{field} is required"):
        switch(state, actor=actor, reason=reason, now=NOW)


# --- stale market data ---------------------------------------------------------------------


def test_check_market_with_quote_just_over_120_s_trips() -> None:
    result = _check(_market(_feed(timedelta(seconds=120, microseconds=1))))

    _assert_tripped(result, KillSwitchTrigger.STALE_MARKET_DATA, D("120.000001"), D(120))


def test_check_market_with_quote_exactly_120_s_refuses_without_tripping() -> None:
    result = _check(_market(_feed(timedelta(seconds=120))))

    _assert_quiet(result)
    assert result.refusal == STALE_MARKET_DATA
    admission = admit(ORDER, result.state, NOW, market=result)
    assert (admission.allowed, admission.code) == (False, STALE_MARKET_DATA)
    assert admission.message is not None
    assert "120 s old" in admission.message


def test_check_market_with_quote_just_over_30_s_refuses_as_stale() -> None:
    result = _check(_market(_feed(timedelta(seconds=30, microseconds=1))))

    _assert_quiet(result)
    assert result.refusal == STALE_MARKET_DATA


def test_check_market_with_quote_exactly_30_s_admits() -> None:
    result = _check(_market(_feed(timedelta(seconds=30))))

    _assert_quiet(result)
    assert result.refusal is None
    assert result.warnings == ()
    assert admit(ORDER, result.state, NOW, market=result).allowed


def test_check_market_with_feed_without_any_quote_trips() -> None:
    result = _check(_market(_feed(None)))

    _assert_tripped(result, KillSwitchTrigger.STALE_MARKET_DATA, None, D(120))
    assert "no quote" in result.events[0].reason


def test_admit_with_switch_on_and_stale_data_answers_kill_switch_first() -> None:
    stale = _check(_market(_feed(timedelta(seconds=60))))
    on = manual_on(OFF, actor="alice", reason="halt", now=NOW).state

    assert admit(ORDER, on, NOW, market=stale).code == KILL_SWITCH_ACTIVE


# --- price moves ---------------------------------------------------------------------------


@pytest.mark.parametrize(("start", "end"), [("100", "110"), ("100", "90")])
def test_check_market_with_10_percent_move_within_60_s_trips(start: str, end: str) -> None:
    result = _check(_market(_feed(mids=((60, start), (30, "100"), (0, end)))))

    _assert_tripped(result, KillSwitchTrigger.PRICE_MOVE, D(10), D(10))


def test_check_market_with_move_just_under_10_percent_warns_only() -> None:
    result = _check(_market(_feed(mids=((40, "100"), (0, "109.99")))))

    _assert_quiet(result)
    (warning,) = result.warnings
    assert (warning.action, warning.trigger, warning.observed, warning.threshold) == (
        KillSwitchAction.WARN,
        KillSwitchTrigger.PRICE_MOVE,
        D("9.99"),
        D(5),
    )
    assert admit(ORDER, result.state, NOW, market=result).allowed


def test_check_market_with_5_percent_move_warns_and_below_is_silent() -> None:
    at_five = _check(_market(_feed(mids=((10, "100"), (0, "105")))))
    under = _check(_market(_feed(mids=((10, "100"), (0, "104.99")))))

    assert [w.observed for w in at_five.warnings] == [D(5)]
    assert under.warnings == ()
    _assert_quiet(at_five)


def test_check_market_with_move_spread_over_more_than_60_s_does_not_trip() -> None:
    moved = _feed(mids=((60, "100"), (0, "110")))
    outside = MarketFeed(
        "SPY",
        NOW,
        ((NOW - timedelta(seconds=60, microseconds=1), D("100")), (NOW, D("110"))),
    )

    assert _check(_market(moved)).state.on
    _assert_quiet(_check(_market(outside)))


def test_check_market_with_spike_and_reversal_inside_window_trips() -> None:
    result = _check(_market(_feed(mids=((50, "100"), (20, "112"), (0, "100")))))

    _assert_tripped(result, KillSwitchTrigger.PRICE_MOVE, D(12), D(10))


# --- drawdown, daily loss, VIX -------------------------------------------------------------


def test_check_market_with_drawdown_at_limit_trips() -> None:
    result = _check(_market(nav=D("90000")))

    _assert_tripped(result, KillSwitchTrigger.DRAWDOWN, D(10), D(10))
    _assert_quiet(_check(_market(nav=D("90000.01"))))


def test_check_market_with_daily_loss_at_limit_trips() -> None:
    result = _check(_market(daily_pnl=D("-2000")))

    _assert_tripped(result, KillSwitchTrigger.DAILY_LOSS, D(2000), D(2000))
    _assert_quiet(_check(_market(daily_pnl=D("-1999.99"))))


def test_check_market_with_vix_at_emergency_level_trips() -> None:
    result = _check(_market(vix=D("35")))

    _assert_tripped(result, KillSwitchTrigger.VIX_EMERGENCY, D(35), D(35))
    _assert_quiet(_check(_market(vix=D("34.99"))))


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"vix": None}, [(KillSwitchTrigger.VIX_EMERGENCY, "vix")]),
        (
            {"nav": None},
            [(KillSwitchTrigger.DRAWDOWN, "nav"), (KillSwitchTrigger.DAILY_LOSS, "nav")],
        ),
        ({"peak_nav": None}, [(KillSwitchTrigger.DRAWDOWN, "peak_nav")]),
        ({"daily_pnl": None}, [(KillSwitchTrigger.DAILY_LOSS, "daily_pnl")]),
    ],
)
def test_check_market_with_missing_input_warns_without_tripping(
    changes: dict[str, Any], expected: list[tuple[KillSwitchTrigger, str]]
) -> None:
    result = _check(_market(**changes))

    _assert_quiet(result)
    assert [(w.trigger, w.reason) for w in result.warnings] == [
        (trigger, f"missing input: {field}") for trigger, field in expected
    ]
    assert all(w.action is KillSwitchAction.WARN for w in result.warnings)


def test_check_market_with_several_breaches_records_first_and_names_others() -> None:
    result = _check(_market(_feed(timedelta(seconds=200)), vix=D("50")))

    _assert_tripped(result, KillSwitchTrigger.STALE_MARKET_DATA, D(200), D(120))
    assert "also: VIX 50" in result.events[0].reason


def test_check_market_with_switch_already_on_adds_no_event_and_stays_on() -> None:
    tripped = _check(_market(vix=D("40"))).state

    again = _check(_market(vix=D("45")), tripped)
    healthy = _check(_market(), tripped)

    assert again.state == tripped
    assert again.events == ()
    assert not again.cancel_resting_orders
    assert healthy.state == tripped


def test_check_market_with_triggers_turned_off_never_trips() -> None:
    policy = KillSwitchPolicy(vix_emergency=None)

    result = check_market(OFF, _market(vix=D("80"), nav=D("1")), policy, NOW)

    _assert_quiet(result)
    assert result.warnings == ()


# --- validation ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("build", "match"),
    [
        (lambda: KillSwitchPolicy(stale_refuse_seconds=200), "stale_refuse_seconds"),
        (lambda: KillSwitchPolicy(move_warn_pct=D(11)), "move_warn_pct"),
        (lambda: KillSwitchPolicy(move_window_seconds=0), "move_window_seconds"),
        (lambda: KillSwitchPolicy(vix_emergency=D("-1")), "vix_emergency"),
        (lambda: MarketFeed("SPY", datetime(2026, 3, 2, 16, 0)), "last_quote_at"),
        (lambda: MarketFeed("SPY", NOW, ((NOW, D(0)),)), "mid must be > 0"),
        (lambda: KillSwitchState(on=True, since=datetime(2026, 3, 2)), "since"),
    ],
)
def test_killswitch_inputs_with_invalid_value_raise_naming_field(build: Any, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        build()


def test_check_market_with_naive_now_raises() -> None:
    with pytest.raises(ValueError, match="now"):
        check_market(OFF, _market(), POLICY, datetime(2026, 3, 2, 16, 0))


def test_killswitch_all_with_every_name_resolves() -> None:
    for name in killswitch.__all__:
        assert getattr(killswitch, name) is not None
