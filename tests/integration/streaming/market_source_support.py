"""Checks shared by the broker market-source tests (tastytrade over DXLink, IBKR over TWS)."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from riskdesk.domain.sources import MarketSource
from riskdesk.store.database import Database
from riskdesk.store.db import make_session_factory
from riskdesk.workbench import Workbench
from riskdesk.workbench.snapshots import take_snapshot


def assert_stored_through_the_workbench(
    source: MarketSource, engine: Engine, *, option_count: int
) -> None:
    """Take a snapshot through the use case, store, load and refresh it; check each step.

    The snapshot is taken with a 4.3% rate override, which the stored and the refreshed
    snapshot keep; the refreshed one is newer and comes from the same source.
    """
    bench = Workbench(Database(engine=engine, sessions=make_session_factory(engine)))

    snap = take_snapshot(source, rate=0.043)
    ref = bench.save_snapshot(snap)
    loaded = bench.load_snapshot(str(ref.snapshot_id)).snapshot
    refreshed = bench.refresh_snapshot(str(ref.snapshot_id), source, minutes=5)

    assert ref.snapshot_hash == snap.snapshot_hash
    assert loaded.snapshot_hash == snap.snapshot_hash
    assert len(loaded.options) == option_count
    assert loaded.overrides.rate == 0.043
    assert refreshed.snapshot.source == source.name
    assert refreshed.snapshot.overrides.rate == 0.043
    assert refreshed.snapshot.as_of > snap.as_of
