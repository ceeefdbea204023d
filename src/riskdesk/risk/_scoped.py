"""The base of use cases that act for one caller on one database, scoped to its resources."""

from __future__ import annotations

import uuid

from riskdesk.domain.caller import Caller
from riskdesk.store import Database
from riskdesk.store.uow import UnitOfWork

__all__ = ["ScopedUseCases"]


class ScopedUseCases:
    """Use cases on ``db`` for ``caller`` (None: the local desktop user, not scoped).

    A caller with a ``user_id`` sees only what it owns; ``_scope`` is that id (None for the
    local user). ``_write`` and ``_read`` open the caller's units of work (audited as it).
    """

    def __init__(self, db: Database, caller: Caller | None = None) -> None:
        self.db = db
        self.caller = caller if caller is not None else Caller.local(db.actor)

    @property
    def _scope(self) -> uuid.UUID | None:
        return self.caller.user_id

    def _write(self) -> UnitOfWork:
        return self.db.unit_of_work_for(self.caller)

    def _read(self) -> UnitOfWork:
        return self.db.unit_of_work_for(self.caller, read_only=True)
