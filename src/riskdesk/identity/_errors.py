"""Errors of the identity use cases; each maps to one HTTP status (see the docstrings)."""

from __future__ import annotations

from riskdesk.store.errors import WriteConflictError

__all__ = [
    "AuthenticationError",
    "IdentityPermissionError",
    "LastAdminError",
    "PasswordPolicyError",
    "UserExistsError",
    "UserNotFoundError",
]


class AuthenticationError(Exception):
    """Wrong credentials, or a bad, expired or revoked token (HTTP 401).

    The message never says which part was wrong for a login (``invalid username or
    password``), so it cannot be used to find out which usernames exist.
    """


class PasswordPolicyError(ValueError):
    """A new password breaks the policy: too short or too long (HTTP 422)."""


class UserExistsError(WriteConflictError):
    """Another account already has this username or email (HTTP 409)."""


class UserNotFoundError(LookupError):
    """No user matches, or the caller may not see it (HTTP 404, never a 403 that confirms it)."""


class LastAdminError(ValueError):
    """The change would leave no active admin (the service answers 409 CONFLICT)."""


class IdentityPermissionError(PermissionError):
    """The caller's role does not allow the action (HTTP 403; the routes check roles first)."""
