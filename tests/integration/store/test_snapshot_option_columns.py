"""A snapshot's option quotes kept also as one Arrow IPC stream (``snapshot_option_columns``).

On both backends: the stream a save writes holds exactly what the quote rows hold (read back
through the rows' own path), a load reads it and still checks the snapshot hash, a snapshot
without it (stored before migration 0007, or of another column layout) loads from its rows,
and damaged or rewritten bytes are refused with a clear error. Migration 0007 keeps stored
contracts and quotes across its SQLite rebuild of ``option_contracts``, both ways.
"""

from __future__ import annotations

import hashlib
import uuid

import pyarrow as pa
import pytest
import sqlalchemy as sa
from snapshot_tables import option_table, snapshot_of
from sqlalchemy import delete, insert, select
from sqlalchemy.engine import Engine

from riskdesk.domain.option_table import OPTION_SCHEMA
from riskdesk.store import Database, MigrationError, StoreError, make_session_factory
from riskdesk.store import _snapshot_rows as rows
from riskdesk.store import models as m
from riskdesk.store import workbench as store_workbench
from riskdesk.store.migrate import downgrade_database, upgrade_database
from riskdesk.workbench import Workbench

STRIKES = ["100", "100", "100", "0.5", "250.125", "95.5", "10", "10.5"]


def _saved(engine: Engine) -> tuple[Database, Workbench, str]:
    db = Database(engine=engine, sessions=make_session_factory(engine))
    bench = Workbench(db)
    ref = bench.save_snapshot(snapshot_of(option_table(STRIKES)))
    return db, bench, str(ref.snapshot_id)


def _stored(db: Database, snapshot_id: str) -> m.SnapshotOptionColumns:
    with db.unit_of_work() as uow:
        row = uow.session.scalars(
            select(m.SnapshotOptionColumns).where(
                m.SnapshotOptionColumns.snapshot_id == _uuid(snapshot_id)
            )
        ).one()
        uow.session.expunge(row)
        return row


def _decoded(db: Database, snapshot_id: str) -> pa.Table:
    """The stored stream of ``snapshot_id``, checked and decoded."""
    stored = _stored(db, snapshot_id)
    table = rows.decode_option_columns(
        stored.data, sha256=stored.data_sha256, rows=stored.row_count
    )
    assert table is not None
    return table


def _uuid(text: str) -> uuid.UUID:
    return uuid.UUID(text)


def _replace_columns(db: Database, snapshot_id: str, data: bytes, *, digest: str) -> None:
    """Swap the stored stream (rows are immutable: delete and insert, as a tamperer would)."""
    table = m.SnapshotOptionColumns.__table__
    with db.engine.begin() as conn:
        old = conn.execute(select(table).where(table.c.snapshot_id == _uuid(snapshot_id))).one()
        conn.execute(delete(table).where(table.c.snapshot_id == _uuid(snapshot_id)))
        conn.execute(
            insert(table),
            {
                "snapshot_id": old.snapshot_id,
                "data_format": old.data_format,
                "row_count": old.row_count,
                "data_sha256": digest,
                "data": data,
            },
        )


def test_save_snapshot_stores_one_stream_holding_what_its_rows_hold(
    migrated_engine: Engine,
) -> None:
    # Arrange
    db, _, snapshot_id = _saved(migrated_engine)

    # Act
    stored = _stored(db, snapshot_id)
    decoded = rows.decode_option_columns(
        stored.data, sha256=stored.data_sha256, rows=stored.row_count
    )
    with db.unit_of_work() as uow:  # the independent path: the quote rows, joined and sorted
        from_rows = rows.read_option_quotes(uow.session, _uuid(snapshot_id))

    # Assert
    assert stored.data_format == "arrow-ipc-zstd"
    assert stored.data_sha256 == hashlib.sha256(stored.data).hexdigest()
    assert stored.row_count == len(STRIKES)
    assert decoded is not None
    assert decoded.schema.equals(OPTION_SCHEMA)
    assert decoded.equals(from_rows)


def test_load_snapshot_without_its_stream_reads_the_rows_to_the_same_snapshot(
    migrated_engine: Engine,
) -> None:
    # Arrange
    db, bench, snapshot_id = _saved(migrated_engine)
    from_stream = bench.load_snapshot(snapshot_id).snapshot
    with db.engine.begin() as conn:  # as a snapshot stored before migration 0007
        conn.execute(
            delete(m.SnapshotOptionColumns.__table__).where(
                m.SnapshotOptionColumns.snapshot_id == _uuid(snapshot_id)
            )
        )

    # Act
    from_rows = bench.load_snapshot(snapshot_id).snapshot

    # Assert
    assert from_rows.snapshot_hash == from_stream.snapshot_hash
    assert list(from_rows.options) == list(from_stream.options)
    assert from_rows.options.arrow.equals(from_stream.options.arrow)


def test_load_snapshot_with_bytes_not_matching_their_digest_is_refused(
    migrated_engine: Engine,
) -> None:
    # Arrange
    db, bench, snapshot_id = _saved(migrated_engine)
    stored = _stored(db, snapshot_id)
    damaged = bytearray(stored.data)
    damaged[len(damaged) // 2] ^= 0xFF
    _replace_columns(db, snapshot_id, bytes(damaged), digest=stored.data_sha256)

    # Act / Assert
    with pytest.raises(StoreError, match=r"stored option columns .* are damaged .*SHA-256"):
        bench.load_snapshot(snapshot_id)


def test_load_snapshot_with_stream_rewritten_with_its_digest_fails_the_snapshot_hash(
    migrated_engine: Engine,
) -> None:
    # Arrange: one bid changed, the stream re-encoded and its digest recomputed
    db, bench, snapshot_id = _saved(migrated_engine)
    table = _decoded(db, snapshot_id)
    bids = table.column("bid").to_pylist()
    bids[-1] = bids[-1] + 1
    changed = table.set_column(
        OPTION_SCHEMA.get_field_index("bid"),
        OPTION_SCHEMA.field("bid"),
        pa.array(bids, table.schema.field("bid").type),
    )
    data, digest = rows.encode_option_columns(changed)
    _replace_columns(db, snapshot_id, data, digest=digest)

    # Act / Assert
    with pytest.raises(StoreError, match="does not match its stored hash"):
        bench.load_snapshot(snapshot_id)


def test_load_snapshot_with_stream_of_another_layout_reads_the_rows(
    migrated_engine: Engine,
) -> None:
    # Arrange: a stream with one more column (a later layout), digest intact
    db, bench, snapshot_id = _saved(migrated_engine)
    expected = bench.load_snapshot(snapshot_id).snapshot
    table = _decoded(db, snapshot_id)
    wider = table.append_column("delta", pa.array([0.5] * len(table)))
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, wider.schema) as writer:
        writer.write_table(wider)
    data = sink.getvalue().to_pybytes()
    _replace_columns(db, snapshot_id, data, digest=hashlib.sha256(data).hexdigest())

    # Act
    loaded = bench.load_snapshot(snapshot_id).snapshot

    # Assert
    assert loaded.snapshot_hash == expected.snapshot_hash
    assert list(loaded.options) == list(expected.options)


def test_migration_0007_both_ways_keeps_contracts_and_quotes(migrated_engine: Engine) -> None:
    # Arrange
    _, bench, snapshot_id = _saved(migrated_engine)
    expected = bench.load_snapshot(snapshot_id).snapshot

    def counts() -> tuple[int, int]:
        with migrated_engine.connect() as conn:
            return (
                conn.execute(sa.text("SELECT count(*) FROM option_contracts")).scalar_one(),
                conn.execute(sa.text("SELECT count(*) FROM snapshot_option_quotes")).scalar_one(),
            )

    before = counts()

    # Act: down to 0006 (the stream table goes), then up again (the snapshot has no stream)
    downgrade_database(migrated_engine, "0006")
    at_0006 = counts()
    with migrated_engine.connect() as conn:
        tables = set(sa.inspect(conn).get_table_names())
        broken = (
            conn.execute(sa.text("PRAGMA foreign_key_check")).all()
            if migrated_engine.dialect.name == "sqlite"
            else []
        )
    upgrade_database(migrated_engine)
    loaded = bench.load_snapshot(snapshot_id).snapshot

    # Assert
    assert before == at_0006 == counts() == (len(STRIKES), len(STRIKES))
    assert "snapshot_option_columns" not in tables
    assert broken == []
    assert loaded.snapshot_hash == expected.snapshot_hash
    assert list(loaded.options) == list(expected.options)


def test_option_contracts_after_migration_0007_still_refuses_unknown_values(
    migrated_engine: Engine,
) -> None:
    # Arrange
    statement = sa.text(
        "INSERT INTO option_contracts (option_contract_id, underlying_symbol, expiry, strike, "
        '"right", style, settlement, multiplier, currency, contract_key, created_at) VALUES '
        "(:i, 'SPY', '2026-06-19', '100.00000000', :r, :s, :t, 100, 'USD', 'k', "
        "'2026-01-01 00:00:00')"
    )
    good = {"r": "C", "s": "AMERICAN", "t": "PM"}
    bad = [{**good, "r": "X"}, {**good, "s": "BERMUDAN"}, {**good, "t": "XX"}, {**good, "r": "c"}]
    # Act / Assert
    with migrated_engine.begin() as conn:
        conn.execute(statement, {"i": uuid.uuid4().hex, **good})
    for values in bad:
        with pytest.raises(sa.exc.IntegrityError), migrated_engine.begin() as conn:
            conn.execute(statement, {"i": uuid.uuid4().hex, **values})


def test_sqlite_migration_that_would_leave_a_dangling_reference_changes_nothing(
    sqlite_url: str,
) -> None:
    # Arrange: a 0006 database holding a quote whose contract row is missing
    upgrade_database(sqlite_url, "0006")
    engine = sa.create_engine(sqlite_url)  # a plain engine: SQLite's foreign_keys is off
    raw = engine.raw_connection()
    try:
        raw.execute(
            "INSERT INTO market_snapshots (snapshot_id, snapshot_hash, hash_format, symbol, "
            "mode, as_of, created_at, source, overrides_json, diagnostics_json) VALUES "
            f"('{'1' * 32}', '{'a' * 64}', 1, 'SPY', 'LIVE', '2026-01-01 00:00:00', "
            "'2026-01-01 00:00:00', 't', '{}', '{}')"
        )
        raw.execute(
            "INSERT INTO snapshot_option_quotes (id, receive_timestamp, snapshot_id, "
            "option_contract_id, provider_timestamp) VALUES "
            f"('{'2' * 32}', '2026-01-01 00:00:00', '{'1' * 32}', '{'3' * 32}', "
            "'2026-01-01 00:00:00')"
        )
        raw.commit()
    finally:
        raw.close()
        engine.dispose()

    # Act
    with pytest.raises(MigrationError, match=r"1 row\(s\) referencing missing rows"):
        upgrade_database(sqlite_url)

    # Assert
    engine = sa.create_engine(sqlite_url)
    try:
        with engine.connect() as conn:
            revision = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
            tables = set(sa.inspect(conn).get_table_names())
    finally:
        engine.dispose()
    assert revision == "0006"
    assert "snapshot_option_columns" not in tables


def test_new_contracts_stored_first_by_another_writer_are_skipped_and_read_back(
    migrated_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Arrange: the contracts of a first snapshot are stored; the second write believes every
    # contract is new (its lookup ran before the other writer committed)
    db, _, _ = _saved(migrated_engine)
    table = rows.sorted_options(option_table(STRIKES).arrow)
    with db.unit_of_work() as uow:
        expected = rows.contract_id_text(uow.session, table, m.OptionContract.__table__)
    real = rows._stored_contracts
    calls = []

    def stale_then_real(session: object, underlyings: list[str]) -> tuple[pa.Array, pa.Array]:
        calls.append(underlyings)
        if len(calls) == 1:
            empty = pa.array([], pa.string())
            return empty, empty
        return real(session, underlyings)  # type: ignore[arg-type]

    monkeypatch.setattr(rows, "_stored_contracts", stale_then_real)

    # Act
    with db.unit_of_work() as uow:
        ids = rows.contract_id_text(uow.session, table, m.OptionContract.__table__)
        stored = uow.session.scalar(select(sa.func.count()).select_from(m.OptionContract))

    # Assert
    assert len(calls) == 2  # the write skipped every row, so the ids were read back
    assert ids.equals(expected)
    assert stored == len(STRIKES)


def test_save_of_a_loaded_snapshot_finds_it_by_its_known_hash_without_writing(
    migrated_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Arrange: a loaded snapshot carries its hash; saving it again must touch no contract
    db, bench, snapshot_id = _saved(migrated_engine)
    loaded = bench.load_snapshot(snapshot_id).snapshot

    def no_contract_work(*_args: object, **_kwargs: object) -> pa.Array:
        raise AssertionError("contracts resolved for a snapshot already stored")

    monkeypatch.setattr(rows, "contract_id_text", no_contract_work)

    # Act
    with db.unit_of_work() as uow:
        row, created = store_workbench.save_snapshot(uow.session, snapshot=loaded)
        found = str(row.snapshot_id)

    # Assert
    assert (found, created) == (snapshot_id, False)
