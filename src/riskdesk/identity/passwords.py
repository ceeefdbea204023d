"""Password policy and argon2id hashing.

Hashes are argon2id PHC strings (``$argon2id$v=19$m=...,t=...,p=...$salt$hash``) made by
``argon2-cffi``; they carry their own parameters, so raising the cost later only needs
:meth:`Passwords.needs_rehash` at the next successful login.

Example:
-------
>>> from argon2 import PasswordHasher
>>> pw = Passwords(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
>>> stored = pw.hash("correct horse battery")
>>> pw.verify(stored, "correct horse battery"), pw.verify(stored, "wrong horse battery")
(True, False)

"""

from __future__ import annotations

import contextlib
import secrets
import threading

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from riskdesk.identity._errors import PasswordPolicyError

__all__ = ["MAX_PASSWORD_LENGTH", "MIN_PASSWORD_LENGTH", "Passwords", "check_password_policy"]

MIN_PASSWORD_LENGTH = 12
"""Fewest characters a password may have (NIST SP 800-63B asks for at least 8; we ask 12)."""

MAX_PASSWORD_LENGTH = 1024
"""Most characters a password may have (bounds the work one login request can cause)."""


def check_password_policy(password: str, *, field: str = "password") -> None:
    """Raise :class:`PasswordPolicyError` when ``password`` is too short or too long.

    Length is counted in characters (code points); any character is allowed, spaces too.
    The message names the field and the rule, never the password.
    """
    if not isinstance(password, str):
        raise PasswordPolicyError(f"{field} must be text")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise PasswordPolicyError(
            f"{field} is {len(password)} characters long; it needs at least "
            f"{MIN_PASSWORD_LENGTH} (a passphrase of several words is easiest to remember)"
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise PasswordPolicyError(
            f"{field} is {len(password)} characters long; at most {MAX_PASSWORD_LENGTH} are allowed"
        )


class Passwords:
    """Hash and verify passwords with one argon2 :class:`PasswordHasher`.

    Parameters
    ----------
    hasher:
        The hasher (``argon2-cffi`` defaults, the RFC 9106 low-memory profile, when None).
        Tests pass a cheap one.

    """

    def __init__(self, hasher: PasswordHasher | None = None) -> None:
        self.hasher = hasher if hasher is not None else PasswordHasher()
        self._dummy: str | None = None
        self._lock = threading.Lock()

    def hash(self, password: str) -> str:
        """The argon2id PHC string of ``password`` (a new random salt each call)."""
        return self.hasher.hash(password)

    def verify(self, stored: str | None, password: str) -> bool:
        """True when ``password`` matches ``stored``.

        A missing or malformed ``stored`` hash still spends one verification against a dummy
        hash, so the time taken does not tell whether an account exists.
        """
        if not stored:
            self.spend_one_verify(password)
            return False
        try:
            return self.hasher.verify(stored, password)
        except VerifyMismatchError:
            return False
        except (VerificationError, InvalidHashError):
            self.spend_one_verify(password)
            return False

    def spend_one_verify(self, password: str) -> None:
        """Verify ``password`` against a dummy hash (for unknown users: no timing oracle)."""
        with contextlib.suppress(VerificationError, InvalidHashError):
            self.hasher.verify(self._dummy_hash(), password)

    def needs_rehash(self, stored: str) -> bool:
        """True when ``stored`` was made with other parameters than the current hasher's."""
        try:
            return self.hasher.check_needs_rehash(stored)
        except (InvalidHashError, ValueError):
            return True

    def _dummy_hash(self) -> str:
        with self._lock:
            if self._dummy is None:
                self._dummy = self.hasher.hash(secrets.token_urlsafe(24))
            return self._dummy
