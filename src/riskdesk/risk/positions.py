"""A book's positions as domain values: what was bought or sold, typed like seed 002.

A position holds an instrument (a :class:`~riskdesk.domain.instruments.Stock` or an
:class:`~riskdesk.domain.instruments.OptionContract`), a signed quantity (positive long,
negative short; never zero), the entry price per unit (> 0) and date, and its tags. Its seed
002 type follows from the sign and the instrument: LONG / SHORT for shares and ETFs, LC / LP /
SC / SP for long or short calls and puts.

An option whose expiry has passed is *expired*: it is never priced as live. It settles at
intrinsic value from the underlying's close on the expiry date (:func:`settlement_value`).
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from riskdesk.domain.instruments import Instrument, OptionContract, OptionRight, Stock

__all__ = [
    "BookPosition",
    "PositionType",
    "position_type",
    "settlement_value",
]


class PositionType(enum.StrEnum):
    """Seed 002's position types."""

    LONG = "LONG"
    SHORT = "SHORT"
    LC = "LC"
    LP = "LP"
    SC = "SC"
    SP = "SP"


def position_type(instrument: Instrument, quantity: Decimal) -> PositionType:
    """The type of ``quantity`` of ``instrument`` (zero has no type: it is refused)."""
    if quantity == 0:
        raise ValueError("a position's quantity must not be 0")
    long = quantity > 0
    if isinstance(instrument, OptionContract):
        if instrument.right is OptionRight.CALL:
            return PositionType.LC if long else PositionType.SC
        return PositionType.LP if long else PositionType.SP
    return PositionType.LONG if long else PositionType.SHORT


def settlement_value(contract: OptionContract, underlying_close: Decimal) -> Decimal:
    """Intrinsic value per unit of ``contract`` at an underlying close (never negative)."""
    if contract.right is OptionRight.CALL:
        value = underlying_close - contract.strike
    else:
        value = contract.strike - underlying_close
    return max(value, Decimal(0))


@dataclass(frozen=True, slots=True)
class BookPosition:
    """One position of a portfolio.

    ``symbol`` is the ticker as the book names it (an OCC symbol for an option);
    ``position_id`` is set once stored; ``strategy`` names the strategy group it belongs to.
    """

    symbol: str
    instrument: Instrument
    quantity: Decimal
    entry_price: Decimal
    entry_date: date
    tags: tuple[str, ...] = field(default=())
    position_id: uuid.UUID | None = None
    strategy: str | None = None

    def __post_init__(self) -> None:
        if not self.symbol:
            raise ValueError("a position needs a symbol")
        if not isinstance(self.quantity, Decimal) or not self.quantity.is_finite():
            raise ValueError(f"position {self.symbol}: quantity must be a finite Decimal")
        if self.quantity == 0:
            raise ValueError(f"position {self.symbol}: quantity must not be 0")
        if not isinstance(self.entry_price, Decimal) or not self.entry_price.is_finite():
            raise ValueError(f"position {self.symbol}: entry price must be a finite Decimal")
        if self.entry_price <= 0:
            raise ValueError(
                f"position {self.symbol}: entry price must be greater than 0, got "
                f"{self.entry_price}"
            )

    @property
    def position_type(self) -> PositionType:
        """LONG / SHORT / LC / LP / SC / SP."""
        return position_type(self.instrument, self.quantity)

    @property
    def is_option(self) -> bool:
        """True for an option position."""
        return isinstance(self.instrument, OptionContract)

    @property
    def underlying(self) -> str:
        """The underlying symbol (the stock's own symbol for shares)."""
        if isinstance(self.instrument, OptionContract):
            return self.instrument.underlying
        assert isinstance(self.instrument, Stock)
        return self.instrument.symbol

    @property
    def multiplier(self) -> int:
        """Units per contract (100 for US equity options; 1 for shares)."""
        return self.instrument.multiplier

    def expired(self, on: date) -> bool:
        """True for an option whose expiry date is before ``on``."""
        return isinstance(self.instrument, OptionContract) and self.instrument.expiry < on
