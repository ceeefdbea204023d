"""Database status and the "purge local data" operation (seed 000)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, func, insert, inspect, select, text
from sqlalchemy.engine import Engine

from riskdesk.store.db import safe_url
from riskdesk.store.errors import MigrationError
from riskdesk.store.migrate import current_revision, head_revision
from riskdesk.store.models import AuditLog, Base
from riskdesk.store.partitions import PARTITIONED_TABLES, list_partitions
from riskdesk.store.reference_data import reference_rows
from riskdesk.store.types import new_id

__all__ = ["DatabaseStatus", "database_status", "purge_database"]


@dataclass(frozen=True)
class DatabaseStatus:
    """What ``riskdesk db status`` shows."""

    backend: str
    url: str
    current_revision: str | None
    head_revision: str
    table_count: int
    row_counts: dict[str, int]
    partitions: dict[str, list[str]] = field(default_factory=dict)

    @property
    def up_to_date(self) -> bool:
        """True when the database is at the newest revision."""
        return self.current_revision == self.head_revision

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (for ``--json``)."""
        return {
            "backend": self.backend,
            "url": self.url,
            "current_revision": self.current_revision,
            "head_revision": self.head_revision,
            "up_to_date": self.up_to_date,
            "table_count": self.table_count,
            "row_counts": dict(self.row_counts),
            "partitions": {k: list(v) for k, v in self.partitions.items()},
        }


def _present_tables(engine: Engine) -> list[str]:
    existing = set(inspect(engine).get_table_names())
    return [t.name for t in Base.metadata.sorted_tables if t.name in existing]


def database_status(engine: Engine) -> DatabaseStatus:
    """Backend, URL (password hidden), revisions, tables and their row counts."""
    tables = _present_tables(engine)
    counts: dict[str, int] = {}
    with engine.connect() as conn:
        for name in tables:
            table = Base.metadata.tables[name]
            counts[name] = int(conn.execute(select(func.count()).select_from(table)).scalar_one())
    partitions: dict[str, list[str]] = {}
    if engine.dialect.name == "postgresql":
        partitions = {t: list_partitions(engine, t) for t in PARTITIONED_TABLES if t in counts}
    return DatabaseStatus(
        backend=engine.dialect.name,
        url=safe_url(engine.url),
        current_revision=current_revision(engine),
        head_revision=head_revision(),
        table_count=len(tables),
        row_counts=counts,
        partitions=partitions,
    )


def purge_database(engine: Engine, *, actor: str) -> dict[str, int]:
    """Delete every row of every riskdesk table, in one transaction; return rows deleted per table.

    Schema, partitions and the migration's reference rows (default factors and stress
    scenarios) are kept -- the reference rows are deleted and put back with their fixed ids.
    The purge itself is then audited as one row (``data.purged``, with the counts). On SQLite
    the file is vacuumed afterwards so deleted data does not linger in free pages.
    """
    if not actor:
        raise ValueError("purge_database needs the actor to audit")
    tables = _present_tables(engine)
    if "audit_log" not in tables:
        raise MigrationError(
            f"{safe_url(engine.url)} has no riskdesk schema to purge: run `riskdesk db upgrade` first"
        )
    with engine.begin() as conn:
        counts = {
            name: int(
                conn.execute(
                    select(func.count()).select_from(Base.metadata.tables[name])
                ).scalar_one()
            )
            for name in tables
        }
        if engine.dialect.name == "postgresql":
            conn.execute(text("TRUNCATE " + ", ".join(tables)))
        else:
            for name in reversed(tables):
                conn.execute(delete(Base.metadata.tables[name]))
        for name, rows in reference_rows().items():
            if name in tables:
                conn.execute(insert(Base.metadata.tables[name]), rows)
        conn.execute(
            insert(AuditLog),
            [
                {
                    "id": new_id(),
                    "actor": actor,
                    "event_type": "data.purged",
                    "resource_type": "database",
                    "event_payload_json": {"rows_deleted": counts, "tables": len(tables)},
                }
            ],
        )
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            raw = conn.connection.driver_connection
            if raw is not None:
                raw.execute("VACUUM")
                raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return counts
