"""The fill model of paper trading: how an order executes against the top of the book.

A pure engine: :func:`match` takes an order, what it has filled so far, the current quotes
of its legs, the time and a :class:`FillConfig`, and returns what it fills *now* (no SQL, no
clock, no I/O). :func:`expire_day_orders` expires DAY orders at the session close. The value
types come from :mod:`riskdesk.trading.model`.

Conventions
-----------
Prices are premium per share (an option quoted 1.25 costs 125.00 per contract of multiplier
100). An order's ``limit_price`` and ``stop_price`` are *signed net prices per unit*, as in
:mod:`~riskdesk.trading.model`: positive is a debit paid, negative a credit received. The
*net touch* of an order is ``sum(touch x ratio x side.sign)`` over its legs, where the touch
of a leg is the ask for a buy leg and the bid for a sell leg (what the order pays or gets
now). With signed prices every rule reads the same for debits and credits:

* a limit order is **marketable** when ``net touch <= limit``: a debit paid is at most the
  limit, a credit received (``-net``) is at least the credit asked for (``-limit``);
* a stop order **triggers** when ``net touch >= stop``: a buy stop when the price paid rises
  to or above the stop, a sell stop when the price received falls to or below it.

So a one-leg sell limit "at 2.00 or better" is ``limit_price=Decimal("-2.00")``. Because
prices are never negative, a one-leg order whose limit or stop has the wrong sign for its side
(a sell with a positive limit would sell at any price) is refused with a ``ValueError``.

Rules of the model (what a careful broker does)
-----------------------------------------------
1. **Market** orders (and **stop** orders once triggered) fill at the touch of each leg plus
   slippage. **Limit** orders (and **stop-limit** orders once triggered) fill only when
   marketable, at the touch with *no* slippage: the trader keeps the price improvement and a
   limit order never fills worse than its limit.
2. **Slippage** (``slippage_bps``) goes against the taker on every leg of a market-like fill.
   The amount per share is ``touch x bps / 10 000`` rounded *up* to a whole tick (a non-zero
   slippage costs at least one tick: paper results flatter no one); buys pay
   ``ask + amount``, sells get ``bid - amount``, but never less than one tick (or the bid
   itself when the bid is below one tick): slippage never takes a price through zero. Zero
   bps leaves the touch unchanged. ``Fill.slippage_bps`` records the bps applied (0 for limit
   fills).
3. **Ticks**: every price uses ``tick`` (0.01) by default, shares and options alike (the
   penny interval). When ``wide_tick`` is set (e.g. 0.05, as in the penny program's "0.01
   under 3.00, 0.05 from 3.00"), an option leg whose touch is at least ``wide_tick_from``
   (3.00) rounds its slippage to ``wide_tick`` instead.
4. **Trigger**: a stop or stop-limit order triggers on the net touch (see above); once
   triggered it stays triggered (``OrderState.triggered``) and behaves as a market or a limit
   order. The quote that triggers it can fill it.
5. **Size**: a leg can give ``size_at_touch // ratio`` units (the ask size for a buy leg, the
   bid size for a sell leg). A one-leg order fills ``min(remaining, units available)``; a
   multi-leg order fills *all legs or none*, for ``min(remaining, min over legs)`` units, at
   its net price. Each call of :func:`match` gives at most one :class:`~.model.Fill`.
6. **No market**: a leg without a quote, a crossed quote (ask below bid), a zero touch price
   (no bid to sell into, no ask to buy from) or no size on the side the leg takes cannot
   fill, and then no leg of the order fills; the result names the leg and the reason
   (:class:`NoFill`), never a NaN. Without a price on every leg there is no net touch, so a
   stop cannot trigger either.
7. **Time in force**: DAY and GTC orders rest (status ``submitted``, or
   ``partially_filled`` once something filled) until filled, cancelled or, for DAY, expired
   by :func:`expire_day_orders` at the session close; GTC orders rest across days. **IOC**
   fills what it can now and cancels the rest (status ``cancelled``, even with a partial
   fill). **FOK** fills every remaining unit now or nothing (``cancelled`` with the reason).
   IOC and FOK get this one call only: a limit not marketable or a stop not triggered is
   cancelled at once.
8. **Costs** are charged per *order*, so splitting an order into partial fills never costs
   more than filling it at once. With ``n`` units filled so far, the order's commission to
   date is ``0`` for ``n = 0``, else ``max(min_commission, round(n x per-unit commission))``,
   and its fees to date ``round(n x per-unit fees)`` (rounding to the cent, half up). A fill
   is charged the increase over the previous units: the minimum is paid once, on the first
   fill. Per unit: ``commission_per_contract`` per option contract and
   ``commission_per_share`` per share; ``fee_per_contract`` per option contract (e.g. the
   ORF, both sides), ``sell_fee_per_contract`` per option contract sold,
   ``fee_per_share`` per share and ``sell_fee_per_share`` per share sold (e.g. FINRA's
   TAF). Fee caps are not modelled. ``Fill.cash = sum(leg cash) - commission - fees``
   exactly, in Decimal.
9. Quote freshness is not checked here (the stale-data gate owns it); ``at`` stamps the
   fills and must be timezone-aware.

Examples
--------
Buying 3 contracts at a 1.20 x 1.25 market (ask size 2) with 10 bps, 0.65 per contract,
1.00 minimum and a 0.02 ORF: 2 contracts fill at 1.25 + ceil(0.00125) = 1.26, commission
max(1.00, 1.30) = 1.30, fees 0.04; cash = -252.00 - 1.30 - 0.04 = -253.34; 1 unit rests.

"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal
from typing import TypeVar

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
)

__all__ = [
    "FillConfig",
    "FillResult",
    "NoFill",
    "OrderState",
    "expire_day_orders",
    "match",
]

_CENT = Decimal("0.01")
_BPS = Decimal(10_000)
K = TypeVar("K")


class NoFill(enum.StrEnum):
    """Why an order (or the rest of it) did not fill now."""

    NO_QUOTE = "no_quote"
    """A leg has no quote."""
    CROSSED_MARKET = "crossed_market"
    """A leg's quote has its ask below its bid."""
    ZERO_MARKET = "zero_market"
    """A leg's touch price is 0 (no bid to sell into, no ask to buy from)."""
    NO_SIZE = "no_size"
    """A leg shows less than one unit (``size // ratio == 0``) on the side it takes."""
    STOP_NOT_TRIGGERED = "stop_not_triggered"
    """The net touch has not reached the stop price."""
    NOT_MARKETABLE = "not_marketable"
    """The net touch is worse than the limit price."""
    IOC_CANCELLED = "ioc_cancelled"
    """An IOC order's unfilled units were cancelled."""
    FOK_CANCELLED = "fok_cancelled"
    """A FOK order could not fill every unit now and was cancelled."""
    DAY_EXPIRED = "day_expired"
    """A DAY order reached the session close unfilled."""


def _non_negative(name: str, value: Decimal) -> None:
    if not value.is_finite() or value < 0:
        raise ValueError(f"fill config: {name} must be a finite amount >= 0, got {value}")


@dataclass(frozen=True, slots=True)
class FillConfig:
    """Slippage, ticks, commissions and fees of the fill model (money per share / contract).

    The defaults charge nothing: a broker's schedule is configuration, not code.

    Parameters
    ----------
    slippage_bps
        Slippage against the taker in basis points of the touch (whole number >= 0).
    commission_per_contract, commission_per_share
        Commission per option contract and per share.
    min_commission
        Minimum commission per order (charged once, on its first fill).
    fee_per_contract, sell_fee_per_contract
        Regulatory fee per option contract traded (e.g. the ORF) and per contract sold.
    fee_per_share, sell_fee_per_share
        Regulatory fee per share traded and per share sold (e.g. FINRA's TAF).
    tick
        Price increment of every instrument (0.01).
    wide_tick, wide_tick_from
        When ``wide_tick`` is set, option legs whose touch is at least ``wide_tick_from``
        round slippage to ``wide_tick`` (e.g. 0.05 from 3.00).

    """

    slippage_bps: int = 0
    commission_per_contract: Decimal = Decimal(0)
    commission_per_share: Decimal = Decimal(0)
    min_commission: Decimal = Decimal(0)
    fee_per_contract: Decimal = Decimal(0)
    sell_fee_per_contract: Decimal = Decimal(0)
    fee_per_share: Decimal = Decimal(0)
    sell_fee_per_share: Decimal = Decimal(0)
    tick: Decimal = Decimal("0.01")
    wide_tick: Decimal | None = None
    wide_tick_from: Decimal = Decimal("3.00")

    def __post_init__(self) -> None:
        if isinstance(self.slippage_bps, bool) or not isinstance(self.slippage_bps, int):
            raise ValueError(
                f"fill config: slippage_bps must be a whole number, got {self.slippage_bps!r}"
            )
        if self.slippage_bps < 0:
            raise ValueError(f"fill config: slippage_bps must be >= 0, got {self.slippage_bps}")
        for name in (
            "commission_per_contract",
            "commission_per_share",
            "min_commission",
            "fee_per_contract",
            "sell_fee_per_contract",
            "fee_per_share",
            "sell_fee_per_share",
            "wide_tick_from",
        ):
            _non_negative(name, getattr(self, name))
        for name in ("tick", "wide_tick"):
            value = getattr(self, name)
            if value is not None and (not value.is_finite() or value <= 0):
                raise ValueError(f"fill config: {name} must be a finite price > 0, got {value}")


@dataclass(frozen=True, slots=True)
class OrderState:
    """What an order has done so far: units filled and whether its stop has triggered."""

    filled_units: int = 0
    triggered: bool = False

    def __post_init__(self) -> None:
        if self.filled_units < 0:
            raise ValueError(f"filled_units must be >= 0, got {self.filled_units}")


@dataclass(frozen=True, slots=True)
class FillResult:
    """The outcome of one :func:`match`: fills now (0 or 1), the new state, status and reason.

    ``reason`` is a sentence for people and ``code`` its machine form; both are ``None`` when
    the order filled completely.
    """

    fills: tuple[Fill, ...]
    state: OrderState
    status: OrderStatus
    code: NoFill | None
    reason: str | None

    @property
    def filled_now(self) -> int:
        """Units filled by this call."""
        return sum(fill.units for fill in self.fills)


@dataclass(frozen=True, slots=True)
class _Touch:
    """A leg's touch: its price and the units it can give, or why it cannot trade."""

    price: Decimal
    units: int


def _touch(leg: OrderLeg, quote: Quote | None) -> _Touch | tuple[NoFill, str]:
    if quote is None:
        return NoFill.NO_QUOTE, f"leg {leg.symbol}: no quote"
    if quote.ask < quote.bid:
        return (
            NoFill.CROSSED_MARKET,
            f"leg {leg.symbol}: crossed market (bid {quote.bid} above ask {quote.ask})",
        )
    if leg.side is Side.BUY:
        price, size, what = quote.ask, quote.ask_size, "ask"
    else:
        price, size, what = quote.bid, quote.bid_size, "bid"
    if price <= 0:
        verb = "buy from" if leg.side is Side.BUY else "sell into"
        return NoFill.ZERO_MARKET, f"leg {leg.symbol}: {what} is {price}, nothing to {verb}"
    return _Touch(price=price, units=size // leg.ratio)


def _tick(leg: OrderLeg, touch: Decimal, config: FillConfig) -> Decimal:
    if config.wide_tick is not None and leg.is_option and touch >= config.wide_tick_from:
        return config.wide_tick
    return config.tick


def _slipped(leg: OrderLeg, touch: Decimal, bps: int, config: FillConfig) -> Decimal:
    if bps == 0:
        return touch
    tick = _tick(leg, touch, config)
    raw = touch * bps / _BPS
    amount = (raw / tick).to_integral_value(rounding=ROUND_CEILING) * tick
    if leg.side is Side.BUY:
        return touch + amount
    return max(touch - amount, min(touch, tick))


def _per_unit_costs(order: OrderRequest, config: FillConfig) -> tuple[Decimal, Decimal]:
    commission = Decimal(0)
    fees = Decimal(0)
    for leg in order.legs:
        selling = leg.side is Side.SELL
        if leg.is_option:
            commission += leg.ratio * config.commission_per_contract
            fees += leg.ratio * (
                config.fee_per_contract + (config.sell_fee_per_contract if selling else 0)
            )
        else:
            commission += leg.ratio * config.commission_per_share
            fees += leg.ratio * (
                config.fee_per_share + (config.sell_fee_per_share if selling else 0)
            )
    return commission, fees


def _cents(value: Decimal) -> Decimal:
    return value.quantize(_CENT, rounding=ROUND_HALF_UP)


def _costs_to_date(
    units: int, per_unit: tuple[Decimal, Decimal], config: FillConfig
) -> tuple[Decimal, Decimal]:
    if units == 0:
        return Decimal("0.00"), Decimal("0.00")
    commission = _cents(max(config.min_commission, units * per_unit[0]))
    return commission, _cents(units * per_unit[1])


def _check(order: OrderRequest, state: OrderState, at: datetime) -> None:
    if at.tzinfo is None:
        raise ValueError("match time `at` must be timezone-aware (UTC)")
    if state.filled_units >= order.quantity:
        raise ValueError(
            f"order already filled {state.filled_units} of {order.quantity} units: "
            "nothing left to match"
        )
    if order.single:
        side = order.legs[0].side
        for name, price in (("limit_price", order.limit_price), ("stop_price", order.stop_price)):
            if price is None:
                continue
            if (side is Side.SELL and price > 0) or (side is Side.BUY and price < 0):
                raise ValueError(
                    f"{name} {price} has the wrong sign for a one-leg {side.value} order: "
                    "prices are signed net prices (positive: debit paid by a buy, negative: "
                    f"credit received by a sell, e.g. {-abs(price)} to sell at {abs(price)})"
                )


def _resting(
    order: OrderRequest,
    state: OrderState,
    fills: tuple[Fill, ...],
    code: NoFill,
    reason: str,
) -> FillResult:
    """The result when some units remain: rest (DAY / GTC) or cancel (IOC / FOK)."""
    remaining = order.quantity - state.filled_units
    tif = order.time_in_force
    if tif is TimeInForce.IOC:
        return FillResult(
            fills=fills,
            state=state,
            status=OrderStatus.CANCELLED,
            code=NoFill.IOC_CANCELLED,
            reason=f"IOC: {remaining} of {order.quantity} units cancelled ({reason})",
        )
    if tif is TimeInForce.FOK:
        return FillResult(
            fills=fills,
            state=state,
            status=OrderStatus.CANCELLED,
            code=NoFill.FOK_CANCELLED,
            reason=f"FOK: cannot fill all {remaining} units now ({reason})",
        )
    status = OrderStatus.PARTIALLY_FILLED if state.filled_units else OrderStatus.SUBMITTED
    return FillResult(fills=fills, state=state, status=status, code=code, reason=reason)


def match(
    order: OrderRequest,
    state: OrderState,
    quotes: Mapping[str, Quote],
    at: datetime,
    config: FillConfig,
) -> FillResult:
    """Match an order against the current quotes of its legs (see the module's rules).

    Parameters
    ----------
    order
        The order; its ``limit_price`` / ``stop_price`` are signed net prices per unit.
    state
        Units already filled (fewer than ``order.quantity``) and whether the stop triggered.
    quotes
        Current quotes by symbol; legs without one cannot fill.
    at
        Time of the match (timezone-aware), stamped on the fill.
    config
        Slippage, ticks, commissions and fees.

    Returns
    -------
    FillResult
        At most one fill (all legs, ``units`` each times their ratio), the new state, the
        status (``filled``, ``partially_filled``, ``submitted`` or ``cancelled``) and why
        units remain.

    Raises
    ------
    ValueError
        When ``at`` is naive, the order is already complete, or a one-leg order's limit or
        stop has the wrong sign for its side.

    """
    _check(order, state, at)
    remaining = order.quantity - state.filled_units

    touches: list[_Touch] = []
    for leg in order.legs:
        touch = _touch(leg, quotes.get(leg.symbol))
        if not isinstance(touch, _Touch):
            return _resting(order, state, (), touch[0], touch[1])
        touches.append(touch)
    net_touch = sum(
        (t.price * leg.ratio * leg.side.sign for leg, t in zip(order.legs, touches, strict=True)),
        Decimal(0),
    )

    triggered = state.triggered
    if order.order_type in (OrderType.STOP, OrderType.STOP_LIMIT) and not triggered:
        assert order.stop_price is not None  # guaranteed by OrderRequest
        if net_touch < order.stop_price:
            return _resting(
                order,
                state,
                (),
                NoFill.STOP_NOT_TRIGGERED,
                f"stop not triggered: net touch {net_touch} below stop {order.stop_price}",
            )
        triggered = True
    state = OrderState(filled_units=state.filled_units, triggered=triggered)

    limited = order.order_type in (OrderType.LIMIT, OrderType.STOP_LIMIT)
    if limited:
        assert order.limit_price is not None  # guaranteed by OrderRequest
        if net_touch > order.limit_price:
            return _resting(
                order,
                state,
                (),
                NoFill.NOT_MARKETABLE,
                f"not marketable: net touch {net_touch} worse than limit {order.limit_price}",
            )

    available = min(t.units for t in touches)
    if available == 0:
        thin = next(leg for leg, t in zip(order.legs, touches, strict=True) if t.units == 0)
        return _resting(
            order,
            state,
            (),
            NoFill.NO_SIZE,
            f"leg {thin.symbol}: no size on the {'ask' if thin.side is Side.BUY else 'bid'} "
            f"for a ratio of {thin.ratio}",
        )
    if order.time_in_force is TimeInForce.FOK and available < remaining:
        return _resting(
            order,
            state,
            (),
            NoFill.NO_SIZE,
            f"only {available} units displayed",
        )

    units = min(remaining, available)
    bps = 0 if limited else config.slippage_bps
    legs = tuple(
        FillLeg(
            symbol=leg.symbol,
            side=leg.side,
            quantity=units * leg.ratio,
            price=_slipped(leg, t.price, bps, config),
            multiplier=leg.multiplier,
        )
        for leg, t in zip(order.legs, touches, strict=True)
    )
    net_price = sum(
        (fl.price * leg.ratio * leg.side.sign for leg, fl in zip(order.legs, legs, strict=True)),
        Decimal(0),
    )
    per_unit = _per_unit_costs(order, config)
    before = _costs_to_date(state.filled_units, per_unit, config)
    after = _costs_to_date(state.filled_units + units, per_unit, config)
    fill = Fill(
        units=units,
        legs=legs,
        net_price=net_price,
        commission=after[0] - before[0],
        fees=after[1] - before[1],
        slippage_bps=bps,
        at=at,
    )
    state = OrderState(filled_units=state.filled_units + units, triggered=triggered)
    if state.filled_units == order.quantity:
        return FillResult(
            fills=(fill,), state=state, status=OrderStatus.FILLED, code=None, reason=None
        )
    return _resting(
        order,
        state,
        (fill,),
        NoFill.NO_SIZE,
        f"{units} of {remaining} units filled: only {available} units displayed",
    )


def expire_day_orders(
    orders: Mapping[K, tuple[OrderRequest, OrderState]],
    at: datetime,
    close: datetime,
) -> dict[K, FillResult]:
    """Expire the DAY orders still working at the session close.

    Parameters
    ----------
    orders
        Working orders (not final, fewer units filled than ordered) by any key (an order id).
    at
        Now (timezone-aware).
    close
        The session close (timezone-aware).

    Returns
    -------
    dict
        For each DAY order when ``at >= close``: status ``expired``, no fills, its state
        unchanged and the units left. GTC orders are never expired here; IOC and FOK orders
        never rest. Before the close, an empty dict.

    Raises
    ------
    ValueError
        When ``at`` or ``close`` is naive.

    """
    if at.tzinfo is None or close.tzinfo is None:
        raise ValueError("`at` and `close` must be timezone-aware (UTC)")
    if at < close:
        return {}
    expired: dict[K, FillResult] = {}
    for key, (order, state) in orders.items():
        if order.time_in_force is not TimeInForce.DAY or state.filled_units >= order.quantity:
            continue
        left = order.quantity - state.filled_units
        expired[key] = FillResult(
            fills=(),
            state=state,
            status=OrderStatus.EXPIRED,
            code=NoFill.DAY_EXPIRED,
            reason=(
                f"DAY order expired at the close {close.isoformat()}: "
                f"{left} of {order.quantity} units unfilled"
            ),
        )
    return expired
