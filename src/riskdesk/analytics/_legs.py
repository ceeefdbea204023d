"""Leg resolution: from a trade and a snapshot to arrays the pricing kernels accept.

For every leg this module decides whether it can be valued and, if so, gathers its spot,
strike, time to expiry, vol, rate, carry and discrete dividends; problems become
:class:`Issue` warnings naming the leg, and the leg is left out of value, Greeks and
scenarios (no NaN ever reaches a result).

Vol per option leg (``ModelConfig.vol_source``); the leg's ``vol_source`` label says where its
vol came from:

* ``MID_IV``: implied vol of the leg's quote price (``iv_price_source``: mid, label ``MID_IV``,
  or mark, label ``MARK_IV``) solved with the leg's own model and engine; if the solver's
  status is not ``ok``, the provider's IV of the quote (label ``PROVIDER_IV``, warning
  ``iv_provider_fallback``); if there is none, the leg is excluded (``iv_failed``).
* ``PROVIDER_IV``: the provider's IV of the leg's quote (``OptionQuote.iv``) as imported,
  label ``PROVIDER_IV``; a quote without a usable IV excludes the leg (``no_provider_iv``).
* ``FITTED_SURFACE``: the SVI surface of the leg's underlying built from the snapshot chain
  (see :mod:`riskdesk.analytics._surface`); a leg needs no quote of its own.

Stock legs carry their underlying's dividend schedule too: a share held across an ex-date
earns the dividend (see ``stock_dividend_credit``).

Discrete cash dividends of the snapshot overrides go ex at the session open of their ex-date;
each leg carries those still to come as ``(years from the valuation time, amount)`` and the
kernels escrow them (``dividends=`` of :mod:`riskdesk.pricing`). When a scenario moves time
forward by ``tau`` years, the dividend times move with it and dividends already paid drop out.

Snapshot-derived data (quote index, snapshot hash, fitted surfaces) is cached per snapshot
object: snapshots are frozen, so the cache only saves work.
"""

from __future__ import annotations

import functools
import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any, Literal
from zoneinfo import ZoneInfo

import numpy as np

from riskdesk.analytics._common import FloatArray, Issue
from riskdesk.domain.configs import ModelConfig, PriceSource, PricingMode, VolSource
from riskdesk.domain.instruments import OptionContract, Settlement, Stock
from riskdesk.domain.market import MarketSnapshot, OptionQuote
from riskdesk.domain.timeutil import expiry_datetime, year_fraction, year_fractions
from riskdesk.domain.trades import Leg, TradeDraft, TradeVersion
from riskdesk.pricing import greeks as _greeks
from riskdesk.pricing import implied_vol as _implied_vol
from riskdesk.pricing import price as _price

__all__ = [
    "GREEK_NAMES",
    "Dividends",
    "LegResolution",
    "PendingLeg",
    "TradeLegRef",
    "TradeLike",
    "ValuedLeg",
    "cap_dividends",
    "dividend_arrays",
    "dividend_pv",
    "expiry_instant",
    "forward_price",
    "option_greeks",
    "price_options",
    "provider_vols",
    "raw_chain_vols",
    "resolve_legs",
    "scenario_datetime",
    "snapshot_dividends",
    "snapshot_hash_cached",
    "stock_dividend_credit",
    "times_from",
    "trade_identity",
    "trade_leg_refs",
]

TradeLike = TradeVersion | TradeDraft

Dividends = tuple[tuple[float, float], ...]
"""Discrete dividends as ``((years from valuation, cash amount), ...)``, times > 0."""

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
class _SnapshotInfo:
    snapshot: MarketSnapshot
    quotes: dict[str, OptionQuote]
    hash: str | None = None
    surfaces: dict[tuple[Any, ...], Any] = field(default_factory=dict)


_CACHE: OrderedDict[int, _SnapshotInfo] = OrderedDict()
_CACHE_SIZE = 8
_CACHE_LOCK = threading.Lock()


def snapshot_info(snapshot: MarketSnapshot) -> _SnapshotInfo:
    """Cached quote index (and hash, surfaces) of a snapshot object."""
    # The cache keeps a strong reference to the snapshot, so its id cannot be reused while the
    # entry lives; the identity check makes a stale entry impossible.
    with _CACHE_LOCK:
        info = _CACHE.get(id(snapshot))
        if info is not None and info.snapshot is snapshot:
            _CACHE.move_to_end(id(snapshot))
            return info
        quotes = {quote.contract.key: quote for quote in snapshot.options}
        info = _SnapshotInfo(snapshot=snapshot, quotes=quotes)
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


def _session_time(day: date, settlement: Settlement, fallback: time) -> datetime:
    try:
        return expiry_instant(day, settlement)
    except ValueError:
        return datetime.combine(day, fallback, tzinfo=_NEW_YORK)


def scenario_datetime(when: date) -> datetime:
    """Return the instant of a grid date: an aware datetime as is, a date at its close.

    A date that is not a session (weekend, holiday) is taken at 16:00 New York.
    """
    if isinstance(when, datetime):
        return when
    return _session_time(when, Settlement.PM, time(16, 0))


def snapshot_dividends(
    snapshot: MarketSnapshot, symbol: str, as_of: datetime, config: ModelConfig
) -> Dividends:
    """Dividends of ``symbol`` still to go ex after ``as_of`` (ex at the session open)."""
    out: list[tuple[float, float]] = []
    for dividend in snapshot.overrides.dividends.get(symbol, ()):
        amount = float(dividend.amount)
        if not (math.isfinite(amount) and amount > 0.0):
            continue
        ex = _session_time(dividend.ex_date, Settlement.AM, time(9, 30))
        t = year_fraction(as_of, ex, basis=config.time_basis.value)
        if t > 0.0:
            out.append((t, amount))
    return tuple(sorted(out))


# --------------------------------------------------------------------------------------------
# resolved legs
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
    model: Literal["stock", "bsm", "american"]
    engine: str | None
    strike: float
    is_call: bool
    expiry: datetime | None
    time_to_expiry: float
    vol: float
    vol_source: str
    rate: float
    carry: float
    quote_price: float | None
    dividends: Dividends = ()
    iv_quote_price: float | None = None

    @property
    def is_option(self) -> bool:
        """True for option legs."""
        return self.model != "stock"

    @property
    def group(self) -> tuple[str, str | None]:
        """Pricing-API ``(model, engine)`` of the leg."""
        return (self.model, self.engine)


@dataclass(slots=True)
class PendingLeg:
    """An option leg waiting for its vol."""

    item: TradeLegRef
    contract: OptionContract
    spot: float
    carry: float
    expiry: datetime
    time_to_expiry: float
    quote: OptionQuote | None
    dividends: Dividends


@dataclass(slots=True)
class LegResolution:
    """Outcome of :func:`resolve_legs`.

    ``refs`` holds every leg of the trade; ``valued`` the included legs that can be valued;
    ``status`` maps each leg reference to ``ok``, ``toggled_off`` or ``excluded``.
    """

    refs: list[TradeLegRef]
    valued: list[ValuedLeg]
    status: dict[str, str]
    warnings: list[Issue]
    errors: list[Issue]


ExcludeFn = Callable[[TradeLegRef, str, str], None]


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


def resolve_legs(
    trade: TradeLike,
    snapshot: MarketSnapshot,
    config: ModelConfig,
    *,
    valuation_time: datetime | None = None,
) -> LegResolution:
    """Decide which legs can be valued and gather their kernel inputs.

    ``valuation_time`` (default ``snapshot.as_of``) is the instant times to expiry and
    dividend times are measured from; quotes and vols always come from the snapshot.
    """
    as_of = snapshot.as_of if valuation_time is None else valuation_time
    info = snapshot_info(snapshot)
    refs = trade_leg_refs(trade)
    warnings: list[Issue] = []
    errors: list[Issue] = []
    status: dict[str, str] = {}
    rate = float(snapshot.overrides.rate)
    pending: list[PendingLeg] = []
    valued: dict[str, ValuedLeg] = {}
    spots: dict[str, float | None] = {}
    dividends: dict[str, Dividends] = {}

    def spot_of(symbol: str) -> float | None:
        if symbol not in spots:
            try:
                spots[symbol] = float(snapshot.underlying(symbol).spot)
            except KeyError:
                spots[symbol] = None
            dividends[symbol] = snapshot_dividends(snapshot, symbol, as_of, config)
        return spots[symbol]

    def exclude(item: TradeLegRef, code: str, reason: str) -> None:
        status[item.ref] = "excluded"
        warnings.append(
            Issue(
                code,
                f"leg {item.ref} ({item.leg.label}) excluded from value, Greeks and scenarios: "
                f"{reason}",
                item.ref,
            )
        )

    for item in refs:
        leg = item.leg
        if not leg.include:
            status[item.ref] = "toggled_off"
            continue
        symbol = leg.underlying
        spot = spot_of(symbol)
        if spot is None:
            exclude(item, "no_underlying_quote", f"the snapshot has no quote for {symbol}")
            continue
        carry = snapshot.overrides.carry_yield(symbol)
        instrument = leg.instrument
        if isinstance(instrument, Stock):
            valued[item.ref] = ValuedLeg(
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
            status[item.ref] = "ok"
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
        quote = info.quotes.get(instrument.key)
        if quote is None and config.vol_source is not VolSource.FITTED_SURFACE:
            exclude(item, "no_quote", f"the snapshot has no quote for {instrument.key}")
            continue
        if (
            quote is not None
            and quote.bid is not None
            and quote.ask is not None
            and quote.bid > quote.ask
        ):
            warnings.append(
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
        pending.append(
            PendingLeg(item, instrument, spot, carry, expiry, t, quote, dividends[symbol])
        )

    if pending:
        vols = _leg_vols(pending, snapshot, config, rate, info, warnings, exclude)
        for p, vol in zip(pending, vols, strict=True):
            if vol is None:
                continue
            model, engine = config.model_for(p.contract.style)
            leg = p.item.leg
            valued[p.item.ref] = ValuedLeg(
                ref=p.item.ref,
                leg=leg,
                underlying=leg.underlying,
                spot=p.spot,
                position=float(leg.quantity * leg.multiplier),
                entry_cost=float(leg.entry_cost),
                fees=float(leg.fees),
                model="american" if model == "american" else "bsm",
                engine=engine,
                strike=float(p.contract.strike),
                is_call=p.contract.right.is_call,
                expiry=p.expiry,
                time_to_expiry=p.time_to_expiry,
                vol=vol[0],
                vol_source=vol[1],
                rate=rate,
                carry=p.carry,
                quote_price=(
                    None
                    if config.pricing_mode is PricingMode.MODEL
                    else quote_price(p.quote, config.pricing_mode)
                ),
                dividends=p.dividends,
                iv_quote_price=(
                    quote_price(p.quote, config.iv_price_source)
                    if vol[1] in _SOLVED_LABELS
                    else None
                ),
            )
            status[p.item.ref] = "ok"
    ordered = [valued[item.ref] for item in refs if item.ref in valued]
    if not ordered and any(item.leg.include for item in refs):
        errors.append(
            Issue(
                "no_valued_legs",
                "no included leg could be valued; see the leg warnings for the reasons",
            )
        )
    return LegResolution(refs=refs, valued=ordered, status=status, warnings=warnings, errors=errors)


def _leg_vols(
    pending: Sequence[PendingLeg],
    snapshot: MarketSnapshot,
    config: ModelConfig,
    rate: float,
    info: _SnapshotInfo,
    warnings: list[Issue],
    exclude: ExcludeFn,
) -> list[tuple[float, str] | None]:
    if config.vol_source is VolSource.FITTED_SURFACE:
        from riskdesk.analytics._surface import surface_vols  # import cycle: _surface uses _legs

        return surface_vols(pending, snapshot, config, rate, info.surfaces, warnings, exclude)
    if config.vol_source is VolSource.PROVIDER_IV:
        return provider_vols(pending, exclude)
    return raw_chain_vols(pending, config, rate, warnings, exclude)


_SOLVED_LABELS = frozenset({"MID_IV", "MARK_IV"})
"""``vol_source`` labels of vols solved from a quote price."""


def provider_vols(
    pending: Sequence[PendingLeg], exclude: ExcludeFn
) -> list[tuple[float, str] | None]:
    """The provider's IV (``OptionQuote.iv``) of each pending leg's quote, label ``PROVIDER_IV``.

    A leg whose quote is missing or has no finite positive IV is excluded (``no_quote`` /
    ``no_provider_iv``) with a warning naming it.
    """
    out: list[tuple[float, str] | None] = [None] * len(pending)
    for i, p in enumerate(pending):
        quote = p.quote
        if quote is None:
            exclude(p.item, "no_quote", f"the snapshot has no quote for {p.contract.key}")
            continue
        iv = quote.iv
        if iv is None or not math.isfinite(iv) or iv <= 0.0:
            exclude(
                p.item,
                "no_provider_iv",
                f"the quote of {p.contract.key} carries no provider IV (got {iv!r}); use "
                "vol source MID_IV to solve the vol from the quote mid",
            )
            continue
        out[i] = (float(iv), "PROVIDER_IV")
    return out


def dividend_arrays(
    schedules: Sequence[Dividends], elapsed: FloatArray | None = None
) -> tuple[FloatArray, FloatArray] | None:
    """``(times, amounts)`` arrays for the pricing API, or None when nobody has dividends.

    ``schedules`` has one schedule per row; without ``elapsed`` the arrays are ``(rows, m)``.
    With ``elapsed`` (``(rows, points)`` years of time passed at each point) they are
    ``(rows, points, m)``: times move by ``-elapsed`` and dividends already paid get amount 0.
    Rows are padded with zero amounts.
    """
    m = max((len(s) for s in schedules), default=0)
    if m == 0:
        return None
    rows = len(schedules)
    times = np.zeros((rows, m), dtype=np.float64)
    amounts = np.zeros((rows, m), dtype=np.float64)
    for i, schedule in enumerate(schedules):
        for j, (t, a) in enumerate(schedule):
            times[i, j] = t
            amounts[i, j] = a
    if elapsed is None:
        return times, amounts
    shifted = times[:, None, :] - np.asarray(elapsed, dtype=np.float64)[:, :, None]
    alive = shifted > 0.0
    return np.where(alive, shifted, 0.0), np.where(alive, amounts[:, None, :], 0.0)


def raw_chain_vols(
    pending: Sequence[PendingLeg],
    config: ModelConfig,
    rate: float,
    warnings: list[Issue],
    exclude: ExcludeFn,
) -> list[tuple[float, str] | None]:
    """Solve the implied vol of each pending leg's quote (one solver call per model).

    The vol source ``MID_IV``: labels ``MID_IV`` (or ``MARK_IV`` with ``iv_price_source``
    mark); a failed solve falls back to the provider IV (label ``PROVIDER_IV``) with a warning.
    """
    out: list[tuple[float, str] | None] = [None] * len(pending)
    prices = [quote_price(p.quote, config.iv_price_source) for p in pending]
    groups: dict[tuple[str, str | None], list[int]] = {}
    for i, p in enumerate(pending):
        price_i = prices[i]
        if price_i is not None and price_i > 0.0:
            groups.setdefault(config.model_for(p.contract.style), []).append(i)
    solved: dict[int, tuple[float, str]] = {}
    label = "MARK_IV" if config.iv_price_source is PriceSource.MARK else "MID_IV"
    for (model, engine), idx in groups.items():
        kwargs: dict[str, Any] = {} if engine is None else {"engine": engine}
        divs = dividend_arrays([pending[i].dividends for i in idx])
        if divs is not None:
            kwargs["dividends"] = divs
        result = _implied_vol(
            model=model,
            price=np.array([prices[i] for i in idx], dtype=np.float64),
            S=np.array([pending[i].spot for i in idx]),
            K=np.array([float(pending[i].contract.strike) for i in idx]),
            T=np.array([pending[i].time_to_expiry for i in idx]),
            r=rate,
            q=np.array([pending[i].carry for i in idx]),
            is_call=np.array([pending[i].contract.right.is_call for i in idx]),
            **kwargs,
        )
        ivs = np.asarray(result.iv, dtype=np.float64).reshape(-1)
        statuses = np.asarray(result.status).reshape(-1)
        for j, i in enumerate(idx):
            iv = float(ivs[j])
            if str(statuses[j]) == "ok" and math.isfinite(iv) and iv > 0.0:
                solved[i] = (iv, label)
            else:
                solved[i] = (math.nan, str(statuses[j]))
    source = config.iv_price_source.value
    for i, p in enumerate(pending):
        got = solved.get(i)
        if got is not None and math.isfinite(got[0]):
            out[i] = got
            continue
        quote = p.quote
        if quote is None:
            exclude(p.item, "no_quote", f"the snapshot has no quote for {p.contract.key}")
            continue
        reason = (
            f"quote has no usable {source} price (bid {quote.bid}, ask {quote.ask}, "
            f"mark {quote.mark})"
            if got is None
            else f"implied vol of the {source} {prices[i]} failed with status {got[1]}"
        )
        provider = quote.iv
        if provider is not None and math.isfinite(provider) and provider > 0.0:
            warnings.append(
                Issue(
                    "iv_provider_fallback",
                    f"leg {p.item.ref} ({p.item.leg.label}): {reason}; using the provider IV "
                    f"{provider:.6g} instead",
                    p.item.ref,
                )
            )
            out[i] = (float(provider), "PROVIDER_IV")
            continue
        exclude(p.item, "iv_failed", f"{reason} and the quote carries no provider IV")
    return out


# --------------------------------------------------------------------------------------------
# kernel calls
# --------------------------------------------------------------------------------------------
def _group_indices(legs: Sequence[ValuedLeg]) -> dict[tuple[str, str | None], list[int]]:
    groups: dict[tuple[str, str | None], list[int]] = {}
    for i, leg in enumerate(legs):
        if leg.is_option:
            groups.setdefault(leg.group, []).append(i)
    return groups


def _rows(value: Any, rows: Any, shape: tuple[int, ...]) -> FloatArray:
    result: FloatArray = np.broadcast_to(np.asarray(value, dtype=np.float64), shape)[rows]
    return result


def price_options(
    legs: Sequence[ValuedLeg],
    *,
    spot: FloatArray,
    time_to_expiry: FloatArray,
    vol: FloatArray,
    rate: FloatArray | None = None,
    carry: FloatArray | None = None,
    elapsed: FloatArray | None = None,
    dividend_grid: tuple[FloatArray, FloatArray] | None = None,
) -> FloatArray:
    """Per-unit prices of the legs at scenario points; one kernel call per model.

    Every array is ``(n_legs, n_points)`` or broadcastable to it; rows of stock legs are the
    spot itself (a share is worth its price). ``rate`` / ``carry`` default to each leg's own.
    Dividends: each leg's own schedule, moved by ``elapsed`` (years of time passed at each
    point, default 0); or explicit ``dividend_grid`` ``(times, amounts)`` of shape
    ``(n_legs, n_points, m)``.
    """
    n = len(legs)
    shape = np.broadcast_shapes(np.shape(spot), np.shape(time_to_expiry), np.shape(vol), (n, 1))
    out = np.empty(shape, dtype=np.float64)
    spot_full = np.broadcast_to(np.asarray(spot, dtype=np.float64), shape)
    for i, leg in enumerate(legs):
        if not leg.is_option:
            out[i] = spot_full[i]
    rate_arr = np.array([[leg.rate] for leg in legs]) if rate is None else rate
    carry_arr = np.array([[leg.carry] for leg in legs]) if carry is None else carry
    strikes = np.array([[leg.strike] for leg in legs])
    calls = np.array([[leg.is_call] for leg in legs])
    for (model, engine), idx in _group_indices(legs).items():
        rows = np.asarray(idx)
        kwargs: dict[str, Any] = {} if engine is None else {"engine": engine}
        divs: tuple[FloatArray, FloatArray] | None
        if dividend_grid is not None:
            divs = (dividend_grid[0][rows], dividend_grid[1][rows])
            if not np.any(divs[1] > 0.0):
                divs = None
        elif any(legs[i].dividends for i in idx):
            divs = dividend_arrays(
                [legs[i].dividends for i in idx],
                _rows(0.0 if elapsed is None else elapsed, rows, shape),
            )
        else:
            divs = None
        s = spot_full[rows]
        t = _rows(time_to_expiry, rows, shape)
        r = _rows(rate_arr, rows, shape)
        if divs is not None:
            kwargs["dividends"] = cap_dividends(s, t, r, divs[0], divs[1])
        out[rows] = _price(
            model=model,
            S=s,
            K=strikes[rows],
            T=t,
            r=r,
            q=_rows(carry_arr, rows, shape),
            sigma=_rows(vol, rows, shape),
            is_call=calls[rows],
            **kwargs,
        )
    return out


DIVIDEND_CAP = 0.99
"""In a scenario, dividends before expiry are worth at most this fraction of the spot."""


def cap_dividends(
    spot: FloatArray, ttm: FloatArray, rate: FloatArray, times: FloatArray, amounts: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Scale dividends down where their PV before expiry exceeds ``DIVIDEND_CAP`` of spot.

    Only crash scenarios below the dividends' value hit the cap; it keeps the escrowed spot
    ``S - PV`` positive (a company cannot pay out more than it is worth). ``spot``, ``ttm``, ``rate`` share the option shape; ``times``/``amounts`` add a last axis.
    """
    live = (times < ttm[..., None]) & (amounts > 0.0)
    pv = np.where(live, amounts * np.exp(-rate[..., None] * times), 0.0).sum(axis=-1)
    limit = DIVIDEND_CAP * spot
    scale = np.where(pv > limit, limit / np.where(pv > 0.0, pv, 1.0), 1.0)
    return times, amounts * scale[..., None]


GREEK_NAMES: tuple[str, ...] = ("price", "delta", "gamma", "vega", "theta", "rho")
"""Greeks an evaluation reports per leg (pricing-API names and units)."""


def option_greeks(
    legs: Sequence[ValuedLeg],
    which: tuple[str, ...] = GREEK_NAMES,
) -> dict[str, FloatArray]:
    """Per-unit Greeks of each leg at its own inputs (1-D arrays over legs), API units.

    Stock legs get ``price = spot``, ``delta = 1`` and zero for every other Greek.
    """
    n = len(legs)
    out = {name: np.zeros(n, dtype=np.float64) for name in which}
    for i, leg in enumerate(legs):
        if not leg.is_option:
            if "price" in out:
                out["price"][i] = leg.spot
            if "delta" in out:
                out["delta"][i] = 1.0
    for (model, engine), idx in _group_indices(legs).items():
        group = [legs[i] for i in idx]
        kwargs: dict[str, Any] = {} if engine is None else {"engine": engine}
        divs = dividend_arrays([leg.dividends for leg in group])
        if divs is not None:
            kwargs["dividends"] = divs
        values = _greeks(
            model=model,
            S=np.array([leg.spot for leg in group]),
            K=np.array([leg.strike for leg in group]),
            T=np.array([leg.time_to_expiry for leg in group]),
            r=np.array([leg.rate for leg in group]),
            q=np.array([leg.carry for leg in group]),
            sigma=np.array([leg.vol for leg in group]),
            is_call=np.array([leg.is_call for leg in group]),
            which=which,
            **kwargs,
        )
        rows = np.asarray(idx)
        for name in which:
            out[name][rows] = values[name]
    return out


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
