"""``riskdesk risk regime|squeeze`` and ``riskdesk history short-interest synth|import`` through
typer's runner on a migrated SQLite file with a synthetic regime history made by the CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from riskdesk.cli.main import app as main_app

ON = "2026-11-20"


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    folder = tmp_path_factory.mktemp("regime-cli")
    url = f"sqlite:///{folder / 'cli.sqlite3'}"

    def run(*args: str) -> None:
        result = CliRunner().invoke(main_app, [*args, "--database-url", url])
        assert result.exit_code == 0, result.output

    run("db", "upgrade")
    run("portfolio", "create", "shorts")
    book = folder / "book.csv"
    book.write_text(
        "ticker,quantity,entry_price,entry_date,tags\n"
        "TSLA,-50,300,2026-01-05,\n"
        "AAPL261218C00245000,-2,2,2026-01-05,\n"
        "MSFT,20,400,2026-01-05,\n",
        encoding="utf-8",
    )
    run("portfolio", "import", str(book), "--portfolio", "shorts", "--today", ON)
    run("history", "synth", "--include-regime", "--seed", "4", "--end", ON, "--days", "40")
    return url


def invoke(db: str, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main_app, [*args, "--database-url", db])
    return result.exit_code, result.output


def run_json(db: str, *args: str) -> Any:
    code, output = invoke(db, *args, "--json")
    assert code == 0, f"{args}: {output}"
    return json.loads(output)


def test_history_synth_with_include_regime_adds_qqq_iwm_and_vix(db: str) -> None:
    data = run_json(db, "history", "synth", "--include-regime", "--end", ON, "--days", "40",
                    "--seed", "4")  # fmt: skip
    assert set(data["rows"]) == {"SPY", "QQQ", "IWM", "VIX"}
    assert data["written"] == 0


def test_risk_regime_with_json_prints_regime_correlations_and_thresholds(db: str) -> None:
    data = run_json(db, "risk", "regime", "--date", ON, "--no-record")
    assert data["date"] == ON
    assert data["regime"] in {"low", "normal", "high", "extreme"}
    assert set(data["correlations"]) == {"7d", "30d"}
    assert set(data["correlations"]["30d"]) == {"SPY_QQQ", "SPY_IWM", "QQQ_IWM"}
    assert data["emergency_thresholds"]["vix_emergency"] == 35.0
    assert data["events_recorded"] == []


def test_risk_regime_without_json_prints_a_table(db: str) -> None:
    code, output = invoke(db, "risk", "regime", "--date", ON)
    assert code == 0, output
    assert "market regime" in output
    assert "SPY_QQQ" in output


def test_risk_regime_with_a_weekend_fails_in_one_line(db: str) -> None:
    code, output = invoke(db, "risk", "regime", "--date", "2026-11-21")
    assert code == 1
    assert "2026-11-21 is not an NYSE session" in output


def test_risk_squeeze_before_metrics_reports_every_short_as_missing(
    tmp_path: Path, db: str
) -> None:
    data = run_json(db, "risk", "squeeze", "shorts", "--date", "2026-09-01")
    assert [p["status"] for p in data["positions"]] == ["missing", "missing"]
    assert data["worst_tier"] is None


def test_short_interest_synth_then_squeeze_tiers_the_shorts(db: str) -> None:
    made = run_json(db, "history", "short-interest", "synth", "--portfolio", "shorts",
                    "--end", ON, "--days", "5")  # fmt: skip
    assert made["rows"] == {"AAPL": 5, "MSFT": 5, "TSLA": 5}
    data = run_json(db, "risk", "squeeze", "shorts", "--date", ON)
    kinds = {p["symbol"]: (p["position_type"], p["shares_short"]) for p in data["positions"]}
    assert kinds == {"TSLA": ("SHORT", "50"), "AAPL261218C00245000": ("SC", "200")}
    assert all(p["status"] == "ok" and p["tier"] for p in data["positions"])
    code, output = invoke(db, "risk", "squeeze", "shorts", "--date", ON)
    assert code == 0, output
    assert "worst tier" in output


def test_short_interest_import_with_only_bad_rows_exits_1_and_lists_them(
    tmp_path: Path, db: str
) -> None:
    file = tmp_path / "bad.csv"
    file.write_text("ticker,date,days_to_cover\nGME,2026-11-20,-3\n", encoding="utf-8")
    code, output = invoke(db, "history", "short-interest", "import", str(file))
    assert code == 1
    assert "must be a number >= 0" in output
    good = tmp_path / "good.csv"
    good.write_text("ticker,date,days_to_cover\nGME,2026-11-20,12\n", encoding="utf-8")
    data = run_json(db, "history", "short-interest", "import", str(good))
    assert (data["rows_ok"], data["written"]) == (1, 1)
