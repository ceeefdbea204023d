"""FITTED_SURFACE leg vols: an SVI surface per underlying built from the snapshot chain.

Per underlying and expiry, the fit takes the out-of-the-money side of the chain (puts below
the forward, calls at or above it) with ``F = (S - PV(dividends before expiry)) * exp((r - q)
T)``, and of those only quotes with a bid above zero (when the quote has a bid): a bid of 0
and an ask of one tick bounds the price without locating it, and its "mid" implied vol is set
by the tick, not the smile (on a 0DTE chain such quotes sit 30 vol points above it). Each
quote's implied vol is solved from its ``iv_price_source`` price with the model of its
exercise style, the model the evaluation prices with; quotes whose solve status is not
``ok`` are left out (no provider IV from another model is mixed in). Each quote's squared
implied-vol miss is weighted ``(vega / (ask - bid))**2``, one over its squared width in vol
points (mark-only quotes get the median weight). :func:`riskdesk.pricing.surface.build_surface`
fits raw SVI per expiry in the same time basis and checks butterfly and calendar arbitrage,
refitting arbitrage free when tick noise made the best fits arbitrageable. A leg's vol is the
surface IV at its strike and time to expiry (the leg needs no quote of its own). When the
surface status is ``fallback`` it evaluates the raw chain IVs and each of its diagnostics
becomes a ``surface_fallback`` warning. Surfaces are cached per snapshot object and settings.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date, datetime

import numpy as np
import numpy.typing as npt

from riskdesk.analytics._kernels import solve_ivs
from riskdesk.analytics._market import (
    Dividends,
    expiry_instant,
    forward_price,
    quote_price,
    snapshot_dividends,
)
from riskdesk.domain.configs import ModelConfig
from riskdesk.domain.market import MarketSnapshot, OptionQuote
from riskdesk.domain.timeutil import year_fraction
from riskdesk.pricing.surface import SliceQuotes, VolSurface, build_surface

__all__ = ["chain_surface"]

FloatArray = npt.NDArray[np.float64]


def _slice_ivs(
    chosen: Sequence[OptionQuote],
    config: ModelConfig,
    spot: float,
    t: float,
    rate: float,
    carry: float,
    dividends: Dividends,
) -> FloatArray:
    """Implied vol of each quote from its ``iv_price_source`` price (NaN where the solve fails).

    The vol is solved with the model of the quote's exercise style, the one the evaluation
    prices with. A quote whose solve status is not ``ok`` (below intrinsic, no time value, not
    converged) gets NaN and stays out of the fit: a provider IV from another model or forward
    would not be comparable with the solved ones.
    """
    n = len(chosen)
    ivs, _ = solve_ivs(
        [config.model_for(q.contract.style) for q in chosen],
        price=[quote_price(q, config.iv_price_source) or math.nan for q in chosen],
        spot=[spot] * n,
        strike=[float(q.contract.strike) for q in chosen],
        time_to_expiry=[t] * n,
        rate=rate,
        carry=[carry] * n,
        is_call=[q.contract.right.is_call for q in chosen],
        dividends=[dividends] * n,
    )
    return ivs


def _spread(quote: OptionQuote) -> float:
    """``ask - bid`` of a two-sided quote (bid above zero, ask above bid), else NaN."""
    if quote.bid is None or quote.ask is None or not 0 < quote.bid < quote.ask:
        return math.nan
    return float(quote.ask - quote.bid)


def _fit_weights(
    chosen: Sequence[OptionQuote],
    k: FloatArray,
    iv: FloatArray,
    t: float,
    forward: float,
    rate: float,
) -> FloatArray:
    """Weight of each quote's squared implied-vol residual: ``(vega / (ask - bid))**2``.

    ``(ask - bid) / vega`` is the width of the quote in vol units (vega is the Black vega
    ``exp(-r T) F n(d1) sqrt(T)`` per unit vol), so the fit measures misses in spreads, and a
    wing quote whose tick spans several vol points counts little. Quotes without a two-sided
    market (mark only) get the median weight of the others (1 when none has a spread).
    """
    sd = iv * math.sqrt(t)
    d1 = -k / sd + 0.5 * sd
    vega = math.exp(-rate * t) * forward * np.exp(-0.5 * d1 * d1) / math.sqrt(2 * math.pi)
    vega = vega * math.sqrt(t)
    spread = np.array([_spread(q) for q in chosen])
    weights: FloatArray = (vega / spread) ** 2
    known = np.isfinite(weights) & (weights > 0)
    fill = float(np.median(weights[known])) if np.any(known) else 1.0
    return np.where(known, weights, fill)


def _slice_quotes(
    quotes: Sequence[OptionQuote],
    config: ModelConfig,
    spot: float,
    t: float,
    rate: float,
    carry: float,
    dividends: Dividends,
) -> SliceQuotes | None:
    """Fit inputs of one expiry: OTM quotes with a bid, solved vols and spread weights."""
    forward = forward_price(spot, rate, carry, t, dividends)
    if not forward > 0.0:
        return None
    # Out of the money only (ITM prices are mostly intrinsic; an ITM American put has early
    # exercise value), and no quote without a bid when the chain has bids: bid 0 / ask one
    # tick only bounds the price, and its "mid" IV is the tick, not the smile.
    chosen = [
        q
        for q in quotes
        if (float(q.contract.strike) >= forward) == q.contract.right.is_call
        and (quote_price(q, config.iv_price_source) or 0.0) > 0.0
        and (q.bid is None or q.bid > 0)
    ]
    if not chosen:
        return None
    ivs = _slice_ivs(chosen, config, spot, t, rate, carry, dividends)
    keep = np.isfinite(ivs) & (ivs > 0)
    if not np.any(keep):
        return None
    kept = [q for q, ok in zip(chosen, keep.tolist(), strict=True) if ok]
    strikes = np.array([float(q.contract.strike) for q in kept])
    k = np.log(strikes / forward)
    weights = _fit_weights(kept, k, ivs[keep], t, forward, rate)
    return SliceQuotes(T=t, forward=forward, k=k, iv=ivs[keep], weights=weights)


def chain_surface(
    snapshot: MarketSnapshot,
    symbol: str,
    config: ModelConfig,
    rate: float,
    as_of: datetime,
) -> VolSurface | None:
    """Build the SVI surface of ``symbol`` from the snapshot chain (None: no usable quote)."""
    try:
        spot = float(snapshot.underlying(symbol).spot)
    except KeyError:
        return None
    carry = snapshot.overrides.carry_yield(symbol)
    dividends = snapshot_dividends(snapshot, symbol, as_of, config)
    by_expiry: dict[date, list[OptionQuote]] = {}
    for quote in snapshot.options:
        if quote.contract.underlying == symbol:
            by_expiry.setdefault(quote.contract.expiry, []).append(quote)
    slices = []
    for expiry in sorted(by_expiry):
        quotes = by_expiry[expiry]
        try:
            instant = expiry_instant(expiry, quotes[0].contract.settlement)
        except ValueError:
            continue
        t = year_fraction(as_of, instant, basis=config.time_basis.value)
        if not t > 0.0:
            continue
        fit_input = _slice_quotes(quotes, config, spot, t, rate, carry, dividends)
        if fit_input is not None:
            slices.append(fit_input)
    if not slices:
        return None
    return build_surface(slices)
