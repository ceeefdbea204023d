"""Scalar normal-distribution helpers compiled with numba.

All functions are ``@njit(cache=True)`` scalars, callable from other numba kernels
(the American engines import them) and from Python.

* ``norm_pdf(x)``  -- standard normal density.
* ``norm_cdf(x)``  -- standard normal distribution function, accurate in relative terms in
  both tails (``0.5 * erfc(-x / sqrt(2))``; no ``1 - Phi`` cancellation).
* ``erfcx(x)``     -- scaled complementary error function ``exp(x**2) * erfc(x)``, accurate to a
  few ulp for every finite ``x`` (no overflow for large positive ``x``).
* ``mills_ratio(u)`` -- ``R(u) = Phi(-u) / phi(u)``.
"""

from __future__ import annotations

import math

from numba import njit

SQRT_2PI = 2.5066282746310002
INV_SQRT_2PI = 0.3989422804014327
SQRT_2 = 1.4142135623730951
INV_SQRT_2 = 0.7071067811865476
SQRT_PI_OVER_2 = 1.2533141373155003
INV_SQRT_PI = 0.5641895835477563


@njit(cache=True, nogil=True)
def norm_pdf(x: float) -> float:
    """Standard normal density ``exp(-x**2/2) / sqrt(2*pi)``."""
    return INV_SQRT_2PI * math.exp(-0.5 * x * x)


@njit(cache=True, nogil=True)
def norm_cdf(x: float) -> float:
    """Standard normal distribution function, relatively accurate in both tails."""
    return 0.5 * math.erfc(-x * INV_SQRT_2)


@njit(cache=True, nogil=True)
def _exp_square(x: float) -> float:
    """``exp(x*x)`` with the square split exactly so large ``x`` keeps full accuracy."""
    xh = math.floor(x * 4096.0) / 4096.0
    return math.exp(xh * xh) * math.exp((x - xh) * (x + xh))


@njit(cache=True, nogil=True)
def _erfcx_positive(x: float) -> float:
    """``erfcx`` for ``x >= 0``."""
    if x < 0.5:
        return math.exp(x * x) * math.erfc(x)
    if x < 26.0:
        return _exp_square(x) * math.erfc(x)
    # Asymptotic series 1/(x sqrt(pi)) * sum (-1)^k (2k-1)!! / (2x^2)^k; 10 terms give
    # relative error below 1e-19 for x >= 26.
    z = 1.0 / (2.0 * x * x)
    s = 1.0
    term = 1.0
    for k in range(1, 11):
        term *= -(2.0 * k - 1.0) * z
        s += term
    return INV_SQRT_PI * s / x


@njit(cache=True, nogil=True)
def erfcx(x: float) -> float:
    """Scaled complementary error function ``exp(x**2) * erfc(x)``.

    Overflows to ``inf`` only for ``x < -26.6`` (where the true value exceeds the double range).
    """
    if x >= 0.0:
        return _erfcx_positive(x)
    if x > -0.5:
        return math.exp(x * x) * math.erfc(x)
    return 2.0 * _exp_square(x) - _erfcx_positive(-x)


@njit(cache=True, nogil=True)
def mills_ratio(u: float) -> float:
    """Mills ratio ``R(u) = Phi(-u) / phi(u) = sqrt(pi/2) * erfcx(u / sqrt(2))``."""
    return SQRT_PI_OVER_2 * erfcx(u * INV_SQRT_2)
