"""American engines: Bjerksund-Stensland 2002, ALO (QD+ / Newton FP-A), lattices, helpers."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path
from types import ModuleType

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import ndtr

from riskdesk.pricing._american import ENGINES, american_price, crr_price
from riskdesk.pricing._american_binomial import FALLBACK_STEPS, bbsr_put_scalar
from riskdesk.pricing._american_math import bvn_cdf, norm_cdf_pdf, zero_vol_put
from riskdesk.pricing._european import bsm_price_scalar


def _load_reference() -> ModuleType:
    path = Path(__file__).resolve().parents[2] / "reference" / "american_ref.py"
    spec = importlib.util.spec_from_file_location("american_ref", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


ref = _load_reference()

BOTH = tuple(ENGINES)
K100 = 100.0


def arrays(*columns: object) -> list[np.ndarray]:
    return [np.ascontiguousarray(np.atleast_1d(np.asarray(c, dtype=np.float64))) for c in columns]


def calls(flags: object) -> np.ndarray:
    return np.ascontiguousarray(np.atleast_1d(np.asarray(flags, dtype=bool)))


def european(S, K, T, r, q, sigma, is_call) -> np.ndarray:  # type: ignore[no-untyped-def]
    return np.array([bsm_price_scalar(*a) for a in zip(S, K, T, r, q, sigma, is_call, strict=True)])


def random_book(seed: int, n: int) -> dict[str, np.ndarray]:
    """The accuracy domain of the brief: S 50-150, K 100, T 1 day-5y, r, q 0-10%, vol 5-100%."""
    rng = np.random.default_rng(seed)
    days = rng.integers(1, 5 * 365 + 1, n)
    return {
        "S": rng.uniform(50.0, 150.0, n),
        "K": np.full(n, K100),
        "days": days,
        "T": days / 365.0,
        "r": rng.uniform(0.0, 0.1, n),
        "q": rng.uniform(0.0, 0.1, n),
        "sigma": rng.uniform(0.05, 1.0, n),
        "is_call": rng.random(n) < 0.5,
    }


def price_book(book: dict[str, np.ndarray], engine: str) -> np.ndarray:
    keys = ("S", "K", "T", "r", "q", "sigma")
    return american_price(
        *(np.ascontiguousarray(book[k]) for k in keys),
        np.ascontiguousarray(book["is_call"]),
        engine,
    )


# --- helpers -------------------------------------------------------------------------------


def test_bvn_cdf_with_random_arguments_matches_owens_t_formula() -> None:
    rng = np.random.default_rng(1)
    a, b = rng.uniform(-7.0, 7.0, (2, 3000))
    rho = rng.uniform(-0.999, 0.999, 3000)

    got = np.array([bvn_cdf(x, y, r) for x, y, r in zip(a, b, rho, strict=True)])
    want = np.array([ref.bvn_reference(x, y, r) for x, y, r in zip(a, b, rho, strict=True)])

    assert np.max(np.abs(got - want)) < 1e-14


def test_bvn_cdf_with_correlation_near_one_matches_mpmath() -> None:
    mpmath.mp.dps = 30
    cases = [(0.3, -0.2, 0.9999), (1.5, 1.2, -0.97), (-2.0, 0.5, 0.95), (5.8, 1.14, 0.9991)]

    for a, b, rho in cases:
        s = mpmath.sqrt(1 - mpmath.mpf(rho) ** 2)
        kink = b / rho
        pts = sorted({-mpmath.inf, a, *([kink] if kink < a else [])})
        want = mpmath.quad(
            lambda x, b=b, rho=rho, s=s: mpmath.npdf(x) * mpmath.ncdf((b - rho * x) / s), pts
        )

        assert abs(bvn_cdf(a, b, rho) - float(want)) < 1e-14


def test_bvn_cdf_with_infinite_limit_reduces_to_marginal() -> None:
    assert bvn_cdf(math.inf, 0.3, 0.5) == pytest.approx(float(ndtr(0.3)), abs=2e-16)
    assert bvn_cdf(-math.inf, 0.3, 0.5) == 0.0
    assert bvn_cdf(1.0, math.inf, -0.5) == pytest.approx(float(ndtr(1.0)), abs=2e-16)


def test_norm_cdf_pdf_with_wide_range_matches_scipy() -> None:
    x = np.concatenate(
        [np.linspace(-40.0, 40.0, 40001), np.random.default_rng(2).normal(0, 4, 20000)]
    )

    cdf = np.array([norm_cdf_pdf(v)[0] for v in x])
    pdf = np.array([norm_cdf_pdf(v)[1] for v in x])

    assert np.max(np.abs(cdf - ndtr(x))) < 5e-16
    assert np.allclose(pdf, np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi), rtol=1e-14, atol=0)


def test_zero_vol_put_with_interior_optimum_matches_dense_search() -> None:
    S, K, T, r, q = 95.0, 100.0, 3.0, 0.08, 0.03
    grid = np.linspace(0.0, T, 300001)

    best = np.max(np.maximum(K * np.exp(-r * grid) - S * np.exp(-q * grid), 0.0))

    assert zero_vol_put(S, K, T, r, q) == pytest.approx(best, abs=1e-9)


# --- Bjerksund-Stensland 2002 --------------------------------------------------------------

# Haug (2007), The Complete Guide to Option Pricing Formulas, 2nd ed., Bjerksund-Stensland
# (2002) call values: K = 100, r = 0.1, b = 0 (q = r), S = 90 / 100 / 110.
HAUG_BS2002 = {
    (0.1, 0.15): (0.0205, 1.8757, 10.0000),
    (0.1, 0.25): (0.3151, 3.1256, 10.3725),
    (0.1, 0.35): (0.9479, 4.3746, 11.1578),
    (0.5, 0.15): (0.8099, 4.0628, 10.7898),
    (0.5, 0.25): (2.7180, 6.7661, 12.9814),
    (0.5, 0.35): (4.9665, 9.4608, 15.5137),
}


@pytest.mark.parametrize(("T", "sigma"), list(HAUG_BS2002))
def test_bs2002_with_haug_table_inputs_matches_published_values(T: float, sigma: float) -> None:
    S, K, TT, r, q, v = arrays([90.0, 100.0, 110.0], K100, T, 0.1, 0.1, sigma)
    K, TT, r, q, v = (np.full(3, x[0]) for x in (K, TT, r, q, v))

    got = american_price(S, K, TT, r, q, v, calls([True] * 3), "bjerksund_stensland_2002")

    assert np.max(np.abs(got - np.array(HAUG_BS2002[(T, sigma)]))) <= 5e-5


def test_bs2002_with_random_inputs_matches_naive_scipy_formula() -> None:
    rng = np.random.default_rng(3)
    n = 200
    S, T = rng.uniform(50, 150, n), rng.uniform(0.01, 5.0, n)
    r, q = rng.uniform(0.0, 0.12, n), rng.uniform(0.001, 0.12, n)
    sigma, is_call = rng.uniform(0.08, 1.0, n), rng.random(n) < 0.5

    got = american_price(S, np.full(n, K100), T, r, q, sigma, is_call, "bjerksund_stensland_2002")
    want = np.array(
        [
            ref.bs2002_reference(*a)
            for a in zip(S, np.full(n, K100), T, r, q, sigma, is_call, strict=True)
        ]
    )

    # The formula adds power-weighted bivariate probabilities ((I/S)^kappa M(...), kappa ~ 10)
    # whose double-precision cancellation costs ~1e-8 in both implementations (mpmath at 40
    # digits puts the worst case here between them).
    assert np.max(np.abs(got - want)) < 2e-8


def test_bs2002_with_put_equals_transformed_call() -> None:
    S, K, T, r, q, v = arrays(90.0, 105.0, 0.75, 0.06, 0.02, 0.3)

    put = american_price(S, K, T, r, q, v, calls(False), "bjerksund_stensland_2002")
    call = american_price(K, S, T, q, r, v, calls(True), "bjerksund_stensland_2002")

    assert put[0] == call[0]


# --- ALO -----------------------------------------------------------------------------------


def test_alo_with_random_book_within_1e5_per_100_strike_of_quantlib_high_precision() -> None:
    book = random_book(seed=12345, n=300)

    got = price_book(book, "alo_qdplus")
    want = np.array(
        [
            ref.quantlib_american(S, K, int(d), r, q, v, bool(c))
            for S, K, d, r, q, v, c in zip(
                book["S"],
                book["K"],
                book["days"],
                book["r"],
                book["q"],
                book["sigma"],
                book["is_call"],
                strict=True,
            )
        ]
    )

    assert np.max(np.abs(got - want) / (book["K"] / 100.0)) < 1e-5


def _binomial_check(seed: int, n: int) -> None:
    book = random_book(seed=seed, n=n)

    got = price_book(book, "alo_qdplus")
    want = np.array(
        [
            ref.bbsr_reference(S, K, T, r, q, v, bool(c), 20000)
            for S, K, T, r, q, v, c in zip(
                book["S"],
                book["K"],
                book["T"],
                book["r"],
                book["q"],
                book["sigma"],
                book["is_call"],
                strict=True,
            )
        ]
    )

    # the 20,000-step extrapolated lattice is itself only good to ~1e-5 of strike
    assert np.max(np.abs(got - want)) < 2.5e-5


def test_alo_with_few_cases_agrees_with_richardson_binomial() -> None:
    _binomial_check(seed=21, n=4)


@pytest.mark.slow
def test_alo_with_random_book_agrees_with_richardson_binomial() -> None:
    _binomial_check(seed=22, n=24)


def test_alo_with_low_volatility_is_close_to_quantlib() -> None:
    cases = [
        (100.0, 365, 0.05, 0.0, 0.01),
        (100.0, 365, 0.05, 0.03, 0.02),
        (100.0, 3650, 0.05, 0.0, 0.01),
        (102.0, 365, 0.05, 0.0, 0.02),
        (100.0, 90, 0.1, 0.0, 0.005),
    ]

    for S, days, r, q, v in cases:
        a = arrays(S, K100, days / 365.0, r, q, v)
        got = american_price(*a, calls(False), "alo_qdplus")[0]

        assert got == pytest.approx(ref.quantlib_american(S, K100, days, r, q, v, False), abs=1e-3)


# --- properties shared by both engines -----------------------------------------------------


@pytest.mark.parametrize("engine", BOTH)
def test_american_with_random_book_is_at_least_european_and_intrinsic(engine: str) -> None:
    book = random_book(seed=7, n=400)

    got = price_book(book, engine)
    euro = european(
        book["S"], book["K"], book["T"], book["r"], book["q"], book["sigma"], book["is_call"]
    )
    intrinsic = np.where(book["is_call"], book["S"] - book["K"], book["K"] - book["S"]).clip(0.0)

    assert np.all(got >= euro - 1e-12)
    assert np.all(got >= intrinsic)


@pytest.mark.parametrize("engine", BOTH)
def test_american_call_with_zero_dividend_equals_european(engine: str) -> None:
    rng = np.random.default_rng(9)
    n = 50
    S, T, r, v = (
        rng.uniform(50, 150, n),
        rng.uniform(0.01, 5, n),
        rng.uniform(0, 0.1, n),
        rng.uniform(0.05, 1, n),
    )
    args = (S, np.full(n, K100), T, r, np.zeros(n), v, np.ones(n, dtype=bool))

    assert np.array_equal(american_price(*args, engine), european(*args))


@pytest.mark.parametrize("engine", BOTH)
def test_american_put_with_nonpositive_rate_equals_european(engine: str) -> None:
    rng = np.random.default_rng(10)
    n = 50
    S, T, r, q, v = (
        rng.uniform(50, 150, n),
        rng.uniform(0.01, 5, n),
        rng.uniform(-0.03, 0.0, n),
        rng.uniform(0.0, 0.05, n),
        rng.uniform(0.05, 1, n),
    )
    args = (S, np.full(n, K100), T, r, q, v, np.zeros(n, dtype=bool))

    assert np.array_equal(american_price(*args, engine), european(*args))


@pytest.mark.parametrize("engine", BOTH)
def test_american_with_zero_time_returns_intrinsic(engine: str) -> None:
    S, K, T, r, q, v = arrays(
        [80.0, 100.0, 120.0], [K100] * 3, [0.0] * 3, [0.05] * 3, [0.01] * 3, [0.3] * 3
    )

    got_c = american_price(S, K, T, r, q, v, calls([True] * 3), engine)
    got_p = american_price(S, K, T, r, q, v, calls([False] * 3), engine)

    assert got_c.tolist() == [0.0, 0.0, 20.0]
    assert got_p.tolist() == [20.0, 0.0, 0.0]


@pytest.mark.parametrize("engine", BOTH)
def test_american_with_zero_vol_returns_best_deterministic_exercise(engine: str) -> None:
    S, K, T, r, q, v = arrays(
        [95.0, 101.0], [K100] * 2, [3.0] * 2, [0.08, 0.02], [0.03, 0.06], [0.0, 0.0]
    )

    put = american_price(S, K, T, r, q, v, calls([False, False]), engine)
    call = american_price(S, K, T, r, q, v, calls([True, True]), engine)

    assert put.tolist() == [
        zero_vol_put(95.0, K100, 3.0, 0.08, 0.03),
        zero_vol_put(101.0, K100, 3.0, 0.02, 0.06),
    ]
    assert call.tolist() == [
        zero_vol_put(K100, 95.0, 3.0, 0.03, 0.08),
        zero_vol_put(K100, 101.0, 3.0, 0.06, 0.02),
    ]


@pytest.mark.parametrize("engine", BOTH)
def test_american_with_double_boundary_regime_uses_converged_lattice(engine: str) -> None:
    # a put with q < r < 0 (a call with r < q < 0) has two exercise boundaries
    S, K, T, r, q, v = arrays(95.0, K100, 1.0, -0.01, -0.03, 0.25)

    put = american_price(S, K, T, r, q, v, calls(False), engine)[0]
    call = american_price(K, S, T, q, r, v, calls(True), engine)[0]
    want = ref.bbsr_reference(95.0, K100, 1.0, -0.01, -0.03, 0.25, False, 20000)

    assert put == call == bbsr_put_scalar(95.0, K100, 1.0, -0.01, -0.03, 0.25, FALLBACK_STEPS)
    assert put == pytest.approx(want, abs=5e-5)
    assert put > bsm_price_scalar(95.0, K100, 1.0, -0.01, -0.03, 0.25, False) + 1e-3


def test_american_with_call_put_symmetry_gives_identical_values() -> None:
    book = random_book(seed=31, n=100)
    swapped = dict(
        book, S=book["K"], K=book["S"], r=book["q"], q=book["r"], is_call=~book["is_call"]
    )

    for engine in BOTH:
        assert np.array_equal(price_book(book, engine), price_book(swapped, engine))


@pytest.mark.parametrize("engine", BOTH)
def test_american_with_extreme_inputs_stays_finite_and_bounded(engine: str) -> None:
    rng = np.random.default_rng(17)
    n = 600
    S = np.exp(rng.uniform(np.log(20), np.log(500), n))
    T = np.exp(rng.uniform(np.log(1e-4), np.log(30), n))
    r, q = rng.uniform(-0.05, 0.2, n), rng.uniform(-0.05, 0.2, n)
    v = np.exp(rng.uniform(np.log(1e-3), np.log(5), n))
    is_call = rng.random(n) < 0.5
    K = np.full(n, K100)

    got = american_price(S, K, T, r, q, v, is_call, engine)
    intrinsic = np.where(is_call, S - K, K - S).clip(0.0)
    upper = np.where(is_call, S * np.maximum(1, np.exp(-q * T)), K * np.maximum(1, np.exp(-r * T)))

    assert np.all(np.isfinite(got))
    assert np.all(got >= intrinsic)
    assert np.all(got <= upper * (1 + 1e-12))


def test_american_with_unknown_engine_raises_value_error() -> None:
    a = arrays(100.0, K100, 1.0, 0.05, 0.0, 0.2)

    with pytest.raises(ValueError, match="engine='binomial' is not an American engine"):
        american_price(*a, calls(False), "binomial")


finite = {"allow_nan": False, "allow_infinity": False}


@settings(max_examples=40, deadline=None, derandomize=True)
@given(
    S=st.floats(60.0, 140.0, **finite),
    T=st.floats(0.02, 3.0, **finite),
    r=st.floats(0.0, 0.1, **finite),
    q=st.floats(0.0, 0.1, **finite),
    sigma=st.floats(0.08, 0.9, **finite),
    is_call=st.booleans(),
    engine=st.sampled_from(BOTH),
)
def test_american_with_higher_vol_or_longer_expiry_is_not_cheaper(
    S: float,
    T: float,
    r: float,
    q: float,
    sigma: float,
    is_call: bool,
    engine: str,
) -> None:
    base = arrays(S, K100, T, r, q, sigma)
    more_vol = arrays(S, K100, T, r, q, sigma * 1.05)
    longer = arrays(S, K100, T * 1.05, r, q, sigma)

    v0 = american_price(*base, calls(is_call), engine)[0]
    v_vol = american_price(*more_vol, calls(is_call), engine)[0]
    v_long = american_price(*longer, calls(is_call), engine)[0]

    tol = 1e-9 if engine == "alo_qdplus" else 1e-3  # BS2002 is only a lower bound
    assert v_vol >= v0 - tol
    assert v_long >= v0 - tol
    assert max(S - K100 if is_call else K100 - S, 0.0) <= v0 <= (S if is_call else K100)


# --- lattices ------------------------------------------------------------------------------


def test_crr_with_european_flag_converges_to_bsm() -> None:
    S, K, T, r, q, v = arrays(
        [90.0, 110.0], [K100] * 2, [0.5, 2.0], [0.05, 0.02], [0.01, 0.04], [0.25, 0.4]
    )
    flags = calls([True, False])

    got = crr_price(S, K, T, r, q, v, flags, steps=4000, american=False)

    assert np.allclose(got, european(S, K, T, r, q, v, flags), atol=2e-3)


def test_crr_with_2000_steps_is_close_to_alo() -> None:
    book = random_book(seed=41, n=12)
    cols = [np.ascontiguousarray(book[k]) for k in ("S", "K", "T", "r", "q", "sigma")]

    got = crr_price(*cols, book["is_call"], steps=2000)

    assert np.max(np.abs(got - price_book(book, "alo_qdplus"))) < 1e-2


def test_crr_with_zero_steps_raises_value_error() -> None:
    a = arrays(100.0, K100, 1.0, 0.05, 0.0, 0.2)

    with pytest.raises(ValueError, match="steps=0"):
        crr_price(*a, calls(False), steps=0)
