"""The riskdesk session class and its guards.

:class:`RiskdeskSession` refuses, before anything reaches the database:

* flushing a change to a row of an :class:`~riskdesk.store.models.ImmutableRow` model;
* an ORM ``update(Model)`` statement on such a model;
* a text value longer than its column (the same error on both backends, see
  :mod:`riskdesk.store.limits`);

and on PostgreSQL it creates the month partitions that new time-series rows need before they
are flushed (see :mod:`riskdesk.store.partitions`).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction

from riskdesk.store.errors import ImmutableRowError
from riskdesk.store.limits import check_text_lengths
from riskdesk.store.models import ImmutableRow
from riskdesk.store.partitions import PARTITIONED_TABLES, ensure_month_partitions

__all__ = ["RiskdeskSession"]


class RiskdeskSession(Session):
    """Session of riskdesk (see the module docstring for what it adds)."""


def _changed_columns(obj: Any) -> tuple[str, ...]:
    state = inspect(obj)
    return tuple(
        attr.key
        for attr in state.mapper.column_attrs
        if state.attrs[attr.key].history.has_changes()
    )


@event.listens_for(RiskdeskSession, "before_flush")
def _before_flush(session: Session, _flush_context: UOWTransaction, _instances: Any) -> None:
    for obj in session.dirty:
        if isinstance(obj, ImmutableRow):
            changed = _changed_columns(obj)
            if changed:
                key = getattr(obj, type(obj).__immutable_key__, None)
                raise ImmutableRowError(
                    inspect(obj).mapper.local_table.name,
                    None if key is None else str(key),
                    changed,
                )
    for obj in (*session.new, *session.dirty):
        mapper = inspect(obj).mapper
        values = {
            column.key: getattr(obj, prop.key, None)
            for prop in mapper.column_attrs
            for column in prop.columns
        }
        check_text_lengths(mapper.local_table, [values])
    if session.get_bind().dialect.name != "postgresql":
        return
    needed: dict[str, list[datetime]] = defaultdict(list)
    for obj in session.new:
        table = inspect(obj).mapper.local_table.name
        column = PARTITIONED_TABLES.get(table)
        if column is not None:
            value = getattr(obj, column, None)
            if isinstance(value, datetime):
                needed[table].append(value)
    if needed:
        connection = session.connection()
        for table, stamps in needed.items():
            ensure_month_partitions(connection, table, stamps)


@event.listens_for(RiskdeskSession, "do_orm_execute")
def _refuse_bulk_update(state: ORMExecuteState) -> None:
    if not state.is_update:
        return
    mapper = state.bind_mapper
    if mapper is not None and issubclass(mapper.class_, ImmutableRow):
        raise ImmutableRowError(mapper.local_table.name)  # type: ignore[attr-defined]
