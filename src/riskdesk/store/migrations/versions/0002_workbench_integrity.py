"""Workbench integrity: leg order, verified and immutable cached results, wider text columns.

* ``trade_draft_legs.position``: the order the user gave the legs (back-filled from
  ``created_at``), so a draft's legs come back in the order they were entered.
* ``analytics_results.output_sha256``: SHA-256 of ``outputs_blob``, checked on every cache
  hit; rows written before this revision have none and are recomputed on their next hit.
* ``analytics_results`` rows are immutable (the same UPDATE-refusing trigger as the other
  hash-keyed rows).
* ``market_snapshots.source`` widens to 255 characters (a file name is part of it) and
  ``pnl_attribution_results.method`` to 64 (the engine's label). SQLite does not enforce
  VARCHAR lengths, so there only the model changes; riskdesk checks lengths itself before
  writing, with the same error on both backends.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TRIGGER = "trg_analytics_results_immutable"


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.add_column(
        "trade_draft_legs",
        sa.Column("position", sa.Integer(), nullable=False, server_default=sa.text("0")),
    )
    op.execute(
        """
        UPDATE trade_draft_legs SET position = (
            SELECT COUNT(*) FROM trade_draft_legs AS other
            WHERE other.trade_draft_id = trade_draft_legs.trade_draft_id
              AND (other.created_at < trade_draft_legs.created_at
                   OR (other.created_at = trade_draft_legs.created_at
                       AND other.leg_id < trade_draft_legs.leg_id))
        )
        """
    )
    op.add_column("analytics_results", sa.Column("output_sha256", sa.String(64), nullable=True))
    if dialect == "postgresql":
        op.execute("ALTER TABLE market_snapshots ALTER COLUMN source TYPE VARCHAR(255)")
        op.execute("ALTER TABLE pnl_attribution_results ALTER COLUMN method TYPE VARCHAR(64)")
        op.execute(
            f"CREATE TRIGGER {_TRIGGER} BEFORE UPDATE ON analytics_results "
            "FOR EACH ROW EXECUTE FUNCTION riskdesk_refuse_update('analytics_results')"
        )
    else:
        op.execute(
            f"CREATE TRIGGER {_TRIGGER} BEFORE UPDATE ON analytics_results BEGIN "
            "SELECT RAISE(ABORT, 'riskdesk-immutable: rows of table analytics_results cannot "
            "be updated; insert a new row instead'); END"
        )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute(f"DROP TRIGGER IF EXISTS {_TRIGGER} ON analytics_results")
        op.execute("ALTER TABLE pnl_attribution_results ALTER COLUMN method TYPE VARCHAR(32)")
        op.execute("ALTER TABLE market_snapshots ALTER COLUMN source TYPE VARCHAR(64)")
    else:
        op.execute(f"DROP TRIGGER IF EXISTS {_TRIGGER}")
    with op.batch_alter_table("analytics_results") as batch:
        batch.drop_column("output_sha256")
    with op.batch_alter_table("trade_draft_legs") as batch:
        batch.drop_column("position")
