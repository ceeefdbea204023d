"""The batched writer on SQLite and PostgreSQL: counts, dedupe, outages, crash recovery."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from riskdesk.store.database import Database
from riskdesk.store.db import make_session_factory
from riskdesk.store.models import GreekSnapshot
from riskdesk.streaming.journal import Journal
from riskdesk.streaming.writer import (
    BatchWriter,
    BufferFull,
    GreekSnapshotSink,
    WriterError,
    WriterHooks,
)

START = datetime(2025, 1, 31, 23, 59, 50, tzinfo=UTC)  # batches straddle January/February


def make_record(seq: int) -> dict[str, Any]:
    """The journal JSON of a valid greek_snapshots event (sequence number in the payload)."""
    event = START + timedelta(milliseconds=20 * seq)
    return {
        "broker": "tastytrade" if seq % 2 else "ibkr",
        "account_id": "U1234567",
        "underlying": "SPY",
        "contract_key": f"SPY:20250321:{500 + seq % 7}:C",
        "expiration": "2025-03-21",
        "strike": str(500 + seq % 7),
        "option_type": "call",
        "quantity": "2",
        "event_time": event.isoformat(),
        "received_at": (event + timedelta(milliseconds=3)).isoformat(),
        "delta": 0.5 + seq * 1e-6,
        "gamma": 0.01,
        "theta": -0.2,
        "vega": 0.3,
        "rho": None,
        "implied_volatility": 0.18,
        "underlying_price": 512.25,
        "source_payload": {"seq": seq, "raw": ["Greeks", "SPY"]},
    }


def decode_row(body: dict[str, Any]) -> dict[str, Any]:
    """Journal JSON -> greek_snapshots row."""
    row = dict(body)
    row["event_time"] = datetime.fromisoformat(body["event_time"])
    row["received_at"] = datetime.fromisoformat(body["received_at"])
    row["expiration"] = datetime.fromisoformat(body["expiration"]).date()
    row["strike"] = Decimal(body["strike"])
    row["quantity"] = Decimal(body["quantity"])
    return row


def stored_seqs(engine: Engine) -> list[int]:
    with engine.connect() as conn:
        payloads = conn.execute(sa.select(GreekSnapshot.source_payload)).scalars().all()
    return sorted(int(payload["seq"]) for payload in payloads)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def unreachable_database(backend: str, tmp_path: Path) -> Database:
    """A Database that fails to connect: a closed port, or a SQLite file that does not exist."""
    if backend == "postgres":
        url = f"postgresql+psycopg://postgres@127.0.0.1:{closed_port()}/riskdesk?connect_timeout=2"
        return Database.from_url(url)
    return Database.from_url(f"sqlite:///{tmp_path / 'missing' / 'db.sqlite3'}", create=False)


class RecordingSink:
    """The default sink, recording the sequence numbers of every batch it stored."""

    def __init__(self, inner: GreekSnapshotSink) -> None:
        self.inner = inner
        self.batches: list[list[int]] = []

    def write(self, rows: Sequence[Mapping[str, Any]]) -> int:
        inserted = self.inner.write(rows)
        self.batches.append([int(row["source_payload"]["seq"]) for row in rows])
        return inserted


@pytest.fixture
def database(migrated_engine: Engine) -> Database:
    return Database(engine=migrated_engine, sessions=make_session_factory(migrated_engine))


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    with Journal(tmp_path / "journal") as opened:
        yield opened


def test_writer_with_n_records_stores_n_rows_and_reports_metrics(
    backend: str, database: Database, journal: Journal, migrated_engine: Engine
) -> None:
    counts: dict[str, int] = {"journaled": 0, "persisted": 0, "deduped": 0}
    durable: list[float] = []
    persisted: list[float] = []

    def add(name: str) -> Any:
        return lambda n: counts.__setitem__(name, counts[name] + n)

    hooks = WriterHooks(
        journaled=add("journaled"),
        persisted=add("persisted"),
        deduped=add("deduped"),
        durable_latency=durable.extend,
        persisted_latency=persisted.extend,
    )
    with BatchWriter(database, journal, decode=decode_row, batch_size=200, hooks=hooks) as writer:
        for seq in range(1000):
            writer.submit(make_record(seq))
        assert writer.wait_persisted(timeout=20)
    assert stored_seqs(migrated_engine) == list(range(1000))
    assert counts == {"journaled": 1000, "persisted": 1000, "deduped": 0}
    stats = writer.stats()
    assert (stats.persisted, stats.deduped, stats.journal_depth) == (1000, 0, 0)
    assert journal.checkpoint() == 1000
    assert len(persisted) == 1000
    assert len(durable) == 1000
    assert sorted(durable)[len(durable) // 2] < 1.0  # loose: the target (50 ms) is benchmarked
    if backend == "postgres":  # COPY path: month partitions made first, none in the default
        with migrated_engine.connect() as conn:
            default = conn.exec_driver_sql("SELECT count(*) FROM greek_snapshots_default")
            assert default.scalar_one() == 0
            feb = conn.exec_driver_sql("SELECT count(*) FROM greek_snapshots_p2025_02")
            assert feb.scalar_one() > 0


def test_writer_with_duplicate_records_counts_them_and_stores_each_once(
    database: Database, journal: Journal, migrated_engine: Engine
) -> None:
    with BatchWriter(database, journal, decode=decode_row, batch_size=64) as writer:
        for seq in range(150):
            writer.submit(make_record(seq))
        writer.submit(make_record(3))  # a duplicate inside a later batch
        assert writer.wait_persisted(timeout=20)
        for seq in range(150):
            writer.submit(make_record(seq))  # replayed stream: every event again
        assert writer.wait_persisted(timeout=20)
    stats = writer.stats()
    assert stats.journaled == 301
    assert stats.persisted == 150
    assert stats.deduped == 151
    assert stored_seqs(migrated_engine) == list(range(150))


def test_writer_with_database_down_keeps_records_and_writes_them_in_order_when_it_returns(
    backend: str, database: Database, journal: Journal, migrated_engine: Engine, tmp_path: Path
) -> None:
    sink = RecordingSink(GreekSnapshotSink(unreachable_database(backend, tmp_path)))
    writer = BatchWriter(
        database,
        journal,
        decode=decode_row,
        batch_size=25,
        max_buffer=50,  # small: most records spill to the journal during the outage
        retry_initial_ms=10,
        retry_max_ms=40,
        sink=sink,
    )
    writer.start()
    try:
        for seq in range(300):
            writer.submit(make_record(seq))
        deadline = time.monotonic() + 10
        while writer.stats().retries < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        stats = writer.stats()
        assert stats.retries >= 3
        assert stats.last_error is not None
        assert stats.spilling
        assert journal.depth() == 300
        assert stored_seqs(migrated_engine) == []
        sink.inner.use_database(database)  # the database is back
        assert writer.wait_persisted(timeout=20)
    finally:
        writer.stop()
    written = [seq for batch in sink.batches for seq in batch]
    assert written == list(range(300))
    assert stored_seqs(migrated_engine) == list(range(300))
    assert journal.depth() == 0
    assert writer.stats().last_error is None


def _submit_until_refused(writer: BatchWriter, count: int, accepted: list[int]) -> None:
    for seq in range(count):
        writer.submit(make_record(seq))
        accepted.append(seq)


def test_writer_with_block_policy_raises_buffer_full_when_the_database_stays_down(
    backend: str, database: Database, journal: Journal, migrated_engine: Engine, tmp_path: Path
) -> None:
    writer = BatchWriter(
        unreachable_database(backend, tmp_path),
        journal,
        decode=decode_row,
        batch_size=10,
        max_buffer=10,
        on_full="block",
        block_timeout_s=0.2,
        retry_initial_ms=10,
        retry_max_ms=20,
    )
    writer.start()
    accepted: list[int] = []
    try:
        with pytest.raises(BufferFull, match="was not journaled"):
            _submit_until_refused(writer, 100, accepted)
        assert 10 <= len(accepted) <= 20  # one batch in flight + a full buffer
        assert journal.last_offset() == len(accepted)
        writer.use_database(database)
        assert writer.wait_persisted(timeout=20)
    finally:
        writer.stop()
    assert stored_seqs(migrated_engine) == accepted


def test_writer_with_unstorable_row_stops_and_keeps_the_journal(
    database: Database, journal: Journal, migrated_engine: Engine
) -> None:
    def bad_decode(body: dict[str, Any]) -> dict[str, Any]:
        row = decode_row(body)
        row["broker"] = "nobroker"  # refused by the broker CHECK rule
        return row

    writer = BatchWriter(database, journal, decode=bad_decode, batch_size=5, max_age_ms=1)
    writer.start()
    try:
        writer.submit(make_record(0))
        with pytest.raises(WriterError, match=r"offsets 1\.\.1"):
            writer.wait_persisted(timeout=20)
        with pytest.raises(WriterError, match="kept in the journal"):
            writer.submit(make_record(1))
    finally:
        writer.stop()
    assert journal.depth() == 1
    assert stored_seqs(migrated_engine) == []


def test_writer_with_undecodable_record_refuses_it_before_journaling(
    database: Database, journal: Journal
) -> None:
    writer = BatchWriter(database, journal, decode=decode_row)
    with pytest.raises(KeyError):
        writer.submit({"broker": "ibkr"})
    assert journal.last_offset() == 0


def test_writer_recover_with_unacked_journal_entries_stores_them_before_new_ones(
    database: Database, migrated_engine: Engine, tmp_path: Path
) -> None:
    directory = tmp_path / "journal"
    with Journal(directory) as journal:
        for seq in range(40):
            journal.append(make_record(seq))
        journal.ack(10)  # the database "has" 1..10: they are not replayed
    with Journal(directory) as journal:
        writer = BatchWriter(database, journal, decode=decode_row, batch_size=8)
        result = writer.recover(timeout=20)
        assert (result.replayed, result.persisted, result.deduped) == (30, 30, 0)
        with writer:
            writer.submit(make_record(40))
            assert writer.wait_persisted(timeout=20)
    assert stored_seqs(migrated_engine) == list(range(10, 41))


_CHILD = textwrap.dedent(
    """
    import sys, time
    sys.path.insert(0, sys.argv[3])
    from test_stream_writer import decode_row, make_record
    from riskdesk.store.database import Database
    from riskdesk.streaming.journal import Journal
    from riskdesk.streaming.writer import BatchWriter

    db = Database.from_url(sys.argv[1])
    journal = Journal(sys.argv[2])
    writer = BatchWriter(db, journal, decode=decode_row, batch_size=50, max_age_ms=5)
    writer.start()
    seq = 0
    while True:
        for _ in range(100):
            writer.submit(make_record(seq))
            seq += 1
        journal.flush()
        print(f"durable {journal.durable_offset()} persisted {writer.stats().persisted}",
              flush=True)
        time.sleep(0.005)
    """
)


def test_writer_with_process_killed_mid_stream_recovers_every_journaled_record_once(
    db_url: str, database: Database, migrated_engine: Engine, tmp_path: Path
) -> None:
    directory = tmp_path / "journal"
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, db_url, str(directory), str(Path(__file__).parent)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
    )
    reported_durable = 0
    try:
        assert child.stdout is not None
        deadline = time.monotonic() + 30
        for line in child.stdout:
            _, durable, _, persisted = line.split()
            reported_durable = int(durable)
            if int(persisted) >= 300 and reported_durable >= 1000:
                break
            assert time.monotonic() < deadline, "the child never got going"
    finally:
        child.send_signal(signal.SIGKILL)
        _, stderr = child.communicate(timeout=30)
    assert child.returncode == -signal.SIGKILL, stderr
    stored_before = len(stored_seqs(migrated_engine))
    with Journal(directory) as journal:
        journaled = journal.last_offset()
        assert journaled >= reported_durable
        writer = BatchWriter(database, journal, decode=decode_row, batch_size=500)
        result = writer.recover(timeout=20)
        assert journal.depth() == 0
    seqs = stored_seqs(migrated_engine)
    assert seqs == list(range(journaled))  # every journaled record, exactly once, none lost
    assert result.persisted == journaled - stored_before
    assert stored_before > 0
