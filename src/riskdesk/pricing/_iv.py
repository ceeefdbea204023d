"""Implied volatility: Black/BSM ("Let's Be Rational"-class) and Bachelier (normal vol).

Black and BSM.  The undiscounted price is reduced to the time value of the out-of-the-money
option in normalised units, ``beta = b(-|x|, s)`` with ``b`` Jaeckel's normalised Black function
(:mod:`riskdesk.pricing._nblack`, no cancellation in the wings) and ``x = ln(F/K)``.  The total
vol ``s`` is found by safeguarded Householder(3) iterations (fourth-order convergence) on the
objective functions of "Let's Be Rational" (Jaeckel 2015):

* below the inflection point ``s_c = sqrt(2|x|)``: ``g(s) = 1/ln b(s) - 1/ln beta``, nearly linear
  in the far wing, started from the small-``s`` asymptotics ``ln b ~ -x^2/(2 s^2) - s^2/8 +
  ln(s^3 / (x^2 sqrt(2 pi)))`` solved by fixed-point;
* above it: ``g(s) = ln(b_max - beta) - ln(b_max - b(s))`` with ``b_max - b`` evaluated directly
  (no cancellation near the upper bound), started from ``b_max - b ~ 2 cosh(x/2) Phi(-s/2)``.

Each step uses the analytic ``b'``, ``b''``, ``b'''``; a step leaving the current bracket
``[lo, hi]`` (``b`` is increasing in ``s``) is replaced by bisection, so the iteration cannot
diverge.  Two to four steps reach machine precision.

Bachelier.  The OTM time value is ``tv = s * phi(z) * G(z)``, ``z = |F-K|/s``, with
``G(u) = 1 - u R(u)`` from :func:`riskdesk.pricing._nblack.mills_and_g`; Householder(3) on
``ln(tv(s)) - ln(tv)`` with the same safeguard (an iterative equivalent of Jaeckel's "Implied
Normal Volatility").

Statuses (:mod:`riskdesk.pricing._status`): ``below_intrinsic`` (time value < 0),
``no_time_value`` (price equals intrinsic to rounding, or zero), ``above_upper_bound`` (call >=
discounted forward, put >= discounted strike; at ``T == 0`` any time value), ``invalid_input``,
``not_converged``.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from riskdesk.pricing._european import MAX_RATE_TIME, MODEL_BACHELIER, MODEL_BLACK76
from riskdesk.pricing._nblack import (
    TAYLOR_T_MAX,
    forward_minus_strike,
    gaussian_weight,
    log_moneyness,
    mills_and_g,
    mills_difference_taylor,
)
from riskdesk.pricing._normal import INV_SQRT_2, INV_SQRT_2PI, SQRT_2PI
from riskdesk.pricing._status import (
    ABOVE_UPPER_BOUND,
    BELOW_INTRINSIC,
    INVALID_INPUT,
    NO_TIME_VALUE,
    NOT_CONVERGED,
    OK,
)

_EPS = 2.220446049250313e-16
_MAX_ITER = 60
_LN_SQRT_2PI = 0.9189385332046728


@njit(cache=True, nogil=True)
def _inv_norm_cdf_lower(p: float) -> float:
    """Rough ``Phi^{-1}(p)`` for ``0 < p <= 0.5`` (Abramowitz-Stegun 26.2.23, |err| < 4.5e-4)."""
    t = math.sqrt(-2.0 * math.log(p))
    num = 2.515517 + t * (0.802853 + t * 0.010328)
    den = 1.0 + t * (1.432788 + t * (0.189269 + t * 0.001308))
    return -(t - num / den)


@njit(cache=True, nogil=True)
def _householder(g: float, g1: float, h2: float, h3: float) -> float:
    nu = -g / g1
    den = 1.0 + nu * (h2 + h3 * nu / 6.0)
    step = nu * (1.0 + 0.5 * h2 * nu) / den
    if not math.isfinite(step) or den <= 0.0 or step * nu < 0.0:
        return nu
    return step


@njit(cache=True, nogil=True)
def _safeguard(s_new: float, s: float, lo: float, hi: float) -> float:
    if lo < s_new < hi and math.isfinite(s_new):
        return s_new
    if math.isinf(hi):
        return 2.0 * max(s, lo)
    if lo > 0.0:
        return math.sqrt(lo * hi)
    return 0.5 * hi


@njit(cache=True, nogil=True)
def _lower_guess(x: float, beta: float, s_c: float) -> float:
    """Small-``s`` inversion of ``b ~ A(s) * s * G(|x|/s)``, ``G(u) ~ 1/(u^2 + 3 - 2/(1 + u^2/2))``.

    With ``A(s) = exp(-(x^2/s^2 + s^2/4)/2)/sqrt(2 pi)`` and ``y = x^2/(2 s^2)`` this is
    ``y + ln(2y)/2 + ln(2y + c(y)) + x^2/(16 y) = -ln(beta sqrt(2 pi)) + ln|x|``, solved for ``y``
    by a few Newton steps (the left side is increasing for the ``y`` that matter).
    """
    ax = -x
    base = -math.log(beta) - _LN_SQRT_2PI + math.log(ax)
    q = ax * ax / 16.0
    y = max(base, 0.25 * ax, 1e-3)
    for _ in range(4):
        c = 3.0 - 2.0 / (1.0 + y)
        dc = 2.0 / ((1.0 + y) * (1.0 + y))
        phi = y + 0.5 * math.log(2.0 * y) + math.log(2.0 * y + c) + q / y - base
        dphi = 1.0 + 0.5 / y + (2.0 + dc) / (2.0 * y + c) - q / (y * y)
        if not dphi > 0.0:
            break
        y_next = y - phi / dphi
        y = y_next if y_next > 0.0 else 0.5 * y
    return min(ax / math.sqrt(2.0 * y), s_c)


@njit(cache=True, nogil=True)
def _b_and_vega(x: float, s: float, e_p: float, e_m: float) -> tuple[float, float]:
    """``(b(x, s), b'(x, s))`` for ``x <= 0``; ``e_p = exp(x/2)``, ``e_m = exp(-x/2)``.

    Small ``t``: cancellation-free Taylor form.  Otherwise the two-term form, whose relative error
    (at most ~1e-11 in the far wing) moves ``s`` by that error over ``(x/s)**2``, i.e. by ~1e-14.
    """
    h = x / s
    t = 0.5 * s
    a = gaussian_weight(x, s, h, t)
    if t <= TAYLOR_T_MAX and h + t <= 0.85:
        if a == 0.0:
            return 0.0, 0.0
        return a * mills_difference_taylor(-h, t), a
    b = e_p * 0.5 * math.erfc(-(h + t) * INV_SQRT_2) - e_m * 0.5 * math.erfc(-(h - t) * INV_SQRT_2)
    return b, a


@njit(cache=True, nogil=True)
def _complement_and_vega(x: float, s: float, e_p: float, e_m: float) -> tuple[float, float]:
    """``(exp(x/2) - b(x, s), b'(x, s))`` for ``x <= 0``, both terms positive (no cancellation)."""
    h = x / s
    t = 0.5 * s
    c = e_p * 0.5 * math.erfc((h + t) * INV_SQRT_2) + e_m * 0.5 * math.erfc(-(h - t) * INV_SQRT_2)
    return c, gaussian_weight(x, s, h, t)


# Householder(3) converges quartically: once a step is below this (relative), the next one would
# be below 1e-28 -- the iterate is final.
_FINAL_STEP = 1.0e-6


@njit(cache=True, nogil=True)
def normalised_implied_s(x: float, beta: float, c_target: float) -> tuple[float, int]:
    """Total vol ``s`` with ``b(x, s) = beta`` for ``x <= 0``, ``0 < beta``, ``c_target > 0``.

    ``c_target = exp(x/2) - beta`` must be supplied accurately by the caller (it is formed from the
    price and its upper bound, not from ``beta``).
    """
    e_p = math.exp(0.5 * x)
    e_m = 1.0 / e_p
    s_c = math.sqrt(-2.0 * x)
    # b at the inflection point s_c (d1 = 0, d2 = -s_c) and its slope exp(x/2)/sqrt(2 pi)
    b_c = 0.5 * e_p - e_m * 0.5 * math.erfc(s_c * INV_SQRT_2)
    lower = beta < b_c
    if lower:
        lo = 0.0
        hi = s_c
        # near s_c the tangent at the inflection point is the better start, far below it the
        # small-s asymptotics
        s = s_c - (b_c - beta) / (e_p * INV_SQRT_2PI)
        if beta < 0.25 * b_c or s <= 0.0:
            s = _lower_guess(x, beta, s_c)
        inv_log_beta = 1.0 / math.log(beta)
        log_c_target = 0.0
    else:
        lo = s_c
        hi = math.inf
        inv_log_beta = 0.0
        log_c_target = math.log(c_target)
        if beta - b_c < 0.3 * (e_p - b_c):
            s = s_c + (beta - b_c) / (e_p * INV_SQRT_2PI)  # tangent at the inflection point
        else:
            # far above s_c: b_max - b ~ 2 cosh(x/2) Phi(-s/2)
            p = c_target / (e_p + e_m)
            s = max(s_c, -2.0 * _inv_norm_cdf_lower(p)) if p < 0.5 else s_c
        if s <= 0.0:
            s = 1e-3
    for _ in range(_MAX_ITER):
        xs = x / s
        r2 = xs * xs / s - 0.25 * s
        r3 = r2 * r2 - 3.0 * xs * xs / (s * s) - 0.25
        if lower:
            b, bp = _b_and_vega(x, s, e_p, e_m)
            if b > beta:
                hi = s
            elif b < beta:
                lo = s
            else:
                return s, OK
            if b <= 0.0 or bp <= 0.0:
                s_new = _safeguard(math.inf, s, lo, hi)
                step = s_new - s
            else:
                ell = math.log(b)
                q1 = bp / b
                k = 1.0 + 2.0 / ell
                g = 1.0 / ell - inv_log_beta
                g1 = -q1 / (ell * ell)
                u1 = r2 - q1 * k
                u2 = (r3 - r2 * r2) - (q1 * r2 - q1 * q1) * k + 2.0 * q1 * q1 / (ell * ell)
                step = _householder(g, g1, u1, u2 + u1 * u1)
                s_new = _safeguard(s + step, s, lo, hi)
        else:
            c, bp = _complement_and_vega(x, s, e_p, e_m)
            if c < c_target:
                hi = s
            elif c > c_target:
                lo = s
            else:
                return s, OK
            if c <= 0.0 or bp <= 0.0:
                s_new = _safeguard(math.inf, s, lo, hi)
                step = s_new - s
            else:
                q2 = bp / c
                g = log_c_target - math.log(c)
                u1 = r2 + q2
                u2 = (r3 - r2 * r2) + q2 * r2 + q2 * q2
                step = _householder(g, q2, u1, u2 + u1 * u1)
                s_new = _safeguard(s + step, s, lo, hi)
        if abs(step) <= _FINAL_STEP * s:
            return min(max(s + step, lo), hi), OK
        if hi - lo <= 4.0 * _EPS * hi < math.inf:
            return s_new, OK
        s = s_new
    return s, NOT_CONVERGED


@njit(cache=True, nogil=True)
def bachelier_implied_s(a: float, tv: float) -> tuple[float, int]:
    """Normal total vol ``s`` with ``s * phi(a/s) * G(a/s) = tv`` for ``a = |F - K| > 0``, ``tv > 0``."""
    ratio = tv / a
    if ratio > 0.3:
        s = (tv + 0.5 * a) * SQRT_2PI
    else:
        big_l = math.log(1.0 / ratio) - _LN_SQRT_2PI
        z = math.sqrt(2.0 * max(big_l, 0.5))
        for _ in range(4):
            rhs = big_l - 3.0 * math.log(z)
            if not rhs > 0.0:
                break
            z = math.sqrt(2.0 * rhs)
        s = a / z
    log_tv = math.log(tv)
    lo = 0.0
    hi = math.inf
    for _ in range(_MAX_ITER):
        z = a / s
        _, gz = mills_and_g(z)
        f = s * INV_SQRT_2PI * math.exp(-0.5 * z * z) * gz
        if f > tv:
            hi = s
        elif f < tv:
            lo = s
        else:
            return s, OK
        if f <= 0.0:
            s_new = _safeguard(math.inf, s, lo, hi)
        else:
            inv_sg = 1.0 / (s * gz)  # f'/f
            z2s = z * z / s  # f''/f'
            u1 = z2s - inv_sg
            u2 = -3.0 * z * z / (s * s) - (z2s * inv_sg - inv_sg * inv_sg)
            g = math.log(f) - log_tv
            step = _householder(g, inv_sg, u1, u2 + u1 * u1)
            if abs(step) <= _FINAL_STEP * s:
                return min(max(s + step, lo), hi), OK
            s_new = _safeguard(s + step, s, lo, hi)
        if abs(s_new - s) <= 4.0 * _EPS * s_new or hi - lo <= 4.0 * _EPS * hi < math.inf:
            return s_new, OK
        s = s_new
    return s, NOT_CONVERGED


@njit(cache=True, nogil=True)
def _valid_inputs(model: int, P: float, S: float, K: float, T: float, r: float, q: float) -> bool:
    if not (math.isfinite(P) and math.isfinite(T) and T >= 0.0):
        return False
    if not (math.isfinite(r) and math.isfinite(q)):
        return False
    if abs(r * T) > MAX_RATE_TIME or abs(q * T) > MAX_RATE_TIME:
        return False
    if model == MODEL_BACHELIER:
        return math.isfinite(S) and math.isfinite(K)
    return math.isfinite(S) and math.isfinite(K) and S > 0.0 and K > 0.0


@njit(cache=True, nogil=True)
def implied_vol_element(
    model: int, P: float, S: float, K: float, T: float, r: float, q: float, is_call: bool
) -> tuple[float, int]:
    """Implied vol (lognormal for bsm/black76, absolute normal for bachelier) and status code."""
    if not _valid_inputs(model, P, S, K, T, r, q):
        return np.nan, INVALID_INPUT
    w = 1.0 if is_call else -1.0
    if T == 0.0:
        intrinsic = max(w * (S - K), 0.0)
        tv = P - intrinsic
        tol = 4.0 * _EPS * intrinsic
        if tv < -tol:
            return np.nan, BELOW_INTRINSIC
        if tv <= tol:
            return np.nan, NO_TIME_VALUE
        return np.nan, ABOVE_UPPER_BOUND
    b = 0.0 if model == MODEL_BLACK76 else r - q
    Dr = math.exp(-r * T)
    p = P / Dr
    # F - K: double-double only when it is small next to F (where the rounding of F matters)
    m = (S - K) + S * math.expm1(b * T)
    if abs(m) < 1e-3 * abs(S) and b != 0.0:
        m = forward_minus_strike(S, K, r, r if model == MODEL_BLACK76 else q, T)
    intrinsic = max(w * m, 0.0)
    tv = p - intrinsic
    tol = 4.0 * _EPS * intrinsic
    if tv < -tol:
        return np.nan, BELOW_INTRINSIC
    if tv <= tol:
        return np.nan, NO_TIME_VALUE
    sqt = math.sqrt(T)
    if model == MODEL_BACHELIER:
        a = abs(m)
        if a == 0.0:
            return tv * SQRT_2PI / sqt, OK
        s, code = bachelier_implied_s(a, tv)
        if code != OK:
            return np.nan, code
        return s / sqt, OK
    F = S + S * math.expm1(b * T)
    upper = F if is_call else K
    room = upper - p
    if not room > 0.0:
        return np.nan, ABOVE_UPPER_BOUND
    x, _ = log_moneyness(S, K, b, T)
    scale = K * math.exp(0.5 * x)  # sqrt(F K)
    beta = tv / scale
    c_target = room / scale
    if not beta > 0.0:
        return np.nan, NO_TIME_VALUE
    s, code = normalised_implied_s(-abs(x), beta, c_target)
    if code != OK:
        return np.nan, code
    return s / sqt, OK


@njit(cache=True, nogil=True)
def _implied_vol_range(
    model: int,
    P: np.ndarray,
    S: np.ndarray,
    K: np.ndarray,
    T: np.ndarray,
    r: np.ndarray,
    q: np.ndarray,
    is_call: np.ndarray,
    strides: np.ndarray,
    iv: np.ndarray,
    code: np.ndarray,
    lo: int,
    hi: int,
) -> None:
    for i in range(lo, hi):
        v, k = implied_vol_element(
            model,
            P[i * strides[0]],
            S[i * strides[1]],
            K[i * strides[2]],
            T[i * strides[3]],
            r[i * strides[4]],
            q[i * strides[5]],
            is_call[i * strides[6]],
        )
        iv[i] = v
        code[i] = k


@njit(parallel=True, cache=True)
def implied_vol_kernel(
    model: int,
    P: np.ndarray,
    S: np.ndarray,
    K: np.ndarray,
    T: np.ndarray,
    r: np.ndarray,
    q: np.ndarray,
    is_call: np.ndarray,
    strides: np.ndarray,
    iv: np.ndarray,
    code: np.ndarray,
    n: int,
    n_chunks: int,
) -> None:
    """Fill ``iv[i]`` and ``code[i]`` for ``i < n``; inputs have stride 1 or 0 (broadcast scalar)."""
    chunk = (n + n_chunks - 1) // n_chunks
    for c in prange(n_chunks):
        lo = c * chunk
        hi = min(n, lo + chunk)
        _implied_vol_range(model, P, S, K, T, r, q, is_call, strides, iv, code, lo, hi)


@njit(cache=True)
def implied_vol_kernel_serial(
    model: int,
    P: np.ndarray,
    S: np.ndarray,
    K: np.ndarray,
    T: np.ndarray,
    r: np.ndarray,
    q: np.ndarray,
    is_call: np.ndarray,
    strides: np.ndarray,
    iv: np.ndarray,
    code: np.ndarray,
    n: int,
    n_chunks: int,
) -> None:
    """Single-threaded :func:`implied_vol_kernel`."""
    _implied_vol_range(model, P, S, K, T, r, q, is_call, strides, iv, code, 0, n)


@njit(parallel=True, cache=True)
def input_codes(
    model: int,
    P: np.ndarray,
    S: np.ndarray,
    K: np.ndarray,
    T: np.ndarray,
    r: np.ndarray,
    q: np.ndarray,
    strides: np.ndarray,
    n: int,
) -> np.ndarray:
    """``INVALID_INPUT`` where the implied-vol input rules fail, else ``OK`` (``int8``)."""
    out = np.empty(n, dtype=np.int8)
    for i in prange(n):
        ok = _valid_inputs(
            model,
            P[i * strides[0]],
            S[i * strides[1]],
            K[i * strides[2]],
            T[i * strides[3]],
            r[i * strides[4]],
            q[i * strides[5]],
        )
        out[i] = OK if ok else INVALID_INPUT
    return out
