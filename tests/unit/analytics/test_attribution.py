from __future__ import annotations

import math

import numpy as np
import pytest

from riskdesk.analytics import (
    LegState,
    MarketState,
    attribute,
    attribute_snapshots,
    evaluate,
    market_state,
)
from riskdesk.analytics.attribution import SEQUENTIAL_STEPS, TAYLOR_TERMS
from riskdesk.domain.configs import ModelConfig
from riskdesk.domain.hashing import canonical_json
from riskdesk.domain.instruments import ExerciseStyle, Stock
from riskdesk.domain.trades import TradeDraft


def _spread(mk):
    return mk.version(
        mk.leg(mk.option(105, "C"), 2, "2.0"),
        mk.leg(mk.option(95, "P"), -1, "1.5"),
        mk.leg(mk.option(100, "C", expiry=mk.EXPIRY_2), -1, "4.0"),
    )


def test_sequential_steps_with_joint_move_sum_exactly_to_total(mk, snapshot, config):
    trade = _spread(mk)
    base = market_state(trade, snapshot, config)
    moved = base.shifted(
        spot_pct=-3.0, vol_points=2.5, days=5.0, rate_points=0.5, carry_points=0.25
    )

    result = attribute(trade, base, moved, config)

    for row in [*(leg.to_dict() for leg in result.legs), result.trade]:
        steps = row["sequential"]
        assert list(steps) == list(SEQUENTIAL_STEPS)
        assert sum(steps.values()) == row["total"]
        assert row["total"] == pytest.approx(row["revaluation_total"], rel=1e-12, abs=1e-9)
        terms = row["taylor"]
        assert list(terms) == [*TAYLOR_TERMS, "residual"]
        explained = 0.0
        for name in TAYLOR_TERMS:
            explained += terms[name]
        assert explained + terms["residual"] == pytest.approx(row["total"], rel=1e-14, abs=1e-9)
    assert result.trade["sequential"]["rates"] != 0.0


def test_taylor_residual_with_scaled_joint_move_shrinks_like_h_cubed(mk, snapshot, config):
    trade = _spread(mk)
    base = market_state(trade, snapshot, config)
    hs = np.array([1.0, 0.5, 0.25, 0.125])
    residuals = []
    for h in hs:
        moved = base.shifted(spot_pct=2.0 * h, vol_points=2.0 * h, days=4.0 * h)
        residuals.append(abs(attribute(trade, base, moved, config).trade["taylor"]["residual"]))

    slope = np.polyfit(np.log(hs), np.log(residuals), 1)[0]
    ratios = np.array(residuals[:-1]) / np.array(residuals[1:])

    assert slope == pytest.approx(3.0, abs=0.3)
    assert ratios[-1] == pytest.approx(8.0, rel=0.25)


def test_taylor_terms_with_single_factor_moves_match_greek_units(mk, snapshot, config, small_grid):
    trade = mk.version(mk.leg(mk.option(100, "C"), 1, "3"))
    greeks = evaluate(trade, snapshot, config, small_grid).greeks
    base = market_state(trade, snapshot, config)

    vol = attribute(trade, base, base.shifted(vol_points=0.1), config).trade["taylor"]
    time = attribute(trade, base, base.shifted(days=1.0), config).trade["taylor"]
    spot = attribute(trade, base, base.shifted(spot_pct=0.1), config).trade["taylor"]
    rate = attribute(trade, base, base.shifted(rate_points=0.1), config).trade

    assert vol["vega"] == pytest.approx(greeks["vega"] * 0.1, rel=1e-12)
    assert time["theta"] == pytest.approx(greeks["theta"] * 1.0, rel=1e-9)
    assert spot["delta"] == pytest.approx(greeks["delta"] * 0.1, rel=1e-12)
    assert rate["taylor"]["rho"] == pytest.approx(greeks["rho"] * 0.1, rel=1e-12)
    assert abs(rate["taylor"]["residual"]) < 1e-3 * abs(rate["total"])


def test_stock_leg_with_spot_move_is_all_delta_and_no_residual(mk, snapshot, config):
    trade = mk.version(mk.leg(Stock("XYZ"), -50, "100"))
    base = market_state(trade, snapshot, config)

    result = attribute(trade, base, base.shifted(spot_pct=4.0, days=3.0, vol_points=5.0), config)

    assert result.trade["total"] == pytest.approx(-200.0)
    assert result.trade["taylor"]["delta"] == pytest.approx(-200.0)
    assert result.trade["taylor"]["residual"] == pytest.approx(0.0, abs=1e-9)
    assert result.trade["sequential"] == {
        "spot": result.trade["total"],
        "vol": 0.0,
        "time": 0.0,
        "rates": 0.0,
    }


def test_attribute_snapshots_with_moved_market_explains_value_change(mk, config, small_grid):
    base_snap = mk.make_snapshot()
    moved_snap = mk.make_snapshot(mk.MarketSpec(spots={"XYZ": 101.5}, vol=lambda _s, _k, _t: 0.215))
    trade = _spread(mk)

    result = attribute_snapshots(trade, base_snap, moved_snap, config)
    before = evaluate(trade, base_snap, config, small_grid).value
    after = evaluate(trade, moved_snap, config, small_grid).value

    assert result.trade["revaluation_total"] == pytest.approx(after - before, rel=1e-9)
    assert result.trade["sequential"]["spot"] != 0.0
    assert result.trade["sequential"]["vol"] != 0.0
    assert result.trade["sequential"]["time"] == 0.0
    assert abs(result.trade["taylor"]["residual"]) < 0.05 * abs(result.trade["total"])


def test_american_legs_with_default_engine_attribute_with_exact_step_sum(mk, config):
    snapshot = mk.make_snapshot(mk.MarketSpec(style=ExerciseStyle.AMERICAN))
    trade = mk.version(mk.leg(mk.option(95, "P", style=ExerciseStyle.AMERICAN), 3, "1"))
    base = market_state(trade, snapshot, config)

    result = attribute(trade, base, base.shifted(spot_pct=-2.0, vol_points=1.0, days=2.0), config)

    assert sum(result.trade["sequential"].values()) == result.trade["total"]
    assert abs(result.trade["taylor"]["residual"]) < 0.05 * abs(result.trade["total"])


def test_market_state_with_json_round_trip_is_identical(mk, snapshot, config):
    state = market_state(_spread(mk), snapshot, config).shifted(days=2.0)

    again = MarketState.from_json_dict(state.to_json_dict())

    assert again.to_json_dict() == state.to_json_dict()
    assert again.valuation_time == state.valuation_time


def test_attribute_with_leg_missing_from_compare_state_warns_naming_the_leg(mk, snapshot, config):
    draft = TradeDraft.from_version(_spread(mk))
    base = market_state(draft, snapshot, config)
    dropped = draft.legs[0].leg_id
    compare_state = MarketState(legs={k: v for k, v in base.legs.items() if k != dropped})

    result = attribute(draft, base, compare_state, config)

    assert [(w.code, w.leg) for w in result.warnings] == [("leg_not_in_state", dropped)]
    assert len(result.legs) == 2


def test_attribution_result_with_json_is_finite_and_deterministic(mk, snapshot, config):
    trade = _spread(mk)
    base = market_state(trade, snapshot, config)
    moved = base.shifted(spot_pct=1.0, days=1.0)

    first = attribute(trade, base, moved, config).to_json_dict()
    second = attribute(trade, base, moved, config).to_json_dict()

    assert canonical_json(first) == canonical_json(second)
    assert mk.finite_everywhere(first)
    assert set(first) == {
        "schema",
        "method",
        "inputs",
        "base_state",
        "compare_state",
        "legs",
        "trade",
        "warnings",
        "errors",
    }


def test_leg_state_with_non_finite_value_raises_naming_the_field():
    with pytest.raises(ValueError, match="vol"):
        LegState(spot=100.0, vol=math.nan, time_to_expiry=0.1, rate=0.0, carry=0.0)
    with pytest.raises(ValueError, match="spot"):
        LegState(spot=0.0, vol=0.2, time_to_expiry=0.1, rate=0.0, carry=0.0)


def test_model_config_with_bsm_for_american_changes_model_of_attribution(mk, config):
    snapshot = mk.make_snapshot(mk.MarketSpec(style=ExerciseStyle.AMERICAN))
    trade = mk.version(mk.leg(mk.option(95, "P", style=ExerciseStyle.AMERICAN), 1, "1"))
    european_config = ModelConfig(american_model="bsm")
    base = market_state(trade, snapshot, european_config)

    result = attribute(trade, base, base.shifted(spot_pct=1.0), european_config)

    assert result.model_config_hash == european_config.model_config_hash
    assert result.model_config_hash != config.model_config_hash


def test_attribution_with_dividend_crossing_the_time_step_still_sums_exactly(mk, config):
    from datetime import date
    from decimal import Decimal

    from riskdesk.domain.market import DiscreteDividend

    spec = mk.MarketSpec(dividends={"XYZ": (DiscreteDividend(date(2025, 1, 6), Decimal("2")),)})
    snapshot = mk.make_snapshot(spec)
    trade = mk.version(mk.leg(mk.option(100, "C"), 1, "3"))
    base = market_state(trade, snapshot, config)

    moved = base.shifted(days=7.0)
    result = attribute(trade, base, moved, config)

    assert base.legs["leg0"].dividends
    assert moved.legs["leg0"].dividends == ()
    assert sum(result.trade["sequential"].values()) == result.trade["total"]
    assert result.trade["sequential"]["time"] != 0.0
    again = MarketState.from_json_dict(base.to_json_dict())
    assert again.legs == base.legs
