"""Workbench use cases the CLI delegates to: pin in one unit of work, refresh through a market
source, snapshot list, add-leg with the chain-as-builder entry rule (SQLite and PostgreSQL)."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from riskdesk.adapters.simulated import generate_market, simulate_live
from riskdesk.adapters.simulated.market import SyntheticSource
from riskdesk.domain.market import MarketSnapshot, SnapshotMode
from riskdesk.store import Database, make_session_factory
from riskdesk.store import models as m
from riskdesk.store import workbench as repo
from riskdesk.workbench import Workbench

AS_OF = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def market() -> MarketSnapshot:
    return generate_market(seed=11, as_of=AS_OF, symbols=("SPY",), max_expiry_days=40)


@pytest.fixture
def bench(migrated_engine: Engine) -> Workbench:
    return Workbench(
        Database(engine=migrated_engine, sessions=make_session_factory(migrated_engine))
    )


def test_pin_snapshot_with_live_snapshot_uses_one_unit_of_work(
    bench: Workbench, market: MarketSnapshot, monkeypatch: pytest.MonkeyPatch
) -> None:
    live = bench.save_snapshot(market)
    opened: list[int] = []
    original = Database.unit_of_work_for

    @contextmanager
    def counting(self: Database, caller: Any, **kwargs: Any) -> Iterator[Any]:
        opened.append(1)
        with original(self, caller, **kwargs) as uow:
            yield uow

    monkeypatch.setattr(Database, "unit_of_work_for", counting)
    pinned = bench.pin_snapshot(live.snapshot_hash)
    assert len(opened) == 1
    assert pinned.created
    assert pinned.snapshot.mode is SnapshotMode.PINNED
    assert (
        pinned.snapshot_hash == dataclasses.replace(market, mode=SnapshotMode.PINNED).snapshot_hash
    )
    with bench.db.engine.connect() as conn:
        events = (
            conn.execute(
                select(m.AuditLog.event_type).where(
                    m.AuditLog.resource_id == str(pinned.snapshot_id)
                )
            )
            .scalars()
            .all()
        )
    assert events == ["snapshot.pinned"]


def test_refresh_snapshot_with_synthetic_source_stores_the_path_snapshot(
    bench: Workbench, market: MarketSnapshot
) -> None:
    live = bench.save_snapshot(market)
    refreshed = bench.refresh_snapshot(
        live.snapshot_hash, SyntheticSource(seed=11, max_expiry_days=40), minutes=20
    )
    *_, expected = simulate_live(
        seed=11, start=AS_OF, steps=2, step_minutes=20, symbols=["SPY"], max_expiry_days=40
    )
    assert refreshed.created
    assert refreshed.snapshot_hash == expected.snapshot_hash
    assert bench.load_snapshot(refreshed.snapshot_hash).snapshot.mode is SnapshotMode.LIVE


def test_refresh_snapshot_with_pinned_snapshot_raises(
    bench: Workbench, market: MarketSnapshot
) -> None:
    pinned = bench.pin_snapshot(bench.save_snapshot(market).snapshot_hash)
    with pytest.raises(ValueError, match="a PINNED snapshot never changes"):
        bench.refresh_snapshot(
            pinned.snapshot_hash, SyntheticSource(seed=11, max_expiry_days=40), minutes=5
        )


def test_refresh_snapshot_with_file_snapshot_raises_asking_for_a_newer_file(
    bench: Workbench, market: MarketSnapshot
) -> None:
    imported = bench.save_snapshot(dataclasses.replace(market, source="file:chain.csv"))
    with pytest.raises(
        ValueError, match=re.escape("'file:chain.csv': refresh it by importing a newer file")
    ):
        bench.refresh_snapshot(
            imported.snapshot_hash, SyntheticSource(seed=11, max_expiry_days=40), minutes=5
        )


def test_list_snapshots_with_two_stored_lists_newest_first(
    bench: Workbench, market: MarketSnapshot
) -> None:
    first = bench.save_snapshot(market)
    later = bench.save_snapshot(dataclasses.replace(market, mode=SnapshotMode.PINNED))
    listed = bench.list_snapshots(limit=10)
    assert [s.snapshot_hash for s in listed[:2]] == [later.snapshot_hash, first.snapshot_hash]
    assert listed[0].symbol == "SPY"
    assert bench.list_snapshots(limit=1)[0].snapshot_id == later.snapshot_id


def test_add_leg_with_snapshot_buys_at_ask_and_sells_at_bid(
    bench: Workbench, market: MarketSnapshot
) -> None:
    snap = bench.save_snapshot(market)
    quote = next(q for q in market.options if q.bid is not None and q.ask is not None)
    draft = bench.new_draft("entry rule")
    ref, long_id = bench.add_leg(
        str(draft.draft_id), quote.contract, quantity=Decimal(1), snapshot_ref=snap.snapshot_hash
    )
    ref, short_id = bench.add_leg(
        str(draft.draft_id), quote.contract, quantity=Decimal(-2), snapshot_ref=snap.snapshot_hash
    )
    entries = {item.leg_id: item.leg.entry_price for item in ref.draft.legs}
    assert entries == {long_id: quote.ask, short_id: quote.bid}
    with pytest.raises(ValueError, match="needs an entry"):
        bench.add_leg(str(draft.draft_id), quote.contract, quantity=Decimal(1))


def test_store_workbench_with_dead_helpers_removed_exports_none_of_them() -> None:
    # list_drafts came back as the keyset list the service pages (issue 9)
    for name in ("find_attribution", "get_or_create_option_contract"):
        assert not hasattr(repo, name)
    assert not hasattr(Workbench, "save_version")


def test_toggle_and_remove_leg_with_id_prefix_edit_that_leg(
    bench: Workbench, market: MarketSnapshot
) -> None:
    quote = next(q for q in market.options if q.bid is not None and q.ask is not None)
    draft = str(bench.new_draft("legs by prefix").draft_id)
    _, first = bench.add_leg(draft, quote.contract, quantity=Decimal(1), price=Decimal("1.5"))
    _, second = bench.add_leg(draft, quote.contract, quantity=Decimal(-1), price=Decimal("1.4"))
    toggled = bench.toggle_leg(draft, first[:8].upper())
    assert {d.leg_id: d.leg.include for d in toggled.draft.legs} == {first: False, second: True}
    removed = bench.remove_leg(draft, second[:8])
    assert [d.leg_id for d in removed.draft.legs] == [first]
    with pytest.raises(LookupError, match="matches 0 legs of draft 'legs by prefix'"):
        bench.remove_leg(draft, "zzzz")


def test_evaluate_with_snapshot_cache_uses_only_an_entry_of_the_same_hash(
    bench: Workbench, market: MarketSnapshot
) -> None:
    from riskdesk.domain.configs import ModelConfig, ScenarioGrid
    from riskdesk.workbench.cache import SnapshotCache

    snap = bench.save_snapshot(market)
    quote = next(q for q in market.options if q.bid is not None and q.ask is not None)
    draft = bench.new_draft("cached")
    bench.add_leg(str(draft.draft_id), quote.contract, quantity=Decimal(1), price=Decimal(2))
    version = bench.commit_draft(str(draft.draft_id))
    grid = ScenarioGrid(spot_steps=5, vol_shifts=(0.0,), n_dates=2)
    plain = Workbench(bench.db).evaluate(
        f"version:{version.trade_version_id}", str(snap.snapshot_id), ModelConfig(), grid
    )
    # a stale entry under the same id but another hash must be ignored...
    moved = dataclasses.replace(market, as_of=market.as_of.replace(minute=5))
    cache = SnapshotCache()
    cache.put(snap.snapshot_id, "0" * 64, moved)
    cached = Workbench(bench.db, snapshots=cache).evaluate(
        f"version:{version.trade_version_id}",
        str(snap.snapshot_id),
        ModelConfig(),
        ScenarioGrid(spot_steps=7, vol_shifts=(0.0,), n_dates=2),
    )
    # ...and replaced by the snapshot read from the database
    assert cache.get(snap.snapshot_id) == (snap.snapshot_hash, market)
    # the result is the engine's on the stored market, not on the stale entry
    from riskdesk.analytics import evaluate
    from riskdesk.domain.hashing import canonical_json

    direct = evaluate(
        version.version,
        market,
        ModelConfig(),
        ScenarioGrid(spot_steps=7, vol_shifts=(0.0,), n_dates=2),
    )
    assert cached.output_bytes == canonical_json(direct.to_json_dict()).encode("utf-8")
    assert not plain.cache_hit
    assert not cached.cache_hit


def test_load_trade_with_version_prefix_form_finds_only_versions(bench: Workbench) -> None:
    draft = bench.new_draft("only a draft")

    with pytest.raises(repo.NotFoundError):
        bench.load_trade(f"version:{draft.draft_id}")
