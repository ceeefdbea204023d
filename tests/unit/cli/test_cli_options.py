"""Parsing of the CLI's numeric and model options, and atomic file output."""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path

import pytest
import typer

from riskdesk.cli import _common
from riskdesk.domain.configs import (
    AmericanModel,
    ModelConfig,
    PricingMode,
    ScenarioGrid,
    SpotRangeKind,
    ThetaConvention,
    TimeBasis,
    VolSource,
)


def _error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err  # one line
    return err


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("-200:0:100", "out of range"),
        ("-100,0", "out of range"),
        ("0:5000:1000", "out of range"),
        ("-10:10:1e-9", "at most 10,001"),
        ("1_0", "not a plain decimal"),
        ("nan", "not a plain decimal"),
        ("-5:5:0", "STEP must be > 0"),
        ("1:2", "START:STOP:STEP"),
    ],
)
def test_parse_vol_shifts_with_bad_text_exits_with_one_line(
    text: str, rule: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(typer.Exit):
        _common.parse_vol_shifts(text)
    assert rule in _error(capsys)


def test_parse_vol_shifts_with_range_includes_both_ends() -> None:
    assert _common.parse_vol_shifts("-10:10:5") == (-10.0, -5.0, 0.0, 5.0, 10.0)
    assert _common.parse_vol_shifts("-99.5,0,2") == (-99.5, 0.0, 2.0)


@pytest.mark.parametrize("text", ["nan", "inf", "1e308", "-1.5", "1_0", "\u0661"])
def test_parse_rate_with_non_rate_exits(text: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(typer.Exit):
        _common.parse_rate(text, "--rate")
    assert "--rate" in _error(capsys)


def test_parse_rate_with_plain_decimal_returns_float() -> None:
    assert _common.parse_rate("0.05", "--rate") == 0.05
    assert _common.parse_rate("-1", "--rate") == -1.0


def test_parse_symbol_map_with_infinite_borrow_exits(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(typer.Exit):
        _common.parse_symbol_map(["SPY=inf"], "--borrow")
    assert "--borrow SPY" in _error(capsys)
    assert _common.parse_symbol_map(["spy=0.013"], "--div-yield") == {"SPY": 0.013}


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("1e30", "too large"),
        ("1e-9", "9 decimal places"),
        ("1_000", "not a plain decimal"),
        ("\u0661", "not a plain decimal"),
        ("0", "non-zero"),
    ],
)
def test_parse_amount_with_unstorable_value_exits(
    text: str, rule: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(typer.Exit):
        _common.parse_amount(text, "--qty", nonzero=True)
    assert rule in _error(capsys)


def test_parse_whole_with_fraction_or_range_exits(capsys: pytest.CaptureFixture[str]) -> None:
    assert _common.parse_whole("15", "--minutes", low=1, high=60) == 15
    for text in ("1.5", "0", "61", "1_0"):
        with pytest.raises(typer.Exit):
            _common.parse_whole(text, "--minutes", low=1, high=60)
        assert "--minutes" in _error(capsys)


def test_model_config_with_every_option_matches_domain_config() -> None:
    config = _common.model_config_from_options(
        {
            "vol_source": "provider",
            "american_engine": "high_accuracy",
            "american_model": "european",
            "time_basis": "trading",
            "theta_convention": "trading",
            "iv_price_source": "mark",
            "pricing_mode": "mid",
            "unknown_style_as": "european",
        }
    )
    expected = ModelConfig(
        vol_source=VolSource.PROVIDER_IV,
        american_engine="high_accuracy",  # type: ignore[arg-type]
        american_model=AmericanModel.BSM,
        time_basis=TimeBasis.TRADING,
        theta_convention=ThetaConvention.TRADING_DAY,
        iv_price_source="mark",  # type: ignore[arg-type]
        pricing_mode=PricingMode.MID,
        unknown_style_as="EUROPEAN",  # type: ignore[arg-type]
    )
    assert config.model_config_hash == expected.model_config_hash


@pytest.mark.parametrize(
    ("name", "source"),
    [
        ("mid", VolSource.MID_IV),
        ("raw", VolSource.MID_IV),
        ("provider", VolSource.PROVIDER_IV),
        ("surface", VolSource.FITTED_SURFACE),
    ],
)
def test_model_config_with_vol_source_name_maps_to_enum(name: str, source: VolSource) -> None:
    assert _common.model_config_from_options(vol_source=name).vol_source is source


def test_model_config_with_no_option_is_domain_default() -> None:
    assert _common.model_config_from_options() == ModelConfig()


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("model.json", '{"american_model": "bsm", "time_basis": "trading"}'),
        ("model.toml", 'american_model = "bsm"\ntime_basis = "trading"\n'),
    ],
)
def test_model_config_with_file_reads_fields_and_options_override(
    tmp_path: Path, name: str, text: str
) -> None:
    path = tmp_path / name
    path.write_text(text)
    from_file = _common.model_config_from_options(config_file=path)
    assert from_file == ModelConfig(american_model=AmericanModel.BSM, time_basis=TimeBasis.TRADING)
    overridden = _common.model_config_from_options({"time_basis": "calendar"}, config_file=path)
    assert overridden == ModelConfig(american_model=AmericanModel.BSM)


def test_model_config_with_unknown_file_keys_exits_naming_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "model.json"
    path.write_text('{"american_model": "bsm", "engine": "x", "vols": "y"}')
    with pytest.raises(typer.Exit):
        _common.model_config_from_options(config_file=path)
    err = _error(capsys)
    assert "unknown key(s) engine, vols" in err
    assert str(path) in err


def test_model_config_with_bad_file_value_exits(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "model.toml"
    path.write_text('time_basis = "lunar"\n')
    with pytest.raises(typer.Exit):
        _common.model_config_from_options(config_file=path)
    assert "time_basis" in _error(capsys)


def test_grid_with_no_option_follows_domain_default() -> None:
    grid = _common.grid_from_options(
        spot_range=None, sigmas=None, spot_steps=None, vol_shifts=None, dates=None
    )
    assert grid == ScenarioGrid()


def test_grid_with_spot_range_or_sigmas_uses_that_axis() -> None:
    pct = _common.grid_from_options(
        spot_range="10", sigmas=None, spot_steps="21", vol_shifts="-5,0,5", dates="3"
    )
    assert pct == ScenarioGrid(
        spot_range_kind=SpotRangeKind.PERCENT,
        spot_min=-10.0,
        spot_max=10.0,
        spot_steps=21,
        vol_shifts=(-5.0, 0.0, 5.0),
        n_dates=3,
    )
    sig = _common.grid_from_options(
        spot_range=None, sigmas="2", spot_steps=None, vol_shifts=None, dates=None
    )
    assert sig == ScenarioGrid.sigma(2.0)


def test_atomic_output_with_success_replaces_file_keeping_its_mode(tmp_path: Path) -> None:
    target = tmp_path / "chain.csv"
    target.write_text("old")
    target.chmod(0o640)
    old_inode = target.stat().st_ino
    with _common.atomic_output(target) as tmp:
        assert tmp.parent == tmp_path
        assert tmp.suffix == ".csv"
        tmp.write_text("new")
        assert target.read_text() == "old"  # nothing visible before the rename
    assert target.read_text() == "new"
    assert target.stat().st_ino != old_inode  # renamed over, not rewritten in place
    assert target.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["chain.csv"]


def test_atomic_output_with_error_leaves_old_file_and_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "chain.csv"
    target.write_text("old")

    def half_written() -> None:
        with _common.atomic_output(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        half_written()
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["chain.csv"]


def test_fail_on_result_errors_with_errors_exits_with_first_code(
    capsys: pytest.CaptureFixture[str],
) -> None:
    _common.fail_on_result_errors([], "the evaluation")  # no errors: returns
    with pytest.raises(typer.Exit):
        _common.fail_on_result_errors(
            [{"code": "no_valued_legs", "message": "no leg"}, {"code": "x", "message": "y"}],
            "the evaluation",
        )
    err = _error(capsys)
    assert "no_valued_legs" in err
    assert "1 more" in err


def test_parse_amount_with_minimum_refuses_negative_price(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert _common.parse_amount("0", "--price", minimum=Decimal(0)) == 0
    with pytest.raises(typer.Exit):
        _common.parse_amount("-1", "--price", minimum=Decimal(0))
    assert "--price must be >= 0" in _error(capsys)
