"""`riskdesk db upgrade / status / purge` through the typer CLI on SQLite."""

from __future__ import annotations

import json
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from riskdesk.cli.main import app
from riskdesk.store import create_engine

runner = CliRunner()


def _scalar(url: str, sql: str) -> object:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text(sql)).scalar_one()
    finally:
        engine.dispose()


def test_db_upgrade_with_empty_sqlite_prints_head_revision(sqlite_url: str) -> None:
    result = runner.invoke(app, ["db", "upgrade", "--database-url", sqlite_url])

    assert result.exit_code == 0, result.output
    assert "revision 0007" in result.output


def test_db_status_with_json_reports_tables_and_rows(sqlite_url: str) -> None:
    runner.invoke(app, ["db", "upgrade", "--database-url", sqlite_url])

    result = runner.invoke(app, ["db", "status", "--json", "--database-url", sqlite_url])

    info = json.loads(result.output)
    assert result.exit_code == 0, result.output
    assert (info["backend"], info["current_revision"], info["up_to_date"]) == (
        "sqlite",
        "0007",
        True,
    )
    assert info["table_count"] == 63
    assert info["row_counts"]["factor_definitions"] == 8


def test_db_status_with_empty_database_shows_no_revision(sqlite_url: str) -> None:
    Path(make_url(sqlite_url).database or "").touch()  # status never creates a database

    result = runner.invoke(app, ["db", "status", "--database-url", sqlite_url])

    assert result.exit_code == 0, result.output
    assert "revision: none" in result.output
    assert "run `riskdesk db upgrade`" in result.output


def test_db_purge_with_wrong_confirmation_deletes_nothing(sqlite_url: str) -> None:
    runner.invoke(app, ["db", "upgrade", "--database-url", sqlite_url])
    runner.invoke(app, ["db", "purge", "--yes", "--database-url", sqlite_url])

    result = runner.invoke(app, ["db", "purge", "--database-url", sqlite_url], input="nope\n")

    assert result.exit_code == 1
    assert "nothing was deleted" in result.output
    assert _scalar(sqlite_url, "SELECT count(*) FROM audit_log") == 1


def test_db_purge_with_typed_confirmation_deletes_rows_and_audits_once(sqlite_url: str) -> None:
    runner.invoke(app, ["db", "upgrade", "--database-url", sqlite_url])
    engine = create_engine(sqlite_url)
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO kill_switch_events (event_id, enabled) VALUES ('a1', 1)"))
    engine.dispose()

    result = runner.invoke(app, ["db", "purge", "--database-url", sqlite_url], input="purge\n")

    assert result.exit_code == 0, result.output
    assert _scalar(sqlite_url, "SELECT count(*) FROM kill_switch_events") == 0
    assert _scalar(sqlite_url, "SELECT event_type FROM audit_log") == "data.purged"
    assert _scalar(sqlite_url, "SELECT count(*) FROM factor_definitions") == 8


def test_db_purge_with_unmigrated_database_fails_with_hint(sqlite_url: str) -> None:
    result = runner.invoke(app, ["db", "purge", "--yes", "--database-url", sqlite_url])

    assert result.exit_code == 1
    assert "riskdesk db upgrade" in result.output
