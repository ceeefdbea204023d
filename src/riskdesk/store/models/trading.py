"""Signals, accounts, trades, orders, fills and risk (seeds 001, 003 and 004 merged).

Merged tables carry the columns of every seed that defines them. Columns one seed requires
and the other lacks are nullable, and a CHECK requires the complete set of one seed (the
``seed001_fields`` / ``seed003_fields`` / ``seed004_fields`` constraints). Where two seeds name
the same thing differently, one column holds it and the model exposes both names
(``confidence``/``confidence_score``, ``side``/``action``, ``qty``/``quantity``).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    and_,
    column,
    or_,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship, synonym

from riskdesk.store.models._base import (
    SUPPORTED_BROKERS,
    Amount,
    Base,
    ImmutableRow,
    Ratio,
    all_not_null,
    check_in,
    created_at_column,
    id_column,
    num,
    unique_nulls_not_distinct,
    updated_at_column,
)
from riskdesk.store.models.system import FERNET_PREFIX
from riskdesk.store.types import JSONType, UTCDateTime

__all__ = [
    "CYCLE_STATUSES",
    "ORDER_STATUSES",
    "DailyPnl",
    "DevnetSmokeRun",
    "Fill",
    "KillSwitchEvent",
    "Order",
    "OrderEvent",
    "PerformanceMetric",
    "RiskEvent",
    "RiskParameter",
    "Signal",
    "SignalLeg",
    "Trade",
    "TradeCycle",
    "TradeLeg",
    "TradingAccount",
]

_EMPTY_OBJECT = text("'{}'")

ORDER_STATUSES: tuple[str, ...] = (
    # seed 001 broker lifecycle
    "pending",
    "submitted",
    "filled",
    "partially_filled",
    "cancelled",
    "rejected",
    # seed 004 decision lifecycle ("rejected" is shared; "canceled" is 004's spelling)
    "proposed",
    "approved",
    "executed",
    "canceled",
    # riskdesk paper trading: a DAY order left at the close
    "expired",
)

CYCLE_STATUSES: tuple[str, ...] = ("completed", "rejected")


def _between(name: str, low: int, high: int, *, nullable: bool) -> CheckConstraint:
    rule = and_(num(name) >= low, num(name) <= high)
    expr = or_(column(name).is_(None), rule) if nullable else rule
    return CheckConstraint(expr, name=f"{name}_range")


class Signal(Base):
    """A strategy signal (seeds 001 and 004).

    Seed 001 ``signals`` (per ticker, typed, with legs) and seed 004
    ``signals`` (per symbol and trade cycle, with a side and payload).

    At least one of ``ticker_id`` and ``symbol`` is set. ``confidence`` is seed 004's
    ``confidence`` and seed 001's ``confidence_score`` (synonym), always in [0, 1].
    """

    __tablename__ = "signals"
    __table_args__ = (
        CheckConstraint(
            or_(column("ticker_id").is_not(None), column("symbol").is_not(None)),
            name="ticker_or_symbol",
        ),
        CheckConstraint(
            '"ticker_id" IS NULL OR ('
            + all_not_null(
                "signal_type", "strategy_type", "generated_at", "expires_at", "underlying_price"
            )
            + ")",
            name="seed001_fields",
        ),
        CheckConstraint(
            '"cycle_id" IS NULL OR (' + all_not_null("side", "symbol") + ")",
            name="seed004_fields",
        ),
        _between("confidence", 0, 1, nullable=False),
        _between("probability_profit", 0, 1, nullable=True),
        check_in("signal_type", "signal_type", ("bullish", "bearish", "neutral"), nullable=True),
        check_in("status", "status", ("active", "expired", "executed", "cancelled")),
        check_in("side", "side", ("buy", "sell"), nullable=True),
        Index("idx_signals_ticker_id", "ticker_id"),
        Index("idx_signals_generated_at", text("generated_at DESC")),
        Index("idx_signals_status", "status"),
        Index("idx_signals_confidence", text("confidence DESC")),
        Index("idx_signals_strategy_type", "strategy_type"),
        Index("idx_signals_cycle_id", "cycle_id"),
        Index("idx_signals_symbol_created_at", "symbol", text("created_at DESC")),
    )

    id: Mapped[uuid.UUID] = id_column()
    ticker_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("tickers.id"))
    symbol: Mapped[str | None] = mapped_column(String(32))
    cycle_id: Mapped[uuid.UUID | None] = mapped_column(Uuid())
    side: Mapped[str | None] = mapped_column(String(16))
    signal_type: Mapped[str | None] = mapped_column(String(20))
    strategy_type: Mapped[str | None] = mapped_column(String(50))
    confidence: Mapped[Decimal] = mapped_column(Ratio)
    generated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(
        String(20), default="active", server_default=text("'active'")
    )
    underlying_price: Mapped[Decimal | None] = mapped_column(Amount)
    target_profit: Mapped[Decimal | None] = mapped_column(Ratio)
    stop_loss: Mapped[Decimal | None] = mapped_column(Ratio)
    max_risk: Mapped[Decimal | None] = mapped_column(Amount)
    max_reward: Mapped[Decimal | None] = mapped_column(Amount)
    probability_profit: Mapped[Decimal | None] = mapped_column(Ratio)
    break_even_price: Mapped[Decimal | None] = mapped_column(Amount)
    analysis_data: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    strategy_payload: Mapped[dict[str, Any]] = mapped_column(
        JSONType, default=dict, server_default=_EMPTY_OBJECT
    )
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()

    confidence_score = synonym("confidence")

    legs: Mapped[list[SignalLeg]] = relationship(
        back_populates="signal",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="SignalLeg.leg_order",
    )


class SignalLeg(Base):
    """One option leg of a seed 001 signal."""

    __tablename__ = "signal_legs"
    __table_args__ = (
        check_in("action", "action", ("buy", "sell")),
        check_in("option_type", "option_type", ("call", "put")),
        Index("idx_signal_legs_signal_id", "signal_id"),
        Index("idx_signal_legs_leg_order", "signal_id", "leg_order"),
    )

    id: Mapped[uuid.UUID] = id_column()
    signal_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("signals.id", ondelete="CASCADE"))
    leg_order: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(10))
    option_type: Mapped[str] = mapped_column(String(16))
    strike_price: Mapped[Decimal] = mapped_column(Amount)
    expiration_date: Mapped[date] = mapped_column(Date)
    quantity: Mapped[int] = mapped_column(Integer)
    estimated_price: Mapped[Decimal | None] = mapped_column(Amount)
    option_symbol: Mapped[str | None] = mapped_column(String(50))
    created_at: Mapped[datetime] = created_at_column()

    signal: Mapped[Signal] = relationship(back_populates="legs")


class TradingAccount(Base):
    """A paper or live account at a broker (seed 001 ``trading_accounts``).

    ``api_credentials`` holds Fernet ciphertext only (see :mod:`riskdesk.store.secrets`); the
    CHECK ``api_credentials_encrypted`` refuses anything that is not a Fernet token.
    """

    __tablename__ = "trading_accounts"
    __table_args__ = (
        check_in("account_type", "account_type", ("paper", "live")),
        check_in("broker", "broker", SUPPORTED_BROKERS),
        CheckConstraint(
            f"api_credentials IS NULL OR api_credentials LIKE '{FERNET_PREFIX}%'",
            name="api_credentials_encrypted",
        ),
        UniqueConstraint("user_id", "account_number", name="uq_trading_accounts_user_number"),
        Index("idx_trading_accounts_user_id", "user_id"),
        Index("idx_trading_accounts_account_type", "account_type"),
    )

    id: Mapped[uuid.UUID] = id_column()
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    account_number: Mapped[str] = mapped_column(String(50))
    account_type: Mapped[str] = mapped_column(String(20))
    broker: Mapped[str] = mapped_column(String(20), default="ibkr", server_default=text("'ibkr'"))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    buying_power: Mapped[Decimal | None] = mapped_column(Amount)
    net_liquidation: Mapped[Decimal | None] = mapped_column(Amount)
    total_cash: Mapped[Decimal | None] = mapped_column(Amount)
    starting_cash: Mapped[Decimal | None] = mapped_column(Amount)
    api_credentials: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()


class Trade(Base):
    """A trade: seed 001 ``trades`` (multi-leg, per account) and seed 003's trade log.

    A seed-001 trade sets user, account, ticker, strategy type, trade type and ``opened_at``;
    a seed-003 log entry sets ``broker``, ``broker_account_id`` (seed 003's text
    ``account_id``), ``symbol``, ``action`` and a non-zero ``quantity``. The CHECK
    ``seed001_or_seed003`` requires one complete set. ``metadata_json`` is column ``metadata``.
    """

    __tablename__ = "trades"
    __table_args__ = (
        CheckConstraint(
            "("
            + all_not_null(
                "user_id", "account_id", "ticker_id", "strategy_type", "trade_type", "opened_at"
            )
            + ") OR ("
            + all_not_null("broker", "broker_account_id", "symbol", "action", "quantity")
            + ")",
            name="seed001_or_seed003",
        ),
        CheckConstraint(
            or_(column("quantity").is_(None), num("quantity") != 0), name="quantity_nonzero"
        ),
        check_in("broker", "broker", SUPPORTED_BROKERS, nullable=True),
        check_in("trade_type", "trade_type", ("manual", "automated"), nullable=True),
        check_in(
            "status",
            "status",
            ("pending", "submitted", "filled", "partially_filled", "cancelled", "rejected"),
        ),
        Index("idx_trades_user_id", "user_id"),
        Index("idx_trades_account_id", "account_id"),
        Index("idx_trades_signal_id", "signal_id"),
        Index("idx_trades_opened_at", text("opened_at DESC")),
        Index("idx_trades_status", "status"),
        Index(
            "idx_trades_broker_account_created",
            "broker",
            "broker_account_id",
            text("created_at DESC"),
        ),
        Index("idx_trades_symbol_created", "symbol", text("created_at DESC")),
    )

    id: Mapped[uuid.UUID] = id_column()
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    account_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("trading_accounts.id"))
    signal_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("signals.id"))
    ticker_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("tickers.id"))
    strategy_type: Mapped[str | None] = mapped_column(String(50))
    trade_type: Mapped[str | None] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(
        String(20), default="pending", server_default=text("'pending'")
    )
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    total_cost: Mapped[Decimal | None] = mapped_column(Amount)
    total_proceeds: Mapped[Decimal | None] = mapped_column(Amount)
    realized_pnl: Mapped[Decimal | None] = mapped_column(Amount)
    unrealized_pnl: Mapped[Decimal | None] = mapped_column(Amount)
    commission: Mapped[Decimal | None] = mapped_column(Amount)
    fees: Mapped[Decimal | None] = mapped_column(Amount)
    notes: Mapped[str | None] = mapped_column(Text)
    broker: Mapped[str | None] = mapped_column(String(20))
    broker_account_id: Mapped[str | None] = mapped_column(String(64))
    symbol: Mapped[str | None] = mapped_column(String(64))
    contract_key: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str | None] = mapped_column(String(32))
    quantity: Mapped[Decimal | None] = mapped_column(Amount)
    price: Mapped[Decimal | None] = mapped_column(Amount)
    strategy_tag: Mapped[str | None] = mapped_column(String(64))
    metadata_json: Mapped[dict[str, Any] | None] = mapped_column("metadata", JSONType)
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()

    legs: Mapped[list[TradeLeg]] = relationship(
        back_populates="trade",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="TradeLeg.leg_order",
    )


class TradeLeg(Base):
    """One leg of a seed 001 trade."""

    __tablename__ = "trade_legs"
    __table_args__ = (
        check_in("action", "action", ("buy", "sell")),
        check_in("status", "status", ("pending", "filled", "partially_filled", "cancelled")),
        Index("idx_trade_legs_trade_id", "trade_id"),
        Index("idx_trade_legs_option_symbol", "option_symbol"),
    )

    id: Mapped[uuid.UUID] = id_column()
    trade_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("trades.id", ondelete="CASCADE"))
    leg_order: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(10))
    option_symbol: Mapped[str] = mapped_column(String(50))
    quantity: Mapped[int] = mapped_column(Integer)
    avg_fill_price: Mapped[Decimal | None] = mapped_column(Amount)
    commission: Mapped[Decimal | None] = mapped_column(Amount)
    fees: Mapped[Decimal | None] = mapped_column(Amount)
    status: Mapped[str] = mapped_column(
        String(20), default="pending", server_default=text("'pending'")
    )
    filled_quantity: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    remaining_quantity: Mapped[int | None] = mapped_column(Integer)
    ratio: Mapped[int | None] = mapped_column(Integer)
    multiplier: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()

    trade: Mapped[Trade] = relationship(back_populates="legs")


class Order(Base):
    """An order (seeds 001 and 004).

    Seed 001: a broker order of a trade leg; seed 004: an order intent of a
    signal in a trade cycle, decided by the risk gates).

    ``side`` is seed 004's ``side`` and seed 001's ``action``; ``qty`` is seed 004's ``qty`` and
    seed 001's ``quantity`` (synonyms); ``qty > 0`` always. ``status`` accepts both lifecycles
    (:data:`ORDER_STATUSES`). The CHECK ``lineage`` requires a trade leg, a trade (a riskdesk
    paper order: its legs are the trade's legs) or a (signal, cycle, symbol).

    A paper order belongs to ``account_id``; ``idempotency_key`` is unique per account and
    ``request_sha256`` is the digest of the request it was first submitted with (a repeat with
    another request is a conflict). ``limit_price`` / ``stop_price`` of a paper order are net
    prices per unit, positive for a debit and negative for a credit.
    """

    __tablename__ = "orders"
    __table_args__ = (
        CheckConstraint(
            '"trade_leg_id" IS NOT NULL OR "trade_id" IS NOT NULL OR ('
            + all_not_null("signal_id", "cycle_id", "symbol")
            + ")",
            name="lineage",
        ),
        CheckConstraint(
            '"trade_leg_id" IS NULL OR "order_type" IS NOT NULL', name="seed001_fields"
        ),
        CheckConstraint(num("qty") > 0, name="qty_positive"),
        CheckConstraint(num("filled_quantity") >= 0, name="filled_quantity_nonnegative"),
        check_in("side", "side", ("buy", "sell")),
        check_in("status", "status", ORDER_STATUSES),
        check_in(
            "order_type", "order_type", ("market", "limit", "stop", "stop_limit"), nullable=True
        ),
        check_in("time_in_force", "time_in_force", ("DAY", "GTC", "IOC", "FOK")),
        CheckConstraint(
            '"idempotency_key" IS NULL OR "request_sha256" IS NOT NULL',
            name="idempotency_request",
        ),
        UniqueConstraint("account_id", "idempotency_key", name="uq_orders_account_idempotency_key"),
        Index("idx_orders_account_created_at", "account_id", text("created_at DESC")),
        Index("idx_orders_trade_id", "trade_id"),
        Index("idx_orders_trade_leg_id", "trade_leg_id"),
        Index("idx_orders_broker_order_id", "broker_order_id"),
        Index("idx_orders_status", "status"),
        Index("idx_orders_submitted_at", text("submitted_at DESC")),
        Index("idx_orders_signal_id", "signal_id"),
        Index("idx_orders_cycle_id", "cycle_id"),
        Index("idx_orders_symbol_created_at", "symbol", text("created_at DESC")),
        Index("idx_orders_status_created_at", "status", text("created_at DESC")),
    )

    id: Mapped[uuid.UUID] = id_column()
    trade_leg_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("trade_legs.id"))
    trade_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("trades.id"))
    account_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("trading_accounts.id"))
    signal_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("signals.id"))
    cycle_id: Mapped[uuid.UUID | None] = mapped_column(Uuid())
    idempotency_key: Mapped[str | None] = mapped_column(String(255))
    request_sha256: Mapped[str | None] = mapped_column(String(64))
    triggered: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    broker_order_id: Mapped[str | None] = mapped_column(String(100))
    symbol: Mapped[str | None] = mapped_column(String(64))
    order_type: Mapped[str | None] = mapped_column(String(20))
    side: Mapped[str] = mapped_column(String(16))
    qty: Mapped[Decimal] = mapped_column(Amount)
    limit_price: Mapped[Decimal | None] = mapped_column(Amount)
    stop_price: Mapped[Decimal | None] = mapped_column(Amount)
    time_in_force: Mapped[str] = mapped_column(
        String(10), default="DAY", server_default=text("'DAY'")
    )
    status: Mapped[str] = mapped_column(
        String(20), default="pending", server_default=text("'pending'")
    )
    risk_reason: Mapped[str | None] = mapped_column(Text)
    filled_quantity: Mapped[Decimal] = mapped_column(
        Amount, default=Decimal(0), server_default=text("0")
    )
    avg_fill_price: Mapped[Decimal | None] = mapped_column(Amount)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    filled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    error_message: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()

    action = synonym("side")
    quantity = synonym("qty")

    fills: Mapped[list[Fill]] = relationship(back_populates="order", order_by="Fill.filled_at")


class OrderEvent(ImmutableRow, Base):
    """One status transition of an order: from, to, when and why (append-only).

    ``seq`` numbers an order's transitions (unique per order), so several stamped with one
    instant (proposed, approved, submitted, filled in one submission) keep their order.
    """

    __tablename__ = "order_events"
    __immutable_key__ = "event_id"
    __table_args__ = (
        check_in("to_status", "to_status", ORDER_STATUSES),
        check_in("from_status", "from_status", ORDER_STATUSES, nullable=True),
        UniqueConstraint("order_id", "seq", name="uq_order_events_order_seq"),
        Index("idx_order_events_order_id_at", "order_id", "at"),
    )

    event_id: Mapped[uuid.UUID] = id_column()
    order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orders.id"))
    seq: Mapped[int] = mapped_column(Integer)
    """1, 2, 3... per order: the order of transitions stamped with the same instant."""
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(
        JSONType, default=dict, server_default=_EMPTY_OBJECT
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class TradeCycle(Base):
    """One strategy-risk-execution cycle of a paper account (seed 004 ``POST /trade/cycle``).

    ``idempotency_key`` is unique per account: a repeat returns the stored ``result``; another
    request (``request_sha256`` differs) under the same key is a conflict.
    """

    __tablename__ = "trade_cycles"
    __table_args__ = (
        check_in("status", "status", CYCLE_STATUSES),
        UniqueConstraint("account_id", "idempotency_key", name="uq_trade_cycles_account_key"),
        Index("idx_trade_cycles_account_created_at", "account_id", text("created_at DESC")),
    )

    cycle_id: Mapped[uuid.UUID] = id_column()
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("trading_accounts.id"))
    idempotency_key: Mapped[str] = mapped_column(String(255))
    request_sha256: Mapped[str] = mapped_column(String(64))
    trigger_source: Mapped[str] = mapped_column(String(50))
    symbol: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20))
    result: Mapped[dict[str, Any]] = mapped_column(
        JSONType, default=dict, server_default=_EMPTY_OBJECT
    )
    created_at: Mapped[datetime] = created_at_column()


class Fill(ImmutableRow, Base):
    """A (simulated) execution of an order (seed 004 ``fills``); an order may have several.

    A multi-leg execution is one row per leg sharing ``execution_id``; ``net_price`` is the
    execution's net price per unit and ``commission`` / ``fee`` its costs, carried on its first
    leg's row (zero on the others), so summing the rows sums the costs once. Append-only.
    """

    __tablename__ = "fills"
    __immutable_key__ = "fill_id"
    __table_args__ = (
        CheckConstraint(num("qty") > 0, name="qty_positive"),
        CheckConstraint(column("slippage_bps") >= 0, name="slippage_bps_nonnegative"),
        check_in("side", "side", ("buy", "sell")),
        CheckConstraint(column("multiplier") >= 1, name="multiplier_positive"),
        Index("idx_fills_order_id_filled_at", "order_id", text("filled_at DESC")),
        Index("idx_fills_execution_id", "execution_id"),
        Index("idx_fills_symbol_filled_at", "symbol", text("filled_at DESC")),
    )

    fill_id: Mapped[uuid.UUID] = id_column()
    order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orders.id"))
    symbol: Mapped[str] = mapped_column(String(64))
    side: Mapped[str] = mapped_column(String(16))
    qty: Mapped[Decimal] = mapped_column(Amount)
    fill_price: Mapped[Decimal] = mapped_column(Amount)
    fee: Mapped[Decimal] = mapped_column(Amount, default=Decimal(0), server_default=text("0"))
    slippage_bps: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    filled_at: Mapped[datetime] = mapped_column(UTCDateTime())
    trade_leg_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("trade_legs.id"))
    execution_id: Mapped[uuid.UUID | None] = mapped_column(Uuid())
    commission: Mapped[Decimal] = mapped_column(
        Amount, default=Decimal(0), server_default=text("0")
    )
    multiplier: Mapped[int] = mapped_column(Integer, default=1, server_default=text("1"))
    net_price: Mapped[Decimal | None] = mapped_column(Amount)

    order: Mapped[Order] = relationship(back_populates="fills")


class RiskParameter(Base):
    """A per-account risk limit (seed 001 ``risk_parameters``)."""

    __tablename__ = "risk_parameters"
    __table_args__ = (
        check_in("parameter_type", "parameter_type", ("percentage", "absolute", "multiplier")),
        UniqueConstraint(
            "user_id", "account_id", "parameter_name", name="uq_risk_parameters_user_account_name"
        ),
        Index("idx_risk_parameters_user_account", "user_id", "account_id"),
        Index("idx_risk_parameters_name", "parameter_name"),
    )

    id: Mapped[uuid.UUID] = id_column()
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("trading_accounts.id"))
    parameter_name: Mapped[str] = mapped_column(String(50))
    parameter_value: Mapped[Decimal] = mapped_column(Ratio)
    parameter_type: Mapped[str] = mapped_column(String(20))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()


class RiskEvent(Base):
    """A risk event (seeds 001 and 004).

    Seed 001: severity, thresholds, emergency halts; seed 004: a gate's
    decision on an order: blocked / allowed / warned, with the rule and details).

    The CHECK ``seed001_or_seed004`` requires (event_type, severity, description) or
    (order_id, action, rule).
    """

    __tablename__ = "risk_events"
    __table_args__ = (
        CheckConstraint(
            "("
            + all_not_null("event_type", "severity", "description")
            + ") OR ("
            + all_not_null("order_id", "action", "rule")
            + ")",
            name="seed001_or_seed004",
        ),
        check_in("severity", "severity", ("low", "medium", "high", "critical"), nullable=True),
        check_in("action", "action", ("blocked", "allowed", "warned"), nullable=True),
        Index("idx_risk_events_user_id", "user_id"),
        Index("idx_risk_events_account_id", "account_id"),
        Index("idx_risk_events_severity", "severity"),
        Index("idx_risk_events_created_at", text("created_at DESC")),
        Index("idx_risk_events_order_id_created_at", "order_id", text("created_at DESC")),
    )

    id: Mapped[uuid.UUID] = id_column()
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    account_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("trading_accounts.id"))
    order_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("orders.id"))
    event_type: Mapped[str | None] = mapped_column(String(50))
    severity: Mapped[str | None] = mapped_column(String(20))
    description: Mapped[str | None] = mapped_column(Text)
    triggered_value: Mapped[Decimal | None] = mapped_column(Ratio)
    threshold_value: Mapped[Decimal | None] = mapped_column(Ratio)
    action_taken: Mapped[str | None] = mapped_column(String(100))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    action: Mapped[str | None] = mapped_column(String(10))
    rule: Mapped[str | None] = mapped_column(String(100))
    details: Mapped[dict[str, Any]] = mapped_column(
        JSONType, default=dict, server_default=_EMPTY_OBJECT
    )
    created_at: Mapped[datetime] = created_at_column()


class KillSwitchEvent(Base):
    """The kill switch turned on or off, by whom and why (seed 004)."""

    __tablename__ = "kill_switch_events"
    __table_args__ = (Index("idx_kill_switch_events_created_at", text("created_at DESC")),)

    event_id: Mapped[uuid.UUID] = id_column()
    enabled: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str | None] = mapped_column(String(100))
    trigger: Mapped[str | None] = mapped_column(String(32))
    observed_value: Mapped[Decimal | None] = mapped_column(Ratio)
    threshold_value: Mapped[Decimal | None] = mapped_column(Ratio)
    created_at: Mapped[datetime] = created_at_column()


class DailyPnl(Base):
    """Daily P&L per account and ticker (seed 001). ``ticker_id`` NULL is the account total.

    The unique rule treats NULL tickers as equal, so an account has one total per day.
    """

    __tablename__ = "daily_pnl"
    __table_args__ = (
        *unique_nulls_not_distinct(
            "uq_daily_pnl_user_account_ticker_date",
            "user_id",
            "account_id",
            "ticker_id",
            "trade_date",
        ),
        Index("idx_daily_pnl_user_account_date", "user_id", "account_id", text("trade_date DESC")),
        Index("idx_daily_pnl_ticker_date", "ticker_id", text("trade_date DESC")),
    )

    id: Mapped[uuid.UUID] = id_column()
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("trading_accounts.id"))
    ticker_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("tickers.id"))
    trade_date: Mapped[date] = mapped_column(Date)
    realized_pnl: Mapped[Decimal] = mapped_column(
        Amount, default=Decimal(0), server_default=text("0")
    )
    unrealized_pnl: Mapped[Decimal] = mapped_column(
        Amount, default=Decimal(0), server_default=text("0")
    )
    total_pnl: Mapped[Decimal] = mapped_column(Amount, default=Decimal(0), server_default=text("0"))
    commission: Mapped[Decimal] = mapped_column(
        Amount, default=Decimal(0), server_default=text("0")
    )
    fees: Mapped[Decimal] = mapped_column(Amount, default=Decimal(0), server_default=text("0"))
    net_pnl: Mapped[Decimal] = mapped_column(Amount, default=Decimal(0), server_default=text("0"))
    trades_count: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    winning_trades: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    losing_trades: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()


class PerformanceMetric(Base):
    """Period performance of an account (seed 001 ``performance_metrics``)."""

    __tablename__ = "performance_metrics"
    __table_args__ = (
        UniqueConstraint(
            "user_id",
            "account_id",
            "period_start",
            "period_end",
            name="uq_performance_metrics_period",
        ),
        CheckConstraint(column("period_end") >= column("period_start"), name="period_ordered"),
        _between("win_rate", 0, 1, nullable=True),
        Index("idx_performance_metrics_user_account", "user_id", "account_id"),
        Index("idx_performance_metrics_period", "period_start", "period_end"),
    )

    id: Mapped[uuid.UUID] = id_column()
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("trading_accounts.id"))
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    total_return: Mapped[Decimal | None] = mapped_column(Ratio)
    total_trades: Mapped[int | None] = mapped_column(Integer)
    winning_trades: Mapped[int | None] = mapped_column(Integer)
    losing_trades: Mapped[int | None] = mapped_column(Integer)
    win_rate: Mapped[Decimal | None] = mapped_column(Ratio)
    avg_win: Mapped[Decimal | None] = mapped_column(Amount)
    avg_loss: Mapped[Decimal | None] = mapped_column(Amount)
    profit_factor: Mapped[Decimal | None] = mapped_column(Ratio)
    sharpe_ratio: Mapped[Decimal | None] = mapped_column(Ratio)
    max_drawdown: Mapped[Decimal | None] = mapped_column(Ratio)
    max_drawdown_duration: Mapped[int | None] = mapped_column(Integer)
    volatility: Mapped[Decimal | None] = mapped_column(Ratio)
    created_at: Mapped[datetime] = created_at_column()


class DevnetSmokeRun(Base):
    """An operational check of the execution venue (seed 004), kept apart from P&L."""

    __tablename__ = "devnet_smoke_runs"
    __table_args__ = (
        check_in("status", "status", ("passed", "failed")),
        Index("idx_devnet_smoke_runs_ran_at", text("ran_at DESC")),
    )

    run_id: Mapped[uuid.UUID] = id_column()
    status: Mapped[str] = mapped_column(String(10))
    rpc_latency_ms: Mapped[int | None] = mapped_column(Integer)
    wallet_check: Mapped[str | None] = mapped_column(Text)
    tx_simulation: Mapped[str | None] = mapped_column(Text)
    ran_at: Mapped[datetime] = mapped_column(UTCDateTime())
