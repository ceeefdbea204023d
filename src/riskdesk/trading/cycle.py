"""One strategy-risk-execution cycle (seed 004's ``POST /trade/cycle``), idempotent.

A cycle takes the market, builds a signal from a simple deterministic rule
(:class:`SimpleRule`: a strategy template chosen by delta on the nearest listed expiry, e.g. a
0DTE short iron condor) with :func:`riskdesk.trading.signals.build_signal`, and submits it as
one multi-leg limit order through :class:`~riskdesk.trading.desk.PaperDesk` (kill switch and
risk gates included). The outcome is stored as a ``trade_cycles`` row.

Idempotency
-----------
The cycle's request is ``{account, trigger_source, symbol, rule}``; its SHA-256 (canonical
JSON) is stored with the key, unique per account. A repeat of the key with the same request
returns the stored result and creates nothing; another request under the key raises
:class:`~riskdesk.trading.desk.IdempotencyConflictError`.

Concurrency and crashes: the order is submitted under the derived order key
``cycle:<key>``, so two racing cycles with one key submit one order (the desk locks the
account and checks the key). The ``trade_cycles`` row is then inserted with the account
locked; a concurrent insert that loses on the unique ``(account, key)`` constraint returns the
winner's row. A process killed between the order and the row leaves the order; the retry
adopts it (the order stored under ``cycle:<key>``) and writes the row.

Persistence note: the two ``trade_cycles`` statements (find by key, insert) are plain ORM
calls on the desk's unit of work here, through :func:`riskdesk.store.trading.trade_cycle_by_key`
and ``session.add``; every other statement is the desk's.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError

from riskdesk.domain.market import MarketSnapshot
from riskdesk.store import models as m
from riskdesk.store import trading as repo
from riskdesk.trading.desk import (
    DeskError,
    IdempotencyConflictError,
    OrderTicket,
    OrderView,
    PaperDesk,
    SubmitResult,
    TicketLeg,
    request_digest,
)
from riskdesk.trading.market import underlying_of
from riskdesk.trading.model import OrderType, TimeInForce
from riskdesk.trading.signals import TEMPLATES, ByDelta, SignalDraft, SignalError, build_signal

__all__ = [
    "CycleError",
    "CycleResult",
    "SimpleRule",
    "TradeCycles",
    "cycle_order_key",
    "pick_expiry",
    "signal_ticket",
]

_NEW_YORK = ZoneInfo("America/New_York")
_TICK = Decimal("0.01")
_MAX_KEY = 240
"""Cycle keys leave room for the ``cycle:`` prefix of the order key (255 characters)."""


class CycleError(DeskError):
    """A cycle the desk cannot run (no such expiry, a template that cannot be built)."""


@dataclass(frozen=True, slots=True)
class SimpleRule:
    """A deterministic entry rule: one strategy template by delta, priced at the mid.

    Parameters
    ----------
    template
        A key of :data:`riskdesk.trading.signals.TEMPLATES` (default: the short iron condor).
    short_delta, wing_delta
        Absolute deltas of the short strikes and of the wings (:class:`ByDelta`).
    quantity
        Units of the structure (contracts per leg).
    confidence
        The signal's confidence in ``[0, 1]`` (the ``min_confidence`` gate reads it).
    days_to_expiry
        Calendar days from the New York date of the cycle to the expiry (0: the same-day
        expiry, 0DTE); the nearest listed expiry on or after that date is taken.
    signal_minutes
        How long the signal stays active.
    time_in_force
        The order's time in force (DAY by default).

    The order is a limit at the mid net price (the legs' mids), rounded to the cent in the
    marketable direction (a credit down, a debit up).

    """

    template: str = "iron_condor"
    short_delta: Decimal = Decimal("0.20")
    wing_delta: Decimal = Decimal("0.05")
    quantity: int = 1
    confidence: Decimal = Decimal("0.6")
    days_to_expiry: int = 0
    signal_minutes: int = 30
    time_in_force: TimeInForce = TimeInForce.DAY

    def __post_init__(self) -> None:
        if self.template not in TEMPLATES:
            raise CycleError(
                f"rule template {self.template!r} is unknown; templates: "
                f"{', '.join(sorted(TEMPLATES))}"
            )
        if self.quantity < 1:
            raise CycleError(f"rule quantity must be >= 1, got {self.quantity}")
        if self.days_to_expiry < 0:
            raise CycleError(f"rule days_to_expiry must be >= 0, got {self.days_to_expiry}")
        if self.signal_minutes < 1:
            raise CycleError(f"rule signal_minutes must be >= 1, got {self.signal_minutes}")
        if not self.confidence.is_finite() or not 0 <= self.confidence <= 1:
            raise CycleError(f"rule confidence must be in [0, 1], got {self.confidence}")
        try:
            ByDelta(self.short_delta, self.wing_delta)
        except (SignalError, ValueError) as error:
            raise CycleError(f"rule deltas: {error}") from error

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (part of the cycle's idempotent request)."""
        return {
            "template": self.template,
            "short_delta": str(self.short_delta),
            "wing_delta": str(self.wing_delta),
            "quantity": self.quantity,
            "confidence": str(self.confidence),
            "days_to_expiry": self.days_to_expiry,
            "signal_minutes": self.signal_minutes,
            "time_in_force": self.time_in_force.value,
        }


@dataclass(frozen=True, slots=True)
class CycleResult:
    """What a cycle did: its id, whether the order passed, the order and the signal.

    ``code`` is None when the order passed the kill switch and the gates (it may rest
    unfilled), else ``RISK_BLOCKED``, ``KILL_SWITCH_ACTIVE`` or ``STALE_MARKET_DATA``.
    ``order`` is the order as it stood when the cycle ended; ``replayed`` is True when an
    idempotency key returned an earlier cycle.
    """

    cycle_id: uuid.UUID
    account_id: uuid.UUID
    accepted: bool
    code: str | None
    message: str | None
    order: dict[str, Any]
    signal: dict[str, Any]
    queued_at: datetime
    replayed: bool = False

    @property
    def order_id(self) -> uuid.UUID:
        """The cycle's order."""
        return uuid.UUID(str(self.order["order_id"]))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (money as strings, times ISO-8601 UTC)."""
        return {
            "cycle_id": str(self.cycle_id),
            "account_id": str(self.account_id),
            "accepted": self.accepted,
            "code": self.code,
            "message": self.message,
            "queued_at": self.queued_at.isoformat(),
            "order": self.order,
            "signal": self.signal,
            "replayed": self.replayed,
        }

    @classmethod
    def from_stored(cls, row: m.TradeCycle) -> CycleResult:
        """The result stored on a ``trade_cycles`` row, as a replay."""
        result = row.result
        return cls(
            cycle_id=row.cycle_id,
            account_id=row.account_id,
            accepted=bool(result["accepted"]),
            code=result.get("code"),
            message=result.get("message"),
            order=dict(result["order"]),
            signal=dict(result.get("signal") or {}),
            queued_at=datetime.fromisoformat(str(result["queued_at"])),
            replayed=True,
        )


def cycle_order_key(key: str) -> str:
    """The idempotency key of a cycle's order."""
    return f"cycle:{key}"


def pick_expiry(snapshot: MarketSnapshot, symbol: str, at: datetime, days: int) -> date:
    """The nearest listed expiry of ``symbol`` on or after the New York date of ``at`` + ``days``.

    Raises
    ------
    CycleError
        When ``snapshot`` lists no such expiry (the message lists the ones it has).

    """
    earliest = at.astimezone(_NEW_YORK).date() + timedelta(days=days)
    listed = sorted(
        {q.contract.expiry for q in snapshot.options if q.contract.underlying == symbol}
    )
    for expiry in listed:
        if expiry >= earliest:
            return expiry
    shown = ", ".join(d.isoformat() for d in listed) or "none"
    raise CycleError(
        f"no {symbol} expiry on or after {earliest.isoformat()} in the market (listed: {shown})"
    )


def signal_ticket(
    draft: SignalDraft,
    *,
    order_type: OrderType = OrderType.LIMIT,
    time_in_force: TimeInForce = TimeInForce.DAY,
) -> OrderTicket:
    """The order of a signal: its legs, a limit at the mid net price (cent, marketable side).

    A multi-leg net credit is sent as an unsigned limit with ``net_credit=True``.
    """
    net = sum(
        (leg.action.sign * (leg.estimated_price or Decimal(0)) for leg in draft.legs), Decimal(0)
    )
    credit = net < 0
    limit = abs(net).quantize(_TICK, rounding=ROUND_FLOOR if credit else ROUND_CEILING)
    units = draft.legs[0].quantity
    return OrderTicket(
        legs=tuple(
            TicketLeg(leg.occ_symbol, leg.action, leg.quantity // units) for leg in draft.legs
        ),
        quantity=units,
        order_type=order_type,
        time_in_force=time_in_force,
        limit_price=limit if order_type in (OrderType.LIMIT, OrderType.STOP_LIMIT) else None,
        net_credit=credit and len(draft.legs) > 1,
        confidence=draft.confidence,
        strategy_type=draft.strategy_type,
    )


def _signal_dict(draft: SignalDraft, expiry: date) -> dict[str, Any]:
    metrics = draft.metrics
    return {
        "strategy_type": draft.strategy_type,
        "direction": draft.direction.value,
        "confidence": str(draft.confidence),
        "expiry": expiry.isoformat(),
        "underlying_price": str(draft.underlying_price),
        "generated_at": draft.generated_at.isoformat(),
        "expires_at": draft.expires_at.isoformat(),
        "legs": [
            {
                "symbol": leg.occ_symbol,
                "side": leg.action.value,
                "quantity": leg.quantity,
                "estimated_price": None
                if leg.estimated_price is None
                else str(leg.estimated_price),
            }
            for leg in draft.legs
        ],
        "max_profit": None
        if metrics is None or metrics.max_profit is None
        else str(metrics.max_profit),
        "max_loss": None if metrics is None or metrics.max_loss is None else str(metrics.max_loss),
        "net_premium": None if metrics is None else str(metrics.net_premium),
        "probability_of_profit": None
        if metrics is None or metrics.probability_of_profit is None
        else str(metrics.probability_of_profit),
    }


class TradeCycles:
    """Idempotent strategy-risk-execution cycles on a :class:`PaperDesk`."""

    def __init__(self, desk: PaperDesk) -> None:
        self.desk = desk

    def run(
        self,
        account: str | uuid.UUID,
        *,
        idempotency_key: str,
        trigger_source: str,
        symbol: str,
        rule: SimpleRule | None = None,
    ) -> CycleResult:
        """Run one cycle for ``account`` (see the module docstring).

        Raises
        ------
        AccountNotFoundError
            For an unknown account.
        IdempotencyConflictError
            When ``idempotency_key`` was used with another request.
        CycleError
            For a bad key, trigger or symbol, or a signal the market cannot give (no listed
            expiry, strikes that collapse).

        """
        rule = rule or SimpleRule()
        key = idempotency_key
        if not isinstance(key, str) or not 1 <= len(key) <= _MAX_KEY:
            raise CycleError(f"idempotency_key needs 1 to {_MAX_KEY} characters")
        trigger = trigger_source.strip()
        if not trigger or len(trigger) > 50:
            raise CycleError("trigger_source needs 1 to 50 characters")
        ticker = symbol.strip().upper()
        if not ticker or len(ticker) > 10 or not ticker.replace(".", "").isalnum():
            raise CycleError(f"symbol {symbol!r} is not a ticker")
        account_id = self.desk.get_account(account).id
        request = {
            "account_id": str(account_id),
            "trigger_source": trigger,
            "symbol": ticker,
            "rule": rule.to_dict(),
        }
        digest = request_digest(request)
        stored = self._stored(account_id, key, digest)
        if stored is not None:
            return stored
        adopted = self._adopt(account_id, key, ticker)
        if adopted is not None:
            submitted, signal = adopted, {}
        else:
            now = self.desk.clock()
            snapshot = self.desk.market.snapshot([ticker], now)
            expiry = pick_expiry(snapshot, ticker, now, rule.days_to_expiry)
            try:
                draft = build_signal(
                    rule.template,
                    snapshot,
                    symbol=ticker,
                    expiry=expiry,
                    selection=ByDelta(rule.short_delta, rule.wing_delta),
                    quantity=rule.quantity,
                    confidence=rule.confidence,
                    generated_at=now,
                    expires_at=now + timedelta(minutes=rule.signal_minutes),
                )
            except (SignalError, ValueError) as error:
                raise CycleError(f"cycle signal on {ticker}: {error}") from error
            signal = _signal_dict(draft, expiry)
            ticket = signal_ticket(draft, time_in_force=rule.time_in_force)
            try:
                submitted = self.desk.submit(
                    account_id, ticket, idempotency_key=cycle_order_key(key)
                )
            except IdempotencyConflictError:
                # a concurrent cycle under this key won (on another market): take its result
                stored = self._stored(account_id, key, digest)
                if stored is not None:
                    return stored
                again = self._adopt(account_id, key, ticker)
                if again is None:
                    raise
                submitted = again
        return self._record(account_id, key, digest, trigger, ticker, submitted, signal)

    def get(self, account: str | uuid.UUID, idempotency_key: str) -> CycleResult | None:
        """The cycle stored under ``idempotency_key`` for ``account``, if any."""
        account_id = self.desk.get_account(account).id
        with self.desk._read() as uow:
            row = repo.trade_cycle_by_key(uow.session, account_id, idempotency_key)
            return None if row is None else CycleResult.from_stored(row)

    # ----------------------------------------------------------------- internals

    def _stored(self, account_id: uuid.UUID, key: str, digest: str) -> CycleResult | None:
        with self.desk._read() as uow:
            row = repo.trade_cycle_by_key(uow.session, account_id, key)
            if row is None:
                return None
            if row.request_sha256 != digest:
                raise IdempotencyConflictError(
                    f"idempotency key {key!r} was used for another trade cycle"
                )
            return CycleResult.from_stored(row)

    def _adopt(self, account_id: uuid.UUID, key: str, symbol: str) -> SubmitResult | None:
        """The order an earlier (crashed or concurrent) cycle stored under this key, if any."""
        with self.desk._read() as uow:
            order = repo.order_by_key(uow.session, account_id, cycle_order_key(key))
            order_id = None if order is None else order.id
        if order_id is None:
            return None
        view: OrderView = self.desk.get_order(order_id)
        if underlying_of(view.symbol) != symbol:
            raise IdempotencyConflictError(
                f"idempotency key {key!r} was used for a cycle on {view.symbol}"
            )
        return SubmitResult(
            order=view, code=view.code, message=view.reason, checks=(), replayed=True
        )

    def _record(
        self,
        account_id: uuid.UUID,
        key: str,
        digest: str,
        trigger: str,
        symbol: str,
        submitted: SubmitResult,
        signal: dict[str, Any],
    ) -> CycleResult:
        queued_at = self.desk.clock()
        cycle_id = uuid.uuid4()
        order = submitted.order.to_dict()
        result: dict[str, Any] = {
            "accepted": submitted.accepted,
            "code": submitted.code,
            "message": submitted.message,
            "queued_at": queued_at.isoformat(),
            "order": order,
            "signal": signal,
        }
        try:
            with self.desk._write() as uow:
                session = uow.session
                repo.lock_account(session, account_id)
                row = repo.trade_cycle_by_key(session, account_id, key)
                if row is None:
                    session.add(
                        m.TradeCycle(
                            cycle_id=cycle_id,
                            account_id=account_id,
                            idempotency_key=key,
                            request_sha256=digest,
                            trigger_source=trigger,
                            symbol=symbol,
                            status="completed" if submitted.accepted else "rejected",
                            result=result,
                            created_at=queued_at,
                        )
                    )
                    session.flush()
                    uow.audit(
                        "trade_cycle.run", resource_type="trade_cycle", resource_id=str(cycle_id)
                    )
        except IntegrityError:
            row = None  # lost the race on (account, key): the winner's row is committed
        else:
            if row is None:
                return CycleResult(
                    cycle_id=cycle_id,
                    account_id=account_id,
                    accepted=submitted.accepted,
                    code=submitted.code,
                    message=submitted.message,
                    order=order,
                    signal=signal,
                    queued_at=queued_at,
                )
        stored = self._stored(account_id, key, digest)
        if stored is None:  # pragma: no cover - the unique violation names a committed row
            raise CycleError(f"trade cycle {key!r} vanished after a unique violation")
        return stored
