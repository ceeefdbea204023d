"""Errors raised by the store. Each message names the table, the value and the rule it broke."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Literal

from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL

__all__ = [
    "ConstraintKind",
    "ConstraintViolationError",
    "DatabaseFileError",
    "DatabaseUnavailableError",
    "DatabaseUrlError",
    "DiskFullError",
    "ImmutableRowError",
    "MigrationError",
    "NaiveDatetimeError",
    "NumericValueError",
    "ReadOnlyDatabaseError",
    "SecretStoreError",
    "StoreError",
    "ValueTooLongError",
    "WriteConflictError",
    "describe_db_error",
    "sqlite_path",
    "translate_connection_error",
    "translate_db_error",
]

ConstraintKind = Literal["check", "unique", "foreign_key", "not_null", "other"]

IMMUTABLE_MARKER = "riskdesk-immutable"
"""Text that the database triggers put in their error message (see the initial migration)."""

MONOTONIC_MARKER = "riskdesk-monotonic"


class StoreError(Exception):
    """Base class of every error raised by :mod:`riskdesk.store`."""


class NaiveDatetimeError(StoreError, ValueError):
    """A timestamp without timezone reached a timestamp column."""


class NumericValueError(StoreError, ValueError):
    """A value for an exact decimal column is not a finite decimal or does not fit the column."""


class ImmutableRowError(StoreError):
    """An attempt to change a hash-keyed (or append-only) row.

    Such rows are content-addressed: to change one, insert a new row with the new content and
    its own hash.
    """

    def __init__(self, table: str, key: str | None = None, changed: tuple[str, ...] = ()) -> None:
        self.table = table
        self.key = key
        self.changed = changed
        what = f"{table} row {key}" if key else f"{table} row"
        cols = f" (tried to change: {', '.join(changed)})" if changed else ""
        super().__init__(
            f"{what} is immutable{cols}: rows of {table} are content-addressed or append-only; "
            "insert a new row instead of updating this one"
        )


class ConstraintViolationError(StoreError):
    """The database refused a row: a CHECK, UNIQUE, FOREIGN KEY or NOT NULL rule."""

    def __init__(self, kind: ConstraintKind, constraint: str | None, detail: str) -> None:
        self.kind = kind
        self.constraint = constraint
        self.detail = detail
        name = f" {constraint!r}" if constraint else ""
        super().__init__(f"{kind.replace('_', ' ')} constraint{name} violated: {detail}")


class ValueTooLongError(StoreError, ValueError):
    """A text value is longer than its column allows (refused the same way on both backends)."""

    def __init__(self, table: str, column: str, length: int, limit: int) -> None:
        self.table = table
        self.column = column
        self.length = length
        self.limit = limit
        super().__init__(
            f"{table}.{column} is {length} characters long; at most {limit} are allowed "
            "(shorten it)"
        )


class WriteConflictError(StoreError):
    """Another writer changed the row first (optimistic concurrency); reload and try again."""


class MigrationError(StoreError):
    """The database schema is not at the revision this code needs."""


class SecretStoreError(StoreError):
    """No usable encryption key, or a ciphertext that does not decrypt with it."""


class DatabaseUrlError(StoreError, ValueError):
    """The database URL cannot be parsed or names an unsupported backend or driver."""


class DatabaseUnavailableError(StoreError):
    """The database cannot be reached or opened.

    The server is down or unreachable, the database or user does not exist, the login fails,
    or the SQLite file (or its directory) is missing or cannot be opened.
    """


class DatabaseFileError(StoreError):
    """The file named by the URL is not a SQLite database (or is damaged)."""


class ReadOnlyDatabaseError(StoreError):
    """The database (file, directory or server) does not accept writes."""


class DiskFullError(StoreError):
    """The disk holding the database is full; the transaction was rolled back."""


_SQLITE_PATTERNS: tuple[tuple[re.Pattern[str], ConstraintKind], ...] = (
    (re.compile(r"CHECK constraint failed: (?P<name>\S+)"), "check"),
    (re.compile(r"UNIQUE constraint failed: (?P<name>.+)"), "unique"),
    (re.compile(r"NOT NULL constraint failed: (?P<name>\S+)"), "not_null"),
    (re.compile(r"FOREIGN KEY constraint failed"), "foreign_key"),
)

_PG_SQLSTATE: dict[str, ConstraintKind] = {
    "23514": "check",
    "23505": "unique",
    "23503": "foreign_key",
    "23502": "not_null",
}


def translate_db_error(error: sa_exc.StatementError) -> StoreError | None:
    """Turn a driver error into the matching :class:`StoreError`, or None if it is not one.

    Recognizes the immutability triggers on both backends, constraint violations (with the
    constraint name on PostgreSQL and for SQLite CHECK failures), and store errors raised while
    binding parameters (naive datetimes, bad decimals).
    """
    orig = getattr(error, "orig", None)
    if isinstance(orig, StoreError):
        return orig
    if orig is None:
        return None
    message = str(orig)
    if IMMUTABLE_MARKER in message:
        match = re.search(r"table (\w+)", message)
        return ImmutableRowError(match.group(1) if match else "unknown")
    if MONOTONIC_MARKER in message:
        return ConstraintViolationError("check", "trade_drafts_rev_monotonic", message.strip())
    sqlstate = getattr(orig, "sqlstate", None)
    if isinstance(sqlstate, str) and sqlstate in _PG_SQLSTATE:
        diag = getattr(orig, "diag", None)
        name = getattr(diag, "constraint_name", None)
        if name is None and sqlstate == "23502":
            column = getattr(diag, "column_name", None)
            table = getattr(diag, "table_name", None)
            name = f"{table}.{column}" if column else None
        return ConstraintViolationError(_PG_SQLSTATE[sqlstate], name, message.strip())
    if isinstance(error, sa_exc.IntegrityError):
        for pattern, kind in _SQLITE_PATTERNS:
            found = pattern.search(message)
            if found:
                name = found.groupdict().get("name")
                return ConstraintViolationError(kind, name, message.strip())
        return ConstraintViolationError("other", None, message.strip())
    return None


URL_HINT = "check RISKDESK_DATABASE_URL or --database-url"
"""How the user points riskdesk at another database (the end of most connection messages)."""


def _first_line(text: str) -> str:
    for line in text.strip().splitlines():
        if line.strip():
            return line.strip()
    return text.strip()


def sqlite_path(url: URL) -> Path | None:
    """The file of a SQLite URL (absolute), or None for an in-memory database."""
    database = url.database
    if not database or database == ":memory:":
        return None
    if database.startswith("file:"):
        from urllib.parse import unquote, urlsplit

        path = unquote(urlsplit(database).path)
        return Path(path).expanduser().absolute() if path and path != ":memory:" else None
    return Path(database).expanduser().absolute()


def _writable(path: Path) -> bool:
    return os.access(path, os.W_OK)


def _sqlite_error(orig: BaseException, path: Path | None, *, create: bool) -> StoreError | None:
    name = str(getattr(orig, "sqlite_errorname", "") or "")
    where = str(path) if path is not None else "the SQLite database"
    folder = path.parent if path is not None else None
    if name.startswith("SQLITE_NOTADB"):
        return DatabaseFileError(
            f"{where} is not a SQLite database: {URL_HINT} (a riskdesk database file, or a new "
            "path where `riskdesk db upgrade` creates one)"
        )
    if name.startswith("SQLITE_CORRUPT"):
        return DatabaseFileError(
            f"the SQLite database {where} is damaged (malformed): restore it from a backup"
        )
    if name.startswith("SQLITE_FULL"):
        space = f" on the disk holding {folder}" if folder is not None else ""
        return DiskFullError(
            f"disk full while writing {where}: nothing was saved; free space{space} and retry"
        )
    if name.startswith("SQLITE_IOERR"):
        return DatabaseUnavailableError(
            f"disk I/O error on {where} ({orig}): is the disk full, failing or removed? "
            "nothing was saved"
        )
    if name.startswith(("SQLITE_READONLY", "SQLITE_PERM", "SQLITE_CANTOPEN")):
        return _sqlite_open_error(orig, path, name=name, create=create)
    return None


def _sqlite_open_error(
    orig: BaseException, path: Path | None, *, name: str, create: bool
) -> StoreError:
    if path is None:
        return DatabaseUnavailableError(f"cannot open the SQLite database ({orig})")
    folder = path.parent
    if not os.path.exists(path):
        if not create:
            return DatabaseUnavailableError(
                f"no riskdesk database at {path}: create it with `riskdesk db upgrade`, "
                f"or {URL_HINT}"
            )
        if not os.path.isdir(folder):
            return DatabaseUnavailableError(
                f"cannot create the database {path}: {folder} is not a directory; {URL_HINT}"
            )
    if os.path.isdir(path):
        return DatabaseUnavailableError(f"{path} is a directory, not a database file; {URL_HINT}")
    if not _writable(folder):
        return ReadOnlyDatabaseError(
            f"the directory {folder} of the database {path.name} is read-only (SQLite keeps its "
            f"-wal and -shm files there): make it writable (chmod u+w {folder}) or {URL_HINT}"
        )
    if os.path.exists(path) and not _writable(path):
        return ReadOnlyDatabaseError(
            f"the database file {path} is read-only: make it writable (chmod u+w {path}) "
            f"or {URL_HINT}"
        )
    if name.startswith("SQLITE_READONLY"):
        return ReadOnlyDatabaseError(
            f"the database {path} was opened read-only ({orig}): open it read-write or {URL_HINT}"
        )
    return DatabaseUnavailableError(
        f"cannot open the database {path} ({orig}): check the file and its directory are "
        f"readable and writable, or {URL_HINT}"
    )


_PG_PREFIXES = (
    re.compile(r"^connection failed:\s*"),
    re.compile(r'^connection to server at "[^"]*"(?: \([^)]*\))?, port \d+ failed:\s*'),
    re.compile(r'^connection to server on socket "[^"]*" failed:\s*'),
    re.compile(r"^(?:FATAL|ERROR):\s*"),
)


def _pg_reason(message: str, password: str | None) -> str:
    reason = _first_line(message)
    for prefix in _PG_PREFIXES:
        reason = prefix.sub("", reason)
    if password:
        reason = reason.replace(password, "***")
    return reason


def _pg_error(orig: BaseException, url: URL, *, connecting: bool) -> StoreError | None:
    sqlstate = getattr(orig, "sqlstate", None)
    host = url.host or "localhost"
    port = url.port or 5432
    where = f"{host}:{port}"
    user = url.username or "postgres"
    name = url.database or user
    message = str(orig)
    if sqlstate == "53100":
        return DiskFullError(
            f"disk full on the PostgreSQL server at {where}: nothing was saved; free space on "
            "the server and retry"
        )
    if sqlstate == "25006":
        return ReadOnlyDatabaseError(
            f"the PostgreSQL server at {where} is read-only (a standby?): point "
            "RISKDESK_DATABASE_URL or --database-url at the primary"
        )
    if not connecting:
        return None
    reason = _pg_reason(message, url.password)
    if sqlstate == "3D000" or re.search(r'database "[^"]*" does not exist', message):
        return DatabaseUnavailableError(
            f"database {name} does not exist on the PostgreSQL server at {where}: create it "
            f"with `createdb -h {host} -p {port} -U {user} {name}`, then run `riskdesk db upgrade`"
        )
    if sqlstate in ("28P01", "28000") or re.search(
        r'password authentication failed|role "[^"]*" does not exist|no password supplied', message
    ):
        return DatabaseUnavailableError(
            f"cannot log in to PostgreSQL at {where} as {user} ({reason}): check the user and "
            "password in RISKDESK_DATABASE_URL or --database-url"
        )
    if "Connection refused" in message:
        return DatabaseUnavailableError(
            f"cannot connect to PostgreSQL at {where} (connection refused): is the server "
            f"running? {URL_HINT}"
        )
    if re.search(r"failed to resolve host|could not translate host name", message):
        return DatabaseUnavailableError(
            f"cannot connect to PostgreSQL at {where}: host {host} not found; {URL_HINT}"
        )
    if re.search(r"timeout expired|timed out", message):
        return DatabaseUnavailableError(
            f"cannot connect to PostgreSQL at {where} (timed out): is the server up and "
            f"reachable? {URL_HINT}"
        )
    return DatabaseUnavailableError(
        f"cannot connect to PostgreSQL at {where} ({reason}); {URL_HINT}"
    )


def translate_connection_error(
    error: BaseException, url: URL, *, connecting: bool, create: bool = True
) -> StoreError | None:
    """Explain a driver error about reaching, opening or writing the database at ``url``.

    Returns a :class:`DatabaseUnavailableError`, :class:`DatabaseFileError`,
    :class:`ReadOnlyDatabaseError` or :class:`DiskFullError` whose message says what is wrong
    and how to fix it (never the password), or None for any other error (constraint
    violations, lock timeouts, serialization failures: callers may retry those).

    Parameters
    ----------
    error:
        The DBAPI exception (``sqlite3.Error``, ``psycopg.Error``) or SQLAlchemy's wrapper.
    url:
        The engine's URL.
    connecting:
        True when the error happened while opening the connection.
    create:
        Whether the engine may create a missing SQLite file (see
        :func:`riskdesk.store.db.create_engine`).

    """
    orig = getattr(error, "orig", None) if isinstance(error, sa_exc.DBAPIError) else error
    if orig is None:
        return None
    backend = url.get_backend_name()
    if backend == "sqlite":
        return _sqlite_error(orig, sqlite_path(url), create=create)
    if backend == "postgresql":
        return _pg_error(orig, url, connecting=connecting)
    return None


_PG_STATEMENT_HINTS: dict[str, str] = {
    "22001": "a text value is longer than its column allows ({reason}): shorten it",
    "22003": "a number is out of range for its column ({reason}): use a smaller value",
    "40001": "the transaction conflicted with another writer ({reason}): retry the command",
    "40P01": "the transaction deadlocked with another writer ({reason}): retry the command",
    "55P03": "a table is locked by another process ({reason}): retry when it has finished",
    "57014": "the statement was cancelled ({reason}): retry the command",
    "53100": "disk full on the PostgreSQL server ({reason}): nothing was saved; free space and "
    "retry",
    "25006": "the PostgreSQL server is read-only ({reason}): point RISKDESK_DATABASE_URL or "
    "--database-url at the primary",
}


def describe_db_error(error: sa_exc.DBAPIError) -> StoreError:
    """A :class:`StoreError` with a one-line, actionable message for any driver error.

    Used where the error reaches the user (the CLI): recognized errors get their own class
    and advice; any other gets ``database error: <the driver's first line>``, without the SQL
    statement or its parameters.
    """
    translated = translate_db_error(error)
    if translated is not None:
        return translated
    orig = error.orig
    reason = _first_line(str(orig)) if orig is not None else _first_line(str(error))
    sqlstate = getattr(orig, "sqlstate", None)
    if isinstance(sqlstate, str) and sqlstate in _PG_STATEMENT_HINTS:
        return StoreError(_PG_STATEMENT_HINTS[sqlstate].format(reason=reason))
    name = str(getattr(orig, "sqlite_errorname", "") or "")
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
        return StoreError(
            f"the SQLite database is locked by another process ({reason}): retry when the other "
            "riskdesk command has finished"
        )
    found = _sqlite_error(orig, None, create=True) if name and orig is not None else None
    return found if found is not None else StoreError(f"database error: {reason}")
