"""Modeling-session repository: ``modeling_session_snapshots`` rows and ``export_history``.

Keyword-only functions over a session that the caller's unit of work holds; no business rules
(those live in :mod:`riskdesk.risk.modeling` and :mod:`riskdesk.risk.whatif`). Sessions are
stored in seed 002's *definition 1.3* (``session_id``, ``user_id``,
``base_portfolio_snapshot``), with the portfolio and the base date kept too.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from riskdesk.store.models.portfolio import ModelingSessionSnapshot
from riskdesk.store.models.system import ExportHistory
from riskdesk.store.paging import KeysetPage, PageKey, keyset_page
from riskdesk.store.workbench import NotFoundError

__all__ = [
    "count_exports",
    "find_session",
    "insert_export",
    "insert_session",
    "page_sessions",
]


def insert_session(
    session: Session,
    *,
    user_id: uuid.UUID,
    portfolio_id: uuid.UUID,
    name: str,
    description: str | None,
    base_date: date,
    base_snapshot: dict[str, Any],
    created_by: uuid.UUID | None,
) -> ModelingSessionSnapshot:
    """Insert an active session; its ``session_id`` is its row id as text."""
    row_id = uuid.uuid4()
    row = ModelingSessionSnapshot(
        id=row_id,
        session_id=str(row_id),
        user_id=user_id,
        portfolio_id=portfolio_id,
        name=name,
        description=description,
        status="active",
        base_snapshot_date=base_date,
        base_portfolio_snapshot=base_snapshot,
        modified_portfolio_snapshot=base_snapshot,
        changes=[],
        created_by=created_by,
    )
    session.add(row)
    session.flush()
    return row


def _scope(user_id: uuid.UUID | None) -> list[ColumnElement[bool]]:
    own: list[ColumnElement[bool]] = [ModelingSessionSnapshot.session_id.is_not(None)]
    return own if user_id is None else [*own, ModelingSessionSnapshot.user_id == user_id]


def find_session(
    session: Session, *, ref: str | uuid.UUID, user_id: uuid.UUID | None, for_update: bool = False
) -> ModelingSessionSnapshot:
    """The session with id ``ref`` (only ``user_id``'s when given).

    Raises
    ------
    NotFoundError
        When none matches (another user's session is reported the same way).

    """
    text = str(ref).strip()
    try:
        key = uuid.UUID(text)
    except ValueError:
        key = None
    stmt = select(ModelingSessionSnapshot).where(*_scope(user_id))
    if for_update:
        stmt = stmt.with_for_update()
    row = (
        None
        if key is None
        else session.scalars(stmt.where(ModelingSessionSnapshot.id == key)).first()
    )
    if row is None:
        raise NotFoundError(f"no modeling session with id {text!r} (see `riskdesk whatif list`)")
    return row


def page_sessions(
    session: Session,
    *,
    user_id: uuid.UUID | None,
    status: str | None,
    after: PageKey | None,
    limit: int,
) -> KeysetPage[ModelingSessionSnapshot]:
    """One page of sessions (only ``user_id``'s when given, of ``status`` when given)."""
    stmt = select(ModelingSessionSnapshot).where(*_scope(user_id))
    if status is not None:
        stmt = stmt.where(ModelingSessionSnapshot.status == status)
    return keyset_page(
        session,
        stmt,
        created_at=ModelingSessionSnapshot.created_at,
        id_=ModelingSessionSnapshot.id,
        after=after,
        limit=limit,
    )


def insert_export(
    session: Session,
    *,
    user_id: uuid.UUID,
    export_type: str,
    export_format: str,
    file_name: str,
    file_size_bytes: int,
) -> ExportHistory:
    """Record one exported file."""
    row = ExportHistory(
        user_id=user_id,
        export_type=export_type,
        export_format=export_format,
        file_name=file_name,
        file_size_bytes=file_size_bytes,
    )
    session.add(row)
    session.flush()
    return row


def count_exports(session: Session, *, user_id: uuid.UUID, export_type: str) -> int:
    """How many exports of ``export_type`` ``user_id`` made."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(ExportHistory)
            .where(ExportHistory.user_id == user_id, ExportHistory.export_type == export_type)
        )
        or 0
    )
