"""Implied-volatility surface: per-expiry raw SVI fits with fail-closed arbitrage checks.

Conventions
-----------
* ``T`` is time to expiry in years (ACT/365F, see ``riskdesk.domain.timeutil``); ``T > 0``.
* ``k = log(K / F)`` is log forward moneyness, ``F`` the forward of the same expiry.
* ``w = iv**2 * T`` is total implied variance; ``iv`` is a decimal vol (0.20 = 20 %).
* Raw SVI (Gatheral 2004) for one expiry::

      w(k) = a + b * (rho * (k - m) + sqrt((k - m)**2 + sigma**2))

  with ``b >= 0``, ``|rho| < 1``, ``sigma > 0`` and ``a + b * sigma * sqrt(1 - rho**2) >= 0``
  (the minimum of ``w``, so total variance is never negative).

Fitting
-------
:func:`fit_svi` minimises ``sum(weights * (iv_svi(k) - iv)**2)`` to first order, i.e.
``sum(weights / (4 w T) * (w_svi(k) - w)**2)`` in total variance, with the caller's weights
(``(vega / (ask - bid))**2``: one over the squared quote width in vol units). The data are first
rescaled to ``x in [-1, 1]`` and unit mean variance. A start is found with the quasi-explicit
reduction of Zeliade (2009): for fixed ``(m, sigma)`` SVI is linear in
``(a, b*sigma, rho*b*sigma)`` (solved by weighted linear least squares, projected onto
``b >= 0``, ``|rho| < 1``), so a 17 x 12 grid over ``(m, sigma)`` and Nelder-Mead on that 2-D
profile from the three best grid points give robust guesses, which
:func:`scipy.optimize.least_squares` then polishes over all five parameters with box bounds on
``(v_min, b, rho, m, sigma)``, ``v_min = a + b*sigma*sqrt(1 - rho**2) >= 0``; the best of the
three polished fits is kept (about 50 ms per slice).

That best fit reproduces exact SVI data, but where quotes carry tick noise and one wing is
barely quoted (short expiries with a steep skew: the smile's minimum lies beyond the last
call with a bid), it is free to bend the unquoted wing: a kink just past the data with
``sigma -> 0``, ``rho -> 1`` and a wing slope of 1e5 fits the noise a little better than the
true smile. Such fits fail the checks below although the market is arbitrage free. So when the
best fits of a surface are arbitrageable, :func:`build_surface` refits every slice in ``T``
order with ``fit_svi(arbitrage_free=True)``: first the three-parameter SSVI slice of
Gatheral & Jacquier (2014) inside the bounds of their Theorem 4.2 (free of butterfly
arbitrage by construction, wings set by the whole smile), then, if that misses the quotes,
raw SVI started there; both with one-sided penalties for a negative density, Lee's bound and
total variance below the previous slice. A refit replaces the best fit only when it passes
the checks and costs at most ``repair_tolerance`` (0.1 vol point) of weighted RMSE more;
otherwise the arbitrage is in the quotes and the surface falls back.

Arbitrage checks (fail closed)
------------------------------
* Butterfly: Gatheral's density factor (Gatheral & Jacquier 2014)::

      g(k) = (1 - k w'/(2w))**2 - w'**2/4 * (1/w + 1/4) + w''/2  >= 0

  on a dense grid over the quoted range widened to ``|k| <= check_width * sqrt(T)`` (i.e.
  ``check_width`` standard deviations of a 100 % vol; ``[-1.5, 1.5]`` at ``T = 1``), plus
  ``w > 0`` there and Roger Lee's wing bound ``b * (1 + |rho|) <= 2``.
* Calendar: ``w(k, T_{i+1}) >= w(k, T_i)`` for every ``k`` on the union of both slices' grids.

:func:`build_surface` fits every expiry; when any slice has fewer than ``min_quotes`` usable
quotes, a weighted RMSE above ``max_rmse``, or any arbitrage check fails, the surface has
``status == "fallback"``, lists the reasons in ``diagnostics`` and evaluates the raw chain
instead (see :class:`VolSurface`).

References
----------
J. Gatheral, A. Jacquier, "Arbitrage-free SVI volatility surfaces", Quantitative Finance 14(1),
2014. R. Lee, "The moment formula for implied volatility at extreme strikes", Mathematical
Finance 14(3), 2004 (wing slope of total variance ``<= 2``). Zeliade Systems,
"Quasi-explicit calibration of Gatheral's SVI model", 2009.

Examples
--------
>>> import numpy as np
>>> true = SviSlice(T=0.5, a=0.01, b=0.1, rho=-0.4, m=0.02, sigma=0.15)
>>> k = np.linspace(-0.6, 0.4, 21)
>>> fit = fit_svi(k, true.total_variance(k), 0.5)
>>> bool(abs(fit.rho - true.rho) < 1e-6)
True

"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from itertools import pairwise
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy.optimize import least_squares, minimize

__all__ = [
    "SliceQuotes",
    "SurfaceStatus",
    "SviFitError",
    "SviSlice",
    "VolSurface",
    "arbitrage_diagnostics",
    "build_surface",
    "fit_svi",
]

FloatArray = npt.NDArray[np.float64]
SurfaceStatus = Literal["ok", "fallback"]
"""``ok``: evaluated from fitted SVI slices; ``fallback``: evaluated from raw chain IVs."""

_MIN_PARAMS = 5  # raw SVI has five parameters
_RHO_MAX = 1.0 - 1e-9
_SIGMA_MIN = 1e-8  # in rescaled units x = (k - k0) / half-span
_DENSITY_TOL = 1e-10
_LEE_BOUND = 2.0
# Repair fits (fit_svi(arbitrage_free=True)) keep a margin inside each check so that the
# fail-closed checks, run on a finer grid, pass: g >= 1e-3 (the SSVI slices of the simulated
# market have min g ~ 0.3), a wing slope <= 2 - 1e-6, total variance 1e-7 (relative) above
# the earlier slice's.
_DENSITY_MARGIN = 1e-3
_LEE_MARGIN = 1e-6
_CALENDAR_MARGIN = 1e-7
_VMIN_REPAIR = 1e-9  # scaled units; keeps w > 0 so g is defined
_PENALTY_POINTS = 401
_PENALTY_WEIGHT = 100.0
# Box bounds on the scaled raw SVI parameters (v_min, b, rho, m, sigma).
_FIT_LOWER = np.array([0.0, 0.0, -_RHO_MAX, -10.0, _SIGMA_MIN])
_REPAIR_LOWER = np.array([_VMIN_REPAIR, 0.0, -_RHO_MAX, -10.0, _SIGMA_MIN])
_REPAIR_UPPER = np.array([np.inf, np.inf, _RHO_MAX, 10.0, 100.0])


class SviFitError(ValueError):
    """A slice cannot be fitted (too few quotes, bad inputs); the message says why."""


def _as_1d(name: str, values: npt.ArrayLike) -> FloatArray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {array.shape}")
    return array


@dataclass(frozen=True, slots=True)
class SviSlice:
    """One expiry's raw SVI total-variance smile.

    Parameters
    ----------
    T : float
        Time to expiry in years (> 0).
    a, b, rho, m, sigma : float
        Raw SVI parameters in total-variance units (``w = iv**2 * T``) and log forward
        moneyness ``k``; ``b >= 0``, ``|rho| < 1``, ``sigma > 0``,
        ``a + b*sigma*sqrt(1 - rho**2) >= 0``.
    rmse : float
        Weighted root-mean-square implied-vol error of the fit (decimal vol; 0.01 = 1 vol
        point). NaN for slices not produced by :func:`fit_svi`.
    n_quotes : int
        Quotes used by the fit (0 for hand-built slices).
    k_min, k_max : float
        Quoted log-moneyness range (NaN for hand-built slices); the arbitrage grid covers it.

    Raises
    ------
    ValueError
        If the parameters violate the raw SVI constraints.

    """

    T: float
    a: float
    b: float
    rho: float
    m: float
    sigma: float
    rmse: float = float("nan")
    n_quotes: int = 0
    k_min: float = float("nan")
    k_max: float = float("nan")

    def __post_init__(self) -> None:
        values = (self.T, self.a, self.b, self.rho, self.m, self.sigma)
        if not all(np.isfinite(values)):
            raise ValueError(f"SVI parameters must be finite, got {values}")
        if self.T <= 0:
            raise ValueError(f"SviSlice.T must be > 0 years, got {self.T}")
        if self.b < 0:
            raise ValueError(f"SVI b must be >= 0, got {self.b}")
        if not abs(self.rho) < 1:
            raise ValueError(f"SVI rho must satisfy |rho| < 1, got {self.rho}")
        if self.sigma <= 0:
            raise ValueError(f"SVI sigma must be > 0, got {self.sigma}")
        scale = abs(self.a) + self.b * self.sigma
        if self.min_total_variance < -1e-12 * scale:
            raise ValueError(
                f"SVI needs a + b*sigma*sqrt(1-rho^2) >= 0 (non-negative total variance), "
                f"got {self.min_total_variance:.6g}"
            )

    @property
    def min_total_variance(self) -> float:
        """Minimum of ``w(k)`` over all ``k``: ``a + b*sigma*sqrt(1 - rho**2)``."""
        return self.a + self.b * self.sigma * float(np.sqrt(1.0 - self.rho * self.rho))

    @property
    def wing_slope(self) -> float:
        """Largest asymptotic slope ``b * (1 + |rho|)`` of ``w(k)``; Lee's bound is 2."""
        return self.b * (1.0 + abs(self.rho))

    def total_variance(self, k: npt.ArrayLike) -> FloatArray:
        """Total implied variance ``w(k)`` at log forward moneyness ``k`` (vectorized)."""
        x = np.asarray(k, dtype=np.float64) - self.m
        result: FloatArray = self.a + self.b * (
            self.rho * x + np.sqrt(x * x + self.sigma * self.sigma)
        )
        return result

    def implied_vol(self, k: npt.ArrayLike) -> FloatArray:
        """Implied vol ``sqrt(w(k) / T)`` (decimal) at log forward moneyness ``k``."""
        result: FloatArray = np.sqrt(np.maximum(self.total_variance(k), 0.0) / self.T)
        return result

    def density(self, k: npt.ArrayLike) -> FloatArray:
        """Gatheral's ``g(k)``; the risk-neutral density is ``g(k)/sqrt(2*pi*w) * exp(-d2**2/2)``.

        ``g(k) < 0`` anywhere means butterfly arbitrage (negative density).
        """
        kk = np.asarray(k, dtype=np.float64)
        x = kk - self.m
        root = np.sqrt(x * x + self.sigma * self.sigma)
        w = self.a + self.b * (self.rho * x + root)
        w1 = self.b * (self.rho + x / root)
        w2 = self.b * self.sigma * self.sigma / root**3
        result: FloatArray = (
            (1.0 - kk * w1 / (2.0 * w)) ** 2 - w1 * w1 / 4.0 * (1.0 / w + 0.25) + w2 / 2.0
        )
        return result


# --------------------------------------------------------------------------------------------
# Fitting
# --------------------------------------------------------------------------------------------


def _profile(
    m: float, sigma: float, x: FloatArray, y: FloatArray, sw: FloatArray
) -> tuple[float, float, float, float]:
    """Zeliade inner step: best ``(a, c, d)`` for fixed ``(m, sigma)``; returns cost too.

    ``w = a + d*z + c*sqrt(z**2 + 1)`` with ``z = (x - m)/sigma``, ``c = b*sigma >= 0``,
    ``d = rho*b*sigma``, ``|d| <= c``. The unconstrained weighted least-squares solution is
    projected onto the constraints and ``a`` re-solved.
    """
    z = (x - m) / sigma
    root = np.sqrt(z * z + 1.0)
    design = np.column_stack([np.ones_like(z), z, root]) * sw[:, None]
    coef = np.linalg.lstsq(design, y * sw, rcond=None)[0]
    a, d, c = (float(v) for v in coef)
    if c < 0.0 or abs(d) > c:
        c = max(c, 0.0)
        d = float(np.clip(d, -c * _RHO_MAX, c * _RHO_MAX))
        a = float(np.sum(sw * sw * (y - d * z - c * root)) / np.sum(sw * sw))
    residual = sw * (a + d * z + c * root - y)
    return a, c, d, float(residual @ residual)


def _svi_residuals(
    p: FloatArray, x: FloatArray, y: FloatArray, sw: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Weighted residuals and Jacobian in ``p = (v_min, b, rho, m, sigma)``."""
    vmin, b, rho, m, sigma = (float(v) for v in p)
    q = np.sqrt(1.0 - rho * rho)
    dx = x - m
    root = np.sqrt(dx * dx + sigma * sigma)
    model = vmin - b * sigma * q + b * (rho * dx + root)
    jac = np.column_stack(
        [
            np.ones_like(x),
            -sigma * q + rho * dx + root,
            b * sigma * rho / q + b * dx,
            -b * (rho + dx / root),
            -b * q + b * sigma / root,
        ]
    )
    return sw * (model - y), jac * sw[:, None]


@dataclass(frozen=True, slots=True)
class _Scaling:
    """Affine rescaling of one slice's data: ``k = k0 + half * x`` and ``w = scale_w * y``."""

    k0: float
    half: float
    scale_w: float


@dataclass(frozen=True, slots=True)
class _Penalty:
    """No-arbitrage penalty of a repair fit, on a grid of scaled moneyness ``x``.

    ``k`` is the grid in log moneyness, ``y_floor`` the earlier slice's scaled total variance
    on it (None without a calendar constraint) and ``weight`` the factor on each violation.
    """

    scaling: _Scaling
    x: FloatArray
    k: FloatArray
    y_floor: FloatArray | None
    weight: float

    def residuals(self, p: FloatArray) -> FloatArray:
        """One-sided violations: Lee slope, density ``g`` and calendar, each with a margin."""
        vmin, b, rho, m, sigma = (float(v) for v in p)
        sc = self.scaling
        q = float(np.sqrt(1.0 - rho * rho))
        dx = self.x - m
        root = np.sqrt(dx * dx + sigma * sigma)
        y = vmin - b * sigma * q + b * (rho * dx + root)
        w = sc.scale_w * y
        w1 = sc.scale_w / sc.half * b * (rho + dx / root)
        w2 = sc.scale_w / sc.half**2 * b * sigma * sigma / root**3
        with np.errstate(divide="ignore", invalid="ignore"):
            g = (1.0 - self.k * w1 / (2.0 * w)) ** 2 - w1 * w1 / 4.0 * (1.0 / w + 0.25) + w2 / 2.0
        g = np.where((w > 0) & np.isfinite(g), g, -1.0)
        slope = sc.scale_w / sc.half * b * (1.0 + abs(rho))
        parts = [
            np.array([max(slope - (_LEE_BOUND - _LEE_MARGIN), 0.0)]),
            np.minimum(g - _DENSITY_MARGIN, 0.0),
        ]
        if self.y_floor is not None:
            gap = y - self.y_floor * (1.0 + _CALENDAR_MARGIN)
            parts.append(np.minimum(gap, 0.0))
        result: FloatArray = self.weight * np.concatenate(parts)
        return result


def _polish(
    start: FloatArray,
    x: FloatArray,
    y: FloatArray,
    sw: FloatArray,
    penalty: _Penalty | None = None,
) -> tuple[FloatArray, float]:
    """Least-squares polish from ``start``; returns parameters and total (penalised) cost."""
    lower = _FIT_LOWER if penalty is None else _REPAIR_LOWER
    upper = _REPAIR_UPPER
    x0 = np.clip(start, lower, upper)
    if penalty is None:
        res = least_squares(
            lambda p: _svi_residuals(p, x, y, sw)[0],
            x0,
            jac=lambda p: _svi_residuals(p, x, y, sw)[1],
            bounds=(lower, upper),
            method="trf",
            x_scale="jac",
            ftol=1e-14,
            xtol=1e-14,
            gtol=1e-14,
            max_nfev=2000,
        )
    else:

        def fun(p: FloatArray) -> FloatArray:
            return np.concatenate([_svi_residuals(p, x, y, sw)[0], penalty.residuals(p)])

        res = least_squares(
            fun,
            x0,
            jac="2-point",
            bounds=(lower, upper),
            method="trf",
            x_scale="jac",
            ftol=1e-12,
            xtol=1e-12,
            gtol=1e-12,
            max_nfev=500,
        )
    params: FloatArray = np.asarray(res.x, dtype=np.float64)
    return params, float(2.0 * res.cost)


def _start_from_profile(m: float, sigma: float, a: float, c: float, d: float) -> FloatArray:
    """Convert a profile solution to ``(v_min, b, rho, m, sigma)``."""
    b = c / sigma
    rho = d / c if c > 0 else 0.0
    rho = float(np.clip(rho, -_RHO_MAX, _RHO_MAX))
    vmin = max(a + c * float(np.sqrt(1.0 - rho * rho)), 0.0)
    return np.array([vmin, b, rho, m, sigma])


def fit_svi(
    k: npt.ArrayLike,
    w: npt.ArrayLike,
    T: float,
    weights: npt.ArrayLike | None = None,
    *,
    min_quotes: int = _MIN_PARAMS,
    shape: Literal["raw", "ssvi"] = "raw",
    arbitrage_free: bool = False,
    calendar_floor: SviSlice | None = None,
    check_width: float = 1.5,
) -> SviSlice:
    """Fit raw SVI to one expiry's total implied variances.

    Parameters
    ----------
    k : array_like
        Log forward moneyness ``log(K/F)`` of each quote.
    w : array_like
        Total implied variance ``iv**2 * T`` of each quote (> 0).
    T : float
        Time to expiry in years (> 0); stored, and converts total variance to implied vol.
    weights : array_like or None
        Non-negative weight of each quote's squared implied-vol miss, e.g.
        ``(vega / (ask - bid))**2`` (one over the squared quote width in vol units); None
        means equal weights. Quotes with zero weight are ignored.
    min_quotes : int
        Minimum number of quotes with positive weight at distinct ``k`` (at least 5, the
        number of SVI parameters).
    shape : {"raw", "ssvi"}
        ``raw``: all five raw SVI parameters. ``ssvi``: the three-parameter SSVI slice
        ``w = theta/2 * (1 + rho*phi*k + sqrt((phi*k + rho)**2 + 1 - rho**2))`` of
        Gatheral & Jacquier (2014) within the bounds of their Theorem 4.2
        (``theta*phi*(1 + |rho|) < 4``, ``theta*phi**2*(1 + |rho|) <= 4``), which make it free
        of butterfly arbitrage whatever the data; returned as raw SVI. Its wings follow from
        the whole smile, so it extrapolates sensibly where one side is barely quoted.
    arbitrage_free : bool
        Add a penalty that keeps the fit free of the arbitrage :func:`arbitrage_diagnostics`
        looks for: Lee's wing bound, a positive density ``g(k)`` on the check grid
        (``|k| <= check_width * sqrt(T)`` and the quoted range) and, with
        ``calendar_floor``, total variance above that earlier slice's. A ``raw`` fit then
        starts from the ``ssvi`` one. Used to repair fits whose small misfits (tick
        rounding, barely quoted wings) made the surface arbitrageable.
    calendar_floor : SviSlice or None
        Earlier expiry's slice the fit must stay above (only with ``arbitrage_free``).
    check_width : float
        Half width of the check grid in ``sqrt(T)`` units (only with ``arbitrage_free``).

    Returns
    -------
    SviSlice
        Fitted parameters, weighted implied-vol RMSE, quote count and quoted ``k`` range.

    Raises
    ------
    SviFitError
        Fewer than ``min_quotes`` usable quotes, or non-finite / non-positive inputs.

    Notes
    -----
    The squared total-variance miss of quote ``i`` is weighted ``weights[i] / (4 w_i T)``,
    since ``dw = 2 sqrt(w T) d(iv)``: to first order the fit minimises the weighted squared
    implied-vol misses, so a wing quote of small total variance is not drowned by the
    at-the-money ones.

    """
    kk, ww = _as_1d("k", k), _as_1d("w", w)
    if kk.shape != ww.shape:
        raise SviFitError(f"k and w must have the same length, got {kk.size} and {ww.size}")
    if not (np.isfinite(T) and T > 0):
        raise SviFitError(f"T must be a finite number of years > 0, got {T}")
    wt = np.ones_like(kk) if weights is None else _as_1d("weights", weights)
    if wt.shape != kk.shape:
        raise SviFitError(f"weights must match k in length, got {wt.size} and {kk.size}")
    if not (np.all(np.isfinite(kk)) and np.all(np.isfinite(ww)) and np.all(np.isfinite(wt))):
        raise SviFitError("k, w and weights must be finite; drop quotes whose IV solve failed")
    if np.any(ww <= 0) or np.any(wt < 0):
        raise SviFitError("total variances must be > 0 and weights >= 0")
    used = wt > 0
    kk, ww, wt = kk[used], ww[used], wt[used]
    needed = max(min_quotes, _MIN_PARAMS)
    distinct = np.unique(kk).size
    if distinct < needed:
        raise SviFitError(
            f"fewer than {needed} quotes (got {distinct} distinct strikes with positive "
            f"weight; raw SVI has 5 parameters)"
        )

    # Rescale: x in [-1, 1], y with unit weighted mean, weights with unit mean.
    wt = wt / wt.mean()
    scaling = _Scaling(
        k0=0.5 * float(kk.max() + kk.min()),
        half=0.5 * float(kk.max() - kk.min()),
        scale_w=float(np.sum(wt * ww) / np.sum(wt)),
    )
    x, y = (kk - scaling.k0) / scaling.half, ww / scaling.scale_w
    # An implied-vol miss d(iv) is a total-variance miss dw = 2 sqrt(w T) d(iv), so the
    # squared miss in y is weighted wt / y (the constant 4 T scale_w drops out).
    w_weight = wt / y
    sw = np.sqrt(w_weight / w_weight.mean())
    penalty = (
        _penalty(scaling, kk, T, n=int(sw.size), check_width=check_width, floor=calendar_floor)
        if arbitrage_free
        else None
    )
    if shape == "ssvi":
        params = _ssvi_params(kk, y, sw, scaling, penalty)
    elif penalty is not None:
        params = _arbitrage_free_params(x, y, sw, kk, scaling, penalty)
    else:
        params = min((_polish(s, x, y, sw) for s in _starts(x, y, sw)), key=lambda c: c[1])[0]
    fitted = _to_slice(params, scaling, T)
    iv_fit = fitted.implied_vol(kk)
    iv_obs = np.sqrt(ww / T)
    rmse = float(np.sqrt(np.sum(wt * (iv_fit - iv_obs) ** 2) / np.sum(wt)))
    return replace(
        fitted, rmse=rmse, n_quotes=int(kk.size), k_min=float(kk.min()), k_max=float(kk.max())
    )


def _ssvi_raw(theta: float, rho: float, u: float) -> tuple[float, float, float, float, float]:
    """Raw SVI ``(a, b, rho, m, sigma)`` of the SSVI slice ``(theta, rho, psi = theta*phi)``.

    ``psi = u * min(4 / (1 + |rho|), 2 * sqrt(theta / (1 + |rho|)))`` with ``0 < u < 1``:
    Gatheral & Jacquier (2014), Theorem 4.2: ``theta*phi*(1 + |rho|) < 4`` and
    ``theta*phi**2*(1 + |rho|) <= 4`` make the slice free of butterfly arbitrage (and its wing
    slope ``b*(1 + |rho|) = psi*(1 + |rho|)/2 < 2``).
    """
    lift = 1.0 + abs(rho)
    psi = u * min(4.0 / lift, 2.0 * float(np.sqrt(theta / lift)))
    phi = psi / theta
    q = float(np.sqrt(1.0 - rho * rho))
    return theta / 2.0 * (1.0 - rho * rho), psi / 2.0, rho, -rho / phi, q / phi


def _ssvi_params(
    kk: FloatArray, y: FloatArray, sw: FloatArray, scaling: _Scaling, penalty: _Penalty | None
) -> FloatArray:
    """Best butterfly-free SSVI slice for the data, as scaled raw SVI parameters.

    Three parameters ``(log theta, rho, u)`` of :func:`_ssvi_raw` in box bounds, so every
    trial slice is free of butterfly arbitrage; ``penalty`` adds the calendar constraint.
    Starts from :func:`_ssvi_starts`.
    """
    sc = scaling.scale_w

    def scaled(p: FloatArray) -> FloatArray:
        a, b, rho, m, sigma = _ssvi_raw(float(np.exp(p[0])) * sc, float(p[1]), float(p[2]))
        q = float(np.sqrt(1.0 - rho * rho))
        return np.array(
            [
                (a + b * sigma * q) / sc,
                b * scaling.half / sc,
                rho,
                (m - scaling.k0) / scaling.half,
                sigma / scaling.half,
            ]
        )

    def residuals(p: FloatArray) -> FloatArray:
        a, b, rho, m, sigma = _ssvi_raw(float(np.exp(p[0])) * sc, float(p[1]), float(p[2]))
        dx = kk - m
        model = a + b * (rho * dx + np.sqrt(dx * dx + sigma * sigma))
        data: FloatArray = sw * (model / sc - y)
        if penalty is None:
            return data
        return np.concatenate([data, penalty.residuals(scaled(p))])

    lower = np.array([np.log(1e-6), -_RHO_MAX, 1e-6])
    upper = np.array([np.log(1e3), _RHO_MAX, 1.0 - 1e-6])
    best: tuple[FloatArray, float] | None = None
    for start in _ssvi_starts(kk, y, sw, sc):
        res = least_squares(
            residuals,
            np.clip(start, lower + 1e-9, upper - 1e-9),
            bounds=(lower, upper),
            method="trf",
            x_scale="jac",
            ftol=1e-10,
            xtol=1e-10,
            gtol=1e-10,
            max_nfev=200,
        )
        if np.all(np.isfinite(res.x)) and (best is None or res.cost < best[1]):
            best = (np.asarray(res.x, dtype=np.float64), float(res.cost))
    assert best is not None  # least_squares keeps x finite inside finite bounds
    return scaled(best[0])


def _ssvi_starts(kk: FloatArray, y: FloatArray, sw: FloatArray, scale_w: float) -> list[FloatArray]:
    """Starts ``(log theta, rho, u)`` for :func:`_ssvi_params`.

    The first matches the SSVI slice's level, skew and curvature at the money,
    ``w(0) = theta``, ``w'(0) = rho*psi/2`` and ``w''(0) = psi**2 (1 - rho**2) / (4 theta)``,
    to a weighted quadratic through the quotes within two at-the-money deviations
    (``sqrt(theta)``) of the forward; the second is a generic skewed smile.
    """
    order = np.argsort(kk)
    theta0 = max(float(np.interp(0.0, kk[order], y[order])), 1e-6)
    generic = np.array([np.log(theta0), -0.5, 0.5])
    near = np.abs(kk) <= 2.0 * np.sqrt(theta0 * scale_w)
    if np.count_nonzero(near) < 3:
        near = np.argsort(np.abs(kk))[:3]
    coef = np.polyfit(kk[near], y[near] * scale_w, 2, w=sw[near])
    theta, slope, curvature = float(coef[2]), float(coef[1]), 2.0 * float(coef[0])
    if not (theta > 0 and curvature > 0):
        return [generic]
    psi = 2.0 * float(np.sqrt(theta * curvature + slope * slope))
    rho = float(np.clip(2.0 * slope / psi, -0.95, 0.95))
    lift = 1.0 + abs(rho)
    u = psi / min(4.0 / lift, 2.0 * float(np.sqrt(theta / lift)))
    return [np.array([np.log(theta / scale_w), rho, float(np.clip(u, 0.05, 0.95))]), generic]


def _arbitrage_free_params(
    x: FloatArray,
    y: FloatArray,
    sw: FloatArray,
    kk: FloatArray,
    scaling: _Scaling,
    penalty: _Penalty,
) -> FloatArray:
    """Raw SVI repair fit: penalised polish of the penalised SSVI fit.

    Of the SSVI start and its polish, the ones without penalty (inside every margin) compete
    on data cost; if neither is free of penalty, the lower penalised cost wins.
    """
    start = _ssvi_params(kk, y, sw, scaling, penalty)
    candidates: list[tuple[FloatArray, float, float]] = []
    for params in (start, _polish(start, x, y, sw, penalty)[0]):
        clipped = np.clip(params, _REPAIR_LOWER, _REPAIR_UPPER)
        data = _svi_residuals(clipped, x, y, sw)[0]
        excess = penalty.residuals(clipped)
        candidates.append((clipped, float(data @ data), float(excess @ excess)))
    free = [c for c in candidates if c[2] == 0.0]
    if free:
        return min(free, key=lambda c: c[1])[0]
    return min(candidates, key=lambda c: c[1] + c[2])[0]


def _starts(x: FloatArray, y: FloatArray, sw: FloatArray) -> list[FloatArray]:
    """Quasi-explicit starts: the profile minimised from the three best grid points."""
    log_sigma_bounds = (float(np.log(_SIGMA_MIN)), float(np.log(100.0)))

    def profile_cost(theta: FloatArray) -> float:
        m = float(np.clip(theta[0], -10.0, 10.0))
        sigma = float(np.exp(np.clip(theta[1], *log_sigma_bounds)))
        return _profile(m, sigma, x, y, sw)[3]

    grid = [
        (float(m), float(s))
        for m in np.linspace(-2.0, 2.0, 17)
        for s in np.geomspace(0.01, 4.0, 12)
    ]
    costs = np.array([_profile(m, s, x, y, sw)[3] for m, s in grid])
    starts = []
    for i in np.argsort(costs)[:3]:
        m0, s0 = grid[int(i)]
        nm = minimize(
            profile_cost,
            np.array([m0, np.log(s0)]),
            method="Nelder-Mead",
            options={"xatol": 1e-10, "fatol": 1e-16, "maxiter": 400},
        )
        m1 = float(np.clip(nm.x[0], -10.0, 10.0))
        s1 = float(np.exp(np.clip(nm.x[1], *log_sigma_bounds)))
        a1, c1, d1, _ = _profile(m1, s1, x, y, sw)
        starts.append(_start_from_profile(m1, s1, a1, c1, d1))
    return starts


def _penalty(
    scaling: _Scaling,
    k: FloatArray,
    T: float,
    *,
    n: int,
    check_width: float,
    floor: SviSlice | None,
) -> _Penalty:
    """Penalty grid over the quoted range widened as in the arbitrage checks."""
    half = check_width * float(np.sqrt(T))
    lo, hi = min(float(k.min()), -half), max(float(k.max()), half)
    if floor is not None:
        lo_f, hi_f = _check_range(floor, check_width)
        lo, hi = min(lo, lo_f), max(hi, hi_f)
    grid = np.linspace(lo, hi, _PENALTY_POINTS)
    y_floor = None if floor is None else floor.total_variance(grid) / scaling.scale_w
    return _Penalty(
        scaling=scaling,
        x=(grid - scaling.k0) / scaling.half,
        k=grid,
        y_floor=y_floor,
        weight=_PENALTY_WEIGHT * float(np.sqrt(n)),
    )


def _to_slice(p: FloatArray, scaling: _Scaling, T: float) -> SviSlice:
    """Scaled ``(v_min, b, rho, m, sigma)`` back to a raw SVI slice in ``k`` / ``w`` units."""
    vmin, bx, rho, mx, sx = (float(v) for v in p)
    return SviSlice(
        T=float(T),
        a=scaling.scale_w * (vmin - bx * sx * float(np.sqrt(1.0 - rho * rho))),
        b=scaling.scale_w * bx / scaling.half,
        rho=rho,
        m=scaling.k0 + scaling.half * mx,
        sigma=scaling.half * sx,
    )


# --------------------------------------------------------------------------------------------
# Arbitrage checks
# --------------------------------------------------------------------------------------------


def _check_range(s: SviSlice, width: float) -> tuple[float, float]:
    half = width * float(np.sqrt(s.T))
    lo = min(s.k_min, -half) if np.isfinite(s.k_min) else -half
    hi = max(s.k_max, half) if np.isfinite(s.k_max) else half
    return lo, hi


def _butterfly(s: SviSlice, width: float, n_grid: int) -> list[str]:
    reasons: list[str] = []
    where = f"butterfly arbitrage at T={s.T:.4f}"
    if s.wing_slope > _LEE_BOUND * (1.0 + 1e-12):
        reasons.append(
            f"{where}: wing slope b(1+|rho|)={s.wing_slope:.4g} > 2 (Roger Lee moment bound)"
        )
    lo, hi = _check_range(s, width)
    k = np.linspace(lo, hi, n_grid)
    w = s.total_variance(k)
    if np.any(w <= 0):
        i = int(np.argmin(w))
        reasons.append(f"{where}: total variance w(k)<=0 at k={k[i]:.3f} (w={w[i]:.3g})")
        return reasons
    g = s.density(k)
    i = int(np.argmin(g))
    if g[i] < -_DENSITY_TOL:
        negative = k[g < -_DENSITY_TOL]
        reasons.append(
            f"{where}: g(k)<0 at k={k[i]:.3f} (g={g[i]:.3g}); negative density at "
            f"{negative.size} of {k.size} grid points within [{negative.min():.3f}, "
            f"{negative.max():.3f}]"
        )
    return reasons


def _calendar(early: SviSlice, late: SviSlice, width: float, n_grid: int) -> list[str]:
    lo1, hi1 = _check_range(early, width)
    lo2, hi2 = _check_range(late, width)
    k = np.linspace(min(lo1, lo2), max(hi1, hi2), n_grid)
    w1, w2 = early.total_variance(k), late.total_variance(k)
    gap = w2 - w1
    tolerance = 1e-12 + 1e-9 * np.abs(w1)
    bad = gap < -tolerance
    if not np.any(bad):
        return []
    i = int(np.argmin(gap))
    crossed = k[bad]
    return [
        f"calendar arbitrage between T={early.T:.4f} and T={late.T:.4f} at k={k[i]:.3f}: "
        f"total variance falls from {w1[i]:.6g} to {w2[i]:.6g}; crossed at {crossed.size} of "
        f"{k.size} grid points within [{crossed.min():.3f}, {crossed.max():.3f}]"
    ]


def arbitrage_diagnostics(
    slices: Sequence[SviSlice], *, check_width: float = 1.5, n_grid: int = 801
) -> list[str]:
    """Butterfly and calendar arbitrage findings for SVI slices (empty list: none found).

    Parameters
    ----------
    slices : Sequence[SviSlice]
        Slices of one underlying, any order (sorted by ``T`` here); distinct ``T``.
    check_width : float
        The check grid of a slice spans its quoted range widened to
        ``|k| <= check_width * sqrt(T)``.
    n_grid : int
        Points per check grid.

    Returns
    -------
    list[str]
        Human-readable findings, e.g. ``"butterfly arbitrage at T=1.0000: g(k)<0 at
        k=0.879 (g=-0.0329); ..."`` or ``"calendar arbitrage between T=0.0800 and
        T=0.1600 at k=-0.400: ..."``.

    """
    ordered = sorted(slices, key=lambda s: s.T)
    reasons: list[str] = []
    for s in ordered:
        reasons.extend(_butterfly(s, check_width, n_grid))
    for early, late in pairwise(ordered):
        reasons.extend(_calendar(early, late, check_width, n_grid))
    return reasons


# --------------------------------------------------------------------------------------------
# Surface
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, eq=False)
class SliceQuotes:
    """Implied vols quoted for one expiry.

    Parameters
    ----------
    T : float
        Time to expiry in years (> 0).
    forward : float
        Forward price of this expiry (> 0); ``strikes = forward * exp(k)``.
    k : array_like
        Log forward moneyness ``log(K/F)`` of each quote.
    iv : array_like
        Implied vol of each quote (decimal, > 0), typically the OTM option's.
    weights : array_like or None
        Weight of each quote's squared implied-vol miss in the fit (``(vega / (ask -
        bid))**2``, >= 0); None means equal weights.

    """

    T: float
    forward: float
    k: FloatArray
    iv: FloatArray
    weights: FloatArray | None = None

    def __post_init__(self) -> None:
        k = _as_1d("k", self.k)
        iv = _as_1d("iv", self.iv)
        where = f"slice T={self.T}"
        if not (np.isfinite(self.T) and self.T > 0):
            raise ValueError(f"{where}: T must be a finite number of years > 0")
        if not (np.isfinite(self.forward) and self.forward > 0):
            raise ValueError(f"{where}: forward must be finite and > 0, got {self.forward}")
        if k.size == 0 or k.shape != iv.shape:
            raise ValueError(
                f"{where}: k and iv must be non-empty and of equal length, got {k.size} and "
                f"{iv.size}"
            )
        if not (np.all(np.isfinite(k)) and np.all(np.isfinite(iv)) and np.all(iv > 0)):
            raise ValueError(
                f"{where}: k must be finite and iv finite and > 0; drop quotes whose IV solve "
                f"failed before building the surface"
            )
        object.__setattr__(self, "k", k)
        object.__setattr__(self, "iv", iv)
        if self.weights is not None:
            weights = _as_1d("weights", self.weights)
            if weights.shape != k.shape or not np.all(np.isfinite(weights)) or np.any(weights < 0):
                raise ValueError(f"{where}: weights must be finite, >= 0 and one per quote")
            object.__setattr__(self, "weights", weights)

    @classmethod
    def from_strikes(
        cls,
        T: float,
        forward: float,
        strikes: npt.ArrayLike,
        iv: npt.ArrayLike,
        weights: npt.ArrayLike | None = None,
    ) -> SliceQuotes:
        """Build from strikes: ``k = log(strikes / forward)``."""
        k = np.log(_as_1d("strikes", strikes) / forward)
        w = None if weights is None else _as_1d("weights", weights)
        return cls(T=T, forward=forward, k=k, iv=_as_1d("iv", iv), weights=w)

    @property
    def total_variance(self) -> FloatArray:
        """``iv**2 * T`` per quote."""
        result: FloatArray = self.iv * self.iv * self.T
        return result


def _raw_nodes(q: SliceQuotes) -> tuple[FloatArray, FloatArray]:
    """Sorted distinct ``k`` and implied variance ``iv**2`` (duplicates averaged)."""
    nodes, inverse = np.unique(q.k, return_inverse=True)
    var = q.iv * q.iv
    if nodes.size == q.k.size:
        return nodes, var[np.argsort(q.k)]
    sums = np.bincount(inverse, weights=var)
    counts = np.bincount(inverse)
    averaged: FloatArray = sums / counts
    return nodes, averaged


@dataclass(frozen=True, slots=True, eq=False)
class VolSurface:
    """Implied-vol surface over expiries, from SVI fits or, failing those, the raw chain.

    Use :func:`build_surface` to create one.

    Attributes
    ----------
    expiries : numpy.ndarray
        Slice times in years, strictly increasing.
    forwards : numpy.ndarray
        Forward of each expiry.
    status : {"ok", "fallback"}
        ``ok``: every slice fitted and arbitrage checks passed; evaluation uses the SVI slices.
        ``fallback``: evaluation uses the raw chain IVs; ``diagnostics`` says why.
    diagnostics : tuple[str, ...]
        Reasons for the fallback (empty when ``ok``).
    slices : tuple[SviSlice, ...]
        Fitted slices that passed the per-slice checks (all expiries when ``ok``).
    quotes : tuple[SliceQuotes, ...]
        The input quotes, sorted by ``T``.

    Notes
    -----
    Evaluation at ``(k, T)`` with ``k = log(K / F(T))``:

    * per slice ``i``, implied variance ``v_i(k)``: SVI ``w_i(k) / T_i`` when ``ok``; when
      falling back, the quoted ``iv**2`` interpolated linearly in ``k`` (linear in total
      variance at fixed ``T_i``) and flat beyond the first and last quoted strike;
    * between expiries, total variance is linear in ``T`` at constant ``k``:
      ``w = (1 - t) * T_i * v_i(k) + t * T_j * v_j(k)``, ``t = (T - T_i) / (T_j - T_i)``;
    * before the first and after the last expiry, implied vol is flat in ``T`` (total
      variance scaled by ``T / T_i``); at an expiry exactly, ``iv = sqrt(v_i(k))``, so the
      fallback returns the quoted IVs at quoted strikes exactly.

    """

    expiries: FloatArray
    forwards: FloatArray
    status: SurfaceStatus
    diagnostics: tuple[str, ...]
    slices: tuple[SviSlice, ...]
    quotes: tuple[SliceQuotes, ...]
    _raw: tuple[tuple[FloatArray, FloatArray], ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.status == "ok" and (
            self.diagnostics
            or len(self.slices) != self.expiries.size
            or any(t != s.T for s, t in zip(self.slices, self.expiries, strict=True))
        ):
            raise ValueError("an 'ok' surface needs one fitted slice per expiry and no findings")
        if self.status == "fallback" and not self.diagnostics:
            raise ValueError("a 'fallback' surface must say why in diagnostics")
        if len(self.quotes) != self.expiries.size:
            raise ValueError("VolSurface needs the quotes of every expiry")
        object.__setattr__(self, "_raw", tuple(_raw_nodes(q) for q in self.quotes))

    @property
    def is_fitted(self) -> bool:
        """True when evaluation uses the SVI slices (``status == "ok"``)."""
        return self.status == "ok"

    def _slice_variance(self, i: int) -> Callable[[FloatArray], FloatArray]:
        if self.status == "ok":
            s = self.slices[i]
            return lambda k: s.total_variance(k) / s.T
        nodes, var = self._raw[i]
        return lambda k: np.interp(k, nodes, var)

    def _implied_variance(self, k: npt.ArrayLike, T: npt.ArrayLike) -> FloatArray:
        kk, tt = np.broadcast_arrays(
            np.asarray(k, dtype=np.float64), np.asarray(T, dtype=np.float64)
        )
        out = np.full(kk.shape, np.nan)
        valid = np.isfinite(kk) & np.isfinite(tt) & (tt > 0)
        kv, tv = kk[valid], tt[valid]
        times = self.expiries
        n = times.size
        upper = np.searchsorted(times, tv, side="left")  # first expiry >= T
        at_node = (upper < n) & (times[np.minimum(upper, n - 1)] == tv)
        hi = np.clip(upper, 0, n - 1)
        lo = np.where(at_node | (upper == 0), hi, np.clip(upper - 1, 0, n - 1))
        hi = np.where(upper >= n, n - 1, hi)
        lo = np.where(upper >= n, n - 1, lo)
        v_lo = np.empty_like(kv)
        v_hi = np.empty_like(kv)
        for i in np.unique(np.concatenate([lo, hi])):
            variance = self._slice_variance(int(i))
            mask_lo, mask_hi = lo == i, hi == i
            v_lo[mask_lo] = variance(kv[mask_lo])
            v_hi[mask_hi] = variance(kv[mask_hi])
        t_lo, t_hi = times[lo], times[hi]
        same = lo == hi
        span = np.where(same, 1.0, t_hi - t_lo)
        frac = np.where(same, 0.0, (tv - t_lo) / span)
        blended = ((1.0 - frac) * t_lo * v_lo + frac * t_hi * v_hi) / tv
        out[valid] = np.where(same, v_lo, blended)
        return out

    def total_variance(self, k: npt.ArrayLike, T: npt.ArrayLike) -> FloatArray:
        """Total implied variance ``iv**2 * T`` at log forward moneyness ``k`` and time ``T``.

        ``k`` and ``T`` broadcast; entries with ``T <= 0`` or non-finite inputs are NaN.
        """
        result: FloatArray = self._implied_variance(k, T) * np.asarray(T, dtype=np.float64)
        return result

    def iv(self, k: npt.ArrayLike, T: npt.ArrayLike) -> FloatArray:
        """Implied vol (decimal) at log forward moneyness ``k = log(K/F(T))`` and ``T`` years.

        Parameters
        ----------
        k : array_like
            Log forward moneyness.
        T : array_like
            Time to expiry in years; broadcast against ``k``.

        Returns
        -------
        numpy.ndarray
            Implied vols; NaN where ``T <= 0`` or inputs are not finite.

        """
        result: FloatArray = np.sqrt(np.maximum(self._implied_variance(k, T), 0.0))
        return result

    def iv_at_strike(
        self, strike: npt.ArrayLike, T: npt.ArrayLike, forward: npt.ArrayLike
    ) -> FloatArray:
        """Implied vol at ``strike`` for time ``T`` given the forward ``F(T)`` of that time.

        Same as ``iv(log(strike / forward), T)``; all three arguments broadcast.
        """
        k = np.log(np.asarray(strike, dtype=np.float64) / np.asarray(forward, dtype=np.float64))
        return self.iv(k, T)


def _findings(slices: Sequence[SviSlice], i: int, check_width: float, n_grid: int) -> list[str]:
    """Butterfly findings of ``slices[i]`` and calendar findings against ``slices[i - 1]``."""
    found = _butterfly(slices[i], check_width, n_grid)
    if i > 0:
        found.extend(_calendar(slices[i - 1], slices[i], check_width, n_grid))
    return found


def _repair(
    best: Sequence[SviSlice],
    sources: Sequence[SliceQuotes],
    *,
    min_quotes: int,
    max_rmse: float,
    repair_tolerance: float,
    check_width: float,
    n_grid: int,
) -> list[SviSlice]:
    """Refit every slice arbitrage free, in ``T`` order, each above the one before.

    Per slice the SSVI shape is tried first, then raw SVI; the first refit that passes the
    checks against the previous slice and costs at most ``repair_tolerance`` of weighted iv
    RMSE over the best fit replaces it. A slice without such a refit keeps its best fit
    (and :func:`arbitrage_diagnostics` reports it).
    """
    out: list[SviSlice] = []
    for fitted, q in zip(best, sources, strict=True):
        chosen = fitted
        floor = out[-1] if out else None
        shapes: tuple[Literal["raw", "ssvi"], ...] = ("ssvi", "raw")
        for shape in shapes:
            refit = fit_svi(
                q.k,
                q.total_variance,
                q.T,
                q.weights,
                min_quotes=min_quotes,
                shape=shape,
                arbitrage_free=True,
                calendar_floor=floor,
                check_width=check_width,
            )
            if refit.rmse <= min(fitted.rmse + repair_tolerance, max_rmse) and not _findings(
                [*out, refit], len(out), check_width, n_grid
            ):
                chosen = refit
                break
        out.append(chosen)
    return out


def build_surface(
    quotes: Sequence[SliceQuotes],
    *,
    min_quotes: int = _MIN_PARAMS,
    max_rmse: float = 0.01,
    check_width: float = 1.5,
    n_grid: int = 801,
    repair_tolerance: float = 0.001,
) -> VolSurface:
    """Fit raw SVI per expiry and check the surface for arbitrage; fail closed.

    Parameters
    ----------
    quotes : Sequence[SliceQuotes]
        One entry per expiry (distinct ``T``, any order).
    min_quotes : int
        A slice with fewer usable quotes (positive weight, distinct strikes) is not fitted.
        At least 5.
    max_rmse : float
        Largest accepted weighted implied-vol RMSE of a slice fit (decimal; 0.01 = 1 vol
        point).
    check_width, n_grid : float, int
        Arbitrage check grid, see :func:`arbitrage_diagnostics`.
    repair_tolerance : float
        When the best fit of a slice is arbitrageable (alone, or against the previous
        accepted slice), it is refitted with ``fit_svi(arbitrage_free=True)``; the repaired
        fit replaces it when it passes the checks and its weighted implied-vol RMSE exceeds
        the best fit's by at most this much (decimal vol; 0.001 = 0.1 vol point, a few tick
        widths of a liquid chain). Otherwise the arbitrage is in the quotes themselves and the
        surface falls back.

    Returns
    -------
    VolSurface
        ``status == "ok"`` when every slice fitted within ``max_rmse`` and no butterfly or
        calendar arbitrage was found; otherwise ``"fallback"`` with every reason in
        ``diagnostics``, e.g. ``"fit failed for expiry T=0.0192: fewer than 5 quotes ..."``.

    Raises
    ------
    ValueError
        No quotes, or two slices with the same ``T``.

    """
    if not quotes:
        raise ValueError("build_surface needs the quotes of at least one expiry")
    ordered = tuple(sorted(quotes, key=lambda q: q.T))
    times = np.array([q.T for q in ordered], dtype=np.float64)
    if np.any(np.diff(times) <= 0):
        duplicate = times[1:][np.diff(times) <= 0][0]
        raise ValueError(f"two slices share T={duplicate}; merge their quotes into one slice")
    diagnostics: list[str] = []
    accepted: list[SviSlice] = []
    sources: list[SliceQuotes] = []
    for q in ordered:
        try:
            fitted = fit_svi(q.k, q.total_variance, q.T, q.weights, min_quotes=min_quotes)
        except SviFitError as exc:
            diagnostics.append(f"fit failed for expiry T={q.T:.4f}: {exc}")
            continue
        if not fitted.rmse <= max_rmse:
            diagnostics.append(
                f"fit rejected for expiry T={q.T:.4f}: weighted iv rmse {fitted.rmse:.4g} > "
                f"max_rmse {max_rmse:.4g}"
            )
            continue
        accepted.append(fitted)
        sources.append(q)
    if arbitrage_diagnostics(accepted, check_width=check_width, n_grid=n_grid):
        accepted = _repair(
            accepted,
            sources,
            min_quotes=min_quotes,
            max_rmse=max_rmse,
            repair_tolerance=repair_tolerance,
            check_width=check_width,
            n_grid=n_grid,
        )
    diagnostics.extend(arbitrage_diagnostics(accepted, check_width=check_width, n_grid=n_grid))
    return VolSurface(
        expiries=times,
        forwards=np.array([q.forward for q in ordered], dtype=np.float64),
        status="fallback" if diagnostics else "ok",
        diagnostics=tuple(diagnostics),
        slices=tuple(accepted),
        quotes=ordered,
    )
