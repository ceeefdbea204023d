"""Access tokens (short-lived JWTs), refresh tokens (random, stored hashed) and the signing key.

An access token is an HS256 JWT with the claims ``iss`` (the issuer), ``typ`` (``access``),
``sub`` (the user id), ``name`` (the username), ``role``, ``sid`` (the session family id),
``iat`` and ``exp``. It is verified with the signing key alone; whether its session is still
alive is checked by :meth:`riskdesk.identity.Identity.authenticate`.

A refresh token is 32 random bytes, URL-safe base64; only its SHA-256 is stored.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from riskdesk.domain.caller import Caller
from riskdesk.identity._errors import AuthenticationError
from riskdesk.store.database import Database
from riskdesk.store.errors import ConstraintViolationError, SecretStoreError
from riskdesk.store.secrets import SecretBox
from riskdesk.store.system_config import get_config, set_config
from riskdesk.store.types import utc_now

__all__ = [
    "ALGORITHM",
    "SIGNING_KEY_BYTES",
    "SIGNING_KEY_CONFIG",
    "AccessClaims",
    "TokenService",
    "hash_refresh_token",
    "load_signing_key",
    "new_refresh_token",
]

ALGORITHM = "HS256"
SIGNING_KEY_CONFIG = "auth.jwt_signing_key"
"""``system_config`` key of the signing key (sensitive: stored encrypted)."""
SIGNING_KEY_BYTES = 64
MIN_SIGNING_KEY_BYTES = 32
"""RFC 7518 section 3.2: an HS256 key must be at least as long as the hash output."""
_TYPE = "access"
_REQUIRED = ("exp", "iat", "iss", "sub", "sid", "typ", "name", "role")


@dataclass(frozen=True, slots=True)
class AccessClaims:
    """What a verified access token says."""

    user_id: uuid.UUID
    username: str
    role: str
    session_id: uuid.UUID
    expires_at: datetime


class TokenService:
    """Issues and verifies access tokens with one HMAC key.

    Parameters
    ----------
    signing_key:
        The HS256 key, at least 32 bytes (see :func:`load_signing_key`).
    access_minutes:
        Lifetime of an access token.
    issuer:
        The ``iss`` claim written and required.
    clock:
        Current UTC time (tests move it); expiry is checked against the real clock.

    """

    def __init__(
        self,
        signing_key: bytes,
        *,
        access_minutes: int,
        issuer: str = "riskdesk",
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        if len(signing_key) < MIN_SIGNING_KEY_BYTES:
            raise ValueError(
                f"the token signing key is {len(signing_key)} bytes; HS256 needs at least "
                f"{MIN_SIGNING_KEY_BYTES} random bytes"
            )
        if access_minutes < 1:
            raise ValueError(f"access_minutes must be at least 1, got {access_minutes}")
        self._key = signing_key
        self.access_minutes = access_minutes
        self.issuer = issuer
        self._clock = clock

    @property
    def expires_in(self) -> int:
        """Lifetime of an access token in seconds."""
        return self.access_minutes * 60

    def issue_access(
        self, *, user_id: uuid.UUID, username: str, role: str, session_id: uuid.UUID
    ) -> tuple[str, int]:
        """A signed access token and its lifetime in seconds."""
        now = self._clock().astimezone(UTC)
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "typ": _TYPE,
            "sub": str(user_id),
            "name": username,
            "role": role,
            "sid": str(session_id),
            "iat": int(now.timestamp()),
            "exp": int((now + timedelta(seconds=self.expires_in)).timestamp()),
        }
        return jwt.encode(claims, self._key, algorithm=ALGORITHM), self.expires_in

    def decode_access(self, token: str) -> AccessClaims:
        """Verify ``token`` (signature, ``exp``, ``iss``, ``typ``) and return its claims.

        Raises :class:`AuthenticationError` for a token that is malformed, expired, signed
        with another key or algorithm, from another issuer, or not an access token.
        """
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=[ALGORITHM],
                issuer=self.issuer,
                options={"require": list(_REQUIRED)},
            )
        except jwt.ExpiredSignatureError as exc:
            raise AuthenticationError(
                "the access token has expired: get a new one with POST /v1/auth/refresh"
            ) from exc
        except jwt.PyJWTError as exc:
            raise AuthenticationError(f"the access token is not valid ({exc})") from exc
        if claims.get("typ") != _TYPE:
            raise AuthenticationError("the token is not an access token")
        try:
            return AccessClaims(
                user_id=uuid.UUID(str(claims["sub"])),
                username=str(claims["name"]),
                role=str(claims["role"]),
                session_id=uuid.UUID(str(claims["sid"])),
                expires_at=datetime.fromtimestamp(int(claims["exp"]), UTC),
            )
        except (ValueError, TypeError) as exc:
            raise AuthenticationError("the access token has malformed claims") from exc


def new_refresh_token() -> str:
    """A new refresh token: 32 random bytes, URL-safe base64 without padding (43 chars)."""
    return secrets.token_urlsafe(32)


def hash_refresh_token(token: str) -> str:
    """The hex SHA-256 of ``token``: what ``user_sessions.token_hash`` stores."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _decode_key(text: str) -> bytes:
    try:
        key = base64.urlsafe_b64decode(text.encode("ascii"))
    except (binascii.Error, ValueError, UnicodeError) as exc:
        raise SecretStoreError(
            f"system_config {SIGNING_KEY_CONFIG!r} is not base64: delete the row to make a new "
            "key (every access token is then invalid)"
        ) from exc
    if len(key) < MIN_SIGNING_KEY_BYTES:
        raise SecretStoreError(
            f"system_config {SIGNING_KEY_CONFIG!r} holds a {len(key)}-byte key; at least "
            f"{MIN_SIGNING_KEY_BYTES} are needed: delete the row to make a new key"
        )
    return key


def load_signing_key(db: Database, box: SecretBox, *, attempts: int = 5) -> bytes:
    """The token signing key of this database, created on first use.

    The key (64 random bytes) lives in ``system_config`` under :data:`SIGNING_KEY_CONFIG`,
    encrypted with ``box`` (whose key lives outside the database). Every service process of
    one database therefore signs with the same key. Creation is race-safe: on SQLite the
    writing unit of work holds the write lock while it checks and inserts; on PostgreSQL the
    unique ``config_key`` makes the second inserter fail, and it reads the winner's key.
    """
    for _ in range(attempts):
        with db.unit_of_work_for(Caller(actor=db.actor), read_only=True) as uow:
            stored = get_config(uow.session, key=SIGNING_KEY_CONFIG, box=box)
        if stored is not None:
            return _decode_key(stored)
        try:
            with db.unit_of_work() as uow:
                stored = get_config(uow.session, key=SIGNING_KEY_CONFIG, box=box)
                if stored is None:
                    key = secrets.token_bytes(SIGNING_KEY_BYTES)
                    set_config(
                        uow,
                        key=SIGNING_KEY_CONFIG,
                        value=base64.urlsafe_b64encode(key).decode("ascii"),
                        is_sensitive=True,
                        description="HMAC key signing the service's JWT access tokens",
                        box=box,
                    )
                    stored = base64.urlsafe_b64encode(key).decode("ascii")
        except ConstraintViolationError as exc:
            if exc.kind != "unique":
                raise
            continue  # another process inserted it first: read theirs
        return _decode_key(stored)
    raise SecretStoreError(
        f"could not read or create {SIGNING_KEY_CONFIG!r} after {attempts} attempts"
    )
