"""The ingest pipeline: broker sources -> normalizer -> journal -> batched writer -> database.

:class:`Ingestor` runs one thread per :class:`~riskdesk.streaming.source.TickSource` (so a
slow, disconnected or crashing source never blocks another) and gives each a sink that

1. counts the tick as received and normalizes it with the source's own
   :class:`~riskdesk.streaming.normalize.Normalizer` (position updates give the quantities;
   a refusal is counted by reason);
2. offers the record to the shared :class:`~riskdesk.streaming.normalize.LatestView` (an
   out-of-order event never replaces a newer one there; history keeps both);
3. submits it to ONE :class:`~riskdesk.streaming.writer.BatchWriter`, which journals it
   (fsynced within ~20 ms) and stores it in ``greek_snapshots`` in batches. The writer spills
   to the journal when its buffer is full (``on_full="spill"``), so a submit never waits for
   the database.

Each source has one ``stream_sessions`` row (status, counters, last error, reconnect attempt,
first row time), updated at most every ``status_interval`` seconds and at stop. A status file
(JSON, atomically replaced every ``status_interval``) lets ``riskdesk stream status`` in
another process read the live metrics.

Counting, per source: ``received`` ticks handed to the sink, ``rejected`` by reason (the
normalizer's, ``invalid`` when the writer or journal refuses a record, ``unstored`` when the
writer has failed), ``journaled``, ``persisted`` (new rows) and ``deduped`` (rows the database
already held), and the tick-to-durable latency (receipt to journal fsync). A batch mixing
sources that holds duplicates attributes its duplicates to its sources in proportion (the
totals, from the writer, are exact). Rows replayed from the journal at start
(:meth:`Ingestor.start` recovers first) count in the writer totals and ``recovered`` only.

Each tick's record is validated once, by the normalizer that builds it: the writer gets its
``to_row()`` with it and does not decode the journal JSON again (replay after a restart does).

Stop drains: :meth:`Ingestor.stop` stops the sources, then the writer writes everything
journaled; with the database up, every journaled record is stored before it returns.
"""

from __future__ import annotations

import contextlib
import heapq
import json
import logging
import os
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Final

import sqlalchemy as sa

from riskdesk.store.database import Database
from riskdesk.store.errors import StoreError
from riskdesk.store.models import StreamSession as StreamSessionRow
from riskdesk.store.types import new_id, utc_now
from riskdesk.streaming.journal import Journal, JournalError
from riskdesk.streaming.metrics import LatencyWindow, StreamMetrics
from riskdesk.streaming.normalize import (
    GreeksTick,
    LatestView,
    Normalizer,
    PositionUpdate,
)
from riskdesk.streaming.records import UnifiedPositionRecord
from riskdesk.streaming.session import Step
from riskdesk.streaming.source import TickSource
from riskdesk.streaming.writer import (
    BatchWriter,
    GreekSnapshotSink,
    RecoveryResult,
    WriterError,
    WriterHooks,
)

__all__ = [
    "STATUS_FILE_NAME",
    "SWITCH_INTERVAL_S",
    "Ingestor",
    "decode_record",
    "latest_sessions",
    "read_status_file",
]

log = logging.getLogger(__name__)

STATUS_FILE_NAME: Final = "status.json"

SWITCH_INTERVAL_S: Final = 0.0005
"""The thread switch interval an ingest runs with (see :class:`Ingestor`)."""
"""Name of the live status file in the journal directory (the default ``status_file``)."""

_MAX_LAG_S: Final = 60.0


def decode_record(body: dict[str, Any]) -> Mapping[str, Any]:
    """A journaled record (``UnifiedPositionRecord.to_dict()``) to its ``greek_snapshots`` row."""
    return UnifiedPositionRecord.from_dict(body).to_row()


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


@dataclass(eq=False)
class _SessionState:
    """What the ingestor tracks of one source (guarded by ``lock``)."""

    index: int
    source: TickSource
    row_id: uuid.UUID
    started_at: datetime
    metrics: StreamMetrics
    normalizer: Normalizer = field(default_factory=Normalizer)
    lock: threading.Lock = field(default_factory=threading.Lock)
    status: str = "disconnected"
    last_error: str | None = None
    reconnect_attempt: int = 0
    disconnects: int = 0
    subscription_count: int = 0
    last_message_at: datetime | None = None
    first_row_at: datetime | None = None
    stopped_at: datetime | None = None
    crashed: bool = False
    thread: threading.Thread | None = None

    @property
    def ident(self) -> tuple[str, str]:
        return (self.source.broker, self.source.account_id)

    def snapshot(self) -> dict[str, Any]:
        """JSON-safe view (call with ``lock`` held)."""
        return {
            "id": str(self.row_id),
            "broker": self.source.broker,
            "account_id": self.source.account_id,
            "status": self.status,
            "last_error": self.last_error,
            "reconnect_attempt": self.reconnect_attempt,
            "disconnects": self.disconnects,
            "subscription_count": self.subscription_count,
            "last_message_at": _iso(self.last_message_at),
            "first_row_at": _iso(self.first_row_at),
            "started_at": _iso(self.started_at),
            "stopped_at": _iso(self.stopped_at),
            "crashed": self.crashed,
            "nulled_values": self.normalizer.nulled_values,
            "metrics": self.metrics.to_dict(),
        }


class _Sink:
    """The :class:`~riskdesk.streaming.source.SourceSink` of one source."""

    def __init__(self, ingestor: Ingestor, state: _SessionState) -> None:
        self._ingestor = ingestor
        self._state = state

    def tick(self, tick: GreeksTick) -> None:
        self._ingestor._on_tick(self._state, tick)

    def position(self, update: PositionUpdate) -> None:
        state = self._state
        with state.lock:
            reason = state.normalizer.apply_position(update)
            if reason is not None:
                state.metrics.record_rejected(reason)

    def status(self, step: Step, *, error: str | None = None) -> None:
        state = self._state
        with state.lock:
            state.status = step.status
            if error is not None:
                state.last_error = error
            if step.retry_delay is not None:
                state.reconnect_attempt += 1
                state.disconnects += 1
            elif step.status == "connected" and step.previous == "connecting":
                state.reconnect_attempt = 0
                state.subscription_count = len(step.resubscribe)

    def rejected(self, reason: str, detail: str) -> None:
        state = self._state
        with state.lock:
            state.metrics.record_rejected(reason)
        log.warning("%s/%s rejected a payload (%s): %s", *state.ident, reason, detail)


class _CountingSink:
    """The default row sink, attributing stored and duplicate rows to their sources."""

    def __init__(self, inner: GreekSnapshotSink, on_write: Callable[[Counter[Any], int], None]):
        self._inner = inner
        self._on_write = on_write

    def write(self, rows: Sequence[Mapping[str, Any]]) -> int:
        inserted = self._inner.write(rows)
        self._on_write(Counter((row["broker"], row["account_id"]) for row in rows), inserted)
        return inserted


class Ingestor:
    """Run tick sources into the journal and ``greek_snapshots`` (see the module docstring).

    Parameters
    ----------
    db : Database
        The migrated database rows and ``stream_sessions`` go to.
    journal_dir : Path
        The journal's directory (one ingest at a time per directory).
    sources : list[TickSource]
        The streams, each run in its own thread.
    batch_size, max_age_ms, max_buffer : int, float, int
        The writer's batch size, batch age and in-memory buffer (it spills to the journal
        beyond it, so ingest never waits for the database).
    fsync_interval_ms : float
        The journal's group-commit interval.
    clock : Callable[[], datetime]
        Timezone-aware UTC clock for session rows and the status file.
    status_file : Path or None
        Where the live status JSON goes (default ``journal_dir / "status.json"``).
    status_interval : float
        Seconds between ``stream_sessions`` updates and status-file rewrites.
    recover_timeout : float
        Seconds :meth:`start` waits for the database to take what the journal holds (after
        that the writer keeps trying in the background, before anything new).
    switch_interval_s : float or None
        The interpreter's thread switch interval while the ingest runs (process-wide,
        restored by :meth:`stop`); None leaves it alone. The source, writer and journal
        threads share one GIL: at Python's default 5 ms, the journal's commit thread waited
        several switch intervals for the GIL at each step of a commit, and tick-to-durable
        latency grew to hundreds of milliseconds at 5,000 ticks/s. Half a millisecond keeps
        the fsync thread prompt for a small cost in throughput.

    """

    def __init__(
        self,
        db: Database,
        *,
        journal_dir: Path,
        sources: Sequence[TickSource],
        batch_size: int = 500,
        max_age_ms: float = 50,
        max_buffer: int = 50_000,
        fsync_interval_ms: float = 20,
        clock: Callable[[], datetime] = utc_now,
        status_file: Path | None = None,
        status_interval: float = 1.0,
        recover_timeout: float = 30.0,
        switch_interval_s: float | None = SWITCH_INTERVAL_S,
    ) -> None:
        if not sources:
            raise ValueError("an Ingestor needs at least one source")
        idents = [(s.broker, s.account_id) for s in sources]
        if len(set(idents)) != len(idents):
            raise ValueError(f"each source must stream a different broker/account, got {idents}")
        if not status_interval > 0:
            raise ValueError(f"status_interval must be > 0 seconds, got {status_interval!r}")
        self.db = db
        self.journal_dir = Path(journal_dir)
        self.status_file = status_file or self.journal_dir / STATUS_FILE_NAME
        self.status_interval = float(status_interval)
        self.recover_timeout = recover_timeout
        if switch_interval_s is not None and not 0 < switch_interval_s <= 0.1:
            raise ValueError(
                f"switch_interval_s must be in (0, 0.1] seconds, got {switch_interval_s!r}"
            )
        self._switch_interval = switch_interval_s
        self._previous_switch: float | None = None
        self._clock = clock
        self._writer_options: dict[str, Any] = {
            "batch_size": batch_size,
            "max_age_ms": max_age_ms,
            "max_buffer": max_buffer,
        }
        self._fsync_interval_ms = fsync_interval_ms
        now = clock()
        self._states = [
            _SessionState(
                index=i,
                source=source,
                row_id=new_id(),
                started_at=now,
                metrics=StreamMetrics(source.broker, account_id=source.account_id),
            )
            for i, source in enumerate(sources)
        ]
        self._by_ident = {state.ident: state for state in self._states}
        self.latest = LatestView()
        self._latest_lock = threading.Lock()
        self._stop = threading.Event()
        self._journal: Journal | None = None
        self._writer: BatchWriter | None = None
        self._status_thread: threading.Thread | None = None
        self._durable_lock = threading.Lock()
        self._durable_offset = 0
        self._awaiting: list[tuple[int, int, float]] = []  # heap of (offset, source, mono)
        self._recovering = False
        self._db_latency = LatencyWindow()
        self._db_error: str | None = None
        self._state = "created"
        self._started_at: datetime | None = None
        self._stopped_at: datetime | None = None
        self.recovered: RecoveryResult | None = None
        self.drained: bool | None = None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        """Open the journal, store what it holds, insert the session rows, start the sources."""
        if self._state != "created":
            raise RuntimeError(f"an Ingestor starts once; this one is {self._state}")
        self._journal = Journal(self.journal_dir, fsync_interval_ms=self._fsync_interval_ms)
        self._tune_switch_interval()
        try:
            self._journal.add_durable_listener(self._on_durable)
            self._writer = BatchWriter(
                self.db,
                self._journal,
                decode=decode_record,
                on_full="spill",
                hooks=WriterHooks(persisted_latency=self._on_db_latency),
                sink=_CountingSink(GreekSnapshotSink(self.db), self._on_write),
                **self._writer_options,
            )
            self.recover(timeout=self.recover_timeout)
            self._writer.start()
        except BaseException:
            self._journal.close()
            self._restore_switch_interval()
            raise
        self._state = "running"
        self._started_at = self._clock()
        self._insert_session_rows()
        for state in self._states:
            thread = threading.Thread(
                target=self._run_source,
                args=(state,),
                name=f"source-{state.source.broker}-{state.source.account_id}",
                daemon=True,
            )
            state.thread = thread
            thread.start()
        self._status_thread = threading.Thread(
            target=self._status_loop, name="ingest-status", daemon=True
        )
        self._status_thread.start()

    def _tune_switch_interval(self) -> None:
        if self._switch_interval is None:
            return
        current = sys.getswitchinterval()
        if self._switch_interval < current:
            self._previous_switch = current
            sys.setswitchinterval(self._switch_interval)

    def _restore_switch_interval(self) -> None:
        previous, self._previous_switch = self._previous_switch, None
        if previous is not None and sys.getswitchinterval() == self._switch_interval:
            sys.setswitchinterval(previous)

    def recover(self, *, timeout: float | None = None) -> RecoveryResult | None:
        """Store what the journal holds past its checkpoint (the writer's ``recover``).

        Called by :meth:`start`; returns None when the database did not take it within
        ``timeout`` seconds (the started writer then keeps trying before anything new).
        """
        if self._writer is None:
            raise RuntimeError("recover() runs inside start(), once the journal is open")
        self._recovering = True
        try:
            self.recovered = self._writer.recover(timeout=timeout)
        except TimeoutError as exc:
            log.warning("ingest: journal recovery continues in the background: %s", exc)
            self.recovered = None
        finally:
            self._recovering = False
        if self.recovered is not None and self.recovered.replayed:
            log.info("ingest: recovered %s from the journal", self.recovered)
        return self.recovered

    def stop(self, timeout: float = 30.0) -> bool:
        """Stop the sources, drain the writer, close the journal; True if nothing is left.

        Returns True when every journaled record was stored (always, with the database up and
        ``timeout`` long enough); otherwise what remains stays in the journal for the next
        start.
        """
        if self._state != "running":
            return bool(self.drained)
        deadline = time.monotonic() + timeout
        self._stop.set()
        for state in self._states:
            if state.thread is not None:
                state.thread.join(max(0.1, deadline - time.monotonic()) / 2)
                if state.thread.is_alive():
                    log.warning("ingest: source %s/%s did not stop in time", *state.ident)
        if self._status_thread is not None:
            self._status_thread.join(max(0.1, deadline - time.monotonic()))
        assert self._writer is not None
        assert self._journal is not None
        self.drained = self._writer.stop(timeout=max(0.1, deadline - time.monotonic()))
        self._journal.close()
        now = self._clock()
        self._stopped_at = now
        for state in self._states:
            with state.lock:
                state.status = "disconnected"
                state.stopped_at = now
        self._state = "stopped"
        self._restore_switch_interval()
        self._update_session_rows(final=True)
        self._write_status_file()
        return self.drained

    def __enter__(self) -> Ingestor:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        """True between :meth:`start` and :meth:`stop`."""
        return self._state == "running"

    # ------------------------------------------------------------------ the sources

    def _run_source(self, state: _SessionState) -> None:
        try:
            state.source.run(_Sink(self, state), self._stop)
        except Exception as exc:
            log.exception("ingest: source %s/%s crashed", *state.ident)
            with state.lock:
                state.crashed = True
                state.status = "disconnected"
                state.last_error = f"source crashed: {type(exc).__name__}: {exc}"

    def _on_tick(self, state: _SessionState, tick: GreeksTick) -> None:
        lag = (self._clock() - tick.received_at).total_seconds()
        received_mono = time.monotonic() - min(max(lag, 0.0), _MAX_LAG_S)
        with state.lock:
            state.metrics.record_received()
            state.last_message_at = tick.received_at
            result = state.normalizer.normalize(tick)
            record = result.record
            if record is None:
                state.metrics.record_rejected(result.reason or "invalid")
                return
            with self._latest_lock:
                self.latest.offer(record)
            writer = self._writer
            assert writer is not None
            try:
                offset = writer.submit(
                    record.to_dict(), received_at=received_mono, row=record.to_row()
                )
            except ValueError as exc:
                state.metrics.record_rejected("invalid")
                state.last_error = f"record refused by the writer: {exc}"
                return
            except (WriterError, JournalError) as exc:
                state.metrics.record_rejected("unstored")
                state.last_error = str(exc)
                return
            state.metrics.record_journaled()
        with self._durable_lock:
            if offset <= self._durable_offset:
                self._observe_durable(state.index, received_mono, time.monotonic())
            else:
                heapq.heappush(self._awaiting, (offset, state.index, received_mono))

    def _observe_durable(self, index: int, received_mono: float, now: float) -> None:
        state = self._states[index]
        with state.lock:
            state.metrics.observe_latency(max(0.0, now - received_mono))

    def _on_durable(self, _first: int, last: int) -> None:
        # runs in the journal's commit thread, before its next commit: one lock acquisition
        # per source, not per tick (a per-tick lock taken against a busy source thread waits
        # a GIL switch interval each time, and that delayed the next fsync)
        now = time.monotonic()
        done: dict[int, list[float]] = {}
        with self._durable_lock:
            self._durable_offset = max(self._durable_offset, last)
            while self._awaiting and self._awaiting[0][0] <= last:
                _offset, index, mono = heapq.heappop(self._awaiting)
                done.setdefault(index, []).append(max(0.0, now - mono))
        for index, latencies in done.items():
            state = self._states[index]
            with state.lock:
                state.metrics.observe_latencies(latencies)

    def _on_db_latency(self, latencies: Sequence[float]) -> None:
        with self._durable_lock:
            self._db_latency.add_many([max(0.0, x) for x in latencies])

    def _on_write(self, per_source: Counter[Any], inserted: int) -> None:
        if self._recovering:
            return
        total = sum(per_source.values())
        duplicates = total - inserted
        now = self._clock()
        shares = _split(per_source, duplicates)
        for ident, count in per_source.items():
            state = self._by_ident.get(ident)
            if state is None:  # a replayed row of a source not run this time
                continue
            deduped = shares.get(ident, 0)
            with state.lock:
                state.metrics.record_persisted(count - deduped, deduped=deduped)
                if state.first_row_at is None and count > deduped:
                    state.first_row_at = now

    # ------------------------------------------------------------------ status

    def latest_records(self) -> list[UnifiedPositionRecord]:
        """The latest record per contract so far (a consistent copy, safe from any thread)."""
        with self._latest_lock:
            return self.latest.records()

    def status(self) -> dict[str, Any]:
        """Per-session state and metrics, writer counters and latency (JSON types only)."""
        sessions = []
        for state in self._states:
            with state.lock:
                sessions.append(state.snapshot())
        writer: dict[str, Any] | None = None
        if self._writer is not None:
            writer = asdict(self._writer.stats())
        with self._durable_lock:
            db_latency = self._db_latency.summary()
        with self._latest_lock:
            contracts = len(self.latest)
        totals = {
            name: sum(int(s["metrics"][name]) for s in sessions)
            for name in ("received", "journaled", "persisted", "deduped", "rejected_total")
        }
        return {
            "state": self._state,
            "pid": os.getpid(),
            "journal_dir": str(self.journal_dir),
            "started_at": _iso(self._started_at),
            "stopped_at": _iso(self._stopped_at),
            "updated_at": self._clock().isoformat(),
            "sessions": sessions,
            "totals": totals,
            "writer": writer,
            "recovered": None if self.recovered is None else asdict(self.recovered),
            "tick_to_db_ms": {
                k: (None if v is None else (v if k == "count" else float(v) * 1000.0))
                for k, v in db_latency.items()
            },
            "latest_contracts": contracts,
            "session_rows_error": self._db_error,
            "drained": self.drained,
        }

    def _status_loop(self) -> None:
        while not self._stop.wait(self.status_interval):
            self._update_session_rows(final=False)
            self._write_status_file()

    def _write_status_file(self) -> None:
        try:
            if self._writer is not None:
                stats = self._writer.stats()
                for state in self._states:
                    with state.lock:
                        state.metrics.set_buffer_depth(stats.buffered)
                        state.metrics.set_journal_depth(stats.journal_depth)
            data = self.status()
            self.status_file.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.status_file.with_name(f".{self.status_file.name}.{os.getpid()}.tmp")
            tmp.write_text(json.dumps(data, indent=2, sort_keys=True), encoding="utf-8")
            os.replace(tmp, self.status_file)
        except OSError as exc:
            log.warning("ingest: cannot write the status file %s: %s", self.status_file, exc)

    def _row_values(self, state: _SessionState, now: datetime) -> dict[str, Any]:
        with state.lock:
            return {
                "status": state.status,
                "last_message_at": state.last_message_at,
                "reconnect_attempt": state.reconnect_attempt,
                "subscription_count": state.subscription_count,
                "last_error": None if state.last_error is None else state.last_error[:2000],
                "messages_received": state.metrics.received,
                "rows_written": state.metrics.persisted,
                "first_row_at": state.first_row_at,
                "stopped_at": state.stopped_at,
                "updated_at": now,
            }

    def _insert_session_rows(self) -> None:
        now = self._clock()
        rows = [
            {
                "id": state.row_id,
                "broker": state.source.broker,
                "account_id": state.source.account_id,
                "started_at": state.started_at,
                **self._row_values(state, now),
            }
            for state in self._states
        ]
        table = _sessions_table()
        try:
            with self.db.engine.begin() as conn:
                conn.execute(sa.insert(table), rows)
            self._db_error = None
        except (sa.exc.SQLAlchemyError, StoreError) as exc:
            self._db_error = f"stream_sessions rows not inserted: {str(exc).splitlines()[0]}"
            log.warning("ingest: %s", self._db_error)

    def _update_session_rows(self, *, final: bool) -> None:
        now = self._clock()
        table = _sessions_table()
        try:
            with self.db.engine.begin() as conn:
                for state in self._states:
                    values = self._row_values(state, now)
                    result = conn.execute(
                        sa.update(table).where(table.c.id == state.row_id).values(**values)
                    )
                    if result.rowcount == 0:  # the insert failed while the database was down
                        conn.execute(
                            sa.insert(table).values(
                                id=state.row_id,
                                broker=state.source.broker,
                                account_id=state.source.account_id,
                                started_at=state.started_at,
                                **values,
                            )
                        )
            self._db_error = None
        except (sa.exc.SQLAlchemyError, StoreError) as exc:
            self._db_error = f"stream_sessions rows not updated: {str(exc).splitlines()[0]}"
            (log.warning if final else log.info)("ingest: %s", self._db_error)


def _sessions_table() -> sa.Table:
    table = StreamSessionRow.__table__
    assert isinstance(table, sa.Table)
    return table


def _split(per_source: Counter[Any], duplicates: int) -> dict[Any, int]:
    """Share ``duplicates`` among sources in proportion to their rows (largest remainder)."""
    if duplicates <= 0:
        return {}
    total = sum(per_source.values())
    if len(per_source) == 1:
        return {next(iter(per_source)): duplicates}
    exact = {k: duplicates * n / total for k, n in per_source.items()}
    shares = {k: int(v) for k, v in exact.items()}
    left = duplicates - sum(shares.values())
    for k in sorted(exact, key=lambda k: (shares[k] - exact[k], str(k)))[:left]:
        shares[k] += 1
    return shares


def read_status_file(path: Path) -> dict[str, Any] | None:
    """The status JSON a running (or the last) ingest wrote, or None when there is none."""
    with contextlib.suppress(FileNotFoundError):
        data = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(data, dict):
            return data
    return None


def latest_sessions(db: Database, *, limit: int = 20) -> list[dict[str, Any]]:
    """The most recent ``stream_sessions`` rows (newest first) as JSON-safe dicts."""
    table = _sessions_table()
    query = sa.select(table).order_by(table.c.started_at.desc(), table.c.id).limit(limit)
    with db.engine.connect() as conn:
        rows = conn.execute(query).mappings().all()
    out: list[dict[str, Any]] = []
    for row in rows:
        item: dict[str, Any] = {}
        for key, value in row.items():
            if isinstance(value, datetime):
                item[key] = value.isoformat()
            elif isinstance(value, uuid.UUID):
                item[key] = str(value)
            else:
                item[key] = value
        out.append(item)
    return out
