"""``riskdesk greeks latest|history|count`` and ``riskdesk tradelog add|list`` on SQLite."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from riskdesk.cli.greeks import app, tradelog_app
from riskdesk.cli.main import app as main_app
from riskdesk.store.database import Database
from riskdesk.store.models import GreekSnapshot
from riskdesk.store.timeseries import insert_rows
from riskdesk.streaming.records import UnifiedPositionRecord

T0 = datetime(2025, 1, 17, 15, 30, tzinfo=UTC)
CALL = "SPY:20250321:580:C"
PUT = "SPY:20250321:560:P"


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('greeks') / 'g.sqlite3'}"
    result = CliRunner().invoke(main_app, ["db", "upgrade", "--database-url", url])
    assert result.exit_code == 0, result.output
    database = Database.from_url(url)
    try:
        for contract, seconds, delta in [(CALL, 40, 0.6), (PUT, 5, -0.3), (CALL, 20, 0.55)]:
            for step in range(3 if contract == CALL else 1):
                event = T0 + timedelta(seconds=seconds - step)
                row = UnifiedPositionRecord.for_contract(
                    broker="ibkr",
                    account_id="U1234567",
                    contract_key=contract,
                    event_time=event,
                    received_at=event + timedelta(milliseconds=4),
                    quantity=Decimal(1),
                    delta=delta - step / 100,
                ).to_row()
                with database.sessions() as session, session.begin():
                    insert_rows(session, GreekSnapshot, [row])
    finally:
        database.dispose()
    return url


def run(db: str, command: Any, *args: str) -> tuple[int, Any]:
    result = CliRunner().invoke(command, [*args, "--database-url", db, "--json"])
    if result.exit_code != 0:
        return result.exit_code, result.output
    return 0, json.loads(result.output)


def test_greeks_latest_with_late_rows_prints_newest_per_contract_json(db: str) -> None:
    code, data = run(db, app, "latest")

    assert code == 0, data
    by_key = {item["contract_key"]: item for item in data["items"]}
    assert by_key[CALL]["delta"] == pytest.approx(0.6)
    assert by_key[PUT]["delta"] == pytest.approx(-0.3)
    assert data["truncated"] is False


def test_greeks_history_with_after_key_walks_every_row_once(db: str) -> None:
    times: list[str] = []
    args = ["history", "--contract", CALL, "--limit", "4"]
    while True:
        code, data = run(db, app, *args)
        assert code == 0, data
        times.extend(item["event_time"] for item in data["items"])
        if data["next_after"] is None:
            break
        args = ["history", "--contract", CALL, "--limit", "4", "--after", data["next_after"]]
    code, counted = run(db, app, "count", "--contract", CALL, "--from", "2025-01-17T15:30:20Z")

    assert len(times) == 6
    assert times == sorted(times, reverse=True)
    assert len(set(times)) == 6
    assert counted == {"count": 4}  # 40, 39, 38 and 20 s (from is included)


def test_greeks_count_with_naive_time_fails_with_message(db: str) -> None:
    code, output = run(db, app, "count", "--from", "2025-01-17T15:30:00")

    assert code == 1
    assert "no timezone" in output


def test_tradelog_with_add_then_list_prints_entry_json(db: str) -> None:
    code, added = run(
        db, tradelog_app, "add", "--broker", "tastytrade", "--account", "5WT00001",
        "--symbol", "SPY", "--action", "SELL_TO_OPEN", "--quantity", "-2",
        "--contract", CALL, "--price", "4.35", "--tag", "condor", "--metadata", '{"a": 1}',
    )  # fmt: skip
    bad, message = run(
        db, tradelog_app, "add", "--broker", "ibkr", "--account", "U1", "--symbol", "SPY",
        "--action", "BUY", "--quantity", "0",
    )  # fmt: skip
    code_list, listed = run(db, tradelog_app, "list", "--tag", "condor")

    assert code == 0, added
    assert added["quantity"] == "-2"
    assert added["price"] == "4.35"
    assert bad == 1
    assert "non-zero" in message
    assert code_list == 0
    assert [item["id"] for item in listed["items"]] == [added["id"]]
    assert listed["items"][0]["metadata"] == {"a": 1}


def test_greeks_count_with_unmigrated_database_fails_naming_upgrade(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["count", "--database-url", f"sqlite:///{tmp_path}/x.db"])

    assert result.exit_code == 1
    assert "riskdesk db upgrade" in result.output
