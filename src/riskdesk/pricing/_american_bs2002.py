"""Bjerksund-Stensland (2002) American approximation, numba kernels.

P. Bjerksund and G. Stensland, "Closed form valuation of American options", NHH discussion
paper 2002:9, in the form printed in E. G. Haug, *The Complete Guide to Option Pricing
Formulas*, 2nd ed. (McGraw-Hill 2007): time to expiry is split at the golden section
``t1 = (sqrt(5) - 1)/2 * T``; the call is exercised at the flat trigger ``I2`` before ``t1``
and at ``I1`` after it, ``I1 = B0 + (Binf - B0)(1 - exp(h(t1)))``,
``I2 = B0 + (Binf - B0)(1 - exp(h(T)))`` (Haug's reading; evaluating ``h`` at ``T - t1`` for
``I1`` instead, as some implementations do, misses his table by up to 1e-2). A put is the
transformed call ``P(S, K, T, r, q) = C(K, S, T, q, r)``. The triggers are kept at or above
the strike.

The value is a lower bound of the American value (the value of a feasible exercise rule);
it is floored at the European value and at intrinsic. All eighteen values of Haug's table
(K = 100, r = 0.1, b = 0, S = 90/100/110, T = 0.1/0.5, sigma = 0.15/0.25/0.35; e.g. 1.8757
at S = 100, T = 0.1, sigma = 0.15) are reproduced to their four decimals.

Because ``t1 / T`` is fixed, the correlation of every bivariate normal in the formula is
``+-sqrt(t1/T)``; those are evaluated with the Drezner-Wesolowsky integral on a fixed
12-point Gauss-Legendre rule with precomputed nodes (absolute error below ``2e-15`` for all
arguments, checked against the general Genz routine; the rule's 12 terms compile to packed
``ymm``/``zmm`` code). The formula's 44 distinct normal cdfs are each evaluated once: the
``-e`` arguments of ``psi`` depend on ``gamma`` only (three values, not five), and ``Phi(x)``
and ``Phi(-x)`` come from one ``exp`` (``fast_norm_cdf_pair``); the nine powers
``(I/S)^kappa`` (three per ``gamma``) are shared by the ``phi`` and ``psi`` terms. The sharing
reorders no arithmetic: values are bit for bit those of the term-by-term evaluation
(checked on 300,000 options when it was introduced). Powers are formed in log space so
nothing overflows at low volatility. The formula adds power-weighted bivariate probabilities
that cancel, so in double precision a value is good to about ``1e-8``.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from riskdesk.pricing._american_math import fast_norm_cdf, fast_norm_cdf_pair, log_norm_cdf
from riskdesk.pricing._european import bsm_price_scalar
from riskdesk.pricing._normal import norm_cdf

_T1_FRACTION = 0.5 * (math.sqrt(5.0) - 1.0)
_RHO = math.sqrt(_T1_FRACTION)
_ASR = math.asin(_RHO)


def _fixed_rho_rule(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Nodes of the Drezner-Wesolowsky integral for the fixed correlation ``_RHO``."""
    x, w = np.polynomial.legendre.leggauss(n)
    sn = np.sin(0.5 * _ASR * (1.0 + x))
    inv = 1.0 / (1.0 - sn * sn)
    weight = w * _ASR / (4.0 * math.pi)
    return (
        np.ascontiguousarray(sn * inv),
        np.ascontiguousarray(inv),
        np.ascontiguousarray(weight),
    )


_DW_A, _DW_B, _DW_W = _fixed_rho_rule(12)

# exp(x) = 2^k e^r for the Drezner-Wesolowsky terms (x <= 0): Cody-Waite reduction, a
# degree-13 Taylor polynomial on |r| <= ln2/2 (truncation < 2e-16) and a table of 2^k.
# Written out so the 12 terms compile to straight-line, vectorisable code; agrees with
# math.exp to 1e-16.
_LOG2E = 1.4426950408889634
_LN2_HI = 0.6931471803691238
_LN2_LO = 1.9082149292705877e-10
_POW2 = np.ascontiguousarray(2.0 ** np.arange(-1100, 1, dtype=np.float64))
_TAYLOR = np.ascontiguousarray([1.0 / math.factorial(k) for k in range(14)])
_BIG = 8.3  # Phi(-8.3) < 6e-17: beyond it a normal probability is 0 or 1 to double precision
_NEGLIGIBLE_LOG = -40.0  # a term below exp(-40) of the strike scale cannot move the price
_SKIP = 1e-17  # reflected bivariate terms below this bound are dropped


@njit(cache=True, nogil=True, error_model="numpy", fastmath={"reassoc", "contract"})
def _dw_sum(hk: float, hs: float) -> float:
    """``sum_i w_i exp((sn_i hk - hs) / (1 - sn_i^2))``: the correlation integral at ``_RHO``."""
    c = _TAYLOR
    s = 0.0
    for i in range(12):
        x = max(_DW_A[i] * hk - _DW_B[i] * hs, -745.0)
        kf = math.floor(x * _LOG2E + 0.5)
        r = (x - kf * _LN2_HI) - kf * _LN2_LO
        r2 = r * r
        r4 = r2 * r2
        lo = (
            (c[0] + c[1] * r)
            + (c[2] + c[3] * r) * r2
            + ((c[4] + c[5] * r) + (c[6] + c[7] * r) * r2) * r4
        )
        hi = (c[8] + c[9] * r) + (c[10] + c[11] * r) * r2 + (c[12] + c[13] * r) * r4
        s += _DW_W[i] * (lo + hi * (r4 * r4)) * _POW2[int(kf) + 1100]
    return s


@njit(cache=True, nogil=True, error_model="numpy")
def _bvn_rho(a: float, b: float) -> float:
    """``P(X < a, Y < b)`` for correlation ``+_RHO``."""
    if a < -_BIG or b < -_BIG:
        return 0.0
    if a > _BIG:
        return fast_norm_cdf(b)
    if b > _BIG:
        return fast_norm_cdf(a)
    return _dw_sum(a * b, 0.5 * (a * a + b * b)) + fast_norm_cdf(a) * fast_norm_cdf(b)


@njit(cache=True, nogil=True, error_model="numpy")
def _scaled_cdf(e: float, scale: float, x: float) -> float:
    """``exp(e) * Phi(x)`` without overflow of the power (``scale = exp(e)`` when ``e < 600``)."""
    if e < 600.0:
        # the power can be large: Phi needs relative accuracy, which the table-based
        # fast_norm_cdf keeps (1e-15) down to -11 and erfc beyond
        return scale * (fast_norm_cdf(x) if x > -11.0 else norm_cdf(x))
    return math.exp(e + log_norm_cdf(x))


@njit(cache=True, nogil=True, error_model="numpy")
def _bvn_rho_pre(a: float, b: float, pa: float, pb: float) -> float:
    """:func:`_bvn_rho` with ``pa = Phi(a)`` and ``pb = Phi(b)`` given (the same value)."""
    if a < -_BIG or b < -_BIG:
        return 0.0
    if a > _BIG:
        return pb
    if b > _BIG:
        return pa
    return _dw_sum(a * b, 0.5 * (a * a + b * b)) + pa * pb


@njit(cache=True, nogil=True, error_model="numpy")
def _bvn_signed_pre(a: float, b: float, pa: float, pb: float, pnb: float, negative: bool) -> float:
    """``P(X < a, Y < b)`` at ``-_RHO`` (``negative``) or ``+_RHO``; ``pnb = Phi(-b)``."""
    if negative:
        return max(0.0, pa - _bvn_rho_pre(a, -b, pa, pnb))
    return _bvn_rho_pre(a, b, pa, pb)


@njit(cache=True, nogil=True, error_model="numpy")
def _scaled_bvn_pre(
    e: float,
    scale: float,
    a: float,
    b: float,
    pa: float,
    pb: float,
    pnb: float,
    negative: bool,
) -> float:
    """``exp(e) * M(a, b, +-rho)`` without overflow of the power (``scale = exp(e)`` if ``e < 600``).

    ``pa, pb, pnb`` are ``Phi(a), Phi(b), Phi(-b)``, computed once per formula and shared by
    the terms that need them. Skips the quadrature when the bound
    ``exp(e) min(Phi(a), Phi(b))`` is below ``1e-17`` (the term then cannot move
    a price at the strike's scale).
    """
    bound = min(a, b)
    if e < 600.0:
        if scale * (pb if b < a else pa) < _SKIP:
            return 0.0
        return scale * _bvn_signed_pre(a, b, pa, pb, pnb, negative)
    if e + log_norm_cdf(bound) < _NEGLIGIBLE_LOG:
        return 0.0
    m = _bvn_signed_pre(a, b, pa, pb, pnb, negative)
    if m <= 0.0:
        return 0.0
    return math.exp(e + math.log(m))


@njit(cache=True, nogil=True, error_model="numpy")
def _phi(
    ln_s: float,
    t: float,
    gamma: float,
    ln_h: float,
    ln_i: float,
    r: float,
    b: float,
    sig: float,
    ln_scale: float,
    e: float,
    scale: float,
) -> float:
    """Haug's ``phi(S, T, gamma, H, I)`` times ``exp(ln_scale)``.

    ``e = kappa ln(I/S)`` and ``scale = exp(e)`` come from :func:`_powers` (shared).
    """
    v = sig * math.sqrt(t)
    s2 = sig * sig
    lam = (-r + gamma * b + 0.5 * gamma * (gamma - 1.0) * s2) * t
    d = -(ln_s - ln_h + (b + (gamma - 0.5) * s2) * t) / v
    lr = ln_i - ln_s
    pre = math.exp(lam + gamma * ln_s + ln_scale)
    return pre * (fast_norm_cdf(d) - _scaled_cdf(e, scale, d - 2.0 * lr / v))


@njit(cache=True, nogil=True, error_model="numpy")
def _powers(
    ln_s: float, gamma: float, ln_i2: float, ln_i1: float, b: float, sig: float
) -> tuple[float, float, float, float, float, float]:
    """The three powers ``(I/S)^kappa`` of one ``gamma``, as exponents and values.

    Returns ``e`` and ``exp(e)`` for ``e = kappa ln(I2/S), kappa ln(I1/S), kappa ln(I1/I2)``;
    the value is 0 where ``e >= 600`` (the callers then take the logarithmic route).
    """
    s2 = sig * sig
    kappa = 2.0 * b / s2 + 2.0 * gamma - 1.0
    e2 = kappa * (ln_i2 - ln_s)
    e3 = kappa * (ln_i1 - ln_s)
    e4 = kappa * (ln_i1 - ln_i2)
    x2 = math.exp(e2) if e2 < 600.0 else 0.0
    x3 = math.exp(e3) if e3 < 600.0 else 0.0
    x4 = math.exp(e4) if e4 < 600.0 else 0.0
    return e2, x2, e3, x3, e4, x4


@njit(cache=True, nogil=True, error_model="numpy")
def _psi_e(
    ln_s: float, gamma: float, ln_i2: float, ln_i1: float, t1: float, b: float, sig: float
) -> tuple[float, float, float, float, float, float, float, float]:
    """The ``-e1..-e4`` arguments of Haug's ``psi`` and their ``Phi`` (they do not depend on H)."""
    s2 = sig * sig
    m = b + (gamma - 0.5) * s2
    v1 = sig * math.sqrt(t1)
    a1 = -((ln_s - ln_i1 + m * t1) / v1)
    a2 = -((2.0 * ln_i2 - ln_s - ln_i1 + m * t1) / v1)
    a3 = -((ln_s - ln_i1 - m * t1) / v1)
    a4 = -((2.0 * ln_i2 - ln_s - ln_i1 - m * t1) / v1)
    return (
        a1,
        a2,
        a3,
        a4,
        fast_norm_cdf(a1),
        fast_norm_cdf(a2),
        fast_norm_cdf(a3),
        fast_norm_cdf(a4),
    )


@njit(cache=True, nogil=True, error_model="numpy")
def _psi(
    ln_s: float,
    t2: float,
    gamma: float,
    ln_h: float,
    ln_i2: float,
    ln_i1: float,
    r: float,
    b: float,
    sig: float,
    ln_scale: float,
    ea: tuple[float, float, float, float, float, float, float, float],
    pw: tuple[float, float, float, float, float, float],
) -> float:
    """Haug's ``psi(S, T2, gamma, H, I2, I1, t1)`` times ``exp(ln_scale)``.

    ``ea`` is :func:`_psi_e` and ``pw`` :func:`_powers` of the same ``gamma`` (shared by the
    ``phi`` and ``psi`` terms of one gamma).
    """
    a1, a2, a3, a4, pa1, pa2, pa3, pa4 = ea
    e2, sc2, e3, sc3, e4, sc4 = pw
    s2 = sig * sig
    m = b + (gamma - 0.5) * s2
    v2 = sig * math.sqrt(t2)
    b1 = -((ln_s - ln_h + m * t2) / v2)
    b2 = -((2.0 * ln_i2 - ln_s - ln_h + m * t2) / v2)
    b3 = -((2.0 * ln_i1 - ln_s - ln_h + m * t2) / v2)
    b4 = -((ln_s + 2.0 * ln_i1 - ln_h - 2.0 * ln_i2 + m * t2) / v2)
    pb1 = fast_norm_cdf(b1)
    pb2 = fast_norm_cdf(b2)
    pb3, pnb3 = fast_norm_cdf_pair(b3)
    pb4, pnb4 = fast_norm_cdf_pair(b4)
    lam = -r + gamma * b + 0.5 * gamma * (gamma - 1.0) * s2
    pre = math.exp(lam * t2 + gamma * ln_s + ln_scale)
    bracket = (
        _bvn_rho_pre(a1, b1, pa1, pb1)
        - _scaled_bvn_pre(e2, sc2, a2, b2, pa2, pb2, 0.0, False)
        - _scaled_bvn_pre(e3, sc3, a3, b3, pa3, pb3, pnb3, True)
        + _scaled_bvn_pre(e4, sc4, a4, b4, pa4, pb4, pnb4, True)
    )
    return pre * bracket


@njit(cache=True, nogil=True, error_model="numpy")
def bs2002_boundary(
    K: float, T: float, r: float, q: float, sigma: float
) -> tuple[float, float, float]:
    """Spot-independent part of the call: ``(beta, I1, I2)``, the exponent and the triggers.

    ``beta`` is NaN when the perpetual exponent is complex (``r < q < 0``). A spot-scenario
    grid computes this once per option and volatility and evaluates every spot with
    :func:`bs2002_call_value` (``bs2002_call_core`` is exactly the two in sequence).
    """
    b = r - q
    s2 = sigma * sigma
    disc = (b / s2 - 0.5) ** 2 + 2.0 * r / s2
    if disc < 0.0:
        return math.nan, math.nan, math.nan
    beta = (0.5 - b / s2) + math.sqrt(disc)
    b_inf = beta / (beta - 1.0) * K
    b_zero = K if r <= 0.0 else max(K, r / q * K)
    t1 = _T1_FRACTION * T
    span = max(b_inf - b_zero, 1e-300 * K)
    scale = K * K / (span * b_zero)
    h1 = -(b * t1 + 2.0 * sigma * math.sqrt(t1)) * scale
    h2 = -(b * T + 2.0 * sigma * math.sqrt(T)) * scale
    i1 = max(K, b_zero + span * (-math.expm1(h1)))
    i2 = max(K, b_zero + span * (-math.expm1(h2)))
    return beta, i1, i2


@njit(cache=True, nogil=True, error_model="numpy")
def bs2002_call_value(
    ln_s: float,
    K: float,
    T: float,
    r: float,
    q: float,
    sigma: float,
    beta: float,
    i1: float,
    i2: float,
) -> float:
    """Spot-dependent part of the call: the unfloored value at ``ln S`` (needs ``S < I2``).

    ``(beta, i1, i2)`` come from :func:`bs2002_boundary`; the caller floors the result at
    the European value and at intrinsic.
    """
    b = r - q
    t1 = _T1_FRACTION * T
    ln_k = math.log(K)
    ln_i1 = math.log(i1)
    ln_i2 = math.log(i2)
    # alpha_j * S^beta = (I_j - K) * exp(beta * (ln S - ln I_j)); the ln_scale argument
    # carries the I_j^-beta factor so that no power overflows.
    a1 = i1 - K
    a2 = i2 - K
    sc1 = -beta * ln_i1
    sc2 = -beta * ln_i2
    # the -e arguments of psi and their Phi depend on gamma only: once per gamma
    e_beta = _psi_e(ln_s, beta, ln_i2, ln_i1, t1, b, sigma)
    e_one = _psi_e(ln_s, 1.0, ln_i2, ln_i1, t1, b, sigma)
    e_zero = _psi_e(ln_s, 0.0, ln_i2, ln_i1, t1, b, sigma)
    # so do the powers (I/S)^kappa, shared by the phi and psi terms of one gamma
    p_beta = _powers(ln_s, beta, ln_i2, ln_i1, b, sigma)
    p_one = _powers(ln_s, 1.0, ln_i2, ln_i1, b, sigma)
    p_zero = _powers(ln_s, 0.0, ln_i2, ln_i1, b, sigma)
    return (
        a2 * math.exp(beta * (ln_s - ln_i2))
        - a2 * _phi(ln_s, t1, beta, ln_i2, ln_i2, r, b, sigma, sc2, p_beta[0], p_beta[1])
        + _phi(ln_s, t1, 1.0, ln_i2, ln_i2, r, b, sigma, 0.0, p_one[0], p_one[1])
        - _phi(ln_s, t1, 1.0, ln_i1, ln_i2, r, b, sigma, 0.0, p_one[0], p_one[1])
        - K * _phi(ln_s, t1, 0.0, ln_i2, ln_i2, r, b, sigma, 0.0, p_zero[0], p_zero[1])
        + K * _phi(ln_s, t1, 0.0, ln_i1, ln_i2, r, b, sigma, 0.0, p_zero[0], p_zero[1])
        + a1 * _phi(ln_s, t1, beta, ln_i1, ln_i2, r, b, sigma, sc1, p_beta[0], p_beta[1])
        - a1 * _psi(ln_s, T, beta, ln_i1, ln_i2, ln_i1, r, b, sigma, sc1, e_beta, p_beta)
        + _psi(ln_s, T, 1.0, ln_i1, ln_i2, ln_i1, r, b, sigma, 0.0, e_one, p_one)
        - _psi(ln_s, T, 1.0, ln_k, ln_i2, ln_i1, r, b, sigma, 0.0, e_one, p_one)
        - K * _psi(ln_s, T, 0.0, ln_i1, ln_i2, ln_i1, r, b, sigma, 0.0, e_zero, p_zero)
        + K * _psi(ln_s, T, 0.0, ln_k, ln_i2, ln_i1, r, b, sigma, 0.0, e_zero, p_zero)
    )


@njit(cache=True, nogil=True, error_model="numpy")
def bs2002_call_core(S: float, K: float, T: float, r: float, q: float, sigma: float) -> float:
    """Bjerksund-Stensland (2002) call for ``q > 0``, ``sigma > 0``, ``T > 0``.

    The value is floored at the European value and at intrinsic. Returns NaN when the
    perpetual exponent is complex (``r < q < 0``, which the caller routes elsewhere).
    """
    european = bsm_price_scalar(S, K, T, r, q, sigma, True)
    intrinsic = max(S - K, 0.0)
    beta, i1, i2 = bs2002_boundary(K, T, r, q, sigma)
    if math.isnan(beta):
        return math.nan
    if i2 <= S:  # spot above the first-period trigger: exercise now
        return max(intrinsic, european)
    value = bs2002_call_value(math.log(S), K, T, r, q, sigma, beta, i1, i2)
    return max(value, european, intrinsic)
