"""Valid rows for every riskdesk table, built from the metadata (test helper).

``insert_row(conn, "orders", qty=Decimal(0))`` inserts a valid ``orders`` row with the given
columns overridden, creating the parent rows its foreign keys need. Columns a seed rule
constrains get valid values from ``DEFAULTS``; other required columns get a value of their
type. ``Ref("table")`` in ``DEFAULTS`` or in overrides creates a parent row for a nullable FK.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from riskdesk.store.models import Base
from riskdesk.store.types import CanonicalJSON, DecimalType, UTCDateTime, new_id

WHEN = datetime(2025, 1, 15, 14, 30, tzinfo=UTC)
DAY = date(2025, 1, 15)


@dataclass(frozen=True)
class Ref:
    """Create a parent row of ``table`` (with ``values``) and use its primary key."""

    table: str
    values: dict[str, Any] = field(default_factory=dict)


def _token(prefix: str = "v") -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


def _hash() -> str:
    return uuid.uuid4().hex + uuid.uuid4().hex


DEFAULTS: dict[str, Callable[[], dict[str, Any]]] = {
    "instruments": lambda: {"type": "STOCK", "symbol": _token("S")},
    "option_contracts": lambda: {
        "right": "C",
        "strike": Decimal("100"),
        "underlying_symbol": _token("U"),
        "contract_key": _token("K"),
    },
    "trade_versions": lambda: {"trade_hash": _hash()},
    "market_snapshots": lambda: {"snapshot_hash": _hash(), "mode": "PINNED"},
    "model_configs": lambda: {"model_config_hash": _hash()},
    "scenario_grids": lambda: {"scenario_grid_hash": _hash()},
    "analytics_results": lambda: {"trade_ref_type": "VERSION", "trade_hash": _hash()},
    "pnl_attribution_results": lambda: {"trade_ref_type": "VERSION"},
    "trade_draft_legs": lambda: {"symbol": "SPY", "signed_qty": Decimal(1)},
    "users": lambda: {"username": _token("u"), "email": f"{_token()}@example.test"},
    "signals": lambda: {
        "symbol": "SPY",
        "cycle_id": uuid.uuid4(),
        "side": "buy",
        "confidence": Decimal("0.5"),
    },
    "orders": lambda: {
        "signal_id": Ref("signals"),
        "cycle_id": uuid.uuid4(),
        "symbol": "SPY",
        "side": "buy",
        "qty": Decimal(1),
        "status": "proposed",
    },
    "fills": lambda: {"side": "buy", "qty": Decimal(1), "fill_price": Decimal("10.5")},
    "order_events": lambda: {"order_id": Ref("orders"), "to_status": "submitted", "seq": 1},
    "trade_cycles": lambda: {
        "idempotency_key": _token("cycle"),
        "request_sha256": _hash(),
        "trigger_source": "manual",
        "status": "completed",
    },
    "trades": lambda: {
        "broker": "ibkr",
        "broker_account_id": "U123",
        "symbol": "SPY",
        "action": "BUY",
        "quantity": Decimal(1),
    },
    "trade_legs": lambda: {"action": "buy", "quantity": 1},
    "signal_legs": lambda: {"action": "buy", "option_type": "call", "quantity": 1},
    "trading_accounts": lambda: {"account_type": "paper", "broker": "ibkr"},
    "risk_parameters": lambda: {"parameter_type": "absolute", "parameter_name": _token("p")},
    "risk_events": lambda: {
        "order_id": Ref("orders"),
        "action": "blocked",
        "rule": "max_order_size",
    },
    "system_config": lambda: {"config_key": _token("k"), "config_type": "string"},
    "idempotency_keys": lambda: {"state": "in_progress", "request_sha256": _hash()},
    "jobs": lambda: {"status": "queued", "progress": 0.0, "kind": "evaluate"},
    "calculation_audit_log": lambda: {"status": "running"},
    "export_history": lambda: {"export_type": "portfolio", "export_format": "csv"},
    "positions": lambda: {
        "portfolio_id": Ref("portfolios"),
        "symbol": _token("P"),
        "position_type": "LONG",
        "quantity": Decimal(10),
        "avg_entry_price": Decimal("101.25"),
        "entry_date": DAY,
    },
    "tags": lambda: {"tag_type": "regular", "name": _token("t")},
    "factor_definitions": lambda: {"name": _token("f")},
    "stress_scenarios": lambda: {"name": _token("s"), "scenario_type": "sensitivity"},
    "modeling_session_snapshots": lambda: {
        "session_id": _token("session_"),
        "user_id": Ref("users"),
        "status": "active",
        "base_portfolio_snapshot": {"positions": []},
    },
    "portfolio_snapshots": lambda: {
        "nav": Decimal(100000),
        "cash": Decimal(50000),
        "realized_pnl": Decimal(0),
        "unrealized_pnl": Decimal(0),
    },
    "greek_snapshots": lambda: {
        "broker": "ibkr",
        "contract_key": f"SPY:20250117:{uuid.uuid4().int % 900 + 100}:C",
        "option_type": "call",
        "delta": 0.5,
        "source_payload": {"raw": True},
    },
    "stream_sessions": lambda: {"broker": "ibkr", "status": "connecting"},
    "market_ticks": lambda: {
        "bid_price": Decimal("1.00"),
        "ask_price": Decimal("1.02"),
        "mid_price": Decimal("1.01"),
        "spread_bps": 198,
    },
    "snapshot_underlying_quotes": lambda: {"spot": Decimal("500.25")},
    "snapshot_option_columns": lambda: {
        "data_format": "arrow-ipc-zstd",
        "data_sha256": _hash(),
        "data": b"\x00",
    },
    "kill_switch_events": lambda: {"enabled": True},
    "devnet_smoke_runs": lambda: {"status": "passed"},
    "options_chains": lambda: {"option_type": "call"},
    "tickers": lambda: {"symbol": _token("T")[:10]},
    "market_data_cache": lambda: {"ticker": _token("T")},
    "realtime_quotes_cache": lambda: {"ticker": _token("T")},
    "short_selling_metrics": lambda: {"ticker": _token("T")},
    "portfolios": lambda: {"name": _token("portfolio ")},
    "audit_log": lambda: {"actor": "tester", "event_type": "test.event"},
}


def _value_for(column: sa.Column[Any]) -> Any:
    kind = column.type
    if isinstance(kind, UTCDateTime):
        return WHEN
    if isinstance(kind, DecimalType):
        return Decimal(1)
    if isinstance(kind, sa.Uuid):
        return uuid.uuid4()
    if isinstance(kind, sa.JSON | CanonicalJSON):
        return {}
    if isinstance(kind, sa.Boolean):
        return True
    if isinstance(kind, sa.Date):
        return DAY
    if isinstance(kind, sa.Double | sa.Float):
        return 1.0
    if isinstance(kind, sa.Integer):
        return 1
    if isinstance(kind, sa.String):
        length = getattr(kind, "length", None) or 32
        return _token()[:length]
    raise TypeError(f"no test value for {column.table.name}.{column.name} of type {kind!r}")


def _pk_column(table: sa.Table) -> sa.Column[Any]:
    return next(iter(table.primary_key.columns))


def build_row(conn: Connection, table_name: str, **overrides: Any) -> dict[str, Any]:
    """Values for a valid row of ``table_name`` with ``overrides`` (parents inserted)."""
    table = Base.metadata.tables[table_name]
    values: dict[str, Any] = {}
    factory = DEFAULTS.get(table_name)
    if factory is not None:
        values.update(factory())
    values.update(overrides)
    for column in table.columns:
        if column.name in values:
            continue
        fks = list(column.foreign_keys)
        needs_value = (
            not column.nullable
            and column.server_default is None
            and (column.default is None or column.primary_key)
        )
        if fks and not column.nullable:
            values[column.name] = Ref(fks[0].column.table.name)
        elif needs_value:
            if column.primary_key and isinstance(column.type, sa.Uuid):
                values[column.name] = new_id()
            else:
                values[column.name] = _value_for(column)
    if table_name == "factor_covariance_matrix" and "factor1_id" not in overrides:
        ids = sorted([insert_row(conn, "factor_definitions")["id"] for _ in range(2)])
        values["factor1_id"], values["factor2_id"] = ids
    if table_name == "position_correlation_matrix" and "position1_id" not in overrides:
        ids = sorted([insert_row(conn, "positions")["id"] for _ in range(2)])
        values["position1_id"], values["position2_id"] = ids
    for key, value in list(values.items()):
        if isinstance(value, Ref):
            parent = insert_row(conn, value.table, **value.values)
            values[key] = parent[_pk_column(Base.metadata.tables[value.table]).name]
    return values


def insert_row(conn: Connection, table_name: str, **overrides: Any) -> dict[str, Any]:
    """Insert a valid row (see :func:`build_row`) and return its values."""
    values = build_row(conn, table_name, **overrides)
    conn.execute(sa.insert(Base.metadata.tables[table_name]), [values])
    return values


def row_counts(conn: Connection) -> dict[str, int]:
    """Row count of every riskdesk table."""
    return {
        name: int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())
        for name, table in Base.metadata.tables.items()
    }
