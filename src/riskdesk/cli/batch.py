"""``riskdesk batch``: the daily risk batch of every portfolio, and its audit log.

``riskdesk batch run [--date D] [--portfolio NAME ...] [--workers N] [--scheduler ADDR]
[--inline] [--force] [--json]`` runs the steps of :mod:`riskdesk.risk.batch` for each portfolio
(all of them by default) on a local process pool, or on the Dask cluster whose scheduler
``--scheduler`` (or ``RISKDESK_DASK_SCHEDULER``) names; ``--inline`` runs in this process.
A date already done is reported as such unless ``--force``. The command exits 1 when a
portfolio failed (its failed step and error are printed), 0 otherwise.

``riskdesk batch status [--date D] [--portfolio NAME ...] [--json]`` prints each portfolio's
steps of the date from ``calculation_audit_log`` (``pending`` for a step not run yet).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from riskdesk.cli._common import (
    DatabaseUrlOption,
    JsonOption,
    err_console,
    fail,
    open_db,
    print_json,
    session_day,
    user_errors,
)
from riskdesk.risk.batch import (
    BatchResult,
    DailyBatch,
    Executor,
    PortfolioRun,
    ProgressCallback,
)

__all__ = ["app"]

app = typer.Typer(
    no_args_is_help=True,
    help="The daily risk batch: run it for a date, show its audit log.",
)
console = Console()
_WORKER_LIMIT = 256

DateOption = typer.Option(
    None,
    "--date",
    help="Batch date YYYY-MM-DD (an NYSE session; default: the latest session, UTC).",
)
PortfolioOption = typer.Option(
    None, "--portfolio", help="A portfolio name or id (repeat; default: every portfolio)."
)


def _day(text: str | None) -> date:
    return session_day(text)


@contextmanager
def _progress(enabled: bool) -> Iterator[ProgressCallback | None]:
    """A rich progress bar on stderr (none with --json), one tick per finished portfolio."""
    if not enabled:
        yield None
        return
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    ) as bar:
        task = bar.add_task("batch", total=None)

        def advance(run: PortfolioRun, done: int, total: int) -> None:
            bar.update(
                task,
                description=f"batch: {run.name} {run.status.value}",
                completed=done,
                total=total,
            )

        yield advance


@app.command("run")
def run_command(
    day: str | None = DateOption,
    portfolios: list[str] | None = PortfolioOption,
    workers: int | None = typer.Option(
        None, "--workers", help="Processes of the local pool (default: the CPU count)."
    ),
    scheduler: str | None = typer.Option(
        None,
        "--scheduler",
        envvar="RISKDESK_DASK_SCHEDULER",
        help="Dask scheduler address (e.g. tcp://127.0.0.1:8786): run on that cluster.",
    ),
    inline: bool = typer.Option(
        False, "--inline", help="Run in this process, one portfolio after the other."
    ),
    force: bool = typer.Option(
        False, "--force", help="Recompute every step, even those already completed."
    ),
    database_url: str | None = DatabaseUrlOption,
    json_out: bool = JsonOption,
) -> None:
    """Run the daily batch (prices ... correlations) for every portfolio on a date."""
    on = _day(day)
    if workers is not None and not 1 <= workers <= _WORKER_LIMIT:
        fail(f"--workers {workers} must be between 1 and {_WORKER_LIMIT}")
    if inline and scheduler:
        fail("--inline and --scheduler exclude each other: pick one")
    executor = Executor.INLINE if inline else Executor.DASK if scheduler else Executor.PROCESS
    with open_db(database_url) as db, user_errors(), _progress(not json_out) as progress:
        result = DailyBatch(db).run(
            on,
            portfolios=tuple(portfolios or ()),
            force=force,
            executor=executor,
            workers=workers,
            scheduler=scheduler or None,
            progress=progress,
        )
    if json_out:
        print_json(result.to_dict())
    else:
        _render_run(result)
    if result.failed:
        raise typer.Exit(1)


def _render_run(result: BatchResult) -> None:
    console.print(
        f"[bold]batch of {result.day.isoformat()}[/]: {len(result.portfolios)} portfolios on "
        f"{result.executor.value} ({result.workers} workers) in {result.seconds:.1f} s",
        soft_wrap=True,
    )
    table = Table()
    for col in ("portfolio", "status", "ran", "skipped", "seconds", "error"):
        table.add_column(col, justify="right" if col == "seconds" else "left")
    for run in result.portfolios:
        failed = next((s for s in run.steps if s.status == "failed"), None)
        skipped = sum(1 for s in run.steps if s.status == "skipped")
        table.add_row(
            escape(run.name),
            run.status.value,
            str(len(run.ran)),
            str(skipped),
            f"{run.seconds:.2f}",
            "" if failed is None else escape(f"{failed.step}: {failed.error}"),
        )
    console.print(table)
    if not result.portfolios:
        console.print("no portfolio to run: create one with `riskdesk portfolio create`")


@app.command("status")
def status_command(
    day: str | None = DateOption,
    portfolios: list[str] | None = PortfolioOption,
    database_url: str | None = DatabaseUrlOption,
    json_out: bool = JsonOption,
) -> None:
    """Each portfolio's batch steps of a date, from the calculation audit log."""
    on = _day(day)
    with open_db(database_url) as db, user_errors():
        status = DailyBatch(db).status(on, portfolios=tuple(portfolios or ()))
    if json_out:
        print_json({"date": on.isoformat(), "portfolios": status})
        return
    _render_status(on, status)


def _render_status(on: date, status: list[dict[str, Any]]) -> None:
    console.print(f"[bold]batch audit log of {on.isoformat()}[/]", soft_wrap=True)
    table = Table()
    for col in ("portfolio", "step", "status", "records", "seconds", "error"):
        table.add_column(col, justify="right" if col in ("records", "seconds") else "left")
    for item in status:
        for step in item["steps"]:
            seconds = step["seconds"]
            table.add_row(
                escape(item["portfolio"]),
                step["step"],
                step["status"],
                "" if step["records"] is None else str(step["records"]),
                "" if seconds is None else f"{seconds:.2f}",
                escape(step["error"] or ""),
            )
    console.print(table)
