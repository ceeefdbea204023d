"""A whole simulated 0DTE trading day on the synthetic market, reconciled at every NAV snapshot.

:func:`run_paper_day` opens a paper account, sets a few risk gates on it and walks the
session of ``day`` on :func:`riskdesk.adapters.simulated.paths.simulate_live` snapshots
(every ``step_minutes`` from the 09:30 New York open to the 16:00 close). At each step the
desk's market is that snapshot (:class:`~riskdesk.trading.desk.StaticMarket`) and its clock
the snapshot time plus one second, so the market is always fresh. Then, in order:

1. exits: each open trade is marked at the legs' mids and
   :func:`riskdesk.trading.ledger.exit_signal` decides (stop loss at 2x the entry credit,
   profit target at 50% of it, and a time rule 15 minutes before the close); a fired rule
   closes the trade with a market order of the reverse legs;
2. entries: at fixed minutes after the open (30, 120 and 210: 15:00, 16:30 and 18:00 UTC in
   winter) a :class:`~riskdesk.trading.cycle.TradeCycles` cycle sells a 0DTE iron condor by
   delta, a DAY limit at the mid credit (gates and kill switch apply: with
   ``max_short_options=2`` a second condor while one is open is blocked);
3. the kill-switch demo: at one step the switch is turned on, an entry is refused with
   ``KILL_SWITCH_ACTIVE``, and the switch is turned off (only when it was off at the start);
4. :meth:`~riskdesk.trading.desk.PaperDesk.process_market` matches resting orders, then the
   account's NAV is snapshotted and reconciled.

At the close, :meth:`~riskdesk.trading.desk.PaperDesk.close_day` expires the DAY orders and
settles the expiring options at the close snapshot. The entries listed in
``PaperDayRule.hold_to_expiry`` skip the time rule, so a condor that neither hits its target
nor its stop is left to expire (0DTE traders often do): SPY options are physically settled,
so an in-the-money one is exercised or assigned into shares at the strike. Those shares are
**left** in the account, marked at the close (flattening them would be a new, unhedged stock
order through the gates after the close).

Reconciliation after every NAV snapshot: :meth:`PaperDesk.reconcile` (stored ledger against
the fills replayed) **and** an independent check on the stored rows: NAV equals cash plus
``sum(quantity x mark x multiplier)`` of the stored positions, realized plus unrealized equals
NAV minus the starting cash, and the signed fill quantities of each symbol sum to its
position. ``PaperDayReport.reconciliation["ok"]`` is True only when every identity held at
every snapshot.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from riskdesk.adapters.simulated.paths import simulate_live
from riskdesk.domain.market import MarketSnapshot
from riskdesk.domain.timeutil import is_trading_day
from riskdesk.store import Database
from riskdesk.trading.cycle import CycleError, CycleResult, SimpleRule, TradeCycles
from riskdesk.trading.desk import OrderTicket, PaperDesk, StaticMarket, TicketLeg
from riskdesk.trading.ledger import ExitRules, TradeEntry, TradePosition, exit_signal
from riskdesk.trading.market import quotes_from_snapshot
from riskdesk.trading.model import OrderType, Side, TimeInForce
from riskdesk.trading.reports import PerformanceReports

__all__ = ["DEFAULT_DAY", "PaperDayReport", "PaperDayRule", "run_paper_day"]

_NEW_YORK = ZoneInfo("America/New_York")
_ZERO = Decimal(0)
_OPEN = time(9, 30)
_CLOSE = time(16, 0)
_SESSION_MINUTES = 390

DEFAULT_DAY = date(2025, 3, 4)
"""A Tuesday before the 2025 DST change: the session is 14:30-21:00 UTC and SPY lists a
same-day (0DTE) expiry in the synthetic market."""

DEFAULT_POLICY: Mapping[str, tuple[Decimal, str]] = {
    "max_order_size": (Decimal(5), "percentage"),
    "max_loss_per_trade": (Decimal(1500), "absolute"),
    "max_trades_per_day": (Decimal(12), "absolute"),
    "min_confidence": (Decimal("0.5"), "absolute"),
    "max_short_options": (Decimal(2), "absolute"),
}
"""The gates the simulated account runs under (``PaperDesk.set_policy`` form)."""


@dataclass(frozen=True, slots=True)
class PaperDayRule:
    """What the simulated trader does (minutes are after the 09:30 New York open).

    Parameters
    ----------
    entry_minutes
        When a 0DTE short iron condor is opened (30, 120, 210: 15:00, 16:30, 18:00 UTC in
        winter).
    hold_to_expiry
        Entries (by minute) exempt from the time rule: left to expire unless the target or
        the stop fires.
    entry
        The cycle's rule (template, deltas, quantity, confidence).
    profit_target, stop_loss
        Fractions of the entry credit (0.5: buy back at half the credit; 2: at three times).
    exit_minutes_before_close
        The time rule.
    kill_switch_minute
        When the switch is flipped on then off (an entry is refused in between); None: never.
    policy
        The account's risk parameters.

    """

    entry_minutes: tuple[int, ...] = (30, 120, 210)
    hold_to_expiry: tuple[int, ...] = (210,)
    entry: SimpleRule = field(default_factory=SimpleRule)
    profit_target: Decimal = Decimal("0.5")
    stop_loss: Decimal = Decimal(2)
    exit_minutes_before_close: int = 15
    kill_switch_minute: int | None = 150
    policy: Mapping[str, tuple[Decimal, str]] = field(default_factory=lambda: dict(DEFAULT_POLICY))

    def __post_init__(self) -> None:
        for minute in (*self.entry_minutes, *self.hold_to_expiry):
            if not 0 <= minute < _SESSION_MINUTES:
                raise ValueError(f"rule minute {minute} is outside the session (0..389)")
        if self.kill_switch_minute is not None and not (
            0 <= self.kill_switch_minute < _SESSION_MINUTES
        ):
            raise ValueError(f"kill_switch_minute {self.kill_switch_minute} is outside the session")
        if self.exit_minutes_before_close < 0:
            raise ValueError("exit_minutes_before_close must be >= 0")


@dataclass
class _Trade:
    label: str
    minute: int
    entry_order: uuid.UUID
    legs: tuple[TicketLeg, ...]
    units: int
    max_profit: Decimal | None
    max_loss: Decimal | None
    entry_net: Decimal | None = None
    exit_order: uuid.UUID | None = None
    exit_rule: str | None = None
    closed: bool = False


@dataclass(frozen=True, slots=True)
class PaperDayReport:
    """The day: P&L, equity curve, orders, fills, risk events, settlements, reconciliation."""

    seed: int
    day: date
    symbol: str
    account: str
    account_id: uuid.UUID
    starting_cash: Decimal
    final_nav: Decimal
    realized_pnl: Decimal
    unrealized_pnl: Decimal
    equity_curve: tuple[tuple[datetime, Decimal], ...]
    orders: tuple[dict[str, Any], ...]
    fills: tuple[dict[str, Any], ...]
    risk_events: Mapping[str, Mapping[str, int]]
    kill_switch_events: tuple[dict[str, Any], ...]
    exits: tuple[dict[str, Any], ...]
    settlements: tuple[dict[str, Any], ...]
    cycles: tuple[dict[str, Any], ...]
    reconciliation: Mapping[str, Any]
    performance: Mapping[str, Any] = field(default_factory=dict)
    """The day's stored performance report and ``daily_pnl`` row (``trading.reports``)."""

    @property
    def pnl(self) -> Decimal:
        """NAV at the close minus the starting cash."""
        return self.final_nav - self.starting_cash

    @property
    def ok(self) -> bool:
        """True when every identity held at every NAV snapshot."""
        return bool(self.reconciliation["ok"])

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (money as strings, times ISO-8601 UTC)."""
        statuses = Counter(o["status"] for o in self.orders)
        return {
            "seed": self.seed,
            "day": self.day.isoformat(),
            "symbol": self.symbol,
            "account": self.account,
            "account_id": str(self.account_id),
            "starting_cash": str(self.starting_cash),
            "final_nav": str(self.final_nav),
            "pnl": str(self.pnl),
            "realized_pnl": str(self.realized_pnl),
            "unrealized_pnl": str(self.unrealized_pnl),
            "equity_curve": [[at.isoformat(), str(nav)] for at, nav in self.equity_curve],
            "orders": {"count": len(self.orders), "by_status": dict(sorted(statuses.items()))},
            "order_list": list(self.orders),
            "fills": list(self.fills),
            "risk_events": {k: dict(v) for k, v in self.risk_events.items()},
            "kill_switch_events": list(self.kill_switch_events),
            "exits": list(self.exits),
            "settlements": list(self.settlements),
            "cycles": list(self.cycles),
            "reconciliation": dict(self.reconciliation),
            "performance": dict(self.performance),
        }


def _session(day: date) -> tuple[datetime, datetime]:
    open_ = datetime.combine(day, _OPEN, tzinfo=_NEW_YORK).astimezone(UTC)
    close = datetime.combine(day, _CLOSE, tzinfo=_NEW_YORK).astimezone(UTC)
    return open_, close


def _pages(fetch: Any) -> Iterator[Any]:
    after = None
    while True:
        page = fetch(after)
        yield from page.items
        if page.next_key is None:
            return
        after = page.next_key


def _structure_mark(legs: tuple[TicketLeg, ...], snapshot: MarketSnapshot) -> Decimal | None:
    """The structure's net mid per unit, as opening it now would cost (debit +, credit -)."""
    quotes = quotes_from_snapshot(snapshot, [leg.symbol for leg in legs])
    total = _ZERO
    for leg in legs:
        q = quotes.get(leg.symbol)
        if q is None:
            return None
        total += leg.side.sign * leg.ratio * q.mid
    return total


class _Day:
    """The state of one simulated day (see :func:`run_paper_day`)."""

    def __init__(
        self, db: Database, *, first: MarketSnapshot, rule: PaperDayRule, symbol: str
    ) -> None:
        self.now = first.as_of + timedelta(seconds=1)
        self.market = StaticMarket(first)
        self.desk = PaperDesk(db, market=self.market, clock=lambda: self.now)
        self.cycles = TradeCycles(self.desk)
        self.rule = rule
        self.symbol = symbol
        self.trades: list[_Trade] = []
        self.cycle_log: list[dict[str, Any]] = []
        self.exits: list[dict[str, Any]] = []
        self.curve: list[tuple[datetime, Decimal]] = []
        self.failures: list[dict[str, Any]] = []
        self.checked = 0

    # ---------------------------------------------------------------- entries and exits

    def enter(self, account: uuid.UUID, day: date, minute: int, tag: str = "") -> None:
        key = f"paper-{day.isoformat()}-{self.symbol}-{minute:03d}{tag}"
        try:
            result: CycleResult = self.cycles.run(
                account,
                idempotency_key=key,
                trigger_source="paper_day",
                symbol=self.symbol,
                rule=self.rule.entry,
            )
        except CycleError as error:
            self.cycle_log.append({"at": self.now.isoformat(), "key": key, "error": str(error)})
            return
        self.cycle_log.append(
            {
                "at": self.now.isoformat(),
                "key": key,
                "cycle_id": str(result.cycle_id),
                "accepted": result.accepted,
                "code": result.code,
                "message": result.message,
                "order_id": str(result.order_id),
            }
        )
        if not result.accepted:
            return
        signal = result.signal
        units = result.order["qty"]
        self.trades.append(
            _Trade(
                label=f"{self.symbol} {signal['strategy_type']} @{minute}m",
                minute=minute,
                entry_order=result.order_id,
                legs=tuple(
                    TicketLeg(leg["symbol"], Side(leg["side"]), leg["quantity"] // units)
                    for leg in signal["legs"]
                ),
                units=units,
                max_profit=_per_share(signal.get("max_profit")),
                max_loss=_per_share(signal.get("max_loss")),
            )
        )

    def refresh_entries(self) -> None:
        for trade in self.trades:
            if trade.entry_net is not None or trade.closed:
                continue
            order = self.desk.get_order(trade.entry_order)
            if order.status == "filled" and order.avg_fill_price is not None:
                trade.entry_net = order.avg_fill_price
            elif order.status in ("cancelled", "expired", "rejected"):
                trade.closed = True

    def check_exits(self, account: uuid.UUID, snapshot: MarketSnapshot, close: datetime) -> None:
        for trade in self.trades:
            if trade.closed or trade.entry_net is None or trade.exit_order is not None:
                continue
            mark = _structure_mark(trade.legs, snapshot)
            if mark is None:
                continue
            held = trade.minute in self.rule.hold_to_expiry
            rules = ExitRules(
                profit_target=self.rule.profit_target,
                stop_loss=self.rule.stop_loss,
                minutes_before_close=None if held else self.rule.exit_minutes_before_close,
            )
            signal = exit_signal(
                TradePosition(trade.label, trade.units),
                mark,
                TradeEntry(trade.entry_net),
                rules,
                self.now,
                close,
            )
            if signal is None:
                continue
            legs = _closing_legs(trade.legs, snapshot)
            if not legs:
                continue
            ticket = OrderTicket(
                legs=legs,
                quantity=trade.units,
                order_type=OrderType.MARKET,
                time_in_force=TimeInForce.DAY,
                confidence=self.rule.entry.confidence,
                strategy_type="exit",
            )
            submitted = self.desk.submit(
                account,
                ticket,
                idempotency_key=f"exit-{trade.entry_order}",
            )
            trade.exit_order = submitted.order.id
            trade.exit_rule = signal.rule.value
            trade.closed = submitted.accepted
            self.exits.append(
                {
                    "at": self.now.isoformat(),
                    "trade": trade.label,
                    "rule": signal.rule.value,
                    "reason": signal.reason,
                    "pnl_at_mark": str(signal.pnl),
                    "order_id": str(submitted.order.id),
                    "accepted": submitted.accepted,
                    "code": submitted.code,
                    "status": submitted.order.status,
                }
            )
            if not submitted.accepted:
                trade.exit_order = None  # try again at the next step

    # ---------------------------------------------------------------- reconciliation

    def reconcile(self, account: uuid.UUID, nav: Mapping[str, Any]) -> None:
        """The desk's reconciliation plus the independent identities on the stored rows."""
        self.checked += 1
        at = str(nav["captured_at"])
        failures: list[dict[str, Any]] = []
        desk = self.desk.reconcile(account)
        failures.extend(
            {"at": at, "source": "desk", **check} for check in desk.checks if not check["ok"]
        )
        view = self.desk.get_account(account)
        positions = self.desk.positions(account, open_only=False)
        value = sum(
            (
                Decimal(p["qty"]) * Decimal(p["mark_price"] or 0) * p["multiplier"]
                for p in positions
            ),
            _ZERO,
        )
        nav_value = Decimal(nav["nav"])
        if view.cash + value != nav_value:
            failures.append(
                {
                    "at": at,
                    "source": "independent",
                    "check": "cash + sum(qty x mark x multiplier) = nav",
                    "cash": str(view.cash),
                    "positions": str(value),
                    "nav": str(nav_value),
                }
            )
        if Decimal(nav["cash"]) != view.cash:
            failures.append(
                {
                    "at": at,
                    "source": "independent",
                    "check": "snapshot cash = account cash",
                    "snapshot": nav["cash"],
                    "account": str(view.cash),
                }
            )
        realized = Decimal(nav["realized_pnl"])
        unrealized = Decimal(nav["unrealized_pnl"])
        if realized + unrealized != nav_value - view.starting_cash:
            failures.append(
                {
                    "at": at,
                    "source": "independent",
                    "check": "realized + unrealized = nav - starting cash",
                    "realized": str(realized),
                    "unrealized": str(unrealized),
                    "total": str(nav_value - view.starting_cash),
                }
            )
        sums: Counter[str] = Counter()
        for fill in _pages(lambda after: self.desk.fills(account, after=after, limit=200)):
            sign = 1 if fill["side"] == "buy" else -1
            sums[fill["symbol"]] += sign * int(fill["qty"])
        held = {p["symbol"]: int(p["qty"]) for p in positions}
        for symbol in sorted(set(sums) | set(held)):
            if sums.get(symbol, 0) != held.get(symbol, 0):
                failures.append(
                    {
                        "at": at,
                        "source": "independent",
                        "check": f"fills sum to the position {symbol}",
                        "fill_sum": sums.get(symbol, 0),
                        "position": held.get(symbol, 0),
                    }
                )
        self.failures.extend(failures)
        self.curve.append((datetime.fromisoformat(at), nav_value))


def _closing_legs(legs: tuple[TicketLeg, ...], snapshot: MarketSnapshot) -> tuple[TicketLeg, ...]:
    """The reverse legs that close a trade, leaving out long legs nobody bids for.

    A long wing with no bid cannot be sold (and is worth nothing): it is left to expire, so
    the all-or-none closing order can fill on the legs that have a market.
    """
    quotes = quotes_from_snapshot(snapshot, [leg.symbol for leg in legs])
    out: list[TicketLeg] = []
    for leg in legs:
        q = quotes.get(leg.symbol)
        if leg.side is Side.BUY and (q is None or q.bid <= 0 or q.bid_size <= 0):
            continue
        reverse = Side.BUY if leg.side is Side.SELL else Side.SELL
        out.append(TicketLeg(leg.symbol, reverse, leg.ratio))
    return tuple(out)


def _per_share(value: object) -> Decimal | None:
    """A signal's max profit/loss (money per unit) as premium per share (x100 contracts)."""
    if value is None:
        return None
    amount = Decimal(str(value)) / 100
    return amount if amount > 0 else None


def run_paper_day(
    db: Database,
    *,
    seed: int,
    day: date | None = None,
    symbol: str = "SPY",
    cash: Decimal = Decimal(100000),
    step_minutes: int = 5,
    account_name: str | None = None,
    rule: PaperDayRule | None = None,
) -> PaperDayReport:
    """Trade one simulated 0DTE session of ``day`` on ``db`` (see the module docstring).

    Parameters
    ----------
    db
        A migrated riskdesk database (the account is created in it).
    seed
        The synthetic market's seed: the same seed and day give the same day, P&L included.
    day
        A trading day (default :data:`DEFAULT_DAY`).
    symbol
        An underlying of the synthetic market that lists dailies (SPY, QQQ, IWM).
    cash
        Starting cash.
    step_minutes
        Minutes between snapshots; must divide the 390-minute session.
    account_name
        The paper account's name (default ``paper-<day>-s<seed>-<8 hex>``).
    rule
        What the trader does (:class:`PaperDayRule`).

    Raises
    ------
    ValueError
        For a day that is not a trading day, a step that does not divide the session, or a
        symbol without a same-day expiry on ``day``.

    """
    day = day or DEFAULT_DAY
    rule = rule or PaperDayRule()
    if not is_trading_day(day):
        raise ValueError(f"{day.isoformat()} is not a trading day: pick a weekday session")
    if step_minutes < 1 or _SESSION_MINUTES % step_minutes:
        raise ValueError(
            f"step_minutes must divide the {_SESSION_MINUTES}-minute session "
            f"(e.g. 5, 10, 15, 30), got {step_minutes}"
        )
    open_, close = _session(day)
    steps = _SESSION_MINUTES // step_minutes + 1
    snapshots = simulate_live(
        seed=seed,
        start=open_,
        steps=steps,
        step_minutes=step_minutes,
        symbols=[symbol],
        max_expiry_days=3,
    )
    first = next(snapshots)
    if not any(q.contract.expiry == day for q in first.options):
        raise ValueError(f"the synthetic market lists no {symbol} expiry on {day.isoformat()}")
    state = _Day(db, first=first, rule=rule, symbol=symbol)
    desk = state.desk
    name = account_name or f"paper-{day.isoformat()}-s{seed}-{uuid.uuid4().hex[:8]}"
    account = desk.create_account(name, cash).id
    desk.set_policy(account, dict(rule.policy))
    kill_was_on = bool(desk.kill_switch_status(limit=1)["enabled"])
    settlements: list[dict[str, Any]] = []
    last = first
    for snapshot in _chain(first, snapshots):
        last = snapshot
        state.market.set(snapshot)
        state.now = snapshot.as_of + timedelta(seconds=1)
        minute = int((snapshot.as_of - open_).total_seconds() // 60)
        if snapshot.as_of >= close:
            closed = desk.close_day(day, close_snapshot=snapshot)
            settlements.extend(closed["settlements"])
            state.reconcile(account, _account_nav(desk, account))
            break
        state.refresh_entries()
        state.check_exits(account, snapshot, close)
        if minute in rule.entry_minutes:
            state.enter(account, day, minute)
        if rule.kill_switch_minute == minute and not kill_was_on:
            desk.set_kill_switch(True, actor="paper-day", reason="kill-switch drill")
            state.enter(account, day, minute, tag="-drill")
            desk.set_kill_switch(False, actor="paper-day", reason="drill over")
        desk.process_market(snapshot_nav=False)
        state.refresh_entries()
        state.reconcile(account, desk.snapshot_nav(account, snapshot=snapshot))
    return _report(state, seed, day, symbol, name, account, open_, last, settlements)


def _chain(first: MarketSnapshot, rest: Iterator[MarketSnapshot]) -> Iterator[MarketSnapshot]:
    yield first
    yield from rest


def _account_nav(desk: PaperDesk, account: uuid.UUID) -> dict[str, Any]:
    """The account's latest NAV snapshot in the ``snapshot_nav`` form."""
    latest = desk.nav_snapshots(account)[-1]
    return {
        "nav": str(latest.nav),
        "cash": str(latest.cash),
        "positions_value": str(latest.positions_value),
        "realized_pnl": str(latest.realized),
        "unrealized_pnl": str(latest.unrealized),
        "total_pnl": str(latest.total_pnl),
        "captured_at": latest.at.isoformat(),
    }


def _report(
    state: _Day,
    seed: int,
    day: date,
    symbol: str,
    name: str,
    account: uuid.UUID,
    open_: datetime,
    last: MarketSnapshot,
    settlements: list[dict[str, Any]],
) -> PaperDayReport:
    desk = state.desk
    orders = sorted(
        _pages(lambda after: desk.list_orders(account, after=after, limit=200)),
        key=lambda o: (o.created_at, str(o.id)),
    )
    order_rows = tuple(
        {
            "order_id": str(o.id),
            "created_at": o.created_at.isoformat(),
            "symbol": o.symbol,
            "side": o.side,
            "qty": o.quantity,
            "filled_qty": o.filled_quantity,
            "order_type": o.order_type,
            "time_in_force": o.time_in_force,
            "limit_price": None if o.limit_price is None else str(o.limit_price),
            "status": o.status,
            "code": o.code,
            "reason": o.reason,
            "avg_fill_price": None if o.avg_fill_price is None else str(o.avg_fill_price),
            "legs": len(o.legs),
        }
        for o in orders
    )
    fills = sorted(
        _pages(lambda after: desk.fills(account, after=after, limit=200)),
        key=lambda f: (f["filled_at"], f["execution_id"] or "", f["symbol"]),
    )
    by: dict[str, Counter[str]] = {"by_action": Counter(), "by_rule": Counter()}
    blocked: Counter[str] = Counter()
    for event in _pages(lambda after: desk.risk_events(account, after=after, limit=200)):
        by["by_action"][event["action"]] += 1
        by["by_rule"][event["rule"]] += 1
        if event["action"] == "blocked":
            blocked[event["rule"]] += 1
    risk = {
        "by_action": dict(sorted(by["by_action"].items())),
        "by_rule": dict(sorted(by["by_rule"].items())),
        "blocked_by_rule": dict(sorted(blocked.items())),
    }
    end = last.as_of + timedelta(minutes=1)
    kills = tuple(
        sorted(
            (
                e
                for e in desk.kill_switch_status(limit=200)["history"]
                if open_ <= datetime.fromisoformat(e["created_at"]) <= end
            ),
            key=lambda e: (str(e["created_at"]), str(e["event_id"])),
        )
    )
    view = desk.get_account(account)
    final = desk.nav_snapshots(account)[-1]
    performance = PerformanceReports(desk).performance(account, day, day).to_dict()
    return PaperDayReport(
        seed=seed,
        day=day,
        symbol=symbol,
        account=name,
        account_id=account,
        starting_cash=view.starting_cash,
        final_nav=final.nav,
        realized_pnl=final.realized,
        unrealized_pnl=final.unrealized,
        equity_curve=tuple(state.curve),
        orders=order_rows,
        fills=tuple(fills),
        risk_events=risk,
        kill_switch_events=kills,
        exits=tuple(state.exits),
        settlements=tuple(settlements),
        cycles=tuple(state.cycle_log),
        reconciliation={
            "ok": not state.failures and state.checked > 0,
            "snapshots_checked": state.checked,
            "failures": list(state.failures),
        },
        performance=performance,
    )


def run_scratch_day(
    *,
    seed: int,
    day: date | None = None,
    cash: Decimal = Decimal(100000),
    step_minutes: int = 5,
) -> PaperDayReport:
    """:func:`run_paper_day` on a throwaway SQLite database, deleted afterwards.

    The kill switch is global to a database and the day stamps simulated times: a scratch
    database keeps both away from the user's own accounts (what ``riskdesk paper run`` and the
    demo use unless given a database).
    """
    import tempfile
    from pathlib import Path

    from riskdesk.store.migrate import upgrade_database

    with tempfile.TemporaryDirectory(prefix="riskdesk-paper-") as folder:
        db = Database.from_url(f"sqlite:///{Path(folder) / 'paper.sqlite3'}")
        try:
            upgrade_database(db.engine)
            return run_paper_day(db, seed=seed, day=day, cash=cash, step_minutes=step_minutes)
        finally:
            db.dispose()
