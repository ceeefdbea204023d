"""Monthly partitions of the time-series tables on PostgreSQL; no-ops on SQLite."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from riskdesk.store import (
    ConstraintViolationError,
    UnitOfWork,
    ensure_month_partitions,
    insert_rows,
    list_partitions,
    make_session_factory,
    rehome_default_rows,
)
from riskdesk.store.models import GreekSnapshot
from riskdesk.store.partitions import create_month_partition, month_bounds, month_of, partition_name

MONTHS = [
    datetime(2024, 1, 31, 23, 59, 59, tzinfo=UTC),
    datetime(2024, 2, 1, 0, 0, tzinfo=UTC),
    datetime(2024, 7, 15, 12, 0, tzinfo=UTC),
]


def greek(event_time: datetime, **overrides: Any) -> dict[str, Any]:
    row = {
        "event_time": event_time,
        "received_at": event_time,
        "broker": "tastytrade",
        "account_id": "5WT0001",
        "underlying": "SPY",
        "contract_key": "SPY:20240216:480:C",
        "option_type": "call",
        "delta": 0.52,
        "gamma": None,
        "theta": -0.11,
        "vega": None,
        "source_payload": {"raw": "x"},
    }
    row.update(overrides)
    return row


def _homes(conn: Connection) -> list[tuple[datetime, str]]:
    rows = conn.execute(
        sa.text(
            "SELECT event_time, tableoid::regclass::text FROM greek_snapshots ORDER BY event_time"
        )
    )
    return [(t, str(name)) for t, name in rows]


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_greek_snapshots_with_three_months_land_in_their_month_partitions(
    migrated_engine: Engine,
) -> None:
    with migrated_engine.begin() as conn:
        stored = insert_rows(conn, "greek_snapshots", [greek(t) for t in MONTHS])

    with migrated_engine.connect() as conn:
        homes = _homes(conn)
    assert stored == 3
    assert homes == [
        (MONTHS[0], "greek_snapshots_p2024_01"),
        (MONTHS[1], "greek_snapshots_p2024_02"),
        (MONTHS[2], "greek_snapshots_p2024_07"),
    ]


def _insert_strict(engine: Engine, rows: list[dict[str, Any]]) -> None:
    with UnitOfWork(make_session_factory(engine), actor="tester") as uow:
        insert_rows(uow.session, "greek_snapshots", rows, skip_duplicates=False)


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_greek_snapshots_with_duplicate_dedupe_key_are_stored_once_per_account(
    migrated_engine: Engine,
) -> None:
    rows = [
        greek(MONTHS[0]),
        greek(MONTHS[0], received_at=MONTHS[1]),  # the same event received again
        greek(MONTHS[0], account_id="other", received_at=MONTHS[1]),  # another account's copy
    ]
    with migrated_engine.begin() as conn:
        first = insert_rows(conn, "greek_snapshots", rows)
        replay = insert_rows(conn, "greek_snapshots", rows[:1])

    with pytest.raises(ConstraintViolationError) as caught:
        _insert_strict(migrated_engine, rows[:1])

    with migrated_engine.connect() as conn:
        accounts = conn.execute(
            sa.text("SELECT account_id FROM greek_snapshots ORDER BY account_id")
        ).scalars()
        stored = list(accounts)
    assert (first, replay) == (2, 0)
    assert stored == sorted([rows[0]["account_id"], "other"])
    assert caught.value.kind == "unique"


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_greek_snapshot_via_orm_with_new_month_creates_partition(migrated_engine: Engine) -> None:
    when = datetime(2023, 11, 5, 9, 0, tzinfo=UTC)
    with make_session_factory(migrated_engine)() as session:
        session.add(GreekSnapshot(**greek(when)))
        session.commit()

    with migrated_engine.connect() as conn:
        assert _homes(conn) == [(when, "greek_snapshots_p2023_11")]


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_default_partition_rows_with_new_partition_are_moved_into_it(
    migrated_engine: Engine,
) -> None:
    when = datetime(2022, 6, 10, tzinfo=UTC)
    with migrated_engine.begin() as conn:
        conn.execute(
            sa.insert(GreekSnapshot.__table__),
            [greek(when), greek(when, contract_key="SPY:20220617:400:P")],
        )
        before = _homes(conn)
    moved = rehome_default_rows(migrated_engine)

    with migrated_engine.connect() as conn:
        after = _homes(conn)
        created_again = create_month_partition(conn, "greek_snapshots", month_of(when))
    assert {home for _, home in before} == {"greek_snapshots_default"}
    assert moved == {"greek_snapshots_p2022_06": 2}
    assert {home for _, home in after} == {"greek_snapshots_p2022_06"}
    assert created_again is False
    assert "greek_snapshots_p2022_06" in list_partitions(migrated_engine, "greek_snapshots")


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_ensure_month_partitions_with_existing_months_creates_nothing(
    migrated_engine: Engine,
) -> None:
    first = ensure_month_partitions(migrated_engine, "market_ticks", MONTHS)
    second = ensure_month_partitions(migrated_engine, "market_ticks", MONTHS)

    assert first == ["market_ticks_p2024_01", "market_ticks_p2024_02", "market_ticks_p2024_07"]
    assert second == []


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_ensure_month_partitions_with_sqlite_is_a_noop(migrated_engine: Engine) -> None:
    assert ensure_month_partitions(migrated_engine, "greek_snapshots", MONTHS) == []
    assert rehome_default_rows(migrated_engine) == {}


def test_month_bounds_with_december_roll_into_next_year() -> None:
    start, end = month_bounds(month_of(datetime(2024, 12, 31, 23, 0, tzinfo=UTC)))

    assert (start, end) == (datetime(2024, 12, 1, tzinfo=UTC), datetime(2025, 1, 1, tzinfo=UTC))
    assert partition_name("market_ticks", start.date()) == "market_ticks_p2024_12"


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_ensure_month_partitions_with_a_concurrent_creator_tolerates_the_duplicate(
    migrated_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    import riskdesk.store.partitions as partitions

    ensure_month_partitions(migrated_engine, "market_ticks", MONTHS[:1])
    # another writer created the partition between this writer's check and its CREATE
    monkeypatch.setattr(partitions, "_exists", lambda conn, name: False)

    again = ensure_month_partitions(migrated_engine, "market_ticks", MONTHS[:1])

    assert again == []
    monkeypatch.undo()
    assert "market_ticks_p2024_01" in partitions.list_partitions(migrated_engine, "market_ticks")
