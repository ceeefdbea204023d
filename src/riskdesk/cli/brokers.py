"""A broker account's positions, read once from the shell (USER_FLOWS flow 9's first half).

The command (registered on the root app by :mod:`riskdesk.cli.main`)::

    riskdesk broker positions --broker tastytrade|ibkr --account A [--url URL]
                              [--credentials NAME] [--timeout S] [--json]

It connects read-only as ``riskdesk stream start`` would (tastytrade credentials from the
secrets store: ``riskdesk secrets broker-login``), waits until the broker has reported the
account's positions, disconnects and prints the open option positions (padded OCC symbol,
underlying, expiry, strike, right, signed quantity). ``/v1/brokers/positions`` serves the
same to the web workspace. Exit status: 0 done; 1 a bad input, a refusal or no answer.
"""

from __future__ import annotations

import typer
from rich.table import Table

from riskdesk.cli._common import JsonOption, console, fail, print_json

__all__ = ["app"]

app = typer.Typer(no_args_is_help=True, help="Broker accounts, read-only: positions.")


@app.command("positions")
def positions_command(
    broker: str = typer.Option(..., "--broker", help="tastytrade or ibkr."),
    account: str = typer.Option(..., "--account", help="The broker account to read."),
    url: str | None = typer.Option(
        None, "--url", help="The broker's address (default: its production address)."
    ),
    credentials: str | None = typer.Option(
        None, "--credentials", help="Stored tastytrade credentials' name (default 'default')."
    ),
    timeout: float = typer.Option(15.0, "--timeout", help="Seconds to wait for the broker."),
    as_json: bool = JsonOption,
) -> None:
    """The account's open option positions, read once from the broker."""
    from riskdesk.adapters.stream_snapshot import broker_refused, collect_positions, position_rows
    from riskdesk.secrets import SecretsError
    from riskdesk.streaming.sources import (
        DEFAULT_URLS,
        SourceSpec,
        SourceUnavailableError,
        build_source,
        occ_mapper,
    )

    if broker not in ("tastytrade", "ibkr"):
        fail(f"--broker must be tastytrade or ibkr, got {broker!r}")
    try:
        spec = SourceSpec(broker=broker, account=account, url=url, credentials=credentials)
        client = build_source(spec)
        collector = collect_positions(client, occ_mapper(broker), timeout)
    except (ValueError, SecretsError, SourceUnavailableError) as exc:
        fail(str(exc).strip("'\""))
    with collector.cond:
        connected, error = collector.connected, collector.last_error
        held, rejections = dict(collector.positions), collector.rejections
    where = f"{broker}:{spec.account_id} at {spec.address or DEFAULT_URLS.get(broker, '')}"
    if not connected:
        if broker_refused(error):
            fail(f"{where} refused: {error}")
        fail(
            f"{where}: no positions within {timeout:g} s"
            + (f" (last error: {error})" if error else "")
        )
    rows = position_rows(held)
    if as_json:
        print_json(
            {
                "broker": broker,
                "account": spec.account_id,
                "positions": rows,
                "rejected": rejections,
            }
        )
        return
    table = Table(title=f"{where}: {len(rows)} open option position(s)")
    for name in ("symbol", "underlying", "expiry", "strike", "right", "quantity"):
        justify = "right" if name in ("strike", "quantity") else "left"
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for row in rows:
        table.add_row(
            *(
                str(row[k])
                for k in ("symbol", "underlying", "expiry", "strike", "right", "quantity")
            )
        )
    console.print(table)
    if rejections:
        console.print(
            f"[yellow]{rejections} position(s) or event(s) could not be read and were left out[/]"
        )
