"""Logins, refresh rotation, reuse detection, logout and authenticate (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from argon2 import PasswordHasher
from identity_support import ADMIN_PASSWORD, IP, TRADER_PASSWORD, UA, Clock
from sqlalchemy import select

from riskdesk.domain.caller import Caller
from riskdesk.identity import LOGIN_FAILED, AuthenticationError, Identity, UserView
from riskdesk.identity.tokens import hash_refresh_token
from riskdesk.store import Database
from riskdesk.store import models as m


def _sessions(db: Database) -> list[m.UserSession]:
    with db.sessions() as session:
        return list(session.scalars(select(m.UserSession).order_by(m.UserSession.created_at)))


def _audit(db: Database, event: str) -> list[m.AuditLog]:
    with db.sessions() as session:
        return list(session.scalars(select(m.AuditLog).where(m.AuditLog.event_type == event)))


def test_login_with_right_password_authenticates_with_role_ip_and_agent(
    identity: Identity, trader: UserView, db: Database
) -> None:
    pair = identity.login("ANA", TRADER_PASSWORD, ip_address=IP, user_agent=UA)
    caller = identity.authenticate(pair.access_token, ip_address=IP, user_agent=UA)
    assert caller == Caller(
        actor="ana", user_id=trader.id, role="trader", ip_address=IP, user_agent=UA
    )
    assert pair.token_type == "bearer"
    assert pair.expires_in == 900
    (row,) = _sessions(db)
    assert row.family_id == row.id == pair.session_id
    assert row.token_hash == hash_refresh_token(pair.refresh_token)
    assert pair.refresh_token not in row.token_hash
    (login,) = _audit(db, "auth.login")
    assert (login.actor, login.user_id, login.ip_address, login.user_agent) == (
        "ana",
        trader.id,
        IP,
        UA,
    )
    assert identity.get_user(caller, trader.id).last_login is not None


@pytest.mark.parametrize(
    ("username", "password", "reason"),
    [
        ("ana", "wrong password 12", "wrong_password"),
        ("nobody", TRADER_PASSWORD, "unknown_user"),
        ("bad name!", TRADER_PASSWORD, "unknown_user"),
    ],
)
def test_login_with_bad_credentials_fails_alike_and_audits_without_password(
    identity: Identity,
    trader: UserView,
    db: Database,
    username: str,
    password: str,
    reason: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    del trader
    verified: list[str] = []
    real = identity.passwords.hasher

    class Counting:
        def verify(self, stored: str, given: str) -> bool:
            verified.append(given)
            return real.verify(stored, given)

        def __getattr__(self, name: str) -> object:
            return getattr(real, name)

    monkeypatch.setattr(identity.passwords, "hasher", Counting())
    with pytest.raises(AuthenticationError) as info:
        identity.login(username, password, ip_address=IP, user_agent=UA)
    assert str(info.value) == LOGIN_FAILED
    assert verified == [password]  # one argon2 verify, known user or not
    (failed,) = _audit(db, "auth.login_failed")
    assert failed.event_payload_json == {"username": username, "reason": reason}
    assert (failed.ip_address, failed.user_agent, failed.actor) == (IP, UA, "anonymous")
    assert password not in repr(failed.event_payload_json)
    assert _sessions(db) == []


def test_login_with_inactive_user_fails_with_the_generic_message(
    identity: Identity, admin: UserView, trader: UserView
) -> None:
    del admin
    identity.update_user(Caller.local(), trader.id, is_active=False)
    with pytest.raises(AuthenticationError, match=LOGIN_FAILED):
        identity.login("ana", TRADER_PASSWORD, ip_address=IP, user_agent=UA)


def test_refresh_with_fresh_token_rotates_and_keeps_family_and_expiry(
    identity: Identity, trader: UserView, db: Database, clock: Clock
) -> None:
    del trader
    first = identity.login("ana", TRADER_PASSWORD, ip_address=IP, user_agent=UA)
    clock.advance(hours=1)
    second = identity.refresh(first.refresh_token, ip_address="198.51.100.2", user_agent=UA)
    assert second.refresh_token != first.refresh_token
    assert second.session_id == first.session_id
    old, new = _sessions(db)
    assert (old.revoked_reason, old.replaced_by_id) == ("rotated", new.id)
    assert new.revoked_at is None
    assert new.family_id == old.id
    assert new.expires_at == old.expires_at  # the family's original expiry, not extended
    assert new.ip_address == "198.51.100.2"
    # rotation does not end the access token issued with the old refresh token
    identity.authenticate(first.access_token, ip_address=IP, user_agent=UA)
    identity.authenticate(second.access_token, ip_address=IP, user_agent=UA)


def test_refresh_with_rotated_token_revokes_the_family_and_its_access_tokens(
    identity: Identity, trader: UserView, db: Database
) -> None:
    del trader
    first = identity.login("ana", TRADER_PASSWORD, ip_address=IP, user_agent=UA)
    other = identity.login("ana", TRADER_PASSWORD, ip_address=IP, user_agent=UA)
    second = identity.refresh(first.refresh_token, ip_address=IP, user_agent=UA)
    with pytest.raises(AuthenticationError, match="already used"):
        identity.refresh(first.refresh_token, ip_address=IP, user_agent=UA)
    for pair in (first, second):
        with pytest.raises(AuthenticationError, match="session has ended"):
            identity.authenticate(pair.access_token, ip_address=IP, user_agent=UA)
    with pytest.raises(AuthenticationError, match="already used"):
        identity.refresh(second.refresh_token, ip_address=IP, user_agent=UA)
    family = [s for s in _sessions(db) if s.family_id == first.session_id]
    assert sorted(str(s.revoked_reason) for s in family) == ["reuse_detected", "rotated"]
    # another login of the same user is untouched
    identity.authenticate(other.access_token, ip_address=IP, user_agent=UA)
    assert len(_audit(db, "auth.refresh_reuse_detected")) == 2


def test_refresh_with_unknown_or_expired_token_fails(
    identity: Identity, trader: UserView, clock: Clock
) -> None:
    del trader
    with pytest.raises(AuthenticationError, match="not valid"):
        identity.refresh("not-a-token", ip_address=IP, user_agent=UA)
    pair = identity.login("ana", TRADER_PASSWORD, ip_address=IP, user_agent=UA)
    clock.advance(days=14, seconds=1)
    with pytest.raises(AuthenticationError, match="expired"):
        identity.refresh(pair.refresh_token, ip_address=IP, user_agent=UA)
    with pytest.raises(AuthenticationError, match="session has ended"):
        identity.authenticate(pair.access_token, ip_address=IP, user_agent=UA)


def test_logout_with_live_session_ends_its_access_and_refresh_tokens(
    identity: Identity, trader: UserView, db: Database
) -> None:
    del trader
    pair = identity.login("ana", TRADER_PASSWORD, ip_address=IP, user_agent=UA)
    caller = identity.authenticate(pair.access_token, ip_address=IP, user_agent=UA)
    identity.logout(caller, session_id=pair.session_id)
    with pytest.raises(AuthenticationError):
        identity.authenticate(pair.access_token, ip_address=IP, user_agent=UA)
    with pytest.raises(AuthenticationError):
        identity.refresh(pair.refresh_token, ip_address=IP, user_agent=UA)
    (logout,) = _audit(db, "auth.logout")
    assert (logout.actor, logout.ip_address, logout.user_agent) == ("ana", IP, UA)


def test_authenticate_with_role_change_uses_the_new_role_at_once(
    identity: Identity, admin: UserView, trader: UserView
) -> None:
    del admin
    pair = identity.login("ana", TRADER_PASSWORD, ip_address=IP, user_agent=UA)
    identity.update_user(Caller.local(), trader.id, role="viewer")
    caller = identity.authenticate(pair.access_token, ip_address=IP, user_agent=UA)
    assert caller.role == "viewer"


def test_update_user_with_deactivation_revokes_every_session(
    identity: Identity, admin: UserView, trader: UserView, db: Database
) -> None:
    del admin
    pairs = [identity.login("ana", TRADER_PASSWORD, ip_address=IP, user_agent=UA) for _ in "ab"]
    identity.update_user(Caller.local(), trader.id, is_active=False)
    for pair in pairs:
        with pytest.raises(AuthenticationError):
            identity.authenticate(pair.access_token, ip_address=IP, user_agent=UA)
    assert {s.revoked_reason for s in _sessions(db)} == {"user_disabled"}
    (updated,) = _audit(db, "user.updated")
    assert updated.old_values == {"is_active": True}
    assert updated.new_values == {"is_active": False, "sessions_revoked": 2}


def test_revoke_sessions_with_admin_caller_counts_and_ends_them(
    identity: Identity, admin: UserView, trader: UserView
) -> None:
    root = identity.authenticate(
        identity.login("root", ADMIN_PASSWORD, ip_address=IP, user_agent=UA).access_token,
        ip_address=IP,
        user_agent=UA,
    )
    assert root.user_id == admin.id
    pairs = [identity.login("ana", TRADER_PASSWORD, ip_address=IP, user_agent=UA) for _ in "ab"]
    assert len(identity.list_sessions(root, trader.id)) == 2
    assert identity.revoke_sessions(root, trader.id) == 2
    assert identity.list_sessions(root, trader.id) == []
    with pytest.raises(AuthenticationError):
        identity.authenticate(pairs[0].access_token, ip_address=IP, user_agent=UA)


def test_login_with_old_hash_parameters_rehashes_the_password(
    make_identity: Callable[..., Identity], trader: UserView, db: Database
) -> None:
    del trader
    with db.sessions() as session:
        before = session.scalars(select(m.User.password_hash).where(m.User.username == "ana")).one()
    stronger = make_identity(PasswordHasher(time_cost=2, memory_cost=2048, parallelism=1))
    stronger.login("ana", TRADER_PASSWORD, ip_address=IP, user_agent=UA)
    with db.sessions() as session:
        after = session.scalars(select(m.User.password_hash).where(m.User.username == "ana")).one()
    assert after != before
    assert after is not None
    assert "m=2048,t=2,p=1" in after
    assert not stronger.passwords.needs_rehash(after)
    stronger.login("ana", TRADER_PASSWORD, ip_address=IP, user_agent=UA)


def test_authenticate_with_expired_family_fails(
    identity: Identity, trader: UserView, clock: Clock
) -> None:
    del trader
    pair = identity.login("ana", TRADER_PASSWORD, ip_address=IP, user_agent=UA)
    clock.advance(days=14)
    with pytest.raises(AuthenticationError):
        identity.authenticate(pair.access_token, ip_address=IP, user_agent=UA)
