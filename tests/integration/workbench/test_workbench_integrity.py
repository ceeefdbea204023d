"""Workbench integrity on SQLite and PostgreSQL: honest caches, immutable results, exact
decimals, safe references, clear length errors and the user's leg order."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.engine import Engine

from riskdesk.adapters.simulated import generate_market
from riskdesk.analytics import evaluate
from riskdesk.domain.configs import ModelConfig, ScenarioGrid
from riskdesk.domain.hashing import canonical_json
from riskdesk.domain.instruments import Stock
from riskdesk.domain.trades import TradeDraft
from riskdesk.store import Database, ImmutableRowError, StoreError, make_session_factory
from riskdesk.store import models as m
from riskdesk.store.errors import ValueTooLongError
from riskdesk.store.workbench import output_digest
from riskdesk.workbench import Workbench
from riskdesk.workbench.strategies import ChainPicker, iron_condor

AS_OF = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def market():
    return generate_market(seed=5, as_of=AS_OF, symbols=("SPY",), max_expiry_days=60)


@pytest.fixture
def bench(migrated_engine: Engine) -> Workbench:
    return Workbench(
        Database(engine=migrated_engine, sessions=make_session_factory(migrated_engine))
    )


def _condor_draft(bench: Workbench, market) -> str:
    snap = bench.save_snapshot(market).snapshot
    stored = bench.save_draft(iron_condor(ChainPicker(snap, "SPY"), days=35))
    return str(stored.draft_id)


def _fresh_bytes(bench: Workbench, draft_id: str, market) -> bytes:
    """What a computation from scratch gives for the draft as stored now (engine called directly)."""
    draft = bench.load_draft(draft_id).draft
    data = evaluate(draft, market, ModelConfig(), ScenarioGrid()).to_json_dict()
    return canonical_json(data).encode()


def test_cached_draft_evaluation_after_toggle_off_and_on_matches_a_fresh_computation(
    bench: Workbench, market
) -> None:
    draft_id = _condor_draft(bench, market)
    snap = market.snapshot_hash
    first = bench.evaluate(f"draft:{draft_id}", snap, ModelConfig(), ScenarioGrid())
    leg_id = bench.load_draft(draft_id).draft.legs[0].leg_id
    bench.edit_draft(draft_id, lambda d: d.toggle_leg(leg_id), event="trade_draft.leg_toggled")
    bench.edit_draft(draft_id, lambda d: d.toggle_leg(leg_id), event="trade_draft.leg_toggled")

    again = bench.evaluate(f"draft:{draft_id}", snap, ModelConfig(), ScenarioGrid())

    assert again.output_bytes == _fresh_bytes(bench, draft_id, market)
    assert again.output_bytes != first.output_bytes  # the rev it reports moved on
    assert (
        json.loads(again.output_bytes)["inputs"]["trade"]["rev"] == bench.load_draft(draft_id).rev
    )
    repeat = bench.evaluate(f"draft:{draft_id}", snap, ModelConfig(), ScenarioGrid())
    assert repeat.cache_hit
    assert repeat.output_bytes == again.output_bytes


def test_cached_draft_evaluation_after_remove_and_readd_reports_only_existing_leg_ids(
    bench: Workbench, market
) -> None:
    draft_id = _condor_draft(bench, market)
    snap = market.snapshot_hash
    bench.evaluate(f"draft:{draft_id}", snap, ModelConfig(), ScenarioGrid())
    item = bench.load_draft(draft_id).draft.legs[0]

    def readd(draft: TradeDraft) -> None:
        leg = draft.remove_leg(item.leg_id)
        draft.add_leg(leg.instrument, quantity=leg.quantity, entry_price=leg.entry_price)

    bench.edit_draft(draft_id, readd, event="trade_draft.leg_readded")
    again = bench.evaluate(f"draft:{draft_id}", snap, ModelConfig(), ScenarioGrid())

    current_ids = {i.leg_id for i in bench.load_draft(draft_id).draft.legs}
    reported = {leg["leg"] for leg in json.loads(again.output_bytes)["legs"]}
    assert item.leg_id not in current_ids
    assert reported == current_ids
    assert again.output_bytes == _fresh_bytes(bench, draft_id, market)


def test_analytics_result_with_update_is_refused_by_orm_and_database(
    bench: Workbench, market
) -> None:
    draft_id = _condor_draft(bench, market)
    out = bench.evaluate(f"draft:{draft_id}", market.snapshot_hash, ModelConfig(), ScenarioGrid())

    def tamper() -> None:
        with bench.db.unit_of_work() as uow:
            row = uow.session.get(m.AnalyticsResult, out.result_id)
            assert row is not None
            row.outputs_blob = b"{}"

    with pytest.raises(ImmutableRowError):
        tamper()
    with pytest.raises(Exception, match="riskdesk-immutable"), bench.db.engine.begin() as conn:
        conn.execute(
            text("UPDATE analytics_results SET outputs_blob = :b WHERE result_id = :i"),
            {
                "b": b"{}",
                "i": out.result_id if conn.dialect.name == "postgresql" else out.result_id.hex,
            },
        )


def test_cached_result_with_bytes_not_matching_digest_is_recomputed_and_audited(
    bench: Workbench, market
) -> None:
    draft_id = _condor_draft(bench, market)
    ref = f"draft:{draft_id}"
    first = bench.evaluate(ref, market.snapshot_hash, ModelConfig(), ScenarioGrid())
    table = m.AnalyticsResult.__table__
    forged = first.output_bytes.replace(b'"measures"', b'"measures" ', 1)
    with bench.db.engine.begin() as conn:
        row = conn.execute(select(table).where(table.c.result_id == first.result_id)).one()
        conn.execute(table.delete().where(table.c.result_id == first.result_id))
        conn.execute(table.insert().values(dict(row._mapping) | {"outputs_blob": forged}))

    again = bench.evaluate(ref, market.snapshot_hash, ModelConfig(), ScenarioGrid())

    assert not again.cache_hit
    assert again.output_bytes == first.output_bytes
    with bench.db.engine.connect() as conn:
        stored = conn.execute(select(table.c.outputs_blob, table.c.output_sha256)).one()
        reasons = [
            (p or {}).get("reason")
            for p in conn.execute(
                select(m.AuditLog.event_payload_json).where(
                    m.AuditLog.event_type == "analytics.recomputed"
                )
            ).scalars()
        ]
    assert output_digest(bytes(stored.outputs_blob)) == stored.output_sha256
    assert reasons == ["stored bytes did not match their SHA-256 digest"]


@pytest.mark.parametrize(
    ("field", "value", "rule"),
    [
        ("quantity", "1.000000001", "9 decimal places"),
        ("entry_price", "4.123456789", "9 decimal places"),
        ("entry_price", "1e20", "too large"),
        ("quantity", "1e30", "too large"),
        ("quantity", "0.5", "whole number of contracts"),
    ],
)
def test_leg_with_value_storage_would_round_is_refused_naming_the_field(
    bench: Workbench, market, field: str, value: str, rule: str
) -> None:
    draft_id = _condor_draft(bench, market)
    item = bench.load_draft(draft_id).draft.legs[0]
    values = {"quantity": item.leg.quantity, "entry_price": item.leg.entry_price} | {
        field: Decimal(value)
    }
    with pytest.raises(ValueError, match=rf"{field}.*{rule}"):
        bench.edit_draft(
            draft_id,
            lambda d: d.add_leg(item.leg.instrument, **values),
            event="trade_draft.leg_added",
        )
    assert len(bench.load_draft(draft_id).draft.legs) == 4


def test_leg_with_eight_decimal_places_round_trips_exactly(bench: Workbench) -> None:
    stored = bench.new_draft("stock")
    price = Decimal("123.12345678")
    bench.edit_draft(
        str(stored.draft_id),
        lambda d: d.add_leg(Stock("SPY"), quantity=Decimal("0.12345678"), entry_price=price),
        event="trade_draft.leg_added",
    )
    leg = bench.load_draft(str(stored.draft_id)).draft.legs[0].leg
    assert (leg.quantity, leg.entry_price) == (Decimal("0.12345678"), price)


def test_reference_of_only_hyphens_or_too_short_is_refused(bench: Workbench, market) -> None:
    bench.save_snapshot(market)
    for bad in ("-", "--", "---", "a", "ab-c"):
        with pytest.raises(StoreError, match="too short"):
            bench.load_snapshot(bad)


def test_latest_snapshot_is_the_newest_market_time_not_the_newest_stored(
    bench: Workbench, market
) -> None:
    later = generate_market(
        seed=5, as_of=AS_OF + timedelta(hours=1), symbols=("SPY",), max_expiry_days=60
    )
    newer_market = bench.save_snapshot(later)
    bench.save_snapshot(market)  # stored last, but an hour older in market time

    assert bench.load_snapshot("latest").snapshot_id == newer_market.snapshot_id


@pytest.mark.parametrize("length", [256, 1000])
def test_names_longer_than_their_column_give_the_same_clear_error_on_both_backends(
    bench: Workbench, market, length: int
) -> None:
    with pytest.raises(
        ValueTooLongError, match=r"trade_drafts\.name is \d+ characters long; at most 255"
    ):
        bench.new_draft("x" * length)
    import dataclasses

    with pytest.raises(ValueTooLongError, match=r"market_snapshots\.source"):
        bench.save_snapshot(dataclasses.replace(market, source="file:" + "c" * length))
    with bench.db.engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(m.TradeDraft)) == 0
        assert conn.scalar(select(func.count()).select_from(m.MarketSnapshot)) == 0


def test_snapshot_source_of_a_long_file_name_is_stored(bench: Workbench, market) -> None:
    import dataclasses

    source = "file:" + "spy_chain_2026-11-20_end_of_day_export_from_the_broker_v2" * 3 + ".csv"
    ref = bench.save_snapshot(dataclasses.replace(market, source=source))
    assert bench.load_snapshot(ref.snapshot_hash).snapshot.source == source


def test_draft_and_version_legs_keep_the_order_they_were_entered(bench: Workbench, market) -> None:
    snap = bench.save_snapshot(market).snapshot
    condor = iron_condor(ChainPicker(snap, "SPY"), days=35)
    entered = [item.leg for item in reversed(condor.legs)]
    stored = bench.new_draft("ordered")
    for leg in entered:
        bench.edit_draft(
            str(stored.draft_id),
            lambda d, leg=leg: d.add_leg(
                leg.instrument, quantity=leg.quantity, entry_price=leg.entry_price
            ),
            event="trade_draft.leg_added",
        )
    # several legs written in one unit of work keep their order too
    at_once = bench.save_draft(TradeDraft("at once", legs=condor.legs))

    loaded = [i.leg for i in bench.load_draft(str(stored.draft_id)).draft.legs]
    version = bench.commit_draft(str(stored.draft_id)).version
    out = bench.evaluate(version.trade_hash, snap.snapshot_hash, ModelConfig(), ScenarioGrid())

    assert loaded == entered
    assert list(version.legs) == entered
    assert [leg["label"] for leg in out.data["legs"]] == [leg.label for leg in entered]
    assert [i.leg_id for i in bench.load_draft(str(at_once.draft_id)).draft.legs] == [
        i.leg_id for i in condor.legs
    ]


def test_draft_save_over_a_stale_revision_is_refused_and_keeps_every_leg(
    bench: Workbench, market
) -> None:
    from riskdesk.store import workbench as repo
    from riskdesk.store.errors import WriteConflictError

    draft_id = _condor_draft(bench, market)
    with bench.db.unit_of_work() as uow:
        stale = repo.load_draft(uow.session, ref=draft_id)
    extra = stale.draft.legs[0].leg
    bench.edit_draft(
        draft_id,
        lambda d: d.add_leg(
            extra.instrument, quantity=extra.quantity, entry_price=extra.entry_price
        ),
        event="trade_draft.leg_added",
    )
    stale.draft.remove_leg(stale.draft.legs[1].leg_id)
    with (
        pytest.raises(WriteConflictError, match="changed since it was loaded"),
        bench.db.unit_of_work() as uow,
    ):
        repo.save_draft(
            uow.session,
            draft=stale.draft,
            draft_id=stale.draft_id,
            expected_rev=stale.draft.rev - 1,
        )
    assert len(bench.load_draft(draft_id).draft.legs) == 5


def test_trade_draft_rev_update_outside_riskdesk_still_must_increase(
    bench: Workbench, market
) -> None:
    _condor_draft(bench, market)
    with pytest.raises(Exception, match="riskdesk-monotonic"), bench.db.engine.begin() as conn:
        conn.execute(update(m.TradeDraft.__table__).values(rev=1))


def test_hashed_rows_record_their_hash_format_and_rows_of_another_format_are_refused(
    bench: Workbench, market, monkeypatch: pytest.MonkeyPatch
) -> None:
    from riskdesk.domain.hashing import CANONICAL_FORMAT_VERSION
    from riskdesk.store import workbench as repo

    snap = bench.save_snapshot(market)
    version = bench.commit_draft(_condor_draft(bench, market))
    bench.evaluate(version.trade_hash, snap.snapshot_hash, ModelConfig(), ScenarioGrid())
    with bench.db.engine.connect() as conn:
        formats = {
            model.__tablename__: set(conn.execute(select(model.hash_format)).scalars())
            for model in (m.MarketSnapshot, m.TradeVersion, m.ModelConfig, m.ScenarioGrid)
        }
    assert formats == {table: {CANONICAL_FORMAT_VERSION} for table in formats}

    monkeypatch.setattr(repo, "CANONICAL_FORMAT_VERSION", CANONICAL_FORMAT_VERSION + 1)
    with pytest.raises(
        StoreError, match=f"hashed under canonical format v{CANONICAL_FORMAT_VERSION}"
    ):
        bench.load_snapshot(snap.snapshot_hash)
    with pytest.raises(StoreError, match=r"trade version .* hashed under canonical format"):
        bench.load_trade(version.trade_hash)
