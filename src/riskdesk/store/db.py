"""Engines and sessions for SQLite and PostgreSQL.

SQLite connections get ``foreign_keys=ON``, WAL journaling and a busy timeout, and real
transactions: pysqlite's implicit transaction handling is switched off and riskdesk emits
``BEGIN`` itself (``BEGIN IMMEDIATE`` for units of work, so two writers queue on the busy
timeout instead of failing on a lock upgrade). JSON values are serialized with NaN refused.

A new SQLite database is private: missing directories are created 0700 and the file 0600
(SQLite gives its ``-wal`` and ``-shm`` files the mode of the database file). Errors about
reaching, opening or writing the database (server down, no such database, not a SQLite file,
read-only file or directory, disk full) come out as
:class:`~riskdesk.store.errors.StoreError` subclasses whose message says how to fix them.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection, Engine, ExceptionContext, make_url
from sqlalchemy.orm import Session, sessionmaker

from riskdesk.store.errors import (
    URL_HINT,
    DatabaseUnavailableError,
    DatabaseUrlError,
    DiskFullError,
    ReadOnlyDatabaseError,
    StoreError,
    sqlite_path,
    translate_connection_error,
)
from riskdesk.store.session import RiskdeskSession
from riskdesk.store.types import jsonable

__all__ = [
    "SQLITE_BEGIN_OPTION",
    "backend_name",
    "create_engine",
    "make_session_factory",
    "mask_passwords",
    "safe_url",
]

SQLITE_BUSY_TIMEOUT_MS = 5000
SQLITE_DIR_MODE = 0o700
"""Mode of the directories riskdesk creates for a SQLite database (owner only)."""
SQLITE_FILE_MODE = 0o600
"""Mode of a new SQLite database file (owner read/write only)."""
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


def mask_passwords(text: str) -> str:
    """Replace the password of every ``scheme://user:password@host`` URL in ``text`` by ``***``."""
    return re.sub(r"(://[^:/@\s]*:)[^@/\s]*@", r"\1***@", text)


def _create_private(path: Path) -> None:
    """Create the missing parent directories (0700) and an empty database file (0600)."""
    missing: list[Path] = []
    folder = path.parent
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    for directory in reversed(missing):
        with contextlib.suppress(FileExistsError):
            directory.mkdir(mode=SQLITE_DIR_MODE)
    if not path.exists():
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, SQLITE_FILE_MODE))


def _creation_error(path: Path, error: OSError) -> StoreError:
    failed = Path(error.filename) if error.filename else path
    if error.errno == errno.ENOSPC:
        return DiskFullError(f"disk full while creating the database {path}: free space and retry")
    if error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return ReadOnlyDatabaseError(
            f"cannot create the database {path}: the directory {failed.parent} is not writable "
            f"({error.strerror}); make it writable or {URL_HINT}"
        )
    return DatabaseUnavailableError(
        f"cannot create the database {path}: {error.strerror} ({failed}); {URL_HINT}"
    )


def _sqlite_opener(path: Path, *, create: bool) -> Callable[..., None]:
    """``do_connect`` listener: prepare a private new file, or open an existing one only."""

    def opener(_dialect: Any, _record: Any, cargs: list[Any], cparams: dict[str, Any]) -> None:
        if not create:
            # mode=rw: never creates the file (a missing one fails to open)
            cargs[0] = f"file:{quote(str(path))}?mode=rw"
            cparams["uri"] = True
            return
        try:
            _create_private(path)
        except OSError as error:
            raise _creation_error(path, error) from error

    return opener


def _error_translator(url: sa.URL, *, create: bool) -> Callable[[ExceptionContext], Any]:
    """``handle_error`` listener: driver errors about the database itself to StoreErrors."""

    def translate(context: ExceptionContext) -> BaseException | None:
        if context.is_pre_ping:
            return None
        return translate_connection_error(
            context.original_exception,
            url,
            connecting=context.connection is None,
            create=create,
        )

    return translate


def create_engine(url: str | sa.URL, *, echo: bool = False, create: bool = True) -> Engine:
    """Create an engine for a riskdesk database URL (``sqlite:///path`` or ``postgresql+psycopg://``).

    Parameters
    ----------
    url:
        The database URL.
    echo:
        Log every statement.
    create:
        For a SQLite file: create it (and its missing directories) on first connect, private
        to the user (directories 0700, file 0600). With ``create=False`` the file must exist
        (commands that only read use this): nothing is created, and a missing file fails with
        :class:`~riskdesk.store.errors.DatabaseUnavailableError`. No effect on PostgreSQL,
        whose databases riskdesk never creates.

    Raises
    ------
    DatabaseUrlError
        The URL cannot be parsed, or names a backend or driver riskdesk does not support.

    """
    try:
        parsed = make_url(url)
    except (sa_exc.ArgumentError, ValueError) as exc:
        shown = mask_passwords(str(url))
        raise DatabaseUrlError(
            f"database URL {shown!r} is not a valid URL: use sqlite:///PATH or "
            f"postgresql+psycopg://USER@HOST:PORT/DATABASE; {URL_HINT}"
        ) from exc
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise DatabaseUrlError(
            f"unsupported database backend {backend!r} in {safe_url(parsed)}; "
            "use sqlite or postgresql"
        )
    try:
        engine = _make_engine(parsed, echo=echo, create=create)
    except (sa_exc.ArgumentError, ImportError) as exc:
        raise DatabaseUrlError(
            f"cannot use the database URL {safe_url(parsed)}: {exc}; riskdesk supports "
            f"sqlite:///PATH and postgresql+psycopg://...; {URL_HINT}"
        ) from exc
    event.listen(engine, "handle_error", _error_translator(parsed, create=create))
    return engine


def _make_engine(parsed: sa.URL, *, echo: bool, create: bool) -> Engine:
    if parsed.get_backend_name() == "sqlite":
        engine = sa.create_engine(
            parsed,
            echo=echo,
            json_serializer=_json_dumps,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
        )
        path = sqlite_path(parsed)
        if path is not None and not (parsed.database or "").startswith("file:"):
            event.listen(engine, "do_connect", _sqlite_opener(path, create=create))
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
        return engine
    return sa.create_engine(
        parsed,
        echo=echo,
        json_serializer=_json_dumps,
        pool_pre_ping=True,
        connect_args={"options": "-c timezone=UTC"},
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
