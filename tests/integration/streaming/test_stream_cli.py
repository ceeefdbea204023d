"""``riskdesk stream start|status|stop|fake-broker`` through typer's runner on a tmp SQLite file."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from riskdesk.adapters.tastytrade.fake import FakeDxlinkBroker
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


def test_stream_fake_broker_with_unknown_protocol_fails_naming_the_known_ones() -> None:
    result = CliRunner().invoke(stream_app, ["fake-broker", "--protocol", "fix"])

    assert result.exit_code == 1
    assert "dxlink, ibkr" in result.output


def test_stream_start_with_ibkr_fake_broker_process_stores_the_sent_computations(
    tmp_path: Path,
) -> None:
    url = migrated_sqlite(tmp_path)
    sent_log = tmp_path / "sent.jsonl"
    fake = subprocess.Popen(
        [sys.executable, "-m", "riskdesk.cli.main", "stream", "fake-broker", "--protocol",
         "ibkr", "--port", "0", "--rate", "200", "--seed", "5", "--sent-log", str(sent_log),
         "--json"],
        stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert fake.stdout is not None
        text = ""
        for line in fake.stdout:  # --json prints one indented document, then serves
            text += line
            if line.rstrip() == "}":
                break
        info = json.loads(text)
        assert info["url"].startswith("tws://127.0.0.1:")
        started = CliRunner().invoke(
            stream_app,
            ["start", "--broker", "ibkr", "--url", info["url"], "--account", info["account"],
             "--duration", "2.5", "--journal-dir", str(tmp_path / "journal"),
             "--database-url", url, "--json"],
        )  # fmt: skip
    finally:
        fake.send_signal(signal.SIGTERM)
        fake.wait(timeout=20)
        if fake.stdout is not None:
            fake.stdout.close()

    assert started.exit_code == 0, started.output
    summary = json.loads(started.stdout)
    sent = [json.loads(line) for line in sent_log.read_text().splitlines()]
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT broker, account_id, contract_key FROM greek_snapshots")
        ).all()
    engine.dispose()
    assert {(r[0], r[1]) for r in rows} == {("ibkr", info["account"])}
    # every stored row is a computation the fake sent; empty ones are rejected, not stored
    assert len(rows) == summary["persisted"] == summary["received"] - summary["rejected_total"]
    assert 0 < len(rows) <= len(sent)
    assert {r[2] for r in rows} <= {e["contractKey"] for e in sent}


def secrets_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file secrets store in tmp_path (never the machine's keyring or data dir)."""
    monkeypatch.setenv("RISKDESK_SECRETS_BACKEND", "file")
    monkeypatch.setenv("RISKDESK_SECRETS_FILE", str(tmp_path / "secrets" / "secrets.enc"))
    monkeypatch.setenv("RISKDESK_SECRETS_KEY_FILE", str(tmp_path / "keys" / "secrets.key"))
    monkeypatch.delenv("RISKDESK_SECRETS_KEY", raising=False)
    monkeypatch.delenv("RISKDESK_TASTYTRADE_LOGIN", raising=False)
    monkeypatch.delenv("RISKDESK_TASTYTRADE_PASSWORD", raising=False)


def test_stream_start_with_stored_credentials_and_a_simulated_second_broker_stores_both(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secrets_env(tmp_path, monkeypatch)
    url = migrated_sqlite(tmp_path)
    runner = CliRunner()
    saved = runner.invoke(
        main_app,
        ["secrets", "broker-login", "--broker", "tastytrade", "--name", "desk", "--login",
         "trader@example.com", "--stdin"],
        input="s3cret-pass\n",
    )  # fmt: skip
    assert saved.exit_code == 0, saved.output
    assert b"s3cret-pass" not in (tmp_path / "secrets" / "secrets.enc").read_bytes()

    with FakeDxlinkBroker(rate=200, seed=4) as broker:
        started = runner.invoke(
            stream_app,
            ["start", "--broker", "tastytrade", "--url", broker.url, "--credentials", "desk",
             "--broker", "simulated", "--rate", "100", "--duration", "2.5",
             "--journal-dir", str(tmp_path / "journal"), "--database-url", url, "--json"],
        )  # fmt: skip
        sent = broker.sent_count

    assert started.exit_code == 0, started.output
    summary = json.loads(started.stdout)
    assert summary["journal_depth"] == 0
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        per_broker = dict(
            conn.execute(
                sa.text("SELECT broker, count(*) FROM greek_snapshots GROUP BY broker")
            ).all()
        )
    engine.dispose()
    assert per_broker.get("simulated", 0) > 50
    assert 0 < per_broker.get("tastytrade", 0) <= sent
    assert sum(per_broker.values()) == summary["persisted"]


def test_stream_start_with_missing_credentials_fails_naming_the_command_that_saves_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secrets_env(tmp_path, monkeypatch)

    result = CliRunner().invoke(
        stream_app,
        ["start", "--broker", "tastytrade", "--url", "http://127.0.0.1:9", "--credentials",
         "nobody", "--journal-dir", str(tmp_path / "journal")],
    )  # fmt: skip

    assert result.exit_code == 1
    assert "riskdesk secrets broker-login" in result.output
    assert not (tmp_path / "journal").exists()


def test_stream_start_with_more_urls_than_brokers_fails_before_starting(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        stream_app,
        ["start", "--broker", "simulated", "--url", "http://127.0.0.1:9", "--url",
         "http://127.0.0.1:10", "--journal-dir", str(tmp_path / "journal")],
    )  # fmt: skip

    assert result.exit_code == 1
    assert "2 --url values for 1 --broker" in result.output
