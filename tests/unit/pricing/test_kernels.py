"""Scalar building blocks: erfcx, normal CDF tails, Mills ratio, normalised Black, double-double."""

from __future__ import annotations

import math

import mpmath as mp
import numpy as np
import pytest
from scipy.special import erfcx as sp_erfcx

from riskdesk.pricing import price
from riskdesk.pricing._european import bsm_price_scalar
from riskdesk.pricing._nblack import (
    exp_dd,
    forward_minus_strike,
    log_moneyness,
    mills_and_g,
    normalised_black_otm,
)
from riskdesk.pricing._normal import erfcx, norm_cdf, norm_pdf


def test_erfcx_is_accurate_over_the_whole_range() -> None:
    # mpmath for the negative axis (scipy's own erfcx loses ~1e-14 there), scipy for large x
    with mp.workdps(40):
        for x in np.linspace(-26.0, 30.0, 1001):
            X = mp.mpf(float(x))
            assert erfcx(float(x)) == pytest.approx(float(mp.exp(X * X) * mp.erfc(X)), rel=1e-15)
    for x in np.geomspace(30.0, 1e300, 200):
        assert erfcx(float(x)) == pytest.approx(float(sp_erfcx(x)), rel=1e-15)


def test_norm_cdf_is_relatively_accurate_deep_in_the_lower_tail() -> None:
    with mp.workdps(40):
        for x in np.linspace(-38.0, 8.0, 461):
            assert norm_cdf(float(x)) == pytest.approx(float(mp.ncdf(float(x))), rel=5e-14)
            assert norm_pdf(float(x)) == pytest.approx(float(mp.npdf(float(x))), rel=5e-14)


def test_mills_ratio_and_bachelier_g_are_relatively_accurate() -> None:
    with mp.workdps(50):
        for u in np.concatenate([np.linspace(0.0, 10.0, 201), np.geomspace(10.0, 1e6, 50)]):
            U = mp.mpf(float(u))
            R = mp.ncdf(-U) / mp.npdf(U)
            r, g = mills_and_g(float(u))
            assert r == pytest.approx(float(R), rel=2e-15)
            assert g == pytest.approx(float(1 - U * R), rel=2e-14)


def test_normalised_black_otm_has_no_cancellation_in_the_wings() -> None:
    rng = np.random.default_rng(1)
    with mp.workdps(50):
        for _ in range(2000):
            s = float(10 ** rng.uniform(-6, 1.5))
            h = -float(10 ** rng.uniform(-4, 1.6))
            x = h * s
            X, Sv = mp.mpf(x), mp.mpf(s)
            ref = mp.exp(X / 2) * mp.ncdf(X / Sv + Sv / 2) - mp.exp(-X / 2) * mp.ncdf(
                X / Sv - Sv / 2
            )
            if ref < mp.mpf(10) ** -290:
                continue
            assert normalised_black_otm(x, s) == pytest.approx(float(ref), rel=1e-13)


def test_double_double_helpers_are_accurate() -> None:
    rng = np.random.default_rng(4)
    with mp.workdps(50):
        for c in rng.uniform(-700.0, 700.0, 500):
            hi, lo = exp_dd(float(c), 0.0)
            assert abs((mp.mpf(hi) + mp.mpf(lo)) / mp.exp(mp.mpf(float(c))) - 1) < 1e-19
        for _ in range(500):
            S, r, q = (
                float(rng.uniform(1, 1000)),
                float(rng.uniform(-0.05, 0.15)),
                float(rng.uniform(-0.05, 0.15)),
            )
            T = float(math.exp(rng.uniform(-9, 3.4)))
            F = mp.mpf(S) * mp.exp((mp.mpf(r) - mp.mpf(q)) * mp.mpf(T))
            K = float(F * (1 + rng.normal(0, 1e-6)))
            assert forward_minus_strike(S, K, r, q, T) == pytest.approx(
                float(F - mp.mpf(K)), rel=1e-9
            )
            _x, lnsk = log_moneyness(S, K, r - q, T)
            assert lnsk == pytest.approx(
                float(mp.log(mp.mpf(S) / mp.mpf(K))), abs=9e-16 * max(1.0, abs(lnsk))
            )


def test_bsm_price_scalar_agrees_with_the_array_api_to_1e12_on_random_options() -> None:
    # The block kernels take the polynomial vexp/vlog, the scalar path libm's exp/log, so a
    # few percent of prices differ in their last bits (measured: 7% of random options, 1-2
    # ulp typically, 1e-13 relative at most); both are held to mpmath by the accuracy suites.
    rng = np.random.default_rng(14)
    n = 5000
    S, K = rng.uniform(50, 150, n), rng.uniform(50, 150, n)
    T, r, q = rng.uniform(0.01, 3.0, n), rng.uniform(0.0, 0.08, n), rng.uniform(0.0, 0.05, n)
    v, c = rng.uniform(0.05, 1.0, n), rng.random(n) < 0.5
    array = np.asarray(price(model="bsm", S=S, K=K, T=T, r=r, q=q, sigma=v, is_call=c))
    scalar = np.array(
        [bsm_price_scalar(S[i], K[i], T[i], r[i], q[i], v[i], bool(c[i])) for i in range(n)]
    )
    both_zero = (array == 0.0) & (scalar == 0.0)  # deep out of the money: underflows to 0
    rel = np.abs(array - scalar)[~both_zero] / np.abs(scalar[~both_zero])
    assert np.max(rel) <= 1e-12
    assert np.count_nonzero(array != scalar) < n // 5


def test_bsm_price_scalar_equals_the_array_api() -> None:
    for S, K, T, r, q, v, c in [
        (42.0, 40.0, 0.5, 0.1, 0.0, 0.2, True),
        (100.0, 250.0, 0.01, 0.03, 0.02, 0.15, True),
        (100.0, 50.0, 3.0, 0.0, 0.05, 0.4, False),
        (10.0, 10.0, 0.0, 0.0, 0.0, 0.2, True),
        (10.0, 9.0, 1.0, 0.05, 0.0, 0.0, True),
    ]:
        assert bsm_price_scalar(S, K, T, r, q, v, c) == float(
            price(model="bsm", S=S, K=K, T=T, r=r, q=q, sigma=v, is_call=c)
        )
