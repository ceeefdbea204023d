"""Keyset pagination on ``(created_at, id)`` descending, for every list the service serves.

A page is read with ``LIMIT n + 1``: the extra row says whether a next page exists, and the
key of the last row returned is where the next page starts (strictly after it). Unlike
OFFSET, a key stays right when rows are inserted in front of it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, and_, or_
from sqlalchemy.orm import InstrumentedAttribute, Session

__all__ = ["KeysetPage", "PageKey", "keyset_page"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class PageKey:
    """The position of one row in ``(created_at DESC, id DESC)`` order."""

    created_at: datetime
    id: uuid.UUID


@dataclass(frozen=True, slots=True)
class KeysetPage(Generic[T]):
    """Rows of one page, and the key to pass for the next (None on the last page)."""

    items: Sequence[T]
    next_key: PageKey | None


def keyset_page(
    session: Session,
    stmt: Select[Any],
    *,
    created_at: InstrumentedAttribute[datetime],
    id_: InstrumentedAttribute[uuid.UUID],
    after: PageKey | None,
    limit: int,
) -> KeysetPage[Any]:
    """One page of the entities selected by ``stmt``, newest first, after ``after``.

    ``stmt`` selects one ORM entity that has the ``created_at`` and ``id_`` columns given.
    """
    if limit < 1:
        raise ValueError(f"page limit must be at least 1, got {limit}")
    if after is not None:
        stmt = stmt.where(
            or_(
                created_at < after.created_at,
                and_(created_at == after.created_at, id_ < after.id),
            )
        )
    rows = list(session.scalars(stmt.order_by(created_at.desc(), id_.desc()).limit(limit + 1)))
    if len(rows) <= limit:
        return KeysetPage(rows, None)
    last = rows[limit - 1]
    key = PageKey(getattr(last, created_at.key), getattr(last, id_.key))
    return KeysetPage(rows[:limit], key)
