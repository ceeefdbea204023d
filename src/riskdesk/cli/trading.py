"""Paper trading from the shell: accounts, orders, positions, the kill switch, NAV, reconcile.

The commands (registered on the root app by :mod:`riskdesk.cli.main`)::

    riskdesk account create NAME --cash 100000 | list | show NAME | policy NAME [--set ...]
    riskdesk order submit --account A (--occ SYMBOL --side buy|sell | --leg SYMBOL:SIDE:RATIO...
                          | --signal ID) --qty N --type market|limit|stop|stop-limit [--limit P] [--stop P]
                          [--credit] --tif day|gtc|ioc|fok [--idempotency-key K]
    riskdesk order cancel ORDER_ID | list [--account A] [--status S] | show ORDER_ID
    riskdesk positions [--account A]
    riskdesk killswitch on|off --reason R [--actor X] | status
    riskdesk nav --account A
    riskdesk reconcile --account A

The paper venue quotes the synthetic market now (``--seed``, default 7 or
``RISKDESK_PAPER_SEED``); ``--market-as-of ISO`` pins the market to that instant and the desk
clock one second later, so a run is reproducible. Every command takes ``--json``.

Exit status: 0 done; 1 a bad input or an unknown reference (one line on stderr); 3 the desk
refused the order (its code, ``RISK_BLOCKED``, ``KILL_SWITCH_ACTIVE``, ``STALE_MARKET_DATA`` or
``IDEMPOTENCY_KEY_REUSED``, and its message) or ``reconcile`` found a mismatch.
"""

from __future__ import annotations

import getpass
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from riskdesk.adapters.simulated import SyntheticSource
from riskdesk.cli._common import (
    DatabaseUrlOption,
    JsonOption,
    err_console,
    fail,
    open_db,
    parse_amount,
    parse_whole,
    print_json,
    user_errors,
)
from riskdesk.cli._render import money, price, quantity, when
from riskdesk.cli.workbench import MAX_SEED
from riskdesk.domain.numbers import parse_decimal
from riskdesk.domain.occ import format_occ, is_occ_symbol, parse_occ
from riskdesk.store import Database
from riskdesk.store.types import utc_now
from riskdesk.trading.desk import (
    POLICY_FIELDS,
    IdempotencyConflictError,
    OrderStateError,
    OrderTicket,
    OrderView,
    PaperDesk,
    SourceMarket,
    SubmitResult,
    TicketLeg,
)
from riskdesk.trading.model import OrderStatus, OrderType, Side, TimeInForce
from riskdesk.trading.signal_book import SignalBook

__all__ = [
    "DEFAULT_SEED",
    "EXIT_REFUSED",
    "MARKET_MAX_EXPIRY_DAYS",
    "account_app",
    "killswitch_app",
    "nav_command",
    "order_app",
    "paper_desk",
    "positions_command",
    "reconcile_command",
]

EXIT_REFUSED = 3
"""Exit status of a refused order (risk gate, kill switch, stale data, reused key) or of a
reconciliation that does not hold."""

DEFAULT_SEED = 7
"""Seed of the synthetic market the paper venue quotes when neither --seed nor
``RISKDESK_PAPER_SEED`` is given."""

MARKET_MAX_EXPIRY_DAYS = 45
"""Latest expiry the paper venue lists, in calendar days after the market's date."""

MAX_ORDER_QTY = 1_000_000
MAX_LIST_LIMIT = 1_000

account_app = typer.Typer(
    no_args_is_help=True,
    help="Paper trading accounts: create, list, show, risk policy.",
)
order_app = typer.Typer(
    no_args_is_help=True,
    help="Paper orders: submit (through the kill switch and the risk gates), cancel, list, show.",
)
killswitch_app = typer.Typer(
    no_args_is_help=True,
    help="The kill switch: turn it on (cancels resting orders) or off, show its state.",
)
console = Console()

SeedOption = typer.Option(
    str(DEFAULT_SEED),
    "--seed",
    envvar="RISKDESK_PAPER_SEED",
    metavar="INT",
    help="Seed of the synthetic market the paper venue quotes (env RISKDESK_PAPER_SEED).",
)
MarketAsOfOption = typer.Option(
    None,
    "--market-as-of",
    metavar="ISO",
    help=(
        "Pin the market to this instant (ISO-8601 with a zone, e.g. 2025-03-04T15:00:00Z) and "
        "the desk clock to 1 s later: reproducible runs. Default: the market now."
    ),
)


# --------------------------------------------------------------------------- the desk


def paper_desk(db: Database, *, seed: int, as_of: datetime | None) -> PaperDesk:
    """The paper desk on ``db`` quoting the synthetic market of ``seed``.

    Parameters
    ----------
    db
        The store (migrated).
    seed
        Seed of the synthetic market (:class:`~riskdesk.adapters.simulated.SyntheticSource`),
        listing expiries up to :data:`MARKET_MAX_EXPIRY_DAYS` days out.
    as_of
        None: the market is quoted at the desk's clock (now, to the second). A timezone-aware
        instant: every quote comes from the market at ``as_of`` and the desk's clock reads
        ``as_of + 1 s`` (a fresh quote, the same result on every run).

    Returns
    -------
    PaperDesk
        The local desktop user's desk.

    """
    if as_of is not None and as_of.tzinfo is None:
        raise ValueError(f"as_of {as_of.isoformat()} has no timezone; pass an aware UTC time")
    pinned = None if as_of is None else as_of.astimezone(UTC)

    def source(underlyings: Sequence[str], at: datetime) -> SyntheticSource:
        moment = pinned if pinned is not None else at.astimezone(UTC).replace(microsecond=0)
        return SyntheticSource(
            seed=seed,
            as_of=moment,
            symbols=tuple(underlyings),
            max_expiry_days=MARKET_MAX_EXPIRY_DAYS,
        )

    clock: Callable[[], datetime] = utc_now
    if pinned is not None:
        now = pinned + timedelta(seconds=1)

        def clock() -> datetime:
            return now

    return PaperDesk(db, market=SourceMarket(source), clock=clock)


def _seed(text: str) -> int:
    return parse_whole(text, "--seed", low=0, high=MAX_SEED)


def _market_as_of(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        fail(f"--market-as-of {text!r} is not an ISO-8601 timestamp (e.g. 2025-03-04T15:00:00Z)")
    if value.tzinfo is None:
        fail(f"--market-as-of {text!r} has no timezone; add Z or an offset such as -05:00")
    return value.astimezone(UTC)


def _refused(code: str, message: str, *, json_out: bool, data: dict[str, Any]) -> NoReturn:
    """Print a refusal (JSON on stdout, or one line on stderr) and exit 3."""
    if json_out:
        print_json(data)
    else:
        err_console.print(
            f"[bold red]refused:[/] {escape(code)}: {escape(message)}", soft_wrap=True
        )
    raise typer.Exit(EXIT_REFUSED)


def _uuid(text: str, name: str, what: str) -> uuid.UUID:
    try:
        return uuid.UUID(text.strip())
    except ValueError:
        fail(f"{name} {text!r} is not {what}")


def _order_id(text: str) -> uuid.UUID:
    return _uuid(text, "ORDER_ID", "an order id (a UUID, as `riskdesk order list` prints)")


def _actor(text: str | None) -> str:
    if text is not None:
        if not text.strip():
            fail("--actor must not be empty")
        return text.strip()
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name (a container without a passwd entry)
        return "cli"


# --------------------------------------------------------------------------- accounts


@account_app.command("create")
def account_create_command(
    name: str = typer.Argument(..., help="Account name (1 to 50 characters, unique)."),
    cash: str = typer.Option(..., "--cash", metavar="AMOUNT", help="Starting cash, e.g. 100000."),
    database_url: str | None = DatabaseUrlOption,
    json_out: bool = JsonOption,
) -> None:
    """Create a paper account holding CASH."""
    amount = parse_amount(cash, "--cash", nonzero=True, minimum=Decimal(0))
    with open_db(database_url) as db, user_errors():
        account = paper_desk(db, seed=DEFAULT_SEED, as_of=None).create_account(name, amount)
    if json_out:
        print_json(account.to_dict())
        return
    console.print(
        f"created paper account [bold]{escape(account.name)}[/] with cash "
        f"{money(account.cash)}, id {account.id}",
        soft_wrap=True,
    )


@account_app.command("list")
def account_list_command(
    database_url: str | None = DatabaseUrlOption,
    json_out: bool = JsonOption,
) -> None:
    """Every paper account with its cash and last NAV."""
    with open_db(database_url) as db, user_errors():
        accounts = paper_desk(db, seed=DEFAULT_SEED, as_of=None).list_accounts()
    if json_out:
        print_json([a.to_dict() for a in accounts])
        return
    table = Table(title="paper accounts")
    for col in ("name", "type", "starting cash", "cash", "NAV", "id", "created"):
        table.add_column(
            col, justify="right" if col in ("starting cash", "cash", "NAV") else "left"
        )
    for a in accounts:
        table.add_row(
            escape(a.name),
            a.account_type,
            money(a.starting_cash),
            money(a.cash),
            money(a.nav),
            str(a.id),
            when(a.created_at),
        )
    console.print(table)


@account_app.command("show")
def account_show_command(
    name: str = typer.Argument(..., help="Account name or id."),
    database_url: str | None = DatabaseUrlOption,
    json_out: bool = JsonOption,
) -> None:
    """An account: cash, NAV, risk policy and open positions."""
    with open_db(database_url) as db, user_errors():
        desk = paper_desk(db, seed=DEFAULT_SEED, as_of=None)
        account = desk.get_account(name)
        policy = desk.get_policy(account.id)
        positions = desk.positions(account.id)
    if json_out:
        print_json({**account.to_dict(), "policy": policy, "positions": positions})
        return
    head = Table.grid(padding=(0, 2))
    head.add_column(style="dim")
    head.add_column()
    head.add_row("account", f"{escape(account.name)} ({account.account_type})")
    head.add_row("id", str(account.id))
    head.add_row("starting cash", money(account.starting_cash))
    head.add_row("cash", money(account.cash))
    head.add_row("NAV (last marked)", money(account.nav))
    head.add_row("created", when(account.created_at))
    console.print(head)
    _print_policy(policy)
    _print_positions(positions, title="open positions")


def _parse_set(item: str) -> tuple[str, tuple[Decimal, str]]:
    """``name=value[:absolute|percentage|multiplier]`` to ``(name, (value, type))``."""
    name, sep, rest = item.partition("=")
    name = name.strip()
    usage = "must look like NAME=VALUE[:percentage|multiplier] (e.g. max_order_size=5000)"
    if not sep or not name or not rest.strip():
        fail(f"--set {item!r} {usage}")
    if name not in POLICY_FIELDS:
        fail(f"--set {item!r}: unknown risk parameter {name!r}; known: {', '.join(POLICY_FIELDS)}")
    text, colon, kind = rest.partition(":")
    kind = kind.strip().lower() if colon else "absolute"
    if kind not in ("absolute", "percentage", "multiplier"):
        fail(f"--set {item!r}: the type after ':' must be absolute, percentage or multiplier")
    try:
        value = parse_decimal(text, field=f"--set {name}")
    except ValueError as exc:
        fail(str(exc))
    return name, (value, kind)


@account_app.command("policy")
def account_policy_command(
    name: str = typer.Argument(..., help="Account name or id."),
    sets: list[str] | None = typer.Option(
        None,
        "--set",
        metavar="NAME=VALUE[:TYPE]",
        help=(
            "Set a risk parameter (repeatable). TYPE: absolute (default), percentage (of NAV, "
            "2 is 2%) or multiplier (of NAV); only money limits take the relative types."
        ),
    ),
    clears: list[str] | None = typer.Option(
        None, "--clear", metavar="NAME", help="Remove a risk parameter (repeatable)."
    ),
    database_url: str | None = DatabaseUrlOption,
    json_out: bool = JsonOption,
) -> None:
    """Show an account's risk parameters, or change them with --set and --clear.

    The parameters: max_order_size, max_open_exposure, max_open_positions, max_loss_per_trade,
    max_daily_loss, cooldown_seconds, max_trades_per_hour, max_trades_per_day, min_confidence,
    min_price_move_5m_pct, max_portfolio_delta, max_portfolio_gamma, max_portfolio_vega,
    max_positions_per_symbol, max_short_options, warn_fraction.
    """
    changes: dict[str, tuple[Decimal, str] | None] = {}
    for item in sets or []:
        key, spec = _parse_set(item)
        if key in changes:
            fail(f"--set {key} is given twice")
        changes[key] = spec
    for item in clears or []:
        key = item.strip()
        if key not in POLICY_FIELDS:
            fail(f"--clear {item!r}: unknown risk parameter; known: {', '.join(POLICY_FIELDS)}")
        if key in changes:
            fail(f"{key} is both set and cleared: give one of --set and --clear")
        changes[key] = None
    with open_db(database_url) as db, user_errors():
        desk = paper_desk(db, seed=DEFAULT_SEED, as_of=None)
        policy = desk.set_policy(name, changes) if changes else desk.get_policy(name)
    if json_out:
        print_json(policy)
        return
    _print_policy(policy)


def _print_policy(policy: dict[str, dict[str, str]]) -> None:
    if not policy:
        console.print("risk policy: no limits set (add them with `riskdesk account policy --set`)")
        return
    table = Table(title="risk policy")
    table.add_column("parameter")
    table.add_column("value", justify="right")
    table.add_column("type")
    for key in sorted(policy):
        table.add_row(key, quantity(Decimal(policy[key]["value"])), policy[key]["type"])
    console.print(table)


# --------------------------------------------------------------------------- orders

_ORDER_TYPES = {
    "market": OrderType.MARKET,
    "limit": OrderType.LIMIT,
    "stop": OrderType.STOP,
    "stop-limit": OrderType.STOP_LIMIT,
    "stop_limit": OrderType.STOP_LIMIT,
}
_TIFS = {t.value.lower(): t for t in TimeInForce}
_SIDES = {s.value: s for s in Side}


def _symbol(text: str, where: str) -> str:
    """An OCC symbol in its padded (21-character) form, or a stock ticker upper-cased."""
    symbol = text.strip().upper()
    if not symbol:
        fail(f"{where}: the symbol is empty")
    if is_occ_symbol(symbol):
        return format_occ(parse_occ(symbol))
    return symbol


def _side(text: str, where: str) -> Side:
    side = _SIDES.get(text.strip().lower())
    if side is None:
        fail(f"{where} must be buy or sell, got {text!r}")
    return side


def _leg(text: str) -> TicketLeg:
    """``SYMBOL:SIDE[:RATIO]`` (the symbol may hold the OCC padding spaces)."""
    parts = text.rsplit(":", 2)
    if len(parts) == 3 and parts[2].strip().isdigit():
        symbol, side, ratio_text = parts
        ratio = parse_whole(ratio_text, f"--leg {text!r}: ratio", low=1, high=100)
    else:
        symbol, _, side = text.rpartition(":")
        ratio = 1
    if not symbol.strip() or not side.strip():
        fail(
            f"--leg {text!r} must look like SYMBOL:buy|sell[:RATIO] (e.g. SPY250321C00600000:buy:1)"
        )
    where = f"--leg {text!r}"
    return TicketLeg(_symbol(symbol, where), _side(side, f"{where}: side"), ratio)


def _order_type(text: str) -> OrderType:
    kind = _ORDER_TYPES.get(text.strip().lower())
    if kind is None:
        fail(f"--type must be one of market, limit, stop, stop-limit; got {text!r}")
    return kind


def _tif(text: str) -> TimeInForce:
    time_in_force = _TIFS.get(text.strip().lower())
    if time_in_force is None:
        fail(f"--tif must be one of day, gtc, ioc, fok; got {text!r}")
    return time_in_force


def _ticket(
    *,
    occ: str | None,
    side: str | None,
    legs: list[str] | None,
    qty: str,
    order_type: str,
    limit: str | None,
    stop: str | None,
    credit: bool,
    tif: str,
) -> OrderTicket:
    """The ticket the options describe, with errors that name the option."""
    if occ is not None and legs:
        fail("give either --occ SYMBOL --side SIDE (one leg) or --leg SYMBOL:SIDE:RATIO, not both")
    if occ is None and not legs:
        fail("an order needs --occ SYMBOL --side buy|sell, or one --leg SYMBOL:SIDE:RATIO per leg")
    if occ is not None:
        if side is None:
            fail("--occ needs --side buy|sell")
        ticket_legs: tuple[TicketLeg, ...] = (
            TicketLeg(_symbol(occ, "--occ"), _side(side, "--side")),
        )
    else:
        if side is not None:
            fail("--side goes with --occ; a --leg carries its own side (SYMBOL:buy:1)")
        ticket_legs = tuple(_leg(item) for item in legs or [])
    kind = _order_type(order_type)
    time_in_force = _tif(tif)
    needs_limit = kind in (OrderType.LIMIT, OrderType.STOP_LIMIT)
    needs_stop = kind in (OrderType.STOP, OrderType.STOP_LIMIT)
    label = order_type.strip().lower()
    if needs_limit and limit is None:
        fail(f"a {label} order needs --limit PRICE")
    if not needs_limit and limit is not None:
        fail(f"a {label} order takes no --limit (use --type limit or stop-limit)")
    if needs_stop and stop is None:
        fail(f"a {label} order needs --stop PRICE")
    if not needs_stop and stop is not None:
        fail(f"a {label} order takes no --stop (use --type stop or stop-limit)")
    if credit and len(ticket_legs) < 2:
        fail("--credit applies to multi-leg orders (a one-leg price is the leg's own price)")
    if credit and limit is None and stop is None:
        fail("--credit says the net --limit / --stop price is a credit: give a price")
    return OrderTicket(
        legs=ticket_legs,
        quantity=parse_whole(qty, "--qty", low=1, high=MAX_ORDER_QTY),
        order_type=kind,
        time_in_force=time_in_force,
        limit_price=None if limit is None else parse_amount(limit, "--limit", minimum=Decimal(0)),
        stop_price=None if stop is None else parse_amount(stop, "--stop", minimum=Decimal(0)),
        net_credit=credit,
    )


@order_app.command("submit")
def order_submit_command(
    account: str = typer.Option(..., "--account", help="Account name or id."),
    occ: str | None = typer.Option(
        None, "--occ", metavar="SYMBOL", help="One leg: an OCC option symbol (or a stock ticker)."
    ),
    side: str | None = typer.Option(None, "--side", metavar="buy|sell", help="Side of --occ."),
    legs: list[str] | None = typer.Option(
        None,
        "--leg",
        metavar="SYMBOL:SIDE:RATIO",
        help="A leg of a multi-leg order (repeatable), e.g. --leg 'SPY250321C00600000:buy:1'.",
    ),
    qty: str | None = typer.Option(
        None,
        "--qty",
        metavar="N",
        help="Contracts (or shares); for a multi-leg order, units. With --signal: default "
        "the signal's own size.",
    ),
    signal: str | None = typer.Option(
        None,
        "--signal",
        metavar="ID",
        help="Trade a stored active signal (its legs; a limit at its net estimated price, or "
        "--type market); the signal is marked executed when the order is accepted.",
    ),
    order_type: str = typer.Option(
        "market", "--type", metavar="TYPE", help="market, limit, stop or stop-limit."
    ),
    limit: str | None = typer.Option(
        None,
        "--limit",
        metavar="PRICE",
        help="Limit price per unit, unsigned (multi-leg: the net price; see --credit).",
    ),
    stop: str | None = typer.Option(
        None, "--stop", metavar="PRICE", help="Stop (trigger) price per unit, unsigned."
    ),
    credit: bool = typer.Option(
        False, "--credit", help="Multi-leg: the net --limit/--stop price is a credit received."
    ),
    tif: str = typer.Option("day", "--tif", metavar="TIF", help="day, gtc, ioc or fok."),
    idempotency_key: str | None = typer.Option(
        None,
        "--idempotency-key",
        metavar="KEY",
        help="Retry-safe key: the same key and order returns the first result, creating nothing.",
    ),
    seed: str = SeedOption,
    market_as_of: str | None = MarketAsOfOption,
    database_url: str | None = DatabaseUrlOption,
    json_out: bool = JsonOption,
) -> None:
    """Submit an order through the kill switch and the risk gates to the paper venue.

    An accepted order is matched at once against the market (it may rest, e.g. a limit not yet
    marketable). A refused order is stored as rejected and the command exits 3 with the code
    (RISK_BLOCKED, KILL_SWITCH_ACTIVE, STALE_MARKET_DATA, IDEMPOTENCY_KEY_REUSED) and why.
    """
    seed_n, as_of = _seed(seed), _market_as_of(market_as_of)
    if signal is None:
        if qty is None:
            fail("an order needs --qty N (contracts, shares, or units of a multi-leg order)")
        ticket: OrderTicket | None = _ticket(
            occ=occ,
            side=side,
            legs=legs,
            qty=qty,
            order_type=order_type,
            limit=limit,
            stop=stop,
            credit=credit,
            tif=tif,
        )
        signal_id = None
    else:
        given = [
            name
            for name, value in (
                ("--occ", occ),
                ("--side", side),
                ("--leg", legs or None),
                ("--limit", limit),
                ("--stop", stop),
                ("--credit", credit or None),
            )
            if value is not None
        ]
        if given:
            fail(f"--signal trades the signal's own legs and price: drop {', '.join(given)}")
        signal_id = _uuid(signal, "--signal", "a signal id (as `riskdesk signal list` prints)")
        ticket = None
    with open_db(database_url) as db, user_errors():
        desk = paper_desk(db, seed=seed_n, as_of=as_of)
        book = SignalBook(db, clock=desk.clock)
        if ticket is None:
            assert signal_id is not None
            ticket = book.ticket(
                signal_id,
                quantity=None
                if qty is None
                else parse_whole(qty, "--qty", low=1, high=MAX_ORDER_QTY),
                order_type=_order_type(order_type),
                time_in_force=_tif(tif),
                # under an idempotency key a traded signal may be a retry: the desk decides
                check_state=idempotency_key is None,
            )
        try:
            result = desk.submit(account, ticket, idempotency_key=idempotency_key)
        except IdempotencyConflictError as exc:
            code = IdempotencyConflictError.code
            _refused(
                code,
                str(exc),
                json_out=json_out,
                data={"accepted": False, "code": code, "message": str(exc)},
            )
    if not json_out:
        _print_submit(result)
    if not result.accepted:
        code = result.code or "REFUSED"
        _refused(code, result.message or code, json_out=json_out, data=result.to_dict())
    if json_out:
        print_json(result.to_dict())


def _print_submit(result: SubmitResult) -> None:
    o = result.order
    again = (
        " (replayed: this key's earlier order; nothing new was created)" if result.replayed else ""
    )
    filled = (
        f", filled {o.filled_quantity} at {_net(o.avg_fill_price)}"
        if o.filled_quantity and o.avg_fill_price is not None
        else ""
    )
    console.print(
        f"order {o.id} {escape(o.symbol)} {o.side} {o.quantity} {o.order_type} "
        f"{o.time_in_force}: [bold]{o.status}[/]{filled}{again}",
        soft_wrap=True,
    )
    blocked = [c for c in result.checks if c.get("action") == "blocked"]
    warned = [c for c in result.checks if c.get("action") == "warned"]
    for check in blocked + warned:
        style = "red" if check["action"] == "blocked" else "yellow"
        console.print(
            f"[{style}]{check['action']}[/] {escape(str(check['rule']))}: "
            f"observed {check.get('observed')}, threshold {check.get('threshold')}: "
            f"{escape(str(check.get('message') or ''))}",
            soft_wrap=True,
        )
    if o.fills:
        _print_fills(o.fills)


@order_app.command("cancel")
def order_cancel_command(
    order_id: str = typer.Argument(..., help="The order's id."),
    reason: str = typer.Option("cancelled by the trader", "--reason", help="Why (stored)."),
    seed: str = SeedOption,
    market_as_of: str | None = MarketAsOfOption,
    database_url: str | None = DatabaseUrlOption,
    json_out: bool = JsonOption,
) -> None:
    """Cancel a working order (submitted or partially filled)."""
    ident = _order_id(order_id)
    seed_n, as_of = _seed(seed), _market_as_of(market_as_of)
    with open_db(database_url) as db, user_errors():
        try:
            order = paper_desk(db, seed=seed_n, as_of=as_of).cancel(ident, reason=reason)
        except OrderStateError as exc:
            fail(str(exc))
    if json_out:
        print_json(order.to_dict())
        return
    console.print(f"order {order.id}: [bold]{order.status}[/]", soft_wrap=True)


@order_app.command("list")
def order_list_command(
    account: str | None = typer.Option(
        None, "--account", help="Account name or id (default: every account)."
    ),
    status: str | None = typer.Option(
        None,
        "--status",
        help="Only orders in this status: " + ", ".join(s.value for s in OrderStatus) + ".",
    ),
    limit: str = typer.Option("50", "--limit", metavar="N", help="At most N orders, newest first."),
    database_url: str | None = DatabaseUrlOption,
    json_out: bool = JsonOption,
) -> None:
    """Orders, newest first."""
    known = [s.value for s in OrderStatus]
    wanted = None if status is None else status.strip().lower().replace("-", "_")
    if wanted is not None and wanted not in known:
        fail(f"--status must be one of {', '.join(known)}; got {status!r}")
    count = parse_whole(limit, "--limit", low=1, high=MAX_LIST_LIMIT)
    with open_db(database_url) as db, user_errors():
        desk = paper_desk(db, seed=DEFAULT_SEED, as_of=None)
        page = desk.list_orders(account, status=wanted, limit=count)
    orders = list(page.items)
    if json_out:
        print_json([o.to_dict() for o in orders])
        return
    table = Table(title="orders (newest first)")
    for col in ("created", "order id", "symbol", "side", "qty", "filled", "type", "tif", "limit"):
        table.add_column(col, justify="right" if col in ("qty", "filled", "limit") else "left")
    table.add_column("status")
    table.add_column("code")
    for o in orders:
        table.add_row(
            when(o.created_at, short=True),
            str(o.id),
            escape(o.symbol),
            o.side,
            str(o.quantity),
            str(o.filled_quantity),
            o.order_type,
            o.time_in_force,
            _net(o.limit_price),
            o.status,
            o.code or "",
        )
    console.print(table)
    if page.next_key is not None:
        console.print(f"(more orders: raise --limit above {count})")


@order_app.command("show")
def order_show_command(
    order_id: str = typer.Argument(..., help="The order's id."),
    database_url: str | None = DatabaseUrlOption,
    json_out: bool = JsonOption,
) -> None:
    """An order with its legs, its status history and its fills."""
    ident = _order_id(order_id)
    with open_db(database_url) as db, user_errors():
        order = paper_desk(db, seed=DEFAULT_SEED, as_of=None).get_order(ident)
    if json_out:
        print_json(order.to_dict())
        return
    _print_order(order)


def _print_order(o: OrderView) -> None:
    head = Table.grid(padding=(0, 2))
    head.add_column(style="dim")
    head.add_column()
    head.add_row("order", str(o.id))
    head.add_row("account", str(o.account_id))
    head.add_row("symbol", escape(o.symbol))
    head.add_row("side / qty", f"{o.side} {o.quantity} (filled {o.filled_quantity})")
    head.add_row("type / tif", f"{o.order_type} {o.time_in_force}")
    head.add_row("limit / stop", f"{_net(o.limit_price)} / {_net(o.stop_price)}")
    head.add_row("status", f"[bold]{o.status}[/]" + (f" ({escape(o.code)})" if o.code else ""))
    if o.reason:
        head.add_row("reason", escape(o.reason))
    head.add_row("avg fill (net)", _net(o.avg_fill_price))
    if o.idempotency_key:
        head.add_row("idempotency key", escape(o.idempotency_key))
    head.add_row("created", when(o.created_at))
    console.print(head)
    legs = Table(title="legs")
    for col in ("symbol", "side", "ratio", "quantity", "filled"):
        legs.add_column(col)
    for leg in o.legs:
        legs.add_row(
            escape(str(leg["symbol"])),
            str(leg["side"]),
            str(leg["ratio"]),
            str(leg["quantity"]),
            str(leg["filled_quantity"] or 0),
        )
    console.print(legs)
    events = Table(title="status history")
    for col in ("at", "from", "to", "reason"):
        events.add_column(col)
    for e in o.events:
        events.add_row(when(e["at"]), e["from"] or "", e["to"], escape(e["reason"] or ""))
    console.print(events)
    if o.fills:
        _print_fills(o.fills)


def _net(value: Decimal | None) -> str:
    """A stored net price per unit as traders read it: ``1.25`` (debit) or ``1.25 cr``."""
    if value is None:
        return "-"
    return f"{price(-value)} cr" if value < 0 else price(value)


def _print_fills(fills: Sequence[dict[str, Any]]) -> None:
    table = Table(title="fills")
    for col in ("at", "symbol", "side", "qty", "price", "commission", "fee"):
        table.add_column(
            col, justify="right" if col in ("qty", "price", "commission", "fee") else "left"
        )
    for f in fills:
        table.add_row(
            when(f["filled_at"]),
            escape(f["symbol"]),
            f["side"],
            f["qty"],
            price(Decimal(f["fill_price"])),
            money(Decimal(f["commission"])),
            money(Decimal(f["fee"])),
        )
    console.print(table)


# --------------------------------------------------------------------------- ledger


def positions_command(
    account: str | None = typer.Option(
        None, "--account", help="Account name or id (default: every account)."
    ),
    database_url: str | None = DatabaseUrlOption,
    json_out: bool = JsonOption,
) -> None:
    """Open paper positions with their average entry, last mark and P&L."""
    with open_db(database_url) as db, user_errors():
        rows = paper_desk(db, seed=DEFAULT_SEED, as_of=None).positions(account)
    if json_out:
        print_json(rows)
        return
    _print_positions(rows, title="open positions")


def _print_positions(rows: Sequence[dict[str, Any]], *, title: str) -> None:
    if not rows:
        console.print(f"{title}: none")
        return
    table = Table(title=title)
    table.add_column("symbol")
    for col in ("qty", "avg entry", "mark", "unrealized P&L", "realized P&L"):
        table.add_column(col, justify="right")
    for p in rows:
        table.add_row(
            escape(p["symbol"]),
            p["qty"],
            price(Decimal(p["avg_entry_price"])),
            price(None if p["mark_price"] is None else Decimal(p["mark_price"])),
            money(None if p["unrealized_pnl"] is None else Decimal(p["unrealized_pnl"])),
            money(None if p["realized_pnl"] is None else Decimal(p["realized_pnl"])),
        )
    console.print(table)


def nav_command(
    account: str = typer.Option(..., "--account", help="Account name or id."),
    seed: str = SeedOption,
    market_as_of: str | None = MarketAsOfOption,
    database_url: str | None = DatabaseUrlOption,
    json_out: bool = JsonOption,
) -> None:
    """Mark the account to the market and store a NAV snapshot (cash + positions = NAV)."""
    seed_n, as_of = _seed(seed), _market_as_of(market_as_of)
    with open_db(database_url) as db, user_errors():
        snap = paper_desk(db, seed=seed_n, as_of=as_of).snapshot_nav(account)
    if json_out:
        print_json(snap)
        return
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="dim")
    grid.add_column(justify="right")
    for key in ("nav", "cash", "positions_value", "realized_pnl", "unrealized_pnl", "total_pnl"):
        grid.add_row(key.replace("_", " "), money(Decimal(snap[key])))
    grid.add_row("marked at", when(snap["captured_at"]))
    console.print(grid)


def reconcile_command(
    account: str = typer.Option(..., "--account", help="Account name or id."),
    database_url: str | None = DatabaseUrlOption,
    json_out: bool = JsonOption,
) -> None:
    """Replay every fill into a fresh ledger and compare it with the stored one; exit 3 if not ok.

    Checks cash, costs, each position against its fills, fills against orders, and at the
    stored marks cash + positions = NAV and realized + unrealized = NAV - starting cash.
    """
    with open_db(database_url) as db, user_errors():
        result = paper_desk(db, seed=DEFAULT_SEED, as_of=None).reconcile(account)
    if json_out:
        print_json(result.to_dict())
    else:
        table = Table(title="reconciliation")
        table.add_column("check")
        table.add_column("ok")
        table.add_column("details")
        for check in result.checks:
            details = ", ".join(f"{k} {v}" for k, v in check.items() if k not in ("check", "ok"))
            table.add_row(
                escape(str(check["check"])),
                "[green]ok[/]" if check["ok"] else "[bold red]MISMATCH[/]",
                escape(details),
            )
        console.print(table)
    if not result.ok:
        if not json_out:
            bad = ", ".join(str(c["check"]) for c in result.checks if not c["ok"])
            err_console.print(f"[bold red]not reconciled:[/] {escape(bad)}", soft_wrap=True)
        raise typer.Exit(EXIT_REFUSED)
    if not json_out:
        console.print("[green]reconciled[/]: every check holds")


# --------------------------------------------------------------------------- kill switch


def _switch(
    enabled: bool,
    *,
    reason: str,
    actor: str | None,
    seed: str,
    market_as_of: str | None,
    database_url: str | None,
    json_out: bool,
) -> None:
    if not reason.strip():
        fail("--reason must not be empty: say why the switch changes")
    who = _actor(actor)
    seed_n, as_of = _seed(seed), _market_as_of(market_as_of)
    with open_db(database_url) as db, user_errors():
        result = paper_desk(db, seed=seed_n, as_of=as_of).set_kill_switch(
            enabled, actor=who, reason=reason.strip()
        )
    if json_out:
        print_json(result)
        return
    state = "[bold red]ON[/]" if result["enabled"] else "[bold green]off[/]"
    note = "" if result["changed"] else " (unchanged: it already was)"
    cancelled = (
        f"; {result['cancelled_orders']} resting order(s) cancelled"
        if result["cancelled_orders"]
        else ""
    )
    console.print(f"kill switch {state}{note}{cancelled}", soft_wrap=True)


@killswitch_app.command("on")
def killswitch_on_command(
    reason: str = typer.Option(..., "--reason", help="Why (stored with the change)."),
    actor: str | None = typer.Option(None, "--actor", help="Who (default: your login name)."),
    seed: str = SeedOption,
    market_as_of: str | None = MarketAsOfOption,
    database_url: str | None = DatabaseUrlOption,
    json_out: bool = JsonOption,
) -> None:
    """Turn the kill switch on: no new order passes and every resting order is cancelled."""
    _switch(
        True,
        reason=reason,
        actor=actor,
        seed=seed,
        market_as_of=market_as_of,
        database_url=database_url,
        json_out=json_out,
    )


@killswitch_app.command("off")
def killswitch_off_command(
    reason: str = typer.Option(..., "--reason", help="Why (stored with the change)."),
    actor: str | None = typer.Option(None, "--actor", help="Who (default: your login name)."),
    seed: str = SeedOption,
    market_as_of: str | None = MarketAsOfOption,
    database_url: str | None = DatabaseUrlOption,
    json_out: bool = JsonOption,
) -> None:
    """Reset the kill switch (explicit and audited): orders pass again."""
    _switch(
        False,
        reason=reason,
        actor=actor,
        seed=seed,
        market_as_of=market_as_of,
        database_url=database_url,
        json_out=json_out,
    )


@killswitch_app.command("status")
def killswitch_status_command(
    limit: str = typer.Option("20", "--limit", metavar="N", help="Latest N changes."),
    database_url: str | None = DatabaseUrlOption,
    json_out: bool = JsonOption,
) -> None:
    """The kill switch: on or off, since when, why, who, and its latest changes."""
    count = parse_whole(limit, "--limit", low=1, high=MAX_LIST_LIMIT)
    with open_db(database_url) as db, user_errors():
        status = paper_desk(db, seed=DEFAULT_SEED, as_of=None).kill_switch_status(limit=count)
    if json_out:
        print_json(status)
        return
    state = "[bold red]ON[/]" if status["enabled"] else "[bold green]off[/]"
    since = "" if status["since"] is None else f" since {when(status['since'])}"
    why = ""
    if status["reason"]:
        why = f": {escape(status['reason'])} ({status['trigger'] or '?'} by {escape(status['actor'] or '?')})"
    console.print(f"kill switch {state}{since}{why}", soft_wrap=True)
    if not status["history"]:
        return
    table = Table(title="changes (newest first)")
    for col in ("at", "state", "trigger", "actor", "reason", "observed", "threshold"):
        table.add_column(col)
    for row in status["history"]:
        table.add_row(
            when(row["created_at"]),
            "on" if row["enabled"] else "off",
            row["trigger"] or "",
            escape(row["actor"] or ""),
            escape(row["reason"] or ""),
            row["observed"] or "",
            row["threshold"] or "",
        )
    console.print(table)
