"""The ``riskdesk`` command line (typer + rich)."""

from __future__ import annotations

import importlib
from typing import Any

import typer
from rich.console import Console

from riskdesk import __version__
from riskdesk.cli._errors import RiskdeskGroup

LAZY_COMMANDS: dict[str, tuple[str, str, str | None]] = {
    "db": ("riskdesk.cli.db", "app", "Database: upgrade, status, purge."),
    "market": ("riskdesk.cli.workbench", "market_app", None),
    "snapshot": ("riskdesk.cli.workbench", "snapshot_app", None),
    "trade": ("riskdesk.cli.workbench", "trade_app", None),
    "evaluate": ("riskdesk.cli.workbench", "evaluate_command", None),
    "compare": ("riskdesk.cli.workbench", "compare_command", None),
    "attribute": ("riskdesk.cli.workbench", "attribute_command", None),
    "demo": ("riskdesk.cli.demo", "demo_command", None),
    "bench": ("riskdesk.cli.bench", "app", "Benchmarks that print figures."),
    "serve": ("riskdesk.cli.serve", "serve_command", None),
    "portfolio": (
        "riskdesk.cli.portfolio",
        "app",
        "Portfolios: create, import a book, show, list.",
    ),
    "risk": ("riskdesk.cli.risk", "app", "Portfolio risk of a book on a date: exposures, Greeks."),
    "history": ("riskdesk.cli.history", "app", "Daily price history: synth, import, show."),
    "batch": ("riskdesk.cli.batch", "app", "The daily risk batch: run, status."),
    "whatif": (
        "riskdesk.cli.whatif",
        "app",
        "What-if sessions: edit a copy of a book, compare, hedge.",
    ),
    "user": ("riskdesk.cli.user", "app", "Users of the service: create, list, roles, passwords."),
    "account": (
        "riskdesk.cli.trading",
        "account_app",
        "Paper trading accounts: create, list, show, risk policy.",
    ),
    "order": ("riskdesk.cli.trading", "order_app", "Paper orders: submit, cancel, list, show."),
    "killswitch": ("riskdesk.cli.trading", "killswitch_app", "The kill switch: on, off, status."),
    "positions": ("riskdesk.cli.trading", "positions_command", None),
    "nav": ("riskdesk.cli.trading", "nav_command", None),
    "reconcile": ("riskdesk.cli.trading", "reconcile_command", None),
    "paper": ("riskdesk.cli.paper", "app", "Paper trading: a simulated 0DTE day."),
    "signal": (
        "riskdesk.cli.signals",
        "signal_app",
        "Trading signals: new, from-template, list, show, cancel.",
    ),
    "performance": ("riskdesk.cli.signals", "performance_command", None),
    "smoke": ("riskdesk.cli.signals", "smoke_app", "Venue smoke runs: run, list."),
    "secrets": (
        "riskdesk.cli.secrets",
        "app",
        "Secrets: broker credentials and tokens (set, list, delete, broker-login).",
    ),
    "greeks": ("riskdesk.cli.greeks", "app", "Stored broker Greeks: latest, history, count."),
    "tradelog": ("riskdesk.cli.greeks", "tradelog_app", "The seed-003 trade log: add, list."),
    "stream": ("riskdesk.cli.stream", "app", "Streaming Greeks: start, stop, status, fake-broker."),
    "broker": ("riskdesk.cli.brokers", "app", "Broker accounts, read-only: positions."),
}
"""Every subcommand: ``name -> (module, attribute, help)``, in the order ``--help`` lists them.

A command's module is imported when the command is looked up (run, or listed by ``--help``),
not when the CLI starts: the modules pull in pandas, scipy, SQLAlchemy, the kernels and the
service, and importing all of them cost every command about 2.5 s before it did anything.
An attribute is a ``typer.Typer`` (a command group) or a command function; ``help``, when
given, replaces the group's own.
"""


def _load(name: str) -> Any:
    """The click command of the subcommand ``name`` (its module imported now)."""
    import typer.main

    module_name, attribute, help_text = LAZY_COMMANDS[name]
    target = getattr(importlib.import_module(module_name), attribute)
    command: Any  # typer's own (vendored) click Command
    if isinstance(target, typer.Typer):
        command = typer.main.get_group(target)
    else:
        single = typer.Typer()
        single.command(name)(target)
        command = typer.main.get_command(single)
    command.name = name
    if help_text is not None:
        command.help = help_text
    return command


class _RootGroup(RiskdeskGroup):
    """:class:`RiskdeskGroup` whose subcommands load on first use (:data:`LAZY_COMMANDS`)."""

    def list_commands(self, ctx: Any) -> list[str]:
        """The root's own commands, then every lazy one."""
        own = list(super().list_commands(ctx))
        return own + [name for name in LAZY_COMMANDS if name not in own]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        """The command ``cmd_name``, importing its module the first time."""
        command: Any = super().get_command(ctx, cmd_name)
        if command is None and cmd_name in LAZY_COMMANDS:
            command = _load(cmd_name)
            self.commands[cmd_name] = command
        return command


app = typer.Typer(
    name="riskdesk",
    help="riskdesk: a local-first options risk desk.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    cls=_RootGroup,
)
console = Console()


def _version_callback(value: bool) -> None:
    if value:
        console.print(f"riskdesk {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version_callback, is_eager=True, help="Print the version."
    ),
    debug: bool = typer.Option(
        False,
        "--debug",
        help="On an error, print the Python traceback too (also RISKDESK_DEBUG=1).",
    ),
) -> None:
    """riskdesk: a local-first options risk desk.

    An error prints one line that says what is wrong and how to fix it, and exits non-zero;
    ``riskdesk --debug COMMAND ...`` also prints the traceback.
    """
    # read back by RiskdeskGroup.invoke from the context's params when a command fails
    del debug


if __name__ == "__main__":  # python -m riskdesk.cli.main (subprocess tests, benchmarks)
    app()
