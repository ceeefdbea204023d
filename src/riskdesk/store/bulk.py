"""Insert many rows of one table in one executemany (no per-row ORM flush).

Engines hand repositories ORM objects (typed, validated by the model); writing thousands of
them through the unit of work's flush costs a Python round trip per row. :func:`insert_rows`
sends their column values as one ``INSERT`` with many parameter sets instead; columns no row
sets (the primary key, ``created_at``) take their Python-side defaults per row, exactly as a
flush would give them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Table, insert, inspect, or_
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from riskdesk.store.limits import check_text_lengths
from riskdesk.store.models import Base

__all__ = ["insert_rows", "upsert_changed"]


def insert_rows(session: Session, rows: Sequence[Base]) -> int:
    """Insert ``rows`` (new, unsaved instances of one model) in one statement; their count.

    A column is sent when any row sets it (None then means NULL for the rows that leave it
    unset); a column no row sets is left to its default. The rows are not added to the
    session: read them back from the database.

    Raises
    ------
    TypeError
        When the rows are of several models.

    """
    if not rows:
        return 0
    model = type(rows[0])
    if any(type(row) is not model for row in rows):
        raise TypeError(f"insert_rows takes rows of one model; got {model.__name__} and others")
    columns = {attr.key: attr.columns[0].key for attr in inspect(model).column_attrs}
    values: list[dict[str, Any]] = [
        {column: getattr(row, attr) for attr, column in columns.items()} for row in rows
    ]
    sent = [column for column in columns.values() if any(v[column] is not None for v in values)]
    params = [{column: v[column] for column in sent} for v in values]
    table = model.__table__
    assert isinstance(table, Table)
    session.execute(insert(table), params)  # Core executemany: defaults filled per row
    return len(params)


def upsert_changed(
    session: Session,
    table: Table,
    rows: Iterable[Mapping[str, Any]],
    *,
    keys: Sequence[str],
    values: Sequence[str],
    batch: int = 2_000,
    what: str = "row",
) -> int:
    """Insert or update ``rows`` by their ``keys`` columns; the number inserted or changed.

    Each row needs every key and value column. When one key appears twice the later row wins.
    A stored row whose ``values`` already equal the new ones is neither rewritten nor
    counted. ``INSERT ... ON CONFLICT DO UPDATE ... WHERE changed`` on both backends, in
    ``batch``-row statements, in the session's transaction (nothing is committed here).

    Raises
    ------
    ValueError
        For a row lacking a column (named with ``what``), or text longer than its column.

    """
    columns = (*keys, *values)
    latest: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in rows:
        missing = [c for c in columns if c not in row]
        if missing:
            raise ValueError(f"{what} {dict(row)!r} lacks {', '.join(missing)}")
        latest[tuple(row[k] for k in keys)] = {c: row[c] for c in columns}
    if not latest:
        return 0
    unique = list(latest.values())
    check_text_lengths(table, unique)
    connection = session.connection()
    postgres = connection.dialect.name == "postgresql"
    written = 0
    for offset in range(0, len(unique), batch):
        chunk = unique[offset : offset + batch]
        statement = pg_insert(table) if postgres else sqlite_insert(table)
        changed = or_(*(table.c[c].is_distinct_from(statement.excluded[c]) for c in values))
        upsert = statement.on_conflict_do_update(
            index_elements=[table.c[k] for k in keys],
            set_={c: statement.excluded[c] for c in values},
            where=changed,
        ).returning(table.c.id)
        written += len(connection.execute(upsert, chunk).all())
    return written
