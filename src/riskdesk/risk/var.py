"""Value at risk and expected shortfall of a book: historical, delta-gamma-normal, Monte Carlo.

Pure engines (numpy / scipy, no SQL, no clock): a use case gathers the book, its marks and its
history and calls one of them.

Conventions (every method)
--------------------------
* **Sign.** VaR and ES are *losses*, reported as positive money when the book loses:
  ``loss = -P&L``. A book that gains in (almost) every scenario has a negative VaR.
* **Quantile.** ``VaR_c`` is the empirical ``c``-quantile of the scenario losses with linear
  interpolation between order statistics (``numpy.quantile(losses, c, method="linear")``,
  Hyndman-Fan type 7): with ``n`` sorted losses ``L_(0) <= ... <= L_(n-1)`` and
  ``h = (n - 1) c``, ``VaR = L_(floor h) + (h - floor h) (L_(floor h + 1) - L_(floor h))``.
* **ES.** The mean of the scenario losses at or beyond VaR (``losses >= VaR``; never empty
  because the largest loss is >= any quantile). For the normal methods it is the closed form
  ``-mu + sigma phi(z_c) / (1 - c)``.
* **Horizon.** Returns over ``h`` trading days; the valuation instant is *not* moved (the
  measures are the market-move P&L, without time decay), so an option expiring inside the
  horizon is still priced as live.
* **Returns.** Daily *log* returns; an ``h``-day scenario multiplies today's spot by
  ``exp(r_h)``.

Vol rule
--------
:class:`VolRule` says how option volatilities move with spot in a scenario:
``sigma' = sigma * clip(exp(-elasticity * r), floor, cap)`` where ``r`` is the underlying's
log return in that scenario. ``elasticity = 0`` (:data:`VOL_HELD`, the default) holds every
vol at today's mark (sticky strike); a positive elasticity raises vols when spot falls (the
equity leverage effect): with elasticity 2, a 10% fall (``r = -0.105``) lifts vols by 23%.

Historical simulation (:func:`historical_var`)
----------------------------------------------
The last ``window`` daily log returns of each position's underlying are the scenarios.
``h``-day scenarios are the *overlapping* sums of ``h`` consecutive daily log returns inside
that window (``window - h + 1`` of them), each applied to today's spots and the book fully
revalued with :func:`~riskdesk.risk.marks.value_book`'s engine (options repriced, no delta
shortcut; each distinct contract priced once per scenario, whatever the number of positions
holding it).
Beside each ``h``-day figure, the ``sqrt(h)``-scaled 1-day figure is reported for
comparison (:attr:`VarReport.scaled_figures`).

Delta-gamma-normal (:func:`delta_gamma_normal_var`)
---------------------------------------------------
With underlying returns ``x ~ N(0, h Sigma)`` (``Sigma`` the daily covariance) and the
quadratic P&L ``dP = d'x + 1/2 x' Gamma x`` (``d`` the delta dollars ``delta * S``, ``Gamma``
the gamma dollars ``gamma * S_i * S_j``; a vector means a diagonal ``Gamma``), the P&L's
exact first two moments are::

    mu     = 1/2 tr(Gamma Sigma_h)
    sigma2 = d' Sigma_h d + 1/2 tr((Gamma Sigma_h)^2)

and the P&L is approximated as ``N(mu, sigma2)``: ``VaR_c = -mu + z_c sigma`` and
``ES_c = -mu + sigma phi(z_c) / (1 - c)``, ``z_c = Phi^-1(c)``. With ``Gamma = 0`` this is
the delta-normal closed form.

Monte Carlo on the factor model (:func:`monte_carlo_var`)
---------------------------------------------------------
``h``-day factor returns ``f ~ N(0, h Sigma_f)`` and underlying log returns
``r_i = b_i' f + e_i`` with independent ``e_i ~ N(0, h s_i^2)`` (no drift); the book is
fully revalued on ``exp(r)``. The same standard normal draws (one generator seeded with
``seed``) serve every horizon, scaled by ``sqrt(h)``, so a seed gives identical figures.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import stats

from riskdesk.risk.marks import (
    Marks,
    MarkStatus,
    _book_plan,
    _BookPlan,
    _price_unique,
    _select,
    _value_planned,
    value_book,
)
from riskdesk.risk.positions import BookPosition

__all__ = [
    "QUANTILE_METHOD",
    "VOL_HELD",
    "DeltaGammaInputs",
    "DeltaGammaNormalVar",
    "ExcludedPosition",
    "RiskFigure",
    "VarReport",
    "VolRule",
    "delta_gamma_inputs",
    "delta_gamma_normal_var",
    "historical_var",
    "loss_var_es",
    "monte_carlo_var",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]

QUANTILE_METHOD: Final = "linear"
"""``numpy.quantile`` method of every empirical VaR (Hyndman-Fan type 7)."""

_CHUNK_ELEMENTS = 2_000_000
"""Scenario x position cells revalued per :func:`value_book` call (bounds the memory)."""


@dataclass(frozen=True, slots=True)
class VolRule:
    """How option vols move with spot: ``sigma * clip(exp(-elasticity * r), floor, cap)``.

    ``r`` is the underlying's log return in the scenario. ``elasticity = 0`` holds vols.
    """

    spot_vol_elasticity: float = 0.0
    floor: float = 0.25
    cap: float = 4.0

    def __post_init__(self) -> None:
        if not math.isfinite(self.spot_vol_elasticity):
            raise ValueError(
                f"VolRule.spot_vol_elasticity must be finite, got {self.spot_vol_elasticity}"
            )
        if not (0 < self.floor <= 1 <= self.cap and math.isfinite(self.cap)):
            raise ValueError(
                f"VolRule needs 0 < floor <= 1 <= cap < inf, got floor={self.floor}, cap={self.cap}"
            )

    @property
    def holds_vol(self) -> bool:
        """True when vols never move (elasticity 0)."""
        return self.spot_vol_elasticity == 0.0

    def multipliers(self, log_returns: FloatArray) -> FloatArray:
        """Vol multipliers for an array of log returns (same shape)."""
        return np.clip(np.exp(-self.spot_vol_elasticity * log_returns), self.floor, self.cap)


VOL_HELD = VolRule()
"""Vols held at today's marks in every scenario (sticky strike)."""


@dataclass(frozen=True, slots=True)
class RiskFigure:
    """VaR and ES (money, positive = loss) at one confidence and horizon."""

    confidence: float
    horizon_days: int
    var: float
    es: float


@dataclass(frozen=True, slots=True)
class ExcludedPosition:
    """A position left out of a measure: its index in the book, its symbol and why.

    ``reason`` is a :class:`~riskdesk.risk.marks.MarkStatus` value (``expired``, ``no_spot``,
    ``no_vol``) or one of ``no_returns`` (no history column for its underlying),
    ``incomplete_returns`` (a missing value inside the window), ``no_factor_model`` (no
    betas or specific vol for its underlying) and ``unpriceable_in_scenario``.
    """

    index: int
    symbol: str
    reason: str


@dataclass(frozen=True)
class VarReport:
    """A simulated VaR / ES measure (historical or Monte Carlo).

    ``figures`` holds one :class:`RiskFigure` per (confidence, horizon); ``scaled_figures``
    the ``sqrt(h)``-scaled 1-day figures for each horizon ``h`` > 1 (historical only, for
    comparison). ``pnl`` maps a horizon to its scenario P&L (money, in chronological order
    for historical scenarios: the scenario ending on each day of the window);
    ``current_value`` is today's value of the included positions.
    """

    method: str
    figures: tuple[RiskFigure, ...]
    current_value: float
    n_scenarios: Mapping[int, int]
    excluded: tuple[ExcludedPosition, ...]
    pnl: Mapping[int, FloatArray]
    vol_rule: VolRule
    scaled_figures: tuple[RiskFigure, ...] = field(default=())

    def figure(self, confidence: float, horizon_days: int) -> RiskFigure:
        """The figure at ``confidence`` and ``horizon_days`` (KeyError when not computed)."""
        return _pick(self.figures, confidence, horizon_days)

    def scaled_figure(self, confidence: float, horizon_days: int) -> RiskFigure:
        """The ``sqrt(h)``-scaled 1-day figure at ``confidence`` and ``horizon_days``."""
        return _pick(self.scaled_figures, confidence, horizon_days)


@dataclass(frozen=True)
class DeltaGammaNormalVar:
    """Delta-gamma-normal VaR / ES and the P&L moments (``mean``, ``std``) per horizon."""

    figures: tuple[RiskFigure, ...]
    mean: Mapping[int, float]
    std: Mapping[int, float]

    def figure(self, confidence: float, horizon_days: int) -> RiskFigure:
        """The figure at ``confidence`` and ``horizon_days`` (KeyError when not computed)."""
        return _pick(self.figures, confidence, horizon_days)


@dataclass(frozen=True)
class DeltaGammaInputs:
    """A book's delta and gamma dollars per underlying, from :func:`value_book`.

    ``delta_dollars[i] = sum(delta * S)`` and ``gamma_dollars[i] = sum(gamma * S^2)`` over the
    priceable positions on ``underlyings[i]`` (money per unit return and per unit return
    squared).
    """

    underlyings: tuple[str, ...]
    delta_dollars: FloatArray
    gamma_dollars: FloatArray
    excluded: tuple[ExcludedPosition, ...]


def _pick(figures: Sequence[RiskFigure], confidence: float, horizon_days: int) -> RiskFigure:
    for fig in figures:
        if math.isclose(fig.confidence, confidence) and fig.horizon_days == horizon_days:
            return fig
    raise KeyError(f"no figure at confidence {confidence} and horizon {horizon_days} days")


def _check_levels(
    confidence: Sequence[float], horizon_days: Sequence[int]
) -> tuple[tuple[float, ...], tuple[int, ...]]:
    levels = tuple(float(c) for c in confidence)
    horizons = tuple(int(h) for h in horizon_days)
    if not levels:
        raise ValueError("confidence needs at least one level")
    if not horizons:
        raise ValueError("horizon_days needs at least one horizon")
    for c in levels:
        if not (0.0 < c < 1.0):
            raise ValueError(f"confidence must be in (0, 1), got {c}")
    for h, raw in zip(horizons, horizon_days, strict=True):
        if h < 1 or h != raw:
            raise ValueError(f"horizon_days must be positive integers, got {raw}")
    return levels, tuple(dict.fromkeys(horizons))


def loss_var_es(pnl: npt.ArrayLike, confidence: float) -> tuple[float, float]:
    """VaR and ES of a P&L sample at ``confidence`` (module conventions).

    Examples
    --------
    Twenty scenarios with losses 1..20: ``h = 19 * 0.95 = 18.05`` so VaR is
    ``19 + 0.05 * (20 - 19) = 19.05`` and ES is the mean of the losses >= 19.05, i.e. 20.

    >>> [round(x, 9) for x in loss_var_es([-float(k) for k in range(1, 21)], 0.95)]
    [19.05, 20.0]

    """
    losses = -np.asarray(pnl, dtype=np.float64).ravel()
    if losses.size == 0:
        raise ValueError("a VaR needs at least one scenario")
    if not np.all(np.isfinite(losses)):
        raise ValueError("scenario P&L must be finite")
    if not (0.0 < confidence < 1.0):
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    var = float(np.quantile(losses, confidence, method=QUANTILE_METHOD))
    es = float(losses[losses >= var].mean())
    return var, es


def _returns_matrix(
    underlying_returns: pd.DataFrame | npt.ArrayLike, names: Sequence[str] | None
) -> tuple[FloatArray, tuple[str, ...]]:
    if isinstance(underlying_returns, pd.DataFrame):
        if names is not None:
            raise ValueError("names is taken from the DataFrame's columns: do not pass both")
        index = underlying_returns.index
        if isinstance(index, pd.DatetimeIndex) and not index.is_monotonic_increasing:
            raise ValueError("underlying_returns must be ordered oldest day first")
        cols = tuple(str(c) for c in underlying_returns.columns)
        matrix = underlying_returns.to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        if names is None:
            raise ValueError("an array of underlying_returns needs names (one per column)")
        cols = tuple(names)
        matrix = np.asarray(underlying_returns, dtype=np.float64)
    if matrix.ndim != 2 or matrix.shape[1] != len(cols):
        raise ValueError(
            f"underlying_returns must have shape (n_days, {len(cols)}) for names {cols}, got "
            f"{matrix.shape}"
        )
    if len(set(cols)) != len(cols):
        raise ValueError(f"underlying_returns has duplicate names: {cols}")
    return matrix, cols


def _base_exclusions(
    positions: Sequence[BookPosition], status: Sequence[MarkStatus]
) -> dict[int, ExcludedPosition]:
    return {
        i: ExcludedPosition(i, p.symbol, str(s.value))
        for i, (p, s) in enumerate(zip(positions, status, strict=True))
        if s is not MarkStatus.OK
    }


def _scenario_values(
    plan: _BookPlan,
    marks: Marks,
    rows: IntArray,
    underlying_returns: FloatArray,
    column_of: Mapping[str, int],
    vol_rule: VolRule,
    underlyings: Sequence[str],
) -> FloatArray:
    """Values ``(n_scen, len(rows))`` of the positions ``rows`` under every scenario.

    ``underlying_returns`` is ``(n_scen, n_underlyings)`` (log returns); ``underlyings[i]``
    is position ``i``'s underlying. Each unique option contract among ``rows`` is priced once
    per scenario (in chunks of scenarios, bounding the memory) and scaled by each position's
    quantity: the numbers of :func:`~riskdesk.risk.marks.value_book` with the spot
    multipliers ``exp(r)``, without repricing positions that share a contract.
    """
    n_scen, n_rows = underlying_returns.shape[0], rows.shape[0]
    values = np.empty((n_scen, n_rows))
    if n_rows == 0:
        return values
    where = np.full(plan.spot.shape[0], -1, dtype=np.intp)
    where[plan.option_rows] = np.arange(plan.option_rows.shape[0], dtype=np.intp)
    k = where[rows]
    is_option = k >= 0
    option_cols = np.nonzero(is_option)[0]
    stock_cols = np.nonzero(~is_option)[0]
    contract_of = plan.unique_of[k[is_option]]
    used, local = np.unique(contract_of, return_inverse=True)
    contracts = _select(plan, used)
    names = sorted({underlyings[int(i)] for i in rows})
    needed = np.array([column_of[name] for name in names], dtype=np.intp)
    at = {name: j for j, name in enumerate(names)}
    contract_col = np.array([at[u] for u in contracts.underlying_u], dtype=np.intp)
    stock_col = np.array([at[underlyings[int(i)]] for i in rows[stock_cols]], dtype=np.intp)
    stock_spot = plan.spot[rows[stock_cols]]
    stock_qty = plan.qty[rows[stock_cols]]
    option_qty = plan.qty[rows[option_cols]]
    step = max(1, _CHUNK_ELEMENTS // max(used.shape[0], 1))
    for start in range(0, n_scen, step):
        r = underlying_returns[start : start + step][:, needed]
        multiplier = np.exp(r)
        if not np.all(np.isfinite(multiplier)) or np.any(multiplier <= 0):
            raise ValueError("scenario multipliers must be positive finite numbers")
        block = values[start : start + step]
        block[:, stock_cols] = (stock_spot[None, :] * multiplier[:, stock_col]) * stock_qty
        if used.shape[0]:
            S = contracts.spot_u[None, :] * multiplier[:, contract_col]
            sigma = contracts.sigma0[None, :]
            if not vol_rule.holds_vol:
                sigma = sigma * vol_rule.multipliers(r)[:, contract_col]
            rate = np.full(S.shape, marks.rate + 0.0)  # the rate of value_book's rate_shift 0
            prices = _price_unique(
                contracts, S, np.broadcast_to(sigma, S.shape), rate, with_greeks=False
            )["price"]
            block[:, option_cols] = prices[:, local] * option_qty
    return values


def _simulated_pnl(
    plan: _BookPlan,
    marks: Marks,
    underlyings: Sequence[str],
    rows: list[int],
    base_value: FloatArray,
    underlying_returns: FloatArray,
    column_of: Mapping[str, int],
    vol_rule: VolRule,
    excluded: dict[int, ExcludedPosition],
    symbols: Sequence[str],
) -> tuple[FloatArray, list[int]]:
    """Total scenario P&L of ``rows``; a position that fails in any scenario is excluded.

    ``underlyings[i]`` and ``symbols[i]`` are position ``i``'s underlying and symbol.
    Returns the P&L ``(n_scen,)`` and the rows finally included (the P&L is summed without
    the failing positions, so every scenario covers the same positions).
    """
    if not rows:
        return np.zeros(underlying_returns.shape[0]), rows
    values = _scenario_values(
        plan,
        marks,
        np.array(rows, dtype=np.intp),
        underlying_returns,
        column_of,
        vol_rule,
        underlyings,
    )
    finite = np.all(np.isfinite(values), axis=0)
    if not finite.all():
        for j in np.nonzero(~finite)[0]:
            i = rows[int(j)]
            excluded[i] = ExcludedPosition(i, symbols[i], "unpriceable_in_scenario")
        rows = [i for i, ok in zip(rows, finite, strict=True) if ok]
        if not rows:
            return np.zeros(underlying_returns.shape[0]), rows
        values = values[:, finite]
    pnl: FloatArray = (values - base_value[rows][None, :]).sum(axis=1)
    return pnl, rows


def _split(pnl_all: FloatArray, sizes: Mapping[int, int]) -> dict[int, FloatArray]:
    out: dict[int, FloatArray] = {}
    start = 0
    for h, size in sizes.items():
        out[h] = pnl_all[start : start + size]
        start += size
    return out


def historical_var(
    positions: Sequence[BookPosition],
    marks: Marks,
    underlying_returns: pd.DataFrame | npt.ArrayLike,
    *,
    names: Sequence[str] | None = None,
    confidence: Sequence[float] = (0.95, 0.99),
    horizon_days: Sequence[int] = (1, 10),
    window: int = 500,
    vol_rule: VolRule = VOL_HELD,
) -> VarReport:
    """Historical-simulation VaR and ES with full revaluation of every position.

    Parameters
    ----------
    positions, marks
        The book and today's marks (spots, vols, rate).
    underlying_returns
        Daily log returns, oldest day first: a DataFrame whose columns are underlying symbols,
        or an ``(n_days, n_underlyings)`` array with ``names``.
    names
        Column names of an array ``underlying_returns``.
    confidence, horizon_days
        Levels in (0, 1) and horizons in trading days.
    window
        Number of most recent days used (all days when fewer are given).
    vol_rule
        How option vols move with spot (:data:`VOL_HELD` by default).

    Returns
    -------
    VarReport
        ``method="historical"``; ``pnl[h]`` is the P&L of the ``window - h + 1``
        overlapping ``h``-day scenarios in chronological order. Positions that cannot be
        priced (expired, no spot, no vol, no or incomplete history) are excluded and listed.

    Raises
    ------
    ValueError
        For a window < 1, a bad returns shape, or fewer days than the longest horizon.

    """
    levels, horizons = _check_levels(confidence, horizon_days)
    if window < 1:
        raise ValueError(f"window must be >= 1 day, got {window}")
    matrix, cols = _returns_matrix(underlying_returns, names)
    recent = matrix[-window:]
    n_days = recent.shape[0]
    if n_days < max(horizons):
        raise ValueError(
            f"a {max(horizons)}-day horizon needs at least {max(horizons)} days of returns, "
            f"got {n_days}"
        )
    plan = _book_plan(positions, marks)
    base = _value_planned(plan, marks, with_greeks=False)
    excluded = _base_exclusions(positions, base.status)
    col_of = {name: j for j, name in enumerate(cols)}
    complete = np.all(np.isfinite(recent), axis=0)
    for i, p in enumerate(positions):
        if i in excluded:
            continue
        if p.underlying not in col_of:
            excluded[i] = ExcludedPosition(i, p.symbol, "no_returns")
        elif not complete[col_of[p.underlying]]:
            excluded[i] = ExcludedPosition(i, p.symbol, "incomplete_returns")
    rows = [i for i in range(len(positions)) if i not in excluded]
    clean = np.where(np.isfinite(recent), recent, 0.0)
    cumulative = np.vstack([np.zeros((1, clean.shape[1])), np.cumsum(clean, axis=0)])
    simulated = horizons if 1 in horizons else (1, *horizons)
    blocks = [cumulative[h:] - cumulative[:-h] for h in simulated]
    pnl_all, rows = _simulated_pnl(
        plan,
        marks,
        [p.underlying for p in positions],
        rows,
        base.value,
        np.vstack(blocks),
        col_of,
        vol_rule,
        excluded,
        [p.symbol for p in positions],
    )
    every = _split(pnl_all, {h: b.shape[0] for h, b in zip(simulated, blocks, strict=True)})
    one_day = {c: loss_var_es(every[1], c) for c in levels}
    scaled = [
        RiskFigure(c, h, one_day[c][0] * math.sqrt(h), one_day[c][1] * math.sqrt(h))
        for h in horizons
        if h > 1
        for c in levels
    ]
    pnl = {h: every[h] for h in horizons}
    figures = _figures(pnl, levels, horizons)
    return VarReport(
        method="historical",
        figures=figures,
        current_value=float(base.value[rows].sum()) if rows else 0.0,
        n_scenarios=MappingProxyType({h: int(p.size) for h, p in pnl.items()}),
        excluded=tuple(excluded[i] for i in sorted(excluded)),
        pnl=MappingProxyType(pnl),
        vol_rule=vol_rule,
        scaled_figures=tuple(scaled),
    )


def _figures(
    pnl: Mapping[int, FloatArray], levels: Sequence[float], horizons: Sequence[int]
) -> tuple[RiskFigure, ...]:
    figures: list[RiskFigure] = []
    for h in horizons:
        for c in levels:
            var, es = loss_var_es(pnl[h], c)
            figures.append(RiskFigure(c, h, var, es))
    return tuple(figures)


def delta_gamma_normal_var(
    delta_dollars: npt.ArrayLike,
    gamma_dollars: npt.ArrayLike,
    cov: npt.ArrayLike,
    *,
    confidence: Sequence[float] = (0.95, 0.99),
    horizon_days: Sequence[int] = (1, 10),
) -> DeltaGammaNormalVar:
    """Delta-gamma-normal VaR and ES (moment-matched normal of the quadratic P&L).

    Parameters
    ----------
    delta_dollars
        ``d``, shape ``(n,)``: money per unit (simple) return of each underlying.
    gamma_dollars
        ``Gamma``: shape ``(n,)`` (diagonal, the usual case: each option has one underlying)
        or ``(n, n)`` symmetric; money per unit return squared (``gamma * S_i * S_j``).
    cov
        ``Sigma``, shape ``(n, n)``: the *daily* covariance of the underlyings' returns;
        the ``h``-day covariance is ``h * Sigma``.
    confidence, horizon_days
        Levels in (0, 1) and horizons in trading days.

    Returns
    -------
    DeltaGammaNormalVar
        ``mean[h] = 1/2 tr(Gamma Sigma_h)``, ``std[h] = sqrt(d' Sigma_h d +
        1/2 tr((Gamma Sigma_h)^2))``, ``VaR = -mean + z_c std`` and
        ``ES = -mean + std phi(z_c) / (1 - c)``.

    Examples
    --------
    One stock worth 1,000,000 with a 1% daily vol: the 99% 1-day VaR is
    ``2.3263 * 10,000 = 23,263``.

    >>> r = delta_gamma_normal_var([1e6], [0.0], [[1e-4]], confidence=(0.99,), horizon_days=(1,))
    >>> round(r.figure(0.99, 1).var)
    23263

    """
    levels, horizons = _check_levels(confidence, horizon_days)
    d = np.asarray(delta_dollars, dtype=np.float64)
    if d.ndim != 1:
        raise ValueError(f"delta_dollars must be a vector, got shape {d.shape}")
    n = d.shape[0]
    sigma = np.asarray(cov, dtype=np.float64)
    if sigma.shape != (n, n):
        raise ValueError(f"cov must have shape ({n}, {n}), got {sigma.shape}")
    if not np.allclose(sigma, sigma.T, rtol=1e-10, atol=1e-14):
        raise ValueError("cov must be symmetric")
    g = np.asarray(gamma_dollars, dtype=np.float64)
    if g.shape == (n,):
        g = np.diag(g)
    if g.shape != (n, n):
        raise ValueError(f"gamma_dollars must have shape ({n},) or ({n}, {n}), got {g.shape}")
    if not np.allclose(g, g.T, rtol=1e-10, atol=1e-12):
        raise ValueError("gamma_dollars must be symmetric")
    for label, arr in (("delta_dollars", d), ("gamma_dollars", g), ("cov", sigma)):
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{label} must be finite")
    figures: list[RiskFigure] = []
    means: dict[int, float] = {}
    stds: dict[int, float] = {}
    for h in horizons:
        sig_h = sigma * h
        gs = g @ sig_h
        mu = 0.5 * float(np.trace(gs))
        var_pnl = float(d @ sig_h @ d) + 0.5 * float(np.trace(gs @ gs))
        if var_pnl < -1e-9 * max(1.0, abs(var_pnl)):
            raise ValueError("the P&L variance is negative: cov is not positive semidefinite")
        sd = math.sqrt(max(var_pnl, 0.0))
        means[h], stds[h] = mu, sd
        for c in levels:
            z = float(stats.norm.ppf(c))
            tail = float(stats.norm.pdf(z)) / (1.0 - c)
            figures.append(RiskFigure(c, h, -mu + z * sd, -mu + tail * sd))
    return DeltaGammaNormalVar(tuple(figures), MappingProxyType(means), MappingProxyType(stds))


def delta_gamma_inputs(positions: Sequence[BookPosition], marks: Marks) -> DeltaGammaInputs:
    """Delta and gamma dollars per underlying of a book on ``marks`` (unpriceable excluded)."""
    base = value_book(positions, marks)
    excluded = _base_exclusions(positions, base.status)
    underlyings: list[str] = []
    for i, p in enumerate(positions):
        if i not in excluded and p.underlying not in underlyings:
            underlyings.append(p.underlying)
    at = {u: j for j, u in enumerate(underlyings)}
    delta = np.zeros(len(underlyings))
    gamma = np.zeros(len(underlyings))
    for i, p in enumerate(positions):
        if i in excluded:
            continue
        s = float(base.spot[i])
        delta[at[p.underlying]] += float(base.delta[i]) * s
        gamma[at[p.underlying]] += float(base.gamma[i]) * s * s
    return DeltaGammaInputs(
        tuple(underlyings), delta, gamma, tuple(excluded[i] for i in sorted(excluded))
    )


def _factor_inputs(
    factor_betas: pd.DataFrame | Mapping[str, Sequence[float]],
    factor_cov: npt.ArrayLike,
    specific_vol: Mapping[str, float] | pd.Series,
) -> tuple[dict[str, FloatArray], FloatArray, dict[str, float]]:
    if isinstance(factor_betas, pd.DataFrame):
        betas = {
            str(k): np.asarray(v, dtype=np.float64)
            for k, v in zip(
                factor_betas.index, factor_betas.to_numpy(dtype=np.float64), strict=True
            )
        }
        n_f = factor_betas.shape[1]
    else:
        betas = {str(k): np.asarray(v, dtype=np.float64) for k, v in factor_betas.items()}
        n_f = len(next(iter(betas.values()))) if betas else 0
    cov = np.asarray(factor_cov, dtype=np.float64)
    if cov.shape != (n_f, n_f):
        raise ValueError(f"factor_cov must have shape ({n_f}, {n_f}), got {cov.shape}")
    if not np.all(np.isfinite(cov)) or not np.allclose(cov, cov.T, rtol=1e-10, atol=1e-14):
        raise ValueError("factor_cov must be finite and symmetric")
    for name, b in betas.items():
        if b.shape != (n_f,) or not np.all(np.isfinite(b)):
            raise ValueError(f"betas of {name} must be {n_f} finite numbers, got {b}")
    spec = {str(k): float(v) for k, v in specific_vol.items()}
    for name, s in spec.items():
        if not (math.isfinite(s) and s >= 0):
            raise ValueError(f"specific vol of {name} must be finite and >= 0, got {s}")
    return betas, cov, spec


def _psd_root(cov: FloatArray) -> FloatArray:
    """``A`` with ``A A' = cov`` for a positive semidefinite ``cov`` (eigen decomposition)."""
    if cov.size == 0:
        return cov
    w, v = np.linalg.eigh(cov)
    if w.min() < -1e-10 * max(float(np.abs(w).max()), 1e-300):
        raise ValueError(f"factor_cov must be positive semidefinite (eigenvalue {w.min():.3g})")
    result: FloatArray = v * np.sqrt(np.clip(w, 0.0, None))[None, :]
    return result


def monte_carlo_var(
    positions: Sequence[BookPosition],
    marks: Marks,
    factor_betas: pd.DataFrame | Mapping[str, Sequence[float]],
    factor_cov: npt.ArrayLike,
    specific_vol: Mapping[str, float] | pd.Series,
    *,
    n_paths: int = 10_000,
    seed: int,
    horizon_days: Sequence[int] = (1, 10),
    confidence: Sequence[float] = (0.95, 0.99),
    vol_rule: VolRule = VOL_HELD,
) -> VarReport:
    """Monte Carlo VaR and ES on the factor model, with full revaluation.

    Parameters
    ----------
    positions, marks
        The book and today's marks (spots, vols, rate).
    factor_betas
        Each underlying's loadings on the factors: a DataFrame (index underlyings, columns
        factors) or a mapping underlying -> loadings in the order of ``factor_cov``.
    factor_cov
        The factors' *daily* covariance (of log returns), positive semidefinite.
    specific_vol
        Each underlying's daily specific (idiosyncratic) volatility.
    n_paths, seed
        Number of simulated scenarios per horizon; the seed of ``numpy.random.default_rng``.
    horizon_days, confidence
        Horizons in trading days and levels in (0, 1).
    vol_rule
        How option vols move with spot (:data:`VOL_HELD` by default).

    Returns
    -------
    VarReport
        ``method="monte_carlo"``; positions whose underlying lacks betas or a specific vol
        are excluded (``no_factor_model``), as are unpriceable ones.

    """
    levels, horizons = _check_levels(confidence, horizon_days)
    if n_paths < 1:
        raise ValueError(f"n_paths must be >= 1, got {n_paths}")
    betas, cov, spec = _factor_inputs(factor_betas, factor_cov, specific_vol)
    plan = _book_plan(positions, marks)
    base = _value_planned(plan, marks, with_greeks=False)
    excluded = _base_exclusions(positions, base.status)
    for i, p in enumerate(positions):
        if i not in excluded and (p.underlying not in betas or p.underlying not in spec):
            excluded[i] = ExcludedPosition(i, p.symbol, "no_factor_model")
    rows = [i for i in range(len(positions)) if i not in excluded]
    underlyings = sorted({positions[i].underlying for i in rows})
    col_of = {u: j for j, u in enumerate(underlyings)}
    rng = np.random.default_rng(seed)
    n_f = cov.shape[0]
    z_factor = rng.standard_normal((n_paths, n_f))
    z_specific = rng.standard_normal((n_paths, len(underlyings)))
    loadings = np.vstack([betas[u] for u in underlyings]) if underlyings else np.zeros((0, n_f))
    specific = np.array([spec[u] for u in underlyings])
    daily = (z_factor @ _psd_root(cov).T) @ loadings.T + z_specific * specific[None, :]
    stacked = np.vstack([daily * math.sqrt(h) for h in horizons])
    pnl_all, rows = _simulated_pnl(
        plan,
        marks,
        [p.underlying for p in positions],
        rows,
        base.value,
        stacked,
        col_of,
        vol_rule,
        excluded,
        [p.symbol for p in positions],
    )
    pnl = _split(pnl_all, dict.fromkeys(horizons, n_paths))
    return VarReport(
        method="monte_carlo",
        figures=_figures(pnl, levels, horizons),
        current_value=float(base.value[rows].sum()) if rows else 0.0,
        n_scenarios=MappingProxyType(dict.fromkeys(pnl, n_paths)),
        excluded=tuple(excluded[i] for i in sorted(excluded)),
        pnl=MappingProxyType(pnl),
        vol_rule=vol_rule,
    )
