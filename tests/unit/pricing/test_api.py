"""The public pricing surface: names, keyword-only signatures, broadcasting, errors, edge cases."""

from __future__ import annotations

import inspect
import math

import numpy as np
import pytest

import riskdesk.pricing as pricing
from riskdesk.pricing import AMERICAN_ENGINES, GREEK_NAMES, MODELS, greeks, implied_vol, price

BASE = {"S": 100.0, "K": 105.0, "T": 0.5, "r": 0.03, "q": 0.01, "sigma": 0.25, "is_call": True}


def test_exported_names_are_exactly_the_public_surface() -> None:
    assert sorted(pricing.__all__) == sorted(
        [
            "price",
            "greeks",
            "implied_vol",
            "ImpliedVolResult",
            "GREEK_NAMES",
            "MODELS",
            "AMERICAN_ENGINES",
            "SliceQuotes",
            "SurfaceStatus",
            "SviFitError",
            "SviSlice",
            "VolSurface",
            "arbitrage_diagnostics",
            "build_surface",
            "fit_svi",
        ]
    )
    for name in pricing.__all__:
        assert getattr(pricing, name) is not None


def test_constants_list_models_engines_and_greeks() -> None:
    assert MODELS == ("bsm", "black76", "bachelier", "american")
    assert "high_accuracy" in AMERICAN_ENGINES
    assert "bjerksund_stensland_2002" in AMERICAN_ENGINES
    assert GREEK_NAMES == (
        "price", "delta", "gamma", "vega", "theta", "rho", "phi",
        "vanna", "volga", "charm", "speed", "color", "zomma", "veta",
    )  # fmt: skip


@pytest.mark.parametrize("fn", [price, greeks, implied_vol])
def test_public_functions_take_keyword_arguments_only(fn: object) -> None:
    params = inspect.signature(fn).parameters.values()  # type: ignore[arg-type]
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in params)
    with pytest.raises(TypeError):
        fn("bsm")  # type: ignore[operator]


def test_scalar_inputs_give_zero_dimensional_float64_array() -> None:
    value = price(model="bsm", **BASE)
    assert isinstance(value, np.ndarray)
    assert value.shape == ()
    assert value.dtype == np.float64


def test_broadcasting_gives_the_broadcast_shape_and_elementwise_values() -> None:
    K = np.array([90.0, 100.0, 110.0])[:, None]
    T = np.array([0.25, 1.0])
    grid = price(model="bsm", S=100.0, K=K, T=T, r=0.03, q=0.0, sigma=0.2, is_call=True)
    assert grid.shape == (3, 2)
    for i in range(3):
        for j in range(2):
            one = price(
                model="bsm",
                S=100.0,
                K=float(K[i, 0]),
                T=float(T[j]),
                r=0.03,
                q=0.0,
                sigma=0.2,
                is_call=True,
            )
            assert grid[i, j] == float(one)


def test_non_contiguous_and_integer_inputs_are_accepted() -> None:
    S = np.linspace(80.0, 120.0, 10)[::2]
    ints = price(
        model="bsm", S=S, K=100, T=1, r=0, q=0, sigma=0.2, is_call=np.array([1, 0, 1, 0, 1])
    )
    floats = price(
        model="bsm",
        S=S.copy(),
        K=100.0,
        T=1.0,
        r=0.0,
        q=0.0,
        sigma=0.2,
        is_call=np.array([True, False] * 2 + [True]),
    )
    np.testing.assert_array_equal(ints, floats)


def test_empty_inputs_give_empty_outputs() -> None:
    assert price(model="bsm", **{**BASE, "S": np.array([])}).shape == (0,)
    assert implied_vol(
        model="bsm", price=np.array([]), S=1.0, K=1.0, T=1.0, r=0.0, is_call=True
    ).iv.shape == (0,)


def test_greeks_which_selects_and_orders_names() -> None:
    g = greeks(model="bsm", which=["rho", "price", "rho"], **BASE)
    assert list(g) == ["rho", "price"]
    full = greeks(model="bsm", **BASE)
    assert list(full) == list(GREEK_NAMES)
    assert float(g["rho"]) == float(full["rho"])


def test_greeks_which_with_unknown_name_raises() -> None:
    with pytest.raises(ValueError, match="unknown Greek 'epsilon'"):
        greeks(model="bsm", which=["delta", "epsilon"], **BASE)


@pytest.mark.parametrize("model", ["bsm", "black76", "bachelier"])
def test_fused_subset_equals_full_set(model: str) -> None:
    five = ("price", "delta", "gamma", "vega", "theta", "rho")
    a = greeks(model=model, which=five, **BASE)
    b = greeks(model=model, **BASE)
    for k in five:
        assert float(a[k]) == float(b[k])


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("S", [100.0, -1.0], r"S\[1\] = -1.0 is invalid: must be finite and > 0"),
        ("K", [100.0, 0.0], r"K\[1\] = 0.0 is invalid: must be finite and > 0"),
        ("T", [-0.1, 1.0], r"T\[0\] = -0.1 is invalid: must be finite and >= 0"),
        ("sigma", [0.2, math.nan], r"sigma\[1\] = nan is invalid: must be finite and >= 0"),
        ("r", [0.01, math.inf], r"r\[1\] = inf is invalid: must be finite"),
        ("q", [math.nan, 0.0], r"q\[0\] = nan is invalid: must be finite"),
    ],
)
def test_invalid_input_raises_naming_field_index_value_and_rule(
    field: str, value: list[float], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        price(model="bsm", **{**BASE, field: value})
    with pytest.raises(ValueError, match=message):
        greeks(model="bsm", **{**BASE, field: value})


def test_invalid_input_in_a_grid_reports_the_multi_index() -> None:
    sigma = np.full((2, 3), 0.2)
    sigma[1, 2] = -0.5
    with pytest.raises(ValueError, match=r"sigma\[1, 2\] = -0.5"):
        price(model="bsm", **{**BASE, "sigma": sigma})


def test_black76_names_s_as_the_forward_in_errors() -> None:
    with pytest.raises(ValueError, match=r"S \(the forward\) = -2.0"):
        price(model="black76", **{**BASE, "S": -2.0})


def test_bachelier_accepts_negative_spot_and_strike() -> None:
    value = price(model="bachelier", S=-1.0, K=-0.5, T=1.0, r=0.0, q=0.0, sigma=0.4, is_call=False)
    assert float(value) > 0.5


def test_unknown_model_or_engine_raises() -> None:
    with pytest.raises(ValueError, match="model='heston' is not supported"):
        price(model="heston", **BASE)
    with pytest.raises(ValueError, match="engine='crr'"):
        price(model="american", engine="crr", **BASE)
    with pytest.raises(ValueError, match="applies only to model='american'"):
        price(model="bsm", engine="high_accuracy", **BASE)


def test_is_call_must_be_boolean() -> None:
    with pytest.raises(ValueError, match="is_call must be bool"):
        price(model="bsm", **{**BASE, "is_call": "call"})
    with pytest.raises(ValueError, match="is_call must be bool"):
        price(model="bsm", **{**BASE, "is_call": 2})


def test_shapes_that_do_not_broadcast_raise() -> None:
    with pytest.raises(ValueError, match="do not broadcast"):
        price(model="bsm", **{**BASE, "S": [1.0, 2.0], "K": [1.0, 2.0, 3.0]})


@pytest.mark.parametrize("model", ["bsm", "black76", "bachelier"])
def test_expiry_gives_intrinsic_value_and_greeks_of_the_intrinsic(model: str) -> None:
    g = greeks(
        model=model,
        S=[110.0, 90.0, 110.0, 90.0],
        K=100.0,
        T=0.0,
        r=0.05,
        q=0.02,
        sigma=0.3,
        is_call=[True, True, False, False],
    )
    assert g["price"].tolist() == [10.0, 0.0, 0.0, 10.0]
    assert g["delta"].tolist() == [1.0, 0.0, 0.0, -1.0]
    for name in GREEK_NAMES[2:]:
        assert np.all(g[name] == 0.0), name


def test_zero_vol_gives_discounted_forward_intrinsic() -> None:
    S, K, T, r, q = 100.0, 95.0, 2.0, 0.05, 0.01
    F = S * math.exp((r - q) * T)
    g = greeks(model="bsm", S=S, K=K, T=T, r=r, q=q, sigma=0.0, is_call=[True, False])
    assert g["price"][0] == pytest.approx(math.exp(-r * T) * (F - K), rel=1e-15)
    assert g["price"][1] == 0.0
    assert g["delta"][0] == pytest.approx(math.exp(-q * T), rel=1e-15)
    assert g["gamma"].tolist() == [0.0, 0.0]
    assert g["vega"].tolist() == [0.0, 0.0]
    # theta of the deterministic payoff: -(1/365) d/dT [S e^{-qT} - K e^{-rT}]
    assert g["theta"][0] == pytest.approx(
        -(-q * S * math.exp(-q * T) + r * K * math.exp(-r * T)) / 365, rel=1e-13
    )
    # and the limit of small vol agrees
    small = greeks(model="bsm", S=S, K=K, T=T, r=r, q=q, sigma=1e-9, is_call=True)
    for name in GREEK_NAMES:
        assert float(small[name]) == pytest.approx(g[name][0], rel=1e-9, abs=1e-12), name


def test_implied_vol_never_raises_for_bad_elements() -> None:
    res = implied_vol(
        model="bsm",
        price=[1.0, math.nan, 1.0, 1.0, 1.0],
        S=[10.0, 10.0, -10.0, 10.0, 10.0],
        K=[10.0, 10.0, 10.0, 10.0, 10.0],
        T=[1.0, 1.0, 1.0, math.inf, 1.0],
        r=[0.0, 0.0, 0.0, 0.0, math.nan],
        is_call=True,
    )
    assert res.status.tolist() == ["ok"] + ["invalid_input"] * 4
    assert np.isnan(res.iv[1:]).all()


def test_american_dispatch_uses_the_engine_names() -> None:
    default = price(model="american", **{**BASE, "is_call": False})
    alias = price(model="american", engine="alo_qdplus", **{**BASE, "is_call": False})
    bs = price(model="american", engine="bjerksund_stensland_2002", **{**BASE, "is_call": False})
    euro = price(model="bsm", **{**BASE, "is_call": False})
    assert float(default) == float(alias)
    assert float(default) >= float(euro)
    assert float(bs) >= float(euro)
    with pytest.raises(ValueError, match=r"S\[0\] = -1.0"):
        price(model="american", **{**BASE, "S": [-1.0]})
