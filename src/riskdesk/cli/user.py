"""``riskdesk user``: create and manage the accounts of the service.

The CLI acts as the local desktop operator (``Caller.local()``, who owns the database file),
so it needs no login. There is no default password anywhere: ``create`` and
``reset-password`` read it from a hidden prompt (typed twice) or, with ``--password-stdin``,
as one line of standard input (for scripts: ``riskdesk user create NAME --password-stdin < file``).
"""

from __future__ import annotations

import sys
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from riskdesk.cli import _render
from riskdesk.cli._common import (
    DatabaseUrlOption,
    JsonOption,
    fail,
    open_db,
    print_json,
    user_errors,
)
from riskdesk.config import get_settings
from riskdesk.domain.caller import Caller
from riskdesk.identity import Identity, TokenService, UserView, load_signing_key
from riskdesk.store import Database
from riskdesk.store.models.users import USER_ROLES
from riskdesk.store.paging import PageKey
from riskdesk.store.secrets import secret_box_from_settings

__all__ = ["app"]

app = typer.Typer(
    no_args_is_help=True, help="Users of the service: create, list, roles, passwords."
)
console = Console()

PasswordStdinOption = typer.Option(
    False,
    "--password-stdin",
    help="Read the password from one line of standard input instead of a hidden prompt.",
)
_ROLES = "|".join(USER_ROLES)


def _identity(db: Database) -> Identity:
    """An Identity for account management; the token signing key is only loaded if needed."""
    settings = get_settings()

    def tokens() -> TokenService:
        key = load_signing_key(db, secret_box_from_settings(settings))
        return TokenService(key, access_minutes=settings.access_token_minutes)

    return Identity(db, tokens, refresh_days=settings.refresh_token_days)


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        password = line.removesuffix("\n").removesuffix("\r")
        if not password:
            fail("--password-stdin: standard input held no password (give it as one line)")
        return password
    value: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return value


def _plain(view: UserView) -> dict[str, Any]:
    return {
        "id": str(view.id),
        "username": view.username,
        "email": view.email,
        "role": view.role,
        "is_active": view.is_active,
        "first_name": view.first_name,
        "last_name": view.last_name,
        "created_at": view.created_at.isoformat(),
        "updated_at": view.updated_at.isoformat(),
        "last_login": None if view.last_login is None else view.last_login.isoformat(),
    }


def _show(view: UserView, json_out: bool, verb: str) -> None:
    if json_out:
        print_json(_plain(view))
        return
    state = "active" if view.is_active else "inactive"
    console.print(
        f"{verb} user [bold]{escape(view.username)}[/] ({view.role}, {state}, "
        f"{escape(view.email)}) id {view.id}",
        soft_wrap=True,
    )


@app.command("create")
def create_command(
    name: str = typer.Argument(..., help="Username: 3-50 letters, digits, '_', '.', '-'."),
    role: str = typer.Option(..., "--role", help=f"One of {_ROLES}."),
    email: str | None = typer.Option(None, "--email", help="Email (default: NAME@localhost)."),
    password_stdin: bool = PasswordStdinOption,
    database_url: str | None = DatabaseUrlOption,
    json_out: bool = JsonOption,
) -> None:
    """Create a user; the password comes from a hidden prompt or --password-stdin."""
    if role not in USER_ROLES:
        fail(f"--role {role!r} is not valid: use one of {_ROLES}")
    password = _read_password(password_stdin)
    with open_db(database_url) as db, user_errors():
        view = _identity(db).create_user(
            Caller.local(),
            username=name,
            email=email or f"{name.strip()}@localhost",
            password=password,
            role=role,
        )
    _show(view, json_out, "created")


@app.command("list")
def list_command(
    database_url: str | None = DatabaseUrlOption,
    json_out: bool = JsonOption,
) -> None:
    """List every user, newest first."""
    views: list[UserView] = []
    with open_db(database_url) as db, user_errors():
        identity = _identity(db)
        after: PageKey | None = None
        while True:
            page = identity.list_users(Caller.local(), after=after, limit=200)
            views.extend(page.items)
            if page.next_key is None:
                break
            after = page.next_key
    if json_out:
        print_json([_plain(v) for v in views])
        return
    table = Table(title="users")
    for col in ("username", "role", "active", "email", "created", "last login"):
        table.add_column(col)
    for v in views:
        table.add_row(
            escape(v.username),
            v.role,
            "yes" if v.is_active else "no",
            escape(v.email),
            _render.when(v.created_at),
            "-" if v.last_login is None else _render.when(v.last_login),
        )
    console.print(table)


def _update(name: str, database_url: str | None, json_out: bool, verb: str, **change: Any) -> None:
    with open_db(database_url) as db, user_errors():
        identity = _identity(db)
        caller = Caller.local()
        view = identity.update_user(caller, identity.find_user(caller, name).id, **change)
    _show(view, json_out, verb)


@app.command("set-role")
def set_role_command(
    name: str = typer.Argument(..., help="Username."),
    role: str = typer.Argument(..., help=f"One of {_ROLES}."),
    database_url: str | None = DatabaseUrlOption,
    json_out: bool = JsonOption,
) -> None:
    """Change a user's role (takes effect on their live tokens at once)."""
    if role not in USER_ROLES:
        fail(f"ROLE {role!r} is not valid: use one of {_ROLES}")
    _update(name, database_url, json_out, "updated", role=role)


@app.command("deactivate")
def deactivate_command(
    name: str = typer.Argument(..., help="Username."),
    database_url: str | None = DatabaseUrlOption,
    json_out: bool = JsonOption,
) -> None:
    """Deactivate a user: they cannot log in and every session of theirs ends."""
    _update(name, database_url, json_out, "deactivated", is_active=False)


@app.command("activate")
def activate_command(
    name: str = typer.Argument(..., help="Username."),
    database_url: str | None = DatabaseUrlOption,
    json_out: bool = JsonOption,
) -> None:
    """Let a deactivated user log in again."""
    _update(name, database_url, json_out, "activated", is_active=True)


@app.command("reset-password")
def reset_password_command(
    name: str = typer.Argument(..., help="Username."),
    password_stdin: bool = PasswordStdinOption,
    database_url: str | None = DatabaseUrlOption,
) -> None:
    """Set a user's password (prompted, or --password-stdin); their sessions all end."""
    password = _read_password(password_stdin)
    with open_db(database_url) as db, user_errors():
        identity = _identity(db)
        caller = Caller.local()
        identity.change_password(caller, identity.find_user(caller, name).id, new_password=password)
    console.print(f"password of [bold]{escape(name)}[/] reset; their sessions have ended")
