"""Position correlations against numpy.corrcoef, pair by pair, and the metrics by hand."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import numpy.typing as npt
import pytest

from riskdesk.risk.correlation import (
    diversification_metrics,
    log_returns,
    position_correlations,
)
from riskdesk.risk.history import last_sessions, synthesize_history

FloatArray = npt.NDArray[np.float64]
SYMBOLS = ("SPY", "VTV", "VUG", "AAPL", "XOM", "KO", "JPM")


@pytest.fixture(scope="module")
def returns() -> FloatArray:
    """Log returns (90, 7) of a synthetic history (the PRD's 90-session window)."""
    sessions = last_sessions(date(2026, 11, 20), 91)
    history = synthesize_history(SYMBOLS, start=sessions[0], end=sessions[-1], seed=5)
    closes: dict[str, list[float]] = {}
    for bar in history.bars:
        closes.setdefault(bar.ticker, []).append(float(bar.close))
    return log_returns(np.column_stack([closes[s] for s in SYMBOLS]))


def test_log_returns_with_prices_match_log_ratio() -> None:
    out = log_returns([[100.0, 50.0], [110.0, np.nan], [99.0, 55.0]])
    assert out[0, 0] == pytest.approx(math.log(1.1))
    assert out[1, 0] == pytest.approx(math.log(0.9))
    assert np.isnan(out[:, 1]).all()


def test_position_correlations_with_complete_data_match_corrcoef(returns: FloatArray) -> None:
    result = position_correlations(returns, positions=SYMBOLS)
    np.testing.assert_allclose(result.matrix, np.corrcoef(returns.T), atol=1e-12)
    assert (result.overlap == 90).all()
    assert result.usable.all()
    assert result.insufficient_pairs == ()
    assert result.matrix[0, 1] > 0.6  # SPY and VTV share the market factor
    assert result.pairs()[0] == {
        "first": "SPY",
        "second": "VTV",
        "correlation": pytest.approx(result.matrix[0, 1]),
        "overlap": 90,
    }


def test_position_correlations_with_nans_use_pairwise_complete_rows(returns: FloatArray) -> None:
    rng = np.random.default_rng(9)
    x = returns.copy()
    for col in range(x.shape[1]):
        x[rng.choice(90, 5 + 3 * col, replace=False), col] = np.nan
    result = position_correlations(x)
    for i in range(x.shape[1]):
        for j in range(x.shape[1]):
            both = np.isfinite(x[:, i]) & np.isfinite(x[:, j])
            assert result.overlap[i, j] == int(both.sum())
            if i != j:
                expected = np.corrcoef(x[both, i], x[both, j])[0, 1]
                assert result.matrix[i, j] == pytest.approx(expected, abs=1e-12)
    np.testing.assert_array_equal(result.matrix, result.matrix.T)
    assert np.diag(result.matrix).tolist() == [1.0] * x.shape[1]


def test_position_correlations_with_short_overlap_flag_pair_and_leave_nan() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(0.0, 0.01, size=(60, 3))
    x[:45, 2] = np.nan  # 15 observations left
    result = position_correlations(x, positions=("A", "B", "C"))
    assert np.isnan(result.matrix[0, 2])
    assert np.isnan(result.matrix[2, 2])
    assert not result.usable[1, 2]
    assert [p.to_dict() for p in result.insufficient_pairs] == [
        {"first": "A", "second": "C", "overlap": 15, "reason": "overlap_below_minimum"},
        {"first": "B", "second": "C", "overlap": 15, "reason": "overlap_below_minimum"},
    ]
    assert result.pairs()[1]["correlation"] is None
    relaxed = position_correlations(x, min_overlap=15)
    assert relaxed.insufficient_pairs == ()


def test_position_correlations_with_constant_series_flag_it() -> None:
    x = np.column_stack([np.linspace(-1, 1, 30), np.full(30, 0.002)])
    result = position_correlations(x)
    assert result.insufficient_pairs[0].reason == "constant_series"
    assert np.isnan(result.matrix[0, 1])


def test_position_correlations_with_identical_and_opposite_series_clamp_to_unit() -> None:
    rng = np.random.default_rng(2)
    a = rng.normal(0.0, 0.013, size=50)
    result = position_correlations(np.column_stack([a, a, -a, 3.0 * a + 0.01]))
    assert np.abs(result.matrix).max() <= 1.0
    assert result.matrix[0, 1] == pytest.approx(1.0, abs=1e-14)
    assert result.matrix[0, 2] == pytest.approx(-1.0, abs=1e-14)
    assert result.matrix[0, 3] == pytest.approx(1.0, abs=1e-14)


def test_position_correlations_with_bad_inputs_raise() -> None:
    with pytest.raises(ValueError, match="min_overlap"):
        position_correlations(np.zeros((10, 2)), min_overlap=2)
    with pytest.raises(ValueError, match="unique names"):
        position_correlations(np.zeros((10, 2)), positions=("A", "A"))


def _by_hand(matrix: FloatArray, weights: list[float]) -> tuple[float, float, float, float]:
    n = len(weights)
    gross = sum(abs(w) for w in weights)
    a = [abs(w) / gross for w in weights]
    num_avg = den = num_signed = 0.0
    quad = 0.0
    for i in range(n):
        quad += a[i] * a[i]
        for j in range(n):
            if i == j:
                continue
            num_avg += a[i] * a[j] * matrix[i, j]
            num_signed += weights[i] * weights[j] * matrix[i, j]
            den += abs(weights[i] * weights[j])
            quad += a[i] * a[j] * max(matrix[i, j], 0.0)
    average = num_avg / sum(a[i] * a[j] for i in range(n) for j in range(n) if i != j)
    return average, 1.0 - num_signed / den, 1.0 / sum(x * x for x in a), 1.0 / quad


def test_diversification_metrics_with_synthetic_book_match_hand_sums(returns: FloatArray) -> None:
    correlations = position_correlations(returns, positions=SYMBOLS)
    weights = [40_000.0, 10_000.0, 15_000.0, 30_000.0, -20_000.0, 25_000.0, -10_000.0]
    result = diversification_metrics(correlations, weights)
    average, score, effective, adjusted = _by_hand(correlations.matrix, weights)
    assert result.average_correlation == pytest.approx(average, rel=1e-12)
    assert result.diversification_score == pytest.approx(score, rel=1e-12)
    assert result.effective_positions == pytest.approx(effective, rel=1e-12)
    assert result.correlation_adjusted_effective_positions == pytest.approx(adjusted, rel=1e-12)
    assert 1.0 <= result.correlation_adjusted_effective_positions < result.effective_positions
    assert result.positions_used == 7
    assert result.pairs_used == 21


def test_effective_positions_with_hand_weights_is_inverse_herfindahl() -> None:
    rng = np.random.default_rng(6)
    correlations = position_correlations(rng.normal(size=(200, 3)))
    result = diversification_metrics(correlations, [50.0, 30.0, -20.0])
    assert result.effective_positions == pytest.approx(1.0 / (0.25 + 0.09 + 0.04))


def test_diversification_metrics_with_identical_series_long_only_and_long_short() -> None:
    rng = np.random.default_rng(7)
    a = rng.normal(0.0, 0.01, size=40)
    correlations = position_correlations(np.column_stack([a, a, a]))
    long_only = diversification_metrics(correlations, [1.0, 1.0, 1.0])
    assert long_only.diversification_score == pytest.approx(0.0, abs=1e-12)
    assert long_only.effective_positions == pytest.approx(3.0)
    assert long_only.correlation_adjusted_effective_positions == pytest.approx(1.0)
    assert long_only.concentration_score == pytest.approx(1.0)
    hedged = diversification_metrics(correlations, [1.0, -1.0, 0.0])
    assert hedged.diversification_score == pytest.approx(2.0)
    assert hedged.average_correlation == pytest.approx(1.0)
    assert hedged.positions_used == 2


def test_diversification_metrics_with_uncorrelated_equal_book_count_every_position() -> None:
    x = np.array([[1, 1, 1], [-1, 1, -1], [1, -1, -1], [-1, -1, 1]] * 6, dtype=np.float64)
    correlations = position_correlations(x)
    result = diversification_metrics(correlations, [5.0, 5.0, 5.0])
    assert result.average_correlation == pytest.approx(0.0, abs=1e-12)
    assert result.diversification_score == pytest.approx(1.0)
    assert result.correlation_adjusted_effective_positions == pytest.approx(3.0)
    assert result.clusters == ()
    assert result.concentration_score == 0.0


def test_diversification_metrics_with_correlated_pair_find_one_cluster() -> None:
    rng = np.random.default_rng(8)
    a = rng.normal(0.0, 0.01, size=90)
    b = a + rng.normal(0.0, 0.002, size=90)
    c = rng.normal(0.0, 0.01, size=90)
    correlations = position_correlations(np.column_stack([a, b, c]), positions=("A", "B", "C"))
    result = diversification_metrics(correlations, [20_000.0, 60_000.0, 20_000.0])
    (cluster,) = result.clusters
    assert cluster.positions == ("B", "A")
    assert cluster.gross_exposure == 80_000.0
    assert cluster.average_correlation == pytest.approx(correlations.matrix[0, 1])
    assert result.concentration_score == pytest.approx(0.8)


def test_diversification_metrics_with_unusable_series_leave_it_out() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(0.0, 0.01, size=(60, 3))
    x[:50, 2] = np.nan
    correlations = position_correlations(x)
    result = diversification_metrics(correlations, [1.0, 1.0, 1.0])
    assert result.positions_used == 2
    assert result.effective_positions == pytest.approx(2.0)
    with pytest.raises(ValueError, match="no position"):
        diversification_metrics(correlations, [0.0, 0.0, 5.0])
    with pytest.raises(ValueError, match="2 weights for 3 positions"):
        diversification_metrics(correlations, [1.0, 1.0])


def test_correlation_adjusted_effective_positions_with_negative_pair_treat_it_as_zero() -> None:
    rng = np.random.default_rng(4)
    a = rng.normal(0.0, 0.01, size=90)
    b = -a + rng.normal(0.0, 0.003, size=90)
    correlations = position_correlations(np.column_stack([a, b]))
    assert correlations.matrix[0, 1] < -0.9
    result = diversification_metrics(correlations, [1.0, 1.0])
    _, score, effective, adjusted = _by_hand(correlations.matrix, [1.0, 1.0])
    assert result.correlation_adjusted_effective_positions == pytest.approx(adjusted)
    assert adjusted == pytest.approx(effective) == pytest.approx(2.0)
    assert result.diversification_score == pytest.approx(score)
    assert result.diversification_score is not None
    assert result.diversification_score > 1.9  # the two P&Ls offset each other


def test_correlation_module_with_docstring_examples_hold() -> None:
    import doctest

    import riskdesk.risk.correlation as module

    outcome = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert outcome.attempted > 0
    assert outcome.failed == 0
