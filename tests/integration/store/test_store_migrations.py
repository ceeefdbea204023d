"""The Alembic history: down to base and up again on both backends; models match it."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Engine

from riskdesk.store import (
    MigrationError,
    current_revision,
    downgrade_database,
    head_revision,
    require_head,
    upgrade_database,
)
from riskdesk.store.models import Base


def _tables(engine: Engine) -> set[str]:
    return set(sa.inspect(engine).get_table_names()) - {"alembic_version"}


def test_migration_with_downgrade_to_base_and_upgrade_again_restores_schema(
    migrated_engine: Engine,
) -> None:
    assert downgrade_database(migrated_engine, "base") is None
    emptied = {t for t in _tables(migrated_engine) if not t.endswith("_default") and "_p2" not in t}

    revision = upgrade_database(migrated_engine)

    assert emptied == set()
    assert revision == head_revision() == "0007"
    assert set(Base.metadata.tables) <= _tables(migrated_engine)
    with migrated_engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM factor_definitions")).scalar_one() == 8


def test_require_head_with_empty_database_says_to_upgrade(db_url: str) -> None:
    from riskdesk.store import create_engine

    engine = create_engine(db_url)
    try:
        with pytest.raises(MigrationError, match="riskdesk db upgrade"):
            require_head(engine)
        assert current_revision(engine) is None
    finally:
        engine.dispose()


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_models_with_migrated_postgres_database_have_no_differences(
    migrated_engine: Engine,
) -> None:
    conditional = {"uq_greek_snapshots_dedupe", "uq_daily_pnl_user_account_ticker_date"}

    def include(
        obj: object, name: str | None, kind: str, reflected: bool, compare_to: object
    ) -> bool:
        if kind == "table":
            return name in Base.metadata.tables  # skips partitions and alembic_version
        return name not in conditional  # per-dialect NULLS NOT DISTINCT rules, checked elsewhere

    with migrated_engine.connect() as conn:
        context = MigrationContext.configure(
            conn,
            opts={"include_object": include, "compare_type": True, "compare_server_default": False},
        )
        diffs = compare_metadata(context, Base.metadata)

    assert diffs == []


def test_migration_0002_with_existing_draft_legs_backfills_their_entry_order(
    migrated_engine: Engine,
) -> None:
    from datetime import UTC, datetime, timedelta

    downgrade_database(migrated_engine, "0001")
    draft_id = "0" * 31 + "1"
    legs = [("0" * 31 + "c", 0), ("0" * 31 + "a", 2), ("0" * 31 + "b", 1)]  # (id, minutes)
    base = datetime(2026, 1, 5, 15, 0, tzinfo=UTC)
    is_pg = migrated_engine.dialect.name == "postgresql"

    def uid(hex32: str) -> str:
        return (
            f"{hex32[:8]}-{hex32[8:12]}-{hex32[12:16]}-{hex32[16:20]}-{hex32[20:]}"
            if is_pg
            else hex32
        )

    def stamp(minutes: int) -> object:
        when = base + timedelta(minutes=minutes)
        return when if is_pg else when.strftime("%Y-%m-%d %H:%M:%S.%f")

    with migrated_engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO trade_drafts (trade_draft_id, rev, name, created_at, updated_at) "
                "VALUES (:i, 1, 'old', :t, :t)"
            ),
            {"i": uid(draft_id), "t": stamp(0)},
        )
        for leg_id, minutes in legs:
            conn.execute(
                sa.text(
                    "INSERT INTO trade_draft_legs (leg_id, trade_draft_id, symbol, signed_qty, "
                    "entry_price, fees, include_flag, created_at) "
                    "VALUES (:l, :d, 'SPY', 1, 1, 0, true, :t)"
                ),
                {"l": uid(leg_id), "d": uid(draft_id), "t": stamp(minutes)},
            )

    upgrade_database(migrated_engine)

    with migrated_engine.connect() as conn:
        order = (
            conn.execute(sa.text("SELECT leg_id FROM trade_draft_legs ORDER BY position"))
            .scalars()
            .all()
        )
    assert [str(x).replace("-", "")[-1] for x in order] == ["c", "b", "a"]
