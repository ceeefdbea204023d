"""Tables of the HTTP service: idempotency records and long-running jobs."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    column,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from riskdesk.store.models._base import (
    Base,
    check_in,
    created_at_column,
    id_column,
    updated_at_column,
)
from riskdesk.store.types import JSONType, UTCDateTime

__all__ = ["IDEMPOTENCY_STATES", "JOB_STATES", "IdempotencyKey", "Job"]

IDEMPOTENCY_STATES: tuple[str, ...] = ("in_progress", "completed")
JOB_STATES: tuple[str, ...] = ("queued", "running", "succeeded", "failed", "cancelled")


class IdempotencyKey(Base):
    """One ``Idempotency-Key`` of one user: the request it answered and the stored response.

    ``request_sha256`` covers the method, path and body, so the same key with another request
    is a conflict. A row ``in_progress`` means the first request is still running; rejected
    requests delete their row (rejections are not cached).
    """

    __tablename__ = "idempotency_keys"
    __table_args__ = (
        check_in("state", "state", IDEMPOTENCY_STATES),
        UniqueConstraint("user_id", "idempotency_key", name="uq_idempotency_keys_user_key"),
        Index("idx_idempotency_keys_created_at", "created_at"),
    )

    id: Mapped[uuid.UUID] = id_column()
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    idempotency_key: Mapped[str] = mapped_column(String(255))
    method: Mapped[str] = mapped_column(String(10))
    path: Mapped[str] = mapped_column(String(2048))
    request_sha256: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(20))
    response_status: Mapped[int | None] = mapped_column(Integer)
    response_body: Mapped[str | None] = mapped_column(Text)
    response_content_type: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = created_at_column()
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Job(Base):
    """A long-running piece of work (a big evaluation, a refresh, later batch and stress runs).

    Any service process can read a job's status and progress; ``cancel_requested`` is how a
    cancel reaches the worker running it, which checks it between steps.
    """

    __tablename__ = "jobs"
    __table_args__ = (
        check_in("status", "status", JOB_STATES),
        CheckConstraint(
            (column("progress") >= 0) & (column("progress") <= 1), name="progress_in_unit"
        ),
        Index("idx_jobs_owner_created", "owner_id", text("created_at DESC")),
        Index("idx_jobs_status", "status"),
    )

    id: Mapped[uuid.UUID] = id_column()
    owner_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(50))
    status: Mapped[str] = mapped_column(String(20), default="queued")
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    message: Mapped[str | None] = mapped_column(Text)
    params: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    error: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    cancel_requested: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=text("false")
    )
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
