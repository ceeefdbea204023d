"""Portfolios, positions, factors, stress and what-if (seed 002).

``positions`` and ``portfolio_snapshots`` are merged with seed 004.
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
    and_,
    column,
    or_,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship, synonym

from riskdesk.store.models._base import (
    Amount,
    Base,
    Ratio,
    all_not_null,
    check_in,
    created_at_column,
    id_column,
    num,
    updated_at_column,
)
from riskdesk.store.types import JSONType, UTCDateTime

__all__ = [
    "POSITION_TYPES",
    "FactorCovariance",
    "FactorDefinition",
    "ModelingSessionSnapshot",
    "Portfolio",
    "PortfolioFactorExposure",
    "PortfolioSnapshot",
    "Position",
    "PositionAttribute",
    "PositionCorrelation",
    "PositionFactorBeta",
    "PositionGreeks",
    "PositionRelationship",
    "PositionTag",
    "StrategyGroup",
    "StressScenario",
    "StressScenarioShock",
    "Tag",
]

POSITION_TYPES: tuple[str, ...] = ("LONG", "SHORT", "LC", "LP", "SC", "SP")


def _correlation_range(name: str = "correlation") -> CheckConstraint:
    return CheckConstraint(
        or_(column(name).is_(None), and_(num(name) >= -1, num(name) <= 1)),
        name=f"{name}_range",
    )


class Portfolio(Base):
    """A user's portfolio (seed 002 ``portfolios``)."""

    __tablename__ = "portfolios"
    __table_args__ = (UniqueConstraint("user_id", "name"),)

    id: Mapped[uuid.UUID] = id_column()
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    base_currency: Mapped[str] = mapped_column(
        String(3), default="USD", server_default=text("'USD'")
    )
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()


class StrategyGroup(Base):
    """Positions traded together as one strategy (e.g. an iron condor) in a portfolio."""

    __tablename__ = "strategy_groups"
    __table_args__ = (
        UniqueConstraint("portfolio_id", "name"),
        Index("idx_strategy_groups_tag", "tag_id"),
    )

    id: Mapped[uuid.UUID] = id_column()
    portfolio_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("portfolios.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255))
    strategy_type: Mapped[str | None] = mapped_column(String(50))
    tag_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("tags.id", ondelete="SET NULL"))
    description: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()


class Position(Base):
    """A holding of a portfolio (seed 002) or of a paper account (seed 004).

    Seed 002: a portfolio position with type, entry/exit and option fields; seed 004 (current paper holding per symbol with average entry, mark and unrealized P&L).

    Surrogate UUID key instead of seed 004's ``symbol`` primary key: a symbol is held by many
    portfolios and accounts, and a closed seed-002 position stays as history. Each row belongs
    to exactly one portfolio (seed 002) or one trading account (seed 004). Unique rules: one
    row per (account, symbol); one *active* row per (portfolio, symbol).

    ``symbol`` is seed 002's ``ticker`` (options as OCC symbols), ``quantity`` is seed 004's
    ``qty`` and ``avg_entry_price`` is seed 002's ``entry_price`` (synonyms on the model).
    """

    __tablename__ = "positions"
    __table_args__ = (
        CheckConstraint(
            or_(
                and_(column("portfolio_id").is_not(None), column("account_id").is_(None)),
                and_(column("portfolio_id").is_(None), column("account_id").is_not(None)),
            ),
            name="one_owner",
        ),
        CheckConstraint(
            '"portfolio_id" IS NULL OR (' + all_not_null("position_type", "entry_date") + ")",
            name="seed002_fields",
        ),
        CheckConstraint(
            '"account_id" IS NULL OR (' + all_not_null("mark_price", "unrealized_pnl") + ")",
            name="seed004_fields",
        ),
        CheckConstraint(
            or_(column("portfolio_id").is_(None), num("quantity") != 0),
            name="portfolio_quantity_nonzero",
        ),
        CheckConstraint(num("avg_entry_price") >= 0, name="avg_entry_price_nonnegative"),
        check_in("position_type", "position_type", POSITION_TYPES, nullable=True),
        UniqueConstraint("account_id", "symbol"),
        Index(
            "uq_positions_portfolio_symbol_active",
            "portfolio_id",
            "symbol",
            unique=True,
            postgresql_where=text("is_active"),
            sqlite_where=text("is_active"),
        ),
        Index("idx_positions_portfolio_active", "portfolio_id", "is_active"),
        Index("idx_positions_symbol", "symbol"),
        Index("idx_positions_type_active", "position_type", "is_active"),
        Index("idx_positions_strategy_group", "strategy_group_id"),
    )

    id: Mapped[uuid.UUID] = id_column()
    portfolio_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("portfolios.id", ondelete="CASCADE")
    )
    account_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("trading_accounts.id"))
    strategy_group_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("strategy_groups.id", ondelete="SET NULL")
    )
    symbol: Mapped[str] = mapped_column(String(64))
    position_type: Mapped[str | None] = mapped_column(String(16))
    quantity: Mapped[Decimal] = mapped_column(Amount)
    avg_entry_price: Mapped[Decimal] = mapped_column(Amount)
    entry_date: Mapped[date | None] = mapped_column(Date)
    exit_price: Mapped[Decimal | None] = mapped_column(Amount)
    exit_date: Mapped[date | None] = mapped_column(Date)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    strike_price: Mapped[Decimal | None] = mapped_column(Amount)
    expiration_date: Mapped[date | None] = mapped_column(Date)
    underlying_ticker: Mapped[str | None] = mapped_column(String(32))
    mark_price: Mapped[Decimal | None] = mapped_column(Amount)
    unrealized_pnl: Mapped[Decimal | None] = mapped_column(Amount)
    realized_pnl: Mapped[Decimal | None] = mapped_column(Amount)
    cost_basis: Mapped[Decimal | None] = mapped_column(Amount)
    multiplier: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()

    ticker = synonym("symbol")
    qty = synonym("quantity")
    entry_price = synonym("avg_entry_price")

    tags: Mapped[list[Tag]] = relationship(secondary="position_tags", viewonly=True)


class Tag(Base):
    """A label on positions, regular or a strategy tag (seed 002 ``tags``)."""

    __tablename__ = "tags"
    __table_args__ = (
        check_in("tag_type", "tag_type", ("regular", "strategy")),
        UniqueConstraint("user_id", "name"),
    )

    id: Mapped[uuid.UUID] = id_column()
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    tag_type: Mapped[str] = mapped_column(
        String(10), default="regular", server_default=text("'regular'")
    )
    color: Mapped[str | None] = mapped_column(String(16))
    description: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at_column()


class PositionTag(Base):
    """Positions N:M tags (seed 002 ``position_tags``)."""

    __tablename__ = "position_tags"
    __table_args__ = (Index("idx_position_tags_tag", "tag_id"),)

    position_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("positions.id", ondelete="CASCADE"), primary_key=True
    )
    tag_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True
    )
    created_at: Mapped[datetime] = created_at_column()


class PositionRelationship(Base):
    """A typed link between two positions (hedge, spread leg, covered call ...)."""

    __tablename__ = "position_relationships"
    __table_args__ = (
        CheckConstraint(
            column("parent_position_id") != column("child_position_id"), name="not_self"
        ),
        UniqueConstraint(
            "parent_position_id",
            "child_position_id",
            "relationship_type",
            name="uq_position_relationships_link",
        ),
        Index("idx_position_relationships_child", "child_position_id"),
    )

    id: Mapped[uuid.UUID] = id_column()
    parent_position_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("positions.id", ondelete="CASCADE")
    )
    child_position_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("positions.id", ondelete="CASCADE")
    )
    relationship_type: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = created_at_column()


class PositionAttribute(Base):
    """A free key/value attribute of a position (seed 002 ``position_attributes``)."""

    __tablename__ = "position_attributes"
    __table_args__ = (UniqueConstraint("position_id", "attribute_name"),)

    id: Mapped[uuid.UUID] = id_column()
    position_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("positions.id", ondelete="CASCADE"))
    attribute_name: Mapped[str] = mapped_column(String(100))
    attribute_value: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()


class PositionGreeks(Base):
    """Greeks of a position on a calculation date (seed 002 ``position_greeks``)."""

    __tablename__ = "position_greeks"
    __table_args__ = (
        UniqueConstraint("position_id", "calculation_date"),
        Index("idx_position_greeks_position_date", "position_id", text("calculation_date DESC")),
    )

    id: Mapped[uuid.UUID] = id_column()
    position_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("positions.id", ondelete="CASCADE"))
    calculation_date: Mapped[date] = mapped_column(Date)
    delta: Mapped[Decimal | None] = mapped_column(Ratio)
    gamma: Mapped[Decimal | None] = mapped_column(Ratio)
    theta: Mapped[Decimal | None] = mapped_column(Ratio)
    vega: Mapped[Decimal | None] = mapped_column(Ratio)
    rho: Mapped[Decimal | None] = mapped_column(Ratio)
    created_at: Mapped[datetime] = created_at_column()


class FactorDefinition(Base):
    """A risk factor (seed 002 ``factor_definitions``; the eight defaults are seeded)."""

    __tablename__ = "factor_definitions"

    id: Mapped[uuid.UUID] = id_column()
    name: Mapped[str] = mapped_column(String(50), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    category: Mapped[str] = mapped_column(String(20))
    sort_order: Mapped[int] = mapped_column(Integer)
    etf_proxy: Mapped[str | None] = mapped_column(String(32))
    description: Mapped[str | None] = mapped_column(Text)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    created_at: Mapped[datetime] = created_at_column()


class PositionFactorBeta(Base):
    """A position's beta to a factor, by regression on the factor's ETF proxy."""

    __tablename__ = "position_factor_betas"
    __table_args__ = (
        UniqueConstraint("position_id", "factor_id", "calculation_date"),
        Index("idx_position_factor_betas_factor_date", "factor_id", "calculation_date"),
        CheckConstraint(
            or_(column("observations").is_(None), column("observations") >= 0),
            name="observations_nonnegative",
        ),
    )

    id: Mapped[uuid.UUID] = id_column()
    position_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("positions.id", ondelete="CASCADE"))
    factor_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("factor_definitions.id"))
    calculation_date: Mapped[date] = mapped_column(Date)
    beta: Mapped[Decimal] = mapped_column(Ratio)
    r_squared: Mapped[Decimal | None] = mapped_column(Ratio)
    observations: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = created_at_column()


class PortfolioFactorExposure(Base):
    """A portfolio's exposure to a factor on a date (seed 002)."""

    __tablename__ = "portfolio_factor_exposures"
    __table_args__ = (
        UniqueConstraint(
            "portfolio_id",
            "factor_id",
            "calculation_date",
            name="uq_portfolio_factor_exposures_day",
        ),
        Index("idx_portfolio_factor_exposures_date", "portfolio_id", "calculation_date"),
    )

    id: Mapped[uuid.UUID] = id_column()
    portfolio_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("portfolios.id", ondelete="CASCADE"))
    factor_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("factor_definitions.id"))
    calculation_date: Mapped[date] = mapped_column(Date)
    exposure_value: Mapped[Decimal] = mapped_column(Ratio)
    exposure_dollar: Mapped[Decimal | None] = mapped_column(Amount)
    created_at: Mapped[datetime] = created_at_column()


class FactorCovariance(Base):
    """Covariance and correlation of two factors on a date (seed 002 ``factor_covariance_matrix``).

    Stored once per unordered pair: ``factor1_id <= factor2_id`` (the seed's queries look pairs
    up with LEAST/GREATEST); the diagonal holds variances.
    """

    __tablename__ = "factor_covariance_matrix"
    __table_args__ = (
        UniqueConstraint(
            "factor1_id", "factor2_id", "calculation_date", name="uq_factor_covariance_pair_date"
        ),
        CheckConstraint(column("factor1_id") <= column("factor2_id"), name="pair_ordered"),
        _correlation_range(),
        Index("idx_factor_covariance_matrix_date", "calculation_date"),
    )

    id: Mapped[uuid.UUID] = id_column()
    factor1_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("factor_definitions.id"))
    factor2_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("factor_definitions.id"))
    calculation_date: Mapped[date] = mapped_column(Date)
    covariance: Mapped[Decimal] = mapped_column(Ratio)
    correlation: Mapped[Decimal | None] = mapped_column(Ratio)
    created_at: Mapped[datetime] = created_at_column()


class PositionCorrelation(Base):
    """Correlation of two positions on a date (seed 002 ``position_correlation_matrix``).

    Stored once per pair with ``position1_id < position2_id`` (the seed joins on ``pw1.id < pw2.id``).
    """

    __tablename__ = "position_correlation_matrix"
    __table_args__ = (
        UniqueConstraint(
            "position1_id",
            "position2_id",
            "calculation_date",
            name="uq_position_correlation_pair_date",
        ),
        CheckConstraint(column("position1_id") < column("position2_id"), name="pair_ordered"),
        _correlation_range(),
        Index("idx_position_correlation_matrix_date", "calculation_date"),
    )

    id: Mapped[uuid.UUID] = id_column()
    position1_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("positions.id", ondelete="CASCADE"))
    position2_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("positions.id", ondelete="CASCADE"))
    calculation_date: Mapped[date] = mapped_column(Date)
    correlation: Mapped[Decimal] = mapped_column(Ratio)
    created_at: Mapped[datetime] = created_at_column()


class StressScenario(Base):
    """A stress scenario (seed 002; the eight defaults are seeded)."""

    __tablename__ = "stress_scenarios"
    __table_args__ = (check_in("scenario_type", "scenario_type", ("sensitivity", "historical")),)

    id: Mapped[uuid.UUID] = id_column()
    name: Mapped[str] = mapped_column(String(100), unique=True)
    scenario_type: Mapped[str] = mapped_column(String(20))
    description: Mapped[str | None] = mapped_column(Text)
    sort_order: Mapped[int] = mapped_column(Integer)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    created_at: Mapped[datetime] = created_at_column()

    shocks: Mapped[list[StressScenarioShock]] = relationship(
        back_populates="scenario", cascade="all, delete-orphan", passive_deletes=True
    )


class StressScenarioShock(Base):
    """The direct shock of a scenario to one factor (seed 002 ``stress_scenario_shocks``)."""

    __tablename__ = "stress_scenario_shocks"
    __table_args__ = (UniqueConstraint("scenario_id", "factor_id"),)

    id: Mapped[uuid.UUID] = id_column()
    scenario_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("stress_scenarios.id", ondelete="CASCADE")
    )
    factor_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("factor_definitions.id"))
    shock_amount: Mapped[Decimal] = mapped_column(Ratio)

    scenario: Mapped[StressScenario] = relationship(back_populates="shocks")


class PortfolioSnapshot(Base):
    """Portfolio metrics over time (seed 002 ``PortfolioSnapshot`` and seed 004 NAV).

    Seed 002: per portfolio and date,
    exposures, P&L, risk metrics) and seed 004's NAV snapshot (nav, cash, realized/unrealized).

    ``captured_at`` (seed 004) is set for every row. The CHECK ``seed002_or_seed004`` requires
    the seed-002 exposures for a portfolio row, or the seed-004 NAV figures.
    """

    __tablename__ = "portfolio_snapshots"
    __table_args__ = (
        CheckConstraint(
            '("portfolio_id" IS NOT NULL AND '
            + all_not_null(
                "snapshot_date",
                "frequency",
                "total_value",
                "long_exposure",
                "short_exposure",
                "gross_exposure",
                "net_exposure",
            )
            + ") OR ("
            + all_not_null("nav", "cash", "realized_pnl", "unrealized_pnl")
            + ")",
            name="seed002_or_seed004",
        ),
        check_in("frequency", "frequency", ("daily", "weekly", "monthly"), nullable=True),
        UniqueConstraint("portfolio_id", "snapshot_date", "frequency"),
        Index("idx_portfolio_snapshots_captured_at", text("captured_at DESC")),
        Index("idx_portfolio_snapshots_account_captured", "account_id", text("captured_at DESC")),
    )

    id: Mapped[uuid.UUID] = id_column()
    portfolio_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("portfolios.id", ondelete="CASCADE")
    )
    account_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("trading_accounts.id"))
    snapshot_date: Mapped[date | None] = mapped_column(Date)
    frequency: Mapped[str | None] = mapped_column(String(10))
    total_value: Mapped[Decimal | None] = mapped_column(Amount)
    long_exposure: Mapped[Decimal | None] = mapped_column(Amount)
    short_exposure: Mapped[Decimal | None] = mapped_column(Amount)
    gross_exposure: Mapped[Decimal | None] = mapped_column(Amount)
    net_exposure: Mapped[Decimal | None] = mapped_column(Amount)
    daily_pnl: Mapped[Decimal | None] = mapped_column(Amount)
    total_pnl: Mapped[Decimal | None] = mapped_column(Amount)
    portfolio_beta: Mapped[Decimal | None] = mapped_column(Ratio)
    annualized_volatility: Mapped[Decimal | None] = mapped_column(Ratio)
    position_correlation: Mapped[Decimal | None] = mapped_column(Ratio)
    max_drawdown: Mapped[Decimal | None] = mapped_column(Ratio)
    sharpe_ratio: Mapped[Decimal | None] = mapped_column(Ratio)
    diversification_score: Mapped[Decimal | None] = mapped_column(Ratio)
    nav: Mapped[Decimal | None] = mapped_column(Amount)
    cash: Mapped[Decimal | None] = mapped_column(Amount)
    realized_pnl: Mapped[Decimal | None] = mapped_column(Amount)
    unrealized_pnl: Mapped[Decimal | None] = mapped_column(Amount)
    captured_at: Mapped[datetime] = created_at_column()
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()


class ModelingSessionSnapshot(Base):
    """A what-if modeling session: both seed 002 definitions of ``modeling_session_snapshots``.

    Definition 1.1 (per portfolio: base date, modifications, impact, risk before/after) and
    definition 1.3 (per user: session id, status, base/modified portfolio state, changes).
    Their "modifications" and "changes" are one column, ``changes`` (synonym
    ``modifications``). The CHECK ``definition_fields`` requires one complete definition.
    """

    __tablename__ = "modeling_session_snapshots"
    __table_args__ = (
        CheckConstraint(
            "("
            + all_not_null("portfolio_id", "base_snapshot_date", "changes", "impact_summary")
            + ") OR ("
            + all_not_null("session_id", "user_id", "base_portfolio_snapshot")
            + ")",
            name="definition_fields",
        ),
        check_in("status", "status", ("active", "completed", "cancelled")),
        Index(
            "idx_modeling_sessions_user_status",
            "user_id",
            "status",
            postgresql_where=text("status = 'active'"),
            sqlite_where=text("status = 'active'"),
        ),
        Index("idx_modeling_sessions_portfolio", "portfolio_id"),
    )

    id: Mapped[uuid.UUID] = id_column()
    session_id: Mapped[str | None] = mapped_column(String(50), unique=True)
    portfolio_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("portfolios.id", ondelete="CASCADE")
    )
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(
        String(20), default="active", server_default=text("'active'")
    )
    base_snapshot_date: Mapped[date | None] = mapped_column(Date)
    base_portfolio_snapshot: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    modified_portfolio_snapshot: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    changes: Mapped[list[Any] | None] = mapped_column(JSONType)
    impact_summary: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    risk_metrics_before: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    risk_metrics_after: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    factor_exposures_change: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    modifications = synonym("changes")
