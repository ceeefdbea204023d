"""Market snapshots keep their option quotes also as one Arrow IPC stream.

``snapshot_option_columns`` holds, per snapshot, the option quotes sorted by
``contract.sort_key`` as a zstd-compressed Arrow IPC stream with its SHA-256 and row count.
Loading a full-market snapshot (1.5 million quotes) then reads one value and decodes it,
instead of joining and converting a million rows; the quote rows stay the relational record
that queries join on. Rows are immutable, as the snapshot's other rows are.

Snapshots stored before this revision have no row here and load from their quote rows.
On PostgreSQL the ``data`` column is stored ``EXTERNAL``: the stream is already compressed,
so TOAST does not try again.

On SQLite ``option_contracts`` is rebuilt (keeping its rows) with its three one-of CHECKs
written as ``OR`` chains instead of ``IN`` lists: SQLite builds an ``IN`` list's lookup table
again on every execution of an INSERT, which is every row of a bulk ``executemany``, and
the three checks cost about as much as the rest of the insert (1 s per 400,000 contracts
against 0.1 s). The rule is the same; PostgreSQL keeps its constraints. The DDL below is
frozen as of this revision.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 03:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from riskdesk.store.types import UTCDateTime, UtcNow

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLE = "snapshot_option_columns"

_CONTRACT_COLUMNS = (
    'option_contract_id, underlying_symbol, expiry, strike, "right", style, settlement, '
    "multiplier, currency, contract_key, provider_contract_key, created_at"
)
_CONTRACT_INDEXES = (
    ("idx_option_contracts_contract_key", "contract_key"),
    ("idx_option_contracts_provider_key", "provider_contract_key"),
    ("idx_option_contracts_underlying_expiry", "underlying_symbol, expiry"),
)


def _one_of(column: str, values: tuple[str, ...], *, fast: bool) -> str:
    quoted = f'"{column}"'
    if fast:
        return " OR ".join(f"{quoted} = '{v}'" for v in values)
    return f"{quoted} IN ({', '.join(repr(v) for v in values)})"


def _contracts_ddl(name: str, *, fast: bool) -> str:
    right = _one_of("right", ("C", "P"), fast=fast)
    settlement = _one_of("settlement", ("AM", "PM"), fast=fast)
    style = _one_of("style", ("AMERICAN", "EUROPEAN", "UNKNOWN"), fast=fast)
    return f"""CREATE TABLE {name} (
    option_contract_id CHAR(32) NOT NULL,
    underlying_symbol VARCHAR(32) NOT NULL,
    expiry DATE NOT NULL,
    strike DECIMAL_TEXT NOT NULL,
    "right" VARCHAR(16) NOT NULL,
    style VARCHAR(10) DEFAULT 'AMERICAN' NOT NULL,
    settlement VARCHAR(16) DEFAULT 'PM' NOT NULL,
    multiplier INTEGER DEFAULT 100 NOT NULL,
    currency VARCHAR(3) DEFAULT 'USD' NOT NULL,
    contract_key VARCHAR(64) NOT NULL,
    provider_contract_key VARCHAR(128),
    created_at DATETIME DEFAULT (strftime('%Y-%m-%d %H:%M:%f000', 'now')) NOT NULL,
    CONSTRAINT pk_option_contracts PRIMARY KEY (option_contract_id),
    CONSTRAINT ck_option_contracts_right CHECK ({right}),
    CONSTRAINT ck_option_contracts_settlement CHECK ({settlement}),
    CONSTRAINT ck_option_contracts_style CHECK ({style}),
    CONSTRAINT ck_option_contracts_multiplier_positive CHECK (multiplier > 0),
    CONSTRAINT ck_option_contracts_strike_positive CHECK (CAST(strike AS REAL) > 0),
    CONSTRAINT uq_option_contracts_identity
        UNIQUE (underlying_symbol, expiry, strike, "right", settlement, multiplier, style, currency)
)"""


def _rebuild_sqlite_contracts(*, fast: bool) -> None:
    """Rebuild ``option_contracts`` with ``OR``-chain (or, downgrading, ``IN``) checks."""
    op.execute("PRAGMA defer_foreign_keys=ON")
    op.execute(_contracts_ddl("option_contracts_rebuilt", fast=fast))
    op.execute(
        f"INSERT INTO option_contracts_rebuilt ({_CONTRACT_COLUMNS}) "
        f"SELECT {_CONTRACT_COLUMNS} FROM option_contracts"
    )
    op.execute("DROP TABLE option_contracts")
    op.execute("ALTER TABLE option_contracts_rebuilt RENAME TO option_contracts")
    for name, columns in _CONTRACT_INDEXES:
        op.execute(f"CREATE INDEX {name} ON option_contracts ({columns})")


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.create_table(
        _TABLE,
        sa.Column("snapshot_id", sa.Uuid(), nullable=False),
        sa.Column("data_format", sa.String(32), nullable=False),
        sa.Column("row_count", sa.BigInteger(), nullable=False),
        sa.Column("data_sha256", sa.String(64), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", UTCDateTime(), server_default=UtcNow(), nullable=False),
        sa.CheckConstraint(
            "\"data_format\" = 'arrow-ipc-zstd'", name=op.f(f"ck_{_TABLE}_data_format")
        ),
        sa.CheckConstraint("row_count >= 0", name=op.f(f"ck_{_TABLE}_row_count_nonnegative")),
        sa.CheckConstraint(
            "length(data_sha256) = 64", name=op.f(f"ck_{_TABLE}_data_sha256_length")
        ),
        sa.ForeignKeyConstraint(
            ["snapshot_id"],
            ["market_snapshots.snapshot_id"],
            name=op.f(f"fk_{_TABLE}_snapshot_id_market_snapshots"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("snapshot_id", name=op.f(f"pk_{_TABLE}")),
    )
    if dialect == "postgresql":
        op.execute(f"ALTER TABLE {_TABLE} ALTER COLUMN data SET STORAGE EXTERNAL")
        op.execute(
            f"CREATE TRIGGER trg_{_TABLE}_immutable BEFORE UPDATE ON {_TABLE} "
            f"FOR EACH ROW EXECUTE FUNCTION riskdesk_refuse_update('{_TABLE}')"
        )
    else:
        op.execute(
            f"CREATE TRIGGER trg_{_TABLE}_immutable BEFORE UPDATE ON {_TABLE} BEGIN "
            f"SELECT RAISE(ABORT, 'riskdesk-immutable: rows of table {_TABLE} cannot be "
            "updated; insert a new row instead'); END"
        )
        _rebuild_sqlite_contracts(fast=True)


def downgrade() -> None:
    op.drop_table(_TABLE)  # its trigger goes with it
    if op.get_bind().dialect.name != "postgresql":
        _rebuild_sqlite_contracts(fast=False)
