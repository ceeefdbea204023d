"""Trading signals: legs, validation, status, and strategy templates on a market snapshot.

A signal proposes a strategy on one underlying: its legs (side, contract, quantity and an
estimated price), a direction, a confidence in ``[0, 1]``, when it was generated and when it
expires, and the strategy's payoff figures (:class:`SignalMetrics`). Signals are built by hand
(:class:`SignalDraft` with :class:`SignalLeg` values) or from a template with
:func:`build_signal`, which chooses strikes by delta (:class:`ByDelta`) or by distance from
spot (:class:`ByOffset`) on a :class:`~riskdesk.domain.market.MarketSnapshot`.

Pure code: no SQL, no HTTP, no clock; times are parameters. A signal's lifecycle is
``active -> executed / expired / cancelled`` (:func:`transition`).

Metrics
-------
:func:`signal_metrics` does no payoff math of its own: it turns the legs into the
workbench's :class:`~riskdesk.domain.trades.TradeVersion` (long legs ``+quantity``, short legs
``-quantity``, entry price = the leg's estimated price) and runs the workbench's engine
:func:`riskdesk.analytics.evaluate` with the default :class:`~riskdesk.domain.configs.ModelConfig`.
Max profit, max loss, the expiry breakevens and the probability of profit are read from its
result; they do not depend on the scenario grid, so a minimal grid is used to keep the call
cheap. Money is in dollars for the legs' quantities (one unit of the strategy), contract
multiplier included:

* ``max_profit``: the highest P/L at expiry, None when unlimited;
* ``max_loss``: the worst P/L at expiry as a positive loss (``-lowest P/L``), None when
  unlimited;
* ``breakevens``: underlying prices where the expiry P/L crosses zero, ascending;
* ``probability_of_profit``: the risk-neutral probability that the expiry P/L is > 0;
* ``net_premium``: ``sum(+/- quantity * estimated price)`` in premium per share, positive for
  a debit paid, negative for a credit received; times the multiplier it is the cash.

Templates
---------
=================  ===========================================================  =========
template           default legs, ascending strike (the other version flips all)  direction
=================  ===========================================================  =========
iron_condor        buy put wing, sell put, sell call, buy call wing (credit)    neutral
iron_butterfly     buy put wing, sell ATM put, sell ATM call, buy call wing     neutral
bull_call_spread   buy the lower call, sell the higher call                     bullish
bear_put_spread    buy the higher put, sell the lower put                       bearish
straddle           buy the ATM call and put                                     neutral
strangle           buy an OTM put and an OTM call                               neutral
=================  ===========================================================  =========

The iron condor and iron butterfly are the seller's (credit) versions by default, as traders
use the names; ``short=False`` gives the buyer's version. Straddle and strangle are long by
default; ``short=True`` sells them. Vertical spreads take no ``short`` (a sold bull call
spread is a bear call spread, another strategy).

Strike selection
----------------
* The ATM strike is the listed strike nearest the spot (ties: the lower one).
* :class:`ByDelta`: the listed contract of the expiry and right whose absolute
  Black-Scholes-Merton delta is nearest the target (ties: the farther out-of-the-money
  strike). Delta uses the quote's implied vol (``OptionQuote.iv``), the snapshot's rate and
  carry (dividend yield + borrow rate) and ACT/365F time from ``as_of`` to the contract's
  expiry instant; discrete dividends are not modelled for selection. Contracts without an IV
  are not candidates. ``short_delta`` picks the iron condor's short strikes, the strangle's
  strikes and the sold strike of a vertical spread (whose bought strike is ATM);
  ``wing_delta`` picks the wings of the iron condor and iron butterfly (whose body is ATM).
* :class:`ByOffset`: the iron condor's short strikes at ``spot -/+ offset``, the strangle's
  strikes at ``spot -/+ offset``, a bull call spread's bought strike at ``spot + offset`` and a
  bear put spread's at ``spot - offset``; the wings (and a spread's sold strike) lie ``width``
  further out from the chosen strike, the iron butterfly's wings ``width`` from its ATM body.
  Every target snaps to the nearest listed strike (ties: the farther out-of-the-money one).

Example:
-------
>>> from datetime import UTC, date, datetime, timedelta
>>> from riskdesk.adapters.simulated import generate_market
>>> at = datetime(2025, 3, 4, 15, tzinfo=UTC)
>>> snap = generate_market(seed=11, as_of=at, symbols=["SPY"], max_expiry_days=10)
>>> signal = build_signal(
...     "iron_condor", snap, symbol="SPY", expiry=date(2025, 3, 14),
...     selection=ByOffset(offset=Decimal(8), width=Decimal(5)), confidence=Decimal("0.6"),
...     generated_at=at, expires_at=at + timedelta(hours=1))
>>> [(leg.action.value, leg.contract.right.value) for leg in signal.legs]
[('buy', 'P'), ('sell', 'P'), ('sell', 'C'), ('buy', 'C')]

"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from types import MappingProxyType

import numpy as np

from riskdesk.analytics import evaluate
from riskdesk.domain.configs import ModelConfig, ScenarioGrid
from riskdesk.domain.instruments import OptionContract, OptionRight
from riskdesk.domain.market import MarketSnapshot, OptionQuote, contract_identity
from riskdesk.domain.occ import format_occ
from riskdesk.domain.timeutil import expiry_datetime, year_fraction
from riskdesk.domain.trades import Leg, TradeVersion
from riskdesk.pricing import greeks
from riskdesk.trading.model import Side

__all__ = [
    "TEMPLATES",
    "ByDelta",
    "ByOffset",
    "Direction",
    "HandLeg",
    "SignalDraft",
    "SignalError",
    "SignalLeg",
    "SignalMetrics",
    "SignalStatus",
    "SignalTemplate",
    "SignalTransitionError",
    "build_signal",
    "hand_built_signal",
    "signal_metrics",
    "transition",
]

_MONEY = Decimal("0.01")
"""Dollar metrics are reported to the cent."""

_PRICE = Decimal("0.0001")
"""Breakevens are reported to 1/100 of a cent (exact for prices quoted in half cents)."""

_PROBABILITY = Decimal("0.000001")

_METRICS_GRID = ScenarioGrid(spot_steps=3, vol_shifts=(0.0,), n_dates=2)
"""The smallest scenario grid: the expiry figures read from the evaluation ignore the grid."""


class SignalError(ValueError):
    """A signal cannot be built: bad template, symbol, expiry, strikes or quotes."""


class SignalTransitionError(ValueError):
    """A signal status change that the lifecycle does not allow."""


class Direction(enum.StrEnum):
    """The market view of a signal."""

    BULLISH = "bullish"
    BEARISH = "bearish"
    NEUTRAL = "neutral"


class SignalStatus(enum.StrEnum):
    """A signal's lifecycle: ``active -> executed / expired / cancelled`` (all final)."""

    ACTIVE = "active"
    EXECUTED = "executed"
    EXPIRED = "expired"
    CANCELLED = "cancelled"

    @property
    def final(self) -> bool:
        """True when the signal can change no more."""
        return self is not SignalStatus.ACTIVE


def transition(current: SignalStatus | str, new: SignalStatus | str) -> SignalStatus:
    """Check the status change ``current -> new`` and return the new status.

    Parameters
    ----------
    current, new : SignalStatus or str
        Statuses (or their values: ``"active"``, ``"executed"``, ``"expired"``,
        ``"cancelled"``).

    Returns
    -------
    SignalStatus
        ``new`` as a :class:`SignalStatus`.

    Raises
    ------
    SignalTransitionError
        Unless ``current`` is active and ``new`` is executed, expired or cancelled (an
        unknown status value is refused the same way, naming the allowed values).

    """
    allowed = ", ".join(s.value for s in SignalStatus)
    try:
        old, target = SignalStatus(current), SignalStatus(new)
    except ValueError:
        raise SignalTransitionError(
            f"signal status must be one of {allowed}, got {current!r} -> {new!r}"
        ) from None
    if old is not SignalStatus.ACTIVE or target is SignalStatus.ACTIVE:
        raise SignalTransitionError(
            f"signal status cannot change from {old.value} to {target.value}: only an active "
            "signal moves, to executed, expired or cancelled"
        )
    return target


# --------------------------------------------------------------------------------------------
# value types
# --------------------------------------------------------------------------------------------
def _finite_decimal(name: str, value: object) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, Decimal):
        raise ValueError(f"{name} must be a Decimal, got {type(value).__name__} {value!r}")
    if not value.is_finite():
        raise ValueError(f"{name} must be a finite number, got {value}")
    return value


def _aware(name: str, value: object) -> datetime:
    if not isinstance(value, datetime):
        raise ValueError(f"{name} must be a datetime, got {type(value).__name__} {value!r}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware (UTC), got naive {value.isoformat()}")
    return value


def _positive_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a whole number >= 1, got {value!r}")
    return value


@dataclass(frozen=True, slots=True)
class SignalLeg:
    """One leg of a signal: buy or sell ``quantity`` contracts at about ``estimated_price``.

    ``estimated_price`` is premium per share (the quote's mid when built from a template),
    ``>= 0``, or None when unknown.
    """

    action: Side
    contract: OptionContract
    quantity: int
    estimated_price: Decimal | None = None

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "action", Side(self.action))
        except ValueError:
            raise ValueError(
                f"SignalLeg.action must be 'buy' or 'sell', got {self.action!r}"
            ) from None
        if not isinstance(self.contract, OptionContract):
            raise ValueError(
                f"SignalLeg.contract must be an OptionContract, got {type(self.contract).__name__}"
            )
        _positive_int(f"SignalLeg.quantity of {self.contract.key}", self.quantity)
        if self.estimated_price is not None:
            name = f"SignalLeg.estimated_price of {self.contract.key}"
            if _finite_decimal(name, self.estimated_price) < 0:
                raise ValueError(f"{name} must be >= 0, got {self.estimated_price}")

    @property
    def signed_quantity(self) -> int:
        """``+quantity`` for a buy, ``-quantity`` for a sell."""
        return self.action.sign * self.quantity

    @property
    def occ_symbol(self) -> str:
        """The contract's padded OCC symbol (:func:`riskdesk.domain.occ.format_occ`)."""
        return format_occ(self.contract)


@dataclass(frozen=True, slots=True)
class SignalMetrics:
    """Payoff figures of a signal's legs (see the module docstring for units and signs)."""

    max_profit: Decimal | None
    max_loss: Decimal | None
    breakevens: tuple[Decimal, ...]
    probability_of_profit: Decimal | None
    net_premium: Decimal

    def __post_init__(self) -> None:
        for name in ("max_profit", "max_loss", "probability_of_profit"):
            value = getattr(self, name)
            if value is not None:
                _finite_decimal(f"SignalMetrics.{name}", value)
        _finite_decimal("SignalMetrics.net_premium", self.net_premium)
        breakevens = tuple(self.breakevens)
        for i, value in enumerate(breakevens):
            _finite_decimal(f"SignalMetrics.breakevens[{i}]", value)
        object.__setattr__(self, "breakevens", breakevens)
        pop = self.probability_of_profit
        if pop is not None and not 0 <= pop <= 1:
            raise ValueError(f"SignalMetrics.probability_of_profit must be in [0, 1], got {pop}")


@dataclass(frozen=True, slots=True)
class SignalDraft:
    """A signal before it is stored: what to trade, why, and until when.

    Raises ``ValueError`` naming the field for: an empty symbol or strategy type, a direction
    other than bullish / bearish / neutral, a confidence that is not a finite Decimal in
    ``[0, 1]``, naive times, ``expires_at`` not after ``generated_at``, a non-positive
    underlying price, no legs, a leg on another underlying, or the same contract twice.
    """

    symbol: str
    direction: Direction
    strategy_type: str
    confidence: Decimal
    generated_at: datetime
    expires_at: datetime
    underlying_price: Decimal
    legs: tuple[SignalLeg, ...]
    metrics: SignalMetrics | None = None

    def __post_init__(self) -> None:
        for name in ("symbol", "strategy_type"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise ValueError(f"SignalDraft.{name} must be a non-empty string, got {value!r}")
        try:
            object.__setattr__(self, "direction", Direction(self.direction))
        except ValueError:
            allowed = ", ".join(d.value for d in Direction)
            raise ValueError(
                f"SignalDraft.direction must be one of {allowed}, got {self.direction!r}"
            ) from None
        confidence = _finite_decimal("SignalDraft.confidence", self.confidence)
        if not 0 <= confidence <= 1:
            raise ValueError(f"SignalDraft.confidence must be in [0, 1], got {confidence}")
        generated = _aware("SignalDraft.generated_at", self.generated_at)
        expires = _aware("SignalDraft.expires_at", self.expires_at)
        if not expires > generated:
            raise ValueError(
                f"SignalDraft.expires_at ({expires.isoformat()}) must be after generated_at "
                f"({generated.isoformat()})"
            )
        price = _finite_decimal("SignalDraft.underlying_price", self.underlying_price)
        if price <= 0:
            raise ValueError(f"SignalDraft.underlying_price must be > 0, got {price}")
        legs = tuple(self.legs)
        if not legs:
            raise ValueError("SignalDraft.legs must hold at least one leg")
        seen: set[tuple[object, ...]] = set()
        for leg in legs:
            if not isinstance(leg, SignalLeg):
                raise ValueError(f"SignalDraft.legs must hold SignalLeg values, got {leg!r}")
            if leg.contract.underlying != self.symbol:
                raise ValueError(
                    f"SignalDraft.legs: {leg.contract.key} is not on the signal's symbol "
                    f"{self.symbol!r}"
                )
            identity = contract_identity(leg.contract)
            if identity in seen:
                raise ValueError(
                    f"SignalDraft.legs: contract {leg.contract.key} appears twice; "
                    "merge the legs into one"
                )
            seen.add(identity)
        object.__setattr__(self, "legs", legs)
        if self.metrics is not None and not isinstance(self.metrics, SignalMetrics):
            raise ValueError(
                f"SignalDraft.metrics must be SignalMetrics or None, got {self.metrics!r}"
            )


# --------------------------------------------------------------------------------------------
# metrics (the workbench's evaluation engine)
# --------------------------------------------------------------------------------------------
def _to_decimal(name: str, value: float, quantum: Decimal) -> Decimal:
    if not math.isfinite(value):
        raise SignalError(f"the evaluation returned a non-finite {name} ({value})")
    return Decimal(repr(float(value))).quantize(quantum) + 0  # + 0: no negative zero


def signal_metrics(
    legs: Sequence[SignalLeg], snapshot: MarketSnapshot, *, name: str = "signal"
) -> SignalMetrics:
    """Max profit, max loss, breakevens and probability of profit of ``legs`` on ``snapshot``.

    Parameters
    ----------
    legs : Sequence[SignalLeg]
        The legs, all on one underlying. A leg without ``estimated_price`` is priced at its
        quote's mid (the mark when one side is missing).
    snapshot : MarketSnapshot
        Market the legs are evaluated on (vols solved from quote mids, the workbench's
        default :class:`~riskdesk.domain.configs.ModelConfig`).
    name : str
        Name of the trade handed to the evaluation (appears in nothing returned).

    Returns
    -------
    SignalMetrics
        See the module docstring for units and signs.

    Raises
    ------
    SignalError
        No legs, a leg with no price, or a leg the evaluation could not value (the message
        names the leg and the evaluation's reason).

    """
    if not legs:
        raise SignalError("a signal needs at least one leg to evaluate")
    priced: list[tuple[SignalLeg, Decimal]] = []
    for leg in legs:
        price = leg.estimated_price
        if price is None:
            price = _usable_price(_quote_of(snapshot, leg.contract))
        priced.append((leg, price))
    trade = TradeVersion(
        name=name,
        legs=tuple(
            Leg(instrument=leg.contract, quantity=Decimal(leg.signed_quantity), entry_price=price)
            for leg, price in priced
        ),
    )
    result = evaluate(trade, snapshot, ModelConfig(), _METRICS_GRID)
    failed = [leg for leg in result.legs if leg.status != "ok"]
    if failed:
        reasons = "; ".join(issue.message for issue in (*result.errors, *result.warnings))
        labels = ", ".join(f"{leg.label} ({leg.status})" for leg in failed)
        raise SignalError(f"cannot evaluate the signal's legs: {labels} not valued: {reasons}")
    symbol = priced[0][0].contract.underlying
    max_profit = result.max_profit
    max_loss = result.max_loss
    pop = result.probability_of_profit
    return SignalMetrics(
        max_profit=(
            None
            if max_profit.unbounded or max_profit.value is None
            else _to_decimal("max profit", max_profit.value, _MONEY)
        ),
        max_loss=(
            None
            if max_loss.unbounded or max_loss.value is None
            else 0 - _to_decimal("max loss", max_loss.value, _MONEY)
        ),
        breakevens=tuple(
            sorted(
                _to_decimal("breakeven", item.spots[symbol], _PRICE)
                for item in result.breakevens_expiry
            )
        ),
        probability_of_profit=(
            None if pop is None else _to_decimal("probability of profit", pop, _PROBABILITY)
        ),
        net_premium=sum((leg.signed_quantity * price for leg, price in priced), start=Decimal(0)),
    )


# --------------------------------------------------------------------------------------------
# selection
# --------------------------------------------------------------------------------------------
def _check_delta(name: str, value: object) -> Decimal:
    result = _finite_decimal(name, value)
    if not 0 < result < 1:
        raise SignalError(f"{name} must be in (0, 1) (an absolute delta), got {result}")
    return result


@dataclass(frozen=True, slots=True)
class ByDelta:
    """Choose strikes by absolute delta (see the module docstring for which strike is which).

    ``short_delta`` and ``wing_delta`` are absolute deltas in ``(0, 1)``; the wing target must
    be below the short one (wings lie farther out of the money). ``wing_delta=None`` is only
    allowed for templates without wings.
    """

    short_delta: Decimal = Decimal("0.20")
    wing_delta: Decimal | None = Decimal("0.05")

    def __post_init__(self) -> None:
        short = _check_delta("ByDelta.short_delta", self.short_delta)
        if self.wing_delta is not None:
            wing = _check_delta("ByDelta.wing_delta", self.wing_delta)
            if not wing < short:
                raise SignalError(
                    f"ByDelta.wing_delta ({wing}) must be below short_delta ({short}): wings "
                    "lie farther out of the money"
                )


@dataclass(frozen=True, slots=True)
class ByOffset:
    """Choose strikes by distance from spot, in the underlying's price units.

    ``offset >= 0`` places the inner strikes, ``width > 0`` the outer ones (see the module
    docstring); every target snaps to the nearest listed strike.
    """

    offset: Decimal
    width: Decimal

    def __post_init__(self) -> None:
        if _finite_decimal("ByOffset.offset", self.offset) < 0:
            raise SignalError(f"ByOffset.offset must be >= 0, got {self.offset}")
        if _finite_decimal("ByOffset.width", self.width) <= 0:
            raise SignalError(f"ByOffset.width must be > 0, got {self.width}")


Selection = ByDelta | ByOffset


@dataclass(frozen=True, slots=True)
class _Chain:
    """The quotes of one underlying and expiry, with what delta selection needs."""

    snapshot: MarketSnapshot
    symbol: str
    expiry: date
    spot: Decimal
    quotes: Mapping[OptionRight, tuple[OptionQuote, ...]]

    def strikes(self, right: OptionRight) -> tuple[Decimal, ...]:
        return tuple(q.contract.strike for q in self.quotes[right])

    def atm(self) -> Decimal:
        """Listed strike (of both rights) nearest the spot; ties: the lower one."""
        both = set(self.strikes(OptionRight.CALL)) & set(self.strikes(OptionRight.PUT))
        if not both:
            raise SignalError(
                f"{self.symbol} {self.expiry.isoformat()}: no strike is listed as both a call "
                "and a put"
            )
        return min(both, key=lambda k: (abs(k - self.spot), k))

    def quote(self, right: OptionRight, strike: Decimal) -> OptionQuote:
        for q in self.quotes[right]:
            if q.contract.strike == strike:
                return q
        raise SignalError(  # pragma: no cover - strikes always come from the chain
            f"{self.symbol} {self.expiry.isoformat()}: no {right.name.lower()} at {strike}"
        )

    def snap(self, right: OptionRight, target: Decimal) -> Decimal:
        """Listed strike of ``right`` nearest ``target``; ties: the farther OTM one."""
        otm = 1 if right is OptionRight.CALL else -1
        return min(self.strikes(right), key=lambda k: (abs(k - target), -otm * k))

    def by_delta(self, right: OptionRight, target: Decimal) -> Decimal:
        """Listed strike whose |BSM delta| is nearest ``target``; ties: the farther OTM one."""
        candidates = [q for q in self.quotes[right] if q.iv is not None and q.iv > 0]
        if not candidates:
            raise SignalError(
                f"{self.symbol} {self.expiry.isoformat()}: no {right.name.lower()} quote has "
                "an implied vol, so strikes cannot be chosen by delta; use ByOffset"
            )
        overrides = self.snapshot.overrides
        expiry_at = expiry_datetime(self.expiry, settlement=candidates[0].contract.settlement)
        years = year_fraction(self.snapshot.as_of, expiry_at)
        if years <= 0:
            raise SignalError(
                f"{self.symbol} {self.expiry.isoformat()} expired at {expiry_at.isoformat()}, "
                f"before the snapshot time {self.snapshot.as_of.isoformat()}"
            )
        strikes = np.array([float(q.contract.strike) for q in candidates])
        deltas = greeks(
            model="bsm",
            S=float(self.spot),
            K=strikes,
            T=years,
            r=overrides.rate,
            q=overrides.carry_yield(self.symbol),
            sigma=np.array([float(q.iv) for q in candidates if q.iv is not None]),
            is_call=right is OptionRight.CALL,
            which=["delta"],
        )["delta"]
        goal = float(target)
        otm = 1 if right is OptionRight.CALL else -1
        distance = [abs(abs(float(d)) - goal) for d in deltas]
        if not all(math.isfinite(d) for d in distance):
            raise SignalError(
                f"{self.symbol} {self.expiry.isoformat()}: delta is not finite for some "
                f"{right.name.lower()} quotes"
            )
        best = min(
            range(len(candidates)),
            key=lambda i: (distance[i], -otm * candidates[i].contract.strike),
        )
        return candidates[best].contract.strike


def _chain(snapshot: MarketSnapshot, symbol: str, expiry: date) -> _Chain:
    symbols = sorted(u.symbol for u in snapshot.underlyings)
    if symbol not in symbols:
        raise SignalError(
            f"symbol {symbol!r} is not in the snapshot (it quotes {', '.join(symbols) or 'none'})"
        )
    options = [q for q in snapshot.options if q.contract.underlying == symbol]
    listed = sorted({q.contract.expiry for q in options})
    if expiry not in listed:
        shown = ", ".join(d.isoformat() for d in listed) or "none"
        raise SignalError(
            f"expiry {expiry.isoformat()} is not listed for {symbol}; listed expiries: {shown}"
        )
    quotes = {
        right: tuple(
            sorted(
                (q for q in options if q.contract.expiry == expiry and q.contract.right is right),
                key=lambda q: q.contract.strike,
            )
        )
        for right in OptionRight
    }
    for right, items in quotes.items():
        if not items:
            raise SignalError(
                f"{symbol} {expiry.isoformat()}: no {right.name.lower()}s listed in the snapshot"
            )
    return _Chain(
        snapshot=snapshot,
        symbol=symbol,
        expiry=expiry,
        spot=snapshot.underlying(symbol).spot,
        quotes=quotes,
    )


def _quote_of(snapshot: MarketSnapshot, contract: OptionContract) -> OptionQuote:
    quote = snapshot.option_quote(contract)
    if quote is None:
        raise SignalError(f"{contract.key} has no quote in the snapshot; give its price")
    return quote


def _usable_price(quote: OptionQuote) -> Decimal:
    """The quote's mid, or its mark when a side is missing; SignalError when neither."""
    price = quote.mid
    if price is None or not price.is_finite() or price < 0:
        raise SignalError(
            f"{quote.contract.key} has no usable quote (bid {quote.bid}, ask {quote.ask}, "
            f"mark {quote.mark}): a leg needs a two-sided quote or a mark"
        )
    return price


# --------------------------------------------------------------------------------------------
# templates
# --------------------------------------------------------------------------------------------
_Spec = tuple[Side, OptionRight, Decimal]
"""One leg of a long template: buy or sell, right, strike."""


def _wing_target(selection: ByDelta, template: str) -> Decimal:
    if selection.wing_delta is None:
        raise SignalError(f"{template} needs wings: give ByDelta a wing_delta")
    return selection.wing_delta


def _collapse(template: str, what: str, chain: _Chain) -> SignalError:
    return SignalError(
        f"{template} on {chain.symbol} {chain.expiry.isoformat()}: {what}; the chain has not "
        "enough strikes there (listed "
        f"{chain.strikes(OptionRight.PUT)[0]}..{chain.strikes(OptionRight.PUT)[-1]}): pick "
        "other deltas or offsets"
    )


def _condor(chain: _Chain, selection: Selection) -> list[_Spec]:
    put, call = OptionRight.PUT, OptionRight.CALL
    if isinstance(selection, ByDelta):
        short_put = chain.by_delta(put, selection.short_delta)
        short_call = chain.by_delta(call, selection.short_delta)
        wing = _wing_target(selection, "iron_condor")
        long_put = chain.by_delta(put, wing)
        long_call = chain.by_delta(call, wing)
    else:
        short_put = chain.snap(put, chain.spot - selection.offset)
        short_call = chain.snap(call, chain.spot + selection.offset)
        long_put = chain.snap(put, short_put - selection.width)
        long_call = chain.snap(call, short_call + selection.width)
    if not short_put < short_call:
        raise _collapse(
            "iron_condor", f"short put {short_put} is not below short call {short_call}", chain
        )
    if not (long_put < short_put and short_call < long_call):
        raise _collapse(
            "iron_condor",
            f"wings {long_put}/{long_call} collapse onto the short strikes "
            f"{short_put}/{short_call}",
            chain,
        )
    return [
        (Side.SELL, put, long_put),
        (Side.BUY, put, short_put),
        (Side.BUY, call, short_call),
        (Side.SELL, call, long_call),
    ]


def _butterfly(chain: _Chain, selection: Selection) -> list[_Spec]:
    put, call = OptionRight.PUT, OptionRight.CALL
    body = chain.atm()
    if isinstance(selection, ByDelta):
        wing = _wing_target(selection, "iron_butterfly")
        long_put = chain.by_delta(put, wing)
        long_call = chain.by_delta(call, wing)
    else:
        long_put = chain.snap(put, body - selection.width)
        long_call = chain.snap(call, body + selection.width)
    if not (long_put < body < long_call):
        raise _collapse(
            "iron_butterfly",
            f"wings {long_put}/{long_call} collapse onto the body {body}",
            chain,
        )
    return [
        (Side.SELL, put, long_put),
        (Side.BUY, put, body),
        (Side.BUY, call, body),
        (Side.SELL, call, long_call),
    ]


def _vertical(chain: _Chain, selection: Selection, right: OptionRight, name: str) -> list[_Spec]:
    out = 1 if right is OptionRight.CALL else -1
    if isinstance(selection, ByDelta):
        bought = chain.atm()
        sold = chain.by_delta(right, selection.short_delta)
    else:
        bought = chain.snap(right, chain.spot + out * selection.offset)
        sold = chain.snap(right, bought + out * selection.width)
    if not out * (sold - bought) > 0:
        raise _collapse(
            name,
            f"the sold strike {sold} is not farther out of the money than the bought {bought}",
            chain,
        )
    return [(Side.BUY, right, bought), (Side.SELL, right, sold)]


def _straddle(chain: _Chain, selection: Selection) -> list[_Spec]:
    del selection  # a straddle is always at the money
    atm = chain.atm()
    return [(Side.BUY, OptionRight.CALL, atm), (Side.BUY, OptionRight.PUT, atm)]


def _strangle(chain: _Chain, selection: Selection) -> list[_Spec]:
    put, call = OptionRight.PUT, OptionRight.CALL
    if isinstance(selection, ByDelta):
        low = chain.by_delta(put, selection.short_delta)
        high = chain.by_delta(call, selection.short_delta)
    else:
        low = chain.snap(put, chain.spot - selection.offset)
        high = chain.snap(call, chain.spot + selection.offset)
    if not low < high:
        raise _collapse(
            "strangle", f"the put strike {low} is not below the call strike {high}", chain
        )
    return [(Side.BUY, put, low), (Side.BUY, call, high)]


@dataclass(frozen=True, slots=True)
class SignalTemplate:
    """A strategy template: its name, natural direction and how its legs are chosen.

    ``shortable`` says whether ``build_signal(short=...)`` applies; ``default_short`` is the
    version built when ``short`` is not given (True: the seller's, credit version).
    """

    name: str
    direction: Direction
    description: str
    shortable: bool
    default_short: bool
    legs: Callable[[_Chain, Selection], list[_Spec]]


def _template(
    name: str,
    direction: Direction,
    description: str,
    legs: Callable[[_Chain, Selection], list[_Spec]],
    *,
    shortable: bool = True,
    default_short: bool = False,
) -> tuple[str, SignalTemplate]:
    return name, SignalTemplate(name, direction, description, shortable, default_short, legs)


TEMPLATES: Mapping[str, SignalTemplate] = MappingProxyType(
    dict(
        [
            _template(
                "iron_condor",
                Direction.NEUTRAL,
                "sell an OTM put and call, buy wings farther out (credit by default)",
                _condor,
                default_short=True,
            ),
            _template(
                "iron_butterfly",
                Direction.NEUTRAL,
                "sell the ATM put and call, buy wings around them (credit by default)",
                _butterfly,
                default_short=True,
            ),
            _template(
                "bull_call_spread",
                Direction.BULLISH,
                "buy a call, sell a higher call (debit)",
                lambda chain, sel: _vertical(chain, sel, OptionRight.CALL, "bull_call_spread"),
                shortable=False,
            ),
            _template(
                "bear_put_spread",
                Direction.BEARISH,
                "buy a put, sell a lower put (debit)",
                lambda chain, sel: _vertical(chain, sel, OptionRight.PUT, "bear_put_spread"),
                shortable=False,
            ),
            _template("straddle", Direction.NEUTRAL, "buy the ATM call and put", _straddle),
            _template("strangle", Direction.NEUTRAL, "buy an OTM put and call", _strangle),
        ]
    )
)
"""The strategy templates by name (see the module docstring)."""


def build_signal(
    template: str,
    snapshot: MarketSnapshot,
    *,
    symbol: str,
    expiry: date,
    selection: Selection,
    quantity: int = 1,
    confidence: Decimal,
    generated_at: datetime,
    expires_at: datetime,
    direction: Direction | None = None,
    short: bool | None = None,
) -> SignalDraft:
    """Build a signal from a strategy template on ``snapshot``, metrics filled.

    Parameters
    ----------
    template : str
        A key of :data:`TEMPLATES`.
    snapshot : MarketSnapshot
        Market the strikes are chosen on and the legs priced at (quote mids).
    symbol : str
        Underlying; must be quoted in ``snapshot``.
    expiry : date
        A listed expiry of ``symbol`` in ``snapshot``.
    selection : ByDelta or ByOffset
        How strikes are chosen (module docstring).
    quantity : int
        Contracts per leg (one unit of the strategy), >= 1.
    confidence : Decimal
        In ``[0, 1]``.
    generated_at, expires_at : datetime
        Timezone-aware; ``expires_at`` after ``generated_at``.
    direction : Direction or None
        Market view; None takes the template's (bull call: bullish, bear put: bearish, the
        rest neutral).
    short : bool or None
        The seller's version (every side flipped) for the iron condor, iron butterfly,
        straddle and strangle; None takes the template's default (module docstring).

    Returns
    -------
    SignalDraft
        Legs in ascending strike order (a straddle: call, then put), each with the quote's
        mid as ``estimated_price``; ``strategy_type`` is the template name.

    Raises
    ------
    SignalError
        Unknown template, symbol not quoted, expiry not listed (the message lists the listed
        ones), strikes that collapse (not enough listed strikes), a leg without a usable
        quote, ``short`` given to a vertical spread, or a leg the evaluation cannot value.
    ValueError
        Invalid confidence, times or quantity (naming the field).

    """
    spec = TEMPLATES.get(template)
    if spec is None:
        raise SignalError(
            f"unknown signal template {template!r}; templates: {', '.join(sorted(TEMPLATES))}"
        )
    if not isinstance(selection, ByDelta | ByOffset):
        raise SignalError(f"selection must be ByDelta or ByOffset, got {type(selection).__name__}")
    if short is not None and not spec.shortable:
        raise SignalError(
            f"{template} takes no short flag: its seller's version is another strategy "
            "(a sold bull call spread is a bear call spread)"
        )
    _positive_int("quantity", quantity)
    chain = _chain(snapshot, symbol, expiry)
    flip = spec.default_short if short is None else short
    legs: list[SignalLeg] = []
    for side, right, strike in spec.legs(chain, selection):
        quote = chain.quote(right, strike)
        action = (Side.SELL if side is Side.BUY else Side.BUY) if flip else side
        legs.append(
            SignalLeg(
                action=action,
                contract=quote.contract,
                quantity=quantity,
                estimated_price=_usable_price(quote),
            )
        )
    draft = SignalDraft(  # validated before the evaluation runs
        symbol=symbol,
        direction=spec.direction if direction is None else direction,
        strategy_type=template,
        confidence=confidence,
        generated_at=generated_at,
        expires_at=expires_at,
        underlying_price=chain.spot,
        legs=tuple(legs),
    )
    metrics = signal_metrics(legs, snapshot, name=f"{symbol} {template} {expiry.isoformat()}")
    return replace(draft, metrics=metrics)


@dataclass(frozen=True, slots=True)
class HandLeg:
    """A leg typed by hand: an OCC symbol, a side, a quantity and an optional price.

    ``label`` names the leg in error messages (``--leg ...`` on the CLI, ``legs[0]`` in a body).
    """

    occ: str
    side: Side
    quantity: int
    estimated_price: Decimal | None = None
    label: str | None = None


def hand_built_signal(
    snapshot: MarketSnapshot,
    *,
    symbol: str,
    direction: Direction,
    strategy_type: str,
    confidence: Decimal,
    generated_at: datetime,
    expires_at: datetime,
    legs: Sequence[HandLeg],
) -> SignalDraft:
    """A signal of hand-typed ``legs``, each priced at its quote mid unless priced, with metrics.

    Raises
    ------
    SignalError
        When a leg is not an OCC symbol, the snapshot does not quote it, or it has no usable
        quote and no price.

    """
    from riskdesk.domain.occ import OccSymbolError, parse_occ

    priced: list[SignalLeg] = []
    for i, leg in enumerate(legs):
        where = leg.label or f"leg {i + 1} {leg.occ.strip()}"
        try:
            contract = parse_occ(leg.occ.strip().upper())
        except OccSymbolError as error:
            raise SignalError(f"{where}: {error}") from error
        quote = snapshot.option_quote(contract)
        if quote is None:
            raise SignalError(
                f"{where}: the market of {snapshot.as_of.isoformat()} does not quote this "
                "contract (`riskdesk market chain` lists the listed ones)"
            )
        price = leg.estimated_price if leg.estimated_price is not None else quote.mid
        if price is None:
            raise SignalError(
                f"{where}: no usable quote (bid {quote.bid}, ask {quote.ask}, mark {quote.mark}); "
                "give its price"
            )
        priced.append(SignalLeg(leg.side, quote.contract, leg.quantity, estimated_price=price))
    draft = SignalDraft(
        symbol=symbol,
        direction=direction,
        strategy_type=strategy_type,
        confidence=confidence,
        generated_at=generated_at,
        expires_at=expires_at,
        underlying_price=snapshot.underlying(symbol).spot,
        legs=tuple(priced),
    )
    metrics = signal_metrics(draft.legs, snapshot, name=f"{symbol} {strategy_type}")
    return replace(draft, metrics=metrics)
