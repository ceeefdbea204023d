"""The HTTP service: owners, commits, rotating refresh-token families, idempotency, jobs.

* ``trade_drafts.owner_id``: the user owning a draft (NULL: the local desktop user);
* ``trade_commits``: who committed which draft revision into which (shared) trade version;
* ``user_sessions``: refresh-token families (``family_id``), revocation (``revoked_at``,
  ``revoked_reason``) and rotation (``replaced_by_id``); token hashes become unique;
* ``idempotency_keys``: stored responses of mutating requests, per user and key;
* ``jobs``: long-running work with status, progress and cancel.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 19:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from riskdesk.store.types import JSONType, UTCDateTime, UtcNow

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_REASONS = "'rotated', 'logout', 'reuse_detected', 'revoked', 'user_disabled'"


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.add_column("trade_drafts", sa.Column("owner_id", sa.Uuid(), nullable=True))
        op.create_foreign_key(
            op.f("fk_trade_drafts_owner_id_users"),
            "trade_drafts",
            "users",
            ["owner_id"],
            ["id"],
            ondelete="CASCADE",
        )
        for name, type_ in (
            ("family_id", sa.Uuid()),
            ("revoked_at", UTCDateTime()),
            ("revoked_reason", sa.String(20)),
            ("replaced_by_id", sa.Uuid()),
        ):
            op.add_column("user_sessions", sa.Column(name, type_, nullable=True))
        op.create_check_constraint(
            op.f("ck_user_sessions_revoked_reason"),
            "user_sessions",
            f'"revoked_reason" IS NULL OR "revoked_reason" IN ({_REASONS})',
        )
    else:
        # native ALTER TABLE: a batch rebuild would drop the tables' triggers
        op.execute(
            "ALTER TABLE trade_drafts ADD COLUMN owner_id CHAR(32) "
            "REFERENCES users (id) ON DELETE CASCADE"
        )
        op.execute("ALTER TABLE user_sessions ADD COLUMN family_id CHAR(32)")
        op.execute("ALTER TABLE user_sessions ADD COLUMN revoked_at DATETIME")
        op.execute(
            "ALTER TABLE user_sessions ADD COLUMN revoked_reason VARCHAR(20) "
            "CONSTRAINT ck_user_sessions_revoked_reason CHECK "
            f'("revoked_reason" IS NULL OR "revoked_reason" IN ({_REASONS}))'
        )
        op.execute("ALTER TABLE user_sessions ADD COLUMN replaced_by_id CHAR(32)")
    op.create_index(op.f("ix_trade_drafts_owner_id"), "trade_drafts", ["owner_id"])
    op.create_index("idx_user_sessions_family_id", "user_sessions", ["family_id"])
    op.drop_index("idx_user_sessions_token_hash", table_name="user_sessions")
    op.create_index("idx_user_sessions_token_hash", "user_sessions", ["token_hash"], unique=True)

    op.create_table(
        "trade_commits",
        sa.Column("trade_commit_id", sa.Uuid(), nullable=False),
        sa.Column("trade_version_id", sa.Uuid(), nullable=False),
        sa.Column("trade_draft_id", sa.Uuid(), nullable=True),
        sa.Column("draft_rev", sa.Integer(), nullable=True),
        sa.Column("owner_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", UTCDateTime(), server_default=UtcNow(), nullable=False),
        sa.ForeignKeyConstraint(
            ["trade_version_id"],
            ["trade_versions.trade_version_id"],
            name=op.f("fk_trade_commits_trade_version_id_trade_versions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["trade_draft_id"],
            ["trade_drafts.trade_draft_id"],
            name=op.f("fk_trade_commits_trade_draft_id_trade_drafts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["users.id"],
            name=op.f("fk_trade_commits_owner_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("trade_commit_id", name=op.f("pk_trade_commits")),
    )
    op.create_index(
        "idx_trade_commits_owner_created",
        "trade_commits",
        ["owner_id", sa.text("created_at DESC")],
    )
    op.create_index("idx_trade_commits_version", "trade_commits", ["trade_version_id"])
    op.create_index("idx_trade_commits_draft", "trade_commits", ["trade_draft_id"])

    op.create_table(
        "idempotency_keys",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("idempotency_key", sa.String(255), nullable=False),
        sa.Column("method", sa.String(10), nullable=False),
        sa.Column("path", sa.String(2048), nullable=False),
        sa.Column("request_sha256", sa.String(64), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column("response_body", sa.Text(), nullable=True),
        sa.Column("response_content_type", sa.String(100), nullable=True),
        sa.Column("created_at", UTCDateTime(), server_default=UtcNow(), nullable=False),
        sa.Column("completed_at", UTCDateTime(), nullable=True),
        sa.CheckConstraint(
            "\"state\" IN ('in_progress', 'completed')", name=op.f("ck_idempotency_keys_state")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_idempotency_keys_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idempotency_keys")),
        sa.UniqueConstraint("user_id", "idempotency_key", name="uq_idempotency_keys_user_key"),
    )
    op.create_index("idx_idempotency_keys_created_at", "idempotency_keys", ["created_at"])

    op.create_table(
        "jobs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=True),
        sa.Column("kind", sa.String(50), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("progress", sa.Float(), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("params", JSONType, nullable=True),
        sa.Column("result", JSONType, nullable=True),
        sa.Column("error", JSONType, nullable=True),
        sa.Column(
            "cancel_requested", sa.Boolean(), server_default=sa.text("false"), nullable=False
        ),
        sa.Column("created_at", UTCDateTime(), server_default=UtcNow(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), server_default=UtcNow(), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=True),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.CheckConstraint(
            "\"status\" IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')",
            name=op.f("ck_jobs_status"),
        ),
        sa.CheckConstraint(
            "progress >= 0 AND progress <= 1", name=op.f("ck_jobs_progress_in_unit")
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_jobs_owner_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
    )
    op.create_index("idx_jobs_owner_created", "jobs", ["owner_id", sa.text("created_at DESC")])
    op.create_index("idx_jobs_status", "jobs", ["status"])


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.drop_index("idx_jobs_status", table_name="jobs")
    op.drop_index("idx_jobs_owner_created", table_name="jobs")
    op.drop_table("jobs")
    op.drop_index("idx_idempotency_keys_created_at", table_name="idempotency_keys")
    op.drop_table("idempotency_keys")
    op.drop_index("idx_trade_commits_draft", table_name="trade_commits")
    op.drop_index("idx_trade_commits_version", table_name="trade_commits")
    op.drop_index("idx_trade_commits_owner_created", table_name="trade_commits")
    op.drop_table("trade_commits")
    op.drop_index("idx_user_sessions_token_hash", table_name="user_sessions")
    op.create_index("idx_user_sessions_token_hash", "user_sessions", ["token_hash"], unique=False)
    op.drop_index("idx_user_sessions_family_id", table_name="user_sessions")
    op.drop_index(op.f("ix_trade_drafts_owner_id"), table_name="trade_drafts")
    if dialect == "postgresql":
        op.drop_constraint(op.f("ck_user_sessions_revoked_reason"), "user_sessions", type_="check")
        op.drop_constraint(
            op.f("fk_trade_drafts_owner_id_users"), "trade_drafts", type_="foreignkey"
        )
    for column in ("replaced_by_id", "revoked_reason", "revoked_at", "family_id"):
        op.execute(f"ALTER TABLE user_sessions DROP COLUMN {column}")
    op.execute("ALTER TABLE trade_drafts DROP COLUMN owner_id")
