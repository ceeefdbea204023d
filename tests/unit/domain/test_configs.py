from __future__ import annotations

from datetime import UTC, date, datetime
from typing import get_args

import numpy as np
import pytest

from riskdesk.domain.configs import (
    AmericanEngine,
    AmericanModel,
    DayCount,
    EngineName,
    ModelConfig,
    PricingModel,
    ScenarioGrid,
    SpotRangeKind,
    ThetaConvention,
    TimeBasis,
    VolSource,
)
from riskdesk.domain.hashing import canonical_json
from riskdesk.domain.instruments import ExerciseStyle


def test_model_config_with_defaults_has_documented_canonical_form():
    assert canonical_json(ModelConfig().to_dict()) == (
        '{"american_engine":"bjerksund_stensland_2002","american_model":"american",'
        '"day_count":"ACT/365F","european_model":"bsm","iv_price_source":"mid",'
        '"pricing_mode":"model","theta_convention":"calendar_day","time_basis":"calendar",'
        '"unknown_style_as":"AMERICAN","vol_source":"MID_IV"}'
    )


def test_model_config_hash_with_equal_settings_is_equal_and_with_changes_differs():
    a = ModelConfig()
    b = ModelConfig(american_engine="bjerksund_stensland_2002")  # type: ignore[arg-type]

    assert a.model_config_hash == b.model_config_hash
    assert b.american_engine is AmericanEngine.BJERKSUND_STENSLAND_2002
    others = {
        ModelConfig(american_engine=AmericanEngine.HIGH_ACCURACY).model_config_hash,
        ModelConfig(vol_source=VolSource.FITTED_SURFACE).model_config_hash,
        ModelConfig(time_basis=TimeBasis.TRADING).model_config_hash,
        ModelConfig(theta_convention=ThetaConvention.TRADING_DAY).model_config_hash,
    }
    assert len(others) == 4
    assert a.model_config_hash not in others


def test_model_config_with_dict_round_trip_is_identical():
    config = ModelConfig(vol_source=VolSource.FITTED_SURFACE, time_basis=TimeBasis.TRADING)

    assert ModelConfig.from_dict(config.to_dict()) == config


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"american_engine": "crr"}, "american_engine"),
        ({"day_count": "ACT/360"}, "day_count"),
        ({"unknown_style_as": ExerciseStyle.UNKNOWN}, "unknown_style_as"),
        ({"vol_source": "SURFACE"}, "vol_source"),
    ],
)
def test_model_config_with_invalid_setting_raises_naming_field(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ModelConfig(**kwargs)


def test_model_config_model_for_with_each_style_picks_model_and_engine():
    config = ModelConfig()

    assert config.model_for(ExerciseStyle.EUROPEAN) == ("bsm", None)
    assert config.model_for(ExerciseStyle.AMERICAN) == ("american", "bjerksund_stensland_2002")
    assert config.model_for(ExerciseStyle.UNKNOWN) == ("american", "bjerksund_stensland_2002")
    assert ModelConfig(american_model="bsm").model_for(ExerciseStyle.AMERICAN) == ("bsm", None)  # type: ignore[arg-type]


def test_scenario_grid_with_defaults_is_41_by_21_by_10():
    grid = ScenarioGrid()

    assert grid.shape == (41, 21, 10)
    assert grid.vol_shifts[0] == -10.0
    assert grid.vol_shifts[-1] == 10.0
    np.testing.assert_allclose(
        grid.spot_axis(100.0, ref_vol=0.2, horizon=0.25)[[0, 20, 40]],
        100.0 * np.exp(np.array([-3.0, 0.0, 3.0]) * 0.2 * 0.5),
    )


def test_scenario_grid_percent_with_20_pct_spans_80_to_120():
    grid = ScenarioGrid.percent(20.0)

    np.testing.assert_allclose(grid.spot_axis(100.0)[[0, 20, 40]], [80.0, 100.0, 120.0])


def test_scenario_grid_with_sigma_range_uses_ref_vol_and_horizon():
    grid = ScenarioGrid.sigma(3.0, spot_steps=3)

    axis = grid.spot_axis(100.0, ref_vol=0.2, horizon=0.25)

    np.testing.assert_allclose(axis, 100.0 * np.exp(np.array([-3.0, 0.0, 3.0]) * 0.1))
    with pytest.raises(ValueError, match="ref_vol"):
        grid.spot_axis(100.0)


def test_scenario_grid_shifted_vols_with_large_negative_shift_is_floored():
    grid = ScenarioGrid(vol_shifts=(-30.0, 0.0, 5.0))

    np.testing.assert_allclose(grid.shifted_vols(0.2), [ScenarioGrid.MIN_VOL, 0.2, 0.25])


def test_scenario_grid_with_dict_round_trip_keeps_hash():
    grids = [
        ScenarioGrid(),
        ScenarioGrid.sigma(2.0, spot_steps=21, vol_shifts=(-5.0, 0.0, 5.0)),
        ScenarioGrid(n_dates=None, dates=(date(2025, 2, 21), datetime(2025, 3, 1, 12, tzinfo=UTC))),
    ]
    for grid in grids:
        again = ScenarioGrid.from_dict(grid.to_dict())
        assert again == grid
        assert again.scenario_grid_hash == grid.scenario_grid_hash
    assert len({g.scenario_grid_hash for g in grids}) == 3


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"spot_min": 10.0, "spot_max": -10.0}, "spot_min"),
        ({"spot_min": -100.0}, "-100"),
        ({"spot_steps": 1}, "spot_steps"),
        ({"vol_shifts": ()}, "vol_shifts"),
        ({"vol_shifts": (1.0, 1.0)}, "unique"),
        ({"n_dates": None}, "exactly one"),
        ({"n_dates": 1}, "n_dates"),
        ({"spot_max": float("inf")}, "finite"),
        ({"spot_range_kind": "LOG"}, "spot_range_kind"),
        ({"n_dates": None, "dates": (datetime(2025, 1, 1),)}, "naive"),
    ],
)
def test_scenario_grid_with_invalid_axis_raises_naming_field(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ScenarioGrid(**kwargs)


def test_scenario_grid_kind_with_defaults_is_three_sigma():
    grid = ScenarioGrid()

    assert grid.spot_range_kind is SpotRangeKind.SIGMA
    assert (grid.spot_min, grid.spot_max) == (-3.0, 3.0)


def test_scenario_grid_default_axis_with_0dte_horizon_is_a_few_dollars_wide():
    spot, vol = 600.0, 0.15
    horizon = 6.5 / 24.0 / 365.0  # one session left

    axis = ScenarioGrid().spot_axis(spot, ref_vol=vol, horizon=horizon)

    width = axis[-1] - axis[0]
    expected = spot * (np.exp(3 * vol * np.sqrt(horizon)) - np.exp(-3 * vol * np.sqrt(horizon)))
    assert width == pytest.approx(expected, rel=1e-12)
    assert 5.0 < width < 20.0
    assert np.diff(axis).max() < 0.5  # steps of cents, not of $6


@pytest.mark.parametrize(
    "shifts",
    [(-200.0, -100.0, 0.0), (-100.0,), (0.0, 1e6), (0.0, float("nan")), (float("-inf"),)],
)
def test_scenario_grid_with_absurd_or_non_finite_vol_shift_raises_naming_field(shifts):
    with pytest.raises(ValueError, match=r"ScenarioGrid\.vol_shifts"):
        ScenarioGrid(vol_shifts=shifts)


def test_scenario_grid_with_sigma_range_beyond_bound_raises_pointing_to_percent():
    with pytest.raises(ValueError, match="spot_range_kind=PERCENT"):
        ScenarioGrid(spot_min=-20.0, spot_max=20.0)


def test_scenario_grid_floored_shifts_with_8_7_pct_wing_names_the_minus_10_shift():
    grid = ScenarioGrid(vol_shifts=(-10.0, -8.0, 0.0))

    assert grid.floored_shifts(0.087) == (-10.0,)
    assert grid.floored_shifts(0.2) == ()


def test_vol_source_with_legacy_raw_chain_iv_value_loads_as_mid_iv():
    assert VolSource("RAW_CHAIN_IV") is VolSource.MID_IV
    assert VolSource.RAW_CHAIN_IV is VolSource.MID_IV
    assert [s.value for s in VolSource] == ["MID_IV", "PROVIDER_IV", "FITTED_SURFACE"]
    legacy = ModelConfig.from_dict({"vol_source": "RAW_CHAIN_IV"})
    assert legacy == ModelConfig()
    assert ModelConfig(vol_source=VolSource.PROVIDER_IV).to_dict()["vol_source"] == "PROVIDER_IV"


def test_model_for_with_every_setting_returns_typed_model_and_engine_names() -> None:
    models = set(get_args(PricingModel))
    engines = set(get_args(EngineName))
    assert engines == {engine.value for engine in AmericanEngine}
    for american in AmericanModel:
        for engine in AmericanEngine:
            config = ModelConfig(american_model=american, american_engine=engine)
            for style in (ExerciseStyle.EUROPEAN, ExerciseStyle.AMERICAN):
                model, got = config.model_for(style)

                assert model in models
                if model == "bsm":
                    assert got is None
                else:
                    assert got in engines
    assert get_args(DayCount) == (ModelConfig().day_count,)
