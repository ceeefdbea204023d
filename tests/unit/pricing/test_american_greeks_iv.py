"""American engines: finite-difference Greeks and implied volatility."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskdesk.pricing import _status
from riskdesk.pricing._american import (
    ENGINES,
    GREEK_KEYS,
    american_greeks,
    american_implied_vol,
    american_price,
)
from riskdesk.pricing._american_math import zero_vol_put
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


def col(*values: float) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(values, dtype=np.float64))


def flags(*values: bool) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(values, dtype=bool))


def random_inputs(seed: int, n: int, *, put_only: bool = False) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    days = rng.integers(1, 5 * 365 + 1, n)
    is_call = np.zeros(n, dtype=bool) if put_only else rng.random(n) < 0.5
    return (
        rng.uniform(50.0, 150.0, n),
        np.full(n, K100),
        days / 365.0,
        rng.uniform(0.0, 0.1, n),
        rng.uniform(0.0, 0.1, n),
        rng.uniform(0.05, 1.0, n),
        is_call,
    )


# --- Greeks --------------------------------------------------------------------------------


@pytest.mark.parametrize("engine", BOTH)
def test_greeks_with_european_regime_match_analytic_bsm(engine: str) -> None:
    # a call with q = 0 and r >= 0 is never exercised early: every Greek is the BSM one
    rng = np.random.default_rng(5)
    n = 30
    S, T = rng.uniform(60, 140, n), rng.uniform(0.02, 3.0, n)
    r, sigma = rng.uniform(0.0, 0.08, n), rng.uniform(0.1, 0.8, n)
    zeros, calls = np.zeros(n), np.ones(n, dtype=bool)

    got = american_greeks(S, np.full(n, K100), T, r, zeros, sigma, calls, engine, GREEK_KEYS)

    for i in range(n):
        want = ref.bsm_greeks_reference(S[i], K100, T[i], r[i], 0.0, sigma[i], True)
        for key in GREEK_KEYS:
            assert got[key][i] == pytest.approx(want[key], rel=1e-5, abs=1e-10), key


def test_greeks_with_alo_match_independent_finite_differences() -> None:
    S, K, T, r, q, sigma, is_call = random_inputs(seed=8, n=20)
    keys = ("delta", "gamma", "vega", "theta", "rho", "phi")

    got = american_greeks(S, K, T, r, q, sigma, is_call, "alo_qdplus", keys)

    def price(**bump: np.ndarray) -> np.ndarray:
        args = {"S": S, "K": K, "T": T, "r": r, "q": q, "sigma": sigma} | bump
        return american_price(
            args["S"],
            args["K"],
            args["T"],
            args["r"],
            args["q"],
            args["sigma"],
            is_call,
            "alo_qdplus",
        )

    h = 1e-4 * S
    want = {
        "delta": (price(S=S + h) - price(S=S - h)) / (2 * h),
        "gamma": (price(S=S + h) - 2 * price() + price(S=S - h)) / h**2,
        "vega": 0.01 * (price(sigma=sigma + 1e-5) - price(sigma=sigma - 1e-5)) / 2e-5,
        "theta": -(price(T=T + 1e-6) - price(T=T - 1e-6)) / 2e-6 / 365.0,
        "rho": 0.01 * (price(r=r + 1e-6) - price(r=r - 1e-6)) / 2e-6,
        "phi": 0.01 * (price(q=q + 1e-6) - price(q=q - 1e-6)) / 2e-6,
    }
    exercised = price() == np.where(is_call, S - K, K - S)  # gamma jumps at the boundary

    for key in keys:
        sel = ~exercised if key == "gamma" else np.ones_like(exercised)
        assert np.allclose(got[key][sel], want[key][sel], rtol=1e-4, atol=1e-6), key


def test_greeks_with_alo_put_agree_with_quantlib_fd_delta_gamma() -> None:
    rng = np.random.default_rng(9)
    n = 6
    S, days = rng.uniform(75, 125, n), rng.integers(30, 730, n)
    r, q, sigma = rng.uniform(0.01, 0.08, n), rng.uniform(0.0, 0.05, n), rng.uniform(0.15, 0.6, n)

    got = american_greeks(
        S,
        np.full(n, K100),
        days / 365.0,
        r,
        q,
        sigma,
        np.zeros(n, dtype=bool),
        "alo_qdplus",
        ("delta", "gamma"),
    )

    for i in range(n):
        delta, gamma = ref.quantlib_fd_delta_gamma(
            S[i], K100, int(days[i]), r[i], q[i], sigma[i], False
        )
        assert got["delta"][i] == pytest.approx(delta, abs=2e-4)
        assert got["gamma"][i] == pytest.approx(gamma, rel=2e-3)


@pytest.mark.parametrize("engine", BOTH)
def test_greeks_with_expired_option_give_intrinsic_slope_and_zeros(engine: str) -> None:
    S, K, T, r, q, v = (
        col(90.0, 100.0, 110.0),
        col(K100, K100, K100),
        col(0.0, 0.0, 0.0),
        col(0.05, 0.05, 0.05),
        col(0.0, 0.0, 0.0),
        col(0.3, 0.3, 0.3),
    )

    got = american_greeks(S, K, T, r, q, v, flags(True, True, True), engine, GREEK_KEYS)

    assert got["price"].tolist() == [0.0, 0.0, 10.0]
    assert got["delta"] == pytest.approx([0.0, 0.5, 1.0])
    for key in GREEK_KEYS[2:]:
        assert np.all(got[key] == 0.0), key


def test_greeks_with_subset_return_only_requested_keys() -> None:
    a = (col(100.0), col(K100), col(0.5), col(0.03), col(0.01), col(0.25), flags(False))

    got = american_greeks(*a, "alo_qdplus", ("gamma", "price"))
    price = american_price(*a, "alo_qdplus")

    assert set(got) == {"gamma", "price"}
    assert got["price"][0] == price[0]


def test_greeks_with_unknown_name_raise_value_error() -> None:
    a = (col(100.0), col(K100), col(0.5), col(0.03), col(0.01), col(0.25), flags(False))

    with pytest.raises(ValueError, match="unknown Greek"):
        american_greeks(*a, "alo_qdplus", ("delta", "epsilon"))


def test_greeks_with_call_at_zero_yield_take_the_european_side_for_phi() -> None:
    # bumping q up from 0 makes the call American: phi is the one-sided (European) derivative
    a = (col(110.0), col(K100), col(1.5), col(0.04), col(0.0), col(0.3), flags(True))

    got = american_greeks(*a, "alo_qdplus", ("phi", "rho"))
    want = ref.bsm_greeks_reference(110.0, K100, 1.5, 0.04, 0.0, 0.3, True)

    assert got["phi"][0] == pytest.approx(want["phi"], rel=1e-6)
    assert got["rho"][0] == pytest.approx(want["rho"], rel=1e-6)


# --- implied volatility --------------------------------------------------------------------


@pytest.mark.parametrize("engine", BOTH)
def test_iv_with_round_trip_recovers_volatility(engine: str) -> None:
    S, K, T, r, q, sigma, is_call = random_inputs(seed=11, n=300)
    price = american_price(S, K, T, r, q, sigma, is_call, engine)
    vega = (american_price(S, K, T, r, q, sigma + 1e-4, is_call, engine) - price) / 1e-4

    iv, status = american_implied_vol(price, S, K, T, r, q, is_call, engine)

    identified = vega > 1e-3
    assert np.all(status[identified] == _status.OK)
    assert np.max(np.abs(iv[identified] - sigma[identified])) <= 1e-8


@pytest.mark.parametrize("engine", BOTH)
def test_iv_with_each_failure_class_returns_its_status(engine: str) -> None:
    # put, K = 100, S = 80: intrinsic 20; zero-vol value 20 (r > 0, q = 0)
    n = 8
    S, K, T = np.full(n, 80.0), np.full(n, K100), col(1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0)
    r, q = np.full(n, 0.05), np.zeros(n)
    price = col(np.nan, -1.0, 19.0, 20.0, 100.0, 150.0, K100 * (1 - 1e-12), 20.5)

    iv, status = american_implied_vol(price, S, K, T, r, q, np.zeros(n, dtype=bool), engine)

    assert status.tolist() == [
        _status.INVALID_INPUT,
        _status.INVALID_INPUT,
        _status.BELOW_INTRINSIC,
        _status.NO_TIME_VALUE,
        _status.ABOVE_UPPER_BOUND,
        _status.ABOVE_UPPER_BOUND,
        _status.NOT_CONVERGED,
        _status.ABOVE_UPPER_BOUND,
    ]
    assert np.all(np.isnan(iv))


def test_iv_with_one_bad_element_still_solves_the_others() -> None:
    S, K, T, r, q, sigma, is_call = random_inputs(seed=12, n=5, put_only=True)
    price = american_price(S, K, T, r, q, sigma, is_call, "alo_qdplus")
    price[2] = np.inf

    iv, status = american_implied_vol(price, S, K, T, r, q, is_call, "alo_qdplus")

    assert status[2] == _status.INVALID_INPUT
    others = np.delete(status, 2)
    assert np.all(np.isin(others, [_status.OK, _status.NO_TIME_VALUE]))
    solved = status == _status.OK
    assert np.allclose(iv[solved], sigma[solved], atol=1e-8)


@pytest.mark.parametrize("engine", BOTH)
def test_iv_with_european_regime_matches_bsm_implied_vol(engine: str) -> None:
    # call, q = 0: American = European, so the implied vol inverts BSM
    S, K, T, r, q = col(95.0, 120.0), col(K100, K100), col(0.3, 2.0), col(0.03, 0.05), col(0.0, 0.0)
    sigma = col(0.35, 0.22)
    price = np.array(
        [bsm_price_scalar(S[i], K100, T[i], r[i], 0.0, sigma[i], True) for i in range(2)]
    )

    iv, status = american_implied_vol(price, S, K, T, r, q, flags(True, True), engine)

    assert status.tolist() == [_status.OK, _status.OK]
    assert iv == pytest.approx(sigma, abs=1e-10)


finite = {"allow_nan": False, "allow_infinity": False}


@settings(max_examples=40, deadline=None, derandomize=True)
@given(
    S=st.floats(60.0, 140.0, **finite),
    T=st.floats(0.05, 3.0, **finite),
    r=st.floats(0.0, 0.1, **finite),
    q=st.floats(0.0, 0.1, **finite),
    sigma=st.floats(0.08, 0.9, **finite),
    is_call=st.booleans(),
    engine=st.sampled_from(BOTH),
)
def test_iv_with_any_engine_price_inverts_to_a_consistent_volatility(
    S: float,
    T: float,
    r: float,
    q: float,
    sigma: float,
    is_call: bool,
    engine: str,
) -> None:
    a = (col(S), col(K100), col(T), col(r), col(q))
    price = american_price(*a, col(sigma), flags(is_call), engine)

    iv, status = american_implied_vol(price, *a, flags(is_call), engine)

    if status[0] == _status.OK:
        repriced = american_price(*a, iv, flags(is_call), engine)
        assert repriced[0] == pytest.approx(price[0], rel=1e-9, abs=1e-10)
    else:
        # no time value: the price is the zero-volatility American value (>= intrinsic)
        floor = zero_vol_put(K100, S, T, q, r) if is_call else zero_vol_put(S, K100, T, r, q)
        assert status[0] == _status.NO_TIME_VALUE
        assert price[0] == pytest.approx(floor, abs=1e-8)
