"""The kill switch (seeds 004 and 001): a pure state machine that stops new orders.

No SQL, no clock, no I/O: the caller loads the :class:`KillSwitchState`, passes the time
``now``, stores every returned :class:`KillSwitchEvent` (one ``kill_switch_events`` row per
transition) and the new state, and cancels the resting orders when told to
(:attr:`KillSwitchResult.cancel_resting_orders`).

Transitions
-----------
* :func:`manual_on` / :func:`manual_off`: an actor and a reason are required (blank ones are
  refused). Turning off is the only way back: a trip never resets itself. Switching to the
  state it is already in changes nothing and returns no event.
* :func:`check_market` trips the switch (actor ``system``) on the first of these, in order:

  ===================  ==========================================================  =========
  trigger              observed                                                    trips if
  ===================  ==========================================================  =========
  stale_market_data    seconds since a feed's last quote (no quote at all: trips)  > 120 s
  price_move           largest mid move between two quotes of a feed in the last   >= 10%
                       60 s (both ends inside ``[now - 60 s, now]``), in percent
  drawdown             ``(peak_nav - nav) / peak_nav``, in percent                 >= limit
  daily_loss           ``max(0, -daily_pnl)`` (money; :class:`~.gates.Limit`)      >= limit
  vix_emergency        the VIX level (seed 001's emergency level)                  >= 35
  ===================  ==========================================================  =========

  Below a trip, a feed older than 30 s (``> 30 s``; exactly 30 s is fresh) makes
  :attr:`KillSwitchResult.refusal` ``STALE_MARKET_DATA`` (new orders refused, switch not
  tripped), and a move of 5% or more (below 10%) returns a ``warn`` event. A limit that is
  set but whose input is missing (no NAV, no VIX) returns a ``warn`` event saying so; it
  does not trip, and it never passes silently. The drawdown and daily-loss limits are off
  unless set; the VIX level can be turned off with ``vix_emergency=None``.

Admission
---------
:func:`admit` is checked before the risk gates: while the switch is on nothing new passes
(``KILL_SWITCH_ACTIVE``, HTTP 423); given the latest market check, stale data refuses the
order (``STALE_MARKET_DATA``, HTTP 409).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from riskdesk.trading.gates import Limit
from riskdesk.trading.model import OrderRequest

__all__ = [
    "KILL_SWITCH_ACTIVE",
    "STALE_MARKET_DATA",
    "SYSTEM_ACTOR",
    "Admission",
    "KillSwitchAction",
    "KillSwitchEvent",
    "KillSwitchPolicy",
    "KillSwitchResult",
    "KillSwitchState",
    "KillSwitchTrigger",
    "MarketFeed",
    "MarketView",
    "admit",
    "check_market",
    "manual_off",
    "manual_on",
]

KILL_SWITCH_ACTIVE = "KILL_SWITCH_ACTIVE"
"""The error code of an order refused while the switch is on (HTTP 423)."""

STALE_MARKET_DATA = "STALE_MARKET_DATA"
"""The error code of an order refused on stale market data (HTTP 409)."""

SYSTEM_ACTOR = "system"
"""The actor of automatic trips."""

_ZERO = Decimal(0)
_HUNDRED = Decimal(100)


class KillSwitchAction(enum.StrEnum):
    """What an event records: the switch turned on or off, or a warning (no transition)."""

    ON = "on"
    OFF = "off"
    WARN = "warn"


class KillSwitchTrigger(enum.StrEnum):
    """Why the switch changed (or warned)."""

    MANUAL = "manual"
    STALE_MARKET_DATA = "stale_market_data"
    PRICE_MOVE = "price_move"
    DRAWDOWN = "drawdown"
    DAILY_LOSS = "daily_loss"
    VIX_EMERGENCY = "vix_emergency"


def _require_aware(value: datetime | None, field: str) -> None:
    if value is not None and value.tzinfo is None:
        raise ValueError(f"{field} must be a timezone-aware UTC time, got {value.isoformat()}")


def _require_finite(value: Decimal | None, field: str) -> None:
    if value is not None and not value.is_finite():
        raise ValueError(f"{field} must be a finite number, got {value}")


def _require_text(value: str, field: str) -> str:
    text = value.strip()
    if not text:
        raise ValueError(f"{field} is required: say who switches and why")
    return text


@dataclass(frozen=True, slots=True)
class KillSwitchState:
    """The switch: on or off, since when, why, who and by which trigger.

    The initial state is :meth:`initial` (off, never changed).
    """

    on: bool
    since: datetime | None = None
    reason: str | None = None
    actor: str | None = None
    trigger: KillSwitchTrigger | None = None

    def __post_init__(self) -> None:
        _require_aware(self.since, "kill switch since")

    @classmethod
    def initial(cls) -> KillSwitchState:
        """Off, never switched."""
        return cls(on=False)


@dataclass(frozen=True, slots=True)
class KillSwitchEvent:
    """One change (or warning) for the caller to store as a ``kill_switch_events`` row.

    ``observed`` and ``threshold`` are None for manual changes and missing inputs.
    """

    at: datetime
    action: KillSwitchAction
    trigger: KillSwitchTrigger
    reason: str
    actor: str
    observed: Decimal | None = None
    threshold: Decimal | None = None


@dataclass(frozen=True, slots=True)
class KillSwitchPolicy:
    """The automatic triggers' thresholds (defaults: seed 004's and seed 001's).

    Seconds are whole numbers; moves and the drawdown in percent (``10`` is 10%);
    ``max_daily_loss`` a money :class:`~riskdesk.trading.gates.Limit` (a relative one reads
    the NAV); ``vix_emergency`` a VIX level. None turns a trigger off.
    """

    stale_trip_seconds: int = 120
    stale_refuse_seconds: int = 30
    move_window_seconds: int = 60
    move_trip_pct: Decimal = Decimal(10)
    move_warn_pct: Decimal = Decimal(5)
    max_drawdown_pct: Decimal | None = None
    max_daily_loss: Limit | None = None
    vix_emergency: Decimal | None = Decimal(35)

    def __post_init__(self) -> None:
        if not 0 <= self.stale_refuse_seconds <= self.stale_trip_seconds:
            raise ValueError(
                "kill switch policy needs 0 <= stale_refuse_seconds <= stale_trip_seconds, got "
                f"{self.stale_refuse_seconds} and {self.stale_trip_seconds}"
            )
        if self.move_window_seconds <= 0:
            raise ValueError(
                f"kill switch policy move_window_seconds must be > 0, got {self.move_window_seconds}"
            )
        for name in ("move_trip_pct", "move_warn_pct", "max_drawdown_pct", "vix_emergency"):
            value: Decimal | None = getattr(self, name)
            _require_finite(value, f"kill switch policy {name}")
            if value is not None and value < 0:
                raise ValueError(f"kill switch policy {name} must be >= 0, got {value}")
        if self.move_warn_pct > self.move_trip_pct:
            raise ValueError(
                f"kill switch policy move_warn_pct {self.move_warn_pct} is above "
                f"move_trip_pct {self.move_trip_pct}"
            )


@dataclass(frozen=True, slots=True)
class MarketFeed:
    """One instrument's feed: when its last quote arrived and its recent mids.

    ``mids`` are ``(time, mid)`` pairs (any order; mids > 0); only the ones inside the move
    window are read.
    """

    symbol: str
    last_quote_at: datetime | None
    mids: tuple[tuple[datetime, Decimal], ...] = ()

    def __post_init__(self) -> None:
        _require_aware(self.last_quote_at, f"feed {self.symbol} last_quote_at")
        for at, mid in self.mids:
            _require_aware(at, f"feed {self.symbol} mid time")
            _require_finite(mid, f"feed {self.symbol} mid")
            if mid <= 0:
                raise ValueError(f"feed {self.symbol}: a mid must be > 0, got {mid} at {at}")


@dataclass(frozen=True, slots=True)
class MarketView:
    """What :func:`check_market` looks at: the feeds and the account's figures (None: unknown)."""

    feeds: tuple[MarketFeed, ...]
    vix: Decimal | None = None
    nav: Decimal | None = None
    peak_nav: Decimal | None = None
    daily_pnl: Decimal | None = None

    def __post_init__(self) -> None:
        for name in ("vix", "nav", "peak_nav", "daily_pnl"):
            _require_finite(getattr(self, name), f"market {name}")


@dataclass(frozen=True, slots=True)
class KillSwitchResult:
    """A transition's outcome.

    Parameters
    ----------
    state
        The switch after the call (store it).
    events
        Transitions to store (``on`` / ``off``); empty when nothing changed.
    warnings
        ``warn`` events (no transition): a 5% move, a missing input.
    cancel_resting_orders
        True when the switch just turned on: the caller cancels every resting order.
    refusal
        ``STALE_MARKET_DATA`` when a feed is older than the refusal age but the switch did
        not trip; None otherwise.
    refusal_message
        Why, when ``refusal`` is set.

    """

    state: KillSwitchState
    events: tuple[KillSwitchEvent, ...] = ()
    warnings: tuple[KillSwitchEvent, ...] = ()
    cancel_resting_orders: bool = False
    refusal: str | None = None
    refusal_message: str | None = None


@dataclass(frozen=True, slots=True)
class Admission:
    """Whether a new order may pass the kill switch, and the refusal's code and message."""

    allowed: bool
    code: str | None = None
    message: str | None = None


def _turn_on(
    *,
    now: datetime,
    trigger: KillSwitchTrigger,
    reason: str,
    actor: str,
    observed: Decimal | None = None,
    threshold: Decimal | None = None,
) -> tuple[KillSwitchState, KillSwitchEvent]:
    new = KillSwitchState(on=True, since=now, reason=reason, actor=actor, trigger=trigger)
    event = KillSwitchEvent(
        at=now,
        action=KillSwitchAction.ON,
        trigger=trigger,
        reason=reason,
        actor=actor,
        observed=observed,
        threshold=threshold,
    )
    return new, event


def manual_on(
    state: KillSwitchState, *, actor: str, reason: str, now: datetime
) -> KillSwitchResult:
    """Turn the switch on by hand.

    Parameters
    ----------
    state
        The current state.
    actor, reason
        Who and why (required, non-blank).
    now
        The time of the change (timezone-aware UTC).

    Returns
    -------
    KillSwitchResult
        On, with an ``on`` event and the instruction to cancel resting orders; unchanged and
        without events when already on.

    """
    _require_aware(now, "now")
    actor = _require_text(actor, "actor")
    reason = _require_text(reason, "reason")
    if state.on:
        return KillSwitchResult(state=state)
    new, event = _turn_on(now=now, trigger=KillSwitchTrigger.MANUAL, reason=reason, actor=actor)
    return KillSwitchResult(state=new, events=(event,), cancel_resting_orders=True)


def manual_off(
    state: KillSwitchState, *, actor: str, reason: str, now: datetime
) -> KillSwitchResult:
    """Reset the switch explicitly (the only way off, also after an automatic trip).

    Parameters
    ----------
    state
        The current state.
    actor, reason
        Who and why (required, non-blank): the reset is audited.
    now
        The time of the change (timezone-aware UTC).

    Returns
    -------
    KillSwitchResult
        Off, with an ``off`` event; unchanged and without events when already off.

    """
    _require_aware(now, "now")
    actor = _require_text(actor, "actor")
    reason = _require_text(reason, "reason")
    if not state.on:
        return KillSwitchResult(state=state)
    new = KillSwitchState(
        on=False, since=now, reason=reason, actor=actor, trigger=KillSwitchTrigger.MANUAL
    )
    event = KillSwitchEvent(
        at=now,
        action=KillSwitchAction.OFF,
        trigger=KillSwitchTrigger.MANUAL,
        reason=reason,
        actor=actor,
    )
    return KillSwitchResult(state=new, events=(event,))


def _seconds(delta: timedelta) -> Decimal:
    return Decimal(delta.days * 86400 + delta.seconds) + Decimal(delta.microseconds) / 1_000_000


def _largest_move_pct(feed: MarketFeed, now: datetime, window: timedelta) -> Decimal | None:
    """The largest move between two mids in ``[now - window, now]`` (earlier to later), in %."""
    points = sorted((at, mid) for at, mid in feed.mids if now - window <= at <= now)
    if len(points) < 2:
        return None
    low = high = points[0][1]
    largest = _ZERO
    for _, mid in points[1:]:
        largest = max(largest, (mid / low - 1) * _HUNDRED, (1 - mid / high) * _HUNDRED)
        low, high = min(low, mid), max(high, mid)
    return largest


@dataclass(frozen=True, slots=True)
class _Breach:
    trigger: KillSwitchTrigger
    observed: Decimal | None
    threshold: Decimal | None
    reason: str


def _warn(now: datetime, breach: _Breach) -> KillSwitchEvent:
    return KillSwitchEvent(
        at=now,
        action=KillSwitchAction.WARN,
        trigger=breach.trigger,
        reason=breach.reason,
        actor=SYSTEM_ACTOR,
        observed=breach.observed,
        threshold=breach.threshold,
    )


def check_market(
    state: KillSwitchState, market: MarketView, policy: KillSwitchPolicy, now: datetime
) -> KillSwitchResult:
    """Trip the switch on stale data, a fast move, a drawdown, a daily loss or the VIX level.

    Parameters
    ----------
    state
        The current state (an ``on`` switch stays on: no new event).
    market
        The feeds and the account's NAV, peak NAV, daily P&L and the VIX.
    policy
        The thresholds (see the module docstring).
    now
        The time of the check (timezone-aware UTC).

    Returns
    -------
    KillSwitchResult
        When it trips: on, one ``on`` event for the first breach in trigger order (the others
        named in its reason) and the instruction to cancel resting orders. Warnings and the
        ``STALE_MARKET_DATA`` refusal come back whether or not it trips.

    """
    _require_aware(now, "now")
    trips: list[_Breach] = []
    warns: list[_Breach] = []
    stale: list[str] = []

    trip_age = Decimal(policy.stale_trip_seconds)
    refuse_age = Decimal(policy.stale_refuse_seconds)
    for feed in market.feeds:
        if feed.last_quote_at is None:
            trips.append(
                _Breach(
                    KillSwitchTrigger.STALE_MARKET_DATA,
                    None,
                    trip_age,
                    f"no quote received for {feed.symbol}",
                )
            )
            continue
        age = _seconds(now - feed.last_quote_at)
        if age > trip_age:
            trips.append(
                _Breach(
                    KillSwitchTrigger.STALE_MARKET_DATA,
                    age,
                    trip_age,
                    f"last quote of {feed.symbol} is {age} s old (> {trip_age} s)",
                )
            )
        elif age > refuse_age:
            stale.append(f"last quote of {feed.symbol} is {age} s old (> {refuse_age} s)")

    window = timedelta(seconds=policy.move_window_seconds)
    for feed in market.feeds:
        move = _largest_move_pct(feed, now, window)
        if move is None:
            continue
        text = f"{feed.symbol} moved {move}% within {policy.move_window_seconds} s"
        if move >= policy.move_trip_pct:
            trips.append(
                _Breach(
                    KillSwitchTrigger.PRICE_MOVE,
                    move,
                    policy.move_trip_pct,
                    f"{text} (>= {policy.move_trip_pct}%)",
                )
            )
        elif move >= policy.move_warn_pct:
            warns.append(
                _Breach(
                    KillSwitchTrigger.PRICE_MOVE,
                    move,
                    policy.move_warn_pct,
                    f"{text} (>= {policy.move_warn_pct}%)",
                )
            )

    if policy.max_drawdown_pct is not None:
        limit = policy.max_drawdown_pct
        if market.nav is None or market.peak_nav is None:
            field = "nav" if market.nav is None else "peak_nav"
            warns.append(
                _Breach(KillSwitchTrigger.DRAWDOWN, None, limit, f"missing input: {field}")
            )
        elif market.peak_nav > 0:
            drawdown = max((market.peak_nav - market.nav) / market.peak_nav * _HUNDRED, _ZERO)
            if drawdown >= limit:
                trips.append(
                    _Breach(
                        KillSwitchTrigger.DRAWDOWN,
                        drawdown,
                        limit,
                        f"drawdown {drawdown}% from the peak NAV {market.peak_nav} (>= {limit}%)",
                    )
                )

    if policy.max_daily_loss is not None:
        threshold = policy.max_daily_loss.threshold(market.nav)
        if threshold is None or market.daily_pnl is None:
            field = "nav" if threshold is None else "daily_pnl"
            warns.append(
                _Breach(KillSwitchTrigger.DAILY_LOSS, None, threshold, f"missing input: {field}")
            )
        else:
            loss = max(-market.daily_pnl, _ZERO)
            if loss >= threshold:
                trips.append(
                    _Breach(
                        KillSwitchTrigger.DAILY_LOSS,
                        loss,
                        threshold,
                        f"today's loss {loss} reached the limit {threshold}",
                    )
                )

    if policy.vix_emergency is not None:
        level = policy.vix_emergency
        if market.vix is None:
            warns.append(
                _Breach(KillSwitchTrigger.VIX_EMERGENCY, None, level, "missing input: vix")
            )
        elif market.vix >= level:
            trips.append(
                _Breach(
                    KillSwitchTrigger.VIX_EMERGENCY,
                    market.vix,
                    level,
                    f"VIX {market.vix} at or above the emergency level {level}",
                )
            )

    warnings = tuple(_warn(now, breach) for breach in warns)
    refusal = STALE_MARKET_DATA if stale else None
    refusal_message = "; ".join(stale) if stale else None
    if not trips or state.on:
        return KillSwitchResult(
            state=state, warnings=warnings, refusal=refusal, refusal_message=refusal_message
        )
    first = trips[0]
    reason = first.reason
    if len(trips) > 1:
        reason += "; also: " + "; ".join(breach.reason for breach in trips[1:])
    new, event = _turn_on(
        now=now,
        trigger=first.trigger,
        reason=reason,
        actor=SYSTEM_ACTOR,
        observed=first.observed,
        threshold=first.threshold,
    )
    return KillSwitchResult(
        state=new,
        events=(event,),
        warnings=warnings,
        cancel_resting_orders=True,
        refusal=refusal,
        refusal_message=refusal_message,
    )


def admit(
    order: OrderRequest,
    state: KillSwitchState,
    now: datetime,
    *,
    market: KillSwitchResult | None = None,
) -> Admission:
    """Say whether a new order may pass the kill switch (checked before the risk gates).

    Parameters
    ----------
    order
        The new order (named in the message).
    state
        The switch.
    now
        The time of the order (timezone-aware UTC).
    market
        The latest :func:`check_market` result, if any: its stale-data refusal applies.

    Returns
    -------
    Admission
        Refused with ``KILL_SWITCH_ACTIVE`` while on, else with ``STALE_MARKET_DATA`` when the
        market check refuses, else allowed.

    """
    _require_aware(now, "now")
    symbols = ", ".join(leg.symbol for leg in order.legs)
    if state.on:
        since = state.since.isoformat() if state.since is not None else "an unknown time"
        return Admission(
            allowed=False,
            code=KILL_SWITCH_ACTIVE,
            message=(
                f"order for {symbols} refused: the kill switch is on since {since} "
                f"({state.trigger.value if state.trigger else 'manual'} by {state.actor}: "
                f"{state.reason})"
            ),
        )
    if market is not None and market.refusal is not None:
        return Admission(
            allowed=False,
            code=market.refusal,
            message=f"order for {symbols} refused: {market.refusal_message}",
        )
    return Admission(allowed=True)
