from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np
import pytest

from riskdesk.domain.configs import (
    AmericanEngine,
    ModelConfig,
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
        '"unknown_style_as":"AMERICAN","vol_source":"RAW_CHAIN_IV"}'
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


def test_scenario_grid_kind_with_percent_default_is_percent():
    assert ScenarioGrid().spot_range_kind is SpotRangeKind.PERCENT
