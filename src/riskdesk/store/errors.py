"""Errors raised by the store. Each message names the table, the value and the rule it broke."""

from __future__ import annotations

import re
from typing import Literal

from sqlalchemy import exc as sa_exc

__all__ = [
    "ConstraintKind",
    "ConstraintViolationError",
    "ImmutableRowError",
    "MigrationError",
    "NaiveDatetimeError",
    "NumericValueError",
    "SecretStoreError",
    "StoreError",
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


class MigrationError(StoreError):
    """The database schema is not at the revision this code needs."""


class SecretStoreError(StoreError):
    """No usable encryption key, or a ciphertext that does not decrypt with it."""


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
