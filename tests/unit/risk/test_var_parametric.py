"""Delta-gamma-normal and Monte Carlo VaR against closed forms and brute force."""

from datetime import UTC, date, datetime
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from riskdesk.domain.instruments import ExerciseStyle, OptionContract, OptionRight, Stock
from riskdesk.risk.marks import Marks, value_book
from riskdesk.risk.positions import BookPosition
from riskdesk.risk.var import delta_gamma_inputs, delta_gamma_normal_var, monte_carlo_var

WHEN = datetime(2026, 11, 20, 21, 0, tzinfo=UTC)
ENTRY = date(2026, 9, 1)


def _stock(symbol: str, qty: int) -> BookPosition:
    return BookPosition(symbol, Stock(symbol), Decimal(qty), Decimal("10"), ENTRY)


def _call(underlying: str, strike: str, qty: int) -> BookPosition:
    contract = OptionContract(
        underlying=underlying,
        expiry=date(2026, 12, 31),
        strike=Decimal(strike),
        right=OptionRight.CALL,
        style=ExerciseStyle.EUROPEAN,
    )
    return BookPosition(f"{underlying} C{strike}", contract, Decimal(qty), Decimal("1"), ENTRY)


def test_delta_gamma_normal_var_with_zero_gamma_equals_normal_closed_form() -> None:
    d = np.array([1_000_000.0, -400_000.0])
    cov = np.array([[1.0e-4, 0.3e-4], [0.3e-4, 2.25e-4]])

    out = delta_gamma_normal_var(d, np.zeros(2), cov)

    sigma_1d = float(np.sqrt(d @ cov @ d))
    for h in (1, 10):
        assert out.mean[h] == 0.0
        assert out.std[h] == pytest.approx(sigma_1d * np.sqrt(h), rel=1e-12)
        for c in (0.95, 0.99):
            z = stats.norm.ppf(c)
            fig = out.figure(c, h)
            assert fig.var == pytest.approx(z * sigma_1d * np.sqrt(h), rel=1e-12)
            assert fig.es == pytest.approx(
                sigma_1d * np.sqrt(h) * stats.norm.pdf(z) / (1 - c), rel=1e-12
            )


def test_delta_gamma_normal_var_with_gamma_matches_moments_of_simulated_quadratic() -> None:
    d = np.array([50_000.0, -20_000.0, 10_000.0])
    gamma = np.array(
        [[4.0e6, 1.0e6, 0.0], [1.0e6, -2.0e6, 0.5e6], [0.0, 0.5e6, 3.0e6]]
    )  # symmetric, indefinite
    vol = np.array([0.02, 0.015, 0.03])
    corr = np.array([[1.0, 0.5, 0.2], [0.5, 1.0, 0.3], [0.2, 0.3, 1.0]])
    cov = corr * np.outer(vol, vol)
    n = 400_000
    x = np.random.default_rng(3).multivariate_normal(np.zeros(3), cov * 10, size=n)

    out = delta_gamma_normal_var(d, gamma, cov, horizon_days=(10,), confidence=(0.99,))

    pnl = x @ d + 0.5 * np.einsum("ni,ij,nj->n", x, gamma, x)
    sd = pnl.std()
    # standard errors: sd / sqrt(n) for the mean, about sd * sqrt((kurt - 1) / 4n) for the sd
    assert out.mean[10] == pytest.approx(pnl.mean(), abs=5 * sd / np.sqrt(n))
    kurt = stats.kurtosis(pnl, fisher=False)
    assert out.std[10] == pytest.approx(sd, abs=5 * sd * np.sqrt((kurt - 1) / (4 * n)))
    mu = 0.5 * np.trace(gamma @ cov * 10)
    assert out.figure(0.99, 10).var == pytest.approx(-mu + stats.norm.ppf(0.99) * out.std[10])


def test_delta_gamma_normal_var_with_diagonal_vector_equals_diagonal_matrix() -> None:
    d = np.array([1e5, 2e5])
    g = np.array([3e6, -1e6])
    cov = np.array([[4e-4, 1e-4], [1e-4, 2e-4]])

    vector = delta_gamma_normal_var(d, g, cov)
    matrix = delta_gamma_normal_var(d, np.diag(g), cov)

    assert vector.figures == matrix.figures


@pytest.mark.parametrize(
    ("d", "g", "cov", "message"),
    [
        ([1.0], [0.0], [[1.0, 0.0]], "cov must have shape"),
        ([1.0, 2.0], [[0.0, 1.0], [0.0, 0.0]], np.eye(2), "gamma_dollars must be symmetric"),
        ([[1.0]], [0.0], [[1.0]], "delta_dollars must be a vector"),
        ([np.nan], [0.0], [[1.0]], "delta_dollars must be finite"),
        ([1.0, 1.0], [0.0, 0.0], [[1.0, 0.0], [0.5, 1.0]], "cov must be symmetric"),
    ],
)
def test_delta_gamma_normal_var_with_bad_inputs_raises(
    d: object, g: object, cov: object, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        delta_gamma_normal_var(d, g, cov)  # type: ignore[arg-type]


def test_delta_gamma_inputs_with_options_sum_dollar_greeks_per_underlying() -> None:
    book = [_stock("AAA", 100), _call("AAA", "100", 2), _stock("BBB", -50)]
    marks = Marks(WHEN, spots={"AAA": 100.0, "BBB": 40.0}, vols={"AAA": 0.3})

    inputs = delta_gamma_inputs(book, marks)

    base = value_book(book, marks)
    assert inputs.underlyings == ("AAA", "BBB")
    assert inputs.delta_dollars[0] == pytest.approx(100 * 100.0 + base.delta[1] * 100.0)
    assert inputs.delta_dollars[1] == pytest.approx(-50 * 40.0)
    assert inputs.gamma_dollars[0] == pytest.approx(base.gamma[1] * 100.0**2)
    assert inputs.gamma_dollars[1] == 0.0
    assert inputs.excluded == ()


def _quantile_se(c: float, n: int, density: float) -> float:
    """Asymptotic standard error of an empirical c-quantile: sqrt(c(1-c)/n) / f(q)."""
    return float(np.sqrt(c * (1 - c) / n) / density)


def test_monte_carlo_var_with_single_stock_converges_to_lognormal_closed_form() -> None:
    book = [_stock("AAA", 1000)]
    marks = Marks(WHEN, spots={"AAA": 100.0})
    betas = pd.DataFrame({"mkt": [1.2], "val": [0.3]}, index=["AAA"])
    factor_cov = np.array([[1.0e-4, 0.2e-4], [0.2e-4, 0.5e-4]])
    spec = {"AAA": 0.01}
    n = 20_000

    out = monte_carlo_var(book, marks, betas, factor_cov, spec, n_paths=n, seed=2026)

    b = betas.loc["AAA"].to_numpy()
    sigma = float(np.sqrt(b @ factor_cov @ b + 0.01**2))
    value = 1000 * 100.0
    for h in (1, 10):
        s_h = sigma * np.sqrt(h)
        for c in (0.95, 0.99):
            z = stats.norm.ppf(c)
            closed = value * (1 - np.exp(-z * s_h))  # loss quantile of V (e^r - 1), r ~ N(0, s_h^2)
            # loss = V (1 - e^r): density of the loss at the quantile is phi(z) / (s_h V e^-z s_h)
            density = stats.norm.pdf(z) / (s_h * value * np.exp(-z * s_h))
            tolerance = 4 * _quantile_se(c, n, density)
            assert out.figure(c, h).var == pytest.approx(closed, abs=tolerance)
    assert out.n_scenarios == {1: n, 10: n}
    assert out.method == "monte_carlo"


def test_monte_carlo_var_with_linear_two_stock_book_converges_to_delta_normal() -> None:
    book = [_stock("AAA", 500), _stock("BBB", -300)]
    marks = Marks(WHEN, spots={"AAA": 100.0, "BBB": 80.0})
    betas = {"AAA": [1.0, 0.2], "BBB": [0.8, -0.4]}
    factor_cov = np.array([[1.0e-4, 0.0], [0.0, 0.3e-4]])
    spec = pd.Series({"AAA": 0.008, "BBB": 0.012})
    n = 20_000

    out = monte_carlo_var(
        book, marks, betas, factor_cov, spec, n_paths=n, seed=1, horizon_days=(1,)
    )

    loadings = np.array([betas["AAA"], betas["BBB"]])
    cov = loadings @ factor_cov @ loadings.T + np.diag(spec.to_numpy() ** 2)
    d = np.array([500 * 100.0, -300 * 80.0])
    closed = delta_gamma_normal_var(d, np.zeros(2), cov, horizon_days=(1,))
    sd = closed.std[1]
    for c in (0.95, 0.99):
        density = stats.norm.pdf(stats.norm.ppf(c)) / sd
        # sampling error plus the exp(r) - 1 vs r convexity (about sd * s / 2, s ~ 1.5%)
        tolerance = 4 * _quantile_se(c, n, density) + 0.02 * sd
        assert out.figure(c, 1).var == pytest.approx(closed.figure(c, 1).var, abs=tolerance)


def test_monte_carlo_var_with_same_seed_is_deterministic_and_excludes_unmodelled() -> None:
    book = [_stock("AAA", 10), _call("AAA", "105", 1), _stock("CCC", 3)]
    marks = Marks(WHEN, spots={"AAA": 100.0, "CCC": 10.0}, vols={"AAA": 0.25})
    betas = {"AAA": [1.0]}
    kwargs = {"n_paths": 500, "horizon_days": (1, 10)}

    first = monte_carlo_var(book, marks, betas, [[1e-4]], {"AAA": 0.01}, seed=9, **kwargs)  # type: ignore[arg-type]
    again = monte_carlo_var(book, marks, betas, [[1e-4]], {"AAA": 0.01}, seed=9, **kwargs)  # type: ignore[arg-type]
    other = monte_carlo_var(book, marks, betas, [[1e-4]], {"AAA": 0.01}, seed=10, **kwargs)  # type: ignore[arg-type]

    np.testing.assert_array_equal(first.pnl[1], again.pnl[1])
    np.testing.assert_array_equal(first.pnl[10], again.pnl[10])
    assert first.figures == again.figures
    assert not np.array_equal(first.pnl[1], other.pnl[1])
    assert [(e.index, e.reason) for e in first.excluded] == [(2, "no_factor_model")]


def test_monte_carlo_var_with_indefinite_factor_cov_raises() -> None:
    book = [_stock("AAA", 1)]
    marks = Marks(WHEN, spots={"AAA": 100.0})

    with pytest.raises(ValueError, match="positive semidefinite"):
        monte_carlo_var(
            book, marks, {"AAA": [1.0, 1.0]}, [[1e-4, 2e-4], [2e-4, 1e-4]], {"AAA": 0.01}, seed=0
        )
