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

import numpy as np
from numba import njit

from riskdesk.pricing._normal import INV_SQRT_2, INV_SQRT_2PI, mills_ratio

TAYLOR_T_MAX = 0.2
_CF_U_MIN = 6.0


@njit(inline="always", cache=True, nogil=True)
def two_sum(a: float, b: float) -> tuple[float, float]:
    """Knuth's error-free sum: ``a + b == s + e`` exactly."""
    s = a + b
    bb = s - a
    e = (a - (s - bb)) + (b - bb)
    return s, e


@njit(inline="always", cache=True, nogil=True)
def _split(a: float) -> tuple[float, float]:
    c = 134217729.0 * a
    hi = c - (c - a)
    return hi, a - hi


@njit(inline="always", cache=True, nogil=True)
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
def mills_difference_taylor(u0: float, t: float) -> float:
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
    hh = h * h + t * t
    if hh < 32.0:
        # exponent below 16: its rounding (< 16 eps) is already at the ulp level of the result
        return INV_SQRT_2PI * math.exp(-0.5 * hh)
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
    if t <= TAYLOR_T_MAX:
        diff = mills_difference_taylor(u0, t)
    else:
        diff = mills_ratio(u0 - t) - mills_ratio(u0 + t)
    return a * diff


# 2**(j/64), j = 0..63, as double-double pairs (hi + lo), and ln(2)/64 split so that
# N * _LN2_64_HI is exact for |N| < 2**21.  Generated with mpmath at 50 digits.
_EXP2_HI = np.array(
    [
        1.0,
        1.0108892860517005,
        1.0218971486541166,
        1.0330248790212284,
        1.0442737824274138,
        1.0556451783605572,
        1.0671404006768237,
        1.0787607977571199,
        1.0905077326652577,
        1.102382583307841,
        1.1143867425958924,
        1.1265216186082418,
        1.1387886347566916,
        1.1511892299529827,
        1.1637248587775775,
        1.1763969916502812,
        1.189207115002721,
        1.202156731452703,
        1.215247359980469,
        1.22848053610687,
        1.241857812073484,
        1.255380757024691,
        1.2690509571917332,
        1.2828700160787783,
        1.2968395546510096,
        1.3109612115247644,
        1.3252366431597413,
        1.339667524053303,
        1.3542555469368927,
        1.3690024229745905,
        1.383909881963832,
        1.3989796725383112,
        1.4142135623730951,
        1.42961333839197,
        1.4451808069770467,
        1.460917794180647,
        1.4768261459394993,
        1.4929077282912648,
        1.5091644275934228,
        1.5255981507445384,
        1.5422108254079407,
        1.559004400237837,
        1.5759808451078865,
        1.593142151342267,
        1.6104903319492543,
        1.6280274218573478,
        1.645755478153965,
        1.6636765803267364,
        1.681792830507429,
        1.7001063537185235,
        1.718619298122478,
        1.7373338352737062,
        1.7562521603732995,
        1.7753764925265212,
        1.7947090750031072,
        1.8142521755003989,
        1.8340080864093424,
        1.8539791250833855,
        1.8741676341103,
        1.8945759815869656,
        1.9152065613971474,
        1.9360617934922943,
        1.9571441241754002,
        1.978456026387951,
    ]
)
_EXP2_LO = np.array(
    [
        0.0,
        -1.5234778603368577e-17,
        5.109225028973444e-17,
        7.600838874027088e-18,
        8.551889705537965e-17,
        1.759325738772092e-18,
        -7.899853966841582e-17,
        -6.656660436056593e-17,
        -3.046782079812471e-17,
        5.2660368715706944e-17,
        1.0410278456845571e-16,
        5.165856758795457e-17,
        8.912812676025408e-17,
        3.250710218863827e-17,
        3.8292048369240935e-17,
        5.554203254218079e-17,
        3.982015231465646e-17,
        6.644981499252301e-17,
        -7.712630692681488e-17,
        -1.89878163130253e-17,
        4.658027591836937e-17,
        -6.7113898212968784e-18,
        2.667932131342186e-18,
        1.713594918243561e-17,
        2.5382502794888315e-17,
        -7.181536135519454e-17,
        -2.8587312100388614e-17,
        8.927282594831732e-17,
        7.70094837980299e-17,
        9.593797919118849e-17,
        -6.770511658794786e-17,
        -9.614213209051323e-17,
        -9.667293313452913e-17,
        -1.2031642489053655e-17,
        -3.0237581349939873e-17,
        -5.600377186075216e-17,
        -3.483994556892796e-17,
        1.4192920154284036e-17,
        -1.016455327754295e-16,
        -1.1024941712342561e-16,
        7.949834809697621e-17,
        3.7812070533575275e-17,
        -1.0136916471278304e-17,
        -1.0094406542311964e-16,
        2.4707192569797888e-17,
        -6.712955084707084e-17,
        -1.0125679913674773e-16,
        5.8909926967131e-17,
        8.199010020581497e-17,
        -8.0237193703977e-18,
        -1.851380418263111e-17,
        3.164389299292957e-17,
        2.960140695448873e-17,
        6.429731796556572e-17,
        1.8227458427912087e-17,
        -9.969531538920349e-17,
        3.283107224245627e-17,
        9.761887490727594e-17,
        -6.122763413004143e-17,
        3.4034035352165297e-17,
        -1.0619946056195963e-16,
        1.0332385960676326e-16,
        8.960767791036668e-17,
        4.0388753109278167e-17,
    ]
)
_LN2_64_HI = 0.01083042469326756
_LN2_64_LO = 2.9815858269852933e-12
_INV_LN2_64 = 92.33248261689366


@njit(cache=True, nogil=True)
def exp_dd(c_hi: float, c_lo: float) -> tuple[float, float]:
    """``exp(c_hi + c_lo)`` as a double-double ``hi + lo`` (relative error ~1e-20).

    Table-driven: ``c = N ln2/64 + r`` with ``|r| <= ln2/128``, ``exp(c) = 2**(N//64) *
    2**((N%64)/64) * exp(r)``; ``exp(r) - 1`` is ``r_hi`` plus a double tail accurate to ~1e-21
    relative.  Valid for ``|c| <= 700``.
    """
    nf = math.floor(c_hi * _INV_LN2_64 + 0.5)
    n = int(nf)
    j = n & 63
    m = (n - j) // 64
    r_hi = c_hi - nf * _LN2_64_HI
    r_lo = c_lo - nf * _LN2_64_LO
    r = r_hi + r_lo
    tail = r_lo + r * r * (
        0.5
        + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0 + r / 5040.0))))
    )
    e_hi, e_lo = two_sum(r_hi, tail)
    t_hi = _EXP2_HI[j]
    t_lo = _EXP2_LO[j]
    p, pe = two_prod(t_hi, e_hi)
    pe += t_hi * e_lo + t_lo * e_hi
    s, se = two_sum(t_hi, p)
    se += t_lo + pe
    hi, lo = two_sum(s, se)
    scale = math.ldexp(1.0, m)
    return hi * scale, lo * scale


@njit(cache=True, nogil=True)
def forward_minus_strike(S: float, K: float, r: float, q: float, T: float) -> float:
    """``S * exp((r - q) T) - K`` correctly rounded (to ~1 ulp) even when ``F`` and ``K`` are close.

    The carry ``(r - q) T`` and the exponential are carried in double-double arithmetic, so the
    rounding of ``F`` (which a far-wing Bachelier value or a deep in-the-money value amplifies by
    up to ``|F - K|^-1``) does not reach the result.
    """
    if r == q or T == 0.0:
        return S - K
    b, be = two_sum(r, -q)
    c, ce = two_prod(b, T)
    ce += be * T
    e_hi, e_lo = exp_dd(c, ce)
    p, pe = two_prod(S, e_hi)
    pe += S * e_lo
    d, de = two_sum(p, -K)
    return d + (de + pe)
