"""Insert many rows of one table in one executemany (no per-row ORM flush).

Engines hand repositories ORM objects (typed, validated by the model); writing thousands of
them through the unit of work's flush costs a Python round trip per row. :func:`insert_rows`
sends their column values as one ``INSERT`` with many parameter sets instead; columns no row
sets (the primary key, ``created_at``) take their Python-side defaults per row, exactly as a
flush would give them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table, insert, inspect
from sqlalchemy.orm import Session

from riskdesk.store.models import Base

__all__ = ["insert_rows"]


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
