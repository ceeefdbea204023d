"""``riskdesk db``: upgrade, status, purge.

Every command reads the database URL from :func:`riskdesk.config.get_settings` unless
``--database-url`` is given.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from riskdesk.config import get_settings
from riskdesk.store.db import create_engine, safe_url
from riskdesk.store.maintenance import database_status, purge_database
from riskdesk.store.migrate import upgrade_database

app = typer.Typer(no_args_is_help=True)
console = Console()

DatabaseUrlOption = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        help="Database URL (default: RISKDESK_DATABASE_URL or the SQLite file in the data dir).",
        show_default=False,
    ),
]

PURGE_WORD = "purge"


def _url(database_url: str | None) -> str:
    return database_url or get_settings().database_url


@app.command()
def upgrade(database_url: DatabaseUrlOption = None) -> None:
    """Create or migrate the database schema to the newest revision."""
    url = _url(database_url)
    revision = upgrade_database(url)
    console.print(
        f"database {safe_url(url)} is at revision [bold]{revision}[/bold]", soft_wrap=True
    )


@app.command()
def status(
    database_url: DatabaseUrlOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Show backend, URL, current/head revision, table count and rows per table.

    Only reads: a missing SQLite file is an error, never created.
    """
    engine = create_engine(_url(database_url), create=False)
    try:
        info = database_status(engine)
    finally:
        engine.dispose()
    if as_json:
        typer.echo(json.dumps(info.to_dict(), indent=2, sort_keys=True))
        return
    console.print(f"backend:  {info.backend}")
    console.print(f"url:      {info.url}")
    state = "up to date" if info.up_to_date else "run `riskdesk db upgrade`"
    console.print(
        f"revision: {info.current_revision or 'none'} (head {info.head_revision}, {state})"
    )
    console.print(f"tables:   {info.table_count}")
    table = Table("table", "rows", title="row counts")
    for name, rows in sorted(info.row_counts.items()):
        table.add_row(name, str(rows))
    if info.row_counts:
        console.print(table)


@app.command()
def purge(
    database_url: DatabaseUrlOption = None,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete all local data (every row of every table); the purge itself is audited."""
    url = _url(database_url)
    if not yes:
        console.print(f"This deletes [bold]all data[/bold] in {safe_url(url)}.")
        answer = typer.prompt(f"Type '{PURGE_WORD}' to confirm", default="", show_default=False)
        if answer.strip() != PURGE_WORD:
            console.print("purge cancelled: nothing was deleted")
            raise typer.Exit(code=1)
    engine = create_engine(url, create=False)
    try:
        counts = purge_database(engine, actor=get_settings().actor)
    finally:
        engine.dispose()
    console.print(
        f"deleted {sum(counts.values())} rows from {len(counts)} tables of {safe_url(url)}; "
        "default factors and stress scenarios restored; the purge is audited"
    )
