"""Text-length limits checked before writing, so both backends refuse the same values.

PostgreSQL refuses a string longer than its ``VARCHAR(n)`` with a raw ``DataError``; SQLite
stores it whole. riskdesk checks every text value against its column's length before it is
sent (ORM flushes through :mod:`riskdesk.store.session`, bulk inserts through
:func:`riskdesk.store.timeseries.insert_rows` and the repositories' own statements) and raises
:class:`~riskdesk.store.errors.ValueTooLongError` naming the table, the column and the limit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any

from sqlalchemy import String, Table

from riskdesk.store.errors import ValueTooLongError

__all__ = ["check_text_lengths", "text_limits"]


@cache
def _limits(table: Table) -> tuple[tuple[str, int], ...]:
    out: list[tuple[str, int]] = []
    for column in table.columns:
        length = getattr(column.type, "length", None)
        if isinstance(column.type, String) and isinstance(length, int):
            out.append((column.key, length))
    return tuple(out)


def text_limits(table: Table) -> dict[str, int]:
    """Column key -> maximum length of ``table``'s length-limited text columns."""
    return dict(_limits(table))


def check_text_lengths(table: Table, rows: Iterable[Mapping[str, Any]]) -> None:
    """Raise :class:`ValueTooLongError` for the first value longer than its column allows."""
    limits = _limits(table)
    if not limits:
        return
    for row in rows:
        for key, limit in limits:
            value = row.get(key)
            if isinstance(value, str) and len(value) > limit:
                raise ValueTooLongError(table.name, key, len(value), limit)
