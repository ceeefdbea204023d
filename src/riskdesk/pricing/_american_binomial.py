"""Binomial lattices for American and European options, numba kernels.

* ``crr_scalar`` / ``crr_batch`` -- Cox-Ross-Rubinstein (1979) tree: ``u = exp(sigma
  sqrt(dt))``, ``d = 1/u``, risk-neutral ``p = (exp((r-q) dt) - d) / (u - d)``. An
  independent check of the analytic engines; its error is ``O(1/steps)`` and oscillates
  with the strike's position between nodes.
* ``bbsr_put_scalar`` -- binomial Black-Scholes with Richardson extrapolation (Broadie and
  Detemple 1996): the CRR tree with the last step replaced by the Black-Scholes value
  (``max(intrinsic, european)``), extrapolated as ``2 V(N) - V(N/2)``. This is the converged
  fallback for the regime the analytic engines do not cover (a put with ``q < r <= 0``,
  equivalently a call with ``r < q <= 0``, has two exercise boundaries).

Rates are continuously compounded, ``T`` in years (ACT/365F).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from riskdesk.pricing._american_math import zero_vol_put
from riskdesk.pricing._european import bsm_price_scalar

FALLBACK_STEPS = 4000  # BBSR steps of the double-boundary fallback (error ~5e-5 of strike)


@njit(cache=True, nogil=True, error_model="numpy")
def crr_scalar(
    S: float,
    K: float,
    T: float,
    r: float,
    q: float,
    sigma: float,
    is_call: bool,
    steps: int,
    american: bool,
    values: np.ndarray,
) -> float:
    """CRR value of one option; ``values`` is scratch of at least ``steps + 1`` doubles."""
    sign = 1.0 if is_call else -1.0
    intrinsic = max(sign * (S - K), 0.0)
    if T <= 0.0:
        return intrinsic
    if sigma <= 0.0:
        if not american:
            return math.exp(-r * T) * max(sign * (S * math.exp((r - q) * T) - K), 0.0)
        if is_call:
            return zero_vol_put(K, S, T, q, r)
        return zero_vol_put(S, K, T, r, q)
    n = steps
    dt = T / n
    u = math.exp(sigma * math.sqrt(dt))
    d = 1.0 / u
    disc = math.exp(-r * dt)
    p = (math.exp((r - q) * dt) - d) / (u - d)
    pu = disc * p
    pd = disc * (1.0 - p)
    u2 = u * u
    spot = S * d**n
    for j in range(n + 1):
        values[j] = max(sign * (spot - K), 0.0)
        spot *= u2
    for i in range(n - 1, -1, -1):
        spot = S * d**i
        for j in range(i + 1):
            cont = pu * values[j + 1] + pd * values[j]
            if american:
                ex = sign * (spot - K)
                values[j] = cont if cont > ex else ex
            else:
                values[j] = cont
            spot *= u2
    return float(values[0])


@njit(cache=True, nogil=True, error_model="numpy")
def _bbs_put(
    S: float, K: float, T: float, r: float, q: float, sigma: float, steps: int, values: np.ndarray
) -> float:
    """American put on a CRR tree whose last step is the Black-Scholes value."""
    n = steps
    dt = T / n
    u = math.exp(sigma * math.sqrt(dt))
    d = 1.0 / u
    disc = math.exp(-r * dt)
    p = (math.exp((r - q) * dt) - d) / (u - d)
    pu = disc * p
    pd = disc * (1.0 - p)
    u2 = u * u
    spot = S * d ** (n - 1)
    for j in range(n):
        # far below the strike the spot can underflow to 0, where the put is K e^{-r dt}
        euro = bsm_price_scalar(spot, K, dt, r, q, sigma, False) if spot > 0.0 else K * disc
        values[j] = max(K - spot, euro)
        spot *= u2
    for i in range(n - 2, -1, -1):
        spot = S * d**i
        for j in range(i + 1):
            cont = pu * values[j + 1] + pd * values[j]
            ex = K - spot
            values[j] = cont if cont > ex else ex
            spot *= u2
    return float(values[0])


@njit(cache=True, nogil=True, error_model="numpy")
def bbsr_put_scalar(
    S: float, K: float, T: float, r: float, q: float, sigma: float, steps: int
) -> float:
    """Richardson-extrapolated binomial Black-Scholes American put (``steps`` even, >= 4)."""
    values = np.empty(steps + 1)
    fine = _bbs_put(S, K, T, r, q, sigma, steps, values)
    coarse = _bbs_put(S, K, T, r, q, sigma, steps // 2, values)
    return max(2.0 * fine - coarse, K - S, bsm_price_scalar(S, K, T, r, q, sigma, False))


@njit(cache=True, nogil=True, parallel=True, error_model="numpy")
def crr_batch(
    S: np.ndarray,
    K: np.ndarray,
    T: np.ndarray,
    r: np.ndarray,
    q: np.ndarray,
    sigma: np.ndarray,
    is_call: np.ndarray,
    steps: int,
    american: bool,
) -> np.ndarray:
    """CRR values of equal-length 1-D arrays (one tree per option, options in parallel)."""
    n = S.shape[0]
    out = np.empty(n)
    for i in prange(n):
        values = np.empty(steps + 1)
        out[i] = crr_scalar(
            S[i], K[i], T[i], r[i], q[i], sigma[i], is_call[i], steps, american, values
        )
    return out
