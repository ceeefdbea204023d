"""``riskdesk history synth|import|show`` through typer's runner on a SQLite file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from riskdesk.cli.history import app
from riskdesk.cli.main import app as main_app


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('history') / 'h.sqlite3'}"
    result = CliRunner().invoke(main_app, ["db", "upgrade", "--database-url", url])
    assert result.exit_code == 0, result.output
    return url


def invoke(db: str, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, [*args, "--database-url", db])
    return result.exit_code, result.output


def test_history_synth_with_json_prints_rows_per_symbol(db: str) -> None:
    code, output = invoke(
        db, "synth", "--symbols", "SPY,AAPL", "--days", "40", "--end", "2026-11-20",
        "--seed", "7", "--json",
    )  # fmt: skip

    assert code == 0, output
    data = json.loads(output)
    assert data["rows"] == {"AAPL": 40, "SPY": 40}
    assert data["end"] == "2026-11-20"
    assert data["written"] == 80


def test_history_synth_with_include_factors_adds_etfs_and_yield_in_a_table(db: str) -> None:
    code, output = invoke(db, "synth", "--include-factors", "--days", "20", "--end", "2026-11-20")

    assert code == 0, output
    for name in ("VTV", "USMV", "US10Y"):
        assert name in output


def test_history_show_with_range_prints_bars_ascending(db: str) -> None:
    invoke(db, "synth", "--symbols", "MSFT", "--days", "10", "--end", "2026-11-20")

    code, output = invoke(
        db, "show", "MSFT", "--start", "2026-11-17", "--end", "2026-11-20", "--json"
    )

    assert code == 0, output
    data = json.loads(output)
    assert [b["date"] for b in data["bars"]] == [
        "2026-11-17",
        "2026-11-18",
        "2026-11-19",
        "2026-11-20",
    ]
    assert data["bars"][-1]["close"] == "430"  # the reference spot, canonical JSON


def test_history_import_with_bad_rows_prints_line_column_and_reason(
    db: str, tmp_path: Path
) -> None:
    path = tmp_path / "p.csv"
    path.write_text("ticker,date,close\nKO,2026-11-16,60\nKO,2026-11-17,0\n")

    code, output = invoke(db, "import", str(path), "--json")

    assert code == 0, output
    data = json.loads(output)
    assert data["rows_ok"] == 1
    assert data["errors"] == [
        {"line": 3, "column": "close", "value": "0", "reason": "non-positive close: must be > 0"}
    ]


def test_history_import_with_only_bad_rows_exits_1(db: str, tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("ticker,date,close\nKO,someday,60\n")

    code, output = invoke(db, "import", str(path))

    assert code == 1
    assert "bad date" in output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("show", "NOPE"), "no price history for NOPE"),
        (("synth", "--symbols", "SPY", "--end", "20-11-2026"), "not a date"),
        (("synth", "--end", "2026-11-20"), "--symbols is empty"),
        (("import", "/nonexistent/prices.csv"), "no such file"),
    ],
)
def test_history_cli_with_bad_input_fails_with_one_line_error(
    db: str, args: tuple[str, ...], message: str
) -> None:
    code, output = invoke(db, *args)

    assert code == 1
    assert message in output
