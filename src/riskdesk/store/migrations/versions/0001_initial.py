"""Initial schema: every table of the five seed designs, on SQLite and PostgreSQL.

Besides the tables, their CHECK/UNIQUE/FOREIGN KEY rules and indexes, this revision creates:

* the DEFAULT partition of each monthly range-partitioned table (PostgreSQL);
* the unique rules whose NULLs must compare equal (``NULLS NOT DISTINCT`` on PostgreSQL, a
  unique index over ``ifnull(col, '')`` on SQLite);
* triggers refusing UPDATEs of hash-keyed and append-only rows, and an UPDATE of
  ``trade_drafts`` that does not increase ``rev``;
* the default factor definitions and stress scenarios of seed 002 (section 4).

Revision ID: 0001
Revises:
Create Date: 2025-01-01 00:00:00
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import riskdesk.store.types as rdt

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql")

TABLES: tuple[str, ...] = (
    "devnet_smoke_runs",
    "factor_definitions",
    "greek_snapshots",
    "instruments",
    "kill_switch_events",
    "market_data_cache",
    "market_snapshots",
    "market_ticks",
    "model_configs",
    "option_contracts",
    "realtime_quotes_cache",
    "scenario_grids",
    "short_selling_metrics",
    "stream_sessions",
    "stress_scenarios",
    "system_config",
    "tickers",
    "trade_drafts",
    "trade_versions",
    "users",
    "analytics_results",
    "audit_log",
    "export_history",
    "factor_covariance_matrix",
    "market_data_snapshots",
    "options_chains",
    "pnl_attribution_results",
    "portfolios",
    "signals",
    "snapshot_option_quotes",
    "snapshot_underlying_quotes",
    "stress_scenario_shocks",
    "tags",
    "trade_draft_legs",
    "trading_accounts",
    "user_sessions",
    "calculation_audit_log",
    "daily_pnl",
    "modeling_session_snapshots",
    "performance_metrics",
    "portfolio_factor_exposures",
    "portfolio_snapshots",
    "risk_parameters",
    "signal_legs",
    "strategy_groups",
    "trades",
    "positions",
    "trade_legs",
    "orders",
    "position_attributes",
    "position_correlation_matrix",
    "position_factor_betas",
    "position_greeks",
    "position_relationships",
    "position_tags",
    "fills",
    "risk_events",
)

PARTITIONED: dict[str, str] = {
    "greek_snapshots": "event_time",
    "market_ticks": "event_at",
    "snapshot_underlying_quotes": "receive_timestamp",
    "snapshot_option_quotes": "receive_timestamp",
}

IMMUTABLE: tuple[str, ...] = (
    "trade_versions",
    "market_snapshots",
    "snapshot_underlying_quotes",
    "snapshot_option_quotes",
    "model_configs",
    "scenario_grids",
    "audit_log",
)

NULLS_NOT_DISTINCT: dict[str, tuple[str, tuple[str, ...]]] = {
    "uq_greek_snapshots_dedupe": (
        "greek_snapshots",
        ("broker", "contract_key", "event_time", "delta", "gamma", "theta", "vega"),
    ),
    "uq_daily_pnl_user_account_ticker_date": (
        "daily_pnl",
        ("user_id", "account_id", "ticker_id", "trade_date"),
    ),
}

_NS = uuid.UUID("6f1c4a52-2d0e-4e43-9a55-7c1d2b9e0a11")

FACTORS: tuple[tuple[str, str, str, int], ...] = (
    ("market_beta", "Market Beta", "style", 1),
    ("momentum", "Momentum", "style", 2),
    ("value", "Value", "style", 3),
    ("growth", "Growth", "style", 4),
    ("quality", "Quality", "style", 5),
    ("size", "Size", "style", 6),
    ("short_interest", "Short Interest", "technical", 7),
    ("volatility", "Volatility", "technical", 8),
)

SCENARIOS: tuple[tuple[str, str, int], ...] = (
    ("Market Up 10%", "sensitivity", 1),
    ("Market Down 10%", "sensitivity", 2),
    ("Rates Up 0.25%", "sensitivity", 3),
    ("Rates Down 0.25%", "sensitivity", 4),
    ("Oil Up 5%", "sensitivity", 5),
    ("Oil Down 5%", "sensitivity", 6),
    ("2008 Financial Crisis", "historical", 7),
    ("COVID-19 Crash", "historical", 8),
)


def _numeric(dialect: str) -> Callable[[str], str]:
    """CHECK text with ``{col}`` placeholders for exact-decimal columns.

    SQLite stores those as text, so they are compared through ``CAST(col AS REAL)`` there.
    """

    def render(template: str) -> str:
        if dialect == "sqlite":
            return re.sub(r"\{(\w+)\}", r"CAST(\1 AS REAL)", template)
        return re.sub(r"\{(\w+)\}", r"\1", template)

    return render


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    num = _numeric(dialect)
    _create_tables(num)
    _create_nulls_not_distinct(dialect)
    if dialect == "postgresql":
        for table in PARTITIONED:
            op.execute(f"CREATE TABLE {table}_default PARTITION OF {table} DEFAULT")
    _create_triggers(dialect)
    _seed_reference_rows()


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for table in reversed(TABLES):
        op.drop_table(table)
    if dialect == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS riskdesk_refuse_update()")
        op.execute("DROP FUNCTION IF EXISTS riskdesk_rev_must_increase()")


def _create_nulls_not_distinct(dialect: str) -> None:
    for name, (table, columns) in NULLS_NOT_DISTINCT.items():
        if dialect == "postgresql":
            op.execute(
                f"ALTER TABLE {table} ADD CONSTRAINT {name} UNIQUE NULLS NOT DISTINCT ({', '.join(columns)})"
            )
        else:
            exprs = ", ".join(f"ifnull(\"{c}\", '')" for c in columns)
            op.execute(f"CREATE UNIQUE INDEX {name} ON {table} ({exprs})")


def _create_triggers(dialect: str) -> None:
    if dialect == "postgresql":
        op.execute(
            """
            CREATE FUNCTION riskdesk_refuse_update() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'riskdesk-immutable: rows of table % cannot be updated; insert a new row instead', TG_ARGV[0]
                    USING ERRCODE = 'integrity_constraint_violation';
            END
            $$
            """
        )
        op.execute(
            """
            CREATE FUNCTION riskdesk_rev_must_increase() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF NEW.rev <= OLD.rev THEN
                    RAISE EXCEPTION 'riskdesk-monotonic: trade_drafts.rev must increase on update (old %, new %)', OLD.rev, NEW.rev
                        USING ERRCODE = 'check_violation';
                END IF;
                RETURN NEW;
            END
            $$
            """
        )
        for table in IMMUTABLE:
            op.execute(
                f"CREATE TRIGGER trg_{table}_immutable BEFORE UPDATE ON {table} "
                f"FOR EACH ROW EXECUTE FUNCTION riskdesk_refuse_update('{table}')"
            )
        op.execute(
            "CREATE TRIGGER trg_trade_drafts_rev_monotonic BEFORE UPDATE ON trade_drafts "
            "FOR EACH ROW EXECUTE FUNCTION riskdesk_rev_must_increase()"
        )
        return
    for table in IMMUTABLE:
        op.execute(
            f"CREATE TRIGGER trg_{table}_immutable BEFORE UPDATE ON {table} BEGIN "
            f"SELECT RAISE(ABORT, 'riskdesk-immutable: rows of table {table} cannot be updated; "
            "insert a new row instead'); END"
        )
    op.execute(
        "CREATE TRIGGER trg_trade_drafts_rev_monotonic BEFORE UPDATE ON trade_drafts "
        "WHEN NEW.rev <= OLD.rev BEGIN "
        "SELECT RAISE(ABORT, 'riskdesk-monotonic: trade_drafts.rev must increase on update'); END"
    )


def _seed_reference_rows() -> None:
    factors = sa.table(
        "factor_definitions",
        sa.column("id", sa.Uuid()),
        sa.column("name", sa.String()),
        sa.column("display_name", sa.String()),
        sa.column("category", sa.String()),
        sa.column("sort_order", sa.Integer()),
    )
    op.bulk_insert(
        factors,
        [
            {
                "id": uuid.uuid5(_NS, f"factor:{name}"),
                "name": name,
                "display_name": display,
                "category": category,
                "sort_order": order,
            }
            for name, display, category, order in FACTORS
        ],
    )
    scenarios = sa.table(
        "stress_scenarios",
        sa.column("id", sa.Uuid()),
        sa.column("name", sa.String()),
        sa.column("scenario_type", sa.String()),
        sa.column("sort_order", sa.Integer()),
    )
    op.bulk_insert(
        scenarios,
        [
            {
                "id": uuid.uuid5(_NS, f"scenario:{name}"),
                "name": name,
                "scenario_type": kind,
                "sort_order": order,
            }
            for name, kind, order in SCENARIOS
        ],
    )


def _create_tables(num: Callable[[str], str]) -> None:
    op.create_table(
        "devnet_smoke_runs",
        sa.Column("run_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("rpc_latency_ms", sa.Integer(), nullable=True),
        sa.Column("wallet_check", sa.Text(), nullable=True),
        sa.Column("tx_simulation", sa.Text(), nullable=True),
        sa.Column("ran_at", rdt.UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "\"status\" IN ('passed', 'failed')", name=op.f("ck_devnet_smoke_runs_status")
        ),
        sa.PrimaryKeyConstraint("run_id", name=op.f("pk_devnet_smoke_runs")),
    )
    op.create_index(
        "idx_devnet_smoke_runs_ran_at",
        "devnet_smoke_runs",
        [sa.literal_column("ran_at DESC")],
        unique=False,
    )
    op.create_table(
        "factor_definitions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("display_name", sa.String(length=100), nullable=False),
        sa.Column("category", sa.String(length=20), nullable=False),
        sa.Column("sort_order", sa.Integer(), nullable=False),
        sa.Column("etf_proxy", sa.String(length=32), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("created_at", rdt.UTCDateTime(), server_default=rdt.UtcNow(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_factor_definitions")),
        sa.UniqueConstraint("name", name=op.f("uq_factor_definitions_name")),
    )
    op.create_table(
        "greek_snapshots",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("event_time", rdt.UTCDateTime(), nullable=False),
        sa.Column("received_at", rdt.UTCDateTime(), nullable=False),
        sa.Column("persisted_at", rdt.UTCDateTime(), server_default=rdt.UtcNow(), nullable=False),
        sa.Column("broker", sa.String(length=20), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("underlying", sa.String(length=32), nullable=False),
        sa.Column("contract_key", sa.String(length=64), nullable=False),
        sa.Column("expiration", sa.Date(), nullable=True),
        sa.Column("strike", rdt.DecimalType(20, 8), nullable=True),
        sa.Column("option_type", sa.String(length=16), nullable=True),
        sa.Column("quantity", rdt.DecimalType(20, 8), nullable=True),
        sa.Column("delta", sa.Double(), nullable=True),
        sa.Column("gamma", sa.Double(), nullable=True),
        sa.Column("theta", sa.Double(), nullable=True),
        sa.Column("vega", sa.Double(), nullable=True),
        sa.Column("rho", sa.Double(), nullable=True),
        sa.Column("implied_volatility", sa.Double(), nullable=True),
        sa.Column("underlying_price", sa.Double(), nullable=True),
        sa.Column("source_payload", JSON, nullable=False),
        sa.CheckConstraint(
            "\"broker\" IN ('ibkr', 'tastytrade', 'simulated', 'paper')",
            name=op.f("ck_greek_snapshots_broker"),
        ),
        sa.CheckConstraint(
            "\"option_type\" IS NULL OR \"option_type\" IN ('call', 'put')",
            name=op.f("ck_greek_snapshots_option_type"),
        ),
        sa.CheckConstraint(
            "delta IS NOT NULL OR gamma IS NOT NULL OR theta IS NOT NULL OR vega IS NOT NULL OR rho IS NOT NULL",
            name=op.f("ck_greek_snapshots_has_greek"),
        ),
        sa.CheckConstraint(
            "length(trim(contract_key)) > 0", name=op.f("ck_greek_snapshots_contract_key_nonempty")
        ),
        sa.PrimaryKeyConstraint("id", "event_time", name=op.f("pk_greek_snapshots")),
        postgresql_partition_by="RANGE (event_time)",
    )
    op.create_index(
        "idx_greek_snapshots_contract_time",
        "greek_snapshots",
        ["broker", "account_id", "contract_key", sa.literal_column("event_time DESC")],
        unique=False,
    )
    op.create_index(
        "idx_greek_snapshots_event_time",
        "greek_snapshots",
        [sa.literal_column("event_time DESC")],
        unique=False,
    )
    op.create_table(
        "instruments",
        sa.Column("instrument_id", sa.Uuid(), nullable=False),
        sa.Column("symbol", sa.String(length=64), nullable=False),
        sa.Column("type", sa.String(length=10), nullable=False),
        sa.Column("multiplier", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column("currency", sa.String(length=3), server_default=sa.text("'USD'"), nullable=False),
        sa.Column("metadata_json", JSON, nullable=True),
        sa.Column("created_at", rdt.UTCDateTime(), server_default=rdt.UtcNow(), nullable=False),
        sa.CheckConstraint("\"type\" IN ('STOCK', 'OPTION')", name=op.f("ck_instruments_type")),
        sa.CheckConstraint("multiplier > 0", name=op.f("ck_instruments_multiplier_positive")),
        sa.PrimaryKeyConstraint("instrument_id", name=op.f("pk_instruments")),
        sa.UniqueConstraint("type", "symbol", name=op.f("uq_instruments_type_symbol")),
    )
    op.create_index("idx_instruments_symbol", "instruments", ["symbol"], unique=False)
    op.create_table(
        "kill_switch_events",
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("actor", sa.String(length=100), nullable=True),
        sa.Column("created_at", rdt.UTCDateTime(), server_default=rdt.UtcNow(), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_kill_switch_events")),
    )
    op.create_index(
        "idx_kill_switch_events_created_at",
        "kill_switch_events",
        [sa.literal_column("created_at DESC")],
        unique=False,
    )
    op.create_table(
        "market_data_cache",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("ticker", sa.String(length=32), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("open", rdt.DecimalType(20, 8), nullable=True),
        sa.Column("high", rdt.DecimalType(20, 8), nullable=True),
        sa.Column("low", rdt.DecimalType(20, 8), nullable=True),
        sa.Column("close", rdt.DecimalType(20, 8), nullable=False),
        sa.Column("volume", sa.BigInteger(), nullable=True),
        sa.Column("data_source", sa.String(length=32), nullable=False),
        sa.Column("created_at", rdt.UTCDateTime(), server_default=rdt.UtcNow(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_market_data_cache")),
        sa.UniqueConstraint("ticker", "date", name=op.f("uq_market_data_cache_ticker_date")),
    )
    op.create_index(
        "idx_market_data_cache_ticker_date",
        "market_data_cache",
        ["ticker", sa.literal_column("date DESC")],
        unique=False,
    )
    op.create_table(
        "market_snapshots",
        sa.Column("snapshot_id", sa.Uuid(), nullable=False),
        sa.Column("snapshot_hash", sa.String(length=64), nullable=False),
        sa.Column("symbol", sa.String(length=255), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("as_of", rdt.UTCDateTime(), nullable=False),
        sa.Column("created_at", rdt.UTCDateTime(), server_default=rdt.UtcNow(), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column(
            "overrides_json", rdt.CanonicalJSON(), server_default=sa.text("'{}'"), nullable=False
        ),
        sa.Column("diagnostics_json", JSON, server_default=sa.text("'{}'"), nullable=False),
        sa.CheckConstraint("\"mode\" IN ('LIVE', 'PINNED')", name=op.f("ck_market_snapshots_mode")),
        sa.CheckConstraint(
            "length(snapshot_hash) = 64", name=op.f("ck_market_snapshots_snapshot_hash_sha256")
        ),
        sa.PrimaryKeyConstraint("snapshot_id", name=op.f("pk_market_snapshots")),
        sa.UniqueConstraint("snapshot_hash", name=op.f("uq_market_snapshots_snapshot_hash")),
    )
    op.create_index(
        "idx_market_snapshots_symbol_as_of",
        "market_snapshots",
        ["symbol", sa.literal_column("as_of DESC")],
        unique=False,
    )
    op.create_table(
        "market_ticks",
        sa.Column("tick_id", sa.Uuid(), nullable=False),
        sa.Column("event_at", rdt.UTCDateTime(), nullable=False),
        sa.Column("symbol", sa.String(length=32), nullable=False),
        sa.Column("bid_price", rdt.DecimalType(20, 8), nullable=False),
        sa.Column("ask_price", rdt.DecimalType(20, 8), nullable=False),
        sa.Column("mid_price", rdt.DecimalType(20, 8), nullable=False),
        sa.Column("spread_bps", sa.Integer(), nullable=False),
        sa.Column("created_at", rdt.UTCDateTime(), server_default=rdt.UtcNow(), nullable=False),
        sa.CheckConstraint("spread_bps >= 0", name=op.f("ck_market_ticks_spread_bps_nonnegative")),
        sa.CheckConstraint(
            num("{ask_price} >= {bid_price}"), name=op.f("ck_market_ticks_ask_gte_bid")
        ),
        sa.PrimaryKeyConstraint("tick_id", "event_at", name=op.f("pk_market_ticks")),
        postgresql_partition_by="RANGE (event_at)",
    )
    op.create_index(
        "idx_market_ticks_symbol_event_at",
        "market_ticks",
        ["symbol", sa.literal_column("event_at DESC")],
        unique=False,
    )
    op.create_table(
        "model_configs",
        sa.Column("model_config_id", sa.Uuid(), nullable=False),
        sa.Column("model_config_hash", sa.String(length=64), nullable=False),
        sa.Column("config_json", rdt.CanonicalJSON(), nullable=False),
        sa.Column("created_at", rdt.UTCDateTime(), server_default=rdt.UtcNow(), nullable=False),
        sa.CheckConstraint(
            "length(model_config_hash) = 64", name=op.f("ck_model_configs_model_config_hash_sha256")
        ),
        sa.PrimaryKeyConstraint("model_config_id", name=op.f("pk_model_configs")),
        sa.UniqueConstraint("model_config_hash", name=op.f("uq_model_configs_model_config_hash")),
    )
    op.create_table(
        "option_contracts",
        sa.Column("option_contract_id", sa.Uuid(), nullable=False),
        sa.Column("underlying_symbol", sa.String(length=32), nullable=False),
        sa.Column("expiry", sa.Date(), nullable=False),
        sa.Column("strike", rdt.DecimalType(20, 8), nullable=False),
        sa.Column("right", sa.String(length=16), nullable=False),
        sa.Column(
            "style", sa.String(length=10), server_default=sa.text("'AMERICAN'"), nullable=False
        ),
        sa.Column(
            "settlement", sa.String(length=16), server_default=sa.text("'PM'"), nullable=False
        ),
        sa.Column("multiplier", sa.Integer(), server_default=sa.text("100"), nullable=False),
        sa.Column("currency", sa.String(length=3), server_default=sa.text("'USD'"), nullable=False),
        sa.Column("contract_key", sa.String(length=64), nullable=False),
        sa.Column("provider_contract_key", sa.String(length=128), nullable=True),
        sa.Column("created_at", rdt.UTCDateTime(), server_default=rdt.UtcNow(), nullable=False),
        sa.CheckConstraint("\"right\" IN ('C', 'P')", name=op.f("ck_option_contracts_right")),
        sa.CheckConstraint(
            "\"settlement\" IN ('AM', 'PM')", name=op.f("ck_option_contracts_settlement")
        ),
        sa.CheckConstraint(
            "\"style\" IN ('AMERICAN', 'EUROPEAN', 'UNKNOWN')",
            name=op.f("ck_option_contracts_style"),
        ),
        sa.CheckConstraint("multiplier > 0", name=op.f("ck_option_contracts_multiplier_positive")),
        sa.CheckConstraint(num("{strike} > 0"), name=op.f("ck_option_contracts_strike_positive")),
        sa.PrimaryKeyConstraint("option_contract_id", name=op.f("pk_option_contracts")),
        sa.UniqueConstraint(
            "underlying_symbol",
            "expiry",
            "strike",
            "right",
            "settlement",
            "multiplier",
            "style",
            "currency",
            name="uq_option_contracts_identity",
        ),
    )
    op.create_index(
        "idx_option_contracts_contract_key", "option_contracts", ["contract_key"], unique=False
    )
    op.create_index(
        "idx_option_contracts_provider_key",
        "option_contracts",
        ["provider_contract_key"],
        unique=False,
    )
    op.create_index(
        "idx_option_contracts_underlying_expiry",
        "option_contracts",
        ["underlying_symbol", "expiry"],
        unique=False,
    )
    op.create_table(
        "realtime_quotes_cache",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("ticker", sa.String(length=32), nullable=False),
        sa.Column("last_price", rdt.DecimalType(20, 8), nullable=False),
        sa.Column("bid", rdt.DecimalType(20, 8), nullable=True),
        sa.Column("ask", rdt.DecimalType(20, 8), nullable=True),
        sa.Column("volume", sa.BigInteger(), nullable=True),
        sa.Column("quote_timestamp", rdt.UTCDateTime(), nullable=True),
        sa.Column("data_source", sa.String(length=32), nullable=True),
        sa.Column("updated_at", rdt.UTCDateTime(), server_default=rdt.UtcNow(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_realtime_quotes_cache")),
        sa.UniqueConstraint("ticker", name=op.f("uq_realtime_quotes_cache_ticker")),
    )
    op.create_table(
        "scenario_grids",
        sa.Column("scenario_grid_id", sa.Uuid(), nullable=False),
        sa.Column("scenario_grid_hash", sa.String(length=64), nullable=False),
        sa.Column("grid_json", rdt.CanonicalJSON(), nullable=False),
        sa.Column("created_at", rdt.UTCDateTime(), server_default=rdt.UtcNow(), nullable=False),
        sa.CheckConstraint(
            "length(scenario_grid_hash) = 64",
            name=op.f("ck_scenario_grids_scenario_grid_hash_sha256"),
        ),
        sa.PrimaryKeyConstraint("scenario_grid_id", name=op.f("pk_scenario_grids")),
        sa.UniqueConstraint(
            "scenario_grid_hash", name=op.f("uq_scenario_grids_scenario_grid_hash")
        ),
    )
    op.create_table(
        "short_selling_metrics",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("ticker", sa.String(length=32), nullable=False),
        sa.Column("metric_date", sa.Date(), nullable=False),
        sa.Column("cost_to_borrow_rate", rdt.DecimalType(20, 10), nullable=True),
        sa.Column("short_interest_ratio", rdt.DecimalType(20, 10), nullable=True),
        sa.Column("days_to_cover", rdt.DecimalType(20, 10), nullable=True),
        sa.Column("data_source", sa.String(length=32), nullable=True),
        sa.Column("created_at", rdt.UTCDateTime(), server_default=rdt.UtcNow(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_short_selling_metrics")),
        sa.UniqueConstraint(
            "ticker", "metric_date", name=op.f("uq_short_selling_metrics_ticker_metric_date")
        ),
    )
    op.create_index(
        "idx_short_selling_metrics_date", "short_selling_metrics", ["metric_date"], unique=False
    )
    op.create_table(
        "stream_sessions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("broker", sa.String(length=20), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("last_heartbeat_at", rdt.UTCDateTime(), nullable=True),
        sa.Column("last_message_at", rdt.UTCDateTime(), nullable=True),
        sa.Column("reconnect_attempt", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("subscription_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column(
            "messages_received", sa.BigInteger(), server_default=sa.text("0"), nullable=False
        ),
        sa.Column("rows_written", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("first_row_at", rdt.UTCDateTime(), nullable=True),
        sa.Column("started_at", rdt.UTCDateTime(), server_default=rdt.UtcNow(), nullable=False),
        sa.Column("stopped_at", rdt.UTCDateTime(), nullable=True),
        sa.Column("updated_at", rdt.UTCDateTime(), server_default=rdt.UtcNow(), nullable=False),
        sa.CheckConstraint(
            "\"broker\" IN ('ibkr', 'tastytrade', 'simulated', 'paper')",
            name=op.f("ck_stream_sessions_broker"),
        ),
        sa.CheckConstraint(
            "\"status\" IN ('connecting', 'connected', 'degraded', 'disconnected')",
            name=op.f("ck_stream_sessions_status"),
        ),
        sa.CheckConstraint(
            "messages_received >= 0 AND rows_written >= 0",
            name=op.f("ck_stream_sessions_counters_nonnegative"),
        ),
        sa.CheckConstraint(
            "reconnect_attempt >= 0", name=op.f("ck_stream_sessions_reconnect_attempt_nonnegative")
        ),
        sa.CheckConstraint(
            "subscription_count >= 0",
            name=op.f("ck_stream_sessions_subscription_count_nonnegative"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stream_sessions")),
    )
    op.create_index(
        "idx_stream_sessions_broker_started",
        "stream_sessions",
        ["broker", sa.literal_column("started_at DESC")],
        unique=False,
    )
    op.create_table(
        "stress_scenarios",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("scenario_type", sa.String(length=20), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("sort_order", sa.Integer(), nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("created_at", rdt.UTCDateTime(), server_default=rdt.UtcNow(), nullable=False),
        sa.CheckConstraint(
            "\"scenario_type\" IN ('sensitivity', 'historical')",
            name=op.f("ck_stress_scenarios_scenario_type"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stress_scenarios")),
        sa.UniqueConstraint("name", name=op.f("uq_stress_scenarios_name")),
    )
    op.create_table(
        "system_config",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("config_key", sa.String(length=100), nullable=False),
        sa.Column("config_value", sa.Text(), nullable=False),
        sa.Column(
            "config_type", sa.String(length=20), server_default=sa.text("'string'"), nullable=False
        ),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("is_sensitive", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("created_at", rdt.UTCDateTime(), server_default=rdt.UtcNow(), nullable=False),
        sa.Column("updated_at", rdt.UTCDateTime(), server_default=rdt.UtcNow(), nullable=False),
        sa.CheckConstraint(
            "is_sensitive = false OR config_value LIKE 'gAAAAA%'",
            name=op.f("ck_system_config_sensitive_encrypted"),
        ),
        sa.CheckConstraint(
            "\"config_type\" IN ('string', 'integer', 'decimal', 'boolean', 'json')",
            name=op.f("ck_system_config_config_type"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_system_config")),
        sa.UniqueConstraint("config_key", name=op.f("uq_system_config_config_key")),
    )
    op.create_table(
        "tickers",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("symbol", sa.String(length=10), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("exchange", sa.String(length=20), nullable=False),
        sa.Column("sector", sa.String(length=100), nullable=True),
        sa.Column("industry", sa.String(length=100), nullable=True),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column(
            "options_available", sa.Boolean(), server_default=sa.text("false"), nullable=False
        ),
        sa.Column("created_at", rdt.UTCDateTime(), server_default=rdt.UtcNow(), nullable=False),
        sa.Column("updated_at", rdt.UTCDateTime(), server_default=rdt.UtcNow(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tickers")),
        sa.UniqueConstraint("symbol", name=op.f("uq_tickers_symbol")),
    )
    op.create_index("idx_tickers_is_active", "tickers", ["is_active"], unique=False)
    op.create_table(
        "trade_drafts",
        sa.Column("trade_draft_id", sa.Uuid(), nullable=False),
        sa.Column("rev", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("created_at", rdt.UTCDateTime(), server_default=rdt.UtcNow(), nullable=False),
        sa.Column("updated_at", rdt.UTCDateTime(), server_default=rdt.UtcNow(), nullable=False),
        sa.CheckConstraint("rev >= 1", name=op.f("ck_trade_drafts_rev_positive")),
        sa.PrimaryKeyConstraint("trade_draft_id", name=op.f("pk_trade_drafts")),
    )
    op.create_table(
        "trade_versions",
        sa.Column("trade_version_id", sa.Uuid(), nullable=False),
        sa.Column("trade_hash", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("created_at", rdt.UTCDateTime(), server_default=rdt.UtcNow(), nullable=False),
        sa.Column("trade_json", rdt.CanonicalJSON(), nullable=False),
        sa.CheckConstraint(
            "length(trade_hash) = 64", name=op.f("ck_trade_versions_trade_hash_sha256")
        ),
        sa.PrimaryKeyConstraint("trade_version_id", name=op.f("pk_trade_versions")),
        sa.UniqueConstraint("trade_hash", name=op.f("uq_trade_versions_trade_hash")),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("username", sa.String(length=50), nullable=False),
        sa.Column("email", sa.String(length=255), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=True),
        sa.Column("first_name", sa.String(length=100), nullable=True),
        sa.Column("last_name", sa.String(length=100), nullable=True),
        sa.Column("role", sa.String(length=20), server_default=sa.text("'trader'"), nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("created_at", rdt.UTCDateTime(), server_default=rdt.UtcNow(), nullable=False),
        sa.Column("updated_at", rdt.UTCDateTime(), server_default=rdt.UtcNow(), nullable=False),
        sa.Column("last_login", rdt.UTCDateTime(), nullable=True),
        sa.CheckConstraint("\"role\" IN ('admin', 'trader', 'viewer')", name=op.f("ck_users_role")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("email", name=op.f("uq_users_email")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    op.create_index("idx_users_role", "users", ["role"], unique=False)
    op.create_table(
        "analytics_results",
        sa.Column("result_id", sa.Uuid(), nullable=False),
        sa.Column("trade_ref_type", sa.String(length=16), nullable=False),
        sa.Column("trade_ref_id", sa.Uuid(), nullable=False),
        sa.Column("trade_hash", sa.String(length=64), nullable=False),
        sa.Column("snapshot_id", sa.Uuid(), nullable=False),
        sa.Column("model_config_id", sa.Uuid(), nullable=False),
        sa.Column("scenario_grid_id", sa.Uuid(), nullable=False),
        sa.Column("measures_json", rdt.CanonicalJSON(), nullable=False),
        sa.Column("outputs_json", rdt.CanonicalJSON(), nullable=True),
        sa.Column("outputs_blob", sa.LargeBinary(), nullable=True),
        sa.Column("warnings_json", JSON, server_default=sa.text("'[]'"), nullable=False),
        sa.Column("errors_json", JSON, server_default=sa.text("'[]'"), nullable=False),
        sa.Column("created_at", rdt.UTCDateTime(), server_default=rdt.UtcNow(), nullable=False),
        sa.CheckConstraint(
            "\"trade_ref_type\" IN ('DRAFT', 'VERSION')",
            name=op.f("ck_analytics_results_trade_ref_type"),
        ),
        sa.CheckConstraint(
            "length(trade_hash) = 64", name=op.f("ck_analytics_results_trade_hash_sha256")
        ),
        sa.ForeignKeyConstraint(
            ["model_config_id"],
            ["model_configs.model_config_id"],
            name=op.f("fk_analytics_results_model_config_id_model_configs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["scenario_grid_id"],
            ["scenario_grids.scenario_grid_id"],
            name=op.f("fk_analytics_results_scenario_grid_id_scenario_grids"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["snapshot_id"],
            ["market_snapshots.snapshot_id"],
            name=op.f("fk_analytics_results_snapshot_id_market_snapshots"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("result_id", name=op.f("pk_analytics_results")),
        sa.UniqueConstraint(
            "trade_ref_type",
            "trade_ref_id",
            "trade_hash",
            "snapshot_id",
            "model_config_id",
            "scenario_grid_id",
            name="uq_analytics_results_evaluation_key",
        ),
    )
    op.create_index(
        "idx_analytics_results_snapshot", "analytics_results", ["snapshot_id"], unique=False
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", rdt.UTCDateTime(), server_default=rdt.UtcNow(), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("event_type", sa.String(length=100), nullable=False),
        sa.Column("event_payload_json", JSON, nullable=True),
        sa.Column("resource_type", sa.String(length=50), nullable=True),
        sa.Column("resource_id", sa.String(length=100), nullable=True),
        sa.Column("old_values", JSON, nullable=True),
        sa.Column("new_values", JSON, nullable=True),
        sa.Column("ip_address", sa.String(length=45), nullable=True),
        sa.Column("user_agent", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_audit_log_user_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index("idx_audit_log_actor", "audit_log", ["actor"], unique=False)
    op.create_index("idx_audit_logs_action", "audit_log", ["event_type"], unique=False)
    op.create_index(
        "idx_audit_logs_created_at",
        "audit_log",
        [sa.literal_column("created_at DESC")],
        unique=False,
    )
    op.create_index(
        "idx_audit_logs_resource", "audit_log", ["resource_type", "resource_id"], unique=False
    )
    op.create_index("idx_audit_logs_user_id", "audit_log", ["user_id"], unique=False)
    op.create_table(
        "export_history",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("export_type", sa.String(length=50), nullable=False),
        sa.Column("export_format", sa.String(length=20), nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=True),
        sa.Column("file_size_bytes", sa.Integer(), nullable=True),
        sa.Column("created_at", rdt.UTCDateTime(), server_default=rdt.UtcNow(), nullable=False),
        sa.CheckConstraint(
            "\"export_format\" IN ('csv', 'json', 'fix', 'parquet', 'html')",
            name=op.f("ck_export_history_export_format"),
        ),
        sa.CheckConstraint(
            "\"export_type\" IN ('portfolio', 'trades', 'modeling_session', 'tax_summary', 'analytics')",
            name=op.f("ck_export_history_export_type"),
        ),
        sa.CheckConstraint(
            "file_size_bytes IS NULL OR file_size_bytes >= 0",
            name=op.f("ck_export_history_file_size_nonnegative"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_export_history_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_export_history")),
    )
    op.create_index(
        "idx_export_history_user_created",
        "export_history",
        ["user_id", sa.literal_column("created_at DESC")],
        unique=False,
    )
    op.create_table(
        "factor_covariance_matrix",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("factor1_id", sa.Uuid(), nullable=False),
        sa.Column("factor2_id", sa.Uuid(), nullable=False),
        sa.Column("calculation_date", sa.Date(), nullable=False),
        sa.Column("covariance", rdt.DecimalType(20, 10), nullable=False),
        sa.Column("correlation", rdt.DecimalType(20, 10), nullable=True),
        sa.Column("created_at", rdt.UTCDateTime(), server_default=rdt.UtcNow(), nullable=False),
        sa.CheckConstraint(
            "factor1_id <= factor2_id", name=op.f("ck_factor_covariance_matrix_pair_ordered")
        ),
        sa.CheckConstraint(
            num("correlation IS NULL OR {correlation} >= -1 AND {correlation} <= 1"),
            name=op.f("ck_factor_covariance_matrix_correlation_range"),
        ),
        sa.ForeignKeyConstraint(
            ["factor1_id"],
            ["factor_definitions.id"],
            name=op.f("fk_factor_covariance_matrix_factor1_id_factor_definitions"),
        ),
        sa.ForeignKeyConstraint(
            ["factor2_id"],
            ["factor_definitions.id"],
            name=op.f("fk_factor_covariance_matrix_factor2_id_factor_definitions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_factor_covariance_matrix")),
        sa.UniqueConstraint(
            "factor1_id", "factor2_id", "calculation_date", name="uq_factor_covariance_pair_date"
        ),
    )
    op.create_index(
        "idx_factor_covariance_matrix_date",
        "factor_covariance_matrix",
        ["calculation_date"],
        unique=False,
    )
    op.create_table(
        "market_data_snapshots",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("ticker_id", sa.Uuid(), nullable=False),
        sa.Column("timestamp", rdt.UTCDateTime(), nullable=False),
        sa.Column("price", rdt.DecimalType(20, 8), nullable=False),
        sa.Column("bid", rdt.DecimalType(20, 8), nullable=True),
        sa.Column("ask", rdt.DecimalType(20, 8), nullable=True),
        sa.Column("volume", sa.BigInteger(), nullable=True),
        sa.Column("open_price", rdt.DecimalType(20, 8), nullable=True),
        sa.Column("high_price", rdt.DecimalType(20, 8), nullable=True),
        sa.Column("low_price", rdt.DecimalType(20, 8), nullable=True),
        sa.Column("previous_close", rdt.DecimalType(20, 8), nullable=True),
        sa.Column("change_amount", rdt.DecimalType(20, 8), nullable=True),
        sa.Column("change_percent", rdt.DecimalType(20, 10), nullable=True),
        sa.Column("created_at", rdt.UTCDateTime(), server_default=rdt.UtcNow(), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticker_id"], ["tickers.id"], name=op.f("fk_market_data_snapshots_ticker_id_tickers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_market_data_snapshots")),
    )
    op.create_index(
        "idx_market_data_ticker_timestamp",
        "market_data_snapshots",
        ["ticker_id", sa.literal_column("timestamp DESC")],
        unique=False,
    )
    op.create_index(
        "idx_market_data_timestamp",
        "market_data_snapshots",
        [sa.literal_column("timestamp DESC")],
        unique=False,
    )
    op.create_table(
        "options_chains",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("underlying_ticker_id", sa.Uuid(), nullable=False),
        sa.Column("expiration_date", sa.Date(), nullable=False),
        sa.Column("strike_price", rdt.DecimalType(20, 8), nullable=False),
        sa.Column("option_type", sa.String(length=16), nullable=False),
        sa.Column("symbol", sa.String(length=50), nullable=False),
        sa.Column("bid", rdt.DecimalType(20, 8), nullable=True),
        sa.Column("ask", rdt.DecimalType(20, 8), nullable=True),
        sa.Column("last_price", rdt.DecimalType(20, 8), nullable=True),
        sa.Column("volume", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("open_interest", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("implied_volatility", rdt.DecimalType(20, 10), nullable=True),
        sa.Column("delta", rdt.DecimalType(20, 10), nullable=True),
        sa.Column("gamma", rdt.DecimalType(20, 10), nullable=True),
        sa.Column("theta", rdt.DecimalType(20, 10), nullable=True),
        sa.Column("vega", rdt.DecimalType(20, 10), nullable=True),
        sa.Column("rho", rdt.DecimalType(20, 10), nullable=True),
        sa.Column("timestamp", rdt.UTCDateTime(), nullable=False),
        sa.Column("created_at", rdt.UTCDateTime(), server_default=rdt.UtcNow(), nullable=False),
        sa.CheckConstraint(
            "\"option_type\" IN ('call', 'put')", name=op.f("ck_options_chains_option_type")
        ),
        sa.ForeignKeyConstraint(
            ["underlying_ticker_id"],
            ["tickers.id"],
            name=op.f("fk_options_chains_underlying_ticker_id_tickers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_options_chains")),
    )
    op.create_index(
        "idx_options_chains_expiration", "options_chains", ["expiration_date"], unique=False
    )
    op.create_index("idx_options_chains_symbol", "options_chains", ["symbol"], unique=False)
    op.create_index(
        "idx_options_chains_timestamp",
        "options_chains",
        [sa.literal_column("timestamp DESC")],
        unique=False,
    )
    op.create_index(
        "idx_options_chains_underlying_exp_strike",
        "options_chains",
        ["underlying_ticker_id", "expiration_date", "strike_price"],
        unique=False,
    )
    op.create_table(
        "pnl_attribution_results",
        sa.Column("attribution_id", sa.Uuid(), nullable=False),
        sa.Column("trade_ref_type", sa.String(length=16), nullable=False),
        sa.Column("trade_ref_id", sa.Uuid(), nullable=False),
        sa.Column("trade_hash", sa.String(length=64), nullable=True),
        sa.Column("snapshot_id", sa.Uuid(), nullable=False),
        sa.Column("model_config_id", sa.Uuid(), nullable=False),
        sa.Column("base_state_json", rdt.CanonicalJSON(), nullable=False),
        sa.Column("compare_state_json", rdt.CanonicalJSON(), nullable=False),
        sa.Column("method", sa.String(length=32), nullable=False),
        sa.Column("outputs_json", rdt.CanonicalJSON(), nullable=False),
        sa.Column("warnings_json", JSON, server_default=sa.text("'[]'"), nullable=False),
        sa.Column("errors_json", JSON, server_default=sa.text("'[]'"), nullable=False),
        sa.Column("created_at", rdt.UTCDateTime(), server_default=rdt.UtcNow(), nullable=False),
        sa.CheckConstraint(
            "\"trade_ref_type\" IN ('DRAFT', 'VERSION')",
            name=op.f("ck_pnl_attribution_results_trade_ref_type"),
        ),
        sa.ForeignKeyConstraint(
            ["model_config_id"],
            ["model_configs.model_config_id"],
            name=op.f("fk_pnl_attribution_results_model_config_id_model_configs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["snapshot_id"],
            ["market_snapshots.snapshot_id"],
            name=op.f("fk_pnl_attribution_results_snapshot_id_market_snapshots"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("attribution_id", name=op.f("pk_pnl_attribution_results")),
    )
    op.create_index(
        "idx_pnl_attribution_results_snapshot",
        "pnl_attribution_results",
        ["snapshot_id"],
        unique=False,
    )
    op.create_index(
        "idx_pnl_attribution_results_trade",
        "pnl_attribution_results",
        ["trade_ref_type", "trade_ref_id"],
        unique=False,
    )
    op.create_table(
        "portfolios",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column(
            "base_currency", sa.String(length=3), server_default=sa.text("'USD'"), nullable=False
        ),
        sa.Column("created_at", rdt.UTCDateTime(), server_default=rdt.UtcNow(), nullable=False),
        sa.Column("updated_at", rdt.UTCDateTime(), server_default=rdt.UtcNow(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_portfolios_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portfolios")),
        sa.UniqueConstraint("user_id", "name", name=op.f("uq_portfolios_user_id_name")),
    )
    op.create_table(
        "signals",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("ticker_id", sa.Uuid(), nullable=True),
        sa.Column("symbol", sa.String(length=32), nullable=True),
        sa.Column("cycle_id", sa.Uuid(), nullable=True),
        sa.Column("side", sa.String(length=16), nullable=True),
        sa.Column("signal_type", sa.String(length=20), nullable=True),
        sa.Column("strategy_type", sa.String(length=50), nullable=True),
        sa.Column("confidence", rdt.DecimalType(20, 10), nullable=False),
        sa.Column("generated_at", rdt.UTCDateTime(), nullable=True),
        sa.Column("expires_at", rdt.UTCDateTime(), nullable=True),
        sa.Column(
            "status", sa.String(length=20), server_default=sa.text("'active'"), nullable=False
        ),
        sa.Column("underlying_price", rdt.DecimalType(20, 8), nullable=True),
        sa.Column("target_profit", rdt.DecimalType(20, 10), nullable=True),
        sa.Column("stop_loss", rdt.DecimalType(20, 10), nullable=True),
        sa.Column("max_risk", rdt.DecimalType(20, 8), nullable=True),
        sa.Column("max_reward", rdt.DecimalType(20, 8), nullable=True),
        sa.Column("probability_profit", rdt.DecimalType(20, 10), nullable=True),
        sa.Column("break_even_price", rdt.DecimalType(20, 8), nullable=True),
        sa.Column("analysis_data", JSON, nullable=True),
        sa.Column("strategy_payload", JSON, server_default=sa.text("'{}'"), nullable=False),
        sa.Column("created_at", rdt.UTCDateTime(), server_default=rdt.UtcNow(), nullable=False),
        sa.Column("updated_at", rdt.UTCDateTime(), server_default=rdt.UtcNow(), nullable=False),
        sa.CheckConstraint(
            '"cycle_id" IS NULL OR ("side" IS NOT NULL AND "symbol" IS NOT NULL)',
            name=op.f("ck_signals_seed004_fields"),
        ),
        sa.CheckConstraint(
            "\"side\" IS NULL OR \"side\" IN ('buy', 'sell')", name=op.f("ck_signals_side")
        ),
        sa.CheckConstraint(
            "\"signal_type\" IS NULL OR \"signal_type\" IN ('bullish', 'bearish', 'neutral')",
            name=op.f("ck_signals_signal_type"),
        ),
        sa.CheckConstraint(
            "\"status\" IN ('active', 'expired', 'executed', 'cancelled')",
            name=op.f("ck_signals_status"),
        ),
        sa.CheckConstraint(
            '"ticker_id" IS NULL OR ("signal_type" IS NOT NULL AND "strategy_type" IS NOT NULL AND "generated_at" IS NOT NULL AND "expires_at" IS NOT NULL AND "underlying_price" IS NOT NULL)',
            name=op.f("ck_signals_seed001_fields"),
        ),
        sa.CheckConstraint(
            "ticker_id IS NOT NULL OR symbol IS NOT NULL", name=op.f("ck_signals_ticker_or_symbol")
        ),
        sa.CheckConstraint(
            num(
                "probability_profit IS NULL OR {probability_profit} >= 0 AND {probability_profit} <= 1"
            ),
            name=op.f("ck_signals_probability_profit_range"),
        ),
        sa.CheckConstraint(
            num("{confidence} >= 0 AND {confidence} <= 1"), name=op.f("ck_signals_confidence_range")
        ),
        sa.ForeignKeyConstraint(
            ["ticker_id"], ["tickers.id"], name=op.f("fk_signals_ticker_id_tickers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signals")),
    )
    op.create_index(
        "idx_signals_confidence", "signals", [sa.literal_column("confidence DESC")], unique=False
    )
    op.create_index("idx_signals_cycle_id", "signals", ["cycle_id"], unique=False)
    op.create_index(
        "idx_signals_generated_at",
        "signals",
        [sa.literal_column("generated_at DESC")],
        unique=False,
    )
    op.create_index("idx_signals_status", "signals", ["status"], unique=False)
    op.create_index("idx_signals_strategy_type", "signals", ["strategy_type"], unique=False)
    op.create_index(
        "idx_signals_symbol_created_at",
        "signals",
        ["symbol", sa.literal_column("created_at DESC")],
        unique=False,
    )
    op.create_index("idx_signals_ticker_id", "signals", ["ticker_id"], unique=False)
    op.create_table(
        "snapshot_option_quotes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("receive_timestamp", rdt.UTCDateTime(), nullable=False),
        sa.Column("snapshot_id", sa.Uuid(), nullable=False),
        sa.Column("option_contract_id", sa.Uuid(), nullable=False),
        sa.Column("bid", rdt.DecimalType(20, 8), nullable=True),
        sa.Column("ask", rdt.DecimalType(20, 8), nullable=True),
        sa.Column("mark", rdt.DecimalType(20, 8), nullable=True),
        sa.Column("iv", sa.Double(), nullable=True),
        sa.Column("volume", sa.BigInteger(), nullable=True),
        sa.Column("open_interest", sa.BigInteger(), nullable=True),
        sa.Column("provider_timestamp", rdt.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["option_contract_id"],
            ["option_contracts.option_contract_id"],
            name=op.f("fk_snapshot_option_quotes_option_contract_id_option_contracts"),
        ),
        sa.ForeignKeyConstraint(
            ["snapshot_id"],
            ["market_snapshots.snapshot_id"],
            name=op.f("fk_snapshot_option_quotes_snapshot_id_market_snapshots"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", "receive_timestamp", name=op.f("pk_snapshot_option_quotes")),
        postgresql_partition_by="RANGE (receive_timestamp)",
    )
    op.create_index(
        "idx_snapshot_option_quotes_contract",
        "snapshot_option_quotes",
        ["option_contract_id"],
        unique=False,
    )
    op.create_index(
        "idx_snapshot_option_quotes_snapshot",
        "snapshot_option_quotes",
        ["snapshot_id"],
        unique=False,
    )
    op.create_table(
        "snapshot_underlying_quotes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("receive_timestamp", rdt.UTCDateTime(), nullable=False),
        sa.Column("snapshot_id", sa.Uuid(), nullable=False),
        sa.Column("symbol", sa.String(length=32), nullable=False),
        sa.Column("spot", rdt.DecimalType(20, 8), nullable=False),
        sa.Column("bid", rdt.DecimalType(20, 8), nullable=True),
        sa.Column("ask", rdt.DecimalType(20, 8), nullable=True),
        sa.Column("last", rdt.DecimalType(20, 8), nullable=True),
        sa.Column("provider_timestamp", rdt.UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            num("{spot} > 0"), name=op.f("ck_snapshot_underlying_quotes_spot_positive")
        ),
        sa.ForeignKeyConstraint(
            ["snapshot_id"],
            ["market_snapshots.snapshot_id"],
            name=op.f("fk_snapshot_underlying_quotes_snapshot_id_market_snapshots"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "id", "receive_timestamp", name=op.f("pk_snapshot_underlying_quotes")
        ),
        postgresql_partition_by="RANGE (receive_timestamp)",
    )
    op.create_index(
        "idx_snapshot_underlying_quotes_snapshot",
        "snapshot_underlying_quotes",
        ["snapshot_id"],
        unique=False,
    )
    op.create_table(
        "stress_scenario_shocks",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("scenario_id", sa.Uuid(), nullable=False),
        sa.Column("factor_id", sa.Uuid(), nullable=False),
        sa.Column("shock_amount", rdt.DecimalType(20, 10), nullable=False),
        sa.ForeignKeyConstraint(
            ["factor_id"],
            ["factor_definitions.id"],
            name=op.f("fk_stress_scenario_shocks_factor_id_factor_definitions"),
        ),
        sa.ForeignKeyConstraint(
            ["scenario_id"],
            ["stress_scenarios.id"],
            name=op.f("fk_stress_scenario_shocks_scenario_id_stress_scenarios"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stress_scenario_shocks")),
        sa.UniqueConstraint(
            "scenario_id", "factor_id", name=op.f("uq_stress_scenario_shocks_scenario_id_factor_id")
        ),
    )
    op.create_table(
        "tags",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column(
            "tag_type", sa.String(length=10), server_default=sa.text("'regular'"), nullable=False
        ),
        sa.Column("color", sa.String(length=16), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("created_at", rdt.UTCDateTime(), server_default=rdt.UtcNow(), nullable=False),
        sa.CheckConstraint(
            "\"tag_type\" IN ('regular', 'strategy')", name=op.f("ck_tags_tag_type")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_tags_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tags")),
        sa.UniqueConstraint("user_id", "name", name=op.f("uq_tags_user_id_name")),
    )
    op.create_table(
        "trade_draft_legs",
        sa.Column("leg_id", sa.Uuid(), nullable=False),
        sa.Column("trade_draft_id", sa.Uuid(), nullable=False),
        sa.Column("option_contract_id", sa.Uuid(), nullable=True),
        sa.Column("symbol", sa.String(length=32), nullable=True),
        sa.Column("signed_qty", rdt.DecimalType(20, 8), nullable=False),
        sa.Column("entry_price", rdt.DecimalType(20, 8), nullable=True),
        sa.Column("fees", rdt.DecimalType(20, 8), server_default=sa.text("0"), nullable=False),
        sa.Column("include_flag", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("created_at", rdt.UTCDateTime(), server_default=rdt.UtcNow(), nullable=False),
        sa.Column("updated_at", rdt.UTCDateTime(), server_default=rdt.UtcNow(), nullable=False),
        sa.CheckConstraint(
            "option_contract_id IS NOT NULL AND symbol IS NULL OR option_contract_id IS NULL AND symbol IS NOT NULL",
            name=op.f("ck_trade_draft_legs_one_instrument_ref"),
        ),
        sa.CheckConstraint(num("{fees} >= 0"), name=op.f("ck_trade_draft_legs_fees_nonnegative")),
        sa.CheckConstraint(
            num("{signed_qty} != 0"), name=op.f("ck_trade_draft_legs_signed_qty_nonzero")
        ),
        sa.ForeignKeyConstraint(
            ["option_contract_id"],
            ["option_contracts.option_contract_id"],
            name=op.f("fk_trade_draft_legs_option_contract_id_option_contracts"),
        ),
        sa.ForeignKeyConstraint(
            ["trade_draft_id"],
            ["trade_drafts.trade_draft_id"],
            name=op.f("fk_trade_draft_legs_trade_draft_id_trade_drafts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("leg_id", name=op.f("pk_trade_draft_legs")),
    )
    op.create_index(
        "idx_trade_draft_legs_draft", "trade_draft_legs", ["trade_draft_id"], unique=False
    )
    op.create_table(
        "trading_accounts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("account_number", sa.String(length=50), nullable=False),
        sa.Column("account_type", sa.String(length=20), nullable=False),
        sa.Column("broker", sa.String(length=20), server_default=sa.text("'ibkr'"), nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("buying_power", rdt.DecimalType(20, 8), nullable=True),
        sa.Column("net_liquidation", rdt.DecimalType(20, 8), nullable=True),
        sa.Column("total_cash", rdt.DecimalType(20, 8), nullable=True),
        sa.Column("api_credentials", sa.Text(), nullable=True),
        sa.Column("created_at", rdt.UTCDateTime(), server_default=rdt.UtcNow(), nullable=False),
        sa.Column("updated_at", rdt.UTCDateTime(), server_default=rdt.UtcNow(), nullable=False),
        sa.CheckConstraint(
            "api_credentials IS NULL OR api_credentials LIKE 'gAAAAA%'",
            name=op.f("ck_trading_accounts_api_credentials_encrypted"),
        ),
        sa.CheckConstraint(
            "\"account_type\" IN ('paper', 'live')", name=op.f("ck_trading_accounts_account_type")
        ),
        sa.CheckConstraint(
            "\"broker\" IN ('ibkr', 'tastytrade', 'simulated', 'paper')",
            name=op.f("ck_trading_accounts_broker"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_trading_accounts_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trading_accounts")),
    )
    op.create_index(
        "idx_trading_accounts_account_type", "trading_accounts", ["account_type"], unique=False
    )
    op.create_index("idx_trading_accounts_user_id", "trading_accounts", ["user_id"], unique=False)
    op.create_table(
        "user_sessions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.String(length=255), nullable=False),
        sa.Column("expires_at", rdt.UTCDateTime(), nullable=False),
        sa.Column("created_at", rdt.UTCDateTime(), server_default=rdt.UtcNow(), nullable=False),
        sa.Column("ip_address", sa.String(length=45), nullable=True),
        sa.Column("user_agent", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_user_sessions_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_sessions")),
    )
    op.create_index("idx_user_sessions_expires_at", "user_sessions", ["expires_at"], unique=False)
    op.create_index("idx_user_sessions_token_hash", "user_sessions", ["token_hash"], unique=False)
    op.create_index("idx_user_sessions_user_id", "user_sessions", ["user_id"], unique=False)
    op.create_table(
        "calculation_audit_log",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("calculation_type", sa.String(length=50), nullable=False),
        sa.Column("portfolio_id", sa.Uuid(), nullable=True),
        sa.Column("calculation_date", sa.Date(), nullable=False),
        sa.Column("start_time", rdt.UTCDateTime(), nullable=False),
        sa.Column("end_time", rdt.UTCDateTime(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("records_processed", sa.Integer(), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("created_at", rdt.UTCDateTime(), server_default=rdt.UtcNow(), nullable=False),
        sa.CheckConstraint(
            "\"status\" IN ('running', 'completed', 'failed')",
            name=op.f("ck_calculation_audit_log_status"),
        ),
        sa.CheckConstraint(
            "end_time IS NULL OR end_time >= start_time",
            name=op.f("ck_calculation_audit_log_end_after_start"),
        ),
        sa.ForeignKeyConstraint(
            ["portfolio_id"],
            ["portfolios.id"],
            name=op.f("fk_calculation_audit_log_portfolio_id_portfolios"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calculation_audit_log")),
    )
    op.create_index(
        "idx_calculation_audit_log_portfolio",
        "calculation_audit_log",
        ["portfolio_id"],
        unique=False,
    )
    op.create_index(
        "idx_calculation_audit_log_type_date",
        "calculation_audit_log",
        ["calculation_type", sa.literal_column("calculation_date DESC")],
        unique=False,
    )
    op.create_table(
        "daily_pnl",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("ticker_id", sa.Uuid(), nullable=True),
        sa.Column("trade_date", sa.Date(), nullable=False),
        sa.Column(
            "realized_pnl", rdt.DecimalType(20, 8), server_default=sa.text("0"), nullable=False
        ),
        sa.Column(
            "unrealized_pnl", rdt.DecimalType(20, 8), server_default=sa.text("0"), nullable=False
        ),
        sa.Column("total_pnl", rdt.DecimalType(20, 8), server_default=sa.text("0"), nullable=False),
        sa.Column(
            "commission", rdt.DecimalType(20, 8), server_default=sa.text("0"), nullable=False
        ),
        sa.Column("fees", rdt.DecimalType(20, 8), server_default=sa.text("0"), nullable=False),
        sa.Column("net_pnl", rdt.DecimalType(20, 8), server_default=sa.text("0"), nullable=False),
        sa.Column("trades_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("winning_trades", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("losing_trades", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("created_at", rdt.UTCDateTime(), server_default=rdt.UtcNow(), nullable=False),
        sa.Column("updated_at", rdt.UTCDateTime(), server_default=rdt.UtcNow(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["trading_accounts.id"],
            name=op.f("fk_daily_pnl_account_id_trading_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["ticker_id"], ["tickers.id"], name=op.f("fk_daily_pnl_ticker_id_tickers")
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_daily_pnl_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_daily_pnl")),
    )
    op.create_index(
        "idx_daily_pnl_ticker_date",
        "daily_pnl",
        ["ticker_id", sa.literal_column("trade_date DESC")],
        unique=False,
    )
    op.create_index(
        "idx_daily_pnl_user_account_date",
        "daily_pnl",
        ["user_id", "account_id", sa.literal_column("trade_date DESC")],
        unique=False,
    )
    op.create_table(
        "modeling_session_snapshots",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("session_id", sa.String(length=50), nullable=True),
        sa.Column("portfolio_id", sa.Uuid(), nullable=True),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column(
            "status", sa.String(length=20), server_default=sa.text("'active'"), nullable=False
        ),
        sa.Column("base_snapshot_date", sa.Date(), nullable=True),
        sa.Column("base_portfolio_snapshot", JSON, nullable=True),
        sa.Column("modified_portfolio_snapshot", JSON, nullable=True),
        sa.Column("changes", JSON, nullable=True),
        sa.Column("impact_summary", JSON, nullable=True),
        sa.Column("risk_metrics_before", JSON, nullable=True),
        sa.Column("risk_metrics_after", JSON, nullable=True),
        sa.Column("factor_exposures_change", JSON, nullable=True),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("created_at", rdt.UTCDateTime(), server_default=rdt.UtcNow(), nullable=False),
        sa.Column("updated_at", rdt.UTCDateTime(), server_default=rdt.UtcNow(), nullable=False),
        sa.Column("completed_at", rdt.UTCDateTime(), nullable=True),
        sa.CheckConstraint(
            "\"status\" IN ('active', 'completed', 'cancelled')",
            name=op.f("ck_modeling_session_snapshots_status"),
        ),
        sa.CheckConstraint(
            '("portfolio_id" IS NOT NULL AND "base_snapshot_date" IS NOT NULL AND "changes" IS NOT NULL AND "impact_summary" IS NOT NULL) OR ("session_id" IS NOT NULL AND "user_id" IS NOT NULL AND "base_portfolio_snapshot" IS NOT NULL)',
            name=op.f("ck_modeling_session_snapshots_definition_fields"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_modeling_session_snapshots_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["portfolio_id"],
            ["portfolios.id"],
            name=op.f("fk_modeling_session_snapshots_portfolio_id_portfolios"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_modeling_session_snapshots_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_modeling_session_snapshots")),
        sa.UniqueConstraint("session_id", name=op.f("uq_modeling_session_snapshots_session_id")),
    )
    op.create_index(
        "idx_modeling_sessions_portfolio",
        "modeling_session_snapshots",
        ["portfolio_id"],
        unique=False,
    )
    op.create_index(
        "idx_modeling_sessions_user_status",
        "modeling_session_snapshots",
        ["user_id", "status"],
        unique=False,
        postgresql_where=sa.text("status = 'active'"),
        sqlite_where=sa.text("status = 'active'"),
    )
    op.create_table(
        "performance_metrics",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("total_return", rdt.DecimalType(20, 10), nullable=True),
        sa.Column("total_trades", sa.Integer(), nullable=True),
        sa.Column("winning_trades", sa.Integer(), nullable=True),
        sa.Column("losing_trades", sa.Integer(), nullable=True),
        sa.Column("win_rate", rdt.DecimalType(20, 10), nullable=True),
        sa.Column("avg_win", rdt.DecimalType(20, 8), nullable=True),
        sa.Column("avg_loss", rdt.DecimalType(20, 8), nullable=True),
        sa.Column("profit_factor", rdt.DecimalType(20, 10), nullable=True),
        sa.Column("sharpe_ratio", rdt.DecimalType(20, 10), nullable=True),
        sa.Column("max_drawdown", rdt.DecimalType(20, 10), nullable=True),
        sa.Column("max_drawdown_duration", sa.Integer(), nullable=True),
        sa.Column("volatility", rdt.DecimalType(20, 10), nullable=True),
        sa.Column("created_at", rdt.UTCDateTime(), server_default=rdt.UtcNow(), nullable=False),
        sa.CheckConstraint(
            "period_end >= period_start", name=op.f("ck_performance_metrics_period_ordered")
        ),
        sa.CheckConstraint(
            num("win_rate IS NULL OR {win_rate} >= 0 AND {win_rate} <= 1"),
            name=op.f("ck_performance_metrics_win_rate_range"),
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["trading_accounts.id"],
            name=op.f("fk_performance_metrics_account_id_trading_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_performance_metrics_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_performance_metrics")),
        sa.UniqueConstraint(
            "user_id",
            "account_id",
            "period_start",
            "period_end",
            name="uq_performance_metrics_period",
        ),
    )
    op.create_index(
        "idx_performance_metrics_period",
        "performance_metrics",
        ["period_start", "period_end"],
        unique=False,
    )
    op.create_index(
        "idx_performance_metrics_user_account",
        "performance_metrics",
        ["user_id", "account_id"],
        unique=False,
    )
    op.create_table(
        "portfolio_factor_exposures",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("portfolio_id", sa.Uuid(), nullable=False),
        sa.Column("factor_id", sa.Uuid(), nullable=False),
        sa.Column("calculation_date", sa.Date(), nullable=False),
        sa.Column("exposure_value", rdt.DecimalType(20, 10), nullable=False),
        sa.Column("exposure_dollar", rdt.DecimalType(20, 8), nullable=True),
        sa.Column("created_at", rdt.UTCDateTime(), server_default=rdt.UtcNow(), nullable=False),
        sa.ForeignKeyConstraint(
            ["factor_id"],
            ["factor_definitions.id"],
            name=op.f("fk_portfolio_factor_exposures_factor_id_factor_definitions"),
        ),
        sa.ForeignKeyConstraint(
            ["portfolio_id"],
            ["portfolios.id"],
            name=op.f("fk_portfolio_factor_exposures_portfolio_id_portfolios"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portfolio_factor_exposures")),
        sa.UniqueConstraint(
            "portfolio_id",
            "factor_id",
            "calculation_date",
            name="uq_portfolio_factor_exposures_day",
        ),
    )
    op.create_index(
        "idx_portfolio_factor_exposures_date",
        "portfolio_factor_exposures",
        ["portfolio_id", "calculation_date"],
        unique=False,
    )
    op.create_table(
        "portfolio_snapshots",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("portfolio_id", sa.Uuid(), nullable=True),
        sa.Column("account_id", sa.Uuid(), nullable=True),
        sa.Column("snapshot_date", sa.Date(), nullable=True),
        sa.Column("frequency", sa.String(length=10), nullable=True),
        sa.Column("total_value", rdt.DecimalType(20, 8), nullable=True),
        sa.Column("long_exposure", rdt.DecimalType(20, 8), nullable=True),
        sa.Column("short_exposure", rdt.DecimalType(20, 8), nullable=True),
        sa.Column("gross_exposure", rdt.DecimalType(20, 8), nullable=True),
        sa.Column("net_exposure", rdt.DecimalType(20, 8), nullable=True),
        sa.Column("daily_pnl", rdt.DecimalType(20, 8), nullable=True),
        sa.Column("total_pnl", rdt.DecimalType(20, 8), nullable=True),
        sa.Column("portfolio_beta", rdt.DecimalType(20, 10), nullable=True),
        sa.Column("annualized_volatility", rdt.DecimalType(20, 10), nullable=True),
        sa.Column("position_correlation", rdt.DecimalType(20, 10), nullable=True),
        sa.Column("max_drawdown", rdt.DecimalType(20, 10), nullable=True),
        sa.Column("sharpe_ratio", rdt.DecimalType(20, 10), nullable=True),
        sa.Column("diversification_score", rdt.DecimalType(20, 10), nullable=True),
        sa.Column("nav", rdt.DecimalType(20, 8), nullable=True),
        sa.Column("cash", rdt.DecimalType(20, 8), nullable=True),
        sa.Column("realized_pnl", rdt.DecimalType(20, 8), nullable=True),
        sa.Column("unrealized_pnl", rdt.DecimalType(20, 8), nullable=True),
        sa.Column("captured_at", rdt.UTCDateTime(), server_default=rdt.UtcNow(), nullable=False),
        sa.Column("created_at", rdt.UTCDateTime(), server_default=rdt.UtcNow(), nullable=False),
        sa.Column("updated_at", rdt.UTCDateTime(), server_default=rdt.UtcNow(), nullable=False),
        sa.CheckConstraint(
            "\"frequency\" IS NULL OR \"frequency\" IN ('daily', 'weekly', 'monthly')",
            name=op.f("ck_portfolio_snapshots_frequency"),
        ),
        sa.CheckConstraint(
            '("portfolio_id" IS NOT NULL AND "snapshot_date" IS NOT NULL AND "frequency" IS NOT NULL AND "total_value" IS NOT NULL AND "long_exposure" IS NOT NULL AND "short_exposure" IS NOT NULL AND "gross_exposure" IS NOT NULL AND "net_exposure" IS NOT NULL) OR ("nav" IS NOT NULL AND "cash" IS NOT NULL AND "realized_pnl" IS NOT NULL AND "unrealized_pnl" IS NOT NULL)',
            name=op.f("ck_portfolio_snapshots_seed002_or_seed004"),
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["trading_accounts.id"],
            name=op.f("fk_portfolio_snapshots_account_id_trading_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["portfolio_id"],
            ["portfolios.id"],
            name=op.f("fk_portfolio_snapshots_portfolio_id_portfolios"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portfolio_snapshots")),
        sa.UniqueConstraint(
            "portfolio_id",
            "snapshot_date",
            "frequency",
            name=op.f("uq_portfolio_snapshots_portfolio_id_snapshot_date_frequency"),
        ),
    )
    op.create_index(
        "idx_portfolio_snapshots_account_captured",
        "portfolio_snapshots",
        ["account_id", sa.literal_column("captured_at DESC")],
        unique=False,
    )
    op.create_index(
        "idx_portfolio_snapshots_captured_at",
        "portfolio_snapshots",
        [sa.literal_column("captured_at DESC")],
        unique=False,
    )
    op.create_table(
        "risk_parameters",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("parameter_name", sa.String(length=50), nullable=False),
        sa.Column("parameter_value", rdt.DecimalType(20, 10), nullable=False),
        sa.Column("parameter_type", sa.String(length=20), nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("created_at", rdt.UTCDateTime(), server_default=rdt.UtcNow(), nullable=False),
        sa.Column("updated_at", rdt.UTCDateTime(), server_default=rdt.UtcNow(), nullable=False),
        sa.CheckConstraint(
            "\"parameter_type\" IN ('percentage', 'absolute', 'multiplier')",
            name=op.f("ck_risk_parameters_parameter_type"),
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["trading_accounts.id"],
            name=op.f("fk_risk_parameters_account_id_trading_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_risk_parameters_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_parameters")),
        sa.UniqueConstraint(
            "user_id", "account_id", "parameter_name", name="uq_risk_parameters_user_account_name"
        ),
    )
    op.create_index("idx_risk_parameters_name", "risk_parameters", ["parameter_name"], unique=False)
    op.create_index(
        "idx_risk_parameters_user_account",
        "risk_parameters",
        ["user_id", "account_id"],
        unique=False,
    )
    op.create_table(
        "signal_legs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("signal_id", sa.Uuid(), nullable=False),
        sa.Column("leg_order", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=10), nullable=False),
        sa.Column("option_type", sa.String(length=16), nullable=False),
        sa.Column("strike_price", rdt.DecimalType(20, 8), nullable=False),
        sa.Column("expiration_date", sa.Date(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("estimated_price", rdt.DecimalType(20, 8), nullable=True),
        sa.Column("option_symbol", sa.String(length=50), nullable=True),
        sa.Column("created_at", rdt.UTCDateTime(), server_default=rdt.UtcNow(), nullable=False),
        sa.CheckConstraint("\"action\" IN ('buy', 'sell')", name=op.f("ck_signal_legs_action")),
        sa.CheckConstraint(
            "\"option_type\" IN ('call', 'put')", name=op.f("ck_signal_legs_option_type")
        ),
        sa.ForeignKeyConstraint(
            ["signal_id"],
            ["signals.id"],
            name=op.f("fk_signal_legs_signal_id_signals"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signal_legs")),
    )
    op.create_index(
        "idx_signal_legs_leg_order", "signal_legs", ["signal_id", "leg_order"], unique=False
    )
    op.create_index("idx_signal_legs_signal_id", "signal_legs", ["signal_id"], unique=False)
    op.create_table(
        "strategy_groups",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("portfolio_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("strategy_type", sa.String(length=50), nullable=True),
        sa.Column("tag_id", sa.Uuid(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("created_at", rdt.UTCDateTime(), server_default=rdt.UtcNow(), nullable=False),
        sa.Column("updated_at", rdt.UTCDateTime(), server_default=rdt.UtcNow(), nullable=False),
        sa.ForeignKeyConstraint(
            ["portfolio_id"],
            ["portfolios.id"],
            name=op.f("fk_strategy_groups_portfolio_id_portfolios"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tag_id"],
            ["tags.id"],
            name=op.f("fk_strategy_groups_tag_id_tags"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_strategy_groups")),
        sa.UniqueConstraint(
            "portfolio_id", "name", name=op.f("uq_strategy_groups_portfolio_id_name")
        ),
    )
    op.create_index("idx_strategy_groups_tag", "strategy_groups", ["tag_id"], unique=False)
    op.create_table(
        "trades",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("account_id", sa.Uuid(), nullable=True),
        sa.Column("signal_id", sa.Uuid(), nullable=True),
        sa.Column("ticker_id", sa.Uuid(), nullable=True),
        sa.Column("strategy_type", sa.String(length=50), nullable=True),
        sa.Column("trade_type", sa.String(length=20), nullable=True),
        sa.Column(
            "status", sa.String(length=20), server_default=sa.text("'pending'"), nullable=False
        ),
        sa.Column("opened_at", rdt.UTCDateTime(), nullable=True),
        sa.Column("closed_at", rdt.UTCDateTime(), nullable=True),
        sa.Column("total_cost", rdt.DecimalType(20, 8), nullable=True),
        sa.Column("total_proceeds", rdt.DecimalType(20, 8), nullable=True),
        sa.Column("realized_pnl", rdt.DecimalType(20, 8), nullable=True),
        sa.Column("unrealized_pnl", rdt.DecimalType(20, 8), nullable=True),
        sa.Column("commission", rdt.DecimalType(20, 8), nullable=True),
        sa.Column("fees", rdt.DecimalType(20, 8), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("broker", sa.String(length=20), nullable=True),
        sa.Column("broker_account_id", sa.String(length=64), nullable=True),
        sa.Column("symbol", sa.String(length=64), nullable=True),
        sa.Column("contract_key", sa.String(length=64), nullable=True),
        sa.Column("action", sa.String(length=32), nullable=True),
        sa.Column("quantity", rdt.DecimalType(20, 8), nullable=True),
        sa.Column("price", rdt.DecimalType(20, 8), nullable=True),
        sa.Column("strategy_tag", sa.String(length=64), nullable=True),
        sa.Column("metadata", JSON, nullable=True),
        sa.Column("created_at", rdt.UTCDateTime(), server_default=rdt.UtcNow(), nullable=False),
        sa.Column("updated_at", rdt.UTCDateTime(), server_default=rdt.UtcNow(), nullable=False),
        sa.CheckConstraint(
            "\"broker\" IS NULL OR \"broker\" IN ('ibkr', 'tastytrade', 'simulated', 'paper')",
            name=op.f("ck_trades_broker"),
        ),
        sa.CheckConstraint(
            "\"status\" IN ('pending', 'submitted', 'filled', 'partially_filled', 'cancelled', 'rejected')",
            name=op.f("ck_trades_status"),
        ),
        sa.CheckConstraint(
            "\"trade_type\" IS NULL OR \"trade_type\" IN ('manual', 'automated')",
            name=op.f("ck_trades_trade_type"),
        ),
        sa.CheckConstraint(
            '("user_id" IS NOT NULL AND "account_id" IS NOT NULL AND "ticker_id" IS NOT NULL AND "strategy_type" IS NOT NULL AND "trade_type" IS NOT NULL AND "opened_at" IS NOT NULL) OR ("broker" IS NOT NULL AND "broker_account_id" IS NOT NULL AND "symbol" IS NOT NULL AND "action" IS NOT NULL AND "quantity" IS NOT NULL)',
            name=op.f("ck_trades_seed001_or_seed003"),
        ),
        sa.CheckConstraint(
            num("quantity IS NULL OR {quantity} != 0"), name=op.f("ck_trades_quantity_nonzero")
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["trading_accounts.id"],
            name=op.f("fk_trades_account_id_trading_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["signal_id"], ["signals.id"], name=op.f("fk_trades_signal_id_signals")
        ),
        sa.ForeignKeyConstraint(
            ["ticker_id"], ["tickers.id"], name=op.f("fk_trades_ticker_id_tickers")
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_trades_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trades")),
    )
    op.create_index("idx_trades_account_id", "trades", ["account_id"], unique=False)
    op.create_index(
        "idx_trades_broker_account_created",
        "trades",
        ["broker", "broker_account_id", sa.literal_column("created_at DESC")],
        unique=False,
    )
    op.create_index(
        "idx_trades_opened_at", "trades", [sa.literal_column("opened_at DESC")], unique=False
    )
    op.create_index("idx_trades_signal_id", "trades", ["signal_id"], unique=False)
    op.create_index("idx_trades_status", "trades", ["status"], unique=False)
    op.create_index(
        "idx_trades_symbol_created",
        "trades",
        ["symbol", sa.literal_column("created_at DESC")],
        unique=False,
    )
    op.create_index("idx_trades_user_id", "trades", ["user_id"], unique=False)
    op.create_table(
        "positions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("portfolio_id", sa.Uuid(), nullable=True),
        sa.Column("account_id", sa.Uuid(), nullable=True),
        sa.Column("strategy_group_id", sa.Uuid(), nullable=True),
        sa.Column("symbol", sa.String(length=64), nullable=False),
        sa.Column("position_type", sa.String(length=16), nullable=True),
        sa.Column("quantity", rdt.DecimalType(20, 8), nullable=False),
        sa.Column("avg_entry_price", rdt.DecimalType(20, 8), nullable=False),
        sa.Column("entry_date", sa.Date(), nullable=True),
        sa.Column("exit_price", rdt.DecimalType(20, 8), nullable=True),
        sa.Column("exit_date", sa.Date(), nullable=True),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("strike_price", rdt.DecimalType(20, 8), nullable=True),
        sa.Column("expiration_date", sa.Date(), nullable=True),
        sa.Column("underlying_ticker", sa.String(length=32), nullable=True),
        sa.Column("mark_price", rdt.DecimalType(20, 8), nullable=True),
        sa.Column("unrealized_pnl", rdt.DecimalType(20, 8), nullable=True),
        sa.Column("created_at", rdt.UTCDateTime(), server_default=rdt.UtcNow(), nullable=False),
        sa.Column("updated_at", rdt.UTCDateTime(), server_default=rdt.UtcNow(), nullable=False),
        sa.CheckConstraint(
            '"account_id" IS NULL OR ("mark_price" IS NOT NULL AND "unrealized_pnl" IS NOT NULL)',
            name=op.f("ck_positions_seed004_fields"),
        ),
        sa.CheckConstraint(
            '"portfolio_id" IS NULL OR ("position_type" IS NOT NULL AND "entry_date" IS NOT NULL)',
            name=op.f("ck_positions_seed002_fields"),
        ),
        sa.CheckConstraint(
            "\"position_type\" IS NULL OR \"position_type\" IN ('LONG', 'SHORT', 'LC', 'LP', 'SC', 'SP')",
            name=op.f("ck_positions_position_type"),
        ),
        sa.CheckConstraint(
            "portfolio_id IS NOT NULL AND account_id IS NULL OR portfolio_id IS NULL AND account_id IS NOT NULL",
            name=op.f("ck_positions_one_owner"),
        ),
        sa.CheckConstraint(
            num("portfolio_id IS NULL OR {quantity} != 0"),
            name=op.f("ck_positions_portfolio_quantity_nonzero"),
        ),
        sa.CheckConstraint(
            num("{avg_entry_price} >= 0"), name=op.f("ck_positions_avg_entry_price_nonnegative")
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["trading_accounts.id"],
            name=op.f("fk_positions_account_id_trading_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["portfolio_id"],
            ["portfolios.id"],
            name=op.f("fk_positions_portfolio_id_portfolios"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["strategy_group_id"],
            ["strategy_groups.id"],
            name=op.f("fk_positions_strategy_group_id_strategy_groups"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_positions")),
        sa.UniqueConstraint("account_id", "symbol", name=op.f("uq_positions_account_id_symbol")),
    )
    op.create_index(
        "idx_positions_portfolio_active", "positions", ["portfolio_id", "is_active"], unique=False
    )
    op.create_index(
        "idx_positions_strategy_group", "positions", ["strategy_group_id"], unique=False
    )
    op.create_index("idx_positions_symbol", "positions", ["symbol"], unique=False)
    op.create_index(
        "idx_positions_type_active", "positions", ["position_type", "is_active"], unique=False
    )
    op.create_index(
        "uq_positions_portfolio_symbol_active",
        "positions",
        ["portfolio_id", "symbol"],
        unique=True,
        postgresql_where=sa.text("is_active"),
        sqlite_where=sa.text("is_active"),
    )
    op.create_table(
        "trade_legs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("trade_id", sa.Uuid(), nullable=False),
        sa.Column("leg_order", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=10), nullable=False),
        sa.Column("option_symbol", sa.String(length=50), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("avg_fill_price", rdt.DecimalType(20, 8), nullable=True),
        sa.Column("commission", rdt.DecimalType(20, 8), nullable=True),
        sa.Column("fees", rdt.DecimalType(20, 8), nullable=True),
        sa.Column(
            "status", sa.String(length=20), server_default=sa.text("'pending'"), nullable=False
        ),
        sa.Column("filled_quantity", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("remaining_quantity", sa.Integer(), nullable=True),
        sa.Column("created_at", rdt.UTCDateTime(), server_default=rdt.UtcNow(), nullable=False),
        sa.Column("updated_at", rdt.UTCDateTime(), server_default=rdt.UtcNow(), nullable=False),
        sa.CheckConstraint("\"action\" IN ('buy', 'sell')", name=op.f("ck_trade_legs_action")),
        sa.CheckConstraint(
            "\"status\" IN ('pending', 'filled', 'partially_filled', 'cancelled')",
            name=op.f("ck_trade_legs_status"),
        ),
        sa.ForeignKeyConstraint(
            ["trade_id"],
            ["trades.id"],
            name=op.f("fk_trade_legs_trade_id_trades"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trade_legs")),
    )
    op.create_index("idx_trade_legs_option_symbol", "trade_legs", ["option_symbol"], unique=False)
    op.create_index("idx_trade_legs_trade_id", "trade_legs", ["trade_id"], unique=False)
    op.create_table(
        "orders",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("trade_leg_id", sa.Uuid(), nullable=True),
        sa.Column("signal_id", sa.Uuid(), nullable=True),
        sa.Column("cycle_id", sa.Uuid(), nullable=True),
        sa.Column("broker_order_id", sa.String(length=100), nullable=True),
        sa.Column("symbol", sa.String(length=64), nullable=True),
        sa.Column("order_type", sa.String(length=20), nullable=True),
        sa.Column("side", sa.String(length=16), nullable=False),
        sa.Column("qty", rdt.DecimalType(20, 8), nullable=False),
        sa.Column("limit_price", rdt.DecimalType(20, 8), nullable=True),
        sa.Column("stop_price", rdt.DecimalType(20, 8), nullable=True),
        sa.Column(
            "time_in_force", sa.String(length=10), server_default=sa.text("'DAY'"), nullable=False
        ),
        sa.Column(
            "status", sa.String(length=20), server_default=sa.text("'pending'"), nullable=False
        ),
        sa.Column("risk_reason", sa.Text(), nullable=True),
        sa.Column(
            "filled_quantity", rdt.DecimalType(20, 8), server_default=sa.text("0"), nullable=False
        ),
        sa.Column("avg_fill_price", rdt.DecimalType(20, 8), nullable=True),
        sa.Column("submitted_at", rdt.UTCDateTime(), nullable=True),
        sa.Column("filled_at", rdt.UTCDateTime(), nullable=True),
        sa.Column("cancelled_at", rdt.UTCDateTime(), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("created_at", rdt.UTCDateTime(), server_default=rdt.UtcNow(), nullable=False),
        sa.Column("updated_at", rdt.UTCDateTime(), server_default=rdt.UtcNow(), nullable=False),
        sa.CheckConstraint(
            "\"order_type\" IS NULL OR \"order_type\" IN ('market', 'limit', 'stop', 'stop_limit')",
            name=op.f("ck_orders_order_type"),
        ),
        sa.CheckConstraint("\"side\" IN ('buy', 'sell')", name=op.f("ck_orders_side")),
        sa.CheckConstraint(
            "\"status\" IN ('pending', 'submitted', 'filled', 'partially_filled', 'cancelled', 'rejected', 'proposed', 'approved', 'executed', 'canceled')",
            name=op.f("ck_orders_status"),
        ),
        sa.CheckConstraint(
            "\"time_in_force\" IN ('DAY', 'GTC', 'IOC', 'FOK')",
            name=op.f("ck_orders_time_in_force"),
        ),
        sa.CheckConstraint(
            '"trade_leg_id" IS NOT NULL OR ("signal_id" IS NOT NULL AND "cycle_id" IS NOT NULL AND "symbol" IS NOT NULL)',
            name=op.f("ck_orders_lineage"),
        ),
        sa.CheckConstraint(
            '"trade_leg_id" IS NULL OR "order_type" IS NOT NULL',
            name=op.f("ck_orders_seed001_fields"),
        ),
        sa.CheckConstraint(
            num("{filled_quantity} >= 0"), name=op.f("ck_orders_filled_quantity_nonnegative")
        ),
        sa.CheckConstraint(num("{qty} > 0"), name=op.f("ck_orders_qty_positive")),
        sa.ForeignKeyConstraint(
            ["signal_id"], ["signals.id"], name=op.f("fk_orders_signal_id_signals")
        ),
        sa.ForeignKeyConstraint(
            ["trade_leg_id"], ["trade_legs.id"], name=op.f("fk_orders_trade_leg_id_trade_legs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orders")),
    )
    op.create_index("idx_orders_broker_order_id", "orders", ["broker_order_id"], unique=False)
    op.create_index("idx_orders_cycle_id", "orders", ["cycle_id"], unique=False)
    op.create_index("idx_orders_signal_id", "orders", ["signal_id"], unique=False)
    op.create_index("idx_orders_status", "orders", ["status"], unique=False)
    op.create_index(
        "idx_orders_status_created_at",
        "orders",
        ["status", sa.literal_column("created_at DESC")],
        unique=False,
    )
    op.create_index(
        "idx_orders_submitted_at", "orders", [sa.literal_column("submitted_at DESC")], unique=False
    )
    op.create_index(
        "idx_orders_symbol_created_at",
        "orders",
        ["symbol", sa.literal_column("created_at DESC")],
        unique=False,
    )
    op.create_index("idx_orders_trade_leg_id", "orders", ["trade_leg_id"], unique=False)
    op.create_table(
        "position_attributes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("position_id", sa.Uuid(), nullable=False),
        sa.Column("attribute_name", sa.String(length=100), nullable=False),
        sa.Column("attribute_value", sa.Text(), nullable=True),
        sa.Column("created_at", rdt.UTCDateTime(), server_default=rdt.UtcNow(), nullable=False),
        sa.Column("updated_at", rdt.UTCDateTime(), server_default=rdt.UtcNow(), nullable=False),
        sa.ForeignKeyConstraint(
            ["position_id"],
            ["positions.id"],
            name=op.f("fk_position_attributes_position_id_positions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_position_attributes")),
        sa.UniqueConstraint(
            "position_id",
            "attribute_name",
            name=op.f("uq_position_attributes_position_id_attribute_name"),
        ),
    )
    op.create_table(
        "position_correlation_matrix",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("position1_id", sa.Uuid(), nullable=False),
        sa.Column("position2_id", sa.Uuid(), nullable=False),
        sa.Column("calculation_date", sa.Date(), nullable=False),
        sa.Column("correlation", rdt.DecimalType(20, 10), nullable=False),
        sa.Column("created_at", rdt.UTCDateTime(), server_default=rdt.UtcNow(), nullable=False),
        sa.CheckConstraint(
            "position1_id < position2_id", name=op.f("ck_position_correlation_matrix_pair_ordered")
        ),
        sa.CheckConstraint(
            num("correlation IS NULL OR {correlation} >= -1 AND {correlation} <= 1"),
            name=op.f("ck_position_correlation_matrix_correlation_range"),
        ),
        sa.ForeignKeyConstraint(
            ["position1_id"],
            ["positions.id"],
            name=op.f("fk_position_correlation_matrix_position1_id_positions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["position2_id"],
            ["positions.id"],
            name=op.f("fk_position_correlation_matrix_position2_id_positions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_position_correlation_matrix")),
        sa.UniqueConstraint(
            "position1_id",
            "position2_id",
            "calculation_date",
            name="uq_position_correlation_pair_date",
        ),
    )
    op.create_index(
        "idx_position_correlation_matrix_date",
        "position_correlation_matrix",
        ["calculation_date"],
        unique=False,
    )
    op.create_table(
        "position_factor_betas",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("position_id", sa.Uuid(), nullable=False),
        sa.Column("factor_id", sa.Uuid(), nullable=False),
        sa.Column("calculation_date", sa.Date(), nullable=False),
        sa.Column("beta", rdt.DecimalType(20, 10), nullable=False),
        sa.Column("r_squared", rdt.DecimalType(20, 10), nullable=True),
        sa.Column("observations", sa.Integer(), nullable=True),
        sa.Column("created_at", rdt.UTCDateTime(), server_default=rdt.UtcNow(), nullable=False),
        sa.CheckConstraint(
            "observations IS NULL OR observations >= 0",
            name=op.f("ck_position_factor_betas_observations_nonnegative"),
        ),
        sa.ForeignKeyConstraint(
            ["factor_id"],
            ["factor_definitions.id"],
            name=op.f("fk_position_factor_betas_factor_id_factor_definitions"),
        ),
        sa.ForeignKeyConstraint(
            ["position_id"],
            ["positions.id"],
            name=op.f("fk_position_factor_betas_position_id_positions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_position_factor_betas")),
        sa.UniqueConstraint(
            "position_id",
            "factor_id",
            "calculation_date",
            name=op.f("uq_position_factor_betas_position_id_factor_id_calculation_date"),
        ),
    )
    op.create_index(
        "idx_position_factor_betas_factor_date",
        "position_factor_betas",
        ["factor_id", "calculation_date"],
        unique=False,
    )
    op.create_table(
        "position_greeks",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("position_id", sa.Uuid(), nullable=False),
        sa.Column("calculation_date", sa.Date(), nullable=False),
        sa.Column("delta", rdt.DecimalType(20, 10), nullable=True),
        sa.Column("gamma", rdt.DecimalType(20, 10), nullable=True),
        sa.Column("theta", rdt.DecimalType(20, 10), nullable=True),
        sa.Column("vega", rdt.DecimalType(20, 10), nullable=True),
        sa.Column("rho", rdt.DecimalType(20, 10), nullable=True),
        sa.Column("created_at", rdt.UTCDateTime(), server_default=rdt.UtcNow(), nullable=False),
        sa.ForeignKeyConstraint(
            ["position_id"],
            ["positions.id"],
            name=op.f("fk_position_greeks_position_id_positions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_position_greeks")),
        sa.UniqueConstraint(
            "position_id",
            "calculation_date",
            name=op.f("uq_position_greeks_position_id_calculation_date"),
        ),
    )
    op.create_index(
        "idx_position_greeks_position_date",
        "position_greeks",
        ["position_id", sa.literal_column("calculation_date DESC")],
        unique=False,
    )
    op.create_table(
        "position_relationships",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("parent_position_id", sa.Uuid(), nullable=False),
        sa.Column("child_position_id", sa.Uuid(), nullable=False),
        sa.Column("relationship_type", sa.String(length=32), nullable=False),
        sa.Column("created_at", rdt.UTCDateTime(), server_default=rdt.UtcNow(), nullable=False),
        sa.CheckConstraint(
            "parent_position_id != child_position_id",
            name=op.f("ck_position_relationships_not_self"),
        ),
        sa.ForeignKeyConstraint(
            ["child_position_id"],
            ["positions.id"],
            name=op.f("fk_position_relationships_child_position_id_positions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["parent_position_id"],
            ["positions.id"],
            name=op.f("fk_position_relationships_parent_position_id_positions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_position_relationships")),
        sa.UniqueConstraint(
            "parent_position_id",
            "child_position_id",
            "relationship_type",
            name="uq_position_relationships_link",
        ),
    )
    op.create_index(
        "idx_position_relationships_child",
        "position_relationships",
        ["child_position_id"],
        unique=False,
    )
    op.create_table(
        "position_tags",
        sa.Column("position_id", sa.Uuid(), nullable=False),
        sa.Column("tag_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", rdt.UTCDateTime(), server_default=rdt.UtcNow(), nullable=False),
        sa.ForeignKeyConstraint(
            ["position_id"],
            ["positions.id"],
            name=op.f("fk_position_tags_position_id_positions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tag_id"], ["tags.id"], name=op.f("fk_position_tags_tag_id_tags"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("position_id", "tag_id", name=op.f("pk_position_tags")),
    )
    op.create_index("idx_position_tags_tag", "position_tags", ["tag_id"], unique=False)
    op.create_table(
        "fills",
        sa.Column("fill_id", sa.Uuid(), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("symbol", sa.String(length=64), nullable=False),
        sa.Column("side", sa.String(length=16), nullable=False),
        sa.Column("qty", rdt.DecimalType(20, 8), nullable=False),
        sa.Column("fill_price", rdt.DecimalType(20, 8), nullable=False),
        sa.Column("fee", rdt.DecimalType(20, 8), server_default=sa.text("0"), nullable=False),
        sa.Column("slippage_bps", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("filled_at", rdt.UTCDateTime(), nullable=False),
        sa.CheckConstraint("\"side\" IN ('buy', 'sell')", name=op.f("ck_fills_side")),
        sa.CheckConstraint("slippage_bps >= 0", name=op.f("ck_fills_slippage_bps_nonnegative")),
        sa.CheckConstraint(num("{qty} > 0"), name=op.f("ck_fills_qty_positive")),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_fills_order_id_orders")),
        sa.PrimaryKeyConstraint("fill_id", name=op.f("pk_fills")),
    )
    op.create_index(
        "idx_fills_order_id_filled_at",
        "fills",
        ["order_id", sa.literal_column("filled_at DESC")],
        unique=False,
    )
    op.create_index(
        "idx_fills_symbol_filled_at",
        "fills",
        ["symbol", sa.literal_column("filled_at DESC")],
        unique=False,
    )
    op.create_table(
        "risk_events",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("account_id", sa.Uuid(), nullable=True),
        sa.Column("order_id", sa.Uuid(), nullable=True),
        sa.Column("event_type", sa.String(length=50), nullable=True),
        sa.Column("severity", sa.String(length=20), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("triggered_value", rdt.DecimalType(20, 10), nullable=True),
        sa.Column("threshold_value", rdt.DecimalType(20, 10), nullable=True),
        sa.Column("action_taken", sa.String(length=100), nullable=True),
        sa.Column("resolved_at", rdt.UTCDateTime(), nullable=True),
        sa.Column("action", sa.String(length=10), nullable=True),
        sa.Column("rule", sa.String(length=100), nullable=True),
        sa.Column("details", JSON, server_default=sa.text("'{}'"), nullable=False),
        sa.Column("created_at", rdt.UTCDateTime(), server_default=rdt.UtcNow(), nullable=False),
        sa.CheckConstraint(
            "\"action\" IS NULL OR \"action\" IN ('blocked', 'allowed', 'warned')",
            name=op.f("ck_risk_events_action"),
        ),
        sa.CheckConstraint(
            "\"severity\" IS NULL OR \"severity\" IN ('low', 'medium', 'high', 'critical')",
            name=op.f("ck_risk_events_severity"),
        ),
        sa.CheckConstraint(
            '("event_type" IS NOT NULL AND "severity" IS NOT NULL AND "description" IS NOT NULL) OR ("order_id" IS NOT NULL AND "action" IS NOT NULL AND "rule" IS NOT NULL)',
            name=op.f("ck_risk_events_seed001_or_seed004"),
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["trading_accounts.id"],
            name=op.f("fk_risk_events_account_id_trading_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_risk_events_order_id_orders")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_risk_events_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_events")),
    )
    op.create_index("idx_risk_events_account_id", "risk_events", ["account_id"], unique=False)
    op.create_index(
        "idx_risk_events_created_at",
        "risk_events",
        [sa.literal_column("created_at DESC")],
        unique=False,
    )
    op.create_index(
        "idx_risk_events_order_id_created_at",
        "risk_events",
        ["order_id", sa.literal_column("created_at DESC")],
        unique=False,
    )
    op.create_index("idx_risk_events_severity", "risk_events", ["severity"], unique=False)
    op.create_index("idx_risk_events_user_id", "risk_events", ["user_id"], unique=False)
