"""Market snapshots: underlying and option quotes frozen at a point in time.

A snapshot is LIVE (refreshable: a refresh produces a new snapshot) or PINNED (frozen for
reproducible analysis). Its :attr:`MarketSnapshot.snapshot_hash` covers every quote, the
overrides, the mode and the as-of time, so the same market always hashes alike.

Every object here refuses, with a :class:`ValueError` naming the field, a value the store
would refuse or change: prices, strikes and dividends must fit ``NUMERIC(20, 8)`` exactly
(:func:`riskdesk.domain.numbers.check_amount`), multipliers a 32-bit integer column
(:data:`MAX_MULTIPLIER`), volumes and open interest a 64-bit one (:data:`MAX_COUNT`), vols
and rates must be finite and rates, yields and borrow rates within :data:`MAX_RATE`. A
snapshot holds at most one quote per contract (:func:`contract_identity`) and per underlying.
"""

from __future__ import annotations

import enum
import math
import operator
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from riskdesk.domain.hashing import content_hash
from riskdesk.domain.instruments import MAX_MULTIPLIER, OptionContract
from riskdesk.domain.numbers import AMOUNT_SCALE, check_amount
from riskdesk.domain.option_table import OptionTable

__all__ = [
    "MAX_COUNT",
    "MAX_MULTIPLIER",
    "MAX_RATE",
    "ContractIdentity",
    "DiscreteDividend",
    "MarketOverrides",
    "MarketSnapshot",
    "OptionQuote",
    "SnapshotMode",
    "UnderlyingQuote",
    "contract_identity",
    "describe_contract",
    "match_quote",
]


MONEY_PLACES = AMOUNT_SCALE
"""Decimal places a price may carry (the store keeps NUMERIC(20, 8) exactly)."""

MAX_COUNT = 2**63 - 1
"""Largest volume / open interest: the quote columns are 64-bit BIGINT."""

MAX_RATE = 1.0
"""Largest absolute rate, dividend yield or borrow rate (1.0 = 100% a year, continuous)."""

_MAX_EXPONENT = 300
"""Decimals whose exponent is beyond +/- this are refused before any context arithmetic."""

ContractIdentity = tuple[str, date, Decimal, str, str, int, str, str]
"""Everything that tells two listed contracts apart, in the store's unique-key order."""


def contract_identity(contract: OptionContract) -> ContractIdentity:
    """The full identity of ``contract``: two quotes of one snapshot must never share it.

    ``(underlying, expiry, strike, right, settlement, multiplier, style, currency)`` with the
    strike normalized (``530.0`` and ``530`` are one contract), the same tuple as the store's
    ``uq_option_contracts_identity`` key.
    """
    return (
        contract.underlying,
        contract.expiry,
        contract.strike.normalize(),
        contract.right.value,
        contract.settlement.value,
        contract.multiplier,
        contract.style.value,
        contract.currency,
    )


def match_quote(quotes: Iterable[OptionQuote], contract: OptionContract) -> OptionQuote | None:
    """The quote among ``quotes`` of exactly ``contract``, else the first of the same key.

    The rule of :meth:`MarketSnapshot.option_quote`: a contract identical by
    :func:`contract_identity` wins; a leg built from an OCC symbol does not know the listing's
    exercise style, so a quote with the same ``key`` stands in for it.
    """
    key = contract.key
    identity = contract_identity(contract)
    fallback: OptionQuote | None = None
    for quote in quotes:
        if quote.contract.key != key:
            continue
        if contract_identity(quote.contract) == identity:
            return quote
        if fallback is None:
            fallback = quote
    return fallback


def describe_contract(contract: OptionContract) -> str:
    """Readable full identity, e.g. ``SPY:20240621:530:C (AMERICAN, USD)``."""
    return f"{contract.key} ({contract.style.value}, {contract.currency})"


def _money(name: str, value: Decimal | None) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, Decimal):
        raise ValueError(f"{name} must be a Decimal, got {type(value).__name__} {value!r}")
    if value.is_finite() and value and abs(value.adjusted()) > _MAX_EXPONENT:
        # refused before check_amount, with the quote-field wording the import reports use
        raise ValueError(f"{name} {value} is out of range: it must be below 1e12 with 8 decimals")
    check_amount(value, field=name)


def _rate(name: str, value: float, *, limit: float | None = None) -> float:
    if isinstance(value, bool | str | bytes):
        raise ValueError(f"{name} must be a number, got {type(value).__name__} {value!r}")
    try:
        result = float(value)
    except OverflowError as exc:  # an int or Decimal beyond the float range
        raise ValueError(f"{name} must be finite, got {value}") from exc
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a number, got {type(value).__name__} {value!r}") from exc
    if not math.isfinite(result):
        raise ValueError(f"{name} must be finite, got {value!r}")
    if limit is not None and abs(result) > limit:
        raise ValueError(
            f"{name} = {result:g} is out of range: it must be within [-{limit:g}, {limit:g}] "
            f"(a decimal fraction: 0.05 means 5%)"
        )
    return result


def _count(name: str, value: int | None, *, low: int, high: int) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(f"{name} must be a whole number, got {value!r}")
    try:
        result = operator.index(value)  # int and numpy integers, never floats
    except TypeError as exc:
        raise ValueError(
            f"{name} must be a whole number, got {type(value).__name__} {value!r}"
        ) from exc
    if not low <= result <= high:
        raise ValueError(f"{name} = {result} is out of range: it must be in [{low}, {high}]")
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
        key = self.contract.key
        # OptionContract checks strike > 0 and multiplier > 0; the store also needs them to fit
        _money(f"{key}.strike", self.contract.strike)
        _count(f"{key}.multiplier", self.contract.multiplier, low=1, high=MAX_MULTIPLIER)
        for name in ("bid", "ask", "mark"):
            _money(f"{key}.{name}", getattr(self, name))
        if self.iv is not None:
            object.__setattr__(self, "iv", _rate(f"{key}.iv", self.iv))
        for name in ("volume", "open_interest"):
            count = _count(f"{key}.{name}", getattr(self, name), low=0, high=MAX_COUNT)
            object.__setattr__(self, name, count)
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

    def __post_init__(self) -> None:
        _money(f"dividend {self.ex_date}.amount", self.amount)
        if self.amount < 0:
            raise ValueError(f"dividend {self.ex_date}.amount must be >= 0, got {self.amount}")

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for hashing and storage."""
        return {"ex_date": self.ex_date, "amount": self.amount}


@dataclass(frozen=True, slots=True)
class MarketOverrides:
    """Rate, dividend and borrow inputs (continuously compounded decimals, ACT/365F).

    ``rate`` is the risk-free rate; ``dividend_yield`` and ``borrow_rate`` are per underlying and
    add up to the carry yield q; ``dividends`` are discrete cash dividends per underlying.
    Each rate must be finite and within ``[-MAX_RATE, MAX_RATE]`` (100% a year); anything
    else is a ValueError naming the field (``rate``, ``borrow_rate[SPY]``).
    """

    rate: float = 0.0
    dividend_yield: Mapping[str, float] = field(default_factory=dict)
    borrow_rate: Mapping[str, float] = field(default_factory=dict)
    dividends: Mapping[str, tuple[DiscreteDividend, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # ints and floats hash differently (0 vs 0.0): store every rate as a float
        object.__setattr__(self, "rate", _rate("rate", self.rate, limit=MAX_RATE))
        for name in ("dividend_yield", "borrow_rate"):
            values = getattr(self, name)
            checked = {k: _rate(f"{name}[{k}]", v, limit=MAX_RATE) for k, v in values.items()}
            object.__setattr__(self, name, checked)
        for symbol, items in self.dividends.items():
            for item in items:
                if not isinstance(item, DiscreteDividend):
                    raise ValueError(
                        f"dividends[{symbol}] must hold DiscreteDividend items, got {item!r}"
                    )

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

    ``options`` is a tuple of quotes or, for chains of market size, an
    :class:`~riskdesk.domain.option_table.OptionTable` (the same quotes held column-wise,
    checked and de-duplicated column by column; iterating it builds the quote objects).
    """

    as_of: datetime
    mode: SnapshotMode
    source: str
    underlyings: tuple[UnderlyingQuote, ...]
    options: tuple[OptionQuote, ...] | OptionTable
    overrides: MarketOverrides = field(default_factory=MarketOverrides)
    diagnostics: Mapping[str, Any] = field(default_factory=dict)
    _hash: str | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        _require_utc("as_of", self.as_of)
        symbols: set[str] = set()
        for quote in self.underlyings:
            if quote.symbol in symbols:
                raise ValueError(
                    f"duplicate underlying quote in snapshot for {quote.symbol!r}: a snapshot "
                    "holds one quote per underlying"
                )
            symbols.add(quote.symbol)
        if isinstance(self.options, OptionTable):
            return  # checked column-wise, one quote per contract included
        contracts: set[ContractIdentity] = set()
        for option in self.options:
            identity = contract_identity(option.contract)
            if identity in contracts:
                raise ValueError(
                    f"duplicate option quote in snapshot for contract "
                    f"{describe_contract(option.contract)}: a snapshot holds one quote per "
                    "contract"
                )
            contracts.add(identity)

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
        """The quote of ``contract`` or None.

        The quote of exactly this contract (:func:`contract_identity`) wins; otherwise the first
        quote with the same :attr:`~riskdesk.domain.instruments.OptionContract.key` (a leg built
        from an OCC symbol does not know the listing's exercise style).
        """
        if isinstance(self.options, OptionTable):
            return self.options.find(contract)
        return match_quote(self.options, contract)

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
