"""The writer's fast write path stores exactly what the SQLAlchemy Core insert path stores.

The same varied rows go through :class:`GreekSnapshotSink` (tuples, DBAPI ``executemany`` on
SQLite, binary COPY + ``INSERT .. SELECT`` on PostgreSQL) into one database and through
:func:`riskdesk.store.timeseries.insert_rows` (Core insert, per-column bind processors) into
another; every column of every row is compared bit for bit. Also: dedupe counts, defaults,
refusals, and journal replay in large batches through the sink.
"""

from __future__ import annotations

import shutil
import struct
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Engine

from riskdesk.store.database import Database
from riskdesk.store.db import create_engine, make_session_factory
from riskdesk.store.errors import NaiveDatetimeError, NumericValueError, ValueTooLongError
from riskdesk.store.models import GreekSnapshot
from riskdesk.store.partitions import list_partitions
from riskdesk.store.timeseries import insert_rows
from riskdesk.streaming.journal import Journal
from riskdesk.streaming.writer import BatchWriter, GreekSnapshotSink

COLUMNS: tuple[str, ...] = tuple(column.name for column in GreekSnapshot.__table__.columns)
FLOATS = ("delta", "gamma", "theta", "vega", "rho", "implied_volatility", "underlying_price")
MONTH_END = datetime(2025, 1, 31, 23, 59, 59, 999_999, tzinfo=UTC)
EST = timezone(timedelta(hours=-5))


def _row(n: int, **changes: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": uuid.UUID(int=(n + 1) << 64 | 0x7000),
        "persisted_at": datetime(2025, 2, 3, 4, 5, 6, n, tzinfo=UTC),
        "event_time": MONTH_END + timedelta(microseconds=n),
        "received_at": MONTH_END + timedelta(microseconds=n + 1),
        "broker": "tastytrade",
        "account_id": "5WT00001",
        "underlying": "SPY",
        "contract_key": "SPY:20250321:580:C",
        "expiration": date(2025, 3, 21),
        "strike": Decimal("580"),
        "option_type": "call",
        "quantity": Decimal("2"),
        "delta": 0.5 + n * 1e-9,
        "gamma": 0.01,
        "theta": -0.1,
        "vega": 0.2,
        "rho": 0.01,
        "implied_volatility": 0.2,
        "underlying_price": 580.25,
        "source_payload": {"n": n, "eventSymbol": ".SPY250321C580"},
    }
    row.update(changes)
    return row


def varied_rows() -> list[dict[str, Any]]:
    """Rows at the edges of every column type records produce."""
    return [
        _row(0),
        _row(1, delta=None, gamma=None, theta=None, vega=None, rho=-0.0),  # NULL Greeks
        _row(2, delta=1e-300, gamma=5e-324, theta=-1.7976931348623157e308, vega=-0.0),
        _row(3, delta=1.7976931348623155e308, gamma=2.2250738585072014e-308, theta=-1e-300),
        _row(4, implied_volatility=None, underlying_price=None, rho=None, quantity=None),
        _row(5, strike=Decimal("580.123456785"), quantity=Decimal("-0.000000005")),  # half up
        _row(6, strike=Decimal("99999999999.999999994"), quantity=Decimal("-0")),
        _row(7, strike=Decimal("1E+3"), quantity=Decimal("123456789012.12345678")),
        _row(8, strike=None, expiration=None, option_type=None, contract_key="SPY"),
        _row(
            9,
            source_payload={
                "sym": 'ΔΓ€ 😀 \u2028 \\" \n\t',
                "nested": {"a": [1, 2.5, None, True, False, {"b": [[], {}]}], "é": "ü"},
                "big": 1.7976931348623157e308,
                "tiny": 1e-300,
                "negative_zero": -0.0,
                "int": 2**62,
            },
        ),
        _row(10, source_payload={}),
        # another time zone, and a month later in it: converted to UTC on both paths
        _row(11, event_time=datetime(2025, 2, 28, 19, 0, 0, 1, tzinfo=EST)),
        _row(12, event_time=datetime(2025, 2, 1, 0, 0, 0, 0, tzinfo=UTC), received_at=MONTH_END),
        _row(13, delta=3, gamma=-2),  # ints where floats go (stored as doubles on both)
        _row(14, event_time=datetime(1999, 12, 31, 23, 59, 59, 123_456, tzinfo=UTC)),
    ]


def _migrated_copy(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Engine]:
    """A second migrated database of ``backend`` (the reference side of the comparison)."""
    if backend == "sqlite":
        template: Path = request.getfixturevalue("_sqlite_template")
        target = tmp_path / "reference.sqlite3"
        shutil.copyfile(template, target)
        engine = create_engine(f"sqlite:///{target}")
        try:
            yield engine
        finally:
            engine.dispose()
        return
    server: Any = request.getfixturevalue("_pg_server")
    template_name: str = request.getfixturevalue("_pg_template")
    name = server.new_name("reference")
    url = server.create(name, template=template_name)
    engine = create_engine(url)
    try:
        yield engine
    finally:
        engine.dispose()
        server.drop(name)


@pytest.fixture
def reference_engine(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Engine]:
    yield from _migrated_copy(backend, request, tmp_path)


@pytest.fixture
def database(migrated_engine: Engine) -> Database:
    return Database(engine=migrated_engine, sessions=make_session_factory(migrated_engine))


def reference_insert(engine: Engine, rows: Sequence[Mapping[str, Any]]) -> int:
    """The previous write path: a Core insert with SQLAlchemy's bind processors."""
    with engine.begin() as conn:
        return insert_rows(conn, GreekSnapshot, rows)


def stored(engine: Engine) -> list[tuple[Any, ...]]:
    """Every stored value of every row, in an exact form (ordered by id)."""
    with engine.connect() as conn:
        raw = conn.connection.driver_connection
        assert raw is not None
        if engine.dialect.name == "postgresql":
            texts = ", ".join(f'"{name}"::text' for name in COLUMNS)
            bits = ", ".join(f'float8send("{name}")' for name in FLOATS)
            query = f"SELECT {texts}, {bits} FROM greek_snapshots ORDER BY id"
            return [tuple(row) for row in raw.execute(query).fetchall()]
        typed = ", ".join(f'"{name}", typeof("{name}")' for name in COLUMNS)
        out = []
        for row in raw.execute(f"SELECT {typed} FROM greek_snapshots ORDER BY id").fetchall():
            # floats as their 8 bytes (so -0.0 and 0.0 differ), everything else as stored
            out.append(tuple(struct.pack("<d", v) if isinstance(v, float) else v for v in row))
        return out


def test_sink_with_varied_rows_stores_exactly_what_the_core_insert_stores(
    database: Database, migrated_engine: Engine, reference_engine: Engine
) -> None:
    rows = varied_rows()

    inserted = GreekSnapshotSink(database).write(rows)
    expected = reference_insert(reference_engine, rows)

    assert inserted == expected == len(rows)
    fast, reference = stored(migrated_engine), stored(reference_engine)
    assert len(fast) == len(rows)
    for got, want in zip(fast, reference, strict=True):
        assert got == want


def test_sink_with_rows_without_id_or_persisted_at_fills_time_ordered_ids_and_the_write_time(
    database: Database, migrated_engine: Engine
) -> None:
    rows = [{k: v for k, v in _row(n).items() if k not in ("id", "persisted_at")} for n in range(3)]
    before = datetime.now(UTC)

    assert GreekSnapshotSink(database).write(rows) == 3

    after = datetime.now(UTC)
    with database.sessions() as session:
        snapshots = session.query(GreekSnapshot).all()
    assert len({s.id for s in snapshots}) == 3
    for snapshot in snapshots:
        assert snapshot.id.version == 7
        assert snapshot.id.variant == uuid.RFC_4122
        millis = snapshot.id.int >> 80
        assert before.timestamp() * 1000 - 1 <= millis <= after.timestamp() * 1000 + 1
        assert before - timedelta(seconds=1) <= snapshot.persisted_at <= after


def test_sink_with_duplicates_of_itself_and_of_stored_rows_returns_only_new_rows(
    database: Database, migrated_engine: Engine, reference_engine: Engine
) -> None:
    first = [_row(n) for n in range(5)] + [_row(5, gamma=None, rho=None)]
    # same dedupe key (broker, account, contract, event time, delta..vega), other id/payload
    again = [_row(n, id=uuid.uuid4(), source_payload={"again": n}) for n in (0, 3)]
    null_again = _row(5, id=uuid.uuid4(), gamma=None, rho=0.5)  # NULL gamma equals NULL
    new = [_row(n) for n in (6, 7, 8)]
    twice = _row(6, id=uuid.uuid4(), received_at=MONTH_END)  # a duplicate within the batch
    second = [*again, new[0], null_again, new[1], twice, new[2]]
    sink = GreekSnapshotSink(database)

    counts = (sink.write(first), sink.write(second), sink.write(second))
    reference = tuple(reference_insert(reference_engine, b) for b in (first, second, second))

    assert counts == reference == (6, 3, 0)
    assert len(stored(migrated_engine)) == 9
    assert stored(migrated_engine) == stored(reference_engine)


@pytest.mark.parametrize(
    ("change", "error", "named"),
    [
        ({"event_time": datetime(2025, 1, 2, 3, 4, 5)}, NaiveDatetimeError, "2025, 1, 2, 3, 4, 5"),
        ({"strike": Decimal("1E+12")}, NumericValueError, "1E+12"),
        ({"quantity": 1.5}, NumericValueError, "float 1.5"),
        ({"account_id": "A" * 65}, ValueTooLongError, "account_id"),
    ],
)
def test_sink_with_unstorable_value_raises_as_the_core_insert_does_and_stores_nothing(
    database: Database,
    migrated_engine: Engine,
    reference_engine: Engine,
    change: dict[str, Any],
    error: type[Exception],
    named: str,
) -> None:
    rows = [_row(0), _row(1, **change)]

    with pytest.raises(error) as fast:
        GreekSnapshotSink(database).write(rows)
    with pytest.raises((error, sa_exc.StatementError)) as reference:
        reference_insert(reference_engine, rows)

    # the Core path wraps a bind processor's error in StatementError; the sink raises it bare
    cause: BaseException | None = reference.value
    if isinstance(cause, sa_exc.StatementError):
        cause = cause.orig
    # (on PostgreSQL the Core path meets a naive time first in its partition check, so the
    # two messages may differ in wording; both name the value)
    assert isinstance(cause, error)
    assert named in str(fast.value)
    assert named in str(cause)
    assert stored(migrated_engine) == []


@pytest.mark.parametrize("backend", [pytest.param("postgres", marks=pytest.mark.postgres)])
def test_sink_with_new_months_on_postgres_creates_their_partitions(
    backend: str, database: Database, migrated_engine: Engine
) -> None:
    sink = GreekSnapshotSink(database)
    march = datetime(2031, 3, 5, tzinfo=UTC)

    sink.write([_row(0, event_time=march)])
    first = list_partitions(migrated_engine, "greek_snapshots")
    sink.write([_row(1, event_time=march + timedelta(days=30))])  # April: a new month
    second = list_partitions(migrated_engine, "greek_snapshots")

    assert "greek_snapshots_p2031_03" in first
    assert "greek_snapshots_p2031_04" not in first
    assert "greek_snapshots_p2031_04" in second
    with migrated_engine.connect() as conn:
        default = conn.exec_driver_sql("SELECT count(*) FROM greek_snapshots_default").scalar()
    assert default == 0


def _journal_body(n: int) -> dict[str, Any]:
    event = MONTH_END + timedelta(milliseconds=n)
    return {
        "n": n,
        "event_time": event.isoformat(),
        "received_at": (event + timedelta(milliseconds=1)).isoformat(),
    }


def _decode(body: dict[str, Any]) -> dict[str, Any]:
    row = _row(int(body["n"]), event_time=datetime.fromisoformat(body["event_time"]))
    row["received_at"] = datetime.fromisoformat(body["received_at"])
    del row["id"], row["persisted_at"]
    return row


class _BatchSizes:
    def __init__(self, inner: GreekSnapshotSink) -> None:
        self.inner = inner
        self.sizes: list[int] = []

    def write(self, rows: Sequence[Mapping[str, Any]]) -> int:
        self.sizes.append(len(rows))
        return self.inner.write(rows)


def test_writer_recover_with_long_backlog_writes_it_through_the_sink_in_replay_sized_batches(
    database: Database, migrated_engine: Engine, tmp_path: Path
) -> None:
    with Journal(tmp_path / "journal") as journal:
        for n in range(2_600):
            journal.append(_journal_body(n))
        sink = _BatchSizes(GreekSnapshotSink(database))
        writer = BatchWriter(database, journal, decode=_decode, batch_size=100, sink=sink)
        started = time.monotonic()

        result = writer.recover(timeout=60)

        assert (result.replayed, result.persisted, result.deduped) == (2_600, 2_600, 0)
        assert writer.replay_batch_size == 2_000
        assert sink.sizes == [2_000, 600]
        assert journal.depth() == 0
        assert time.monotonic() - started < 30
    assert len(stored(migrated_engine)) == 2_600
