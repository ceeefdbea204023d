"""``riskdesk whatif``: what-if modeling sessions on a portfolio's book.

``start`` clones a book on a date; ``add`` / ``remove`` / ``resize`` edit the copy; ``compare``
measures both books (exposures, Greeks, factors, VaR/ES, stress); ``hedge`` sizes an ETF
delta or beta hedge (``--apply`` adds it); ``export`` writes the comparison as CSV or JSON
(recorded in ``export_history``); ``complete`` / ``cancel`` close the session. Every command
takes ``--json``. Quantities are options (``--quantity -40``) so a short sale reads plainly.
"""

from __future__ import annotations

import uuid
from datetime import date
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from riskdesk.cli._common import (
    DatabaseUrlOption,
    JsonOption,
    fail,
    open_db,
    print_json,
    session_day,
    user_errors,
)
from riskdesk.risk.factors import REGRESSION_WINDOW
from riskdesk.risk.modeling import STATUSES, Comparison, ModelingSessions, SessionView
from riskdesk.risk.reports import VAR_WINDOW
from riskdesk.risk.whatif import position_to_dict
from riskdesk.store.paging import PageKey

__all__ = ["app"]

app = typer.Typer(
    no_args_is_help=True,
    help="What-if sessions: clone a book, edit it, compare, hedge, export, complete or cancel.",
)
console = Console()
err_console = Console(stderr=True)


SessionArg = typer.Argument(..., help="Session id (see `riskdesk whatif list`).")
SymbolOption = typer.Option(None, "--symbol", help="The position's ticker or OCC symbol.")
IdOption = typer.Option(None, "--id", help="The position's id (when a symbol is ambiguous).")
BenchmarkOption = typer.Option("SPY", "--benchmark", help="Benchmark of the beta weighting.")
FactorWindowOption = typer.Option(
    REGRESSION_WINDOW, "--factor-window", min=60, help="Sessions of the factor model and betas."
)
VarWindowOption = typer.Option(
    VAR_WINDOW, "--var-window", min=20, help="Sessions of history the VaR replays."
)


def _day(text: str | None) -> date:
    return session_day(text)


def _position_id(text: str | None) -> uuid.UUID | None:
    if text is None:
        return None
    try:
        return uuid.UUID(text.strip())
    except ValueError:
        fail(f"--id {text!r} is not a position id (a UUID)")


def _render_session(view: SessionView) -> None:
    console.print(
        f"session [bold]{escape(view.name)}[/] {view.session_id} ({view.status}) on "
        f"[bold]{escape(view.portfolio_name)}[/] {view.on.isoformat()}: "
        f"{len(view.changes)} change(s), {len(view.baseline)} -> {len(view.positions)} positions",
        soft_wrap=True,
    )
    table = Table(title="pro forma book")
    for col in ("symbol", "type", "quantity", "entry price", "entry date", "id"):
        table.add_column(col)
    for p in view.positions:
        d = position_to_dict(p)
        table.add_row(
            escape(d["symbol"]),
            d["position_type"],
            d["quantity"],
            d["entry_price"],
            d["entry_date"],
            d["position_id"] or "(new)",
        )
    console.print(table)
    for change in view.changes:
        console.print(f"  {change.get('seq')}. {escape(str(change.get('description')))}")


def _emit(view: SessionView, json_out: bool) -> None:
    if json_out:
        print_json(view.to_dict())
        return
    _render_session(view)


def _render_comparison(result: Comparison) -> None:
    table = Table(
        title=f"what-if {result.name} on {result.on.isoformat()} ({result.changes} change(s))"
    )
    for col in ("measure", "baseline", "pro forma", "change"):
        table.add_column(col, justify="left" if col == "measure" else "right")
    for m in result.measures:
        d = m.to_dict()
        table.add_row(
            escape(d["measure"]), d["baseline"] or "-", d["pro_forma"] or "-", d["change"] or "-"
        )
    console.print(table)
    for section, reason in result.unavailable.items():
        console.print(f"[yellow]{escape(section)} unavailable:[/] {escape(reason)}", soft_wrap=True)


@app.command("start")
def start_command(
    portfolio: str = typer.Argument(..., help="Portfolio name or id."),
    day: str | None = typer.Option(
        None, "--date", help="The book's date YYYY-MM-DD (an NYSE session; default: latest)."
    ),
    name: str | None = typer.Option(None, "--name", help="Session name."),
    description: str | None = typer.Option(None, "--description", help="Free text."),
    database_url: str | None = DatabaseUrlOption,
    json_out: bool = JsonOption,
) -> None:
    """Clone the portfolio's book on a date into a new modeling session."""
    on = _day(day)
    with open_db(database_url) as db, user_errors():
        view = ModelingSessions(db).start(portfolio, on, name, description)
    _emit(view, json_out)


@app.command("list")
def list_command(
    status: str | None = typer.Option(None, "--status", help=f"One of {', '.join(STATUSES)}."),
    limit: int = typer.Option(50, "--limit", min=1, max=500, help="Sessions per page."),
    database_url: str | None = DatabaseUrlOption,
    json_out: bool = JsonOption,
) -> None:
    """Modeling sessions, newest first."""
    after: PageKey | None = None
    with open_db(database_url) as db, user_errors():
        listing = ModelingSessions(db).list(after=after, limit=limit, status=status)
    if json_out:
        print_json({"items": [v.summary_dict() for v in listing.items]})
        return
    table = Table(title="modeling sessions")
    for col in ("id", "name", "status", "portfolio", "date", "changes"):
        table.add_column(col)
    for v in listing.items:
        table.add_row(
            str(v.session_id),
            escape(v.name),
            v.status,
            escape(v.portfolio_name),
            v.on.isoformat(),
            str(len(v.changes)),
        )
    console.print(table)


@app.command("show")
def show_command(
    session: str = SessionArg,
    database_url: str | None = DatabaseUrlOption,
    json_out: bool = JsonOption,
) -> None:
    """A session: its pro forma book and its changes."""
    with open_db(database_url) as db, user_errors():
        view = ModelingSessions(db).get(session)
    _emit(view, json_out)


@app.command("add")
def add_command(
    session: str = SessionArg,
    symbol: str = typer.Argument(..., help="Ticker or OCC option symbol."),
    quantity: str = typer.Option(..., "--quantity", help="Signed quantity (negative: short)."),
    price: str = typer.Option(..., "--price", help="Entry price per share or contract unit."),
    tags: list[str] | None = typer.Option(None, "--tag", help="Tag (repeat)."),
    database_url: str | None = DatabaseUrlOption,
    json_out: bool = JsonOption,
) -> None:
    """Add a position to the session's book."""
    with open_db(database_url) as db, user_errors():
        view = ModelingSessions(db).add_position(session, symbol, quantity, price, tags or ())
    _emit(view, json_out)


@app.command("remove")
def remove_command(
    session: str = SessionArg,
    symbol: str | None = SymbolOption,
    position_id: str | None = IdOption,
    database_url: str | None = DatabaseUrlOption,
    json_out: bool = JsonOption,
) -> None:
    """Remove a position (by --symbol or --id) from the session's book."""
    pid = _position_id(position_id)
    with open_db(database_url) as db, user_errors():
        view = ModelingSessions(db).remove_position(session, position_id=pid, symbol=symbol)
    _emit(view, json_out)


@app.command("resize")
def resize_command(
    session: str = SessionArg,
    quantity: str = typer.Option(..., "--quantity", help="The new signed quantity (not 0)."),
    symbol: str | None = SymbolOption,
    position_id: str | None = IdOption,
    allow_flip: bool = typer.Option(
        False, "--allow-flip", help="Allow a long to become short (or back)."
    ),
    database_url: str | None = DatabaseUrlOption,
    json_out: bool = JsonOption,
) -> None:
    """Set a position's quantity (by --symbol or --id)."""
    pid = _position_id(position_id)
    with open_db(database_url) as db, user_errors():
        view = ModelingSessions(db).resize_position(
            session, quantity, position_id=pid, symbol=symbol, allow_flip=allow_flip
        )
    _emit(view, json_out)


@app.command("compare")
def compare_command(
    session: str = SessionArg,
    benchmark: str = BenchmarkOption,
    factor_window: int = FactorWindowOption,
    var_window: int = VarWindowOption,
    database_url: str | None = DatabaseUrlOption,
    json_out: bool = JsonOption,
) -> None:
    """Every measure of the baseline and the pro forma book, and the change."""
    status = err_console.status("measuring the baseline and the pro forma book...")
    with open_db(database_url) as db, user_errors(), status:
        result = ModelingSessions(db).compare(
            session, benchmark=benchmark, factor_window=factor_window, var_window=var_window
        )
    if json_out:
        print_json(result.to_dict())
        return
    _render_comparison(result)


@app.command("hedge")
def hedge_command(
    session: str = SessionArg,
    method: str = typer.Option("delta", "--method", help="delta or beta."),
    etf: str = typer.Option("SPY", "--etf", help="The hedge ETF."),
    apply: bool = typer.Option(False, "--apply", help="Add the hedge to the session's book."),
    window: int = typer.Option(
        REGRESSION_WINDOW, "--window", min=60, help="Sessions of the betas (method beta)."
    ),
    database_url: str | None = DatabaseUrlOption,
    json_out: bool = JsonOption,
) -> None:
    """Whole ETF shares that zero the book's delta-dollars (or beta-weighted delta-dollars)."""
    if method not in ("delta", "beta"):
        fail(f"--method {method!r} must be delta or beta")
    with open_db(database_url) as db, user_errors():
        outcome = ModelingSessions(db).hedge(
            session, method=method, etf=etf, apply=apply, window=window
        )
    if json_out:
        print_json(outcome.to_dict())
        return
    d = outcome.to_dict()
    console.print(
        f"{d['method']} hedge: {d['side']} {abs(outcome.hedge.shares)} {escape(d['etf'])} at "
        f"{d['price']} (exposure {d['exposure']} -> residual {d['residual']})"
        + (" [bold]applied[/]" if outcome.applied else ""),
        soft_wrap=True,
    )
    if outcome.missing_betas:
        console.print(f"[yellow]no beta for:[/] {escape(', '.join(outcome.missing_betas))}")


@app.command("export")
def export_command(
    session: str = SessionArg,
    export_format: str = typer.Option("json", "--format", help="csv or json."),
    output: Path | None = typer.Option(None, "--output", help="Write to this file."),
    benchmark: str = BenchmarkOption,
    factor_window: int = FactorWindowOption,
    var_window: int = VarWindowOption,
    database_url: str | None = DatabaseUrlOption,
    json_out: bool = JsonOption,
) -> None:
    """The comparison as CSV or JSON (recorded in export_history)."""
    with open_db(database_url) as db, user_errors():
        result = ModelingSessions(db).export(
            session,
            export_format,
            benchmark=benchmark,
            factor_window=factor_window,
            var_window=var_window,
        )
    if output is not None:
        try:
            output.write_text(result.content, encoding="utf-8")
        except OSError as exc:
            fail(f"cannot write {output}: {exc.strerror or exc}")
    if json_out:
        data = result.to_dict()
        if output is not None:
            data = {k: v for k, v in data.items() if k != "content"} | {"output": str(output)}
        print_json(data)
        return
    if output is None:
        typer.echo(result.content, nl=False)
    else:
        console.print(f"wrote {result.size_bytes} bytes to {escape(str(output))}")


@app.command("complete")
def complete_command(
    session: str = SessionArg,
    database_url: str | None = DatabaseUrlOption,
    json_out: bool = JsonOption,
) -> None:
    """Complete an active session (it takes no more edits)."""
    with open_db(database_url) as db, user_errors():
        view = ModelingSessions(db).complete(session)
    _emit(view, json_out)


@app.command("cancel")
def cancel_command(
    session: str = SessionArg,
    database_url: str | None = DatabaseUrlOption,
    json_out: bool = JsonOption,
) -> None:
    """Cancel an active session (it takes no more edits)."""
    with open_db(database_url) as db, user_errors():
        view = ModelingSessions(db).cancel(session)
    _emit(view, json_out)
