"""Batch numba kernels of the American engines: routing, prices and implied volatility.

Every option is first normalised to a put with the McDonald-Schroder symmetry
``C(S, K, T, r, q, sigma) = P(K, S, T, q, r, sigma)`` and routed (``put_route``):

* ``T == 0``: intrinsic value;
* ``sigma == 0``: the best deterministic exercise time (``zero_vol_put``);
* ``r <= 0 and q >= r``: early exercise is never optimal, the European BSM value (so a call
  with ``q <= 0 <= r`` and a put with ``r <= 0 <= q`` are exactly European);
* ``q < r <= 0``: two exercise boundaries (for ``r < 0``), which neither analytic engine
  handles (nor the edge ``r = 0 > q``); the value is a Richardson-extrapolated binomial
  Black-Scholes lattice (``bbsr_put_scalar``) instead of a silently wrong number;
* otherwise (``r > 0``) the engine: Bjerksund-Stensland (2002) or ALO (QD+ seeded). Should an
  engine ever return a non-finite value the lattice is used as well.

Engine codes: ``0`` Bjerksund-Stensland 2002, ``1`` ALO.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from riskdesk.pricing import _status
from riskdesk.pricing._american_alo import alo_put
from riskdesk.pricing._american_binomial import FALLBACK_STEPS, bbsr_put_scalar
from riskdesk.pricing._american_bs2002 import bs2002_call_core
from riskdesk.pricing._american_math import (
    ROUTE_DOUBLE_BOUNDARY,
    ROUTE_EUROPEAN,
    ROUTE_INTRINSIC,
    ROUTE_ZERO_VOL,
    put_route,
    zero_vol_put,
)
from riskdesk.pricing._european import bsm_price_scalar
from riskdesk.pricing._normal import norm_pdf

ENGINE_BS2002 = 0
ENGINE_ALO = 1

_OK = np.int8(_status.OK)
_BELOW_INTRINSIC = np.int8(_status.BELOW_INTRINSIC)
_ABOVE_UPPER_BOUND = np.int8(_status.ABOVE_UPPER_BOUND)
_NO_TIME_VALUE = np.int8(_status.NO_TIME_VALUE)
_INVALID_INPUT = np.int8(_status.INVALID_INPUT)
_NOT_CONVERGED = np.int8(_status.NOT_CONVERGED)

SIGMA_MAX = 64.0  # the implied-vol search stops here (6400% volatility)
IV_VOL_TOL = 1e-10  # implied-vol tolerance in volatility
IV_PRICE_RTOL = 1e-12  # ... or relative tolerance in price
TIME_VALUE_RTOL = 1e-10  # |price - lower bound| below this times max(S, K): no time value


@njit(cache=True, nogil=True, error_model="numpy")
def american_scalar(
    S: float,
    K: float,
    T: float,
    r: float,
    q: float,
    sigma: float,
    is_call: bool,
    engine: int,
    frac: np.ndarray,
    fp1: np.ndarray,
    interp1: np.ndarray,
    fp: np.ndarray,
    interp: np.ndarray,
    pr: np.ndarray,
    pr_interp: np.ndarray,
    m: int,
    work: np.ndarray,
    last: np.ndarray,
) -> float:
    """American value of one option (see the module docstring for the routing).

    ``work`` and ``last`` are the ALO engine's scratch and the key of the boundary it holds
    (see ``alo_put``): options of a batch that share ``T, r, q, sigma`` after the call-to-put
    mapping solve the exercise boundary once.
    """
    if is_call:
        sp, kp, rp, qp = K, S, q, r
    else:
        sp, kp, rp, qp = S, K, r, q
    route = put_route(T, rp, qp, sigma)
    if route == ROUTE_INTRINSIC:
        return max(kp - sp, 0.0)
    if route == ROUTE_ZERO_VOL:
        return zero_vol_put(sp, kp, T, rp, qp)
    if route == ROUTE_EUROPEAN:
        return bsm_price_scalar(S, K, T, r, q, sigma, is_call)
    if route == ROUTE_DOUBLE_BOUNDARY:
        return bbsr_put_scalar(sp, kp, T, rp, qp, sigma, FALLBACK_STEPS)
    if engine == ENGINE_BS2002:
        value = bs2002_call_core(kp, sp, T, qp, rp, sigma)
    else:
        value = alo_put(
            sp, kp, T, rp, qp, sigma, frac, fp1, interp1, fp, interp, pr, pr_interp, m, work, last
        )
    if not math.isfinite(value):
        value = bbsr_put_scalar(sp, kp, T, rp, qp, sigma, FALLBACK_STEPS)
    return value


@njit(cache=True, nogil=True, parallel=True, error_model="numpy")
def price_batch(
    S: np.ndarray,
    K: np.ndarray,
    T: np.ndarray,
    r: np.ndarray,
    q: np.ndarray,
    sigma: np.ndarray,
    is_call: np.ndarray,
    engine: int,
    frac: np.ndarray,
    fp1: np.ndarray,
    interp1: np.ndarray,
    fp: np.ndarray,
    interp: np.ndarray,
    pr: np.ndarray,
    pr_interp: np.ndarray,
    m: int,
    work_len: int,
    n_chunks: int,
) -> np.ndarray:
    """American values of equal-length 1-D arrays, in ``n_chunks`` parallel chunks."""
    n = S.shape[0]
    out = np.empty(n)
    for c in prange(n_chunks):
        work = np.empty(work_len)
        last = np.zeros(5)  # no boundary held yet
        for i in range(c * n // n_chunks, (c + 1) * n // n_chunks):
            out[i] = american_scalar(
                S[i],
                K[i],
                T[i],
                r[i],
                q[i],
                sigma[i],
                is_call[i],
                engine,
                frac,
                fp1,
                interp1,
                fp,
                interp,
                pr,
                pr_interp,
                m,
                work,
                last,
            )
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def route_batch(
    T: np.ndarray, r: np.ndarray, q: np.ndarray, sigma: np.ndarray, is_call: np.ndarray
) -> np.ndarray:
    """Valuation route (``ROUTE_*``) of every option, after the call-to-put mapping."""
    out = np.empty(T.shape[0], dtype=np.int8)
    for i in range(T.shape[0]):
        if is_call[i]:
            out[i] = put_route(T[i], q[i], r[i], sigma[i])
        else:
            out[i] = put_route(T[i], r[i], q[i], sigma[i])
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def _bsm_vega(S: float, K: float, T: float, r: float, q: float, sigma: float) -> float:
    sd = sigma * math.sqrt(T)
    d1 = math.log(S * math.exp((r - q) * T) / K) / sd + 0.5 * sd
    return S * math.exp(-q * T) * norm_pdf(d1) * math.sqrt(T)


@njit(cache=True, nogil=True, error_model="numpy")
def european_iv(
    price: float, S: float, K: float, T: float, r: float, q: float, is_call: bool
) -> float:
    """European BSM implied volatility (Newton inside a bisection bracket).

    Only used to seed the American solver: a price at or below the European lower bound
    gives a tiny volatility, one at or above the upper bound gives ``SIGMA_MAX``.
    """
    lo = 0.0
    hi = SIGMA_MAX
    lower = bsm_price_scalar(S, K, T, r, q, 0.0, is_call)
    upper = S * math.exp(-q * T) if is_call else K * math.exp(-r * T)
    if price <= lower:
        return 1e-4
    if price >= upper:
        return SIGMA_MAX
    # Brenner-Subrahmanyam start, clipped into the bracket
    x = math.sqrt(2.0 * math.pi / T) * price / (0.5 * (S * math.exp(-q * T) + K * math.exp(-r * T)))
    x = min(max(x, 1e-3), 5.0)
    for _ in range(100):
        f = bsm_price_scalar(S, K, T, r, q, x, is_call) - price
        if f > 0.0:
            hi = x
        else:
            lo = x
        if abs(f) <= 1e-13 * price or hi - lo <= 1e-13:
            return x
        vega = _bsm_vega(S, K, T, r, q, x)
        x_new = x - f / vega if vega > 0.0 else 0.5 * (lo + hi)
        if not (lo < x_new < hi):
            x_new = 0.5 * (lo + hi)
        x = x_new
    return x


@njit(cache=True, nogil=True, error_model="numpy")
def iv_scalar(
    price: float,
    S: float,
    K: float,
    T: float,
    r: float,
    q: float,
    is_call: bool,
    engine: int,
    frac: np.ndarray,
    fp1: np.ndarray,
    interp1: np.ndarray,
    fp: np.ndarray,
    interp: np.ndarray,
    pr: np.ndarray,
    pr_interp: np.ndarray,
    m: int,
    work: np.ndarray,
    last: np.ndarray,
) -> tuple[float, np.int8]:
    """Implied volatility of one American price and its status code.

    The value is increasing in ``sigma`` from ``L`` = the zero-volatility American value
    (``>= intrinsic``) to ``U`` = ``S`` for a call, ``K`` for a put. A price below ``L``
    (beyond a tolerance of ``1e-10 max(S, K)``) is ``below_intrinsic``, one within it has
    ``no_time_value`` (the volatility is not identified: NaN), one at or above ``U`` (``S``
    or ``K`` grown by ``e^{-qT}`` resp. ``e^{-rT}`` when that yield is negative) is
    ``above_upper_bound``. Otherwise: ``x0`` = the European implied volatility of the price,
    ``x1`` = that of the price net of the early-exercise premium at ``x0``, then secant steps
    kept inside the bracket ``[lo, hi]`` of evaluated signs (``lo`` starts at 0 where
    ``f = L - price < 0``; bisection when a step leaves it, doubling while no upper end is
    known, up to ``SIGMA_MAX``), to ``1e-10`` in volatility or ``1e-12`` relative in price.
    """
    nan = math.nan
    if not (
        math.isfinite(price)
        and math.isfinite(S)
        and math.isfinite(K)
        and math.isfinite(T)
        and math.isfinite(r)
        and math.isfinite(q)
    ):
        return nan, _INVALID_INPUT
    if price < 0.0 or S <= 0.0 or K <= 0.0 or T < 0.0:
        return nan, _INVALID_INPUT
    # sup over sigma: S for a call (S e^{-qT} if q < 0), K for a put (K e^{-rT} if r < 0)
    upper = S * max(1.0, math.exp(-q * T)) if is_call else K * max(1.0, math.exp(-r * T))
    tol = TIME_VALUE_RTOL * max(S, K)
    if is_call:
        lower = zero_vol_put(K, S, T, q, r) if T > 0.0 else max(S - K, 0.0)
    else:
        lower = zero_vol_put(S, K, T, r, q) if T > 0.0 else max(K - S, 0.0)
    if price < lower - tol:
        return nan, _BELOW_INTRINSIC
    if price <= lower + tol:
        return nan, _NO_TIME_VALUE
    if price >= upper or T <= 0.0:
        return nan, _ABOVE_UPPER_BOUND
    ftol = IV_PRICE_RTOL * price

    # seed: European IV of the price; then the European IV of the price net of the
    # early-exercise premium found there (about a Newton step with the European vega)
    x0 = european_iv(price, S, K, T, r, q, is_call)
    f0 = (
        american_scalar(
            S,
            K,
            T,
            r,
            q,
            x0,
            is_call,
            engine,
            frac,
            fp1,
            interp1,
            fp,
            interp,
            pr,
            pr_interp,
            m,
            work,
            last,
        )
        - price
    )
    if abs(f0) <= ftol:
        return x0, _OK
    lo, hi = 0.0, math.inf  # f(lo) < 0 < f(hi): f increases with sigma, f(0) = lower - price
    if f0 > 0.0:
        hi = x0
    else:
        lo = x0
    premium = f0 + price - bsm_price_scalar(S, K, T, r, q, x0, is_call)
    x1 = european_iv(price - premium, S, K, T, r, q, is_call)
    if not (lo < x1 < hi) or x1 == x0:
        x1 = min(2.0 * lo, SIGMA_MAX) if hi == math.inf else 0.5 * (lo + hi)
    # safeguarded secant: bisection when a step leaves the bracket, doubling until bracketed
    for _ in range(200):
        f1 = (
            american_scalar(
                S,
                K,
                T,
                r,
                q,
                x1,
                is_call,
                engine,
                frac,
                fp1,
                interp1,
                fp,
                interp,
                pr,
                pr_interp,
                m,
                work,
                last,
            )
            - price
        )
        if abs(f1) <= ftol:
            return x1, _OK
        if f1 > 0.0:
            hi = x1
        else:
            lo = x1
            if x1 >= SIGMA_MAX:
                return nan, _NOT_CONVERGED
        if hi - lo <= IV_VOL_TOL:
            return 0.5 * (lo + hi), _OK
        x2 = x1 - f1 * (x1 - x0) / (f1 - f0) if f1 != f0 else math.nan
        if not (lo < x2 < hi):
            x2 = min(2.0 * lo, SIGMA_MAX) if hi == math.inf else 0.5 * (lo + hi)
        else:
            # The secant converges superlinearly (e_{k+1} ~ C e_k e_{k-1}), so the error left
            # in x2 is about |x2 - x1| times the step ratio; accept x2 unevaluated when that
            # is ten times below the volatility tolerance.
            step = abs(x2 - x1)
            ratio = step / abs(x1 - x0) if x1 != x0 else 1.0
            if step <= 0.1 * IV_VOL_TOL or (ratio < 0.1 and step * ratio <= 0.1 * IV_VOL_TOL):
                return x2, _OK
        x0, f0 = x1, f1
        x1 = x2
    return nan, _NOT_CONVERGED


@njit(cache=True, nogil=True, parallel=True, error_model="numpy")
def iv_batch(
    price: np.ndarray,
    S: np.ndarray,
    K: np.ndarray,
    T: np.ndarray,
    r: np.ndarray,
    q: np.ndarray,
    is_call: np.ndarray,
    engine: int,
    frac: np.ndarray,
    fp1: np.ndarray,
    interp1: np.ndarray,
    fp: np.ndarray,
    interp: np.ndarray,
    pr: np.ndarray,
    pr_interp: np.ndarray,
    m: int,
    work_len: int,
    n_chunks: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Implied volatilities and status codes of equal-length 1-D arrays (parallel chunks)."""
    n = S.shape[0]
    iv = np.empty(n)
    status = np.empty(n, dtype=np.int8)
    for c in prange(n_chunks):
        work = np.empty(work_len)
        last = np.zeros(5)  # no boundary held yet
        for i in range(c * n // n_chunks, (c + 1) * n // n_chunks):
            iv[i], status[i] = iv_scalar(
                price[i],
                S[i],
                K[i],
                T[i],
                r[i],
                q[i],
                is_call[i],
                engine,
                frac,
                fp1,
                interp1,
                fp,
                interp,
                pr,
                pr_interp,
                m,
                work,
                last,
            )
    return iv, status
