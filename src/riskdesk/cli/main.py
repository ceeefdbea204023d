"""The ``riskdesk`` command line (typer + rich)."""

from __future__ import annotations

import typer
from rich.console import Console

from riskdesk import __version__
from riskdesk.cli import (
    batch,
    bench,
    brokers,
    db,
    demo,
    greeks,
    history,
    paper,
    portfolio,
    risk,
    secrets,
    serve,
    signals,
    stream,
    trading,
    user,
    whatif,
    workbench,
)
from riskdesk.cli._errors import RiskdeskGroup

app = typer.Typer(
    name="riskdesk",
    help="riskdesk: a local-first options risk desk.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    cls=RiskdeskGroup,
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


app.add_typer(db.app, name="db", help="Database: upgrade, status, purge.")
app.add_typer(workbench.market_app, name="market")
app.add_typer(workbench.snapshot_app, name="snapshot")
app.add_typer(workbench.trade_app, name="trade")
app.command("evaluate")(workbench.evaluate_command)
app.command("compare")(workbench.compare_command)
app.command("attribute")(workbench.attribute_command)
app.command("demo")(demo.demo_command)
app.add_typer(bench.app, name="bench", help="Benchmarks that print figures.")
app.command("serve")(serve.serve_command)
app.add_typer(
    portfolio.app, name="portfolio", help="Portfolios: create, import a book, show, list."
)
app.add_typer(risk.app, name="risk", help="Portfolio risk of a book on a date: exposures, Greeks.")
app.add_typer(history.app, name="history", help="Daily price history: synth, import, show.")
app.add_typer(batch.app, name="batch", help="The daily risk batch: run, status.")
app.add_typer(
    whatif.app, name="whatif", help="What-if sessions: edit a copy of a book, compare, hedge."
)
app.add_typer(user.app, name="user", help="Users of the service: create, list, roles, passwords.")
app.add_typer(
    trading.account_app,
    name="account",
    help="Paper trading accounts: create, list, show, risk policy.",
)
app.add_typer(trading.order_app, name="order", help="Paper orders: submit, cancel, list, show.")
app.add_typer(trading.killswitch_app, name="killswitch", help="The kill switch: on, off, status.")
app.command("positions")(trading.positions_command)
app.command("nav")(trading.nav_command)
app.command("reconcile")(trading.reconcile_command)
app.add_typer(paper.app, name="paper", help="Paper trading: a simulated 0DTE day.")
app.add_typer(
    signals.signal_app,
    name="signal",
    help="Trading signals: new, from-template, list, show, cancel.",
)
app.command("performance")(signals.performance_command)
app.add_typer(signals.smoke_app, name="smoke", help="Venue smoke runs: run, list.")
app.add_typer(
    secrets.app,
    name="secrets",
    help="Secrets: broker credentials and tokens (set, list, delete, broker-login).",
)
app.add_typer(greeks.app, name="greeks", help="Stored broker Greeks: latest, history, count.")
app.add_typer(greeks.tradelog_app, name="tradelog", help="The seed-003 trade log: add, list.")
app.add_typer(stream.app, name="stream", help="Streaming Greeks: start, stop, status, fake-broker.")
app.add_typer(brokers.app, name="broker", help="Broker accounts, read-only: positions.")


if __name__ == "__main__":  # python -m riskdesk.cli.main (subprocess tests, benchmarks)
    app()
