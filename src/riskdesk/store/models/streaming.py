"""Streaming Greeks from brokers (seed 003): snapshots and stream sessions."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    Double,
    Index,
    Integer,
    String,
    Text,
    Uuid,
    column,
    func,
    or_,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from riskdesk.store.models._base import (
    SUPPORTED_BROKERS,
    Amount,
    Base,
    check_in,
    created_at_column,
    id_column,
    unique_nulls_not_distinct,
    updated_at_column,
)
from riskdesk.store.types import JSONType, UTCDateTime, UtcNow, new_id, utc_now

__all__ = ["GREEK_DEDUPE_COLUMNS", "STREAM_STATUSES", "GreekSnapshot", "StreamSession"]

STREAM_STATUSES: tuple[str, ...] = ("connecting", "connected", "degraded", "disconnected")

GREEK_DEDUPE_COLUMNS: tuple[str, ...] = (
    "broker",
    "account_id",
    "contract_key",
    "event_time",
    "delta",
    "gamma",
    "theta",
    "vega",
)
"""Seed 003's dedupe key plus ``account_id`` (migration 0006: two accounts holding one
contract receive the same event, and each keeps it). NULLs compare equal (``NULLS NOT
DISTINCT``)."""


class GreekSnapshot(Base):
    """One persisted Greeks event of a contract (seed 003 ``greek_snapshots``).

    Partitioned by month on ``event_time`` on PostgreSQL; the primary key is
    ``(id, event_time)`` because a partitioned table's key must contain the partition column.
    ``id`` is a time-ordered UUID instead of the seed's bigserial so batches carry their keys
    and SQLite needs no composite autoincrement. A duplicate by :data:`GREEK_DEDUPE_COLUMNS` is
    refused by ``uq_greek_snapshots_dedupe``; use
    :func:`riskdesk.store.timeseries.insert_rows` to skip duplicates instead.
    """

    __tablename__ = "greek_snapshots"
    __table_args__ = (
        check_in("broker", "broker", SUPPORTED_BROKERS),
        check_in("option_type", "option_type", ("call", "put"), nullable=True),
        CheckConstraint(
            func.length(func.trim(column("contract_key"))) > 0, name="contract_key_nonempty"
        ),
        CheckConstraint(
            or_(*(column(g).is_not(None) for g in ("delta", "gamma", "theta", "vega", "rho"))),
            name="has_greek",
        ),
        *unique_nulls_not_distinct("uq_greek_snapshots_dedupe", *GREEK_DEDUPE_COLUMNS),
        Index("idx_greek_snapshots_event_time", text("event_time DESC")),
        Index(
            "idx_greek_snapshots_contract_time",
            "broker",
            "account_id",
            "contract_key",
            text("event_time DESC"),
        ),
        {"postgresql_partition_by": "RANGE (event_time)"},
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid(), primary_key=True, default=new_id)
    event_time: Mapped[datetime] = mapped_column(UTCDateTime(), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    persisted_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=utc_now, server_default=UtcNow()
    )
    broker: Mapped[str] = mapped_column(String(20))
    account_id: Mapped[str] = mapped_column(String(64))
    underlying: Mapped[str] = mapped_column(String(32))
    contract_key: Mapped[str] = mapped_column(String(64))
    expiration: Mapped[date | None] = mapped_column(Date)
    strike: Mapped[Decimal | None] = mapped_column(Amount)
    option_type: Mapped[str | None] = mapped_column(String(16))
    quantity: Mapped[Decimal | None] = mapped_column(Amount)
    delta: Mapped[float | None] = mapped_column(Double)
    gamma: Mapped[float | None] = mapped_column(Double)
    theta: Mapped[float | None] = mapped_column(Double)
    vega: Mapped[float | None] = mapped_column(Double)
    rho: Mapped[float | None] = mapped_column(Double)
    implied_volatility: Mapped[float | None] = mapped_column(Double)
    underlying_price: Mapped[float | None] = mapped_column(Double)
    source_payload: Mapped[dict[str, Any]] = mapped_column(JSONType)


class StreamSession(Base):
    """One run of a broker stream and its state machine (seed 003 ``StreamSession``).

    The seed keeps this in memory only; riskdesk persists one row per run so ``status``
    survives a restart. ``messages_received``/``rows_written`` measure the seed's
    "99% of ticks persisted" target and ``first_row_at`` its "first row within 60 s".
    """

    __tablename__ = "stream_sessions"
    __table_args__ = (
        check_in("broker", "broker", SUPPORTED_BROKERS),
        check_in("status", "status", STREAM_STATUSES),
        CheckConstraint(column("reconnect_attempt") >= 0, name="reconnect_attempt_nonnegative"),
        CheckConstraint(column("subscription_count") >= 0, name="subscription_count_nonnegative"),
        CheckConstraint(
            (column("messages_received") >= 0) & (column("rows_written") >= 0),
            name="counters_nonnegative",
        ),
        Index("idx_stream_sessions_broker_started", "broker", text("started_at DESC")),
    )

    id: Mapped[uuid.UUID] = id_column()
    broker: Mapped[str] = mapped_column(String(20))
    account_id: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20))
    last_heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_message_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reconnect_attempt: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    subscription_count: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    last_error: Mapped[str | None] = mapped_column(Text)
    messages_received: Mapped[int] = mapped_column(BigInteger, default=0, server_default=text("0"))
    rows_written: Mapped[int] = mapped_column(BigInteger, default=0, server_default=text("0"))
    first_row_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    started_at: Mapped[datetime] = created_at_column()
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = updated_at_column()
