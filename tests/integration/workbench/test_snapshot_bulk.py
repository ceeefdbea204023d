"""Chain-scale snapshot storage: the column-wise hash and the bulk writes equal the old paths.

* ``_snapshot_rows.snapshot_hash`` gives the domain's ``MarketSnapshot.snapshot_hash`` (the
  reference: canonical JSON of the payload dicts) on imported, synthetic and edited chains;
* ``bulk_insert`` (executemany of tuples on SQLite, COPY on PostgreSQL) stores, column by
  column, exactly what the Core ``insert_rows`` path stores for the same quotes.
"""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import String, Table, cast, select
from sqlalchemy.engine import Engine

from riskdesk.adapters.files.chains import import_chain
from riskdesk.adapters.simulated import generate_market
from riskdesk.bench._market import AS_OF, write_chain
from riskdesk.domain.market import DiscreteDividend, MarketOverrides, SnapshotMode
from riskdesk.store import Database, make_session_factory
from riskdesk.store import models as m
from riskdesk.store._snapshot_rows import bulk_insert, snapshot_hash
from riskdesk.store.timeseries import insert_rows
from riskdesk.store.types import new_id
from riskdesk.workbench import Workbench


@pytest.fixture(scope="module")
def chain_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("chain") / "chain.csv"
    write_chain(path, 4_000, bad_every=1_000)
    return path


def test_snapshot_hash_with_imported_chain_equals_domain_hash(chain_file: Path) -> None:
    # Arrange
    overrides = MarketOverrides(
        rate=0.04,
        dividend_yield={"U0000": 0.012},
        dividends={"U0001": (DiscreteDividend(AS_OF.date() + timedelta(days=30), Decimal("0.5")),)},
    )
    snapshot, report = import_chain(chain_file, as_of=AS_OF, overrides=overrides)

    # Act
    fast = snapshot_hash(snapshot)

    # Assert
    assert report.rows_rejected > 0  # the planted bad rows are reported, the rest imported
    assert fast == snapshot.snapshot_hash


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_snapshot_hash_with_synthetic_markets_equals_domain_hash(seed: int) -> None:
    # Arrange
    market = generate_market(
        seed=seed,
        as_of=datetime(2026, 3, 2, 15, tzinfo=UTC),
        symbols=("SPY", "AAPL"),
        max_expiry_days=60,
    )
    edited = dataclasses.replace(
        market,
        mode=SnapshotMode.PINNED,
        source='vendor "x" \u00e9',
        options=tuple(
            dataclasses.replace(q, iv=-0.0 if i % 7 == 0 else q.iv, volume=None, bid=None)
            if i % 5 == 0
            else q
            for i, q in enumerate(market.options)
        ),
    )

    # Act / Assert
    for snapshot in (market, edited):
        assert snapshot_hash(snapshot) == snapshot.snapshot_hash


def test_snapshot_hash_with_changed_quote_differs(chain_file: Path) -> None:
    # Arrange
    snapshot, _ = import_chain(chain_file, as_of=AS_OF)
    first = snapshot.options[0]
    changed = dataclasses.replace(
        snapshot,
        options=(dataclasses.replace(first, mark=Decimal("0.01")), *snapshot.options[1:]),
    )

    # Act / Assert
    assert snapshot_hash(changed) != snapshot_hash(snapshot)
    assert snapshot_hash(changed) == changed.snapshot_hash


_QUOTE_COLUMNS = (
    "option_contract_id",
    "bid",
    "ask",
    "mark",
    "iv",
    "volume",
    "open_interest",
    "provider_timestamp",
    "receive_timestamp",
)


def _stored(engine: Engine, snapshot_id: uuid.UUID) -> list[tuple[Any, ...]]:
    """Each quote of the snapshot as stored: every column also as the database's text."""
    q = m.SnapshotOptionQuote
    columns = [q.__table__.c[name] for name in _QUOTE_COLUMNS]
    with engine.connect() as conn:
        rows = conn.execute(
            select(*columns, *(cast(c, String) for c in columns))
            .where(q.snapshot_id == snapshot_id)
            .order_by(q.option_contract_id)
        )
        return [tuple(r) for r in rows]


def test_bulk_insert_with_chain_stores_what_insert_rows_stores(
    migrated_engine: Engine, chain_file: Path
) -> None:
    # Arrange: the chain stored by the workbench (bulk path), and its quotes again under a
    # second snapshot row through the Core insert_rows path (the old one)
    db = Database(engine=migrated_engine, sessions=make_session_factory(migrated_engine))
    snapshot, _ = import_chain(chain_file, as_of=AS_OF)
    ref = Workbench(db).save_snapshot(snapshot)
    with db.unit_of_work() as uow:
        quotes = list(
            uow.session.execute(
                select(m.SnapshotOptionQuote).where(
                    m.SnapshotOptionQuote.snapshot_id == ref.snapshot_id
                )
            ).scalars()
        )
        by_contract = {row.option_contract_id: row for row in quotes}
        other = m.MarketSnapshot(
            snapshot_hash="f" * 64,
            symbol="X",
            mode="LIVE",
            as_of=AS_OF,
            source="reference",
            overrides_json={},
            diagnostics_json={},
        )
        uow.session.add(other)
        uow.session.flush()
        other_id = other.snapshot_id
        rows = [
            {"id": new_id(), "snapshot_id": other_id}
            | {name: getattr(row, name) for name in _QUOTE_COLUMNS}
            for row in by_contract.values()
        ]
        insert_rows(uow.session, m.SnapshotOptionQuote, rows, skip_duplicates=False)

    # Act
    bulk = _stored(migrated_engine, ref.snapshot_id)
    reference = _stored(migrated_engine, other_id)

    # Assert: same rows, column by column, values and their stored text
    assert len(bulk) == len(snapshot.options)
    assert bulk == reference


def test_bulk_insert_with_duplicates_skipped_counts_only_new_rows(migrated_engine: Engine) -> None:
    # Arrange
    db = Database(engine=migrated_engine, sessions=make_session_factory(migrated_engine))
    table = m.OptionContract.__table__
    assert isinstance(table, Table)
    now = datetime(2026, 1, 5, tzinfo=UTC)

    def columns(strikes: list[str]) -> list[list[Any]]:
        n = len(strikes)
        return [
            [new_id() for _ in strikes],
            ["SPY"] * n,
            [AS_OF.date() + timedelta(days=29)] * n,
            [Decimal(s) for s in strikes],
            ["C"] * n,
            [f"SPY:x:{s}" for s in strikes],
            [now] * n,
        ]

    names = [
        "option_contract_id",
        "underlying_symbol",
        "expiry",
        "strike",
        "right",
        "contract_key",
        "created_at",
    ]

    # Act
    with db.unit_of_work() as uow:
        first = bulk_insert(uow.session, table, names, columns(["100", "101"]))
        second = bulk_insert(
            uow.session, table, names, columns(["101.00", "102"]), skip_duplicates=True
        )

    # Assert
    assert (first, second) == (2, 1)
