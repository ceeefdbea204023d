"""Paper trading: accounts with a starting cash, multi-leg orders, idempotency, order history.

* ``trading_accounts.starting_cash``; an account number is unique per user;
* ``orders``: ``trade_id`` (a paper order's legs are its trade's legs), ``account_id``,
  ``idempotency_key`` (unique per account) with ``request_sha256``, ``triggered`` (a stop
  that has fired); status ``expired``; the lineage rule accepts a trade;
* ``order_events``: every status transition of an order, numbered per order (``seq``), with
  its time and reason (append-only);
* ``fills``: ``trade_leg_id``, ``execution_id`` (the legs of one net execution),
  ``commission``, ``multiplier`` and ``net_price``; fills become append-only;
* ``trade_legs.ratio`` / ``multiplier``; ``positions.realized_pnl`` / ``cost_basis`` /
  ``multiplier`` (a paper holding's ledger state);
* ``kill_switch_events.trigger`` / ``observed_value`` / ``threshold_value``;
* ``trade_cycles``: one strategy-risk-execution cycle per idempotency key and account.

SQLite cannot alter a CHECK, so ``orders`` is rebuilt there (it has no triggers); the DDL
below is frozen as of this revision.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 01:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from riskdesk.store.types import DecimalType, JSONType, UTCDateTime, UtcNow

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OLD_STATUSES = (
    "'pending', 'submitted', 'filled', 'partially_filled', 'cancelled', 'rejected', "
    "'proposed', 'approved', 'executed', 'canceled'"
)
_STATUSES = _OLD_STATUSES + ", 'expired'"
_OLD_LINEAGE = (
    '"trade_leg_id" IS NOT NULL OR ("signal_id" IS NOT NULL AND "cycle_id" IS NOT NULL '
    'AND "symbol" IS NOT NULL)'
)
_LINEAGE = (
    '"trade_leg_id" IS NOT NULL OR "trade_id" IS NOT NULL OR ("signal_id" IS NOT NULL '
    'AND "cycle_id" IS NOT NULL AND "symbol" IS NOT NULL)'
)
_APPEND_ONLY = ("fills", "order_events")

_ORDER_COLUMNS = (
    "id, trade_leg_id, signal_id, cycle_id, broker_order_id, symbol, order_type, side, qty, "
    "limit_price, stop_price, time_in_force, status, risk_reason, filled_quantity, "
    "avg_fill_price, submitted_at, filled_at, cancelled_at, error_message, created_at, updated_at"
)

_ORDERS_INDEXES = (
    ("idx_orders_broker_order_id", "broker_order_id"),
    ("idx_orders_cycle_id", "cycle_id"),
    ("idx_orders_signal_id", "signal_id"),
    ("idx_orders_status", "status"),
    ("idx_orders_status_created_at", "status, created_at DESC"),
    ("idx_orders_submitted_at", "submitted_at DESC"),
    ("idx_orders_symbol_created_at", "symbol, created_at DESC"),
    ("idx_orders_trade_leg_id", "trade_leg_id"),
)


def _orders_ddl(name: str, *, statuses: str, lineage: str, new: bool) -> str:
    extra = (
        """
    trade_id CHAR(32),
    account_id CHAR(32),
    idempotency_key VARCHAR(255),
    request_sha256 VARCHAR(64),
    triggered BOOLEAN DEFAULT false NOT NULL,"""
        if new
        else ""
    )
    extra_rules = (
        """
    CONSTRAINT ck_orders_idempotency_request CHECK
        ("idempotency_key" IS NULL OR "request_sha256" IS NOT NULL),
    CONSTRAINT uq_orders_account_idempotency_key UNIQUE (account_id, idempotency_key),
    CONSTRAINT fk_orders_trade_id_trades FOREIGN KEY(trade_id) REFERENCES trades (id),
    CONSTRAINT fk_orders_account_id_trading_accounts FOREIGN KEY(account_id)
        REFERENCES trading_accounts (id),"""
        if new
        else ""
    )
    return f"""
CREATE TABLE {name} (
    id CHAR(32) NOT NULL,
    trade_leg_id CHAR(32),
    signal_id CHAR(32),
    cycle_id CHAR(32),{extra}
    broker_order_id VARCHAR(100),
    symbol VARCHAR(64),
    order_type VARCHAR(20),
    side VARCHAR(16) NOT NULL,
    qty DECIMAL_TEXT NOT NULL,
    limit_price DECIMAL_TEXT,
    stop_price DECIMAL_TEXT,
    time_in_force VARCHAR(10) DEFAULT 'DAY' NOT NULL,
    status VARCHAR(20) DEFAULT 'pending' NOT NULL,
    risk_reason TEXT,
    filled_quantity DECIMAL_TEXT DEFAULT 0 NOT NULL,
    avg_fill_price DECIMAL_TEXT,
    submitted_at DATETIME,
    filled_at DATETIME,
    cancelled_at DATETIME,
    error_message TEXT,
    created_at DATETIME DEFAULT (strftime('%Y-%m-%d %H:%M:%f000', 'now')) NOT NULL,
    updated_at DATETIME DEFAULT (strftime('%Y-%m-%d %H:%M:%f000', 'now')) NOT NULL,
    CONSTRAINT pk_orders PRIMARY KEY (id),
    CONSTRAINT ck_orders_lineage CHECK ({lineage}),
    CONSTRAINT ck_orders_seed001_fields CHECK ("trade_leg_id" IS NULL OR "order_type" IS NOT NULL),
    CONSTRAINT ck_orders_qty_positive CHECK (CAST(qty AS REAL) > 0),
    CONSTRAINT ck_orders_filled_quantity_nonnegative CHECK (CAST(filled_quantity AS REAL) >= 0),
    CONSTRAINT ck_orders_side CHECK ("side" IN ('buy', 'sell')),
    CONSTRAINT ck_orders_status CHECK ("status" IN ({statuses})),
    CONSTRAINT ck_orders_order_type CHECK
        ("order_type" IS NULL OR "order_type" IN ('market', 'limit', 'stop', 'stop_limit')),
    CONSTRAINT ck_orders_time_in_force CHECK ("time_in_force" IN ('DAY', 'GTC', 'IOC', 'FOK')),{extra_rules}
    CONSTRAINT fk_orders_trade_leg_id_trade_legs FOREIGN KEY(trade_leg_id) REFERENCES trade_legs (id),
    CONSTRAINT fk_orders_signal_id_signals FOREIGN KEY(signal_id) REFERENCES signals (id)
)
"""


def _rebuild_sqlite_orders(*, new: bool) -> None:
    """Rebuild ``orders`` with the new (or, downgrading, the old) rules, keeping its rows."""
    op.execute("PRAGMA defer_foreign_keys=ON")
    statuses, lineage = (_STATUSES, _LINEAGE) if new else (_OLD_STATUSES, _OLD_LINEAGE)
    op.execute(_orders_ddl("orders_rebuilt", statuses=statuses, lineage=lineage, new=new))
    op.execute(f"INSERT INTO orders_rebuilt ({_ORDER_COLUMNS}) SELECT {_ORDER_COLUMNS} FROM orders")
    op.execute("DROP TABLE orders")
    op.execute("ALTER TABLE orders_rebuilt RENAME TO orders")
    for name, columns in _ORDERS_INDEXES:
        op.execute(f"CREATE INDEX {name} ON orders ({columns})")


def _append_only(dialect: str) -> None:
    for table in _APPEND_ONLY:
        if dialect == "postgresql":
            op.execute(
                f"CREATE TRIGGER trg_{table}_immutable BEFORE UPDATE ON {table} "
                f"FOR EACH ROW EXECUTE FUNCTION riskdesk_refuse_update('{table}')"
            )
        else:
            op.execute(
                f"CREATE TRIGGER trg_{table}_immutable BEFORE UPDATE ON {table} BEGIN "
                f"SELECT RAISE(ABORT, 'riskdesk-immutable: rows of table {table} cannot be "
                "updated; insert a new row instead'); END"
            )


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    amount = DecimalType(20, 8)
    ratio = DecimalType(20, 10, allow_float=True)
    op.add_column("trading_accounts", sa.Column("starting_cash", amount, nullable=True))
    for name in ("ratio", "multiplier"):
        op.add_column("trade_legs", sa.Column(name, sa.Integer(), nullable=True))
    op.add_column("positions", sa.Column("realized_pnl", amount, nullable=True))
    op.add_column("positions", sa.Column("cost_basis", amount, nullable=True))
    op.add_column("positions", sa.Column("multiplier", sa.Integer(), nullable=True))
    op.add_column("kill_switch_events", sa.Column("trigger", sa.String(32), nullable=True))
    op.add_column("kill_switch_events", sa.Column("observed_value", ratio, nullable=True))
    op.add_column("kill_switch_events", sa.Column("threshold_value", ratio, nullable=True))
    op.add_column(
        "fills",
        sa.Column("commission", amount, server_default=sa.text("0"), nullable=False),
    )
    if dialect == "postgresql":
        op.add_column(
            "fills",
            sa.Column("multiplier", sa.Integer(), server_default=sa.text("1"), nullable=False),
        )
    else:
        op.execute(
            "ALTER TABLE fills ADD COLUMN multiplier INTEGER DEFAULT 1 NOT NULL "
            "CONSTRAINT ck_fills_multiplier_positive CHECK (multiplier >= 1)"
        )
    op.add_column("fills", sa.Column("net_price", amount, nullable=True))
    op.add_column("fills", sa.Column("execution_id", sa.Uuid(), nullable=True))
    if dialect == "postgresql":
        op.create_unique_constraint(
            "uq_trading_accounts_user_number", "trading_accounts", ["user_id", "account_number"]
        )
        op.add_column("fills", sa.Column("trade_leg_id", sa.Uuid(), nullable=True))
        op.create_foreign_key(
            op.f("fk_fills_trade_leg_id_trade_legs"),
            "fills",
            "trade_legs",
            ["trade_leg_id"],
            ["id"],
        )
        op.create_check_constraint(op.f("ck_fills_multiplier_positive"), "fills", "multiplier >= 1")
        op.add_column("orders", sa.Column("trade_id", sa.Uuid(), nullable=True))
        op.add_column("orders", sa.Column("account_id", sa.Uuid(), nullable=True))
        op.add_column("orders", sa.Column("idempotency_key", sa.String(255), nullable=True))
        op.add_column("orders", sa.Column("request_sha256", sa.String(64), nullable=True))
        op.add_column(
            "orders",
            sa.Column("triggered", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        )
        op.create_foreign_key(
            op.f("fk_orders_trade_id_trades"), "orders", "trades", ["trade_id"], ["id"]
        )
        op.create_foreign_key(
            op.f("fk_orders_account_id_trading_accounts"),
            "orders",
            "trading_accounts",
            ["account_id"],
            ["id"],
        )
        op.drop_constraint(op.f("ck_orders_lineage"), "orders", type_="check")
        op.create_check_constraint(op.f("ck_orders_lineage"), "orders", _LINEAGE)
        op.drop_constraint(op.f("ck_orders_status"), "orders", type_="check")
        op.create_check_constraint(op.f("ck_orders_status"), "orders", f'"status" IN ({_STATUSES})')
        op.create_check_constraint(
            op.f("ck_orders_idempotency_request"),
            "orders",
            '"idempotency_key" IS NULL OR "request_sha256" IS NOT NULL',
        )
        op.create_unique_constraint(
            "uq_orders_account_idempotency_key", "orders", ["account_id", "idempotency_key"]
        )
    else:
        op.execute(
            "CREATE UNIQUE INDEX uq_trading_accounts_user_number "
            "ON trading_accounts (user_id, account_number)"
        )
        op.execute(
            "ALTER TABLE fills ADD COLUMN trade_leg_id CHAR(32) "
            "CONSTRAINT fk_fills_trade_leg_id_trade_legs REFERENCES trade_legs (id)"
        )
        _rebuild_sqlite_orders(new=True)
    op.create_index(
        "idx_orders_account_created_at", "orders", ["account_id", sa.text("created_at DESC")]
    )
    op.create_index("idx_orders_trade_id", "orders", ["trade_id"])
    op.create_index("idx_fills_execution_id", "fills", ["execution_id"])

    op.create_table(
        "order_events",
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("from_status", sa.String(20), nullable=True),
        sa.Column("to_status", sa.String(20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("details", JSONType, server_default=sa.text("'{}'"), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.CheckConstraint(f'"to_status" IN ({_STATUSES})', name=op.f("ck_order_events_to_status")),
        sa.CheckConstraint(
            f'"from_status" IS NULL OR "from_status" IN ({_STATUSES})',
            name=op.f("ck_order_events_from_status"),
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_order_events_order_id_orders")
        ),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_order_events")),
        sa.UniqueConstraint("order_id", "seq", name="uq_order_events_order_seq"),
    )
    op.create_index("idx_order_events_order_id_at", "order_events", ["order_id", "at"])
    op.create_table(
        "trade_cycles",
        sa.Column("cycle_id", sa.Uuid(), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("idempotency_key", sa.String(255), nullable=False),
        sa.Column("request_sha256", sa.String(64), nullable=False),
        sa.Column("trigger_source", sa.String(50), nullable=False),
        sa.Column("symbol", sa.String(64), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("result", JSONType, server_default=sa.text("'{}'"), nullable=False),
        sa.Column("created_at", UTCDateTime(), server_default=UtcNow(), nullable=False),
        sa.CheckConstraint(
            "\"status\" IN ('completed', 'rejected')", name=op.f("ck_trade_cycles_status")
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["trading_accounts.id"],
            name=op.f("fk_trade_cycles_account_id_trading_accounts"),
        ),
        sa.PrimaryKeyConstraint("cycle_id", name=op.f("pk_trade_cycles")),
        sa.UniqueConstraint("account_id", "idempotency_key", name="uq_trade_cycles_account_key"),
    )
    op.create_index(
        "idx_trade_cycles_account_created_at",
        "trade_cycles",
        ["account_id", sa.text("created_at DESC")],
    )
    _append_only(dialect)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for table in _APPEND_ONLY:
        if dialect == "postgresql":
            op.execute(f"DROP TRIGGER IF EXISTS trg_{table}_immutable ON {table}")
        else:
            op.execute(f"DROP TRIGGER IF EXISTS trg_{table}_immutable")
    op.drop_table("trade_cycles")
    op.drop_table("order_events")
    op.drop_index("idx_fills_execution_id", table_name="fills")
    op.drop_index("idx_orders_trade_id", table_name="orders")
    op.drop_index("idx_orders_account_created_at", table_name="orders")
    if dialect == "postgresql":
        op.drop_constraint("uq_orders_account_idempotency_key", "orders", type_="unique")
        op.drop_constraint(op.f("ck_orders_idempotency_request"), "orders", type_="check")
        op.drop_constraint(op.f("ck_orders_status"), "orders", type_="check")
        op.create_check_constraint(
            op.f("ck_orders_status"), "orders", f'"status" IN ({_OLD_STATUSES})'
        )
        op.drop_constraint(op.f("ck_orders_lineage"), "orders", type_="check")
        op.create_check_constraint(op.f("ck_orders_lineage"), "orders", _OLD_LINEAGE)
        op.drop_constraint(
            op.f("fk_orders_account_id_trading_accounts"), "orders", type_="foreignkey"
        )
        op.drop_constraint(op.f("fk_orders_trade_id_trades"), "orders", type_="foreignkey")
        for name in ("triggered", "request_sha256", "idempotency_key", "account_id", "trade_id"):
            op.drop_column("orders", name)
        op.drop_constraint(op.f("ck_fills_multiplier_positive"), "fills", type_="check")
        op.drop_constraint(op.f("fk_fills_trade_leg_id_trade_legs"), "fills", type_="foreignkey")
        op.drop_constraint("uq_trading_accounts_user_number", "trading_accounts", type_="unique")
    else:
        _rebuild_sqlite_orders(new=False)
        op.execute("DROP INDEX uq_trading_accounts_user_number")
    fill_columns = ("trade_leg_id", "execution_id", "net_price", "multiplier", "commission")
    if dialect == "sqlite":
        # a column under a FOREIGN KEY or CHECK cannot be dropped in place on SQLite
        with op.batch_alter_table("fills", recreate="always") as batch:
            batch.drop_constraint(op.f("ck_fills_multiplier_positive"), type_="check")
            for name in fill_columns:
                batch.drop_column(name)
    for table, names in (
        ("fills", () if dialect == "sqlite" else fill_columns),
        ("kill_switch_events", ("threshold_value", "observed_value", "trigger")),
        ("positions", ("multiplier", "cost_basis", "realized_pnl")),
        ("trade_legs", ("multiplier", "ratio")),
        ("trading_accounts", ("starting_cash",)),
    ):
        for name in names:
            if dialect == "sqlite":
                op.execute(f"ALTER TABLE {table} DROP COLUMN {name}")
            else:
                op.drop_column(table, name)
