"""Stored broker Greeks and the seed-003 trade log from the shell.

The commands (registered on the root app by :mod:`riskdesk.cli.main`)::

    riskdesk greeks latest  [--broker B] [--account A] [--contract C] [--from T] [--to T]
                            [--limit N] [--json]
    riskdesk greeks history [same filters] [--limit N] [--after KEY] [--json]
    riskdesk greeks count   [same filters] [--json]
    riskdesk tradelog add --broker B --account A --symbol S --action X --quantity Q
                          [--contract C] [--price P] [--tag T] [--metadata JSON] [--json]
    riskdesk tradelog list [--broker B] [--account A] [--symbol S] [--contract C] [--tag T]
                           [--from T] [--to T] [--limit N] [--after KEY] [--json]

Times are ISO 8601 with a zone (``Z`` allowed), ``--from`` included and ``--to`` excluded;
``latest`` with ``--to`` is the latest view as of that time. A history or list page prints
the key of its next page (``next_after``): pass it as ``--after`` for the next one. The CLI
acts as the local user (every row, every write). Exit status: 0 done; 1 a bad input.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import typer
from rich.table import Table

from riskdesk.cli._common import (
    DatabaseUrlOption,
    JsonOption,
    console,
    fail,
    open_db,
    print_json,
    user_errors,
)
from riskdesk.cli._render import num
from riskdesk.store.paging import PageKey
from riskdesk.streaming.queries import (
    LATEST_LIMIT,
    MAX_LATEST_LIMIT,
    GreekFilter,
    GreeksQueries,
    TradeLog,
    TradeLogEntry,
    TradeLogFilter,
)

__all__ = ["app", "tradelog_app"]

app = typer.Typer(no_args_is_help=True, help="Stored broker Greeks: latest, history, count.")
tradelog_app = typer.Typer(no_args_is_help=True, help="The seed-003 trade log: add, list.")

BrokerOption = typer.Option(None, "--broker", help="Only this broker (ibkr, tastytrade, ...).")
AccountOption = typer.Option(None, "--account", help="Only this broker account id.")
ContractOption = typer.Option(
    None, "--contract", help="Only this contract key (SPY:20250321:580:C)."
)
FromOption = typer.Option(None, "--from", help="First time included (ISO 8601 with a zone).")
ToOption = typer.Option(None, "--to", help="First time excluded (ISO 8601 with a zone).")
AfterOption = typer.Option(None, "--after", help="The next_after key of the previous page.")
PageLimitOption = typer.Option(50, "--limit", min=1, max=MAX_LATEST_LIMIT, help="Rows per page.")


def _time(text: str | None, option: str) -> datetime | None:
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        fail(f"{option} {text!r} is not an ISO 8601 time (e.g. 2025-01-17T15:30:00Z)")
    if value.tzinfo is None:
        fail(f"{option} {text!r} has no timezone; add Z or an offset such as -05:00")
    return value.astimezone(UTC)


def _after(text: str | None) -> PageKey | None:
    """``--after TIME,ID`` (the ``next_after`` a page printed)."""
    if text is None:
        return None
    when, _, ident = text.partition(",")
    try:
        key = PageKey(datetime.fromisoformat(when), uuid.UUID(hex=ident))
    except ValueError:
        fail(f"--after {text!r} is not a page key; pass the next_after a previous page printed")
    if key.created_at.tzinfo is None:
        fail(f"--after {text!r} has no timezone; pass the next_after a previous page printed")
    return key


def _key_text(key: PageKey | None) -> str | None:
    if key is None:
        return None
    return f"{key.created_at.astimezone(UTC).isoformat(timespec='microseconds')},{key.id.hex}"


def _decimal(text: str | None, option: str) -> Decimal | None:
    if text is None:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        fail(f"{option} {text!r} is not a decimal number")
    if not value.is_finite():
        fail(f"{option} {text!r} must be finite")
    return value


def _greek_filter(
    broker: str | None,
    account: str | None,
    contract: str | None,
    start: str | None,
    end: str | None,
) -> GreekFilter:
    with user_errors():
        return GreekFilter(
            broker=broker,
            account_id=account,
            contract_key=contract,
            start=_time(start, "--from"),
            end=_time(end, "--to"),
        )


def _greeks_table(title: str, items: list[dict[str, Any]]) -> Table:
    table = Table(title=title)
    for column in ("event time", "broker", "account", "contract", "qty", "delta", "gamma"):
        table.add_column(column)
    for column in ("theta", "vega", "rho", "iv"):
        table.add_column(column, justify="right")
    for item in items:
        table.add_row(
            item["event_time"],
            item["broker"],
            item["account_id"],
            item["contract_key"],
            item["quantity"] or "-",
            num(item["delta"]),
            num(item["gamma"]),
            num(item["theta"]),
            num(item["vega"]),
            num(item["rho"]),
            num(item["implied_volatility"]),
        )
    return table


@app.command("latest")
def latest_command(
    broker: str | None = BrokerOption,
    account: str | None = AccountOption,
    contract: str | None = ContractOption,
    start: str | None = FromOption,
    end: str | None = ToOption,
    limit: int = typer.Option(
        LATEST_LIMIT, "--limit", min=1, max=MAX_LATEST_LIMIT, help="Most contracts shown."
    ),
    json_out: bool = JsonOption,
    database_url: str | None = DatabaseUrlOption,
) -> None:
    """The newest Greeks of each contract (by event time, never by arrival order)."""
    where = _greek_filter(broker, account, contract, start, end)
    with user_errors(), open_db(database_url) as db:
        latest = GreeksQueries(db).latest(where, limit=limit)
    items = [view.to_dict() for view in latest.items]
    if json_out:
        print_json({"items": items, "truncated": latest.truncated, "limit": limit})
        return
    console.print(_greeks_table("latest Greeks", items))
    if latest.truncated:
        console.print(f"more than {limit} contracts match; raise --limit or filter")


@app.command("history")
def history_command(
    broker: str | None = BrokerOption,
    account: str | None = AccountOption,
    contract: str | None = ContractOption,
    start: str | None = FromOption,
    end: str | None = ToOption,
    limit: int = PageLimitOption,
    after: str | None = AfterOption,
    json_out: bool = JsonOption,
    database_url: str | None = DatabaseUrlOption,
) -> None:
    """Stored Greeks events, newest event time first, one page at a time."""
    where = _greek_filter(broker, account, contract, start, end)
    key = _after(after)
    with user_errors(), open_db(database_url) as db:
        page = GreeksQueries(db).history(where, after=key, limit=limit)
    items = [view.to_dict() for view in page.items]
    next_after = _key_text(page.next_key)
    if json_out:
        print_json({"items": items, "next_after": next_after, "limit": limit})
        return
    console.print(_greeks_table("Greeks history", items))
    if next_after is not None:
        console.print(f"next page: --after {next_after}")


@app.command("count")
def count_command(
    broker: str | None = BrokerOption,
    account: str | None = AccountOption,
    contract: str | None = ContractOption,
    start: str | None = FromOption,
    end: str | None = ToOption,
    json_out: bool = JsonOption,
    database_url: str | None = DatabaseUrlOption,
) -> None:
    """How many stored Greeks events match the filters."""
    where = _greek_filter(broker, account, contract, start, end)
    with user_errors(), open_db(database_url) as db:
        count = GreeksQueries(db).count(where)
    if json_out:
        print_json({"count": count})
    else:
        console.print(str(count))


def _metadata(text: str | None) -> dict[str, Any] | None:
    if text is None:
        return None
    try:
        value = json.loads(text)
    except ValueError as exc:
        fail(f"--metadata is not JSON ({exc})")
    if not isinstance(value, dict):
        fail(f"--metadata must be a JSON object, got {type(value).__name__}")
    return value


@tradelog_app.command("add")
def tradelog_add_command(
    broker: str = typer.Option(..., "--broker", help="ibkr, tastytrade, simulated or paper."),
    account: str = typer.Option(..., "--account", help="The broker account id."),
    symbol: str = typer.Option(..., "--symbol", help="The traded symbol (SPY)."),
    action: str = typer.Option(..., "--action", help="What was done (BUY_TO_OPEN, ...)."),
    quantity: str = typer.Option(..., "--quantity", help="Non-zero quantity."),
    contract: str | None = ContractOption,
    price: str | None = typer.Option(None, "--price", help="Price per unit."),
    tag: str | None = typer.Option(None, "--tag", help="Strategy tag."),
    metadata: str | None = typer.Option(None, "--metadata", help="A JSON object."),
    json_out: bool = JsonOption,
    database_url: str | None = DatabaseUrlOption,
) -> None:
    """Record a trade-log entry."""
    amount = _decimal(quantity, "--quantity")
    if amount is None:  # pragma: no cover - typer requires --quantity
        fail("--quantity is required")
    with user_errors():
        entry = TradeLogEntry(
            broker=broker,
            account_id=account,
            symbol=symbol,
            action=action,
            quantity=amount,
            contract_key=contract,
            price=_decimal(price, "--price"),
            strategy_tag=tag,
            metadata=_metadata(metadata),
        )
        with open_db(database_url) as db:
            view = TradeLog(db).record(entry)
    if json_out:
        print_json(view.to_dict())
    else:
        console.print(f"recorded trade-log entry {view.id.hex}")


@tradelog_app.command("list")
def tradelog_list_command(
    broker: str | None = BrokerOption,
    account: str | None = AccountOption,
    symbol: str | None = typer.Option(None, "--symbol", help="Only this symbol."),
    contract: str | None = ContractOption,
    tag: str | None = typer.Option(None, "--tag", help="Only this strategy tag."),
    start: str | None = FromOption,
    end: str | None = ToOption,
    limit: int = PageLimitOption,
    after: str | None = AfterOption,
    json_out: bool = JsonOption,
    database_url: str | None = DatabaseUrlOption,
) -> None:
    """Trade-log entries, newest first, one page at a time."""
    key = _after(after)
    with user_errors():
        where = TradeLogFilter(
            broker=broker,
            account_id=account,
            symbol=symbol,
            contract_key=contract,
            strategy_tag=tag,
            start=_time(start, "--from"),
            end=_time(end, "--to"),
        )
        with open_db(database_url) as db:
            page = TradeLog(db).list(where, after=key, limit=limit)
    items = [view.to_dict() for view in page.items]
    next_after = _key_text(page.next_key)
    if json_out:
        print_json({"items": items, "next_after": next_after, "limit": limit})
        return
    table = Table(title="trade log")
    for column in ("created", "broker", "account", "symbol", "contract", "action", "qty"):
        table.add_column(column)
    table.add_column("price", justify="right")
    table.add_column("tag")
    for item in items:
        table.add_row(
            item["created_at"],
            item["broker"],
            item["account_id"],
            item["symbol"],
            item["contract_key"] or "-",
            item["action"],
            item["quantity"],
            item["price"] or "-",
            item["strategy_tag"] or "-",
        )
    console.print(table)
    if next_after is not None:
        console.print(f"next page: --after {next_after}")
