"""``curves.spot_time_greeks``: position Greeks over spot x time, checked independently.

The reference repricing reads only the published JSON (each leg's ``model_inputs``, its
multiplier and quantity, the grid's spots and ``date_years``) and calls the public
:func:`riskdesk.pricing.greeks` once per leg and point, then sums position Greeks by hand.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import pytest

from riskdesk.analytics import compare, evaluate
from riskdesk.analytics._results import CURVE_GREEKS
from riskdesk.domain.configs import ModelConfig, ScenarioGrid, SpotRangeKind, ThetaConvention
from riskdesk.domain.instruments import ExerciseStyle, Stock
from riskdesk.domain.market import DiscreteDividend
from riskdesk.pricing import greeks as pricing_greeks

PERCENT_GRID = ScenarioGrid(
    spot_range_kind=SpotRangeKind.PERCENT,
    spot_min=-20.0,
    spot_max=20.0,
    spot_steps=11,
    vol_shifts=(0.0,),
    n_dates=4,
)


def hand_greeks(
    doc: dict[str, Any], d: int, i: int, *, days_per_year: float = 365.0
) -> dict[str, float]:
    """Position Greeks at grid date ``d`` and spot ``i``, repriced leg by leg from the JSON."""
    total = dict.fromkeys(CURVE_GREEKS, 0.0)
    tau = doc["grid"]["date_years"][d]
    for leg in doc["legs"]:
        if leg["status"] != "ok":
            continue
        inputs = leg["model_inputs"]
        instrument = leg["instrument"]
        spot = doc["grid"]["spots"][leg["underlying"]][i]
        if inputs["model"] == "stock":
            total["delta"] += float(Decimal(leg["quantity"]))
            continue
        position = float(Decimal(leg["quantity"])) * instrument["multiplier"]
        t = max(inputs["T"] - tau, 0.0)
        if t <= 0.0:  # expired by this date: intrinsic slope
            strike = inputs["K"]
            itm = spot > strike if inputs["is_call"] else spot < strike
            total["delta"] += position * (1.0 if inputs["is_call"] else -1.0) * itm
            continue
        times = [x - tau for x in inputs["dividends"]["times"]]
        amounts = [a for x, a in zip(times, inputs["dividends"]["amounts"], strict=True) if x > 0]
        times = [x for x in times if x > 0]
        kwargs: dict[str, Any] = {}
        if inputs["engine"] is not None:
            kwargs["engine"] = inputs["engine"]
        if times:
            kwargs["dividends"] = (np.array(times), np.array(amounts))
        unit = pricing_greeks(
            model=inputs["model"],
            S=spot,
            K=inputs["K"],
            T=t,
            r=inputs["r"],
            q=inputs["q"],
            sigma=inputs["sigma"],
            is_call=inputs["is_call"],
            which=CURVE_GREEKS,
            **kwargs,
        )
        for name in CURVE_GREEKS:
            scale = 365.0 / days_per_year if name == "theta" else 1.0
            total[name] += position * float(unit[name]) * scale
    return total


def curve_at(doc: dict[str, Any], d: int, i: int) -> dict[str, float]:
    return {g: doc["curves"]["spot_time_greeks"][g][d][i] for g in CURVE_GREEKS}


POINTS = ((0, 0), (0, 5), (1, 3), (2, 8), (2, 10))


def test_spot_time_greeks_with_european_condor_match_pricing_greeks_summed_by_hand(
    mk: Any, snapshot: Any, config: ModelConfig
) -> None:
    doc = evaluate(mk.iron_condor(), snapshot, config, PERCENT_GRID).to_json_dict()

    for d, i in POINTS:
        assert curve_at(doc, d, i) == pytest.approx(hand_greeks(doc, d, i), rel=1e-9, abs=1e-9)
    # T+0 at the base spot (the middle point) is the trade's own Greeks
    assert curve_at(doc, 0, 5) == pytest.approx(
        {g: doc["measures"]["greeks"][g] for g in CURVE_GREEKS}, rel=1e-12
    )
    shape = (len(doc["grid"]["dates"]), len(doc["grid"]["spot_moves"]))
    assert all(np.shape(doc["curves"]["spot_time_greeks"][g]) == shape for g in CURVE_GREEKS)


def test_spot_time_greeks_with_a_fine_spot_axis_delta_and_gamma_match_pl_differences(
    mk: Any, snapshot: Any, config: ModelConfig
) -> None:
    grid = ScenarioGrid(
        spot_range_kind=SpotRangeKind.PERCENT,
        spot_min=-15.0,
        spot_max=15.0,
        spot_steps=301,
        vol_shifts=(0.0,),
        n_dates=3,
    )
    result = evaluate(mk.iron_condor(), snapshot, config, grid)
    spots = result.spots["XYZ"]
    h = spots[1] - spots[0]

    for d in range(2):  # the last date is the expiry: P/L has kinks there
        pl = result.spot_time_pl[d]
        delta = result.spot_time_greeks["delta"][d]
        gamma = result.spot_time_greeks["gamma"][d]
        fd_delta = (pl[2:] - pl[:-2]) / (2.0 * h)
        fd_gamma = (pl[2:] - 2.0 * pl[1:-1] + pl[:-2]) / (h * h)
        assert np.max(np.abs(delta[1:-1] - fd_delta)) < 0.01 * np.max(np.abs(delta)) + 1e-6
        assert np.max(np.abs(gamma[1:-1] - fd_gamma)) < 0.02 * np.max(np.abs(gamma)) + 1e-6


def test_spot_time_greeks_with_theta_and_vega_match_pl_differences_in_time_and_vol(
    mk: Any, snapshot: Any, config: ModelConfig
) -> None:
    as_of = snapshot.as_of
    day0 = as_of.date()
    grid = ScenarioGrid(
        spot_range_kind=SpotRangeKind.PERCENT,
        spot_min=-10.0,
        spot_max=10.0,
        spot_steps=5,
        vol_shifts=(-0.5, 0.0, 0.5),
        n_dates=None,
        dates=(day0 + timedelta(days=10), day0 + timedelta(days=11)),
    )
    result = evaluate(mk.iron_condor(), snapshot, config, grid)
    days = (result.date_years[1] - result.date_years[0]) * 365.0
    fd_theta = (result.spot_time_pl[1] - result.spot_time_pl[0]) / days
    mean_theta = 0.5 * (result.spot_time_greeks["theta"][0] + result.spot_time_greeks["theta"][1])
    assert mean_theta == pytest.approx(fd_theta, rel=0.02, abs=0.05)

    vols = ScenarioGrid(
        spot_range_kind=SpotRangeKind.PERCENT,
        spot_min=-20.0,
        spot_max=20.0,
        spot_steps=11,
        vol_shifts=(-0.5, 0.0, 0.5),
        n_dates=4,
    )
    at_t0 = evaluate(mk.iron_condor(), snapshot, config, vols)
    fd_vega = at_t0.spot_vol_pl[2] - at_t0.spot_vol_pl[0]  # over 1 vol point
    np.testing.assert_allclose(at_t0.spot_time_greeks["vega"][0], fd_vega, rtol=1e-3, atol=1e-3)


def test_spot_time_greeks_with_american_legs_match_the_american_engine_greeks(
    mk: Any, config: ModelConfig
) -> None:
    snapshot = mk.make_snapshot(mk.MarketSpec(style=ExerciseStyle.AMERICAN, carry={"XYZ": 0.02}))
    trade = mk.version(
        mk.leg(mk.option(105, "P", style=ExerciseStyle.AMERICAN), 2, "6"),
        mk.leg(mk.option(95, "C", style=ExerciseStyle.AMERICAN), -1, "7"),
    )

    doc = evaluate(trade, snapshot, config, PERCENT_GRID).to_json_dict()

    assert {leg["model_inputs"]["model"] for leg in doc["legs"]} == {"american"}
    for d, i in POINTS:
        assert curve_at(doc, d, i) == pytest.approx(hand_greeks(doc, d, i), rel=1e-9, abs=1e-9)
    assert curve_at(doc, 0, 5) == pytest.approx(
        {g: doc["measures"]["greeks"][g] for g in CURVE_GREEKS}, rel=1e-12
    )
    method = doc["grid"]["units"]["greeks_method"]
    assert "american (bjerksund_stensland_2002): central finite differences" in method


def test_spot_time_greeks_with_a_leg_expired_at_a_horizon_take_its_intrinsic_slope(
    mk: Any, snapshot: Any, config: ModelConfig
) -> None:
    after_first = mk.EXPIRY + timedelta(days=3)
    grid = ScenarioGrid(
        spot_range_kind=SpotRangeKind.PERCENT,
        spot_min=-20.0,
        spot_max=20.0,
        spot_steps=11,
        vol_shifts=(0.0,),
        n_dates=None,
        dates=(snapshot.as_of.date(), after_first),
    )
    trade = mk.version(
        mk.leg(mk.option(95, "C"), 1, "6"),  # expires before the second date
        mk.leg(mk.option(105, "P"), -2, "6"),  # expires before the second date
        mk.leg(mk.option(100, "C", expiry=mk.EXPIRY_2), 1, "3"),
        mk.leg(Stock(symbol="XYZ"), -30, "100"),
    )

    doc = evaluate(trade, snapshot, config, grid).to_json_dict()

    spots = doc["grid"]["spots"]["XYZ"]
    for i, spot in enumerate(spots):
        expected = hand_greeks(doc, 1, i)
        assert curve_at(doc, 1, i) == pytest.approx(expected, rel=1e-9, abs=1e-9)
        # the near legs alone: +100 above 95, +200 below 105 (short puts), stock -30
        near = 100.0 * (spot > 95.0) + 200.0 * (spot < 105.0) - 30.0
        far = pricing_greeks(
            model="bsm",
            S=spot,
            K=100.0,
            T=doc["legs"][2]["model_inputs"]["T"] - doc["grid"]["date_years"][1],
            r=0.03,
            sigma=doc["legs"][2]["model_inputs"]["sigma"],
            is_call=True,
            which=("delta", "gamma"),
        )
        assert curve_at(doc, 1, i)["delta"] == pytest.approx(near + 100.0 * float(far["delta"]))
        assert curve_at(doc, 1, i)["gamma"] == pytest.approx(100.0 * float(far["gamma"]))


def test_spot_time_greeks_with_discrete_dividends_use_the_dividends_still_to_come(
    mk: Any, config: ModelConfig
) -> None:
    ex_date = date(2025, 1, 21)
    spec = mk.MarketSpec(dividends={"XYZ": (DiscreteDividend(ex_date, Decimal("1.50")),)})
    snapshot = mk.make_snapshot(spec)

    doc = evaluate(mk.iron_condor(), snapshot, config, PERCENT_GRID).to_json_dict()

    assert doc["legs"][0]["model_inputs"]["dividends"]["times"]
    for d, i in POINTS:  # date 1 is before the ex-date, date 2 after it
        assert curve_at(doc, d, i) == pytest.approx(hand_greeks(doc, d, i), rel=1e-9, abs=1e-9)


def test_spot_time_greeks_with_trading_day_theta_scale_theta_by_365_over_252(
    mk: Any, snapshot: Any
) -> None:
    calendar = evaluate(mk.iron_condor(), snapshot, ModelConfig(), PERCENT_GRID)
    trading = evaluate(
        mk.iron_condor(),
        snapshot,
        ModelConfig(theta_convention=ThetaConvention.TRADING_DAY),
        PERCENT_GRID,
    )

    np.testing.assert_allclose(
        trading.spot_time_greeks["theta"], calendar.spot_time_greeks["theta"] * 365.0 / 252.0
    )
    np.testing.assert_array_equal(
        trading.spot_time_greeks["delta"], calendar.spot_time_greeks["delta"]
    )
    assert trading.to_json_dict()["grid"]["units"]["spot_time_greeks"].endswith("trading day")


def test_compare_with_same_underlying_diffs_the_greeks_curves_and_validates(
    mk: Any, snapshot: Any, config: ModelConfig
) -> None:
    straddle = mk.version(mk.leg(mk.option(100, "C"), 1, "4"), mk.leg(mk.option(100, "P"), 1, "4"))

    result = compare(mk.iron_condor(), straddle, snapshot, config, PERCENT_GRID)
    doc = result.to_model().to_dict()

    for g in CURVE_GREEKS:
        a = np.array(doc["a"]["curves"]["spot_time_greeks"][g])
        b = np.array(doc["b"]["curves"]["spot_time_greeks"][g])
        np.testing.assert_array_equal(np.array(doc["diff"]["spot_time_greeks"][g]), a - b)


def test_compare_with_different_underlyings_leaves_out_the_greeks_curves_diff(
    mk: Any, config: ModelConfig
) -> None:
    snapshot = mk.make_snapshot(mk.MarketSpec(spots={"XYZ": 100.0, "ABC": 100.0}))

    result = compare(mk.iron_condor(), mk.iron_condor(symbol="ABC"), snapshot, config, PERCENT_GRID)

    assert "spot_time_greeks" not in result.to_json_dict()["diff"]
    assert result.to_model().diff.spot_time_greeks is None


def test_evaluate_with_no_valued_leg_has_zero_greeks_curves(
    mk: Any, snapshot: Any, config: ModelConfig
) -> None:
    trade = mk.version(mk.leg(mk.option(100, "C"), 1, "4", include=False))

    doc = evaluate(trade, snapshot, config, PERCENT_GRID).to_model().to_dict()

    for g in CURVE_GREEKS:
        assert np.all(np.array(doc["curves"]["spot_time_greeks"][g]) == 0.0)
