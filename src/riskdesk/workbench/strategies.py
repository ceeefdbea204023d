"""Build common option strategies from a snapshot's chain (the chain as a trade builder).

Strikes are chosen by moneyness from the listed strikes, the expiry by calendar days to
expiry; buying pays the ask and selling receives the bid, as clicking a chain's ask or bid
would. Nothing here prices anything: the quotes are taken as they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from riskdesk.domain.instruments import OptionContract, OptionRight, Stock
from riskdesk.domain.market import MarketSnapshot, OptionQuote
from riskdesk.domain.trades import TradeDraft

__all__ = [
    "ChainPicker",
    "StrategyError",
    "covered_call",
    "iron_condor",
    "straddle",
    "vertical_spread",
]


class StrategyError(ValueError):
    """The chain cannot supply the contracts a strategy needs."""


@dataclass(frozen=True, slots=True)
class ChainPicker:
    """Looks up expiries and strikes of one underlying in a snapshot."""

    snapshot: MarketSnapshot
    symbol: str

    @property
    def spot(self) -> Decimal:
        """The underlying's spot in the snapshot."""
        return self.snapshot.underlying(self.symbol).spot

    def _quotes(self) -> list[OptionQuote]:
        quotes = [q for q in self.snapshot.options if q.contract.underlying == self.symbol]
        if not quotes:
            raise StrategyError(f"snapshot has no options on {self.symbol}")
        return quotes

    def expiry(self, days: int) -> date:
        """The listed expiry closest to ``days`` calendar days after the snapshot date."""
        today = self.snapshot.as_of.date()
        expiries = sorted({q.contract.expiry for q in self._quotes() if q.contract.expiry >= today})
        if not expiries:
            raise StrategyError(f"{self.symbol}: no unexpired options in the snapshot")
        return min(expiries, key=lambda e: (abs((e - today).days - days), e))

    def contract(self, expiry: date, right: OptionRight, moneyness: float) -> OptionQuote:
        """The quote whose strike is closest to ``spot * moneyness`` (with a two-sided market)."""
        target = float(self.spot) * moneyness
        candidates = [
            q
            for q in self._quotes()
            if q.contract.expiry == expiry
            and q.contract.right is right
            and q.bid is not None
            and q.ask is not None
            and q.ask >= q.bid
            and q.ask > 0
        ]
        if not candidates:
            raise StrategyError(f"{self.symbol} {expiry}: no two-sided {right.name.lower()} quotes")
        return min(
            candidates, key=lambda q: (abs(float(q.contract.strike) - target), q.contract.strike)
        )


def _add(draft: TradeDraft, quote: OptionQuote, quantity: int) -> None:
    side = quote.ask if quantity > 0 else quote.bid
    if side is None:  # pragma: no cover - ChainPicker only returns two-sided quotes
        raise StrategyError(f"{quote.contract.key} has no {'ask' if quantity > 0 else 'bid'}")
    draft.add_leg(quote.contract, quantity=Decimal(quantity), entry_price=side)


def iron_condor(
    picker: ChainPicker,
    *,
    days: int = 35,
    short_put: float = 0.95,
    long_put: float = 0.92,
    short_call: float = 1.04,
    long_call: float = 1.07,
    quantity: int = 1,
    name: str | None = None,
) -> TradeDraft:
    """Short put spread plus short call spread on one expiry."""
    expiry = picker.expiry(days)
    draft = TradeDraft(name or f"{picker.symbol} iron condor {expiry:%Y-%m-%d}")
    _add(draft, picker.contract(expiry, OptionRight.PUT, long_put), quantity)
    _add(draft, picker.contract(expiry, OptionRight.PUT, short_put), -quantity)
    _add(draft, picker.contract(expiry, OptionRight.CALL, short_call), -quantity)
    _add(draft, picker.contract(expiry, OptionRight.CALL, long_call), quantity)
    _check_distinct(draft)
    return draft


def covered_call(
    picker: ChainPicker,
    *,
    days: int = 30,
    call: float = 1.05,
    lots: int = 1,
    name: str | None = None,
) -> TradeDraft:
    """Long 100 shares per lot and one short call per lot."""
    expiry = picker.expiry(days)
    draft = TradeDraft(name or f"{picker.symbol} covered call {expiry:%Y-%m-%d}")
    und = picker.snapshot.underlying(picker.symbol)
    draft.add_leg(
        Stock(picker.symbol),
        quantity=Decimal(100 * lots),
        entry_price=und.ask if und.ask is not None else und.spot,
    )
    _add(draft, picker.contract(expiry, OptionRight.CALL, call), -lots)
    return draft


def vertical_spread(
    picker: ChainPicker,
    *,
    right: OptionRight,
    days: int = 30,
    long_moneyness: float = 1.0,
    short_moneyness: float = 0.95,
    quantity: int = 1,
    name: str | None = None,
) -> TradeDraft:
    """Buy one strike, sell another of the same right and expiry (e.g. a bear put spread)."""
    expiry = picker.expiry(days)
    kind = "put" if right is OptionRight.PUT else "call"
    draft = TradeDraft(name or f"{picker.symbol} {kind} spread {expiry:%Y-%m-%d}")
    _add(draft, picker.contract(expiry, right, long_moneyness), quantity)
    _add(draft, picker.contract(expiry, right, short_moneyness), -quantity)
    _check_distinct(draft)
    return draft


def straddle(
    picker: ChainPicker, *, days: int = 0, quantity: int = 1, name: str | None = None
) -> TradeDraft:
    """Long the at-the-money call and put of one expiry (``days=0``: the 0DTE expiry)."""
    expiry = picker.expiry(days)
    draft = TradeDraft(name or f"{picker.symbol} straddle {expiry:%Y-%m-%d}")
    call = picker.contract(expiry, OptionRight.CALL, 1.0)
    _add(draft, call, quantity)
    put = picker.contract(expiry, OptionRight.PUT, float(call.contract.strike / picker.spot))
    _add(draft, put, quantity)
    return draft


def _check_distinct(draft: TradeDraft) -> None:
    keys = [
        d.leg.instrument.key for d in draft.legs if isinstance(d.leg.instrument, OptionContract)
    ]
    if len(set(keys)) != len(keys):
        raise StrategyError(
            f"{draft.name}: the chain's strikes are too sparse for distinct legs ({keys})"
        )
