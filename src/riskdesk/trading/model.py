"""Value types of paper trading shared by every engine (orders, quotes, fills, positions).

Money and prices are :class:`~decimal.Decimal`; quantities are whole numbers of contracts or
shares; timestamps are timezone-aware UTC. A multi-leg order is one :class:`OrderRequest`
whose legs carry a ratio: the order's ``quantity`` counts *units* of the structure (an iron
condor of quantity 2 trades 2 contracts of each 1:1 leg), and its limit price is the *net*
price of one unit in premium per share (positive: a debit paid; negative: a credit
received), as brokers quote spreads.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

__all__ = [
    "Fill",
    "FillLeg",
    "OrderLeg",
    "OrderRequest",
    "OrderStatus",
    "OrderType",
    "Quote",
    "Side",
    "TimeInForce",
    "money_text",
]


class Side(enum.StrEnum):
    """Buy or sell (stored as ``orders.side``)."""

    BUY = "buy"
    SELL = "sell"

    @property
    def sign(self) -> int:
        """+1 for a buy, -1 for a sell."""
        return 1 if self is Side.BUY else -1


class OrderType(enum.StrEnum):
    """How an order is priced (stored as ``orders.order_type``)."""

    MARKET = "market"
    LIMIT = "limit"
    STOP = "stop"
    STOP_LIMIT = "stop_limit"


class TimeInForce(enum.StrEnum):
    """How long an order lives (stored upper case as ``orders.time_in_force``)."""

    DAY = "DAY"
    GTC = "GTC"
    IOC = "IOC"
    FOK = "FOK"


class OrderStatus(enum.StrEnum):
    """An order's lifecycle.

    proposed -> approved / rejected -> submitted -> partially_filled / filled / cancelled /
    expired.
    """

    PROPOSED = "proposed"
    APPROVED = "approved"
    REJECTED = "rejected"
    SUBMITTED = "submitted"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELLED = "cancelled"
    EXPIRED = "expired"

    @property
    def final(self) -> bool:
        """True when the order can change no more."""
        return self in (
            OrderStatus.REJECTED,
            OrderStatus.FILLED,
            OrderStatus.CANCELLED,
            OrderStatus.EXPIRED,
        )


@dataclass(frozen=True, slots=True)
class Quote:
    """The top of the book of one instrument at ``at`` (sizes in contracts or shares)."""

    symbol: str
    bid: Decimal
    ask: Decimal
    bid_size: int
    ask_size: int
    at: datetime

    def __post_init__(self) -> None:
        if self.at.tzinfo is None:
            raise ValueError(f"quote time of {self.symbol} must be timezone-aware")
        if self.bid < 0 or self.ask < 0:
            raise ValueError(f"quote of {self.symbol}: bid and ask must be >= 0")
        if self.ask < self.bid:
            raise ValueError(f"quote of {self.symbol}: ask {self.ask} below bid {self.bid}")
        if self.bid_size < 0 or self.ask_size < 0:
            raise ValueError(f"quote of {self.symbol}: sizes must be >= 0")

    @property
    def mid(self) -> Decimal:
        """(bid + ask) / 2."""
        return (self.bid + self.ask) / 2


@dataclass(frozen=True, slots=True)
class OrderLeg:
    """One leg of an order: an instrument, a side and a ratio per unit of the order.

    ``multiplier`` is the contract multiplier (100 for a standard equity option, 1 for a
    share); ``is_option`` decides which commission schedule applies.
    """

    symbol: str
    side: Side
    ratio: int = 1
    multiplier: int = 1
    is_option: bool = False

    def __post_init__(self) -> None:
        if self.ratio < 1:
            raise ValueError(f"leg {self.symbol}: ratio must be a whole number >= 1")
        if self.multiplier < 1:
            raise ValueError(f"leg {self.symbol}: multiplier must be >= 1")


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """An order: its legs, how many units, its type, prices and time in force.

    ``limit_price`` and ``stop_price`` are signed net prices per unit (see the module
    docstring): required for limit / stop-limit and stop / stop-limit orders respectively,
    and refused for the types that take none. A one-leg sell's limit and stop are therefore
    negative (a sell "at 2.00 or better" is ``limit_price=-2.00``): the interfaces convert a
    trader's unsigned price before building the request.
    """

    legs: tuple[OrderLeg, ...]
    quantity: int
    order_type: OrderType = OrderType.MARKET
    time_in_force: TimeInForce = TimeInForce.DAY
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None

    def __post_init__(self) -> None:
        if not self.legs:
            raise ValueError("an order needs at least one leg")
        if len({leg.symbol for leg in self.legs}) != len(self.legs):
            raise ValueError("an order names each instrument once")
        if self.quantity < 1:
            raise ValueError(f"order quantity must be a whole number >= 1, got {self.quantity}")
        needs_limit = self.order_type in (OrderType.LIMIT, OrderType.STOP_LIMIT)
        needs_stop = self.order_type in (OrderType.STOP, OrderType.STOP_LIMIT)
        if needs_limit != (self.limit_price is not None):
            raise ValueError(
                f"a {self.order_type.value} order {'needs' if needs_limit else 'takes no'} "
                "limit price"
            )
        if needs_stop != (self.stop_price is not None):
            raise ValueError(
                f"a {self.order_type.value} order {'needs' if needs_stop else 'takes no'} "
                "stop price"
            )

    @property
    def single(self) -> bool:
        """True for a one-leg order."""
        return len(self.legs) == 1


@dataclass(frozen=True, slots=True)
class FillLeg:
    """What one leg of a fill traded: contracts (or shares) at a price per share."""

    symbol: str
    side: Side
    quantity: int
    price: Decimal
    multiplier: int = 1

    @property
    def cash(self) -> Decimal:
        """Cash the leg moves before costs: negative for a buy, positive for a sell."""
        return -self.side.sign * self.price * self.quantity * self.multiplier


@dataclass(frozen=True, slots=True)
class Fill:
    """One execution of an order: every leg for ``units`` units, at a net price, with costs.

    ``net_price`` is per unit in premium per share (positive: debit); ``commission`` and
    ``fees`` are total money for this fill (>= 0).
    """

    units: int
    legs: tuple[FillLeg, ...]
    net_price: Decimal
    commission: Decimal
    fees: Decimal
    slippage_bps: int
    at: datetime

    @property
    def cash(self) -> Decimal:
        """The cash this fill moves, costs included (negative: paid)."""
        return sum((leg.cash for leg in self.legs), Decimal(0)) - self.commission - self.fees


_CENT = Decimal("0.01")


def money_text(value: Decimal) -> str:
    """Money as text: to the cent when exact to the cent, else every significant digit.

    ``Decimal("2374.00000000")`` reads ``2374.00``, ``Decimal("0E-8")`` reads ``0.00`` and
    ``Decimal("0.12345")`` keeps all its digits: the exact value, never rounded.
    """
    cents = value.quantize(_CENT)
    if cents == value:
        return format(cents, "f")
    return format(value.normalize(), "f")
