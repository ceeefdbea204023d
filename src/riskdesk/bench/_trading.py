"""``riskdesk bench trading``: orders per second through the risk gates and the fill model.

Each case submits ``orders`` marketable one-contract SPY option orders (buys and sells in
turn, so the book stays small) through :meth:`~riskdesk.trading.desk.PaperDesk.submit` on a
fresh paper account with a realistic policy of :data:`POLICY` (ten gates), a
:class:`~riskdesk.trading.desk.StaticMarket` of the synthetic market and a pinned clock. Every
order passes the kill switch and the gates, is stored with its risk events and transitions,
filled, and posted to the ledger. After each run the account must reconcile.

* ``engines`` (the same-run baseline): the pure engines alone for the same orders, with no
  store -- quotes from the snapshot, :func:`~riskdesk.trading.gates.evaluate` on fixed
  inputs, :func:`~riskdesk.trading.fills.match` and :meth:`Ledger.apply_fill
  <riskdesk.trading.ledger.Ledger.apply_fill>` -- so the store's share is visible;
* ``sqlite``: a temporary SQLite file (or ``database_url`` when given);
* ``postgres``: the PostgreSQL database at ``postgres_url`` when given (migrated to head;
  each run adds an account named ``bench-<hex>`` and its orders; the kill switch of that
  database must be off).

Figures are medians of ``repeats`` wall-clock runs, after one untimed warm-up order per case.
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from riskdesk.domain.instruments import OptionRight
from riskdesk.domain.market import MarketSnapshot
from riskdesk.domain.occ import format_occ
from riskdesk.store import Database
from riskdesk.store.migrate import upgrade_database
from riskdesk.trading import gates as g
from riskdesk.trading.desk import POLICY_FIELDS, OrderTicket, PaperDesk, StaticMarket, TicketLeg
from riskdesk.trading.fills import FillConfig, OrderState, match
from riskdesk.trading.ledger import Ledger
from riskdesk.trading.market import order_leg, quotes_from_snapshot
from riskdesk.trading.model import OrderRequest, Side

__all__ = ["POLICY", "BenchTradingError", "main", "measure"]

AS_OF = datetime(2025, 3, 4, 15, 0, tzinfo=UTC)
"""The pinned market time (a Tuesday, 10:00 New York); the clock is one second later."""

CASH = Decimal(1_000_000)

POLICY: dict[str, tuple[Decimal, str]] = {
    "max_order_size": (Decimal(5), "percentage"),
    "max_open_exposure": (Decimal(50), "percentage"),
    "max_open_positions": (Decimal(20), "absolute"),
    "max_daily_loss": (Decimal(5), "percentage"),
    "cooldown_seconds": (Decimal(0), "absolute"),
    "max_trades_per_hour": (Decimal(1_000_000), "absolute"),
    "max_trades_per_day": (Decimal(1_000_000), "absolute"),
    "max_positions_per_symbol": (Decimal(20), "absolute"),
    "max_short_options": (Decimal(50), "absolute"),
    "min_confidence": (Decimal("0.5"), "absolute"),
}
"""The bench account's risk policy: ten gates, all passed by the bench's orders.

``max_loss_per_trade`` is left out: the desk prices a sell that closes a long call as a naked
short call (an unlimited loss), which that gate blocks.
"""

CONFIDENCE = Decimal("0.9")


class BenchTradingError(RuntimeError):
    """The bench could not run a case (a refused order, a ledger that does not reconcile)."""


@dataclass(frozen=True)
class _Row:
    case: str
    orders: int
    median_s: float
    orders_per_s: float
    ms_per_order: float
    reconciled: bool
    vs_engines: float | None = None


def _market() -> MarketSnapshot:
    from riskdesk.adapters.simulated import generate_market

    return generate_market(
        seed=11, as_of=AS_OF, symbols=["SPY"], max_expiry_days=7, strikes_per_expiry=21
    )


def _symbol(snapshot: MarketSnapshot) -> str:
    spot = snapshot.underlyings[0].spot
    quotes = [
        q
        for q in snapshot.options
        if q.contract.right is OptionRight.CALL and q.bid is not None and q.bid > 0
    ]
    first = min(q.contract.expiry for q in quotes)
    near = min(
        (q for q in quotes if q.contract.expiry == first),
        key=lambda q: abs(q.contract.strike - spot),
    )
    return format_occ(near.contract)


def _side(i: int) -> Side:
    return Side.BUY if i % 2 == 0 else Side.SELL


def _engines(snapshot: MarketSnapshot, symbol: str, orders: int) -> Callable[[], bool]:
    """The pure engines for ``orders`` orders (no store); True when every order filled."""
    now = AS_OF + timedelta(seconds=1)
    policy = _engine_policy()
    config = FillConfig()

    def run() -> bool:
        ledger = Ledger.open(CASH)
        for i in range(orders):
            side = _side(i)
            request = OrderRequest(legs=(order_leg(symbol, side),), quantity=1)
            quotes = quotes_from_snapshot(snapshot, [symbol])
            quote = quotes[symbol]
            price = quote.ask if side is Side.BUY else quote.bid
            context = g.OrderContext(
                order=request,
                underlying="SPY",
                order_value=price * 100,
                projected_exposure=price * 100,
                max_loss=price * 100,
                delta=Decimal("0.5") * side.sign,
                gamma=Decimal("0.01"),
                vega=Decimal("0.1"),
                confidence=CONFIDENCE,
            )
            state = g.AccountState(
                nav=CASH,
                open_exposure=Decimal(0),
                positions=(),
                daily_pnl=Decimal(0),
                last_loss_at=None,
                trade_times=(),
                day_start=now.replace(hour=0, minute=0, second=0),
            )
            if not g.evaluate(context, state, policy, now).allowed:
                return False
            state0 = OrderState(filled_units=0, triggered=False)
            result = match(request, state0, quotes, now, config)
            if not result.fills:
                return False
            for fill in result.fills:
                ledger = ledger.apply_fill(fill)
        return True

    return run


def _engine_policy() -> g.RiskPolicy:
    """:data:`POLICY` as the engine's policy (what the desk reads from the stored rows)."""
    values: dict[str, Any] = {}
    for name, (value, kind) in POLICY.items():
        if POLICY_FIELDS[name] == "money":
            values[name] = (
                g.Limit.percent_of_nav(value) if kind == "percentage" else g.Limit.absolute(value)
            )
        elif POLICY_FIELDS[name] == "count":
            values[name] = int(value)
        else:
            values[name] = value
    return g.RiskPolicy(**values)


def _desk_run(db: Database, snapshot: MarketSnapshot, symbol: str, orders: int) -> bool:
    """Submit ``orders`` orders on a fresh account of ``db``; True when it reconciles."""
    now = AS_OF + timedelta(seconds=1)
    desk = PaperDesk(db, market=StaticMarket(snapshot), clock=lambda: now)
    name = f"bench-{uuid.uuid4().hex[:12]}"
    desk.create_account(name, CASH)
    desk.set_policy(name, POLICY)
    for i in range(orders):
        ticket = OrderTicket(legs=(TicketLeg(symbol, _side(i)),), quantity=1, confidence=CONFIDENCE)
        result = desk.submit(name, ticket)
        if not result.accepted or result.order.status != "filled":
            raise BenchTradingError(
                f"bench order {i} was not filled: {result.order.status} "
                f"({result.code}: {result.message})"
            )
    return desk.reconcile(name).ok


def _time(fn: Callable[[], bool], repeats: int) -> tuple[float, bool]:
    times: list[float] = []
    ok = True
    for _ in range(repeats):
        start = time.perf_counter()
        ok = fn() and ok
        times.append(time.perf_counter() - start)
    return statistics.median(times), ok


def _row(case: str, orders: int, seconds: float, ok: bool, base: float | None) -> _Row:
    return _Row(
        case=case,
        orders=orders,
        median_s=seconds,
        orders_per_s=orders / seconds if seconds > 0 else float("inf"),
        ms_per_order=seconds / orders * 1000,
        reconciled=ok,
        vs_engines=None if base is None or base <= 0 else seconds / base,
    )


def _database_case(
    url: str, snapshot: MarketSnapshot, symbol: str, orders: int, repeats: int
) -> tuple[float, bool]:
    db = Database.from_url(url)
    try:
        upgrade_database(db.engine)
        _desk_run(db, snapshot, symbol, 1)  # warm-up: imports, caches, the first connection
        return _time(lambda: _desk_run(db, snapshot, symbol, orders), repeats)
    finally:
        db.engine.dispose()


def measure(
    *,
    orders: int,
    repeats: int,
    database_url: str | None = None,
    postgres_url: str | None = None,
) -> dict[str, Any]:
    """Run every case and return the report (see the module docstring)."""
    if orders < 1 or repeats < 1:
        raise BenchTradingError(f"orders and repeats must be >= 1, got {orders} and {repeats}")
    snapshot = _market()
    symbol = _symbol(snapshot)
    engines = _engines(snapshot, symbol, orders)
    engines()
    base, base_ok = _time(engines, repeats)
    rows = [_row("engines", orders, base, base_ok, None)]
    with tempfile.TemporaryDirectory(prefix="riskdesk-bench-trading-") as tmp:
        url = database_url or f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
        seconds, ok = _database_case(url, snapshot, symbol, orders, repeats)
        rows.append(
            _row("sqlite" if database_url is None else "database", orders, seconds, ok, base)
        )
    if postgres_url:
        seconds, ok = _database_case(postgres_url, snapshot, symbol, orders, repeats)
        rows.append(_row("postgres", orders, seconds, ok, base))
    return {
        "orders": orders,
        "repeats": repeats,
        "symbol": symbol,
        "gates": len(POLICY),
        "policy": {k: {"value": str(v), "type": t} for k, (v, t) in POLICY.items()},
        "known_parameters": len(POLICY_FIELDS),
        "results": [asdict(r) for r in rows],
    }


def main(
    *,
    orders: int,
    repeats: int,
    database_url: str | None,
    postgres_url: str | None,
    as_json: bool,
) -> None:
    """Run the trading bench and print a table (or JSON with ``as_json``)."""
    report = measure(
        orders=orders, repeats=repeats, database_url=database_url, postgres_url=postgres_url
    )
    if as_json:
        print(json.dumps(report, indent=2))
        return
    table = Table(
        title=f"paper trading: {orders} market orders through {report['gates']} gates "
        f"and fills (median of {repeats})"
    )
    for column in ("case", "orders/s", "ms/order", "median s", "x engines", "reconciled"):
        table.add_column(column, justify="left" if column == "case" else "right")
    for r in report["results"]:
        table.add_row(
            r["case"],
            f"{r['orders_per_s']:,.0f}",
            f"{r['ms_per_order']:.2f}",
            f"{r['median_s']:.3f}",
            "baseline" if r["vs_engines"] is None else f"{r['vs_engines']:.0f}x",
            "yes" if r["reconciled"] else "NO",
        )
    console = Console()
    console.print(table)
    console.print(
        f"{report['symbol']}, alternating buys and sells of one contract; engines = gates + "
        "match + ledger without the store (same orders, same run)."
    )
