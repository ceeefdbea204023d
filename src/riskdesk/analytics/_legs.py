"""Leg resolution: from a trade and a snapshot to arrays the pricing kernels accept.

For every leg this module decides whether it can be valued and, if so, gathers its spot,
strike, time to expiry, vol, rate and carry; problems become :class:`Issue` warnings naming the
leg, and the leg is left out of value, Greeks and scenarios (no NaN ever reaches a result).

Vol per option leg (``ModelConfig.vol_source``):

* ``RAW_CHAIN_IV``: implied vol of the leg's quote price (``iv_price_source``: mid or mark) with
  the leg's own model; if the solver's status is not ``ok``, the provider's IV of the quote
  (warning ``iv_provider_fallback``); if there is none, the leg is excluded (``iv_failed``).
* ``FITTED_SURFACE``: the SVI surface of the leg's underlying built from the snapshot chain by
  :mod:`riskdesk.pricing.surface`; when the surface falls back to raw chain IVs its diagnostics
  are added as warnings.

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

__all__ = [
    "LegResolution",
    "TradeLegRef",
    "TradeLike",
    "ValuedLeg",
    "option_greeks",
    "price_options",
    "resolve_legs",
    "scenario_datetime",
    "snapshot_hash_cached",
    "trade_identity",
    "trade_leg_refs",
]

TradeLike = TradeVersion | TradeDraft

_NEW_YORK = ZoneInfo("America/New_York")


_Pending = tuple["TradeLegRef", OptionContract, float, float, datetime, float, OptionQuote | None]
"""(leg, contract, spot, carry, expiry instant, time to expiry, quote) of an option leg."""


@dataclass(frozen=True, slots=True)
class TradeLegRef:
    """A leg with its reference: the draft ``leg_id`` or ``legN`` (N = index in a version)."""

    ref: str
    leg: Leg


def trade_leg_refs(trade: TradeLike) -> list[TradeLegRef]:
    """All legs of ``trade`` (included or not) with their references, in trade order."""
    if isinstance(trade, TradeDraft):
        return [TradeLegRef(item.leg_id, item.leg) for item in trade.legs]
    return [TradeLegRef(f"leg{i}", leg) for i, leg in enumerate(trade.legs)]


def trade_identity(trade: TradeLike) -> dict[str, Any]:
    """Plain dict identifying the trade: a version's hash, or a draft's rev and content hash.

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


def _snapshot_info(snapshot: MarketSnapshot) -> _SnapshotInfo:
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
    """``snapshot.snapshot_hash``, computed once per snapshot object."""
    info = _snapshot_info(snapshot)
    if info.hash is None:
        info.hash = snapshot.snapshot_hash
    return info.hash


@functools.lru_cache(maxsize=4096)
def expiry_instant(expiry: date, settlement: Settlement) -> datetime:
    """``expiry_datetime`` of a contract, cached (raises ValueError for a non-session)."""
    return expiry_datetime(expiry, settlement=settlement)


def scenario_datetime(when: date) -> datetime:
    """Instant of a grid date: an aware datetime as is; a date at its session close.

    A date that is not a session (weekend, holiday) is taken at 16:00 New York.
    """
    if isinstance(when, datetime):
        return when
    try:
        return expiry_instant(when, Settlement.PM)
    except ValueError:
        return datetime.combine(when, time(16, 0), tzinfo=_NEW_YORK)


# --------------------------------------------------------------------------------------------
# resolved legs
# --------------------------------------------------------------------------------------------
@dataclass(slots=True)
class ValuedLeg:
    """A leg that can be valued, with every kernel input as a float.

    ``position`` is the signed number of underlying units per unit of price
    (``quantity * multiplier``); ``entry_cost`` and ``fees`` are in currency.
    For stock legs the option fields are placeholders (``model == "stock"``).
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

    @property
    def is_option(self) -> bool:
        """True for option legs."""
        return self.model != "stock"

    @property
    def group(self) -> tuple[str, str | None]:
        """Pricing-API ``(model, engine)`` of the leg."""
        return (self.model, self.engine)


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


def _float(value: Decimal | float | None) -> float | None:
    if value is None:
        return None
    result = float(value)
    return result if math.isfinite(result) else None


def _quote_price(quote: OptionQuote, source: PriceSource | PricingMode) -> float | None:
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

    ``valuation_time`` (default ``snapshot.as_of``) is the instant times to expiry are
    measured from; quotes and vols always come from the snapshot.
    """
    as_of = snapshot.as_of if valuation_time is None else valuation_time
    info = _snapshot_info(snapshot)
    refs = trade_leg_refs(trade)
    warnings: list[Issue] = []
    errors: list[Issue] = []
    status: dict[str, str] = {}
    rate = float(snapshot.overrides.rate)
    pending: list[_Pending] = []
    valued: dict[str, ValuedLeg] = {}
    spots: dict[str, float | None] = {}

    def spot_of(symbol: str) -> float | None:
        if symbol not in spots:
            try:
                spots[symbol] = float(snapshot.underlying(symbol).spot)
            except KeyError:
                spots[symbol] = None
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
        entry_cost = float(leg.entry_cost)
        fees = float(leg.fees)
        instrument = leg.instrument
        if isinstance(instrument, Stock):
            valued[item.ref] = ValuedLeg(
                ref=item.ref,
                leg=leg,
                underlying=symbol,
                spot=spot,
                position=float(leg.quantity * leg.multiplier),
                entry_cost=entry_cost,
                fees=fees,
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
        pending.append((item, instrument, spot, carry, expiry, t, quote))

    # vols, batched per model
    if pending:
        vols = _leg_vols(pending, snapshot, config, rate, info, warnings, exclude)
        for (item, instrument, spot, carry, expiry, t, quote), vol in zip(
            pending, vols, strict=True
        ):
            if vol is None:
                continue
            model, engine = config.model_for(instrument.style)
            leg = item.leg
            quote_price = (
                None
                if config.pricing_mode is PricingMode.MODEL or quote is None
                else _quote_price(quote, config.pricing_mode)
            )
            valued[item.ref] = ValuedLeg(
                ref=item.ref,
                leg=leg,
                underlying=leg.underlying,
                spot=spot,
                position=float(leg.quantity * leg.multiplier),
                entry_cost=float(leg.entry_cost),
                fees=float(leg.fees),
                model="american" if model == "american" else "bsm",
                engine=engine,
                strike=float(instrument.strike),
                is_call=instrument.right.is_call,
                expiry=expiry,
                time_to_expiry=t,
                vol=vol[0],
                vol_source=vol[1],
                rate=rate,
                carry=carry,
                quote_price=quote_price,
            )
            status[item.ref] = "ok"
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
    pending: Sequence[_Pending],
    snapshot: MarketSnapshot,
    config: ModelConfig,
    rate: float,
    info: _SnapshotInfo,
    warnings: list[Issue],
    exclude: Callable[[TradeLegRef, str, str], None],
) -> list[tuple[float, str] | None]:
    if config.vol_source is VolSource.FITTED_SURFACE:
        from riskdesk.analytics._surface import surface_vols

        return surface_vols(pending, snapshot, config, rate, info.surfaces, warnings, exclude)
    return raw_chain_vols(pending, config, rate, warnings, exclude)


def raw_chain_vols(
    pending: Sequence[_Pending],
    config: ModelConfig,
    rate: float,
    warnings: list[Issue],
    exclude: Callable[[TradeLegRef, str, str], None],
) -> list[tuple[float, str] | None]:
    """Implied vol of each pending leg's quote (one solver call per model)."""
    from riskdesk.pricing import implied_vol

    out: list[tuple[float, str] | None] = [None] * len(pending)
    prices: list[float | None] = [
        None if p[6] is None else _quote_price(p[6], config.iv_price_source) for p in pending
    ]
    groups: dict[tuple[str, str | None], list[int]] = {}
    for i, (_item, instrument, *_rest) in enumerate(pending):
        if prices[i] is not None and prices[i] > 0.0:  # type: ignore[operator]
            groups.setdefault(config.model_for(instrument.style), []).append(i)
    solved: dict[int, tuple[float, str]] = {}
    for (model, engine), idx in groups.items():
        kwargs: dict[str, Any] = {}
        if engine is not None:
            kwargs["engine"] = engine
        result = implied_vol(
            model=model,
            price=np.array([prices[i] for i in idx], dtype=np.float64),
            S=np.array([pending[i][2] for i in idx]),
            K=np.array([float(pending[i][1].strike) for i in idx]),
            T=np.array([pending[i][5] for i in idx]),
            r=rate,
            q=np.array([pending[i][3] for i in idx]),
            is_call=np.array([pending[i][1].right.is_call for i in idx]),
            **kwargs,
        )
        ivs = np.asarray(result.iv, dtype=np.float64).reshape(-1)
        statuses = np.asarray(result.status).reshape(-1)
        for j, i in enumerate(idx):
            iv = float(ivs[j])
            if str(statuses[j]) == "ok" and math.isfinite(iv) and iv > 0.0:
                solved[i] = (iv, "RAW_CHAIN_IV")
            else:
                solved[i] = (math.nan, str(statuses[j]))
    source = config.iv_price_source.value
    for i, (item, _instrument, _spot, _carry, _expiry, _t, quote) in enumerate(pending):
        got = solved.get(i)
        if got is not None and math.isfinite(got[0]):
            out[i] = got
            continue
        if quote is None:
            exclude(item, "no_quote", f"the snapshot has no quote for {item.leg.instrument.key}")
            continue
        reason = (
            f"quote has no usable {source} price (bid {quote.bid}, ask {quote.ask}, mark {quote.mark})"
            if got is None
            else f"implied vol of the {source} {prices[i]} failed with status {got[1]}"
        )
        provider = quote.iv
        if provider is not None and math.isfinite(provider) and provider > 0.0:
            warnings.append(
                Issue(
                    "iv_provider_fallback",
                    f"leg {item.ref} ({item.leg.label}): {reason}; using the provider IV "
                    f"{provider:.6g} instead",
                    item.ref,
                )
            )
            out[i] = (float(provider), "PROVIDER_IV")
            continue
        exclude(item, "iv_failed", f"{reason} and the quote carries no provider IV")
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


def price_options(
    legs: Sequence[ValuedLeg],
    *,
    spot: FloatArray,
    time_to_expiry: FloatArray,
    vol: FloatArray,
    rate: FloatArray | None = None,
    carry: FloatArray | None = None,
) -> FloatArray:
    """Per-unit prices of option legs at scenario points; one kernel call per model.

    Every array is ``(n_legs, n_points)`` (or broadcastable to it); rows of stock legs are
    returned as the spot itself (a share is worth its price). ``rate``/``carry`` default to
    each leg's own.
    """
    from riskdesk.pricing import price

    n = len(legs)
    spot = np.asarray(spot, dtype=np.float64)
    shape = np.broadcast_shapes(spot.shape, np.shape(time_to_expiry), np.shape(vol), (n, 1))
    out = np.empty(shape, dtype=np.float64)
    for i, leg in enumerate(legs):
        if not leg.is_option:
            out[i] = np.broadcast_to(spot, shape)[i]
    rate_arr = np.array([[leg.rate] for leg in legs]) if rate is None else rate
    carry_arr = np.array([[leg.carry] for leg in legs]) if carry is None else carry
    strikes = np.array([[leg.strike] for leg in legs])
    calls = np.array([[leg.is_call] for leg in legs])
    for (model, engine), idx in _group_indices(legs).items():
        rows = np.asarray(idx)
        kwargs: dict[str, Any] = {} if engine is None else {"engine": engine}
        out[rows] = price(
            model=model,
            S=_rows(spot, rows, shape),
            K=strikes[rows],
            T=_rows(time_to_expiry, rows, shape),
            r=_rows(rate_arr, rows, shape),
            q=_rows(carry_arr, rows, shape),
            sigma=_rows(vol, rows, shape),
            is_call=calls[rows],
            **kwargs,
        )
    return out


def _rows(value: Any, rows: Any, shape: tuple[int, ...]) -> FloatArray:
    result: FloatArray = np.broadcast_to(np.asarray(value, dtype=np.float64), shape)[rows]
    return result


GREEK_NAMES: tuple[str, ...] = ("price", "delta", "gamma", "vega", "theta", "rho")


def option_greeks(
    legs: Sequence[ValuedLeg],
    which: tuple[str, ...] = GREEK_NAMES,
    *,
    spot: FloatArray | None = None,
    time_to_expiry: FloatArray | None = None,
    vol: FloatArray | None = None,
    rate: FloatArray | None = None,
    carry: FloatArray | None = None,
) -> dict[str, FloatArray]:
    """Per-unit Greeks of each leg (1-D arrays over legs), in pricing-API units.

    Inputs default to each leg's own. Stock legs get ``price = spot``, ``delta = 1`` and zero
    for every other Greek.
    """
    from riskdesk.pricing import greeks

    n = len(legs)
    s = np.array([leg.spot for leg in legs]) if spot is None else np.asarray(spot, dtype=np.float64)
    t = np.array([leg.time_to_expiry for leg in legs]) if time_to_expiry is None else time_to_expiry
    v = np.array([leg.vol for leg in legs]) if vol is None else vol
    r = np.array([leg.rate for leg in legs]) if rate is None else rate
    q = np.array([leg.carry for leg in legs]) if carry is None else carry
    out = {name: np.zeros(n, dtype=np.float64) for name in which}
    for i, leg in enumerate(legs):
        if not leg.is_option:
            if "price" in out:
                out["price"][i] = s[i]
            if "delta" in out:
                out["delta"][i] = 1.0
    strikes = np.array([leg.strike for leg in legs])
    calls = np.array([leg.is_call for leg in legs])
    for (model, engine), idx in _group_indices(legs).items():
        rows = np.asarray(idx)
        kwargs: dict[str, Any] = {} if engine is None else {"engine": engine}
        values = greeks(
            model=model,
            S=s[rows],
            K=strikes[rows],
            T=np.asarray(t)[rows],
            r=np.asarray(r)[rows],
            q=np.asarray(q)[rows],
            sigma=np.asarray(v)[rows],
            is_call=calls[rows],
            which=which,
            **kwargs,
        )
        for name in which:
            out[name][rows] = values[name]
    return out


def times_from(start: datetime, ends: Sequence[datetime], config: ModelConfig) -> FloatArray:
    """Year fractions from ``start`` to each of ``ends`` in the configured time basis."""
    if not ends:
        return np.zeros(0, dtype=np.float64)
    return year_fractions(start, list(ends), basis=config.time_basis.value)
