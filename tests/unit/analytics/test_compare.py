from __future__ import annotations

import numpy as np
import pytest

from riskdesk.analytics import compare, evaluate
from riskdesk.domain.hashing import canonical_json


def test_compare_with_same_underlying_diff_equals_a_minus_b_elementwise(mk, snapshot, config, grid):
    a = mk.iron_condor()
    b = mk.version(
        mk.leg(mk.option(100, "C"), 1, "3.10"),
        mk.leg(mk.option(110, "C"), -1, "0.90"),
        name="call spread",
    )

    result = compare(a, b, snapshot, config, grid)
    payload = result.to_json_dict()

    assert result.comparable is True
    for key in ("spot_time_pl", "spot_vol_pl", "expiry_pl"):
        expected = getattr(result.a, key) - getattr(result.b, key)
        assert np.array_equal(np.array(payload["diff"][key]), expected)
    for name, value in payload["diff"]["greeks"].items():
        assert value == result.a.greeks[name] - result.b.greeks[name]
    assert payload["diff"]["value"] == result.a.value - result.b.value
    assert payload["diff"]["pl_open"] == result.a.pl_open - result.b.pl_open
    assert payload["diff"]["max_profit"] == {
        "unbounded": False,
        "value": result.a.max_profit.value - result.b.max_profit.value,
    }
    assert payload["diff"]["probability_of_profit"] == pytest.approx(
        result.a.probability_of_profit - result.b.probability_of_profit
    )
    assert set(payload) == {"schema", "comparable", "a", "b", "diff", "warnings"}


def test_compare_with_different_expiries_shares_dates_and_spots(mk, snapshot, config, grid):
    a = mk.version(mk.leg(mk.option(100, "C"), 1, "3"))
    b = mk.version(mk.leg(mk.option(100, "C", expiry=mk.EXPIRY_2), 1, "4"))

    result = compare(a, b, snapshot, config, grid)

    assert result.a.dates == result.b.dates
    assert result.a.dates[-1] > result.a.dates[0]
    np.testing.assert_array_equal(result.a.spots["XYZ"], result.b.spots["XYZ"])
    # A expired before the last date: its last row is its intrinsic payoff
    np.testing.assert_allclose(result.a.spot_time_pl[-1], result.a.expiry_pl, atol=1e-9)
    alone = evaluate(a, snapshot, config, grid)
    assert alone.dates[-1] < result.a.dates[-1]
    assert alone.pl_open == result.a.pl_open
    assert alone.probability_of_profit == result.a.probability_of_profit
    assert alone.horizon_years == result.a.horizon_years < result.a.axis_horizon_years


def test_compare_with_different_underlyings_diffs_only_dollar_scalars(mk, config, grid):
    snapshot = mk.make_snapshot(
        mk.MarketSpec(spots={"XYZ": 100.0, "ABC": 50.0}, strikes=range(30, 145, 5))
    )
    a = mk.version(mk.leg(mk.option(100, "C"), 1, "3"))
    b = mk.version(mk.leg(mk.option(50, "C", symbol="ABC"), 2, "2"))

    result = compare(a, b, snapshot, config, grid)
    payload = result.to_json_dict()

    assert result.comparable is False
    assert [w["code"] for w in payload["warnings"]] == ["different_underlyings"]
    assert "XYZ" in payload["warnings"][0]["message"]
    assert "ABC" in payload["warnings"][0]["message"]
    assert set(payload["diff"]["greeks"]) == {"dollar_delta", "vega", "theta", "rho"}
    assert "spot_time_pl" not in payload["diff"]
    assert payload["diff"]["value"] == result.a.value - result.b.value
    assert payload["diff"]["max_profit"] == {"unbounded": True, "value": None}


def test_compare_with_identical_trades_gives_zero_diff_and_is_deterministic(
    mk, snapshot, config, small_grid
):
    a = mk.iron_condor()

    first = compare(a, a, snapshot, config, small_grid).to_json_dict()
    second = compare(a, a, snapshot, config, small_grid).to_json_dict()

    assert canonical_json(first) == canonical_json(second)
    assert all(v == 0.0 for row in first["diff"]["spot_vol_pl"] for v in row)
    assert first["diff"]["value"] == 0.0
