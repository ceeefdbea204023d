"""Instruments: stocks and listed option contracts.

Money and strikes are :class:`~decimal.Decimal`; the pricing kernels receive floats built
from them at the last moment.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from riskdesk.domain.numbers import check_amount

__all__ = [
    "MAX_MULTIPLIER",
    "ExerciseStyle",
    "Instrument",
    "OptionContract",
    "OptionRight",
    "Settlement",
    "Stock",
    "instrument_from_dict",
]

MAX_MULTIPLIER = 2**31 - 1
"""Largest contract multiplier stored (the ``multiplier`` columns are 32-bit integers)."""


class OptionRight(enum.StrEnum):
    """Call or put, stored as ``C`` / ``P`` (seed 000 ``right``)."""

    CALL = "C"
    PUT = "P"

    @property
    def is_call(self) -> bool:
        """True for calls."""
        return self is OptionRight.CALL


class ExerciseStyle(enum.StrEnum):
    """Exercise style (seed 000 ``style``)."""

    AMERICAN = "AMERICAN"
    EUROPEAN = "EUROPEAN"
    UNKNOWN = "UNKNOWN"


class Settlement(enum.StrEnum):
    """When the final settlement value is fixed: PM (close, 16:00 New York) or AM (open)."""

    PM = "PM"
    AM = "AM"


@dataclass(frozen=True, slots=True)
class Stock:
    """A share (or ETF) position unit. ``multiplier`` is 1 share."""

    symbol: str
    multiplier: int = 1
    currency: str = "USD"

    def __post_init__(self) -> None:
        if not self.symbol or not self.symbol.strip():
            raise ValueError("Stock.symbol must be a non-empty ticker")
        if self.multiplier <= 0:
            raise ValueError(f"Stock.multiplier must be > 0, got {self.multiplier}")

    @property
    def underlying(self) -> str:
        """The symbol itself (a stock is its own underlying)."""
        return self.symbol

    @property
    def key(self) -> str:
        """Stable instrument key, e.g. ``STK:SPY``."""
        return f"STK:{self.symbol}"

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for canonical hashing and JSON storage."""
        return {
            "type": "STOCK",
            "symbol": self.symbol,
            "multiplier": self.multiplier,
            "currency": self.currency,
        }


@dataclass(frozen=True, slots=True)
class OptionContract:
    """A listed option contract.

    ``strike`` is a Decimal in the underlying's currency, ``multiplier`` is shares per contract
    (100 for US equity options).
    """

    underlying: str
    expiry: date
    strike: Decimal
    right: OptionRight
    style: ExerciseStyle = ExerciseStyle.AMERICAN
    settlement: Settlement = Settlement.PM
    multiplier: int = 100
    currency: str = "USD"

    def __post_init__(self) -> None:
        if not self.underlying or not self.underlying.strip():
            raise ValueError("OptionContract.underlying must be a non-empty ticker")
        if not isinstance(self.strike, Decimal):
            object.__setattr__(self, "strike", Decimal(str(self.strike)))
        if not self.strike.is_finite() or self.strike <= 0:
            raise ValueError(f"OptionContract.strike must be > 0, got {self.strike}")
        check_amount(self.strike, field="OptionContract.strike")
        if (
            isinstance(self.multiplier, bool)
            or not isinstance(self.multiplier, int)
            or not 0 < self.multiplier <= MAX_MULTIPLIER
        ):
            raise ValueError(
                f"OptionContract.multiplier must be a whole number in [1, {MAX_MULTIPLIER}], "
                f"got {self.multiplier!r}"
            )

    @property
    def symbol(self) -> str:
        """Alias of :attr:`underlying` so every instrument has ``symbol``-like naming."""
        return self.underlying

    @property
    def key(self) -> str:
        """Canonical contract key: ``underlying:YYYYMMDD:strike:C|P`` (seed 003 contract_key).

        A non-standard listing gets a suffix so it never collides with the standard one:
        ``:AM`` for AM settlement, ``:x<multiplier>`` for a multiplier other than 100
        (``SPX:20261218:6000:C:AM``).
        """
        strike = format(self.strike.normalize(), "f")
        key = f"{self.underlying}:{self.expiry:%Y%m%d}:{strike}:{self.right.value}"
        if self.settlement is not Settlement.PM:
            key += f":{self.settlement.value}"
        if self.multiplier != 100:
            key += f":x{self.multiplier}"
        return key

    @property
    def sort_key(self) -> tuple[str, str, str]:
        """Total order over contracts (the key, then style and currency)."""
        return (self.key, self.style.value, self.currency)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for canonical hashing and JSON storage."""
        return {
            "type": "OPTION",
            "underlying": self.underlying,
            "expiry": self.expiry.isoformat(),
            "strike": self.strike,
            "right": self.right.value,
            "style": self.style.value,
            "settlement": self.settlement.value,
            "multiplier": self.multiplier,
            "currency": self.currency,
        }


Instrument = Stock | OptionContract


def instrument_from_dict(data: dict[str, Any]) -> Instrument:
    """Inverse of ``to_dict`` for either instrument type."""
    kind = data.get("type")
    if kind == "STOCK":
        return Stock(
            symbol=data["symbol"],
            multiplier=int(data.get("multiplier", 1)),
            currency=data.get("currency", "USD"),
        )
    if kind == "OPTION":
        return OptionContract(
            underlying=data["underlying"],
            expiry=date.fromisoformat(data["expiry"]),
            strike=Decimal(str(data["strike"])),
            right=OptionRight(data["right"]),
            style=ExerciseStyle(data.get("style", "AMERICAN")),
            settlement=Settlement(data.get("settlement", "PM")),
            multiplier=int(data.get("multiplier", 100)),
            currency=data.get("currency", "USD"),
        )
    raise ValueError(f"instrument type must be STOCK or OPTION, got {kind!r}")
