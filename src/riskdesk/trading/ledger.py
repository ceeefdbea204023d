"""The paper-trading ledger: cash, positions, marks, NAV, expiry settlement and exit rules.

A pure engine: no SQL, no clock, no I/O. Times are parameters; money is
:class:`~decimal.Decimal`.

Accounting conventions
----------------------
* Average cost. Each position keeps its signed quantity and its signed *cost basis*: the
  money paid to open what is held (positive for a long position, negative, a credit, for a
  short one), so the average entry price is ``|cost| / (|quantity| x multiplier)``.
  Adding to a position adds the trade's money to the cost; reducing it removes the
  proportional part of the cost and realizes ``proceeds - removed cost``; a flip closes the
  whole position and opens the rest at the trade price.
* Exactness. Every amount is *moved* from one bucket to another, never recomputed, so the
  identities hold exactly in Decimal after any sequence of fills and settlements:

  - ``cash + positions value == NAV``;
  - ``realized + unrealized == NAV - starting cash`` (commissions and fees are counted in
    realized);
  - the signed sum of traded quantities of a symbol equals its position quantity.

  The only rounding is the proportional cost removed by a partial close, rounded half-even
  to :data:`COST_QUANTUM`; a full close removes the cost exactly.
* Prices and marks are per share; position value is ``quantity x mark x multiplier``.

Examples
--------
Buy 2 contracts at 1.50, sell 1 at 2.00 (multiplier 100, no costs): cost 300, then 150 is
removed and 200 received, so realized is 50 and the position keeps 1 contract at cost 150.

"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal

from riskdesk.domain.instruments import OptionRight
from riskdesk.trading.model import Fill

__all__ = [
    "COST_QUANTUM",
    "EXERCISE_THRESHOLD",
    "ExitBasis",
    "ExitRule",
    "ExitRules",
    "ExitSignal",
    "ExpiringOption",
    "Ledger",
    "LedgerMarks",
    "NavSnapshot",
    "Position",
    "PositionMark",
    "SettlementKind",
    "SettlementRecord",
    "TradeEntry",
    "TradePosition",
    "exit_signal",
    "settle_expiry",
]

COST_QUANTUM = Decimal("0.00000001")
"""Rounding step of the cost removed by a partial close (half-even)."""

EXERCISE_THRESHOLD = Decimal("0.01")
"""A physically settled option at least this far in the money is exercised or assigned
(the OCC's exercise-by-exception threshold)."""

_ZERO = Decimal(0)


def _require_aware(at: datetime, what: str) -> None:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware (UTC), got {at.isoformat()}")


@dataclass(frozen=True, slots=True)
class Position:
    """One symbol held: signed quantity, signed cost basis, multiplier, realized P&L.

    ``cost`` is the money paid for what is held (negative for a short position: the credit
    received); ``realized`` is this symbol's realized P&L before commissions and fees, which
    the ledger keeps apart in :attr:`Ledger.costs`. A closed position (quantity 0) stays in
    the ledger with cost 0 so its realized P&L remains visible.
    """

    symbol: str
    quantity: int
    cost: Decimal
    multiplier: int
    realized: Decimal = _ZERO

    @property
    def average_price(self) -> Decimal:
        """Average entry price per share (``|cost| / (|quantity| x multiplier)``), 0 if flat."""
        if self.quantity == 0:
            return _ZERO
        return abs(self.cost) / (abs(self.quantity) * self.multiplier)

    def value(self, mark: Decimal) -> Decimal:
        """Market value at ``mark`` per share: ``quantity x mark x multiplier``."""
        return self.quantity * mark * self.multiplier

    def unrealized(self, mark: Decimal) -> Decimal:
        """Unrealized P&L at ``mark``: value minus cost."""
        return self.value(mark) - self.cost

    def traded(self, quantity: int, price: Decimal) -> tuple[Position, Decimal]:
        """The position after trading ``quantity`` (signed) at ``price``, and the cash moved.

        The cash is ``-quantity x price x multiplier`` (negative when buying).
        """
        if quantity == 0:
            return self, _ZERO
        cash = -quantity * price * self.multiplier
        held = self.quantity
        if held == 0 or (held > 0) == (quantity > 0):
            # opening or adding: the trade's money joins the cost
            return replace(self, quantity=held + quantity, cost=self.cost - cash), cash
        closed = min(abs(quantity), abs(held))
        if closed == abs(held):
            removed = self.cost
        else:
            removed = (self.cost * closed / abs(held)).quantize(
                COST_QUANTUM, rounding=ROUND_HALF_EVEN
            )
        sign = 1 if quantity > 0 else -1
        closing_cash = -sign * closed * price * self.multiplier
        realized = self.realized + closing_cash - removed
        remaining_cost = self.cost - removed
        opened = abs(quantity) - closed  # > 0 only for a flip
        opening_cash = cash - closing_cash
        new = replace(
            self,
            quantity=held + quantity,
            cost=remaining_cost - opening_cash if opened else remaining_cost,
            realized=realized,
        )
        return new, cash


@dataclass(frozen=True, slots=True)
class PositionMark:
    """One position at a mark: price per share, value and unrealized P&L."""

    symbol: str
    quantity: int
    mark: Decimal
    value: Decimal
    unrealized: Decimal


@dataclass(frozen=True, slots=True)
class LedgerMarks:
    """The ledger at a set of marks: each open position, their total value, unrealized, NAV."""

    positions: tuple[PositionMark, ...]
    positions_value: Decimal
    unrealized: Decimal
    nav: Decimal


@dataclass(frozen=True, slots=True)
class NavSnapshot:
    """The account at ``at``: cash, positions value, NAV and P&L split.

    ``realized`` counts commissions and fees; ``total_pnl == realized + unrealized ==
    nav - starting_cash`` exactly.
    """

    at: datetime
    starting_cash: Decimal
    cash: Decimal
    positions_value: Decimal
    nav: Decimal
    realized: Decimal
    unrealized: Decimal
    total_pnl: Decimal

    def __post_init__(self) -> None:
        _require_aware(self.at, "NAV snapshot time")


@dataclass(frozen=True, slots=True)
class Ledger:
    """Cash and positions of one account, as an immutable value.

    Every change returns a new ledger: :meth:`apply_fill` for executions and
    :func:`settle_expiry` for the close. ``positions`` is kept sorted by symbol.
    """

    starting_cash: Decimal
    cash: Decimal
    positions: tuple[Position, ...] = ()
    costs: Decimal = _ZERO
    """Commissions and fees paid so far (>= 0)."""

    @classmethod
    def open(cls, starting_cash: Decimal) -> Ledger:
        """A new ledger holding ``starting_cash`` and nothing else."""
        if not isinstance(starting_cash, Decimal) or not starting_cash.is_finite():
            raise ValueError(f"starting cash must be a finite Decimal, got {starting_cash!r}")
        return cls(starting_cash=starting_cash, cash=starting_cash)

    def position(self, symbol: str) -> Position | None:
        """The position in ``symbol`` (open or closed), or None if never traded."""
        for position in self.positions:
            if position.symbol == symbol:
                return position
        return None

    @property
    def open_positions(self) -> tuple[Position, ...]:
        """Positions with a non-zero quantity."""
        return tuple(p for p in self.positions if p.quantity != 0)

    @property
    def realized(self) -> Decimal:
        """Realized P&L: every position's realized P&L minus commissions and fees."""
        return sum((p.realized for p in self.positions), _ZERO) - self.costs

    def trade(self, symbol: str, quantity: int, price: Decimal, multiplier: int) -> Ledger:
        """The ledger after trading ``quantity`` (signed) of ``symbol`` at ``price``, no costs.

        The building block of :meth:`apply_fill` and :func:`settle_expiry`.

        Raises
        ------
        ValueError
            If the multiplier differs from the one the symbol was traded with, or the price
            is negative or not finite.

        """
        if not price.is_finite() or price < 0:
            raise ValueError(f"trade of {symbol}: price must be a finite Decimal >= 0, got {price}")
        if multiplier < 1:
            raise ValueError(f"trade of {symbol}: multiplier must be >= 1, got {multiplier}")
        current = self.position(symbol)
        if current is None:
            current = Position(symbol=symbol, quantity=0, cost=_ZERO, multiplier=multiplier)
        elif current.multiplier != multiplier:
            raise ValueError(
                f"trade of {symbol}: multiplier {multiplier} differs from the position's "
                f"{current.multiplier}"
            )
        updated, cash = current.traded(quantity, price)
        others = [p for p in self.positions if p.symbol != symbol]
        positions = tuple(sorted([*others, updated], key=lambda p: p.symbol))
        return replace(self, cash=self.cash + cash, positions=positions)

    def apply_fill(self, fill: Fill) -> Ledger:
        """The ledger after ``fill``: every leg traded, cash moved by exactly ``fill.cash``.

        Raises
        ------
        ValueError
            If commission or fees are negative, or a leg is invalid (see :meth:`trade`).

        """
        if fill.commission < 0 or fill.fees < 0:
            raise ValueError(
                f"fill at {fill.at.isoformat()}: commission {fill.commission} and fees "
                f"{fill.fees} must be >= 0"
            )
        ledger = self
        for leg in fill.legs:
            if leg.quantity < 0:
                raise ValueError(f"fill leg {leg.symbol}: quantity must be >= 0")
            ledger = ledger.trade(
                leg.symbol, leg.side.sign * leg.quantity, leg.price, leg.multiplier
            )
        paid = fill.commission + fill.fees
        return replace(ledger, cash=ledger.cash - paid, costs=ledger.costs + paid)

    def apply_fills(self, fills: Iterable[Fill]) -> Ledger:
        """The ledger after each fill in order."""
        ledger = self
        for fill in fills:
            ledger = ledger.apply_fill(fill)
        return ledger

    def mark(self, prices: Mapping[str, Decimal]) -> LedgerMarks:
        """Value every open position at ``prices`` (per share, by symbol).

        Raises
        ------
        ValueError
            If an open position has no price.

        """
        marks: list[PositionMark] = []
        for position in self.open_positions:
            price = prices.get(position.symbol)
            if price is None:
                raise ValueError(f"no mark for open position {position.symbol}")
            marks.append(
                PositionMark(
                    symbol=position.symbol,
                    quantity=position.quantity,
                    mark=price,
                    value=position.value(price),
                    unrealized=position.unrealized(price),
                )
            )
        value = sum((m.value for m in marks), _ZERO)
        unrealized = sum((m.unrealized for m in marks), _ZERO)
        return LedgerMarks(
            positions=tuple(marks),
            positions_value=value,
            unrealized=unrealized,
            nav=self.cash + value,
        )

    def nav_snapshot(self, prices: Mapping[str, Decimal], at: datetime) -> NavSnapshot:
        """The account at ``at`` valued at ``prices`` (see :class:`NavSnapshot`)."""
        marks = self.mark(prices)
        realized = self.realized
        return NavSnapshot(
            at=at,
            starting_cash=self.starting_cash,
            cash=self.cash,
            positions_value=marks.positions_value,
            nav=marks.nav,
            realized=realized,
            unrealized=marks.unrealized,
            total_pnl=realized + marks.unrealized,
        )


# --------------------------------------------------------------------------- expiry


class SettlementKind(enum.StrEnum):
    """What happened to an option at expiry."""

    CASH_SETTLED = "cash_settled"
    EXERCISED = "exercised"
    ASSIGNED = "assigned"
    EXPIRED_WORTHLESS = "expired_worthless"


@dataclass(frozen=True, slots=True)
class ExpiringOption:
    """An option expiring today: its underlying, right, strike and how it settles.

    ``cash_settled`` is True for index options settled in cash (SPX, XSP, NDX, RUT ...),
    False for physically settled equity and ETF options.
    """

    symbol: str
    underlying: str
    right: OptionRight
    strike: Decimal
    cash_settled: bool

    def intrinsic(self, underlying_close: Decimal) -> Decimal:
        """Intrinsic value per share at ``underlying_close`` (>= 0)."""
        if self.right is OptionRight.CALL:
            return max(underlying_close - self.strike, _ZERO)
        return max(self.strike - underlying_close, _ZERO)


@dataclass(frozen=True, slots=True)
class SettlementRecord:
    """One option position settled at expiry: what, why, the cash and shares it moved.

    ``quantity`` is the option position closed (signed, contracts); ``price`` the per-share
    price it was closed at (intrinsic when cash-settled, 0 otherwise); ``shares`` the signed
    shares of the underlying received (positive) or delivered (negative) at the strike;
    ``cash`` the total cash moved (for a delivery: ``-shares x strike``).
    """

    symbol: str
    underlying: str
    kind: SettlementKind
    reason: str
    quantity: int
    price: Decimal
    shares: int
    cash: Decimal
    strike: Decimal
    underlying_close: Decimal
    at: datetime


def settle_expiry(
    ledger: Ledger,
    expiring: Iterable[ExpiringOption],
    underlying_closes: Mapping[str, Decimal],
    at: datetime,
) -> tuple[Ledger, tuple[SettlementRecord, ...]]:
    """Settle today's expiring options at the close.

    * Cash-settled options settle in cash at intrinsic value (a long position receives,
      a short one pays); with no intrinsic value they expire worthless.
    * Physically settled options in the money by at least :data:`EXERCISE_THRESHOLD` are
      exercised (long) or assigned (short): the option is closed at 0 and
      ``quantity x multiplier`` shares of the underlying are bought (long call, short put)
      or sold (long put, short call) at the strike.
    * Everything else expires worthless: closed at 0, its cost realized as the loss (long)
      or the credit as the gain (short).

    Options the ledger does not hold are skipped. The identities of :class:`Ledger` still
    hold on the returned ledger.

    Raises
    ------
    ValueError
        If ``at`` is naive, or an underlying close is missing or negative.

    """
    _require_aware(at, "settlement time")
    records: list[SettlementRecord] = []
    for option in expiring:
        position = ledger.position(option.symbol)
        if position is None or position.quantity == 0:
            continue
        close = underlying_closes.get(option.underlying)
        if close is None:
            raise ValueError(
                f"settlement of {option.symbol}: no close for underlying {option.underlying}"
            )
        if not close.is_finite() or close < 0:
            raise ValueError(f"settlement of {option.symbol}: underlying close {close} is invalid")
        quantity = position.quantity
        intrinsic = option.intrinsic(close)
        shares = 0
        price = _ZERO
        before = ledger.cash
        if option.cash_settled and intrinsic > 0:
            kind = SettlementKind.CASH_SETTLED
            price = intrinsic
            reason = f"cash-settled at intrinsic {intrinsic} (underlying close {close})"
            ledger = ledger.trade(option.symbol, -quantity, intrinsic, position.multiplier)
        elif not option.cash_settled and intrinsic >= EXERCISE_THRESHOLD:
            kind = SettlementKind.EXERCISED if quantity > 0 else SettlementKind.ASSIGNED
            direction = 1 if option.right is OptionRight.CALL else -1
            shares = quantity * position.multiplier * direction
            reason = (
                f"{'exercised' if quantity > 0 else 'assigned'}: in the money by {intrinsic} "
                f"(underlying close {close}, strike {option.strike})"
            )
            ledger = ledger.trade(option.symbol, -quantity, _ZERO, position.multiplier)
            ledger = ledger.trade(option.underlying, shares, option.strike, 1)
        else:
            kind = SettlementKind.EXPIRED_WORTHLESS
            reason = f"expired worthless: intrinsic {intrinsic} at underlying close {close}" + (
                "" if option.cash_settled else f" (below {EXERCISE_THRESHOLD})"
            )
            ledger = ledger.trade(option.symbol, -quantity, _ZERO, position.multiplier)
        records.append(
            SettlementRecord(
                symbol=option.symbol,
                underlying=option.underlying,
                kind=kind,
                reason=reason,
                quantity=quantity,
                price=price,
                shares=shares,
                cash=ledger.cash - before,
                strike=option.strike,
                underlying_close=close,
                at=at,
            )
        )
    return ledger, tuple(records)


# --------------------------------------------------------------------------- exit rules


class ExitRule(enum.StrEnum):
    """Which exit rule fired."""

    STOP_LOSS = "stop_loss"
    PROFIT_TARGET = "profit_target"
    TIME = "time"


class ExitBasis(enum.StrEnum):
    """What a profit target or stop loss fraction is a fraction of.

    ``ENTRY_PREMIUM``: the entry net price (the credit received or the debit paid);
    ``MAX``: the structure's max profit (for a target) or max loss (for a stop).
    """

    ENTRY_PREMIUM = "entry_premium"
    MAX = "max"


@dataclass(frozen=True, slots=True)
class ExitRules:
    """Exit rules of a trade; a rule left None is off.

    ``profit_target`` and ``stop_loss`` are fractions (> 0) of their basis, e.g. a target of
    0.5 of the entry credit closes a short iron condor sold at 1.00 once it can be bought
    back at 0.50; a stop of 2 of the credit closes it at 3.00. ``minutes_before_close``
    closes the trade that many minutes before the close.
    """

    profit_target: Decimal | None = None
    profit_basis: ExitBasis = ExitBasis.ENTRY_PREMIUM
    stop_loss: Decimal | None = None
    stop_basis: ExitBasis = ExitBasis.ENTRY_PREMIUM
    minutes_before_close: int | None = None

    def __post_init__(self) -> None:
        for name, value in (("profit_target", self.profit_target), ("stop_loss", self.stop_loss)):
            if value is not None and (not value.is_finite() or value <= 0):
                raise ValueError(f"exit rule {name} must be a fraction > 0, got {value}")
        if self.minutes_before_close is not None and self.minutes_before_close < 0:
            raise ValueError(
                f"exit rule minutes_before_close must be >= 0, got {self.minutes_before_close}"
            )


@dataclass(frozen=True, slots=True)
class TradeEntry:
    """How a trade was entered, per unit in premium per share.

    ``net_price`` follows the order convention (positive: debit paid; negative: credit
    received); ``max_profit`` and ``max_loss`` (> 0, per share per unit) are None when
    unbounded.
    """

    net_price: Decimal
    max_profit: Decimal | None = None
    max_loss: Decimal | None = None

    def __post_init__(self) -> None:
        for name, value in (("max_profit", self.max_profit), ("max_loss", self.max_loss)):
            if value is not None and value <= 0:
                raise ValueError(f"trade entry {name} must be > 0 or None, got {value}")


@dataclass(frozen=True, slots=True)
class TradePosition:
    """An open trade: units of the structure held and the contract multiplier."""

    label: str
    units: int
    multiplier: int = 100

    def __post_init__(self) -> None:
        if self.units < 1 or self.multiplier < 1:
            raise ValueError(f"trade {self.label}: units and multiplier must be >= 1")


@dataclass(frozen=True, slots=True)
class ExitSignal:
    """A fired exit rule, why, and the trade's P&L at the mark (per share and in money)."""

    rule: ExitRule
    reason: str
    pnl_per_share: Decimal
    pnl: Decimal


def _basis(entry: TradeEntry, basis: ExitBasis, *, target: bool) -> Decimal:
    if basis is ExitBasis.ENTRY_PREMIUM:
        if entry.net_price == 0:
            raise ValueError("an exit rule on the entry premium needs a non-zero entry price")
        return abs(entry.net_price)
    bound = entry.max_profit if target else entry.max_loss
    if bound is None:
        what = "max profit" if target else "max loss"
        raise ValueError(f"an exit rule on the {what} needs a bounded {what} in the trade entry")
    return bound


def exit_signal(
    position: TradePosition,
    mark: Decimal,
    entry: TradeEntry,
    rules: ExitRules,
    now: datetime,
    close: datetime,
) -> ExitSignal | None:
    """The exit rule that fires for a trade at ``mark`` and time ``now``, or None.

    ``mark`` is the structure's current net price per unit in the entry's convention (what
    opening it would cost now: a debit positive, a credit negative), so the P&L per share is
    ``mark - entry.net_price``. Rules are checked in order stop loss, profit target, time:

    * stop loss: P&L <= ``-stop_loss x basis``;
    * profit target: P&L >= ``profit_target x basis``;
    * time: ``now >= close - minutes_before_close``.

    Raises
    ------
    ValueError
        If a time is naive, or a rule's basis is missing (zero entry price, unbounded max).

    """
    _require_aware(now, "exit check time")
    _require_aware(close, "close time")
    pnl_per_share = mark - entry.net_price
    pnl = pnl_per_share * position.units * position.multiplier
    if rules.stop_loss is not None:
        limit = rules.stop_loss * _basis(entry, rules.stop_basis, target=False)
        if pnl_per_share <= -limit:
            return ExitSignal(
                rule=ExitRule.STOP_LOSS,
                reason=(
                    f"{position.label}: loss {-pnl_per_share} per share reached the stop "
                    f"{limit} ({rules.stop_loss} of {rules.stop_basis.value})"
                ),
                pnl_per_share=pnl_per_share,
                pnl=pnl,
            )
    if rules.profit_target is not None:
        target = rules.profit_target * _basis(entry, rules.profit_basis, target=True)
        if pnl_per_share >= target:
            return ExitSignal(
                rule=ExitRule.PROFIT_TARGET,
                reason=(
                    f"{position.label}: profit {pnl_per_share} per share reached the target "
                    f"{target} ({rules.profit_target} of {rules.profit_basis.value})"
                ),
                pnl_per_share=pnl_per_share,
                pnl=pnl,
            )
    if rules.minutes_before_close is not None:
        cutoff = close - timedelta(minutes=rules.minutes_before_close)
        if now >= cutoff:
            return ExitSignal(
                rule=ExitRule.TIME,
                reason=(
                    f"{position.label}: {rules.minutes_before_close} minutes before the close "
                    f"(cutoff {cutoff.isoformat()})"
                ),
                pnl_per_share=pnl_per_share,
                pnl=pnl,
            )
    return None
