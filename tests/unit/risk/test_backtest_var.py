"""Kupiec and Christoffersen VaR backtests against direct computations."""

import math

import numpy as np
import pytest
from scipy import stats

from riskdesk.risk.backtest import (
    christoffersen,
    kupiec_pof,
    rolling_historical_var,
    var_backtest,
)


def _direct_kupiec(x: int, n: int, p: float) -> float:
    rate = x / n
    return -2 * ((n - x) * math.log(1 - p) + x * math.log(p)) + 2 * (
        (n - x) * math.log(1 - rate) + x * math.log(rate)
    )


@pytest.mark.parametrize(("x", "n", "p"), [(1, 250, 0.01), (5, 250, 0.01), (30, 500, 0.05)])
def test_kupiec_pof_with_interior_counts_matches_direct_likelihood_ratio(
    x: int, n: int, p: float
) -> None:
    result = kupiec_pof(x, n, p)

    lr = _direct_kupiec(x, n, p)
    assert result.lr == pytest.approx(lr, rel=1e-12)
    assert result.p_value == pytest.approx(stats.chi2.sf(lr, 1), rel=1e-12)
    assert result.observed_rate == x / n


def test_kupiec_pof_with_jorion_250_day_99_percent_bounds_rejects_from_seven() -> None:
    six = kupiec_pof(6, 250, 0.01)
    seven = kupiec_pof(7, 250, 0.01)

    assert six.lr == pytest.approx(3.55, abs=0.01)
    assert not six.rejects(0.05)
    assert seven.lr == pytest.approx(5.50, abs=0.01)
    assert seven.rejects(0.05)
    assert seven.lr > stats.chi2.ppf(0.95, 1) > six.lr


def test_kupiec_pof_with_zero_and_all_exceptions_uses_limit_not_nan() -> None:
    none = kupiec_pof(0, 250, 0.01)
    every = kupiec_pof(250, 250, 0.01)

    assert none.lr == pytest.approx(-2 * 250 * math.log(0.99), rel=1e-12)
    assert none.p_value == pytest.approx(stats.chi2.sf(none.lr, 1), rel=1e-12)
    assert every.lr == pytest.approx(-2 * 250 * math.log(0.01), rel=1e-12)
    assert every.p_value < 1e-100


def test_kupiec_pof_with_exact_expected_rate_is_zero_with_p_value_one() -> None:
    result = kupiec_pof(5, 500, 0.01)

    assert result.lr == 0.0
    assert result.p_value == 1.0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((3, 2, 0.01), "exceptions must be in"),
        ((-1, 10, 0.01), "exceptions must be in"),
        ((0, 0, 0.01), "n \\(days tested\\)"),
        ((1, 10, 1.0), "p \\(the expected exception rate\\)"),
        ((1.5, 10, 0.01), "exceptions must be an integer"),
    ],
)
def test_kupiec_pof_with_bad_arguments_raises(args: tuple[object, ...], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        kupiec_pof(*args)  # type: ignore[arg-type]


def test_christoffersen_with_hand_built_series_matches_transition_counts_and_lr() -> None:
    #         0  1  2  3  4  5  6  7  8  9 10 11 12 13
    series = [0, 0, 1, 1, 0, 0, 0, 1, 0, 1, 1, 1, 0, 0]
    # transitions: 0->0 at (0,1) (4,5) (5,6) (12,13) = 4; 0->1 at (1,2) (6,7) (8,9) = 3
    #              1->0 at (3,4) (7,8) (11,12) = 3;      1->1 at (2,3) (9,10) (10,11) = 3
    p = 0.1

    result = christoffersen(series, p)

    assert (result.n00, result.n01, result.n10, result.n11) == (4, 3, 3, 3)
    pi0, pi1, pi = 3 / 7, 3 / 6, 6 / 13
    restricted = 7 * math.log(1 - pi) + 6 * math.log(pi)
    free = 4 * math.log(1 - pi0) + 3 * math.log(pi0) + 3 * math.log(1 - pi1) + 3 * math.log(pi1)
    lr_ind = -2 * (restricted - free)
    lr_pof = _direct_kupiec(6, 14, p)  # exceptions on days 2, 3, 7, 9, 10, 11
    assert result.pi0 == pytest.approx(pi0)
    assert result.pi1 == pytest.approx(pi1)
    assert result.lr_ind == pytest.approx(lr_ind, rel=1e-12)
    assert result.p_value_ind == pytest.approx(stats.chi2.sf(lr_ind, 1), rel=1e-12)
    assert result.lr_pof == pytest.approx(lr_pof, rel=1e-12)
    assert result.lr_cc == pytest.approx(lr_pof + lr_ind, rel=1e-12)
    assert result.p_value_cc == pytest.approx(stats.chi2.sf(lr_pof + lr_ind, 2), rel=1e-12)


def test_christoffersen_with_clustered_exceptions_rejects_independence() -> None:
    series = np.zeros(500, dtype=bool)
    series[100:105] = True  # five exceptions in a row: right count for 1%, but clustered

    result = christoffersen(series, 0.01)

    assert not kupiec_pof(5, 500, 0.01).rejects()
    assert result.rejects_independence()
    assert result.rejects_conditional_coverage()


def test_christoffersen_with_no_exceptions_gives_zero_independence_statistic() -> None:
    result = christoffersen(np.zeros(250, dtype=bool), 0.01)

    assert (result.n00, result.n01, result.n10, result.n11) == (249, 0, 0, 0)
    assert result.pi1 is None
    assert result.lr_ind == 0.0
    assert result.p_value_ind == 1.0
    assert result.lr_cc == pytest.approx(-2 * 250 * math.log(0.99), rel=1e-12)


def test_christoffersen_with_all_exceptions_gives_zero_independence_statistic() -> None:
    result = christoffersen([1] * 20, 0.05)

    assert (result.n00, result.n01, result.n10, result.n11) == (0, 0, 0, 19)
    assert result.pi0 is None
    assert result.pi1 == 1.0
    assert result.lr_ind == 0.0
    assert math.isfinite(result.lr_cc)


def test_christoffersen_with_only_exception_on_last_day_has_no_transition_from_it() -> None:
    series = [0] * 9 + [1]

    result = christoffersen(series, 0.1)

    assert (result.n00, result.n01, result.n10, result.n11) == (8, 1, 0, 0)
    assert result.pi1 is None
    # pi0 = pi = 1/9: the unrestricted and restricted likelihoods coincide
    assert result.lr_ind == pytest.approx(0.0, abs=1e-12)
    assert math.isfinite(result.p_value_cc)


@pytest.mark.parametrize(
    ("series", "message"),
    [([1], "at least 2 days"), ([0, 2], "booleans or 0/1"), ([[0, 1]], "one-dimensional")],
)
def test_christoffersen_with_bad_series_raises(series: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        christoffersen(series, 0.01)  # type: ignore[arg-type]


def test_var_backtest_with_hand_series_counts_strict_exceptions_and_skips_nan() -> None:
    pnl = [np.nan, -5.0, -10.0, -10.5, 3.0, -20.0, 1.0]
    var = [10.0, np.nan, 10.0, 10.0, 10.0, 10.0, 10.0]

    result = var_backtest(pnl, var, 0.05)

    # used days: -10.0 (equal to -VaR: not an exception), -10.5 (yes), 3, -20 (yes), 1
    assert result.n == 5
    assert result.skipped == 2
    assert result.exceptions == 2
    assert result.exception_series.tolist() == [False, True, False, True, False]
    assert result.kupiec.lr == pytest.approx(_direct_kupiec(2, 5, 0.05), rel=1e-12)
    assert (result.christoffersen.n01, result.christoffersen.n10) == (2, 2)


def test_var_backtest_with_mismatched_lengths_raises() -> None:
    with pytest.raises(ValueError, match="same length"):
        var_backtest([1.0, 2.0, 3.0], [1.0, 2.0], 0.01)


def test_rolling_historical_var_with_iid_normal_pnl_matches_loop_and_passes_backtest() -> None:
    pnl = np.random.default_rng(5).normal(0.0, 1000.0, 1250)
    window = 250

    var = rolling_historical_var(pnl, window=window, confidence=0.99)

    assert np.all(np.isnan(var[:window]))
    for t in (window, 600, 1249):
        assert var[t] == pytest.approx(np.quantile(-pnl[t - window : t], 0.99), rel=1e-12)
    result = var_backtest(pnl, var, 0.01)
    assert result.n == 1000
    assert result.skipped == window
    assert not result.kupiec.rejects(0.01)
    assert not result.christoffersen.rejects_conditional_coverage(0.01)


def test_rolling_historical_var_with_understated_var_is_rejected() -> None:
    pnl = np.random.default_rng(6).normal(0.0, 1000.0, 750)
    honest = rolling_historical_var(pnl, window=250, confidence=0.99)

    result = var_backtest(pnl, honest * 0.5, 0.01)

    assert result.kupiec.rejects(0.01)
    assert result.exceptions > 20
