"""``riskdesk stream start|status|stop|fake-broker`` through typer's runner on a tmp SQLite file."""

from __future__ import annotations

import json
from pathlib import Path

import sqlalchemy as sa
from typer.testing import CliRunner

from riskdesk.cli.main import app as main_app
from riskdesk.cli.stream import app as stream_app


def migrated_sqlite(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'stream.sqlite3'}"
    result = CliRunner().invoke(main_app, ["db", "upgrade", "--database-url", url])
    assert result.exit_code == 0, result.output
    return url


def test_stream_start_with_simulated_broker_for_two_seconds_stores_rows_and_status_shows_session(
    tmp_path: Path,
) -> None:
    url = migrated_sqlite(tmp_path)
    journal = tmp_path / "journal"
    runner = CliRunner()

    started = runner.invoke(
        stream_app,
        [
            "start", "--broker", "simulated", "--seed", "7", "--rate", "200",
            "--duration", "2", "--journal-dir", str(journal), "--database-url", url, "--json",
        ],
    )  # fmt: skip
    status = runner.invoke(
        stream_app, ["status", "--journal-dir", str(journal), "--database-url", url, "--json"]
    )

    assert started.exit_code == 0, started.output
    summary = json.loads(started.stdout)
    assert summary["received"] > 100
    assert summary["persisted"] == summary["received"] - summary["rejected_total"]
    assert summary["journal_depth"] == 0
    assert summary["p95_tick_to_durable_ms"] is not None
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT count(*) FROM greek_snapshots")).scalar_one()
    engine.dispose()
    assert stored == summary["persisted"]
    assert status.exit_code == 0, status.output
    shown = json.loads(status.stdout)
    assert shown["running"] is False
    assert [(s["broker"], s["account_id"], s["status"]) for s in shown["sessions"]] == [
        ("simulated", "SIM00001", "disconnected")
    ]
    assert shown["sessions"][0]["rows_written"] == stored
    assert not (journal / "ingest.pid").exists()


def test_stream_stop_with_no_running_ingest_fails_with_a_clear_message(tmp_path: Path) -> None:
    result = CliRunner().invoke(stream_app, ["stop", "--journal-dir", str(tmp_path)])

    assert result.exit_code == 1
    assert "no running ingest" in result.output


def test_stream_fake_broker_with_ibkr_protocol_fails_naming_what_exists() -> None:
    result = CliRunner().invoke(stream_app, ["fake-broker", "--protocol", "ibkr"])

    assert result.exit_code == 1
    assert "dxlink" in result.output
