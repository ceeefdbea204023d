"""Stress engine: each expected number is computed independently in the test."""

from __future__ import annotations

import json
import math
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from riskdesk.domain.instruments import (
    ExerciseStyle,
    OptionContract,
    OptionRight,
    Settlement,
    Stock,
)
from riskdesk.domain.timeutil import expiry_datetime, year_fraction
from riskdesk.pricing import price
from riskdesk.risk.marks import Marks, MarkStatus
from riskdesk.risk.positions import BookPosition
from riskdesk.risk.stress import (
    RATE_FACTOR,
    FactorCorrelation,
    Scenario,
    ScenarioError,
    SpotVolRule,
    StressConfig,
    load_scenario_file,
    propagate_shocks,
    run_stress,
    scenario_from_dict,
    severity_band,
)

WHEN = datetime(2026, 11, 20, 21, 0, tzinfo=UTC)
ENTRY = date(2026, 9, 1)
SEED_KEYS = {
    "market_up_10": {"Market": 0.10},
    "market_down_10": {"Market": -0.10},
    "market_crash_35": {"Market": -0.35},
    "market_rally_25": {"Market": 0.25},
    "rates_up_25bp": {RATE_FACTOR: 0.0025},
    "rates_down_25bp": {RATE_FACTOR: -0.0025},
    "rates_up_100bp": {RATE_FACTOR: 0.01},
    "rates_down_100bp": {RATE_FACTOR: -0.01},
    "rate_spike_300bp": {RATE_FACTOR: 0.03},
    "value_rotation_20": {"Value": 0.20, "Growth": -0.10},
    "growth_rally_15": {"Growth": 0.15, "Momentum": 0.10},
    "small_cap_outperformance_10": {"Size": 0.10},
    "quality_flight_12": {"Quality": 0.12, "Market": -0.05},
    "vix_spike_150": {"Low Volatility": -0.25, "Market": -0.15},
    "liquidity_crisis": {"Market": -0.20, "Low Volatility": -0.30, "Quality": 0.15, "Size": -0.10},
    "financial_crisis_2008": {
        "Market": -0.45,
        "Value": -0.30,
        "Size": -0.25,
        "Quality": 0.20,
        "Low Volatility": -0.35,
    },
    "covid_crash_2020": {
        "Market": -0.35,
        "Growth": 0.15,
        "Value": -0.40,
        "Size": -0.30,
        "Quality": 0.10,
    },
    "dotcom_crash_2000": {
        "Market": -0.45,
        "Growth": -0.60,
        "Value": 0.20,
        "Momentum": -0.50,
        "Quality": 0.15,
    },
}


def _stock(symbol: str, qty: int, px: str = "100") -> BookPosition:
    return BookPosition(symbol, Stock(symbol), Decimal(qty), Decimal(px), ENTRY)


def _option(
    underlying: str,
    right: OptionRight,
    strike: str,
    qty: int,
    *,
    style: ExerciseStyle = ExerciseStyle.EUROPEAN,
    expiry: date = date(2027, 1, 15),
) -> BookPosition:
    contract = OptionContract(
        underlying=underlying, expiry=expiry, strike=Decimal(strike), right=right, style=style
    )
    return BookPosition(f"{underlying}-{right}-{strike}", contract, Decimal(qty), Decimal(1), ENTRY)


def _scenario(key: str, shocks: dict[str, float], **extra: Any) -> Scenario:
    data = {
        "key": key,
        "name": key,
        "description": "test scenario",
        "category": "custom",
        "severity": "moderate",
        "shocks": shocks,
        **extra,
    }
    return scenario_from_dict(data)


def _seed(key: str) -> Scenario:
    return next(s for s in load_scenario_file().scenarios if s.key == key)


def _years(expiry: date) -> float:
    return year_fraction(WHEN, expiry_datetime(expiry, settlement=Settlement.PM))


def _bs(
    S: float,
    K: float,
    sigma: float,
    *,
    is_call: bool,
    r: float = 0.04,
    american: bool = False,
    expiry: date = date(2027, 1, 15),
) -> float:
    """The pricing core's price of one option unit (independent of the stress engine)."""
    if american:
        return float(
            price(
                model="american",
                engine="bjerksund_stensland_2002",
                S=S,
                K=K,
                T=_years(expiry),
                r=r,
                q=0.0,
                sigma=sigma,
                is_call=is_call,
            )
        )
    return float(
        price(model="bsm", S=S, K=K, T=_years(expiry), r=r, q=0.0, sigma=sigma, is_call=is_call)
    )


def _corr(rho: float, vols: tuple[float, float] | None = None) -> FactorCorrelation:
    return FactorCorrelation(
        ("Market", "Value"),
        np.array([[1.0, rho], [rho, 1.0]]),
        None if vols is None else np.array(vols),
    )


def test_run_stress_with_beta_1_2_stock_market_down_10_loses_value_times_beta_times_shock() -> None:
    book = [_stock("AAA", 100)]
    marks = Marks(WHEN, spots={"AAA": 100.0})

    report = run_stress(
        book, marks, [_seed("market_down_10")], betas={"AAA": {"Market": 1.2}}, propagate=False
    )

    res = report.results[0]
    assert res.pnl == pytest.approx(10_000 * 1.2 * -0.10)
    assert res.direct_pnl == pytest.approx(-1_200.0)
    assert res.correlated_pnl == 0.0
    assert res.implied_shocks == {}
    assert res.pnl_by_underlying == {"AAA": pytest.approx(-1_200.0)}
    assert res.impact == pytest.approx(-0.12)
    assert res.severity == "moderate"


def test_run_stress_with_two_factor_correlation_adds_hand_computed_correlated_term() -> None:
    book = [_stock("AAA", 100)]
    marks = Marks(WHEN, spots={"AAA": 100.0})
    betas = {"AAA": {"Market": 1.2, "Value": 0.4}}

    report = run_stress(book, marks, [_seed("market_down_10")], betas=betas, correlation=_corr(0.5))

    res = report.results[0]
    v = 10_000.0
    direct = v * 1.2 * -0.10
    correlated = v * 0.4 * -0.10 * 0.5  # V x beta_f x shock_s x rho(s, f)
    assert res.implied_shocks == {"Value": pytest.approx(-0.05)}
    assert res.direct_pnl == pytest.approx(direct)
    assert res.correlated_pnl == pytest.approx(correlated)
    assert res.pnl == pytest.approx(direct + correlated)
    assert res.factor_shocks == {"Market": -0.10, "Value": pytest.approx(-0.05)}


def test_propagate_shocks_with_correlation_above_clamp_uses_0_95() -> None:
    implied = propagate_shocks({"Market": -0.10}, _corr(0.99))

    assert implied == {"Value": pytest.approx(0.95 * -0.10)}


def test_run_stress_with_correlation_above_clamp_correlated_pnl_uses_0_95() -> None:
    book = [_stock("AAA", 100)]
    marks = Marks(WHEN, spots={"AAA": 100.0})

    report = run_stress(
        book,
        marks,
        [_seed("market_down_10")],
        betas={"AAA": {"Market": 1.2, "Value": 0.4}},
        correlation=_corr(-0.999),
    )

    assert report.results[0].correlated_pnl == pytest.approx(10_000 * 0.4 * -0.10 * -0.95)


def test_propagate_shocks_with_factor_vols_scales_by_vol_ratio() -> None:
    implied = propagate_shocks({"Market": -0.10}, _corr(0.5, vols=(0.01, 0.02)))

    assert implied == {"Value": pytest.approx(0.5 * (0.02 / 0.01) * -0.10)}


def test_propagate_shocks_with_shocked_factor_keeps_its_own_shock() -> None:
    implied = propagate_shocks({"Market": -0.10, "Value": 0.02}, _corr(0.9))

    assert implied == {}


def test_propagate_shocks_without_vols_keeps_rate_factor_out() -> None:
    corr = FactorCorrelation(("Market", RATE_FACTOR), np.array([[1.0, 0.4], [0.4, 1.0]]), None)

    assert propagate_shocks({"Market": -0.35}, corr) == {}
    assert propagate_shocks({RATE_FACTOR: 0.01}, corr) == {}


def test_propagate_shocks_with_vols_moves_rate_factor_by_regression() -> None:
    corr = FactorCorrelation(
        ("Market", RATE_FACTOR), np.array([[1.0, 0.4], [0.4, 1.0]]), np.array([0.012, 0.0006])
    )

    implied = propagate_shocks({"Market": -0.10}, corr)

    assert implied == {RATE_FACTOR: pytest.approx(0.4 * 0.0006 / 0.012 * -0.10)}


@pytest.mark.parametrize("style", [ExerciseStyle.EUROPEAN, ExerciseStyle.AMERICAN])
def test_run_stress_with_long_put_in_crash_gains_full_repricing_value(
    style: ExerciseStyle,
) -> None:
    book = [_option("AAA", OptionRight.PUT, "95", 2, style=style)]
    marks = Marks(WHEN, spots={"AAA": 100.0}, vols={"AAA": 0.25}, rate=0.04)

    report = run_stress(
        book, marks, [_seed("market_crash_35")], betas={"AAA": {"Market": 1.0}}, propagate=False
    )

    american = style is ExerciseStyle.AMERICAN
    before = _bs(100.0, 95.0, 0.25, is_call=False, american=american)
    shocked_vol = 0.25 * (1 - 3.0 * -0.35)  # the default spot-vol rule, k = 3
    after = _bs(65.0, 95.0, shocked_vol, is_call=False, american=american)
    t = _years(date(2027, 1, 15))
    assert after > 95.0 * math.exp(-0.04 * t) - 65.0  # above the no-arbitrage bound
    assert report.results[0].pnl == pytest.approx((after - before) * 200, rel=1e-10)
    assert report.results[0].pnl > 0


def test_run_stress_with_sticky_strike_rule_keeps_vol() -> None:
    book = [_option("AAA", OptionRight.CALL, "100", 1)]
    marks = Marks(WHEN, spots={"AAA": 100.0}, vols={"AAA": 0.25}, rate=0.04)

    report = run_stress(
        book,
        marks,
        [_seed("market_down_10")],
        betas={"AAA": {"Market": 1.0}},
        propagate=False,
        spot_vol=SpotVolRule(k=0.0),
    )

    expected = _bs(90.0, 100.0, 0.25, is_call=True) - _bs(100.0, 100.0, 0.25, is_call=True)
    assert report.results[0].pnl == pytest.approx(expected * 100, rel=1e-10)


def test_run_stress_with_vix_spike_vol_shock_replaces_spot_vol_rule() -> None:
    book = [_option("AAA", OptionRight.CALL, "100", 1)]
    marks = Marks(WHEN, spots={"AAA": 100.0}, vols={"AAA": 0.20}, rate=0.04)

    report = run_stress(
        book, marks, [_seed("vix_spike_150")], betas={"AAA": {"Market": 1.0}}, propagate=False
    )

    expected = _bs(85.0, 100.0, 0.20 * 2.5, is_call=True) - _bs(100.0, 100.0, 0.20, is_call=True)
    assert report.results[0].pnl == pytest.approx(expected * 100, rel=1e-10)


def test_run_stress_with_rates_up_100bp_hits_tlt_by_duration_and_option_by_rho() -> None:
    book = [_stock("TLT", 100, "90"), _option("AAA", OptionRight.CALL, "100", 1)]
    marks = Marks(WHEN, spots={"TLT": 90.0, "AAA": 100.0}, vols={"AAA": 0.25}, rate=0.04)
    betas = {"TLT": {RATE_FACTOR: -17.0}, "AAA": {"Market": 1.0}}

    report = run_stress(book, marks, [_seed("rates_up_100bp")], betas=betas, correlation=_corr(0.3))

    res = report.results[0]
    assert res.pnl_by_position[0] == pytest.approx(9_000.0 * -17.0 * 0.01)
    rho_pnl = _bs(100.0, 100.0, 0.25, is_call=True, r=0.05) - _bs(
        100.0, 100.0, 0.25, is_call=True, r=0.04
    )
    assert rho_pnl > 0
    assert res.pnl_by_position[1] == pytest.approx(rho_pnl * 100, rel=1e-10)
    assert res.pnl == pytest.approx(-1_530.0 + rho_pnl * 100)
    assert _seed("rates_up_100bp").rate_shift_bp == pytest.approx(100.0)


def test_run_stress_with_zero_net_long_short_book_still_has_stress_pnl() -> None:
    book = [_stock("AAA", 100), _stock("BBB", -100)]
    marks = Marks(WHEN, spots={"AAA": 100.0, "BBB": 100.0})
    betas = {"AAA": {"Market": 1.2}, "BBB": {"Market": 0.5}}

    report = run_stress(book, marks, [_seed("market_down_10")], betas=betas, propagate=False)

    res = report.results[0]
    assert report.net_value == 0.0
    assert report.gross_value == pytest.approx(20_000.0)
    assert report.long_value == pytest.approx(10_000.0)
    assert report.short_value == pytest.approx(-10_000.0)
    assert res.pnl == pytest.approx(-1_200.0 + 500.0)
    assert res.impact == pytest.approx(-700.0 / 20_000.0)
    assert res.pnl_by_underlying == {"AAA": pytest.approx(-1_200.0), "BBB": pytest.approx(500.0)}


def test_run_stress_with_return_beyond_loss_cap_floors_long_loss_at_99_percent() -> None:
    book = [_stock("AAA", 100), _option("AAA", OptionRight.CALL, "200", 1)]
    marks = Marks(WHEN, spots={"AAA": 100.0}, vols={"AAA": 0.25})

    report = run_stress(
        book,
        marks,
        [_seed("financial_crisis_2008")],
        betas={"AAA": {"Market": 3.0}},
        propagate=False,
    )

    res = report.results[0]
    assert res.pnl_by_position[0] == pytest.approx(-0.99 * 10_000.0)
    base_call = _bs(100.0, 200.0, 0.25, is_call=True)
    assert res.pnl_by_position[1] == pytest.approx(-0.99 * base_call * 100)
    assert res.capped_positions == (1,)


def test_run_stress_with_short_call_in_rally_is_not_capped() -> None:
    book = [_option("AAA", OptionRight.CALL, "110", -1)]
    marks = Marks(WHEN, spots={"AAA": 100.0}, vols={"AAA": 0.25})

    report = run_stress(
        book, marks, [_seed("market_rally_25")], betas={"AAA": {"Market": 1.0}}, propagate=False
    )

    base_value = -_bs(100.0, 110.0, 0.25, is_call=True) * 100
    assert report.results[0].pnl < 0.99 * base_value  # loses more than its |value|
    assert report.results[0].capped_positions == ()


def test_run_stress_with_expired_and_unmarked_positions_lists_them_excluded() -> None:
    gone = _option("AAA", OptionRight.CALL, "90", 1, expiry=date(2026, 10, 16))
    book = [_stock("AAA", 100), gone, _stock("ZZZ", 10)]
    marks = Marks(WHEN, spots={"AAA": 100.0}, vols={"AAA": 0.25})

    report = run_stress(
        book, marks, [_seed("market_down_10")], betas={"AAA": {"Market": 1.0}}, propagate=False
    )

    assert [(e.index, e.status) for e in report.excluded] == [
        (1, MarkStatus.EXPIRED),
        (2, MarkStatus.NO_SPOT),
    ]
    res = report.results[0]
    assert math.isnan(res.pnl_by_position[1])
    assert math.isnan(res.pnl_by_position[2])
    assert res.pnl == pytest.approx(-1_000.0)
    assert report.gross_value == pytest.approx(10_000.0)
    assert report.unmapped_underlyings == ("ZZZ",)


def test_load_scenario_file_with_packaged_copy_has_every_seed_scenario_and_config() -> None:
    loaded = load_scenario_file()

    assert {s.key: dict(s.shocks) for s in loaded.scenarios} == SEED_KEYS
    assert loaded.config == StressConfig()
    assert loaded.factor_proxies["Market"] == "SPY"
    sev = {s.key: s.severity for s in loaded.scenarios}
    assert sev["rates_up_25bp"] == "mild"
    assert sev["dotcom_crash_2000"] == "extreme"


def test_run_stress_with_every_packaged_scenario_gives_finite_results() -> None:
    loaded = load_scenario_file()
    rng = np.random.default_rng(7)
    factors = ("Market", "Value", "Growth", "Momentum", "Quality", "Size", "Low Volatility")
    common = rng.normal(0, 0.01, (300, 1))
    returns = common + rng.normal(0, 0.005, (300, len(factors)))
    corr = FactorCorrelation.from_returns(factors, returns)
    book = [
        _stock("AAA", 100),
        _stock("BBB", -50),
        _stock("TLT", 100, "90"),
        _option("AAA", OptionRight.PUT, "95", 3, style=ExerciseStyle.AMERICAN),
        _option("BBB", OptionRight.CALL, "105", -2),
    ]
    marks = Marks(
        WHEN, spots={"AAA": 100.0, "BBB": 100.0, "TLT": 90.0}, vols={"AAA": 0.3, "BBB": 0.35}
    )
    betas = {
        "AAA": {"Market": 1.1, "Growth": 0.3, "Momentum": 0.2},
        "BBB": {"Market": 0.9, "Value": 0.4, "Size": 0.3, "Low Volatility": 0.2},
        "TLT": {RATE_FACTOR: -17.0, "Quality": 0.1},
    }

    report = run_stress(book, marks, loaded.scenarios, betas=betas, correlation=corr)

    assert len(report.results) == 18
    for res in report.results:
        assert math.isfinite(res.pnl)
        assert res.pnl == pytest.approx(res.direct_pnl + res.correlated_pnl)
        assert res.pnl == pytest.approx(float(np.sum(res.pnl_by_position)))
        assert res.pnl == pytest.approx(sum(res.pnl_by_underlying.values()))
        assert res.severity == severity_band(res.pnl / report.gross_value)
    for key in ("rates_up_25bp", "rates_down_25bp", "rates_up_100bp", "rate_spike_300bp"):
        assert report.result(key).pnl_by_underlying["TLT"] != 0.0
    assert report.result("rate_spike_300bp").pnl_by_underlying["TLT"] == pytest.approx(
        9_000.0 * -17.0 * 0.03
    )
    # Propagation reaches AAA's growth beta in a value-led scenario.
    assert report.result("small_cap_outperformance_10").correlated_pnl != 0.0


def test_factor_correlation_from_returns_matches_numpy_weighted_cov() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(0, 0.01, (400, 3))
    x[:, 1] += 0.8 * x[:, 0]

    corr = FactorCorrelation.from_returns(("A", "B", "C"), x, decay=0.94, lookback=252)

    window = x[-252:]
    weights = 0.94 ** np.arange(251, -1, -1)
    cov = np.cov(window.T, aweights=weights, bias=True)
    sd = np.sqrt(np.diag(cov))
    np.testing.assert_allclose(corr.matrix, cov / np.outer(sd, sd), rtol=1e-10)
    assert corr.vols is not None
    np.testing.assert_allclose(corr.vols, sd, rtol=1e-10)


@pytest.mark.parametrize(
    ("impact", "band"),
    [
        (0.0, "mild"),
        (-0.0499, "mild"),
        (0.05, "moderate"),
        (-0.1499, "moderate"),
        (-0.15, "severe"),
        (0.3499, "severe"),
        (-0.35, "extreme"),
        (-2.0, "extreme"),
    ],
)
def test_severity_band_with_impact_returns_seed_band(impact: float, band: str) -> None:
    assert severity_band(impact) == band


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"shocks": {"Oil": 0.05}}, "shocks.Oil"),
        ({"shocks": {"Market": "abc"}}, "shocks.Market"),
        ({"shocks": {"Market": -1.5}}, "shocks.Market"),
        ({"shocks": {"Market": float("nan")}}, "shocks.Market"),
        ({"shocks": {RATE_FACTOR: 0.5}}, "shocks.Interest_Rate"),
        ({"shocks": {}}, "shocks"),
        ({"severity": "catastrophic"}, "severity"),
        ({"category": "weather"}, "category"),
        ({"name": ""}, "name"),
        ({"key": "Bad Key"}, "key"),
        ({"vol_shock": -2.0}, "vol_shock"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_scenario_from_dict_with_bad_field_names_the_field(
    change: dict[str, Any], field: str
) -> None:
    data: dict[str, Any] = {
        "key": "my_scenario",
        "name": "Mine",
        "description": "A user scenario",
        "category": "custom",
        "severity": "mild",
        "shocks": {"Market": -0.05},
    }
    data.update(change)

    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(data)

    assert info.value.field == field
    assert str(info.value).startswith(f"{field}: ")


def test_scenario_from_dict_with_user_factor_list_accepts_it() -> None:
    scenario = scenario_from_dict(
        {
            "key": "oil_up_5",
            "name": "Oil up 5%",
            "description": "Oil rises 5%",
            "category": "custom",
            "severity": "mild",
            "shocks": {"Oil": 0.05},
        },
        factors={"Oil", "Market"},
    )

    assert scenario.shocks == {"Oil": 0.05}


def test_load_scenario_file_with_bad_or_duplicate_scenario_names_its_position(
    tmp_path: Path,
) -> None:
    good = {
        "key": "a",
        "name": "A",
        "description": "d",
        "category": "market",
        "severity": "mild",
        "shocks": {"Market": 0.01},
    }
    bad_file = tmp_path / "bad.json"
    bad_file.write_text(json.dumps({"scenarios": [good, {**good, "key": "b", "severity": "x"}]}))
    dup_file = tmp_path / "dup.json"
    dup_file.write_text(json.dumps({"scenarios": [good, good]}))

    with pytest.raises(ScenarioError) as bad:
        load_scenario_file(bad_file)
    with pytest.raises(ScenarioError) as dup:
        load_scenario_file(dup_file)

    assert bad.value.field == "scenarios[1].severity"
    assert dup.value.field == "scenarios[1].key"


def test_run_stress_with_propagation_and_no_correlation_raises() -> None:
    with pytest.raises(ValueError, match="needs a factor correlation"):
        run_stress(
            [_stock("AAA", 1)],
            Marks(WHEN, spots={"AAA": 100.0}),
            [_seed("market_down_10")],
            betas={},
        )
