"""Alembic environment of riskdesk, run programmatically by :mod:`riskdesk.store.migrate`.

The caller passes an open SQLAlchemy connection in ``config.attributes["connection"]`` so the
migration runs with the engine's pragmas (SQLite foreign keys, WAL) and inside the caller's
transaction handling. Without one, an engine is built from ``sqlalchemy.url``.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from riskdesk.store.db import create_engine
from riskdesk.store.models import Base

config = context.config
target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        user_module_prefix="rdt.",
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("riskdesk migrations need a connection or sqlalchemy.url")
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            _run(conn)
            conn.commit()
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise RuntimeError("riskdesk migrations run online only (they inspect the backend)")
run_migrations_online()
