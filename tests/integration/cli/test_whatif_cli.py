"""``riskdesk whatif ...`` through typer's runner on a migrated SQLite file: a whole session
(start, add, resize, remove, compare, hedge, export, complete) in ``--json``, the export
recorded in ``export_history``, and clean one-line errors for a closed session."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, func, select
from typer.testing import CliRunner

from riskdesk.cli.main import app
from riskdesk.store.models.system import ExportHistory

ON = "2026-11-20"


@pytest.fixture
def db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"

    def run(*args: str) -> None:
        result = CliRunner().invoke(app, [*args, "--database-url", url])
        assert result.exit_code == 0, result.output

    run("db", "upgrade")
    run("portfolio", "create", "main")
    book = tmp_path / "book.csv"
    book.write_text(
        "ticker,quantity,entry_price,entry_date,tags\n"
        "AAPL,100,200,2026-09-01,core\n"
        "MSFT,-20,400,2026-09-01,\n",
        encoding="utf-8",
    )
    run("portfolio", "import", str(book), "--portfolio", "main", "--today", ON)
    run(
        "history",
        "synth",
        "--symbols",
        "AAPL,MSFT,NVDA",
        "--include-factors",
        "--days",
        "80",
        "--end",
        ON,
        "--seed",
        "3",
    )
    return url


def whatif(db: str, *args: str) -> Any:
    result = CliRunner().invoke(app, ["whatif", *args, "--database-url", db, "--json"])
    assert result.exit_code == 0, f"{args}: {result.output}"
    return json.loads(result.stdout)


def test_whatif_cli_with_full_session_compares_hedges_exports_and_completes(
    db: str, tmp_path: Path
) -> None:
    started = whatif(db, "start", "main", "--date", ON, "--name", "trim tech")
    sid = started["id"]
    whatif(db, "add", sid, "NVDA", "--quantity", "-30", "--price", "120")
    whatif(db, "resize", sid, "--symbol", "AAPL", "--quantity", "50")
    shown = whatif(db, "remove", sid, "--symbol", "MSFT")

    compared = whatif(db, "compare", sid, "--factor-window", "60", "--var-window", "60")
    hedged = whatif(db, "hedge", sid, "--method", "delta", "--apply")
    out = tmp_path / "whatif.csv"
    exported = whatif(
        db,
        "export",
        sid,
        "--format",
        "csv",
        "--output",
        str(out),
        "--var-window",
        "60",
        "--factor-window",
        "60",
    )
    completed = whatif(db, "complete", sid)
    listed = whatif(db, "list", "--status", "completed")

    assert [p["symbol"] for p in shown["positions"]] == ["AAPL", "NVDA"]
    assert [c["kind"] for c in shown["changes"]] == ["add", "resize", "remove"]
    net = next(m for m in compared["measures"] if m["measure"] == "exposures.net")
    assert Decimal(net["change"]) == Decimal(net["pro_forma"]) - Decimal(net["baseline"])
    assert Decimal(net["change"]) < 0
    assert hedged["applied"] is True
    assert abs(Decimal(hedged["residual"])) <= Decimal(hedged["price"]) / 2
    assert exported["format"] == "csv"
    assert out.read_text(encoding="utf-8").startswith("section,measure,baseline,pro_forma,change")
    assert completed["status"] == "completed"
    assert [s["id"] for s in listed["items"]] == [sid]
    engine = create_engine(db)
    try:
        with engine.connect() as conn:
            assert conn.scalar(select(func.count()).select_from(ExportHistory)) == 1
    finally:
        engine.dispose()


def test_whatif_cli_with_cancelled_session_refuses_add_in_one_line(db: str) -> None:
    sid = whatif(db, "start", "main", "--date", ON)["id"]
    whatif(db, "cancel", sid)

    result = CliRunner().invoke(
        app,
        ["whatif", "add", sid, "NVDA", "--quantity", "1", "--price", "100", "--database-url", db],
    )

    assert result.exit_code == 1
    assert "cancelled" in result.output
    assert "Traceback" not in result.output


def test_whatif_cli_with_unknown_session_exits_1(db: str) -> None:
    result = CliRunner().invoke(
        app, ["whatif", "show", "00000000-0000-0000-0000-000000000000", "--database-url", db]
    )

    assert result.exit_code == 1
    assert "no modeling session" in result.output
