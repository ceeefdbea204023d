"""The batched writer: journaled stream records into ``greek_snapshots``, each stored once.

:class:`BatchWriter` is the durable half of the streaming pipeline::

    submit(record) --> Journal.append (fsynced within ~20 ms) --> in-memory buffer
                                                                     |
          writer thread: a batch by size (batch_size) or age (max_age_ms)
                                                                     v
          GreekSnapshotSink.write: COPY + INSERT .. SELECT .. ON CONFLICT DO NOTHING (PostgreSQL)
                                   executemany through insert_rows (SQLite)
                                                                     |
          commit --> Journal.ack(last offset of the batch)  <--------+

Delivery is at least once (a batch is retried until it commits, and a restart replays what
the journal holds past its checkpoint); the database's unique dedupe rule
(``uq_greek_snapshots_dedupe``) makes storage exactly once, and a replayed row is counted as
deduped, not stored twice.

When the database is unreachable (:class:`~riskdesk.store.errors.DatabaseUnavailableError`,
driver ``OperationalError``, a read-only or full server, a write conflict) the writer keeps
the batch, waits with bounded exponential backoff and retries it: nothing is dropped and
batches are written in offset order. Meanwhile records keep arriving:

* ``on_full="spill"`` (default): once the in-memory buffer holds ``max_buffer`` records, new
  records are only journaled; the writer reads them back from the journal, in order, after
  the buffered ones. Ingest never blocks on the database; memory stays bounded; the disk is
  the buffer.
* ``on_full="block"``: :meth:`BatchWriter.submit` blocks until the buffer has room, and raises
  :class:`BufferFull` after ``block_timeout_s`` (the record is then not journaled: the caller
  still owns it). This is backpressure on the caller.

After a crash, the new writer finds the journal's entries past the checkpoint and writes them
before anything submitted later: automatically from its thread after :meth:`BatchWriter.start`,
or synchronously with :meth:`BatchWriter.recover`.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

from sqlalchemy import Table
from sqlalchemy import exc as sa_exc

from riskdesk.store.database import Database
from riskdesk.store.errors import (
    DatabaseUnavailableError,
    DiskFullError,
    ReadOnlyDatabaseError,
    WriteConflictError,
)
from riskdesk.store.limits import check_text_lengths
from riskdesk.store.models import GreekSnapshot
from riskdesk.store.partitions import ensure_month_partitions
from riskdesk.store.timeseries import insert_rows
from riskdesk.store.types import new_id, utc_now
from riskdesk.streaming.journal import Journal, JournalRecord, record_json

__all__ = [
    "BatchWriter",
    "BufferFull",
    "GreekSnapshotSink",
    "RecoveryResult",
    "RowDecoder",
    "RowSink",
    "WriterError",
    "WriterHooks",
    "WriterStats",
    "is_transient",
]

log = logging.getLogger(__name__)

OnFull = Literal["spill", "block"]

RowDecoder = Callable[[dict[str, Any]], Mapping[str, Any]]
"""Turns a record's journal JSON into its ``greek_snapshots`` row (e.g.
``lambda j: UnifiedPositionRecord.from_json(j).to_row()``)."""

STAGE_TABLE = "riskdesk_greek_snapshots_stage"


class BufferFull(RuntimeError):
    """``on_full="block"``: the in-memory buffer stayed full for ``block_timeout_s``."""


class WriterError(RuntimeError):
    """The writer stopped on an error that retrying cannot fix; the records stay journaled."""


def is_transient(error: BaseException) -> bool:
    """Whether ``error`` means "the database cannot take this write now; retry later"."""
    transient: tuple[type[BaseException], ...] = (
        DatabaseUnavailableError,
        DiskFullError,
        ReadOnlyDatabaseError,
        WriteConflictError,
        sa_exc.OperationalError,
        sa_exc.InterfaceError,
        sa_exc.DisconnectionError,
        sqlite3.OperationalError,
        ConnectionError,
    )
    if isinstance(error, transient):
        return True
    try:
        import psycopg
    except ImportError:  # pragma: no cover - psycopg is a riskdesk dependency
        return False
    return isinstance(error, psycopg.OperationalError | psycopg.InterfaceError)


class RowSink(Protocol):
    """Where batches go: returns how many rows of ``rows`` were stored (the rest were duplicates)."""

    def write(self, rows: Sequence[Mapping[str, Any]]) -> int:
        """Store ``rows`` in one transaction, skipping duplicates; raise to have it retried."""
        ...


class GreekSnapshotSink:
    """Writes batches into ``greek_snapshots`` of a :class:`Database` (swappable at runtime).

    PostgreSQL: the month partitions of the batch are ensured (own transaction), then the rows
    are COPYed into a session-local staging table and moved with ``INSERT .. SELECT .. ON
    CONFLICT DO NOTHING`` in one transaction. SQLite: :func:`insert_rows` (executemany,
    ``INSERT .. ON CONFLICT DO NOTHING``) in a ``BEGIN IMMEDIATE`` transaction. Either way a
    row the dedupe rule already holds is skipped, and the count returned excludes it.
    """

    def __init__(self, db: Database) -> None:
        self._db = db
        self._lock = threading.Lock()

    @property
    def database(self) -> Database:
        """The database batches go to."""
        with self._lock:
            return self._db

    def use_database(self, db: Database) -> None:
        """Send the next batches to ``db`` (after a failover, or a fixed URL)."""
        with self._lock:
            self._db = db

    def write(self, rows: Sequence[Mapping[str, Any]]) -> int:
        """Store ``rows`` once each; returns how many were new."""
        if not rows:
            return 0
        db = self.database
        now = utc_now()
        full = [_with_defaults(row, now) for row in rows]
        try:
            if db.engine.dialect.name == "postgresql":
                return _copy_insert(db, full)
            with db.engine.connect() as conn:
                immediate = conn.execution_options(riskdesk_sqlite_begin="IMMEDIATE")
                with immediate.begin():
                    return insert_rows(immediate, GreekSnapshot, full)
        except BaseException as exc:
            if is_transient(exc):
                db.engine.dispose()  # drop connections the outage may have broken
            raise


def _table() -> Table:
    table = GreekSnapshot.__table__
    assert isinstance(table, Table)
    return table


def _with_defaults(row: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    full = dict(row)
    if full.get("id") is None:
        full["id"] = new_id()
    if full.get("persisted_at") is None:
        full["persisted_at"] = now
    return full


def _copy_insert(db: Database, rows: list[dict[str, Any]]) -> int:
    table = _table()
    check_text_lengths(table, rows)
    stamps = [row["event_time"] for row in rows if isinstance(row.get("event_time"), datetime)]
    ensure_month_partitions(db.engine, table.name, stamps)
    dialect = db.engine.dialect
    columns = list(table.columns)
    processors = [column.type.dialect_impl(dialect).bind_processor(dialect) for column in columns]
    names = ", ".join(f'"{column.name}"' for column in columns)
    with db.engine.begin() as conn:
        conn.exec_driver_sql(
            f"CREATE TEMP TABLE IF NOT EXISTS {STAGE_TABLE} "
            f"(LIKE {table.name}) ON COMMIT DELETE ROWS"
        )
        raw = conn.connection.driver_connection
        if raw is None:  # pragma: no cover - a checked-out connection always has one
            raise DatabaseUnavailableError("the PostgreSQL connection was closed mid-batch")
        with (
            raw.cursor() as cursor,
            cursor.copy(f"COPY {STAGE_TABLE} ({names}) FROM STDIN") as copy,
        ):
            for row in rows:
                values = []
                for column, process in zip(columns, processors, strict=True):
                    value = row.get(column.name)
                    if value is not None and process is not None:
                        value = process(value)
                    if column.name == "source_payload" and value is not None:
                        value = value if isinstance(value, str) else _json(value)
                    values.append(value)
                copy.write_row(values)
        result = conn.exec_driver_sql(
            f"INSERT INTO {table.name} ({names}) SELECT {names} FROM {STAGE_TABLE} "
            "ON CONFLICT DO NOTHING"
        )
        return int(result.rowcount)


def _json(value: Any) -> str:
    from riskdesk.store.types import jsonable

    if hasattr(value, "obj"):  # psycopg's Jsonb wrapper from the JSONB bind processor
        value = value.obj
    return json.dumps(value, default=jsonable, allow_nan=False, ensure_ascii=False)


@dataclass(frozen=True)
class WriterHooks:
    """Metrics callbacks (each optional; called from the writer's or journal's thread).

    Latencies are in seconds, from ``received_at`` (``time.monotonic()`` at receipt) to the
    fsync that made the record durable, or to the commit that stored it. A hook that raises
    is logged and ignored.
    """

    journaled: Callable[[int], None] | None = None
    persisted: Callable[[int], None] | None = None
    deduped: Callable[[int], None] | None = None
    durable_latency: Callable[[Sequence[float]], None] | None = None
    persisted_latency: Callable[[Sequence[float]], None] | None = None


@dataclass(frozen=True)
class WriterStats:
    """Counters of one writer since it was created."""

    journaled: int
    persisted: int
    deduped: int
    retries: int
    buffered: int
    journal_depth: int
    persisted_offset: int
    spilling: bool
    last_error: str | None


@dataclass(frozen=True)
class RecoveryResult:
    """What :meth:`BatchWriter.recover` wrote from the journal."""

    replayed: int
    persisted: int
    deduped: int


def _call(hook: Callable[[Any], None] | None, value: Any) -> None:
    if hook is None:
        return
    try:
        hook(value)
    except Exception:
        log.exception("writer metrics hook failed")


_Item = tuple[int, float | None, Mapping[str, Any]]  # offset, received_at (monotonic), row


class BatchWriter:
    """Journal every record, then store it in ``greek_snapshots`` in batches, in order.

    Parameters
    ----------
    db:
        The database (ignored when ``sink`` is given); swap it with :meth:`use_database`.
    journal:
        The open journal records are appended to; the writer acks what it has stored.
    decode:
        A record's journal JSON to its ``greek_snapshots`` row (columns as keys, timestamps
        aware ``datetime``). Called on every submit (so a record that cannot be stored is
        refused before it is journaled) and on every replay.
    batch_size:
        Largest batch; a full batch is written at once.
    max_age_ms:
        A partial batch is written once its oldest record is this old.
    max_buffer:
        Records held in memory at most (see ``on_full``).
    on_full:
        ``"spill"`` (journal only, read back later) or ``"block"`` (block, then
        :class:`BufferFull`): see the module docstring.
    block_timeout_s:
        How long ``submit`` blocks for room with ``on_full="block"``.
    hooks:
        Metrics callbacks.
    retry_initial_ms, retry_max_ms:
        Backoff between retries of a batch the database refused transiently (doubling).
    sink:
        Where batches go (default: :class:`GreekSnapshotSink` on ``db``).

    """

    def __init__(
        self,
        db: Database,
        journal: Journal,
        *,
        decode: RowDecoder,
        batch_size: int = 500,
        max_age_ms: float = 50,
        max_buffer: int = 50_000,
        on_full: OnFull = "spill",
        block_timeout_s: float = 5.0,
        hooks: WriterHooks | None = None,
        retry_initial_ms: float = 50,
        retry_max_ms: float = 2000,
        sink: RowSink | None = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if max_buffer < batch_size:
            raise ValueError(f"max_buffer ({max_buffer}) must be >= batch_size ({batch_size})")
        if on_full not in ("spill", "block"):
            raise ValueError(f"on_full must be 'spill' or 'block', got {on_full!r}")
        if max_age_ms < 0 or retry_initial_ms <= 0 or retry_max_ms < retry_initial_ms:
            raise ValueError(
                "max_age_ms must be >= 0 and 0 < retry_initial_ms <= retry_max_ms; got "
                f"{max_age_ms}, {retry_initial_ms}, {retry_max_ms}"
            )
        self.journal = journal
        self.decode = decode
        self.batch_size = batch_size
        self.max_age = max_age_ms / 1000.0
        self.max_buffer = max_buffer
        self.on_full = on_full
        self.block_timeout = block_timeout_s
        self.hooks = hooks or WriterHooks()
        self.retry_initial = retry_initial_ms / 1000.0
        self.retry_max = retry_max_ms / 1000.0
        self.sink: RowSink = sink if sink is not None else GreekSnapshotSink(db)
        self._cond = threading.Condition()
        self._buffer: deque[tuple[_Item, float]] = deque()  # item, monotonic time buffered
        self._persisted = journal.checkpoint()
        last = journal.last_offset()
        self._spilled_to: int | None = last if last > self._persisted else None
        self._journaled = self._stored = self._deduped = self._retries = 0
        self._last_error: str | None = None
        self._error: BaseException | None = None
        self._stopping = threading.Event()  # drain what is buffered, then exit
        self._abort = threading.Event()  # give up retrying now
        self._thread: threading.Thread | None = None
        self._latency_lock = threading.Lock()
        self._awaiting_durable: deque[tuple[int, float]] = deque()
        if self.hooks.durable_latency is not None:
            journal.add_durable_listener(self._on_durable)

    # ------------------------------------------------------------------ submitting

    def submit(
        self,
        record: JournalRecord | Mapping[str, Any],
        *,
        received_at: float | None = None,
        row: Mapping[str, Any] | None = None,
    ) -> int:
        """Journal ``record`` and queue it for the database; returns its journal offset.

        ``received_at`` is the ``time.monotonic()`` of receipt (default: now), for the latency
        hooks. ``row`` is the record's ``greek_snapshots`` row when the caller already holds
        it validated (e.g. ``UnifiedPositionRecord.to_row()`` of the record it built): then
        ``decode`` is not called again on submit (journal replay still decodes every entry).
        It must be exactly what ``decode`` gives for the record. Raises ``ValueError`` when
        ``decode`` refuses the record (nothing journaled),
        :class:`BufferFull` (``on_full="block"`` only), :class:`WriterError` after the writer
        stopped on an error, and :class:`~riskdesk.streaming.journal.JournalError` when the
        journal cannot write.
        """
        received = time.monotonic() if received_at is None else received_at
        body = record_json(record)
        if row is None:
            row = self.decode(body)
        with self._cond:
            self._raise_if_failed()
            if self.on_full == "block" and len(self._buffer) >= self.max_buffer:
                if not self._cond.wait_for(
                    lambda: len(self._buffer) < self.max_buffer or self._error is not None,
                    self.block_timeout,
                ):
                    raise BufferFull(
                        f"the writer's buffer has held {self.max_buffer} records for "
                        f"{self.block_timeout:g} s (the database is slow or down: "
                        f"{self._last_error or 'no error yet'}); the record was not journaled: "
                        "retry it later, or use on_full='spill' to journal and continue"
                    )
                self._raise_if_failed()
            with self._latency_lock:
                offset = self.journal.append(body)
                if self.hooks.durable_latency is not None:
                    self._awaiting_durable.append((offset, received))
            self._journaled += 1
            if self._spilled_to is None and len(self._buffer) < self.max_buffer:
                self._buffer.append(((offset, received, row), time.monotonic()))
                if len(self._buffer) == 1 or len(self._buffer) >= self.batch_size:
                    self._cond.notify_all()
            else:
                if self._spilled_to is None:
                    log.warning(
                        "writer buffer full (%d records): spilling to the journal from offset %d",
                        self.max_buffer,
                        offset,
                    )
                self._spilled_to = offset
                self._cond.notify_all()
        _call(self.hooks.journaled, 1)
        return offset

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            raise WriterError(
                f"the writer stopped: {self._error}; records after offset {self._persisted} "
                "are kept in the journal and will be written by recover() after a restart"
            ) from self._error

    def _on_durable(self, _first: int, last: int) -> None:
        now = time.monotonic()
        latencies: list[float] = []
        with self._latency_lock:
            while self._awaiting_durable and self._awaiting_durable[0][0] <= last:
                latencies.append(now - self._awaiting_durable.popleft()[1])
        if latencies:
            _call(self.hooks.durable_latency, latencies)

    # ------------------------------------------------------------------ lifecycle

    def use_database(self, db: Database) -> None:
        """Send the next batches (and retries of the current one) to ``db``."""
        if not isinstance(self.sink, GreekSnapshotSink):
            raise TypeError(f"use_database needs the default sink, not {type(self.sink).__name__}")
        self.sink.use_database(db)

    def start(self) -> None:
        """Start the writer thread (it first writes what the journal holds past its checkpoint)."""
        with self._cond:
            if self._thread is not None:
                raise RuntimeError("the writer is already started")
            self._thread = threading.Thread(target=self._run, name="greek-writer", daemon=True)
            self._thread.start()

    def stop(self, *, timeout: float | None = 10.0) -> bool:
        """Write what is buffered, then stop; True if everything submitted was stored.

        After ``timeout`` seconds (database down) the writer gives up: what it did not store
        stays in the journal for :meth:`recover`.
        """
        self._stopping.set()
        with self._cond:
            self._cond.notify_all()
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
            if thread.is_alive():
                self._abort.set()
                thread.join()
        return self.journal.depth() == 0

    def __enter__(self) -> BatchWriter:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def wait_persisted(self, offset: int | None = None, timeout: float | None = None) -> bool:
        """Wait until everything up to ``offset`` (default: all submitted) is stored."""
        target = self.journal.last_offset() if offset is None else offset
        with self._cond:
            self._cond.wait_for(
                lambda: self._persisted >= target or self._error is not None, timeout
            )
            self._raise_if_failed()
            return self._persisted >= target

    @property
    def error(self) -> BaseException | None:
        """The error the writer stopped on, if any."""
        with self._cond:
            return self._error

    def stats(self) -> WriterStats:
        """Current counters, buffer and journal depth."""
        with self._cond:
            return WriterStats(
                journaled=self._journaled,
                persisted=self._stored,
                deduped=self._deduped,
                retries=self._retries,
                buffered=len(self._buffer),
                journal_depth=self.journal.depth(),
                persisted_offset=self._persisted,
                spilling=self._spilled_to is not None,
                last_error=self._last_error,
            )

    def recover(self, *, timeout: float | None = None) -> RecoveryResult:
        """Write every journal entry past the checkpoint now, before anything new.

        Call it before :meth:`start` (the thread does the same otherwise). Retries while the
        database is down; raises ``TimeoutError`` after ``timeout`` seconds (the entries stay
        in the journal) and :class:`WriterError` on an error retrying cannot fix.
        """
        if self._thread is not None:
            raise RuntimeError("recover() must run before start(); the started writer recovers")
        with self._cond:
            end = self._spilled_to
            stored, deduped = self._stored, self._deduped
            start = self._persisted
        if end is None:
            return RecoveryResult(0, 0, 0)
        timer = threading.Timer(timeout, self._abort.set) if timeout is not None else None
        if timer is not None:
            timer.start()
        try:
            done = self._drain_journal(end)
        finally:
            if timer is not None:
                timer.cancel()
        self._raise_if_failed()
        if not done:
            self._abort.clear()
            raise TimeoutError(
                f"recovery stopped after {timeout} s: the database is unavailable "
                f"({self._last_error}); journal entries {self._persisted + 1}..{end} are kept "
                "and will be written when it returns"
            )
        with self._cond:
            if self._spilled_to == end:
                self._spilled_to = None
            return RecoveryResult(
                replayed=end - start,
                persisted=self._stored - stored,
                deduped=self._deduped - deduped,
            )

    # ------------------------------------------------------------------ the writer thread

    def _next_batch(self) -> list[_Item] | int | None:
        """A batch from memory, the journal end to catch up to, or None to exit."""
        with self._cond:
            while True:
                if self._buffer:
                    oldest = self._buffer[0][1]
                    wait = oldest + self.max_age - time.monotonic()
                    if len(self._buffer) >= self.batch_size or wait <= 0 or self._stopping.is_set():
                        count = min(self.batch_size, len(self._buffer))
                        batch = [self._buffer.popleft()[0] for _ in range(count)]
                        self._cond.notify_all()
                        return batch
                    self._cond.wait(wait)
                    continue
                if self._spilled_to is not None:
                    return self._spilled_to
                if self._stopping.is_set():
                    return None
                self._cond.wait()

    def _run(self) -> None:
        while not self._abort.is_set():
            work = self._next_batch()
            if work is None:
                return
            if isinstance(work, int):
                if not self._drain_journal(work):
                    return
                with self._cond:
                    if self._spilled_to == work:
                        self._spilled_to = None
                        log.info("writer caught up with the journal at offset %d", work)
                continue
            if not self._persist(work):
                return

    def _drain_journal(self, end: int) -> bool:
        """Store journal entries after the persisted offset up to ``end``, in batches."""
        batch: list[_Item] = []
        try:
            for offset, body in self.journal.replay(after=self._persisted):
                if offset > end:
                    break
                try:
                    row = self.decode(body)
                except Exception as exc:
                    raise WriterError(
                        f"journal entry {offset} cannot be decoded ({exc}); fix the decoder "
                        "or the entry, then restart"
                    ) from exc
                batch.append((offset, None, row))
                if len(batch) >= self.batch_size:
                    if not self._persist(batch):
                        return False
                    batch = []
        except Exception as exc:
            self._fail(exc)
            return False
        return self._persist(batch) if batch else True

    def _persist(self, batch: list[_Item]) -> bool:
        """Write ``batch`` (retrying transient failures) and ack it; False to stop."""
        rows = [row for _offset, _received, row in batch]
        delay = self.retry_initial
        while True:
            try:
                inserted = self.sink.write(rows)
                break
            except Exception as exc:
                if not is_transient(exc):
                    self._fail(exc, batch)
                    return False
                with self._cond:
                    self._retries += 1
                    self._last_error = str(exc).splitlines()[0] if str(exc) else repr(exc)
                log.warning(
                    "writer: batch of offsets %d..%d not stored (%s); retrying in %.2f s",
                    batch[0][0],
                    batch[-1][0],
                    self._last_error,
                    delay,
                )
                if self._abort.wait(delay):
                    return False
                delay = min(delay * 2, self.retry_max)
        last = batch[-1][0]
        try:
            self.journal.ack(last)
        except Exception as exc:
            self._fail(exc, batch)
            return False
        now = time.monotonic()
        latencies = [now - received for _o, received, _r in batch if received is not None]
        with self._cond:
            self._persisted = last
            self._stored += inserted
            self._deduped += len(rows) - inserted
            self._last_error = None
            self._cond.notify_all()
        _call(self.hooks.persisted, inserted)
        _call(self.hooks.deduped, len(rows) - inserted)
        if latencies:
            _call(self.hooks.persisted_latency, latencies)
        return True

    def _fail(self, exc: BaseException, batch: list[_Item] | None = None) -> None:
        where = f" (batch of offsets {batch[0][0]}..{batch[-1][0]})" if batch else ""
        log.error("writer stopped%s: %s", where, exc)
        with self._cond:
            self._error = exc if isinstance(exc, WriterError) else WriterError(f"{exc}{where}")
            if self._error is not exc:
                self._error.__cause__ = exc
            self._cond.notify_all()
