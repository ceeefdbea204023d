"""Signals, performance and venue smoke runs from the shell.

The commands (registered on the root app by :mod:`riskdesk.cli.main`)::

    riskdesk signal new --symbol SPY --direction neutral --strategy custom --confidence 0.7
                        [--expires-in 60m] --leg OCC:buy|sell[:QTY] ...
    riskdesk signal from-template TEMPLATE --symbol SPY --expiry YYYY-MM-DD
                        (--delta 0.2 [--wing-delta 0.05] | --offset 10 --width 5)
                        --confidence 0.7 [--short/--long] [--qty N] [--expires-in 60m]
    riskdesk signal list [--status S] [--symbol X] [--limit N] | show ID | cancel ID
    riskdesk performance --account A [--from DATE] [--to DATE] [--lots-csv FILE]
    riskdesk smoke run [--venue-url URL] | list [--limit N]

Signals are priced on the paper venue's market (the synthetic market of ``--seed``, default
7 or ``RISKDESK_PAPER_SEED``); ``--market-as-of ISO`` pins the market to that instant and the
clock one second later, as the trading commands do (:func:`riskdesk.cli.trading.paper_desk`).
A hand-built signal's legs are priced at their quote mids and its payoff figures computed by
:func:`riskdesk.trading.signals.signal_metrics`; a template signal is built by
:func:`riskdesk.trading.signals.build_signal`. Every command takes ``--json``.

Exit status: 0 done; 1 a bad input, an unknown reference, a signal whose status refuses the
change, or an account without NAV history; 3 a smoke run that failed (stored, with the step
that failed and why).
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from riskdesk.cli._common import (
    DatabaseUrlOption,
    JsonOption,
    atomic_output,
    fail,
    open_db,
    parse_amount,
    parse_whole,
    print_json,
    user_errors,
)
from riskdesk.cli._render import money, percent, price, when
from riskdesk.cli.trading import (
    DEFAULT_SEED,
    MAX_LIST_LIMIT,
    MarketAsOfOption,
    SeedOption,
    paper_desk,
)
from riskdesk.cli.workbench import MAX_SEED
from riskdesk.trading.desk import PaperDesk
from riskdesk.trading.model import Side
from riskdesk.trading.reports import PerformanceReports, PerformanceResult, lot_dict
from riskdesk.trading.signal_book import SignalBook, SignalView
from riskdesk.trading.signals import (
    TEMPLATES,
    ByDelta,
    ByOffset,
    Direction,
    HandLeg,
    SignalDraft,
    SignalStatus,
    build_signal,
    hand_built_signal,
)
from riskdesk.trading.smoke import SmokeRuns, SmokeRunView

__all__ = [
    "EXIT_SMOKE_FAILED",
    "MAX_EXPIRES_IN",
    "performance_command",
    "signal_app",
    "smoke_app",
]

EXIT_SMOKE_FAILED = 3
"""Exit status of a smoke run that failed (the run is stored all the same)."""

MAX_EXPIRES_IN = timedelta(days=365)
"""The longest a signal may stay active."""

MAX_LEG_QTY = 10_000
MAX_LEGS = 8

signal_app = typer.Typer(
    no_args_is_help=True,
    help="Trading signals: build by hand or from a template, list, show, cancel.",
)
smoke_app = typer.Typer(
    no_args_is_help=True,
    help="Venue smoke runs: check latency, the scratch account and a simulated order.",
)
console = Console()

ExpiresInOption = typer.Option(
    "60m",
    "--expires-in",
    metavar="DURATION",
    help="How long the signal stays active: 90s, 60m, 4h or 2d (at most 365 days).",
)
ConfidenceOption = typer.Option(
    ..., "--confidence", metavar="C", help="Confidence in [0, 1], e.g. 0.7."
)

_DURATION = re.compile(r"^\s*(\d{1,9})\s*([smhd])\s*$", re.IGNORECASE)
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


# --------------------------------------------------------------------------- parsing


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


def _expires_in(text: str) -> timedelta:
    """``90s`` / ``60m`` / ``4h`` / ``2d`` to a positive duration of at most a year."""
    match = _DURATION.match(text)
    if match is None:
        fail(f"--expires-in {text!r} must be a whole number and a unit: 90s, 60m, 4h or 2d")
    span = timedelta(**{_UNITS[match.group(2).lower()]: int(match.group(1))})
    if not timedelta(0) < span <= MAX_EXPIRES_IN:
        fail(f"--expires-in {text!r} must be more than 0 and at most {MAX_EXPIRES_IN.days} days")
    return span


def _confidence(text: str) -> Decimal:
    value = parse_amount(text, "--confidence", minimum=Decimal(0))
    if value > 1:
        fail(f"--confidence must be in [0, 1], got {text.strip()}")
    return value


def _direction(text: str | None) -> Direction | None:
    if text is None:
        return None
    try:
        return Direction(text.strip().lower())
    except ValueError:
        allowed = ", ".join(d.value for d in Direction)
        fail(f"--direction must be one of {allowed}; got {text!r}")


def _signal_id(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text.strip())
    except ValueError:
        fail(f"SIGNAL_ID {text!r} is not a signal id (a UUID, as `riskdesk signal list` prints)")


def _leg_spec(text: str) -> tuple[str, Side, int]:
    """``OCC:SIDE[:QTY]`` to (OCC symbol, side, quantity); the symbol may hold spaces."""
    usage = f"--leg {text!r} must look like OCC:buy|sell[:QTY] (e.g. SPY250321C00600000:buy:1)"
    parts = text.rsplit(":", 2)
    if len(parts) == 3 and parts[2].strip().isdigit():
        symbol, side_text, qty_text = parts
        qty = parse_whole(qty_text, f"--leg {text!r}: quantity", low=1, high=MAX_LEG_QTY)
    else:
        symbol, _, side_text = text.rpartition(":")
        qty = 1
    if not symbol.strip() or not side_text.strip():
        fail(usage)
    try:
        side = Side(side_text.strip().lower())
    except ValueError:
        fail(f"--leg {text!r}: the side must be buy or sell, got {side_text.strip()!r}")
    return symbol.strip().upper(), side, qty


def _day(text: str | None, option: str) -> date | None:
    """``YYYY-MM-DD``, or an ISO timestamp with a zone (its UTC date)."""
    if text is None:
        return None
    raw = text.strip()
    try:
        return date.fromisoformat(raw)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        fail(f"{option} {text!r} is not a date (YYYY-MM-DD) or an ISO-8601 timestamp")
    if moment.tzinfo is None:
        fail(f"{option} {text!r} has no timezone; add Z or give a date YYYY-MM-DD")
    return moment.astimezone(UTC).date()


# --------------------------------------------------------------------------- signals


def _hand_built(
    desk: PaperDesk,
    *,
    symbol: str,
    direction: Direction,
    strategy: str,
    confidence: Decimal,
    lifetime: timedelta,
    legs: list[tuple[str, Side, int]],
) -> SignalDraft:
    """A signal of ``legs`` priced at their quote mids on the desk's market now."""
    now = desk.clock()
    return hand_built_signal(
        desk.market.snapshot([symbol], now),
        symbol=symbol,
        direction=direction,
        strategy_type=strategy,
        confidence=confidence,
        generated_at=now,
        expires_at=now + lifetime,
        legs=[HandLeg(occ, side, qty, label=f"--leg {occ.strip()}") for occ, side, qty in legs],
    )


def _print_signal(signal: SignalView) -> None:
    data = signal.to_dict()
    head = Table.grid(padding=(0, 2))
    head.add_column(style="dim")
    head.add_column()
    head.add_row("signal", str(signal.id))
    head.add_row(
        "symbol / strategy",
        f"{escape(signal.symbol)} {escape(signal.strategy_type)} ({signal.direction})",
    )
    head.add_row("status", f"[bold]{signal.status}[/]")
    head.add_row("confidence", str(signal.confidence))
    head.add_row("underlying price", price(signal.underlying_price))
    head.add_row("generated / expires", f"{when(signal.generated_at)} / {when(signal.expires_at)}")
    net = data["net_premium"]
    if net is not None:
        value = Decimal(net)
        head.add_row(
            "net premium", f"{price(-value)} credit" if value < 0 else f"{price(value)} debit"
        )
    head.add_row("max profit", _money_or_unlimited(data["max_profit"]))
    head.add_row("max loss", _money_or_unlimited(data["max_loss"]))
    head.add_row("breakevens", ", ".join(price(Decimal(b)) for b in data["breakevens"]) or "none")
    pop = data["probability_of_profit"]
    head.add_row("probability of profit", "-" if pop is None else percent(float(pop)))
    console.print(head)
    table = Table(title="legs")
    for col in ("#", "action", "qty", "OCC symbol", "type", "strike", "expiry", "est. price"):
        table.add_column(
            col, justify="right" if col in ("#", "qty", "strike", "est. price") else "left"
        )
    for leg in signal.legs:
        estimated = leg["estimated_price"]
        table.add_row(
            str(leg["leg_order"]),
            str(leg["action"]),
            str(leg["quantity"]),
            escape(str(leg["occ_symbol"])),
            str(leg["option_type"]),
            price(Decimal(str(leg["strike"]))),
            str(leg["expiry"]),
            "-" if estimated is None else price(Decimal(str(estimated))),
        )
    console.print(table)


def _money_or_unlimited(text: str | None) -> str:
    return "unlimited" if text is None else money(Decimal(text))


@signal_app.command("new")
def signal_new_command(
    symbol: str = typer.Option(..., "--symbol", help="Underlying, e.g. SPY."),
    direction: str = typer.Option(
        ..., "--direction", help="Market view: bullish, bearish or neutral."
    ),
    strategy: str = typer.Option(
        "custom", "--strategy", help="Strategy type stored with the signal (1-50 characters)."
    ),
    confidence: str = ConfidenceOption,
    expires_in: str = ExpiresInOption,
    legs: list[str] = typer.Option(
        ...,
        "--leg",
        metavar="OCC:SIDE[:QTY]",
        help="A leg (repeatable): an OCC option symbol, buy or sell, contracts (default 1).",
    ),
    seed: str = SeedOption,
    market_as_of: str | None = MarketAsOfOption,
    database_url: str | None = DatabaseUrlOption,
    json_out: bool = JsonOption,
) -> None:
    """Store a hand-built signal: legs priced at their quote mids, payoff figures computed."""
    view = _direction(direction)
    assert view is not None
    if not strategy.strip() or len(strategy.strip()) > 50:
        fail(f"--strategy must be 1 to 50 characters, got {strategy!r}")
    if len(legs) > MAX_LEGS:
        fail(f"a signal holds at most {MAX_LEGS} legs; got {len(legs)} --leg options")
    specs = [_leg_spec(item) for item in legs]
    lifetime, level = _expires_in(expires_in), _confidence(confidence)
    seed_n, as_of = _seed(seed), _market_as_of(market_as_of)
    with open_db(database_url) as db, user_errors():
        desk = paper_desk(db, seed=seed_n, as_of=as_of)
        draft = _hand_built(
            desk,
            symbol=symbol.strip().upper(),
            direction=view,
            strategy=strategy.strip(),
            confidence=level,
            lifetime=lifetime,
            legs=specs,
        )
        signal = SignalBook(db, clock=desk.clock).store(draft)
    if json_out:
        print_json(signal.to_dict())
        return
    _print_signal(signal)


@signal_app.command("from-template")
def signal_template_command(
    template: str = typer.Argument(..., help="One of: " + ", ".join(sorted(TEMPLATES)) + "."),
    symbol: str = typer.Option(..., "--symbol", help="Underlying, e.g. SPY."),
    expiry: str = typer.Option(..., "--expiry", metavar="YYYY-MM-DD", help="A listed expiry."),
    delta: str | None = typer.Option(
        None, "--delta", metavar="D", help="Choose strikes by |delta| (short strikes), e.g. 0.2."
    ),
    wing_delta: str | None = typer.Option(
        None,
        "--wing-delta",
        metavar="D",
        help="|delta| of the wings (iron condor, iron butterfly); default 0.05.",
    ),
    offset: str | None = typer.Option(
        None, "--offset", metavar="X", help="Choose strikes by distance from spot, e.g. 10."
    ),
    width: str | None = typer.Option(
        None, "--width", metavar="W", help="With --offset: the wings' (or spread's) width."
    ),
    confidence: str = ConfidenceOption,
    short: bool | None = typer.Option(
        None,
        "--short/--long",
        help="Seller's or buyer's version (iron condor and butterfly: short by default).",
    ),
    qty: str = typer.Option("1", "--qty", metavar="N", help="Contracts per leg."),
    direction: str | None = typer.Option(
        None, "--direction", help="Override the template's direction."
    ),
    expires_in: str = ExpiresInOption,
    seed: str = SeedOption,
    market_as_of: str | None = MarketAsOfOption,
    database_url: str | None = DatabaseUrlOption,
    json_out: bool = JsonOption,
) -> None:
    """Build a signal from a strategy template on the market now, and store it."""
    name = template.strip().lower()
    if name not in TEMPLATES:
        fail(f"unknown template {template!r}; templates: {', '.join(sorted(TEMPLATES))}")
    try:
        day = date.fromisoformat(expiry.strip())
    except ValueError:
        fail(f"--expiry {expiry!r} is not a date written YYYY-MM-DD")
    if delta is not None and (offset is not None or width is not None):
        fail("give either --delta (and --wing-delta) or --offset and --width, not both")
    if wing_delta is not None and delta is None:
        fail("--wing-delta goes with --delta")
    selection: ByDelta | ByOffset
    if offset is not None or width is not None:
        if offset is None or width is None:
            fail("--offset and --width go together (e.g. --offset 10 --width 5)")
        selection = ByOffset(
            offset=parse_amount(offset, "--offset", minimum=Decimal(0)),
            width=parse_amount(width, "--width", nonzero=True, minimum=Decimal(0)),
        )
    elif delta is not None:
        short_delta = parse_amount(delta, "--delta", minimum=Decimal(0))
        winged = name in ("iron_condor", "iron_butterfly")
        wing = (
            parse_amount(wing_delta, "--wing-delta", minimum=Decimal(0))
            if wing_delta is not None
            else (ByDelta().wing_delta if winged else None)
        )
        with user_errors():
            selection = ByDelta(short_delta=short_delta, wing_delta=wing)
    elif name == "straddle":
        selection = ByDelta()  # a straddle is at the money: the selection is not used
    else:
        fail(f"{name} needs --delta D or --offset X --width W to choose its strikes")
    units = parse_whole(qty, "--qty", low=1, high=MAX_LEG_QTY)
    lifetime, level, view = _expires_in(expires_in), _confidence(confidence), _direction(direction)
    seed_n, as_of = _seed(seed), _market_as_of(market_as_of)
    underlying = symbol.strip().upper()
    with open_db(database_url) as db, user_errors():
        desk = paper_desk(db, seed=seed_n, as_of=as_of)
        now = desk.clock()
        draft = build_signal(
            name,
            desk.market.snapshot([underlying], now),
            symbol=underlying,
            expiry=day,
            selection=selection,
            quantity=units,
            confidence=level,
            generated_at=now,
            expires_at=now + lifetime,
            direction=view,
            short=short,
        )
        signal = SignalBook(db, clock=desk.clock).store(draft)
    if json_out:
        print_json(signal.to_dict())
        return
    _print_signal(signal)


@signal_app.command("list")
def signal_list_command(
    status: str | None = typer.Option(
        None, "--status", help="Only " + ", ".join(s.value for s in SignalStatus) + "."
    ),
    symbol: str | None = typer.Option(None, "--symbol", help="Only this underlying."),
    limit: str = typer.Option("50", "--limit", metavar="N", help="At most N, newest first."),
    database_url: str | None = DatabaseUrlOption,
    json_out: bool = JsonOption,
) -> None:
    """Stored signals, newest first."""
    wanted = None if status is None else status.strip().lower()
    known = [s.value for s in SignalStatus]
    if wanted is not None and wanted not in known:
        fail(f"--status must be one of {', '.join(known)}; got {status!r}")
    count = parse_whole(limit, "--limit", low=1, high=MAX_LIST_LIMIT)
    with open_db(database_url) as db, user_errors():
        page = SignalBook(db).list(
            status=wanted,
            symbol=None if symbol is None else symbol.strip().upper(),
            limit=count,
        )
    signals = list(page.items)
    if json_out:
        print_json([s.to_dict() for s in signals])
        return
    table = Table(title="signals (newest first)")
    for col in ("created", "signal id", "symbol", "strategy", "direction", "legs", "confidence"):
        table.add_column(col)
    for col in ("max profit", "max loss"):
        table.add_column(col, justify="right")
    table.add_column("status")
    table.add_column("expires")
    for s in signals:
        data = s.to_dict()
        table.add_row(
            when(s.created_at, short=True),
            str(s.id),
            escape(s.symbol),
            escape(s.strategy_type),
            s.direction,
            str(len(s.legs)),
            str(s.confidence),
            _money_or_unlimited(data["max_profit"]),
            _money_or_unlimited(data["max_loss"]),
            s.status,
            when(s.expires_at, short=True),
        )
    console.print(table)
    if page.next_key is not None:
        console.print(f"(more signals: raise --limit above {count})")


@signal_app.command("show")
def signal_show_command(
    signal_id: str = typer.Argument(..., help="The signal's id."),
    database_url: str | None = DatabaseUrlOption,
    json_out: bool = JsonOption,
) -> None:
    """A signal with its legs and payoff figures."""
    ident = _signal_id(signal_id)
    with open_db(database_url) as db, user_errors():
        signal = SignalBook(db).get(ident)
    if json_out:
        print_json(signal.to_dict())
        return
    _print_signal(signal)


@signal_app.command("cancel")
def signal_cancel_command(
    signal_id: str = typer.Argument(..., help="The signal's id."),
    database_url: str | None = DatabaseUrlOption,
    json_out: bool = JsonOption,
) -> None:
    """Cancel an active signal (exit 1 when it is executed, expired or cancelled already)."""
    ident = _signal_id(signal_id)
    with open_db(database_url) as db, user_errors():
        signal = SignalBook(db).cancel(ident)
    if json_out:
        print_json(signal.to_dict())
        return
    console.print(f"signal {signal.id}: [bold]{signal.status}[/]", soft_wrap=True)


# --------------------------------------------------------------------------- performance


def performance_command(
    account: str = typer.Option(..., "--account", help="Account name or id."),
    start: str | None = typer.Option(
        None, "--from", metavar="DATE", help="First UTC day (YYYY-MM-DD or ISO timestamp)."
    ),
    end: str | None = typer.Option(
        None, "--to", metavar="DATE", help="Last UTC day, inclusive (default: the last NAV)."
    ),
    lots_csv: Path | None = typer.Option(
        None, "--lots-csv", metavar="FILE", help="Also write the realized tax lots as CSV."
    ),
    database_url: str | None = DatabaseUrlOption,
    json_out: bool = JsonOption,
) -> None:
    """An account's performance over a period: returns, ratios, drawdown, daily P&L, tax lots.

    The figures are stored (performance_metrics, daily_pnl). Exit 1 when the account has no
    NAV snapshot in the period (`riskdesk nav --account A` takes one).
    """
    first, last = _day(start, "--from"), _day(end, "--to")
    if first is not None and last is not None and last < first:
        fail(f"--to {last} is before --from {first}")
    with open_db(database_url) as db, user_errors():
        reports = PerformanceReports(paper_desk(db, seed=DEFAULT_SEED, as_of=None))
        result = reports.performance(account, first, last)
        lots = reports.tax_lots(result.account_id)
        if lots_csv is not None:
            with atomic_output(lots_csv) as tmp:
                tmp.write_text(reports.tax_lots_csv(result.account_id), encoding="utf-8")
    if json_out:
        data = result.to_dict() | {"tax_lots": [lot_dict(lot) for lot in lots]}
        if lots_csv is not None:
            data["lots_csv"] = str(lots_csv)
        print_json(data)
        return
    _print_performance(result)
    console.print(f"tax lots: {len(lots)} realized", soft_wrap=True)
    if lots_csv is not None:
        console.print(f"wrote {escape(str(lots_csv))}", soft_wrap=True)


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:,.4f}"


def _print_performance(result: PerformanceResult) -> None:
    r = result.report
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="dim")
    grid.add_column(justify="right")
    grid.add_row("account", escape(result.account))
    grid.add_row("period", f"{result.period_start} .. {result.period_end}")
    grid.add_row("NAV", f"{money(r.starting_nav)} -> {money(r.ending_nav)}")
    grid.add_row("total return", percent(r.total_return))
    grid.add_row("trades (won / lost)", f"{r.trades} ({r.wins} / {r.losses})")
    grid.add_row("win rate", percent(r.win_rate))
    grid.add_row("average win / loss", f"{money(r.average_win)} / {money(r.average_loss)}")
    grid.add_row("profit factor", "-" if r.profit_factor is None else f"{r.profit_factor:,.4f}")
    grid.add_row("Sharpe / Sortino", f"{_ratio(r.sharpe)} / {_ratio(r.sortino)}")
    grid.add_row("volatility (annual)", percent(r.volatility))
    recovered = "recovered" if r.max_drawdown_recovered else "not recovered"
    grid.add_row(
        "max drawdown",
        f"{percent(r.max_drawdown)} ({money(r.max_drawdown_amount)}), "
        f"{r.max_drawdown_duration} {recovered}",
    )
    console.print(grid)
    if result.daily:
        table = Table(title="daily P&L")
        table.add_column("date")
        for col in ("realized", "unrealized", "commission", "fees", "net", "trades"):
            table.add_column(col, justify="right")
        for d in result.daily:
            table.add_row(
                d.day.isoformat(),
                money(d.realized),
                money(d.unrealized),
                money(d.commission),
                money(d.fees),
                money(d.net),
                str(d.trades),
            )
        console.print(table)


# --------------------------------------------------------------------------- smoke runs


def _print_run(run: SmokeRunView) -> None:
    style = "green" if run.status == "passed" else "bold red"
    latency = "-" if run.latency_ms is None else f"{run.latency_ms} ms"
    console.print(
        f"smoke run {run.id}: [{style}]{run.status}[/]"
        + ("" if run.failed_step is None else f" at the {run.failed_step} step")
        + f", latency {latency}",
        soft_wrap=True,
    )
    console.print(f"  account: {escape(run.wallet_check or '-')}", soft_wrap=True)
    console.print(f"  order: {escape(run.tx_simulation or '-')}", soft_wrap=True)


@smoke_app.command("run")
def smoke_run_command(
    venue_url: str | None = typer.Option(
        None,
        "--venue-url",
        metavar="URL",
        help="Measure latency as a GET to this URL (e.g. a service's /v1/health); 2xx in 5 s.",
    ),
    symbol: str = typer.Option("SPY", "--symbol", help="The underlying the smoke order trades."),
    seed: str = SeedOption,
    market_as_of: str | None = MarketAsOfOption,
    database_url: str | None = DatabaseUrlOption,
    json_out: bool = JsonOption,
) -> None:
    """Check the venue: market latency, the scratch account, a far limit placed and cancelled.

    The run is stored either way; exit 3 when a step failed.
    """
    if venue_url is not None and not re.match(r"^https?://\S+$", venue_url.strip()):
        fail(f"--venue-url {venue_url!r} must be an http:// or https:// URL")
    seed_n, as_of = _seed(seed), _market_as_of(market_as_of)
    with open_db(database_url) as db, user_errors():
        desk = paper_desk(db, seed=seed_n, as_of=as_of)
        run = SmokeRuns(desk, symbol=symbol.strip().upper()).run(
            venue_url=None if venue_url is None else venue_url.strip()
        )
    if json_out:
        print_json(run.to_dict())
    else:
        _print_run(run)
    if run.status != "passed":
        raise typer.Exit(EXIT_SMOKE_FAILED)


@smoke_app.command("list")
def smoke_list_command(
    limit: str = typer.Option("20", "--limit", metavar="N", help="At most N, newest first."),
    database_url: str | None = DatabaseUrlOption,
    json_out: bool = JsonOption,
) -> None:
    """Stored smoke runs, newest first."""
    count = parse_whole(limit, "--limit", low=1, high=MAX_LIST_LIMIT)
    with open_db(database_url) as db, user_errors():
        page = SmokeRuns(paper_desk(db, seed=DEFAULT_SEED, as_of=None)).list(limit=count)
    runs = list(page.items)
    if json_out:
        print_json([r.to_dict() for r in runs])
        return
    table = Table(title="smoke runs (newest first)")
    for col in ("ran at", "run id", "status", "failed step", "latency"):
        table.add_column(col)
    for r in runs:
        table.add_row(
            when(r.ran_at),
            str(r.id),
            r.status,
            r.failed_step or "",
            "-" if r.latency_ms is None else f"{r.latency_ms} ms",
        )
    console.print(table)
