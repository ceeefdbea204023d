"""The paper desk: accounts, orders through the kill switch and the risk gates, fills, ledger.

The use case that joins the pure engines (:mod:`riskdesk.trading.fills`, ``gates``,
``killswitch``, ``ledger``, ``performance``) to the store. It is free of HTTP; the CLI and
the service call it.

Submitting an order
-------------------
1. The ticket becomes an :class:`~riskdesk.trading.model.OrderRequest`; the request's digest
   (SHA-256 of its canonical JSON) goes with its idempotency key.
2. The market: a snapshot of the legs' underlyings from :class:`MarketData` (outside any
   transaction). Every snapshot seen feeds the :class:`~riskdesk.trading.market.MidHistory`.
3. In one transaction, with the account locked:

   * a repeat of an idempotency key returns the stored order and creates nothing; the same
     key with another request is :class:`IdempotencyConflictError`;
   * the kill switch checks the market (a trip is stored and cancels every resting order)
     and admits the order or refuses it (``KILL_SWITCH_ACTIVE``, ``STALE_MARKET_DATA``);
   * the risk gates decide; every check is a ``risk_events`` row;
   * the order is stored with its trade and legs: ``proposed`` then ``rejected`` (with the
     rule and code) or ``approved`` then ``submitted``. Each transition is an
     ``order_events`` row.

4. In a second transaction the order is matched against the snapshot: its fills, its new
   status, the positions and the cash are written together.

Crash safety: a process killed between the two transactions leaves a submitted order with no
fill, which :meth:`PaperDesk.process_market` matches later; a fill is never written without
its order, nor a cash move without its fill. :meth:`PaperDesk.reconcile` replays every fill
into a fresh ledger and compares it with the stored positions and cash.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

from sqlalchemy.orm import Session

from riskdesk.domain.caller import Caller
from riskdesk.domain.market import MarketSnapshot
from riskdesk.risk._scoped import ScopedUseCases
from riskdesk.store import Database
from riskdesk.store import models as m
from riskdesk.store import trading as repo
from riskdesk.store.paging import KeysetPage, PageKey
from riskdesk.store.portfolio import get_or_create_local_user
from riskdesk.store.types import utc_now
from riskdesk.trading import gates as g
from riskdesk.trading import killswitch as ks
from riskdesk.trading.fills import FillConfig, OrderState, match
from riskdesk.trading.ledger import Ledger, NavSnapshot, Position, settle_expiry
from riskdesk.trading.market import (
    DisplayedSize,
    MarketDataError,
    MidHistory,
    closes_for,
    expiring_options,
    leg_greeks,
    order_leg,
    quotes_from_snapshot,
    structure_max_loss,
    underlying_of,
)
from riskdesk.trading.model import (
    Fill,
    FillLeg,
    OrderLeg,
    OrderRequest,
    OrderStatus,
    OrderType,
    Quote,
    Side,
    TimeInForce,
    money_text,
)

__all__ = [
    "AccountNotFoundError",
    "AccountView",
    "DeskError",
    "IdempotencyConflictError",
    "MarketData",
    "OrderNotFoundError",
    "OrderTicket",
    "OrderView",
    "PaperDesk",
    "Reconciliation",
    "SourceMarket",
    "StaticMarket",
    "SubmitResult",
    "TicketLeg",
    "request_digest",
]

_ZERO = Decimal(0)
_CENT = Decimal("0.01")
_ACCOUNT_TRIGGERS = frozenset({ks.KillSwitchTrigger.DRAWDOWN, ks.KillSwitchTrigger.DAILY_LOSS})
"""Kill-switch triggers read from an account's figures (the others from the market)."""

POLICY_FIELDS: dict[str, str] = {
    # name -> kind: money (a Limit), count, seconds, fraction, percent, greek
    "max_order_size": "money",
    "max_open_exposure": "money",
    "max_open_positions": "count",
    "max_loss_per_trade": "money",
    "max_daily_loss": "money",
    "cooldown_seconds": "count",
    "max_trades_per_hour": "count",
    "max_trades_per_day": "count",
    "min_confidence": "fraction",
    "min_price_move_5m_pct": "percent",
    "max_portfolio_delta": "greek",
    "max_portfolio_gamma": "greek",
    "max_portfolio_vega": "greek",
    "max_positions_per_symbol": "count",
    "max_short_options": "count",
    "warn_fraction": "fraction",
}
"""Every per-account risk parameter the desk reads (``risk_parameters.parameter_name``)."""


class DeskError(ValueError):
    """A request the desk refuses as invalid (a bad ticket, an unknown instrument)."""


class AccountNotFoundError(LookupError):
    """No such trading account for this caller."""


class OrderNotFoundError(LookupError):
    """No such order for this caller."""


class IdempotencyConflictError(Exception):
    """The idempotency key was used before with a different request."""

    code = "IDEMPOTENCY_KEY_REUSED"


class OrderStateError(Exception):
    """The order cannot do that in its state (cancel a filled order)."""


# --------------------------------------------------------------------------- market data


class MarketData(Protocol):
    """Where the venue's quotes come from: a snapshot holding the underlyings at ``at``."""

    def snapshot(self, underlyings: Sequence[str], at: datetime) -> MarketSnapshot:
        """A snapshot holding each of ``underlyings`` (with their chains) near ``at``."""
        ...


@dataclass
class StaticMarket:
    """A market that is one snapshot until :meth:`set` replaces it (tests, replays, benches)."""

    current: MarketSnapshot

    def set(self, snapshot: MarketSnapshot) -> None:
        """Make ``snapshot`` the market."""
        self.current = snapshot

    def snapshot(self, underlyings: Sequence[str], at: datetime) -> MarketSnapshot:
        """The current snapshot (whatever ``at``: its age is the kill switch's business)."""
        return self.current


@dataclass
class SourceMarket:
    """A fresh snapshot from a :class:`~riskdesk.domain.sources.MarketSource` factory per call.

    ``factory(underlyings, at)`` returns a source whose snapshot is the market at ``at``
    (e.g. the synthetic market: ``SyntheticSource(seed, as_of=at, symbols=...)``).
    """

    factory: Callable[[Sequence[str], datetime], Any]

    def snapshot(self, underlyings: Sequence[str], at: datetime) -> MarketSnapshot:
        """The source's snapshot of ``underlyings`` at ``at``."""
        snapshot: MarketSnapshot = self.factory(underlyings, at).snapshot()
        return snapshot


# --------------------------------------------------------------------------- tickets & views


@dataclass(frozen=True, slots=True)
class TicketLeg:
    """One leg of a ticket: an OCC option symbol or a stock ticker, a side and a ratio."""

    symbol: str
    side: Side
    ratio: int = 1


@dataclass(frozen=True, slots=True)
class OrderTicket:
    """What a trader asks for. Prices are *unsigned* per unit as traders quote them.

    For a one-leg order, ``limit_price`` / ``stop_price`` are the leg's price (a sell at 2.00
    means "2.00 or better"); for a multi-leg order they are the net per unit and
    ``net_credit`` says whether it is a credit (the desk signs them for the fill model).
    """

    legs: tuple[TicketLeg, ...]
    quantity: int
    order_type: OrderType = OrderType.MARKET
    time_in_force: TimeInForce = TimeInForce.DAY
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    net_credit: bool = False
    signal_id: uuid.UUID | None = None
    confidence: Decimal | None = None
    strategy_type: str | None = None

    def payload(self) -> dict[str, Any]:
        """The canonical request (what the idempotency digest covers)."""
        return {
            "legs": [[leg.symbol, leg.side.value, leg.ratio] for leg in self.legs],
            "quantity": self.quantity,
            "order_type": self.order_type.value,
            "time_in_force": self.time_in_force.value,
            "limit_price": None if self.limit_price is None else str(self.limit_price),
            "stop_price": None if self.stop_price is None else str(self.stop_price),
            "net_credit": self.net_credit,
            "signal_id": None if self.signal_id is None else str(self.signal_id),
            "confidence": None if self.confidence is None else str(self.confidence),
            "strategy_type": self.strategy_type,
        }


def request_digest(payload: Mapping[str, Any]) -> str:
    """SHA-256 of ``payload`` as canonical JSON (sorted keys, no spaces)."""
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class AccountView:
    """A paper account and its ledger figures (money as Decimal)."""

    id: uuid.UUID
    name: str
    account_type: str
    starting_cash: Decimal
    cash: Decimal
    nav: Decimal
    created_at: datetime

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (money as strings)."""
        return {
            "account_id": str(self.id),
            "name": self.name,
            "account_type": self.account_type,
            "starting_cash": _money(self.starting_cash),
            "cash": _money(self.cash),
            "nav": _money(self.nav),
            "created_at": self.created_at.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class OrderView:
    """An order with its legs, its status history and its fills."""

    id: uuid.UUID
    account_id: uuid.UUID
    symbol: str
    side: str
    quantity: int
    filled_quantity: int
    order_type: str
    time_in_force: str
    limit_price: Decimal | None
    stop_price: Decimal | None
    status: str
    reason: str | None
    code: str | None
    avg_fill_price: Decimal | None
    idempotency_key: str | None
    signal_id: uuid.UUID | None
    legs: tuple[dict[str, Any], ...]
    events: tuple[dict[str, Any], ...]
    fills: tuple[dict[str, Any], ...]
    created_at: datetime

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (money as strings, times ISO-8601 UTC)."""
        return {
            "order_id": str(self.id),
            "account_id": str(self.account_id),
            "symbol": self.symbol,
            "side": self.side,
            "qty": self.quantity,
            "filled_qty": self.filled_quantity,
            "order_type": self.order_type,
            "time_in_force": self.time_in_force,
            "limit_price": None if self.limit_price is None else _money(self.limit_price),
            "stop_price": None if self.stop_price is None else _money(self.stop_price),
            "status": self.status,
            "risk_reason": self.reason,
            "code": self.code,
            "avg_fill_price": None if self.avg_fill_price is None else _money(self.avg_fill_price),
            "idempotency_key": self.idempotency_key,
            "signal_id": None if self.signal_id is None else str(self.signal_id),
            "legs": list(self.legs),
            "events": list(self.events),
            "fills": list(self.fills),
            "created_at": self.created_at.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class SubmitResult:
    """The outcome of a submission.

    ``code`` is None when the order passed the gates (it may still rest unfilled), else
    ``RISK_BLOCKED``, ``KILL_SWITCH_ACTIVE`` or ``STALE_MARKET_DATA``; ``replayed`` is True
    when an idempotency key returned an earlier order.
    """

    order: OrderView
    code: str | None
    message: str | None
    checks: tuple[dict[str, Any], ...]
    replayed: bool = False

    @property
    def accepted(self) -> bool:
        """True when the order passed the kill switch and the gates."""
        return self.code is None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "order": self.order.to_dict(),
            "accepted": self.accepted,
            "code": self.code,
            "message": self.message,
            "checks": list(self.checks),
            "replayed": self.replayed,
        }


@dataclass(frozen=True, slots=True)
class Reconciliation:
    """Stored ledger against the ledger replayed from the fills, and the NAV identities."""

    ok: bool
    checks: tuple[dict[str, Any], ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"ok": self.ok, "checks": list(self.checks)}


@dataclass(frozen=True, slots=True)
class TickResult:
    """What one pass over the market did: fills, expiries, kill-switch changes, a NAV row."""

    fills: int
    orders_touched: tuple[uuid.UUID, ...]
    kill_switch: tuple[dict[str, Any], ...]
    cancelled: int
    nav: dict[str, Any] | None = None
    expired_signals: int = 0


@dataclass
class DeskHooks:
    """Test seams: called between the stages of a submission (e.g. to kill the process)."""

    after_order_committed: Callable[[uuid.UUID], None] | None = None


_money = money_text


def _check_dict(check: g.GateCheck) -> dict[str, Any]:
    return {
        "rule": check.rule.value,
        "action": check.action.value,
        "observed": None if check.observed is None else str(check.observed),
        "threshold": None if check.threshold is None else str(check.threshold),
        "severity": check.severity.value,
        "message": check.message,
    }


def _int(value: Decimal | int | None) -> int:
    return int(value or 0)


# --------------------------------------------------------------------------- the desk


class PaperDesk(ScopedUseCases):
    """Paper trading for one caller on one database (see the module docstring).

    Parameters
    ----------
    db, caller
        The store and who acts (None: the local desktop user).
    market
        Where quotes come from.
    clock
        Now (timezone-aware UTC); tests and the simulated day pass their own.
    fill_config, kill_policy, sizes
        The fill model's costs, the kill switch's thresholds and the displayed sizes.
    history
        Recent mids (shared by every desk of a process so the move checks see them all).

    """

    def __init__(
        self,
        db: Database,
        caller: Caller | None = None,
        *,
        market: MarketData,
        clock: Callable[[], datetime] = utc_now,
        fill_config: FillConfig | None = None,
        kill_policy: ks.KillSwitchPolicy | None = None,
        sizes: DisplayedSize | None = None,
        history: MidHistory | None = None,
        hooks: DeskHooks | None = None,
    ) -> None:
        super().__init__(db, caller)
        self.market = market
        self.clock = clock
        self.fill_config = fill_config or FillConfig()
        self.kill_policy = kill_policy or ks.KillSwitchPolicy()
        self.sizes = sizes or DisplayedSize()
        self.history = history or MidHistory()
        self.hooks = hooks or DeskHooks()

    # ----------------------------------------------------------------- accounts

    def _owner(self, session: Session) -> uuid.UUID:
        return self._scope if self._scope is not None else get_or_create_local_user(session)

    def _account(self, session: Session, ref: str | uuid.UUID) -> m.TradingAccount:
        try:
            return repo.find_account(session, user_id=self._scope, ref=str(ref))
        except LookupError as error:
            raise AccountNotFoundError(str(error)) from error

    def _account_view(self, session: Session, row: m.TradingAccount) -> AccountView:
        return AccountView(
            id=row.id,
            name=row.account_number,
            account_type=row.account_type,
            starting_cash=row.starting_cash or _ZERO,
            cash=row.total_cash or _ZERO,
            nav=row.net_liquidation if row.net_liquidation is not None else row.total_cash or _ZERO,
            created_at=row.created_at,
        )

    def create_account(self, name: str, cash: Decimal) -> AccountView:
        """A new paper account ``name`` holding ``cash``.

        Raises
        ------
        DeskError
            When the name is empty or taken, or the cash is not a positive finite amount.

        """
        name = name.strip()
        if not name or len(name) > 50:
            raise DeskError("an account name needs 1 to 50 characters")
        if not isinstance(cash, Decimal) or not cash.is_finite() or cash <= 0:
            raise DeskError(f"starting cash must be a positive amount, got {cash}")
        with self._write() as uow:
            session = uow.session
            owner = self._owner(session)
            if any(a.account_number == name for a in repo.list_accounts(session, user_id=owner)):
                raise DeskError(f"an account named {name!r} exists")
            row = m.TradingAccount(
                user_id=owner,
                account_number=name,
                account_type="paper",
                broker="simulated" if "simulated" in _brokers() else "ibkr",
                starting_cash=cash,
                total_cash=cash,
                net_liquidation=cash,
                buying_power=cash,
            )
            session.add(row)
            session.flush()
            uow.audit(
                "trading_account.create", resource_type="trading_account", resource_id=str(row.id)
            )
            return self._account_view(session, row)

    def get_account(self, ref: str | uuid.UUID) -> AccountView:
        """The account ``ref`` (name or id)."""
        with self._read() as uow:
            return self._account_view(uow.session, self._account(uow.session, ref))

    def list_accounts(self) -> list[AccountView]:
        """The caller's accounts."""
        with self._read() as uow:
            return [self._account_view(uow.session, r) for r in self._visible(uow.session)]

    def _visible(self, session: Session) -> list[m.TradingAccount]:
        """The caller's accounts, without scratch accounts (names starting ``__``)."""
        rows = repo.list_accounts(session, user_id=self._scope)
        return [r for r in rows if not r.account_number.startswith("__")]

    # ----------------------------------------------------------------- policy

    def get_policy(self, account: str | uuid.UUID) -> dict[str, dict[str, str]]:
        """The account's risk parameters: name -> {value, type}."""
        with self._read() as uow:
            row = self._account(uow.session, account)
            return {
                p.parameter_name: {"value": str(p.parameter_value), "type": p.parameter_type}
                for p in repo.risk_parameters(uow.session, row.id)
            }

    def set_policy(
        self, account: str | uuid.UUID, params: Mapping[str, tuple[Decimal, str] | None]
    ) -> dict[str, dict[str, str]]:
        """Set (or, with None, clear) risk parameters: name -> (value, type).

        ``type`` is ``absolute``, ``percentage`` (of NAV) or ``multiplier`` (of NAV); only
        money limits take the relative types.

        Raises
        ------
        DeskError
            For an unknown name, a bad type or a value the policy refuses.

        """
        for name, spec in params.items():
            if name not in POLICY_FIELDS:
                raise DeskError(
                    f"unknown risk parameter {name!r}; known: {', '.join(sorted(POLICY_FIELDS))}"
                )
            if spec is None:
                continue
            value, kind = spec
            if kind not in ("absolute", "percentage", "multiplier"):
                raise DeskError(f"{name}: type must be absolute, percentage or multiplier")
            if kind != "absolute" and POLICY_FIELDS[name] != "money":
                raise DeskError(f"{name} is not a money limit: only type absolute applies")
            if not value.is_finite() or value < 0:
                raise DeskError(f"{name}: value must be a finite number >= 0, got {value}")
        with self._write() as uow:
            session = uow.session
            row = self._account(session, account)
            existing = {
                p.parameter_name: p
                for p in session.query(m.RiskParameter).filter(m.RiskParameter.account_id == row.id)
            }
            for name, spec in params.items():
                current = existing.get(name)
                if spec is None:
                    if current is not None:
                        current.is_active = False
                    continue
                value, kind = spec
                if current is None:
                    session.add(
                        m.RiskParameter(
                            user_id=row.user_id,
                            account_id=row.id,
                            parameter_name=name,
                            parameter_value=value,
                            parameter_type=kind,
                        )
                    )
                else:
                    current.parameter_value = value
                    current.parameter_type = kind
                    current.is_active = True
            session.flush()
            _policy_of(repo.risk_parameters(session, row.id))  # refuse what the engine refuses
            uow.audit("risk_policy.set", resource_type="trading_account", resource_id=str(row.id))
            return {
                p.parameter_name: {"value": str(p.parameter_value), "type": p.parameter_type}
                for p in repo.risk_parameters(session, row.id)
            }

    # ----------------------------------------------------------------- market

    def _snapshot(self, underlyings: Sequence[str], now: datetime) -> MarketSnapshot:
        snapshot = self.market.snapshot(sorted(set(underlyings)), now)
        self.history.record(snapshot)
        return snapshot

    def _market_view(
        self,
        underlyings: Iterable[str],
        snapshot: MarketSnapshot,
        figures: Mapping[str, Decimal],
    ) -> ks.MarketView:
        vix = next((u.spot for u in snapshot.underlyings if u.symbol in ("VIX", "^VIX")), None)
        feeds = self.history.feeds(underlyings)
        return ks.MarketView(
            feeds=feeds,
            vix=vix,
            nav=figures.get("nav"),
            peak_nav=figures.get("peak_nav"),
            daily_pnl=figures.get("daily_pnl"),
        )

    # ----------------------------------------------------------------- kill switch

    def _kill_state(self, session: Session) -> ks.KillSwitchState:
        row = repo.latest_kill_switch(session)
        if row is None or not row.enabled:
            return (
                ks.KillSwitchState.initial()
                if row is None
                else ks.KillSwitchState(
                    on=False,
                    since=row.created_at,
                    reason=row.reason,
                    actor=row.actor,
                    trigger=_trigger(row.trigger),
                )
            )
        return ks.KillSwitchState(
            on=True,
            since=row.created_at,
            reason=row.reason,
            actor=row.actor,
            trigger=_trigger(row.trigger),
        )

    def _store_kill_events(
        self, session: Session, events: Iterable[ks.KillSwitchEvent], now: datetime
    ) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for event in events:
            if event.action is ks.KillSwitchAction.WARN:
                continue
            session.add(
                m.KillSwitchEvent(
                    enabled=event.action is ks.KillSwitchAction.ON,
                    reason=event.reason,
                    actor=event.actor,
                    trigger=event.trigger.value,
                    observed_value=event.observed,
                    threshold_value=event.threshold,
                    created_at=event.at,
                )
            )
            out.append(_kill_event_dict(event))
        session.flush()
        return out

    def _cancel_resting(self, session: Session, now: datetime, reason: str) -> int:
        count = 0
        for order in repo.resting_orders(session):
            self._transition(session, order, OrderStatus.CANCELLED, now, reason)
            order.cancelled_at = now
            count += 1
        return count

    def kill_switch_status(self, *, limit: int = 20) -> dict[str, Any]:
        """The switch (on/off, since, why, who) and its latest changes."""
        with self._read() as uow:
            state = self._kill_state(uow.session)
            page = repo.page_kill_switch_events(uow.session, after=None, limit=limit)
            return {
                "enabled": state.on,
                "since": None if state.since is None else state.since.isoformat(),
                "reason": state.reason,
                "actor": state.actor,
                "trigger": None if state.trigger is None else state.trigger.value,
                "history": [_kill_row_dict(r) for r in page.items],
            }

    def set_kill_switch(self, enabled: bool, *, actor: str, reason: str) -> dict[str, Any]:
        """Turn the switch on (cancelling every resting order) or off; audited.

        Raises
        ------
        ValueError
            Without an actor or a reason.

        """
        now = self.clock()
        with self._write() as uow:
            session = uow.session
            state = self._kill_state(session)
            if enabled:
                result = ks.manual_on(state, actor=actor, reason=reason, now=now)
            else:
                result = ks.manual_off(state, actor=actor, reason=reason, now=now)
            self._store_kill_events(session, result.events, now)
            cancelled = 0
            if result.cancel_resting_orders:
                cancelled = self._cancel_resting(
                    session, now, f"kill switch turned on by {actor}: {reason}"
                )
            uow.audit(
                "kill_switch.on" if enabled else "kill_switch.off",
                resource_type="kill_switch",
                resource_id="global",
                new={"reason": reason, "actor": actor, "cancelled_orders": cancelled},
            )
            return {
                "enabled": result.state.on,
                "changed": bool(result.events),
                "updated_at": now.isoformat(),
                "cancelled_orders": cancelled,
                "reason": result.state.reason,
            }

    # ----------------------------------------------------------------- ledger

    def _ledger(self, session: Session, account: m.TradingAccount) -> Ledger:
        positions = tuple(
            Position(
                symbol=p.symbol,
                quantity=int(p.quantity),
                cost=p.cost_basis or _ZERO,
                multiplier=p.multiplier or 1,
                realized=p.realized_pnl or _ZERO,
            )
            for p in repo.positions_of(session, account.id)
        )
        return Ledger(
            starting_cash=account.starting_cash or _ZERO,
            cash=account.total_cash or _ZERO,
            positions=positions,
            costs=repo.costs_paid(session, account.id),
        )

    def _marks(self, ledger: Ledger, quotes: Mapping[str, Quote]) -> dict[str, Decimal]:
        """Marks for open positions: the quote's mid, else the average entry (no quote)."""
        out: dict[str, Decimal] = {}
        for p in ledger.open_positions:
            q = quotes.get(p.symbol)
            out[p.symbol] = q.mid if q is not None else p.average_price
        return out

    def _store_ledger(
        self,
        session: Session,
        account: m.TradingAccount,
        ledger: Ledger,
        marks: Mapping[str, Decimal],
    ) -> None:
        rows = {p.symbol: p for p in repo.positions_of(session, account.id)}
        for position in ledger.positions:
            row = rows.get(position.symbol)
            mark = marks.get(position.symbol, position.average_price)
            values = {
                "quantity": Decimal(position.quantity),
                "cost_basis": position.cost,
                "multiplier": position.multiplier,
                "realized_pnl": position.realized,
                "avg_entry_price": position.average_price.quantize(Decimal("0.00000001")),
                "mark_price": mark,
                "unrealized_pnl": position.unrealized(mark) if position.quantity else _ZERO,
                "is_active": position.quantity != 0,
            }
            if row is None:
                session.add(
                    m.Position(
                        account_id=account.id,
                        symbol=position.symbol,
                        underlying_ticker=underlying_of(position.symbol),
                        **values,
                    )
                )
            else:
                for key, value in values.items():
                    setattr(row, key, value)
        account.total_cash = ledger.cash
        value = sum(
            (p.value(marks.get(p.symbol, p.average_price)) for p in ledger.open_positions), _ZERO
        )
        account.net_liquidation = ledger.cash + value
        session.flush()

    def _nav_row(
        self,
        session: Session,
        account: m.TradingAccount,
        ledger: Ledger,
        marks: Mapping[str, Decimal],
        at: datetime,
    ) -> NavSnapshot:
        snap = ledger.nav_snapshot(marks, at)
        day_open = self._day_open_nav(session, account, at)
        session.add(
            m.PortfolioSnapshot(
                account_id=account.id,
                nav=snap.nav,
                cash=snap.cash,
                realized_pnl=snap.realized,
                unrealized_pnl=snap.unrealized,
                total_value=snap.positions_value,
                total_pnl=snap.total_pnl,
                daily_pnl=snap.nav - day_open,
                captured_at=at,
            )
        )
        session.flush()
        return snap

    def _day_open_nav(self, session: Session, account: m.TradingAccount, at: datetime) -> Decimal:
        """The NAV the day opened at: the last snapshot before today, else the starting cash.

        An account with no snapshot before today opened today (or never traded before), so
        its day opened at its starting cash: a loss made before today's first snapshot still
        counts against the daily limits.
        """
        start = datetime(at.year, at.month, at.day, tzinfo=UTC)
        before = repo.last_nav_before(session, account.id, start)
        if before is not None and before.nav is not None:
            return before.nav
        return account.starting_cash or _ZERO

    def _figures(
        self,
        session: Session,
        account: m.TradingAccount,
        ledger: Ledger,
        marks: Mapping[str, Decimal],
        now: datetime,
    ) -> dict[str, Decimal]:
        """NAV, its peak so far and today's P&L: what the kill switch's loss triggers read."""
        nav = ledger.mark(marks).nav
        stored = repo.peak_nav(session, account.id)
        peak = max(nav, account.starting_cash or _ZERO, stored if stored is not None else nav)
        daily = nav - self._day_open_nav(session, account, now)
        return {"nav": nav, "peak_nav": peak, "daily_pnl": daily}

    # ----------------------------------------------------------------- orders

    def _transition(
        self,
        session: Session,
        order: m.Order,
        status: OrderStatus,
        at: datetime,
        reason: str | None,
        details: dict[str, Any] | None = None,
    ) -> None:
        previous = order.status if order.status != "pending" else None
        order.status = status.value
        # the order's transitions are numbered; within one transaction the count is kept here
        # (the account's lock makes this transaction the order's only writer)
        counters: dict[uuid.UUID, int] = session.info.setdefault("order_event_seq", {})
        if order.id not in counters:
            counters[order.id] = (
                0 if previous is None else repo.next_event_seq(session, order.id) - 1
            )
        counters[order.id] += 1
        session.add(
            m.OrderEvent(
                order_id=order.id,
                seq=counters[order.id],
                from_status=previous,
                to_status=status.value,
                reason=reason,
                details=details or {},
                at=at,
            )
        )

    def _request(self, ticket: OrderTicket) -> OrderRequest:
        if not ticket.legs:
            raise DeskError("an order needs at least one leg")
        try:
            legs = tuple(order_leg(leg.symbol, leg.side, leg.ratio) for leg in ticket.legs)
        except ValueError as error:
            raise DeskError(str(error)) from error
        if len({underlying_of(leg.symbol) for leg in legs}) != 1:
            raise DeskError("every leg of an order must be on one underlying")
        for name in ("limit_price", "stop_price"):
            price = getattr(ticket, name)
            if price is not None and (not price.is_finite() or price < 0):
                raise DeskError(f"{name} must be a price >= 0 (unsigned), got {price}")
        sign = _ticket_sign(ticket, legs)
        try:
            return OrderRequest(
                legs=legs,
                quantity=ticket.quantity,
                order_type=ticket.order_type,
                time_in_force=ticket.time_in_force,
                limit_price=None if ticket.limit_price is None else sign * ticket.limit_price,
                stop_price=None if ticket.stop_price is None else sign * ticket.stop_price,
            )
        except ValueError as error:
            raise DeskError(str(error)) from error

    def preview(self, account: str | uuid.UUID, ticket: OrderTicket) -> dict[str, Any]:
        """The kill switch's and the gates' verdict on ``ticket`` now, writing nothing."""
        request = self._request(ticket)
        now = self.clock()
        underlying = underlying_of(request.legs[0].symbol)
        snapshot = self._snapshot([underlying], now)
        with self._read() as uow:
            session = uow.session
            row = self._account(session, account)
            verdict = self._decide(
                session, row, request, ticket, snapshot, underlying, now, persist=False
            )
            return {
                "accepted": verdict.code is None,
                "code": verdict.code,
                "message": verdict.message,
                "checks": [_check_dict(c) for c in verdict.checks],
            }

    def submit(
        self,
        account: str | uuid.UUID,
        ticket: OrderTicket,
        *,
        idempotency_key: str | None = None,
    ) -> SubmitResult:
        """Submit ``ticket`` for ``account`` (see the module docstring).

        Raises
        ------
        DeskError
            For an invalid ticket or an instrument the market does not quote.
        IdempotencyConflictError
            When ``idempotency_key`` was used with another request.

        """
        if idempotency_key is not None and not 1 <= len(idempotency_key) <= 255:
            raise DeskError("an idempotency key has 1 to 255 characters")
        request = self._request(ticket)
        digest = request_digest(ticket.payload())
        now = self.clock()
        underlying = underlying_of(request.legs[0].symbol)
        if idempotency_key is not None:
            replay = self._replay(account, idempotency_key, digest)
            if replay is not None:
                return replay
        snapshot = self._snapshot([underlying], now)
        # price the Greeks before taking the account's lock (the write lock on SQLite)
        held = self._held_symbols(account)
        greeks = self._greeks_for(snapshot, [*held, *(leg.symbol for leg in request.legs)], now)
        with self._write() as uow:
            session = uow.session
            row = self._account(session, account)
            repo.lock_account(session, row.id)
            if idempotency_key is not None:
                existing = repo.order_by_key(session, row.id, idempotency_key)
                if existing is not None:
                    if existing.request_sha256 != digest:
                        raise IdempotencyConflictError(
                            f"idempotency key {idempotency_key!r} was used for another order"
                        )
                    return SubmitResult(
                        order=self._order_view(session, existing),
                        code=_stored_code(existing),
                        message=existing.risk_reason,
                        checks=(),
                        replayed=True,
                    )
            signal = self._tradable_signal(session, ticket, now)
            verdict = self._decide(
                session, row, request, ticket, snapshot, underlying, now, greeks=greeks
            )
            order = self._store_order(
                session, row, request, ticket, underlying, now, idempotency_key, digest
            )
            self._store_checks(session, row, order, verdict.checks, now)
            self._store_warnings(session, verdict.warnings, account=row, order_id=order.id)
            if verdict.code is not None:
                self._transition(
                    session,
                    order,
                    OrderStatus.REJECTED,
                    now,
                    verdict.message,
                    {"code": verdict.code},
                )
                order.risk_reason = verdict.message
                order.error_message = verdict.code
            else:
                if signal is not None:
                    signal.status = "executed"  # in the order's transaction: both or neither
                self._transition(session, order, OrderStatus.APPROVED, now, "risk gates passed")
                self._transition(
                    session, order, OrderStatus.SUBMITTED, now, "sent to the paper venue"
                )
                order.submitted_at = now
            session.flush()
            uow.audit("order.submit", resource_type="order", resource_id=str(order.id))
            order_id = order.id
            accepted = verdict.code is None
        if self.hooks.after_order_committed is not None:
            self.hooks.after_order_committed(order_id)
        if accepted:
            self._match_orders([order_id], snapshot, now)
        with self._read() as uow:
            stored = repo.find_order(uow.session, order_id, user_id=None)
            return SubmitResult(
                order=self._order_view(uow.session, stored),
                code=verdict.code,
                message=verdict.message,
                checks=tuple(_check_dict(c) for c in verdict.checks),
            )

    def _tradable_signal(
        self, session: Session, ticket: OrderTicket, now: datetime
    ) -> m.Signal | None:
        """The ticket's signal, which must be active and unexpired (None: no signal)."""
        if ticket.signal_id is None:
            return None
        signal = session.get(m.Signal, ticket.signal_id, populate_existing=True)
        if signal is None:
            raise DeskError(f"no signal {ticket.signal_id}")
        if signal.status != "active":
            raise DeskError(
                f"signal {ticket.signal_id} is {signal.status}: only an active signal can be traded"
            )
        if signal.expires_at is not None and signal.expires_at <= now:
            raise DeskError(f"signal {ticket.signal_id} expired at {signal.expires_at.isoformat()}")
        return signal

    def _replay(self, account: str | uuid.UUID, key: str, digest: str) -> SubmitResult | None:
        with self._read() as uow:
            row = self._account(uow.session, account)
            existing = repo.order_by_key(uow.session, row.id, key)
            if existing is None:
                return None
            if existing.request_sha256 != digest:
                raise IdempotencyConflictError(
                    f"idempotency key {key!r} was used for another order"
                )
            return SubmitResult(
                order=self._order_view(uow.session, existing),
                code=_stored_code(existing),
                message=existing.risk_reason,
                checks=(),
                replayed=True,
            )

    def _store_order(
        self,
        session: Session,
        account: m.TradingAccount,
        request: OrderRequest,
        ticket: OrderTicket,
        underlying: str,
        now: datetime,
        key: str | None,
        digest: str,
    ) -> m.Order:
        ticker_id = repo.get_or_create_ticker(session, underlying)
        trade = m.Trade(
            user_id=account.user_id,
            account_id=account.id,
            signal_id=ticket.signal_id,
            ticker_id=ticker_id,
            strategy_type=ticket.strategy_type or ("single" if request.single else "multi_leg"),
            trade_type="automated" if ticket.signal_id is not None else "manual",
            status="pending",
            opened_at=now,
        )
        session.add(trade)
        session.flush()
        for i, leg in enumerate(request.legs):
            session.add(
                m.TradeLeg(
                    trade_id=trade.id,
                    leg_order=i,
                    action=leg.side.value,
                    option_symbol=leg.symbol,
                    quantity=leg.ratio * request.quantity,
                    ratio=leg.ratio,
                    multiplier=leg.multiplier,
                    remaining_quantity=leg.ratio * request.quantity,
                )
            )
        first = request.legs[0]
        order = m.Order(
            trade_id=trade.id,
            account_id=account.id,
            signal_id=ticket.signal_id,
            symbol=first.symbol if request.single else underlying,
            order_type=request.order_type.value,
            side=_order_side(request).value,
            qty=Decimal(request.quantity),
            limit_price=request.limit_price,
            stop_price=request.stop_price,
            time_in_force=request.time_in_force.value,
            status="pending",
            idempotency_key=key,
            request_sha256=digest,
            created_at=now,
        )
        session.add(order)
        session.flush()
        self._transition(session, order, OrderStatus.PROPOSED, now, "order received")
        return order

    def _store_checks(
        self,
        session: Session,
        account: m.TradingAccount,
        order: m.Order,
        checks: Sequence[g.GateCheck],
        now: datetime,
    ) -> None:
        for check in checks:
            session.add(
                m.RiskEvent(
                    user_id=account.user_id,
                    account_id=account.id,
                    order_id=order.id,
                    action=check.action.value,
                    rule=check.rule.value,
                    severity=check.severity.value,
                    event_type="pre_trade_gate",
                    description=check.message,
                    triggered_value=_finite(check.observed),
                    threshold_value=_finite(check.threshold),
                    details={
                        "observed": None if check.observed is None else str(check.observed),
                        "threshold": None if check.threshold is None else str(check.threshold),
                        "message": check.message,
                    },
                    created_at=now,
                )
            )

    def _decide(
        self,
        session: Session,
        account: m.TradingAccount,
        request: OrderRequest,
        ticket: OrderTicket,
        snapshot: MarketSnapshot,
        underlying: str,
        now: datetime,
        *,
        persist: bool = True,
        greeks: Mapping[str, Any] | None = None,
    ) -> _Verdict:
        ledger = self._ledger(session, account)
        symbols = [p.symbol for p in ledger.open_positions] + [leg.symbol for leg in request.legs]
        quotes = quotes_from_snapshot(snapshot, symbols, self.sizes)
        marks = self._marks(ledger, quotes)
        figures = self._figures(session, account, ledger, marks, now)
        nav, daily = figures["nav"], figures["daily_pnl"]
        underlyings = {underlying} | {underlying_of(p.symbol) for p in ledger.open_positions}
        view = self._market_view(underlyings, snapshot, figures)
        state = self._kill_state(session)
        market = ks.check_market(state, view, self.kill_policy, now)
        kill_events: list[dict[str, Any]] = []
        if market.events and persist:
            kill_events = self._store_kill_events(session, market.events, now)
            if market.cancel_resting_orders:
                self._cancel_resting(session, now, f"kill switch tripped: {market.state.reason}")
        admission = ks.admit(request, market.state, now, market=market)
        warned = market.warnings
        if not admission.allowed:
            return _Verdict(admission.code, admission.message, (), tuple(kill_events), warned)
        try:
            context, account_state = self._gate_inputs(
                session,
                account,
                ledger,
                request,
                ticket,
                snapshot,
                quotes,
                marks,
                underlying,
                now,
                nav,
                daily,
                greeks or {},
            )
        except MarketDataError as error:
            raise DeskError(str(error)) from error
        decision = g.evaluate(
            context, account_state, _policy_of(repo.risk_parameters(session, account.id)), now
        )
        reason = decision.reason
        if not decision.allowed:
            message = reason.message if reason is not None else "blocked by the risk policy"
            return _Verdict(decision.code, message, decision.checks, tuple(kill_events), warned)
        return _Verdict(None, None, decision.checks, tuple(kill_events), warned)

    def _greeks_for(
        self, snapshot: MarketSnapshot, symbols: Iterable[str], now: datetime
    ) -> dict[str, Any]:
        """Each symbol's Greeks (or the error saying why not), priced before any lock is held."""
        out: dict[str, Any] = {}
        for symbol in set(symbols):
            try:
                out[symbol] = leg_greeks(snapshot, symbol, now)
            except MarketDataError as error:
                out[symbol] = error
        return out

    def _held_symbols(self, account: str | uuid.UUID) -> list[str]:
        with self._read() as uow:
            row = self._account(uow.session, account)
            return [p.symbol for p in repo.positions_of(uow.session, row.id) if p.quantity != 0]

    def _store_warnings(
        self,
        session: Session,
        warnings: Iterable[ks.KillSwitchEvent],
        *,
        account: m.TradingAccount | None,
        order_id: uuid.UUID | None = None,
    ) -> None:
        """A kill-switch warning (a 5% move, a missing input) as a ``warned`` risk event."""
        for w in warnings:
            session.add(
                m.RiskEvent(
                    user_id=None if account is None else account.user_id,
                    account_id=None if account is None else account.id,
                    order_id=order_id,
                    event_type="kill_switch_warning",
                    severity="medium",
                    description=w.reason,
                    action="warned",
                    rule=w.trigger.value,
                    triggered_value=_finite(w.observed),
                    threshold_value=_finite(w.threshold),
                    details=_kill_event_dict(w),
                    created_at=w.at,
                )
            )

    def _gate_inputs(
        self,
        session: Session,
        account: m.TradingAccount,
        ledger: Ledger,
        request: OrderRequest,
        ticket: OrderTicket,
        snapshot: MarketSnapshot,
        quotes: Mapping[str, Quote],
        marks: Mapping[str, Decimal],
        underlying: str,
        now: datetime,
        nav: Decimal,
        daily: Decimal,
        greeks: Mapping[str, Any],
    ) -> tuple[g.OrderContext, g.AccountState]:
        missing = [leg.symbol for leg in request.legs if leg.symbol not in quotes]
        if missing:
            raise MarketDataError(
                f"the market has no quote for {', '.join(missing)} "
                f"(snapshot {snapshot.snapshot_hash[:12]} at {snapshot.as_of.isoformat()})"
            )
        greeks_cache: dict[str, Any] = dict(greeks)

        def greek(symbol: str) -> Any:
            if symbol not in greeks_cache:
                greeks_cache[symbol] = leg_greeks(snapshot, symbol, now)
            value = greeks_cache[symbol]
            if isinstance(value, MarketDataError):
                raise value
            return value

        positions: list[g.OpenPosition] = []
        exposure = _ZERO
        for p in ledger.open_positions:
            mark = marks[p.symbol]
            exposure += abs(p.value(mark))
            try:
                lg = greek(p.symbol)
                d, gm, v = lg.delta * p.quantity, lg.gamma * p.quantity, lg.vega * p.quantity
            except MarketDataError:
                d = gm = v = None
            positions.append(
                g.OpenPosition(
                    symbol=p.symbol,
                    underlying=underlying_of(p.symbol),
                    quantity=p.quantity,
                    is_option=p.multiplier > 1,
                    delta=d,
                    gamma=gm,
                    vega=v,
                )
            )
        order_value = _ZERO
        opening_premium = _ZERO
        opening: list[tuple[str, int]] = []
        delta = gamma = vega = _ZERO
        after = {p.symbol: p.quantity for p in ledger.open_positions}
        for leg in request.legs:
            q = quotes[leg.symbol]
            price = q.ask if leg.side is Side.BUY else q.bid
            units = leg.ratio * request.quantity
            order_value += price * units * leg.multiplier
            # only the part of a leg that opens or adds risk can lose: a sell that closes a
            # long is no naked short (the position it closes is already paid for)
            held = after.get(leg.symbol, 0)
            closing = min(units, abs(held)) if held * leg.side.sign < 0 else 0
            if units > closing:
                opening.append((leg.symbol, leg.side.sign * (units - closing)))
                opening_premium += leg.side.sign * price * (units - closing) * leg.multiplier
            lg = greek(leg.symbol)
            delta += lg.delta * leg.side.sign * units
            gamma += lg.gamma * leg.side.sign * units
            vega += lg.vega * leg.side.sign * units
            after[leg.symbol] = after.get(leg.symbol, 0) + leg.side.sign * units
        projected = _ZERO
        multipliers = {leg.symbol: leg.multiplier for leg in request.legs}
        multipliers.update({p.symbol: p.multiplier for p in ledger.positions})
        for symbol, quantity in after.items():
            quote = quotes.get(symbol)
            mark = marks.get(symbol) or (quote.mid if quote is not None else _ZERO)
            projected += abs(quantity * mark * multipliers.get(symbol, 1))
        max_loss = structure_max_loss(opening, opening_premium, 1) if opening else _ZERO
        move = self.history.move_pct(underlying, now)
        context = g.OrderContext(
            order=request,
            underlying=underlying,
            order_value=order_value,
            projected_exposure=projected,
            max_loss=max_loss,
            delta=delta,
            gamma=gamma,
            vega=vega,
            confidence=ticket.confidence,
            price_move_5m_pct=move,
        )
        day_start = datetime(now.year, now.month, now.day, tzinfo=UTC)
        recent = repo.account_orders(session, account.id, since=now - timedelta(days=1))
        trade_times = tuple(o.submitted_at for o in recent if o.submitted_at is not None)
        state = g.AccountState(
            nav=nav,
            open_exposure=exposure,
            positions=tuple(positions),
            daily_pnl=daily,
            last_loss_at=repo.last_loss_at(session, account.id),
            trade_times=trade_times,
            day_start=day_start,
        )
        return context, state

    # ----------------------------------------------------------------- matching

    def _match_orders(
        self, order_ids: Sequence[uuid.UUID], snapshot: MarketSnapshot, now: datetime
    ) -> int:
        """Match the given working orders against ``snapshot``; one transaction per order."""
        fills = 0
        for order_id in order_ids:
            with self._write() as uow:
                session = uow.session
                order = session.get(m.Order, order_id, populate_existing=True)
                if order is None or order.status not in ("submitted", "partially_filled"):
                    continue
                assert order.account_id is not None
                account = repo.lock_account(session, order.account_id)
                order = session.get(m.Order, order_id, populate_existing=True)
                assert order is not None
                if order.status not in ("submitted", "partially_filled"):
                    continue
                legs = repo.order_legs(session, order)
                request = _request_of(order, legs)
                state = OrderState(
                    filled_units=_int(order.filled_quantity), triggered=order.triggered
                )
                ledger = self._ledger(session, account)
                symbols = {leg.symbol for leg in request.legs} | {
                    p.symbol for p in ledger.open_positions
                }
                quotes = quotes_from_snapshot(snapshot, symbols, self.sizes)
                result = match(request, state, quotes, now, self.fill_config)
                order.triggered = result.state.triggered
                for fill in result.fills:
                    held = {p.symbol: p.quantity for p in ledger.positions}
                    gross = sum((p.realized for p in ledger.positions), _ZERO)
                    ledger = ledger.apply_fill(fill)
                    self._store_fill(session, order, legs, fill)
                    fills += 1
                    trade = session.get(m.Trade, order.trade_id)
                    if trade is None:
                        continue
                    trade.commission = (trade.commission or _ZERO) + fill.commission
                    trade.fees = (trade.fees or _ZERO) + fill.fees
                    trade.status = (
                        "filled" if result.status is OrderStatus.FILLED else "partially_filled"
                    )
                    # a fill that reduces a held position closes (part of) a round trip: its
                    # P&L is what the positions realized, net of this fill's costs
                    closing = any(held.get(leg.symbol, 0) * leg.side.sign < 0 for leg in fill.legs)
                    if closing:
                        realized = sum((p.realized for p in ledger.positions), _ZERO) - gross
                        trade.realized_pnl = (
                            (trade.realized_pnl or _ZERO) + realized - fill.commission - fill.fees
                        )
                        trade.closed_at = now
                if result.fills:
                    order.filled_quantity = Decimal(result.state.filled_units)
                    order.avg_fill_price = _avg_net(order, result.fills)
                    order.filled_at = now
                    self._store_ledger(session, account, ledger, self._marks(ledger, quotes))
                if result.status.value != order.status:
                    reason = result.reason or (
                        "filled" if result.status is OrderStatus.FILLED else result.status.value
                    )
                    self._transition(
                        session,
                        order,
                        result.status,
                        now,
                        reason,
                        {"code": None if result.code is None else result.code.value},
                    )
                    if result.status is OrderStatus.CANCELLED:
                        order.cancelled_at = now
                session.flush()
        return fills

    def _store_fill(
        self, session: Session, order: m.Order, legs: Sequence[m.TradeLeg], fill: Fill
    ) -> None:
        execution = uuid.uuid4()
        by_symbol = {leg.option_symbol: leg for leg in legs}
        for i, leg in enumerate(fill.legs):
            stored = by_symbol.get(leg.symbol)
            session.add(
                m.Fill(
                    order_id=order.id,
                    trade_leg_id=None if stored is None else stored.id,
                    execution_id=execution,
                    symbol=leg.symbol,
                    side=leg.side.value,
                    qty=Decimal(leg.quantity),
                    fill_price=leg.price,
                    multiplier=leg.multiplier,
                    net_price=fill.net_price,
                    commission=fill.commission if i == 0 else _ZERO,
                    fee=fill.fees if i == 0 else _ZERO,
                    slippage_bps=fill.slippage_bps,
                    filled_at=fill.at,
                )
            )
            if stored is not None:
                stored.filled_quantity = (stored.filled_quantity or 0) + leg.quantity
                stored.remaining_quantity = stored.quantity - stored.filled_quantity
                stored.status = (
                    "filled" if stored.filled_quantity >= stored.quantity else "partially_filled"
                )
        session.flush()

    def process_market(self, *, snapshot_nav: bool = True) -> TickResult:
        """One pass: expire signals, check the kill switch, match working orders, mark NAV.

        Active signals past their expiry become expired; the market is fetched for every
        underlying with a working order or an open position.
        """
        now = self.clock()
        with self._read() as uow:
            session = uow.session
            resting = repo.resting_orders(session)
            accounts = self._visible(session)
            underlyings = {o.symbol and underlying_of(o.symbol) for o in resting} - {None}
            for a in accounts:
                underlyings |= {
                    underlying_of(p.symbol)
                    for p in repo.positions_of(session, a.id)
                    if p.quantity != 0
                }
            resting_ids = [o.id for o in resting if o.account_id in {a.id for a in accounts}]
        with self._write() as uow:
            expired = repo.expire_signals(uow.session, now)
        if not underlyings:
            return TickResult(0, (), (), 0, expired_signals=expired)
        snapshot = self._snapshot(sorted(u for u in underlyings if u), now)
        kill: list[dict[str, Any]] = []
        cancelled = 0
        live = sorted(u for u in underlyings if u)
        with self._write() as uow:
            session = uow.session
            market = ks.check_market(
                self._kill_state(session),
                self._market_view(live, snapshot, {}),
                self.kill_policy,
                now,
            )
            kill += self._store_kill_events(session, market.events, now)
            self._store_warnings(session, market.warnings, account=None)
            if market.cancel_resting_orders:
                cancelled += self._cancel_resting(
                    session, now, f"kill switch tripped: {market.state.reason}"
                )
            on = market.state.on
        fills = 0 if on else self._match_orders(resting_ids, snapshot, now)
        # the loss triggers read each account's NAV after the fills
        for a in accounts:
            with self._write() as uow:
                session = uow.session
                row = repo.lock_account(session, a.id)
                ledger = self._ledger(session, row)
                quotes = quotes_from_snapshot(
                    snapshot, [p.symbol for p in ledger.open_positions], self.sizes
                )
                figures = self._figures(session, row, ledger, self._marks(ledger, quotes), now)
                market = ks.check_market(
                    self._kill_state(session),
                    self._market_view(live, snapshot, figures),
                    self.kill_policy,
                    now,
                )
                kill += self._store_kill_events(session, market.events, now)
                self._store_warnings(
                    session,
                    [w for w in market.warnings if w.trigger in _ACCOUNT_TRIGGERS],
                    account=row,
                )
                if market.cancel_resting_orders:
                    cancelled += self._cancel_resting(
                        session, now, f"kill switch tripped: {market.state.reason}"
                    )
        nav = None
        if snapshot_nav:
            for a in accounts:
                nav = self.snapshot_nav(a.id, snapshot=snapshot)
        return TickResult(fills, tuple(resting_ids), tuple(kill), cancelled, nav, expired)

    def snapshot_nav(
        self, account: str | uuid.UUID, *, snapshot: MarketSnapshot | None = None
    ) -> dict[str, Any]:
        """Mark the account to the market and store a NAV snapshot; returns it."""
        now = self.clock()
        with self._read() as uow:
            row = self._account(uow.session, account)
            ledger = self._ledger(uow.session, row)
            unders = sorted({underlying_of(p.symbol) for p in ledger.open_positions})
        if snapshot is None and unders:
            snapshot = self._snapshot(unders, now)
        with self._write() as uow:
            session = uow.session
            row = repo.lock_account(session, self._account(session, account).id)
            ledger = self._ledger(session, row)
            quotes = (
                quotes_from_snapshot(
                    snapshot, [p.symbol for p in ledger.open_positions], self.sizes
                )
                if snapshot is not None
                else {}
            )
            marks = self._marks(ledger, quotes)
            self._store_ledger(session, row, ledger, marks)
            snap = self._nav_row(session, row, ledger, marks, now)
            return _nav_dict(snap)

    def cancel(self, order_id: uuid.UUID, *, reason: str = "cancelled by the trader") -> OrderView:
        """Cancel a working order.

        Raises
        ------
        OrderNotFoundError, OrderStateError
            For an unknown order, or one that is no longer working.

        """
        now = self.clock()
        with self._write() as uow:
            session = uow.session
            try:
                order = repo.find_order(session, order_id, user_id=self._scope)
            except LookupError as error:
                raise OrderNotFoundError(str(error)) from error
            assert order.account_id is not None
            repo.lock_account(session, order.account_id)
            session.refresh(order)
            if order.status not in ("submitted", "partially_filled", "approved", "proposed"):
                raise OrderStateError(f"order {order_id} is {order.status}: nothing to cancel")
            self._transition(session, order, OrderStatus.CANCELLED, now, reason)
            order.cancelled_at = now
            session.flush()
            uow.audit("order.cancel", resource_type="order", resource_id=str(order.id))
            return self._order_view(session, order)

    def get_order(self, order_id: uuid.UUID) -> OrderView:
        """One order with its legs, events and fills."""
        with self._read() as uow:
            try:
                order = repo.find_order(uow.session, order_id, user_id=self._scope)
            except LookupError as error:
                raise OrderNotFoundError(str(error)) from error
            return self._order_view(uow.session, order)

    def list_orders(
        self,
        account: str | uuid.UUID | None = None,
        *,
        status: str | None = None,
        symbol: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        after: PageKey | None = None,
        limit: int = 50,
    ) -> KeysetPage[OrderView]:
        """A page of orders (of ``account``, else of every account of the caller)."""
        with self._read() as uow:
            ids = self._account_ids(uow.session, account)
            page = repo.page_orders(
                uow.session,
                account_ids=ids,
                status=status,
                symbol=symbol,
                start=start,
                end=end,
                after=after,
                limit=limit,
            )
            return KeysetPage([self._order_view(uow.session, o) for o in page.items], page.next_key)

    def _account_ids(self, session: Session, account: str | uuid.UUID | None) -> list[uuid.UUID]:
        if account is not None:
            return [self._account(session, account).id]
        return [a.id for a in self._visible(session)]

    def _order_view(self, session: Session, order: m.Order) -> OrderView:
        legs = repo.order_legs(session, order)
        events = repo.order_events(session, [order.id])
        fills = sorted(order.fills, key=lambda f: (f.filled_at, str(f.execution_id)))
        assert order.account_id is not None
        return OrderView(
            id=order.id,
            account_id=order.account_id,
            symbol=order.symbol or "",
            side=order.side,
            quantity=_int(order.qty),
            filled_quantity=_int(order.filled_quantity),
            order_type=order.order_type or "market",
            time_in_force=order.time_in_force,
            limit_price=order.limit_price,
            stop_price=order.stop_price,
            status=order.status,
            reason=order.risk_reason,
            code=_stored_code(order),
            avg_fill_price=order.avg_fill_price,
            idempotency_key=order.idempotency_key,
            signal_id=order.signal_id,
            legs=tuple(
                {
                    "symbol": leg.option_symbol,
                    "side": leg.action,
                    "ratio": leg.ratio or 1,
                    "quantity": leg.quantity,
                    "filled_quantity": leg.filled_quantity,
                    "multiplier": leg.multiplier or 1,
                }
                for leg in legs
            ),
            events=tuple(
                {
                    "from": e.from_status,
                    "to": e.to_status,
                    "reason": e.reason,
                    "at": e.at.isoformat(),
                    **({"details": e.details} if e.details else {}),
                }
                for e in events
            ),
            fills=tuple(_fill_dict(f) for f in fills),
            created_at=order.created_at,
        )

    # ----------------------------------------------------------------- reads

    def positions(
        self, account: str | uuid.UUID | None = None, *, open_only: bool = True
    ) -> list[dict[str, Any]]:
        """The ledger rows (open ones by default) with marks and P&L."""
        with self._read() as uow:
            out: list[dict[str, Any]] = []
            for account_id in self._account_ids(uow.session, account):
                for p in repo.positions_of(uow.session, account_id):
                    if open_only and p.quantity == 0:
                        continue
                    out.append(_position_dict(p))
            return out

    def fills(
        self,
        account: str | uuid.UUID | None = None,
        *,
        symbol: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        after: PageKey | None = None,
        limit: int = 50,
    ) -> KeysetPage[dict[str, Any]]:
        """A page of fills, newest first."""
        return self._paged(
            account,
            repo.page_fills,
            _fill_dict,
            symbol=symbol,
            start=start,
            end=end,
            after=after,
            limit=limit,
        )

    def _paged(
        self,
        account: str | uuid.UUID | None,
        fetch: Callable[..., KeysetPage[Any]],
        render: Callable[[Any], dict[str, Any]],
        **filters: Any,
    ) -> KeysetPage[dict[str, Any]]:
        """One page of ``fetch`` over the account (or every account of the caller), rendered."""
        with self._read() as uow:
            ids = self._account_ids(uow.session, account)
            page = fetch(uow.session, account_ids=ids, **filters)
            return KeysetPage([render(row) for row in page.items], page.next_key)

    def risk_events(
        self,
        account: str | uuid.UUID | None = None,
        *,
        action: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        after: PageKey | None = None,
        limit: int = 50,
    ) -> KeysetPage[dict[str, Any]]:
        """A page of risk events, newest first."""
        return self._paged(
            account,
            repo.page_risk_events,
            _risk_event_dict,
            action=action,
            start=start,
            end=end,
            after=after,
            limit=limit,
        )

    def nav_history(
        self,
        account: str | uuid.UUID | None = None,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        after: PageKey | None = None,
        limit: int = 200,
    ) -> KeysetPage[dict[str, Any]]:
        """A page of NAV snapshots, newest first."""
        return self._paged(
            account,
            repo.page_nav_snapshots,
            _nav_row_dict,
            start=start,
            end=end,
            after=after,
            limit=limit,
        )

    def nav_snapshots(
        self,
        account: str | uuid.UUID,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> list[NavSnapshot]:
        """The account's NAV snapshots as engine values, oldest first."""
        with self._read() as uow:
            row = self._account(uow.session, account)
            return [
                NavSnapshot(
                    at=s.captured_at,
                    starting_cash=row.starting_cash or _ZERO,
                    cash=s.cash or _ZERO,
                    positions_value=s.total_value or _ZERO,
                    nav=s.nav or _ZERO,
                    realized=s.realized_pnl or _ZERO,
                    unrealized=s.unrealized_pnl or _ZERO,
                    total_pnl=s.total_pnl or _ZERO,
                )
                for s in repo.nav_snapshots(uow.session, row.id, start=start, end=end)
            ]

    def engine_fills(self, account: str | uuid.UUID) -> list[Fill]:
        """The account's fills as engine values (one per execution), oldest first."""
        with self._read() as uow:
            row = self._account(uow.session, account)
            return _engine_fills(repo.account_fill_rows(uow.session, row.id))

    # ----------------------------------------------------------------- close and expiry

    def close_day(
        self, day: date, *, close_snapshot: MarketSnapshot | None = None
    ) -> dict[str, Any]:
        """The session close of ``day``: expire DAY orders, settle expiring options, mark NAV.

        Settlement is recorded as a filled ``expiry`` order per account, with one fill per
        settled option (at its settlement price) and per assigned/exercised share lot (at the
        strike), so the fills still sum to the positions.
        """
        now = self.clock()
        expired = 0
        with self._write() as uow:
            session = uow.session
            for order in repo.resting_orders(session):
                if order.time_in_force == "DAY":
                    self._transition(
                        session, order, OrderStatus.EXPIRED, now, "DAY order expired at the close"
                    )
                    expired += 1
        settled: list[dict[str, Any]] = []
        with self._read() as uow:
            accounts = [a.id for a in self._visible(uow.session)]
        for account_id in accounts:
            settled.extend(self._settle(account_id, day, close_snapshot, now))
        navs = [self.snapshot_nav(a, snapshot=close_snapshot) for a in accounts]
        return {"expired_orders": expired, "settlements": settled, "nav": navs}

    def _settle(
        self,
        account_id: uuid.UUID,
        day: date,
        snapshot: MarketSnapshot | None,
        now: datetime,
    ) -> list[dict[str, Any]]:
        with self._write() as uow:
            session = uow.session
            account = repo.lock_account(session, account_id)
            ledger = self._ledger(session, account)
            expiring = expiring_options([p.symbol for p in ledger.open_positions], day)
            if not expiring:
                return []
            unders = sorted({e.underlying for e in expiring})
            if snapshot is None:
                snapshot = self._snapshot(unders, now)
            closes = closes_for(snapshot, unders)
            new_ledger, records = settle_expiry(ledger, expiring, closes, now)
            multipliers = {p.symbol: p.multiplier for p in ledger.positions}
            order = self._settlement_order(session, account, records, multipliers, now)
            trade = session.get(m.Trade, order.trade_id)
            if trade is not None:
                trade.realized_pnl = new_ledger.realized - ledger.realized
            self._store_ledger(session, account, new_ledger, self._marks(new_ledger, {}))
            out = []
            for r in records:
                out.append(
                    {
                        "symbol": r.symbol,
                        "kind": r.kind.value,
                        "quantity": r.quantity,
                        "price": str(r.price),
                        "shares": r.shares,
                        "cash": str(r.cash),
                        "reason": r.reason,
                        "order_id": str(order.id),
                    }
                )
            return out

    def _settlement_order(
        self,
        session: Session,
        account: m.TradingAccount,
        records: Sequence[Any],
        multipliers: Mapping[str, int],
        now: datetime,
    ) -> m.Order:
        underlying = records[0].underlying
        trade = m.Trade(
            user_id=account.user_id,
            account_id=account.id,
            ticker_id=repo.get_or_create_ticker(session, underlying),
            strategy_type="expiry_settlement",
            trade_type="automated",
            status="filled",
            opened_at=now,
            closed_at=now,
        )
        session.add(trade)
        session.flush()
        order = m.Order(
            trade_id=trade.id,
            account_id=account.id,
            symbol=underlying,
            side="sell",
            qty=Decimal(1),
            time_in_force="DAY",
            status="pending",
            created_at=now,
            risk_reason="expiry settlement",
        )
        session.add(order)
        session.flush()
        self._transition(session, order, OrderStatus.PROPOSED, now, "expiry settlement")
        self._transition(session, order, OrderStatus.APPROVED, now, "expiry settlement")
        self._transition(session, order, OrderStatus.SUBMITTED, now, "expiry settlement")
        execution = uuid.uuid4()
        for r in records:
            # the option leaves the book at its settlement price
            if r.quantity:
                side = "sell" if r.quantity > 0 else "buy"
                session.add(
                    m.Fill(
                        order_id=order.id,
                        execution_id=execution,
                        symbol=r.symbol,
                        side=side,
                        qty=Decimal(abs(r.quantity)),
                        fill_price=r.price,
                        multiplier=multipliers.get(r.symbol, 100),
                        commission=_ZERO,
                        fee=_ZERO,
                        slippage_bps=0,
                        filled_at=now,
                    )
                )
            if r.shares:
                session.add(
                    m.Fill(
                        order_id=order.id,
                        execution_id=execution,
                        symbol=r.underlying,
                        side="buy" if r.shares > 0 else "sell",
                        qty=Decimal(abs(r.shares)),
                        fill_price=r.strike,
                        multiplier=1,
                        commission=_ZERO,
                        fee=_ZERO,
                        slippage_bps=0,
                        filled_at=now,
                    )
                )
        order.filled_quantity = Decimal(1)
        order.filled_at = now
        self._transition(session, order, OrderStatus.FILLED, now, "expiry settled")
        session.flush()
        return order

    # ----------------------------------------------------------------- reconciliation

    def reconcile(
        self, account: str | uuid.UUID, *, marks: Mapping[str, Decimal] | None = None
    ) -> Reconciliation:
        """Replay every fill into a fresh ledger and compare it with what is stored.

        Checks: stored cash equals the replayed cash; each stored position (quantity and cost
        basis) equals the replayed one; the signed fill quantities sum to each position; every
        fill has its order and every filled order its fills; and, at the stored marks,
        cash + positions = NAV and realized + unrealized = NAV - starting cash.
        """
        with self._read() as uow:
            session = uow.session
            row = self._account(session, account)
            stored = self._ledger(session, row)
            rows = repo.account_fill_rows(session, row.id)
            replayed = Ledger.open(row.starting_cash or _ZERO).apply_fills(_engine_fills(rows))
            checks: list[dict[str, Any]] = []

            def check(name: str, ok: bool, **details: Any) -> None:
                checks.append({"check": name, "ok": ok, **details})

            check(
                "cash",
                stored.cash == replayed.cash,
                stored=_money(stored.cash),
                replayed=_money(replayed.cash),
            )
            check(
                "costs",
                stored.costs == replayed.costs,
                stored=_money(stored.costs),
                replayed=_money(replayed.costs),
            )
            sums: dict[str, int] = {}
            for f in rows:
                sums[f.symbol] = sums.get(f.symbol, 0) + (1 if f.side == "buy" else -1) * int(f.qty)
            symbols = {p.symbol for p in stored.positions} | {p.symbol for p in replayed.positions}
            for symbol in sorted(symbols):
                a = stored.position(symbol)
                b = replayed.position(symbol)
                qa = 0 if a is None else a.quantity
                qb = 0 if b is None else b.quantity
                ca = _ZERO if a is None else a.cost
                cb = _ZERO if b is None else b.cost
                check(
                    f"position {symbol}",
                    qa == qb == sums.get(symbol, 0) and ca == cb,
                    stored_quantity=qa,
                    replayed_quantity=qb,
                    fill_sum=sums.get(symbol, 0),
                    stored_cost=_money(ca),
                    replayed_cost=_money(cb),
                )
            orphans = [str(f.fill_id) for f in rows if f.order is None]
            check("fills have orders", not orphans, orphans=orphans)
            filled_without = [
                str(o.id)
                for o in repo.account_orders(session, row.id)
                if o.status in ("filled", "partially_filled") and not o.fills
            ]
            check("filled orders have fills", not filled_without, orders=filled_without)
            use = (
                dict(marks)
                if marks is not None
                else {p.symbol: (p.mark_price or _ZERO) for p in repo.positions_of(session, row.id)}
            )
            try:
                snap = stored.nav_snapshot(use, datetime.now(UTC))
            except ValueError as error:
                check("nav identities", False, error=str(error))
            else:
                check(
                    "cash + positions = nav",
                    snap.cash + snap.positions_value == snap.nav,
                    cash=_money(snap.cash),
                    positions=_money(snap.positions_value),
                    nav=_money(snap.nav),
                )
                check(
                    "realized + unrealized = nav - starting cash",
                    snap.realized + snap.unrealized == snap.nav - snap.starting_cash,
                    realized=_money(snap.realized),
                    unrealized=_money(snap.unrealized),
                    total=_money(snap.nav - snap.starting_cash),
                )
            return Reconciliation(ok=all(c["ok"] for c in checks), checks=tuple(checks))


# --------------------------------------------------------------------------- helpers


@dataclass(frozen=True, slots=True)
class _Verdict:
    code: str | None
    message: str | None
    checks: tuple[g.GateCheck, ...]
    kill_events: tuple[dict[str, Any], ...] = field(default=())
    warnings: tuple[ks.KillSwitchEvent, ...] = field(default=())


def _finite(value: Decimal | None) -> Decimal | None:
    """``value`` when finite (a column holds numbers; ``details`` keeps ``Infinity`` as text)."""
    return value if value is not None and value.is_finite() else None


def _brokers() -> tuple[str, ...]:
    from riskdesk.store.models._base import SUPPORTED_BROKERS

    return SUPPORTED_BROKERS


def _trigger(value: str | None) -> ks.KillSwitchTrigger | None:
    if value is None:
        return None
    try:
        return ks.KillSwitchTrigger(value)
    except ValueError:
        return None


def _kill_event_dict(event: ks.KillSwitchEvent) -> dict[str, Any]:
    return {
        "action": event.action.value,
        "trigger": event.trigger.value,
        "reason": event.reason,
        "actor": event.actor,
        "observed": None if event.observed is None else str(event.observed),
        "threshold": None if event.threshold is None else str(event.threshold),
        "at": event.at.isoformat(),
    }


def _kill_row_dict(row: m.KillSwitchEvent) -> dict[str, Any]:
    return {
        "event_id": str(row.event_id),
        "enabled": row.enabled,
        "reason": row.reason,
        "actor": row.actor,
        "trigger": row.trigger,
        "observed": None if row.observed_value is None else str(row.observed_value),
        "threshold": None if row.threshold_value is None else str(row.threshold_value),
        "created_at": row.created_at.isoformat(),
    }


def _ticket_sign(ticket: OrderTicket, legs: Sequence[OrderLeg]) -> int:
    """The sign that turns the ticket's unsigned prices into the fill model's net prices."""
    if len(legs) == 1:
        return legs[0].side.sign
    return -1 if ticket.net_credit else 1


def _order_side(request: OrderRequest) -> Side:
    if request.single:
        return request.legs[0].side
    sign = request.limit_price if request.limit_price is not None else None
    if sign is not None:
        return Side.BUY if sign >= 0 else Side.SELL
    return request.legs[0].side


def _request_of(order: m.Order, legs: Sequence[m.TradeLeg]) -> OrderRequest:
    return OrderRequest(
        legs=tuple(
            OrderLeg(
                symbol=leg.option_symbol,
                side=Side(leg.action),
                ratio=leg.ratio or 1,
                multiplier=leg.multiplier or 1,
                is_option=(leg.multiplier or 1) > 1,
            )
            for leg in legs
        ),
        quantity=_int(order.qty),
        order_type=OrderType(order.order_type or "market"),
        time_in_force=TimeInForce(order.time_in_force),
        limit_price=order.limit_price,
        stop_price=order.stop_price,
    )


def _avg_net(order: m.Order, fills: Sequence[Fill]) -> Decimal:
    units = sum(f.units for f in fills)
    total = sum((f.net_price * f.units for f in fills), _ZERO)
    previous = _int(order.filled_quantity) - units
    if previous > 0 and order.avg_fill_price is not None:
        total += order.avg_fill_price * previous
        units += previous
    return (total / units).quantize(Decimal("0.00000001")) if units else _ZERO


def _stored_code(order: m.Order) -> str | None:
    if order.status == "rejected":
        return order.error_message or g.RISK_BLOCKED
    return None


def _engine_fills(rows: Sequence[m.Fill]) -> list[Fill]:
    """Group fill rows by execution back into engine fills (costs on the execution)."""
    groups: dict[Any, list[m.Fill]] = {}
    order: list[Any] = []
    for r in rows:
        key = r.execution_id or r.fill_id
        if key not in groups:
            groups[key] = []
            order.append(key)
        groups[key].append(r)
    out: list[Fill] = []
    for key in order:
        legs = groups[key]
        first = legs[0]
        out.append(
            Fill(
                units=1,
                legs=tuple(
                    FillLeg(
                        symbol=r.symbol,
                        side=Side(r.side),
                        quantity=int(r.qty),
                        price=r.fill_price,
                        multiplier=r.multiplier,
                    )
                    for r in legs
                ),
                net_price=first.net_price if first.net_price is not None else first.fill_price,
                commission=sum((r.commission for r in legs), _ZERO),
                fees=sum((r.fee for r in legs), _ZERO),
                slippage_bps=first.slippage_bps,
                at=first.filled_at,
            )
        )
    return out


def _fill_dict(f: m.Fill) -> dict[str, Any]:
    return {
        "fill_id": str(f.fill_id),
        "order_id": str(f.order_id),
        "execution_id": None if f.execution_id is None else str(f.execution_id),
        "symbol": f.symbol,
        "side": f.side,
        "qty": str(int(f.qty)),
        "fill_price": _money(f.fill_price),
        "net_price": None if f.net_price is None else _money(f.net_price),
        "multiplier": f.multiplier,
        "commission": _money(f.commission),
        "fee": _money(f.fee),
        "slippage_bps": f.slippage_bps,
        "filled_at": f.filled_at.isoformat(),
    }


def _position_dict(p: m.Position) -> dict[str, Any]:
    return {
        "account_id": str(p.account_id),
        "symbol": p.symbol,
        "underlying": p.underlying_ticker,
        "qty": str(int(p.quantity)),
        "avg_entry_price": _money(p.avg_entry_price),
        "cost_basis": None if p.cost_basis is None else _money(p.cost_basis),
        "mark_price": None if p.mark_price is None else _money(p.mark_price),
        "unrealized_pnl": None if p.unrealized_pnl is None else _money(p.unrealized_pnl),
        "realized_pnl": None if p.realized_pnl is None else _money(p.realized_pnl),
        "multiplier": p.multiplier,
        "updated_at": p.updated_at.isoformat(),
    }


def _risk_event_dict(r: m.RiskEvent) -> dict[str, Any]:
    return {
        "risk_event_id": str(r.id),
        "account_id": None if r.account_id is None else str(r.account_id),
        "order_id": None if r.order_id is None else str(r.order_id),
        "event_type": r.event_type,
        "action": r.action,
        "rule": r.rule,
        "severity": r.severity,
        "description": r.description,
        "details": r.details,
        "created_at": r.created_at.isoformat(),
    }


def _nav_dict(s: NavSnapshot) -> dict[str, Any]:
    return {
        "nav": _money(s.nav),
        "cash": _money(s.cash),
        "positions_value": _money(s.positions_value),
        "realized_pnl": _money(s.realized),
        "unrealized_pnl": _money(s.unrealized),
        "total_pnl": _money(s.total_pnl),
        "captured_at": s.at.isoformat(),
    }


def _nav_row_dict(s: m.PortfolioSnapshot) -> dict[str, Any]:
    return {
        "snapshot_id": str(s.id),
        "account_id": None if s.account_id is None else str(s.account_id),
        "nav": None if s.nav is None else _money(s.nav),
        "cash": None if s.cash is None else _money(s.cash),
        "positions_value": None if s.total_value is None else _money(s.total_value),
        "realized_pnl": None if s.realized_pnl is None else _money(s.realized_pnl),
        "unrealized_pnl": None if s.unrealized_pnl is None else _money(s.unrealized_pnl),
        "daily_pnl": None if s.daily_pnl is None else _money(s.daily_pnl),
        "captured_at": s.captured_at.isoformat(),
    }


def _policy_of(params: Sequence[m.RiskParameter]) -> g.RiskPolicy:
    """The engine's policy from the stored parameters (money limits keep their basis)."""
    values: dict[str, Any] = {}
    for p in params:
        name = p.parameter_name
        kind = POLICY_FIELDS.get(name)
        value = Decimal(p.parameter_value)
        if kind is None:
            continue
        if kind == "money":
            if p.parameter_type == "percentage":
                values[name] = g.Limit.percent_of_nav(value)
            elif p.parameter_type == "multiplier":
                values[name] = g.Limit.multiple_of_nav(value)
            else:
                values[name] = g.Limit.absolute(value)
        elif kind == "count":
            if value != value.to_integral_value():
                raise DeskError(f"{name} must be a whole number, got {value}")
            values[name] = int(value)
        else:
            values[name] = value
    try:
        return g.RiskPolicy(**values)
    except (TypeError, ValueError) as error:
        raise DeskError(f"risk policy: {error}") from error
