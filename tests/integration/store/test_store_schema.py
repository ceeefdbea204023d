"""After `upgrade head` every table named by the five seed documents exists, with its indexes."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from riskdesk.store.models import PARTITIONED_TABLES, Base
from riskdesk.store.reference_data import reference_rows

# Every table of each seed document -> the riskdesk table that holds it.
SEED_TABLES: dict[str, dict[str, str]] = {
    "000": {
        name: name
        for name in (
            "instruments",
            "option_contracts",
            "trade_versions",
            "trade_drafts",
            "trade_draft_legs",
            "market_snapshots",
            "snapshot_underlying_quotes",
            "snapshot_option_quotes",
            "model_configs",
            "scenario_grids",
            "analytics_results",
            "pnl_attribution_results",
            "audit_log",
        )
    },
    "001": {
        **{
            name: name
            for name in (
                "users",
                "user_sessions",
                "tickers",
                "market_data_snapshots",
                "options_chains",
                "signals",
                "signal_legs",
                "trading_accounts",
                "trades",
                "trade_legs",
                "orders",
                "risk_parameters",
                "risk_events",
                "daily_pnl",
                "performance_metrics",
                "system_config",
            )
        },
        "audit_logs": "audit_log",
    },
    "002": {
        name: name
        for name in (
            "modeling_session_snapshots",
            "export_history",
            "calculation_audit_log",
            "portfolios",
            "positions",
            "tags",
            "position_tags",
            "strategy_groups",
            "position_relationships",
            "position_attributes",
            "market_data_cache",
            "realtime_quotes_cache",
            "short_selling_metrics",
            "position_greeks",
            "position_factor_betas",
            "factor_definitions",
            "portfolio_factor_exposures",
            "factor_covariance_matrix",
            "position_correlation_matrix",
            "stress_scenarios",
            "stress_scenario_shocks",
            "portfolio_snapshots",
            "users",
        )
    },
    "003": {
        "Trade": "trades",
        "GreekSnapshot": "greek_snapshots",
        "StreamSession": "stream_sessions",
    },
    "004": {
        name: name
        for name in (
            "market_ticks",
            "signals",
            "orders",
            "fills",
            "positions",
            "portfolio_snapshots",
            "risk_events",
            "kill_switch_events",
            "devnet_smoke_runs",
        )
    },
}

# Seed indexes (table, leading columns); each must be served by an index or unique key.
SEED_INDEXES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("users", ("username",)),
    ("users", ("email",)),
    ("users", ("role",)),
    ("user_sessions", ("user_id",)),
    ("user_sessions", ("token_hash",)),
    ("user_sessions", ("expires_at",)),
    ("tickers", ("symbol",)),
    ("tickers", ("is_active",)),
    ("market_data_snapshots", ("ticker_id", "timestamp")),
    ("market_data_snapshots", ("timestamp",)),
    ("options_chains", ("underlying_ticker_id", "expiration_date", "strike_price")),
    ("options_chains", ("symbol",)),
    ("options_chains", ("timestamp",)),
    ("options_chains", ("expiration_date",)),
    ("signals", ("ticker_id",)),
    ("signals", ("generated_at",)),
    ("signals", ("status",)),
    ("signals", ("confidence",)),
    ("signals", ("strategy_type",)),
    ("signals", ("cycle_id",)),
    ("signals", ("symbol", "created_at")),
    ("signal_legs", ("signal_id",)),
    ("signal_legs", ("signal_id", "leg_order")),
    ("trading_accounts", ("user_id",)),
    ("trading_accounts", ("account_type",)),
    ("trades", ("user_id",)),
    ("trades", ("account_id",)),
    ("trades", ("signal_id",)),
    ("trades", ("opened_at",)),
    ("trades", ("status",)),
    ("trade_legs", ("trade_id",)),
    ("trade_legs", ("option_symbol",)),
    ("orders", ("trade_leg_id",)),
    ("orders", ("broker_order_id",)),
    ("orders", ("status",)),
    ("orders", ("submitted_at",)),
    ("orders", ("cycle_id",)),
    ("orders", ("symbol", "created_at")),
    ("orders", ("status", "created_at")),
    ("risk_parameters", ("user_id", "account_id")),
    ("risk_parameters", ("parameter_name",)),
    ("risk_events", ("user_id",)),
    ("risk_events", ("account_id",)),
    ("risk_events", ("severity",)),
    ("risk_events", ("created_at",)),
    ("risk_events", ("order_id", "created_at")),
    ("daily_pnl", ("user_id", "account_id", "trade_date")),
    ("daily_pnl", ("ticker_id", "trade_date")),
    ("performance_metrics", ("user_id", "account_id")),
    ("performance_metrics", ("period_start", "period_end")),
    ("system_config", ("config_key",)),
    ("audit_log", ("user_id",)),
    ("audit_log", ("event_type",)),
    ("audit_log", ("resource_type", "resource_id")),
    ("audit_log", ("created_at",)),
    ("modeling_session_snapshots", ("user_id", "status")),
    ("greek_snapshots", ("event_time",)),
    ("greek_snapshots", ("broker", "account_id", "contract_key", "event_time")),
    ("market_ticks", ("symbol", "event_at")),
    ("fills", ("order_id", "filled_at")),
    ("fills", ("symbol", "filled_at")),
    ("portfolio_snapshots", ("captured_at",)),
    ("devnet_smoke_runs", ("ran_at",)),
)


def _split_columns(sql: str) -> tuple[str, ...]:
    inner = sql[sql.index("(") + 1 : sql.rindex(")")]
    parts, depth, current = [], 0, ""
    for char in inner:
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
            continue
        depth += (char == "(") - (char == ")")
        current += char
    parts.append(current)
    return tuple(p.split()[0].strip('"') for p in parts if p.strip())


def _index_leads(engine: Engine, table: str) -> list[tuple[str, ...]]:
    inspector = sa.inspect(engine)
    leads: list[tuple[str, ...]] = []
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            sqls = dict(
                conn.exec_driver_sql(
                    "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ?",
                    (table,),
                ).all()
            )
            for name, sql in sqls.items():
                if sql is not None:
                    leads.append(_split_columns(sql))
                else:
                    info = conn.exec_driver_sql(f"PRAGMA index_info('{name}')").all()
                    leads.append(tuple(row[2] for row in sorted(info)))
        leads.append(tuple(inspector.get_pk_constraint(table)["constrained_columns"]))
        return leads
    for ix in inspector.get_indexes(table):
        names = [c for c in ix["column_names"] if c is not None]
        exprs = [e.split()[0].strip('"') for e in ix.get("expressions") or []]
        leads.append(tuple(exprs or names))
    leads.extend(tuple(uq["column_names"]) for uq in inspector.get_unique_constraints(table))
    leads.append(tuple(inspector.get_pk_constraint(table)["constrained_columns"]))
    return leads


def test_upgrade_with_empty_database_creates_every_seed_table(migrated_engine: Engine) -> None:
    existing = set(sa.inspect(migrated_engine).get_table_names())

    missing = {
        f"seed {seed}: {seed_table} -> {table}"
        for seed, tables in SEED_TABLES.items()
        for seed_table, table in tables.items()
        if table not in existing
    }

    assert not missing
    assert set(Base.metadata.tables) <= existing
    assert (
        len(Base.metadata.tables) == 63
    )  # 57 seed tables + trade_commits, idempotency_keys, jobs, order_events, trade_cycles,
    # snapshot_option_columns


def test_upgrade_with_empty_database_creates_every_seed_index(migrated_engine: Engine) -> None:
    missing = []
    for table, columns in SEED_INDEXES:
        leads = _index_leads(migrated_engine, table)
        if not any(lead[: len(columns)] == columns for lead in leads):
            missing.append((table, columns))

    assert not missing


def test_upgrade_with_empty_database_seeds_reference_rows(migrated_engine: Engine) -> None:
    with migrated_engine.connect() as conn:
        for table, rows in reference_rows().items():
            stored = {
                tuple(r) for r in conn.execute(sa.text(f"SELECT id, name FROM {table}")).all()
            }
            expected = {(r["id"], r["name"]) for r in rows}
            if migrated_engine.dialect.name == "sqlite":
                expected = {(i.hex, n) for i, n in expected}

            assert stored == expected


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_upgrade_with_postgres_partitions_time_series_tables(migrated_engine: Engine) -> None:
    with migrated_engine.connect() as conn:
        kinds = dict(
            conn.execute(
                sa.text("SELECT relname, relkind FROM pg_class WHERE relname = ANY(:names)"),
                {"names": list(PARTITIONED_TABLES)},
            ).all()
        )
        keys = dict(
            conn.execute(
                sa.text(
                    "SELECT c.relname, pg_get_partkeydef(c.oid) FROM pg_class c "
                    "WHERE c.relname = ANY(:names)"
                ),
                {"names": list(PARTITIONED_TABLES)},
            ).all()
        )

    assert kinds == dict.fromkeys(PARTITIONED_TABLES, "p")
    assert keys == {t: f"RANGE ({c})" for t, c in PARTITIONED_TABLES.items()}


def test_upgrade_with_sqlite_uses_wal_and_foreign_keys(sqlite_url: str) -> None:
    from riskdesk.store.db import create_engine
    from riskdesk.store.migrate import upgrade_database

    engine = create_engine(sqlite_url)
    try:
        upgrade_database(engine)
        with engine.connect() as conn:
            journal = conn.exec_driver_sql("PRAGMA journal_mode").scalar_one()
            fks = conn.exec_driver_sql("PRAGMA foreign_keys").scalar_one()
    finally:
        engine.dispose()

    assert journal == "wal"
    assert fks == 1
