from __future__ import annotations

import dataclasses
import json
import math
from datetime import date, timedelta
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.special import ndtr

from riskdesk.analytics import NonFiniteResultError, evaluate
from riskdesk.analytics._common import check_finite_json
from riskdesk.domain.configs import (
    ModelConfig,
    PricingMode,
    ScenarioGrid,
    SpotRangeKind,
    ThetaConvention,
    VolSource,
)
from riskdesk.domain.hashing import canonical_json
from riskdesk.domain.instruments import ExerciseStyle, Stock
from riskdesk.domain.trades import TradeDraft


def test_vertical_spread_with_debit_4_has_analytic_max_profit_loss_and_breakeven(
    mk, snapshot, config, small_grid
):
    for qty in (1, 3):
        trade = mk.version(
            mk.leg(mk.option(100, "C"), qty, "5.50"),
            mk.leg(mk.option(110, "C"), -qty, "1.50"),
        )

        result = evaluate(trade, snapshot, config, small_grid)

        assert result.max_profit.unbounded is False
        assert result.max_profit.value == pytest.approx(600.0 * qty, abs=1e-9)
        assert result.max_loss.unbounded is False
        assert result.max_loss.value == pytest.approx(-400.0 * qty, abs=1e-9)
        assert len(result.breakevens_expiry) == 1
        assert result.breakevens_expiry[0].spots["XYZ"] == pytest.approx(104.0, abs=1e-9)
        assert result.breakevens_expiry[0].spot_move_pct == pytest.approx(4.0, abs=1e-9)


def test_max_profit_with_naked_short_call_is_bounded_and_loss_unbounded(
    mk, snapshot, config, small_grid
):
    trade = mk.version(mk.leg(mk.option(105, "C"), -2, "1.25"))

    result = evaluate(trade, snapshot, config, small_grid)

    assert result.max_loss.unbounded is True
    assert result.max_loss.value is None
    assert result.max_profit.unbounded is False
    assert result.max_profit.value == pytest.approx(250.0)
    assert result.to_json_dict()["measures"]["max_loss"] == {"unbounded": True, "value": None}


def test_max_profit_with_long_call_is_unbounded_and_loss_is_premium(
    mk, snapshot, config, small_grid
):
    trade = mk.version(mk.leg(mk.option(105, "C"), 1, "1.25", fees="0.65"))

    result = evaluate(trade, snapshot, config, small_grid)

    assert result.max_profit.unbounded is True
    assert result.max_loss.unbounded is False
    assert result.max_loss.value == pytest.approx(-125.65)
    assert [b.spots["XYZ"] for b in result.breakevens_expiry] == pytest.approx([106.2565])


def test_max_loss_with_long_stock_is_bounded_by_zero_spot(mk, snapshot, config, small_grid):
    trade = mk.version(mk.leg(Stock("XYZ"), 100, "98"))

    result = evaluate(trade, snapshot, config, small_grid)

    assert result.max_profit.unbounded is True
    assert result.max_loss.value == pytest.approx(-9800.0)
    assert result.value == pytest.approx(10000.0)
    assert result.greeks["delta"] == pytest.approx(100.0)
    assert result.greeks["dollar_delta"] == pytest.approx(10000.0)


def test_covered_call_with_stock_and_short_call_is_bounded_above(mk, snapshot, config, small_grid):
    trade = mk.version(mk.leg(Stock("XYZ"), 100, "100"), mk.leg(mk.option(110, "C"), -1, "1"))

    result = evaluate(trade, snapshot, config, small_grid)

    assert result.max_profit.unbounded is False
    assert result.max_profit.value == pytest.approx(1100.0)
    assert result.max_loss.value == pytest.approx(-9900.0)


def test_iron_condor_with_both_wings_is_bounded_both_ways(mk, snapshot, config, small_grid):
    result = evaluate(mk.iron_condor(), snapshot, config, small_grid)

    credit = (1.20 + 1.10 - 0.30 - 0.25) * 100
    assert result.max_profit.unbounded is False
    assert result.max_loss.unbounded is False
    assert result.max_profit.value == pytest.approx(credit)
    assert result.max_loss.value == pytest.approx(credit - 1000.0)
    assert [b.spots["XYZ"] for b in result.breakevens_expiry] == pytest.approx([88.25, 111.75])
    assert 0.0 < result.probability_of_profit < 1.0


def test_breakevens_t0_with_iron_condor_are_zeros_of_the_t0_curve(mk, snapshot, config, grid):
    result = evaluate(mk.iron_condor(), snapshot, config, grid)

    t0 = result.spot_time_pl[0]
    spots = result.spots["XYZ"]
    crossings = np.nonzero(np.sign(t0[:-1]) != np.sign(t0[1:]))[0]
    assert len(result.breakevens_t0) == crossings.size == 2
    for be, i in zip(result.breakevens_t0, crossings, strict=True):
        assert spots[i] <= be.spots["XYZ"] <= spots[i + 1]


def test_toggle_with_leg_switched_off_excludes_it_from_value(mk, snapshot, config, small_grid):
    draft = TradeDraft("toggle")
    keep = draft.add_leg(mk.option(100, "C"), quantity=1, entry_price="3")
    drop = draft.add_leg(mk.option(90, "P"), quantity=-2, entry_price="1")
    both = evaluate(draft, snapshot, config, small_grid)
    only_call = evaluate(mk.version(draft.leg(keep)), snapshot, config, small_grid)

    assert draft.toggle_leg(drop) is False
    toggled = evaluate(draft, snapshot, config, small_grid)

    assert toggled.value == pytest.approx(only_call.value, rel=1e-12)
    assert toggled.value != pytest.approx(both.value)
    assert toggled.pl_open == pytest.approx(only_call.pl_open, rel=1e-12)
    assert {leg.leg: leg.status for leg in toggled.legs} == {keep: "ok", drop: "toggled_off"}
    assert toggled.trade["rev"] == 3
    np.testing.assert_allclose(toggled.spot_vol_pl, only_call.spot_vol_pl, rtol=1e-12)


def test_leg_with_crossed_quote_and_no_fallback_is_excluded_with_named_warning(
    mk, config, small_grid
):
    bad = mk.option(105, "C")
    snapshot = mk.make_snapshot(extra_quotes=[mk.quote(bad, bid="2.00", ask="1.50")])
    draft = TradeDraft("crossed")
    good_id = draft.add_leg(mk.option(95, "P"), quantity=1, entry_price="1")
    bad_id = draft.add_leg(bad, quantity=-1, entry_price="1.8")

    result = evaluate(draft, snapshot, config, small_grid)
    payload = result.to_json_dict()

    codes = {(w["code"], w["leg"]) for w in payload["warnings"]}
    assert ("crossed_quote", bad_id) in codes
    assert ("iv_failed", bad_id) in codes
    assert any(bad_id in w["message"] for w in payload["warnings"])
    assert {leg["leg"]: leg["status"] for leg in payload["legs"]} == {
        good_id: "ok",
        bad_id: "excluded",
    }
    assert mk.finite_everywhere(payload)
    assert canonical_json(payload)


def test_leg_with_zero_quote_and_provider_iv_uses_fallback_with_warning(mk, config, small_grid):
    bad = mk.option(130, "C")
    snapshot = mk.make_snapshot(extra_quotes=[mk.quote(bad, bid="0", ask="0", mark="0", iv=0.31)])
    trade = mk.version(mk.leg(bad, 1, "0.05"))

    result = evaluate(trade, snapshot, config, small_grid)

    assert [(w.code, w.leg) for w in result.warnings] == [("iv_provider_fallback", "leg0")]
    assert result.legs[0].status == "ok"
    assert result.legs[0].vol == pytest.approx(0.31)
    assert result.legs[0].vol_source == "PROVIDER_IV"


def test_leg_without_quote_or_underlying_is_excluded_with_reason(mk, config, small_grid):
    missing = mk.option(100, "C")
    snapshot = mk.make_snapshot(drop=[missing.key])
    trade = mk.version(mk.leg(missing, 1, "2"), mk.leg(mk.option(100, "C", symbol="ABC"), 1, "2"))

    result = evaluate(trade, snapshot, config, small_grid)

    assert sorted(w.code for w in result.warnings) == ["no_quote", "no_underlying_quote"]
    assert [e.code for e in result.errors] == ["no_valued_legs"]
    assert result.value == 0.0
    assert mk.finite_everywhere(result.to_json_dict())


def test_leg_with_expiry_before_snapshot_is_excluded_as_expired(mk, config, small_grid):
    spec = mk.MarketSpec(as_of=mk.AS_OF + timedelta(days=60), expiries=(mk.EXPIRY_2,))
    snapshot = mk.make_snapshot(spec)
    trade = mk.version(
        mk.leg(mk.option(100, "C"), 1, "2"), mk.leg(mk.option(100, "C", expiry=mk.EXPIRY_2), 1, "3")
    )

    result = evaluate(trade, snapshot, config, small_grid)

    assert [(w.code, w.leg) for w in result.warnings if w.code == "expired"] == [
        ("expired", "leg0")
    ]
    assert result.legs[1].status == "ok"


_QUOTE_KINDS = ("normal", "crossed", "zero", "missing", "provider_only", "huge")


@st.composite
def random_trades(draw):
    n = draw(st.integers(1, 4))
    legs = []
    for _ in range(n):
        legs.append(
            (
                draw(st.sampled_from([70, 85, 95, 100, 102.5, 110, 125, 140])),
                draw(st.sampled_from(["C", "P"])),
                draw(st.integers(-5, 5).filter(lambda q: q != 0)),
                draw(st.integers(0, 2000)),
                draw(st.sampled_from(_QUOTE_KINDS)),
                draw(st.booleans()),
            )
        )
    return legs


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=random_trades())
def test_evaluate_with_random_legs_and_broken_quotes_emits_no_nan(mk, spec):
    extra = []
    legs = []
    for strike, right, qty, cents, kind, american in spec:
        style = ExerciseStyle.AMERICAN if american else ExerciseStyle.EUROPEAN
        contract = mk.option(strike, right, style=style)
        legs.append(mk.leg(contract, qty, f"{cents / 100:.2f}"))
        if kind == "crossed":
            extra.append(mk.quote(contract, bid="3", ask="1"))
        elif kind == "zero":
            extra.append(mk.quote(contract, bid="0", ask="0", mark="0"))
        elif kind == "provider_only":
            extra.append(mk.quote(contract, bid=None, ask=None, iv=0.25))
        elif kind == "huge":
            extra.append(mk.quote(contract, bid="500", ask="600"))
        elif kind == "missing":
            extra.append(mk.quote(contract, bid=None, ask=None))
    extra_by_key = {q.contract.key: q for q in extra}
    snapshot = mk.make_snapshot(
        mk.MarketSpec(expiries=(mk.EXPIRY,)), extra_quotes=extra_by_key.values()
    )
    trade = mk.version(*legs)
    grid = ScenarioGrid(spot_steps=7, vol_shifts=(-10.0, 0.0, 30.0), n_dates=3)

    result = evaluate(trade, snapshot, ModelConfig(), grid)
    payload = result.to_json_dict()

    assert mk.finite_everywhere(payload)
    canonical_json(payload)
    warned = {w["leg"] for w in payload["warnings"]}
    for leg in payload["legs"]:
        if leg["status"] == "excluded":
            assert leg["leg"] in warned
            assert leg["value"] is None


def test_evaluate_with_same_inputs_twice_gives_identical_canonical_json(mk, config, grid):
    snapshot = mk.make_snapshot()
    trade = mk.iron_condor()
    reordered = mk.version(*reversed(trade.legs), name=trade.name)

    first = canonical_json(evaluate(trade, snapshot, config, grid).to_json_dict())
    second = canonical_json(evaluate(trade, mk.make_snapshot(), config, grid).to_json_dict())
    third = evaluate(reordered, snapshot, config, grid)

    assert first == second
    # legs keep the user's order; the trade (hash) and its figures are the same
    assert third.trade["trade_hash"] == trade.trade_hash
    assert [leg.label for leg in third.legs] == [leg.label for leg in reversed(trade.legs)]
    assert third.value == pytest.approx(json.loads(first)["measures"]["value"], rel=1e-12)


def test_grids_with_default_shape_have_expected_dimensions_and_consistent_points(
    mk, snapshot, config, grid
):
    result = evaluate(mk.iron_condor(), snapshot, config, grid)

    assert result.spot_time_pl.shape == (10, 41)
    assert result.spot_vol_pl.shape == (21, 41)
    assert result.expiry_pl.shape == (41,)
    assert result.spots["XYZ"][20] == 100.0
    # unmoved spot, zero vol shift, evaluation time = P/L open
    assert result.spot_vol_pl[10, 20] == pytest.approx(result.pl_open, abs=1e-9)
    assert result.spot_time_pl[0, 20] == pytest.approx(result.pl_open, abs=1e-9)
    # last grid date is the expiry: every leg at intrinsic
    np.testing.assert_allclose(result.spot_time_pl[-1], result.expiry_pl, atol=1e-9)
    assert result.dates[0] == snapshot.as_of
    assert result.date_years[0] == 0.0
    assert result.date_years[-1] == pytest.approx(result.horizon_years)


def test_position_greeks_with_quantity_and_multiplier_scale_unit_greeks(mk, snapshot, small_grid):
    trade = mk.version(mk.leg(mk.option(100, "P"), -3, "2"))
    calendar = evaluate(trade, snapshot, ModelConfig(), small_grid)
    trading = evaluate(
        trade, snapshot, ModelConfig(theta_convention=ThetaConvention.TRADING_DAY), small_grid
    )

    leg = calendar.legs[0]
    for name in ("delta", "gamma", "vega", "rho", "theta"):
        assert leg.position_greeks[name] == pytest.approx(leg.greeks[name] * -300.0, rel=1e-12)
    assert leg.position_greeks["dollar_delta"] == pytest.approx(
        leg.position_greeks["delta"] * 100.0
    )
    assert calendar.greeks == leg.position_greeks
    assert trading.greeks["theta"] == pytest.approx(calendar.greeks["theta"] * 365.0 / 252.0)


def test_vega_with_one_vol_point_bump_matches_spot_vol_matrix(mk, snapshot, config):
    trade = mk.version(mk.leg(mk.option(100, "C"), 1, "3"))
    grid = ScenarioGrid(
        spot_steps=3, spot_min=-1.0, spot_max=1.0, vol_shifts=(-0.01, 0.0, 0.01), n_dates=2
    )

    result = evaluate(trade, snapshot, config, grid)

    fd = (result.spot_vol_pl[2, 1] - result.spot_vol_pl[0, 1]) / 0.02
    assert result.greeks["vega"] == pytest.approx(fd, rel=1e-5)


def test_probability_of_profit_with_long_call_matches_lognormal_formula(
    mk, snapshot, config, small_grid
):
    trade = mk.version(mk.leg(mk.option(105, "C"), 1, "1.40"))

    result = evaluate(trade, snapshot, config, small_grid)

    leg = result.legs[0]
    t, sigma = leg.time_to_expiry, leg.vol
    forward = 100.0 * math.exp(0.03 * t)
    breakeven = 106.4
    z = (math.log(breakeven / forward) + 0.5 * sigma * sigma * t) / (sigma * math.sqrt(t))
    assert result.reference_vols["XYZ"] == pytest.approx(sigma)
    assert result.probability_of_profit == pytest.approx(1.0 - float(ndtr(z)), rel=1e-9)


def test_sigma_grid_with_reference_vol_spans_lognormal_standard_deviations(mk, snapshot, config):
    trade = mk.version(mk.leg(mk.option(100, "C"), 1, "3"))
    grid = ScenarioGrid.sigma(3.0, spot_steps=7, vol_shifts=(0.0,), n_dates=2)

    result = evaluate(trade, snapshot, config, grid)

    assert result.axis_vols == result.reference_vols
    sd = result.axis_vols["XYZ"] * math.sqrt(result.axis_horizon_years)
    np.testing.assert_allclose(
        result.spots["XYZ"], 100.0 * np.exp(np.linspace(-3, 3, 7) * sd), rtol=1e-14
    )
    assert result.spot_range_kind == "SIGMA"


def test_multi_underlying_trade_with_two_symbols_reports_per_underlying_greeks(
    mk, config, small_grid
):
    snapshot = mk.make_snapshot(
        mk.MarketSpec(spots={"XYZ": 100.0, "ABC": 50.0}, strikes=range(30, 145, 5))
    )
    trade = mk.version(
        mk.leg(mk.option(100, "C"), 1, "3"), mk.leg(mk.option(50, "P", symbol="ABC"), -1, "2")
    )

    result = evaluate(trade, snapshot, config, small_grid)

    assert result.underlyings == ("ABC", "XYZ")
    assert set(result.greeks_by_underlying) == {"ABC", "XYZ"}
    assert result.greeks["dollar_delta"] == pytest.approx(
        sum(g["dollar_delta"] for g in result.greeks_by_underlying.values())
    )
    assert result.probability_of_profit is None
    assert "pop_unavailable" in {w.code for w in result.warnings}
    assert result.spots["ABC"][5] == 50.0


def test_american_legs_with_default_engine_are_valued_and_finite(mk, config, small_grid):
    snapshot = mk.make_snapshot(mk.MarketSpec(style=ExerciseStyle.AMERICAN))
    trade = mk.version(
        mk.leg(mk.option(95, "P", style=ExerciseStyle.AMERICAN), 1, "1"),
        mk.leg(mk.option(105, "C", style=ExerciseStyle.AMERICAN), -1, "1"),
    )

    result = evaluate(trade, snapshot, config, small_grid)

    assert all(leg.status == "ok" and leg.model == "american" for leg in result.legs)
    assert all(leg.engine == "bjerksund_stensland_2002" for leg in result.legs)
    assert mk.finite_everywhere(result.to_json_dict())


def test_pricing_mode_with_mid_values_legs_at_quote_mid(mk, snapshot, small_grid):
    trade = mk.version(mk.leg(mk.option(100, "C"), 2, "3"))
    quote = snapshot.option_quote(mk.option(100, "C"))

    result = evaluate(trade, snapshot, ModelConfig(pricing_mode=PricingMode.MID), small_grid)

    assert result.value == pytest.approx(float(quote.mid) * 200.0, rel=1e-15)


def test_fitted_surface_with_flat_smile_recovers_the_flat_vol(mk, small_grid):
    snapshot = mk.make_snapshot(mk.MarketSpec(strikes=range(70, 135, 5)))
    trade = mk.version(mk.leg(mk.option(102.5, "C"), 1, "2"))

    result = evaluate(trade, snapshot, ModelConfig(vol_source=VolSource.FITTED_SURFACE), small_grid)

    assert result.legs[0].vol_source == "FITTED_SURFACE"
    assert result.legs[0].vol == pytest.approx(0.20, abs=2e-4)
    assert not result.warnings


def test_fitted_surface_with_too_few_quotes_falls_back_with_diagnostics(mk, small_grid):
    snapshot = mk.make_snapshot(mk.MarketSpec(strikes=(95, 100, 105)))
    trade = mk.version(mk.leg(mk.option(100, "C"), 1, "2"))

    result = evaluate(trade, snapshot, ModelConfig(vol_source=VolSource.FITTED_SURFACE), small_grid)

    codes = [w.code for w in result.warnings]
    assert "surface_fallback" in codes
    assert result.legs[0].status == "ok"
    assert result.legs[0].vol == pytest.approx(0.20, abs=1e-4)


def test_explicit_grid_dates_before_snapshot_are_dropped_with_error(mk, snapshot, config):
    grid = ScenarioGrid(
        spot_steps=5,
        vol_shifts=(0.0,),
        n_dates=None,
        dates=(mk.AS_OF.date() - timedelta(days=1), mk.EXPIRY),
    )
    trade = mk.version(mk.leg(mk.option(100, "C"), 1, "3"))

    result = evaluate(trade, snapshot, config, grid)

    assert [e.code for e in result.errors] == ["grid_date_before_snapshot"]
    assert len(result.dates) == 1
    np.testing.assert_allclose(result.spot_time_pl[0], result.expiry_pl, atol=1e-9)


def test_draft_identity_with_content_hash_matches_committed_version(
    mk, snapshot, config, small_grid
):
    draft = TradeDraft.from_version(mk.iron_condor())

    result = evaluate(draft, snapshot, config, small_grid)

    assert result.trade == {
        "type": "DRAFT",
        "name": "iron condor",
        "rev": 0,
        "content_hash": mk.iron_condor().trade_hash,
    }


def test_check_finite_json_with_nan_raises_naming_the_path():
    with pytest.raises(NonFiniteResultError, match=r"\$\.a\[1\]"):
        check_finite_json({"a": [1.0, float("nan")]})
    with pytest.raises(NonFiniteResultError):
        check_finite_json({"a": Decimal("1")})


def test_discrete_dividend_with_escrowed_quotes_recovers_the_quote_vol(mk, config, grid):
    from riskdesk.domain.market import DiscreteDividend

    ex_date = date(2025, 2, 3)
    spec = mk.MarketSpec(dividends={"XYZ": (DiscreteDividend(ex_date, Decimal("1.50")),)})
    snapshot = mk.make_snapshot(spec)
    trade = mk.version(mk.leg(mk.option(100, "C"), 1, "2"), mk.leg(mk.option(95, "P"), -1, "1"))

    result = evaluate(trade, snapshot, config, grid)

    assert [leg.vol for leg in result.legs] == pytest.approx([0.20, 0.20], abs=1e-5)
    assert result.spot_time_pl[0, 20] == pytest.approx(result.pl_open, abs=1e-9)
    np.testing.assert_allclose(result.spot_time_pl[-1], result.expiry_pl, atol=1e-9)
    no_dividend = evaluate(trade, mk.make_snapshot(), config, grid)
    prices = {leg.label: leg.price for leg in result.legs}
    before = {leg.label: leg.price for leg in no_dividend.legs}
    assert prices["+1 XYZ:20250221:100:C @ 2"] < before["+1 XYZ:20250221:100:C @ 2"]
    assert prices["-1 XYZ:20250221:95:P @ 1"] > before["-1 XYZ:20250221:95:P @ 1"]
    assert mk.finite_everywhere(result.to_json_dict())


def test_dividends_with_value_above_spot_exclude_leg_and_crash_grid_stays_finite(mk, config):
    from riskdesk.domain.market import DiscreteDividend

    huge = {"XYZ": (DiscreteDividend(date(2025, 2, 3), Decimal("150")),)}
    snapshot = mk.make_snapshot(mk.MarketSpec(expiries=(mk.EXPIRY_2,)))
    snapshot = dataclasses.replace(
        snapshot, overrides=dataclasses.replace(snapshot.overrides, dividends=huge)
    )
    trade = mk.version(mk.leg(mk.option(100, "C", expiry=mk.EXPIRY_2), 1, "3"))

    excluded = evaluate(
        trade, snapshot, config, ScenarioGrid(spot_steps=5, vol_shifts=(0.0,), n_dates=2)
    )

    assert [(w.code, w.leg) for w in excluded.warnings] == [("dividends_exceed_spot", "leg0")]

    small = {"XYZ": (DiscreteDividend(date(2025, 2, 3), Decimal("3")),)}
    spec = mk.MarketSpec(expiries=(mk.EXPIRY_2,), dividends=small)
    crash = ScenarioGrid(
        spot_range_kind=SpotRangeKind.PERCENT,
        spot_min=-99.0,
        spot_max=10.0,
        spot_steps=12,
        vol_shifts=(0.0,),
        n_dates=3,
    )

    result = evaluate(trade, mk.make_snapshot(spec), config, crash)

    assert result.legs[0].status == "ok"
    assert mk.finite_everywhere(result.to_json_dict())
