"""Seed 000: the analytics workbench (instruments, drafts, hashed versions, snapshots, results).

Hash-keyed tables (``trade_versions``, ``market_snapshots`` and their quote rows,
``model_configs``, ``scenario_grids``) are immutable: the database refuses UPDATEs and the
session raises :class:`~riskdesk.store.errors.ImmutableRowError` before sending one.
Hashed payloads and analytics outputs are :class:`~riskdesk.store.types.CanonicalJSON`: the
exact canonical text on both backends, so a stored payload re-hashes to its key and the same
inputs give the same bytes.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    Double,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
    Uuid,
    and_,
    column,
    func,
    or_,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from riskdesk.domain.hashing import CANONICAL_FORMAT_VERSION
from riskdesk.store.models._base import (
    Amount,
    Base,
    ImmutableRow,
    check_in,
    created_at_column,
    id_column,
    num,
    updated_at_column,
)
from riskdesk.store.types import CanonicalJSON, JSONType, UTCDateTime, new_id

__all__ = [
    "AnalyticsResult",
    "Instrument",
    "MarketSnapshot",
    "ModelConfig",
    "OptionContract",
    "PnlAttributionResult",
    "ScenarioGrid",
    "SnapshotOptionColumns",
    "SnapshotOptionQuote",
    "SnapshotUnderlyingQuote",
    "TradeCommit",
    "TradeDraft",
    "TradeDraftLeg",
    "TradeVersion",
]

_EMPTY_OBJECT = text("'{}'")
_EMPTY_ARRAY = text("'[]'")


def hash_format_column() -> Mapped[int]:
    """Canonical-form version the row's content hash was computed in.

    See :data:`riskdesk.domain.hashing.CANONICAL_FORMAT_VERSION`: rows are written in the
    current version, and a loader refuses to verify a row hashed under another one.
    """
    return mapped_column(
        Integer, default=CANONICAL_FORMAT_VERSION, server_default=text("1"), nullable=False
    )


def _hash_check(column_name: str) -> CheckConstraint:
    return CheckConstraint(func.length(column(column_name)) == 64, name=f"{column_name}_sha256")


class Instrument(Base):
    """A stock or option as a tradable unit (seed 000 ``instruments``)."""

    __tablename__ = "instruments"
    __table_args__ = (
        check_in("type", "type", ("STOCK", "OPTION")),
        CheckConstraint(column("multiplier") > 0, name="multiplier_positive"),
        UniqueConstraint("type", "symbol"),
        Index("idx_instruments_symbol", "symbol"),
    )

    instrument_id: Mapped[uuid.UUID] = id_column()
    symbol: Mapped[str] = mapped_column(String(64))
    type: Mapped[str] = mapped_column(String(10))
    multiplier: Mapped[int] = mapped_column(Integer, default=1, server_default=text("1"))
    currency: Mapped[str] = mapped_column(String(3), default="USD", server_default=text("'USD'"))
    metadata_json: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    created_at: Mapped[datetime] = created_at_column()


class OptionContract(Base):
    """A listed option contract (seed 000 ``option_contracts``).

    ``contract_key`` is :attr:`riskdesk.domain.instruments.OptionContract.key`
    (``underlying:YYYYMMDD:strike:C|P``); ``multiplier`` and ``currency`` complete the domain
    object so it can be rebuilt from the row.
    """

    __tablename__ = "option_contracts"
    __table_args__ = (
        check_in("right", "right", ("C", "P")),
        check_in("style", "style", ("AMERICAN", "EUROPEAN", "UNKNOWN")),
        check_in("settlement", "settlement", ("AM", "PM")),
        CheckConstraint(num("strike") > 0, name="strike_positive"),
        CheckConstraint(column("multiplier") > 0, name="multiplier_positive"),
        UniqueConstraint(
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
        Index("idx_option_contracts_contract_key", "contract_key"),
        Index("idx_option_contracts_provider_key", "provider_contract_key"),
        Index("idx_option_contracts_underlying_expiry", "underlying_symbol", "expiry"),
    )

    option_contract_id: Mapped[uuid.UUID] = id_column()
    underlying_symbol: Mapped[str] = mapped_column(String(32))
    expiry: Mapped[date] = mapped_column(Date)
    strike: Mapped[Decimal] = mapped_column(Amount)
    right: Mapped[str] = mapped_column(String(16))
    style: Mapped[str] = mapped_column(
        String(10), default="AMERICAN", server_default=text("'AMERICAN'")
    )
    settlement: Mapped[str] = mapped_column(String(16), default="PM", server_default=text("'PM'"))
    multiplier: Mapped[int] = mapped_column(Integer, default=100, server_default=text("100"))
    currency: Mapped[str] = mapped_column(String(3), default="USD", server_default=text("'USD'"))
    contract_key: Mapped[str] = mapped_column(String(64))
    provider_contract_key: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = created_at_column()


class TradeVersion(ImmutableRow, Base):
    """A committed trade: immutable, keyed by the content hash of ``trade_json``."""

    __tablename__ = "trade_versions"
    __immutable_key__ = "trade_hash"
    __table_args__ = (_hash_check("trade_hash"),)

    trade_version_id: Mapped[uuid.UUID] = id_column()
    trade_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hash_format: Mapped[int] = hash_format_column()
    name: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = created_at_column()
    trade_json: Mapped[dict[str, Any]] = mapped_column(CanonicalJSON())


class TradeDraft(Base):
    """An editable trade. ``rev`` increases by one on every UPDATE of the draft row.

    ``rev`` is the ORM version counter (a concurrent edit raises ``StaleDataError``) and the
    database refuses an UPDATE that does not increase it. Touch the draft (e.g. its
    ``updated_at``) when its legs change so the revision moves.
    """

    __tablename__ = "trade_drafts"
    __table_args__ = (CheckConstraint(column("rev") >= 1, name="rev_positive"),)
    # owner_id: the user who owns the draft (NULL for the local, login-less desktop user)

    trade_draft_id: Mapped[uuid.UUID] = id_column()
    rev: Mapped[int] = mapped_column(Integer, server_default=text("1"))
    name: Mapped[str] = mapped_column(String(255))
    owner_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()

    legs: Mapped[list[TradeDraftLeg]] = relationship(
        back_populates="draft",
        cascade="all, delete-orphan",
        order_by="[TradeDraftLeg.position, TradeDraftLeg.created_at]",
        passive_deletes=True,
    )

    __mapper_args__ = {"version_id_col": rev}  # noqa: RUF012 - SQLAlchemy reads a plain dict


class TradeCommit(Base):
    """Who committed which draft revision into which trade version, and when.

    Trade versions are content-addressed and shared (two identical trades are one row); a
    commit row is what makes a version one user's: the service shows a user the versions they
    committed. ``owner_id`` is NULL for the local desktop user.
    """

    __tablename__ = "trade_commits"
    __table_args__ = (
        Index("idx_trade_commits_owner_created", "owner_id", text("created_at DESC")),
        Index("idx_trade_commits_version", "trade_version_id"),
        Index("idx_trade_commits_draft", "trade_draft_id"),
    )

    trade_commit_id: Mapped[uuid.UUID] = id_column()
    trade_version_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("trade_versions.trade_version_id", ondelete="CASCADE")
    )
    trade_draft_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("trade_drafts.trade_draft_id", ondelete="SET NULL")
    )
    draft_rev: Mapped[int | None] = mapped_column(Integer)
    owner_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = created_at_column()


class TradeDraftLeg(Base):
    """One leg of a draft. Seed 000's ``instrument_ref`` is split in two typed columns.

    Exactly one of ``option_contract_id`` (an option leg, with a foreign key) and ``symbol``
    (a stock leg) is set; :attr:`instrument_ref` returns whichever it is.
    """

    __tablename__ = "trade_draft_legs"
    __table_args__ = (
        CheckConstraint(
            or_(
                and_(column("option_contract_id").is_not(None), column("symbol").is_(None)),
                and_(column("option_contract_id").is_(None), column("symbol").is_not(None)),
            ),
            name="one_instrument_ref",
        ),
        CheckConstraint(num("signed_qty") != 0, name="signed_qty_nonzero"),
        CheckConstraint(num("fees") >= 0, name="fees_nonnegative"),
        Index("idx_trade_draft_legs_draft", "trade_draft_id"),
    )

    leg_id: Mapped[uuid.UUID] = id_column()
    trade_draft_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("trade_drafts.trade_draft_id", ondelete="CASCADE")
    )
    option_contract_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("option_contracts.option_contract_id")
    )
    symbol: Mapped[str | None] = mapped_column(String(32))
    signed_qty: Mapped[Decimal] = mapped_column(Amount)
    entry_price: Mapped[Decimal | None] = mapped_column(Amount)
    fees: Mapped[Decimal] = mapped_column(Amount, default=Decimal(0), server_default=text("0"))
    include_flag: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    position: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()

    draft: Mapped[TradeDraft] = relationship(back_populates="legs")
    option_contract: Mapped[OptionContract | None] = relationship()

    @property
    def instrument_ref(self) -> str:
        """The option contract id (as text) or the stock symbol."""
        if self.option_contract_id is not None:
            return str(self.option_contract_id)
        return self.symbol or ""


class MarketSnapshot(ImmutableRow, Base):
    """Quotes frozen at ``as_of`` (seed 000 ``market_snapshots``), keyed by ``snapshot_hash``.

    ``as_of`` is the snapshot time covered by the hash (added to seed 000's columns so the
    domain :class:`riskdesk.domain.market.MarketSnapshot` can be rebuilt).
    """

    __tablename__ = "market_snapshots"
    __immutable_key__ = "snapshot_hash"
    __table_args__ = (
        check_in("mode", "mode", ("LIVE", "PINNED")),
        _hash_check("snapshot_hash"),
        Index("idx_market_snapshots_symbol_as_of", "symbol", text("as_of DESC")),
    )

    snapshot_id: Mapped[uuid.UUID] = id_column()
    snapshot_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hash_format: Mapped[int] = hash_format_column()
    symbol: Mapped[str] = mapped_column(String(255))
    mode: Mapped[str] = mapped_column(String(16))
    as_of: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = created_at_column()
    source: Mapped[str] = mapped_column(String(255))
    overrides_json: Mapped[dict[str, Any]] = mapped_column(
        CanonicalJSON(), default=dict, server_default=_EMPTY_OBJECT
    )
    diagnostics_json: Mapped[dict[str, Any]] = mapped_column(
        JSONType, default=dict, server_default=_EMPTY_OBJECT
    )

    underlying_quotes: Mapped[list[SnapshotUnderlyingQuote]] = relationship(
        back_populates="snapshot", cascade="all", passive_deletes=True
    )
    option_quotes: Mapped[list[SnapshotOptionQuote]] = relationship(
        back_populates="snapshot", cascade="all", passive_deletes=True
    )


class SnapshotUnderlyingQuote(ImmutableRow, Base):
    """An underlying quote of a snapshot. Partitioned by month on ``receive_timestamp`` (PG).

    The primary key is ``(id, receive_timestamp)`` because a PostgreSQL partitioned table's
    key must contain the partition column.
    """

    __tablename__ = "snapshot_underlying_quotes"
    __table_args__ = (
        CheckConstraint(num("spot") > 0, name="spot_positive"),
        Index("idx_snapshot_underlying_quotes_snapshot", "snapshot_id"),
        {"postgresql_partition_by": "RANGE (receive_timestamp)"},
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid(), primary_key=True, default=new_id)
    receive_timestamp: Mapped[datetime] = mapped_column(UTCDateTime(), primary_key=True)
    snapshot_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("market_snapshots.snapshot_id", ondelete="CASCADE")
    )
    symbol: Mapped[str] = mapped_column(String(32))
    spot: Mapped[Decimal] = mapped_column(Amount)
    bid: Mapped[Decimal | None] = mapped_column(Amount)
    ask: Mapped[Decimal | None] = mapped_column(Amount)
    last: Mapped[Decimal | None] = mapped_column(Amount)
    provider_timestamp: Mapped[datetime] = mapped_column(UTCDateTime())

    snapshot: Mapped[MarketSnapshot] = relationship(back_populates="underlying_quotes")


class SnapshotOptionQuote(ImmutableRow, Base):
    """An option quote of a snapshot. Partitioned by month on ``receive_timestamp`` (PG).

    Crossed quotes (ask < bid) are stored as received: the snapshot diagnostics count them.
    """

    __tablename__ = "snapshot_option_quotes"
    __table_args__ = (
        Index("idx_snapshot_option_quotes_snapshot", "snapshot_id"),
        Index("idx_snapshot_option_quotes_contract", "option_contract_id"),
        {"postgresql_partition_by": "RANGE (receive_timestamp)"},
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid(), primary_key=True, default=new_id)
    receive_timestamp: Mapped[datetime] = mapped_column(UTCDateTime(), primary_key=True)
    snapshot_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("market_snapshots.snapshot_id", ondelete="CASCADE")
    )
    option_contract_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("option_contracts.option_contract_id")
    )
    bid: Mapped[Decimal | None] = mapped_column(Amount)
    ask: Mapped[Decimal | None] = mapped_column(Amount)
    mark: Mapped[Decimal | None] = mapped_column(Amount)
    iv: Mapped[float | None] = mapped_column(Double)
    volume: Mapped[int | None] = mapped_column(BigInteger)
    open_interest: Mapped[int | None] = mapped_column(BigInteger)
    provider_timestamp: Mapped[datetime] = mapped_column(UTCDateTime())

    snapshot: Mapped[MarketSnapshot] = relationship(back_populates="option_quotes")
    option_contract: Mapped[OptionContract] = relationship()


class SnapshotOptionColumns(ImmutableRow, Base):
    """A snapshot's option quotes as one Arrow IPC stream, the copy a load reads.

    The quote rows (:class:`SnapshotOptionQuote`) stay the relational record queries join
    on; this is the same quotes, written in the same transaction, sorted by
    ``contract.sort_key`` and column-compressed (``data_format``: ``arrow-ipc-zstd``), so
    loading a full-market snapshot is one read and a decode instead of a join of a million
    rows. ``data_sha256`` (SHA-256 of ``data``) and ``row_count`` are checked before the
    bytes are decoded, and the decoded snapshot must still match its ``snapshot_hash``.
    Snapshots stored before this table existed have no row here and load from their rows.
    """

    __tablename__ = "snapshot_option_columns"
    __immutable_key__ = "snapshot_id"
    __table_args__ = (
        check_in("data_format", "data_format", ("arrow-ipc-zstd",)),
        CheckConstraint(column("row_count") >= 0, name="row_count_nonnegative"),
        CheckConstraint(func.length(column("data_sha256")) == 64, name="data_sha256_length"),
    )

    snapshot_id: Mapped[uuid.UUID] = mapped_column(
        Uuid(),
        ForeignKey("market_snapshots.snapshot_id", ondelete="CASCADE"),
        primary_key=True,
    )
    data_format: Mapped[str] = mapped_column(String(32))
    row_count: Mapped[int] = mapped_column(BigInteger)
    data_sha256: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = created_at_column()


class ModelConfig(ImmutableRow, Base):
    """A pricing-model configuration, keyed by the hash of ``config_json``."""

    __tablename__ = "model_configs"
    __immutable_key__ = "model_config_hash"
    __table_args__ = (_hash_check("model_config_hash"),)

    model_config_id: Mapped[uuid.UUID] = id_column()
    model_config_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hash_format: Mapped[int] = hash_format_column()
    config_json: Mapped[dict[str, Any]] = mapped_column(CanonicalJSON())
    created_at: Mapped[datetime] = created_at_column()


class ScenarioGrid(ImmutableRow, Base):
    """A scenario grid (spot x time, spot x vol), keyed by the hash of ``grid_json``."""

    __tablename__ = "scenario_grids"
    __immutable_key__ = "scenario_grid_hash"
    __table_args__ = (_hash_check("scenario_grid_hash"),)

    scenario_grid_id: Mapped[uuid.UUID] = id_column()
    scenario_grid_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hash_format: Mapped[int] = hash_format_column()
    grid_json: Mapped[dict[str, Any]] = mapped_column(CanonicalJSON())
    created_at: Mapped[datetime] = created_at_column()


class AnalyticsResult(ImmutableRow, Base):
    """An evaluation of (trade, snapshot, model config, grid); immutable once written.

    ``trade_ref_type``/``trade_ref_id`` point at a draft or a version (no FK: two targets);
    ``trade_hash`` is the content hash of the trade as evaluated, so the evaluation key
    ``(trade, trade_hash, snapshot, model config, grid)`` is unique and a repeat is a cache hit.
    Seed 000's ``outputs_blob_or_json`` is ``outputs_json`` or ``outputs_blob``;
    ``output_sha256`` is the SHA-256 of ``outputs_blob``, checked on every cache hit.
    """

    __tablename__ = "analytics_results"
    __immutable_key__ = "result_id"
    __table_args__ = (
        check_in("trade_ref_type", "trade_ref_type", ("DRAFT", "VERSION")),
        _hash_check("trade_hash"),
        UniqueConstraint(
            "trade_ref_type",
            "trade_ref_id",
            "trade_hash",
            "snapshot_id",
            "model_config_id",
            "scenario_grid_id",
            name="uq_analytics_results_evaluation_key",
        ),
        Index("idx_analytics_results_snapshot", "snapshot_id"),
    )

    result_id: Mapped[uuid.UUID] = id_column()
    trade_ref_type: Mapped[str] = mapped_column(String(16))
    trade_ref_id: Mapped[uuid.UUID] = mapped_column(Uuid())
    trade_hash: Mapped[str] = mapped_column(String(64))
    snapshot_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("market_snapshots.snapshot_id", ondelete="CASCADE")
    )
    model_config_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("model_configs.model_config_id", ondelete="CASCADE")
    )
    scenario_grid_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("scenario_grids.scenario_grid_id", ondelete="CASCADE")
    )
    measures_json: Mapped[dict[str, Any]] = mapped_column(CanonicalJSON())
    outputs_json: Mapped[dict[str, Any] | None] = mapped_column(CanonicalJSON())
    outputs_blob: Mapped[bytes | None] = mapped_column(LargeBinary)
    output_sha256: Mapped[str | None] = mapped_column(String(64))
    warnings_json: Mapped[list[Any]] = mapped_column(
        JSONType, default=list, server_default=_EMPTY_ARRAY
    )
    errors_json: Mapped[list[Any]] = mapped_column(
        JSONType, default=list, server_default=_EMPTY_ARRAY
    )
    created_at: Mapped[datetime] = created_at_column()


class PnlAttributionResult(Base):
    """P&L attribution (second-order Taylor plus residual) between a base and a compare state."""

    __tablename__ = "pnl_attribution_results"
    __table_args__ = (
        check_in("trade_ref_type", "trade_ref_type", ("DRAFT", "VERSION")),
        Index("idx_pnl_attribution_results_trade", "trade_ref_type", "trade_ref_id"),
        Index("idx_pnl_attribution_results_snapshot", "snapshot_id"),
    )

    attribution_id: Mapped[uuid.UUID] = id_column()
    trade_ref_type: Mapped[str] = mapped_column(String(16))
    trade_ref_id: Mapped[uuid.UUID] = mapped_column(Uuid())
    trade_hash: Mapped[str | None] = mapped_column(String(64))
    snapshot_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("market_snapshots.snapshot_id", ondelete="CASCADE")
    )
    model_config_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("model_configs.model_config_id", ondelete="CASCADE")
    )
    base_state_json: Mapped[dict[str, Any]] = mapped_column(CanonicalJSON())
    compare_state_json: Mapped[dict[str, Any]] = mapped_column(CanonicalJSON())
    method: Mapped[str] = mapped_column(String(64))
    outputs_json: Mapped[dict[str, Any]] = mapped_column(CanonicalJSON())
    warnings_json: Mapped[list[Any]] = mapped_column(
        JSONType, default=list, server_default=_EMPTY_ARRAY
    )
    errors_json: Mapped[list[Any]] = mapped_column(
        JSONType, default=list, server_default=_EMPTY_ARRAY
    )
    created_at: Mapped[datetime] = created_at_column()
