"""Greeks dedupe per account: ``account_id`` joins ``uq_greek_snapshots_dedupe``.

Seed 003's key is (broker, contract_key, event_time, delta, gamma, theta, vega). Two accounts
of one broker holding the same option receive the same market-data event (DXLink and TWS
stream Greeks per contract, not per account), so under the seed's key the second account's
row was refused as a duplicate and that account lost its history of the contract. The rule
becomes (broker, account_id, contract_key, event_time, delta, gamma, theta, vega), NULLs
still equal (``NULLS NOT DISTINCT`` on PostgreSQL, ``ifnull`` expressions on SQLite).

The downgrade restores the seed's key; it fails (and changes nothing) when two accounts
already hold the same event, rather than deleting one of them.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 05:05:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_NAME = "uq_greek_snapshots_dedupe"
_SEED_KEY = ("broker", "contract_key", "event_time", "delta", "gamma", "theta", "vega")
_ACCOUNT_KEY = (
    "broker",
    "account_id",
    "contract_key",
    "event_time",
    "delta",
    "gamma",
    "theta",
    "vega",
)


def _replace(columns: tuple[str, ...]) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE greek_snapshots DROP CONSTRAINT {_NAME}")
        op.execute(
            f"ALTER TABLE greek_snapshots ADD CONSTRAINT {_NAME} "
            f"UNIQUE NULLS NOT DISTINCT ({', '.join(columns)})"
        )
    else:
        op.execute(f"DROP INDEX {_NAME}")
        exprs = ", ".join(f"ifnull(\"{c}\", '')" for c in columns)
        op.execute(f"CREATE UNIQUE INDEX {_NAME} ON greek_snapshots ({exprs})")


def upgrade() -> None:
    _replace(_ACCOUNT_KEY)


def downgrade() -> None:
    _replace(_SEED_KEY)
