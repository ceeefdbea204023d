"""Engines and sessions for SQLite and PostgreSQL.

SQLite connections get ``foreign_keys=ON``, WAL journaling and a busy timeout, and real
transactions: pysqlite's implicit transaction handling is switched off and riskdesk emits
``BEGIN`` itself (``BEGIN IMMEDIATE`` for units of work, so two writers queue on the busy
timeout instead of failing on a lock upgrade). JSON values are serialized with NaN refused.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

from riskdesk.store.session import RiskdeskSession
from riskdesk.store.types import jsonable

__all__ = [
    "SQLITE_BEGIN_OPTION",
    "backend_name",
    "create_engine",
    "make_session_factory",
    "safe_url",
]

SQLITE_BUSY_TIMEOUT_MS = 5000
SQLITE_BEGIN_OPTION = "riskdesk_sqlite_begin"
"""Connection execution option: ``"IMMEDIATE"`` makes the SQLite transaction take the write
lock at BEGIN (used by units of work)."""


def _json_dumps(value: Any) -> str:
    return json.dumps(value, default=jsonable, allow_nan=False, ensure_ascii=False)


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # riskdesk emits BEGIN itself (see _sqlite_on_begin)
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


def _sqlite_on_begin(connection: Connection) -> None:
    mode = connection.get_execution_options().get(SQLITE_BEGIN_OPTION, "DEFERRED")
    if mode not in ("DEFERRED", "IMMEDIATE", "EXCLUSIVE"):
        raise ValueError(
            f"{SQLITE_BEGIN_OPTION} must be DEFERRED, IMMEDIATE or EXCLUSIVE, got {mode!r}"
        )
    connection.exec_driver_sql(f"BEGIN {mode}")


def create_engine(url: str, *, echo: bool = False) -> Engine:
    """Create an engine for a riskdesk database URL (``sqlite:///path`` or ``postgresql+psycopg://``).

    For a SQLite file the parent directory is created if missing.
    """
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        database = parsed.database
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(
            parsed,
            echo=echo,
            json_serializer=_json_dumps,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
        )
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
        return engine
    if backend == "postgresql":
        return sa.create_engine(
            parsed,
            echo=echo,
            json_serializer=_json_dumps,
            pool_pre_ping=True,
            connect_args={"options": "-c timezone=UTC"},
        )
    raise ValueError(
        f"unsupported database backend {backend!r} in {safe_url(url)}; use sqlite or postgresql"
    )


def backend_name(bind: Engine | Connection | Session) -> str:
    """``"sqlite"`` or ``"postgresql"`` for an engine, connection or session."""
    if isinstance(bind, Session):
        return bind.get_bind().dialect.name
    return bind.dialect.name


def safe_url(url: str | sa.URL) -> str:
    """Render the URL with its password masked, for display."""
    return make_url(url).render_as_string(hide_password=True)


def make_session_factory(
    engine: Engine | Connection, **options: Any
) -> sessionmaker[RiskdeskSession]:
    """Make a session factory bound to ``engine`` (or a connection, in tests).

    Sessions do not expire objects on commit, so rows returned by a unit of work stay usable.
    """
    options.setdefault("expire_on_commit", False)
    return sessionmaker(bind=engine, class_=RiskdeskSession, **options)
