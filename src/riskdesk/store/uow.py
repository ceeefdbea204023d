"""Unit of work: one transaction per use case, and the audit rows written in it.

Example:
-------
>>> with UnitOfWork(sessions, actor="local") as uow:          # doctest: +SKIP
...     uow.add(TradeDraft(name="iron condor"))
...     uow.audit("trade_draft.created", resource_type="trade_draft", new={"name": "iron condor"})

Everything done through ``uow.session`` and every ``uow.audit`` row commits together when the
block ends, or is rolled back together when it raises. Database errors come out as
:class:`~riskdesk.store.errors.StoreError` subclasses (constraint violations, immutable rows,
naive datetimes), chained to the driver error.

"""

from __future__ import annotations

import uuid
from types import TracebackType
from typing import Any, Self

from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import sessionmaker

from riskdesk.config import Settings
from riskdesk.store.db import SQLITE_BEGIN_OPTION
from riskdesk.store.errors import translate_db_error
from riskdesk.store.models import AuditLog
from riskdesk.store.session import RiskdeskSession
from riskdesk.store.types import jsonable

__all__ = ["UnitOfWork"]


def _as_json_object(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    plain = jsonable(value)
    return plain if isinstance(plain, dict) else {"value": plain}


class UnitOfWork:
    """One transaction, with an audit trail.

    Parameters
    ----------
    sessions:
        Session factory from :func:`riskdesk.store.db.make_session_factory`.
    actor:
        Who acts (written to every audit row), e.g. ``Settings.actor``.
    user_id, ip_address, user_agent:
        Optional seed-001 audit context, written to every audit row of this unit.
    read_only:
        A unit that only reads: on SQLite it begins a DEFERRED transaction (a consistent
        snapshot that never takes the write lock, so a long computation after it blocks no
        writer), and any write in it is refused. Writing units begin IMMEDIATE on SQLite, so
        writers queue on the busy timeout instead of failing on a lock upgrade: keep them
        short (read, compute outside, then write briefly).

    """

    def __init__(
        self,
        sessions: sessionmaker[RiskdeskSession],
        *,
        actor: str,
        user_id: uuid.UUID | None = None,
        ip_address: str | None = None,
        user_agent: str | None = None,
        read_only: bool = False,
    ) -> None:
        if not actor:
            raise ValueError("UnitOfWork.actor must be a non-empty name (e.g. Settings.actor)")
        self._sessions = sessions
        self.actor = actor
        self.user_id = user_id
        self.ip_address = ip_address
        self.user_agent = user_agent
        self.read_only = read_only
        self._session: RiskdeskSession | None = None
        self.audit_rows: list[AuditLog] = []

    @classmethod
    def from_settings(
        cls, sessions: sessionmaker[RiskdeskSession], settings: Settings, **context: Any
    ) -> Self:
        """Make a unit of work whose actor is ``settings.actor``."""
        return cls(sessions, actor=settings.actor, **context)

    @property
    def session(self) -> RiskdeskSession:
        """The session of this unit (only inside the ``with`` block)."""
        if self._session is None:
            raise RuntimeError("UnitOfWork.session is only available inside `with UnitOfWork(...)`")
        return self._session

    def __enter__(self) -> Self:
        if self._session is not None:
            raise RuntimeError("a UnitOfWork cannot be entered twice")
        mode = "DEFERRED" if self.read_only else "IMMEDIATE"
        session = self._sessions(execution_options={SQLITE_BEGIN_OPTION: mode})
        session.begin()
        self._session = session
        self.audit_rows = []
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        session = self.session
        try:
            if exc is not None:
                session.rollback()
                if isinstance(exc, sa_exc.StatementError):
                    translated = translate_db_error(exc)
                    if translated is not None:
                        raise translated from exc
                return
            if self.read_only:
                if session.new or session.dirty or session.deleted:
                    session.rollback()
                    raise RuntimeError("a read-only unit of work has pending writes")
                # end the read transaction without expiring the rows read (a rollback would)
                session.commit()
                return
            try:
                session.commit()
            except sa_exc.StatementError as error:
                session.rollback()
                translated = translate_db_error(error)
                if translated is not None:
                    raise translated from error
                raise
        finally:
            session.close()
            self._session = None

    def add(self, obj: Any) -> None:
        """Add a new model instance to this unit."""
        self.session.add(obj)

    def add_all(self, objs: list[Any]) -> None:
        """Add several new model instances to this unit."""
        self.session.add_all(objs)

    def flush(self) -> None:
        """Send pending changes now (inside the transaction), translating database errors."""
        try:
            self.session.flush()
        except sa_exc.StatementError as error:
            translated = translate_db_error(error)
            if translated is not None and not isinstance(translated, type(error)):
                raise translated from error
            raise

    def audit(
        self,
        event_type: str,
        *,
        payload: Any = None,
        old: Any = None,
        new: Any = None,
        resource_type: str | None = None,
        resource_id: Any = None,
    ) -> AuditLog:
        """Record an audit row in this unit's transaction (committed with the rest or not at all).

        ``payload`` is seed 000's event payload; ``old``/``new`` are seed 001's old and new
        values. Decimals, datetimes and UUIDs are stored as canonical JSON strings.
        """
        if not event_type:
            raise ValueError("audit event_type must be a non-empty name such as 'snapshot.pinned'")
        if self.read_only:
            raise RuntimeError("a read-only unit of work cannot write audit rows")
        row = AuditLog(
            actor=self.actor,
            user_id=self.user_id,
            event_type=event_type,
            event_payload_json=_as_json_object(payload),
            resource_type=resource_type,
            resource_id=None if resource_id is None else str(resource_id),
            old_values=_as_json_object(old),
            new_values=_as_json_object(new),
            ip_address=self.ip_address,
            user_agent=self.user_agent,
        )
        self.session.add(row)
        self.audit_rows.append(row)
        return row
