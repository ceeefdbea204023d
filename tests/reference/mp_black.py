"""Slow, obviously-correct mpmath reference for European option values and Greeks.

Two independent routes, both at high precision (mpmath has no underflow, so far-wing values
are exact too):

* :func:`greeks` -- the textbook closed forms (Haug, *The Complete Guide to Option Pricing
  Formulas*, 2nd ed., generalised Black-Scholes with cost of carry ``b``; Bachelier written out
  the same way) evaluated at ``DPS`` digits.  Fast enough for thousands of cases.
* :func:`greeks_by_differentiation` -- numerical derivatives of the reference *price* by
  ``mpmath.diff``, with the working precision raised until two precisions agree.  Shares no
  derivation with anything; used to check the closed forms above.

Units are riskdesk's: vega/rho/phi/vanna/zomma per 1 point (x 0.01), volga per point squared
(x 1e-4), theta/charm/color/veta per calendar day (``d/dt = -(1/365) d/dT``).

Models: ``bsm`` takes the spot and a continuous yield ``q`` (``b = r - q``); ``black76`` takes the
forward as ``S``, ignores ``q`` (``b = 0``) and its rho is ``dV/dr`` with the forward fixed;
``bachelier`` takes the spot, forward ``F = S exp((r-q)T)`` and an absolute normal vol.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import mpmath as mp

DPS = 60

GREEK_NAMES = (
    "price",
    "delta",
    "gamma",
    "vega",
    "theta",
    "rho",
    "phi",
    "vanna",
    "volga",
    "charm",
    "speed",
    "color",
    "zomma",
    "veta",
)

_DAY = 365
_TINY = mp.mpf(10) ** -320  # agreement floor: far below any double
_PT = 100


def _black_greeks(
    model: str, S: Any, K: Any, T: Any, r: Any, q: Any, v: Any, call: bool
) -> dict[str, Any]:
    """Haug's generalised Black-Scholes closed forms (section 2.1 / 2.2 there)."""
    b = r - q if model == "bsm" else mp.mpf(0)
    carry = mp.exp((b - r) * T)  # e^{-qT} for BSM, e^{-rT} for Black-76
    vt = v * mp.sqrt(T)
    d1 = (mp.log(S / K) + (b + v * v / 2) * T) / vt
    d2 = d1 - vt
    n1 = mp.npdf(d1)
    disc = mp.exp(-r * T)
    if call:
        price = S * carry * mp.ncdf(d1) - K * disc * mp.ncdf(d2)
        delta = carry * mp.ncdf(d1)
        theta_t = (
            -S * carry * n1 * v / (2 * mp.sqrt(T))
            - (b - r) * S * carry * mp.ncdf(d1)
            - r * K * disc * mp.ncdf(d2)
        )
        rho = T * K * disc * mp.ncdf(d2)
        phi = -T * S * carry * mp.ncdf(d1)
        charm_t = -carry * (n1 * (b / vt - d2 / (2 * T)) + (b - r) * mp.ncdf(d1))
    else:
        price = K * disc * mp.ncdf(-d2) - S * carry * mp.ncdf(-d1)
        delta = -carry * mp.ncdf(-d1)
        theta_t = (
            -S * carry * n1 * v / (2 * mp.sqrt(T))
            + (b - r) * S * carry * mp.ncdf(-d1)
            + r * K * disc * mp.ncdf(-d2)
        )
        rho = -T * K * disc * mp.ncdf(-d2)
        phi = T * S * carry * mp.ncdf(-d1)
        charm_t = -carry * (n1 * (b / vt - d2 / (2 * T)) - (b - r) * mp.ncdf(-d1))
    if model == "black76":
        rho = -T * price
        phi = mp.mpf(0)
    gamma = carry * n1 / (S * vt)
    vega = S * carry * n1 * mp.sqrt(T)
    return {
        "price": price,
        "delta": delta,
        "gamma": gamma,
        "vega": vega / _PT,
        "theta": theta_t / _DAY,
        "rho": rho / _PT,
        "phi": phi / _PT,
        "vanna": -carry * n1 * d2 / v / _PT,
        "volga": vega * d1 * d2 / v / _PT**2,
        "charm": charm_t / _DAY,
        "speed": -gamma / S * (1 + d1 / vt),
        "color": gamma * (r - b + b * d1 / vt + (1 - d1 * d2) / (2 * T)) / _DAY,
        "zomma": gamma * (d1 * d2 - 1) / v / _PT,
        "veta": vega * (r - b + b * d1 / vt - (1 + d1 * d2) / (2 * T)) / _DAY / _PT,
    }


def _bachelier_greeks(S: Any, K: Any, T: Any, r: Any, q: Any, v: Any, call: bool) -> dict[str, Any]:
    """Bachelier on the forward ``F = S e^{bT}``: ``V = e^{-rT}[w(F-K)N(wd) + v sqrt(T) n(d)]``."""
    b = r - q
    w = 1 if call else -1
    F = S * mp.exp(b * T)
    vt = v * mp.sqrt(T)
    d = (F - K) / vt
    n = mp.npdf(d)
    N = mp.ncdf(w * d)
    disc = mp.exp(-r * T)
    price = disc * (w * (F - K) * N + vt * n)
    delta = w * mp.exp(-q * T) * N
    gamma = mp.exp((b - q) * T) * n / vt
    vega = disc * mp.sqrt(T) * n
    # d/dT of the price with S, K, r, q, v fixed (product rule on each factor)
    dd_dT = b * F / vt - d / (2 * T)
    dprice_dT = -r * price + disc * (w * N * b * F + n * v / (2 * mp.sqrt(T)))
    ddelta_dT = -q * delta + mp.exp(-q * T) * n * dd_dT
    dgamma_dT = gamma * ((b - q) - d * dd_dT - 1 / (2 * T))
    dvega_dT = vega * (-r + 1 / (2 * T) - d * dd_dT)
    return {
        "price": price,
        "delta": delta,
        "gamma": gamma,
        "vega": vega / _PT,
        "theta": -dprice_dT / _DAY,
        "rho": (-T * price + disc * w * N * F * T) / _PT,
        "phi": -disc * w * N * F * T / _PT,
        "vanna": -mp.exp(-q * T) * n * d / v / _PT,
        "volga": vega * d * d / v / _PT**2,
        "charm": -ddelta_dT / _DAY,
        "speed": -gamma * d * mp.exp(b * T) / vt,
        "color": -dgamma_dT / _DAY,
        "zomma": gamma * (d * d - 1) / v / _PT,
        "veta": -dvega_dT / _DAY / _PT,
    }


def _mp(*values: float) -> list[Any]:
    return [mp.mpf(float(x)) for x in values]


def greeks(
    model: str, S: float, K: float, T: float, r: float, q: float, sigma: float, is_call: bool
) -> dict[str, Any]:
    """Reference price and Greeks (closed forms at ``DPS`` digits) for ``T > 0``, ``sigma > 0``."""
    with mp.workdps(DPS):
        S_, K_, T_, r_, q_, v_ = _mp(S, K, T, r, q, sigma)
        if model == "bachelier":
            out = _bachelier_greeks(S_, K_, T_, r_, q_, v_, is_call)
        else:
            out = _black_greeks(model, S_, K_, T_, r_, q_, v_, is_call)
        return {k: +val for k, val in out.items()}


def price(
    model: str, S: float, K: float, T: float, r: float, q: float, sigma: float, is_call: bool
) -> Any:
    """Reference price (closed form at ``DPS`` digits)."""
    return greeks(model, S, K, T, r, q, sigma, is_call)["price"]


def _price_fn(model: str, K: Any, call: bool) -> Callable[..., Any]:
    def f(S: Any, T: Any, r: Any, q: Any, v: Any) -> Any:
        if model == "bachelier":
            F = S * mp.exp((r - q) * T)
            vt = v * mp.sqrt(T)
            d = (F - K) / vt
            w = 1 if call else -1
            return mp.exp(-r * T) * (w * (F - K) * mp.ncdf(w * d) + vt * mp.npdf(d))
        F = S * mp.exp((r - q) * T) if model == "bsm" else S
        vt = v * mp.sqrt(T)
        d1 = mp.log(F / K) / vt + vt / 2
        d2 = d1 - vt
        if call:
            return mp.exp(-r * T) * (F * mp.ncdf(d1) - K * mp.ncdf(d2))
        return mp.exp(-r * T) * (K * mp.ncdf(-d2) - F * mp.ncdf(-d1))

    return f


def _diff_greeks(
    model: str, S: float, K: float, T: float, r: float, q: float, sigma: float, call: bool
) -> dict[str, Any]:
    S_, K_, T_, r_, q_, v_ = _mp(S, K, T, r, q, sigma)
    f = _price_fn(model, K_, call)

    def d(ns: int, nt: int, nv: int) -> Any:
        return mp.diff(lambda s, t, v: f(s, t, r_, q_, v), (S_, T_, v_), (ns, nt, nv))

    phi = mp.diff(lambda x: f(S_, T_, r_, x, v_), q_) if model != "black76" else mp.mpf(0)
    return {
        "price": f(S_, T_, r_, q_, v_),
        "delta": d(1, 0, 0),
        "gamma": d(2, 0, 0),
        "vega": d(0, 0, 1) / _PT,
        "theta": -d(0, 1, 0) / _DAY,
        "rho": mp.diff(lambda x: f(S_, T_, x, q_, v_), r_) / _PT,
        "phi": phi / _PT,
        "vanna": d(1, 0, 1) / _PT,
        "volga": d(0, 0, 2) / _PT**2,
        "charm": -d(1, 1, 0) / _DAY,
        "speed": d(3, 0, 0),
        "color": -d(2, 1, 0) / _DAY,
        "zomma": d(2, 0, 1) / _PT,
        "veta": -d(0, 1, 1) / _DAY / _PT,
    }


def greeks_by_differentiation(
    model: str, S: float, K: float, T: float, r: float, q: float, sigma: float, is_call: bool
) -> dict[str, Any]:
    """Price and Greeks as ``mpmath.diff`` derivatives of the price formula.

    The working precision starts at ``DPS`` and is raised until two successive precisions agree
    to 30 significant digits on every Greek (needed when a Greek is many orders of magnitude
    smaller than the price, e.g. gamma of a deep in-the-money option).
    """
    dps = DPS
    with mp.workdps(dps):
        prev = _diff_greeks(model, S, K, T, r, q, sigma, is_call)
    while True:
        dps *= 2
        with mp.workdps(dps):
            cur = _diff_greeks(model, S, K, T, r, q, sigma, is_call)
            if all(
                abs(cur[k] - prev[k]) <= mp.mpf(10) ** -30 * max(abs(cur[k]), _TINY) for k in cur
            ):
                return cur
        if dps > 2000:
            raise ArithmeticError("mpmath.diff did not converge")
        prev = cur
