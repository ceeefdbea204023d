"""Accounts: creation rules, updates, the last admin, passwords, listing, the signing key."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from identity_support import ADMIN_PASSWORD, IP, TRADER_PASSWORD, UA
from sqlalchemy import select

from riskdesk.domain.caller import Caller
from riskdesk.identity import (
    SIGNING_KEY_CONFIG,
    AuthenticationError,
    Identity,
    LastAdminError,
    PasswordPolicyError,
    UserExistsError,
    UserNotFoundError,
    UserView,
    load_signing_key,
)
from riskdesk.identity import tokens as token_module
from riskdesk.store import Database, SecretBox
from riskdesk.store import models as m
from riskdesk.store.errors import WriteConflictError


def _login(identity: Identity, username: str, password: str) -> Caller:
    pair = identity.login(username, password, ip_address=IP, user_agent=UA)
    return identity.authenticate(pair.access_token, ip_address=IP, user_agent=UA)


def test_create_user_with_valid_input_stores_lowercase_name_and_audits_without_hash(
    identity: Identity, db: Database
) -> None:
    view = identity.create_user(
        Caller.local(),
        username="  Bob.Smith ",
        email="Bob@Example.com",
        password=TRADER_PASSWORD,
        role="viewer",
        last_name="Smith",
    )
    assert (view.username, view.email, view.role, view.is_active) == (
        "bob.smith",
        "bob@example.com",
        "viewer",
        True,
    )
    assert view.created_at.tzinfo is not None
    assert not hasattr(view, "password_hash")
    with db.sessions() as session:
        (audit,) = session.scalars(
            select(m.AuditLog).where(m.AuditLog.event_type == "user.created")
        ).all()
    assert audit.actor == "local"
    assert audit.new_values is not None
    assert "password_hash" not in audit.new_values
    assert audit.new_values["username"] == "bob.smith"


@pytest.mark.parametrize(
    ("username", "email"),
    [("ROOT", "other@example.com"), ("other", "ROOT@example.com")],
)
def test_create_user_with_taken_name_or_email_ignoring_case_is_a_conflict(
    identity: Identity, admin: UserView, username: str, email: str
) -> None:
    del admin
    with pytest.raises(UserExistsError) as info:
        identity.create_user(
            Caller.local(), username=username, email=email, password=TRADER_PASSWORD, role="trader"
        )
    assert isinstance(info.value, WriteConflictError)


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("username", "ab", ValueError),
        ("username", "has space", ValueError),
        ("username", "x" * 51, ValueError),
        ("email", "not-an-email", ValueError),
        ("role", "superuser", ValueError),
        ("email", "nul\x00@example.com", ValueError),
        ("first_name", "Ana\x00", ValueError),
        ("password", "short", PasswordPolicyError),
    ],
)
def test_create_user_with_invalid_field_raises_naming_it(
    identity: Identity, field: str, value: str, error: type[Exception], db: Database
) -> None:
    values: dict[str, Any] = {
        "username": "carol",
        "email": "carol@example.com",
        "password": TRADER_PASSWORD,
        "role": "trader",
    }
    values[field] = value
    with pytest.raises(error, match=field):
        identity.create_user(Caller.local(), **values)
    with db.sessions() as session:
        assert session.scalars(select(m.User)).all() == []


def test_create_user_with_non_admin_caller_is_refused(identity: Identity, trader: UserView) -> None:
    ana = _login(identity, "ana", TRADER_PASSWORD)
    assert ana.user_id == trader.id
    with pytest.raises(PermissionError):
        identity.create_user(
            ana, username="eve", email="eve@example.com", password=TRADER_PASSWORD, role="admin"
        )


def test_update_user_with_last_admin_demoted_or_deactivated_is_refused(
    identity: Identity, admin: UserView, trader: UserView
) -> None:
    root = _login(identity, "root", ADMIN_PASSWORD)
    with pytest.raises(LastAdminError, match="last active admin"):
        identity.update_user(root, admin.id, role="trader")
    with pytest.raises(LastAdminError):
        identity.update_user(root, admin.id, is_active=False)
    identity.update_user(root, trader.id, role="admin")
    demoted = identity.update_user(root, admin.id, role="viewer")
    assert demoted.role == "viewer"
    with pytest.raises(LastAdminError):
        identity.update_user(Caller.local(), trader.id, is_active=False)


def test_update_user_with_email_of_another_user_is_a_conflict(
    identity: Identity, admin: UserView, trader: UserView
) -> None:
    del admin
    with pytest.raises(UserExistsError):
        identity.update_user(Caller.local(), trader.id, email="root@example.com")


def test_update_user_with_same_values_writes_no_audit_row(
    identity: Identity, trader: UserView, db: Database
) -> None:
    same = identity.update_user(Caller.local(), trader.id, role="trader", first_name="Ana")
    assert same == trader
    with db.sessions() as session:
        events = session.scalars(select(m.AuditLog.event_type)).all()
    assert "user.updated" not in events


def test_get_user_with_other_users_id_as_non_admin_is_not_found(
    identity: Identity, admin: UserView, trader: UserView
) -> None:
    ana = _login(identity, "ana", TRADER_PASSWORD)
    assert identity.get_user(ana, trader.id).username == "ana"
    with pytest.raises(UserNotFoundError):
        identity.get_user(ana, admin.id)


def test_change_password_with_own_account_needs_the_current_password(
    identity: Identity, trader: UserView, db: Database
) -> None:
    ana = _login(identity, "ana", TRADER_PASSWORD)
    new = "a brand new passphrase"
    with pytest.raises(ValueError, match="current_password is required"):
        identity.change_password(ana, trader.id, new_password=new)
    with pytest.raises(AuthenticationError, match="current_password is wrong"):
        identity.change_password(
            ana, trader.id, new_password=new, current_password="wrong password 12"
        )
    with pytest.raises(PasswordPolicyError, match="new_password"):
        identity.change_password(
            ana, trader.id, new_password="short", current_password=TRADER_PASSWORD
        )
    identity.change_password(ana, trader.id, new_password=new, current_password=TRADER_PASSWORD)
    with pytest.raises(AuthenticationError):
        identity.login("ana", TRADER_PASSWORD, ip_address=IP, user_agent=UA)
    _login(identity, "ana", new)
    with db.sessions() as session:
        (audit,) = session.scalars(
            select(m.AuditLog).where(m.AuditLog.event_type == "user.password_changed")
        ).all()
    assert audit.new_values == {"by": "self", "sessions_revoked": 1}
    assert (audit.actor, audit.ip_address, audit.user_agent) == ("ana", IP, UA)


def test_change_password_with_admin_reset_skips_current_and_revokes_sessions(
    identity: Identity, admin: UserView, trader: UserView
) -> None:
    del admin
    root = _login(identity, "root", ADMIN_PASSWORD)
    pair = identity.login("ana", TRADER_PASSWORD, ip_address=IP, user_agent=UA)
    identity.change_password(root, trader.id, new_password="reset by the admin")
    with pytest.raises(AuthenticationError):
        identity.authenticate(pair.access_token, ip_address=IP, user_agent=UA)
    _login(identity, "ana", "reset by the admin")


def test_change_password_with_non_admin_on_another_user_is_not_found(
    identity: Identity, admin: UserView, trader: UserView
) -> None:
    del trader
    ana = _login(identity, "ana", TRADER_PASSWORD)
    with pytest.raises(UserNotFoundError):
        identity.change_password(ana, admin.id, new_password="taking over root")


def test_list_users_with_small_pages_walks_every_user_newest_first(
    identity: Identity, admin: UserView
) -> None:
    for name in ("usr1", "usr2", "usr3", "usr4"):
        identity.create_user(
            Caller.local(),
            username=name,
            email=f"{name}@localhost",
            password=TRADER_PASSWORD,
            role="viewer",
        )
    seen: list[str] = []
    after = None
    while True:
        page = identity.list_users(Caller.local(), after=after, limit=2)
        seen.extend(u.username for u in page.items)
        if page.next_key is None:
            break
        after = page.next_key
    assert seen == ["usr4", "usr3", "usr2", "usr1", admin.username]


def test_audit_log_after_every_flow_holds_no_password_or_hash(
    identity: Identity, admin: UserView, trader: UserView, db: Database
) -> None:
    del admin
    new = "completely different pass"
    with pytest.raises(AuthenticationError):
        identity.login("ana", "wrong password 12", ip_address=IP, user_agent=UA)
    pair = identity.login("ana", TRADER_PASSWORD, ip_address=IP, user_agent=UA)
    identity.refresh(pair.refresh_token, ip_address=IP, user_agent=UA)
    identity.change_password(Caller.local(), trader.id, new_password=new)
    with db.sessions() as session:
        rows = session.scalars(select(m.AuditLog)).all()
        hashes = session.scalars(select(m.User.password_hash)).all()
    dump = repr([(r.event_payload_json, r.old_values, r.new_values) for r in rows])
    for secret in (TRADER_PASSWORD, ADMIN_PASSWORD, new, "wrong password 12", pair.refresh_token):
        assert secret not in dump
    for stored in hashes:
        assert stored is not None
        assert stored not in dump
    assert "$argon2" not in dump


def test_load_signing_key_with_two_threads_racing_ends_with_one_key(
    db: Database, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    box = SecretBox(SecretBox.generate_key())
    barrier = threading.Barrier(2, timeout=10)
    calls: dict[int, int] = {}
    original: Callable[..., str | None] = token_module.get_config

    def racing(session: Any, *, key: str, box: SecretBox | None = None) -> str | None:
        found = original(session, key=key, box=box)
        me = threading.get_ident()
        calls[me] = calls.get(me, 0) + 1
        # both threads read "no key" before either writes; on PostgreSQL both also check
        # again inside their writing transactions, so both insert and one hits the unique key
        if calls[me] == 1 or (backend == "postgres" and calls[me] == 2):
            barrier.wait()
        return found

    monkeypatch.setattr(token_module, "get_config", racing)
    keys: list[bytes] = []
    errors: list[BaseException] = []

    def load() -> None:
        try:
            keys.append(load_signing_key(db, box))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=load) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert len(keys) == 2
    assert keys[0] == keys[1]
    assert len(keys[0]) == 64
    with db.sessions() as session:
        (row,) = session.scalars(
            select(m.SystemConfig).where(m.SystemConfig.config_key == SIGNING_KEY_CONFIG)
        ).all()
    assert row.is_sensitive
    assert row.config_value.startswith("gAAAAA")  # encrypted at rest
    monkeypatch.setattr(token_module, "get_config", original)
    assert load_signing_key(db, box) == keys[0]
