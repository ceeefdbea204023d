"""Who is calling a use case: the audit context of every unit of work it opens.

The CLI acts as the local desktop user (``Caller.local()``: no user id, unrestricted, like
the owner of the database file). The HTTP service builds one per request from the
authenticated user, with the client's IP address and user agent.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

__all__ = ["ROLES", "Caller"]

ROLES: tuple[str, ...] = ("viewer", "trader", "admin")
"""Roles from least to most privileged: a viewer reads, a trader trades and edits their own
resources, an admin also manages users and system config."""


@dataclass(frozen=True, slots=True)
class Caller:
    """The actor of a use case.

    ``user_id`` is None for the local desktop user, who owns every login-less resource and is
    not scoped; a caller with a ``user_id`` sees only the resources it owns.
    """

    actor: str
    user_id: uuid.UUID | None = None
    role: str = "admin"
    ip_address: str | None = None
    user_agent: str | None = None

    def __post_init__(self) -> None:
        if not self.actor:
            raise ValueError("Caller.actor must be a non-empty name")
        if self.role not in ROLES:
            raise ValueError(f"Caller.role {self.role!r} is not one of {ROLES}")

    @classmethod
    def local(cls, actor: str = "local") -> Caller:
        """The login-less desktop user (the CLI)."""
        return cls(actor=actor)

    @property
    def scoped(self) -> bool:
        """True when the caller sees only the resources it owns."""
        return self.user_id is not None

    def at_least(self, role: str) -> bool:
        """True when the caller's role is ``role`` or more privileged."""
        return ROLES.index(self.role) >= ROLES.index(role)
