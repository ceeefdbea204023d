"""``riskdesk portfolio`` through typer's runner on a migrated SQLite file: create, import
(--json shape, rejected rows, refused files, broker mapping), show and list."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from riskdesk.cli.main import app as main_app
from riskdesk.cli.portfolio import app

TODAY = "2026-03-02"


@pytest.fixture
def db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    result = CliRunner().invoke(main_app, ["db", "upgrade", "--database-url", url])
    assert result.exit_code == 0, result.output
    return url


def invoke(db: str, *args: str) -> Any:
    return CliRunner().invoke(app, [*args, "--database-url", db])


def run_json(db: str, *args: str) -> Any:
    result = invoke(db, *args, "--json")
    assert result.exit_code == 0, f"{args}: {result.output}"
    return json.loads(result.stdout)


def test_portfolio_import_with_json_prints_counts_and_rejected_rows(
    db: str, tmp_path: Path
) -> None:
    created = run_json(db, "create", "main", "--description", "core book")
    assert created["name"] == "main"
    book = tmp_path / "book.csv"
    book.write_text(
        "ticker,quantity,entry_price,entry_date,tags\n"
        'AAPL,100,150.5,2026-01-15,"momentum,tech"\n'
        "MSFT,0,380,2026-01-20,\n"
        "AAPL260116C00140000,2,3,2025-12-01,\n"
        "BAD$,1,1,2026-01-02,\n",
        encoding="utf-8",
    )
    report = run_json(db, "import", str(book), "--portfolio", "main", "--today", TODAY)
    assert report["imported"] == 2
    assert report["portfolio"] == {"id": created["id"], "name": "main"}
    assert len(report["file_sha256"]) == 64
    assert report["rejected_count"] == 2
    assert [(r["line"], r["column"]) for r in report["rejected"]] == [
        (3, "quantity"),
        (5, "ticker"),
    ]
    assert set(report["rejected"][0]) == {"line", "column", "reason", "value"}
    assert report["settlement"][0]["message"] == (
        "settlement pending: no close for AAPL on 2026-01-16"
    )
    again = run_json(db, "import", str(book), "--portfolio", created["id"], "--today", TODAY)
    assert (again["imported"], again["skipped_count"]) == (0, 2)
    shown = run_json(db, "show", "main")
    positions = {p["ticker"]: p for p in shown["positions"]}
    assert positions["AAPL"]["tags"] == ["momentum", "tech"]
    assert positions["AAPL"]["quantity"] == "100"
    assert positions["AAPL"]["entry_price"] == "150.5"
    assert positions["AAPL260116C00140000"]["expired"] is True
    assert positions["AAPL260116C00140000"]["position_type"] == "LC"
    listed = run_json(db, "list")
    assert [p["name"] for p in listed] == ["main"]


def test_portfolio_import_with_refused_file_exits_one(db: str, tmp_path: Path) -> None:
    run_json(db, "create", "main")
    bad = tmp_path / "bad.csv"
    bad.write_text("ticker,quantity\nAAPL,1\n", encoding="utf-8")
    result = invoke(db, "import", str(bad), "--portfolio", "main", "--json")
    assert result.exit_code == 1
    assert "required column(s) entry_price, entry_date" in result.output
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    result = invoke(db, "import", str(empty), "--portfolio", "main")
    assert result.exit_code == 1
    assert "the file is empty" in result.output


def test_portfolio_import_with_broker_map_and_date_format_imports(db: str, tmp_path: Path) -> None:
    run_json(db, "create", "broker")
    export = tmp_path / "export.csv"
    export.write_text(
        "Symbol,Qty,Avg Price,Open Date,Acct\nAAPL,10,150.25,01/15/2026,X\n", encoding="utf-8"
    )
    report = run_json(
        db,
        "import",
        str(export),
        "--portfolio",
        "broker",
        "--map",
        'ticker=Symbol,quantity=Qty,entry_price="Avg Price",entry_date="Open Date"',
        "--date-format",
        "%m/%d/%Y",
        "--today",
        TODAY,
    )
    assert (report["imported"], report["rejected"]) == (1, [])


def test_portfolio_import_with_unknown_portfolio_exits_one(db: str, tmp_path: Path) -> None:
    book = tmp_path / "book.csv"
    book.write_text("ticker,quantity,entry_price,entry_date\nAAPL,1,1,2026-01-02\n")
    result = invoke(db, "import", str(book), "--portfolio", "nope", "--today", TODAY)
    assert result.exit_code == 1
    assert "no portfolio named" in result.output


def test_portfolio_show_with_rich_output_lists_positions(db: str, tmp_path: Path) -> None:
    run_json(db, "create", "main")
    book = tmp_path / "book.csv"
    book.write_text("ticker,quantity,entry_price,entry_date\nAAPL,1,1,2026-01-02\n")
    assert invoke(db, "import", str(book), "--portfolio", "main", "--today", TODAY).exit_code == 0
    result = invoke(db, "show", "main")
    assert result.exit_code == 0, result.output
    assert "AAPL" in result.stdout
    assert "LONG" in result.stdout


def test_portfolio_group_with_json_moves_positions_and_strategies_show_it(
    db: str, tmp_path: Path
) -> None:
    run_json(db, "create", "spreads")
    book = tmp_path / "book.csv"
    book.write_text(
        "ticker,quantity,entry_price,entry_date,tags\n"
        "AAPL261218C00200000,3,12,2026-02-03,\n"
        "AAPL261218C00220000,-3,6,2026-02-03,\n"
        "MSFT,10,400,2026-02-03,\n",
        encoding="utf-8",
    )
    run_json(db, "import", str(book), "--portfolio", "spreads", "--today", TODAY)
    detected = run_json(db, "strategies", "spreads")
    assert [g["strategy_type"] for g in detected["groups"]] == ["VERTICAL_CALL"]
    assert [leg["ticker"] for leg in detected["ungrouped"]] == ["MSFT"]

    edit = run_json(db, "group", "spreads", "MSFT", "AAPL261218C00220000", "--into", "mine")
    assert edit["moved"] == ["MSFT", "AAPL261218C00220000"]
    shown = run_json(db, "strategies", "spreads")
    mine = [g for g in shown["groups"] if g["name"] == "mine"]
    assert mine[0]["user_defined"] is True
    assert {leg["ticker"] for leg in shown["ungrouped"]} == {"AAPL261218C00200000"}

    undone = run_json(db, "ungroup", "spreads", "MSFT", "AAPL261218C00220000")
    assert undone["removed_groups"] == ["mine"]
    table = invoke(db, "strategies", "spreads")
    assert table.exit_code == 0, table.output
    assert "VERTICAL_CALL" in table.stdout
    assert "detected" in table.stdout
    missing = invoke(db, "group", "spreads", "TSLA", "--into", "x")
    assert missing.exit_code == 1
    assert "no position with this ticker" in missing.output
