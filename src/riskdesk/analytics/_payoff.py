"""Payoff at expiry: max profit / loss, expiry breakevens and probability of profit.

Every leg is taken at intrinsic value (stock legs at spot); the expiry P/L along the common
path ``S_u = S0_u * (1 + p / 100)`` is piecewise linear with kinks at the strikes, so its
extremes and sign changes are found on the kinks plus a fine grid and refined by Brent's
method (see :mod:`riskdesk.analytics.evaluate` for the method).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from decimal import Decimal

import numpy as np
from scipy.special import ndtr

from riskdesk.analytics._common import FloatArray, Issue
from riskdesk.analytics._market import (
    ValuedLeg,
    forward_price,
)
from riskdesk.analytics._results import Breakeven, Extremum
from riskdesk.analytics._roots import sign_change_roots

__all__ = [
    "BREAKEVEN_GRID_POINTS",
    "breakeven",
    "expiry_breakeven_moves",
    "expiry_extremes",
    "intrinsic",
    "path_spots",
    "probability_of_profit",
]


BREAKEVEN_GRID_POINTS = 201
"""Points of the fine grids on which breakeven sign changes are searched."""


def intrinsic(legs: Sequence[ValuedLeg], spots: FloatArray) -> FloatArray:
    """Per-unit value at expiry of each leg; ``spots`` is ``(n_legs, n_points)``."""
    strikes = np.array([[leg.strike] for leg in legs], dtype=np.float64)
    calls = np.array([[leg.is_call] for leg in legs], dtype=bool)
    options = np.array([[leg.is_option] for leg in legs], dtype=bool)
    payoff = np.maximum(np.where(calls, spots - strikes, strikes - spots), 0.0)
    result: FloatArray = np.where(options, payoff, spots)
    return result


def expiry_extremes(legs: Sequence[ValuedLeg], cost: float) -> tuple[Extremum, Extremum]:
    """Max profit and max loss at expiry (every leg at intrinsic), net of ``cost``."""
    if not legs:
        return Extremum(value=-cost, unbounded=False), Extremum(value=-cost, unbounded=False)
    best = 0.0
    worst = 0.0
    up_unbounded = down_unbounded = False
    for symbol in sorted({leg.underlying for leg in legs}):
        group = [leg for leg in legs if leg.underlying == symbol]
        nodes = np.array([0.0, *sorted({leg.strike for leg in group if leg.is_option})])
        pos = np.array([[leg.position] for leg in group])
        values = (pos * intrinsic(group, np.broadcast_to(nodes, (len(group), nodes.size)))).sum(
            axis=0
        )
        net = sum(
            (
                leg.leg.quantity * leg.leg.multiplier
                for leg in group
                if not leg.is_option or leg.is_call
            ),
            Decimal(0),
        )
        if net > 0:
            up_unbounded = True
        else:
            best += float(values.max())
        if net < 0:
            down_unbounded = True
        else:
            worst += float(values.min())
    max_profit = (
        Extremum(value=None, unbounded=True)
        if up_unbounded
        else Extremum(value=best - cost, unbounded=False)
    )
    max_loss = (
        Extremum(value=None, unbounded=True)
        if down_unbounded
        else Extremum(value=worst - cost, unbounded=False)
    )
    return max_profit, max_loss


def path_spots(legs: Sequence[ValuedLeg], pct: FloatArray) -> FloatArray:
    """Spot of each leg's underlying at percent moves ``pct``: ``S0 * (1 + pct / 100)``."""
    spot = np.array([[leg.spot] for leg in legs], dtype=np.float64)
    result: FloatArray = spot * (1.0 + np.asarray(pct, dtype=np.float64) / 100.0)
    return result


def expiry_breakeven_moves(legs: Sequence[ValuedLeg], cost: float) -> list[float]:
    """Breakevens (percent moves on the common path) of the expiry P/L."""
    if not legs:
        return []
    pos = np.array([[leg.position] for leg in legs], dtype=np.float64)

    def pl(pct: FloatArray) -> FloatArray:
        total: FloatArray = (pos * intrinsic(legs, path_spots(legs, pct))).sum(axis=0) - cost
        return total

    kinks = sorted({100.0 * (leg.strike / leg.spot - 1.0) for leg in legs if leg.is_option})
    last = kinks[-1] if kinks else -100.0
    top = max(last, 0.0) + 100.0
    slope = sum(leg.position * leg.spot / 100.0 for leg in legs if not leg.is_option or leg.is_call)
    at_last = float(pl(np.array([last]))[0])
    if slope != 0.0 and at_last * slope < 0.0:
        tail = last - at_last / slope
        top = max(top, tail + abs(tail - last) + 1.0)
    nodes = np.unique(
        np.concatenate([[-100.0], kinks, np.linspace(-100.0, top, BREAKEVEN_GRID_POINTS)])
    )
    values = pl(nodes)
    return sign_change_roots(nodes, values, pl)


def probability_of_profit(
    legs: Sequence[ValuedLeg],
    roots: Sequence[float],
    cost: float,
    ref_vol: float | None,
    warnings: list[Issue],
) -> float | None:
    """Probability that the expiry P/L is > 0 under the lognormal law (module docstring).

    None when the trade has not exactly one underlying, no valued option leg or no reference
    vol; a ``pop_unavailable`` warning is appended to ``warnings`` when it has valued legs.
    """
    symbols = {leg.underlying for leg in legs}
    options = [leg for leg in legs if leg.is_option]
    if len(symbols) != 1 or not options or ref_vol is None:
        reason = (
            "it needs exactly one underlying"
            if len(symbols) != 1
            else "the trade has no valued option leg"
        )
        if legs:
            warnings.append(
                Issue("pop_unavailable", f"probability of profit not computed: {reason}")
            )
        return None
    horizon_leg = max(options, key=lambda leg: leg.time_to_expiry)
    t = horizon_leg.time_to_expiry
    spot = horizon_leg.spot
    forward = forward_price(spot, horizon_leg.rate, horizon_leg.carry, t, horizon_leg.dividends)
    sd = ref_vol * math.sqrt(t)
    pos = np.array([[leg.position] for leg in legs], dtype=np.float64)
    edges = [0.0] + [spot * (1.0 + p / 100.0) for p in roots] + [math.inf]
    probability = 0.0
    for a, b in itertools.pairwise(edges):
        if not b > a:
            continue
        mid = 0.5 * (a + b) if math.isfinite(b) else (a + max(a, spot))
        spots = np.full((len(legs), 1), mid)
        value = float((pos * intrinsic(legs, spots)).sum() - cost)
        if value > 0.0:
            probability += _lognormal_cdf(b, forward, sd) - _lognormal_cdf(a, forward, sd)
    return min(max(probability, 0.0), 1.0)


def _lognormal_cdf(x: float, forward: float, sd: float) -> float:
    if x <= 0.0:
        return 0.0
    if not math.isfinite(x):
        return 1.0
    return float(ndtr((math.log(x / forward) + 0.5 * sd * sd) / sd))


def breakeven(pct: float, base_spots: dict[str, float]) -> Breakeven:
    """The breakeven at percent move ``pct`` with the spot of every underlying there."""
    return Breakeven(
        spot_move_pct=pct,
        spots={u: s * (1.0 + pct / 100.0) for u, s in base_spots.items()},
    )
