"""European prices and Greeks against the 60-digit mpmath reference (tests/reference/mp_black.py).

Tolerances (issue 3): prices 1e-12 relative, every Greek 1e-9 relative.  Relative error is taken
against ``max(|reference|, floor)`` with ``floor = 1e-280 * scale**k`` where ``scale`` is the
forward (``max(|F|, |K|)`` for Bachelier) and ``k`` the power of the underlying in the Greek's
unit (price, vega, theta, rho, phi, volga, veta: 1; delta, vanna, charm: 0; gamma, color, zomma:
-1; speed: -2).  Values below the floor (options worth less than 1e-280 of the forward) are not
representable to relative accuracy in doubles near the underflow threshold and only have to be
that small in absolute terms.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from riskdesk.pricing import GREEK_NAMES, greeks


def _load(name: str) -> ModuleType:
    path = Path(__file__).resolve().parents[2] / "reference" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"_riskdesk_ref_{name}", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


REF = _load("mp_black")
CASES = _load("cases")

PRICE_TOL = 1e-12
GREEK_TOL = 1e-9
FLOOR = 1e-280
UNDERLYING_POWER = {
    "price": 1,
    "delta": 0,
    "gamma": -1,
    "vega": 1,
    "theta": 1,
    "rho": 1,
    "phi": 1,
    "vanna": 0,
    "volga": 1,
    "charm": 0,
    "speed": -2,
    "color": -1,
    "zomma": -1,
    "veta": 1,
}


def _worst_errors(model: str, n: int, seed: int) -> dict[str, tuple[float, int]]:
    cases = CASES.european_cases(model, n, seed)
    got = greeks(**cases.kwargs())
    scale = np.maximum(np.abs(cases.forward), np.abs(cases.K))
    if model == "bachelier":
        scale = np.maximum(scale, 1.0)
    worst: dict[str, tuple[float, int]] = {g: (0.0, -1) for g in GREEK_NAMES}
    for i in range(n):
        ref = REF.greeks(model, *cases.row(i))
        for g in GREEK_NAMES:
            floor = FLOOR * float(scale[i]) ** UNDERLYING_POWER[g]
            value = float(got[g][i])
            err = abs(value - float(ref[g])) / max(abs(float(ref[g])), floor)
            if not np.isfinite(value):
                err = np.inf
            if err > worst[g][0]:
                worst[g] = (err, i)
    return worst


def _assert_within(model: str, n: int, seed: int) -> None:
    worst = _worst_errors(model, n, seed)
    cases = CASES.european_cases(model, n, seed)
    failures = []
    for g, (err, i) in worst.items():
        tol = PRICE_TOL if g == "price" else GREEK_TOL
        if err > tol:
            failures.append(f"{g}: rel err {err:.2e} at case {i} {cases.row(i)}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("model", ["bsm", "black76", "bachelier"])
def test_prices_and_greeks_with_wide_random_cases_match_mpmath(model: str) -> None:
    _assert_within(model, n=400, seed=11)


@pytest.mark.slow
@pytest.mark.parametrize("model", ["bsm", "black76", "bachelier"])
@pytest.mark.parametrize("seed", [101, 202])
def test_prices_and_greeks_with_thousands_of_cases_match_mpmath(model: str, seed: int) -> None:
    _assert_within(model, n=2500, seed=seed)


@pytest.mark.parametrize("model", ["bsm", "black76", "bachelier"])
def test_reference_closed_forms_agree_with_numerical_differentiation(model: str) -> None:
    # The reference Greeks are textbook closed forms; check them against mpmath.diff of the
    # reference price (no shared derivation) on moderate cases.
    rng = np.random.default_rng(5)
    for _ in range(6):
        S = float(np.exp(rng.uniform(0.0, 5.0)))
        T = float(np.exp(rng.uniform(-8.0, 3.0)))
        vol = float(np.exp(rng.uniform(-4.0, 1.0)))
        r = float(rng.uniform(-0.05, 0.15))
        q = 0.0 if model == "black76" else float(rng.uniform(-0.05, 0.15))
        if model == "bachelier":
            vol *= S
            K = float(S + rng.uniform(-3.0, 3.0) * vol * np.sqrt(T))
        else:
            K = float(S * np.exp(rng.uniform(-3.0, 3.0) * vol * np.sqrt(T)))
        call = bool(rng.random() < 0.5)
        closed = REF.greeks(model, S, K, T, r, q, vol, call)
        numeric = REF.greeks_by_differentiation(model, S, K, T, r, q, vol, call)
        for g in GREEK_NAMES:
            assert abs(closed[g] - numeric[g]) <= 1e-25 * max(abs(numeric[g]), 1e-300), g


@pytest.mark.parametrize("model", ["bsm", "black76", "bachelier"])
def test_extreme_strikes_with_zero_or_equal_carry_keep_relative_accuracy(model: str) -> None:
    # q = 0 and q = r are the common cases where the carry terms of theta/rho cancel exactly
    # in textbook forms (deep in the money with K << F, or out of the money with F << K).
    rows = []
    for ratio in (1e-9, 1e-4, 0.5, 2.0, 1e4, 1e9):
        for q in (0.0, 0.04):
            for T in (1.0 / 8760.0, 1.0, 30.0):
                for vol in (0.01, 0.3, 3.0):
                    for call in (True, False):
                        S = 100.0
                        K = S * ratio
                        sigma = vol * S if model == "bachelier" else vol
                        rows.append((S, K, T, 0.04, 0.0 if model == "black76" else q, sigma, call))
    cols = list(zip(*rows, strict=True))
    got = greeks(
        model=model,
        S=np.array(cols[0]),
        K=np.array(cols[1]),
        T=np.array(cols[2]),
        r=np.array(cols[3]),
        q=np.array(cols[4]),
        sigma=np.array(cols[5]),
        is_call=np.array(cols[6]),
    )
    failures = []
    for i, row in enumerate(rows):
        ref = REF.greeks(model, *row)
        scale = max(abs(row[0]), abs(row[1]))
        for g in GREEK_NAMES:
            floor = FLOOR * scale ** UNDERLYING_POWER[g]
            err = abs(float(got[g][i]) - float(ref[g])) / max(abs(float(ref[g])), floor)
            if err > (PRICE_TOL if g == "price" else GREEK_TOL):
                failures.append(f"{g} {err:.1e} {row}")
    assert not failures, "\n".join(failures[:10])
