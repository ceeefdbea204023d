"""Batch writes into the time-series tables (greek snapshots, ticks, snapshot quotes).

:func:`insert_rows` makes sure the PostgreSQL month partitions of the batch exist, then inserts
it in one statement per batch (``executemany``), skipping rows that collide with a unique rule
(seed 003's dedupe key of ``greek_snapshots``) unless told otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from riskdesk.store.limits import check_text_lengths
from riskdesk.store.models import Base
from riskdesk.store.partitions import PARTITIONED_TABLES, ensure_month_partitions

__all__ = ["insert_rows"]


def _table(target: str | Table | type[Base]) -> Table:
    if isinstance(target, Table):
        return target
    if isinstance(target, str):
        try:
            return Base.metadata.tables[target]
        except KeyError:
            raise ValueError(f"unknown table {target!r}") from None
    table = target.__table__
    if not isinstance(table, Table):
        raise TypeError(f"{target!r} is not mapped to a table")
    return table


def insert_rows(
    bind: Session | Connection,
    target: str | Table | type[Base],
    rows: Sequence[Mapping[str, Any]],
    *,
    skip_duplicates: bool = True,
) -> int:
    """Insert ``rows`` (dicts keyed by column name) and return how many were stored.

    Rows that violate a unique rule are skipped when ``skip_duplicates`` (the default), so a
    replayed batch stores nothing twice; with ``skip_duplicates=False`` a duplicate raises.
    On PostgreSQL the month partitions the batch needs are created first: in their own
    transaction when ``bind`` is a session on an engine, otherwise inside ``bind``'s.
    """
    if not rows:
        return 0
    table = _table(target)
    check_text_lengths(table, rows)
    connection = bind.connection() if isinstance(bind, Session) else bind
    dialect = connection.dialect.name
    column = PARTITIONED_TABLES.get(table.name)
    if column is not None and dialect == "postgresql":
        stamps = [row[column] for row in rows if isinstance(row.get(column), datetime)]
        owner: Engine | Connection = connection
        if isinstance(bind, Session):
            session_bind = bind.get_bind()
            owner = session_bind if isinstance(session_bind, Engine) else connection
        ensure_month_partitions(owner, table.name, stamps)
    insert = pg_insert(table) if dialect == "postgresql" else sqlite_insert(table)
    if skip_duplicates:
        insert = insert.on_conflict_do_nothing()
    statement = insert.returning(*table.primary_key.columns)
    result = connection.execute(statement, [dict(row) for row in rows])
    return len(result.all())
