"""Stored trading signals: save a :class:`~riskdesk.trading.signals.SignalDraft`, list, move, trade.

:class:`SignalBook` is the use case behind ``riskdesk signal ...`` and ``/v1/signals``. A
signal is stored in ``signals`` (seed 001's fields: ticker, type = the direction, strategy,
generated / expires, underlying price, confidence and the payoff figures) with its legs in
``signal_legs``. ``max_reward`` is the draft's max profit, ``max_risk`` its max loss (a
positive number), ``break_even_price`` the lowest breakeven; ``analysis_data`` keeps every
breakeven, the net premium (per share: positive a debit, negative a credit) and the metrics as
exact decimal text, so :meth:`SignalBook.get` gives back the very figures that were stored.

Signals are shared desk data (the table has no owner): every caller reads them. The status
moves ``active -> executed / expired / cancelled`` through
:func:`riskdesk.trading.signals.transition`, each change audited.

:meth:`SignalBook.ticket` turns an active, unexpired signal into an
:class:`~riskdesk.trading.desk.OrderTicket` for :meth:`PaperDesk.submit
<riskdesk.trading.desk.PaperDesk.submit>`: the legs in order (ratios = leg quantities over
their greatest common divisor), a limit at the net of the legs' estimated prices (the quote
mids when the signal was built), unsigned with ``net_credit`` for a credit.

The queries are plain ORM statements in this use case's units of work (``signals`` and
``signal_legs`` have no repository functions beyond :func:`riskdesk.store.trading.page_signals`).
"""

from __future__ import annotations

import builtins
import math
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import reduce
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from riskdesk.domain.caller import Caller
from riskdesk.risk._scoped import ScopedUseCases
from riskdesk.store import Database
from riskdesk.store import models as m
from riskdesk.store import trading as repo
from riskdesk.store.paging import KeysetPage, PageKey
from riskdesk.store.types import utc_now
from riskdesk.trading.desk import OrderTicket, TicketLeg
from riskdesk.trading.model import OrderType, Side, TimeInForce
from riskdesk.trading.signals import (
    SignalDraft,
    SignalMetrics,
    SignalStatus,
    SignalTransitionError,
    transition,
)

__all__ = [
    "SignalBook",
    "SignalNotFoundError",
    "SignalStateError",
    "SignalView",
]

_ZERO = Decimal(0)


class SignalNotFoundError(LookupError):
    """No stored signal has that id."""


class SignalStateError(ValueError):
    """The signal's status or expiry refuses the request (cancel a cancelled one, ...)."""


@dataclass(frozen=True, slots=True)
class SignalView:
    """A stored signal, its legs and its payoff figures (money and prices as Decimal)."""

    id: uuid.UUID
    symbol: str
    direction: str
    strategy_type: str
    confidence: Decimal
    status: str
    generated_at: datetime
    expires_at: datetime
    underlying_price: Decimal
    metrics: SignalMetrics | None
    legs: tuple[dict[str, Any], ...]
    created_at: datetime
    updated_at: datetime

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: decimals as strings, times ISO-8601 UTC."""
        metrics = self.metrics
        return {
            "id": str(self.id),
            "symbol": self.symbol,
            "direction": self.direction,
            "strategy_type": self.strategy_type,
            "confidence": str(self.confidence),
            "status": self.status,
            "generated_at": self.generated_at.isoformat(),
            "expires_at": self.expires_at.isoformat(),
            "underlying_price": str(self.underlying_price),
            "max_profit": _text(None if metrics is None else metrics.max_profit),
            "max_loss": _text(None if metrics is None else metrics.max_loss),
            "breakevens": [] if metrics is None else [str(b) for b in metrics.breakevens],
            "probability_of_profit": _text(
                None if metrics is None else metrics.probability_of_profit
            ),
            "net_premium": _text(None if metrics is None else metrics.net_premium),
            "legs": [dict(leg) for leg in self.legs],
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
        }


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _decimal(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _metrics_data(metrics: SignalMetrics) -> dict[str, Any]:
    return {
        "max_profit": _text(metrics.max_profit),
        "max_loss": _text(metrics.max_loss),
        "breakevens": [str(b) for b in metrics.breakevens],
        "probability_of_profit": _text(metrics.probability_of_profit),
        "net_premium": str(metrics.net_premium),
    }


def _metrics_of(row: m.Signal) -> SignalMetrics | None:
    data = row.analysis_data or {}
    if "net_premium" not in data:
        return None
    return SignalMetrics(
        max_profit=_decimal(data.get("max_profit")),
        max_loss=_decimal(data.get("max_loss")),
        breakevens=tuple(Decimal(str(b)) for b in data.get("breakevens", ())),
        probability_of_profit=_decimal(data.get("probability_of_profit")),
        net_premium=Decimal(str(data["net_premium"])),
    )


def _leg_dict(leg: m.SignalLeg) -> dict[str, Any]:
    return {
        "leg_order": leg.leg_order,
        "action": leg.action,
        "option_type": leg.option_type,
        "strike": str(leg.strike_price.normalize()),
        "expiry": leg.expiration_date.isoformat(),
        "quantity": leg.quantity,
        "estimated_price": _text(leg.estimated_price),
        "occ_symbol": leg.option_symbol,
    }


def _view(row: m.Signal) -> SignalView:
    assert row.generated_at is not None  # seed 001 fields
    assert row.expires_at is not None
    assert row.underlying_price is not None
    return SignalView(
        id=row.id,
        symbol=row.symbol or "",
        direction=row.signal_type or "",
        strategy_type=row.strategy_type or "",
        confidence=row.confidence,
        status=row.status,
        generated_at=row.generated_at,
        expires_at=row.expires_at,
        underlying_price=row.underlying_price,
        metrics=_metrics_of(row),
        legs=tuple(_leg_dict(leg) for leg in row.legs),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


class SignalBook(ScopedUseCases):
    """Store, list, move and trade signals (see the module docstring).

    Parameters
    ----------
    db, caller
        The store and who acts (None: the local desktop user); changes are audited as it.
    clock
        Now (timezone-aware UTC): when a signal counts as expired for :meth:`ticket`.

    """

    def __init__(
        self,
        db: Database,
        caller: Caller | None = None,
        *,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        super().__init__(db, caller)
        self.clock = clock

    # ----------------------------------------------------------------- writes

    def store(self, draft: SignalDraft) -> SignalView:
        """Store ``draft`` (active) with its legs and metrics; returns the stored signal.

        Raises
        ------
        ValueError
            When ``draft`` is not a :class:`SignalDraft`.

        """
        if not isinstance(draft, SignalDraft):
            raise ValueError(f"store needs a SignalDraft, got {type(draft).__name__}")
        metrics = draft.metrics
        with self._write() as uow:
            session = uow.session
            row = m.Signal(
                ticker_id=repo.get_or_create_ticker(session, draft.symbol),
                symbol=draft.symbol,
                signal_type=draft.direction.value,
                strategy_type=draft.strategy_type,
                confidence=draft.confidence,
                generated_at=draft.generated_at,
                expires_at=draft.expires_at,
                underlying_price=draft.underlying_price,
                status=SignalStatus.ACTIVE.value,
                max_reward=None if metrics is None else metrics.max_profit,
                max_risk=None if metrics is None else metrics.max_loss,
                probability_profit=None if metrics is None else metrics.probability_of_profit,
                break_even_price=(
                    metrics.breakevens[0] if metrics is not None and metrics.breakevens else None
                ),
                analysis_data=None if metrics is None else _metrics_data(metrics),
            )
            session.add(row)
            session.flush()
            for order, leg in enumerate(draft.legs):
                session.add(
                    m.SignalLeg(
                        signal_id=row.id,
                        leg_order=order,
                        action=leg.action.value,
                        option_type=leg.contract.right.name.lower(),
                        strike_price=leg.contract.strike,
                        expiration_date=leg.contract.expiry,
                        quantity=leg.quantity,
                        estimated_price=leg.estimated_price,
                        option_symbol=leg.occ_symbol,
                    )
                )
            session.flush()
            session.refresh(row)
            uow.audit("signal.create", resource_type="signal", resource_id=str(row.id))
            return _view(row)

    def _move(self, signal_id: uuid.UUID, status: SignalStatus, action: str) -> SignalView:
        with self._write() as uow:
            row = self._row(uow.session, signal_id)
            try:
                row.status = transition(row.status, status).value
            except SignalTransitionError as error:
                raise SignalStateError(f"signal {signal_id}: {error}") from error
            row.updated_at = self.clock()
            uow.session.flush()
            uow.audit(action, resource_type="signal", resource_id=str(row.id))
            return _view(row)

    def cancel(self, signal_id: uuid.UUID) -> SignalView:
        """Cancel an active signal.

        Raises
        ------
        SignalNotFoundError, SignalStateError
            For an unknown signal, or one that is no longer active.

        """
        return self._move(signal_id, SignalStatus.CANCELLED, "signal.cancel")

    def mark_executed(self, signal_id: uuid.UUID) -> SignalView:
        """Mark an active signal executed (an order was placed from it).

        Raises
        ------
        SignalNotFoundError, SignalStateError
            For an unknown signal, or one that is no longer active.

        """
        return self._move(signal_id, SignalStatus.EXECUTED, "signal.execute")

    def expire_due(self, now: datetime | None = None) -> builtins.list[uuid.UUID]:
        """Expire every active signal whose ``expires_at`` is at or before ``now``.

        Returns the ids expired (oldest expiry first); ``now`` defaults to the clock.
        """
        at = self.clock() if now is None else now
        if at.tzinfo is None:
            raise ValueError(f"now must be timezone-aware (UTC), got {at.isoformat()}")
        with self._write() as uow:
            rows = list(
                uow.session.scalars(
                    select(m.Signal)
                    .where(
                        m.Signal.status == SignalStatus.ACTIVE.value,
                        m.Signal.expires_at.is_not(None),
                        m.Signal.expires_at <= at,
                    )
                    .order_by(m.Signal.expires_at, m.Signal.id)
                )
            )
            for row in rows:
                row.status = transition(row.status, SignalStatus.EXPIRED).value
                row.updated_at = at
            uow.session.flush()
            if rows:
                uow.audit(
                    "signal.expire",
                    resource_type="signal",
                    resource_id="due",
                    new={"expired": [str(r.id) for r in rows], "at": at.isoformat()},
                )
            return [r.id for r in rows]

    # ----------------------------------------------------------------- reads

    def _row(self, session: Session, signal_id: uuid.UUID) -> m.Signal:
        row = session.get(m.Signal, signal_id)
        if row is None:
            raise SignalNotFoundError(f"no signal {signal_id}")
        return row

    def get(self, signal_id: uuid.UUID) -> SignalView:
        """One signal with its legs and metrics.

        Raises
        ------
        SignalNotFoundError
            When no signal has that id.

        """
        with self._read() as uow:
            return _view(self._row(uow.session, signal_id))

    def list(
        self,
        *,
        status: str | None = None,
        symbol: str | None = None,
        after: PageKey | None = None,
        limit: int = 50,
    ) -> KeysetPage[SignalView]:
        """A page of signals, newest first, filtered by status and underlying symbol.

        Raises
        ------
        ValueError
            For a status other than active, executed, expired or cancelled.

        """
        if status is not None and status not in {s.value for s in SignalStatus}:
            allowed = ", ".join(s.value for s in SignalStatus)
            raise ValueError(f"status must be one of {allowed}, got {status!r}")
        with self._read() as uow:
            page = repo.page_signals(
                uow.session, status=status, symbol=symbol, after=after, limit=limit
            )
            return KeysetPage([_view(r) for r in page.items], page.next_key)

    # ----------------------------------------------------------------- trading

    def ticket(
        self,
        signal_id: uuid.UUID,
        *,
        quantity: int | None = None,
        order_type: OrderType = OrderType.LIMIT,
        time_in_force: TimeInForce = TimeInForce.DAY,
        check_state: bool = True,
    ) -> OrderTicket:
        """An order ticket that trades the signal (see the module docstring).

        Parameters
        ----------
        signal_id
            An active signal whose ``expires_at`` is after now.
        quantity
            Units of the strategy; None: the greatest common divisor of the leg quantities
            (the signal as built).
        order_type, time_in_force
            A limit order (the default) is priced at the legs' net estimated price; a market
            order carries no price. Stop orders need a stop the signal does not give.
        check_state
            False builds the ticket of a signal already traded (a retry under an idempotency
            key): the desk then replays the stored order or refuses the signal.

        Raises
        ------
        SignalNotFoundError
            For an unknown signal.
        SignalStateError
            When the signal is not active, or has expired (even if not yet marked so).
        ValueError
            For a quantity below 1, a stop order type, or a limit order on a leg without an
            estimated price.

        """
        if order_type in (OrderType.STOP, OrderType.STOP_LIMIT):
            raise ValueError(
                f"a signal ticket is a market or limit order, not {order_type.value}: a signal "
                "carries no stop price"
            )
        if quantity is not None and (isinstance(quantity, bool) or quantity < 1):
            raise ValueError(f"quantity must be a whole number >= 1, got {quantity!r}")
        now = self.clock()
        signal = self.get(signal_id)
        if not check_state:
            pass  # a retry under an idempotency key: the desk replays or refuses the order
        elif signal.status != SignalStatus.ACTIVE.value:
            raise SignalStateError(
                f"signal {signal_id} is {signal.status}: only an active signal can be traded"
            )
        elif signal.expires_at <= now:
            raise SignalStateError(
                f"signal {signal_id} expired at {signal.expires_at.isoformat()} (now "
                f"{now.isoformat()}): build a fresh signal"
            )
        sizes = [int(leg["quantity"]) for leg in signal.legs]
        unit = reduce(math.gcd, sizes)
        legs = tuple(
            TicketLeg(
                symbol=str(leg["occ_symbol"]),
                side=Side(leg["action"]),
                ratio=int(leg["quantity"]) // unit,
            )
            for leg in signal.legs
        )
        limit: Decimal | None = None
        credit = False
        if order_type is OrderType.LIMIT:
            missing = [leg["occ_symbol"] for leg in signal.legs if leg["estimated_price"] is None]
            if missing:
                raise ValueError(
                    f"signal {signal_id}: legs {', '.join(map(str, missing))} have no estimated "
                    "price, so no limit can be set; use a market order"
                )
            net = sum(
                (
                    Side(leg.side).sign * leg.ratio * Decimal(str(raw["estimated_price"]))
                    for leg, raw in zip(legs, signal.legs, strict=True)
                ),
                _ZERO,
            )
            if len(legs) == 1:
                limit = Decimal(str(signal.legs[0]["estimated_price"]))
            else:
                limit = abs(net)
                credit = net < 0
        return OrderTicket(
            legs=legs,
            quantity=unit if quantity is None else quantity,
            order_type=order_type,
            time_in_force=time_in_force,
            limit_price=limit,
            net_credit=credit,
            signal_id=signal.id,
            confidence=signal.confidence,
            strategy_type=signal.strategy_type,
        )
