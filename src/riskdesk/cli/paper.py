"""``riskdesk paper run``: a whole simulated 0DTE day on the synthetic market.

Opens a paper account, trades the session of ``--day`` (signals from a simple rule, orders
through the risk gates and the kill switch, fills, exits, expiry at the close) and prints
the day's P&L, risk events and the reconciliation. Without ``--database-url`` the day runs on
a throwaway SQLite database (nothing is kept); with it, the account and its rows are stored
there. Exits 1 when the reconciliation fails.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import typer
from rich.rule import Rule

from riskdesk.cli import _render
from riskdesk.cli._common import (
    DatabaseUrlOption,
    JsonOption,
    console,
    fail,
    open_db,
    print_json,
    user_errors,
)
from riskdesk.reporting.trading_tables import paper_sections
from riskdesk.trading.simulation import DEFAULT_DAY, PaperDayReport, run_paper_day, run_scratch_day

__all__ = ["app"]

app = typer.Typer(no_args_is_help=True, help="Paper trading on the synthetic market.")

_MAX_SEED = 2**31 - 1


@app.callback()
def paper() -> None:
    """Paper trading on the synthetic market (``riskdesk paper run``)."""


def _parse_day(text: str | None) -> date:
    if text is None:
        return DEFAULT_DAY
    try:
        return date.fromisoformat(text)
    except ValueError:
        fail(f"--day {text!r} is not a date YYYY-MM-DD")


@app.command("run")
def run_command(
    seed: int = typer.Option(7, "--seed", min=0, max=_MAX_SEED, help="Synthetic market seed."),
    day: str | None = typer.Option(
        None, "--day", help=f"Trading day YYYY-MM-DD (default {DEFAULT_DAY.isoformat()})."
    ),
    step_minutes: int = typer.Option(
        5, "--step-minutes", min=1, max=390, help="Minutes between snapshots (divides 390)."
    ),
    cash: str = typer.Option("100000", "--cash", help="Starting cash."),
    json_out: bool = JsonOption,
    database_url: str | None = DatabaseUrlOption,
) -> None:
    """Trade a simulated 0DTE day and print its P&L, risk events and reconciliation."""
    when = _parse_day(day)
    try:
        amount = Decimal(cash)
    except ArithmeticError:
        fail(f"--cash {cash!r} is not an amount")
    with user_errors():
        if database_url is None:
            report = run_scratch_day(seed=seed, day=when, cash=amount, step_minutes=step_minutes)
        else:
            with open_db(database_url) as db:
                report = run_paper_day(
                    db, seed=seed, day=when, cash=amount, step_minutes=step_minutes
                )
    if json_out:
        print_json(report.to_dict())
    else:
        _print(report)
    if not report.ok:
        raise typer.Exit(1)


def _print(report: PaperDayReport) -> None:
    for section in paper_sections(report.to_dict()):
        console.print(Rule(section.title))
        _render.table_section(console, section)
