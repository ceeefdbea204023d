"""Escrowed-dividend model: spot reduced by the PV of cash dividends paid before expiry."""

from __future__ import annotations

import math

import numpy as np
import pytest

from riskdesk.pricing import GREEK_NAMES, greeks, implied_vol, price

S, K, T, R, Q, VOL = 100.0, 100.0, 1.0, 0.05, 0.01, 0.25
TIMES = np.array([0.25, 0.75, 1.5])
AMOUNTS = np.array([1.0, 1.5, 2.0])


def _pv(times: np.ndarray, amounts: np.ndarray, r: float, t: float) -> float:
    return float(sum(a * math.exp(-r * s) for s, a in zip(times, amounts, strict=True) if s < t))


@pytest.mark.parametrize("model", ["bsm", "bachelier", "american"])
def test_price_equals_model_on_escrowed_spot(model: str) -> None:
    vol = VOL * S if model == "bachelier" else VOL
    with_divs = price(
        model=model, S=S, K=K, T=T, r=R, q=Q, sigma=vol, is_call=False, dividends=(TIMES, AMOUNTS)
    )
    escrowed = S - _pv(TIMES, AMOUNTS, R, T)
    plain = price(model=model, S=escrowed, K=K, T=T, r=R, q=Q, sigma=vol, is_call=False)
    assert float(with_divs) == pytest.approx(float(plain), rel=1e-14)


def test_dividends_on_or_after_expiry_are_ignored() -> None:
    a = price(
        model="bsm", S=S, K=K, T=T, r=R, sigma=VOL, is_call=True, dividends=([1.0, 2.0], [5.0, 5.0])
    )
    b = price(model="bsm", S=S, K=K, T=T, r=R, sigma=VOL, is_call=True)
    assert float(a) == float(b)


def test_per_option_schedules_broadcast_against_options() -> None:
    times = np.array([[0.1, 0.2], [0.3, 5.0]])
    amounts = np.array([[1.0, 1.0], [2.0, 3.0]])
    got = price(
        model="bsm",
        S=[100.0, 90.0],
        K=95.0,
        T=1.0,
        r=R,
        sigma=VOL,
        is_call=True,
        dividends=(times, amounts),
    )
    for i, s in enumerate([100.0, 90.0]):
        ref = price(
            model="bsm",
            S=s - _pv(times[i], amounts[i], R, 1.0),
            K=95.0,
            T=1.0,
            r=R,
            sigma=VOL,
            is_call=True,
        )
        assert got[i] == pytest.approx(float(ref), rel=1e-15)


def _bumped(
    name: str, *, dS: float = 0.0, dr: float = 0.0, dt: float = 0.0, dv: float = 0.0
) -> float:
    # dt: calendar time passing -- expiry and every dividend date move closer together
    g = greeks(
        model="bsm",
        S=S + dS,
        K=K,
        T=T - dt,
        r=R + dr,
        q=Q,
        sigma=VOL + dv,
        is_call=True,
        dividends=(TIMES - dt, AMOUNTS),
        which=[name],
    )
    return float(g[name])


def test_greeks_are_with_respect_to_quoted_spot_rate_and_calendar_time() -> None:
    g = greeks(
        model="bsm", S=S, K=K, T=T, r=R, q=Q, sigma=VOL, is_call=True, dividends=(TIMES, AMOUNTS)
    )
    hs, hr, ht, hv = 1e-3, 1e-5, 1e-4, 1e-5
    fd = {
        "delta": (_bumped("price", dS=hs) - _bumped("price", dS=-hs)) / (2 * hs),
        "gamma": (_bumped("delta", dS=hs) - _bumped("delta", dS=-hs)) / (2 * hs),
        "rho": (_bumped("price", dr=hr) - _bumped("price", dr=-hr)) / (2 * hr) * 0.01,
        "theta": (_bumped("price", dt=ht) - _bumped("price", dt=-ht)) / (2 * ht) / 365,
        "charm": (_bumped("delta", dt=ht) - _bumped("delta", dt=-ht)) / (2 * ht) / 365,
        "color": (_bumped("gamma", dt=ht) - _bumped("gamma", dt=-ht)) / (2 * ht) / 365,
        "veta": (_bumped("vega", dt=ht) - _bumped("vega", dt=-ht)) / (2 * ht) / 365,
        "vanna": (_bumped("delta", dv=hv) - _bumped("delta", dv=-hv)) / (2 * hv) * 0.01,
    }
    for name, value in fd.items():
        assert float(g[name]) == pytest.approx(value, rel=2e-6, abs=1e-12), name
    assert set(g) == set(GREEK_NAMES)


def test_american_greeks_get_the_same_dividend_adjustment() -> None:
    g = greeks(
        model="american", S=S, K=K, T=T, r=R, q=Q, sigma=VOL, is_call=False,
        dividends=(TIMES, AMOUNTS), which=["rho", "theta"],
    )  # fmt: skip
    plain = greeks(
        model="american", S=S - _pv(TIMES, AMOUNTS, R, T), K=K, T=T, r=R, q=Q, sigma=VOL,
        is_call=False, which=["rho", "theta", "delta"],
    )  # fmt: skip
    dur = sum(a * t * math.exp(-R * t) for t, a in zip(TIMES, AMOUNTS, strict=True) if t < T)
    pv = _pv(TIMES, AMOUNTS, R, T)
    assert list(g) == ["rho", "theta"]
    assert float(g["rho"]) == pytest.approx(
        float(plain["rho"]) + float(plain["delta"]) * dur * 0.01, rel=1e-12
    )
    assert float(g["theta"]) == pytest.approx(
        float(plain["theta"]) - float(plain["delta"]) * R * pv / 365, rel=1e-12
    )


def test_implied_vol_with_dividends_round_trips() -> None:
    p = price(
        model="bsm",
        S=S,
        K=[90.0, 110.0],
        T=T,
        r=R,
        q=Q,
        sigma=VOL,
        is_call=True,
        dividends=(TIMES, AMOUNTS),
    )
    res = implied_vol(
        model="bsm",
        price=p,
        S=S,
        K=[90.0, 110.0],
        T=T,
        r=R,
        q=Q,
        is_call=True,
        dividends=(TIMES, AMOUNTS),
    )
    np.testing.assert_allclose(res.iv, VOL, atol=1e-13)


def test_dividends_with_black76_raise() -> None:
    with pytest.raises(ValueError, match="do not apply to model='black76'"):
        price(
            model="black76", S=S, K=K, T=T, r=R, sigma=VOL, is_call=True, dividends=(TIMES, AMOUNTS)
        )


@pytest.mark.parametrize(
    ("times", "amounts", "message"),
    [
        ([-0.1], [1.0], r"dividend times\[0\] = -0.1 is invalid"),
        ([0.1, 0.2], [1.0, math.nan], r"dividend amounts\[1\] = nan is invalid"),
        ([0.1, 0.2], [1.0, 2.0, 3.0], "do not broadcast"),
        (0.1, 1.0, "last axis indexes the dividends"),
    ],
)
def test_malformed_dividends_raise(times: object, amounts: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        price(model="bsm", S=S, K=K, T=T, r=R, sigma=VOL, is_call=True, dividends=(times, amounts))  # type: ignore[arg-type]


def test_dividends_exceeding_the_spot_raise_naming_the_escrowed_spot() -> None:
    with pytest.raises(
        ValueError, match=r"S\[1\] = 5.0 is invalid with these dividends: the escrowed spot"
    ):
        price(
            model="bsm",
            S=[100.0, 5.0],
            K=K,
            T=T,
            r=R,
            sigma=VOL,
            is_call=True,
            dividends=([0.5], [6.0]),
        )
    res = implied_vol(
        model="bsm", price=1.0, S=5.0, K=K, T=T, r=R, is_call=True, dividends=([0.5], [6.0])
    )
    assert str(res.status) == "invalid_input"
