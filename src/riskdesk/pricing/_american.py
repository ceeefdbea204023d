"""American option engines: prices, Greeks and implied volatility (numpy in, numpy out).

The public pricing API calls these with equal-length, contiguous 1-D ``float64`` arrays
(``is_call`` a ``bool`` array), already validated (``S > 0``, ``K > 0``, ``T >= 0``,
``sigma >= 0``, all finite) and with escrowed discrete dividends already taken off ``S``.

Conventions: ``T`` in years (ACT/365F); ``r`` and ``q`` continuously compounded; delta,
gamma and speed per unit of underlying; vega, vanna and zomma per volatility point
(``x 0.01``), rho and phi (``dV/dq``) per percentage point of rate or yield, volga per
volatility point squared (``x 1e-4``); theta, charm, color and veta per calendar day of
elapsed time (``d/dt = -(1/365) d/dT``).

Engines (``engine=``):

* ``"alo_qdplus"`` (the high-accuracy default) -- Andersen, Lake and Offengenden (2016):
  QD+ exercise boundary refined by Newton iterations of the FP-A integral equation on
  Chebyshev nodes, premium by Gauss-Legendre quadrature (``_american_alo``). Scheme
  ``(l, m, n, p) = (9, 2, 12, 32)``, the first iteration with a 5-point rule: on 1,200
  random options (``S`` 50-150, ``K`` 100, ``T`` one day to 5 years, ``r, q`` 0-10%,
  ``sigma`` 5-100%) within ``6.2e-6`` per 100 of strike of a converged QuantLib
  ``QdFpAmericanEngine`` (tanh-sinh, 30 iterations, 40 nodes) and ``1e-5`` of its
  high-precision scheme (itself off by up to ``1.2e-5`` on long, low-volatility puts).
  Below about 2% volatility against a high carry the Newton refinement can diverge; it is
  then dropped for the QD+ boundary (errors up to ``3e-4`` per 100 of strike there).
* ``"bjerksund_stensland_2002"`` -- the Bjerksund-Stensland (2002) two-step flat-boundary
  lower bound, as printed in Haug (2007), floored at the European value; e.g. the call
  ``S = K = 100, T = 0.1, r = 0.1, b = 0, sigma = 0.15`` is 1.8757 (Haug's table).

Both share the routing of ``_american_kernels``: a call is the put ``P(K, S, T, q, r)``;
``T = 0`` is intrinsic; ``sigma = 0`` is the best deterministic exercise; a put with
``r <= 0 <= q`` (and generally ``r <= 0, q >= r``) and a call with ``q <= 0 <= r`` are
exactly European (BSM); the two-boundary regime (put ``q < r <= 0``, call ``r < q <= 0``) is
valued by a Richardson-extrapolated binomial Black-Scholes lattice (4000 steps, about
``5e-5`` of strike, ~10 ms an option), because neither analytic engine covers it.

Greeks are central finite differences of the engine's own price (so they are consistent
with it), all bumped inputs stacked into one kernel call, all with error ``O(h^4)``: the
5-point stencils for first and second derivatives in one variable, the 6-point one for
speed, and Richardson extrapolation (steps ``h`` and ``2h``) for the cross derivatives
(vanna, charm, veta) and the mixed third ones (zomma, color). Bumps: ``S * clip(0.02 sigma
sqrt(T), 1e-4, 1e-2)`` in spot, ``max(0.01 sigma, 1e-4)`` in volatility (the volatility
stencil is centred at ``max(sigma, 3 h)`` so it stays positive), ``T / 200`` in time and
``1e-4`` in ``r`` and ``q``; rho and phi are one-sided (second order) on the side that keeps
the valuation route when a bump would change it (a call at ``q = 0`` bumped to ``q > 0``
may be exercised early). At expiry (``T == 0``) delta is the intrinsic slope (one half at
the money) and every other Greek is 0. Against analytic BSM Greeks (a call with ``q = 0``)
the relative error is below ``2e-6`` for all fourteen.
With ``alo_qdplus`` the stacked prices are ordered so that those sharing ``T, r, q, sigma``
(an option's spot bumps, a grid of spots of one leg) are adjacent: the engine solves their
exercise boundary once and integrates only the premium for each (``alo_put``).

For example (Haug's Bjerksund-Stensland 2002 table):

>>> import numpy as np
>>> from riskdesk.pricing._american import american_price
>>> one = lambda x: np.array([x], dtype=np.float64)
>>> v = american_price(one(100.0), one(100.0), one(0.1), one(0.1), one(0.1), one(0.15),
...                    np.array([True]), "bjerksund_stensland_2002")
>>> round(float(v[0]), 4)  # Haug (2007), Bjerksund-Stensland 2002 table
1.8757
"""

from __future__ import annotations

import numba
import numpy as np

from riskdesk.pricing._american_alo import make_scheme, work_size
from riskdesk.pricing._american_binomial import crr_batch
from riskdesk.pricing._american_kernels import (
    ENGINE_ALO,
    ENGINE_BS2002,
    iv_batch,
    price_batch,
    route_batch,
)
from riskdesk.pricing._european import GREEK_NAMES

__all__ = [
    "ALO_SCHEME",
    "ENGINES",
    "GREEK_KEYS",
    "american_greeks",
    "american_implied_vol",
    "american_price",
    "crr_price",
]

ENGINES: dict[str, int] = {
    "bjerksund_stensland_2002": ENGINE_BS2002,
    "alo_qdplus": ENGINE_ALO,
}

GREEK_KEYS: tuple[str, ...] = GREEK_NAMES
"""The Greek names of the public API (shared with the European kernels)."""

# ALO scheme: n = 12 Chebyshev intervals, m = 2 Newton iterations (the first with l = 5
# points per boundary integral, the second with l = 9), p = 32 points for the premium.
ALO_SCHEME = make_scheme(l_first=5, l=9, m=2, n=12, p=32)
_WORK = work_size(ALO_SCHEME)

_F64 = np.float64
_Arr = np.ndarray


def _engine_code(engine: str) -> int:
    try:
        return ENGINES[engine]
    except KeyError:
        raise ValueError(
            f"engine={engine!r} is not an American engine; use one of {sorted(ENGINES)}"
        ) from None


def _kernel_args(n: int) -> tuple[_Arr, _Arr, _Arr, _Arr, _Arr, _Arr, _Arr, int, int, int]:
    """Scheme arrays, work length and chunk count (8 per thread) for ``n`` options."""
    s = ALO_SCHEME
    chunks = max(1, min(n, 8 * numba.get_num_threads()))
    return (s.frac, s.fp1, s.interp1, s.fp, s.interp, s.pr, s.pr_interp, s.m, _WORK, chunks)


def american_price(
    S: _Arr, K: _Arr, T: _Arr, r: _Arr, q: _Arr, sigma: _Arr, is_call: _Arr, engine: str
) -> _Arr:
    """American option values (see the module docstring for conventions and engines)."""
    code = _engine_code(engine)
    return price_batch(S, K, T, r, q, sigma, is_call, code, *_kernel_args(S.shape[0]))


def american_implied_vol(
    price: _Arr, S: _Arr, K: _Arr, T: _Arr, r: _Arr, q: _Arr, is_call: _Arr, engine: str
) -> tuple[_Arr, _Arr]:
    """Implied volatility of American prices on ``engine`` and ``int8`` status codes.

    Per option (in parallel): the European implied volatility of the price, then that of
    the price net of the early-exercise premium found there, then a secant iteration kept
    inside the bracket (bisection fallback), typically 3-5 engine evaluations. Tolerance
    ``1e-10`` in volatility or ``1e-12`` relative in price.

    Statuses (``riskdesk.pricing._status``): ``invalid_input`` (non-finite or negative
    price, bad inputs), ``below_intrinsic`` (below the zero-volatility American value, which
    is at least intrinsic, by more than ``1e-10 max(S, K)``), ``no_time_value`` (within that
    tolerance of it: the volatility is not identified, NaN), ``above_upper_bound`` (at or
    above the infinite-volatility value ``S`` for a call, ``K`` for a put -- ``S e^{-qT}``,
    ``K e^{-rT}`` when that yield is negative -- or any time value at expiry),
    ``not_converged`` (no bracket below 6400% volatility). One bad element never raises.
    """
    code = _engine_code(engine)
    return iv_batch(price, S, K, T, r, q, is_call, code, *_kernel_args(S.shape[0]))


def crr_price(
    S: _Arr,
    K: _Arr,
    T: _Arr,
    r: _Arr,
    q: _Arr,
    sigma: _Arr,
    is_call: _Arr,
    steps: int = 2000,
    american: bool = True,
) -> _Arr:
    """Cox-Ross-Rubinstein binomial values (American or European), an independent check."""
    if steps < 1:
        raise ValueError(f"steps={steps}: a binomial tree needs at least one step")
    return crr_batch(S, K, T, r, q, sigma, is_call, int(steps), bool(american))


# --- Greeks --------------------------------------------------------------------------------

# A stencil point is (i_S, i_v, i_T, i_r, i_q): multiples of each bump. ``i_v is None`` keeps
# the volatility as given; an integer puts it at ``centre + i_v * h_v`` (the volatility
# stencil's centre is shifted up from a near-zero volatility so that it stays positive).
_Point = tuple[int, int | None, int, int, int]

_BASE: _Point = (0, None, 0, 0, 0)


def _s(i: int) -> _Point:
    return (i, None, 0, 0, 0)


def _v(i: int) -> _Point:
    return (0, i, 0, 0, 0)


def _t(i: int) -> _Point:
    return (0, None, i, 0, 0)


def _r(i: int) -> _Point:
    return (0, None, 0, i, 0)


def _q(i: int) -> _Point:
    return (0, None, 0, 0, i)


def _sv(a: int, b: int) -> _Point:
    return (a, b, 0, 0, 0)


def _st(a: int, b: int) -> _Point:
    return (a, None, b, 0, 0)


def _vt(a: int, b: int) -> _Point:
    return (0, a, b, 0, 0)


_S4 = [_s(-2), _s(-1), _s(1), _s(2)]
_S6 = [_s(-3), *_S4, _s(3)]
_V4 = [_v(-2), _v(-1), _v(1), _v(2)]
_T4 = [_t(-2), _t(-1), _t(1), _t(2)]
_R4 = [_r(-2), _r(-1), _r(1), _r(2)]
_Q4 = [_q(-2), _q(-1), _q(1), _q(2)]


def _corners(make: object, k: int) -> list[_Point]:
    """The four points ``(+-k, +-k)`` of a mixed second derivative."""
    assert callable(make)
    return [make(a * k, b * k) for a in (-1, 1) for b in (-1, 1)]


def _third(make: object, k: int) -> list[_Point]:
    """Points of a second difference in the first variable at ``+-k`` in the second."""
    assert callable(make)
    return [make(a * k, b * k) for a in (-1, 0, 1) for b in (-1, 1)]


_NEEDS: dict[str, list[_Point]] = {
    "price": [_BASE],
    "delta": [_BASE, *_S4],
    "gamma": [_BASE, *_S4],
    "speed": [_BASE, *_S6],
    "vega": _V4,
    "volga": [*_V4, _v(0)],
    "theta": _T4,
    "rho": [_BASE, *_R4],
    "phi": [_BASE, *_Q4],
    "vanna": _corners(_sv, 1) + _corners(_sv, 2),
    "zomma": _third(_sv, 1) + _third(_sv, 2),
    "charm": _corners(_st, 1) + _corners(_st, 2),
    "color": _third(_st, 1) + _third(_st, 2),
    "veta": _corners(_vt, 1) + _corners(_vt, 2),
}

_DAY = 1.0 / 365.0
_RATE_BUMP = 1e-4


def _first(v: dict[int, _Arr], h: _Arr | float) -> _Arr:
    """``f'`` from ``f(-2h), f(-h), f(h), f(2h)`` (error ``O(h^4)``)."""
    out: _Arr = (v[-2] - 8.0 * v[-1] + 8.0 * v[1] - v[2]) / (12.0 * h)
    return out


def _second(v: dict[int, _Arr], h: _Arr | float) -> _Arr:
    """``f''`` from ``f(0), f(+-h), f(+-2h)`` (error ``O(h^4)``)."""
    out: _Arr = (-v[-2] + 16.0 * v[-1] - 30.0 * v[0] + 16.0 * v[1] - v[2]) / (12.0 * h * h)
    return out


def _rich(fine: _Arr, coarse: _Arr) -> _Arr:
    """Richardson extrapolation of an ``O(h^2)`` difference from steps ``h`` and ``2h``."""
    out: _Arr = (4.0 * fine - coarse) / 3.0
    return out


def american_greeks(
    S: _Arr,
    K: _Arr,
    T: _Arr,
    r: _Arr,
    q: _Arr,
    sigma: _Arr,
    is_call: _Arr,
    engine: str,
    which: tuple[str, ...],
) -> dict[str, _Arr]:
    """Price and Greeks named in ``which`` (a subset of ``GREEK_KEYS``), one kernel call.

    See the module docstring for units, stencils and bump sizes. Rate and yield derivatives
    are one-sided (second order) when a bump would change the valuation route (for
    instance a call at ``q = 0`` whose yield bumped up may be exercised early).
    """
    code = _engine_code(engine)
    unknown = [w for w in which if w not in _NEEDS]
    if unknown:
        raise ValueError(f"which={which!r}: unknown Greek(s) {unknown}; use {GREEK_KEYS}")
    points: list[_Point] = []
    for w in which:
        for pt in _NEEDS[w]:
            if pt not in points:
                points.append(pt)
    # Points that differ only in spot share the engine's exercise boundary (``alo_put``
    # keeps the last one solved per thread): group them, and lay the stack out option-major
    # so that an option's points follow one another in the kernel's input.
    points.sort(key=lambda pt: (pt[1] is None, pt[1] or 0, pt[2], pt[3], pt[4], pt[0]))
    n = S.shape[0]
    expired = T <= 0.0
    h_s = S * np.clip(0.02 * sigma * np.sqrt(T), 1e-4, 1e-2)
    h_v = np.maximum(0.01 * sigma, 1e-4)
    v_centre = np.maximum(sigma, 3.0 * h_v)
    h_t = np.where(expired, 1.0, T / 200.0)
    stack = len(points)
    s_all = np.empty((n, stack))
    v_all = np.empty((n, stack))
    t_all = np.empty((n, stack))
    r_all = np.empty((n, stack))
    q_all = np.empty((n, stack))
    for col, (i_s, i_v, i_t, i_r, i_q) in enumerate(points):
        s_all[:, col] = S + i_s * h_s
        v_all[:, col] = sigma if i_v is None else v_centre + i_v * h_v
        t_all[:, col] = np.where(expired, T, T + i_t * h_t)
        r_all[:, col] = r + i_r * _RATE_BUMP
        q_all[:, col] = q + i_q * _RATE_BUMP
    s_f = s_all.ravel()
    k_f = np.repeat(K, stack)
    t_f = t_all.ravel()
    r_f = r_all.ravel()
    q_f = q_all.ravel()
    v_f = v_all.ravel()
    c_f = np.repeat(is_call, stack)
    if code == ENGINE_ALO:
        # every price sharing the boundary inputs next to each other (a spot grid of one leg
        # too, not only an option's own spot bumps); lexsort is stable, so a run keeps the
        # option-major order
        o = np.lexsort((v_f, q_f, r_f, t_f, c_f))
        flat_values = np.empty(stack * n)
        flat_values[o] = price_batch(
            s_f[o], k_f[o], t_f[o], r_f[o], q_f[o], v_f[o], c_f[o], code, *_kernel_args(stack * n)
        )
    else:
        flat_values = price_batch(s_f, k_f, t_f, r_f, q_f, v_f, c_f, code, *_kernel_args(stack * n))
    values = flat_values.reshape(n, stack).T
    at = {pt: values[row] for row, pt in enumerate(points)}

    def line(make: object) -> dict[int, _Arr]:
        assert callable(make)
        out = {k: at[make(k)] for k in (-2, -1, 1, 2) if make(k) in at}
        if make(0) in at:
            out[0] = at[make(0)]
        elif _BASE in at:
            out[0] = at[_BASE]
        return out

    def mixed(make: object, ha: _Arr, hb: _Arr) -> _Arr:
        assert callable(make)
        d = [
            (at[make(k, k)] - at[make(k, -k)] - at[make(-k, k)] + at[make(-k, -k)])
            / (4.0 * k * k * ha * hb)
            for k in (1, 2)
        ]
        return _rich(d[0], d[1])

    def third(make: object, ha: _Arr, hb: _Arr) -> _Arr:
        """``d^3 V / da^2 db`` (second difference in ``a`` at ``b +- k``, Richardson in k)."""
        assert callable(make)
        d = []
        for k in (1, 2):
            up = (at[make(k, k)] - 2.0 * at[make(0, k)] + at[make(-k, k)]) / (k * ha) ** 2
            dn = (at[make(k, -k)] - 2.0 * at[make(0, -k)] + at[make(-k, -k)]) / (k * ha) ** 2
            d.append((up - dn) / (2.0 * k * hb))
        return _rich(d[0], d[1])

    def rate_first(name: str) -> _Arr:
        """First derivative in ``r`` or ``q``, one-sided where a bump changes the route.

        Central when all four bumped points keep the base inputs' valuation route,
        otherwise second-order one-sided on a side that keeps it.
        """
        make = _r if name == "r" else _q
        v = line(make)
        base_route = route_batch(T, r, q, sigma, is_call)
        same = {}
        for k in (-2, -1, 1, 2):
            r_k = r + k * _RATE_BUMP if name == "r" else r
            q_k = q + k * _RATE_BUMP if name == "q" else q
            same[k] = route_batch(T, r_k, q_k, sigma, is_call) == base_route
        h = _RATE_BUMP
        central = _first(v, h)
        backward = (3.0 * v[0] - 4.0 * v[-1] + v[-2]) / (2.0 * h)
        forward = (-3.0 * v[0] + 4.0 * v[1] - v[2]) / (2.0 * h)
        res = np.where(same[1] & same[2], forward, central)
        res = np.where(same[-2] & same[-1], backward, res)
        return np.where(same[-2] & same[-1] & same[1] & same[2], central, res)

    out: dict[str, _Arr] = {}
    zero = np.zeros(n)
    for w in which:
        if w == "price":
            res = at[_BASE].copy()
        elif w == "delta":
            res = _first(line(_s), h_s)
        elif w == "gamma":
            res = np.where(expired, zero, _second(line(_s), h_s))
        elif w == "speed":
            v = line(_s)
            v3, vm3 = at[_s(3)], at[_s(-3)]
            sp = (-v3 + 8.0 * v[2] - 13.0 * v[1] + 13.0 * v[-1] - 8.0 * v[-2] + vm3) / (
                8.0 * h_s**3
            )
            res = np.where(expired, zero, sp)
        elif w == "vega":
            res = 0.01 * _first(line(_v), h_v)
        elif w == "volga":
            res = 1e-4 * _second(line(_v), h_v)
        elif w == "theta":
            res = np.where(expired, zero, -_DAY * _first(line(_t), h_t))
        elif w == "rho":
            res = 0.01 * rate_first("r")
        elif w == "phi":
            res = 0.01 * rate_first("q")
        elif w == "vanna":
            res = np.where(expired, zero, 0.01 * mixed(_sv, h_s, h_v))
        elif w == "zomma":
            res = np.where(expired, zero, 0.01 * third(_sv, h_s, h_v))
        elif w == "charm":
            res = np.where(expired, zero, -_DAY * mixed(_st, h_s, h_t))
        elif w == "color":
            res = np.where(expired, zero, -_DAY * third(_st, h_s, h_t))
        else:  # veta
            res = np.where(expired, zero, -_DAY * 0.01 * mixed(_vt, h_v, h_t))
        out[w] = np.ascontiguousarray(res, dtype=_F64)
    return out
