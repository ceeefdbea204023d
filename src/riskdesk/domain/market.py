"""Market snapshots: underlying and option quotes frozen at a point in time.

A snapshot is LIVE (refreshable: a refresh produces a new snapshot) or PINNED (frozen for
reproducible analysis). Its :attr:`MarketSnapshot.snapshot_hash` covers every quote, the
overrides, the mode and the as-of time, so the same market always hashes alike.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from riskdesk.domain.hashing import content_hash
from riskdesk.domain.instruments import OptionContract

__all__ = [
    "DiscreteDividend",
    "MarketOverrides",
    "MarketSnapshot",
    "OptionQuote",
    "SnapshotMode",
    "UnderlyingQuote",
]


MONEY_PLACES = 8
"""Decimal places a price may carry (the store keeps NUMERIC(20, 8) exactly)."""


def _money(name: str, value: Decimal | None) -> None:
    if value is None:
        return
    if not isinstance(value, Decimal) or not value.is_finite():
        raise ValueError(f"{name} must be a finite Decimal, got {value!r}")
    exponent = value.normalize().as_tuple().exponent
    if isinstance(exponent, int) and exponent < -MONEY_PLACES:
        raise ValueError(
            f"{name} = {value} has more than {MONEY_PLACES} decimal places; round it first"
        )


def _rate(name: str, value: float) -> float:
    result = float(value)
    if result != result or result in (float("inf"), float("-inf")):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return result


def _require_utc(name: str, value: datetime) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware (UTC), got naive {value!r}")


class SnapshotMode(enum.StrEnum):
    """LIVE snapshots can be refreshed; PINNED ones never change."""

    LIVE = "LIVE"
    PINNED = "PINNED"


@dataclass(frozen=True, slots=True)
class UnderlyingQuote:
    """Quote of an underlying. ``spot`` is the price used for valuation (mid or last)."""

    symbol: str
    spot: Decimal
    bid: Decimal | None
    ask: Decimal | None
    last: Decimal | None
    provider_timestamp: datetime
    receive_timestamp: datetime

    def __post_init__(self) -> None:
        for name in ("spot", "bid", "ask", "last"):
            _money(f"{self.symbol}.{name}", getattr(self, name))
        if self.spot <= 0:
            raise ValueError(f"{self.symbol}: spot must be > 0, got {self.spot}")
        _require_utc("provider_timestamp", self.provider_timestamp)
        _require_utc("receive_timestamp", self.receive_timestamp)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for hashing and storage."""
        return {
            "symbol": self.symbol,
            "spot": self.spot,
            "bid": self.bid,
            "ask": self.ask,
            "last": self.last,
            "provider_timestamp": self.provider_timestamp,
            "receive_timestamp": self.receive_timestamp,
        }


@dataclass(frozen=True, slots=True)
class OptionQuote:
    """Quote of one option contract. ``iv`` is the provider's implied vol if it sent one."""

    contract: OptionContract
    bid: Decimal | None
    ask: Decimal | None
    mark: Decimal | None
    iv: float | None
    provider_timestamp: datetime
    receive_timestamp: datetime
    volume: int | None = None
    open_interest: int | None = None

    def __post_init__(self) -> None:
        for name in ("bid", "ask", "mark"):
            _money(f"{self.contract.key}.{name}", getattr(self, name))
        if self.iv is not None:
            object.__setattr__(self, "iv", _rate(f"{self.contract.key}.iv", self.iv))
        _require_utc("provider_timestamp", self.provider_timestamp)
        _require_utc("receive_timestamp", self.receive_timestamp)

    @property
    def mid(self) -> Decimal | None:
        """(bid + ask) / 2 when both sides exist and are not crossed, else the mark."""
        if self.bid is not None and self.ask is not None and self.ask >= self.bid:
            return (self.bid + self.ask) / 2
        return self.mark

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for hashing and storage."""
        return {
            "contract": self.contract.to_dict(),
            "bid": self.bid,
            "ask": self.ask,
            "mark": self.mark,
            "iv": self.iv,
            "volume": self.volume,
            "open_interest": self.open_interest,
            "provider_timestamp": self.provider_timestamp,
            "receive_timestamp": self.receive_timestamp,
        }


@dataclass(frozen=True, slots=True)
class DiscreteDividend:
    """A cash dividend of ``amount`` per share going ex on ``ex_date``."""

    ex_date: date
    amount: Decimal

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for hashing and storage."""
        return {"ex_date": self.ex_date, "amount": self.amount}


@dataclass(frozen=True, slots=True)
class MarketOverrides:
    """Rate, dividend and borrow inputs (continuously compounded decimals, ACT/365F).

    ``rate`` is the risk-free rate; ``dividend_yield`` and ``borrow_rate`` are per underlying and
    add up to the carry yield q; ``dividends`` are discrete cash dividends per underlying.
    """

    rate: float = 0.0
    dividend_yield: Mapping[str, float] = field(default_factory=dict)
    borrow_rate: Mapping[str, float] = field(default_factory=dict)
    dividends: Mapping[str, tuple[DiscreteDividend, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # ints and floats hash differently (0 vs 0.0): store every rate as a float
        object.__setattr__(self, "rate", _rate("rate", self.rate))
        for name in ("dividend_yield", "borrow_rate"):
            values = getattr(self, name)
            object.__setattr__(self, name, {k: _rate(f"{name}[{k}]", v) for k, v in values.items()})
        for symbol, items in self.dividends.items():
            for item in items:
                _money(f"dividends[{symbol}].amount", item.amount)

    def carry_yield(self, symbol: str) -> float:
        """Q = dividend yield + borrow rate for ``symbol``."""
        return float(self.dividend_yield.get(symbol, 0.0)) + float(
            self.borrow_rate.get(symbol, 0.0)
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for hashing and storage."""
        return {
            "rate": self.rate,
            "dividend_yield": dict(self.dividend_yield),
            "borrow_rate": dict(self.borrow_rate),
            "dividends": {k: [d.to_dict() for d in v] for k, v in self.dividends.items()},
        }


@dataclass(frozen=True, slots=True)
class MarketSnapshot:
    """Underlyings and option quotes as of ``as_of`` (UTC), with overrides and diagnostics.

    ``diagnostics`` are derived counts (crossed, zero-bid, stale, IV failures by status); they
    are stored with the snapshot but do not enter its hash.
    """

    as_of: datetime
    mode: SnapshotMode
    source: str
    underlyings: tuple[UnderlyingQuote, ...]
    options: tuple[OptionQuote, ...]
    overrides: MarketOverrides = field(default_factory=MarketOverrides)
    diagnostics: Mapping[str, Any] = field(default_factory=dict)
    _hash: str | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        _require_utc("as_of", self.as_of)
        symbols = [u.symbol for u in self.underlyings]
        if len(set(symbols)) != len(symbols):
            raise ValueError(f"duplicate underlying quotes in snapshot: {sorted(symbols)}")

    @property
    def symbol(self) -> str:
        """The underlying symbol, or a comma-joined list for multi-underlying snapshots."""
        return ",".join(sorted(u.symbol for u in self.underlyings))

    def underlying(self, symbol: str) -> UnderlyingQuote:
        """The quote of ``symbol``; KeyError naming the symbol if absent."""
        for quote in self.underlyings:
            if quote.symbol == symbol:
                return quote
        raise KeyError(f"snapshot has no quote for underlying {symbol!r}")

    def option_quote(self, contract: OptionContract) -> OptionQuote | None:
        """The quote of ``contract`` or None."""
        key = contract.key
        for quote in self.options:
            if quote.contract.key == key:
                return quote
        return None

    def hash_payload(self) -> dict[str, Any]:
        """What the hash covers: everything except diagnostics, quotes sorted by key."""
        return {
            "as_of": self.as_of,
            "mode": self.mode.value,
            "source": self.source,
            "underlyings": sorted(
                (u.to_dict() for u in self.underlyings), key=lambda d: d["symbol"]
            ),
            "options": [
                o.to_dict() for o in sorted(self.options, key=lambda o: o.contract.sort_key)
            ],
            "overrides": self.overrides.to_dict(),
        }

    @property
    def snapshot_hash(self) -> str:
        """SHA-256 of the canonical JSON of :meth:`hash_payload` (computed once per object)."""
        if self._hash is None:
            object.__setattr__(self, "_hash", content_hash(self.hash_payload()))
        assert self._hash is not None
        return self._hash
