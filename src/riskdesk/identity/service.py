"""The identity use cases: accounts, passwords, logins, refresh-token rotation and sessions.

Sessions and refresh tokens
---------------------------
A login starts a *family* of ``user_sessions`` rows (``family_id`` is the first row's id)
that expires ``refresh_days`` after the login. Every refresh rotates: the presented row is
revoked (``rotated``, ``replaced_by_id``) and a new row of the same family is issued with the
family's original expiry. Presenting a revoked token again means it leaked: the whole family
is revoked (``reuse_detected``).

Access tokens carry the family id as ``sid``; :meth:`Identity.authenticate` accepts one only
while its family has an unrevoked, unexpired row. So a rotation leaves the current access
token working, while a logout, a detected reuse, an admin revocation, a password change or a
deactivation ends every access token of the family at once.

Every mutation writes ``audit_log`` with the caller's name, IP address and user agent, and
old and new values; no password or hash is ever written there.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from riskdesk.domain.caller import Caller
from riskdesk.identity._errors import (
    AuthenticationError,
    IdentityPermissionError,
    LastAdminError,
    UserExistsError,
    UserNotFoundError,
)
from riskdesk.identity.passwords import Passwords, check_password_policy
from riskdesk.identity.tokens import TokenService, hash_refresh_token, new_refresh_token
from riskdesk.store.database import Database
from riskdesk.store.errors import ConstraintViolationError
from riskdesk.store.models.users import USER_ROLES, User, UserSession
from riskdesk.store.paging import KeysetPage, PageKey, keyset_page
from riskdesk.store.types import new_id, utc_now
from riskdesk.store.uow import UnitOfWork

__all__ = [
    "EMAIL_PATTERN",
    "LOGIN_FAILED",
    "USERNAME_PATTERN",
    "Identity",
    "SessionView",
    "TokenPair",
    "UserView",
    "normalize_email",
    "normalize_username",
]

USERNAME_PATTERN = re.compile(r"[A-Za-z0-9_.-]{3,50}")
"""3 to 50 ASCII letters, digits, ``_``, ``.`` or ``-``; stored lower-case (unique ignoring case)."""
EMAIL_PATTERN = re.compile(r"[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+")
"""A minimal email shape (one ``@``, no spaces or control characters); ``NAME@localhost`` is
allowed."""
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
MAX_EMAIL_LENGTH = 255
MAX_NAME_LENGTH = 100
LOGIN_FAILED = "invalid username or password"
"""The only message a failed login gives (it never says which part was wrong)."""
ANONYMOUS = "anonymous"
"""Audit actor of a failed login (nobody is authenticated yet)."""
_ANON = Caller(actor=ANONYMOUS, role="viewer")
_MAX_IP = 45
_MAX_AGENT = 1000


@dataclass(frozen=True, slots=True)
class TokenPair:
    """What a login or a refresh returns.

    ``session_id`` is the session family id: the access token's ``sid`` and what
    :meth:`Identity.logout` takes.
    """

    access_token: str
    refresh_token: str
    expires_in: int
    session_id: uuid.UUID
    token_type: str = "bearer"


@dataclass(frozen=True, slots=True)
class UserView:
    """A user as the use cases return it (never the password hash)."""

    id: uuid.UUID
    username: str
    email: str
    role: str
    is_active: bool
    first_name: str | None
    last_name: str | None
    created_at: datetime
    updated_at: datetime
    last_login: datetime | None

    @classmethod
    def of(cls, row: User) -> UserView:
        """The view of a ``users`` row."""
        return cls(
            id=row.id,
            username=row.username,
            email=row.email,
            role=row.role,
            is_active=row.is_active,
            first_name=row.first_name,
            last_name=row.last_name,
            created_at=row.created_at,
            updated_at=row.updated_at,
            last_login=row.last_login,
        )


@dataclass(frozen=True, slots=True)
class SessionView:
    """One live session family of a user (its current, unrevoked refresh-token row)."""

    id: uuid.UUID
    family_id: uuid.UUID
    created_at: datetime
    expires_at: datetime
    ip_address: str | None
    user_agent: str | None


def normalize_username(username: str) -> str:
    """``username`` stripped and lower-cased; ValueError naming the rule when it breaks it."""
    name = username.strip() if isinstance(username, str) else ""
    if not USERNAME_PATTERN.fullmatch(name):
        raise ValueError(
            f"username {username!r} is not valid: use 3 to 50 characters among letters, "
            "digits, '_', '.' and '-'"
        )
    return name.lower()


def normalize_email(email: str) -> str:
    """``email`` stripped and lower-cased; ValueError when it does not look like an address."""
    text = email.strip().lower() if isinstance(email, str) else ""
    if len(text) > MAX_EMAIL_LENGTH or not EMAIL_PATTERN.fullmatch(text):
        raise ValueError(
            f"email {email!r} is not valid: give one address like name@example.com "
            f"(at most {MAX_EMAIL_LENGTH} characters)"
        )
    return text


def _check_role(role: str) -> str:
    if role not in USER_ROLES:
        raise ValueError(f"role {role!r} is not valid: use one of {', '.join(USER_ROLES)}")
    return role


def _check_name(value: str | None, field: str) -> str | None:
    if value is None:
        return None
    text = value.strip()
    if _CONTROL.search(text):
        raise ValueError(f"{field} must not contain control characters")
    if len(text) > MAX_NAME_LENGTH:
        raise ValueError(f"{field} is {len(text)} characters long; at most {MAX_NAME_LENGTH}")
    return text or None


def _clip(value: str | None, limit: int) -> str | None:
    return None if value is None else value[:limit]


def _public(row: User) -> dict[str, Any]:
    """The audited values of a user (no password hash)."""
    return {
        "username": row.username,
        "email": row.email,
        "role": row.role,
        "is_active": row.is_active,
        "first_name": row.first_name,
        "last_name": row.last_name,
    }


class Identity:
    """Users, passwords, logins, tokens and sessions of one database.

    Parameters
    ----------
    db:
        The database.
    tokens:
        The token service, or a function making it on first use (the CLI manages users
        without ever needing the signing key).
    refresh_days:
        Lifetime of a session family (a refresh token), counted from the login.
    password_hasher:
        The argon2 hasher (argon2-cffi's defaults when None); a hash made with other
        parameters is upgraded at the next successful login.
    clock:
        Current UTC time, for session expiry (tests move it).

    """

    def __init__(
        self,
        db: Database,
        tokens: TokenService | Callable[[], TokenService],
        *,
        refresh_days: int,
        password_hasher: PasswordHasher | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        if refresh_days < 1:
            raise ValueError(f"refresh_days must be at least 1, got {refresh_days}")
        self.db = db
        self._tokens = tokens if isinstance(tokens, TokenService) else None
        self._make_tokens = None if isinstance(tokens, TokenService) else tokens
        self.refresh_days = refresh_days
        self.passwords = Passwords(password_hasher)
        self._clock = clock

    @property
    def tokens(self) -> TokenService:
        """The token service (made on first use when a factory was given)."""
        if self._tokens is None:
            assert self._make_tokens is not None
            self._tokens = self._make_tokens()
        return self._tokens

    # -- authorization helpers ----------------------------------------------------------------

    @staticmethod
    def _require_admin(caller: Caller, action: str) -> None:
        if not caller.at_least("admin"):
            raise IdentityPermissionError(f"{action} needs the admin role; you are {caller.role}")

    @staticmethod
    def _self_or_admin(caller: Caller, user_id: uuid.UUID) -> None:
        if not (caller.at_least("admin") or caller.user_id == user_id):
            raise UserNotFoundError(f"no user with id {user_id}")

    @staticmethod
    def _load(session: Session, user_id: uuid.UUID, *, lock: bool = False) -> User:
        stmt = select(User).where(User.id == user_id)
        if lock:
            stmt = stmt.with_for_update()
        row = session.scalars(stmt).one_or_none()
        if row is None:
            raise UserNotFoundError(f"no user with id {user_id}")
        return row

    @staticmethod
    def _conflicts(session: Session, *, username: str | None, email: str | None, skip: Any) -> None:
        if username is not None:
            clash = session.scalar(
                select(User.id).where(func.lower(User.username) == username, User.id != skip)
            )
            if clash is not None:
                raise UserExistsError(f"username {username!r} is taken: choose another")
        if email is not None:
            clash = session.scalar(
                select(User.id).where(func.lower(User.email) == email, User.id != skip)
            )
            if clash is not None:
                raise UserExistsError(f"email {email!r} belongs to another user")

    @staticmethod
    def _flush_unique(uow: UnitOfWork, what: str) -> None:
        try:
            uow.flush()
        except ConstraintViolationError as exc:
            if exc.kind == "unique":
                raise UserExistsError(f"{what} is taken by another user") from exc
            raise

    def _revoke(
        self, session: Session, reason: str, *, user_id: uuid.UUID, family_id: uuid.UUID | None
    ) -> int:
        """Revoke the live rows of a user (or of one family); returns how many."""
        stmt = (
            update(UserSession)
            .where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None))
            .values(revoked_at=self._clock(), revoked_reason=reason)
            .execution_options(synchronize_session=False)
        )
        if family_id is not None:
            stmt = stmt.where(UserSession.family_id == family_id)
        result = session.execute(stmt)
        return int(getattr(result, "rowcount", 0) or 0)

    # -- users --------------------------------------------------------------------------------

    def create_user(
        self,
        caller: Caller,
        *,
        username: str,
        email: str,
        password: str,
        role: str,
        first_name: str | None = None,
        last_name: str | None = None,
    ) -> UserView:
        """Create an account (admin only).

        The username is stored lower-case and is unique ignoring case, as is the email; a
        duplicate raises :class:`UserExistsError`. The password must pass the policy.
        """
        self._require_admin(caller, "creating a user")
        name = normalize_username(username)
        mail = normalize_email(email)
        _check_role(role)
        first = _check_name(first_name, "first_name")
        last = _check_name(last_name, "last_name")
        check_password_policy(password)
        hashed = self.passwords.hash(password)  # slow: outside the transaction
        with self.db.unit_of_work_for(caller) as uow:
            self._conflicts(uow.session, username=name, email=mail, skip=None)
            row = User(
                username=name,
                email=mail,
                password_hash=hashed,
                role=role,
                is_active=True,
                first_name=first,
                last_name=last,
            )
            uow.add(row)
            self._flush_unique(uow, f"username {name!r} or email {mail!r}")
            uow.audit("user.created", resource_type="user", resource_id=row.id, new=_public(row))
            return UserView.of(row)

    def list_users(
        self, caller: Caller, *, after: PageKey | None, limit: int
    ) -> KeysetPage[UserView]:
        """One page of users, newest first (admin only)."""
        self._require_admin(caller, "listing users")
        with self.db.unit_of_work_for(caller, read_only=True) as uow:
            page = keyset_page(
                uow.session,
                select(User),
                created_at=User.created_at,
                id_=User.id,
                after=after,
                limit=limit,
            )
            return KeysetPage([UserView.of(r) for r in page.items], page.next_key)

    def get_user(self, caller: Caller, user_id: uuid.UUID) -> UserView:
        """One user (an admin sees anyone; others only themselves, else not found)."""
        self._self_or_admin(caller, user_id)
        with self.db.unit_of_work_for(caller, read_only=True) as uow:
            return UserView.of(self._load(uow.session, user_id))

    def find_user(self, caller: Caller, username: str) -> UserView:
        """The user named ``username`` (ignoring case; admin only)."""
        self._require_admin(caller, "looking up users")
        name = normalize_username(username)
        with self.db.unit_of_work_for(caller, read_only=True) as uow:
            row = uow.session.scalars(
                select(User).where(func.lower(User.username) == name)
            ).one_or_none()
            if row is None:
                raise UserNotFoundError(f"no user named {username!r}")
            return UserView.of(row)

    def update_user(
        self,
        caller: Caller,
        user_id: uuid.UUID,
        *,
        role: str | None = None,
        is_active: bool | None = None,
        email: str | None = None,
        first_name: str | None = None,
        last_name: str | None = None,
    ) -> UserView:
        """Change a user's role, active flag, email or names (admin only; None: unchanged).

        Deactivating a user revokes all their sessions (``user_disabled``). Demoting or
        deactivating the last active admin raises :class:`LastAdminError`.
        """
        self._require_admin(caller, "changing a user")
        wanted: dict[str, Any] = {}
        if role is not None:
            wanted["role"] = _check_role(role)
        if is_active is not None:
            wanted["is_active"] = bool(is_active)
        if email is not None:
            wanted["email"] = normalize_email(email)
        if first_name is not None:
            wanted["first_name"] = _check_name(first_name, "first_name")
        if last_name is not None:
            wanted["last_name"] = _check_name(last_name, "last_name")
        with self.db.unit_of_work_for(caller) as uow:
            row = self._load(uow.session, user_id, lock=True)
            changes = {k: v for k, v in wanted.items() if getattr(row, k) != v}
            if not changes:
                return UserView.of(row)
            if "email" in changes:
                self._conflicts(uow.session, username=None, email=changes["email"], skip=row.id)
            stays_admin = changes.get("role", row.role) == "admin" and changes.get(
                "is_active", row.is_active
            )
            if row.role == "admin" and row.is_active and not stays_admin:
                self._keep_one_admin(uow.session, row)
            old = {k: getattr(row, k) for k in changes}
            for key, value in changes.items():
                setattr(row, key, value)
            self._flush_unique(uow, "email")
            revoked = 0
            if changes.get("is_active") is False:
                revoked = self._revoke(uow.session, "user_disabled", user_id=row.id, family_id=None)
            new: dict[str, Any] = dict(changes)
            if revoked:
                new["sessions_revoked"] = revoked
            uow.audit("user.updated", resource_type="user", resource_id=row.id, old=old, new=new)
            return UserView.of(row)

    @staticmethod
    def _keep_one_admin(session: Session, row: User) -> None:
        # lock every active admin row, so two admins cannot demote each other at once
        admins = session.scalars(
            select(User.id).where(User.role == "admin", User.is_active.is_(True)).with_for_update()
        ).all()
        if not [a for a in admins if a != row.id]:
            raise LastAdminError(
                f"{row.username} is the last active admin: make another user admin first"
            )

    def change_password(
        self,
        caller: Caller,
        user_id: uuid.UUID,
        *,
        new_password: str,
        current_password: str | None = None,
    ) -> None:
        """Set a new password and revoke every session of the user.

        Changing one's own password needs ``current_password`` (a wrong one raises
        :class:`AuthenticationError`); an admin resetting another user's does not.
        """
        own = caller.user_id == user_id
        self._self_or_admin(caller, user_id)
        check_password_policy(new_password, field="new_password")
        if own:
            if current_password is None:
                raise ValueError("current_password is required to change your own password")
            with self.db.unit_of_work_for(caller, read_only=True) as uow:
                stored = self._load(uow.session, user_id).password_hash
            if not self.passwords.verify(stored, current_password):
                raise AuthenticationError("current_password is wrong")
        hashed = self.passwords.hash(new_password)
        with self.db.unit_of_work_for(caller) as uow:
            row = self._load(uow.session, user_id, lock=True)
            row.password_hash = hashed
            uow.flush()
            revoked = self._revoke(uow.session, "revoked", user_id=row.id, family_id=None)
            uow.audit(
                "user.password_changed",
                resource_type="user",
                resource_id=row.id,
                new={"by": "self" if own else "admin", "sessions_revoked": revoked},
            )

    # -- logins and tokens --------------------------------------------------------------------

    def login(
        self, username: str, password: str, *, ip_address: str | None, user_agent: str | None
    ) -> TokenPair:
        """Check a username and password and start a session family.

        Any failure (unknown user, wrong password, inactive account) raises
        :class:`AuthenticationError` with the same message, spends one argon2 verification,
        and is audited as ``auth.login_failed`` with the username given and the IP.
        """
        ip = _clip(ip_address, _MAX_IP)
        agent = _clip(user_agent, _MAX_AGENT)
        try:
            name: str | None = normalize_username(username)
        except ValueError:
            name = None
        found: tuple[uuid.UUID, str | None, bool] | None = None
        if name is not None:
            with self.db.unit_of_work_for(_ANON, read_only=True) as uow:
                got = uow.session.execute(
                    select(User.id, User.password_hash, User.is_active).where(
                        func.lower(User.username) == name
                    )
                ).one_or_none()
                if got is not None:
                    found = (got[0], got[1], bool(got[2]))
        if found is None:
            self.passwords.spend_one_verify(password)
            self._login_failed(username, "unknown_user", None, ip, agent)
            raise AuthenticationError(LOGIN_FAILED)
        user_id, stored, active = found
        if not self.passwords.verify(stored, password):
            self._login_failed(username, "wrong_password", user_id, ip, agent)
            raise AuthenticationError(LOGIN_FAILED)
        if not active:
            self._login_failed(username, "inactive", user_id, ip, agent)
            raise AuthenticationError(LOGIN_FAILED)
        assert stored is not None
        rehashed = self.passwords.hash(password) if self.passwords.needs_rehash(stored) else None
        now = self._clock()
        token = new_refresh_token()
        with self.db.unit_of_work(actor=ANONYMOUS, ip_address=ip, user_agent=agent) as uow:
            row = self._load(uow.session, user_id, lock=True)
            if not row.is_active or row.password_hash != stored:
                changed = True  # deactivated or password changed while we verified
            else:
                changed = False
                uow.actor, uow.user_id = row.username, row.id
                if rehashed is not None:
                    row.password_hash = rehashed
                row.last_login = now
                session_id = new_id()
                uow.add(
                    UserSession(
                        id=session_id,
                        family_id=session_id,
                        user_id=row.id,
                        token_hash=hash_refresh_token(token),
                        expires_at=now + timedelta(days=self.refresh_days),
                        created_at=now,
                        ip_address=ip,
                        user_agent=agent,
                    )
                )
                uow.audit(
                    "auth.login",
                    resource_type="user",
                    resource_id=row.id,
                    new={"session_id": session_id, "password_rehashed": rehashed is not None},
                )
                username_, role = row.username, row.role
        if changed:
            self._login_failed(username, "changed_during_login", user_id, ip, agent)
            raise AuthenticationError(LOGIN_FAILED)
        access, expires_in = self.tokens.issue_access(
            user_id=user_id, username=username_, role=role, session_id=session_id
        )
        return TokenPair(access, token, expires_in, session_id)

    def _login_failed(
        self,
        username: str,
        reason: str,
        user_id: uuid.UUID | None,
        ip: str | None,
        agent: str | None,
    ) -> None:
        given = username[:100] if isinstance(username, str) else ""
        with self.db.unit_of_work(actor=ANONYMOUS, ip_address=ip, user_agent=agent) as uow:
            uow.audit(
                "auth.login_failed",
                resource_type="user",
                resource_id=user_id,
                payload={"username": given, "reason": reason},
            )

    def refresh(
        self, refresh_token: str, *, ip_address: str | None, user_agent: str | None
    ) -> TokenPair:
        """Rotate a refresh token: a new pair for the same session family.

        A token that was already rotated or revoked revokes its whole family
        (``reuse_detected``) and fails; so does nothing else. An unknown or expired token,
        or an inactive user, fails with :class:`AuthenticationError`.
        """
        ip = _clip(ip_address, _MAX_IP)
        agent = _clip(user_agent, _MAX_AGENT)
        digest = hash_refresh_token(refresh_token) if isinstance(refresh_token, str) else ""
        now = self._clock()
        token = new_refresh_token()
        failure: str | None = None
        with self.db.unit_of_work(actor=ANONYMOUS, ip_address=ip, user_agent=agent) as uow:
            found = uow.session.execute(
                select(UserSession, User)
                .join(User, User.id == UserSession.user_id)
                .where(UserSession.token_hash == digest)
                .with_for_update()
            ).one_or_none()
            if found is None:
                raise AuthenticationError("the refresh token is not valid: log in again")
            current, user = found[0], found[1]
            uow.actor, uow.user_id = user.username, user.id
            family = current.family_id or current.id
            if current.revoked_at is not None:
                revoked = self._revoke(
                    uow.session, "reuse_detected", user_id=user.id, family_id=family
                )
                uow.audit(
                    "auth.refresh_reuse_detected",
                    resource_type="user_session",
                    resource_id=family,
                    payload={
                        "session_id": current.id,
                        "revoked_reason": current.revoked_reason,
                        "sessions_revoked": revoked,
                    },
                )
                failure = (
                    "the refresh token was already used: every session of this login is now "
                    "revoked; log in again"
                )
            elif current.expires_at <= now:
                raise AuthenticationError("the refresh token has expired: log in again")
            elif not user.is_active:
                raise AuthenticationError("the account is disabled")
            else:
                new_row = UserSession(
                    id=new_id(),
                    family_id=family,
                    user_id=user.id,
                    token_hash=hash_refresh_token(token),
                    expires_at=current.expires_at,
                    created_at=now,
                    ip_address=ip,
                    user_agent=agent,
                )
                uow.add(new_row)
                uow.flush()
                current.revoked_at = now
                current.revoked_reason = "rotated"
                current.replaced_by_id = new_row.id
                uow.audit(
                    "auth.refreshed",
                    resource_type="user_session",
                    resource_id=family,
                    old={"session_id": current.id},
                    new={"session_id": new_row.id},
                )
                user_id, username, role = user.id, user.username, user.role
        if failure is not None:
            raise AuthenticationError(failure)
        access, expires_in = self.tokens.issue_access(
            user_id=user_id, username=username, role=role, session_id=family
        )
        return TokenPair(access, token, expires_in, family)

    def logout(self, caller: Caller, *, session_id: uuid.UUID) -> None:
        """Revoke the caller's session family ``session_id`` (every token of that login)."""
        if caller.user_id is None:
            raise ValueError("logout needs a logged-in caller")
        with self.db.unit_of_work_for(caller) as uow:
            revoked = self._revoke(
                uow.session, "logout", user_id=caller.user_id, family_id=session_id
            )
            uow.audit(
                "auth.logout",
                resource_type="user_session",
                resource_id=session_id,
                new={"sessions_revoked": revoked},
            )

    def authenticate(
        self, access_token: str, *, ip_address: str | None, user_agent: str | None
    ) -> Caller:
        """The caller an access token stands for.

        The token must verify, its session family must have an unrevoked, unexpired row,
        and its user must be active. The role is read from the ``users`` row, so a role
        change takes effect at once.
        """
        claims = self.tokens.decode_access(access_token)
        now = self._clock()
        # one Core query on a pooled connection (no ORM unit): every request runs this
        with self.db.engine.connect() as conn:
            found = conn.execute(
                select(User.username, User.role, User.is_active).where(
                    User.id == claims.user_id,
                    select(UserSession.id)
                    .where(
                        UserSession.family_id == claims.session_id,
                        UserSession.user_id == claims.user_id,
                        UserSession.revoked_at.is_(None),
                        UserSession.expires_at > now,
                    )
                    .exists(),
                )
            ).one_or_none()
        if found is None:
            raise AuthenticationError("the session has ended (logged out or revoked): log in again")
        username, role, active = found
        if not active:
            raise AuthenticationError("the account is disabled")
        return Caller(
            actor=username,
            user_id=claims.user_id,
            role=role,
            ip_address=_clip(ip_address, _MAX_IP),
            user_agent=_clip(user_agent, _MAX_AGENT),
        )

    # -- sessions -----------------------------------------------------------------------------

    def list_sessions(self, caller: Caller, user_id: uuid.UUID) -> Sequence[SessionView]:
        """The live session families of a user, newest first (admin or self)."""
        self._self_or_admin(caller, user_id)
        now = self._clock()
        with self.db.unit_of_work_for(caller, read_only=True) as uow:
            self._load(uow.session, user_id)
            rows = uow.session.scalars(
                select(UserSession)
                .where(
                    UserSession.user_id == user_id,
                    UserSession.revoked_at.is_(None),
                    UserSession.expires_at > now,
                )
                .order_by(UserSession.created_at.desc(), UserSession.id.desc())
            ).all()
            return [
                SessionView(
                    id=r.id,
                    family_id=r.family_id or r.id,
                    created_at=r.created_at,
                    expires_at=r.expires_at,
                    ip_address=r.ip_address,
                    user_agent=r.user_agent,
                )
                for r in rows
            ]

    def revoke_sessions(self, caller: Caller, user_id: uuid.UUID) -> int:
        """Revoke every live session of a user (admin or self); returns how many."""
        self._self_or_admin(caller, user_id)
        with self.db.unit_of_work_for(caller) as uow:
            self._load(uow.session, user_id, lock=True)
            revoked = self._revoke(uow.session, "revoked", user_id=user_id, family_id=None)
            uow.audit(
                "user.sessions_revoked",
                resource_type="user",
                resource_id=user_id,
                new={"sessions_revoked": revoked},
            )
            return revoked
