"""Snapshots whose options are an OptionTable: stored column-wise, loaded column-wise.

On both backends: a table built from Arrow columns (edge amounts, nulls, AM settlement,
a non-standard multiplier, microsecond and whole-second stamps) is stored and loaded back as an
``OptionTable`` in ``contract.sort_key`` order, with the domain's hash; contracts already
stored are reused, not duplicated.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pyarrow as pa
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from riskdesk.domain.hashing import content_hash
from riskdesk.domain.market import MarketSnapshot, SnapshotMode, UnderlyingQuote
from riskdesk.domain.option_table import OPTION_SCHEMA, OptionTable
from riskdesk.store import Database, make_session_factory
from riskdesk.store import models as m
from riskdesk.workbench import Workbench

AS_OF = datetime(2026, 3, 2, 21, 0, tzinfo=UTC)


def _table(strikes: list[str], *, bid_of_first: str | None = "0.00000001") -> OptionTable:
    n = len(strikes)
    columns = {
        "underlying": ["ZZ"] * (n - 1) + ["AAA"],
        "expiry": [date(2026, 6, 19)] * n,
        "strike": [Decimal(s) for s in strikes],
        "right": ["P" if i % 2 else "C" for i in range(n)],
        "style": ["EUROPEAN"] * n,
        "settlement": ["AM" if i == 1 else "PM" for i in range(n)],
        "multiplier": [10 if i == 2 else 100 for i in range(n)],
        "currency": ["USD"] * n,
        "bid": [None if bid_of_first is None else Decimal(bid_of_first)]
        + [Decimal("1.25")] * (n - 1),
        "ask": [Decimal("123456789012.5")] + [Decimal("1.3")] * (n - 1),
        "mark": [None] * n,
        "iv": [None, 0.1, 1e-5] + [0.2345] * (n - 3),
        "volume": [None, *range(1, n)],
        "open_interest": [7] * n,
        "provider_timestamp": [datetime(2026, 3, 2, 20, 59, 1, 123456, tzinfo=UTC)] * n,
        "receive_timestamp": [AS_OF] * n,
    }
    arrays = [pa.array(columns[f.name], f.type) for f in OPTION_SCHEMA]
    return OptionTable.from_arrow(pa.Table.from_arrays(arrays, schema=OPTION_SCHEMA))


def _snapshot(options: OptionTable, source: str = "test") -> MarketSnapshot:
    underlyings = tuple(
        UnderlyingQuote(
            symbol=s,
            spot=Decimal("100"),
            bid=None,
            ask=None,
            last=None,
            provider_timestamp=AS_OF,
            receive_timestamp=AS_OF,
        )
        for s in ("AAA", "ZZ")
    )
    return MarketSnapshot(
        as_of=AS_OF, mode=SnapshotMode.LIVE, source=source, underlyings=underlyings, options=options
    )


def test_save_snapshot_with_option_table_loads_it_back_column_wise(migrated_engine: Engine) -> None:
    # Arrange
    db = Database(engine=migrated_engine, sessions=make_session_factory(migrated_engine))
    snapshot = _snapshot(_table(["100", "100", "100", "0.5", "250.125"]))
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
    first = _snapshot(_table(["100", "100", "100", "90"]), source="first")
    second = _snapshot(_table(["100", "100", "100", "80", "70"], bid_of_first=None), "second")

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
