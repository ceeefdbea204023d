"""Every table accepts a valid row, and every seed integrity rule rejects a bad one.

Each rule has its own test case (on both backends). A rejected insert leaves nothing behind:
the parent rows created for it in the same transaction are gone too.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection
from store_rows import WHEN, Ref, insert_row, row_counts

from riskdesk.store.errors import ConstraintViolationError, translate_db_error
from riskdesk.store.models import Base


@dataclass(frozen=True)
class Rule:
    table: str
    bad: dict[str, Any]
    kind: str
    constraint: str | None = None  # CHECK name (both backends report it)


RULES: dict[str, Rule] = {
    # seed 004 integrity rules
    "market_ticks_ask_below_bid": Rule(
        "market_ticks",
        {"bid_price": Decimal("1.02"), "ask_price": Decimal("1.01")},
        "check",
        "ck_market_ticks_ask_gte_bid",
    ),
    "market_ticks_negative_spread": Rule(
        "market_ticks", {"spread_bps": -1}, "check", "ck_market_ticks_spread_bps_nonnegative"
    ),
    "orders_zero_qty": Rule("orders", {"qty": Decimal(0)}, "check", "ck_orders_qty_positive"),
    "orders_negative_qty": Rule(
        "orders", {"qty": Decimal("-0.5")}, "check", "ck_orders_qty_positive"
    ),
    "fills_zero_qty": Rule("fills", {"qty": Decimal(0)}, "check", "ck_fills_qty_positive"),
    "fills_negative_slippage": Rule(
        "fills", {"slippage_bps": -3}, "check", "ck_fills_slippage_bps_nonnegative"
    ),
    "signals_confidence_above_one": Rule(
        "signals", {"confidence": Decimal("1.00001")}, "check", "ck_signals_confidence_range"
    ),
    "signals_confidence_below_zero": Rule(
        "signals", {"confidence": Decimal("-0.1")}, "check", "ck_signals_confidence_range"
    ),
    "orders_unknown_status": Rule("orders", {"status": "lost"}, "check", "ck_orders_status"),
    "orders_unknown_side": Rule("orders", {"side": "hold"}, "check", "ck_orders_side"),
    "orders_missing_signal": Rule("orders", {"signal_id": uuid.uuid4()}, "foreign_key"),
    "fills_missing_order": Rule("fills", {"order_id": uuid.uuid4()}, "foreign_key"),
    "fills_unknown_side": Rule("fills", {"side": "short"}, "check", "ck_fills_side"),
    "fills_missing_price": Rule("fills", {"fill_price": None}, "not_null"),
    "risk_events_unknown_action": Rule(
        "risk_events", {"action": "ignored"}, "check", "ck_risk_events_action"
    ),
    "risk_events_missing_order": Rule("risk_events", {"order_id": uuid.uuid4()}, "foreign_key"),
    "devnet_smoke_runs_unknown_status": Rule(
        "devnet_smoke_runs", {"status": "flaky"}, "check", "ck_devnet_smoke_runs_status"
    ),
    # seed 004 / 001 merged lifecycles
    "orders_without_lineage": Rule("orders", {"signal_id": None}, "check", "ck_orders_lineage"),
    "orders_seed001_without_order_type": Rule(
        "orders",
        {"trade_leg_id": Ref("trade_legs"), "signal_id": None, "order_type": None},
        "check",
        "ck_orders_seed001_fields",
    ),
    "orders_unknown_order_type": Rule(
        "orders", {"order_type": "iceberg"}, "check", "ck_orders_order_type"
    ),
    "orders_unknown_time_in_force": Rule(
        "orders", {"time_in_force": "GTD"}, "check", "ck_orders_time_in_force"
    ),
    "orders_negative_filled_quantity": Rule(
        "orders", {"filled_quantity": Decimal(-1)}, "check", "ck_orders_filled_quantity_nonnegative"
    ),
    "signals_without_ticker_or_symbol": Rule(
        "signals", {"symbol": None, "cycle_id": None}, "check", "ck_signals_ticker_or_symbol"
    ),
    "signals_seed001_incomplete": Rule(
        "signals",
        {"ticker_id": Ref("tickers"), "signal_type": None},
        "check",
        "ck_signals_seed001_fields",
    ),
    "signals_seed004_without_side": Rule(
        "signals", {"side": None}, "check", "ck_signals_seed004_fields"
    ),
    "signals_unknown_signal_type": Rule(
        "signals", {"signal_type": "sideways"}, "check", "ck_signals_signal_type"
    ),
    "signals_unknown_status": Rule("signals", {"status": "paused"}, "check", "ck_signals_status"),
    "signals_unknown_side": Rule("signals", {"side": "flat"}, "check", "ck_signals_side"),
    "signals_probability_above_one": Rule(
        "signals",
        {"probability_profit": Decimal(2)},
        "check",
        "ck_signals_probability_profit_range",
    ),
    "risk_events_incomplete": Rule(
        "risk_events", {"rule": None}, "check", "ck_risk_events_seed001_or_seed004"
    ),
    "risk_events_unknown_severity": Rule(
        "risk_events", {"severity": "urgent"}, "check", "ck_risk_events_severity"
    ),
    # seed 003
    "trades_zero_quantity": Rule(
        "trades", {"quantity": Decimal(0)}, "check", "ck_trades_quantity_nonzero"
    ),
    "trades_unsupported_broker": Rule("trades", {"broker": "etrade"}, "check", "ck_trades_broker"),
    "trades_incomplete": Rule("trades", {"symbol": None}, "check", "ck_trades_seed001_or_seed003"),
    "trades_unknown_trade_type": Rule(
        "trades", {"trade_type": "algo"}, "check", "ck_trades_trade_type"
    ),
    "trades_unknown_status": Rule("trades", {"status": "lost"}, "check", "ck_trades_status"),
    "greek_snapshots_unsupported_broker": Rule(
        "greek_snapshots", {"broker": "schwab"}, "check", "ck_greek_snapshots_broker"
    ),
    "greek_snapshots_blank_contract_key": Rule(
        "greek_snapshots",
        {"contract_key": "   "},
        "check",
        "ck_greek_snapshots_contract_key_nonempty",
    ),
    "greek_snapshots_without_greeks": Rule(
        "greek_snapshots", {"delta": None}, "check", "ck_greek_snapshots_has_greek"
    ),
    "greek_snapshots_unknown_option_type": Rule(
        "greek_snapshots", {"option_type": "straddle"}, "check", "ck_greek_snapshots_option_type"
    ),
    "stream_sessions_unknown_status": Rule(
        "stream_sessions", {"status": "flapping"}, "check", "ck_stream_sessions_status"
    ),
    "stream_sessions_unsupported_broker": Rule(
        "stream_sessions", {"broker": "schwab"}, "check", "ck_stream_sessions_broker"
    ),
    "stream_sessions_negative_reconnects": Rule(
        "stream_sessions",
        {"reconnect_attempt": -1},
        "check",
        "ck_stream_sessions_reconnect_attempt_nonnegative",
    ),
    # seed 001
    "users_unknown_role": Rule("users", {"role": "root"}, "check", "ck_users_role"),
    "trading_accounts_unsupported_broker": Rule(
        "trading_accounts", {"broker": "etrade"}, "check", "ck_trading_accounts_broker"
    ),
    "trading_accounts_unknown_type": Rule(
        "trading_accounts", {"account_type": "margin"}, "check", "ck_trading_accounts_account_type"
    ),
    "trading_accounts_clear_credentials": Rule(
        "trading_accounts",
        {"api_credentials": '{"token": "abc"}'},
        "check",
        "ck_trading_accounts_api_credentials_encrypted",
    ),
    "system_config_sensitive_in_clear": Rule(
        "system_config",
        {"is_sensitive": True, "config_value": "hunter2"},
        "check",
        "ck_system_config_sensitive_encrypted",
    ),
    "system_config_unknown_type": Rule(
        "system_config", {"config_type": "yaml"}, "check", "ck_system_config_config_type"
    ),
    "risk_parameters_unknown_type": Rule(
        "risk_parameters", {"parameter_type": "ratio"}, "check", "ck_risk_parameters_parameter_type"
    ),
    "options_chains_unknown_option_type": Rule(
        "options_chains", {"option_type": "future"}, "check", "ck_options_chains_option_type"
    ),
    "signal_legs_unknown_action": Rule(
        "signal_legs", {"action": "hold"}, "check", "ck_signal_legs_action"
    ),
    "signal_legs_unknown_option_type": Rule(
        "signal_legs", {"option_type": "future"}, "check", "ck_signal_legs_option_type"
    ),
    "trade_legs_unknown_action": Rule(
        "trade_legs", {"action": "hold"}, "check", "ck_trade_legs_action"
    ),
    "trade_legs_unknown_status": Rule(
        "trade_legs", {"status": "rejected"}, "check", "ck_trade_legs_status"
    ),
    "performance_metrics_win_rate_above_one": Rule(
        "performance_metrics",
        {"win_rate": Decimal("1.5")},
        "check",
        "ck_performance_metrics_win_rate_range",
    ),
    "performance_metrics_period_reversed": Rule(
        "performance_metrics",
        {"period_start": WHEN.date().replace(day=20)},
        "check",
        "ck_performance_metrics_period_ordered",
    ),
    # seed 000
    "instruments_unknown_type": Rule(
        "instruments", {"type": "BOND"}, "check", "ck_instruments_type"
    ),
    "instruments_zero_multiplier": Rule(
        "instruments", {"multiplier": 0}, "check", "ck_instruments_multiplier_positive"
    ),
    "option_contracts_unknown_right": Rule(
        "option_contracts", {"right": "X"}, "check", "ck_option_contracts_right"
    ),
    "option_contracts_unknown_style": Rule(
        "option_contracts", {"style": "BERMUDAN"}, "check", "ck_option_contracts_style"
    ),
    "option_contracts_unknown_settlement": Rule(
        "option_contracts", {"settlement": "XX"}, "check", "ck_option_contracts_settlement"
    ),
    "snapshot_option_columns_unknown_format": Rule(
        "snapshot_option_columns",
        {"data_format": "parquet"},
        "check",
        "ck_snapshot_option_columns_data_format",
    ),
    "snapshot_option_columns_negative_rows": Rule(
        "snapshot_option_columns",
        {"row_count": -1},
        "check",
        "ck_snapshot_option_columns_row_count_nonnegative",
    ),
    "snapshot_option_columns_short_digest": Rule(
        "snapshot_option_columns",
        {"data_sha256": "abc"},
        "check",
        "ck_snapshot_option_columns_data_sha256_length",
    ),
    "option_contracts_zero_strike": Rule(
        "option_contracts", {"strike": Decimal(0)}, "check", "ck_option_contracts_strike_positive"
    ),
    "trade_versions_short_hash": Rule(
        "trade_versions", {"trade_hash": "abc"}, "check", "ck_trade_versions_trade_hash_sha256"
    ),
    "market_snapshots_unknown_mode": Rule(
        "market_snapshots", {"mode": "DELAYED"}, "check", "ck_market_snapshots_mode"
    ),
    "market_snapshots_short_hash": Rule(
        "market_snapshots",
        {"snapshot_hash": "abc"},
        "check",
        "ck_market_snapshots_snapshot_hash_sha256",
    ),
    "model_configs_short_hash": Rule(
        "model_configs",
        {"model_config_hash": "abc"},
        "check",
        "ck_model_configs_model_config_hash_sha256",
    ),
    "scenario_grids_short_hash": Rule(
        "scenario_grids",
        {"scenario_grid_hash": "abc"},
        "check",
        "ck_scenario_grids_scenario_grid_hash_sha256",
    ),
    "trade_drafts_zero_rev": Rule(
        "trade_drafts", {"rev": 0}, "check", "ck_trade_drafts_rev_positive"
    ),
    "trade_draft_legs_without_instrument": Rule(
        "trade_draft_legs", {"symbol": None}, "check", "ck_trade_draft_legs_one_instrument_ref"
    ),
    "trade_draft_legs_two_instruments": Rule(
        "trade_draft_legs",
        {"option_contract_id": Ref("option_contracts")},
        "check",
        "ck_trade_draft_legs_one_instrument_ref",
    ),
    "trade_draft_legs_zero_qty": Rule(
        "trade_draft_legs",
        {"signed_qty": Decimal(0)},
        "check",
        "ck_trade_draft_legs_signed_qty_nonzero",
    ),
    "trade_draft_legs_negative_fees": Rule(
        "trade_draft_legs",
        {"fees": Decimal("-0.01")},
        "check",
        "ck_trade_draft_legs_fees_nonnegative",
    ),
    "analytics_results_unknown_ref_type": Rule(
        "analytics_results",
        {"trade_ref_type": "DRAFTY"},
        "check",
        "ck_analytics_results_trade_ref_type",
    ),
    "analytics_results_missing_snapshot": Rule(
        "analytics_results", {"snapshot_id": uuid.uuid4()}, "foreign_key"
    ),
    "pnl_attribution_unknown_ref_type": Rule(
        "pnl_attribution_results",
        {"trade_ref_type": "X"},
        "check",
        "ck_pnl_attribution_results_trade_ref_type",
    ),
    "snapshot_underlying_quotes_zero_spot": Rule(
        "snapshot_underlying_quotes",
        {"spot": Decimal(0)},
        "check",
        "ck_snapshot_underlying_quotes_spot_positive",
    ),
    "snapshot_option_quotes_missing_contract": Rule(
        "snapshot_option_quotes", {"option_contract_id": uuid.uuid4()}, "foreign_key"
    ),
    # seed 002
    "positions_unknown_type": Rule(
        "positions", {"position_type": "LONGISH"}, "check", "ck_positions_position_type"
    ),
    "positions_two_owners": Rule(
        "positions",
        {
            "account_id": Ref("trading_accounts"),
            "mark_price": Decimal(1),
            "unrealized_pnl": Decimal(0),
        },
        "check",
        "ck_positions_one_owner",
    ),
    "positions_without_owner": Rule(
        "positions", {"portfolio_id": None}, "check", "ck_positions_one_owner"
    ),
    "positions_portfolio_zero_quantity": Rule(
        "positions", {"quantity": Decimal(0)}, "check", "ck_positions_portfolio_quantity_nonzero"
    ),
    "positions_seed002_without_entry_date": Rule(
        "positions", {"entry_date": None}, "check", "ck_positions_seed002_fields"
    ),
    "positions_seed004_without_mark": Rule(
        "positions",
        {
            "portfolio_id": None,
            "account_id": Ref("trading_accounts"),
            "position_type": None,
            "entry_date": None,
            "unrealized_pnl": Decimal(0),
        },
        "check",
        "ck_positions_seed004_fields",
    ),
    "positions_negative_entry_price": Rule(
        "positions",
        {"avg_entry_price": Decimal(-1)},
        "check",
        "ck_positions_avg_entry_price_nonnegative",
    ),
    "tags_unknown_type": Rule("tags", {"tag_type": "smart"}, "check", "ck_tags_tag_type"),
    "stress_scenarios_unknown_type": Rule(
        "stress_scenarios",
        {"scenario_type": "monte_carlo"},
        "check",
        "ck_stress_scenarios_scenario_type",
    ),
    "factor_covariance_correlation_above_one": Rule(
        "factor_covariance_matrix",
        {"correlation": Decimal(2)},
        "check",
        "ck_factor_covariance_matrix_correlation_range",
    ),
    "position_correlation_below_minus_one": Rule(
        "position_correlation_matrix",
        {"correlation": Decimal("-1.01")},
        "check",
        "ck_position_correlation_matrix_correlation_range",
    ),
    "position_relationships_self": Rule(
        "position_relationships", {}, "check", "ck_position_relationships_not_self"
    ),
    "modeling_sessions_unknown_status": Rule(
        "modeling_session_snapshots",
        {"status": "paused"},
        "check",
        "ck_modeling_session_snapshots_status",
    ),
    "modeling_sessions_incomplete": Rule(
        "modeling_session_snapshots",
        {"base_portfolio_snapshot": None},
        "check",
        "ck_modeling_session_snapshots_definition_fields",
    ),
    "export_history_unknown_type": Rule(
        "export_history", {"export_type": "everything"}, "check", "ck_export_history_export_type"
    ),
    "export_history_unknown_format": Rule(
        "export_history", {"export_format": "xlsx"}, "check", "ck_export_history_export_format"
    ),
    "export_history_negative_size": Rule(
        "export_history",
        {"file_size_bytes": -1},
        "check",
        "ck_export_history_file_size_nonnegative",
    ),
    "calculation_audit_log_unknown_status": Rule(
        "calculation_audit_log", {"status": "queued"}, "check", "ck_calculation_audit_log_status"
    ),
    "calculation_audit_log_end_before_start": Rule(
        "calculation_audit_log",
        {"end_time": WHEN.replace(hour=1)},
        "check",
        "ck_calculation_audit_log_end_after_start",
    ),
    "portfolio_snapshots_unknown_frequency": Rule(
        "portfolio_snapshots", {"frequency": "hourly"}, "check", "ck_portfolio_snapshots_frequency"
    ),
    "portfolio_snapshots_incomplete": Rule(
        "portfolio_snapshots", {"nav": None}, "check", "ck_portfolio_snapshots_seed002_or_seed004"
    ),
}


def _violation(conn: Connection, table: str, **values: Any) -> ConstraintViolationError:
    with pytest.raises(sa_exc.DBAPIError) as caught, conn.begin_nested():
        insert_row(conn, table, **values)
    translated = translate_db_error(caught.value)
    assert isinstance(translated, ConstraintViolationError), caught.value
    return translated


@pytest.mark.parametrize("table", sorted(Base.metadata.tables))
def test_table_with_valid_row_accepts_insert(db_connection: Connection, table: str) -> None:
    values = insert_row(db_connection, table)

    stored = db_connection.execute(
        sa.select(sa.func.count()).select_from(Base.metadata.tables[table])
    ).scalar_one()

    assert stored >= 1
    assert values


@pytest.mark.parametrize("rule_id", sorted(RULES))
def test_rule_with_bad_row_rejects_and_leaves_nothing(
    db_connection: Connection, rule_id: str
) -> None:
    rule = RULES[rule_id]
    before = row_counts(db_connection)
    bad = dict(rule.bad)
    if rule_id == "position_relationships_self":
        same = insert_row(db_connection, "positions")["id"]
        before = row_counts(db_connection)
        bad = {"parent_position_id": same, "child_position_id": same}

    violation = _violation(db_connection, rule.table, **bad)

    assert violation.kind == rule.kind, violation
    if rule.constraint is not None:
        assert violation.constraint == rule.constraint, violation
    assert row_counts(db_connection) == before


def test_users_with_duplicate_username_rejects(db_connection: Connection) -> None:
    first = insert_row(db_connection, "users")

    violation = _violation(db_connection, "users", username=first["username"])

    assert violation.kind == "unique"


def test_risk_parameters_with_duplicate_name_rejects(db_connection: Connection) -> None:
    first = insert_row(db_connection, "risk_parameters")

    violation = _violation(
        db_connection,
        "risk_parameters",
        user_id=first["user_id"],
        account_id=first["account_id"],
        parameter_name=first["parameter_name"],
    )

    assert violation.kind == "unique"


def test_trade_versions_with_duplicate_hash_rejects(db_connection: Connection) -> None:
    first = insert_row(db_connection, "trade_versions")

    violation = _violation(db_connection, "trade_versions", trade_hash=first["trade_hash"])

    assert violation.kind == "unique"


def test_positions_with_second_active_row_for_portfolio_symbol_rejects(
    db_connection: Connection,
) -> None:
    first = insert_row(db_connection, "positions")

    violation = _violation(
        db_connection, "positions", portfolio_id=first["portfolio_id"], symbol=first["symbol"]
    )

    assert violation.kind == "unique"


def test_positions_with_closed_row_for_portfolio_symbol_accepts(db_connection: Connection) -> None:
    first = insert_row(db_connection, "positions", is_active=False)

    insert_row(
        db_connection, "positions", portfolio_id=first["portfolio_id"], symbol=first["symbol"]
    )


def test_positions_with_second_row_for_account_symbol_rejects(db_connection: Connection) -> None:
    account = insert_row(db_connection, "trading_accounts")["id"]
    paper = {
        "portfolio_id": None,
        "account_id": account,
        "position_type": None,
        "entry_date": None,
        "mark_price": Decimal(10),
        "unrealized_pnl": Decimal(0),
        "symbol": "SPY",
    }
    insert_row(db_connection, "positions", **paper)

    violation = _violation(db_connection, "positions", **paper)

    assert violation.kind == "unique"


def test_daily_pnl_with_two_account_totals_same_day_rejects(db_connection: Connection) -> None:
    first = insert_row(db_connection, "daily_pnl", ticker_id=None)

    violation = _violation(
        db_connection,
        "daily_pnl",
        user_id=first["user_id"],
        account_id=first["account_id"],
        ticker_id=None,
        trade_date=first["trade_date"],
    )

    assert violation.kind == "unique"


def test_greek_snapshots_with_duplicate_dedupe_key_and_null_greeks_rejects(
    db_connection: Connection,
) -> None:
    row = {"gamma": None, "theta": None, "vega": None, "contract_key": "SPY:20250117:500:C"}
    first = insert_row(db_connection, "greek_snapshots", **row)

    violation = _violation(
        db_connection,
        "greek_snapshots",
        **row,
        event_time=first["event_time"],
        received_at=first["received_at"],
        account_id=first["account_id"],
    )
    # the same event of another account holding the contract is that account's row
    other = insert_row(
        db_connection,
        "greek_snapshots",
        **row,
        event_time=first["event_time"],
        received_at=first["received_at"],
        account_id="other-account",
    )

    assert violation.kind == "unique"
    assert other["account_id"] == "other-account"


def test_factor_covariance_with_reversed_pair_rejects(db_connection: Connection) -> None:
    low, high = sorted(insert_row(db_connection, "factor_definitions")["id"] for _ in range(2))

    violation = _violation(
        db_connection, "factor_covariance_matrix", factor1_id=high, factor2_id=low
    )

    assert violation.constraint == "ck_factor_covariance_matrix_pair_ordered"


def test_position_correlation_with_reversed_pair_rejects(db_connection: Connection) -> None:
    low, high = sorted(insert_row(db_connection, "positions")["id"] for _ in range(2))

    violation = _violation(
        db_connection, "position_correlation_matrix", position1_id=high, position2_id=low
    )

    assert violation.constraint == "ck_position_correlation_matrix_pair_ordered"
