"""StreamManager: one in-process ingest of simulated sources, its status, latest view and stop."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from riskdesk.store.database import Database
from riskdesk.store.db import make_session_factory
from riskdesk.store.models import GreekSnapshot
from riskdesk.streaming.journal import Journal
from riskdesk.streaming.manager import (
    LATEST_ITEM_KEYS,
    StreamManager,
    StreamStartError,
    StreamStateError,
)
from riskdesk.streaming.sources import SourceSpec

SIM = SourceSpec(broker="simulated", account="SIM-MGR-1", seed=3, rate=200.0)


def wait_until(predicate: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("condition not reached in time")


def received(manager: StreamManager) -> int:
    status = manager.status()["status"]
    return 0 if status is None else int(status["totals"]["received"])


def stored_rows(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(GreekSnapshot)).scalar_one())


@pytest.fixture
def manager(migrated_engine: Engine, tmp_path: Path) -> Iterator[StreamManager]:
    db = Database(engine=migrated_engine, sessions=make_session_factory(migrated_engine))
    out = StreamManager(db, journal_dir=tmp_path / "journal", status_interval=0.2)
    try:
        yield out
    finally:
        out.close()


def test_stream_manager_with_simulated_source_streams_stops_drained_and_stores_every_row(
    manager: StreamManager, migrated_engine: Engine
) -> None:
    started = manager.start([SIM])
    wait_until(lambda: received(manager) >= 50)
    first = received(manager)
    wait_until(lambda: received(manager) > first)
    live = manager.latest(limit=1000)
    stopped = manager.stop()

    assert started["running"] is True
    assert started["status"]["state"] == "running"
    assert [s["account_id"] for s in started["status"]["sessions"]] == ["SIM-MGR-1"]
    assert live["source"] == "live"
    assert live["items"]
    assert set(live["items"][0]) == set(LATEST_ITEM_KEYS)
    assert stopped["drained"] is True
    assert stopped["journal_depth"] == 0
    totals = stopped["totals"]
    assert totals["received"] >= first
    assert totals["persisted"] + totals["deduped"] == totals["journaled"]
    assert stored_rows(migrated_engine) == totals["persisted"]
    idle = manager.status()
    assert idle["running"] is False
    assert idle["status"]["state"] == "stopped"
    assert [s["account_id"] for s in idle["latest_sessions"]] == ["SIM-MGR-1"]
    stored = manager.latest(limit=1000)
    assert stored["source"] == "stored"
    assert {i["contract_key"] for i in stored["items"]} == {
        i["contract_key"] for i in live["items"]
    }
    assert set(stored["items"][0]) == set(LATEST_ITEM_KEYS)


def test_stream_manager_with_a_running_stream_refuses_a_second_start(
    manager: StreamManager,
) -> None:
    manager.start([SIM])

    with pytest.raises(StreamStateError, match="already running"):
        manager.start([SourceSpec(broker="simulated", account="SIM-MGR-2")])

    assert manager.running


def test_stream_manager_with_no_stream_refuses_stop(manager: StreamManager) -> None:
    with pytest.raises(StreamStateError, match="no stream is running"):
        manager.stop()


def test_stream_manager_with_a_stopped_stream_starts_again(
    manager: StreamManager, migrated_engine: Engine
) -> None:
    manager.start([SIM])
    wait_until(lambda: received(manager) >= 20)
    first = manager.stop()
    manager.start([SourceSpec(broker="simulated", account="SIM-MGR-2", seed=4, rate=200.0)])
    wait_until(lambda: received(manager) >= 20)
    second = manager.stop()

    assert first["drained"]
    assert second["drained"]
    assert second["status"]["sessions"][0]["account_id"] == "SIM-MGR-2"
    assert stored_rows(migrated_engine) == (
        first["totals"]["persisted"] + second["totals"]["persisted"]
    )
    assert {s["account_id"] for s in manager.status()["latest_sessions"]} == {
        "SIM-MGR-1",
        "SIM-MGR-2",
    }


def test_stream_manager_with_journal_held_elsewhere_refuses_start(
    manager: StreamManager,
) -> None:
    holder = Journal(manager.journal_dir)
    try:
        with pytest.raises(StreamStartError, match="in use by another process"):
            manager.start([SIM])
    finally:
        holder.close()

    assert not manager.running
    assert manager.status()["status"] is None


def test_stream_manager_with_no_spec_or_twin_specs_refuses_start(
    manager: StreamManager,
) -> None:
    with pytest.raises(ValueError, match="at least one source"):
        manager.start([])
    with pytest.raises(ValueError, match="different broker/account"):
        manager.start([SIM, SIM])

    assert not manager.running


def test_stream_manager_with_a_spec_its_factory_refuses_names_the_spec(
    migrated_engine: Engine, tmp_path: Path
) -> None:
    db = Database(engine=migrated_engine, sessions=make_session_factory(migrated_engine))

    def refuse(spec: SourceSpec, *, secrets: object = None) -> object:
        raise ValueError(f"url: {spec.broker} needs a url")

    manager = StreamManager(db, journal_dir=tmp_path / "j", source_factory=refuse)  # type: ignore[arg-type]

    with pytest.raises(ValueError, match=r"sources\[0\]: url: simulated needs a url"):
        manager.start([SIM])
    assert not manager.running


def test_stream_manager_close_with_a_running_stream_stops_and_drains(
    manager: StreamManager,
) -> None:
    manager.start([SIM])
    wait_until(lambda: received(manager) >= 20)

    closed = manager.close()

    assert closed is not None
    assert closed["drained"] is True
    assert not manager.running
    assert manager.close() is None
