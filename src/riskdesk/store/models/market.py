"""Market data: tickers, quotes, option chains, caches and ticks (seeds 001, 002, 004)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    Uuid,
    column,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from riskdesk.store.models._base import (
    Amount,
    Base,
    Ratio,
    check_in,
    created_at_column,
    id_column,
    num,
    updated_at_column,
)
from riskdesk.store.types import UTCDateTime, new_id

_Day = date  # the ``date`` column below shadows the type inside its class body

__all__ = [
    "MarketDataCache",
    "MarketDataSnapshot",
    "MarketTick",
    "OptionsChainQuote",
    "RealtimeQuoteCache",
    "ShortSellingMetric",
    "Ticker",
]


class Ticker(Base):
    """A listed underlying (seed 001 ``tickers``)."""

    __tablename__ = "tickers"
    __table_args__ = (Index("idx_tickers_is_active", "is_active"),)

    id: Mapped[uuid.UUID] = id_column()
    symbol: Mapped[str] = mapped_column(String(10), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    exchange: Mapped[str] = mapped_column(String(20))
    sector: Mapped[str | None] = mapped_column(String(100))
    industry: Mapped[str | None] = mapped_column(String(100))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    options_available: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=text("false")
    )
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()


class MarketDataSnapshot(Base):
    """An underlying quote of a ticker at ``timestamp`` (seed 001 ``market_data_snapshots``)."""

    __tablename__ = "market_data_snapshots"
    __table_args__ = (
        Index("idx_market_data_ticker_timestamp", "ticker_id", text("timestamp DESC")),
        Index("idx_market_data_timestamp", text("timestamp DESC")),
    )

    id: Mapped[uuid.UUID] = id_column()
    ticker_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tickers.id"))
    timestamp: Mapped[datetime] = mapped_column(UTCDateTime())
    price: Mapped[Decimal] = mapped_column(Amount)
    bid: Mapped[Decimal | None] = mapped_column(Amount)
    ask: Mapped[Decimal | None] = mapped_column(Amount)
    volume: Mapped[int | None] = mapped_column(BigInteger)
    open_price: Mapped[Decimal | None] = mapped_column(Amount)
    high_price: Mapped[Decimal | None] = mapped_column(Amount)
    low_price: Mapped[Decimal | None] = mapped_column(Amount)
    previous_close: Mapped[Decimal | None] = mapped_column(Amount)
    change_amount: Mapped[Decimal | None] = mapped_column(Amount)
    change_percent: Mapped[Decimal | None] = mapped_column(Ratio)
    created_at: Mapped[datetime] = created_at_column()


class OptionsChainQuote(Base):
    """One option of a chain with its Greeks at ``timestamp`` (seed 001 ``options_chains``)."""

    __tablename__ = "options_chains"
    __table_args__ = (
        check_in("option_type", "option_type", ("call", "put")),
        Index(
            "idx_options_chains_underlying_exp_strike",
            "underlying_ticker_id",
            "expiration_date",
            "strike_price",
        ),
        Index("idx_options_chains_symbol", "symbol"),
        Index("idx_options_chains_timestamp", text("timestamp DESC")),
        Index("idx_options_chains_expiration", "expiration_date"),
    )

    id: Mapped[uuid.UUID] = id_column()
    underlying_ticker_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tickers.id"))
    expiration_date: Mapped[date] = mapped_column(Date)
    strike_price: Mapped[Decimal] = mapped_column(Amount)
    option_type: Mapped[str] = mapped_column(String(16))
    symbol: Mapped[str] = mapped_column(String(50))
    bid: Mapped[Decimal | None] = mapped_column(Amount)
    ask: Mapped[Decimal | None] = mapped_column(Amount)
    last_price: Mapped[Decimal | None] = mapped_column(Amount)
    volume: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    open_interest: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    implied_volatility: Mapped[Decimal | None] = mapped_column(Ratio)
    delta: Mapped[Decimal | None] = mapped_column(Ratio)
    gamma: Mapped[Decimal | None] = mapped_column(Ratio)
    theta: Mapped[Decimal | None] = mapped_column(Ratio)
    vega: Mapped[Decimal | None] = mapped_column(Ratio)
    rho: Mapped[Decimal | None] = mapped_column(Ratio)
    timestamp: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = created_at_column()


class MarketDataCache(Base):
    """Daily OHLCV bars per ticker (seed 002 ``market_data_cache``); one bar per ticker and day."""

    __tablename__ = "market_data_cache"
    __table_args__ = (
        UniqueConstraint("ticker", "date"),
        Index("idx_market_data_cache_ticker_date", "ticker", text("date DESC")),
    )

    id: Mapped[uuid.UUID] = id_column()
    ticker: Mapped[str] = mapped_column(String(32))
    date: Mapped[_Day] = mapped_column(Date)
    open: Mapped[Decimal | None] = mapped_column(Amount)
    high: Mapped[Decimal | None] = mapped_column(Amount)
    low: Mapped[Decimal | None] = mapped_column(Amount)
    close: Mapped[Decimal] = mapped_column(Amount)
    volume: Mapped[int | None] = mapped_column(BigInteger)
    data_source: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = created_at_column()


class RealtimeQuoteCache(Base):
    """The latest quote per ticker (seed 002 ``realtime_quotes_cache``)."""

    __tablename__ = "realtime_quotes_cache"

    id: Mapped[uuid.UUID] = id_column()
    ticker: Mapped[str] = mapped_column(String(32), unique=True)
    last_price: Mapped[Decimal] = mapped_column(Amount)
    bid: Mapped[Decimal | None] = mapped_column(Amount)
    ask: Mapped[Decimal | None] = mapped_column(Amount)
    volume: Mapped[int | None] = mapped_column(BigInteger)
    quote_timestamp: Mapped[datetime | None] = mapped_column(UTCDateTime())
    data_source: Mapped[str | None] = mapped_column(String(32))
    updated_at: Mapped[datetime] = updated_at_column()


class ShortSellingMetric(Base):
    """Borrow cost and short interest of a ticker on a day (seed 002 ``short_selling_metrics``)."""

    __tablename__ = "short_selling_metrics"
    __table_args__ = (
        UniqueConstraint("ticker", "metric_date"),
        Index("idx_short_selling_metrics_date", "metric_date"),
    )

    id: Mapped[uuid.UUID] = id_column()
    ticker: Mapped[str] = mapped_column(String(32))
    metric_date: Mapped[date] = mapped_column(Date)
    cost_to_borrow_rate: Mapped[Decimal | None] = mapped_column(Ratio)
    short_interest_ratio: Mapped[Decimal | None] = mapped_column(Ratio)
    days_to_cover: Mapped[Decimal | None] = mapped_column(Ratio)
    data_source: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = created_at_column()


class MarketTick(Base):
    """A raw top-of-book tick (seed 004 ``market_ticks``). Partitioned by month on ``event_at``.

    The primary key is ``(tick_id, event_at)`` because a PostgreSQL partitioned table's key must
    contain the partition column.
    """

    __tablename__ = "market_ticks"
    __table_args__ = (
        CheckConstraint(num("ask_price") >= num("bid_price"), name="ask_gte_bid"),
        CheckConstraint(column("spread_bps") >= 0, name="spread_bps_nonnegative"),
        Index("idx_market_ticks_symbol_event_at", "symbol", text("event_at DESC")),
        {"postgresql_partition_by": "RANGE (event_at)"},
    )

    tick_id: Mapped[uuid.UUID] = mapped_column(Uuid(), primary_key=True, default=new_id)
    event_at: Mapped[datetime] = mapped_column(UTCDateTime(), primary_key=True)
    symbol: Mapped[str] = mapped_column(String(32))
    bid_price: Mapped[Decimal] = mapped_column(Amount)
    ask_price: Mapped[Decimal] = mapped_column(Amount)
    mid_price: Mapped[Decimal] = mapped_column(Amount)
    spread_bps: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = created_at_column()
