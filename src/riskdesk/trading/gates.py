"""Pre-trade risk gates (seeds 004 and 001): every order checked against its account's policy.

A pure engine: no SQL, no clock, no I/O. The caller gathers the account's figures
(:class:`AccountState`) and the order's (:class:`OrderContext`), passes the time ``now`` and
stores one risk event per :class:`GateCheck` of the returned :class:`GateDecision`; a blocked
order is stored as rejected with the decision's reason and code ``RISK_BLOCKED``.

The gates, in the order they run
--------------------------------
Seed 004's gates first, in its order, then seed 001's Greek and concentration limits. A rule
whose limit is not set in the :class:`RiskPolicy` does not run and writes no check.

=========================  ===========================================  =========  ===========
rule                       observed value                               blocks if  limit kind
=========================  ===========================================  =========  ===========
max_order_size             the order's value (money)                    obs > lim  money
max_open_exposure          the account's open exposure after the order  obs > lim  money
max_open_positions         open positions after the order (count)       obs > lim  count
max_loss_per_trade         the order's maximum loss (money)             obs > lim  money
max_daily_loss             today's loss, ``max(0, -daily_pnl)``         obs >= lim money
cooldown                   seconds since the last losing trade          obs < lim  seconds
max_trades_per_hour        trades in the last hour, this one included   obs > lim  count
max_trades_per_day         trades since ``day_start``, this one incl.   obs > lim  count
min_confidence             the signal's confidence in [0, 1]            obs < lim  fraction
min_price_move_5m          ``abs`` of the underlying's 5-minute move, %  obs < lim  percent
max_portfolio_delta        ``abs`` of the portfolio delta after          obs > lim  Greek
max_portfolio_gamma        ``abs`` of the portfolio gamma after          obs > lim  Greek
max_portfolio_vega         ``abs`` of the portfolio vega after           obs > lim  Greek
max_positions_per_symbol   open positions on the order's underlying     obs > lim  count
max_short_options          short option contracts after the order       obs > lim  count
=========================  ===========================================  =========  ===========

A maximum allows its limit exactly (5 open positions under a limit of 5 pass); the daily loss
is a *loss limit*: once today's loss reaches it, nothing new trades. A minimum allows its floor
exactly (confidence 0.6 passes a minimum of 0.6).

Limit kinds
-----------
* money (:class:`Limit`): ``absolute`` money; ``percent_of_nav`` (``2`` means 2% of the NAV:
  ``threshold = value / 100 * nav``); ``multiple_of_nav`` (a leverage multiplier: ``1.5``
  means 1.5 times the NAV, ``threshold = value * nav``). A relative limit needs the NAV; a NAV
  at or below zero makes the threshold zero (a broke account adds no risk).
* count: a whole number of positions, trades or contracts; seconds: a whole number.
* Greek: absolute, in the units the caller sums the Greeks in (riskdesk's ledger: delta in
  share equivalents, gamma per point, vega per vol point, each already times quantity and
  multiplier).

Projected gates and orders that reduce risk
-------------------------------------------
The exposure, position, Greek and short-option gates look at the account *after* the order.
When the projected value is over the limit but not above the current one (the order closes or
hedges), the check is ``warned``, not ``blocked``: a limit never traps an account in its risk.

Warning band
------------
With ``RiskPolicy.warn_fraction`` (default 0.8): a maximum warns once the observed value is at
or above ``warn_fraction * limit``; a minimum warns while the observed value is below
``limit / warn_fraction`` (a minimum confidence of 0.6 warns below 0.75). The cooldown has no
band. ``None`` turns warnings off.

Missing inputs
--------------
An input a set rule needs that the caller gives as ``None`` (unknown) blocks the order with
observed ``None`` and the message ``missing input: <field>``; a rule never passes silently.
Empty collections are facts, not unknowns: no positions, no trades today, no loss yet
(``last_loss_at=None``).

Severity
--------
``allowed`` checks are *low*, ``warned`` *medium*; a block is *medium* for the throttles
(cooldown, trade counts, confidence, price move), *high* for size, exposure, concentration and
Greek limits and missing inputs, and *critical* for the daily loss limit.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from riskdesk.trading.model import OrderRequest

__all__ = [
    "RISK_BLOCKED",
    "AccountState",
    "GateAction",
    "GateCheck",
    "GateDecision",
    "GateRule",
    "Limit",
    "LimitBasis",
    "OpenPosition",
    "OrderContext",
    "RiskPolicy",
    "Severity",
    "evaluate",
]

RISK_BLOCKED = "RISK_BLOCKED"
"""The error code of an order a gate blocked (HTTP 409)."""

_ZERO = Decimal(0)
_HUNDRED = Decimal(100)
_HOUR = timedelta(hours=1)


class GateRule(enum.StrEnum):
    """The rule codes, in the order the gates run."""

    MAX_ORDER_SIZE = "max_order_size"
    MAX_OPEN_EXPOSURE = "max_open_exposure"
    MAX_OPEN_POSITIONS = "max_open_positions"
    MAX_LOSS_PER_TRADE = "max_loss_per_trade"
    MAX_DAILY_LOSS = "max_daily_loss"
    COOLDOWN = "cooldown"
    MAX_TRADES_PER_HOUR = "max_trades_per_hour"
    MAX_TRADES_PER_DAY = "max_trades_per_day"
    MIN_CONFIDENCE = "min_confidence"
    MIN_PRICE_MOVE_5M = "min_price_move_5m"
    MAX_PORTFOLIO_DELTA = "max_portfolio_delta"
    MAX_PORTFOLIO_GAMMA = "max_portfolio_gamma"
    MAX_PORTFOLIO_VEGA = "max_portfolio_vega"
    MAX_POSITIONS_PER_SYMBOL = "max_positions_per_symbol"
    MAX_SHORT_OPTIONS = "max_short_options"


class GateAction(enum.StrEnum):
    """What a check (or the whole decision) says about the order."""

    ALLOWED = "allowed"
    WARNED = "warned"
    BLOCKED = "blocked"


class Severity(enum.StrEnum):
    """How serious a check is (stored on the risk event)."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


_THROTTLES = frozenset(
    {
        GateRule.COOLDOWN,
        GateRule.MAX_TRADES_PER_HOUR,
        GateRule.MAX_TRADES_PER_DAY,
        GateRule.MIN_CONFIDENCE,
        GateRule.MIN_PRICE_MOVE_5M,
    }
)


def _block_severity(rule: GateRule) -> Severity:
    if rule is GateRule.MAX_DAILY_LOSS:
        return Severity.CRITICAL
    if rule in _THROTTLES:
        return Severity.MEDIUM
    return Severity.HIGH


def _require_aware(value: datetime | None, field: str) -> None:
    if value is not None and value.tzinfo is None:
        raise ValueError(f"{field} must be a timezone-aware UTC time, got {value.isoformat()}")


def _require_finite(value: Decimal | None, field: str, *, allow_infinity: bool = False) -> None:
    if value is None:
        return
    if value.is_nan() or (value.is_infinite() and not allow_infinity):
        raise ValueError(f"{field} must be a finite number, got {value}")


def _require_count(value: int | None, field: str) -> None:
    if value is not None and (isinstance(value, bool) or value < 0):
        raise ValueError(f"{field} must be a whole number >= 0, got {value!r}")


def _require_non_negative(value: Decimal | None, field: str) -> None:
    _require_finite(value, field)
    if value is not None and value < 0:
        raise ValueError(f"{field} must be >= 0, got {value}")


class LimitBasis(enum.StrEnum):
    """How a money limit's value is read (see the module docstring)."""

    ABSOLUTE = "absolute"
    PERCENT_OF_NAV = "percent_of_nav"
    MULTIPLE_OF_NAV = "multiple_of_nav"


@dataclass(frozen=True, slots=True)
class Limit:
    """A money limit: absolute, a percentage of the NAV or a multiple of the NAV.

    Examples
    --------
    >>> Limit.percent_of_nav(Decimal("2")).threshold(Decimal("100000"))
    Decimal('2000')
    >>> Limit.multiple_of_nav(Decimal("1.5")).threshold(Decimal("100000"))
    Decimal('150000.0')

    """

    value: Decimal
    basis: LimitBasis = LimitBasis.ABSOLUTE

    def __post_init__(self) -> None:
        _require_non_negative(self.value, f"{self.basis.value} limit")

    @classmethod
    def absolute(cls, value: Decimal) -> Limit:
        """A limit in money."""
        return cls(value, LimitBasis.ABSOLUTE)

    @classmethod
    def percent_of_nav(cls, percent: Decimal) -> Limit:
        """A limit of ``percent`` % of the NAV (``2`` is 2%)."""
        return cls(percent, LimitBasis.PERCENT_OF_NAV)

    @classmethod
    def multiple_of_nav(cls, multiple: Decimal) -> Limit:
        """A limit of ``multiple`` times the NAV (``1.5`` is 150%)."""
        return cls(multiple, LimitBasis.MULTIPLE_OF_NAV)

    @property
    def needs_nav(self) -> bool:
        """True when the threshold depends on the NAV."""
        return self.basis is not LimitBasis.ABSOLUTE

    def threshold(self, nav: Decimal | None) -> Decimal | None:
        """The limit in money for an account worth ``nav`` (None when the NAV is needed but unknown)."""
        if self.basis is LimitBasis.ABSOLUTE:
            return self.value
        if nav is None:
            return None
        base = max(nav, _ZERO)
        if self.basis is LimitBasis.PERCENT_OF_NAV:
            return self.value * base / _HUNDRED
        return self.value * base


@dataclass(frozen=True, slots=True)
class RiskPolicy:
    """An account's risk parameters; every limit is optional (None: the gate does not run).

    Money limits are :class:`Limit`; counts and seconds whole numbers; ``min_confidence`` a
    fraction in [0, 1]; ``min_price_move_5m_pct`` a percentage of the price (``0.1`` is 0.1%);
    Greek limits absolute and >= 0. ``warn_fraction`` (in (0, 1], or None for no warnings)
    sets the warning band.
    """

    max_order_size: Limit | None = None
    max_open_exposure: Limit | None = None
    max_open_positions: int | None = None
    max_loss_per_trade: Limit | None = None
    max_daily_loss: Limit | None = None
    cooldown_seconds: int | None = None
    max_trades_per_hour: int | None = None
    max_trades_per_day: int | None = None
    min_confidence: Decimal | None = None
    min_price_move_5m_pct: Decimal | None = None
    max_portfolio_delta: Decimal | None = None
    max_portfolio_gamma: Decimal | None = None
    max_portfolio_vega: Decimal | None = None
    max_positions_per_symbol: int | None = None
    max_short_options: int | None = None
    warn_fraction: Decimal | None = Decimal("0.8")

    def __post_init__(self) -> None:
        for name in (
            "max_open_positions",
            "cooldown_seconds",
            "max_trades_per_hour",
            "max_trades_per_day",
            "max_positions_per_symbol",
            "max_short_options",
        ):
            _require_count(getattr(self, name), f"policy {name}")
        for name in (
            "min_price_move_5m_pct",
            "max_portfolio_delta",
            "max_portfolio_gamma",
            "max_portfolio_vega",
        ):
            _require_non_negative(getattr(self, name), f"policy {name}")
        if self.min_confidence is not None:
            _require_finite(self.min_confidence, "policy min_confidence")
            if not _ZERO <= self.min_confidence <= 1:
                raise ValueError(
                    f"policy min_confidence must be in [0, 1], got {self.min_confidence}"
                )
        if self.warn_fraction is not None:
            _require_finite(self.warn_fraction, "policy warn_fraction")
            if not _ZERO < self.warn_fraction <= 1:
                raise ValueError(
                    f"policy warn_fraction must be in (0, 1], got {self.warn_fraction}"
                )


@dataclass(frozen=True, slots=True)
class OpenPosition:
    """One open position of the account: an instrument, its signed quantity and its Greeks.

    ``quantity`` is signed (negative: short) in contracts or shares; the Greeks are the
    position's totals (already times quantity and multiplier), None when unknown.
    """

    symbol: str
    underlying: str
    quantity: int
    is_option: bool = False
    delta: Decimal | None = None
    gamma: Decimal | None = None
    vega: Decimal | None = None

    def __post_init__(self) -> None:
        for name in ("delta", "gamma", "vega"):
            _require_finite(getattr(self, name), f"position {self.symbol} {name}")


@dataclass(frozen=True, slots=True)
class AccountState:
    """The account's figures at ``now``, computed by the caller (None: unknown).

    Parameters
    ----------
    nav
        Net asset value (money); needed by relative limits.
    open_exposure
        Open exposure before the order (money); tells whether an order reduces exposure.
    positions
        Open positions (an empty tuple: none).
    daily_pnl
        Today's realized + unrealized P&L (money; negative: a loss).
    last_loss_at
        When the last losing trade closed (None: no loss on record).
    trade_times
        When the account's recent trades were placed (at least the last day's).
    day_start
        Start of the current trading day (for trades per day).

    """

    nav: Decimal | None
    open_exposure: Decimal | None
    positions: tuple[OpenPosition, ...]
    daily_pnl: Decimal | None
    last_loss_at: datetime | None
    trade_times: tuple[datetime, ...]
    day_start: datetime | None

    def __post_init__(self) -> None:
        _require_finite(self.nav, "account nav")
        _require_finite(self.open_exposure, "account open_exposure")
        _require_finite(self.daily_pnl, "account daily_pnl")
        _require_aware(self.last_loss_at, "account last_loss_at")
        _require_aware(self.day_start, "account day_start")
        for at in self.trade_times:
            _require_aware(at, "account trade_times")
        if len({p.symbol for p in self.positions}) != len(self.positions):
            raise ValueError("account positions must name each instrument once")


@dataclass(frozen=True, slots=True)
class OrderContext:
    """The order under review and its figures, computed by the caller (None: unknown).

    Parameters
    ----------
    order
        The order (its legs give the projected positions).
    underlying
        The underlying every leg is written on (``SPY``).
    order_value
        The order's size in money (premium or notional).
    projected_exposure
        The account's open exposure after this order fills (money).
    max_loss
        The order's maximum loss (money, >= 0; ``Decimal("Infinity")`` when unlimited).
    delta, gamma, vega
        The order's Greek totals (same units as the positions').
    confidence
        The signal's confidence in [0, 1].
    price_move_5m_pct
        The underlying's move over the last 5 minutes, in percent (signed).

    """

    order: OrderRequest
    underlying: str
    order_value: Decimal | None = None
    projected_exposure: Decimal | None = None
    max_loss: Decimal | None = None
    delta: Decimal | None = None
    gamma: Decimal | None = None
    vega: Decimal | None = None
    confidence: Decimal | None = None
    price_move_5m_pct: Decimal | None = None

    def __post_init__(self) -> None:
        if not self.underlying:
            raise ValueError("order context underlying must be a non-empty symbol")
        _require_non_negative(self.order_value, "order order_value")
        _require_finite(self.projected_exposure, "order projected_exposure")
        _require_finite(self.max_loss, "order max_loss", allow_infinity=True)
        if self.max_loss is not None and self.max_loss < 0:
            raise ValueError(f"order max_loss must be >= 0, got {self.max_loss}")
        for name in ("delta", "gamma", "vega", "price_move_5m_pct"):
            _require_finite(getattr(self, name), f"order {name}")
        if self.confidence is not None:
            _require_finite(self.confidence, "order confidence")
            if not _ZERO <= self.confidence <= 1:
                raise ValueError(f"order confidence must be in [0, 1], got {self.confidence}")


@dataclass(frozen=True, slots=True)
class GateCheck:
    """The outcome of one rule: stored as one risk event.

    ``observed`` is None when an input was missing (the check blocks) or when there is
    nothing to observe (a cooldown with no loss on record); ``threshold`` is None only when a
    relative limit's NAV was missing.
    """

    rule: GateRule
    action: GateAction
    observed: Decimal | None
    threshold: Decimal | None
    severity: Severity
    message: str


@dataclass(frozen=True, slots=True)
class GateDecision:
    """Every check in gate order and the verdict: blocked when any check blocks."""

    checks: tuple[GateCheck, ...]

    @property
    def action(self) -> GateAction:
        """``blocked`` if a check blocks, else ``warned`` if one warns, else ``allowed``."""
        actions = {check.action for check in self.checks}
        if GateAction.BLOCKED in actions:
            return GateAction.BLOCKED
        if GateAction.WARNED in actions:
            return GateAction.WARNED
        return GateAction.ALLOWED

    @property
    def allowed(self) -> bool:
        """True when the order may proceed (allowed or warned)."""
        return self.action is not GateAction.BLOCKED

    @property
    def reason(self) -> GateCheck | None:
        """The first blocking check (the rejection's reason), or None."""
        return next((c for c in self.checks if c.action is GateAction.BLOCKED), None)

    @property
    def code(self) -> str | None:
        """``RISK_BLOCKED`` when blocked, else None."""
        return RISK_BLOCKED if self.reason is not None else None

    @property
    def warnings(self) -> tuple[GateCheck, ...]:
        """The checks that warned."""
        return tuple(c for c in self.checks if c.action is GateAction.WARNED)


# --- building checks ---------------------------------------------------------------------


def _missing(rule: GateRule, field: str, threshold: Decimal | None = None) -> GateCheck:
    return GateCheck(
        rule=rule,
        action=GateAction.BLOCKED,
        observed=None,
        threshold=threshold,
        severity=Severity.HIGH,
        message=f"{rule.value}: missing input: {field}",
    )


def _check(
    rule: GateRule, action: GateAction, observed: Decimal, threshold: Decimal, text: str
) -> GateCheck:
    severity = {
        GateAction.ALLOWED: Severity.LOW,
        GateAction.WARNED: Severity.MEDIUM,
        GateAction.BLOCKED: _block_severity(rule),
    }[action]
    return GateCheck(rule, action, observed, threshold, severity, f"{rule.value}: {text}")


def _maximum(
    rule: GateRule,
    observed: Decimal,
    threshold: Decimal,
    policy: RiskPolicy,
    what: str,
    *,
    current: Decimal | None = None,
    inclusive: bool = False,
) -> GateCheck:
    """A check of ``observed`` against a maximum (``inclusive``: reaching it breaches)."""
    breached = observed >= threshold if inclusive else observed > threshold
    if breached:
        if current is not None and observed <= current:
            return _check(
                rule,
                GateAction.WARNED,
                observed,
                threshold,
                f"{what} {observed} is over the limit of {threshold} but not above the "
                f"current {current}: the order reduces risk",
            )
        verb = "reaches" if inclusive and observed == threshold else "exceeds"
        return _check(
            rule, GateAction.BLOCKED, observed, threshold, f"{what} {observed} {verb} {threshold}"
        )
    warn = policy.warn_fraction
    if warn is not None and threshold > 0 and observed >= warn * threshold:
        return _check(
            rule,
            GateAction.WARNED,
            observed,
            threshold,
            f"{what} {observed} is at or above {warn} of the limit {threshold}",
        )
    return _check(
        rule, GateAction.ALLOWED, observed, threshold, f"{what} {observed} within {threshold}"
    )


def _minimum(
    rule: GateRule,
    observed: Decimal,
    threshold: Decimal,
    policy: RiskPolicy,
    what: str,
    *,
    band: bool = True,
) -> GateCheck:
    """A check of ``observed`` against a floor (the floor itself passes)."""
    if observed < threshold:
        return _check(
            rule,
            GateAction.BLOCKED,
            observed,
            threshold,
            f"{what} {observed} is below the minimum {threshold}",
        )
    warn = policy.warn_fraction
    if band and warn is not None and observed < threshold / warn:
        return _check(
            rule,
            GateAction.WARNED,
            observed,
            threshold,
            f"{what} {observed} is close to the minimum {threshold}",
        )
    return _check(
        rule, GateAction.ALLOWED, observed, threshold, f"{what} {observed} meets {threshold}"
    )


def _seconds(delta: timedelta) -> Decimal:
    """A timedelta as exact Decimal seconds (no float)."""
    return Decimal(delta.days * 86400 + delta.seconds) + Decimal(delta.microseconds) / 1_000_000


# --- projections ---------------------------------------------------------------------------


def _quantities_after(context: OrderContext, state: AccountState) -> dict[str, int]:
    after = {p.symbol: p.quantity for p in state.positions}
    for leg in context.order.legs:
        after[leg.symbol] = (
            after.get(leg.symbol, 0) + leg.side.sign * leg.ratio * context.order.quantity
        )
    return after


def _underlyings(context: OrderContext, state: AccountState) -> dict[str, str]:
    names = {p.symbol: p.underlying for p in state.positions}
    for leg in context.order.legs:
        names.setdefault(leg.symbol, context.underlying)
    return names


def _options(context: OrderContext, state: AccountState) -> set[str]:
    symbols = {p.symbol for p in state.positions if p.is_option}
    symbols.update(leg.symbol for leg in context.order.legs if leg.is_option)
    return symbols


# --- the gates -----------------------------------------------------------------------------

_Gate = Callable[[OrderContext, AccountState, RiskPolicy, datetime], GateCheck | None]


def _money_threshold(
    rule: GateRule, limit: Limit, state: AccountState
) -> tuple[Decimal | None, GateCheck | None]:
    threshold = limit.threshold(state.nav)
    if threshold is None:
        return None, _missing(rule, "nav")
    return threshold, None


def _money_maximum(
    rule: GateRule,
    limit: Limit | None,
    state: AccountState,
    policy: RiskPolicy,
    observed: Decimal | None,
    field: str,
    label: str,
    *,
    current: Decimal | None = None,
    inclusive: bool = False,
) -> GateCheck | None:
    """A money limit (absolute, % or multiple of NAV) that ``observed`` may not exceed."""
    if limit is None:
        return None
    threshold, missing = _money_threshold(rule, limit, state)
    if threshold is None:
        return missing
    if observed is None:
        return _missing(rule, field, threshold)
    return _maximum(rule, observed, threshold, policy, label, current=current, inclusive=inclusive)


def _gate_order_size(
    context: OrderContext, state: AccountState, policy: RiskPolicy, now: datetime
) -> GateCheck | None:
    return _money_maximum(
        GateRule.MAX_ORDER_SIZE,
        policy.max_order_size,
        state,
        policy,
        context.order_value,
        "order_value",
        "order value",
    )


def _gate_open_exposure(
    context: OrderContext, state: AccountState, policy: RiskPolicy, now: datetime
) -> GateCheck | None:
    return _money_maximum(
        GateRule.MAX_OPEN_EXPOSURE,
        policy.max_open_exposure,
        state,
        policy,
        context.projected_exposure,
        "projected_exposure",
        "open exposure after the order",
        current=state.open_exposure,
    )


def _gate_open_positions(
    context: OrderContext, state: AccountState, policy: RiskPolicy, now: datetime
) -> GateCheck | None:
    rule = GateRule.MAX_OPEN_POSITIONS
    if policy.max_open_positions is None:
        return None
    after = sum(1 for qty in _quantities_after(context, state).values() if qty != 0)
    before = sum(1 for p in state.positions if p.quantity != 0)
    return _maximum(
        rule,
        Decimal(after),
        Decimal(policy.max_open_positions),
        policy,
        "open positions after the order",
        current=Decimal(before),
    )


def _gate_loss_per_trade(
    context: OrderContext, state: AccountState, policy: RiskPolicy, now: datetime
) -> GateCheck | None:
    return _money_maximum(
        GateRule.MAX_LOSS_PER_TRADE,
        policy.max_loss_per_trade,
        state,
        policy,
        context.max_loss,
        "max_loss",
        "the order's maximum loss",
    )


def _gate_daily_loss(
    context: OrderContext, state: AccountState, policy: RiskPolicy, now: datetime
) -> GateCheck | None:
    loss = None if state.daily_pnl is None else max(-state.daily_pnl, _ZERO)
    return _money_maximum(
        GateRule.MAX_DAILY_LOSS,
        policy.max_daily_loss,
        state,
        policy,
        loss,
        "daily_pnl",
        "today's loss",
        inclusive=True,
    )


def _gate_cooldown(
    context: OrderContext, state: AccountState, policy: RiskPolicy, now: datetime
) -> GateCheck | None:
    rule = GateRule.COOLDOWN
    if policy.cooldown_seconds is None:
        return None
    threshold = Decimal(policy.cooldown_seconds)
    if state.last_loss_at is None:
        return GateCheck(
            rule,
            GateAction.ALLOWED,
            None,
            threshold,
            Severity.LOW,
            f"{rule.value}: no losing trade on record",
        )
    elapsed = _seconds(now - state.last_loss_at)
    return _minimum(rule, elapsed, threshold, policy, "seconds since the last loss", band=False)


def _gate_trades_per_hour(
    context: OrderContext, state: AccountState, policy: RiskPolicy, now: datetime
) -> GateCheck | None:
    rule = GateRule.MAX_TRADES_PER_HOUR
    if policy.max_trades_per_hour is None:
        return None
    since = now - _HOUR
    count = sum(1 for at in state.trade_times if at > since) + 1
    return _maximum(
        rule,
        Decimal(count),
        Decimal(policy.max_trades_per_hour),
        policy,
        "trades in the last hour with this one",
    )


def _gate_trades_per_day(
    context: OrderContext, state: AccountState, policy: RiskPolicy, now: datetime
) -> GateCheck | None:
    rule = GateRule.MAX_TRADES_PER_DAY
    if policy.max_trades_per_day is None:
        return None
    threshold = Decimal(policy.max_trades_per_day)
    if state.day_start is None:
        return _missing(rule, "day_start", threshold)
    day_start = state.day_start
    count = sum(1 for at in state.trade_times if at >= day_start) + 1
    return _maximum(rule, Decimal(count), threshold, policy, "trades today with this one")


def _gate_confidence(
    context: OrderContext, state: AccountState, policy: RiskPolicy, now: datetime
) -> GateCheck | None:
    rule = GateRule.MIN_CONFIDENCE
    if policy.min_confidence is None:
        return None
    if context.confidence is None:
        return _missing(rule, "confidence", policy.min_confidence)
    return _minimum(rule, context.confidence, policy.min_confidence, policy, "confidence")


def _gate_price_move(
    context: OrderContext, state: AccountState, policy: RiskPolicy, now: datetime
) -> GateCheck | None:
    rule = GateRule.MIN_PRICE_MOVE_5M
    if policy.min_price_move_5m_pct is None:
        return None
    if context.price_move_5m_pct is None:
        return _missing(rule, "price_move_5m_pct", policy.min_price_move_5m_pct)
    return _minimum(
        rule,
        abs(context.price_move_5m_pct),
        policy.min_price_move_5m_pct,
        policy,
        "5-minute move (%)",
    )


def _greek_gate(rule: GateRule, greek: str, limit_field: str) -> _Gate:
    def gate(
        context: OrderContext, state: AccountState, policy: RiskPolicy, now: datetime
    ) -> GateCheck | None:
        limit: Decimal | None = getattr(policy, limit_field)
        if limit is None:
            return None
        values: list[Decimal] = []
        for position in state.positions:
            value: Decimal | None = getattr(position, greek)
            if value is None:
                return _missing(rule, f"{greek} of position {position.symbol}", limit)
            values.append(value)
        added: Decimal | None = getattr(context, greek)
        if added is None:
            return _missing(rule, f"{greek} of the order", limit)
        current = sum(values, _ZERO)
        return _maximum(
            rule,
            abs(current + added),
            limit,
            policy,
            f"portfolio {greek} (absolute) after the order",
            current=abs(current),
        )

    return gate


def _gate_positions_per_symbol(
    context: OrderContext, state: AccountState, policy: RiskPolicy, now: datetime
) -> GateCheck | None:
    rule = GateRule.MAX_POSITIONS_PER_SYMBOL
    if policy.max_positions_per_symbol is None:
        return None
    names = _underlyings(context, state)
    after = sum(
        1
        for symbol, qty in _quantities_after(context, state).items()
        if qty != 0 and names[symbol] == context.underlying
    )
    before = sum(
        1 for p in state.positions if p.quantity != 0 and p.underlying == context.underlying
    )
    return _maximum(
        rule,
        Decimal(after),
        Decimal(policy.max_positions_per_symbol),
        policy,
        f"open positions on {context.underlying} after the order",
        current=Decimal(before),
    )


def _gate_short_options(
    context: OrderContext, state: AccountState, policy: RiskPolicy, now: datetime
) -> GateCheck | None:
    rule = GateRule.MAX_SHORT_OPTIONS
    if policy.max_short_options is None:
        return None
    options = _options(context, state)
    after = sum(
        -qty
        for symbol, qty in _quantities_after(context, state).items()
        if qty < 0 and symbol in options
    )
    before = sum(-p.quantity for p in state.positions if p.quantity < 0 and p.is_option)
    return _maximum(
        rule,
        Decimal(after),
        Decimal(policy.max_short_options),
        policy,
        "short option contracts after the order",
        current=Decimal(before),
    )


_GATES: Mapping[GateRule, _Gate] = {
    GateRule.MAX_ORDER_SIZE: _gate_order_size,
    GateRule.MAX_OPEN_EXPOSURE: _gate_open_exposure,
    GateRule.MAX_OPEN_POSITIONS: _gate_open_positions,
    GateRule.MAX_LOSS_PER_TRADE: _gate_loss_per_trade,
    GateRule.MAX_DAILY_LOSS: _gate_daily_loss,
    GateRule.COOLDOWN: _gate_cooldown,
    GateRule.MAX_TRADES_PER_HOUR: _gate_trades_per_hour,
    GateRule.MAX_TRADES_PER_DAY: _gate_trades_per_day,
    GateRule.MIN_CONFIDENCE: _gate_confidence,
    GateRule.MIN_PRICE_MOVE_5M: _gate_price_move,
    GateRule.MAX_PORTFOLIO_DELTA: _greek_gate(
        GateRule.MAX_PORTFOLIO_DELTA, "delta", "max_portfolio_delta"
    ),
    GateRule.MAX_PORTFOLIO_GAMMA: _greek_gate(
        GateRule.MAX_PORTFOLIO_GAMMA, "gamma", "max_portfolio_gamma"
    ),
    GateRule.MAX_PORTFOLIO_VEGA: _greek_gate(
        GateRule.MAX_PORTFOLIO_VEGA, "vega", "max_portfolio_vega"
    ),
    GateRule.MAX_POSITIONS_PER_SYMBOL: _gate_positions_per_symbol,
    GateRule.MAX_SHORT_OPTIONS: _gate_short_options,
}


def evaluate(
    context: OrderContext, state: AccountState, policy: RiskPolicy, now: datetime
) -> GateDecision:
    """Run every set gate in order and return one check per rule.

    Parameters
    ----------
    context
        The order and its figures.
    state
        The account's figures.
    policy
        The account's limits (unset limits do not run).
    now
        The evaluation time (timezone-aware UTC); trade windows and the cooldown end here.

    Returns
    -------
    GateDecision
        Blocked when any check blocks (``reason`` is the first blocking check, ``code``
        ``RISK_BLOCKED``); every check is returned, including the ones after a block, so
        that each writes its risk event.

    """
    _require_aware(now, "now")
    checks = tuple(
        check
        for gate in _GATES.values()
        if (check := gate(context, state, policy, now)) is not None
    )
    return GateDecision(checks)
