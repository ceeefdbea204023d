"""A database handle: engine, session factory and actor together, built from settings."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker

from riskdesk.config import Settings
from riskdesk.domain.caller import Caller
from riskdesk.store.db import create_engine, make_session_factory
from riskdesk.store.session import RiskdeskSession
from riskdesk.store.uow import UnitOfWork

__all__ = ["Database"]


@dataclass(frozen=True)
class Database:
    """Engine, session factory and default audit actor of one riskdesk database."""

    engine: Engine
    sessions: sessionmaker[RiskdeskSession]
    actor: str = "local"

    @classmethod
    def from_url(cls, url: str, *, actor: str = "local", create: bool = True) -> Database:
        """Open the database at ``url``.

        With ``create=False`` a missing SQLite file is an error
        (:class:`~riskdesk.store.errors.DatabaseUnavailableError`) instead of a new, empty
        database: use it for every command that needs an existing database (see
        :func:`riskdesk.store.db.create_engine`).
        """
        engine = create_engine(url, create=create)
        return cls(engine=engine, sessions=make_session_factory(engine), actor=actor)

    @classmethod
    def from_settings(
        cls, settings: Settings, *, database_url: str | None = None, create: bool = True
    ) -> Database:
        """Open ``settings.database_url`` (or ``database_url``) with ``settings.actor``."""
        return cls.from_url(
            database_url or settings.database_url, actor=settings.actor, create=create
        )

    def unit_of_work(
        self,
        *,
        actor: str | None = None,
        user_id: uuid.UUID | None = None,
        ip_address: str | None = None,
        user_agent: str | None = None,
    ) -> UnitOfWork:
        """Start a new unit of work on this database (actor defaults to the database's)."""
        return UnitOfWork(
            self.sessions,
            actor=actor or self.actor,
            user_id=user_id,
            ip_address=ip_address,
            user_agent=user_agent,
        )

    def unit_of_work_for(self, caller: Caller, *, read_only: bool = False) -> UnitOfWork:
        """A unit of work whose audit rows carry ``caller``'s name, user id, IP and agent."""
        return UnitOfWork(
            self.sessions,
            actor=caller.actor,
            user_id=caller.user_id,
            ip_address=caller.ip_address,
            user_agent=caller.user_agent,
            read_only=read_only,
        )

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()
