"""Unit of work, audit rows, immutable rows and column types on both backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection, Engine
from store_rows import insert_row

from riskdesk.config import Settings
from riskdesk.domain.hashing import content_hash
from riskdesk.store import (
    ConstraintViolationError,
    Database,
    ImmutableRowError,
    NaiveDatetimeError,
    NumericValueError,
    UnitOfWork,
    make_session_factory,
    translate_db_error,
)
from riskdesk.store.models import (
    AuditLog,
    KillSwitchEvent,
    MarketTick,
    ModelConfig,
    Order,
    Position,
    TradeDraft,
    TradeDraftLeg,
    TradeVersion,
)

HASH_TABLES = {
    "trade_versions": "trade_hash",
    "market_snapshots": "snapshot_hash",
    "model_configs": "model_config_hash",
    "scenario_grids": "scenario_grid_hash",
    "audit_log": "actor",
}


def _count(engine: Engine, model: type) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(model)).scalar_one())


def _uow(engine: Engine, actor: str = "tester") -> UnitOfWork:
    return UnitOfWork(make_session_factory(engine), actor=actor)


def test_unit_of_work_with_success_commits_rows_and_audit(migrated_engine: Engine) -> None:
    with _uow(migrated_engine) as uow:
        uow.add(KillSwitchEvent(enabled=True, reason="drawdown", actor="tester"))
        uow.audit(
            "kill_switch.enabled",
            payload={"reason": "drawdown"},
            new={"enabled": True},
            resource_type="kill_switch",
            resource_id="global",
        )

    with make_session_factory(migrated_engine)() as session:
        audit = session.scalars(sa.select(AuditLog)).one()
    assert _count(migrated_engine, KillSwitchEvent) == 1
    assert (audit.actor, audit.event_type, audit.action) == (
        "tester",
        "kill_switch.enabled",
        "kill_switch.enabled",
    )
    assert audit.event_payload_json == {"reason": "drawdown"}
    assert (audit.old_values, audit.new_values) == (None, {"enabled": True})
    assert audit.timestamp.tzinfo is UTC


def test_unit_of_work_with_error_rolls_back_rows_and_audit(migrated_engine: Engine) -> None:
    def act() -> None:
        with _uow(migrated_engine) as uow:
            uow.add(KillSwitchEvent(enabled=True))
            uow.audit("kill_switch.enabled")
            uow.flush()
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        act()

    assert _count(migrated_engine, KillSwitchEvent) == 0
    assert _count(migrated_engine, AuditLog) == 0


def test_unit_of_work_with_constraint_violation_raises_store_error_and_leaves_nothing(
    migrated_engine: Engine,
) -> None:
    def act() -> None:
        with _uow(migrated_engine) as uow:
            uow.add(KillSwitchEvent(enabled=False))
            uow.audit("market_tick.stored")
            uow.add(
                MarketTick(
                    symbol="SPY",
                    bid_price=Decimal(2),
                    ask_price=Decimal(1),
                    mid_price=Decimal("1.5"),
                    spread_bps=0,
                    event_at=datetime(2025, 1, 2, tzinfo=UTC),
                )
            )

    with pytest.raises(ConstraintViolationError) as caught:
        act()

    assert caught.value.constraint == "ck_market_ticks_ask_gte_bid"
    assert _count(migrated_engine, KillSwitchEvent) == 0
    assert _count(migrated_engine, AuditLog) == 0


def test_database_from_settings_with_actor_writes_actor(migrated_engine: Engine) -> None:
    settings = Settings(
        database_url=str(migrated_engine.url.render_as_string(hide_password=False)), actor="alice"
    )
    db = Database.from_settings(settings)
    try:
        with db.unit_of_work() as uow:
            row = uow.audit("data.pulled", payload={"source": "simulated"})
    finally:
        db.dispose()

    assert row.actor == "alice"


def test_trade_version_with_changed_json_is_refused_by_the_session(migrated_engine: Engine) -> None:
    payload = {"name": "put spread", "legs": [{"qty": "1"}]}
    with _uow(migrated_engine) as uow:
        uow.add(TradeVersion(trade_hash=content_hash(payload), name="v1", trade_json=payload))

    def act() -> None:
        with _uow(migrated_engine) as uow:
            version = uow.session.scalars(sa.select(TradeVersion)).one()
            version.trade_json = {"name": "changed"}
            uow.flush()

    with pytest.raises(ImmutableRowError, match=r"trade_versions row .* is immutable") as caught:
        act()

    assert caught.value.key == content_hash(payload)
    assert caught.value.changed == ("trade_json",)


def test_immutable_model_with_orm_bulk_update_is_refused(migrated_engine: Engine) -> None:
    with pytest.raises(ImmutableRowError, match="model_configs"), _uow(migrated_engine) as uow:
        uow.session.execute(sa.update(ModelConfig).values(config_json={}))


@pytest.mark.parametrize(("table", "column"), sorted(HASH_TABLES.items()))
def test_hash_keyed_row_with_raw_update_is_refused_by_trigger(
    db_connection: Connection, table: str, column: str
) -> None:
    insert_row(db_connection, table)

    with pytest.raises(sa_exc.DBAPIError) as caught, db_connection.begin_nested():
        db_connection.execute(sa.text(f"UPDATE {table} SET {column} = :v"), {"v": "f" * 64})

    error = translate_db_error(caught.value)
    assert isinstance(error, ImmutableRowError)
    assert error.table == table


def test_hash_keyed_row_with_delete_is_allowed_for_purge(db_connection: Connection) -> None:
    insert_row(db_connection, "trade_versions")

    db_connection.execute(sa.text("DELETE FROM trade_versions"))

    assert db_connection.execute(sa.text("SELECT count(*) FROM trade_versions")).scalar_one() == 0


def test_trade_draft_with_update_increments_rev(migrated_engine: Engine) -> None:
    with _uow(migrated_engine) as uow:
        draft = TradeDraft(name="condor")
        draft.legs.append(TradeDraftLeg(symbol="SPY", signed_qty=Decimal(-100)))
        uow.add(draft)
    with _uow(migrated_engine) as uow:
        stored = uow.session.get(TradeDraft, draft.trade_draft_id)
        assert stored is not None
        stored.name = "iron condor"

    assert stored.rev == 2
    assert draft.rev == 1


def test_trade_draft_with_rev_decrease_is_refused_by_trigger(db_connection: Connection) -> None:
    draft = insert_row(db_connection, "trade_drafts", rev=3)

    with pytest.raises(sa_exc.DBAPIError) as caught, db_connection.begin_nested():
        db_connection.execute(
            sa.text("UPDATE trade_drafts SET rev = 2 WHERE trade_draft_id = :i"),
            {
                "i": draft["trade_draft_id"]
                if db_connection.dialect.name == "postgresql"
                else draft["trade_draft_id"].hex
            },
        )

    error = translate_db_error(caught.value)
    assert isinstance(error, ConstraintViolationError)
    assert "rev must increase" in str(error)


def test_timestamp_with_naive_datetime_is_refused(migrated_engine: Engine) -> None:
    with pytest.raises(NaiveDatetimeError, match="naive datetime"), _uow(migrated_engine) as uow:
        uow.add(
            MarketTick(
                symbol="SPY",
                bid_price=Decimal(1),
                ask_price=Decimal(1),
                mid_price=Decimal(1),
                spread_bps=0,
                event_at=datetime(2025, 1, 2, 10, 0),
            )
        )

    assert _count(migrated_engine, MarketTick) == 0


def test_timestamp_with_offset_returns_same_instant_in_utc(migrated_engine: Engine) -> None:
    eastern = timezone(timedelta(hours=-5))
    moment = datetime(2025, 3, 7, 9, 30, 0, 123456, tzinfo=eastern)
    with _uow(migrated_engine) as uow:
        uow.add(
            MarketTick(
                symbol="SPY",
                bid_price=Decimal(1),
                ask_price=Decimal(1),
                mid_price=Decimal(1),
                spread_bps=0,
                event_at=moment,
            )
        )

    with make_session_factory(migrated_engine)() as session:
        stored = session.scalars(sa.select(MarketTick.event_at)).one()

    assert stored == moment
    assert stored.tzinfo is UTC
    assert stored.hour == 14


@pytest.mark.parametrize(
    "value",
    [
        Decimal("0.00000001"),
        Decimal("-123456789012.12345678"),
        Decimal("99999999999.99999999"),
        Decimal("450.10"),
        Decimal(0),
        Decimal("1E+3"),
    ],
)
def test_decimal_column_with_value_round_trips_exactly(
    migrated_engine: Engine, value: Decimal
) -> None:
    with _uow(migrated_engine) as uow:
        uow.add(
            MarketTick(
                symbol="SPY",
                bid_price=value,
                ask_price=value,
                mid_price=value,
                spread_bps=0,
                event_at=datetime(2025, 5, 1, tzinfo=UTC),
            )
        )

    with make_session_factory(migrated_engine)() as session:
        stored = session.scalars(sa.select(MarketTick.mid_price)).one()

    assert stored == value
    assert isinstance(stored, Decimal)
    assert stored.as_tuple().exponent == -8


def test_decimal_column_with_too_many_integer_digits_is_refused(migrated_engine: Engine) -> None:
    def act() -> None:
        with _uow(migrated_engine) as uow:
            uow.add(KillSwitchEvent(enabled=True))
            uow.add(
                MarketTick(
                    symbol="SPY",
                    bid_price=Decimal(1),
                    ask_price=Decimal(1),
                    mid_price=Decimal("1E12"),
                    spread_bps=0,
                    event_at=datetime(2025, 5, 1, tzinfo=UTC),
                )
            )

    with pytest.raises(NumericValueError, match=r"does not fit NUMERIC\(20,8\)"):
        act()

    assert _count(migrated_engine, KillSwitchEvent) == 0


def test_decimal_column_with_float_is_refused(migrated_engine: Engine) -> None:
    with pytest.raises(NumericValueError, match="float"), _uow(migrated_engine) as uow:
        uow.add(
            MarketTick(
                symbol="SPY",
                bid_price=1.1,
                ask_price=Decimal(2),
                mid_price=Decimal(1),  # type: ignore[arg-type]
                spread_bps=0,
                event_at=datetime(2025, 5, 1, tzinfo=UTC),
            )
        )


def test_merged_models_with_seed_names_expose_synonyms(db_session: sa.orm.Session) -> None:
    signal = insert_row(db_session.connection(), "signals")
    order = Order(
        signal_id=signal["id"],
        cycle_id=signal["cycle_id"],
        symbol="SPY",
        action="sell",
        quantity=Decimal(3),
        status="proposed",
    )
    position = Position(
        account_id=insert_row(db_session.connection(), "trading_accounts")["id"],
        ticker="SPY",
        qty=Decimal(3),
        entry_price=Decimal(10),
        mark_price=Decimal(11),
        unrealized_pnl=Decimal(3),
    )
    db_session.add_all([order, position])
    db_session.flush()

    assert (order.side, order.qty) == ("sell", Decimal(3))
    assert (position.symbol, position.quantity, position.avg_entry_price) == (
        "SPY",
        Decimal(3),
        Decimal(10),
    )


def test_json_column_with_none_stores_sql_null(db_connection: Connection) -> None:
    insert_row(db_connection, "instruments", metadata_json=None)

    nulls = db_connection.execute(
        sa.text("SELECT count(*) FROM instruments WHERE metadata_json IS NULL")
    ).scalar_one()

    assert nulls == 1
