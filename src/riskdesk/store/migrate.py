"""Run the Alembic history from code (no ``alembic.ini`` needed; works from an installed package).

Migrations are serialized: concurrent ``riskdesk db upgrade`` runs queue on a lock (a
PostgreSQL advisory lock; on SQLite the write lock of a ``BEGIN IMMEDIATE`` transaction), so
the schema is migrated once and every run ends at the same revision.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import exc as sa_exc
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from riskdesk.store.db import SQLITE_BEGIN_OPTION, SQLITE_BUSY_TIMEOUT_MS, create_engine, safe_url
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

MIGRATION_LOCK_KEY = 0x7269736B6465736B  # "riskdesk"
"""Key of the PostgreSQL advisory lock held while migrating."""
MIGRATION_LOCK_TIMEOUT_S = 300.0
"""How long a migration waits for another one to finish before giving up."""
_LOCK_POLL_S = 0.1


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


def _lock_timeout_error(engine: Engine, timeout_s: float) -> MigrationError:
    return MigrationError(
        f"another migration of {safe_url(engine.url)} has held the migration lock for "
        f"{timeout_s:.0f} s: wait for it to finish (or stop it), then run `riskdesk db upgrade`"
    )


@contextmanager
def _postgres_lock(engine: Engine, timeout_s: float) -> Iterator[None]:
    """Hold the riskdesk migration advisory lock (session level, on a connection of its own)."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as lock:
        deadline = time.monotonic() + timeout_s
        key = {"key": MIGRATION_LOCK_KEY}
        while not lock.execute(text("SELECT pg_try_advisory_lock(:key)"), key).scalar_one():
            if time.monotonic() > deadline:
                raise _lock_timeout_error(engine, timeout_s)
            time.sleep(_LOCK_POLL_S)
        try:
            yield
        finally:
            lock.execute(text("SELECT pg_advisory_unlock(:key)"), key)


@contextmanager
def _sqlite_migration_transaction(engine: Engine, timeout_s: float) -> Iterator[Connection]:
    """A SQLite transaction holding the write lock (``BEGIN IMMEDIATE``) from its start.

    A second migration waits up to ``timeout_s`` for the lock, then finds the schema migrated.

    Foreign keys are switched off for the migration and checked as a whole before it
    commits (SQLite's own procedure for rebuilding a table: ``DROP TABLE`` of a parent
    with ``foreign_keys=ON`` deletes its rows first, which children still referencing it
    refuse, even when the rebuilt table takes the name and the rows back). A migration that
    would leave a dangling reference is rolled back with :class:`MigrationError`.
    """
    with engine.connect() as conn:
        raw = conn.connection.driver_connection
        if raw is None:  # pragma: no cover - a pooled connection always has its driver connection
            raise MigrationError(f"cannot lock {safe_url(engine.url)} for the migration")
        raw.execute(f"PRAGMA busy_timeout={int(timeout_s * 1000)}")
        raw.execute("PRAGMA foreign_keys=OFF")  # only takes effect outside a transaction
        try:
            conn.execution_options(**{SQLITE_BEGIN_OPTION: "IMMEDIATE"})
            try:
                conn.begin()
            except sa_exc.OperationalError as exc:
                if "locked" in str(exc.orig):
                    raise _lock_timeout_error(engine, timeout_s) from exc
                raise
            yield conn
            dangling = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            if dangling:
                table, rowid, parent, _ = dangling[0]
                raise MigrationError(
                    f"the migration of {safe_url(engine.url)} would leave {len(dangling)} "
                    f"row(s) referencing missing rows (first: {table} row {rowid} -> "
                    f"{parent}); nothing was changed"
                )
            conn.commit()
        finally:
            if raw.in_transaction:
                conn.rollback()
            raw.execute("PRAGMA foreign_keys=ON")
            raw.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")


def _migrate(
    target: Engine | str,
    step: Callable[[Config], None],
    *,
    timeout_s: float,
    after: Callable[[Engine], None] | None = None,
) -> str | None:
    engine, owned = _engine(target)
    try:
        if engine.dialect.name == "postgresql":
            with _postgres_lock(engine, timeout_s):
                with engine.begin() as conn:
                    step(alembic_config(conn))
                if after is not None:
                    after(engine)
        else:
            with _sqlite_migration_transaction(engine, timeout_s) as conn:
                step(alembic_config(conn))
        return current_revision(engine)
    finally:
        if owned:
            engine.dispose()


def _ensure_partitions(engine: Engine) -> None:
    if current_revision(engine) == head_revision():
        now = datetime.now(UTC)
        for table in PARTITIONED_TABLES:
            ensure_month_partitions(engine, table, [now, now + timedelta(days=31)])


def upgrade_database(
    target: Engine | str,
    revision: str = "head",
    *,
    lock_timeout_s: float = MIGRATION_LOCK_TIMEOUT_S,
) -> str | None:
    """Upgrade the database to ``revision`` in one transaction; returns the revision reached.

    Concurrent upgrades of one database queue on a lock (see the module docstring) and wait
    up to ``lock_timeout_s`` seconds; the later ones find the schema migrated and do nothing.
    On PostgreSQL the month partitions of the current and the next month are created too,
    under the same lock.
    """

    def step(config: Config) -> None:
        command.upgrade(config, revision)

    return _migrate(target, step, timeout_s=lock_timeout_s, after=_ensure_partitions)


def downgrade_database(
    target: Engine | str,
    revision: str = "base",
    *,
    lock_timeout_s: float = MIGRATION_LOCK_TIMEOUT_S,
) -> str | None:
    """Downgrade the database to ``revision`` (default: empty) in one transaction."""

    def step(config: Config) -> None:
        command.downgrade(config, revision)

    return _migrate(target, step, timeout_s=lock_timeout_s)


def require_head(bind: Engine | Connection) -> None:
    """Raise :class:`MigrationError` unless the database is at the newest revision."""
    current, head = current_revision(bind), head_revision()
    if current != head:
        url = safe_url(bind.engine.url)
        raise MigrationError(
            f"database {url} is at revision {current or 'none (empty)'}, this riskdesk needs "
            f"{head}: run `riskdesk db upgrade`"
        )
