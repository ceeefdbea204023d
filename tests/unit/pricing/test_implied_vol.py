"""Implied vol: round trips, statuses, and agreement with vollib's Let's Be Rational.

Round-trip criterion (issue 3): absolute vol error <= 1e-10 wherever the time value is at least
1e-10 of the forward, over K/F 0.05-20, vol 0.5%-500%, T 1 hour-30 years; an explicit status
elsewhere.  A double price carries a rounding error of about ``eps * price``, so no solver can
beat ``eps * price / vega``; where that conditioning bound exceeds 1e-10 (in-the-money options with
tiny time value, or total vol so large that the price is within a few ulps of its upper bound)
the test allows ``1e-10 + 100 * eps * price / vega`` instead, and every solved element must still
reprice to within 1e-12 relative (backward error).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from vollib.black_scholes_merton.implied_volatility import implied_volatility as vl_iv

from riskdesk.pricing import ImpliedVolResult, greeks, implied_vol, price
from riskdesk.pricing._status import STATUS_NAMES

EPS = np.finfo(float).eps
HOUR = 1.0 / 8760.0


def _round_trip_cases(model: str, n: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    T = np.exp(rng.uniform(math.log(HOUR), math.log(30.0), n))
    vol = np.exp(rng.uniform(math.log(0.005), math.log(5.0), n))
    S = np.exp(rng.uniform(math.log(5.0), math.log(500.0), n))
    r = rng.uniform(-0.02, 0.10, n)
    q = np.zeros(n) if model == "black76" else rng.uniform(-0.02, 0.08, n)
    F = S if model == "black76" else S * np.exp((r - q) * T)
    K = F * np.exp(rng.uniform(math.log(0.05), math.log(20.0), n))
    return {
        "S": S,
        "K": K,
        "T": T,
        "r": r,
        "q": q,
        "sigma": vol,
        "is_call": rng.random(n) < 0.5,
        "F": F,
    }


def _check_round_trip(model: str, n: int, seed: int) -> None:
    c = _round_trip_cases(model, n, seed)
    F = c.pop("F")
    g = greeks(model=model, which=("price", "vega"), **c)
    p = g["price"]
    vega = g["vega"] * 100.0
    sigma = c.pop("sigma")
    res = implied_vol(model=model, price=p, **c)
    w = np.where(c["is_call"], 1.0, -1.0)
    disc = np.exp(-c["r"] * c["T"])
    tv = p / disc - np.maximum(w * (F - c["K"]), 0.0)
    eligible = tv >= 1e-10 * F
    # iv is NaN exactly where the status is not ok
    assert np.array_equal(np.isnan(res.iv), ~res.ok)
    # Eligible elements are solved, unless the price rounds to its upper bound (no finite vol).
    upper = np.where(
        c["is_call"],
        c["S"] * np.exp(-c["q"] * c["T"]) if model != "black76" else F * disc,
        c["K"] * disc,
    )
    at_bound = p >= upper * (1.0 - 1e-14)
    unsolved = eligible & ~res.ok & ~at_bound
    assert not unsolved.any(), (
        f"unsolved: {np.flatnonzero(unsolved)[:5]} {res.status[unsolved][:5]}"
    )
    solved = eligible & res.ok
    allowed = 1e-10 + 100.0 * EPS * p / np.maximum(vega, 1e-300)
    err = np.abs(res.iv - sigma)
    bad = solved & ~(err <= allowed)
    assert not bad.any(), (
        f"round trip: {[(i, err[i], allowed[i]) for i in np.flatnonzero(bad)[:5]]}"
    )
    # where the conditioning allows it, the issue's criterion holds verbatim
    well = solved & (100.0 * EPS * p / np.maximum(vega, 1e-300) < 1e-12)
    assert well.sum() > 0.1 * n
    assert float(np.max(err[well])) <= 1e-10
    # backward error: every solved element reprices
    kw = {k: np.asarray(v)[res.ok] for k, v in c.items()}
    again = price(model=model, sigma=res.iv[res.ok], **kw)
    assert np.all(np.abs(again - p[res.ok]) <= 1e-12 * p[res.ok] + 1e-300)


@pytest.mark.parametrize("model", ["bsm", "black76"])
def test_round_trip_with_wide_random_cases_recovers_vol(model: str) -> None:
    _check_round_trip(model, n=20_000, seed=3)


@pytest.mark.slow
@pytest.mark.parametrize("model", ["bsm", "black76"])
def test_round_trip_with_many_random_cases_recovers_vol(model: str) -> None:
    _check_round_trip(model, n=400_000, seed=4)


def test_round_trip_out_of_the_money_meets_the_issue_criterion_verbatim() -> None:
    # OTM options (price == time value) below the upper-bound region: |error| <= 1e-10 everywhere.
    c = _round_trip_cases("bsm", 50_000, 8)
    F = c.pop("F")
    otm = np.where(c["is_call"], c["K"] > F, c["K"] < F) & (c["sigma"] * np.sqrt(c["T"]) < 6.0)
    kw = {k: v[otm] for k, v in c.items()}
    p = price(model="bsm", **kw)
    sigma = kw.pop("sigma")
    tv_ok = p * np.exp(kw["r"] * kw["T"]) >= 1e-10 * F[otm]
    res = implied_vol(model="bsm", price=p, **kw)
    assert np.all(res.ok[tv_ok])
    assert float(np.max(np.abs(res.iv[tv_ok] - sigma[tv_ok]))) <= 1e-10


def test_bachelier_round_trip_recovers_normal_vol() -> None:
    rng = np.random.default_rng(9)
    n = 20_000
    S = rng.uniform(-50.0, 150.0, n)
    T = np.exp(rng.uniform(math.log(HOUR), math.log(30.0), n))
    sigma = np.exp(rng.uniform(math.log(0.05), math.log(200.0), n))
    r = rng.uniform(-0.02, 0.08, n)
    q = rng.uniform(-0.02, 0.08, n)
    F = S * np.exp((r - q) * T)
    K = F + rng.uniform(-12.0, 12.0, n) * sigma * np.sqrt(T)
    call = rng.random(n) < 0.5
    g = greeks(
        model="bachelier",
        S=S,
        K=K,
        T=T,
        r=r,
        q=q,
        sigma=sigma,
        is_call=call,
        which=("price", "vega"),
    )
    res = implied_vol(model="bachelier", price=g["price"], S=S, K=K, T=T, r=r, q=q, is_call=call)
    tv = g["price"] * np.exp(r * T) - np.maximum(np.where(call, 1.0, -1.0) * (F - K), 0.0)
    eligible = tv >= 1e-10 * np.maximum(np.abs(F), 1.0)
    assert np.all(res.ok[eligible])
    allowed = 1e-10 * sigma + 100.0 * EPS * g["price"] / np.maximum(g["vega"] * 100.0, 1e-300)
    err = np.abs(res.iv - sigma)
    assert np.all(err[eligible] <= allowed[eligible])


def test_statuses_for_each_kind_of_bad_element_are_explicit() -> None:
    # call: S=100, K=100, T=1, r=q=0 -> intrinsic 0, upper bound 100
    prices = [10.0, -1.0, 100.0, 0.0, np.nan, 10.0, 5.0, 5.0]
    T = [1.0, 1.0, 1.0, 1.0, 1.0, -1.0, 0.0, 0.0]
    K = [100.0, 100.0, 100.0, 100.0, 100.0, 100.0, 95.0, 90.0]
    res = implied_vol(model="bsm", price=prices, S=100.0, K=K, T=T, r=0.0, q=0.0, is_call=True)
    assert res.status.tolist() == [
        "ok",
        "below_intrinsic",
        "above_upper_bound",
        "no_time_value",
        "invalid_input",
        "invalid_input",
        "no_time_value",  # at expiry, price == intrinsic
        "below_intrinsic",  # at expiry, price < intrinsic
    ]
    assert np.isnan(res.iv[1:]).all()
    assert np.isfinite(res.iv[0])
    assert [STATUS_NAMES[c] for c in res.code.tolist()] == res.status.tolist()


def test_deep_in_the_money_price_equal_to_intrinsic_has_no_time_value() -> None:
    K, S, r, T = 50.0, 100.0, 0.03, 0.5
    intrinsic = S - K * math.exp(-r * T)
    res = implied_vol(model="bsm", price=intrinsic, S=S, K=K, T=T, r=r, is_call=True)
    assert str(res.status) == "no_time_value"
    assert math.isnan(float(res.iv))


def test_result_is_frozen_and_has_ok_mask() -> None:
    res = implied_vol(model="bsm", price=[1.0, -1.0], S=10.0, K=10.0, T=1.0, r=0.0, is_call=True)
    assert isinstance(res, ImpliedVolResult)
    assert res.ok.tolist() == [True, False]
    assert res.iv.dtype == np.float64
    assert res.code.dtype == np.int8
    with pytest.raises(AttributeError):
        res.iv = np.zeros(2)  # type: ignore[misc]


def test_scalar_input_gives_zero_dimensional_arrays() -> None:
    res = implied_vol(
        model="black76", price=1.7010507252362679, S=19.0, K=19.0, T=0.75, r=0.1, is_call=True
    )
    assert res.iv.shape == ()
    assert res.status.shape == ()
    assert float(res.iv) == pytest.approx(0.28, abs=1e-14)


def test_broadcasting_matches_elementwise_results() -> None:
    K = np.array([[80.0], [100.0], [120.0]])
    T = np.array([0.1, 1.0])
    p = price(model="bsm", S=100.0, K=K, T=T, r=0.02, q=0.01, sigma=0.3, is_call=False)
    res = implied_vol(model="bsm", price=p, S=100.0, K=K, T=T, r=0.02, q=0.01, is_call=False)
    assert res.iv.shape == (3, 2)
    np.testing.assert_allclose(res.iv, 0.3, atol=1e-12)


def test_agrees_with_vollib_lets_be_rational_on_a_grid() -> None:
    for S, K, T, r, q, v, c in [
        (100.0, K, T, 0.03, 0.01, v, c)
        for K in (70.0, 95.0, 100.0, 130.0)
        for T in (0.02, 0.5, 3.0)
        for v in (0.08, 0.3, 1.2)
        for c in (True, False)
    ]:
        p = float(price(model="bsm", S=S, K=K, T=T, r=r, q=q, sigma=v, is_call=c))
        intrinsic = max((S * math.exp(-q * T) - K * math.exp(-r * T)) * (1 if c else -1), 0.0)
        if p - intrinsic < 1e-6 * S:
            continue  # vollib rejects prices this close to intrinsic
        ours = float(implied_vol(model="bsm", price=p, S=S, K=K, T=T, r=r, q=q, is_call=c).iv)
        theirs = vl_iv(p, S, K, T, r, q, "c" if c else "p")
        assert ours == pytest.approx(theirs, abs=1e-11)
        assert ours == pytest.approx(v, abs=1e-12)


@settings(max_examples=300, deadline=None)
@given(
    x=st.floats(-3.0, 3.0),
    vol=st.floats(0.01, 2.0),
    T=st.floats(1.0 / 365.0, 10.0),
    r=st.floats(-0.02, 0.1),
    call=st.booleans(),
)
def test_round_trip_property_recovers_vol(
    x: float, vol: float, T: float, r: float, call: bool
) -> None:
    K = 100.0 * math.exp(x * vol * math.sqrt(T))
    p = float(price(model="black76", S=100.0, K=K, T=T, r=r, sigma=vol, is_call=call))
    res = implied_vol(model="black76", price=p, S=100.0, K=K, T=T, r=r, is_call=call)
    g = greeks(model="black76", S=100.0, K=K, T=T, r=r, sigma=vol, is_call=call, which=["vega"])
    allowed = 1e-10 + 100 * EPS * p / (float(g["vega"]) * 100)
    assert bool(res.ok)
    assert abs(float(res.iv) - vol) <= allowed
