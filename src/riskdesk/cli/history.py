"""Price history commands: ``riskdesk history synth|import|show`` (``market_data_cache``).

``riskdesk history short-interest synth|import`` fills ``short_selling_metrics`` (borrow cost,
short interest, days to cover) for the squeeze tiers: a seeded synthetic set for a book's
symbols or named tickers, or a CSV/Parquet file with every bad row reported.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from pathlib import Path

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from riskdesk.cli._common import (
    DatabaseUrlOption,
    JsonOption,
    console,
    err_console,
    fail,
    open_db,
    print_json,
    user_errors,
)
from riskdesk.cli.workbench import MAX_SEED
from riskdesk.risk.history_usecases import (
    HistoryImportError,
    HistoryImportReport,
    PriceHistory,
    ProgressCallback,
)
from riskdesk.risk.market_risk import MarketRegime, ShortImportReport

__all__ = ["app"]

app = typer.Typer(
    no_args_is_help=True,
    help="Daily price history: synthetic generator, CSV/Parquet import, show.",
)

short_app = typer.Typer(
    no_args_is_help=True,
    help="Short-selling metrics (borrow cost, short interest, days to cover): synth, import.",
)
app.add_typer(short_app, name="short-interest")

MAX_DAYS = 10_000
_SHOWN_ERRORS = 50


def _day(text: str | None, option: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        fail(f"{option} {text!r} is not a date; use YYYY-MM-DD (e.g. 2026-11-20)")


@contextmanager
def _progress(enabled: bool, what: str) -> Iterator[ProgressCallback | None]:
    """A rich progress bar on stderr (none with --json), as a ``progress`` callback."""
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
        task = bar.add_task(what, total=None)

        def advance(label: str, done: int, total: int) -> None:
            bar.update(task, description=f"{what} {label}", completed=done, total=total)

        yield advance


@app.command("synth")
def synth(
    symbols: str = typer.Option(
        "", "--symbols", help="Comma-separated tickers, e.g. SPY,AAPL,MSFT (US10Y: the yield)."
    ),
    include_factors: bool = typer.Option(
        False,
        "--include-factors",
        help="Add the factor ETFs (SPY VTV VUG MTUM QUAL SIZE USMV) and the 10-year yield US10Y.",
    ),
    include_regime: bool = typer.Option(
        False,
        "--include-regime",
        help="Add seed 001's regime inputs: SPY, QQQ, IWM and the volatility index VIX.",
    ),
    days: int = typer.Option(
        750, "--days", min=2, max=MAX_DAYS, help="NYSE sessions to generate, ending at --end."
    ),
    end: str = typer.Option(..., "--end", help="Last day, YYYY-MM-DD (its session or earlier)."),
    seed: int = typer.Option(7, "--seed", min=0, max=MAX_SEED, help="Random seed."),
    database_url: str | None = DatabaseUrlOption,
    json_out: bool = JsonOption,
) -> None:
    """Generate a seeded synthetic history and store it; prints rows written per symbol."""
    end_day = _day(end, "--end")
    assert end_day is not None
    names = [s.strip().upper() for s in symbols.split(",") if s.strip()]
    if not names and not include_factors and not include_regime:
        fail(
            "--symbols is empty: name tickers (e.g. --symbols SPY,AAPL), --include-factors "
            "or --include-regime"
        )
    with (
        open_db(database_url) as db,
        user_errors(),
        _progress(not json_out, "writing") as progress,
    ):
        report = PriceHistory(db).synthesize(
            names,
            seed=seed,
            end=end_day,
            days=days,
            include_factors=include_factors,
            include_regime=include_regime,
            progress=progress,
        )
    if json_out:
        print_json(report.to_dict())
        return
    table = Table(title=f"synthetic history {report.start} to {report.end} (seed {report.seed})")
    table.add_column("ticker")
    table.add_column("rows", justify="right")
    table.add_column("market beta", justify="right")
    for ticker, rows in report.rows.items():
        beta = report.betas.get(ticker)
        table.add_row(escape(ticker), str(rows), "" if beta is None else f"{beta:.2f}")
    console.print(table)
    console.print(f"{report.written} bars written over {report.sessions} sessions")


def _print_import(report: HistoryImportReport | ShortImportReport, what: str = "bars") -> None:
    console.print(
        f"{escape(report.path)}: {report.rows_ok} of {report.rows_read} rows ok, "
        f"{report.rows_rejected} rejected, {report.written} {what} written"
        + (f" ({', '.join(report.tickers)})" if report.tickers else "")
    )
    if report.ignored_columns:
        console.print(f"ignored columns: {escape(', '.join(report.ignored_columns))}")
    if not report.errors:
        return
    table = Table(title="rejected rows")
    for name in ("line", "column", "value", "reason"):
        table.add_column(name)
    for error in report.errors[:_SHOWN_ERRORS]:
        table.add_row(
            str(error.line), escape(error.column), escape(error.value), escape(error.reason)
        )
    console.print(table)
    if len(report.errors) > _SHOWN_ERRORS:
        console.print(f"... {len(report.errors) - _SHOWN_ERRORS} more (use --json for all)")


@app.command("import")
def import_(
    file: Path = typer.Argument(..., dir_okay=False, help="Price file (.csv or .parquet)."),
    database_url: str | None = DatabaseUrlOption,
    json_out: bool = JsonOption,
) -> None:
    """Import ticker,date,close[,open,high,low,volume] rows; reports every bad row.

    Exits 1 when the file has rows but none of them is good.
    """
    with open_db(database_url) as db, user_errors():
        try:
            with _progress(not json_out, "importing") as progress:
                report = PriceHistory(db).import_file(file, progress=progress)
        except HistoryImportError as exc:
            fail(str(exc))
    if json_out:
        print_json(report.to_dict())
    else:
        _print_import(report)
    if report.rows_ok == 0 and report.rows_rejected > 0:
        raise typer.Exit(1)


@app.command("show")
def show(
    ticker: str = typer.Argument(..., help="Ticker, e.g. SPY or US10Y."),
    start: str | None = typer.Option(None, "--start", help="First day, YYYY-MM-DD."),
    end: str | None = typer.Option(None, "--end", help="Last day, YYYY-MM-DD."),
    database_url: str | None = DatabaseUrlOption,
    json_out: bool = JsonOption,
) -> None:
    """Show the stored bars of TICKER, dates ascending."""
    first, last = _day(start, "--start"), _day(end, "--end")
    with open_db(database_url) as db, user_errors():
        bars = PriceHistory(db).bars(ticker, start=first, end=last)
    if not bars:
        fail(f"no price history for {ticker.strip().upper()} in that range")
    if json_out:
        print_json(
            {
                "ticker": bars[0].ticker,
                "bars": [
                    {
                        "date": b.date.isoformat(),
                        "open": b.open,
                        "high": b.high,
                        "low": b.low,
                        "close": b.close,
                        "volume": b.volume,
                        "data_source": b.data_source,
                    }
                    for b in bars
                ],
            }
        )
        return
    table = Table(title=f"{escape(bars[0].ticker)}: {len(bars)} bars")
    for name in ("date", "open", "high", "low", "close", "volume", "source"):
        table.add_column(name, justify="left" if name in {"date", "source"} else "right")

    def text(value: object) -> str:
        if isinstance(value, Decimal):
            return format(value.normalize(), "f")
        return "" if value is None else str(value)

    for b in bars:
        table.add_row(
            b.date.isoformat(),
            text(b.open),
            text(b.high),
            text(b.low),
            text(b.close),
            text(b.volume),
            escape(b.data_source),
        )
    console.print(table)


@short_app.command("synth")
def short_synth(
    portfolio: str | None = typer.Option(
        None, "--portfolio", help="Cover every underlying of this book (name or id)."
    ),
    symbols: str = typer.Option("", "--symbols", help="Comma-separated tickers, e.g. GME,TSLA."),
    days: int = typer.Option(
        30, "--days", min=1, max=MAX_DAYS, help="NYSE sessions to generate, ending at --end."
    ),
    end: str = typer.Option(..., "--end", help="Last day, YYYY-MM-DD (its session or earlier)."),
    seed: int = typer.Option(7, "--seed", min=0, max=MAX_SEED, help="Random seed."),
    database_url: str | None = DatabaseUrlOption,
    json_out: bool = JsonOption,
) -> None:
    """Store seeded synthetic short-selling metrics; prints rows per symbol."""
    end_day = _day(end, "--end")
    assert end_day is not None
    names = [s.strip().upper() for s in symbols.split(",") if s.strip()]
    if portfolio is None and not names:
        fail("name a book (--portfolio NAME) or tickers (--symbols GME,TSLA)")
    with open_db(database_url) as db, user_errors():
        regime = MarketRegime(db)
        wanted = sorted({*names, *(regime.book_symbols(portfolio) if portfolio else ())})
        if not wanted:
            fail(f"portfolio {portfolio!r} has no positions: import a book first")
        report = regime.synthesize_short_metrics(wanted, seed=seed, end=end_day, days=days)
    if json_out:
        print_json(report.to_dict())
        return
    table = Table(
        title=f"synthetic short metrics {report.start} to {report.end} (seed {report.seed})"
    )
    table.add_column("ticker")
    table.add_column("rows", justify="right")
    for ticker, rows in report.rows.items():
        table.add_row(escape(ticker), str(rows))
    console.print(table)
    console.print(f"{report.written} rows written")


@short_app.command("import")
def short_import(
    file: Path = typer.Argument(..., dir_okay=False, help="Metric file (.csv or .parquet)."),
    database_url: str | None = DatabaseUrlOption,
    json_out: bool = JsonOption,
) -> None:
    """Import ticker,metric_date,cost_to_borrow_rate,short_interest_ratio,days_to_cover rows.

    Exits 1 when the file has rows but none of them is good.
    """
    with open_db(database_url) as db, user_errors():
        try:
            report = MarketRegime(db).import_short_metrics(file)
        except HistoryImportError as exc:
            fail(str(exc))
    if json_out:
        print_json(report.to_dict())
    else:
        _print_import(report, "metric rows")
    if report.rows_ok == 0 and report.rows_rejected > 0:
        raise typer.Exit(1)
