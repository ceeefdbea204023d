"""Issue 12's fault tests ("Done when"), each counted against the fake broker's sent log.

Every stored ``greek_snapshots`` row is mapped back to the event the fake sent, by
``(eventSymbol, eventTime)`` from its raw payload, and its Greeks must equal the sent values.

* kill -9 of a real ``riskdesk stream start --broker tastytrade`` process mid-stream, then a
  restart on its journal: every record it journaled is stored once; the events in flight at
  the kill (sent, never received) are reported (``record_property`` ``in_flight_at_kill``);
* a private PostgreSQL stopped for 20 s mid-stream and started again on the same port:
  stored = sent, none twice;
* broker A's connection dropped 5 times while broker B (a second fake DXLink broker: another
  tastytrade account on its own server, since no IBKR fake exists yet) keeps flowing: A
  reconnects and resubscribes each time, B's stream shows no gap;
* malformed, duplicate and out-of-order payloads injected by the fake: each counted, the good
  events around them stored, the latest view keeps the newer event.
"""

from __future__ import annotations

import glob
import itertools
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from riskdesk.adapters.tastytrade.client import DxlinkSource
from riskdesk.adapters.tastytrade.fake import MALFORMED_KINDS, FakeDxlinkBroker
from riskdesk.store.database import Database
from riskdesk.store.db import create_engine, make_session_factory
from riskdesk.store.greeks import GreekFilter
from riskdesk.store.migrate import upgrade_database
from riskdesk.store.models import GreekSnapshot
from riskdesk.streaming.ingest import Ingestor
from riskdesk.streaming.journal import Journal
from riskdesk.streaming.normalize import GreeksTick, PositionUpdate
from riskdesk.streaming.queries import GreeksQueries
from riskdesk.streaming.session import Backoff, Step
from riskdesk.streaming.source import SourceSink, TickSource

pytestmark = pytest.mark.xdist_group("stream_faults")

ACCOUNT_A = "5WT00001"
ACCOUNT_B = "5WT00002"
WAIT = 20.0
REPO = Path(__file__).resolve().parents[3]
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
VALUE_FIELDS = {
    "delta": "delta",
    "gamma": "gamma",
    "theta": "theta",
    "vega": "vega",
    "rho": "rho",
    "implied_volatility": "volatility",
}

Key = tuple[str, int]
"""``(eventSymbol, eventTime)`` of a Greeks event: how a stored row finds its sent event."""


# ---------------------------------------------------------------------------- sent log


def read_sent(log: Path) -> list[dict[str, Any]]:
    """The sent log's lines (a half-written last line, read while the fake writes, is left out)."""
    lines: list[dict[str, Any]] = []
    for text in log.read_text(encoding="utf-8").splitlines():
        try:
            lines.append(json.loads(text))
        except ValueError:
            break
    return lines


def sent_greeks(
    lines: list[dict[str, Any]], *, faults: tuple[str | None, ...] = (None,)
) -> dict[Key, dict[str, Any]]:
    """Greeks events of the log whose ``fault`` marker is one of ``faults``, by key (unique)."""
    found: dict[Key, dict[str, Any]] = {}
    for line in lines:
        if line["type"] != "Greeks" or line.get("fault") not in faults:
            continue
        key = (str(line["symbol"]), int(line["eventTime"]))
        assert key not in found or line.get("fault") == "duplicate", f"{key} sent twice"
        found.setdefault(key, line)
    return found


# ---------------------------------------------------------------------------- stored rows


@dataclass(frozen=True)
class Stored:
    """One ``greek_snapshots`` row, reduced to what the checks need."""

    key: Key
    account_id: str
    contract_key: str
    event_time: datetime
    received_at: datetime
    values: dict[str, float | None]


def stored_rows(engine: Engine, account_id: str | None = None) -> list[Stored]:
    query = sa.select(GreekSnapshot)
    if account_id is not None:
        query = query.where(GreekSnapshot.account_id == account_id)
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    out: list[Stored] = []
    for item in rows:
        payload = item.source_payload
        out.append(
            Stored(
                key=(str(payload["eventSymbol"]), int(payload["eventTime"])),
                account_id=str(item.account_id),
                contract_key=str(item.contract_key),
                event_time=_aware(item.event_time),
                received_at=_aware(item.received_at),
                values={name: getattr(item, name) for name in VALUE_FIELDS},
            )
        )
    return out


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


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


def assert_rows_match_sent(rows: list[Stored], sent: dict[Key, dict[str, Any]]) -> set[Key]:
    """Every row is a sent event (same time and Greeks) and none is stored twice; the keys."""
    counts = Counter(row.key for row in rows)
    twice = [key for key, n in counts.items() if n > 1]
    assert not twice, f"{len(twice)} events stored more than once, e.g. {twice[:3]}"
    for row in rows:
        line = sent.get(row.key)
        assert line is not None, f"stored row {row.key} matches no sent event"
        values = line["values"]
        assert row.event_time == EPOCH + timedelta(milliseconds=int(values["time"])), row.key
        expected = {name: values[wire] for name, wire in VALUE_FIELDS.items()}
        assert row.values == expected, f"stored values of {row.key} differ from the sent ones"
    return set(counts)


# ---------------------------------------------------------------------------- helpers


def wait_until(what: str, predicate: Callable[[], bool], timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.02)


def tiny_backoff(seed: int) -> Backoff:
    return Backoff(random.Random(seed), base=0.02, factor=2.0, max_delay=0.1)


def dxlink(broker: FakeDxlinkBroker, seed: int = 1) -> DxlinkSource:
    return DxlinkSource(
        broker.url,
        account=broker.account,
        credentials=("trader", "secret"),
        backoff=tiny_backoff(seed),
    )


def session_of(ingestor: Ingestor, account_id: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [
        s for s in ingestor.status()["sessions"] if s["account_id"] == account_id
    ]
    assert len(found) == 1, found
    return found[0]


def metrics_of(ingestor: Ingestor, account_id: str) -> dict[str, Any]:
    metrics: dict[str, Any] = session_of(ingestor, account_id)["metrics"]
    return metrics


def database(engine: Engine) -> Database:
    return Database(engine=engine, sessions=make_session_factory(engine))


class Recorder:
    """A :class:`TickSource` wrapper keeping every status and tick its source reports."""

    def __init__(self, inner: TickSource) -> None:
        self.inner = inner
        self.broker = inner.broker
        self.account_id = inner.account_id
        self._lock = threading.Lock()
        self.statuses: list[tuple[str, str | None]] = []
        self.ticks: list[GreeksTick] = []

    def run(self, sink: SourceSink, stop: threading.Event) -> None:
        self.inner.run(_Tee(sink, self), stop)

    def names(self) -> list[str]:
        with self._lock:
            return [name for name, _ in self.statuses]

    def at_least(self, status: str, n: int) -> Callable[[], bool]:
        """A check that ``status`` was reported at least ``n`` times."""
        return lambda: self.names().count(status) >= n

    def resubscribed(self, mark: int, symbols: set[str]) -> Callable[[], bool]:
        """A check that ticks of every one of ``symbols`` arrived after tick ``mark``."""
        return lambda: self.symbols_since(mark) >= symbols

    def symbols_since(self, mark: int) -> set[str]:
        with self._lock:
            return {str(t.raw["eventSymbol"]) for t in self.ticks[mark:]}


class _Tee:
    def __init__(self, sink: SourceSink, recorder: Recorder) -> None:
        self._sink = sink
        self._recorder = recorder

    def tick(self, tick: GreeksTick) -> None:
        with self._recorder._lock:
            self._recorder.ticks.append(tick)
        self._sink.tick(tick)

    def position(self, update: PositionUpdate) -> None:
        self._sink.position(update)

    def status(self, step: Step, *, error: str | None = None) -> None:
        with self._recorder._lock:
            self._recorder.statuses.append((step.status, error))
        self._sink.status(step, error=error)

    def rejected(self, reason: str, detail: str) -> None:
        self._sink.rejected(reason, detail)


# ---------------------------------------------------------------------------- 1. kill -9


def _riskdesk_command() -> list[str]:
    script = Path(sys.executable).parent / "riskdesk"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from riskdesk.cli.main import app; app()"]


@pytest.mark.parametrize("backend", ["sqlite"])
def test_stream_start_with_kill_9_mid_stream_and_restart_stores_every_journaled_record_once(
    migrated_engine: Engine,
    db_url: str,
    tmp_path: Path,
    record_property: Callable[[str, object], None],
) -> None:
    journal_dir = tmp_path / "journal"
    sent_log = tmp_path / "sent.jsonl"
    with FakeDxlinkBroker(rate=400, seed=11, account=ACCOUNT_A, sent_log=sent_log) as broker:
        env = {
            **os.environ,
            "RISKDESK_TASTYTRADE_LOGIN": "trader",
            "RISKDESK_TASTYTRADE_PASSWORD": "secret",
        }
        child = subprocess.Popen(
            [
                *_riskdesk_command(),
                "stream",
                "start",
                "--broker",
                "tastytrade",
                "--url",
                broker.url,
                "--account",
                ACCOUNT_A,
                "--journal-dir",
                str(journal_dir),
                "--database-url",
                db_url,
                "--json",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=env,
        )
        try:
            wait_until(
                "the ingest process to receive Greeks",
                lambda: child.poll() is None and len(sent_greeks(read_sent(sent_log))) > 50,
                timeout=30,
            )
            time.sleep(2.0)
        finally:
            child.send_signal(signal.SIGKILL)
            _, stderr = child.communicate(timeout=30)
        assert child.returncode == -signal.SIGKILL, stderr.decode(errors="replace")
        sent_before_kill = sent_greeks(read_sent(sent_log))
        stored_before_restart = len(stored_rows(migrated_engine))
        with Journal(journal_dir) as journal:
            entries = list(journal.replay(after=0))
            checkpoint = journal.checkpoint()
        offsets = [offset for offset, _ in entries]
        assert offsets == list(range(1, len(entries) + 1)), "the journal lost its first entries"
        journaled = [
            (str(body["source_payload"]["eventSymbol"]), int(body["source_payload"]["eventTime"]))
            for _, body in entries
        ]
        assert len(journaled) == len(set(journaled)), "the killed process journaled a tick twice"
        assert set(journaled) <= set(sent_before_kill)
        in_flight = len(sent_before_kill) - len(journaled)
        record_property("sent_greeks_before_kill", len(sent_before_kill))
        record_property("received_by_killed_process", len(journaled))
        record_property("in_flight_at_kill", in_flight)
        print(
            f"kill -9: {len(sent_before_kill)} Greeks sent before the kill, {len(journaled)} "
            f"received (journaled) by the killed process, {in_flight} in flight; "
            f"{stored_before_restart} stored before the restart"
        )

        source = dxlink(broker, seed=2)
        restarted = Ingestor(database(migrated_engine), journal_dir=journal_dir, sources=[source])
        restarted.start()
        wait_until(
            "ticks after the restart", lambda: metrics_of(restarted, ACCOUNT_A)["journaled"] >= 100
        )
        assert restarted.stop()
        sent = sent_greeks(read_sent(sent_log))

    assert in_flight >= 0
    assert len(journaled) > 0
    assert restarted.recovered is not None
    assert restarted.recovered.replayed == len(journaled) - checkpoint
    assert restarted.recovered.persisted == len(journaled) - stored_before_restart
    after = metrics_of(restarted, ACCOUNT_A)
    assert after["rejected_total"] == 0
    rows = stored_rows(migrated_engine)
    keys = assert_rows_match_sent(rows, sent)
    assert set(journaled) <= keys, "a record the killed process journaled was not stored"
    assert len(rows) == len(journaled) + after["journaled"]
    assert distinct_dedupe_keys(migrated_engine) == len(rows)


# ---------------------------------------------------------------------------- 2. PostgreSQL down


def _postgres_bin() -> Path | None:
    for initdb in sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb")):
        if os.access(initdb, os.X_OK):
            return Path(initdb).parent
    found = shutil.which("initdb")
    return Path(found).parent if found else None


@dataclass(frozen=True)
class PrivatePostgres:
    """A throwaway PostgreSQL server of one test (``scripts/pg.sh``), stoppable and restartable."""

    url: str
    bin: Path
    dir: Path
    port: int

    def _ctl(self, *args: str) -> None:
        command = [str(self.bin / "pg_ctl"), "-D", str(self.dir / "data"), *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=60)

    def stop(self) -> None:
        self._ctl("-m", "fast", "-w", "stop")

    def start(self) -> None:
        options = (
            f"-h 127.0.0.1 -p {self.port} -k {self.dir} -c fsync=off -c synchronous_commit=off "
            "-c full_page_writes=off -c max_connections=200"
        )
        self._ctl("-l", str(self.dir / "log"), "-w", "-t", "60", "-o", options, "start")


@pytest.fixture
def private_postgres(tmp_path: Path) -> Iterator[PrivatePostgres]:
    """A PostgreSQL server for this test only (never the shared one of the suite)."""
    if _postgres_bin() is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    env = {**os.environ, "RISKDESK_PG_STATE": str(tmp_path / "pg-state")}
    script = str(REPO / "scripts" / "pg.sh")
    started = subprocess.run(
        [script, "start"], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert started.returncode == 0, started.stderr
    try:
        bin_dir, data_dir, port = (tmp_path / "pg-state").read_text().split()
        yield PrivatePostgres(started.stdout.split()[-1], Path(bin_dir), Path(data_dir), int(port))
    finally:
        subprocess.run([script, "stop"], env=env, capture_output=True, timeout=120, check=False)


@pytest.mark.postgres
def test_ingestor_with_postgres_stopped_20_s_mid_stream_stores_every_sent_event_once(
    private_postgres: PrivatePostgres, tmp_path: Path
) -> None:
    upgrade_database(private_postgres.url)
    engine = create_engine(private_postgres.url)
    sent_log = tmp_path / "sent.jsonl"
    try:
        with FakeDxlinkBroker(rate=400, seed=12, account=ACCOUNT_A, sent_log=sent_log) as broker:
            ingestor = Ingestor(
                database(engine),
                journal_dir=tmp_path / "journal",
                sources=[dxlink(broker, seed=3)],
                status_interval=0.5,
            )
            ingestor.start()
            try:
                wait_until(
                    "rows before the outage",
                    lambda: metrics_of(ingestor, ACCOUNT_A)["persisted"] >= 100,
                )
                private_postgres.stop()
                time.sleep(1.0)
                persisted_in_outage = ingestor.status()["writer"]["persisted"]
                received_in_outage = metrics_of(ingestor, ACCOUNT_A)["received"]
                time.sleep(19.0)
                during = ingestor.status()
                private_postgres.start()
                broker.pause(600)
                sent = sent_greeks(read_sent(sent_log))
                wait_until(
                    "every sent Greeks event to be received",
                    lambda: (
                        metrics_of(ingestor, ACCOUNT_A)["received"]
                        == len(sent_greeks(read_sent(sent_log)))
                    ),
                )
                sent = sent_greeks(read_sent(sent_log))
            finally:
                drained = ingestor.stop(timeout=60)
        rows = stored_rows(engine)
        assert drained, "the ingest did not drain after PostgreSQL came back"
        assert during["writer"]["persisted"] == persisted_in_outage, "PostgreSQL was not down"
        assert during["writer"]["journal_depth"] > 0
        assert metrics_of(ingestor, ACCOUNT_A)["received"] > received_in_outage + 100
        assert metrics_of(ingestor, ACCOUNT_A)["rejected_total"] == 0
        keys = assert_rows_match_sent(rows, sent)
        assert keys == set(sent), f"{len(set(sent) - keys)} sent events missing from the database"
        assert distinct_dedupe_keys(engine) == len(rows) == len(sent)
        assert ingestor.status()["writer"]["journal_depth"] == 0
    finally:
        engine.dispose()


# ---------------------------------------------------------------------------- 3. drops


DROPS = 5

UNDECODABLE = ("not_json", "bad_arity", "bad_value")
"""Malformed kinds the client itself rejects (never handed to the ingest as a tick)."""


def test_ingestor_with_broker_a_dropped_5_times_reconnects_and_broker_b_flows_without_gap(
    migrated_engine: Engine, tmp_path: Path
) -> None:
    rate_b = 400.0
    log_a, log_b = tmp_path / "sent-a.jsonl", tmp_path / "sent-b.jsonl"
    with (
        FakeDxlinkBroker(rate=400, seed=13, account=ACCOUNT_A, sent_log=log_a) as broker_a,
        FakeDxlinkBroker(rate=rate_b, seed=14, account=ACCOUNT_B, sent_log=log_b) as broker_b,
    ):
        options = {p.streamer_symbol for p in broker_a.positions}
        source_a = Recorder(dxlink(broker_a, seed=4))
        source_b = Recorder(dxlink(broker_b, seed=5))
        ingestor = Ingestor(
            database(migrated_engine),
            journal_dir=tmp_path / "journal",
            sources=[source_a, source_b],
            status_interval=0.2,
        )
        ingestor.start()
        try:
            wait_until("B streaming", lambda: len(source_b.ticks) >= 50)
            first_drop: datetime | None = None
            for drop in range(1, DROPS + 1):
                wait_until(f"A connection {drop}", source_a.at_least("connected", drop))
                mark = len(source_a.ticks)
                wait_until(
                    f"A resubscribed on connection {drop}",
                    source_a.resubscribed(mark, options),
                )
                first_drop = first_drop or datetime.now(UTC)
                assert broker_a.drop_connections() == 1
                wait_until(
                    f"A disconnect {drop}",
                    source_a.at_least("disconnected", drop),
                )
            wait_until(
                "A connected again", lambda: source_a.names().count("connected") >= DROPS + 1
            )
            mark = len(source_a.ticks)
            wait_until(
                "A resubscribed after the last drop",
                lambda: source_a.symbols_since(mark) >= options,
            )
            last_reconnect = datetime.now(UTC)
            status_a = session_of(ingestor, ACCOUNT_A)
            status_b = session_of(ingestor, ACCOUNT_B)
        finally:
            assert ingestor.stop()
        sent_a = read_sent(log_a)
        sent_b = read_sent(log_b)

    names = source_a.names()
    runs = [
        i
        for i in range(len(names) - 2)
        if names[i : i + 3] == ["disconnected", "connecting", "connected"]
    ]
    assert len(runs) == DROPS, names
    assert status_a["disconnects"] == DROPS
    assert status_a["status"] == "connected"
    assert status_a["reconnect_attempt"] == 0
    assert status_a["subscription_count"] > 0
    assert broker_a.connections_opened == DROPS + 1
    for connection in range(1, DROPS + 2):  # the fake streams only what was subscribed
        streamed = {
            line["symbol"]
            for line in sent_a
            if line["connection"] == connection and line["type"] == "Greeks"
        }
        assert streamed == options, f"connection {connection} was not resubscribed"
    rows_a = stored_rows(migrated_engine, ACCOUNT_A)
    assert assert_rows_match_sent(rows_a, sent_greeks(sent_a)) == {
        (str(t.raw["eventSymbol"]), int(t.raw["eventTime"])) for t in source_a.ticks
    }
    assert (
        len(rows_a)
        == len(source_a.ticks)
        == ingestor.status()["sessions"][0]["metrics"]["received"]
    )

    assert status_b["disconnects"] == 0
    assert broker_b.connections_opened == 1
    rows_b = stored_rows(migrated_engine, ACCOUNT_B)
    assert_rows_match_sent(rows_b, sent_greeks(sent_b))
    assert len(rows_b) == len(source_b.ticks)
    assert first_drop is not None
    during = sorted(
        {r.received_at for r in rows_b if first_drop <= r.received_at <= last_reconnect}
    )
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(during)]
    greeks_interval = 5 / rate_b  # the longest run of non-Greeks subscriptions in the round robin
    bound = 3 * greeks_interval + 0.5  # plus scheduler slack on a busy 2-core machine
    assert len(during) > 20
    assert max(gaps) < bound, f"B's stream paused {max(gaps):.3f} s during A's drops"


# ---------------------------------------------------------------------------- 4. bad payloads


def test_ingestor_with_malformed_duplicate_and_out_of_order_payloads_counts_each_and_keeps_good_events(
    migrated_engine: Engine, tmp_path: Path
) -> None:
    sent_log = tmp_path / "sent.jsonl"
    db = database(migrated_engine)
    with FakeDxlinkBroker(rate=300, seed=15, account=ACCOUNT_A, sent_log=sent_log) as broker:
        ingestor = Ingestor(db, journal_dir=tmp_path / "journal", sources=[dxlink(broker, seed=6)])
        ingestor.start()
        try:
            wait_until("ticks", lambda: metrics_of(ingestor, ACCOUNT_A)["received"] >= 40)
            for kind in MALFORMED_KINDS:
                assert broker.inject_malformed(kind) == 1
            wait_until("more ticks", lambda: metrics_of(ingestor, ACCOUNT_A)["received"] >= 80)
            broker.pause(600)
            assert broker.repeat_last(5) == 5
            older, newer = broker.send_out_of_order()
            lines = read_sent(sent_log)
            expected_received = sum(
                1
                for line in lines
                if line["type"] == "Greeks" and line.get("kind") not in UNDECODABLE
            )
            wait_until(
                "every decodable Greeks event",
                lambda: metrics_of(ingestor, ACCOUNT_A)["received"] == expected_received,
            )
        finally:
            assert ingestor.stop()
        symbol = str(older["eventSymbol"])
        latest_live = ingestor.latest

    metrics = metrics_of(ingestor, ACCOUNT_A)
    assert metrics["rejected"] == {"bad_symbol": 1, "malformed": 4, "no_greeks": 1}
    assert metrics["deduped"] == 5
    assert ingestor.status()["writer"]["deduped"] == 5
    good = sent_greeks(lines, faults=(None, "out_of_order"))
    rows = stored_rows(migrated_engine)
    assert assert_rows_match_sent(rows, good) == set(good)
    assert metrics["persisted"] == len(rows) == len(good)
    assert distinct_dedupe_keys(migrated_engine) == len(rows)
    by_key = {row.key: row for row in rows}
    old_row = by_key[(symbol, int(older["eventTime"]))]
    new_row = by_key[(symbol, int(newer["eventTime"]))]
    assert old_row.event_time < new_row.event_time
    assert old_row.received_at >= new_row.received_at, "the older event was not sent after"
    contract = new_row.contract_key
    live = latest_live.get("tastytrade", ACCOUNT_A, contract)
    assert live is not None
    assert live.event_time == new_row.event_time
    latest = GreeksQueries(db).latest(GreekFilter(account_id=ACCOUNT_A, contract_key=contract))
    assert [view.event_time for view in latest.items] == [new_row.event_time]
