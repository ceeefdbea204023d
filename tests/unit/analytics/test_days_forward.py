"""Days-forward attribution, aging in trading time and revaluation, against direct pricing.

Every expected figure here is computed independently of the code under test: times to
expiry straight from :func:`riskdesk.domain.timeutil.year_fraction`, prices straight from
:func:`riskdesk.pricing.price`.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import numpy as np
import pytest

from riskdesk.analytics import (
    BookScenarios,
    MarketState,
    attribute,
    book_from_trades,
    days_forward_state,
    market_state,
    revalue_book,
)
from riskdesk.domain.configs import ModelConfig, TimeBasis
from riskdesk.domain.instruments import ExerciseStyle, Settlement
from riskdesk.domain.timeutil import expiry_datetime, year_fraction
from riskdesk.pricing import price

TRADING = ModelConfig(time_basis=TimeBasis.TRADING)


def _unit_price(config, contract, state, t):
    """Price per unit of one option leg with the state's inputs at time to expiry ``t``."""
    model, engine = config.model_for(contract.style)
    kwargs = {} if engine is None else {"engine": engine}
    if state.dividends:
        kwargs["dividends"] = (
            np.array([d for d, _ in state.dividends]),
            np.array([a for _, a in state.dividends]),
        )
    return float(
        price(
            model=model,
            S=state.spot,
            K=float(contract.strike),
            T=t,
            r=state.rate,
            q=state.carry,
            sigma=state.vol,
            is_call=contract.right.is_call,
            **kwargs,
        )
    )


def _years_left(config, when, contract):
    expiry = expiry_datetime(contract.expiry, settlement=Settlement(contract.settlement))
    return max(year_fraction(when, expiry, basis=config.time_basis.value), 0.0)


def _two_expiry_trade(mk):
    return mk.version(
        mk.leg(mk.option(100, "C"), 2, "3.0"),
        mk.leg(mk.option(95, "P", expiry=mk.EXPIRY_2), -1, "2.0"),
    )


@pytest.mark.parametrize("config", [ModelConfig(), TRADING], ids=["calendar", "trading"])
def test_days_forward_attribution_with_5_days_has_zero_vol_step_and_time_step_from_pricing(
    mk, snapshot, config
):
    trade = _two_expiry_trade(mk)
    base = market_state(trade, snapshot, config)
    later = snapshot.as_of + timedelta(days=5)

    forward = days_forward_state(trade, snapshot, config, days=5)
    result = attribute(trade, base, forward, config)

    assert forward.valuation_time == later
    expected_total = 0.0
    for row, item in zip(result.legs, trade.legs, strict=True):
        state = base.legs[row.leg]
        contract = item.instrument
        t0 = _years_left(config, snapshot.as_of, contract)
        t1 = _years_left(config, later, contract)
        position = float(item.quantity * item.multiplier)
        expected = position * (
            _unit_price(config, contract, state, t1) - _unit_price(config, contract, state, t0)
        )
        assert forward.legs[row.leg].vol == state.vol
        assert forward.legs[row.leg].time_to_expiry == pytest.approx(t1, abs=1e-15)
        assert row.sequential["vol"] == 0.0
        assert row.sequential["spot"] == 0.0
        assert row.sequential["rates"] == 0.0
        assert row.sequential["time"] == pytest.approx(expected, rel=1e-12, abs=1e-9)
        expected_total += expected
    assert result.trade["sequential"]["vol"] == 0.0
    assert result.trade["sequential"]["time"] == pytest.approx(expected_total, rel=1e-12)
    assert result.trade["sequential"]["time"] < 0.0  # a long call spread decays


def test_days_forward_state_with_quotes_never_resolves_vol_at_the_shorter_expiry(mk, config):
    snapshot = mk.make_snapshot()
    trade = mk.version(mk.leg(mk.option(100, "C"), 1, "3.0"))
    # the old days-forward state: the same quote's implied vol at the shorter expiry
    resolved = market_state(
        trade, snapshot, config, valuation_time=snapshot.as_of + timedelta(days=5)
    )

    forward = days_forward_state(trade, snapshot, config, days=5)

    base_vol = market_state(trade, snapshot, config).legs["leg0"].vol
    assert forward.legs["leg0"].vol == base_vol
    assert resolved.legs["leg0"].vol != pytest.approx(base_vol, abs=1e-3)


def test_days_forward_state_in_trading_time_ages_by_open_market_time(mk, snapshot):
    trade = mk.version(mk.leg(mk.option(100, "C"), 1, "3.0"))
    # as_of Thu 2025-01-02 10:00 New York; +5 calendar days is Tue 2025-01-07 10:00: three
    # full 6.5-hour sessions in between (Jan 2 rest + Jan 3 + Jan 6 + Jan 7 morning)
    base = market_state(trade, snapshot, TRADING)

    forward = days_forward_state(trade, snapshot, TRADING, days=5)

    aged = base.legs["leg0"].time_to_expiry - forward.legs["leg0"].time_to_expiry
    assert aged == pytest.approx(3.0 / 252.0, rel=1e-12)
    assert aged != pytest.approx(5.0 / 365.0, rel=1e-3)
    assert forward.time_basis is TimeBasis.TRADING
    shifted = base.shifted(days=5.0)
    assert shifted.legs["leg0"].time_to_expiry == pytest.approx(
        forward.legs["leg0"].time_to_expiry, abs=1e-15
    )


def test_days_forward_with_leg_expiring_inside_window_values_it_at_intrinsic(mk, config):
    snapshot = mk.make_snapshot()
    trade = mk.version(
        mk.leg(mk.option(95, "C"), 1, "6.0"),  # expires 2025-02-21, 5 in the money
        mk.leg(mk.option(100, "C", expiry=mk.EXPIRY_2), -1, "4.0"),
    )
    base = market_state(trade, snapshot, config)

    forward = days_forward_state(trade, snapshot, config, days=60)
    result = attribute(trade, base, forward, config)

    assert forward.legs["leg0"].time_to_expiry == 0.0
    assert [(w.code, w.leg) for w in forward.warnings] == [("expires_in_window", "leg0")]
    assert [row.leg for row in result.legs] == ["leg0", "leg1"]
    expired = result.legs[0]
    assert expired.compare_value == pytest.approx(100.0 * (100.0 - 95.0), rel=1e-12)
    assert expired.sequential["vol"] == 0.0
    state = base.legs["leg0"]
    t0 = _years_left(config, snapshot.as_of, trade.legs[0].instrument)
    assert expired.sequential["time"] == pytest.approx(
        100.0 * (5.0 - _unit_price(config, trade.legs[0].instrument, state, t0)), rel=1e-12
    )


def test_spot_only_move_with_attribution_has_spot_step_equal_to_repriced_difference(
    mk, snapshot, config
):
    trade = mk.version(
        mk.leg(mk.option(105, "C"), 2, "2.0"),
        mk.leg(mk.option(95, "P", style=ExerciseStyle.EUROPEAN), -1, "1.5"),
    )
    base = market_state(trade, snapshot, config)
    moved = base.shifted(spot_pct=3.0)

    result = attribute(trade, base, moved, config)

    expected = 0.0
    for item, ref in zip(trade.legs, ("leg0", "leg1"), strict=True):
        s0 = base.legs[ref]
        s1 = moved.legs[ref]
        t = s0.time_to_expiry
        contract = item.instrument
        diff = _unit_price(config, contract, s1, t) - _unit_price(config, contract, s0, t)
        expected += float(item.quantity * item.multiplier) * diff
    assert s1.spot == pytest.approx(103.0)
    assert result.trade["sequential"]["spot"] == pytest.approx(expected, rel=1e-12)
    assert result.trade["sequential"]["vol"] == 0.0
    assert result.trade["sequential"]["time"] == 0.0


@pytest.mark.parametrize("days", [-1.0, math.nan, math.inf])
def test_days_forward_state_with_negative_or_non_finite_days_raises_naming_days(
    mk, snapshot, config, days
):
    with pytest.raises(ValueError, match="days"):
        days_forward_state(
            mk.version(mk.leg(mk.option(100, "C"), 1, "3")), snapshot, config, days=days
        )


def test_market_state_with_trading_basis_and_expiry_round_trips_json(mk, snapshot):
    state = days_forward_state(_two_expiry_trade(mk), snapshot, TRADING, days=3)

    again = MarketState.from_json_dict(state.to_json_dict())

    assert again.to_json_dict() == state.to_json_dict()
    assert again.time_basis is TimeBasis.TRADING
    assert again.legs == state.legs
    assert again.legs["leg0"].expiry == expiry_datetime(mk.EXPIRY, settlement=Settlement.PM)


def test_trading_state_without_valuation_time_refuses_to_age(mk, snapshot):
    state = market_state(_two_expiry_trade(mk), snapshot, TRADING)
    bare = MarketState(legs=state.legs, time_basis=TimeBasis.TRADING)

    with pytest.raises(ValueError, match="valuation_time"):
        bare.shifted(days=1.0)


def test_attribute_with_states_in_different_time_bases_raises(mk, snapshot, config):
    trade = _two_expiry_trade(mk)
    calendar = market_state(trade, snapshot, config)
    trading = market_state(trade, snapshot, TRADING)

    with pytest.raises(ValueError, match="time basis"):
        attribute(trade, calendar, trading, config)


def test_revalue_book_in_trading_time_ages_by_trading_time_like_direct_pricing(mk, snapshot):
    trade = _two_expiry_trade(mk)
    book, _ = book_from_trades([trade], snapshot, TRADING)
    scenarios = BookScenarios(spot_shocks=np.zeros(1), vol_shocks=np.zeros(1), horizon_days=5.0)

    result = revalue_book(book, scenarios, model_config=TRADING, keep_positions=True)

    later = snapshot.as_of + timedelta(days=5)
    expected = 0.0
    state = market_state(trade, snapshot, TRADING)
    for item, ref in zip(trade.legs, ("leg0", "leg1"), strict=True):
        t1 = _years_left(TRADING, later, item.instrument)
        unit = _unit_price(TRADING, item.instrument, state.legs[ref], t1)
        expected += float(item.quantity * item.multiplier) * unit
    assert result.values[0] == pytest.approx(expected, rel=1e-12)
    calendar_aged = revalue_book(
        book_from_trades([trade], snapshot, ModelConfig())[0], scenarios
    ).values[0]
    assert result.values[0] != pytest.approx(calendar_aged, rel=1e-6)


def test_revalue_book_with_config_basis_other_than_the_books_raises(mk, snapshot):
    book, _ = book_from_trades([_two_expiry_trade(mk)], snapshot, ModelConfig())
    scenarios = BookScenarios(spot_shocks=np.zeros(1), vol_shocks=np.zeros(1), horizon_days=1.0)

    with pytest.raises(ValueError, match="time basis"):
        revalue_book(book, scenarios, model_config=TRADING)


def test_revalue_book_trading_book_without_valuation_time_raises_naming_it(mk, snapshot):
    import dataclasses

    book, _ = book_from_trades([_two_expiry_trade(mk)], snapshot, TRADING)
    bare = dataclasses.replace(book, valuation_time=None)
    scenarios = BookScenarios(spot_shocks=np.zeros(1), vol_shocks=np.zeros(1), horizon_days=1.0)

    with pytest.raises(ValueError, match="valuation_time"):
        revalue_book(bare, scenarios)


def test_leg_state_with_naive_expiry_raises_naming_the_field():
    from riskdesk.analytics import LegState

    with pytest.raises(ValueError, match="expiry"):
        LegState(
            spot=100.0,
            vol=0.2,
            time_to_expiry=0.1,
            rate=0.0,
            carry=0.0,
            expiry=datetime(2025, 2, 21, 21, 0),  # naive on purpose: the value under test
        )


def test_days_forward_with_stock_held_across_ex_date_credits_the_dividend_in_time_step(mk, config):
    from datetime import date
    from decimal import Decimal

    from riskdesk.domain.instruments import Stock
    from riskdesk.domain.market import DiscreteDividend

    spec = mk.MarketSpec(dividends={"XYZ": (DiscreteDividend(date(2025, 1, 6), Decimal("1.5")),)})
    snapshot = mk.make_snapshot(spec)
    trade = mk.version(mk.leg(Stock("XYZ"), 100, "100"), mk.leg(Stock("XYZ"), -40, "100"))
    base = market_state(trade, snapshot, config)

    before = attribute(trade, base, days_forward_state(trade, snapshot, config, days=2), config)
    after = attribute(trade, base, days_forward_state(trade, snapshot, config, days=5), config)

    assert before.trade["total"] == 0.0  # ex-date (Jan 6, 09:30 New York) not reached yet
    assert [row.sequential["time"] for row in after.legs] == [100 * 1.5, -40 * 1.5]
    assert after.trade["sequential"]["spot"] == 0.0
    assert after.trade["taylor"]["theta"] == pytest.approx(60 * 1.5, rel=1e-12)
    assert after.trade["taylor"]["residual"] == pytest.approx(0.0, abs=1e-9)
