"""Issue 12's fault tests ("Done when"), each counted against the fake broker's sent log.

Every stored ``greek_snapshots`` row is mapped back to the event the fake sent, by
``(eventSymbol, eventTime)`` from its raw payload, and its Greeks must equal the sent values.

* kill -9 of a real ``riskdesk stream start --broker tastytrade`` process mid-stream, then a
  restart on its journal: every record it journaled is stored once; the events in flight at
  the kill (sent, never received) are reported (``record_property`` ``in_flight_at_kill``);
* a private PostgreSQL stopped for 20 s mid-stream and started again on the same port:
  stored = sent, none twice;
* one broker's connection dropped 5 times while the other keeps flowing, both ways round
  (tastytrade: :class:`FakeDxlinkBroker` and :class:`DxlinkSource`; IBKR: :class:`FakeTwsBroker`
  and :class:`IbkrSource`, in the same ingest): the dropped one reconnects and resubscribes
  each time and stores exactly what it received, the other's stream shows no gap. IBKR rows
  are mapped to sent computations by ``(conId, the eight wire numbers)`` (TWS puts no time on
  the wire); its empty computations are counted as rejected (``no_greeks``), not stored;
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

from riskdesk.adapters.ibkr.client import IbkrSource, parse_tws_url
from riskdesk.adapters.ibkr.fake import FakeTwsBroker
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
ACCOUNT_IBKR = "DU000002"
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

    account_id: str
    contract_key: str
    event_time: datetime
    received_at: datetime
    values: dict[str, float | None]
    payload: dict[str, Any]

    @property
    def key(self) -> Key:
        """The DXLink event's ``(eventSymbol, eventTime)`` (a tastytrade row only)."""
        return (str(self.payload["eventSymbol"]), int(self.payload["eventTime"]))


def stored_rows(engine: Engine, account_id: str | None = None) -> list[Stored]:
    query = sa.select(GreekSnapshot)
    if account_id is not None:
        query = query.where(GreekSnapshot.account_id == account_id)
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    out: list[Stored] = []
    for item in rows:
        out.append(
            Stored(
                account_id=str(item.account_id),
                contract_key=str(item.contract_key),
                event_time=_aware(item.event_time),
                received_at=_aware(item.received_at),
                values={name: getattr(item, name) for name in VALUE_FIELDS},
                payload=dict(item.source_payload),
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


class Heartbeat:
    """A thread stamping the wall clock every ``period`` s: its gaps are the process's stalls.

    When the operating system deschedules the whole test process (another worker busy on a
    2-core machine), every thread stops, the fakes' senders included: a stream gap that long
    is no fault of the ingest. :meth:`stalled` says how much of a window was such a stall.
    """

    def __init__(self, period: float = 0.005) -> None:
        self.period = period
        self.beats: list[datetime] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="heartbeat", daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.period):
            self.beats.append(datetime.now(UTC))

    def __enter__(self) -> Heartbeat:
        self.beats.append(datetime.now(UTC))
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _gaps(self) -> Iterator[tuple[datetime, datetime]]:
        return itertools.pairwise(self.beats)

    def stalled(self, start: datetime, end: datetime) -> float:
        """Seconds of ``[start, end]`` inside beat gaps longer than the period (the stalls)."""
        total = 0.0
        for x, y in self._gaps():
            if y <= start or x >= end:
                continue
            late = (min(y, end) - max(x, start)).total_seconds() - self.period
            total += max(0.0, late)
        return total

    def longest(self) -> float:
        return max(((y - x).total_seconds() for x, y in self._gaps()), default=0.0)


def test_heartbeat_with_hand_built_beats_counts_only_the_time_beyond_the_period() -> None:
    beat = Heartbeat(period=0.005)
    at = [datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=s) for s in (0, 0.005, 1.005, 1.01)]
    beat.beats = at  # one stall: 1 s between the second and third beats

    assert beat.longest() == pytest.approx(1.0)
    assert beat.stalled(at[0], at[3]) == pytest.approx(0.995)  # 1 s gap less one period
    assert beat.stalled(at[0] + timedelta(seconds=0.505), at[3]) == pytest.approx(0.495)
    assert beat.stalled(at[2], at[3]) == 0.0  # a window with no stall in it
    assert beat.stalled(at[0], at[1]) == 0.0


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

    def __init__(
        self,
        inner: TickSource,
        *,
        contract_of: Callable[[GreeksTick], str] = lambda tick: str(tick.raw["eventSymbol"]),
    ) -> None:
        self.inner = inner
        self.contract_of = contract_of
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
            return {self.contract_of(t) for t in self.ticks[mark:]}


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


@pytest.mark.slow
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
        stored_before = assert_rows_match_sent(stored_rows(migrated_engine), sent_before_kill)
        stored_before_restart = len(stored_before)
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
        # received by the killed process: journaled, or already in the database (the writer
        # may store a batch before the journal's commit thread wrote its last entries to the
        # file; the journal never reuses such an acked offset, see Journal._open_segments)
        received = set(journaled) | stored_before
        in_flight = len(sent_before_kill) - len(received)
        record_property("sent_greeks_before_kill", len(sent_before_kill))
        record_property("received_by_killed_process", len(received))
        record_property("in_flight_at_kill", in_flight)
        print(
            f"kill -9: {len(sent_before_kill)} Greeks sent before the kill, {len(received)} "
            f"received by the killed process ({len(journaled)} journaled), {in_flight} in "
            "flight; "
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
    assert restarted.recovered.replayed == max(0, len(journaled) - checkpoint)
    assert restarted.recovered.persisted == len(set(journaled) - stored_before)
    after = metrics_of(restarted, ACCOUNT_A)
    assert after["rejected_total"] == 0
    rows = stored_rows(migrated_engine)
    keys = assert_rows_match_sent(rows, sent)
    assert set(journaled) <= keys, "a record the killed process journaled was not stored"
    assert stored_before <= keys
    assert len(rows) == len(received) + after["journaled"]
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


@pytest.mark.slow
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
DROP_RATE = 400.0
"""Events per second each fake broker of the drop test sends (per connection)."""

UNDECODABLE = ("not_json", "bad_arity", "bad_value")
"""Malformed kinds the client itself rejects (never handed to the ingest as a tick)."""

TWS_FIELDS = ("impliedVol", "delta", "optPrice", "pvDividend", "gamma", "vega", "theta", "undPrice")
TWS_UNSET = 1.7976931348623157e308
"""TWS's ``Double.MAX_VALUE``: a number it did not compute."""

AnyKey = tuple[object, ...]
"""How a stored row or a received tick finds its sent event, for either broker."""


def tws_key(con_id: object, wire: dict[str, Any]) -> AnyKey:
    """``(conId, the eight wire numbers)`` of a computation (the numbers move at every step).

    Numbers are compared as floats: PostgreSQL's ``jsonb`` gives ``1.7976931348623157e308``
    back as the integer ``179769313486231570000...`` (the same JSON number, another type).
    """
    numbers = (wire[name] for name in TWS_FIELDS)
    return (int(str(con_id)), *(None if n is None else float(n) for n in numbers))


def tws_value(name: str, number: float) -> float | None:
    """A wire number as stored: TWS's "not computed" sentinels are missing values."""
    unset = -1.0 if name == "impliedVol" else -2.0
    return None if number == unset or abs(number) >= TWS_UNSET else number


class Feed:
    """One broker of the drop test: its fake on loopback, its recorded source, its sent log."""

    name: str
    account_id: str
    log: Path
    source: Recorder
    contracts: set[str]
    """Every contract of the account, as :meth:`line_contract` and the recorder name them."""

    def drop(self) -> int:
        raise NotImplementedError

    def connections_opened(self) -> int:
        raise NotImplementedError

    def greeks_lines(self, lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The log's Greeks events (in sending order)."""
        raise NotImplementedError

    def line_contract(self, line: dict[str, Any]) -> str:
        raise NotImplementedError

    def sent(self, lines: list[dict[str, Any]]) -> dict[AnyKey, dict[str, Any]]:
        """The log's Greeks events by key (each key sent once)."""
        raise NotImplementedError

    def tick_key(self, tick: GreeksTick) -> AnyKey:
        raise NotImplementedError

    def check_rows(self, rows: list[Stored], lines: list[dict[str, Any]]) -> set[AnyKey]:
        """Every row is a sent event (same values) and none is stored twice; the keys."""
        raise NotImplementedError

    def rejected(self, ticks: list[GreeksTick], lines: list[dict[str, Any]]) -> dict[str, int]:
        """The rejections the ingest must count for ``ticks`` (by reason)."""
        raise NotImplementedError

    def greeks_interval(self, lines: list[dict[str, Any]]) -> float:
        """Longest time between two stored Greeks events at the fake's rate, in seconds."""
        raise NotImplementedError


class DxlinkFeed(Feed):
    """tastytrade: a :class:`FakeDxlinkBroker` read by a :class:`DxlinkSource`."""

    def __init__(self, fake: FakeDxlinkBroker, log: Path, *, seed: int) -> None:
        self.name = "tastytrade"
        self.fake = fake
        self.account_id = fake.account
        self.log = log
        self.source = Recorder(dxlink(fake, seed=seed))
        self.contracts = {p.streamer_symbol for p in fake.positions}

    def drop(self) -> int:
        return self.fake.drop_connections()

    def connections_opened(self) -> int:
        return self.fake.connections_opened

    def greeks_lines(self, lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [line for line in lines if line["type"] == "Greeks"]

    def line_contract(self, line: dict[str, Any]) -> str:
        return str(line["symbol"])

    def sent(self, lines: list[dict[str, Any]]) -> dict[AnyKey, dict[str, Any]]:
        return dict(sent_greeks(lines).items())

    def tick_key(self, tick: GreeksTick) -> AnyKey:
        return (str(tick.raw["eventSymbol"]), int(tick.raw["eventTime"]))

    def check_rows(self, rows: list[Stored], lines: list[dict[str, Any]]) -> set[AnyKey]:
        return set(assert_rows_match_sent(rows, sent_greeks(lines)))

    def rejected(self, ticks: list[GreeksTick], lines: list[dict[str, Any]]) -> dict[str, int]:
        return {}  # the fake sends no malformed or empty event unless told to

    def greeks_interval(self, lines: list[dict[str, Any]]) -> float:
        return 5 / self.fake.rate  # the longest run of non-Greeks subscriptions in its round robin


class TwsFeed(Feed):
    """IBKR: a :class:`FakeTwsBroker` read by an :class:`IbkrSource` (``ib_async``)."""

    def __init__(self, fake: FakeTwsBroker, log: Path, *, seed: int) -> None:
        self.name = "ibkr"
        self.fake = fake
        self.account_id = fake.account
        self.log = log
        host, port = parse_tws_url(fake.address)
        source = IbkrSource(host, port, account=fake.account, backoff=tiny_backoff(seed))
        self.source = Recorder(source, contract_of=lambda tick: tick.symbol)
        self.contracts = {p.key for p in fake.positions}

    def drop(self) -> int:
        return self.fake.drop_connections()

    def connections_opened(self) -> int:
        return self.fake.connection_count

    def greeks_lines(self, lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [line for line in lines if line["type"] == "OptionComputation"]

    def line_contract(self, line: dict[str, Any]) -> str:
        return str(line["contractKey"])

    def sent(self, lines: list[dict[str, Any]]) -> dict[AnyKey, dict[str, Any]]:
        found: dict[AnyKey, dict[str, Any]] = {}
        for line in self.greeks_lines(lines):
            key = tws_key(line["conId"], line["values"])
            assert key not in found, f"{key} sent twice: the key does not identify an event"
            found[key] = line
        return found

    def tick_key(self, tick: GreeksTick) -> AnyKey:
        return tws_key(tick.raw["conId"], dict(tick.raw))

    def check_rows(self, rows: list[Stored], lines: list[dict[str, Any]]) -> set[AnyKey]:
        sent = self.sent(lines)
        counts = Counter(tws_key(row.payload["conId"], row.payload) for row in rows)
        twice = [key for key, n in counts.items() if n > 1]
        assert not twice, f"{len(twice)} computations stored more than once, e.g. {twice[:3]}"
        for row in rows:
            key = tws_key(row.payload["conId"], row.payload)
            line = sent.get(key)
            assert line is not None, f"stored row {key} matches no sent computation"
            assert row.contract_key == line["contractKey"], key
            assert line["variant"] != "empty", f"an empty computation was stored: {key}"
            sent_at = EPOCH + timedelta(milliseconds=int(line["eventTime"]))
            assert sent_at <= row.received_at <= row.event_time, key  # TWS stamps no time
            values = line["values"]
            expected = {
                "delta": tws_value("delta", values["delta"]),
                "gamma": tws_value("gamma", values["gamma"]),
                "theta": tws_value("theta", values["theta"]),
                "vega": tws_value("vega", values["vega"]),
                "rho": None,  # TWS computes no rho
                "implied_volatility": tws_value("impliedVol", values["impliedVol"]),
            }
            assert row.values == expected, f"stored values of {key} differ from the sent ones"
        return set(counts)

    def rejected(self, ticks: list[GreeksTick], lines: list[dict[str, Any]]) -> dict[str, int]:
        sent = self.sent(lines)
        empty = sum(sent[self.tick_key(t)]["variant"] == "empty" for t in ticks)
        return {"no_greeks": empty} if empty else {}

    def greeks_interval(self, lines: list[dict[str, Any]]) -> float:
        longest = run = 0  # the longest run of empty computations (never stored)
        for line in self.greeks_lines(lines):
            run = run + 1 if line["variant"] == "empty" else 0
            longest = max(longest, run)
        return (longest + 1) / self.fake.rate


@pytest.mark.parametrize("dropped", ["tastytrade", "ibkr"])
def test_ingestor_with_one_broker_dropped_5_times_reconnects_it_and_the_other_flows_without_gap(
    dropped: str, migrated_engine: Engine, tmp_path: Path
) -> None:
    log_tasty, log_ibkr = tmp_path / "sent-tastytrade.jsonl", tmp_path / "sent-ibkr.jsonl"
    with (
        Heartbeat() as heartbeat,
        FakeDxlinkBroker(rate=DROP_RATE, seed=13, account=ACCOUNT_A, sent_log=log_tasty) as dx,
        FakeTwsBroker(rate=DROP_RATE, seed=14, account=ACCOUNT_IBKR, sent_log=log_ibkr) as tws,
    ):
        feeds: dict[str, Feed] = {
            "tastytrade": DxlinkFeed(dx, log_tasty, seed=4),
            "ibkr": TwsFeed(tws, log_ibkr, seed=5),
        }
        a = feeds.pop(dropped)
        (b,) = feeds.values()
        ingestor = Ingestor(
            database(migrated_engine),
            journal_dir=tmp_path / "journal",
            sources=[a.source, b.source],
            status_interval=0.2,
        )
        ingestor.start()
        try:
            wait_until(f"{b.name} streaming", lambda: len(b.source.ticks) >= 50)
            first_drop: datetime | None = None
            for drop in range(1, DROPS + 1):
                wait_until(f"{a.name} connection {drop}", a.source.at_least("connected", drop))
                mark = len(a.source.ticks)
                wait_until(  # IBKR's late contracts included: they start late_s after
                    f"{a.name} resubscribed on connection {drop}",
                    a.source.resubscribed(mark, a.contracts),
                )
                first_drop = first_drop or datetime.now(UTC)
                assert a.drop() == 1
                wait_until(f"{a.name} disconnect {drop}", a.source.at_least("disconnected", drop))
            wait_until(f"{a.name} connected again", a.source.at_least("connected", DROPS + 1))
            mark = len(a.source.ticks)
            wait_until(
                f"{a.name} resubscribed after the last drop",
                a.source.resubscribed(mark, a.contracts),
            )
            last_reconnect = datetime.now(UTC)
            status_a = session_of(ingestor, a.account_id)
            status_b = session_of(ingestor, b.account_id)
        finally:
            assert ingestor.stop()
    lines_a, lines_b = read_sent(a.log), read_sent(b.log)  # complete: the fakes are stopped

    # A: reconnected and resubscribed after every drop; stored = received, none twice
    names = a.source.names()
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
    assert a.connections_opened() == DROPS + 1
    for connection in range(1, DROPS + 2):  # the fakes stream only what was subscribed
        streamed = {
            a.line_contract(line)
            for line in a.greeks_lines(lines_a)
            if line["connection"] == connection
        }
        assert streamed == a.contracts, f"{a.name} connection {connection} was not resubscribed"
    assert_stored_equals_received(a, ingestor, migrated_engine, lines_a)

    # B: one connection all along, stored = received, and no gap while A was dropped
    assert status_b["disconnects"] == 0
    assert status_b["status"] == "connected"
    assert b.connections_opened() == 1
    rows_b = assert_stored_equals_received(b, ingestor, migrated_engine, lines_b)
    assert first_drop is not None
    during = sorted(
        {r.received_at for r in rows_b if first_drop <= r.received_at <= last_reconnect}
    )
    bound = 3 * b.greeks_interval(lines_b) + 0.5  # plus scheduler slack on a busy 2-core machine
    assert len(during) > 20
    # A pause of the whole process (a loaded CI machine descheduling it) stops B's fake and the
    # heartbeat too and is not the ingest's doing: only B's own pause beyond it counts.
    own = [
        ((y - x).total_seconds() - heartbeat.stalled(x, y), x)
        for x, y in itertools.pairwise(during)
    ]
    worst, at = max(own)
    assert worst < bound, (
        f"{b.name}'s stream paused {worst:.3f} s beyond the process's own stalls during the "
        f"drops (at {at.isoformat()}; longest process stall {heartbeat.longest():.3f} s)"
    )


def assert_stored_equals_received(
    feed: Feed, ingestor: Ingestor, engine: Engine, lines: list[dict[str, Any]]
) -> list[Stored]:
    """Every tick ``feed`` received is a sent event, once; the stored rows are exactly them.

    A received tick the ingest must reject (IBKR's empty computations: ``no_greeks``) is
    counted as rejected and not stored. Returns the feed's stored rows.
    """
    sent = feed.sent(lines)
    received = Counter(feed.tick_key(t) for t in feed.source.ticks)
    assert received, f"{feed.name} received nothing"
    assert max(received.values()) == 1, f"{feed.name} delivered a sent event twice"
    assert set(received) <= set(sent), f"{feed.name} received an event its fake never sent"
    rejected = feed.rejected(feed.source.ticks, lines)
    if feed.name == "ibkr":  # the fake's empty computations did arrive, and were rejected
        assert rejected.get("no_greeks", 0) > 0
    rows = stored_rows(engine, feed.account_id)
    keys = feed.check_rows(rows, lines)
    assert len(rows) == len(received) - sum(rejected.values())
    assert keys <= set(received), f"{feed.name} stored an event it never received"
    metrics = metrics_of(ingestor, feed.account_id)
    assert metrics["received"] == len(received)
    assert metrics["rejected"] == rejected
    assert metrics["persisted"] == len(rows)
    return rows


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
