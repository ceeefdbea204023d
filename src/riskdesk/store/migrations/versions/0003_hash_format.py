"""Content-hashed rows record the canonical-form version their hash was computed in.

``hash_format`` on ``market_snapshots``, ``trade_versions``, ``model_configs`` and
``scenario_grids`` (existing rows: version 1, the only version so far). Loaders verify a row's
hash only under the version it names and refuse a row hashed under another version, so a
future change of the canonical form (a new ``CANONICAL_FORMAT_VERSION``) migrates rows
explicitly instead of failing their hash checks.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES: tuple[str, ...] = ("market_snapshots", "trade_versions", "model_configs", "scenario_grids")


def upgrade() -> None:
    for table in TABLES:
        op.add_column(
            table,
            sa.Column("hash_format", sa.Integer(), nullable=False, server_default=sa.text("1")),
        )


def downgrade() -> None:
    # plain ALTER TABLE on both backends (SQLite >= 3.35): a batch rebuild would drop the
    # tables' immutability triggers and the foreign keys that point at them
    for table in TABLES:
        op.execute(f"ALTER TABLE {table} DROP COLUMN hash_format")
