"""``riskdesk bench stream``: streaming Greeks from a fake broker into the database.

Issue 12's targets are measured here (never in tests): a fake broker at 5,000 ticks/s for
60 s, 100% of received ticks persisted, p95 tick-to-durable <= 100 ms and p99 <= 250 ms on
SQLite and on PostgreSQL, the first row within 2 s of start, and sustained bulk ingest into
PostgreSQL >= 50,000 rows/s.

Stream cases (``sqlite``, a temporary file or ``database_url``; ``postgres`` when
``postgres_url`` is given; both migrated to head): a
:class:`~riskdesk.adapters.tastytrade.fake.FakeDxlinkBroker` on 127.0.0.1 with a sent log
streams to an :class:`~riskdesk.streaming.ingest.Ingestor` running the real
:class:`~riskdesk.adapters.tastytrade.client.DxlinkSource` (REST login, DXLink WebSocket,
COMPACT frames) in a temporary journal directory. The fake's ``rate`` counts every event it
sends (``Greeks`` of the 12 option positions, ``Quote`` of the 3 underlyings,
round robin), so it is set to ``rate * events / Greeks`` per second: ``rate`` is Greeks
ticks per second. After ``duration`` seconds the fake's emission is paused, the bench waits
for the socket to go quiet, stops the Ingestor (it drains), then counts what the database
holds for the run's account. Each run uses a fresh account (``BENCH<hex>``), so a reused
database is fine.

Latency figures are the Ingestor's own: tick-to-durable is receipt -> the journal fsync
that made the record durable, and receipt -> commit is the writer's persisted latency. The
Ingestor keeps its last 100,000 samples per measure, so the bench reads its status every
second and reports the final window and the worst p95/p99/max seen in any sample; the
verdict uses the worst.

Bulk cases (``bulk-postgres`` with ``postgres_url``, ``bulk-sqlite`` for comparison):
``bulk_rows`` pre-built records (the JSON the Ingestor submits) go through the real
:class:`~riskdesk.streaming.writer.BatchWriter` path (decode, journal append + fsync, batches
of 500, COPY + ``INSERT .. SELECT .. ON CONFLICT DO NOTHING`` on PostgreSQL, executemany on
SQLite) as fast as it takes them. The PostgreSQL same-run baseline is the floor: one plain
psycopg ``COPY`` of the same rows, already converted to tuples, into a scratch copy of
``greek_snapshots`` (same columns, defaults and indexes, a regular logged table, dropped
afterwards) -- no journal, no staging table, no dedupe, no per-row Python conversion. It
shows what the database itself costs, so the rest is the pipeline's Python.

When a stream case falls short of ``rate`` (the fake broker, the client and the writer share
one process and its GIL), a shorter run on SQLite is profiled with cProfile in every thread
(per-thread CPU time) and the top functions are reported.
"""

from __future__ import annotations

import cProfile
import json
import pstats
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any, Final

import sqlalchemy as sa
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from riskdesk.store import Database
from riskdesk.store.migrate import upgrade_database
from riskdesk.store.models import GreekSnapshot

__all__ = [
    "CASES",
    "TARGETS",
    "BenchStreamError",
    "main",
    "measure",
]

CASES: Final = ("sqlite", "postgres", "bulk-postgres", "bulk-sqlite")
"""Every case; the PostgreSQL ones run only with a ``postgres_url``."""

TARGETS: Final[dict[str, float]] = {
    "persisted_ratio": 1.0,
    "p95_tick_to_durable_ms": 100.0,
    "p99_tick_to_durable_ms": 250.0,
    "first_row_s": 2.0,
    "bulk_postgres_rows_per_s": 50_000.0,
}
"""Issue 12's targets (``persisted_ratio``: persisted rows / received ticks, exactly)."""

RATE_SHORTFALL: Final = 0.95
"""A stream case achieving less than this share of ``rate`` triggers the profile run."""

BROKER: Final = "tastytrade"
_STATUS_EVERY_S: Final = 1.0
_FIRST_ROW_POLL_S: Final = 0.02
_QUIET_S: Final = 0.5
_QUIET_MAX_S: Final = 10.0
_PROFILE_TOP: Final = 15


class BenchStreamError(RuntimeError):
    """The bench could not run a case (a bad option, a broker or database that failed)."""


# --------------------------------------------------------------------------- helpers


def _verdict(ok: bool) -> str:
    return "ok" if ok else "MISS"


def _account() -> str:
    return f"BENCH{secrets.token_hex(4).upper()}"


def _count_rows(db: Database, account: str) -> int:
    query = (
        sa.select(sa.func.count())
        .select_from(GreekSnapshot)
        .where(GreekSnapshot.broker == BROKER, GreekSnapshot.account_id == account)
    )
    with db.engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def _open_database(url: str) -> Database:
    db = Database.from_url(url)
    try:
        upgrade_database(db.engine)
    except BaseException:
        db.engine.dispose()
        raise
    return db


class _FirstRowWatch:
    """Polls ``greek_snapshots`` for the run's first row (own thread, own connection)."""

    def __init__(self, db: Database, account: str, started: float) -> None:
        self._query = (
            sa.select(sa.literal(1))
            .select_from(GreekSnapshot)
            .where(GreekSnapshot.broker == BROKER, GreekSnapshot.account_id == account)
            .limit(1)
        )
        self._db = db
        self._started = started
        self._stop = threading.Event()
        self.seconds: float | None = None
        self.error: str | None = None
        self._thread = threading.Thread(target=self._run, name="bench-first-row", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        try:
            with self._db.engine.connect() as conn:
                while not self._stop.is_set():
                    found = conn.execute(self._query).first() is not None
                    conn.rollback()  # a fresh snapshot on the next poll
                    if found:
                        self.seconds = time.monotonic() - self._started
                        return
                    self._stop.wait(_FIRST_ROW_POLL_S)
        except sa.exc.SQLAlchemyError as exc:
            self.error = str(exc).splitlines()[0]


@dataclass
class _Window:
    """Worst percentiles of a latency measure seen in the Ingestor's status samples."""

    worst: dict[str, float] = field(default_factory=dict)
    last: dict[str, Any] = field(default_factory=dict)

    def observe(self, summary: dict[str, Any]) -> None:
        self.last = dict(summary)
        for name in ("p50", "p95", "p99", "max"):
            value = summary.get(name)
            if value is not None:
                self.worst[name] = max(self.worst.get(name, 0.0), float(value))

    def report(self) -> dict[str, Any]:
        return {
            "p50": self.last.get("p50"),
            "p95": self.last.get("p95"),
            "p99": self.last.get("p99"),
            "max": self.worst.get("max"),
            "worst_p95": self.worst.get("p95"),
            "worst_p99": self.worst.get("p99"),
            "window_count": self.last.get("count"),
            "samples_total": self.last.get("total"),
        }


def _session_latency(status: dict[str, Any]) -> dict[str, Any]:
    sessions = status["sessions"]
    return dict(sessions[0]["metrics"]["tick_to_durable_ms"]) if sessions else {}


def _count_sent(log: Path) -> tuple[int, int]:
    """(all events, Greeks events) in the fake broker's sent log."""
    events = greeks = 0
    if not log.exists():
        return 0, 0
    with log.open("rb") as handle:
        for line in handle:
            events += 1
            if b'"type":"Greeks"' in line:
                greeks += 1
    return events, greeks


# --------------------------------------------------------------------------- stream cases


Tick = Callable[[float, dict[str, Any]], None]
"""Progress callback: (elapsed seconds, the Ingestor's status)."""

_SEED: Final = 7
_BROKER_START_S: Final = 60.0


@cache
def _events_per_tick(seed: int) -> float:
    """Events the fake sends per Greeks event.

    The fake round-robins its connection's subscriptions: the streaming client subscribes
    Greeks of each option and Quote of each underlying (not the options' quotes).
    """
    from riskdesk.adapters.tastytrade.fake import FakeDxlinkBroker

    positions = FakeDxlinkBroker(rate=0.0, seed=seed).positions
    options = len(positions)
    underlyings = len({p.contract.underlying for p in positions})
    return (options + underlyings) / options


class _BrokerThread:
    """The fake broker in a thread of this process (it shares the GIL with the ingest)."""

    def __init__(self, event_rate: float, account: str, sent_log: Path) -> None:
        from riskdesk.adapters.tastytrade.fake import FakeDxlinkBroker

        self._broker = FakeDxlinkBroker(
            rate=event_rate, seed=_SEED, account=account, sent_log=sent_log
        )
        self.url = ""

    def __enter__(self) -> _BrokerThread:
        self.url = self._broker.start()
        return self

    def stop_emitting(self) -> None:
        self._broker.pause(24 * 3600.0)

    def __exit__(self, *_exc: object) -> None:
        self._broker.stop()


class _BrokerProcess:
    """The fake broker as ``riskdesk stream fake-broker`` in its own process (like a real one).

    Stopping its emission stops the process (SIGTERM): it closes the connection after the
    frame being sent, so everything it logged as sent reaches the client first.
    """

    def __init__(self, event_rate: float, account: str, sent_log: Path) -> None:
        self._args = [
            sys.executable,
            "-m",
            "riskdesk.cli.main",
            "stream",
            "fake-broker",
            "--protocol",
            "dxlink",
            "--port",
            "0",
            "--rate",
            repr(event_rate),
            "--seed",
            str(_SEED),
            "--account",
            account,
            "--sent-log",
            str(sent_log),
            "--json",
        ]
        self._stderr_path = sent_log.with_name("broker.stderr")
        self._process: subprocess.Popen[str] | None = None
        self.url = ""

    def __enter__(self) -> _BrokerProcess:
        with self._stderr_path.open("w", encoding="utf-8") as stderr:
            process = subprocess.Popen(self._args, stdout=subprocess.PIPE, stderr=stderr, text=True)
        self._process = process
        assert process.stdout is not None
        ready = threading.Event()
        lines: list[str] = []

        def read() -> None:
            assert process.stdout is not None
            text = ""
            for line in process.stdout:
                text += line
                if line.rstrip() == "}":
                    break
            lines.append(text)
            ready.set()

        threading.Thread(target=read, name="bench-broker-stdout", daemon=True).start()
        if not ready.wait(_BROKER_START_S) or not lines or not lines[0].strip():
            self.__exit__()
            raise BenchStreamError(
                f"the fake broker process did not start within {_BROKER_START_S:g} s "
                f"(exit code {process.poll()}): {self._stderr_tail()}"
            )
        try:
            self.url = str(json.loads(lines[0])["url"])
        except (ValueError, KeyError) as exc:
            self.__exit__()
            raise BenchStreamError(f"the fake broker printed no URL: {lines[0]!r}") from exc
        return self

    def _stderr_tail(self) -> str:
        try:
            text = self._stderr_path.read_text(encoding="utf-8").strip()
        except OSError:
            return "no error output"
        return text.splitlines()[-1] if text else "no error output"

    def stop_emitting(self) -> None:
        process = self._process
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)

    def __exit__(self, *_exc: object) -> None:
        self.stop_emitting()
        if self._process is not None and self._process.stdout is not None:
            self._process.stdout.close()


@dataclass
class _Observed:
    """What one stream run saw (before counting rows)."""

    metrics: dict[str, Any]
    reconnects: int
    durable: _Window
    to_db: _Window
    depth_peak: int
    drained: bool
    first_row_s: float | None
    first_row_error: str | None
    received_at_end: int
    emitting_s: float
    receiving_s: float
    steady_ticks_per_s: float | None


def _observe(
    db: Database,
    account: str,
    fake: _BrokerThread | _BrokerProcess,
    folder: Path,
    duration: float,
    on_status: Tick | None,
) -> _Observed:
    """Stream from ``fake`` into ``db`` for ``duration`` seconds, drain, and report."""
    from riskdesk.adapters.tastytrade.client import DxlinkSource
    from riskdesk.streaming.ingest import Ingestor

    with fake:
        source = DxlinkSource(fake.url, account=account, credentials=("bench", "bench"))
        ingestor = Ingestor(
            db, journal_dir=folder / "journal", sources=[source], status_interval=0.5
        )
        durable, to_db = _Window(), _Window()
        depth_peak = 0
        started = time.monotonic()
        watch = _FirstRowWatch(db, account, started)
        ingestor.start()
        watch.start()
        first: tuple[float, int] | None = None  # (elapsed, received) at the first tick seen
        steady: float | None = None
        try:
            while True:
                elapsed = time.monotonic() - started
                status = ingestor.status()
                received_now = int(status["totals"]["received"])
                if first is None and received_now > 0:
                    first = (elapsed, received_now)
                durable.observe(_session_latency(status))
                to_db.observe(status["tick_to_db_ms"])
                depth_peak = max(depth_peak, int((status["writer"] or {}).get("journal_depth", 0)))
                if on_status is not None:
                    on_status(min(elapsed, duration), status)
                if elapsed >= duration:
                    received_at_end = received_now
                    if first is not None and elapsed > first[0]:
                        steady = (received_now - first[1]) / (elapsed - first[0])
                    break
                time.sleep(min(_STATUS_EVERY_S, max(0.0, duration - elapsed)))
            emitting_s = time.monotonic() - started
            fake.stop_emitting()
            quiet_for, last, waited = 0.0, received_at_end, 0.0
            receiving_s = emitting_s
            while quiet_for < _QUIET_S and waited < _QUIET_MAX_S:
                time.sleep(0.1)
                waited += 0.1
                now_received = int(ingestor.status()["totals"]["received"])
                if now_received == last:
                    quiet_for += 0.1
                else:
                    quiet_for, last = 0.0, now_received
                    receiving_s = time.monotonic() - started
        finally:
            drained = ingestor.stop(timeout=300.0)
            watch.stop()
    status = ingestor.status()
    durable.observe(_session_latency(status))
    to_db.observe(status["tick_to_db_ms"])
    session = status["sessions"][0]
    metrics = session["metrics"]
    return _Observed(
        metrics=metrics,
        reconnects=int(session["disconnects"]),
        durable=durable,
        to_db=to_db,
        depth_peak=max(depth_peak, int(metrics["journal_depth_max"])),
        drained=bool(drained),
        first_row_s=watch.seconds,
        first_row_error=watch.error,
        received_at_end=received_at_end,
        emitting_s=emitting_s,
        receiving_s=receiving_s,
        steady_ticks_per_s=steady,
    )


def _stream_run(
    case: str,
    url: str,
    *,
    rate: float,
    duration: float,
    tmp: Path,
    broker_process: bool,
    on_status: Tick | None = None,
) -> dict[str, Any]:
    """One stream run (see the module docstring) and its report."""
    account = _account()
    folder = Path(tempfile.mkdtemp(prefix=f"{case}-", dir=tmp))
    sent_log = folder / "sent.jsonl"
    event_rate = rate * _events_per_tick(_SEED)
    broker = _BrokerProcess if broker_process else _BrokerThread
    db = _open_database(url)
    try:
        fake = broker(event_rate, account, sent_log)
        seen = _observe(db, account, fake, folder, duration, on_status)
        persisted = _count_rows(db, account)
        dialect = db.engine.dialect.name
    finally:
        db.engine.dispose()
    metrics = seen.metrics
    events_sent, sent = _count_sent(sent_log)
    received = int(metrics["received"])
    ratio = persisted / received if received else 0.0
    durable_ms, db_ms = seen.durable.report(), seen.to_db.report()
    achieved = seen.steady_ticks_per_s
    p95, p99 = durable_ms["worst_p95"], durable_ms["worst_p99"]
    first_row = seen.first_row_s
    return {
        "case": case,
        "dialect": dialect,
        "account": account,
        "rate": rate,
        "duration_s": seen.emitting_s,
        "receiving_s": seen.receiving_s,
        "received_while_emitting": seen.received_at_end,
        "broker_events_per_s": event_rate,
        "broker": "subprocess" if broker_process else "thread",
        "events_sent": events_sent,
        "sent": sent,
        "received": received,
        "in_transit": sent - received,
        "journaled": int(metrics["journaled"]),
        "persisted": persisted,
        "ingestor_persisted": int(metrics["persisted"]),
        "deduped": int(metrics["deduped"]),
        "rejected": int(metrics["rejected_total"]),
        "rejected_by_reason": metrics["rejected"],
        "persisted_ratio": ratio,
        "achieved_ticks_per_s": achieved,
        "tick_to_durable_ms": durable_ms,
        "receipt_to_commit_ms": db_ms,
        "first_row_s": first_row,
        "first_row_error": seen.first_row_error,
        "journal_depth_peak": seen.depth_peak,
        "reconnects": seen.reconnects,
        "drained": seen.drained,
        "verdicts": {
            "persisted_ratio": _verdict(received > 0 and persisted == received),
            "p95_tick_to_durable_ms": _verdict(
                p95 is not None and p95 <= TARGETS["p95_tick_to_durable_ms"]
            ),
            "p99_tick_to_durable_ms": _verdict(
                p99 is not None and p99 <= TARGETS["p99_tick_to_durable_ms"]
            ),
            "first_row_s": _verdict(first_row is not None and first_row <= TARGETS["first_row_s"]),
            "rate": _verdict(achieved is not None and achieved >= RATE_SHORTFALL * rate),
        },
    }


# --------------------------------------------------------------------------- bulk cases

_BULK_CONTRACTS: Final = tuple(
    f"SPY:20250321:{strike}:{right}" for strike in range(560, 620, 5) for right in ("C", "P")
)


def _bulk_records(rows: int, account: str) -> list[dict[str, Any]]:
    """``rows`` distinct records as the Ingestor submits them (``to_dict()`` JSON)."""
    from riskdesk.streaming.records import UnifiedPositionRecord

    base = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    template = UnifiedPositionRecord.for_contract(
        broker=BROKER,
        account_id=account,
        contract_key=_BULK_CONTRACTS[0],
        event_time=base,
        received_at=base,
        quantity=Decimal(3),
        delta=0.5,
        gamma=0.01,
        theta=-0.05,
        vega=0.2,
        rho=0.03,
        implied_volatility=0.18,
        underlying_price=590.0,
        source_payload={"eventSymbol": ".SPY250321C560", "sequence": 0},
    ).to_dict()
    out: list[dict[str, Any]] = []
    contracts = len(_BULK_CONTRACTS)
    for i in range(rows):
        stamp = (base + timedelta(microseconds=i)).isoformat(timespec="microseconds")
        record = dict(template)
        record["contract_key"] = _BULK_CONTRACTS[i % contracts]
        record["event_time"] = stamp
        record["received_at"] = stamp
        record["delta"] = 0.5 - (i % 997) * 1e-4
        record["source_payload"] = {"eventSymbol": "bench", "sequence": i}
        out.append(record)
    return out


def _writer_bulk(db: Database, records: list[dict[str, Any]], folder: Path) -> dict[str, Any]:
    """Push ``records`` through journal + BatchWriter into ``db``; seconds and counts."""
    from riskdesk.streaming.ingest import decode_record
    from riskdesk.streaming.journal import Journal
    from riskdesk.streaming.writer import BatchWriter

    # each record validated once, before the timer, as the Ingestor's normalizer does: the
    # case measures what follows a receipt (journal, batching, the database), not validation
    rows = [dict(decode_record(record)) for record in records]
    journal = Journal(folder / "journal")
    try:
        writer = BatchWriter(db, journal, decode=decode_record, on_full="spill")
        writer.start()
        started = time.perf_counter()
        for record, row in zip(records, rows, strict=True):
            writer.submit(record, row=row)
        submitted = time.perf_counter() - started
        if not writer.wait_persisted(timeout=3600.0):
            raise BenchStreamError(f"the writer did not store the bulk rows: {writer.stats()}")
        seconds = time.perf_counter() - started
        writer.stop()
        stats = writer.stats()
    finally:
        journal.close()
    return {
        "seconds": seconds,
        "submit_seconds": submitted,
        "writer_persisted": stats.persisted,
        "deduped": stats.deduped,
    }


def _copy_tuples(records: list[dict[str, Any]]) -> tuple[list[str], list[tuple[Any, ...]]]:
    """The rows as COPY tuples in table order (built before the baseline's timer)."""
    from psycopg.types.json import Jsonb

    from riskdesk.streaming.ingest import decode_record

    table = GreekSnapshot.__table__
    assert isinstance(table, sa.Table)
    names = [column.name for column in table.columns]
    now = datetime.now(UTC)
    out: list[tuple[Any, ...]] = []
    for record in records:
        row = dict(decode_record(record))
        row["id"] = uuid.uuid4()
        row["persisted_at"] = now
        row["source_payload"] = Jsonb(row["source_payload"])
        out.append(tuple(row[name] for name in names))
    return names, out


def _copy_floor(db: Database, names: list[str], rows: list[tuple[Any, ...]]) -> float:
    """Seconds of one plain COPY of ``rows`` into a scratch copy of the table (dropped)."""
    scratch = f"riskdesk_bench_scratch_{secrets.token_hex(4)}"
    columns = ", ".join(f'"{name}"' for name in names)
    with db.engine.connect() as conn:
        raw = conn.connection.driver_connection
        if raw is None:  # pragma: no cover - a checked-out connection always has one
            raise BenchStreamError("the PostgreSQL connection closed before the COPY baseline")
        try:
            raw.execute(
                f"CREATE TABLE {scratch} (LIKE greek_snapshots INCLUDING DEFAULTS "
                "INCLUDING CONSTRAINTS INCLUDING INDEXES)"
            )
            raw.commit()
            started = time.perf_counter()
            with (
                raw.cursor() as cursor,
                cursor.copy(f"COPY {scratch} ({columns}) FROM STDIN") as copy,
            ):
                for row in rows:
                    copy.write_row(row)
            raw.commit()
            seconds = time.perf_counter() - started
        finally:
            raw.rollback()
            raw.execute(f"DROP TABLE IF EXISTS {scratch}")
            raw.commit()
    return seconds


def _bulk_case(case: str, url: str, rows: int, tmp: Path, *, baseline: bool) -> dict[str, Any]:
    account = _account()
    records = _bulk_records(rows, account)
    db = _open_database(url)
    try:
        folder = Path(tempfile.mkdtemp(prefix=f"{case}-", dir=tmp))
        run = _writer_bulk(db, records, folder)
        persisted = _count_rows(db, account)
        floor: float | None = None
        if baseline:
            names, tuples = _copy_tuples(records)
            floor = _copy_floor(db, names, tuples)
        dialect = db.engine.dialect.name
    finally:
        db.engine.dispose()
    seconds = float(run["seconds"])
    rows_per_s = rows / seconds if seconds > 0 else float("inf")
    report: dict[str, Any] = {
        "case": case,
        "dialect": dialect,
        "account": account,
        "rows": rows,
        "persisted": persisted,
        "deduped": run["deduped"],
        "seconds": seconds,
        "submit_seconds": run["submit_seconds"],
        "rows_per_s": rows_per_s,
        "baseline": None,
        "verdicts": {"persisted_ratio": _verdict(persisted == rows)},
    }
    if floor is not None:
        report["baseline"] = {
            "name": "plain psycopg COPY into a scratch copy of the table",
            "seconds": floor,
            "rows_per_s": rows / floor if floor > 0 else float("inf"),
            "x_floor": seconds / floor if floor > 0 else None,
        }
    if dialect == "postgresql":
        report["verdicts"]["rows_per_s"] = _verdict(
            rows_per_s >= TARGETS["bulk_postgres_rows_per_s"]
        )
    return report


# --------------------------------------------------------------------------- profile


class _ThreadProfiles:
    """cProfile in every thread started while active (thread CPU time as the timer)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.profiles: list[tuple[str, cProfile.Profile]] = []

    def _hook(self, _frame: Any, _event: str, _arg: Any) -> None:
        profile = cProfile.Profile(time.thread_time)
        with self._lock:
            self.profiles.append((threading.current_thread().name, profile))
        profile.enable()  # replaces this hook for the rest of the thread

    @contextmanager
    def active(self) -> Iterator[None]:
        threading.setprofile(self._hook)
        try:
            yield
        finally:
            threading.setprofile(None)

    def report(self, top: int) -> dict[str, Any]:
        threads: dict[str, float] = {}
        stats: pstats.Stats | None = None
        with self._lock:
            profiles = list(self.profiles)
        for name, profile in profiles:
            one = pstats.Stats(profile)
            label = _thread_label(name)
            threads[label] = threads.get(label, 0.0) + float(one.total_tt)  # type: ignore[attr-defined]
            if stats is None:
                stats = one
            else:
                stats.add(one)
        functions: list[dict[str, Any]] = []
        if stats is not None:
            entries = stats.stats  # type: ignore[attr-defined]
            ranked = sorted(entries.items(), key=lambda item: item[1][2], reverse=True)
            for (filename, line, func), (_cc, calls, tottime, cumtime, _callers) in ranked[:top]:
                functions.append(
                    {
                        "function": f"{_short(filename)}:{line}({func})",
                        "calls": int(calls),
                        "tottime_s": float(tottime),
                        "cumtime_s": float(cumtime),
                    }
                )
        return {
            "thread_cpu_s": dict(sorted(threads.items(), key=lambda kv: -kv[1])),
            "top_functions": functions,
        }


def _thread_label(name: str) -> str:
    for prefix in ("fake-dxlink", "source-", "journal-commit", "greek-writer", "ingest-status"):
        if name.startswith(prefix):
            return prefix.rstrip("-")
    return name.split("-")[0] if name.startswith("Thread") else name


def _short(filename: str) -> str:
    for marker in ("/site-packages/", "/src/", "/lib/python3"):
        if marker in filename:
            return filename.split(marker, 1)[1]
    return filename


def _profile_run(url: str, *, rate: float, seconds: float, tmp: Path) -> dict[str, Any]:
    profiles = _ThreadProfiles()
    with profiles.active():
        run = _stream_run("profile", url, rate=rate, duration=seconds, tmp=tmp, broker_process=True)
    report = profiles.report(_PROFILE_TOP)
    report.update(
        {
            "seconds": seconds,
            "dialect": run["dialect"],
            "received": run["received"],
            "achieved_ticks_per_s": run["achieved_ticks_per_s"],
            "timer": "per-thread CPU time (time.thread_time); cProfile slows the run down",
        }
    )
    return report


# --------------------------------------------------------------------------- measure


def measure(
    *,
    rate: float = 5000.0,
    duration: float = 60.0,
    database_url: str | None = None,
    postgres_url: str | None = None,
    bulk_rows: int = 500_000,
    cases: Collection[str] | None = None,
    profile_seconds: float = 10.0,
    broker_process: bool = True,
    on_status: Callable[[str, float, dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Run the cases and return the report (see the module docstring).

    Parameters
    ----------
    rate : float
        Greeks ticks per second the fake broker sends (> 0).
    duration : float
        Seconds of emission per stream case (> 0).
    database_url, postgres_url : str or None
        The ``sqlite`` case's database instead of a temporary SQLite file; the PostgreSQL
        database of the ``postgres`` and ``bulk-postgres`` cases (migrated to head; each run
        adds rows under a fresh ``BENCH<hex>`` account).
    bulk_rows : int
        Records per bulk case (>= 1).
    cases : Collection[str] or None
        The cases to run (default: all of :data:`CASES` the URLs allow).
    profile_seconds : float
        Length of the profile run when a stream case falls short of ``rate`` (0: none).
    broker_process : bool
        Run the fake broker as its own process (default; like a real broker it then takes
        no CPU from the ingest's interpreter) instead of a thread of this one.
    on_status : Callable or None
        Called with (case, elapsed seconds, the Ingestor's status) about once a second.

    """
    if not rate > 0 or not duration > 0:
        raise BenchStreamError(f"--rate and --duration must be > 0, got {rate} and {duration}")
    if bulk_rows < 1:
        raise BenchStreamError(f"--bulk-rows must be >= 1, got {bulk_rows}")
    if profile_seconds < 0:
        raise BenchStreamError(f"profile seconds must be >= 0, got {profile_seconds}")
    wanted = set(CASES if cases is None else cases)
    unknown = sorted(wanted - set(CASES))
    if unknown:
        raise BenchStreamError(f"unknown case(s) {unknown}; choose from {', '.join(CASES)}")
    if postgres_url is None:
        if cases is not None and wanted & {"postgres", "bulk-postgres"}:
            raise BenchStreamError("the postgres cases need --postgres-url")
        wanted -= {"postgres", "bulk-postgres"}

    def tick(case: str) -> Tick | None:
        if on_status is None:
            return None
        return lambda elapsed, status: on_status(case, elapsed, status)

    stream: list[dict[str, Any]] = []
    bulk: list[dict[str, Any]] = []
    profile: dict[str, Any] | None = None
    with tempfile.TemporaryDirectory(prefix="riskdesk-bench-stream-") as name:
        tmp = Path(name)
        sqlite_url = database_url or f"sqlite:///{tmp / 'bench.sqlite3'}"
        stream_urls = [("sqlite", sqlite_url)]
        if postgres_url is not None:
            stream_urls.append(("postgres", postgres_url))
        for case, url in stream_urls:
            if case in wanted:
                stream.append(
                    _stream_run(
                        case,
                        url,
                        rate=rate,
                        duration=duration,
                        tmp=tmp,
                        broker_process=broker_process,
                        on_status=tick(case),
                    )
                )
        if postgres_url is not None and "bulk-postgres" in wanted:
            bulk.append(_bulk_case("bulk-postgres", postgres_url, bulk_rows, tmp, baseline=True))
        if "bulk-sqlite" in wanted:
            bulk_url = f"sqlite:///{tmp / 'bulk.sqlite3'}"
            bulk.append(_bulk_case("bulk-sqlite", bulk_url, bulk_rows, tmp, baseline=False))
        short = [r for r in stream if r["verdicts"]["rate"] != "ok"]
        if short and profile_seconds > 0:
            profile_url = f"sqlite:///{tmp / 'profile.sqlite3'}"
            profile = _profile_run(profile_url, rate=rate, seconds=profile_seconds, tmp=tmp)
            profile["short_cases"] = [r["case"] for r in short]
    return {
        "rate": rate,
        "duration_s": duration,
        "bulk_rows": bulk_rows,
        "targets": dict(TARGETS),
        "stream": stream,
        "bulk": bulk,
        "profile": profile,
    }


# --------------------------------------------------------------------------- main


def _ms(value: object) -> str:
    return "-" if value is None else f"{float(value):,.1f}"  # type: ignore[arg-type]


def _stream_table(report: dict[str, Any]) -> Table:
    rows = report["stream"]
    table = Table(
        title=f"stream: fake DXLink broker at {report['rate']:,.0f} Greeks ticks/s for "
        f"{report['duration_s']:g} s -> Ingestor -> journal -> database"
    )
    table.add_column("measure")
    table.add_column("target", justify="right")
    for r in rows:
        table.add_column(r["case"], justify="right")

    def line(label: str, target: str, cells: list[str]) -> None:
        table.add_row(label, target, *cells)

    def with_verdict(value: str, r: dict[str, Any], key: str) -> str:
        return f"{value} {r['verdicts'][key]}"

    line("sent (Greeks; all events)", "", [f"{r['sent']:,}; {r['events_sent']:,}" for r in rows])
    line("received", "", [f"{r['received']:,}" for r in rows])
    line("journaled", "", [f"{r['journaled']:,}" for r in rows])
    line("persisted (rows counted)", "", [f"{r['persisted']:,}" for r in rows])
    line("deduped / rejected", "", [f"{r['deduped']:,} / {r['rejected']:,}" for r in rows])
    line(
        "persisted / received",
        "100%",
        [with_verdict(f"{100 * r['persisted_ratio']:.3f}%", r, "persisted_ratio") for r in rows],
    )
    line(
        "achieved ticks/s",
        f"{report['rate']:,.0f}",
        [
            with_verdict(
                "-" if r["achieved_ticks_per_s"] is None else f"{r['achieved_ticks_per_s']:,.0f}",
                r,
                "rate",
            )
            for r in rows
        ],
    )
    line(
        "tick->durable p50 / p95 (ms)",
        "p95 <= 100",
        [
            with_verdict(
                f"{_ms(r['tick_to_durable_ms']['p50'])} / "
                f"{_ms(r['tick_to_durable_ms']['worst_p95'])}",
                r,
                "p95_tick_to_durable_ms",
            )
            for r in rows
        ],
    )
    line(
        "tick->durable p99 / max (ms)",
        "p99 <= 250",
        [
            with_verdict(
                f"{_ms(r['tick_to_durable_ms']['worst_p99'])} / "
                f"{_ms(r['tick_to_durable_ms']['max'])}",
                r,
                "p99_tick_to_durable_ms",
            )
            for r in rows
        ],
    )
    line(
        "receipt->commit p95 / p99 (ms)",
        "",
        [
            f"{_ms(r['receipt_to_commit_ms']['worst_p95'])} / "
            f"{_ms(r['receipt_to_commit_ms']['worst_p99'])}"
            for r in rows
        ],
    )
    line(
        "first row in the table (s)",
        "<= 2",
        [
            with_verdict(
                "-" if r["first_row_s"] is None else f"{r['first_row_s']:.2f}", r, "first_row_s"
            )
            for r in rows
        ],
    )
    line("journal depth peak", "", [f"{r['journal_depth_peak']:,}" for r in rows])
    line(
        "in transit at stop / reconnects",
        "",
        [f"{r['in_transit']:,} / {r['reconnects']}" for r in rows],
    )
    return table


def _bulk_table(report: dict[str, Any]) -> Table:
    table = Table(
        title=f"bulk ingest: {report['bulk_rows']:,} pre-built records through journal + "
        "BatchWriter"
    )
    for column in ("case", "rows/s", "seconds", "persisted", "floor rows/s", "x floor"):
        table.add_column(column, justify="left" if column == "case" else "right", no_wrap=True)
    table.add_column("100% / >= 50k rows/s", justify="right", no_wrap=True)
    for r in report["bulk"]:
        base = r["baseline"]
        verdicts = " ".join(v for v in r["verdicts"].values())
        table.add_row(
            r["case"],
            f"{r['rows_per_s']:,.0f}",
            f"{r['seconds']:.2f}",
            f"{r['persisted']:,}",
            "-" if base is None else f"{base['rows_per_s']:,.0f}",
            "-" if base is None or base["x_floor"] is None else f"{base['x_floor']:.1f}x",
            verdicts,
        )
    return table


def _profile_table(profile: dict[str, Any]) -> Table:
    table = Table(
        title=f"profile: {profile['seconds']:g} s on {profile['dialect']} "
        f"({profile['received']:,} ticks received under cProfile); CPU by thread: "
        + ", ".join(f"{k} {v:.1f} s" for k, v in profile["thread_cpu_s"].items())
    )
    table.add_column("function", overflow="fold")
    for column in ("calls", "tottime s", "cumtime s"):
        table.add_column(column, justify="right", no_wrap=True)
    for f in profile["top_functions"]:
        table.add_row(
            f["function"], f"{f['calls']:,}", f"{f['tottime_s']:.2f}", f"{f['cumtime_s']:.2f}"
        )
    return table


def main(
    *,
    rate: float,
    duration: float,
    database_url: str | None,
    postgres_url: str | None,
    bulk_rows: int,
    cases: Collection[str] | None,
    profile_seconds: float,
    broker_process: bool,
    as_json: bool,
) -> None:
    """Run the stream bench with a progress bar (stderr); print tables (or JSON)."""
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[line]}"),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    tasks: dict[str, Any] = {}

    def on_status(case: str, elapsed: float, status: dict[str, Any]) -> None:
        if case not in tasks:
            tasks[case] = progress.add_task(case, total=duration, line="")
        totals = status["totals"]
        depth = (status["writer"] or {}).get("journal_depth", 0)
        progress.update(
            tasks[case],
            completed=elapsed,
            line=f"received {totals['received']:,}  persisted {totals['persisted']:,}  "
            f"journal depth {depth:,}",
        )

    with progress:
        report = measure(
            rate=rate,
            duration=duration,
            database_url=database_url,
            postgres_url=postgres_url,
            bulk_rows=bulk_rows,
            cases=cases,
            profile_seconds=profile_seconds,
            broker_process=broker_process,
            on_status=on_status,
        )
    if as_json:
        print(json.dumps(report, indent=2))
        return
    console = Console()
    if report["stream"]:
        console.print(_stream_table(report))
        console.print(
            "tick->durable: receipt -> journal fsync (the Ingestor's measure); p95/p99/max are "
            "the worst seen in 1 s status samples of its last-100,000-tick window. "
            "receipt->commit: the writer's persisted latency. sent counts Greeks events; the "
            "fake also sends Quote events (all events)."
        )
    if report["bulk"]:
        console.print(_bulk_table(report))
        console.print(
            "floor = one plain psycopg COPY of the same rows (already tuples) into a scratch "
            "copy of greek_snapshots with its indexes: the database's own cost, no journal, "
            "no staging, no dedupe, no per-row Python."
        )
    if report["profile"] is not None:
        console.print(_profile_table(report["profile"]))
