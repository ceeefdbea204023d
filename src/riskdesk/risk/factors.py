"""The factor model of seed 002, done properly: betas, factor covariance, risk decomposition.

Every function here is a pure numpy/scipy engine: arrays in, frozen results out, with no
database, clock, file or logger inside. The use cases gather the returns from
``market_data_cache`` and call these.

Factors and proxies
-------------------
:data:`FACTOR_PROXIES` maps the seven factors of seed 002 to their ETF proxies (Market SPY,
Value VTV, Growth VUG, Momentum MTUM, Quality QUAL, Size SIZE, Low Volatility USMV) and adds
Rates, proxied by the 10-year Treasury yield ``US10Y``. An ETF factor's return is the simple
daily return of its close, ``p_t / p_t-1 - 1``; the Rates factor is the daily *change* of the
yield in percentage points (``4.10 -> 4.15`` is ``+0.05``), so a rate beta is the return of a
position per one percentage point of yield move (:func:`factor_returns_from_closes`).

Conventions
-----------
* Arrays of returns are ``(T, N)`` (or ``(T,)`` for one series): rows are the same dates for
  positions and factors, oldest first; ``NaN`` marks a missing observation (``inf`` is refused).
* The ``window`` is the last ``window`` rows (sessions). Missing values are dropped pairwise:
  a (position, factor) regression uses the rows of the window where both are present, a
  multivariate one the rows where the position and *every* factor are present.
* Variances and covariances are *daily* in return units (factor units for Rates); dollar
  risk is daily dollars, annualised with ``sqrt(252)`` (:data:`TRADING_DAYS`).

Univariate betas (the seed's)
-----------------------------
:func:`univariate_betas` fits ``r_i = a + b * f_k + e`` by OLS with intercept for every pair,
as the seed does (150-session window, at least 60 observations, betas capped at +/-3): with
fewer than ``min_obs`` observations the beta is 0 with the flag ``limited_history``, a
``|beta| > cap`` is set to ``+/-cap`` with the flag ``capped``.

Multivariate betas with ridge shrinkage
---------------------------------------
The ETF proxies all load mostly on the market (realised correlations of 0.75-0.94 with SPY), so
a joint OLS on them is ill-conditioned: its betas swing from one day to the next.
:func:`multivariate_betas` fits all factors at once and shrinks with a ridge penalty that is
*relative to each factor's variance* (the rule)::

    minimise  sum_t (r_t - a - x_t' b)^2  +  s * n * sum_k var(x_k) * b_k^2

with ``n`` the observations used and ``var`` the (population) variance of factor ``k`` over
them. Equivalently, on standardised factors ``z_k = (x_k - mean) / sd_k`` the penalty is
``s * n`` times the squared coefficient, so ``s`` is dimensionless and scale-free (the Rates
factor in percentage points is shrunk as much as an ETF in returns), the intercept is never
shrunk, ``s = 0`` is OLS (minimum-norm, as ``numpy.linalg.lstsq``) and a direction of the
factor space whose eigenvalue of the factor correlation matrix is ``s`` is shrunk by half.
The default ``s = 0.1`` leaves the market direction (eigenvalue near the number of ETFs)
practically untouched and damps the near-null directions that collinearity creates.
``shrinkage="gcv"`` instead picks ``s`` per position on a log grid (:data:`GCV_GRID`) by
generalised cross-validation, ``GCV(s) = n * RSS(s) / (n - 1 - df(s))^2`` with
``df(s) = sum_j d_j^2 / (d_j^2 + s n)`` over the singular values ``d_j`` of the standardised
factors. The specific (residual) variance is ``RSS / (n - 1 - df)``: the effective degrees of
freedom of the ridge fit replace the ``K`` of OLS.

Factor covariance
-----------------
:func:`ewma_covariance` is RiskMetrics' EWMA with decay ``lam`` (0.94 daily): the mean is *not*
removed (daily means are noise next to daily volatility; RiskMetrics sets them to zero), and the
recursion ``S_t = lam * S_t-1 + (1 - lam) * r_t r_t'`` starts at ``S_0 = 0`` and is divided at
the end by ``1 - lam^n``: the weights ``(1 - lam) lam^j / (1 - lam^n)`` of the ``n`` available
rows sum to one, so a short history gives an unbiased weighted average rather than an estimate
pulled towards the arbitrary starting matrix.

Risk decomposition
------------------
With ``b`` the dollar exposure per factor (``b_k = sum_i e_i beta_ik``,
:func:`portfolio_factor_exposures`), ``S`` the daily factor covariance and ``s_i^2`` the
specific variance of position ``i`` with dollar exposure ``e_i``::

    sigma^2 = b' S b + sum_i e_i^2 s_i^2

:func:`risk_decomposition` splits ``sigma`` by Euler: factor ``k`` contributes
``b_k (S b)_k / sigma`` (``b_k`` times the marginal ``d sigma / d b_k``), the specific part
``sum_i e_i^2 s_i^2 / sigma``; the contributions add up to ``sigma`` exactly and the
percentages (contribution / sigma, i.e. shares of the variance) to 100%.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

import numpy as np
import numpy.typing as npt

__all__ = [
    "BETA_CAP",
    "CAPPED",
    "DEFAULT_SHRINKAGE",
    "EWMA_LAMBDA",
    "FACTOR_NAMES",
    "FACTOR_PROXIES",
    "GCV_GRID",
    "LIMITED_HISTORY",
    "MIN_OBSERVATIONS",
    "NO_VARIANCE",
    "RATES_FACTOR",
    "REGRESSION_WINDOW",
    "TRADING_DAYS",
    "FactorCovariance",
    "MultivariateBetas",
    "PortfolioFactorExposures",
    "RiskDecomposition",
    "UnivariateBetas",
    "ewma_covariance",
    "factor_returns_from_closes",
    "multivariate_betas",
    "portfolio_factor_exposures",
    "risk_decomposition",
    "simple_returns",
    "univariate_betas",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

RATES_FACTOR = "Rates"
"""The factor proxied by the daily change of the 10-year yield (percentage points)."""

FACTOR_PROXIES: Mapping[str, str] = MappingProxyType(
    {
        "Market": "SPY",
        "Value": "VTV",
        "Growth": "VUG",
        "Momentum": "MTUM",
        "Quality": "QUAL",
        "Size": "SIZE",
        "Low Volatility": "USMV",
        RATES_FACTOR: "US10Y",
    }
)
"""Factor name -> proxy symbol (seed 002's seven ETFs, plus the 10-year yield for Rates)."""

FACTOR_NAMES: tuple[str, ...] = tuple(FACTOR_PROXIES)
"""The factors in their canonical order."""

REGRESSION_WINDOW = 150
"""Sessions in the regression window (seed 002's ``REGRESSION_WINDOW_DAYS``)."""

MIN_OBSERVATIONS = 60
"""Fewest observations for a beta (seed 002's ``MIN_REGRESSION_DAYS``)."""

BETA_CAP = 3.0
"""Largest absolute univariate beta (seed 002's ``BETA_CAP_LIMIT``)."""

DEFAULT_SHRINKAGE = 0.1
"""Default ridge shrinkage ``s`` of :func:`multivariate_betas` (relative to factor variance)."""

GCV_GRID: tuple[float, ...] = tuple(float(v) for v in np.logspace(-4.0, 1.0, 26))
"""Values of ``s`` tried by ``shrinkage="gcv"`` (1e-4 to 10, five per decade)."""

EWMA_LAMBDA = 0.94
"""RiskMetrics' daily decay."""

TRADING_DAYS = 252
"""Sessions a year, for annualising daily risk."""

LIMITED_HISTORY = "limited_history"
"""Flag: fewer than ``min_obs`` observations, beta set to 0 (seed 002's quality flag)."""

CAPPED = "capped"
"""Flag: ``|beta|`` exceeded the cap and was set to ``+/-cap``."""

NO_VARIANCE = "no_variance"
"""Flag: the factor (or the position) did not move over the window, beta set to 0."""


# -- inputs -------------------------------------------------------------------------------------


def _matrix(name: str, values: npt.ArrayLike) -> FloatArray:
    """A float ``(T, M)`` copy of ``values`` (a 1-D series becomes one column)."""
    array = np.array(values, dtype=np.float64)
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim != 2:
        raise ValueError(f"{name} must be a (dates, series) array, got shape {array.shape}")
    if np.isinf(array).any():
        raise ValueError(f"{name} contains an infinite value; mark a missing one with NaN")
    return array


def _names(kind: str, given: Sequence[str] | None, count: int) -> tuple[str, ...]:
    if given is None:
        return tuple(f"{kind}_{i}" for i in range(count))
    names = tuple(given)
    if len(names) != count:
        raise ValueError(f"{kind} names: got {len(names)} names for {count} columns")
    if len(set(names)) != len(names):
        raise ValueError(f"{kind} names must be unique, got {names}")
    return names


def _check_window(window: int, min_obs: int) -> None:
    if isinstance(window, bool) or not isinstance(window, int) or window < 3:
        raise ValueError(f"window must be an integer >= 3 sessions, got {window!r}")
    if isinstance(min_obs, bool) or not isinstance(min_obs, int) or min_obs < 3:
        raise ValueError(
            f"min_obs must be an integer >= 3 (intercept + slope + 1), got {min_obs!r}"
        )
    if min_obs > window:
        raise ValueError(f"min_obs ({min_obs}) cannot exceed window ({window}): no beta could pass")


def _aligned(
    returns: npt.ArrayLike, factor_returns: npt.ArrayLike, window: int
) -> tuple[FloatArray, FloatArray]:
    y = _matrix("returns", returns)
    x = _matrix("factor_returns", factor_returns)
    if y.shape[0] != x.shape[0]:
        raise ValueError(
            f"returns has {y.shape[0]} rows and factor_returns {x.shape[0]}: "
            "align both on the same dates"
        )
    return y[-window:], x[-window:]


def simple_returns(prices: npt.ArrayLike) -> FloatArray:
    """Simple daily returns ``p_t / p_t-1 - 1`` of ``(T + 1, N)`` prices, NaN where one is missing.

    Examples
    --------
    >>> simple_returns([100.0, 110.0, 99.0]).ravel().round(6).tolist()
    [0.1, -0.1]

    """
    p = _matrix("prices", prices)
    if (p[np.isfinite(p)] <= 0).any():
        raise ValueError("prices must be positive (a missing one is NaN)")
    out: FloatArray = p[1:] / p[:-1] - 1.0
    return out


def factor_returns_from_closes(
    closes: Mapping[str, npt.ArrayLike],
    *,
    factors: Mapping[str, str] = FACTOR_PROXIES,
) -> tuple[tuple[str, ...], FloatArray]:
    """Factor returns ``(T, K)`` from the aligned closes ``(T + 1,)`` of their proxies.

    ``closes`` maps a proxy symbol to its closes on common dates (NaN where missing). An ETF
    factor's return is its simple return; :data:`RATES_FACTOR` is the yield's daily change in
    percentage points.

    Returns
    -------
    tuple[tuple[str, ...], FloatArray]
        The factor names (the order of ``factors``) and the ``(T, K)`` returns.

    Examples
    --------
    >>> names, f = factor_returns_from_closes(
    ...     {"SPY": [500.0, 505.0], "US10Y": [4.10, 4.15]},
    ...     factors={"Market": "SPY", "Rates": "US10Y"},
    ... )
    >>> names, f.round(6).tolist()
    (('Market', 'Rates'), [[0.01, 0.05]])

    """
    missing = [symbol for symbol in factors.values() if symbol not in closes]
    if missing:
        raise ValueError(f"no closes for factor proxies {missing}")
    columns: list[FloatArray] = []
    lengths: set[int] = set()
    for name, symbol in factors.items():
        series = np.array(closes[symbol], dtype=np.float64)
        if series.ndim != 1:
            raise ValueError(f"closes of {symbol} must be 1-D, got shape {series.shape}")
        lengths.add(series.shape[0])
        if name == RATES_FACTOR:
            columns.append(np.diff(series))
        else:
            columns.append(simple_returns(series)[:, 0])
    if len(lengths) != 1:
        raise ValueError(f"closes of the factor proxies have different lengths {sorted(lengths)}")
    return tuple(factors), np.column_stack(columns)


# -- univariate betas ---------------------------------------------------------------------------


@dataclass(frozen=True)
class UnivariateBetas:
    """One OLS-with-intercept fit per (position, factor).

    Arrays are ``(N, K)`` over ``positions`` x ``factors``: ``beta`` (after the floor and the
    cap), ``alpha`` (daily intercept, 0 when limited), ``r_squared``, ``n_obs`` (observations
    used) and the flags ``limited_history``, ``capped`` and ``no_variance``.
    """

    positions: tuple[str, ...]
    factors: tuple[str, ...]
    beta: FloatArray
    alpha: FloatArray
    r_squared: FloatArray
    n_obs: IntArray
    limited_history: BoolArray
    capped: BoolArray
    no_variance: BoolArray
    window: int
    min_obs: int
    cap: float

    def flags(self, position: int, factor: int) -> tuple[str, ...]:
        """The flags of one (position, factor) beta, e.g. ``("capped",)``; empty when clean."""
        out: list[str] = []
        if self.limited_history[position, factor]:
            out.append(LIMITED_HISTORY)
        if self.no_variance[position, factor]:
            out.append(NO_VARIANCE)
        if self.capped[position, factor]:
            out.append(CAPPED)
        return tuple(out)

    def records(self) -> list[dict[str, object]]:
        """One plain dict per (position, factor), for storage and JSON."""
        return [
            {
                "position": p,
                "factor": f,
                "beta": float(self.beta[i, k]),
                "alpha": float(self.alpha[i, k]),
                "r_squared": float(self.r_squared[i, k]),
                "n_obs": int(self.n_obs[i, k]),
                "flags": list(self.flags(i, k)),
            }
            for i, p in enumerate(self.positions)
            for k, f in enumerate(self.factors)
        ]


def univariate_betas(
    returns: npt.ArrayLike,
    factor_returns: npt.ArrayLike,
    window: int = REGRESSION_WINDOW,
    min_obs: int = MIN_OBSERVATIONS,
    cap: float = BETA_CAP,
    *,
    positions: Sequence[str] | None = None,
    factors: Sequence[str] | None = None,
) -> UnivariateBetas:
    """Seed 002's betas: OLS with intercept of each position on each factor separately.

    Parameters
    ----------
    returns : array_like, shape (T, N) or (T,)
        Daily position returns, oldest first, NaN where missing.
    factor_returns : array_like, shape (T, K) or (T,)
        Daily factor returns on the same dates.
    window : int
        The fit uses the last ``window`` rows (default 150).
    min_obs : int
        Fewer pairwise-complete observations than this give beta 0 flagged
        ``limited_history`` (default 60).
    cap : float
        ``|beta| > cap`` is set to ``+/-cap`` and flagged ``capped`` (default 3).
    positions, factors : Sequence[str] or None
        Column names (default ``position_i`` / ``factor_k``).

    Returns
    -------
    UnivariateBetas
        ``(N, K)`` betas, intercepts, R^2, observation counts and flags.

    Notes
    -----
    All ``N x K`` fits are done at once from pairwise-masked sums (matrix products), after
    centring each column on its window mean to avoid cancellation; a beta equals
    ``scipy.stats.linregress`` on the same pairs.

    Examples
    --------
    >>> f = np.linspace(-0.02, 0.02, 80)
    >>> univariate_betas(0.001 + 1.5 * f, f).beta.round(12).tolist()
    [[1.5]]

    """
    _check_window(window, min_obs)
    if not (math.isfinite(cap) and cap > 0):
        raise ValueError(f"cap must be a positive finite number, got {cap!r}")
    y, x = _aligned(returns, factor_returns, window)
    pos_names = _names("position", positions, y.shape[1])
    fac_names = _names("factor", factors, x.shape[1])
    my = np.isfinite(y)
    mx = np.isfinite(x)
    with np.errstate(invalid="ignore"):
        cy = np.where(my.any(axis=0), np.nanmean(np.where(my, y, np.nan), axis=0), 0.0)
        cx = np.where(mx.any(axis=0), np.nanmean(np.where(mx, x, np.nan), axis=0), 0.0)
    y0 = np.where(my, y - cy, 0.0)
    x0 = np.where(mx, x - cx, 0.0)
    myf = my.astype(np.float64)
    mxf = mx.astype(np.float64)
    n = myf.T @ mxf
    sy = y0.T @ mxf
    sx = myf.T @ x0
    syy = (y0 * y0).T @ mxf
    sxx = myf.T @ (x0 * x0)
    sxy = y0.T @ x0
    with np.errstate(invalid="ignore", divide="ignore"):
        var_x = n * sxx - sx * sx
        var_y = n * syy - sy * sy
        cov = n * sxy - sx * sy
        tiny_x = var_x <= 1e-14 * np.maximum(n * sxx, np.finfo(np.float64).tiny)
        tiny_y = var_y <= 1e-14 * np.maximum(n * syy, np.finfo(np.float64).tiny)
        raw_beta = cov / var_x
        r2 = cov * cov / (var_x * var_y)
        raw_alpha = (sy - raw_beta * sx) / n + cy[:, None] - raw_beta * cx[None, :]
    n_obs = np.rint(n).astype(np.int64)
    limited = n_obs < min_obs
    no_var = ~limited & tiny_x
    ok = ~limited & ~no_var
    beta = np.where(ok, raw_beta, 0.0)
    capped = ok & (np.abs(beta) > cap)
    beta = np.where(capped, np.sign(beta) * cap, beta)
    alpha = np.where(ok, raw_alpha, 0.0)
    r_squared = np.where(ok & ~tiny_y, np.clip(r2, 0.0, 1.0), 0.0)
    return UnivariateBetas(
        positions=pos_names,
        factors=fac_names,
        beta=beta,
        alpha=alpha,
        r_squared=r_squared,
        n_obs=n_obs,
        limited_history=limited,
        capped=capped,
        no_variance=no_var,
        window=window,
        min_obs=min_obs,
        cap=float(cap),
    )


# -- multivariate betas -------------------------------------------------------------------------


@dataclass(frozen=True)
class MultivariateBetas:
    """All factors fitted at once per position, with ridge shrinkage.

    ``beta`` is ``(N, K)``; per position: ``alpha`` (daily intercept), ``specific_var`` (daily
    residual variance ``RSS / (n - 1 - df)``; for a limited position the sample variance of its
    returns, all of it specific, NaN with fewer than 2 observations), ``r_squared``, ``n_obs``,
    ``shrinkage`` (the ``s`` used), ``effective_df`` (``df(s)``, ``K`` at ``s = 0`` with
    independent factors) and ``limited_history``.
    """

    positions: tuple[str, ...]
    factors: tuple[str, ...]
    beta: FloatArray
    alpha: FloatArray
    specific_var: FloatArray
    r_squared: FloatArray
    n_obs: IntArray
    shrinkage: FloatArray
    effective_df: FloatArray
    limited_history: BoolArray
    window: int
    min_obs: int
    rule: str

    def records(self) -> list[dict[str, object]]:
        """One plain dict per position (betas keyed by factor), for storage and JSON."""
        return [
            {
                "position": p,
                "betas": {f: float(self.beta[i, k]) for k, f in enumerate(self.factors)},
                "alpha": float(self.alpha[i]),
                "specific_var": float(self.specific_var[i]),
                "r_squared": float(self.r_squared[i]),
                "n_obs": int(self.n_obs[i]),
                "shrinkage": float(self.shrinkage[i]),
                "flags": [LIMITED_HISTORY] if self.limited_history[i] else [],
            }
            for i, p in enumerate(self.positions)
        ]


def _ridge_group(
    x: FloatArray, y: FloatArray, shrinkage: float | Literal["gcv"]
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]:
    """Ridge fit of the columns of ``y`` (n, g) on ``x`` (n, K) with an intercept.

    Returns betas (g, K), alphas, specific variances, R^2, the ``s`` used and ``df(s)``.
    """
    n, k = x.shape
    mean_x = x.mean(axis=0)
    sd_x = x.std(axis=0)
    live = sd_x > 1e-12 * np.maximum(np.abs(mean_x), 1.0)
    scale = np.where(live, sd_x, 1.0)
    z = np.where(live, (x - mean_x) / scale, 0.0)
    mean_y = y.mean(axis=0)
    yc = y - mean_y
    u, d, vt = np.linalg.svd(z, full_matrices=False)
    keep = d > np.finfo(np.float64).eps * max(n, k) * (d[0] if d.size else 0.0)
    d = np.where(keep, d, 0.0)
    c = u.T @ yc  # (r, g)
    total = np.einsum("ij,ij->j", yc, yc)
    d2 = d * d
    if shrinkage == "gcv":
        lams = np.asarray(GCV_GRID, dtype=np.float64) * n  # (L,)
        f = d2[None, :] / (d2[None, :] + lams[:, None])  # (L, r)
        df_grid = f.sum(axis=1)  # (L,)
        rss_grid = total[None, :] - np.einsum("lr,rg->lg", 1.0 - (1.0 - f) ** 2, c * c)
        denom = np.maximum(n - 1.0 - df_grid, 1e-12)
        gcv = n * rss_grid / (denom[:, None] ** 2)
        best = np.argmin(gcv, axis=0)  # (g,)
        s_used = np.asarray(GCV_GRID, dtype=np.float64)[best]
    else:
        s_used = np.full(y.shape[1], float(shrinkage))
    lam = s_used * n  # (g,)
    with np.errstate(invalid="ignore", divide="ignore"):
        shrink = np.where(d2[:, None] > 0, d[:, None] / (d2[:, None] + lam[None, :]), 0.0)  # (r, g)
        fit = np.where(d2[:, None] > 0, d2[:, None] / (d2[:, None] + lam[None, :]), 0.0)
    gamma = vt.T @ (shrink * c)  # (K, g) standardised coefficients
    beta = np.where(live[:, None], gamma / scale[:, None], 0.0).T  # (g, K)
    fitted = u @ (fit * c)
    resid = yc - fitted
    rss = np.einsum("ij,ij->j", resid, resid)
    df = fit.sum(axis=0)
    dof = n - 1.0 - df
    with np.errstate(invalid="ignore", divide="ignore"):
        specific = np.where(dof > 0, rss / dof, np.nan)
        r2 = np.where(total > 0, 1.0 - rss / total, 0.0)
    alpha = mean_y - beta @ mean_x
    return beta, alpha, specific, np.clip(r2, 0.0, 1.0), s_used, df


def multivariate_betas(
    returns: npt.ArrayLike,
    factor_returns: npt.ArrayLike,
    window: int = REGRESSION_WINDOW,
    min_obs: int = MIN_OBSERVATIONS,
    shrinkage: float | Literal["gcv"] = DEFAULT_SHRINKAGE,
    *,
    positions: Sequence[str] | None = None,
    factors: Sequence[str] | None = None,
) -> MultivariateBetas:
    """Joint ridge regression of each position on all factors (used for the risk decomposition).

    Parameters
    ----------
    returns : array_like, shape (T, N) or (T,)
        Daily position returns, oldest first, NaN where missing.
    factor_returns : array_like, shape (T, K)
        Daily factor returns on the same dates.
    window : int
        The fit uses the last ``window`` rows (default 150); a position uses the rows where it
        and every factor are present.
    min_obs : int
        Fewer observations give betas 0 flagged ``limited_history`` (default 60); the position's
        whole variance is then specific.
    shrinkage : float or "gcv"
        The ridge ``s`` >= 0 relative to each factor's variance (module docstring; default
        0.1, ``0`` is OLS), or ``"gcv"`` to choose it per position by generalised
        cross-validation over :data:`GCV_GRID`.
    positions, factors : Sequence[str] or None
        Column names.

    Returns
    -------
    MultivariateBetas
        ``(N, K)`` betas with per-position intercept, specific variance, R^2, ``s`` and flags.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> f = rng.normal(0.0, 0.01, size=(120, 2))
    >>> r = f @ np.array([1.2, -0.5]) + rng.normal(0.0, 0.002, size=120)
    >>> multivariate_betas(r, f, shrinkage=0.0).beta.round(1).tolist()
    [[1.2, -0.5]]

    """
    _check_window(window, min_obs)
    if isinstance(shrinkage, str):
        if shrinkage != "gcv":
            raise ValueError(f"shrinkage must be a number >= 0 or 'gcv', got {shrinkage!r}")
        rule = "gcv"
    else:
        if isinstance(shrinkage, bool) or not (math.isfinite(shrinkage) and shrinkage >= 0):
            raise ValueError(f"shrinkage must be a finite number >= 0 or 'gcv', got {shrinkage!r}")
        rule = f"fixed s={float(shrinkage):g} (relative to factor variance)"
    y, x = _aligned(returns, factor_returns, window)
    pos_names = _names("position", positions, y.shape[1])
    fac_names = _names("factor", factors, x.shape[1])
    n_pos, n_fac = y.shape[1], x.shape[1]
    rows: BoolArray = np.asarray(np.isfinite(x).all(axis=1))
    mask: BoolArray = np.isfinite(y) & rows[:, None]  # (T, N)
    n_obs = mask.sum(axis=0).astype(np.int64)
    beta = np.zeros((n_pos, n_fac))
    alpha = np.zeros(n_pos)
    specific = np.full(n_pos, np.nan)
    r_squared = np.zeros(n_pos)
    s_used = np.zeros(n_pos)
    eff_df = np.zeros(n_pos)
    limited = n_obs < min_obs
    for i in np.flatnonzero(limited):
        values = y[mask[:, i], i]
        if values.size >= 2:
            specific[i] = float(values.var(ddof=1))
    fitted = np.flatnonzero(~limited)
    if fitted.size:
        packed = np.packbits(mask[:, fitted].T, axis=1)
        _, group_of = np.unique(packed, axis=0, return_inverse=True)
        for group in range(int(group_of.max()) + 1):
            cols = fitted[group_of.ravel() == group]
            used = mask[:, cols[0]]
            b, a, s2, r2, s, df = _ridge_group(x[used], y[used][:, cols], shrinkage)
            beta[cols] = b
            alpha[cols] = a
            specific[cols] = s2
            r_squared[cols] = r2
            s_used[cols] = s
            eff_df[cols] = df
    return MultivariateBetas(
        positions=pos_names,
        factors=fac_names,
        beta=beta,
        alpha=alpha,
        specific_var=specific,
        r_squared=r_squared,
        n_obs=n_obs,
        shrinkage=s_used,
        effective_df=eff_df,
        limited_history=limited,
        window=window,
        min_obs=min_obs,
        rule=rule,
    )


# -- factor covariance --------------------------------------------------------------------------


@dataclass(frozen=True)
class FactorCovariance:
    """The EWMA factor covariance (daily) and what follows from it.

    ``covariance`` and ``correlation`` are ``(K, K)``, ``volatility`` the daily standard
    deviations; ``n_obs`` rows were used (rows with any missing factor are dropped).
    """

    factors: tuple[str, ...]
    covariance: FloatArray
    correlation: FloatArray
    volatility: FloatArray
    lam: float
    n_obs: int
    demeaned: bool

    def annualised_volatility(self) -> FloatArray:
        """Daily volatilities times ``sqrt(252)``."""
        out: FloatArray = self.volatility * math.sqrt(TRADING_DAYS)
        return out


def ewma_covariance(
    factor_returns: npt.ArrayLike,
    lam: float = EWMA_LAMBDA,
    *,
    demean: bool = False,
    factors: Sequence[str] | None = None,
) -> FactorCovariance:
    """RiskMetrics EWMA covariance of the factor returns.

    Parameters
    ----------
    factor_returns : array_like, shape (T, K)
        Daily factor returns, oldest first; a row with a missing value is dropped.
    lam : float
        Decay in (0, 1) (default 0.94): the newest row weighs ``(1 - lam) / (1 - lam^n)``.
    demean : bool
        Subtract the EWMA-weighted mean first (default False: RiskMetrics' zero mean).
    factors : Sequence[str] or None
        Column names.

    Returns
    -------
    FactorCovariance
        ``S = sum_j w_j r_(n-j) r_(n-j)'`` with ``w_j = (1 - lam) lam^j / (1 - lam^n)``; the
        recursion ``S_t = lam S_t-1 + (1 - lam) r_t r_t'`` from ``S_0 = 0``, normalised.

    Examples
    --------
    >>> ewma_covariance([[0.01], [-0.01]], lam=0.5).covariance.round(8).tolist()
    [[0.0001]]

    """
    if isinstance(lam, bool) or not (0.0 < lam < 1.0):
        raise ValueError(f"lam must be in (0, 1), got {lam!r}")
    x = _matrix("factor_returns", factor_returns)
    names = _names("factor", factors, x.shape[1])
    x = x[np.isfinite(x).all(axis=1)]
    n = x.shape[0]
    if n < 2:
        raise ValueError(f"ewma_covariance needs at least 2 complete rows, got {n}")
    ages = np.arange(n - 1, -1, -1, dtype=np.float64)
    weights = (1.0 - lam) * lam**ages / (1.0 - lam**n)
    if demean:
        x = x - weights @ x
    cov = (x * weights[:, None]).T @ x
    cov = (cov + cov.T) / 2.0
    vol = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = cov / np.outer(vol, vol)
    corr = np.where(np.outer(vol, vol) > 0, np.clip(corr, -1.0, 1.0), 0.0)
    np.fill_diagonal(corr, np.where(vol > 0, 1.0, 0.0))
    return FactorCovariance(
        factors=names,
        covariance=cov,
        correlation=corr,
        volatility=vol,
        lam=float(lam),
        n_obs=n,
        demeaned=demean,
    )


# -- portfolio exposures and risk ---------------------------------------------------------------


@dataclass(frozen=True)
class PortfolioFactorExposures:
    """Dollar exposure per factor of a book, and its beta per factor.

    ``position_exposure`` (N,) are the positions' signed dollar exposures;
    ``position_factor_dollars`` (N, K) each position's ``e_i beta_ik``; ``dollar_exposure``
    (K,) their sums; ``beta`` (K,) the portfolio beta per factor, ``dollar_exposure / base``
    with ``base`` the capital given, else the gross exposure ``sum |e_i|``.
    """

    positions: tuple[str, ...]
    factors: tuple[str, ...]
    position_exposure: FloatArray
    position_factor_dollars: FloatArray
    dollar_exposure: FloatArray
    beta: FloatArray
    base: float
    base_kind: Literal["capital", "gross"]


def portfolio_factor_exposures(
    position_dollar_exposure: npt.ArrayLike,
    betas: UnivariateBetas | MultivariateBetas | npt.ArrayLike,
    *,
    capital: float | None = None,
    positions: Sequence[str] | None = None,
    factors: Sequence[str] | None = None,
) -> PortfolioFactorExposures:
    """Dollar exposure per factor: ``sum_i e_i * beta_ik``; and the portfolio's beta per factor.

    Parameters
    ----------
    position_dollar_exposure : array_like, shape (N,)
        Signed dollar exposure per position (market value, or delta-adjusted for options).
    betas : UnivariateBetas, MultivariateBetas or array_like, shape (N, K)
        Position betas; a result's names are used unless given.
    capital : float or None
        Divide by this (e.g. the portfolio's equity) for the portfolio beta; default the gross
        exposure ``sum |e_i|`` (for a long-only book, its market value).
    positions, factors : Sequence[str] or None
        Names for plain arrays.

    Examples
    --------
    >>> p = portfolio_factor_exposures([100.0, -50.0], [[1.0, 0.2], [2.0, 0.0]])
    >>> p.dollar_exposure.tolist(), p.beta.round(4).tolist()
    ([0.0, 20.0], [0.0, 0.1333])

    """
    if isinstance(betas, UnivariateBetas | MultivariateBetas):
        matrix = betas.beta
        positions = positions if positions is not None else betas.positions
        factors = factors if factors is not None else betas.factors
    else:
        matrix = _matrix("betas", betas)
    exposure = np.array(position_dollar_exposure, dtype=np.float64).ravel()
    if matrix.shape[0] != exposure.shape[0]:
        raise ValueError(
            f"{exposure.shape[0]} position exposures for {matrix.shape[0]} rows of betas"
        )
    if not (np.isfinite(exposure).all() and np.isfinite(matrix).all()):
        raise ValueError("exposures and betas must be finite")
    pos_names = _names("position", positions, exposure.shape[0])
    fac_names = _names("factor", factors, matrix.shape[1])
    per_position = exposure[:, None] * matrix
    dollars = per_position.sum(axis=0)
    if capital is not None:
        if not (math.isfinite(capital) and capital > 0):
            raise ValueError(f"capital must be a positive finite amount, got {capital!r}")
        base, kind = float(capital), "capital"
    else:
        base, kind = float(np.abs(exposure).sum()), "gross"
    beta = dollars / base if base > 0 else np.zeros_like(dollars)
    return PortfolioFactorExposures(
        positions=pos_names,
        factors=fac_names,
        position_exposure=exposure,
        position_factor_dollars=per_position,
        dollar_exposure=dollars,
        beta=beta,
        base=base,
        base_kind="capital" if kind == "capital" else "gross",
    )


@dataclass(frozen=True)
class RiskDecomposition:
    """Daily dollar risk split into factor contributions (Euler) and specific risk.

    ``contribution`` (K,) is each factor's ``b_k (S b)_k / sigma``; ``marginal`` (K,)
    ``(S b)_k / sigma`` (dollars of risk per dollar of exposure); ``specific_contribution`` is
    ``sum e_i^2 s_i^2 / sigma``; ``percent`` (K,) and ``specific_percent`` are shares of the
    variance in percent (they and ``factor_percent`` add to 100). ``total_volatility``,
    ``factor_volatility`` ``sqrt(b' S b)`` and ``specific_volatility`` are daily dollars; the
    ``annual_*`` fields scale them (and the contributions) by ``sqrt(252)``.
    ``position_specific_variance`` (N,) is ``e_i^2 s_i^2``.
    """

    factors: tuple[str, ...]
    total_variance: float
    factor_variance: float
    specific_variance: float
    total_volatility: float
    factor_volatility: float
    specific_volatility: float
    contribution: FloatArray
    marginal: FloatArray
    specific_contribution: float
    percent: FloatArray
    factor_percent: float
    specific_percent: float
    position_specific_variance: FloatArray
    annual_total_volatility: float
    annual_factor_volatility: float
    annual_specific_volatility: float
    annual_contribution: FloatArray


def risk_decomposition(
    exposures: PortfolioFactorExposures,
    factor_cov: FactorCovariance | npt.ArrayLike,
    specific_var: npt.ArrayLike,
) -> RiskDecomposition:
    """Total dollar variance ``b' S b + sum e_i^2 s_i^2`` and each factor's Euler contribution.

    Parameters
    ----------
    exposures : PortfolioFactorExposures
        The book's factor dollar exposures ``b`` and position exposures ``e``.
    factor_cov : FactorCovariance or array_like, shape (K, K)
        Daily factor covariance ``S`` (in the same factor order).
    specific_var : array_like, shape (N,)
        Daily specific (residual) variance of each position's return, e.g.
        :attr:`MultivariateBetas.specific_var`; a position with zero exposure may be NaN.

    Returns
    -------
    RiskDecomposition
        Contributions summing to ``sigma`` (Euler), shares summing to 100%.

    Examples
    --------
    >>> p = portfolio_factor_exposures([100.0], [[1.0]])
    >>> r = risk_decomposition(p, [[0.0003]], [0.0001])
    >>> round(r.total_variance, 6), round(r.factor_percent, 6)
    (4.0, 75.0)

    """
    if isinstance(factor_cov, FactorCovariance):
        cov = factor_cov.covariance
        if factor_cov.factors != exposures.factors:
            raise ValueError(
                f"factor_cov factors {factor_cov.factors} differ from the exposures' "
                f"{exposures.factors}"
            )
    else:
        cov = _matrix("factor_cov", factor_cov)
    b = exposures.dollar_exposure
    k = b.shape[0]
    if cov.shape != (k, k):
        raise ValueError(f"factor_cov must be ({k}, {k}) for {k} factors, got {cov.shape}")
    if not np.isfinite(cov).all():
        raise ValueError("factor_cov must be finite")
    cov = (cov + cov.T) / 2.0
    s2 = np.array(specific_var, dtype=np.float64).ravel()
    e = exposures.position_exposure
    if s2.shape != e.shape:
        raise ValueError(f"specific_var has {s2.shape[0]} values for {e.shape[0]} positions")
    bad = (~np.isfinite(s2) | (s2 < 0)) & (e != 0)
    if bad.any():
        names = [exposures.positions[i] for i in np.flatnonzero(bad)[:5]]
        raise ValueError(
            f"specific variance must be finite and >= 0 for every exposed position; "
            f"bad for {names} (fit them with enough history or drop them)"
        )
    per_position = np.where(e != 0, e * e * np.where(np.isfinite(s2), s2, 0.0), 0.0)
    sb = cov @ b
    factor_var = float(b @ sb)
    if factor_var < -1e-12 * max(float(np.abs(b) @ np.abs(cov) @ np.abs(b)), 1e-300):
        raise ValueError("factor_cov is not positive semi-definite: b' S b < 0")
    factor_var = max(factor_var, 0.0)
    specific = float(per_position.sum())
    total = factor_var + specific
    sigma = math.sqrt(total)
    annual = math.sqrt(TRADING_DAYS)
    if sigma > 0:
        contribution = b * sb / sigma
        marginal = sb / sigma
        specific_contribution = specific / sigma
        percent = 100.0 * b * sb / total
        factor_percent = 100.0 * factor_var / total
        specific_percent = 100.0 * specific / total
    else:
        contribution = np.zeros(k)
        marginal = np.zeros(k)
        specific_contribution = 0.0
        percent = np.zeros(k)
        factor_percent = 0.0
        specific_percent = 0.0
    return RiskDecomposition(
        factors=exposures.factors,
        total_variance=total,
        factor_variance=factor_var,
        specific_variance=specific,
        total_volatility=sigma,
        factor_volatility=math.sqrt(factor_var),
        specific_volatility=math.sqrt(specific),
        contribution=contribution,
        marginal=marginal,
        specific_contribution=specific_contribution,
        percent=percent,
        factor_percent=factor_percent,
        specific_percent=specific_percent,
        position_specific_variance=per_position,
        annual_total_volatility=sigma * annual,
        annual_factor_volatility=math.sqrt(factor_var) * annual,
        annual_specific_volatility=math.sqrt(specific) * annual,
        annual_contribution=contribution * annual,
    )
