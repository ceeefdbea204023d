"""``riskdesk portfolio``: create portfolios, upload books (CSV), show and list them.

``riskdesk portfolio import FILE --portfolio NAME_OR_ID`` uploads a book in seed 002's format
(``ticker,quantity,entry_price,entry_date,tags``) or a broker export with ``--map`` and
``--date-format``. It exits 0 when the file was processed, even with rejected rows (each
listed with its line, column and reason), and 1 when the file was refused as a whole.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
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
    user_errors,
)
from riskdesk.risk.book_csv import MAX_FILE_BYTES, BookFileError, parse_mapping
from riskdesk.risk.portfolios import ImportReport, PortfolioDetail, Portfolios, PortfolioSummary
from riskdesk.store.paging import PageKey

__all__ = ["app"]

app = typer.Typer(
    no_args_is_help=True,
    help="Portfolios and their books: create, import a CSV, show, list, strategy groups.",
)
console = Console()


def _today(text: str | None) -> date:
    if text is None:
        return datetime.now(UTC).date()
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        fail(f"--today {text!r} is not a date written YYYY-MM-DD")


def _read_file(path: Path) -> bytes:
    """At most one byte past the size limit (the parser refuses a larger file)."""
    try:
        with path.open("rb") as handle:
            return handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        fail(f"cannot read {path}: {exc.strerror or exc}")


@app.command("create")
def create_command(
    name: str = typer.Argument(..., help="Portfolio name (unique per user)."),
    description: str | None = typer.Option(None, "--description", help="Free text."),
    currency: str = typer.Option("USD", "--currency", help="Base currency (3-letter ISO code)."),
    database_url: str | None = DatabaseUrlOption,
    json_out: bool = JsonOption,
) -> None:
    """Create an empty portfolio."""
    with open_db(database_url) as db, user_errors():
        summary = Portfolios(db).create(name, description=description, base_currency=currency)
    if json_out:
        print_json(summary.to_dict())
        return
    console.print(
        f"created portfolio [bold]{escape(summary.name)}[/] ({summary.base_currency}) "
        f"id {summary.portfolio_id}",
        soft_wrap=True,
    )


@app.command("import")
def import_command(
    file: Path = typer.Argument(..., help="The CSV file (at most 10 MB, 10,000 rows)."),
    portfolio: str = typer.Option(..., "--portfolio", help="Portfolio name or id."),
    mapping: str | None = typer.Option(
        None,
        "--map",
        help='Broker columns: ticker=Symbol,quantity=Qty,entry_price="Avg Price",...',
    ),
    date_format: str | None = typer.Option(
        None, "--date-format", help="strptime format of entry_date (default %Y-%m-%d)."
    ),
    today: str | None = typer.Option(
        None, "--today", help="Check dates against this day (YYYY-MM-DD; default: today, UTC)."
    ),
    database_url: str | None = DatabaseUrlOption,
    json_out: bool = JsonOption,
) -> None:
    """Upload a book: good rows are stored, bad rows reported by line, column and reason."""
    day = _today(today)
    data = _read_file(file)
    try:
        columns = parse_mapping(mapping) if mapping is not None else None
    except BookFileError as exc:
        fail(f"--map: {exc}")
    with open_db(database_url) as db, user_errors():
        report = Portfolios(db).import_csv(
            portfolio, data, mapping=columns, date_format=date_format, today=day
        )
    if json_out:
        print_json(report.to_dict())
        return
    _render_report(report, file)


def _render_report(report: ImportReport, file: Path) -> None:
    console.print(
        f"{escape(str(file))} -> [bold]{escape(report.portfolio_name)}[/]: "
        f"{report.imported} imported, {len(report.skipped)} skipped (already stored), "
        f"{report.rejected_rows} rejected of {report.data_rows} rows "
        f"(sha256 {report.file_sha256[:12]})",
        soft_wrap=True,
    )
    for note in report.settlement:
        console.print(f"line {note.line} {escape(note.ticker)}: {escape(note.message)}")
    if report.rejected:
        table = Table(title="rejected rows")
        for col in ("line", "column", "reason", "value"):
            table.add_column(col)
        for err in report.rejected:
            table.add_row(
                str(err.line), err.column or "", escape(err.reason), escape(err.value or "")
            )
        console.print(table)


@app.command("show")
def show_command(
    ref: str = typer.Argument(..., help="Portfolio name or id."),
    database_url: str | None = DatabaseUrlOption,
    json_out: bool = JsonOption,
) -> None:
    """A portfolio with its positions, types, tags and expiry state."""
    with open_db(database_url) as db, user_errors():
        detail = Portfolios(db).get(ref, today=datetime.now(UTC).date())
    if json_out:
        print_json(detail.to_dict())
        return
    _render_detail(detail)


def _render_detail(detail: PortfolioDetail) -> None:
    p = detail.portfolio
    console.print(
        f"portfolio [bold]{escape(p.name)}[/] ({p.base_currency}) id {p.portfolio_id}: "
        f"{len(detail.positions)} positions",
        soft_wrap=True,
    )
    table = Table()
    for col in ("ticker", "type", "quantity", "entry price", "entry date", "tags", "state"):
        table.add_column(col)
    for pos in detail.positions:
        row = pos.to_dict()
        if pos.expired:
            price = row["exit_price"]
            state = f"expired {row['exit_date']} at {price}" if price else "expired (pending)"
        else:
            state = "open" if pos.is_active else "closed"
        table.add_row(
            escape(pos.symbol),
            pos.position_type,
            row["quantity"],
            row["entry_price"],
            row["entry_date"],
            escape(",".join(pos.tags)),
            state,
        )
    console.print(table)


@app.command("list")
def list_command(
    database_url: str | None = DatabaseUrlOption,
    json_out: bool = JsonOption,
) -> None:
    """Every portfolio, newest first."""
    items: list[PortfolioSummary] = []
    with open_db(database_url) as db, user_errors():
        use_cases = Portfolios(db)
        after: PageKey | None = None
        while True:
            page = use_cases.list(after=after, limit=200)
            items.extend(page.items)
            if page.next_key is None:
                break
            after = page.next_key
    if json_out:
        print_json([s.to_dict() for s in items])
        return
    table = Table()
    for col in ("name", "currency", "description", "id", "created"):
        table.add_column(col)
    for s in items:
        table.add_row(
            escape(s.name),
            s.base_currency,
            escape(s.description or ""),
            str(s.portfolio_id),
            s.created_at.isoformat(timespec="seconds"),
        )
    console.print(table)


def _day(text: str | None) -> date | None:
    return None if text is None else _today(text)


@app.command("strategies")
def strategies_command(
    ref: str = typer.Argument(..., help="Portfolio name or id."),
    day: str | None = typer.Option(
        None, "--date", help="The book held on this day (YYYY-MM-DD); default: open positions."
    ),
    database_url: str | None = DatabaseUrlOption,
    json_out: bool = JsonOption,
) -> None:
    """The book's strategy groups: yours (edited) whole, the rest detected, and what is left."""
    with open_db(database_url) as db, user_errors():
        report = Portfolios(db).strategies(ref, on=_day(day))
    data = report.to_dict()
    if json_out:
        print_json(data)
        return
    table = Table(title=f"strategies of {escape(report.name)}")
    for col in ("group", "type", "underlying", "ratio", "by", "legs"):
        table.add_column(col)
    for group in data["groups"]:
        legs = ", ".join(f"{leg['quantity']} {leg['ticker']}" for leg in group["legs"])
        table.add_row(
            escape(group["name"]),
            group["strategy_type"],
            group["underlying"] or "",
            group["ratio"],
            "you" if group["user_defined"] else "detected",
            escape(legs),
        )
    console.print(table)
    if data["ungrouped"]:
        rest = ", ".join(f"{leg['quantity']} {leg['ticker']}" for leg in data["ungrouped"])
        console.print(f"ungrouped: {escape(rest)}", soft_wrap=True)


@app.command("group")
def group_command(
    ref: str = typer.Argument(..., help="Portfolio name or id."),
    positions: list[str] = typer.Argument(..., help="Positions: ids, or tickers held once."),
    into: str = typer.Option(..., "--into", help="The group's name (created when new)."),
    database_url: str | None = DatabaseUrlOption,
    json_out: bool = JsonOption,
) -> None:
    """Move positions, whole, into a strategy group of your own (never re-detected)."""
    with open_db(database_url) as db, user_errors():
        edit = Portfolios(db).group(ref, positions, into)
    if json_out:
        print_json(edit.to_dict())
        return
    console.print(
        f"group [bold]{escape(into.strip())}[/] ({edit.strategy_type}) now holds "
        f"{escape(', '.join(edit.moved))}",
        soft_wrap=True,
    )
    if edit.removed_groups:
        console.print(f"emptied and removed: {escape(', '.join(edit.removed_groups))}")


@app.command("ungroup")
def ungroup_command(
    ref: str = typer.Argument(..., help="Portfolio name or id."),
    positions: list[str] = typer.Argument(..., help="Positions: ids, or tickers held once."),
    database_url: str | None = DatabaseUrlOption,
    json_out: bool = JsonOption,
) -> None:
    """Take positions out of your groups: detection places them again."""
    with open_db(database_url) as db, user_errors():
        edit = Portfolios(db).ungroup(ref, positions)
    if json_out:
        print_json(edit.to_dict())
        return
    console.print(f"ungrouped {escape(', '.join(edit.moved))}", soft_wrap=True)
    if edit.removed_groups:
        console.print(f"emptied and removed: {escape(', '.join(edit.removed_groups))}")
