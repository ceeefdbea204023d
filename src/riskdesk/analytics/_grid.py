"""Scenario axes: spot moves per underlying, grid dates and vol shifts (evaluate, compare).

:func:`build_axes` sizes one set of axes for one or more prepared trades: a percent spot
range, or a sigma range from each underlying's reference vol (vega-weighted mean of its
option legs' vols, else the provider IV nearest the money and the horizon) over the time to
the last expiry; grid dates are ``n_dates`` instants from the snapshot time to the last
expiry, or the grid's own dates (those before the snapshot are dropped with an error).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from riskdesk.analytics._common import FloatArray, Issue, iso_utc
from riskdesk.analytics._market import (
    expiry_instant,
    scenario_datetime,
    times_from,
)
from riskdesk.analytics._prepare import Prepared
from riskdesk.domain.configs import ScenarioGrid, SpotRangeKind
from riskdesk.domain.market import MarketSnapshot

__all__ = [
    "Axes",
    "build_axes",
    "reference_vols",
]


_NO_HORIZON_YEARS = 30.0 / 365.0


_FALLBACK_REF_VOL = 0.20


def reference_vols(preps: Sequence[Prepared], horizon_at: datetime | None) -> dict[str, float]:
    """Reference vol per underlying: vega-weighted mean of its option legs' vols.

    ``sum(|vega_i| sigma_i) / sum(|vega_i|)`` (plain mean when every vega vanishes); an
    underlying without option legs gets the provider IV of the chain quote nearest the money
    at the expiry nearest ``horizon_at``, or none.
    """
    weights: dict[str, float] = {}
    weighted: dict[str, float] = {}
    plain: dict[str, list[float]] = {}
    for prep in preps:
        vega = prep.unit_greeks["vega"]
        for i, leg in enumerate(prep.legs):
            if not leg.is_option:
                continue
            w = abs(leg.position * float(vega[i]))
            weights[leg.underlying] = weights.get(leg.underlying, 0.0) + w
            weighted[leg.underlying] = weighted.get(leg.underlying, 0.0) + w * leg.vol
            plain.setdefault(leg.underlying, []).append(leg.vol)
    out: dict[str, float] = {}
    for symbol in sorted(plain):
        if weights[symbol] > 0.0 and math.isfinite(weighted[symbol]):
            out[symbol] = weighted[symbol] / weights[symbol]
        else:
            out[symbol] = float(np.mean(plain[symbol]))
    # underlyings without option legs: the chain's provider IV nearest the money
    if preps:
        snapshot = preps[0].snapshot
        for prep in preps:
            for leg in prep.legs:
                if leg.underlying not in out:
                    chain = _chain_atm_vol(snapshot, leg.underlying, leg.spot, horizon_at)
                    if chain is not None:
                        out[leg.underlying] = chain
    return out


def _chain_atm_vol(
    snapshot: MarketSnapshot, symbol: str, spot: float, horizon_at: datetime | None
) -> float | None:
    best: tuple[float, float, list[float]] | None = None
    target = horizon_at or snapshot.as_of
    for quote in snapshot.options:
        contract = quote.contract
        iv = quote.iv
        if contract.underlying != symbol or iv is None or not math.isfinite(iv) or iv <= 0:
            continue
        try:
            instant = expiry_instant(contract.expiry, contract.settlement)
        except ValueError:
            continue
        if instant <= snapshot.as_of:
            continue
        key = (abs((instant - target).total_seconds()), abs(float(contract.strike) - spot))
        if best is None or key < best[:2]:
            best = (key[0], key[1], [iv])
        elif key == best[:2]:
            best[2].append(iv)
    return None if best is None else float(np.mean(best[2]))


@dataclass(slots=True)
class Axes:
    """Scenario axes shared by one or more trades (compare uses one set for A and B)."""

    kind: SpotRangeKind
    moves: FloatArray
    base_spots: dict[str, float]
    multipliers: dict[str, FloatArray]
    ref_vols: dict[str, float]
    horizon: float
    dates: tuple[datetime, ...]
    taus: FloatArray
    vol_shifts: FloatArray
    pct_range: tuple[float, float]
    warnings: list[Issue]
    errors: list[Issue]


def build_axes(preps: Sequence[Prepared], grid: ScenarioGrid) -> Axes:
    """Scenario axes for the union of the prepared trades' underlyings and expiries."""
    snapshot = preps[0].snapshot
    config = preps[0].config
    as_of = snapshot.as_of
    warnings: list[Issue] = []
    errors: list[Issue] = []
    base_spots: dict[str, float] = {}
    for prep in preps:
        for leg in prep.legs:
            base_spots.setdefault(leg.underlying, leg.spot)
    base_spots = dict(sorted(base_spots.items()))
    last = [p.last_expiry for p in preps if p.last_expiry is not None]
    last_expiry = max(last) if last else None
    horizon = float(times_from(as_of, [last_expiry], config)[0]) if last_expiry else 0.0
    ref_vols = reference_vols(preps, last_expiry)
    moves = grid.spot_moves()
    multipliers: dict[str, FloatArray] = {}
    for symbol, spot in base_spots.items():
        if grid.spot_range_kind is SpotRangeKind.PERCENT:
            multipliers[symbol] = grid.spot_axis(spot) / spot
            continue
        vol = ref_vols.get(symbol)
        years = horizon
        if vol is None:
            errors.append(
                Issue(
                    "no_reference_vol",
                    f"no vol for {symbol} to size a sigma spot range (no option leg and no "
                    f"provider IV in the chain); its axis assumes {_FALLBACK_REF_VOL:.0%} vol",
                )
            )
            vol = _FALLBACK_REF_VOL
        if not years > 0.0:
            warnings.append(
                Issue(
                    "no_horizon",
                    "the trade has no option expiry to size a sigma spot range; the horizon "
                    "is taken as 30 days",
                )
            )
            years = _NO_HORIZON_YEARS
        multipliers[symbol] = grid.spot_axis(spot, ref_vol=vol, horizon=years) / spot
    if multipliers:
        lo = min(float(m[0]) for m in multipliers.values())
        hi = max(float(m[-1]) for m in multipliers.values())
    else:
        lo, hi = 1.0 + grid.spot_min / 100.0, 1.0 + grid.spot_max / 100.0
    pct_range = (100.0 * (lo - 1.0), 100.0 * (hi - 1.0))
    dates = _dates(grid, as_of, last_expiry, warnings, errors)
    taus = times_from(as_of, list(dates), config)
    if grid.n_dates is not None and last_expiry is not None:
        taus[-1] = horizon  # exactly "at expiry" for the last-expiring legs
    return Axes(
        kind=grid.spot_range_kind,
        moves=moves,
        base_spots=base_spots,
        multipliers=multipliers,
        ref_vols=ref_vols,
        horizon=horizon,
        dates=dates,
        taus=np.maximum(taus, 0.0),
        vol_shifts=np.asarray(grid.vol_shifts, dtype=np.float64),
        pct_range=pct_range,
        warnings=warnings,
        errors=errors,
    )


def _dates(
    grid: ScenarioGrid,
    as_of: datetime,
    last_expiry: datetime | None,
    warnings: list[Issue],
    errors: list[Issue],
) -> tuple[datetime, ...]:
    if grid.n_dates is not None:
        if last_expiry is None:
            warnings.append(
                Issue(
                    "no_expiry",
                    "the trade has no unexpired option leg: the spot x time curves have only "
                    "the evaluation time",
                )
            )
            return (as_of,)
        n = grid.n_dates
        span = last_expiry - as_of
        return (*(as_of + span * (k / (n - 1)) for k in range(n - 1)), last_expiry)
    resolved = sorted(scenario_datetime(d) for d in grid.dates or ())
    kept = tuple(d for d in resolved if d >= as_of)
    if len(kept) < len(resolved):
        dropped = [iso_utc(d) for d in resolved if d < as_of]
        errors.append(
            Issue(
                "grid_date_before_snapshot",
                f"grid dates {dropped} are before the snapshot time {iso_utc(as_of)} and were "
                "dropped; use dates on or after it",
            )
        )
    if not kept:
        return (as_of,)
    return kept
