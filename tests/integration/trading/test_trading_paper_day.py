"""End to end: a whole simulated 0DTE day reconciles at every NAV snapshot (SQLite and PG)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from riskdesk.store import Database
from riskdesk.store.migrate import upgrade_database
from riskdesk.trading.simulation import DEFAULT_DAY, PaperDayRule, run_paper_day

STEP = 15
STEPS = 390 // STEP + 1


def _day(url: str, seed: int = 7) -> dict[str, object]:
    db = Database.from_url(url)
    try:
        return run_paper_day(db, seed=seed, step_minutes=STEP).to_dict()
    finally:
        db.dispose()


def test_paper_day_with_seed_7_reconciles_at_every_snapshot(
    migrated_engine: Engine, db_url: str
) -> None:
    report = _day(db_url)

    reconciliation = report["reconciliation"]
    assert isinstance(reconciliation, dict)
    assert reconciliation["failures"] == []
    assert reconciliation["ok"] is True
    assert reconciliation["snapshots_checked"] == STEPS
    curve = report["equity_curve"]
    assert isinstance(curve, list)
    assert len(curve) == STEPS
    assert curve[-1][1] == report["final_nav"]
    assert Decimal(str(report["pnl"])) == Decimal(str(report["final_nav"])) - Decimal(100000)
    orders = report["orders"]
    assert isinstance(orders, dict)
    assert orders["by_status"].get("filled", 0) >= 2  # an entry, its exit (and the settlement)
    settlements = report["settlements"]
    assert isinstance(settlements, list)
    assert settlements
    assert {s["kind"] for s in settlements} <= {"expired_worthless", "exercised", "assigned"}
    exits = report["exits"]
    assert isinstance(exits, list)
    assert exits
    cycles = report["cycles"]
    assert isinstance(cycles, list)
    assert [c["code"] for c in cycles if not c["accepted"]] == ["KILL_SWITCH_ACTIVE"]
    risk = report["risk_events"]
    assert isinstance(risk, dict)
    assert risk["by_action"]["allowed"] > 0
    kills = report["kill_switch_events"]
    assert isinstance(kills, list)
    assert [k["enabled"] for k in kills] == [True, False]


def test_paper_day_with_same_seed_twice_same_pnl(tmp_path: Path) -> None:
    results = []
    for name in ("a", "b"):
        db = Database.from_url(f"sqlite:///{tmp_path / name}.sqlite3")
        try:
            upgrade_database(db.engine)
            report = run_paper_day(db, seed=7, step_minutes=STEP, account_name="same")
        finally:
            db.dispose()
        results.append(report)
    first, second = results
    assert first.pnl == second.pnl
    assert first.equity_curve == second.equity_curve
    assert [f["fill_price"] for f in first.fills] == [f["fill_price"] for f in second.fills]


def test_paper_day_with_step_not_dividing_session_raises(sqlite_url: str) -> None:
    db = Database.from_url(sqlite_url)
    try:
        with pytest.raises(ValueError, match="must divide"):
            run_paper_day(db, seed=7, step_minutes=7)
        with pytest.raises(ValueError, match="not a trading day"):
            run_paper_day(db, seed=7, day=DEFAULT_DAY.replace(day=1))  # a Saturday
    finally:
        db.dispose()


def test_paper_day_rule_with_minute_outside_session_raises() -> None:
    with pytest.raises(ValueError, match="outside the session"):
        PaperDayRule(entry_minutes=(400,))


def test_paper_run_cli_with_json_prints_ok_reconciliation() -> None:
    import json

    from typer.testing import CliRunner

    from riskdesk.cli.paper import app

    result = CliRunner().invoke(app, ["run", "--seed", "7", "--step-minutes", "30", "--json"])

    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["reconciliation"]["ok"] is True
    assert len(data["equity_curve"]) == 390 // 30 + 1
