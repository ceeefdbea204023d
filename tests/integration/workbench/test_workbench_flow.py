"""End-to-end workbench flow on SQLite and PostgreSQL: snapshot -> drafts -> versions ->
evaluate (cached, byte-identical) -> compare -> attribute, with audit rows and immutability."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.engine import Engine

from riskdesk.adapters.simulated import generate_market, simulate_live
from riskdesk.domain.configs import ModelConfig, ScenarioGrid
from riskdesk.domain.hashing import canonical_json
from riskdesk.domain.instruments import ExerciseStyle, OptionRight
from riskdesk.domain.market import SnapshotMode
from riskdesk.store import Database, ImmutableRowError, StoreError
from riskdesk.store import models as m
from riskdesk.store.workbench import output_digest
from riskdesk.workbench import Workbench
from riskdesk.workbench.strategies import ChainPicker, iron_condor, straddle, vertical_spread

AS_OF = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
SYMBOLS = ("SPY", "QQQ")


@pytest.fixture(scope="module")
def market():
    return generate_market(seed=11, as_of=AS_OF, symbols=SYMBOLS, max_expiry_days=120)


@pytest.fixture
def bench(migrated_engine: Engine) -> Workbench:
    return Workbench(Database(engine=migrated_engine, sessions=_sessions(migrated_engine)))


def _sessions(engine: Engine):
    from riskdesk.store import make_session_factory

    return make_session_factory(engine)


def _commit(bench: Workbench, draft) -> str:
    stored = bench.save_draft(draft)
    return bench.commit_draft(str(stored.draft_id)).trade_hash


def test_snapshot_with_round_trip_through_store_keeps_its_hash(bench: Workbench, market) -> None:
    ref = bench.save_snapshot(market)
    loaded = bench.load_snapshot(ref.snapshot_hash[:10])
    assert ref.created
    assert loaded.snapshot.snapshot_hash == market.snapshot_hash == ref.snapshot_hash
    assert loaded.snapshot.hash_payload() == market.hash_payload()
    assert dict(loaded.snapshot.diagnostics) == json.loads(canonical_json(market.diagnostics))
    again = bench.save_snapshot(market)
    assert not again.created
    assert again.snapshot_id == ref.snapshot_id


def test_pin_with_live_snapshot_stores_pinned_copy_with_new_hash(bench: Workbench, market) -> None:
    live = bench.save_snapshot(market)
    pinned = bench.pin_snapshot(live.snapshot_hash)
    assert pinned.snapshot.mode is SnapshotMode.PINNED
    assert pinned.snapshot_hash != live.snapshot_hash
    assert bench.pin_snapshot(pinned.snapshot_hash).snapshot_id == pinned.snapshot_id


def test_draft_edits_with_each_operation_bump_rev_and_audit(bench: Workbench, market) -> None:
    snap = bench.save_snapshot(market).snapshot
    condor = iron_condor(ChainPicker(snap, "SPY"), days=35)
    stored = bench.new_draft("condor")
    revs = [stored.rev]
    leg_ids = []
    for item in condor.legs:
        leg = item.leg
        ref, leg_id = bench.edit_draft(
            str(stored.draft_id),
            lambda d, leg=leg: d.add_leg(
                leg.instrument, quantity=leg.quantity, entry_price=leg.entry_price
            ),
            event="trade_draft.leg_added",
        )
        revs.append(ref.rev)
        leg_ids.append(leg_id)
    ref, included = bench.edit_draft(
        str(stored.draft_id), lambda d: d.toggle_leg(leg_ids[0]), event="trade_draft.leg_toggled"
    )
    revs.append(ref.rev)
    assert included is False
    assert revs == sorted(set(revs))
    assert len(revs) == 6
    loaded = bench.load_draft(str(stored.draft_id)[:8])
    assert [d.leg_id for d in loaded.draft.legs] == leg_ids
    assert loaded.draft.leg(leg_ids[0]).include is False
    with bench.db.engine.connect() as conn:
        events = (
            conn.execute(
                select(m.AuditLog.event_type).where(m.AuditLog.resource_id == str(stored.draft_id))
            )
            .scalars()
            .all()
        )
    assert sorted(events) == sorted(
        ["trade_draft.created"] + ["trade_draft.leg_added"] * 4 + ["trade_draft.leg_toggled"]
    )


def test_commit_with_legs_in_any_order_gives_same_version(bench: Workbench, market) -> None:
    snap = bench.save_snapshot(market).snapshot
    condor = iron_condor(ChainPicker(snap, "SPY"), days=35, name="same")
    reversed_draft = type(condor)("same")
    for item in reversed(condor.legs):
        reversed_draft.add_leg(
            item.leg.instrument, quantity=item.leg.quantity, entry_price=item.leg.entry_price
        )
    first = _commit(bench, condor)
    second = _commit(bench, reversed_draft)
    assert first == second
    with bench.db.engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(m.TradeVersion)) == 1


def test_evaluate_with_identical_inputs_is_cache_hit_with_identical_bytes(
    bench: Workbench, market
) -> None:
    snap_ref = bench.save_snapshot(market)
    trade_hash = _commit(bench, iron_condor(ChainPicker(snap_ref.snapshot, "SPY"), days=35))
    first = bench.evaluate(trade_hash, snap_ref.snapshot_hash, ModelConfig(), ScenarioGrid())
    second = bench.evaluate(
        trade_hash[:12], snap_ref.snapshot_hash[:12], ModelConfig(), ScenarioGrid()
    )
    assert not first.cache_hit
    assert second.cache_hit
    assert first.output_bytes == second.output_bytes
    assert first.result_id == second.result_id
    data = first.data
    assert data["inputs"]["snapshot_hash"] == snap_ref.snapshot_hash
    assert not data["errors"]
    # a fresh computation (cache bypassed) gives the same bytes: evaluation is deterministic
    from riskdesk.analytics import evaluate

    version = bench.load_trade(trade_hash).trade
    fresh = evaluate(version, snap_ref.snapshot, ModelConfig(), ScenarioGrid()).to_json_dict()
    assert canonical_json(fresh).encode() == first.output_bytes
    other_grid = bench.evaluate(
        trade_hash, snap_ref.snapshot_hash, ModelConfig(), ScenarioGrid(spot_steps=21)
    )
    assert not other_grid.cache_hit
    assert other_grid.result_id != first.result_id
    with bench.db.engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(m.AnalyticsResult)) == 2


def test_evaluate_with_draft_reference_caches_per_draft_content(bench: Workbench, market) -> None:
    snap_ref = bench.save_snapshot(market)
    spread = vertical_spread(ChainPicker(snap_ref.snapshot, "QQQ"), right=OptionRight.PUT)
    stored = bench.new_draft(spread.name)
    for item in spread.legs:
        leg = item.leg
        bench.edit_draft(
            str(stored.draft_id),
            lambda d, leg=leg: d.add_leg(
                leg.instrument, quantity=leg.quantity, entry_price=leg.entry_price
            ),
            event="trade_draft.leg_added",
        )
    ref = f"draft:{stored.draft_id}"
    first = bench.evaluate(ref, "latest", ModelConfig(), ScenarioGrid())
    leg_id = bench.load_draft(str(stored.draft_id)).draft.legs[0].leg_id
    bench.edit_draft(
        str(stored.draft_id), lambda d: d.toggle_leg(leg_id), event="trade_draft.leg_toggled"
    )
    second = bench.evaluate(ref, "latest", ModelConfig(), ScenarioGrid())
    assert not second.cache_hit
    assert first.data["measures"]["value"] != second.data["measures"]["value"]


def test_compare_with_two_trades_gives_a_minus_b(bench: Workbench, market) -> None:
    snap_ref = bench.save_snapshot(market)
    picker = ChainPicker(snap_ref.snapshot, "SPY")
    a = _commit(bench, iron_condor(picker, days=35))
    b = _commit(bench, straddle(picker, days=0))
    data = bench.compare(a, b, snap_ref.snapshot_hash, ModelConfig(), ScenarioGrid())
    va, vb = data["a"]["measures"]["value"], data["b"]["measures"]["value"]
    assert data["diff"]["value"] == pytest.approx(va - vb, abs=1e-9)
    grid_a = data["a"]["curves"]["spot_time_pl"]
    grid_b = data["b"]["curves"]["spot_time_pl"]
    assert data["diff"]["spot_time_pl"][0][0] == pytest.approx(grid_a[0][0] - grid_b[0][0])
    assert data["comparable"] is True


def test_attribute_with_simulated_move_stores_result_summing_to_total(
    bench: Workbench, market
) -> None:
    base = bench.save_snapshot(market)
    *_, later = simulate_live(
        seed=11, start=AS_OF, steps=2, step_minutes=120, symbols=SYMBOLS, max_expiry_days=120
    )
    moved = bench.save_snapshot(later)
    trade_hash = _commit(bench, iron_condor(ChainPicker(base.snapshot, "SPY"), days=35))
    attribution_id, data = bench.attribute(
        trade_hash, base.snapshot_hash, ModelConfig(), compare_ref=moved.snapshot_hash
    )
    seq = data["trade"]["sequential"]
    steps = [v for k, v in seq.items() if k != "total"]
    assert sum(steps) == pytest.approx(data["trade"]["total"], rel=1e-12, abs=1e-9)
    taylor = data["trade"]["taylor"]
    assert sum(v for k, v in taylor.items() if k != "total") == pytest.approx(
        data["trade"]["total"], rel=1e-9, abs=1e-6
    )
    with bench.db.engine.connect() as conn:
        row = conn.execute(
            select(m.PnlAttributionResult).where(
                m.PnlAttributionResult.attribution_id == attribution_id
            )
        ).one()
    assert json.loads(canonical_json(row.outputs_json)) == json.loads(canonical_json(data))
    _, by_days = bench.attribute(trade_hash, base.snapshot_hash, ModelConfig(), days=1.0)
    assert by_days["trade"]["sequential"]["time"] != 0.0


def test_stored_snapshot_with_update_attempt_is_refused(bench: Workbench, market) -> None:
    ref = bench.save_snapshot(market)
    with pytest.raises(ImmutableRowError), bench.db.unit_of_work() as uow:
        uow.session.execute(
            update(m.MarketSnapshot)
            .where(m.MarketSnapshot.snapshot_id == ref.snapshot_id)
            .values(source="tampered")
        )
    with bench.db.engine.begin() as conn, pytest.raises(Exception, match="immutable"):
        conn.execute(text("UPDATE market_snapshots SET source = 'x'"))


def test_evaluate_with_unknown_references_raises_clear_error(bench: Workbench, market) -> None:
    bench.save_snapshot(market)
    with pytest.raises(StoreError, match="no trade version or draft matches"):
        bench.evaluate("deadbeef", "latest", ModelConfig(), ScenarioGrid())


def test_failed_use_case_with_error_leaves_nothing_behind(bench: Workbench, market) -> None:
    snap = bench.save_snapshot(market).snapshot
    condor = iron_condor(ChainPicker(snap, "SPY"), days=35)
    stored = bench.new_draft("x")

    def boom(draft):
        leg = condor.legs[0].leg
        draft.add_leg(leg.instrument, quantity=leg.quantity, entry_price=leg.entry_price)
        raise ValueError("user aborted")

    with pytest.raises(ValueError, match="user aborted"):
        bench.edit_draft(str(stored.draft_id), boom, event="trade_draft.leg_added")
    loaded = bench.load_draft(str(stored.draft_id))
    assert loaded.draft.legs == ()
    assert loaded.rev == stored.rev
    with bench.db.engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(m.TradeDraftLeg)) == 0


def test_decimal_entry_prices_with_round_trip_are_exact(bench: Workbench, market) -> None:
    snap = bench.save_snapshot(market).snapshot
    stored = bench.new_draft("exact")
    contract = snap.options[0].contract
    bench.edit_draft(
        str(stored.draft_id),
        lambda d: d.add_leg(
            contract,
            quantity=Decimal("-3"),
            entry_price=Decimal("1.23456789"),
            fees=Decimal("0.65"),
        ),
        event="trade_draft.leg_added",
    )
    leg = bench.load_draft(str(stored.draft_id)).draft.legs[0].leg
    assert leg.entry_price == Decimal("1.23456789")
    assert leg.fees == Decimal("0.65")


@pytest.mark.postgres
def test_evaluation_with_same_inputs_on_both_backends_gives_identical_bytes(
    sqlite_url: str, postgres_url: str, market
) -> None:
    from riskdesk.store import upgrade_database

    outputs = []
    for url in (sqlite_url, postgres_url):
        db = Database.from_url(url)
        try:
            upgrade_database(db.engine)
            bench = Workbench(db)
            snap = bench.save_snapshot(market)
            trade_hash = _commit(bench, iron_condor(ChainPicker(snap.snapshot, "SPY"), days=35))
            outputs.append(
                (
                    snap.snapshot_hash,
                    trade_hash,
                    bench.evaluate(
                        trade_hash, snap.snapshot_hash, ModelConfig(), ScenarioGrid()
                    ).output_bytes,
                )
            )
        finally:
            db.dispose()
    assert outputs[0] == outputs[1]


def test_cached_evaluation_with_older_schema_is_recomputed(bench: Workbench, market) -> None:
    snap_ref = bench.save_snapshot(market)
    trade_hash = _commit(bench, iron_condor(ChainPicker(snap_ref.snapshot, "SPY"), days=35))
    first = bench.evaluate(trade_hash, snap_ref.snapshot_hash, ModelConfig(), ScenarioGrid())
    old = canonical_json(json.loads(first.output_bytes) | {"schema": 0}).encode()
    table = m.AnalyticsResult.__table__
    with bench.db.engine.begin() as conn:  # stored rows are immutable: replace the row whole
        row = conn.execute(select(table).where(table.c.result_id == first.result_id)).one()
        conn.execute(table.delete().where(table.c.result_id == first.result_id))
        conn.execute(
            table.insert().values(
                dict(row._mapping) | {"outputs_blob": old, "output_sha256": output_digest(old)}
            )
        )
    again = bench.evaluate(trade_hash, snap_ref.snapshot_hash, ModelConfig(), ScenarioGrid())
    assert not again.cache_hit
    assert again.output_bytes == first.output_bytes
    with bench.db.engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(m.AnalyticsResult)) == 1
        events = conn.execute(select(m.AuditLog.event_type)).scalars().all()
    assert "analytics.recomputed" in events


def test_references_with_hyphenated_prefix_or_wildcards_resolve_safely(
    bench: Workbench, market
) -> None:
    ref = bench.save_snapshot(market)
    full = str(ref.snapshot_id)
    assert bench.load_snapshot(full[:13]).snapshot_id == ref.snapshot_id  # "xxxxxxxx-xxxx"
    assert bench.load_snapshot(full.upper()).snapshot_id == ref.snapshot_id
    for bad in ("%", "_", "' or 1=1 --", "zz"):
        with pytest.raises(StoreError, match="not an id or hash prefix"):
            bench.load_snapshot(bad)


def test_commit_with_new_version_returns_its_id_and_audits_it(bench: Workbench, market) -> None:
    snap = bench.save_snapshot(market).snapshot
    stored = bench.save_draft(iron_condor(ChainPicker(snap, "SPY"), days=35))
    ref = bench.commit_draft(str(stored.draft_id))
    assert ref.trade_version_id is not None
    with bench.db.engine.connect() as conn:
        audited = conn.execute(
            select(m.AuditLog.resource_id).where(m.AuditLog.event_type == "trade_version.committed")
        ).scalar_one()
    assert audited == str(ref.trade_version_id)


def test_short_reference_matching_a_version_and_a_draft_is_refused(
    bench: Workbench, market
) -> None:
    import uuid

    from riskdesk.store.workbench import AmbiguousReferenceError

    snap = bench.save_snapshot(market).snapshot
    stored = bench.save_draft(iron_condor(ChainPicker(snap, "SPY"), days=35))
    version = bench.commit_draft(str(stored.draft_id))
    # a draft whose id starts with the version's hash: "abcd1234" could mean either
    twin = uuid.UUID(version.trade_hash[:32])
    with bench.db.unit_of_work() as uow:
        uow.add(m.TradeDraft(trade_draft_id=twin, name="twin"))
    with pytest.raises(AmbiguousReferenceError, match="draft:<id>"):
        bench.load_trade(version.trade_hash[:10])
    assert bench.load_trade(version.trade_hash).ref_type == "VERSION"
    assert bench.load_trade(f"draft:{str(twin)[:10]}").ref_type == "DRAFT"
    assert bench.load_trade(str(stored.draft_id)).ref_type == "DRAFT"


def test_same_listing_with_other_style_is_stored_as_its_own_contract(
    bench: Workbench, market
) -> None:
    european = dataclasses.replace(
        market,
        options=tuple(
            dataclasses.replace(
                q, contract=dataclasses.replace(q.contract, style=ExerciseStyle.EUROPEAN)
            )
            for q in market.options
        ),
    )
    first = bench.save_snapshot(market)
    second = bench.save_snapshot(european)
    assert bench.load_snapshot(first.snapshot_hash).snapshot.snapshot_hash == first.snapshot_hash
    assert bench.load_snapshot(second.snapshot_hash).snapshot.snapshot_hash == second.snapshot_hash


def test_evaluate_with_empty_draft_is_refused_with_clear_error(bench: Workbench, market) -> None:
    bench.save_snapshot(market)
    stored = bench.new_draft("empty")
    with pytest.raises(ValueError, match="has no legs"):
        bench.evaluate(f"draft:{stored.draft_id}", "latest", ModelConfig(), ScenarioGrid())
