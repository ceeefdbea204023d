"""Slow, independent references for the American engines (used by the tests only).

* ``quantlib_american`` -- QuantLib's ``QdFpAmericanEngine`` (high-precision scheme by
  default), dates on an ACT/365F curve so ``T = days / 365`` exactly.
* ``quantlib_fd_delta_gamma`` -- QuantLib's finite-difference engine (fine grid).
* ``bbsr_reference`` -- binomial Black-Scholes with Richardson extrapolation
  (Broadie-Detemple), plain numpy, one option at a time.
* ``bs2002_reference`` -- Haug's Bjerksund-Stensland (2002) formula written out naively with
  scipy (bivariate normal via Owen's T function).
* ``bvn_reference`` -- bivariate normal ``P(X < a, Y < b)`` via Owen's T (scipy).
* ``bsm_greeks_reference`` -- analytic Black-Scholes-Merton price and Greeks in riskdesk
  units.
"""

from __future__ import annotations

import math

import numpy as np
import QuantLib as ql
from scipy.special import ndtr, owens_t
from scipy.stats import norm

_TODAY = ql.Date(1, 1, 2020)
_DC = ql.Actual365Fixed()


def _process(S: float, r: float, q: float, sigma: float) -> ql.BlackScholesMertonProcess:
    ql.Settings.instance().evaluationDate = _TODAY

    def curve(rate: float) -> ql.YieldTermStructureHandle:
        return ql.YieldTermStructureHandle(ql.FlatForward(_TODAY, rate, _DC))

    vol = ql.BlackVolTermStructureHandle(ql.BlackConstantVol(_TODAY, ql.NullCalendar(), sigma, _DC))
    return ql.BlackScholesMertonProcess(ql.QuoteHandle(ql.SimpleQuote(S)), curve(q), curve(r), vol)


def _american_option(K: float, days: int, is_call: bool) -> ql.VanillaOption:
    kind = ql.Option.Call if is_call else ql.Option.Put
    exercise = ql.AmericanExercise(_TODAY, _TODAY + int(days))
    return ql.VanillaOption(ql.PlainVanillaPayoff(kind, K), exercise)


def quantlib_american(
    S: float,
    K: float,
    days: int,
    r: float,
    q: float,
    sigma: float,
    is_call: bool,
    scheme: str = "high_precision",
) -> float:
    """QuantLib QdFp American value; ``T = days / 365``."""
    schemes = {
        "high_precision": ql.QdFpAmericanEngine.highPrecisionScheme,
        "accurate": ql.QdFpAmericanEngine.accurateScheme,
        "fast": ql.QdFpAmericanEngine.fastScheme,
    }
    option = _american_option(K, days, is_call)
    option.setPricingEngine(ql.QdFpAmericanEngine(_process(S, r, q, sigma), schemes[scheme]()))
    return float(option.NPV())


def quantlib_fd_delta_gamma(
    S: float,
    K: float,
    days: int,
    r: float,
    q: float,
    sigma: float,
    is_call: bool,
    t_grid: int = 1000,
    x_grid: int = 1000,
) -> tuple[float, float]:
    """Delta and gamma of QuantLib's Crank-Nicolson American engine."""
    option = _american_option(K, days, is_call)
    option.setPricingEngine(
        ql.FdBlackScholesVanillaEngine(_process(S, r, q, sigma), t_grid, x_grid)
    )
    return float(option.delta()), float(option.gamma())


def _bs(S: np.ndarray, K: float, T: float, r: float, q: float, sigma: float) -> np.ndarray:
    sd = sigma * math.sqrt(T)
    with np.errstate(divide="ignore"):
        d1 = (np.log(S / K) + (r - q) * T) / sd + 0.5 * sd
    d2 = d1 - sd
    return K * math.exp(-r * T) * ndtr(-d2) - S * math.exp(-q * T) * ndtr(-d1)


def _bbs_put(S: float, K: float, T: float, r: float, q: float, sigma: float, n: int) -> float:
    dt = T / n
    u = math.exp(sigma * math.sqrt(dt))
    d = 1.0 / u
    p = (math.exp((r - q) * dt) - d) / (u - d)
    disc = math.exp(-r * dt)
    # Node j of step i sits at S u^(2j - i): each step's spots are a stride-2 slice of one grid
    # of S u^k, k = -n..n (the same floats as computing u^(2j - i) per step, without the powers).
    grid = S * u ** np.arange(-n, n + 1, dtype=np.float64)
    exercise = K - grid
    values = np.maximum(exercise[1 : 2 * n : 2], _bs(grid[1 : 2 * n : 2], K, dt, r, q, sigma))
    for i in range(n - 2, -1, -1):
        held = p * values[1:]
        held += (1.0 - p) * values[:-1]
        held *= disc
        values = np.maximum(exercise[n - i : n + i + 1 : 2], held, out=held)
    return float(values[0])


def bbsr_reference(
    S: float,
    K: float,
    T: float,
    r: float,
    q: float,
    sigma: float,
    is_call: bool,
    steps: int = 20000,
) -> float:
    """Richardson-extrapolated binomial Black-Scholes American value (``2 V(N) - V(N/2)``)."""
    if is_call:
        S, K, r, q = K, S, q, r
    return 2.0 * _bbs_put(S, K, T, r, q, sigma, steps) - _bbs_put(S, K, T, r, q, sigma, steps // 2)


def bvn_reference(a: float, b: float, rho: float) -> float:
    """``P(X < a, Y < b)`` by Owen (1956): ``(Phi(a) + Phi(b))/2 - T(a, .) - T(b, .) - beta``."""
    if rho == 0.0:
        return float(ndtr(a) * ndtr(b))
    s = math.sqrt((1.0 - rho) * (1.0 + rho))
    if a == 0.0 and b == 0.0:
        return 0.25 + math.asin(rho) / (2.0 * math.pi)
    if a == 0.0:
        a = 1e-300
    if b == 0.0:
        b = 1e-300
    t_a = owens_t(a, (b - rho * a) / (a * s))
    t_b = owens_t(b, (a - rho * b) / (b * s))
    beta = 0.5 if a * b < 0.0 else 0.0
    return float(0.5 * (ndtr(a) + ndtr(b)) - t_a - t_b - beta)


def bs2002_reference(
    S: float, K: float, T: float, r: float, q: float, sigma: float, is_call: bool
) -> float:
    """Haug's Bjerksund-Stensland (2002) value, floored at European and intrinsic."""
    if not is_call:
        return bs2002_reference(K, S, T, q, r, sigma, True)
    b = r - q
    european = float(_bs_call(S, K, T, r, q, sigma))
    if b >= r:
        return european
    v2 = sigma * sigma
    t1 = 0.5 * (math.sqrt(5.0) - 1.0) * T
    beta = (0.5 - b / v2) + math.sqrt((b / v2 - 0.5) ** 2 + 2.0 * r / v2)
    b_inf = beta / (beta - 1.0) * K
    b_0 = max(K, r / (r - b) * K)
    h1 = -(b * t1 + 2.0 * sigma * math.sqrt(t1)) * K * K / ((b_inf - b_0) * b_0)
    h2 = -(b * T + 2.0 * sigma * math.sqrt(T)) * K * K / ((b_inf - b_0) * b_0)
    i1 = max(K, b_0 + (b_inf - b_0) * (1.0 - math.exp(h1)))
    i2 = max(K, b_0 + (b_inf - b_0) * (1.0 - math.exp(h2)))
    if i2 <= S:
        return max(S - K, european)
    a1 = (i1 - K) * i1 ** (-beta)
    a2 = (i2 - K) * i2 ** (-beta)

    def phi(t: float, g: float, h: float, i: float) -> float:
        lam = (-r + g * b + 0.5 * g * (g - 1.0) * v2) * t
        d = -(math.log(S / h) + (b + (g - 0.5) * v2) * t) / (sigma * math.sqrt(t))
        kap = 2.0 * b / v2 + 2.0 * g - 1.0
        return (
            math.exp(lam)
            * S**g
            * (ndtr(d) - (i / S) ** kap * ndtr(d - 2.0 * math.log(i / S) / (sigma * math.sqrt(t))))
        )

    def psi(g: float, h: float) -> float:
        m = b + (g - 0.5) * v2
        s1, s2 = sigma * math.sqrt(t1), sigma * math.sqrt(T)
        e1 = (math.log(S / i1) + m * t1) / s1
        e2 = (math.log(i2**2 / (S * i1)) + m * t1) / s1
        e3 = (math.log(S / i1) - m * t1) / s1
        e4 = (math.log(i2**2 / (S * i1)) - m * t1) / s1
        f1 = (math.log(S / h) + m * T) / s2
        f2 = (math.log(i2**2 / (S * h)) + m * T) / s2
        f3 = (math.log(i1**2 / (S * h)) + m * T) / s2
        f4 = (math.log(S * i1**2 / (h * i2**2)) + m * T) / s2
        rho = math.sqrt(t1 / T)
        lam = -r + g * b + 0.5 * g * (g - 1.0) * v2
        kap = 2.0 * b / v2 + 2.0 * g - 1.0
        return (
            math.exp(lam * T)
            * S**g
            * (
                bvn_reference(-e1, -f1, rho)
                - (i2 / S) ** kap * bvn_reference(-e2, -f2, rho)
                - (i1 / S) ** kap * bvn_reference(-e3, -f3, -rho)
                + (i1 / i2) ** kap * bvn_reference(-e4, -f4, -rho)
            )
        )

    value = (
        a2 * S**beta
        - a2 * phi(t1, beta, i2, i2)
        + phi(t1, 1.0, i2, i2)
        - phi(t1, 1.0, i1, i2)
        - K * phi(t1, 0.0, i2, i2)
        + K * phi(t1, 0.0, i1, i2)
        + a1 * phi(t1, beta, i1, i2)
        - a1 * psi(beta, i1)
        + psi(1.0, i1)
        - psi(1.0, K)
        - K * psi(0.0, i1)
        + K * psi(0.0, K)
    )
    return max(value, european, S - K)


def _bs_call(S: float, K: float, T: float, r: float, q: float, sigma: float) -> float:
    sd = sigma * math.sqrt(T)
    d1 = math.log(S / K) / sd + ((r - q) * T) / sd + 0.5 * sd
    return float(S * math.exp(-q * T) * ndtr(d1) - K * math.exp(-r * T) * ndtr(d1 - sd))


def bsm_greeks_reference(
    S: float, K: float, T: float, r: float, q: float, sigma: float, is_call: bool
) -> dict[str, float]:
    """Analytic BSM price and Greeks in riskdesk units (per vol point, per calendar day)."""
    sq = math.sqrt(T)
    sd = sigma * sq
    d1 = (math.log(S / K) + (r - q) * T) / sd + 0.5 * sd
    d2 = d1 - sd
    dq, dr = math.exp(-q * T), math.exp(-r * T)
    pdf = float(norm.pdf(d1))
    w = 1.0 if is_call else -1.0
    nd1, nd2 = float(ndtr(w * d1)), float(ndtr(w * d2))
    price = w * (S * dq * nd1 - K * dr * nd2)
    delta = w * dq * nd1
    gamma = dq * pdf / (S * sd)
    vega = S * dq * pdf * sq
    theta_t = -dq * S * pdf * sigma / (2.0 * sq) - w * r * K * dr * nd2 + w * q * S * dq * nd1
    rho = w * K * T * dr * nd2
    phi = -w * S * T * dq * nd1
    vanna = -dq * pdf * d2 / sigma
    volga = vega * d1 * d2 / sigma
    charm_t = w * q * dq * nd1 - dq * pdf * (2.0 * (r - q) * T - d2 * sd) / (2.0 * T * sd)
    speed = -gamma / S * (d1 / sd + 1.0)
    color_t = gamma * (q + (r - q) * d1 / sd + (1.0 - d1 * d2) / (2.0 * T))
    zomma = gamma * (d1 * d2 - 1.0) / sigma
    veta_t = vega * (q + (r - q) * d1 / sd - (1.0 + d1 * d2) / (2.0 * T))
    day = 1.0 / 365.0
    return {
        "price": price,
        "delta": delta,
        "gamma": gamma,
        "vega": 0.01 * vega,
        "theta": day * theta_t,
        "rho": 0.01 * rho,
        "phi": 0.01 * phi,
        "vanna": 0.01 * vanna,
        "volga": 1e-4 * volga,
        "charm": day * charm_t,
        "speed": speed,
        "color": day * color_t,
        "zomma": 0.01 * zomma,
        "veta": day * 0.01 * veta_t,
    }
