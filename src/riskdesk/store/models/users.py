"""Users and their sessions (seed 001 ``users``, ``user_sessions``; the users seed 002 refers to)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, String, Text, Uuid, text
from sqlalchemy.orm import Mapped, mapped_column

from riskdesk.store.models._base import (
    Base,
    check_in,
    created_at_column,
    id_column,
    updated_at_column,
)
from riskdesk.store.types import UTCDateTime

__all__ = ["SESSION_REVOKE_REASONS", "USER_ROLES", "User", "UserSession"]

USER_ROLES: tuple[str, ...] = ("admin", "trader", "viewer")
SESSION_REVOKE_REASONS: tuple[str, ...] = (
    "rotated",
    "logout",
    "reuse_detected",
    "revoked",
    "user_disabled",
)
"""Why a session row stopped being usable: its refresh token was rotated, the user logged out,
a rotated token was presented again (the whole family is revoked), an admin revoked it, or the
user was deactivated."""


class User(Base):
    """A person using riskdesk.

    ``password_hash`` is NULL for a local-only account (the local-first desktop user has no
    login); it is set whenever a login exists. ``username`` and ``email`` are unique; their
    unique indexes serve seed 001's ``idx_users_username`` / ``idx_users_email`` lookups.
    """

    __tablename__ = "users"
    __table_args__ = (
        check_in("role", "role", USER_ROLES),
        Index("idx_users_role", "role"),
    )

    id: Mapped[uuid.UUID] = id_column()
    username: Mapped[str] = mapped_column(String(50), unique=True)
    email: Mapped[str] = mapped_column(String(255), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    first_name: Mapped[str | None] = mapped_column(String(100))
    last_name: Mapped[str | None] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(20), default="trader", server_default=text("'trader'"))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()
    last_login: Mapped[datetime | None] = mapped_column(UTCDateTime())


class UserSession(Base):
    """One refresh token of a login; only a SHA-256 hash of the token is stored.

    A login starts a *family*; every refresh rotates the token: the presented row is revoked
    (``rotated``, ``replaced_by_id`` set) and a new row of the same family is issued. A rotated
    token presented again means it leaked: every row of its family is revoked
    (``reuse_detected``). Access tokens name their session row, so revoking it ends them too.
    """

    __tablename__ = "user_sessions"
    __table_args__ = (
        check_in("revoked_reason", "revoked_reason", SESSION_REVOKE_REASONS, nullable=True),
        Index("idx_user_sessions_user_id", "user_id"),
        Index("idx_user_sessions_token_hash", "token_hash", unique=True),
        Index("idx_user_sessions_expires_at", "expires_at"),
        Index("idx_user_sessions_family_id", "family_id"),
    )

    id: Mapped[uuid.UUID] = id_column()
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(255))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = created_at_column()
    ip_address: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(Text)
    family_id: Mapped[uuid.UUID | None] = mapped_column(Uuid())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_reason: Mapped[str | None] = mapped_column(String(20))
    replaced_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid())
