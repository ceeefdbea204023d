"""System tables: the audit log, system config, calculation log and export history."""

from __future__ import annotations

import uuid
from datetime import date, datetime
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
    column,
    or_,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, synonym

from riskdesk.store.models._base import (
    Base,
    ImmutableRow,
    check_in,
    created_at_column,
    id_column,
    updated_at_column,
)
from riskdesk.store.types import JSONType, UTCDateTime

__all__ = [
    "CONFIG_TYPES",
    "EXPORT_FORMATS",
    "EXPORT_TYPES",
    "AuditLog",
    "CalculationAuditLog",
    "ExportHistory",
    "SystemConfig",
]

CONFIG_TYPES: tuple[str, ...] = ("string", "integer", "decimal", "boolean", "json")
EXPORT_TYPES: tuple[str, ...] = (
    "portfolio",
    "trades",
    "modeling_session",
    "tax_summary",
    "analytics",
)
EXPORT_FORMATS: tuple[str, ...] = ("csv", "json", "fix", "parquet", "html")
FERNET_PREFIX = "gAAAAA"
"""Every Fernet token starts with this text (version byte 0x80, then a 64-bit timestamp)."""


class AuditLog(ImmutableRow, Base):
    """One audited event: seed 000 ``audit_log`` and seed 001 ``audit_logs`` in one table.

    ``created_at`` is seed 000's ``timestamp`` and ``event_type`` is seed 001's ``action``
    (both names work on the model). Rows are append-only.
    """

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("idx_audit_logs_user_id", "user_id"),
        Index("idx_audit_logs_action", "event_type"),
        Index("idx_audit_logs_resource", "resource_type", "resource_id"),
        Index("idx_audit_logs_created_at", text("created_at DESC")),
        Index("idx_audit_log_actor", "actor"),
    )

    id: Mapped[uuid.UUID] = id_column()
    created_at: Mapped[datetime] = created_at_column()
    actor: Mapped[str] = mapped_column(String(100))
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    event_type: Mapped[str] = mapped_column(String(100))
    event_payload_json: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    resource_type: Mapped[str | None] = mapped_column(String(50))
    resource_id: Mapped[str | None] = mapped_column(String(100))
    old_values: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    new_values: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    ip_address: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(Text)

    timestamp = synonym("created_at")
    action = synonym("event_type")


class SystemConfig(Base):
    """A configuration value (seed 001). Sensitive values are stored as Fernet ciphertext.

    Use :mod:`riskdesk.store.system_config` to read and write: it encrypts values with
    ``is_sensitive`` set, and the CHECK ``sensitive_encrypted`` refuses clear text.
    """

    __tablename__ = "system_config"
    __table_args__ = (
        check_in("config_type", "config_type", CONFIG_TYPES),
        CheckConstraint(
            f"is_sensitive = false OR config_value LIKE '{FERNET_PREFIX}%'",
            name="sensitive_encrypted",
        ),
    )

    id: Mapped[uuid.UUID] = id_column()
    config_key: Mapped[str] = mapped_column(String(100), unique=True)
    config_value: Mapped[str] = mapped_column(Text)
    config_type: Mapped[str] = mapped_column(
        String(20), default="string", server_default=text("'string'")
    )
    description: Mapped[str | None] = mapped_column(Text)
    is_sensitive: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()


class CalculationAuditLog(Base):
    """One run of a batch calculation step (seed 002)."""

    __tablename__ = "calculation_audit_log"
    __table_args__ = (
        check_in("status", "status", ("running", "completed", "failed")),
        CheckConstraint(
            or_(column("end_time").is_(None), column("end_time") >= column("start_time")),
            name="end_after_start",
        ),
        Index(
            "idx_calculation_audit_log_type_date", "calculation_type", text("calculation_date DESC")
        ),
        Index("idx_calculation_audit_log_portfolio", "portfolio_id"),
    )

    id: Mapped[uuid.UUID] = id_column()
    calculation_type: Mapped[str] = mapped_column(String(50))
    portfolio_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("portfolios.id", ondelete="SET NULL")
    )
    calculation_date: Mapped[date] = mapped_column(Date)
    start_time: Mapped[datetime] = mapped_column(UTCDateTime())
    end_time: Mapped[datetime | None] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(20))
    records_processed: Mapped[int | None] = mapped_column(Integer)
    error_message: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at_column()


class ExportHistory(Base):
    """A file exported by a user (seed 002)."""

    __tablename__ = "export_history"
    __table_args__ = (
        check_in("export_type", "export_type", EXPORT_TYPES),
        check_in("export_format", "export_format", EXPORT_FORMATS),
        CheckConstraint(
            or_(column("file_size_bytes").is_(None), column("file_size_bytes") >= 0),
            name="file_size_nonnegative",
        ),
        Index("idx_export_history_user_created", "user_id", text("created_at DESC")),
    )

    id: Mapped[uuid.UUID] = id_column()
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    export_type: Mapped[str] = mapped_column(String(50))
    export_format: Mapped[str] = mapped_column(String(20))
    file_name: Mapped[str | None] = mapped_column(String(255))
    file_size_bytes: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = created_at_column()
