"""Shared database fixtures for every test that needs a riskdesk database.

Fixtures (names are stable; other packages' tests use them):

* ``sqlite_url`` -- URL of a fresh, empty SQLite file under ``tmp_path``.
* ``postgres_url`` -- URL of a fresh, empty PostgreSQL database created for this test session
  on the server of ``RISKDESK_TEST_POSTGRES_URL`` (dropped at the end). Tests skip when the
  variable is unset; ``scripts/test.sh`` always sets it.
* ``backend`` -- ``"sqlite"`` or ``"postgres"`` (parametrized; the PostgreSQL case carries the
  ``postgres`` marker).
* ``db_url`` -- an empty database of ``backend``, private to the test.
* ``migrated_engine`` -- an engine on ``db_url`` after ``riskdesk db upgrade`` (head). The
  schema is migrated once per backend per session into a template and copied per test, which
  gives the same database as running the migration, much faster. Commit freely.
* ``redis_url`` -- ``RISKDESK_TEST_REDIS_URL`` (``scripts/test.sh`` starts a throwaway
  server with ``scripts/redis.sh``), its database flushed before the test; tests skip when
  the variable is unset. Under pytest-xdist each worker gets a database number of its own.
* ``db_connection`` / ``db_session`` -- a connection (and a session on it) to a migrated
  database shared by the session, inside a transaction rolled back after the test: the
  fastest way to write rows that must leave nothing behind.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
import sqlalchemy as sa
from hypothesis import settings as _hypothesis_settings
from sqlalchemy.engine import Connection, Engine, make_url

from riskdesk.store.db import create_engine, make_session_factory
from riskdesk.store.migrate import upgrade_database
from riskdesk.store.session import RiskdeskSession

# CI runs property tests derandomized (same examples every run): a red CI is reproducible.
_hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    _hypothesis_settings.load_profile("ci")


PG_ENV = "RISKDESK_TEST_POSTGRES_URL"


class _PgServer:
    """Creates and drops uniquely named databases on the test server."""

    def __init__(self, url: str) -> None:
        parsed = make_url(url)
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        self.base = parsed
        self.admin = sa.create_engine(parsed, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
        self.prefix = f"rdt_{os.getpid()}_{secrets.token_hex(3)}"
        self.counter = 0
        self.created: set[str] = set()

    def new_name(self, label: str) -> str:
        self.counter += 1
        return f"{self.prefix}_{label}_{self.counter}"

    def url(self, name: str) -> str:
        return self.base.set(database=name).render_as_string(hide_password=False)

    def create(self, name: str, *, template: str | None = None) -> str:
        clause = f" TEMPLATE {template}" if template else ""
        with self.admin.connect() as conn:
            conn.exec_driver_sql(f"CREATE DATABASE {name}{clause}")
        self.created.add(name)
        return self.url(name)

    def drop(self, name: str) -> None:
        with self.admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        self.created.discard(name)

    def close(self) -> None:
        for name in sorted(self.created):
            self.drop(name)
        self.admin.dispose()


@pytest.fixture(scope="session")
def _pg_server() -> Iterator[_PgServer]:
    url = os.environ.get(PG_ENV)
    if not url:
        pytest.skip(f"{PG_ENV} is not set (scripts/test.sh sets it to a throwaway server)")
    server = _PgServer(url)
    try:
        yield server
    finally:
        server.close()


@pytest.fixture(scope="session")
def postgres_url(_pg_server: _PgServer) -> str:
    """A fresh, empty PostgreSQL database for this test session."""
    return _pg_server.create(_pg_server.new_name("session"))


@pytest.fixture(scope="session")
def _pg_template(_pg_server: _PgServer) -> str:
    name = _pg_server.new_name("template")
    url = _pg_server.create(name)
    engine = create_engine(url)
    try:
        upgrade_database(engine)
    finally:
        engine.dispose()
    return name


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("riskdesk-template") / "template.sqlite3"
    engine = create_engine(f"sqlite:///{path}")
    try:
        upgrade_database(engine)
        with engine.connect() as conn:
            raw = conn.connection.driver_connection
            assert raw is not None
            raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        engine.dispose()
    return path


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A fresh, empty SQLite database file."""
    return f"sqlite:///{tmp_path / 'riskdesk.sqlite3'}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    """The database backend under test."""
    return str(request.param)


@pytest.fixture
def db_url(backend: str, request: pytest.FixtureRequest) -> Iterator[str]:
    """An empty database of ``backend``, private to this test."""
    if backend == "sqlite":
        yield str(request.getfixturevalue("sqlite_url"))
        return
    server: _PgServer = request.getfixturevalue("_pg_server")
    name = server.new_name("test")
    url = server.create(name)
    try:
        yield url
    finally:
        server.drop(name)


@pytest.fixture
def migrated_engine(db_url: str, backend: str, request: pytest.FixtureRequest) -> Iterator[Engine]:
    """An engine on ``db_url`` migrated to head (dispose handled)."""
    if backend == "sqlite":
        template: Path = request.getfixturevalue("_sqlite_template")
        target = make_url(db_url).database
        assert target is not None
        shutil.copyfile(template, target)
    else:
        server: _PgServer = request.getfixturevalue("_pg_server")
        pg_template: str = request.getfixturevalue("_pg_template")
        name = make_url(db_url).database
        assert name is not None
        server.drop(name)
        server.create(name, template=pg_template)
    engine = create_engine(db_url)
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def _shared_sqlite_engine(
    _sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    path = tmp_path_factory.mktemp("riskdesk-shared") / "shared.sqlite3"
    shutil.copyfile(_sqlite_template, path)
    engine = create_engine(f"sqlite:///{path}")
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def _shared_pg_engine(_pg_server: _PgServer, _pg_template: str) -> Iterator[Engine]:
    url = _pg_server.create(_pg_server.new_name("shared"), template=_pg_template)
    engine = create_engine(url)
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture
def db_connection(backend: str, request: pytest.FixtureRequest) -> Iterator[Connection]:
    """A connection to a shared migrated database, in a transaction rolled back afterwards."""
    fixture = "_shared_sqlite_engine" if backend == "sqlite" else "_shared_pg_engine"
    engine: Engine = request.getfixturevalue(fixture)
    with engine.connect() as conn:
        transaction = conn.begin()
        try:
            yield conn
        finally:
            transaction.rollback()


@pytest.fixture
def db_session(db_connection: Connection) -> Iterator[RiskdeskSession]:
    """A riskdesk session on ``db_connection``; its commits become savepoints."""
    factory = make_session_factory(db_connection, join_transaction_mode="create_savepoint")
    session = factory()
    try:
        yield session
    finally:
        session.close()


REDIS_ENV = "RISKDESK_TEST_REDIS_URL"
REDIS_GROUP = "redis"


def _worker_index() -> int | None:
    """The pytest-xdist worker number (``gw3`` -> 3), or None outside xdist."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    return int(worker[2:]) if worker.startswith("gw") and worker[2:].isdigit() else None


def _worker_redis_url(url: str) -> str:
    """``url`` with a database number of its own per xdist worker (flushes stay private)."""
    index = _worker_index()
    if index is None:
        return url
    parts = urlsplit(url)
    number = parts.path.strip("/")
    base = int(number) if number.isdigit() else 0
    return urlunsplit(parts._replace(path=f"/{(base + 1 + index) % 16}"))


def _file(item: pytest.Item) -> str:
    """The test file of ``item``, as its node id names it."""
    return item.nodeid.split("::", 1)[0]


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the xdist_group markers
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Group and order tests for ``pytest -n 2 --dist loadgroup`` (scripts/test.sh).

    One group per file: a file's tests run on one worker, so module-scoped fixtures are built
    once. Every Redis test joins one ``redis`` group instead: Redis pub/sub channels are global
    to the server, not per database number, so hubs of two workers on the same channel would
    see each other's messages and subscriber counts.
    """
    if not config.pluginmanager.hasplugin("xdist"):
        return
    if hasattr(config, "workerinput"):  # xdist schedules in the workers' collection order
        # Longest first: files holding a ``slow`` test start at once instead of ending the run
        # on one worker while the other idles (a stable sort: the order is otherwise kept).
        # Whole files move, so a file's tests stay together and its module fixtures are built
        # once (moving only the slow tests tore them down and built them again).
        slow = {_file(item) for item in items if item.get_closest_marker("slow") is not None}
        items.sort(key=lambda item: _file(item) not in slow)
    for item in items:
        if item.get_closest_marker("xdist_group"):
            continue
        uses_redis = "redis_url" in getattr(item, "fixturenames", ())
        redis = uses_redis or item.get_closest_marker("redis") is not None
        group = REDIS_GROUP if redis else _file(item)
        item.add_marker(pytest.mark.xdist_group(group))


@pytest.fixture
def redis_url() -> str:
    url = os.environ.get(REDIS_ENV, "").strip()
    if not url:
        pytest.skip(
            f"{REDIS_ENV} is unset: run `scripts/redis.sh start` and export its URL "
            "(scripts/test.sh does both)"
        )
    url = _worker_redis_url(url)
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=5)
    try:
        client.flushdb()
    finally:
        client.close()
    return url
