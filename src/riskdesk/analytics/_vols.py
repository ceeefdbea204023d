"""Vol sourcing: step 2 of resolve -> inputs -> vols -> kernels -> results.

:func:`source_vols` takes the option legs' resolved :class:`~riskdesk.analytics._market.LegInputs`
and returns one vol per leg (or None: the leg is excluded, with its exclusion among the
returned issues). It reads quote prices, spots and dividends from those values only and never
calls back into input resolution. ``ModelConfig.vol_source`` picks the source; the leg's
``vol_source`` label says where its vol came from:

* ``MID_IV``: implied vol of the leg's quote price (``iv_price_source``: mid, label ``MID_IV``,
  or mark, label ``MARK_IV``) solved with the leg's own model and engine; if the solver's
  status is not ``ok``, the provider's IV of the quote (label ``PROVIDER_IV``, warning
  ``iv_provider_fallback``); if there is none, the leg is excluded (``iv_failed``).
* ``PROVIDER_IV``: the provider's IV of the leg's quote (``OptionQuote.iv``) as imported,
  label ``PROVIDER_IV``; a quote without a usable IV excludes the leg (``no_provider_iv``).
* ``FITTED_SURFACE``: the SVI surface of the leg's underlying built from the snapshot chain
  (see :mod:`riskdesk.analytics._surface`); a leg needs no quote of its own. Legs the
  surface cannot serve use the ``MID_IV`` rule (label ``SURFACE_RAW_FALLBACK`` when the
  surface itself fell back).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from riskdesk.analytics._common import Issue
from riskdesk.analytics._kernels import solve_ivs
from riskdesk.analytics._market import LegInputs, SnapshotInfo, VolLabel, exclusion, forward_price
from riskdesk.analytics._surface import chain_surface
from riskdesk.domain.configs import ModelConfig, PriceSource, VolSource
from riskdesk.pricing.surface import VolSurface

__all__ = ["SOLVED_LABELS", "VolPicks", "provider_vols", "raw_chain_vols", "source_vols"]

SOLVED_LABELS: frozenset[VolLabel] = frozenset({"MID_IV", "MARK_IV"})
"""``vol_source`` labels of vols solved from a quote price."""

Pick = tuple[float, VolLabel] | None


@dataclass(slots=True)
class VolPicks:
    """One ``(vol, label)`` per leg (None: excluded) and the issues, in the order they arose."""

    vols: list[Pick]
    issues: list[Issue] = field(default_factory=list)


def source_vols(legs: Sequence[LegInputs], info: SnapshotInfo, config: ModelConfig) -> VolPicks:
    """Vol of every leg per ``config.vol_source`` (see the module docstring)."""
    if config.vol_source is VolSource.FITTED_SURFACE:
        return _surface_vols(legs, info, config)
    if config.vol_source is VolSource.PROVIDER_IV:
        return provider_vols(legs)
    return raw_chain_vols(legs, config)


def provider_vols(legs: Sequence[LegInputs]) -> VolPicks:
    """The provider's IV (``OptionQuote.iv``) of each leg's quote, label ``PROVIDER_IV``.

    A leg whose quote is missing or has no finite positive IV is excluded (``no_quote`` /
    ``no_provider_iv``) with a warning naming it.
    """
    out = VolPicks([None] * len(legs))
    for i, p in enumerate(legs):
        quote = p.quote
        if quote is None:
            out.issues.append(
                exclusion(p.item, "no_quote", f"the snapshot has no quote for {p.contract.key}")
            )
            continue
        iv = quote.iv
        if iv is None or not math.isfinite(iv) or iv <= 0.0:
            out.issues.append(
                exclusion(
                    p.item,
                    "no_provider_iv",
                    f"the quote of {p.contract.key} carries no provider IV (got {iv!r}); use "
                    "vol source MID_IV to solve the vol from the quote mid",
                )
            )
            continue
        out.vols[i] = (float(iv), "PROVIDER_IV")
    return out


def raw_chain_vols(legs: Sequence[LegInputs], config: ModelConfig) -> VolPicks:
    """Solve the implied vol of each leg's quote price (one solver call per model).

    Labels ``MID_IV`` (or ``MARK_IV`` with ``iv_price_source`` mark); a failed solve falls
    back to the provider IV (label ``PROVIDER_IV``) with a warning, else excludes the leg.
    """
    out = VolPicks([None] * len(legs))
    prices = [p.iv_price for p in legs]
    ivs, statuses = solve_ivs(
        [
            config.model_for(p.contract.style) if price is not None and price > 0.0 else None
            for p, price in zip(legs, prices, strict=True)
        ],
        price=[math.nan if price is None else price for price in prices],
        spot=[p.spot for p in legs],
        strike=[float(p.contract.strike) for p in legs],
        time_to_expiry=[p.time_to_expiry for p in legs],
        rate=legs[0].rate if legs else 0.0,
        carry=[p.carry for p in legs],
        is_call=[p.contract.right.is_call for p in legs],
        dividends=[p.dividends for p in legs],
    )
    label: VolLabel = "MARK_IV" if config.iv_price_source is PriceSource.MARK else "MID_IV"
    source = config.iv_price_source.value
    for i, p in enumerate(legs):
        iv = float(ivs[i])
        if math.isfinite(iv):
            out.vols[i] = (iv, label)
            continue
        quote = p.quote
        if quote is None:
            out.issues.append(
                exclusion(p.item, "no_quote", f"the snapshot has no quote for {p.contract.key}")
            )
            continue
        status = statuses[i]
        reason = (
            f"quote has no usable {source} price (bid {quote.bid}, ask {quote.ask}, "
            f"mark {quote.mark})"
            if status is None
            else f"implied vol of the {source} {prices[i]} failed with status {status}"
        )
        provider = quote.iv
        if provider is not None and math.isfinite(provider) and provider > 0.0:
            out.issues.append(
                Issue(
                    "iv_provider_fallback",
                    f"leg {p.item.ref} ({p.item.leg.label}): {reason}; using the provider IV "
                    f"{provider:.6g} instead",
                    p.item.ref,
                )
            )
            out.vols[i] = (float(provider), "PROVIDER_IV")
            continue
        out.issues.append(
            exclusion(p.item, "iv_failed", f"{reason} and the quote carries no provider IV")
        )
    return out


def _surface_key(symbol: str, config: ModelConfig) -> tuple[Any, ...]:
    return (
        symbol,
        config.time_basis.value,
        config.iv_price_source.value,
        config.european_model.value,
        config.american_model.value,
        config.american_engine.value,
        config.unknown_style_as.value,
    )


def _surface_vols(legs: Sequence[LegInputs], info: SnapshotInfo, config: ModelConfig) -> VolPicks:
    """The surface vol of each leg (raw chain IV where the surface cannot give one)."""
    out = VolPicks([None] * len(legs))
    raw_needed: list[int] = []
    reported: set[str] = set()
    snapshot = info.snapshot
    for i, p in enumerate(legs):
        symbol = p.contract.underlying
        key = _surface_key(symbol, config)
        if key not in info.surfaces:
            info.surfaces[key] = chain_surface(snapshot, symbol, config, p.rate, snapshot.as_of)
        surface: VolSurface | None = info.surfaces[key]
        if surface is None:
            if symbol not in reported:
                reported.add(symbol)
                out.issues.append(
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
            out.issues.extend(
                Issue("surface_fallback", f"{symbol} vol surface falls back to raw chain IV: {r}")
                for r in surface.diagnostics
            )
        t = p.time_to_expiry
        forward = forward_price(p.spot, p.rate, p.carry, t, p.dividends)
        iv = (
            float(surface.iv_at_strike(float(p.contract.strike), t, forward))
            if forward > 0
            else math.nan
        )
        if math.isfinite(iv) and iv > 0.0:
            label: VolLabel = "FITTED_SURFACE" if surface.status == "ok" else "SURFACE_RAW_FALLBACK"
            out.vols[i] = (iv, label)
        else:
            raw_needed.append(i)
            out.issues.append(
                Issue(
                    "surface_iv_failed",
                    f"leg {p.item.ref} ({p.item.leg.label}): the surface gives no vol at strike "
                    f"{p.contract.strike}; using raw chain IV",
                    p.item.ref,
                )
            )
    if raw_needed:
        raw = raw_chain_vols([legs[i] for i in raw_needed], config)
        out.issues.extend(raw.issues)
        for i, vol in zip(raw_needed, raw.vols, strict=True):
            out.vols[i] = vol
    return out
