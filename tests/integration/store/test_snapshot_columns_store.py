"""Snapshots whose options are an OptionTable: stored column-wise, loaded column-wise.

On both backends: a table built from Arrow columns (edge amounts, nulls, AM settlement,
a non-standard multiplier, microsecond and whole-second stamps) is stored and loaded back as an
``OptionTable`` in ``contract.sort_key`` order, with the domain's hash; contracts already
stored are reused, not duplicated.
"""

from __future__ import annotations

from snapshot_tables import option_table, snapshot_of
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from riskdesk.domain.hashing import content_hash
from riskdesk.domain.option_table import OptionTable
from riskdesk.store import Database, make_session_factory
from riskdesk.store import models as m
from riskdesk.workbench import Workbench


def test_save_snapshot_with_option_table_loads_it_back_column_wise(migrated_engine: Engine) -> None:
    # Arrange
    db = Database(engine=migrated_engine, sessions=make_session_factory(migrated_engine))
    snapshot = snapshot_of(option_table(["100", "100", "100", "0.5", "250.125"]))
    domain_hash = content_hash(snapshot.hash_payload())  # the reference: payload dicts
    bench = Workbench(db)

    # Act
    ref = bench.save_snapshot(snapshot)
    loaded = bench.load_snapshot(str(ref.snapshot_id)).snapshot

    # Assert
    assert ref.snapshot_hash == domain_hash
    assert isinstance(loaded.options, OptionTable)
    assert loaded.snapshot_hash == domain_hash
    expected = sorted(snapshot.options, key=lambda q: q.contract.sort_key)
    assert list(loaded.options) == expected
    assert loaded.options[0].contract.underlying == "AAA"


def test_save_snapshot_with_stored_contracts_reuses_their_rows(migrated_engine: Engine) -> None:
    # Arrange: two snapshots sharing three of their contracts
    db = Database(engine=migrated_engine, sessions=make_session_factory(migrated_engine))
    bench = Workbench(db)
    first = snapshot_of(option_table(["100", "100", "100", "90"]), source="first")
    second = snapshot_of(
        option_table(["100", "100", "100", "80", "70"], bid_of_first=None), "second"
    )

    # Act
    bench.save_snapshot(first)
    ref = bench.save_snapshot(second)
    loaded = bench.load_snapshot(str(ref.snapshot_id)).snapshot

    # Assert
    with db.unit_of_work() as uow:
        contracts = uow.session.scalar(select(func.count()).select_from(m.OptionContract))
        keys = set(uow.session.scalars(select(m.OptionContract.contract_key)))
    assert contracts == 6  # 4 + the 2 new ones of the second snapshot
    assert "ZZ:20260619:100:P:AM" in keys
    assert "ZZ:20260619:100:C:x10" in keys
    assert loaded.snapshot_hash == second.snapshot_hash
    assert [q.bid for q in loaded.options].count(None) == 1
