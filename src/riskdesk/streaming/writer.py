"""The batched writer: journaled stream records into ``greek_snapshots``, each stored once.

:class:`BatchWriter` is the durable half of the streaming pipeline::

    submit(record) --> Journal.append (fsynced within ~20 ms) --> in-memory buffer
                                                                     |
          writer thread: a batch by size (batch_size) or age (max_age_ms)
                                                                     v
          GreekSnapshotSink.write: binary COPY + INSERT .. SELECT .. ON CONFLICT DO NOTHING
                                   (PostgreSQL); DBAPI executemany of tuples (SQLite)
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
import os
import sqlite3
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Final, Literal, Protocol

from sqlalchemy import JSON, Column, Date, Double, String, Table, Uuid
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Dialect

from riskdesk.store.database import Database
from riskdesk.store.db import SQLITE_BEGIN_OPTION
from riskdesk.store.errors import (
    DatabaseUnavailableError,
    DiskFullError,
    ReadOnlyDatabaseError,
    WriteConflictError,
)
from riskdesk.store.limits import check_text_lengths
from riskdesk.store.models import GreekSnapshot
from riskdesk.store.partitions import (
    PARTITIONED_TABLES,
    ensure_month_partitions,
    list_partitions,
    partition_name,
)
from riskdesk.store.types import DecimalType, UTCDateTime, jsonable, new_id, utc_now
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

STAGE_TABLE = "riskdesk_greek_snapshots_staging"
"""Session-local staging table of the PostgreSQL COPY (its JSON column is text)."""

REPLAY_BATCH_SIZE: Final = 2000
"""Default smallest replay batch (see ``BatchWriter``'s ``replay_batch_size``)."""


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

    Rows become tuples through a per-dialect :class:`_RowPlan` (the column order and, per
    column, the conversion SQLAlchemy's bind processor would apply, done directly for the
    value types records carry), then:

    * PostgreSQL: the month partitions of months this sink has not written yet are ensured
      (own transaction), the tuples are COPYed (``write_row``) into a session-local staging
      table (created once per connection) and moved with ``INSERT .. SELECT .. ON CONFLICT DO
      NOTHING`` in one transaction;
    * SQLite: one DBAPI ``executemany`` of ``INSERT .. ON CONFLICT DO NOTHING`` in a ``BEGIN
      IMMEDIATE`` transaction, the stored count from the connection's ``total_changes``.

    Either way a row the dedupe rule already holds is skipped, and the count returned
    excludes it. Values are stored exactly as :func:`~riskdesk.store.timeseries.insert_rows`
    stores them (bit for bit: ``tests/integration/streaming/test_stream_write_path.py``).
    """

    def __init__(self, db: Database) -> None:
        self._db = db
        self._lock = threading.Lock()
        self._plans: dict[str, _RowPlan] = {}
        self._months_db: Database | None = None
        self._months: set[tuple[int, int]] = set()  # partitions known to exist in _months_db

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
        dialect = db.engine.dialect
        plan = self._plans.get(dialect.name)
        if plan is None:
            plan = self._plans[dialect.name] = _RowPlan(_table(), dialect)
        try:
            check_text_lengths(plan.table, rows)
            tuples = plan.tuples(rows, utc_now())
            if dialect.name == "postgresql":
                self._ensure_partitions(db, plan, tuples)
                return _copy_insert(db, plan, tuples)
            return _sqlite_insert(db, plan, tuples)
        except BaseException as exc:
            if is_transient(exc):
                db.engine.dispose()  # drop connections the outage may have broken
            raise

    def _ensure_partitions(
        self, db: Database, plan: _RowPlan, tuples: list[tuple[Any, ...]]
    ) -> None:
        """Create the month partitions of months not yet seen on ``db`` (cached per database)."""
        if self._months_db is not db:
            self._months_db, self._months = db, set()
        at = plan.partition_index
        stamps_of_rows = (row[at] for row in tuples)
        months = {(t.year, t.month) for t in stamps_of_rows if t is not None} - self._months
        if not months:
            return
        stamps = [datetime(year, month, 1, tzinfo=UTC) for year, month in months]
        ensure_month_partitions(db.engine, plan.table.name, stamps)
        existing = set(list_partitions(db.engine, plan.table.name))
        for year, month in months:
            # a month whose partition stayed missing (lock busy) is checked again next batch
            if partition_name(plan.table.name, date(year, month, 1)) in existing:
                self._months.add((year, month))


def _table() -> Table:
    table = GreekSnapshot.__table__
    assert isinstance(table, Table)
    return table


_Convert = Callable[[Any], Any]
_NOW: Final = object()  # default marker: the batch's persisted_at
_NEW_ID: Final = object()  # default marker: a new time-ordered id (from the batch's id block)
_DEFAULTS: Final[dict[str, object]] = {"id": _NEW_ID, "persisted_at": _NOW}
_DECIMAL_MEMO: Final = 4096  # distinct amounts remembered per column
_STAGED_KEY: Final = "riskdesk.greek_snapshots_staging"  # per-DBAPI-connection info flag

_PROBE_TIMES: Final = (
    datetime(2025, 1, 31, 23, 59, 59, 999_999, tzinfo=UTC),
    datetime(2025, 2, 1, tzinfo=UTC),
    datetime(1, 1, 1, tzinfo=UTC),
)
_PROBE_DECIMALS: Final = (
    Decimal("0"),
    Decimal("-0.000000005"),
    Decimal("580.123456785"),
    Decimal("1E+3"),
    Decimal("-123456789012.12345678"),
)
_PROBE_PAYLOADS: Final[tuple[dict[str, Any], ...]] = (
    {},
    {"a": 1, "b": -0.0, "c": 1e-300, "d": 'δ\u2028\\"x', "e": [None, True, {"f": 1.5}]},
)
_JSON_ENCODER: Final = json.JSONEncoder(default=jsonable, allow_nan=False, ensure_ascii=False)


def _new_ids(count: int) -> list[uuid.UUID]:
    """``count`` keys laid out like :func:`~riskdesk.store.types.new_id` (version 7).

    One ``os.urandom`` call for the batch instead of a system call per key (``new_id`` uses
    ``secrets``); the same clock millisecond and 74 random bits per key.
    """
    prefix = ((time.time_ns() // 1_000_000) & ((1 << 48) - 1)) << 80 | 0x7 << 76 | 0b10 << 62
    block = os.urandom(10 * count)
    ids: list[uuid.UUID] = []
    for at in range(0, 10 * count, 10):
        rand = int.from_bytes(block[at : at + 10]) >> 6  # 74 bits
        ids.append(uuid.UUID(int=prefix | (rand >> 62) << 64 | rand & ((1 << 62) - 1)))
    return ids


class _RowPlan:
    """How rows of ``table`` become DBAPI parameter tuples on ``dialect``, worked out once.

    The column order is the table's. Per column the conversion is what SQLAlchemy's bind
    processor does: none when that processor is the identity for the values sent (strings;
    on PostgreSQL also UUIDs, dates and floats), otherwise a direct conversion for the exact
    types records carry (UTC datetimes, ``date``, ``UUID``, ``float``, ``Decimal``, the JSON
    payload ``dict``). Each direct conversion is checked against the processor on probe
    values when the plan is made (the processor is kept if they differ), and any other value
    type goes through the processor itself, so a naive datetime, a float amount or a too-large
    one is refused with the same error as before.
    """

    def __init__(self, table: Table, dialect: Dialect) -> None:
        self.table = table
        self.names: tuple[str, ...] = tuple(column.name for column in table.columns)
        self.partition_index = self.names.index(PARTITIONED_TABLES[table.name])
        steps: list[tuple[str, object, type | None, _Convert | None]] = []
        for column in table.columns:
            process = column.type.dialect_impl(dialect).bind_processor(dialect)
            keep, convert = _column_conversion(column.type, process, dialect)
            steps.append((column.name, _DEFAULTS.get(column.name), keep, convert))
        self._build = _row_builder(steps)
        self._default_converts: dict[object, _Convert | None] = {_NEW_ID: None, _NOW: None}
        for _name, default, _keep, convert in steps:
            if default is not None:
                self._default_converts[default] = convert
        quoted = ", ".join(f'"{name}"' for name in self.names)
        marks = ", ".join("?" for _ in self.names)
        self.sqlite_insert = (
            f"INSERT INTO {table.name} ({quoted}) VALUES ({marks}) ON CONFLICT DO NOTHING"
        )
        # PostgreSQL: binary COPY into a session-local staging table whose JSON column is
        # text (the payload arrives as the text the engine's serializer writes), then one
        # INSERT .. SELECT that casts it to jsonb, as the server would parse it from a bind.
        json_columns = [c.name for c in table.columns if isinstance(c.type, JSON)]
        self.copy_types = [_copy_type(column) for column in table.columns]
        self.stage_create = (
            f"CREATE TEMP TABLE IF NOT EXISTS {STAGE_TABLE} (LIKE {table.name}) "
            "ON COMMIT DELETE ROWS; "
            + "".join(
                f'ALTER TABLE {STAGE_TABLE} ALTER COLUMN "{name}" TYPE text; '
                for name in json_columns
            )
        )
        self.stage_copy = f"COPY {STAGE_TABLE} ({quoted}) FROM STDIN (FORMAT BINARY)"
        selected = ", ".join(
            f'"{name}"::jsonb' if name in json_columns else f'"{name}"' for name in self.names
        )
        self.stage_move = (
            f"INSERT INTO {table.name} ({quoted}) SELECT {selected} FROM {STAGE_TABLE} "
            "ON CONFLICT DO NOTHING"
        )

    def tuples(self, rows: Sequence[Mapping[str, Any]], now: datetime) -> list[tuple[Any, ...]]:
        """``rows`` as parameter tuples in column order (``id``/``persisted_at`` defaulted)."""
        build, to_id, to_now = (
            self._build,
            self._default_converts[_NEW_ID],
            self._default_converts[_NOW],
        )
        fresh = _new_ids(sum(1 for row in rows if row.get("id") is None))
        ids = iter(fresh if to_id is None else [to_id(key) for key in fresh])
        stamp = now if to_now is None else to_now(now)
        return [build(row, ids, stamp) for row in rows]


_RowBuilder = Callable[[Mapping[str, Any], Iterator[Any], Any], tuple[Any, ...]]


def _row_builder(steps: Sequence[tuple[str, object, type | None, _Convert | None]]) -> _RowBuilder:
    """One function turning a row into its tuple, the steps written out (no per-column loop).

    Like :mod:`dataclasses`, the source is generated from the plan: per column a ``get``, the
    default when it is missing (``id`` from ``ids``, ``persisted_at`` = ``now``, both already
    converted once per batch), else the conversion when there is one. Column names enter the
    source only as ``repr`` literals.
    """
    namespace: dict[str, Any] = {}
    lines = ["def build(row, ids, now):", "    get = row.get"]
    for i, (name, default, keep, convert) in enumerate(steps):
        lines.append(f"    v{i} = get({name!r})")
        test = "if"
        if default is _NEW_ID:
            lines.append(f"    if v{i} is None: v{i} = next(ids)")
            test = "elif"
        elif default is _NOW:
            lines.append(f"    if v{i} is None: v{i} = now")
            test = "elif"
        if convert is not None:
            namespace[f"convert{i}"], namespace[f"keep{i}"] = convert, keep
            skip = f" and type(v{i}) is not keep{i}" if keep is not None else ""
            lines.append(f"    {test} v{i} is not None{skip}: v{i} = convert{i}(v{i})")
    lines.append(f"    return ({', '.join(f'v{i}' for i in range(len(steps)))},)")
    exec("\n".join(lines), namespace)  # the source is built above from the plan only
    build: _RowBuilder = namespace["build"]
    return build


def _column_conversion(
    type_: Any, process: _Convert | None, dialect: Dialect
) -> tuple[type | None, _Convert | None]:
    """``(keep, convert)``: values of type ``keep`` pass as they are, others go through ``convert``."""
    sqlite = dialect.name == "sqlite"
    if isinstance(type_, JSON) and not sqlite:
        # COPY takes JSON text; SQLAlchemy would have psycopg send the engine serializer's
        serializer: _Convert = getattr(dialect, "_json_serializer", None) or json.dumps
        fast = _json_text(serializer)
        if all(fast(p) == serializer(p) for p in _PROBE_PAYLOADS):
            return None, fast
        return None, serializer
    if process is None:
        return None, None
    if isinstance(type_, Double):  # the processor is float(); floats pass as they are
        return float, process
    candidate: _Convert | None = None
    probes: tuple[Any, ...] = ()
    if isinstance(type_, UTCDateTime):
        candidate, probes = _utc_time(process, naive=sqlite), _PROBE_TIMES
    elif isinstance(type_, Uuid):
        candidate, probes = _uuid_hex(process), (uuid.UUID(int=0), new_id())
    elif isinstance(type_, Date):
        candidate, probes = _iso_date(process), (date(2025, 2, 1), date(1, 1, 1))
    elif isinstance(type_, DecimalType):
        candidate, probes = _decimal(type_, process, text=sqlite), _PROBE_DECIMALS
    elif isinstance(type_, JSON):
        candidate, probes = _json_text(process), _PROBE_PAYLOADS
    if candidate is not None and all(candidate(p) == process(p) for p in probes):
        return None, candidate
    return None, process


_COPY_TYPES: Final[tuple[tuple[type, str], ...]] = (
    (UTCDateTime, "timestamptz"),
    (Uuid, "uuid"),
    (DecimalType, "numeric"),
    (Double, "float8"),
    (Date, "date"),
    (String, "varchar"),
    (JSON, "text"),  # staged as text, cast to jsonb by the INSERT .. SELECT
)


def _copy_type(column: Column[Any]) -> str:
    """The PostgreSQL type name binary COPY sends ``column``'s values as."""
    for kind, name in _COPY_TYPES:
        if isinstance(column.type, kind):
            return name
    raise TypeError(
        f"column {column.name} of type {column.type!r} has no binary COPY type here; "
        "add it to _COPY_TYPES in riskdesk.streaming.writer"
    )


def _utc_time(process: _Convert, *, naive: bool) -> _Convert:
    if naive:  # SQLite: UTC wall time as SQLAlchemy's DATETIME text (microseconds always)

        def convert(value: Any) -> Any:
            if type(value) is datetime and value.tzinfo is UTC:
                return value.isoformat(" ", "microseconds")[:-6]  # minus "+00:00"
            return process(value)

    else:

        def convert(value: Any) -> Any:
            if type(value) is datetime and value.tzinfo is UTC:
                return value
            return process(value)

    return convert


def _uuid_hex(process: _Convert) -> _Convert:
    def convert(value: Any) -> Any:
        return value.hex if type(value) is uuid.UUID else process(value)

    return convert


def _iso_date(process: _Convert) -> _Convert:
    def convert(value: Any) -> Any:
        return value.isoformat() if type(value) is date else process(value)

    return convert


def _decimal(type_: DecimalType, process: _Convert, *, text: bool) -> _Convert:
    quantum = Decimal(1).scaleb(-type_.scale)
    limit = Decimal(10) ** (type_.precision - type_.scale)

    seen: dict[Decimal, Any] = {}  # strikes and quantities repeat: nonzero value -> stored

    def convert(value: Any) -> Any:
        if type(value) is Decimal and value.is_finite():  # (a signaling NaN cannot be hashed)
            stored = seen.get(value)
            if stored is not None:
                return stored
            number = value.quantize(quantum, rounding=ROUND_HALF_UP)
            if abs(number) < limit:
                stored = format(number, "f") if text else number
                if value:  # equal nonzero values store alike; -0 and 0 do not
                    if len(seen) >= _DECIMAL_MEMO:
                        seen.clear()
                    seen[value] = stored
                return stored
        return process(value)  # other types, and the errors, as DecimalType gives them

    return convert


def _json_text(process: _Convert) -> _Convert:
    encode = _JSON_ENCODER.encode

    def convert(value: Any) -> Any:
        return encode(value) if type(value) is dict else process(value)

    return convert


def _sqlite_insert(db: Database, plan: _RowPlan, tuples: list[tuple[Any, ...]]) -> int:
    with db.engine.connect() as conn:
        immediate = conn.execution_options(**{SQLITE_BEGIN_OPTION: "IMMEDIATE"})
        with immediate.begin():
            raw = immediate.connection.driver_connection
            if raw is None:  # pragma: no cover - a checked-out connection always has one
                raise DatabaseUnavailableError("the SQLite connection was closed mid-batch")
            before = raw.total_changes
            immediate.exec_driver_sql(plan.sqlite_insert, tuples)
            return int(raw.total_changes - before)


def _copy_insert(db: Database, plan: _RowPlan, tuples: list[tuple[Any, ...]]) -> int:
    with db.engine.connect() as conn:
        info = conn.connection.info
        if not info.get(_STAGED_KEY):
            with conn.begin():
                conn.exec_driver_sql(plan.stage_create)
            info[_STAGED_KEY] = True
        with conn.begin():
            raw = conn.connection.driver_connection
            if raw is None:  # pragma: no cover - a checked-out connection always has one
                raise DatabaseUnavailableError("the PostgreSQL connection was closed mid-batch")
            with raw.cursor() as cursor, cursor.copy(plan.stage_copy) as copy:
                copy.set_types(plan.copy_types)
                write = copy.write_row
                for row in tuples:
                    write(row)
            return int(conn.exec_driver_sql(plan.stage_move).rowcount)


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
    replay_batch_size:
        Largest batch read back from the journal (spill catch-up and recovery); default
        ``max(batch_size, 2000)``: the records are already durable, so bigger batches only
        save per-transaction costs while the writer works through a backlog.

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
        replay_batch_size: int | None = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if max_buffer < batch_size:
            raise ValueError(f"max_buffer ({max_buffer}) must be >= batch_size ({batch_size})")
        if replay_batch_size is not None and replay_batch_size < 1:
            raise ValueError(f"replay_batch_size must be >= 1, got {replay_batch_size}")
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
        self.replay_batch_size = (
            max(batch_size, REPLAY_BATCH_SIZE) if replay_batch_size is None else replay_batch_size
        )
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
        """Store journal entries after the persisted offset up to ``end``, in batches.

        Every entry is decoded (fully validated: after a crash the journal is outside input)
        and written through the sink in batches of ``replay_batch_size``.
        """
        batch: list[_Item] = []
        size = self.replay_batch_size
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
                if len(batch) >= size:
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
