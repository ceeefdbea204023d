"""``riskdesk batch run|status`` through typer's runner on a migrated SQLite file with two books
and a synthetic history stored through the CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from riskdesk.cli.main import app as main_app
from riskdesk.risk.batch import STEPS

ON = "2026-11-20"


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database with books ``main`` and ``other`` and 520 sessions of history (built once)."""
    folder = tmp_path_factory.mktemp("batch-cli")
    path = folder / "cli.sqlite3"
    url = f"sqlite:///{path}"

    def run(*args: str) -> None:
        result = CliRunner().invoke(main_app, [*args, "--database-url", url])
        assert result.exit_code == 0, result.output

    run("db", "upgrade")
    for name, rows in (
        ("main", 'AAPL,100,200,2026-09-01,"core,tech"\nAAPL261218C00230000,-1,5,2026-09-01,\n'),
        ("other", "MSFT,10,400,2026-09-01,\nNVDA,-20,120,2026-09-01,\n"),
    ):
        run("portfolio", "create", name)
        book = folder / f"{name}.csv"
        book.write_text("ticker,quantity,entry_price,entry_date,tags\n" + rows, encoding="utf-8")
        run("portfolio", "import", str(book), "--portfolio", name, "--today", ON)
    run(
        "history", "synth", "--symbols", "AAPL,MSFT,NVDA", "--include-factors",
        "--days", "520", "--end", ON, "--seed", "3",
    )  # fmt: skip
    return path


@pytest.fixture
def db(template: Path, tmp_path: Path) -> str:
    copy = tmp_path / "cli.sqlite3"
    copy.write_bytes(template.read_bytes())
    return f"sqlite:///{copy}"


def invoke(db: str, *args: str) -> Any:
    return CliRunner().invoke(main_app, ["batch", *args, "--database-url", db])


def run_json(db: str, *args: str, code: int = 0) -> Any:
    result = invoke(db, *args, "--json")
    assert result.exit_code == code, f"{args}: {result.output}"
    return json.loads(result.stdout)


def test_batch_run_with_json_runs_every_step_then_reports_already_done(db: str) -> None:
    first = run_json(db, "run", "--date", ON, "--inline")
    again = run_json(db, "run", "--date", ON, "--inline")

    assert first["date"] == ON
    assert first["executor"] == "inline"
    assert first["failed"] == 0
    assert [p["portfolio"] for p in first["portfolios"]] == ["main", "other"]
    for item in first["portfolios"]:
        assert item["status"] == "completed"
        assert [s["step"] for s in item["steps"]] == list(STEPS)
        assert all(s["status"] == "completed" for s in item["steps"])
    assert [p["status"] for p in again["portfolios"]] == ["already_done", "already_done"]
    assert all(s["status"] == "skipped" for p in again["portfolios"] for s in p["steps"])


def test_batch_status_with_json_lists_every_step_from_the_audit_log(db: str) -> None:
    run_json(db, "run", "--date", ON, "--inline", "--portfolio", "main")

    out = run_json(db, "status", "--date", ON)

    by_name = {p["portfolio"]: p for p in out["portfolios"]}
    assert by_name["main"]["complete"] is True
    assert [s["step"] for s in by_name["main"]["steps"]] == list(STEPS)
    assert all(s["records"] is not None and s["seconds"] >= 0 for s in by_name["main"]["steps"])
    assert by_name["other"]["complete"] is False
    assert {s["status"] for s in by_name["other"]["steps"]} == {"pending"}


def test_batch_run_with_a_missing_close_exits_1_and_names_the_ticker(db: str) -> None:
    # 2026-11-23 is a session after the stored history ends: no close at all on it
    out = run_json(db, "run", "--date", "2026-11-23", "--inline", "--portfolio", "other", code=1)

    (item,) = out["portfolios"]
    assert item["status"] == "failed"
    (step,) = item["steps"]
    assert step["step"] == "prices"
    assert step["status"] == "failed"
    assert "MSFT" in step["error"]
    assert "NVDA" in step["error"]


def test_batch_run_with_rich_output_prints_a_table(db: str) -> None:
    result = invoke(db, "run", "--date", ON, "--inline", "--portfolio", "other")

    assert result.exit_code == 0, result.output
    assert "batch of 2026-11-20" in result.stdout
    assert "other" in result.stdout
    assert "completed" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("run", "--date", "2026-11-21", "--inline"), "not an NYSE session"),
        (("run", "--date", "21/11/2026"), "YYYY-MM-DD"),
        (("run", "--date", ON, "--portfolio", "nope", "--inline"), "no portfolio named"),
        (("run", "--date", ON, "--workers", "0"), "--workers 0"),
        (("run", "--date", ON, "--inline", "--scheduler", "tcp://127.0.0.1:1"), "exclude"),
    ],
)
def test_batch_run_with_bad_input_exits_1_with_one_line(
    db: str, args: tuple[str, ...], message: str
) -> None:
    result = invoke(db, *args)

    assert result.exit_code == 1
    assert message in result.stderr
    assert "Traceback" not in result.output
