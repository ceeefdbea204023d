"""Backtests of a VaR model: Kupiec's proportion of failures and Christoffersen's tests.

Pure functions (numpy / scipy): a use case hands in the book's daily P&L and the VaR that was
forecast for each day.

Conventions
-----------
* An **exception** is a day whose loss exceeds its VaR: ``pnl < -var`` (strict; VaR is a
  positive loss figure as in :mod:`riskdesk.risk.var`). ``p`` is the expected exception rate
  (``1 - confidence``, e.g. 0.01 for a 99% VaR).
* Log-likelihoods use ``0 * log(0) = 0`` (``scipy.special.xlogy``), the limit of the
  likelihood, so the edge cases have finite statistics instead of NaN:

  - **zero exceptions**: ``LR_pof = -2 n log(1 - p)``; the independence statistic is 0
    (nothing can cluster);
  - **all exceptions**: ``LR_pof = -2 n log(p)``; independence 0 (every transition is 1 -> 1);
  - **no transition out of a state** (e.g. the only exception is the last day, so no
    ``1 -> x`` transition exists): that state's transition probability has no observation,
    its likelihood factor is 1 (its counts are all zero), and it drops out of the statistic.

* A statistic that rounding makes a hair below 0 is clamped to 0 (p-value 1).

Kupiec (1995), proportion of failures::

    LR_pof = -2 log[(1 - p)^(n - x) p^x] + 2 log[(1 - x/n)^(n - x) (x/n)^x]  ~ chi2(1)

Christoffersen (1998), with ``n_ij`` the number of days in state ``j`` after a day in state
``i`` (1 = exception), ``pi_0 = n_01 / (n_00 + n_01)``, ``pi_1 = n_11 / (n_10 + n_11)`` and
``pi = (n_01 + n_11) / (n - 1)``::

    LR_ind = -2 log[(1 - pi)^(n_00 + n_10) pi^(n_01 + n_11)]
             + 2 log[(1 - pi_0)^n_00 pi_0^n_01 (1 - pi_1)^n_10 pi_1^n_11]   ~ chi2(1)
    LR_cc  = LR_pof + LR_ind                                                 ~ chi2(2)

``LR_pof`` in ``LR_cc`` is Kupiec's statistic on all ``n`` days (the usual practice; the
independence part uses the ``n - 1`` transitions).

Worked example: 250 days at 99% (p = 0.01). 6 exceptions give ``LR_pof = 3.55`` (p-value
0.059, not rejected at 5%, the chi2(1) critical value being 3.84) and 7 give 5.50 (p-value
0.019, rejected): the upper end of the non-rejection region ``N < 7`` of Jorion's table
(*Value at Risk*, 3rd ed., ch. 6, after Kupiec 1995). Zero exceptions give
``-2 * 250 * log(0.99) = 5.03``: too few exceptions are rejected too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import special, stats

__all__ = [
    "ChristoffersenResult",
    "KupiecResult",
    "VarBacktest",
    "christoffersen",
    "kupiec_pof",
    "rolling_historical_var",
    "var_backtest",
]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class KupiecResult:
    """Kupiec's proportion-of-failures test: ``lr`` ~ chi2(1) under a correct VaR."""

    exceptions: int
    n: int
    p: float
    observed_rate: float
    lr: float
    p_value: float

    def rejects(self, level: float = 0.05) -> bool:
        """True when the VaR's coverage is rejected at ``level`` (p-value below it)."""
        return self.p_value < level


@dataclass(frozen=True, slots=True)
class ChristoffersenResult:
    """Christoffersen's independence (chi2(1)) and conditional coverage (chi2(2)) tests.

    ``n00``, ``n01``, ``n10``, ``n11`` are the transition counts (``nij``: a day in state
    ``j`` after a day in state ``i``; 1 = exception); ``pi0`` / ``pi1`` are the exception
    probabilities after a quiet day / an exception, None when that state has no transition.
    """

    n00: int
    n01: int
    n10: int
    n11: int
    pi0: float | None
    pi1: float | None
    lr_ind: float
    p_value_ind: float
    lr_pof: float
    lr_cc: float
    p_value_cc: float

    def rejects_independence(self, level: float = 0.05) -> bool:
        """True when exceptions cluster significantly at ``level``."""
        return self.p_value_ind < level

    def rejects_conditional_coverage(self, level: float = 0.05) -> bool:
        """True when coverage and independence together are rejected at ``level``."""
        return self.p_value_cc < level


@dataclass(frozen=True)
class VarBacktest:
    """A VaR backtest: the exception series and both tests.

    ``n`` counts the days used; ``skipped`` the days left out because P&L or VaR was missing
    (NaN, e.g. the warm-up of a rolling VaR).
    """

    n: int
    skipped: int
    exceptions: int
    exception_series: BoolArray
    kupiec: KupiecResult
    christoffersen: ChristoffersenResult


def _check_p(p: float) -> None:
    if not (isinstance(p, int | float) and 0.0 < p < 1.0):
        raise ValueError(f"p (the expected exception rate) must be in (0, 1), got {p}")


def _log_binomial(count_fail: int, count_ok: int, prob: float) -> float:
    """``log[(1 - prob)^count_ok prob^count_fail]`` with ``0 log 0 = 0``."""
    return float(special.xlogy(count_ok, 1.0 - prob) + special.xlogy(count_fail, prob))


def _chi2_sf(lr: float, dof: int) -> tuple[float, float]:
    lr = max(lr, 0.0)
    return lr, float(stats.chi2.sf(lr, dof))


def kupiec_pof(exceptions: int, n: int, p: float) -> KupiecResult:
    """Kupiec's proportion-of-failures likelihood ratio and its chi2(1) p-value.

    Parameters
    ----------
    exceptions
        Number of days whose loss exceeded VaR (0 <= exceptions <= n).
    n
        Number of days tested (>= 1).
    p
        Expected exception rate (``1 - confidence``).

    Examples
    --------
    7 exceptions in 250 days at 99% reject the model at 5%.

    >>> r = kupiec_pof(7, 250, 0.01)
    >>> round(r.lr, 2), r.rejects(0.05)
    (5.5, True)

    """
    _check_p(p)
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n (days tested) must be an integer >= 1, got {n}")
    if isinstance(exceptions, bool) or not isinstance(exceptions, int):
        raise ValueError(f"exceptions must be an integer, got {exceptions!r}")
    if not 0 <= exceptions <= n:
        raise ValueError(f"exceptions must be in [0, n={n}], got {exceptions}")
    rate = exceptions / n
    null = _log_binomial(exceptions, n - exceptions, p)
    alt = _log_binomial(exceptions, n - exceptions, rate)
    lr, p_value = _chi2_sf(-2.0 * (null - alt), 1)
    return KupiecResult(exceptions, n, p, rate, lr, p_value)


def _as_exceptions(series: npt.ArrayLike) -> BoolArray:
    arr = np.asarray(series)
    if arr.ndim != 1:
        raise ValueError(f"the exception series must be one-dimensional, got shape {arr.shape}")
    if arr.dtype != np.bool_:
        if not np.all(np.isin(arr, (0, 1))):
            raise ValueError("the exception series must hold booleans or 0/1 values")
        arr = arr.astype(np.bool_)
    result: BoolArray = arr
    return result


def christoffersen(
    exceptions_series: npt.ArrayLike | Sequence[bool], p: float
) -> ChristoffersenResult:
    """Christoffersen's independence and conditional coverage tests.

    Parameters
    ----------
    exceptions_series
        One flag per day in chronological order (True / 1 = exception); at least 2 days.
    p
        Expected exception rate (``1 - confidence``).

    Returns
    -------
    ChristoffersenResult
        The transition counts, ``LR_ind`` with its chi2(1) p-value, and
        ``LR_cc = LR_pof + LR_ind`` with its chi2(2) p-value.

    """
    _check_p(p)
    hits = _as_exceptions(exceptions_series)
    if hits.size < 2:
        raise ValueError(f"the independence test needs at least 2 days, got {hits.size}")
    prev, cur = hits[:-1], hits[1:]
    n00 = int(np.sum(~prev & ~cur))
    n01 = int(np.sum(~prev & cur))
    n10 = int(np.sum(prev & ~cur))
    n11 = int(np.sum(prev & cur))
    pi = (n01 + n11) / (hits.size - 1)
    pi0 = n01 / (n00 + n01) if n00 + n01 else None
    pi1 = n11 / (n10 + n11) if n10 + n11 else None
    restricted = _log_binomial(n01 + n11, n00 + n10, pi)
    free = _log_binomial(n01, n00, pi0 if pi0 is not None else 0.0) + _log_binomial(
        n11, n10, pi1 if pi1 is not None else 0.0
    )
    lr_ind, p_ind = _chi2_sf(-2.0 * (restricted - free), 1)
    pof = kupiec_pof(int(hits.sum()), int(hits.size), p)
    lr_cc, p_cc = _chi2_sf(pof.lr + lr_ind, 2)
    return ChristoffersenResult(n00, n01, n10, n11, pi0, pi1, lr_ind, p_ind, pof.lr, lr_cc, p_cc)


def var_backtest(pnl_series: npt.ArrayLike, var_series: npt.ArrayLike, p: float) -> VarBacktest:
    """Count the exceptions of a VaR series against realised P&L and run both tests.

    Parameters
    ----------
    pnl_series
        Each day's P&L (money), chronological.
    var_series
        The VaR forecast *for* that day (positive = loss), same length. Days where either
        value is NaN are skipped (and counted in ``skipped``).
    p
        Expected exception rate (``1 - confidence``).

    """
    _check_p(p)
    pnl = np.asarray(pnl_series, dtype=np.float64)
    var = np.asarray(var_series, dtype=np.float64)
    if pnl.ndim != 1 or pnl.shape != var.shape:
        raise ValueError(
            f"pnl_series and var_series must be 1-D and the same length, got {pnl.shape} and "
            f"{var.shape}"
        )
    if np.any(np.isinf(pnl)) or np.any(np.isinf(var)):
        raise ValueError("pnl_series and var_series must not hold infinities")
    used = ~(np.isnan(pnl) | np.isnan(var))
    n = int(used.sum())
    if n < 2:
        raise ValueError(f"a VaR backtest needs at least 2 days with P&L and VaR, got {n}")
    hits: BoolArray = pnl[used] < -var[used]
    count = int(hits.sum())
    return VarBacktest(
        n=n,
        skipped=int(pnl.size - n),
        exceptions=count,
        exception_series=hits,
        kupiec=kupiec_pof(count, n, p),
        christoffersen=christoffersen(hits, p),
    )


def rolling_historical_var(
    pnl_series: npt.ArrayLike, *, window: int, confidence: float
) -> FloatArray:
    """Each day's historical VaR from the ``window`` days *before* it (no look-ahead).

    ``var[t]`` is the ``confidence`` quantile (linear interpolation, as in
    :func:`riskdesk.risk.var.loss_var_es`) of the losses ``-pnl[t - window : t]``; the first
    ``window`` days are NaN (no forecast yet), which :func:`var_backtest` skips.
    """
    if not (0.0 < confidence < 1.0):
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    if window < 1:
        raise ValueError(f"window must be >= 1 day, got {window}")
    pnl = np.asarray(pnl_series, dtype=np.float64)
    if pnl.ndim != 1:
        raise ValueError(f"pnl_series must be one-dimensional, got shape {pnl.shape}")
    if not np.all(np.isfinite(pnl)):
        raise ValueError("pnl_series must be finite")
    out = np.full(pnl.size, np.nan)
    if pnl.size > window:
        windows = np.lib.stride_tricks.sliding_window_view(-pnl, window)[:-1]
        out[window:] = np.quantile(windows, confidence, axis=1, method="linear")
    return out
