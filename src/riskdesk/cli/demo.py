"""``riskdesk demo``: the main job on the embedded database.

Generates a synthetic market, stores and pins it, builds and commits four realistic trades
(SPY iron condor, AAPL covered call, QQQ put spread, SPY 0DTE straddle), evaluates them,
compares two, attributes P&L across a simulated intraday move, streams Greeks from a fake
tastytrade broker on loopback for a few seconds into the same database, prints the report and
writes ``report.html`` with interactive charts (a Greeks-over-time chart per streamed
position among them).
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.rule import Rule
from rich.table import Table

from riskdesk.cli import _render
from riskdesk.cli._common import (
    DatabaseUrlOption,
    console,
    parse_as_of,
    parse_whole,
    user_errors,
)
from riskdesk.cli.workbench import MAX_MINUTES, MAX_SEED
from riskdesk.reporting.html import ReportSection, ServiceTable, write_report
from riskdesk.reporting.risk_tables import (
    TableSection,
    exposure_section,
    factor_section,
    regime_section,
    squeeze_section,
    stress_section,
    var_section,
    whatif_section,
)
from riskdesk.reporting.stream_charts import stream_section
from riskdesk.reporting.trading_tables import paper_sections
from riskdesk.risk.demo import DEMO_BOOK_NAME, RiskDemo, run_risk_demo
from riskdesk.risk.history import last_sessions
from riskdesk.service.tour import ApiTour
from riskdesk.trading.simulation import run_scratch_day

DEMO_AS_OF = "2026-11-20T15:00:00Z"
"""A Friday, 10:00 in New York: SPY/QQQ/IWM dailies still trade (0DTE)."""


def demo_command(
    seed_text: str = typer.Option(
        "7", "--seed", metavar="INT", help="Seed of the synthetic market."
    ),
    as_of: str = typer.Option(DEMO_AS_OF, "--as-of", help="Market time (ISO-8601 with zone)."),
    move_minutes_text: str = typer.Option(
        "240",
        "--move-minutes",
        metavar="INT",
        help="Length of the simulated move for the attribution.",
    ),
    out: Path = typer.Option(Path("report.html"), "--out", help="Where to write the HTML report."),
    database_url: str | None = DatabaseUrlOption,
) -> None:
    """Run the whole workbench flow on the embedded SQLite default and write report.html."""
    from riskdesk.config import get_settings
    from riskdesk.store import Database
    from riskdesk.workbench.demo import DEMO_STEPS, run_demo

    seed = parse_whole(seed_text, "--seed", low=0, high=MAX_SEED)
    move_minutes = parse_whole(move_minutes_text, "--move-minutes", low=1, high=MAX_MINUTES)
    when = parse_as_of(as_of)
    settings = get_settings()
    url = database_url or settings.database_url
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    db = Database.from_settings(settings, database_url=url)
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )
    try:
        with progress, user_errors():
            task = progress.add_task("migrating database", total=DEMO_STEPS)

            def step(description: str | None, advance: int) -> None:
                if description is None:
                    progress.update(task, advance=advance)
                else:
                    progress.update(task, advance=advance, description=description)

            run = run_demo(db, seed=seed, as_of=when, move_minutes=move_minutes, progress=step)
            progress.update(task, description="asking the HTTP service for the same evaluation")
            from riskdesk.service.tour import api_tour

            condor, condor_outcome = run.evaluations[0]
            tour = api_tour(
                settings,
                db,
                version=condor.version,
                snapshot_id=run.pinned.snapshot_id,
                stored_bytes=condor_outcome.output_bytes,
            )
            progress.update(task, description="portfolio risk of the sample book")
            risk = run_risk_demo(
                db,
                on=last_sessions(when.date(), 2)[-1],
                seed=seed,
                progress=lambda text: progress.update(task, description=text),
            )
            progress.update(task, description="a simulated 0DTE paper-trading day")
            paper = run_scratch_day(seed=seed, step_minutes=15).to_dict()
            progress.update(task, description="streaming Greeks from a fake broker")
            from riskdesk.streaming.demo import run_stream_demo

            streaming = run_stream_demo(db, seed=seed).to_dict()
    finally:
        db.dispose()

    snap = run.snapshot
    pinned = run.pinned
    evaluations = run.evaluations
    comparison = run.comparison
    attribution = run.attribution
    console.print(Rule("riskdesk demo"))
    console.print(
        _render.snapshot_table(
            snap, snapshot_id=str(pinned.snapshot_id), snapshot_hash=pinned.snapshot_hash
        )
    )
    for version, outcome in evaluations:
        console.print(Rule(escape(version.version.name)))
        _render.evaluation(console, outcome.data, title=version.version.name)
    console.print(Rule("compare: A = iron condor, B = 0DTE straddle"))
    _render.comparison(console, comparison)
    console.print(Rule(f"P&L attribution: iron condor over a {move_minutes}-minute move"))
    _render.attribution(console, attribution)
    tables = [*risk_sections(risk), *paper_sections(paper)]
    for section in tables:
        console.print(Rule(escape(section.title)))
        _render.table_section(console, section)
    streamed = stream_section(streaming)
    console.print(Rule(escape(streamed.title)))
    _render.table_section(console, streamed)
    console.print(Rule("the same job through the HTTP service (in-process, /v1)"))
    service = _service_table(tour)
    table = Table(*service.header)
    for row in service.rows:
        table.add_row(*row)
    console.print(table)
    for name, value in service.facts.items():
        console.print(f"{name}: [bold]{value}[/]")
    path = write_report(  # atomic: a temporary file renamed over ``out``
        out,
        title="riskdesk demo report",
        subtitle=f"synthetic market seed {seed}, as of {snap.as_of:%Y-%m-%d %H:%M} UTC, "
        f"snapshot {pinned.snapshot_hash[:12]}",
        sections=[ReportSection(v.version.name, o.data) for v, o in evaluations],
        comparison=comparison,
        attribution=attribution,
        service=service,
        tables=tables,
        streaming=streaming,
        facts={
            "database": url.split("@")[-1],
            "snapshot": pinned.snapshot_hash,
            "option quotes": f"{len(snap.options):,}",
            "model": "American: Bjerksund-Stensland 2002; European: Black-Scholes-Merton",
        },
    )
    console.print(f"\nwrote [bold]{path.resolve()}[/] (open it in a browser)")


def risk_sections(risk: RiskDemo) -> list[TableSection]:
    """The report's portfolio-risk sections of a risk demo run."""
    imported = risk.imported
    book = TableSection(
        f"Sample book: {DEMO_BOOK_NAME}",
        {
            "rows in the file": str(imported.data_rows),
            "imported now": str(imported.imported),
            "already stored": str(len(imported.skipped)),
            "rejected": str(imported.rejected_rows),
        },
    )
    return [
        book,
        exposure_section(risk.exposures.to_dict(), DEMO_BOOK_NAME),
        factor_section(risk.factors.to_dict()),
        var_section(risk.var.to_dict()),
        stress_section(risk.stress.to_dict()),
        regime_section(risk.regime.to_dict()),
        squeeze_section(risk.squeeze.to_dict()),
        whatif_section(risk.whatif.to_dict(), risk.hedge.to_dict()),
    ]


def _service_table(tour: ApiTour) -> ServiceTable:
    """The report's service section of an API tour."""
    rows = [
        [
            call.method,
            call.path,
            str(call.status),
            "-" if call.median_ms != call.median_ms else f"{call.median_ms:.2f}",
            call.note,
        ]
        for call in tour.calls
    ]
    return ServiceTable(
        facts={
            "version committed through the API": (
                f"{tour.trade_hash[:12]} (same content hash as the CLI's: "
                f"{'yes' if tour.same_version else 'NO'})"
            ),
            "evaluation bytes identical to the workbench's": (
                f"{'yes' if tour.identical_to_workbench else 'NO'} "
                f"(sha256 {tour.evaluation_sha256[:16]})"
            ),
        },
        header=["method", "path", "status", "median ms (5 calls)", "what"],
        rows=rows,
    )
