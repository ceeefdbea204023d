"""The Ingestor on SQLite and PostgreSQL: simulated sources, faults, drain and restart."""

from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from riskdesk.adapters.simulated.stream import SimulatedSource
from riskdesk.store.database import Database
from riskdesk.store.db import make_session_factory
from riskdesk.store.models import GreekSnapshot
from riskdesk.store.models import StreamSession as StreamSessionRow
from riskdesk.streaming.ingest import SWITCH_INTERVAL_S, Ingestor, read_status_file
from riskdesk.streaming.source import SourceSink


def rows_by_account(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        query = sa.select(GreekSnapshot.account_id, sa.func.count()).group_by(
            GreekSnapshot.account_id
        )
        return {str(a): int(n) for a, n in conn.execute(query).all()}


def distinct_dedupe_keys(engine: Engine) -> int:
    cols = (
        GreekSnapshot.broker,
        GreekSnapshot.contract_key,
        GreekSnapshot.event_time,
        GreekSnapshot.delta,
        GreekSnapshot.gamma,
        GreekSnapshot.theta,
        GreekSnapshot.vega,
    )
    with engine.connect() as conn:
        inner = sa.select(*cols).distinct().subquery()
        return int(conn.execute(sa.select(sa.func.count()).select_from(inner)).scalar_one())


def wait_until(predicate: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(predicate) and predicate():
            return
        time.sleep(0.05)
    raise AssertionError("condition not reached in time")


class CrashingSource(SimulatedSource):
    """A simulated source whose run() raises (a programming error) after ``crash_after`` ticks."""

    def __init__(self, account_id: str, *, crash_after: int, **kwargs: object) -> None:
        super().__init__(account_id, **kwargs)  # type: ignore[arg-type]
        self.crash_after = crash_after

    def run(self, sink: SourceSink, stop: threading.Event) -> None:
        inner = stop
        guard = threading.Event()

        def watch() -> None:
            while not inner.is_set() and self.sent < self.crash_after:
                time.sleep(0.01)
            guard.set()

        threading.Thread(target=watch, daemon=True).start()
        super().run(sink, guard)
        if not inner.is_set():
            raise RuntimeError(f"simulated bug after {self.sent} ticks")


def test_ingestor_with_two_simulated_sources_stores_every_accepted_tick_once(
    backend: str, migrated_engine: Engine, tmp_path: Path
) -> None:
    db = Database(engine=migrated_engine, sessions=make_session_factory(migrated_engine))
    steady = SimulatedSource("ACCT-A", seed=1, rate=400, reject_every_n=40)
    flaky = SimulatedSource("ACCT-B", seed=2, rate=400, drop_every_n=120)
    ingestor = Ingestor(
        db, journal_dir=tmp_path / "journal", sources=[steady, flaky], status_interval=0.2
    )

    ingestor.start()
    wait_until(lambda: flaky.connects >= 3 and steady.sent >= 400)
    drained = ingestor.stop()

    assert drained
    status = ingestor.status()
    by_account = {s["account_id"]: s for s in status["sessions"]}
    rejected_a = by_account["ACCT-A"]["metrics"]["rejected"].get("no_greeks", 0)
    assert rejected_a == steady.sent // 40
    assert rows_by_account(migrated_engine) == {
        "ACCT-A": steady.sent - rejected_a,
        "ACCT-B": flaky.sent,
    }
    assert distinct_dedupe_keys(migrated_engine) == steady.sent - rejected_a + flaky.sent
    assert by_account["ACCT-B"]["disconnects"] >= 2
    assert status["writer"]["journal_depth"] == 0
    assert by_account["ACCT-A"]["metrics"]["tick_to_durable_ms"]["p95"] is not None
    with migrated_engine.connect() as conn:
        sessions = {row.account_id: row for row in conn.execute(sa.select(StreamSessionRow)).all()}
    assert sessions["ACCT-A"].rows_written == steady.sent - rejected_a
    assert sessions["ACCT-A"].messages_received == steady.sent
    assert sessions["ACCT-B"].last_error == "simulated connection drop"
    assert sessions["ACCT-B"].first_row_at is not None
    assert {row.status for row in sessions.values()} == {"disconnected"}
    saved = read_status_file(tmp_path / "journal" / "status.json")
    assert saved is not None
    assert saved["state"] == "stopped"


def test_ingestor_with_a_crashing_source_keeps_the_other_flowing(
    migrated_engine: Engine, tmp_path: Path
) -> None:
    db = Database(engine=migrated_engine, sessions=make_session_factory(migrated_engine))
    crashing = CrashingSource("ACCT-X", crash_after=50, seed=3, rate=500)
    healthy = SimulatedSource("ACCT-Y", seed=4, rate=300)
    ingestor = Ingestor(db, journal_dir=tmp_path / "journal", sources=[crashing, healthy])

    ingestor.start()
    wait_until(lambda: ingestor.status()["sessions"][0]["crashed"])
    at_crash = healthy.sent
    wait_until(lambda: healthy.sent >= at_crash + 150)
    drained = ingestor.stop()

    assert drained
    status = ingestor.status()
    assert "simulated bug" in status["sessions"][0]["last_error"]
    assert rows_by_account(migrated_engine) == {"ACCT-X": crashing.sent, "ACCT-Y": healthy.sent}


def test_ingestor_with_restart_on_the_same_journal_stores_nothing_twice(
    migrated_engine: Engine, tmp_path: Path
) -> None:
    journal = tmp_path / "journal"
    missing = tmp_path / "missing" / "db.sqlite3"
    down = Database.from_url(f"sqlite:///{missing}", create=False)
    first = SimulatedSource("ACCT-R", seed=5, rate=500)
    outage = Ingestor(down, journal_dir=journal, sources=[first], recover_timeout=0.1)
    outage.start()
    wait_until(lambda: first.sent >= 200)
    assert not outage.stop(timeout=1.0)  # the database never came: all kept in the journal
    down.dispose()
    db = Database(engine=migrated_engine, sessions=make_session_factory(migrated_engine))
    second = SimulatedSource("ACCT-S", seed=6, rate=500)
    restarted = Ingestor(db, journal_dir=journal, sources=[second])

    restarted.start()
    wait_until(lambda: second.sent >= 200)
    assert restarted.stop()
    again = Ingestor(db, journal_dir=journal, sources=[SimulatedSource("ACCT-S", seed=6, rate=0)])
    again.start()
    assert again.stop()

    assert restarted.recovered is not None
    assert restarted.recovered.replayed == first.sent
    assert again.recovered is not None
    assert again.recovered.replayed == 0
    assert rows_by_account(migrated_engine) == {"ACCT-R": first.sent, "ACCT-S": second.sent}
    assert distinct_dedupe_keys(migrated_engine) == first.sent + second.sent


def test_ingestor_with_fake_dxlink_broker_and_simulated_source_stores_both_streams(
    migrated_engine: Engine, tmp_path: Path
) -> None:
    from riskdesk.adapters.tastytrade.client import DxlinkSource
    from riskdesk.adapters.tastytrade.fake import FakeDxlinkBroker

    db = Database(engine=migrated_engine, sessions=make_session_factory(migrated_engine))
    sent_log = tmp_path / "sent.jsonl"
    with FakeDxlinkBroker(rate=300, seed=3, sent_log=sent_log) as broker:
        dxlink = DxlinkSource(broker.url, account=broker.account, credentials=("u", "p"))
        simulated = SimulatedSource("ACCT-SIM", seed=8, rate=200)
        ingestor = Ingestor(db, journal_dir=tmp_path / "journal", sources=[dxlink, simulated])
        ingestor.start()
        wait_until(lambda: ingestor.status()["sessions"][0]["metrics"]["received"] >= 150)
        assert ingestor.stop()

    sessions = ingestor.status()["sessions"]
    tasty = sessions[0]["metrics"]
    sent_greeks = sum(
        1 for line in sent_log.read_text().splitlines() if json.loads(line)["type"] == "Greeks"
    )
    stored = rows_by_account(migrated_engine)
    assert stored[broker.account] == tasty["received"] - tasty["rejected_total"]
    assert 0 < tasty["received"] <= sent_greeks
    assert stored["ACCT-SIM"] == simulated.sent


def test_ingestor_while_running_tightens_the_switch_interval_and_restores_it_on_stop(
    migrated_engine: Engine, tmp_path: Path
) -> None:
    db = Database(engine=migrated_engine, sessions=make_session_factory(migrated_engine))
    before = sys.getswitchinterval()
    ingestor = Ingestor(
        db, journal_dir=tmp_path / "j", sources=[SimulatedSource("ACCT-S", seed=1, rate=50)]
    )
    ingestor.start()
    during = sys.getswitchinterval()
    ingestor.stop()
    after = sys.getswitchinterval()
    untouched = Ingestor(
        db,
        journal_dir=tmp_path / "k",
        sources=[SimulatedSource("ACCT-T", seed=2, rate=50)],
        switch_interval_s=None,
    )
    untouched.start()
    left = sys.getswitchinterval()
    untouched.stop()

    assert during == pytest.approx(SWITCH_INTERVAL_S)
    assert before > SWITCH_INTERVAL_S
    assert after == before
    assert left == before
