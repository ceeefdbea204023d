"""Property tests (hypothesis): parity, bounds, monotonicity, Greeks vs finite differences."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskdesk.pricing import GREEK_NAMES, greeks, price

spots = st.floats(1.0, 1000.0)
moneyness = st.floats(-2.5, 2.5)  # ln(K/F) in units of total vol
vols = st.floats(0.02, 2.0)
times = st.floats(1.0 / 365.0, 10.0)
rates = st.floats(-0.03, 0.12)


@settings(max_examples=300, deadline=None)
@given(S=spots, m=moneyness, vol=vols, T=times, r=rates, q=rates)
def test_put_call_parity_holds(
    S: float, m: float, vol: float, T: float, r: float, q: float
) -> None:
    K = S * math.exp((r - q) * T + m * vol * math.sqrt(T))
    c, p = price(model="bsm", S=S, K=K, T=T, r=r, q=q, sigma=vol, is_call=[True, False])
    parity = S * math.exp(-q * T) - K * math.exp(-r * T)
    assert c - p == pytest.approx(parity, abs=1e-12 * max(S, K))


@settings(max_examples=300, deadline=None)
@given(S=spots, m=moneyness, vol=vols, T=times, r=rates, q=rates)
def test_prices_lie_within_no_arbitrage_bounds(
    S: float, m: float, vol: float, T: float, r: float, q: float
) -> None:
    K = S * math.exp((r - q) * T + m * vol * math.sqrt(T))
    c, p = price(model="bsm", S=S, K=K, T=T, r=r, q=q, sigma=vol, is_call=[True, False])
    fs, fk = S * math.exp(-q * T), K * math.exp(-r * T)
    tol = 1e-13 * max(fs, fk)
    assert max(fs - fk, 0.0) - tol <= c <= fs + tol
    assert max(fk - fs, 0.0) - tol <= p <= fk + tol


@settings(max_examples=200, deadline=None)
@given(
    S=spots, m=moneyness, vol=vols, dv=st.floats(1e-4, 1.0), T=times, r=rates, call=st.booleans()
)
def test_price_increases_with_vol(
    S: float, m: float, vol: float, dv: float, T: float, r: float, call: bool
) -> None:
    K = S * math.exp(m * vol * math.sqrt(T))
    lo, hi = price(model="black76", S=S, K=K, T=T, r=r, sigma=[vol, vol + dv], is_call=call)
    assert hi >= lo * (1.0 - 1e-14)


@settings(max_examples=200, deadline=None)
@given(
    S=spots,
    m=moneyness,
    vol=vols,
    T=times,
    dT=st.floats(1e-3, 5.0),
    r=st.floats(0.0, 0.12),
    call=st.booleans(),
)
def test_price_increases_with_time_without_carry_losses(
    S: float, m: float, vol: float, T: float, dT: float, r: float, call: bool
) -> None:
    # Undiscounted Black-76 (r = 0) and BSM calls without dividends (r >= 0) gain with maturity.
    K = S * math.exp(m * vol * math.sqrt(T))
    a, b = price(model="black76", S=S, K=K, T=[T, T + dT], r=0.0, sigma=vol, is_call=call)
    assert b >= a * (1.0 - 1e-14)
    c1, c2 = price(model="bsm", S=S, K=K, T=[T, T + dT], r=r, q=0.0, sigma=vol, is_call=True)
    assert c2 >= c1 * (1.0 - 1e-14)


def _fd_greeks(
    model: str, S: float, K: float, T: float, r: float, q: float, v: float, call: bool
) -> dict[str, float]:
    """Five-point central differences of the public API (no analytic input)."""

    def g(name: str, **bump: float) -> float:
        args = {"S": S, "K": K, "T": T, "r": r, "q": q, "sigma": v} | bump
        return float(greeks(model=model, is_call=call, which=[name], **args)[name])  # type: ignore[arg-type]

    width = v * math.sqrt(T) * (1.0 if model == "bachelier" else S)  # natural scale in S
    hs = 1e-3 * width
    hv = 1e-4 * v
    ht = 1e-4 * T
    hr = 1e-5

    def d(name: str, field: str, h: float) -> float:
        # five-point stencil: truncation O(h**4), so a deep out-of-the-money option (where the
        # third derivative is large next to the first) does not fail on the differencing error
        base = {"S": S, "T": T, "sigma": v, "r": r, "q": q}[field]
        at = [g(name, **{field: base + k * h}) for k in (-2, -1, 1, 2)]
        return (at[0] - 8.0 * at[1] + 8.0 * at[2] - at[3]) / (12.0 * h)

    day = 1.0 / 365.0
    return {
        "delta": d("price", "S", hs),
        "gamma": d("delta", "S", hs),
        "vega": d("price", "sigma", hv) * 0.01,
        "theta": -d("price", "T", ht) * day,
        "rho": d("price", "r", hr) * 0.01,
        "phi": d("price", "q", hr) * 0.01,
        "vanna": d("delta", "sigma", hv) * 0.01,
        "volga": d("vega", "sigma", hv) * 0.01,
        "charm": -d("delta", "T", ht) * day,
        "speed": d("gamma", "S", hs),
        "color": -d("gamma", "T", ht) * day,
        "zomma": d("gamma", "sigma", hv) * 0.01,
        "veta": -d("vega", "T", ht) * day,
    }


@pytest.mark.parametrize("model", ["bsm", "black76", "bachelier"])
@settings(max_examples=40, deadline=None)
@given(
    S=st.floats(20.0, 500.0),
    m=st.floats(-2.0, 2.0),
    v=st.floats(0.05, 1.0),
    T=st.floats(0.05, 5.0),
    r=rates,
    q=rates,
    call=st.booleans(),
)
def test_analytic_greeks_match_finite_differences(
    model: str, S: float, m: float, v: float, T: float, r: float, q: float, call: bool
) -> None:
    if model == "bachelier":
        v = v * S
        K = S + m * v * math.sqrt(T)
    else:
        K = S * math.exp(m * v * math.sqrt(T))
    analytic = greeks(model=model, S=S, K=K, T=T, r=r, q=q, sigma=v, is_call=call)
    numeric = _fd_greeks(model, S, K, T, r, q, v, call)
    # Each Greek is the derivative of a parent along one input; near a zero crossing compare
    # against the parent's size over that input's natural scale (the differencing error scale).
    width = v * math.sqrt(T) * (1.0 if model == "bachelier" else S)
    unit = {"S": 1.0, "sigma": 0.01, "T": 1.0 / 365.0, "r": 0.01, "q": 0.01}
    scale = {"S": width, "sigma": v, "T": T, "r": 1.0 / max(T, 1.0), "q": 1.0 / max(T, 1.0)}
    parent = {
        "delta": ("price", "S"),
        "gamma": ("delta", "S"),
        "vega": ("price", "sigma"),
        "theta": ("price", "T"),
        "rho": ("price", "r"),
        "phi": ("price", "q"),
        "vanna": ("delta", "sigma"),
        "volga": ("vega", "sigma"),
        "charm": ("delta", "T"),
        "speed": ("gamma", "S"),
        "color": ("gamma", "T"),
        "zomma": ("gamma", "sigma"),
        "veta": ("vega", "T"),
    }
    for name, fd in numeric.items():
        base, along = parent[name]
        size = abs(float(analytic[base])) / scale[along] * unit[along]
        assert float(analytic[name]) == pytest.approx(fd, rel=1e-5, abs=1e-5 * size), name


def test_greeks_of_a_vector_equal_those_of_its_elements() -> None:
    rng = np.random.default_rng(2)
    S = rng.uniform(50, 150, 7)
    vec = greeks(model="bsm", S=S, K=100.0, T=0.7, r=0.02, q=0.01, sigma=0.3, is_call=False)
    for i in range(7):
        one = greeks(
            model="bsm", S=float(S[i]), K=100.0, T=0.7, r=0.02, q=0.01, sigma=0.3, is_call=False
        )
        for k in GREEK_NAMES:
            assert vec[k][i] == float(one[k])
