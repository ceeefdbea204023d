"""``riskdesk secrets``: the secrets store of broker credentials and tokens.

``riskdesk secrets set NAME`` stores a value read from a hidden prompt (typed twice), from
``--from-env VAR`` or from one line of standard input with ``--stdin`` -- never from a
command-line argument, which other users could see in the process list and which lands in
shell history. ``riskdesk secrets list [--json]`` prints the names (never the values),
``riskdesk secrets delete NAME`` removes one, and ``riskdesk secrets broker-login --broker
tastytrade --name NAME --login LOGIN`` stores broker credentials (the password read the same
way) under ``broker/<broker>/<name>``, where ``riskdesk stream start --broker tastytrade``
finds them.

Every command takes ``--backend auto|keyring|file`` (default ``auto``: the
``RISKDESK_SECRETS_BACKEND`` environment variable, else the OS keyring when one is usable,
else the encrypted file; see :mod:`riskdesk.secrets`).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import typer

from riskdesk.cli._common import JsonOption, console, fail, print_json
from riskdesk.secrets import (
    SecretsError,
    SecretStore,
    broker_credentials_name,
    open_secret_store,
    save_broker_credentials,
)

__all__ = ["app"]

app = typer.Typer(
    no_args_is_help=True,
    help="Secrets (broker credentials, tokens): set, list, delete, broker-login.",
)

_BACKENDS = ("auto", "keyring", "file")
_CREDENTIAL_BROKERS = ("tastytrade",)

BackendOption = typer.Option(
    "auto",
    "--backend",
    help="Where secrets live: auto (RISKDESK_SECRETS_BACKEND, else the OS keyring if usable, "
    "else the encrypted file), keyring or file.",
)
FromEnvOption = typer.Option(
    None,
    "--from-env",
    metavar="VAR",
    help="Read the value from the environment variable VAR instead of a hidden prompt.",
)
StdinOption = typer.Option(
    False, "--stdin", help="Read the value from one line of standard input (for scripts)."
)


@contextmanager
def _secrets_errors() -> Iterator[None]:
    """Turn the store's errors (never holding a value) into one red line and exit 1."""
    try:
        yield
    except (SecretsError, ValueError) as exc:
        fail(str(exc))


def _store(backend: str) -> SecretStore:
    if backend not in _BACKENDS:
        fail(f"--backend {backend!r} is not known; use one of {', '.join(_BACKENDS)}")
    with _secrets_errors():
        return open_secret_store(backend=backend)
    raise AssertionError("unreachable")  # pragma: no cover


def _read_value(what: str, *, from_env: str | None, stdin: bool) -> str:
    """The value from ``--from-env``, ``--stdin`` or a hidden prompt typed twice."""
    if from_env is not None and stdin:
        fail("give at most one of --from-env VAR and --stdin")
    if from_env is not None:
        value = os.environ.get(from_env)
        if not value:
            fail(f"--from-env {from_env}: the environment variable is not set or is empty")
        return value
    if stdin:
        line = sys.stdin.readline()
        value = line.removesuffix("\n").removesuffix("\r")
        if not value:
            fail(f"--stdin: standard input held no {what} (give it as one line)")
        return value
    prompted: str = typer.prompt(what.capitalize(), hide_input=True, confirmation_prompt=True)
    if not prompted:
        fail(f"the {what} must not be empty")
    return prompted


@app.command("set")
def set_command(
    name: str = typer.Argument(..., help="Secret name, e.g. token/tastytrade/default."),
    from_env: str | None = FromEnvOption,
    stdin: bool = StdinOption,
    backend: str = BackendOption,
) -> None:
    """Store a secret (the value from a hidden prompt, --from-env VAR or --stdin)."""
    store = _store(backend)
    with _secrets_errors():
        store.set(name, _read_value("value", from_env=from_env, stdin=stdin))
    console.print(f"stored secret {name} in the {store.backend}", soft_wrap=True, markup=False)


@app.command("list")
def list_command(backend: str = BackendOption, as_json: bool = JsonOption) -> None:
    """List the names of the stored secrets (never their values)."""
    store = _store(backend)
    with _secrets_errors():
        names = store.names()
    if as_json:
        print_json({"backend": store.backend, "kind": store.kind, "names": names})
        return
    console.print(f"{len(names)} secret(s) in the {store.backend}", soft_wrap=True, markup=False)
    for name in names:
        console.print(f"  {name}", soft_wrap=True, markup=False)


@app.command("delete")
def delete_command(
    name: str = typer.Argument(..., help="Secret name to delete."),
    backend: str = BackendOption,
) -> None:
    """Delete a secret (exit 1 when there is none under that name)."""
    store = _store(backend)
    with _secrets_errors():
        deleted = store.delete(name)
    if not deleted:
        fail(f"no secret named {name!r} in the {store.backend}; `riskdesk secrets list` shows them")
    console.print(f"deleted secret {name}", soft_wrap=True, markup=False)


@app.command("broker-login")
def broker_login_command(
    broker: str = typer.Option(..., "--broker", help="Broker: tastytrade."),
    login: str = typer.Option(..., "--login", help="Your login (user name or email) there."),
    name: str = typer.Option(
        "default", "--name", help="Name of these credentials (a stream's --credentials)."
    ),
    from_env: str | None = FromEnvOption,
    stdin: bool = StdinOption,
    backend: str = BackendOption,
) -> None:
    """Store a broker login and password (the password from a prompt, --from-env or --stdin)."""
    if broker not in _CREDENTIAL_BROKERS:
        hint = " (IBKR logs in through TWS / IB Gateway)" if broker == "ibkr" else ""
        fail(f"--broker {broker!r} takes no stored credentials{hint}; use one of: tastytrade")
    with _secrets_errors():
        secret_name = broker_credentials_name(broker, name)
    if not login.strip():
        fail("--login must not be empty")
    store = _store(backend)
    password = _read_value("password", from_env=from_env, stdin=stdin)
    with _secrets_errors():
        save_broker_credentials(store, broker, name, login, password)
    console.print(
        f"stored {broker} credentials for {login} as {secret_name} in the {store.backend}",
        soft_wrap=True,
        markup=False,
    )
