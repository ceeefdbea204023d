"""Spot-scenario revaluation kernels: what spot does not change is computed once.

A scenario grid moves spot (and volatility) while strike, time, rate and yield stay put, so
the kernels here split every price into a spot-independent part, computed once per position
(and per volatility shock), and a spot-dependent part evaluated for every scenario:

* :func:`european_scenario_prices` (BSM): per position ``ln(S0/K)``, ``(r - q) T``,
  ``sqrt(T)``, ``e^{-qT}`` and ``K e^{-rT}`` come in precomputed; per underlying and scenario
  ``1 + shock`` and ``log1p(shock)``. Per price only ``sigma sqrt(T)``, a division and the
  two normal cdfs remain, written with the branch-free ``vncdf`` of
  :mod:`riskdesk.pricing._vmath` (no libm call, no branch: the inner loop over the positions
  of one underlying vectorizes). Prices agree with :func:`riskdesk.pricing.price` to
  ``1e-12`` relative or ``1e-12`` absolute
  (``tests/unit/analytics/test_revalue_scenario_engine.py``).
* :func:`american_bs2002_scenario_prices` (Bjerksund-Stensland 2002): per position and
  distinct volatility the exponent ``beta`` and the triggers ``I1, I2``
  (:func:`~riskdesk.pricing._american_bs2002.bs2002_boundary`); per spot the library's own
  spot-dependent formula (:func:`~riskdesk.pricing._american_bs2002.bs2002_call_value`), the
  European floor and intrinsic. A put is the call ``C(K, S, T, q, r)``, whose "strike" is the
  spot, so a put's triggers are recomputed per spot: scaling unit-strike triggers by
  homogeneity (``S C(K/S, 1, T, q, r)``) would be cheaper, but the formula's cancelling
  terms amplify those 1-ulp changes of the triggers to ``1e-9`` relative. Routing follows ``_american_kernels.american_scalar``: ``T = 0`` intrinsic,
  the early-exercise-never-optimal route the European value; the two-boundary route (and
  any non-finite engine value) is returned as NaN for the caller to price on the library
  path (the converged lattice). Prices agree with the library's BS2002 to ``1e-10``
  relative.

Both kernels write a ``(scenarios, positions)`` price block into a caller's ``out`` buffer and
are ``prange``-parallel. Inputs are assumed valid (``S0, K > 0``, ``T >= 0``, ``vol > 0``,
``min_vol > 0``, ``1 + shock > 0``), as :class:`riskdesk.analytics.revalue.OptionBook`
guarantees. Discrete dividends are not handled here: :func:`riskdesk.analytics.revalue_book`
prices positions that carry them on the library path.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from riskdesk.pricing._american_bs2002 import bs2002_boundary, bs2002_call_value
from riskdesk.pricing._american_math import (
    ROUTE_EUROPEAN,
    ROUTE_INTRINSIC,
    ROUTE_SINGLE_BOUNDARY,
    put_route,
)
from riskdesk.pricing._vmath import vncdf

__all__ = [
    "american_bs2002_scenario_prices",
    "european_scenario_prices",
    "weighted_row_sums",
]


@njit(inline="always", cache=True, nogil=True, error_model="numpy")
def _bsm_value(
    S: float, x: float, sd: float, alive: bool, dq: float, dr_k: float, K: float, w: float
) -> float:
    """BSM value from ``x = ln(F/K)`` and ``sd = sigma sqrt(T)``; intrinsic when not ``alive``.

    Both branches are computed and one is selected, so a vector lane never waits.
    """
    sd_safe = sd if alive else 1.0
    d1 = x / sd_safe + 0.5 * sd_safe
    d2 = d1 - sd_safe
    value = max(w * (S * dq * vncdf(w * d1) - dr_k * vncdf(w * d2)), 0.0)
    intrinsic = max(w * (S - K), 0.0)
    return value if alive else intrinsic


@njit(cache=True, nogil=True, parallel=True, error_model="numpy")
def european_scenario_prices(
    s0: np.ndarray,
    strike: np.ndarray,
    ln_s0k: np.ndarray,
    drift_t: np.ndarray,
    sqrt_t: np.ndarray,
    dq: np.ndarray,
    dr_k: np.ndarray,
    alive: np.ndarray,
    vol: np.ndarray,
    w: np.ndarray,
    segments: np.ndarray,
    factor: np.ndarray,
    log_factor: np.ndarray,
    dvol: np.ndarray,
    min_vol: float,
    weights: np.ndarray,
    values: np.ndarray,
    out: np.ndarray,
    keep: bool,
) -> None:
    """BSM prices of ``n`` positions in ``k`` spot/vol scenarios and their weighted sums.

    ``values[r]`` is the ``weights``-weighted sum of scenario ``r``'s prices, summed while the
    row is still in cache; the prices themselves go to ``out[:k, :n]`` only when ``keep``
    (otherwise to a per-row scratch buffer, so no price block travels through memory).

    Parameters
    ----------
    s0, strike : numpy.ndarray
        Spot of each position's underlying and its strike, ``(n,)``.
    ln_s0k, drift_t, sqrt_t, dq, dr_k : numpy.ndarray
        ``ln(S0/K)``, ``(r - q) T``, ``sqrt(T)``, ``e^{-qT}``, ``K e^{-rT}`` per position.
    alive : numpy.ndarray
        ``T > 0`` per position (``False``: valued at intrinsic).
    vol, w : numpy.ndarray
        Volatility and ``+1`` (call) / ``-1`` (put) per position.
    segments : numpy.ndarray
        ``(m + 1,)`` offsets: positions ``segments[j]:segments[j+1]`` are on underlying ``j``
        (the caller sorts positions by underlying).
    factor, log_factor : numpy.ndarray
        ``1 + shock`` and ``log1p(shock)`` per scenario and underlying, ``(k, m)``.
    dvol : numpy.ndarray
        Absolute volatility shock (decimal) per scenario, ``(k,)``.
    min_vol : float
        Floor of the shocked volatility.
    weights : numpy.ndarray
        Weight (signed position) of each position, ``(n,)``.
    values : numpy.ndarray
        ``(k,)`` output: the weighted sum per scenario.
    out : numpy.ndarray
        ``(>= k, >= n)`` price buffer, written when ``keep``.
    keep : bool
        Whether to keep the prices in ``out``.

    """
    k = factor.shape[0]
    m = segments.shape[0] - 1
    n = s0.shape[0]
    for row in prange(k):
        buf = out[row] if keep else np.empty(n)
        dv = dvol[row]
        for j in range(m):
            f = factor[row, j]
            lf = log_factor[row, j]
            for i in range(segments[j], segments[j + 1]):
                sigma = max(vol[i] + dv, min_vol)
                buf[i] = _bsm_value(
                    s0[i] * f,
                    ln_s0k[i] + lf + drift_t[i],
                    sigma * sqrt_t[i],
                    alive[i],
                    dq[i],
                    dr_k[i],
                    strike[i],
                    w[i],
                )
        values[row] = _dot(buf, weights)


@njit(cache=True, nogil=True, parallel=True, error_model="numpy")
def american_bs2002_scenario_prices(
    s0: np.ndarray,
    strike: np.ndarray,
    ttm: np.ndarray,
    rate: float,
    carry: np.ndarray,
    vol: np.ndarray,
    is_call: np.ndarray,
    underlying: np.ndarray,
    factor: np.ndarray,
    vol_groups: np.ndarray,
    group_dvol: np.ndarray,
    order: np.ndarray,
    min_vol: float,
    out: np.ndarray,
) -> None:
    """American (BS2002) prices of ``n`` positions in ``k`` scenarios, into ``out[:k, :n]``.

    Parameters
    ----------
    s0, strike, ttm : numpy.ndarray
        Per position ``(n,)``: underlying spot, strike, time to expiry (``>= 0``).
    rate : float
        The book's continuously compounded rate.
    carry, vol, is_call : numpy.ndarray
        Per position: yield, volatility and call flag.
    underlying : numpy.ndarray
        Column of ``factor`` of each position.
    factor : numpy.ndarray
        ``1 + shock`` per scenario and underlying, ``(k, m)``.
    vol_groups, group_dvol, order : numpy.ndarray
        Scenarios grouped by volatility shock: group ``g`` holds the scenarios
        ``order[vol_groups[g]:vol_groups[g+1]]``, all with the shock ``group_dvol[g]``
        (decimal), so the spot-independent part is computed once per position and group.
    min_vol : float
        Floor of the shocked volatility.
    out : numpy.ndarray
        ``(>= k, >= n)`` output buffer; NaN where the caller must use the library path.

    """
    n = s0.shape[0]
    n_groups = group_dvol.shape[0]
    for i in prange(n):
        K = strike[i]
        T = ttm[i]
        q = carry[i]
        call = is_call[i]
        w = 1.0 if call else -1.0
        # the put-normalised rate and yield (a call is the put P(K, S, T, q, r))
        rp = q if call else rate
        qp = rate if call else q
        dq = math.exp(-q * T)
        dr_k = K * math.exp(-rate * T)
        drift_t = (rate - q) * T
        sqrt_t = math.sqrt(T)
        ln_s0k = math.log(s0[i] / K)
        j = underlying[i]
        for g in range(n_groups):
            sigma = max(vol[i] + group_dvol[g], min_vol)
            route = put_route(T, rp, qp, sigma)
            sd = sigma * sqrt_t
            lo, hi = vol_groups[g], vol_groups[g + 1]
            if route in (ROUTE_INTRINSIC, ROUTE_EUROPEAN):
                for p in range(lo, hi):
                    row = order[p]
                    f = factor[row, j]
                    out[row, i] = _bsm_value(
                        s0[i] * f,
                        ln_s0k + math.log(f) + drift_t,
                        sd,
                        T > 0.0,
                        dq,
                        dr_k,
                        K,
                        w,
                    )
                continue
            if route != ROUTE_SINGLE_BOUNDARY:
                for p in range(lo, hi):
                    out[order[p], i] = math.nan
                continue
            # a call is C(S, K, T, r, q): its triggers do not depend on spot. A put is the call
            # C(K, S, T, q, r) whose "strike" is the spot, so its triggers are recomputed per
            # spot (scaling unit-strike triggers instead moves values by up to 1e-9 relative).
            beta, i1, i2 = bs2002_boundary(K, T, qp, rp, sigma)
            for p in range(lo, hi):
                row = order[p]
                S = s0[i] * factor[row, j]
                european = _bsm_value(
                    S, ln_s0k + math.log(factor[row, j]) + drift_t, sd, True, dq, dr_k, K, w
                )
                intrinsic = max(w * (S - K), 0.0)
                sc, kc = S, K
                if not call:
                    sc, kc = K, S
                    beta, i1, i2 = bs2002_boundary(S, T, qp, rp, sigma)
                if math.isnan(beta):
                    out[row, i] = math.nan
                elif i2 <= sc:
                    out[row, i] = max(intrinsic, european)
                else:
                    value = bs2002_call_value(math.log(sc), kc, T, qp, rp, sigma, beta, i1, i2)
                    out[row, i] = max(value, european, intrinsic) if math.isfinite(value) else value


@njit(cache=True, nogil=True, error_model="numpy", fastmath={"reassoc", "contract"})
def _dot(row: np.ndarray, weights: np.ndarray) -> float:
    """``row[:n] @ weights`` (``n = weights.size``), reassociated so it vectorizes.

    The order depends only on ``n``, so chunked and whole revaluations sum alike.
    """
    total = 0.0
    for i in range(weights.shape[0]):
        total += row[i] * weights[i]
    return total


@njit(cache=True, nogil=True, parallel=True, error_model="numpy")
def weighted_row_sums(block: np.ndarray, weights: np.ndarray, out: np.ndarray) -> None:
    """``out[r] = block[r, :n] @ weights`` for every row of ``out``.

    Each row's sum has a fixed order whatever the number of rows, so chunked and whole
    revaluations give identical totals.
    """
    for row in prange(out.shape[0]):
        out[row] = _dot(block[row], weights)
