"""Normalised Black function and cancellation-free building blocks (numba scalars).

Notation follows Jaeckel, "Let's Be Rational" (2015): for log-moneyness ``x = ln(F/K)`` and total
volatility ``s = sigma*sqrt(T)`` the *normalised* Black call value is

    b(x, s) = exp(x/2) * Phi(x/s + s/2) - exp(-x/2) * Phi(x/s - s/2),

so that an undiscounted call is ``sqrt(F*K) * b(x, s)`` and a put is ``sqrt(F*K) * b(-x, s)``.

For an out-of-the-money call (``x <= 0``) the two terms cancel.  Writing ``h = x/s``,
``t = s/2`` and ``R(u) = Phi(-u)/phi(u)`` (Mills ratio) one has exactly

    b = A * (R(-h - t) - R(-h + t)),     A = exp(-(h*h + t*t)/2) / sqrt(2*pi) = db/ds,

and the difference of Mills ratios is evaluated without cancellation:

* ``t <= 0.2``: odd Taylor series in ``t`` around ``u0 = -h`` using the derivative recursion
  ``R' = u R - 1``, ``R^(n+1) = n R^(n-1) + u R^(n)``;
* otherwise directly from ``erfcx`` (the relative loss is at most ``u/(2t)``, a few bits);
* ``h + t > 0.85`` (the first term dominates): the plain two-term formula.

``G(u) = 1 - u R(u)`` (the normalised Bachelier value) is computed from Laplace's continued
fraction for large ``u``, where ``1 - u R(u)`` would lose ``log10(u**2)`` digits.

Also here: error-free transformations (``two_sum``, ``two_prod``) and an accurately rounded
log-moneyness, because the relative error of a far out-of-the-money value is ``|h|/s`` times the
absolute error of ``x``.
"""

from __future__ import annotations

import math

from numba import njit

from riskdesk.pricing._normal import INV_SQRT_2, INV_SQRT_2PI, mills_ratio

_TAYLOR_T_MAX = 0.2
_CF_U_MIN = 6.0


@njit(cache=True, nogil=True)
def two_sum(a: float, b: float) -> tuple[float, float]:
    """Knuth's error-free sum: ``a + b == s + e`` exactly."""
    s = a + b
    bb = s - a
    e = (a - (s - bb)) + (b - bb)
    return s, e


@njit(cache=True, nogil=True)
def _split(a: float) -> tuple[float, float]:
    c = 134217729.0 * a
    hi = c - (c - a)
    return hi, a - hi


@njit(cache=True, nogil=True)
def two_prod(a: float, b: float) -> tuple[float, float]:
    """Dekker's error-free product: ``a * b == p + e`` exactly (barring over/underflow)."""
    p = a * b
    ah, al = _split(a)
    bh, bl = _split(b)
    e = ((ah * bh - p) + ah * bl + al * bh) + al * bl
    return p, e


@njit(cache=True, nogil=True)
def log_ratio(S: float, K: float) -> tuple[float, float]:
    """``ln(S/K)`` as an unevaluated sum ``hi + lo`` (the division's rounding is recovered)."""
    ratio = S / K
    p, pe = two_prod(ratio, K)
    rem = (S - p) - pe
    return math.log(ratio), rem / S


@njit(cache=True, nogil=True)
def log_moneyness(S: float, K: float, b: float, T: float) -> tuple[float, float]:
    """``(ln(S/K) + b*T, ln(S/K))``, each correctly rounded to within an ulp or so."""
    l_hi, l_lo = log_ratio(S, K)
    c, ce = two_prod(b, T)
    x, xe = two_sum(l_hi, c)
    return x + (xe + (l_lo + ce)), l_hi + l_lo


@njit(cache=True, nogil=True)
def mills_and_g(u: float) -> tuple[float, float]:
    """``(R(u), G(u))`` with ``R`` the Mills ratio and ``G(u) = 1 - u R(u)``, for ``u >= 0``.

    Both are accurate in relative terms; for ``u > 6`` Laplace's continued fraction
    ``R = 1/(u + T1)``, ``T1 = 1/(u + 2/(u + 3/(u + ...)))`` gives ``G = T1 * R`` directly.
    """
    if u <= _CF_U_MIN:
        r = mills_ratio(u)
        return r, 1.0 - u * r
    if u < 10.0:
        n = 22
    elif u < 20.0:
        n = 12
    else:
        n = 8
    tail = 0.0
    for k in range(n, 1, -1):
        tail = k / (u + tail)
    t1 = 1.0 / (u + tail)
    r = 1.0 / (u + t1)
    return r, t1 * r


@njit(cache=True, nogil=True)
def bachelier_g(u: float) -> float:
    """``G(u) = 1 - u R(u)`` for ``u >= 0``: normalised OTM Bachelier value ``psi(-u)/phi(u)``."""
    return mills_and_g(u)[1]


@njit(cache=True, nogil=True)
def _mills_difference_taylor(u0: float, t: float) -> float:
    """``R(u0 - t) - R(u0 + t)`` for ``0 < t <= 0.2`` and ``u0 >= 0`` by the odd Taylor series."""
    r0, g0 = mills_and_g(u0)
    # derivatives R^(n), n = 0..13, by the forward recursion
    d_prev = r0  # R^(n-1)
    d_cur = -g0  # R^(n) with n = 1
    t2 = t * t
    acc = d_cur  # coefficient of t: R'
    coef = 1.0
    n = 1
    while n < 13:
        d_next = n * d_prev + u0 * d_cur  # R^(n+1)
        d_prev, d_cur = d_cur, d_next
        n += 1
        d_next = n * d_prev + u0 * d_cur  # R^(n+1), odd order
        d_prev, d_cur = d_cur, d_next
        n += 1
        coef *= t2 / ((n - 1) * n)
        acc += coef * d_cur
    return -2.0 * t * acc


@njit(cache=True, nogil=True)
def gaussian_weight(x: float, s: float, h: float, t: float) -> float:
    """``exp(-(h*h + t*t)/2) / sqrt(2 pi)`` with ``h = x/s``, ``t = s/2`` rounded once.

    The rounding of ``x/s`` and of the squares is carried to first order, so the result is
    accurate to a few ulp even where ``h*h/2`` is several hundred.
    """
    hp, hpe = two_prod(h, s)
    h_lo = ((x - hp) - hpe) / s
    p, pe = two_prod(h, h)
    q, qe = two_prod(t, t)
    pq, pqe = two_sum(p, q)
    e_hi = -0.5 * pq
    e_lo = -0.5 * (pqe + pe + qe + 2.0 * h * h_lo)
    return INV_SQRT_2PI * math.exp(e_hi) * (1.0 + e_lo)


@njit(cache=True, nogil=True)
def normalised_black_otm(x: float, s: float) -> float:
    """Normalised Black call value ``b(x, s)`` for ``x <= 0``, ``s > 0`` (no cancellation)."""
    h = x / s
    t = 0.5 * s
    if h + t > 0.85:
        return math.exp(0.5 * x) * 0.5 * math.erfc(-(h + t) * INV_SQRT_2) - math.exp(
            -0.5 * x
        ) * 0.5 * math.erfc(-(h - t) * INV_SQRT_2)
    a = gaussian_weight(x, s, h, t)
    if a == 0.0:
        return 0.0
    u0 = -h
    if t <= _TAYLOR_T_MAX:
        diff = _mills_difference_taylor(u0, t)
    else:
        diff = mills_ratio(u0 - t) - mills_ratio(u0 + t)
    return a * diff


@njit(cache=True, nogil=True)
def normalised_black_otm_complement(x: float, s: float) -> float:
    """``exp(x/2) - b(x, s)`` for ``x <= 0``: distance of an OTM call to its upper bound."""
    h = x / s
    t = 0.5 * s
    return math.exp(0.5 * x) * 0.5 * math.erfc((h + t) * INV_SQRT_2) + math.exp(
        -0.5 * x
    ) * 0.5 * math.erfc(-(h - t) * INV_SQRT_2)


@njit(cache=True, nogil=True)
def normalised_vega(x: float, s: float) -> float:
    """``db/ds = exp(-(x^2/s^2 + s^2/4)/2) / sqrt(2 pi)``."""
    h = x / s
    t = 0.5 * s
    return gaussian_weight(x, s, h, t)

