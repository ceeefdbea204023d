"""``riskdesk user``: create (stdin or prompt), list, roles, activation, password reset."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from identity_support import FAST_HASHER, IP, UA
from sqlalchemy import select
from sqlalchemy.engine import Engine
from typer.testing import CliRunner, Result

from riskdesk.cli import user as user_cli
from riskdesk.identity import AuthenticationError, Identity, TokenService
from riskdesk.store import Database, make_session_factory
from riskdesk.store import models as m

pytestmark = pytest.mark.parametrize("backend", ["sqlite"])

PASSWORD = "operator passphrase 1"


@pytest.fixture
def run(db_url: str, migrated_engine: Engine) -> Callable[..., Result]:
    del migrated_engine

    def invoke(*args: str, stdin: str | None = None) -> Result:
        return CliRunner().invoke(user_cli.app, [*args, "--database-url", db_url], input=stdin)

    return invoke


@pytest.fixture
def db(migrated_engine: Engine) -> Database:
    return Database(engine=migrated_engine, sessions=make_session_factory(migrated_engine))


def _identity(db: Database) -> Identity:
    return Identity(
        db,
        TokenService(b"k" * 64, access_minutes=15),
        refresh_days=1,
        password_hasher=FAST_HASHER,
    )


def test_user_create_with_password_stdin_then_login_works(
    run: Callable[..., Result], db: Database
) -> None:
    result = run("create", "Boss", "--role", "admin", "--password-stdin", stdin=PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    assert "created user boss (admin" in result.output
    assert PASSWORD not in result.output
    pair = _identity(db).login("boss", PASSWORD, ip_address=IP, user_agent=UA)
    caller = _identity(db).authenticate(pair.access_token, ip_address=IP, user_agent=UA)
    assert caller.role == "admin"
    with db.sessions() as session:
        row = session.scalars(select(m.User)).one()
        audit = session.scalars(
            select(m.AuditLog).where(m.AuditLog.event_type == "user.created")
        ).one()
    assert row.email == "boss@localhost"
    assert row.password_hash is not None
    assert row.password_hash.startswith("$argon2id$")
    assert audit.actor == "local"


def test_user_create_without_stdin_prompts_twice_with_hidden_input(
    run: Callable[..., Result], db: Database
) -> None:
    result = run("create", "eve", "--role", "viewer", stdin=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert result.output.count("Password") == 1
    assert "Repeat for confirmation" in result.output
    assert PASSWORD not in result.output  # hidden input is not echoed
    _identity(db).login("eve", PASSWORD, ip_address=IP, user_agent=UA)


def test_user_create_with_mismatched_prompt_asks_again(
    run: Callable[..., Result], db: Database
) -> None:
    other = "a different passphrase"
    result = run(
        "create", "eve", "--role", "viewer", stdin=f"{PASSWORD}\n{other}\n{other}\n{other}\n"
    )
    assert result.exit_code == 0, result.output
    assert "do not match" in result.output
    _identity(db).login("eve", other, ip_address=IP, user_agent=UA)


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (("--role", "admin", "--password-stdin"), "short\n", "at least 12"),
        (("--role", "admin", "--password-stdin"), "", "no password"),
        (("--role", "root", "--password-stdin"), PASSWORD + "\n", "--role 'root' is not valid"),
    ],
)
def test_user_create_with_bad_input_fails_in_one_line_and_creates_nothing(
    run: Callable[..., Result],
    db: Database,
    args: tuple[str, ...],
    stdin: str,
    message: str,
) -> None:
    result = run("create", "boss", *args, stdin=stdin)
    assert result.exit_code == 1
    assert message in result.output
    with db.sessions() as session:
        assert session.scalars(select(m.User)).all() == []


def test_user_commands_with_existing_user_list_change_role_deactivate_and_reset(
    run: Callable[..., Result], db: Database
) -> None:
    for name, role in (("boss", "admin"), ("ana", "trader")):
        created = run("create", name, "--role", role, "--password-stdin", stdin=PASSWORD + "\n")
        assert created.exit_code == 0, created.output
    again = run("create", "ANA", "--role", "viewer", "--password-stdin", stdin=PASSWORD + "\n")
    assert again.exit_code == 1
    assert "taken" in again.output

    listed = run("list", "--json")
    assert listed.exit_code == 0, listed.output
    rows = json.loads(listed.stdout)
    assert [(r["username"], r["role"], r["is_active"]) for r in rows] == [
        ("ana", "trader", True),
        ("boss", "admin", True),
    ]
    assert "password" not in listed.stdout
    assert run("list").exit_code == 0

    assert run("set-role", "ana", "viewer").exit_code == 0
    last = run("set-role", "boss", "viewer")
    assert last.exit_code == 1
    assert "last active admin" in last.output

    identity = _identity(db)
    pair = identity.login("ana", PASSWORD, ip_address=IP, user_agent=UA)
    assert identity.authenticate(pair.access_token, ip_address=IP, user_agent=UA).role == "viewer"
    assert run("deactivate", "ana").exit_code == 0
    with pytest.raises(AuthenticationError):
        identity.authenticate(pair.access_token, ip_address=IP, user_agent=UA)
    with pytest.raises(AuthenticationError):
        identity.login("ana", PASSWORD, ip_address=IP, user_agent=UA)
    assert run("activate", "ana").exit_code == 0

    new = "the reset passphrase"
    reset = run("reset-password", "ana", "--password-stdin", stdin=new + "\n")
    assert reset.exit_code == 0, reset.output
    identity.login("ana", new, ip_address=IP, user_agent=UA)
    missing = run("deactivate", "nobody")
    assert missing.exit_code == 1
    assert "no user named 'nobody'" in missing.output
