"""Evaluate: per-leg model inputs, vol sources, stock dividends, floors, units, empty results.

Expected figures come from independent computations: :func:`riskdesk.pricing.price` called
with the JSON inputs alone, and hand-computed covered-call payoffs.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal

import numpy as np
import pytest

from riskdesk.analytics import evaluate
from riskdesk.domain.configs import ModelConfig, PriceSource, ScenarioGrid, TimeBasis, VolSource
from riskdesk.domain.hashing import canonical_json
from riskdesk.domain.instruments import ExerciseStyle, Stock
from riskdesk.domain.market import DiscreteDividend
from riskdesk.pricing import price

EX_DATE = date(2025, 2, 3)  # between the snapshot (2025-01-02) and the expiry (2025-02-21)
DIVIDEND = Decimal("1.5")


def _dividend_spec(mk, **kwargs):
    return mk.MarketSpec(dividends={"XYZ": (DiscreteDividend(EX_DATE, DIVIDEND),)}, **kwargs)


@pytest.mark.parametrize(
    "config",
    [ModelConfig(), ModelConfig(time_basis=TimeBasis.TRADING)],
    ids=["calendar", "trading"],
)
def test_leg_model_inputs_with_json_alone_reprice_each_leg_to_its_value(mk, config, small_grid):
    snapshot = mk.make_snapshot(
        _dividend_spec(mk, style=ExerciseStyle.AMERICAN, carry={"XYZ": 0.01})
    )
    trade = mk.version(
        mk.leg(mk.option(95, "P", style=ExerciseStyle.AMERICAN), 2, "1.0"),
        mk.leg(mk.option(110, "C", expiry=mk.EXPIRY_2, style=ExerciseStyle.AMERICAN), -1, "2.0"),
        mk.leg(Stock("XYZ"), 100, "100"),
    )

    data = json.loads(canonical_json(evaluate(trade, snapshot, config, small_grid).to_json_dict()))

    for leg in data["legs"]:
        inputs = leg["model_inputs"]
        assert inputs["time_basis"] == config.time_basis.value
        assert inputs["dividends"]["amounts"] == [1.5]
        if inputs["model"] == "stock":
            assert inputs["S"] == leg["price"]
            continue
        kwargs = {} if inputs["engine"] is None else {"engine": inputs["engine"]}
        unit = price(
            model=inputs["model"],
            S=inputs["S"],
            K=inputs["K"],
            T=inputs["T"],
            r=inputs["r"],
            q=inputs["q"],
            sigma=inputs["sigma"],
            is_call=inputs["is_call"],
            dividends=(
                np.array(inputs["dividends"]["times"]),
                np.array(inputs["dividends"]["amounts"]),
            ),
            **kwargs,
        )
        quantity = float(leg["quantity"]) * leg["instrument"]["multiplier"]
        assert float(unit) == pytest.approx(leg["price"], rel=1e-13)
        assert quantity * float(unit) == pytest.approx(leg["value"], rel=1e-13)
        assert inputs["q"] == 0.01
        assert inputs["r"] == 0.03
        assert inputs["vol_source"] == "MID_IV"
        assert inputs["vol_quote_price"] > 0.0
        pv = 1.5 * np.exp(-inputs["r"] * inputs["dividends"]["times"][0])
        assert inputs["forward"] == pytest.approx(
            (inputs["S"] - pv) * np.exp((inputs["r"] - inputs["q"]) * inputs["T"]), rel=1e-14
        )
        assert inputs["expiry"].endswith("Z")


def test_provider_iv_source_with_quote_iv_uses_it_and_without_excludes_the_leg(mk, small_grid):
    config = ModelConfig(vol_source=VolSource.PROVIDER_IV)
    bare = mk.option(130, "C")
    snapshot = mk.make_snapshot(
        mk.MarketSpec(vol=lambda _s, k, _t: 0.2 + 0.001 * (k - 100), provider_iv=True),
        extra_quotes=[mk.quote(bare, bid="0.10", ask="0.20", mark="0.15", iv=None)],
    )
    trade = mk.version(mk.leg(mk.option(110, "C"), 1, "1"), mk.leg(bare, 1, "0.15"))

    result = evaluate(trade, snapshot, config, small_grid)

    provider = next(q.iv for q in snapshot.options if q.contract == trade.legs[0].instrument)
    assert result.legs[0].vol == provider  # the quote's iv field, not a re-solved vol
    assert result.legs[0].vol_source == "PROVIDER_IV"
    assert result.legs[1].status == "excluded"
    assert [(w.code, w.leg) for w in result.warnings] == [("no_provider_iv", "leg1")]
    assert "provider IV" in result.warnings[0].message


def test_mid_iv_source_with_mark_price_source_labels_the_vol_mark_iv(mk, snapshot, small_grid):
    trade = mk.version(mk.leg(mk.option(100, "C"), 1, "3"))

    mid = evaluate(trade, snapshot, ModelConfig(), small_grid)
    mark = evaluate(trade, snapshot, ModelConfig(iv_price_source=PriceSource.MARK), small_grid)

    assert mid.legs[0].vol_source == "MID_IV"
    assert mark.legs[0].vol_source == "MARK_IV"


def test_vol_shift_floor_with_8_7_pct_wing_warns_naming_leg_and_shift(mk):
    snapshot = mk.make_snapshot(mk.MarketSpec(vol=lambda _s, _k, _t: 0.087))
    trade = mk.version(mk.leg(mk.option(100, "C"), 1, "3"), mk.leg(mk.option(105, "C"), -1, "1"))
    grid = ScenarioGrid(spot_steps=5, vol_shifts=(-10.0, -5.0, 0.0), n_dates=2)

    result = evaluate(trade, snapshot, ModelConfig(), grid)

    floored = [w for w in result.warnings if w.code == "vol_shift_floored"]
    assert [w.leg for w in floored] == ["leg0", "leg1"]
    assert "-10" in floored[0].message
    assert "-5 " not in floored[0].message
    # the floored row prices at the floor vol: nearly intrinsic value
    assert result.spot_vol_pl[0, 2] < result.spot_vol_pl[1, 2]


def test_evaluate_with_every_leg_expired_reports_nothing_valued(mk, small_grid):
    spec = mk.MarketSpec(as_of=mk.AS_OF + timedelta(days=60), expiries=(mk.EXPIRY_2,))
    trade = mk.version(mk.leg(mk.option(100, "C"), 1, "2"), mk.leg(mk.option(90, "P"), 1, "1"))

    result = evaluate(trade, mk.make_snapshot(spec), ModelConfig(), small_grid)
    alive = mk.version(mk.leg(mk.option(100, "C", expiry=mk.EXPIRY_2), 1, "2"))
    valued = evaluate(alive, mk.make_snapshot(spec), ModelConfig(), small_grid)

    assert result.nothing_valued
    assert result.valued_leg_count == 0
    assert [e.code for e in result.errors] == ["no_valued_legs"]
    assert not valued.nothing_valued
    assert valued.valued_leg_count == 1


def test_grid_json_with_any_trade_labels_axes_with_units_and_time_zones(mk, snapshot, small_grid):
    data = evaluate(mk.iron_condor(), snapshot, ModelConfig(), small_grid).to_json_dict()

    units = data["grid"]["units"]
    assert units["spot_moves"].startswith("standard deviations")
    assert units["spots"] == "underlying price (USD)"
    assert units["vol_shifts"].startswith("vol points")
    assert units["curves"].startswith("P/L (USD)")
    assert all(d.endswith("Z") for d in data["grid"]["dates"])
    assert data["grid"]["dates_local"][0] == "2025-01-02T10:00:00-05:00"
    assert data["grid"]["spot_range_kind"] == "SIGMA"


# --------------------------------------------------------------------------------------------
# stock legs across an ex-date
# --------------------------------------------------------------------------------------------
def test_covered_call_with_dividend_before_expiry_credits_it_in_expiry_measures(mk):
    snapshot = mk.make_snapshot(_dividend_spec(mk))
    premium = 2.0
    trade = mk.version(mk.leg(Stock("XYZ"), 100, "100"), mk.leg(mk.option(105, "C"), -1, premium))
    grid = ScenarioGrid.percent(20.0, spot_steps=41, vol_shifts=(0.0,), n_dates=3)

    result = evaluate(trade, snapshot, ModelConfig(), grid)

    cost = 100 * 100.0 - 100 * premium
    dividend = 100 * float(DIVIDEND)
    assert result.max_profit.value == pytest.approx(100 * 105.0 + dividend - cost, rel=1e-12)
    assert result.max_loss.value == pytest.approx(dividend - cost, rel=1e-12)
    assert [b.spots["XYZ"] for b in result.breakevens_expiry] == pytest.approx(
        [100.0 - premium - float(DIVIDEND)], rel=1e-12
    )
    spots = result.spots["XYZ"]
    hand = 100 * spots + dividend - 100 * np.maximum(spots - 105.0, 0.0) - cost
    np.testing.assert_allclose(result.expiry_pl, hand, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(result.spot_time_pl[-1], hand, rtol=1e-12, atol=1e-9)


@pytest.mark.parametrize("quantity", [100, -100])
def test_stock_leg_with_grid_dates_around_ex_date_is_credited_only_after_it(mk, quantity):
    snapshot = mk.make_snapshot(_dividend_spec(mk))
    trade = mk.version(mk.leg(Stock("XYZ"), quantity, "100"))
    grid = ScenarioGrid.percent(
        10.0,
        spot_steps=5,
        vol_shifts=(0.0,),
        n_dates=None,
        dates=(date(2025, 1, 31), date(2025, 2, 4)),
    )

    result = evaluate(trade, snapshot, ModelConfig(), grid)

    spots = result.spots["XYZ"]
    before = quantity * (spots - 100.0)
    np.testing.assert_allclose(result.spot_time_pl[0], before, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(
        result.spot_time_pl[1], before + quantity * float(DIVIDEND), rtol=1e-12, atol=1e-9
    )
    np.testing.assert_allclose(result.spot_vol_pl[0], before, rtol=1e-12, atol=1e-9)
