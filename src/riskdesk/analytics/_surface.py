"""FITTED_SURFACE leg vols: an SVI surface per underlying built from the snapshot chain.

Per underlying, every quote of the chain is turned into an implied vol (the quote price of
``iv_price_source`` with the model of its exercise style, provider IV when the solve fails);
per expiry, the out-of-the-money side is kept (puts below the forward, calls at or above it),
the forward is ``F = S * exp((r - q) T)``, the fit weights are ``1 / (ask - bid)`` when the
quote has a positive spread and 1 otherwise. :func:`riskdesk.pricing.surface.build_surface`
fits raw SVI per expiry and checks butterfly and calendar arbitrage; a leg's vol is the
surface IV at its strike and time to expiry. When the surface status is ``fallback`` it
evaluates the raw chain IVs, and each diagnostic becomes a ``surface_fallback`` warning.
Surfaces are cached per snapshot object and settings.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any

import numpy as np

from riskdesk.analytics._common import Issue
from riskdesk.domain.configs import ModelConfig
from riskdesk.domain.instruments import OptionContract
from riskdesk.domain.market import MarketSnapshot, OptionQuote
from riskdesk.domain.timeutil import expiry_datetime, year_fraction

__all__ = ["chain_surface", "surface_vols"]


def _quote_price(quote: OptionQuote, source: str) -> float | None:
    value = quote.mark if source == "mark" else quote.mid
    if value is None:
        return None
    result = float(value)
    return result if math.isfinite(result) and result > 0.0 else None


def chain_surface(
    snapshot: MarketSnapshot,
    symbol: str,
    config: ModelConfig,
    rate: float,
    as_of: datetime,
) -> Any | None:
    """Build the SVI surface of ``symbol`` from the snapshot chain (None: no usable quote)."""
    from riskdesk.pricing import implied_vol
    from riskdesk.pricing.surface import SliceQuotes, build_surface

    try:
        spot = float(snapshot.underlying(symbol).spot)
    except KeyError:
        return None
    carry = snapshot.overrides.carry_yield(symbol)
    by_expiry: dict[date, list[OptionQuote]] = {}
    for quote in snapshot.options:
        if quote.contract.underlying == symbol:
            by_expiry.setdefault(quote.contract.expiry, []).append(quote)
    slices = []
    for expiry in sorted(by_expiry):
        quotes = by_expiry[expiry]
        settlement = quotes[0].contract.settlement
        try:
            instant = expiry_datetime(expiry, settlement=settlement)
        except ValueError:
            continue
        t = year_fraction(as_of, instant, basis=config.time_basis.value)
        if not t > 0.0:
            continue
        forward = spot * math.exp((rate - carry) * t)
        chosen = [
            q
            for q in quotes
            if (float(q.contract.strike) >= forward) == q.contract.right.is_call
            and _quote_price(q, config.iv_price_source.value) is not None
        ]
        if not chosen:
            continue
        ivs = np.full(len(chosen), np.nan)
        groups: dict[tuple[str, str | None], list[int]] = {}
        for i, q in enumerate(chosen):
            groups.setdefault(config.model_for(q.contract.style), []).append(i)
        for (model, engine), idx in groups.items():
            kwargs: dict[str, Any] = {} if engine is None else {"engine": engine}
            result = implied_vol(
                model=model,
                price=np.array(
                    [_quote_price(chosen[i], config.iv_price_source.value) for i in idx]
                ),
                S=spot,
                K=np.array([float(chosen[i].contract.strike) for i in idx]),
                T=t,
                r=rate,
                q=carry,
                is_call=np.array([chosen[i].contract.right.is_call for i in idx]),
                **kwargs,
            )
            solved = np.asarray(result.iv, dtype=np.float64).reshape(-1)
            status = np.asarray(result.status).reshape(-1)
            for j, i in enumerate(idx):
                if str(status[j]) == "ok" and math.isfinite(solved[j]) and solved[j] > 0:
                    ivs[i] = solved[j]
                elif chosen[i].iv is not None and math.isfinite(chosen[i].iv or math.nan):
                    ivs[i] = float(chosen[i].iv or math.nan)
        keep = np.isfinite(ivs) & (ivs > 0)
        if not np.any(keep):
            continue
        strikes = np.array([float(q.contract.strike) for q in chosen])[keep]
        weights = np.array(
            [
                1.0 / float(q.ask - q.bid)
                if q.bid is not None and q.ask is not None and q.ask > q.bid
                else 1.0
                for q in chosen
            ]
        )[keep]
        slices.append(SliceQuotes.from_strikes(t, forward, strikes, ivs[keep], weights))
    if not slices:
        return None
    return build_surface(slices)


_Pending = tuple[Any, OptionContract, float, float, datetime, float, OptionQuote | None]


def surface_vols(
    pending: Sequence[_Pending],
    snapshot: MarketSnapshot,
    config: ModelConfig,
    rate: float,
    cache: dict[tuple[Any, ...], Any],
    warnings: list[Issue],
    exclude: Callable[[Any, str, str], None],
) -> list[tuple[float, str] | None]:
    """Surface vol of each pending leg; legs whose surface is unavailable use raw chain IV."""
    from riskdesk.analytics._legs import raw_chain_vols

    out: list[tuple[float, str] | None] = [None] * len(pending)
    raw_needed: list[int] = []
    reported: set[str] = set()
    for i, (item, contract, spot, carry, _expiry, t, _quote) in enumerate(pending):
        symbol = contract.underlying
        key = (
            symbol,
            config.time_basis.value,
            config.iv_price_source.value,
            config.european_model.value,
            config.american_model.value,
            config.american_engine.value,
            config.unknown_style_as.value,
            snapshot.as_of,
        )
        if key not in cache:
            cache[key] = chain_surface(snapshot, symbol, config, rate, snapshot.as_of)
        surface = cache[key]
        if surface is None:
            if symbol not in reported:
                reported.add(symbol)
                warnings.append(
                    Issue(
                        "surface_unavailable",
                        f"no usable quote to fit a vol surface for {symbol}; its legs use raw "
                        "chain IV",
                    )
                )
            raw_needed.append(i)
            continue
        if surface.status != "ok" and symbol not in reported:
            reported.add(symbol)
            for reason in surface.diagnostics:
                warnings.append(
                    Issue(
                        "surface_fallback",
                        f"{symbol} vol surface falls back to raw chain IV: {reason}",
                    )
                )
        forward = spot * math.exp((rate - carry) * t)
        iv = float(surface.iv_at_strike(float(contract.strike), t, forward))
        if math.isfinite(iv) and iv > 0.0:
            source = "FITTED_SURFACE" if surface.status == "ok" else "SURFACE_RAW_FALLBACK"
            out[i] = (iv, source)
        else:
            raw_needed.append(i)
            warnings.append(
                Issue(
                    "surface_iv_failed",
                    f"leg {item.ref} ({item.leg.label}): the surface gives no vol at strike "
                    f"{contract.strike}; using raw chain IV",
                    item.ref,
                )
            )
    if raw_needed:
        raw = raw_chain_vols([pending[i] for i in raw_needed], config, rate, warnings, exclude)
        for i, vol in zip(raw_needed, raw, strict=True):
            out[i] = vol
    return out
