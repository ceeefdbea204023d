"""The factor model engines against independent computations.

Univariate betas are checked against ``scipy.stats.linregress`` pair by pair, the ridge fit at
``s = 0`` against ``numpy.linalg.lstsq`` with an intercept column, the EWMA covariance against
a hand-written RiskMetrics loop and the Euler contributions against a finite difference of
sigma. The collinear factor data come from the synthetic history (the seven ETF proxies load
mostly on one market factor).
"""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import numpy.typing as npt
import pytest
from scipy import stats

from riskdesk.risk.factors import (
    CAPPED,
    FACTOR_NAMES,
    LIMITED_HISTORY,
    NO_VARIANCE,
    TRADING_DAYS,
    FactorCovariance,
    ewma_covariance,
    factor_returns_from_closes,
    multivariate_betas,
    portfolio_factor_exposures,
    risk_decomposition,
    simple_returns,
    univariate_betas,
)
from riskdesk.risk.history import FACTOR_ETFS, RATE_SYMBOL, last_sessions, synthesize_history

FloatArray = npt.NDArray[np.float64]
STOCKS = ("AAPL", "XOM", "KO", "JPM")


@pytest.fixture(scope="module")
def market() -> tuple[FloatArray, FloatArray]:
    """(factor returns (T, 8), stock returns (T, 4)) from a 400-session synthetic history."""
    sessions = last_sessions(date(2026, 11, 20), 400)
    history = synthesize_history(
        [*FACTOR_ETFS, RATE_SYMBOL, *STOCKS], start=sessions[0], end=sessions[-1], seed=11
    )
    closes: dict[str, list[float]] = {}
    for bar in history.bars:
        closes.setdefault(bar.ticker, []).append(float(bar.close))
    names, factors = factor_returns_from_closes(closes)
    assert names == FACTOR_NAMES
    stocks = simple_returns(np.column_stack([closes[s] for s in STOCKS]))
    return factors, stocks


def _lstsq_with_intercept(y: FloatArray, x: FloatArray) -> tuple[float, FloatArray]:
    design = np.column_stack([np.ones(x.shape[0]), x])
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    return float(coef[0]), np.asarray(coef[1:], dtype=np.float64)


# -- inputs -------------------------------------------------------------------------------------


def test_factor_returns_from_closes_with_yield_uses_point_changes_and_etf_simple_returns() -> None:
    names, f = factor_returns_from_closes(
        {"SPY": [500.0, 510.0, 499.8], "US10Y": [4.0, 4.25, 4.125]},
        factors={"Market": "SPY", "Rates": "US10Y"},
    )
    assert names == ("Market", "Rates")
    np.testing.assert_allclose(f, [[0.02, 0.25], [-0.02, -0.125]], atol=1e-12)


def test_factor_returns_from_closes_with_missing_proxy_raises_naming_it() -> None:
    with pytest.raises(ValueError, match="VTV"):
        factor_returns_from_closes({"SPY": [1.0, 2.0]}, factors={"Market": "SPY", "Value": "VTV"})


# -- univariate ---------------------------------------------------------------------------------


def test_univariate_betas_with_synthetic_history_match_linregress(
    market: tuple[FloatArray, FloatArray],
) -> None:
    factors, stocks = market
    result = univariate_betas(stocks, factors, positions=STOCKS, factors=FACTOR_NAMES)
    y, x = stocks[-150:], factors[-150:]
    for i in range(len(STOCKS)):
        for k in range(len(FACTOR_NAMES)):
            ref = stats.linregress(x[:, k], y[:, i])
            assert result.beta[i, k] == pytest.approx(ref.slope, rel=1e-9, abs=1e-12)
            assert result.alpha[i, k] == pytest.approx(ref.intercept, rel=1e-7, abs=1e-12)
            assert result.r_squared[i, k] == pytest.approx(ref.rvalue**2, rel=1e-8, abs=1e-12)
            assert result.n_obs[i, k] == 150
            assert result.flags(i, k) == ()
    assert result.beta[0, 0] > 0.5  # a stock loads on the market


def test_univariate_betas_with_missing_values_drop_them_pairwise(
    market: tuple[FloatArray, FloatArray],
) -> None:
    factors, stocks = market
    rng = np.random.default_rng(3)
    y = stocks.copy()
    x = factors.copy()
    y[rng.choice(y.shape[0], 40, replace=False), 0] = np.nan
    x[rng.choice(x.shape[0], 25, replace=False), 2] = np.nan
    result = univariate_betas(y, x, window=150)
    yw, xw = y[-150:, 0], x[-150:, 2]
    both = np.isfinite(yw) & np.isfinite(xw)
    ref = stats.linregress(xw[both], yw[both])
    assert result.n_obs[0, 2] == int(both.sum()) < 150
    assert result.beta[0, 2] == pytest.approx(ref.slope, rel=1e-9)
    assert result.r_squared[0, 2] == pytest.approx(ref.rvalue**2, rel=1e-8)
    # the column without gaps in y still uses every row where the factor is present
    assert result.n_obs[1, 2] == int(np.isfinite(xw).sum())


def test_univariate_betas_with_59_then_60_observations_floor_at_min_obs() -> None:
    rng = np.random.default_rng(5)
    f = rng.normal(0.0, 0.01, size=150)
    r = 0.8 * f + rng.normal(0.0, 0.002, size=150)
    short = r.copy()
    short[:-59] = np.nan
    enough = r.copy()
    enough[:-60] = np.nan
    result = univariate_betas(np.column_stack([short, enough]), f)
    assert result.n_obs[:, 0].tolist() == [59, 60]
    assert result.beta[0, 0] == 0.0
    assert result.alpha[0, 0] == 0.0
    assert result.r_squared[0, 0] == 0.0
    assert result.flags(0, 0) == (LIMITED_HISTORY,)
    ref = stats.linregress(f[-60:], r[-60:])
    assert result.beta[1, 0] == pytest.approx(ref.slope, rel=1e-9)
    assert result.flags(1, 0) == ()


def test_univariate_betas_with_steep_returns_cap_at_three_and_flag() -> None:
    rng = np.random.default_rng(8)
    f = rng.normal(0.0, 0.01, size=120)
    noise = rng.normal(0.0, 0.001, size=120)
    r = np.column_stack([5.0 * f + noise, -4.0 * f + noise, 2.9 * f + noise])
    result = univariate_betas(r, f, positions=("up", "down", "inside"))
    assert result.beta[:, 0].tolist()[:2] == [3.0, -3.0]
    assert result.capped[:, 0].tolist() == [True, True, False]
    assert result.flags(0, 0) == (CAPPED,)
    assert 2.8 < result.beta[2, 0] < 3.0
    records = result.records()
    assert records[0] == {
        "position": "up",
        "factor": "factor_0",
        "beta": 3.0,
        "alpha": pytest.approx(result.alpha[0, 0]),
        "r_squared": pytest.approx(result.r_squared[0, 0]),
        "n_obs": 120,
        "flags": [CAPPED],
    }


def test_univariate_betas_with_constant_factor_flag_no_variance() -> None:
    f = np.column_stack([np.full(80, 0.001), np.linspace(-0.01, 0.01, 80)])
    r = np.linspace(-0.02, 0.02, 80)
    result = univariate_betas(r, f)
    assert result.beta[0].tolist() == [0.0, pytest.approx(2.0)]
    assert result.flags(0, 0) == (NO_VARIANCE,)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"window": 50, "min_obs": 60}, "cannot exceed window"),
        ({"window": 2}, "window must be"),
        ({"cap": 0.0}, "cap must be"),
    ],
)
def test_univariate_betas_with_bad_settings_raise_naming_the_rule(
    kwargs: dict[str, float], message: str
) -> None:
    f = np.zeros((100, 1))
    with pytest.raises(ValueError, match=message):
        univariate_betas(f, f, **kwargs)  # type: ignore[arg-type]


def test_univariate_betas_with_misaligned_rows_or_inf_raise() -> None:
    with pytest.raises(ValueError, match="align"):
        univariate_betas(np.zeros((100, 1)), np.zeros((99, 1)))
    bad = np.zeros((100, 1))
    bad[3, 0] = np.inf
    with pytest.raises(ValueError, match="infinite"):
        univariate_betas(bad, np.zeros((100, 1)))


# -- multivariate -------------------------------------------------------------------------------


def test_multivariate_betas_with_zero_shrinkage_equal_lstsq(
    market: tuple[FloatArray, FloatArray],
) -> None:
    factors, stocks = market
    result = multivariate_betas(stocks, factors, shrinkage=0.0)
    x = factors[-150:]
    for i in range(len(STOCKS)):
        alpha, beta = _lstsq_with_intercept(stocks[-150:, i], x)
        np.testing.assert_allclose(result.beta[i], beta, rtol=1e-7, atol=1e-9)
        assert result.alpha[i] == pytest.approx(alpha, abs=1e-10)
        resid = stocks[-150:, i] - alpha - x @ beta
        k = x.shape[1]
        assert result.effective_df[i] == pytest.approx(k)
        assert result.specific_var[i] == pytest.approx(resid @ resid / (150 - 1 - k), rel=1e-8)
        tss = float(((stocks[-150:, i] - stocks[-150:, i].mean()) ** 2).sum())
        assert result.r_squared[i] == pytest.approx(1.0 - resid @ resid / tss, rel=1e-9)


def test_multivariate_betas_with_gaps_fit_each_position_on_its_own_rows(
    market: tuple[FloatArray, FloatArray],
) -> None:
    factors, stocks = market
    y = stocks.copy()
    x = factors.copy()
    y[-30:-20, 1] = np.nan  # a position gap
    x[-5, 3] = np.nan  # a factor gap drops the row for everyone
    result = multivariate_betas(y, x, shrinkage=0.0)
    for i in (0, 1):
        rows = np.isfinite(y[-150:, i]) & np.isfinite(x[-150:]).all(axis=1)
        _, beta = _lstsq_with_intercept(y[-150:, i][rows], x[-150:][rows])
        np.testing.assert_allclose(result.beta[i], beta, rtol=1e-7, atol=1e-9)
        assert result.n_obs[i] == int(rows.sum())
    assert result.n_obs.tolist()[:2] == [149, 139]


def test_multivariate_betas_with_ridge_match_closed_form_on_standardised_factors(
    market: tuple[FloatArray, FloatArray],
) -> None:
    factors, stocks = market
    s = 0.1
    result = multivariate_betas(stocks, factors, shrinkage=s)
    x = factors[-150:]
    y = stocks[-150:, 0]
    n = x.shape[0]
    # objective: sum (y - a - x b)^2 + s n sum_k var(x_k) b_k^2  ->  normal equations
    xc = x - x.mean(axis=0)
    penalty = s * n * np.diag(x.var(axis=0))
    beta = np.linalg.solve(xc.T @ xc + penalty, xc.T @ (y - y.mean()))
    np.testing.assert_allclose(result.beta[0], beta, rtol=1e-8, atol=1e-10)
    assert result.alpha[0] == pytest.approx(y.mean() - x.mean(axis=0) @ beta, abs=1e-12)
    assert 0 < result.effective_df[0] < x.shape[1]
    assert "s=0.1" in result.rule


def test_multivariate_betas_with_collinear_etfs_ridge_stable_where_ols_swings(
    market: tuple[FloatArray, FloatArray],
) -> None:
    factors, stocks = market

    def leave_one_out_changes(shrinkage: float) -> FloatArray:
        base = multivariate_betas(stocks, factors, shrinkage=shrinkage).beta
        changes = []
        for drop in range(factors.shape[0] - 150, factors.shape[0], 3):
            y = stocks.copy()
            y[drop] = np.nan
            changes.append(np.abs(multivariate_betas(y, factors, shrinkage=shrinkage).beta - base))
        return np.asarray(changes)

    ols = leave_one_out_changes(0.0)
    ridge = leave_one_out_changes(0.1)
    assert ridge.mean() < 0.5 * ols.mean()
    assert ridge.max() < 0.6 * ols.max()
    # the ETFs really are collinear (the reason for the ridge)
    corr = np.asarray(np.corrcoef(factors[-150:, :7].T))
    assert corr[0, 1:].min() > 0.75


def test_multivariate_betas_with_simulated_known_loadings_recover_them(
    market: tuple[FloatArray, FloatArray],
) -> None:
    factors, _ = market
    rng = np.random.default_rng(21)
    truth = np.array(
        [[1.2, 0.3, -0.4, 0.2, 0.0, 0.5, -0.3, 0.8], [0.6, -0.2, 0.1, 0.0, 0.4, -0.1, 0.3, -1.5]]
    )
    y = factors @ truth.T + rng.normal(0.0, 0.0005, size=(factors.shape[0], 2))
    ols = multivariate_betas(y, factors, window=399, shrinkage=0.0)
    np.testing.assert_allclose(ols.beta, truth, atol=0.05)
    # uncorrelated factors: the default ridge shrinks by 1 / (1 + s); GCV picks a small s
    independent = rng.normal(0.0, 0.01, size=(400, 3))
    known = np.array([1.1, -0.7, 0.4])
    z = independent @ known + rng.normal(0.0, 0.004, size=400)
    ridge = multivariate_betas(z, independent, window=400)
    np.testing.assert_allclose(ridge.beta[0], known / 1.1, atol=0.03)
    gcv = multivariate_betas(z, independent, window=400, shrinkage="gcv")
    np.testing.assert_allclose(gcv.beta[0], known, atol=0.03)
    assert gcv.shrinkage[0] < 0.01


def test_multivariate_betas_with_short_history_flag_limited_and_keep_variance() -> None:
    rng = np.random.default_rng(2)
    f = rng.normal(0.0, 0.01, size=(150, 2))
    r = rng.normal(0.0, 0.02, size=(150, 2))
    r[:-40, 1] = np.nan
    result = multivariate_betas(r, f)
    assert result.limited_history.tolist() == [False, True]
    assert result.beta[1].tolist() == [0.0, 0.0]
    assert result.specific_var[1] == pytest.approx(np.var(r[-40:, 1], ddof=1))
    assert result.records()[1]["flags"] == [LIMITED_HISTORY]


@pytest.mark.parametrize("shrinkage", [-0.1, float("nan"), "loo"])
def test_multivariate_betas_with_bad_shrinkage_raise(shrinkage: object) -> None:
    f = np.zeros((100, 1))
    with pytest.raises(ValueError, match="shrinkage"):
        multivariate_betas(f, f, shrinkage=shrinkage)  # type: ignore[arg-type]


# -- EWMA covariance ----------------------------------------------------------------------------


def _ewma_loop(rows: FloatArray, lam: float) -> FloatArray:
    k = rows.shape[1]
    s = np.zeros((k, k))
    for r in rows:
        s = lam * s + (1.0 - lam) * np.outer(r, r)
    out: FloatArray = s / (1.0 - lam ** rows.shape[0])
    return out


def test_ewma_covariance_with_synthetic_factors_matches_hand_loop(
    market: tuple[FloatArray, FloatArray],
) -> None:
    factors, _ = market
    result = ewma_covariance(factors, factors=FACTOR_NAMES)
    expected = _ewma_loop(factors, 0.94)
    np.testing.assert_allclose(result.covariance, expected, rtol=1e-10, atol=1e-18)
    vol = np.sqrt(np.diag(expected))
    np.testing.assert_allclose(result.correlation, expected / np.outer(vol, vol), atol=1e-12)
    np.testing.assert_allclose(result.volatility, vol)
    assert result.n_obs == factors.shape[0]
    assert result.annualised_volatility()[0] == pytest.approx(vol[0] * math.sqrt(TRADING_DAYS))
    assert result.correlation[0, 1] > 0.7  # SPY and VTV


def test_ewma_covariance_with_missing_row_and_demean_match_hand_loop() -> None:
    rng = np.random.default_rng(4)
    x = rng.normal(0.001, 0.01, size=(60, 3))
    x[10, 1] = np.nan
    lam = 0.9
    result = ewma_covariance(x, lam, demean=True)
    rows = np.delete(x, 10, axis=0)
    n = rows.shape[0]
    weights = np.array([(1 - lam) * lam ** (n - 1 - t) for t in range(n)]) / (1 - lam**n)
    centred = rows - weights @ rows
    np.testing.assert_allclose(result.covariance, _ewma_loop(centred, lam), rtol=1e-10)
    assert result.n_obs == 59
    assert result.demeaned


def test_ewma_covariance_with_bad_lambda_or_one_row_raise() -> None:
    with pytest.raises(ValueError, match="lam"):
        ewma_covariance(np.zeros((10, 2)), 1.0)
    with pytest.raises(ValueError, match="at least 2"):
        ewma_covariance(np.zeros((1, 2)))


# -- exposures and decomposition ----------------------------------------------------------------


def test_portfolio_factor_exposures_with_hand_book_sum_dollar_betas() -> None:
    betas = np.array([[1.0, 0.5], [1.5, -0.2], [0.8, 0.0]])
    exposure = [10_000.0, -4_000.0, 6_000.0]
    result = portfolio_factor_exposures(exposure, betas, factors=("Market", "Value"))
    # Market: 10000 + (-6000) + 4800 = 8800; Value: 5000 + 800 + 0 = 5800; gross 20000
    np.testing.assert_allclose(result.dollar_exposure, [8_800.0, 5_800.0])
    np.testing.assert_allclose(result.beta, [0.44, 0.29])
    assert result.base_kind == "gross"
    assert result.base == 20_000.0
    with_capital = portfolio_factor_exposures(exposure, betas, capital=11_000.0)
    np.testing.assert_allclose(with_capital.beta, [0.8, 5_800.0 / 11_000.0])


def test_portfolio_factor_exposures_with_mismatched_rows_raise() -> None:
    with pytest.raises(ValueError, match="2 position exposures for 3 rows"):
        portfolio_factor_exposures([1.0, 2.0], np.ones((3, 2)))


def _sigma(b: FloatArray, cov: FloatArray, specific: float) -> float:
    return math.sqrt(float(b @ cov @ b) + specific)


def test_risk_decomposition_with_factor_model_sums_and_matches_finite_difference(
    market: tuple[FloatArray, FloatArray],
) -> None:
    factors, stocks = market
    fit = multivariate_betas(stocks, factors, positions=STOCKS, factors=FACTOR_NAMES)
    cov = ewma_covariance(factors, factors=FACTOR_NAMES)
    exposure = np.array([250_000.0, -120_000.0, 80_000.0, 40_000.0])
    book = portfolio_factor_exposures(exposure, fit)
    result = risk_decomposition(book, cov, fit.specific_var)
    b = book.dollar_exposure
    specific = float(np.sum(exposure**2 * fit.specific_var))
    sigma = _sigma(b, cov.covariance, specific)
    assert result.total_volatility == pytest.approx(sigma, rel=1e-12)
    assert result.specific_variance == pytest.approx(specific, rel=1e-12)
    assert result.contribution.sum() == pytest.approx(result.factor_variance / sigma, rel=1e-10)
    total = result.contribution.sum() + result.specific_contribution
    assert total == pytest.approx(sigma, rel=1e-12)
    assert result.percent.sum() + result.specific_percent == pytest.approx(100.0)
    assert result.percent.sum() == pytest.approx(result.factor_percent)
    for k in range(len(FACTOR_NAMES)):
        h = 1e-3 * max(abs(b[k]), 1.0)
        up, down = b.copy(), b.copy()
        up[k] += h
        down[k] -= h
        derivative = (
            _sigma(up, cov.covariance, specific) - _sigma(down, cov.covariance, specific)
        ) / (2 * h)
        assert result.marginal[k] == pytest.approx(derivative, rel=1e-6, abs=1e-12)
        assert result.contribution[k] == pytest.approx(b[k] * derivative, rel=1e-6, abs=1e-9)
    annual = math.sqrt(TRADING_DAYS)
    assert result.annual_total_volatility == pytest.approx(sigma * annual)
    np.testing.assert_allclose(result.annual_contribution, result.contribution * annual)


def test_risk_decomposition_with_one_factor_by_hand() -> None:
    book = portfolio_factor_exposures([100.0, 100.0], [[1.0], [0.5]])
    # b = 150, S = 0.0004 -> factor var 9; specific 100^2 (1e-4 + 3e-4) = 4 -> total 13
    result = risk_decomposition(book, [[0.0004]], [0.0001, 0.0003])
    assert result.total_variance == pytest.approx(13.0)
    assert result.factor_percent == pytest.approx(900.0 / 13.0)
    assert result.contribution[0] == pytest.approx(9.0 / math.sqrt(13.0))
    np.testing.assert_allclose(result.position_specific_variance, [1.0, 3.0])


def test_risk_decomposition_with_unfitted_exposed_position_raises_naming_it() -> None:
    book = portfolio_factor_exposures(
        [100.0, 0.0, 50.0], np.ones((3, 1)), positions=("A", "B", "C")
    )
    # B has no exposure, so its missing variance is fine; C's is not
    with pytest.raises(ValueError, match=r"\['C'\]"):
        risk_decomposition(book, [[0.0001]], [0.0001, np.nan, np.nan])


def test_risk_decomposition_with_other_factor_order_raises() -> None:
    book = portfolio_factor_exposures([1.0], [[1.0, 1.0]], factors=("Market", "Value"))
    cov = FactorCovariance(
        factors=("Value", "Market"),
        covariance=np.eye(2),
        correlation=np.eye(2),
        volatility=np.ones(2),
        lam=0.94,
        n_obs=10,
        demeaned=False,
    )
    with pytest.raises(ValueError, match="differ"):
        risk_decomposition(book, cov, [0.0])


def test_factors_module_with_docstring_examples_hold() -> None:
    import doctest

    import riskdesk.risk.factors as module

    outcome = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert outcome.attempted > 0
    assert outcome.failed == 0
