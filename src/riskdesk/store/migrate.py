"""Run the Alembic history from code (no ``alembic.ini`` needed; works from an installed package)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection, Engine

from riskdesk.store.db import create_engine, safe_url
from riskdesk.store.errors import MigrationError
from riskdesk.store.partitions import PARTITIONED_TABLES, ensure_month_partitions

__all__ = [
    "MIGRATIONS_DIR",
    "alembic_config",
    "current_revision",
    "downgrade_database",
    "head_revision",
    "require_head",
    "upgrade_database",
]

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic config pointing at the packaged migrations, optionally bound to ``connection``."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """Return the newest revision of the packaged history."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise MigrationError(f"no migrations found in {MIGRATIONS_DIR}")
    return head


def current_revision(bind: Engine | Connection) -> str | None:
    """Return the revision the database is at (None for an empty database)."""
    if isinstance(bind, Engine):
        with bind.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    return MigrationContext.configure(bind).get_current_revision()


def _engine(target: Engine | str) -> tuple[Engine, bool]:
    if isinstance(target, Engine):
        return target, False
    return create_engine(target), True


def upgrade_database(target: Engine | str, revision: str = "head") -> str | None:
    """Upgrade the database to ``revision`` in one transaction; returns the revision reached.

    On PostgreSQL the month partitions of the current and the next month are created too.
    """
    engine, owned = _engine(target)
    try:
        with engine.begin() as conn:
            command.upgrade(alembic_config(conn), revision)
        if engine.dialect.name == "postgresql" and current_revision(engine) == head_revision():
            now = datetime.now(UTC)
            for table in PARTITIONED_TABLES:
                ensure_month_partitions(engine, table, [now, now + timedelta(days=31)])
        return current_revision(engine)
    finally:
        if owned:
            engine.dispose()


def downgrade_database(target: Engine | str, revision: str = "base") -> str | None:
    """Downgrade the database to ``revision`` (default: empty) in one transaction."""
    engine, owned = _engine(target)
    try:
        with engine.begin() as conn:
            command.downgrade(alembic_config(conn), revision)
        return current_revision(engine)
    finally:
        if owned:
            engine.dispose()


def require_head(bind: Engine | Connection) -> None:
    """Raise :class:`MigrationError` unless the database is at the newest revision."""
    current, head = current_revision(bind), head_revision()
    if current != head:
        url = safe_url(bind.engine.url)
        raise MigrationError(
            f"database {url} is at revision {current or 'none (empty)'}, this riskdesk needs "
            f"{head}: run `riskdesk db upgrade`"
        )
