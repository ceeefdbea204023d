"""Position correlations: the pairwise matrix, clusters, diversification and effective size.

A pure numpy/scipy engine (no database, clock, file or logger), after seed 002's position
correlation PRD: Pearson correlations of the positions' daily log returns over a window
(90 sessions there), pairwise complete, with a minimum overlap (20 there), clusters found as
the connected components of the graph of pairs above a threshold (0.7 there).

Definitions
-----------
* **Correlation matrix** (:func:`position_correlations`): for each pair, the Pearson
  correlation over the rows where both returns are present (pandas' ``DataFrame.corr`` with
  ``min_periods``), clamped to [-1, 1]. A pair with fewer than ``min_overlap`` common rows, or
  where either series is constant over them, is NaN and listed in ``insufficient_pairs``; the
  diagonal is 1 for a usable series and NaN otherwise.
* **Weights** are the positions' signed dollar exposures ``w`` (a short is negative); ``a`` are
  the absolute weights normalised to sum to one.
* **Average correlation** (the PRD's "overall correlation"): ``sum_{i<j} a_i a_j rho_ij /
  sum_{i<j} a_i a_j`` over the usable pairs (return correlations, signs of positions ignored).
* **Diversification score**: ``1 - sum_{i!=j} w_i w_j rho_ij / sum_{i!=j} |w_i w_j|``, i.e.
  one minus the exposure-weighted average correlation of the positions' *P&L* (a short
  position's P&L moves against its return, so a long-short pair on correlated names counts as
  a hedge, not as concentration). For a long-only book it is ``1 - average correlation``.
  It lies in [0, 2]: 0 when every P&L moves together, 1 when they are uncorrelated on
  average, above 1 when they offset each other.
* **Effective number of positions**: ``1 / sum a_i^2`` (the inverse Herfindahl index of the
  absolute weights: ``N`` equal positions count ``N``).
* **Correlation-adjusted effective number** (the PRD names ``effective_positions`` without a
  formula; this is riskdesk's): ``1 / (a' C+ a)`` with ``C+`` the correlation matrix with
  negative and unusable off-diagonal entries set to 0. It counts how many uncorrelated return
  streams the book is spread over: ``N`` uncorrelated equal positions count ``N``, ``N``
  perfectly correlated ones count 1, and it always lies between 1 and the plain effective
  number.
* **Clusters**: connected components of the graph whose edges are the usable pairs with
  ``rho >= threshold`` (single linkage, the PRD's depth-first search); a cluster has at least
  two positions. The **concentration score** is the share of the gross exposure held in
  clusters.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

__all__ = [
    "CLUSTER_THRESHOLD",
    "MIN_OVERLAP",
    "CorrelationCluster",
    "DiversificationMetrics",
    "InsufficientPair",
    "PositionCorrelations",
    "correlation_clusters",
    "diversification_metrics",
    "log_returns",
    "position_correlations",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

MIN_OVERLAP = 20
"""Fewest common observations for a pair's correlation (the PRD's 20-day minimum)."""

CLUSTER_THRESHOLD = 0.7
"""Correlation at or above which two positions are linked into a cluster (the PRD's 0.7)."""


def _returns_matrix(values: npt.ArrayLike) -> FloatArray:
    array = np.array(values, dtype=np.float64)
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim != 2:
        raise ValueError(f"returns must be a (dates, positions) array, got shape {array.shape}")
    if np.isinf(array).any():
        raise ValueError("returns contain an infinite value; mark a missing one with NaN")
    return array


def log_returns(prices: npt.ArrayLike) -> FloatArray:
    """Daily log returns ``ln(p_t / p_t-1)`` of ``(T + 1, N)`` prices, NaN where one is missing.

    Examples
    --------
    >>> log_returns([100.0, 100.0 * math.e]).ravel().round(12).tolist()
    [1.0]

    """
    p = _returns_matrix(prices)
    if (p[np.isfinite(p)] <= 0).any():
        raise ValueError("prices must be positive (a missing one is NaN)")
    out: FloatArray = np.log(p[1:] / p[:-1])
    return out


@dataclass(frozen=True, slots=True)
class InsufficientPair:
    """A pair whose correlation is unusable: too little overlap, or a constant series."""

    first: str
    second: str
    overlap: int
    reason: str

    def to_dict(self) -> dict[str, object]:
        """Plain dict for JSON."""
        return {
            "first": self.first,
            "second": self.second,
            "overlap": self.overlap,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class PositionCorrelations:
    """The pairwise correlation matrix of positions.

    ``matrix`` (N, N) is symmetric, clamped to [-1, 1], NaN where unusable; ``overlap`` (N, N)
    the common observations of each pair (the diagonal: each series' own count); ``usable``
    whether an entry is a number; ``insufficient_pairs`` the unusable pairs ``i < j``.
    """

    positions: tuple[str, ...]
    matrix: FloatArray
    overlap: IntArray
    usable: BoolArray
    insufficient_pairs: tuple[InsufficientPair, ...]
    min_overlap: int

    def pairs(self) -> list[dict[str, object]]:
        """Every pair ``i < j`` as a plain dict (correlation None when unusable)."""
        n = len(self.positions)
        return [
            {
                "first": self.positions[i],
                "second": self.positions[j],
                "correlation": float(self.matrix[i, j]) if self.usable[i, j] else None,
                "overlap": int(self.overlap[i, j]),
            }
            for i in range(n)
            for j in range(i + 1, n)
        ]


def position_correlations(
    returns: npt.ArrayLike,
    *,
    min_overlap: int = MIN_OVERLAP,
    positions: Sequence[str] | None = None,
) -> PositionCorrelations:
    """Pairwise-complete Pearson correlations of the positions' returns.

    Parameters
    ----------
    returns : array_like, shape (T, N)
        Daily returns (log returns in the PRD), oldest first, NaN where missing; pass only the
        window wanted (the PRD uses 90 sessions).
    min_overlap : int
        Fewest common observations for a usable pair (default 20, at least 3).
    positions : Sequence[str] or None
        Column names (default ``position_i``).

    Returns
    -------
    PositionCorrelations
        The matrix, overlaps and the unusable pairs.

    Notes
    -----
    All pairs at once from masked sums (matrix products), each column first centred on its
    own mean: on complete data this is ``numpy.corrcoef``.

    Examples
    --------
    >>> r = [[0.01, 0.02], [-0.01, -0.01], [0.02, 0.03], [0.0, 0.01]]
    >>> round(float(position_correlations(r, min_overlap=3).matrix[0, 1]), 6)
    0.982708

    """
    if isinstance(min_overlap, bool) or not isinstance(min_overlap, int) or min_overlap < 3:
        raise ValueError(f"min_overlap must be an integer >= 3, got {min_overlap!r}")
    x = _returns_matrix(returns)
    n_pos = x.shape[1]
    if positions is None:
        names = tuple(f"position_{i}" for i in range(n_pos))
    else:
        names = tuple(positions)
        if len(names) != n_pos or len(set(names)) != n_pos:
            raise ValueError(f"positions must be {n_pos} unique names, got {names}")
    m = np.isfinite(x)
    with np.errstate(invalid="ignore"):
        centre = np.where(m.any(axis=0), np.nanmean(np.where(m, x, np.nan), axis=0), 0.0)
    x0 = np.where(m, x - centre, 0.0)
    mf = m.astype(np.float64)
    n = mf.T @ mf
    sx = x0.T @ mf  # sx[i, j]: sum of x_i over the rows where j is present (and i)
    sxx = (x0 * x0).T @ mf
    sxy = x0.T @ x0
    var = n * sxx - sx * sx  # var[i, j]: (scaled) variance of x_i on the pair's rows
    cov = n * sxy - sx * sx.T
    scale = n * sxx
    tiny = var <= 1e-14 * np.maximum(scale, np.finfo(np.float64).tiny)
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = cov / np.sqrt(var * var.T)
    overlap = np.rint(n).astype(np.int64)
    short = overlap < min_overlap
    constant = ~short & (tiny | tiny.T)
    usable = ~short & ~constant
    matrix = np.where(usable, np.clip(corr, -1.0, 1.0), np.nan)
    matrix = (matrix + matrix.T) / 2.0
    diagonal = np.diag(usable).copy()
    np.fill_diagonal(matrix, np.where(diagonal, 1.0, np.nan))
    bad: list[InsufficientPair] = []
    for i, j in zip(*np.nonzero(np.triu(~usable, k=1)), strict=True):
        reason = "overlap_below_minimum" if short[i, j] else "constant_series"
        bad.append(InsufficientPair(names[i], names[j], int(overlap[i, j]), reason))
    return PositionCorrelations(
        positions=names,
        matrix=matrix,
        overlap=overlap,
        usable=usable,
        insufficient_pairs=tuple(bad),
        min_overlap=min_overlap,
    )


@dataclass(frozen=True, slots=True)
class CorrelationCluster:
    """A group of positions linked by correlations at or above the threshold.

    ``average_correlation`` is the mean of the usable pairwise correlations inside it;
    ``gross_exposure`` the sum of its ``|w_i|`` and ``share`` that over the book's gross.
    """

    positions: tuple[str, ...]
    average_correlation: float
    gross_exposure: float
    share: float


def correlation_clusters(
    correlations: PositionCorrelations,
    weights: npt.ArrayLike,
    *,
    threshold: float = CLUSTER_THRESHOLD,
) -> tuple[CorrelationCluster, ...]:
    """Clusters: connected components of the pairs with ``rho >= threshold`` (two or more).

    ``weights`` are the signed dollar exposures (a zero-weight position joins no cluster).
    Clusters are ordered by gross exposure, largest first; positions inside by ``|w|``.
    """
    if not (math.isfinite(threshold) and -1.0 <= threshold <= 1.0):
        raise ValueError(f"threshold must be in [-1, 1], got {threshold!r}")
    w = _weights(correlations, weights)
    linked = correlations.usable & (np.nan_to_num(correlations.matrix, nan=-2.0) >= threshold)
    held = w != 0
    linked &= held[:, None] & held[None, :]
    np.fill_diagonal(linked, False)
    count, labels = connected_components(csr_matrix(linked), directed=False)
    gross = float(np.abs(w).sum())
    out: list[CorrelationCluster] = []
    for label in range(count):
        members = np.flatnonzero(labels == label)
        if members.size < 2:
            continue
        members = members[np.argsort(-np.abs(w[members]), kind="stable")]
        block = correlations.matrix[np.ix_(members, members)]
        inside = correlations.usable[np.ix_(members, members)] & ~np.eye(members.size, dtype=bool)
        exposure = float(np.abs(w[members]).sum())
        out.append(
            CorrelationCluster(
                positions=tuple(correlations.positions[i] for i in members),
                average_correlation=float(block[inside].mean()),
                gross_exposure=exposure,
                share=exposure / gross if gross > 0 else 0.0,
            )
        )
    out.sort(key=lambda c: -c.gross_exposure)
    return tuple(out)


@dataclass(frozen=True)
class DiversificationMetrics:
    """Portfolio-level correlation measures (definitions in the module docstring).

    ``average_correlation`` and ``diversification_score`` are None when no usable pair has
    weight; ``concentration_score`` is the share of gross exposure in ``clusters``.
    """

    average_correlation: float | None
    diversification_score: float | None
    effective_positions: float
    correlation_adjusted_effective_positions: float
    concentration_score: float
    clusters: tuple[CorrelationCluster, ...]
    positions_used: int
    pairs_used: int


def _weights(correlations: PositionCorrelations, weights: npt.ArrayLike) -> FloatArray:
    w = np.array(weights, dtype=np.float64).ravel()
    if w.shape[0] != len(correlations.positions):
        raise ValueError(
            f"{w.shape[0]} weights for {len(correlations.positions)} positions in the matrix"
        )
    if not np.isfinite(w).all():
        raise ValueError("weights must be finite dollar exposures")
    return w


def diversification_metrics(
    correlations: PositionCorrelations,
    weights: npt.ArrayLike,
    *,
    threshold: float = CLUSTER_THRESHOLD,
) -> DiversificationMetrics:
    """Average correlation, diversification score, effective numbers of positions, clusters.

    Parameters
    ----------
    correlations : PositionCorrelations
        The matrix of :func:`position_correlations`.
    weights : array_like, shape (N,)
        Signed dollar exposure per position (the matrix's order); zero-weight positions and
        positions without a usable series are left out.
    threshold : float
        Cluster threshold (default 0.7).

    Examples
    --------
    >>> r = [[1.0, 1.0], [-1.0, 1.0], [1.0, -1.0], [-1.0, -1.0]]
    >>> m = diversification_metrics(position_correlations(r, min_overlap=3), [100.0, 100.0])
    >>> m.effective_positions, m.diversification_score, m.correlation_adjusted_effective_positions
    (2.0, 1.0, 2.0)

    """
    w = _weights(correlations, weights)
    live = (w != 0) & np.diag(correlations.usable)
    w = np.where(live, w, 0.0)
    gross = float(np.abs(w).sum())
    if gross == 0:
        raise ValueError("no position has both a non-zero weight and a usable return series")
    a = np.abs(w) / gross
    offdiag = ~np.eye(w.size, dtype=bool)
    pair = correlations.usable & offdiag & live[:, None] & live[None, :]
    rho = np.where(pair, correlations.matrix, 0.0)
    abs_pair = np.outer(a, a) * pair
    weight_sum = float(abs_pair.sum())
    if weight_sum > 0:
        average = float((abs_pair * rho).sum() / weight_sum)
        signed = np.outer(np.sign(w), np.sign(w))
        score: float | None = 1.0 - float((abs_pair * signed * rho).sum() / weight_sum)
        average_out: float | None = average
    else:
        average_out, score = None, None
    effective = 1.0 / float(a @ a)
    c_plus = np.where(pair, np.clip(rho, 0.0, 1.0), 0.0) + np.eye(w.size)
    adjusted = 1.0 / float(a @ c_plus @ a)
    clusters = correlation_clusters(correlations, w, threshold=threshold)
    concentration = float(sum(c.share for c in clusters))
    return DiversificationMetrics(
        average_correlation=average_out,
        diversification_score=score,
        effective_positions=effective,
        correlation_adjusted_effective_positions=adjusted,
        concentration_score=concentration,
        clusters=clusters,
        positions_used=int(live.sum()),
        pairs_used=int(np.triu(pair, k=1).sum()),
    )
