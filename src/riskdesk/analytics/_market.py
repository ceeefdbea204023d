"""Market inputs of trade legs: step 1 of resolve -> inputs -> vols -> kernels -> results.

:func:`resolve_inputs` reads a trade and a snapshot once and returns, per leg, either an
exclusion (an :class:`Issue` naming the leg), a valued stock leg, or an option leg's
:class:`LegInputs` value: spot, carry, rate, expiry instant, time to expiry, quote, quote
prices and the dividends still to come. Vol sourcing (:mod:`riskdesk.analytics._vols`) works
from those values only, and never calls back here.

Discrete cash dividends of the snapshot overrides go ex at the session open of their ex-date
(:func:`riskdesk.domain.diagnostics.dividend_schedule`, the one schedule builder); each leg
carries those still to come as ``(years from the valuation time, amount)``. Stock legs carry
their underlying's schedule too: a share held across an ex-date earns the dividend (see
:func:`stock_dividend_credit`).

Snapshot-derived data (quote index, snapshot hash, fitted surfaces) is cached per snapshot
object: snapshots are frozen, so the cache only saves work.
"""

from __future__ import annotations

import functools
import math
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any, Literal, TypeAlias
from zoneinfo import ZoneInfo

import numpy as np

from riskdesk.analytics._common import FloatArray, Issue
from riskdesk.domain.configs import (
    EngineName,
    ModelConfig,
    PriceSource,
    PricingMode,
    VolSource,
)
from riskdesk.domain.diagnostics import DividendSchedule, dividend_schedule
from riskdesk.domain.instruments import OptionContract, Settlement, Stock
from riskdesk.domain.market import MarketSnapshot, OptionQuote
from riskdesk.domain.timeutil import expiry_datetime, year_fraction, year_fractions
from riskdesk.domain.trades import Leg, TradeDraft, TradeVersion

__all__ = [
    "Dividends",
    "LegInputs",
    "LegModel",
    "LegStatus",
    "MarketInputs",
    "TradeLegRef",
    "TradeLike",
    "ValuedLeg",
    "VolLabel",
    "dividend_pv",
    "exclusion",
    "expiry_instant",
    "forward_price",
    "quote_price",
    "resolve_inputs",
    "scenario_datetime",
    "snapshot_dividends",
    "snapshot_hash_cached",
    "snapshot_info",
    "stock_dividend_credit",
    "times_from",
    "trade_identity",
    "trade_leg_refs",
]

TradeLike: TypeAlias = TradeVersion | TradeDraft

Dividends: TypeAlias = DividendSchedule
"""Discrete dividends as ``((years from valuation, cash amount), ...)``, times > 0."""

LegModel: TypeAlias = Literal["stock", "bsm", "american"]
"""Pricing model of a valued leg (``stock`` legs are worth their spot)."""

LegStatus: TypeAlias = Literal["ok", "toggled_off", "excluded"]
"""What became of a leg: valued, switched off by the user, or excluded with a warning."""

VolLabel: TypeAlias = Literal[
    "MID_IV",
    "MARK_IV",
    "PROVIDER_IV",
    "FITTED_SURFACE",
    "SURFACE_RAW_FALLBACK",
    "state",
    "none",
]
"""Where a leg's vol came from (``state``: a stored market state, ``none``: a stock leg)."""

_NEW_YORK = ZoneInfo("America/New_York")


@dataclass(frozen=True, slots=True)
class TradeLegRef:
    """A leg with its reference: the draft ``leg_id`` or ``legN`` (N = index in a version)."""

    ref: str
    leg: Leg


def trade_leg_refs(trade: TradeLike) -> list[TradeLegRef]:
    """Return all legs of ``trade`` (included or not) with their references, in trade order."""
    if isinstance(trade, TradeDraft):
        return [TradeLegRef(item.leg_id, item.leg) for item in trade.legs]
    return [TradeLegRef(f"leg{i}", leg) for i, leg in enumerate(trade.legs)]


def trade_identity(trade: TradeLike) -> dict[str, Any]:
    """Identify the trade: a version's hash, or a draft's rev and content hash.

    A draft's ``content_hash`` is the hash its legs would get if committed now (None for a
    draft without legs), so results of an unchanged draft can be recognised.
    """
    if isinstance(trade, TradeVersion):
        return {"type": "VERSION", "name": trade.name, "trade_hash": trade.trade_hash}
    legs = tuple(item.leg for item in trade.legs)
    content = TradeVersion(name=trade.name, legs=legs).trade_hash if legs else None
    return {"type": "DRAFT", "name": trade.name, "rev": trade.rev, "content_hash": content}


# --------------------------------------------------------------------------------------------
# per-snapshot cache
# --------------------------------------------------------------------------------------------
@dataclass(slots=True)
class SnapshotInfo:
    """Cached quote index, hash and fitted surfaces of one snapshot object."""

    snapshot: MarketSnapshot
    quotes: dict[str, OptionQuote]
    hash: str | None = None
    surfaces: dict[tuple[Any, ...], Any] = field(default_factory=dict)


_CACHE: OrderedDict[int, SnapshotInfo] = OrderedDict()
_CACHE_SIZE = 8
_CACHE_LOCK = threading.Lock()


def snapshot_info(snapshot: MarketSnapshot) -> SnapshotInfo:
    """Cached quote index (and hash, surfaces) of a snapshot object."""
    # The cache keeps a strong reference to the snapshot, so its id cannot be reused while the
    # entry lives; the identity check makes a stale entry impossible.
    with _CACHE_LOCK:
        info = _CACHE.get(id(snapshot))
        if info is not None and info.snapshot is snapshot:
            _CACHE.move_to_end(id(snapshot))
            return info
        quotes = {quote.contract.key: quote for quote in snapshot.options}
        info = SnapshotInfo(snapshot=snapshot, quotes=quotes)
        _CACHE[id(snapshot)] = info
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
        return info


def snapshot_hash_cached(snapshot: MarketSnapshot) -> str:
    """Return ``snapshot.snapshot_hash``, computed once per snapshot object."""
    info = snapshot_info(snapshot)
    if info.hash is None:
        info.hash = snapshot.snapshot_hash
    return info.hash


@functools.lru_cache(maxsize=4096)
def expiry_instant(expiry: date, settlement: Settlement) -> datetime:
    """Return ``expiry_datetime`` of a contract, cached (ValueError for a non-session)."""
    return expiry_datetime(expiry, settlement=settlement)


def scenario_datetime(when: date) -> datetime:
    """Return the instant of a grid date: an aware datetime as is, a date at its close.

    A date that is not a session (weekend, holiday) is taken at 16:00 New York.
    """
    if isinstance(when, datetime):
        return when
    try:
        return expiry_instant(when, Settlement.PM)
    except ValueError:
        return datetime.combine(when, time(16, 0), tzinfo=_NEW_YORK)


def snapshot_dividends(
    snapshot: MarketSnapshot, symbol: str, as_of: datetime, config: ModelConfig
) -> Dividends:
    """Dividends of ``symbol`` still to go ex after ``as_of`` (ex at the session open)."""
    return dividend_schedule(snapshot.overrides, symbol, as_of=as_of, basis=config.time_basis.value)


def dividend_pv(rate: float, t: float, dividends: Dividends) -> float:
    """Present value at ``rate`` of the dividends going ex before ``t`` years."""
    return sum(a * math.exp(-rate * d) for d, a in dividends if d < t)


def forward_price(spot: float, rate: float, carry: float, t: float, dividends: Dividends) -> float:
    """Forward ``(S - PV(dividends before t)) * exp((r - q) t)`` (escrowed dividends)."""
    return (spot - dividend_pv(rate, t, dividends)) * math.exp((rate - carry) * t)


def stock_dividend_credit(dividends: Dividends, elapsed: FloatArray) -> FloatArray:
    """Cash a share earns from the dividends going ex within each ``elapsed`` years.

    A dividend whose ex time ``t`` (years from the valuation time) satisfies
    ``0 < t <= elapsed`` is paid to the holder of a long share (a short share owes it); the
    cash is not compounded. ``elapsed`` is any shape; the result has the same shape.
    """
    years = np.asarray(elapsed, dtype=np.float64)
    credit = np.zeros(years.shape, dtype=np.float64)
    for t, amount in dividends:
        credit = credit + np.where(years >= t, amount, 0.0)
    return credit


def times_from(start: datetime, ends: Sequence[datetime], config: ModelConfig) -> FloatArray:
    """Year fractions from ``start`` to each of ``ends`` in the configured time basis."""
    if not ends:
        return np.zeros(0, dtype=np.float64)
    return year_fractions(start, list(ends), basis=config.time_basis.value)


def _float(value: Decimal | float | None) -> float | None:
    if value is None:
        return None
    result = float(value)
    return result if math.isfinite(result) else None


def quote_price(quote: OptionQuote | None, source: PriceSource | PricingMode) -> float | None:
    """The quote's mark (``source`` mark) or mid (mid, falling back to the mark if crossed)."""
    if quote is None:
        return None
    if source.value == "mark":
        return _float(quote.mark)
    return _float(quote.mid)


def exclusion(item: TradeLegRef, code: str, reason: str) -> Issue:
    """The warning that excludes leg ``item`` from value, Greeks and scenarios."""
    return Issue(
        code,
        f"leg {item.ref} ({item.leg.label}) excluded from value, Greeks and scenarios: {reason}",
        item.ref,
    )


# --------------------------------------------------------------------------------------------
# leg values
# --------------------------------------------------------------------------------------------
@dataclass(slots=True)
class ValuedLeg:
    """A leg that can be valued, with every kernel input as a float.

    ``position`` is the signed number of underlying units per unit of price
    (``quantity * multiplier``); ``entry_cost`` and ``fees`` are in currency.
    For stock legs the option fields are placeholders (``model == "stock"``); ``dividends``
    is the underlying's schedule for option and stock legs alike. ``iv_quote_price`` is the
    quote price the vol was solved from (None when the vol did not come from a price).
    """

    ref: str
    leg: Leg
    underlying: str
    spot: float
    position: float
    entry_cost: float
    fees: float
    model: LegModel
    engine: EngineName | None
    strike: float
    is_call: bool
    expiry: datetime | None
    time_to_expiry: float
    vol: float
    vol_source: VolLabel
    rate: float
    carry: float
    quote_price: float | None
    dividends: Dividends = ()
    iv_quote_price: float | None = None

    @property
    def is_option(self) -> bool:
        """True for option legs."""
        return self.model != "stock"


@dataclass(frozen=True, slots=True)
class LegInputs:
    """Market inputs of one option leg, resolved once; vols are sourced from this value.

    ``iv_price`` is the quote price of ``iv_price_source`` (the price a vol is solved from),
    ``mark_price`` the price of ``pricing_mode`` (None in model mode); both None without a
    quote. ``dividends`` are the underlying's, in years from the valuation time.
    """

    item: TradeLegRef
    contract: OptionContract
    spot: float
    rate: float
    carry: float
    expiry: datetime
    time_to_expiry: float
    quote: OptionQuote | None
    dividends: Dividends
    iv_price: float | None
    mark_price: float | None


@dataclass(slots=True)
class MarketInputs:
    """Outcome of :func:`resolve_inputs`: every leg's status and resolved inputs.

    ``stocks`` holds the valued stock legs by reference, ``options`` the option legs waiting
    for a vol (in trade order); ``status`` is final for every leg not in ``options``.
    ``warnings`` are in the order they arose.
    """

    refs: list[TradeLegRef]
    stocks: dict[str, ValuedLeg]
    options: list[LegInputs]
    status: dict[str, LegStatus]
    warnings: list[Issue]


def resolve_inputs(
    trade: TradeLike,
    snapshot: MarketSnapshot,
    config: ModelConfig,
    *,
    valuation_time: datetime | None = None,
) -> MarketInputs:
    """Decide which legs can be valued and resolve their market inputs (no vols yet).

    ``valuation_time`` (default ``snapshot.as_of``) is the instant times to expiry and
    dividend times are measured from; quotes always come from the snapshot.
    """
    as_of = snapshot.as_of if valuation_time is None else valuation_time
    quotes = snapshot_info(snapshot).quotes
    refs = trade_leg_refs(trade)
    out = MarketInputs(refs=refs, stocks={}, options=[], status={}, warnings=[])
    rate = float(snapshot.overrides.rate)
    spots: dict[str, float | None] = {}
    dividends: dict[str, Dividends] = {}

    def exclude(item: TradeLegRef, code: str, reason: str) -> None:
        out.status[item.ref] = "excluded"
        out.warnings.append(exclusion(item, code, reason))

    for item in refs:
        leg = item.leg
        if not leg.include:
            out.status[item.ref] = "toggled_off"
            continue
        symbol = leg.underlying
        if symbol not in spots:
            try:
                spots[symbol] = float(snapshot.underlying(symbol).spot)
            except KeyError:
                spots[symbol] = None
            dividends[symbol] = snapshot_dividends(snapshot, symbol, as_of, config)
        spot = spots[symbol]
        if spot is None:
            exclude(item, "no_underlying_quote", f"the snapshot has no quote for {symbol}")
            continue
        carry = snapshot.overrides.carry_yield(symbol)
        instrument = leg.instrument
        if isinstance(instrument, Stock):
            out.stocks[item.ref] = ValuedLeg(
                ref=item.ref,
                leg=leg,
                underlying=symbol,
                spot=spot,
                position=float(leg.quantity * leg.multiplier),
                entry_cost=float(leg.entry_cost),
                fees=float(leg.fees),
                model="stock",
                engine=None,
                strike=0.0,
                is_call=True,
                expiry=None,
                time_to_expiry=0.0,
                vol=0.0,
                vol_source="none",
                rate=rate,
                carry=carry,
                quote_price=spot,
                dividends=dividends[symbol],
            )
            out.status[item.ref] = "ok"
            continue
        try:
            expiry = expiry_instant(instrument.expiry, instrument.settlement)
        except ValueError as exc:
            exclude(item, "invalid_expiry", str(exc))
            continue
        t = year_fraction(as_of, expiry, basis=config.time_basis.value)
        if not t > 0.0:
            exclude(
                item,
                "expired",
                f"expired at {expiry.isoformat()} (valuation time {as_of.isoformat()}); "
                "remove the leg or use a snapshot before its expiry",
            )
            continue
        quote = quotes.get(instrument.key)
        if quote is None and config.vol_source is not VolSource.FITTED_SURFACE:
            exclude(item, "no_quote", f"the snapshot has no quote for {instrument.key}")
            continue
        if (
            quote is not None
            and quote.bid is not None
            and quote.ask is not None
            and quote.bid > quote.ask
        ):
            out.warnings.append(
                Issue(
                    "crossed_quote",
                    f"leg {item.ref} ({leg.label}): quote is crossed (bid {quote.bid} > ask "
                    f"{quote.ask}); its mid falls back to the mark",
                    item.ref,
                )
            )
        pv = dividend_pv(rate, t, dividends[symbol])
        if pv >= spot:
            exclude(
                item,
                "dividends_exceed_spot",
                f"the dividends before expiry are worth {pv:.6g} >= spot {spot:.6g}; check the "
                f"dividend overrides of {symbol}",
            )
            continue
        out.options.append(
            LegInputs(
                item=item,
                contract=instrument,
                spot=spot,
                rate=rate,
                carry=carry,
                expiry=expiry,
                time_to_expiry=t,
                quote=quote,
                dividends=dividends[symbol],
                iv_price=quote_price(quote, config.iv_price_source),
                mark_price=(
                    None
                    if config.pricing_mode is PricingMode.MODEL
                    else quote_price(quote, config.pricing_mode)
                ),
            )
        )
    return out
