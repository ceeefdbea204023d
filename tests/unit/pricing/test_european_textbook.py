"""Golden values from textbooks and cross-checks against libraries no one here wrote.

* Hull, *Options, Futures and Other Derivatives* (8th ed.), Example 15.6 and the 20-week option
  of chapter 19 (price 2.40, delta 0.522, gamma 0.066, vega 12.1, theta -4.31/yr, rho 8.91).
* Haug, *The Complete Guide to Option Pricing Formulas* (2nd ed.), chapter 1-2 examples.
* vollib (py_vollib's successor) analytic prices and Greeks on a grid.
* QuantLib's ``AnalyticEuropeanEngine`` on a moderate grid (it loses accuracy in the far wings,
  so it is a cross-check, not the truth).
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import QuantLib as ql
from vollib.black import black as vl_black
from vollib.black.greeks import analytical as vl_black_greeks
from vollib.black_scholes_merton import black_scholes_merton as vl_bsm
from vollib.black_scholes_merton.greeks import analytical as vl_bsm_greeks

from riskdesk.pricing import greeks, price


def test_hull_example_15_6_with_call_and_put_gives_4_76_and_0_81() -> None:
    values = price(
        model="bsm", S=42.0, K=40.0, T=0.5, r=0.1, q=0.0, sigma=0.2, is_call=[True, False]
    )
    assert values.round(2).tolist() == [4.76, 0.81]


def test_hull_twenty_week_option_greeks_match_the_book() -> None:
    g = greeks(model="bsm", S=49.0, K=50.0, T=20 / 52, r=0.05, q=0.0, sigma=0.2, is_call=True)
    assert round(float(g["price"]), 2) == 2.40
    assert round(float(g["delta"]), 3) == 0.522
    assert round(float(g["gamma"]), 3) == 0.066
    assert round(float(g["vega"]) * 100, 1) == 12.1  # book: per unit vol
    assert round(float(g["theta"]) * 365, 2) == -4.31  # book: per year
    assert round(float(g["rho"]) * 100, 2) == 8.91  # book: per unit rate


@pytest.mark.parametrize(
    ("model", "S", "K", "T", "r", "q", "sigma", "is_call", "expected", "digits"),
    [
        ("bsm", 60.0, 65.0, 0.25, 0.08, 0.0, 0.30, True, 2.1334, 4),  # Haug 1.1.1
        ("bsm", 100.0, 95.0, 0.5, 0.10, 0.05, 0.20, False, 2.4648, 4),  # Haug 1.1.2 (Merton 73)
        ("black76", 19.0, 19.0, 0.75, 0.10, 0.0, 0.28, True, 1.7011, 4),  # Haug 1.1.3 (Black 76)
        ("black76", 19.0, 19.0, 0.75, 0.10, 0.0, 0.28, False, 1.7011, 4),
    ],
)
def test_haug_examples_with_published_inputs_give_published_prices(
    model: str,
    S: float,
    K: float,
    T: float,
    r: float,
    q: float,
    sigma: float,
    is_call: bool,
    expected: float,
    digits: int,
) -> None:
    value = price(model=model, S=S, K=K, T=T, r=r, q=q, sigma=sigma, is_call=is_call)
    assert round(float(value), digits) == expected


def test_haug_greek_examples_give_published_values() -> None:
    fut = greeks(
        model="black76",
        S=105.0,
        K=100.0,
        T=0.5,
        r=0.10,
        sigma=0.36,
        is_call=[True, False],
        which=["delta"],
    )
    assert fut["delta"].round(4).tolist() == [0.5946, -0.3566]
    gam = greeks(
        model="bsm",
        S=55.0,
        K=60.0,
        T=0.75,
        r=0.10,
        q=0.0,
        sigma=0.30,
        is_call=True,
        which=["gamma"],
    )
    assert round(float(gam["gamma"]), 4) == 0.0278
    th = greeks(
        model="bsm",
        S=430.0,
        K=405.0,
        T=0.0833,
        r=0.07,
        q=0.05,
        sigma=0.20,
        is_call=False,
        which=["theta"],
    )
    assert round(float(th["theta"]) * 365, 4) == -31.1924  # Haug quotes theta per year
    rh = greeks(
        model="bsm", S=72.0, K=75.0, T=1.0, r=0.09, q=0.0, sigma=0.19, is_call=True, which=["rho"]
    )
    assert round(float(rh["rho"]) * 100, 4) == 38.7325  # Haug quotes rho per unit rate


def _vollib_grid() -> list[tuple[float, float, float, float, float, float, bool]]:
    return [
        (S, K, T, r, q, v, c)
        for S, K, T, r, q, v, c in itertools.product(
            [80.0, 100.0, 120.0],
            [90.0, 100.0, 110.0],
            [0.05, 0.5, 2.0],
            [0.0, 0.05],
            [0.0, 0.03],
            [0.1, 0.3, 0.8],
            [True, False],
        )
    ]


def test_bsm_prices_and_greeks_on_the_vollib_grid_agree() -> None:
    grid = np.array(_vollib_grid(), dtype=object)
    S, K, T, r, q, v = (grid[:, k].astype(float) for k in range(6))
    c = grid[:, 6].astype(bool)
    ours = greeks(model="bsm", S=S, K=K, T=T, r=r, q=q, sigma=v, is_call=c)
    for i, (s_, k_, t_, r_, q_, v_, c_) in enumerate(_vollib_grid()):
        flag = "c" if c_ else "p"
        args = (flag, s_, k_, t_, r_, v_, q_)
        assert ours["price"][i] == pytest.approx(vl_bsm(*args), rel=1e-12, abs=1e-13)
        assert ours["delta"][i] == pytest.approx(vl_bsm_greeks.delta(*args), rel=1e-10, abs=1e-14)
        assert ours["gamma"][i] == pytest.approx(vl_bsm_greeks.gamma(*args), rel=1e-10, abs=1e-14)
        assert ours["vega"][i] == pytest.approx(vl_bsm_greeks.vega(*args), rel=1e-10, abs=1e-14)
        assert ours["theta"][i] == pytest.approx(vl_bsm_greeks.theta(*args), rel=1e-10, abs=1e-14)
        assert ours["rho"][i] == pytest.approx(vl_bsm_greeks.rho(*args), rel=1e-10, abs=1e-14)


def test_black76_prices_and_greeks_on_the_vollib_grid_agree() -> None:
    for F, K, T, r, v, c in itertools.product(
        [80.0, 100.0, 125.0],
        [95.0, 100.0],
        [0.1, 1.0, 5.0],
        [0.0, 0.04],
        [0.15, 0.6],
        [True, False],
    ):
        ours = greeks(model="black76", S=F, K=K, T=T, r=r, sigma=v, is_call=c)
        args = ("c" if c else "p", F, K, T, r, v)
        assert float(ours["price"]) == pytest.approx(vl_black(*args), rel=1e-12, abs=1e-13)
        assert float(ours["delta"]) == pytest.approx(
            vl_black_greeks.delta(*args), rel=1e-10, abs=1e-14
        )
        assert float(ours["gamma"]) == pytest.approx(
            vl_black_greeks.gamma(*args), rel=1e-10, abs=1e-14
        )
        assert float(ours["vega"]) == pytest.approx(
            vl_black_greeks.vega(*args), rel=1e-10, abs=1e-14
        )
        assert float(ours["theta"]) == pytest.approx(
            vl_black_greeks.theta(*args), rel=1e-10, abs=1e-14
        )
        assert float(ours["rho"]) == pytest.approx(vl_black_greeks.rho(*args), rel=1e-10, abs=1e-14)


def _quantlib(
    S: float, K: float, days: int, r: float, q: float, v: float, call: bool
) -> dict[str, float]:
    today = ql.Date(15, 1, 2024)
    ql.Settings.instance().evaluationDate = today
    dc = ql.Actual365Fixed()
    spot = ql.QuoteHandle(ql.SimpleQuote(S))
    rates = ql.YieldTermStructureHandle(ql.FlatForward(today, r, dc, ql.Continuous))
    divs = ql.YieldTermStructureHandle(ql.FlatForward(today, q, dc, ql.Continuous))
    vols = ql.BlackVolTermStructureHandle(ql.BlackConstantVol(today, ql.NullCalendar(), v, dc))
    process = ql.BlackScholesMertonProcess(spot, divs, rates, vols)
    payoff = ql.PlainVanillaPayoff(ql.Option.Call if call else ql.Option.Put, K)
    option = ql.VanillaOption(payoff, ql.EuropeanExercise(today + days))
    option.setPricingEngine(ql.AnalyticEuropeanEngine(process))
    return {
        "price": option.NPV(),
        "delta": option.delta(),
        "gamma": option.gamma(),
        "vega": option.vega() / 100,
        "theta": option.thetaPerDay(),
        "rho": option.rho() / 100,
        "phi": option.dividendRho() / 100,
    }


def test_bsm_against_quantlib_analytic_engine_on_moderate_cases() -> None:
    for S, K, days, r, q, v, c in itertools.product(
        [90.0, 110.0], [100.0], [7, 91, 730], [0.01, 0.06], [0.0, 0.02], [0.12, 0.45], [True, False]
    ):
        ref = _quantlib(S, K, days, r, q, v, c)
        ours = greeks(model="bsm", S=S, K=K, T=days / 365, r=r, q=q, sigma=v, is_call=c)
        for name, expected in ref.items():
            # QuantLib's theta uses the calendar; with Actual365Fixed it is dV/dt/365 like ours.
            assert float(ours[name]) == pytest.approx(expected, rel=1e-8, abs=1e-12), name


def test_bachelier_at_the_money_equals_sigma_sqrt_t_over_sqrt_2pi() -> None:
    value = price(
        model="bachelier", S=100.0, K=100.0, T=0.25, r=0.0, q=0.0, sigma=8.0, is_call=True
    )
    assert float(value) == pytest.approx(8.0 * 0.5 / math.sqrt(2 * math.pi), rel=1e-15)
