"""``riskdesk risk factors|correlation|stress`` through typer's runner on a migrated SQLite file
with a book imported and a synthetic history (factors included) generated through the CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from riskdesk.cli.main import app as main_app
from riskdesk.cli.risk import app
from riskdesk.risk.factors import FACTOR_NAMES

ON = "2026-11-20"


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    folder = tmp_path_factory.mktemp("risk-cli")
    url = f"sqlite:///{folder / 'cli.sqlite3'}"

    def run(*args: str) -> None:
        result = CliRunner().invoke(main_app, [*args, "--database-url", url])
        assert result.exit_code == 0, result.output

    run("db", "upgrade")
    run("portfolio", "create", "main")
    book = folder / "book.csv"
    book.write_text(
        "ticker,quantity,entry_price,entry_date,tags\n"
        "AAPL,100,200,2026-01-05,core\n"
        "MSFT,-20,400,2026-01-05,\n"
        "AAPL261218C00230000,2,6,2026-01-05,spread\n"
        "AAPL261218C00245000,-2,2,2026-01-05,spread\n",
        encoding="utf-8",
    )
    run("portfolio", "import", str(book), "--portfolio", "main", "--today", ON)
    run(
        "history", "synth", "--symbols", "AAPL,MSFT", "--include-factors", "--seed", "4",
        "--end", ON, "--days", "170",
    )  # fmt: skip
    return url


def run_json(db: str, *args: str) -> Any:
    result = CliRunner().invoke(app, [*args, "--database-url", db, "--json"])
    assert result.exit_code == 0, f"{args}: {result.output}"
    return json.loads(result.stdout)


def test_risk_factors_with_json_prints_exposures_betas_and_risk(db: str) -> None:
    data = run_json(db, "factors", "main", "--date", ON)

    assert data["factors"] == list(FACTOR_NAMES)
    assert [e["factor"] for e in data["exposures"]] == list(FACTOR_NAMES)
    assert {b["underlying"] for b in data["betas"]} == {"AAPL", "MSFT"}
    assert data["stored"]["position_factor_betas"] == 4 * len(FACTOR_NAMES)
    assert isinstance(data["exposures"][0]["dollars"], str)
    assert float(data["risk"]["factor_percent"]) + float(data["risk"]["specific_percent"]) == (
        pytest.approx(100.0, abs=1e-3)
    )


def test_risk_correlation_with_json_prints_matrix_and_scores(db: str) -> None:
    data = run_json(db, "correlation", "main", "--date", ON, "--window", "60")

    assert data["window"] == 60
    assert len(data["matrix"]) == len(data["positions"]) == 4
    assert data["matrix"][0][0] == 1.0
    assert data["effective_positions"] > 1.0
    assert data["stored"] == 6


def test_risk_stress_with_json_and_scenarios_prints_each_scenario(db: str) -> None:
    data = run_json(
        db, "stress", "main", "--date", ON, "--scenario", "market_crash_35",
        "--scenario", "rates_up_100bp", "--no-propagation",
    )  # fmt: skip

    assert [s["key"] for s in data["scenarios"]] == ["market_crash_35", "rates_up_100bp"]
    assert data["propagated"] is False
    crash = data["scenarios"][0]
    assert crash["correlated_pnl"] == "0.00"
    assert float(crash["pnl"]) < 0
    assert set(crash["pnl_by_underlying"]) == {"AAPL", "MSFT"}


def test_risk_stress_without_json_prints_table(db: str) -> None:
    result = CliRunner().invoke(app, ["stress", "main", "--date", ON, "--database-url", db])

    assert result.exit_code == 0, result.output
    assert "market_crash_35" in result.output
    assert "severity" in result.output


def test_risk_stress_with_unknown_scenario_fails_with_one_line(db: str) -> None:
    result = CliRunner().invoke(
        app, ["stress", "main", "--date", ON, "--scenario", "nope", "--database-url", db]
    )

    assert result.exit_code == 1
    assert "unknown scenario nope" in result.output


def test_risk_factors_with_short_window_fails_with_one_line(db: str) -> None:
    result = CliRunner().invoke(
        app, ["factors", "main", "--date", ON, "--window", "20", "--database-url", db]
    )

    assert result.exit_code == 1
    assert "window must be" in result.output


def test_risk_var_with_json_prints_every_method_level_and_horizon(db: str) -> None:
    data = run_json(db, "var", "main", "--date", ON, "--window", "100")

    for method in ("historical", "delta_gamma_normal", "monte_carlo"):
        cells = {(f["confidence"], f["horizon_days"]) for f in data[method]}
        assert cells == {(0.95, 1), (0.95, 10), (0.99, 1), (0.99, 10)}
        assert all(float(f["es"]) >= float(f["var"]) for f in data[method])


def test_risk_backtest_with_json_prints_both_tests(db: str) -> None:
    data = run_json(
        db,
        "backtest",
        "main",
        "--date",
        ON,
        "--window",
        "60",
        "--days",
        "60",
        "--confidence",
        "0.95",
    )

    assert data["days"] == 60
    assert 0.0 <= data["kupiec"]["p_value"] <= 1.0
    assert "p_conditional_coverage" in data["christoffersen"]


def test_risk_stress_with_scenario_file_runs_user_scenarios_like_packaged_ones(
    db: str, tmp_path: Path
) -> None:
    from riskdesk.risk.stress import load_scenario_file

    crash = next(s for s in load_scenario_file().scenarios if s.key == "market_crash_35")
    mine = {
        "key": "my_crash",
        "name": "My crash",
        "description": "the packaged -35% crash under another name",
        "category": crash.category,
        "severity": crash.severity,
        "shocks": dict(crash.shocks),
    }
    path = tmp_path / "mine.json"
    path.write_text(json.dumps({"scenarios": [mine]}), encoding="utf-8")

    both = run_json(
        db, "stress", "main", "--date", ON, "--scenario", "market_crash_35",
        "--scenario-file", str(path),
    )  # fmt: skip
    assert [s["key"] for s in both["scenarios"]] == ["market_crash_35", "my_crash"]
    packaged, own = both["scenarios"]
    assert own["pnl"] == packaged["pnl"]
    assert own["pnl_by_position"] == packaged["pnl_by_position"]

    only = run_json(
        db, "stress", "main", "--date", ON, "--scenario-file", str(path), "--no-packaged"
    )
    assert [s["key"] for s in only["scenarios"]] == ["my_crash"]

    path.write_text(json.dumps([mine | {"shocks": {"Oil": 0.05}}]), encoding="utf-8")
    bad = CliRunner().invoke(
        app, ["stress", "main", "--date", ON, "--scenario-file", str(path), "--database-url", db]
    )
    assert bad.exit_code == 1
    assert "custom[0].shocks.Oil" in bad.output
    path.write_text(json.dumps([mine | {"key": "market_crash_35"}]), encoding="utf-8")
    clash = CliRunner().invoke(
        app, ["stress", "main", "--date", ON, "--scenario-file", str(path), "--database-url", db]
    )
    assert clash.exit_code == 1
    assert "packaged scenario's key" in clash.output
