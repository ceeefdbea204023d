"""Escrowed-dividend model: discrete cash dividends folded into the spot.

For an option expiring at ``T`` the spot is reduced by the present value of the dividends paid
strictly before expiry, ``PV = sum_j D_j exp(-r t_j) [0 <= t_j < T]``, and the model prices on the
escrowed spot ``S - PV``.  The kernel also returns the two sensitivities of ``PV`` the API needs
to express Greeks against the *quoted* spot and rate:

* ``dPV/dt = r * PV`` as calendar time passes (every ``t_j`` shrinks with ``T``), which adds
  ``-r PV`` times the corresponding spot derivative to theta, charm, color and veta;
* ``-dPV/dr = sum_j D_j t_j exp(-r t_j)``, which adds that times delta to rho.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange


@njit(cache=True, nogil=True)
def _escrow_one(
    S: float, r: float, T: float, times: np.ndarray, amounts: np.ndarray, row: int
) -> tuple[float, float, float]:
    pv = 0.0
    dur = 0.0
    for j in range(times.shape[1]):
        t = times[row, j]
        if t < T:
            d = amounts[row, j] * math.exp(-r * t)
            pv += d
            dur += d * t
    return S - pv, pv, dur


@njit(parallel=True, cache=True)
def escrow_kernel(
    S: np.ndarray,
    r: np.ndarray,
    T: np.ndarray,
    strides: np.ndarray,
    times: np.ndarray,
    amounts: np.ndarray,
    row_stride: int,
    n: int,
    s_out: np.ndarray,
    pv_out: np.ndarray,
    dur_out: np.ndarray,
) -> None:
    """Escrowed spot, PV of dividends before expiry and ``sum D_j t_j exp(-r t_j)`` per option.

    ``times``/``amounts`` are ``(1, m)`` (one schedule for all options, ``row_stride = 0``) or
    ``(n, m)`` (``row_stride = 1``).
    """
    for i in prange(n):
        row = i * row_stride
        s_out[i], pv_out[i], dur_out[i] = _escrow_one(
            S[i * strides[0]], r[i * strides[1]], T[i * strides[2]], times, amounts, row
        )
