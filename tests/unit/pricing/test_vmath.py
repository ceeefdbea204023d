"""Branch-free vector elementary functions: accuracy against mpmath and packed machine code."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

import mpmath
import numpy as np
import pytest
from numba import njit
from numba.core import config

from riskdesk.pricing._vmath import verfc, verfcx, vexp, vlog, vncdf

_TINY = 2.2250738585072014e-308
_RNG = np.random.default_rng(20240611)


_LOOPS: dict[str, Any] = {}


def _loop(f: Callable[[float], float]) -> Any:
    """One compiled ``out[i] = f(x[i])`` loop per function, shared by all tests."""
    name = f.__name__  # type: ignore[attr-defined]
    if name not in _LOOPS:

        @njit
        def loop(x: np.ndarray, out: np.ndarray) -> None:
            for i in range(x.size):
                out[i] = f(x[i])

        _LOOPS[name] = loop
    return _LOOPS[name]


def _apply(f: Callable[[float], float], xs: np.ndarray) -> np.ndarray:
    out = np.empty_like(xs)
    _loop(f)(xs, out)
    return out


def _ulps(got: float, ref: mpmath.mpf) -> float:
    r = float(ref)
    if math.isinf(r) or r == 0.0:
        return 0.0 if got == r else math.inf
    spacing = math.ulp(r) if abs(r) >= _TINY else 5e-324
    return float(abs(mpmath.mpf(got) - ref) / spacing)


def _max_ulps(
    f: Callable[[float], float], ref: Callable[[mpmath.mpf], mpmath.mpf], xs: np.ndarray
) -> tuple[float, float]:
    got = _apply(f, xs)
    with mpmath.workdps(50):
        errs = [_ulps(float(g), ref(mpmath.mpf(float(x)))) for g, x in zip(got, xs, strict=True)]
    i = int(np.argmax(errs))
    return errs[i], float(xs[i])


def _near(points: list[float], k: int = 3) -> np.ndarray:
    """Each point and its k neighbours in ulps on both sides."""
    out = []
    for p in points:
        v = p
        for _ in range(k):
            v = math.nextafter(v, -math.inf)
        for _ in range(2 * k + 1):
            out.append(v)
            v = math.nextafter(v, math.inf)
    return np.array(out)


def _signed_logspace(lo: float, hi: float, n: int) -> np.ndarray:
    mags = np.exp(_RNG.uniform(math.log(lo), math.log(hi), n))
    return mags * _RNG.choice([-1.0, 1.0], n)


def _erfcx(x: mpmath.mpf) -> mpmath.mpf:
    if x > 1e6:  # mpmath's erfc cannot take huge arguments; the asymptotic series is exact here
        w = 1 / (2 * x * x)
        return (1 - w + 3 * w * w) / (x * mpmath.sqrt(mpmath.pi))
    return mpmath.exp(x * x) * mpmath.erfc(x)


def test_vexp_with_full_domain_sweep_within_one_ulp() -> None:
    xs = np.concatenate(
        [
            _RNG.uniform(-745.2, 709.79, 1200),
            _signed_logspace(1e-300, 700.0, 600),
            _near([709.782712893384, -708.3964185322641, -745.1332191019411, 0.0, 1.0]),
            np.array([5e-324, -5e-324, 1e-310, -744.44, -745.13, -740.0]),
        ]
    )
    err, at = _max_ulps(vexp, mpmath.exp, xs)
    assert err <= 1.0, f"vexp: {err:.2f} ulp at x={at!r}"


def test_vlog_with_full_domain_sweep_within_one_ulp() -> None:
    xs = np.concatenate(
        [
            np.exp(_RNG.uniform(-744.0, 709.7, 1200)),
            _RNG.uniform(0.5, 2.0, 600),
            _near([1.0, math.sqrt(0.5), math.sqrt(2.0), _TINY, 1.7976931348623157e308], 2),
            np.array([5e-324, 1e-320, 3e-310]),
        ]
    )
    xs = xs[(xs > 0) & np.isfinite(xs)]
    err, at = _max_ulps(vlog, mpmath.log, xs)
    assert err <= 1.0, f"vlog: {err:.2f} ulp at x={at!r}"


_ERF_SWITCHES = [0.25, 0.84375, 1.25, 1 / 0.35]


def test_verfc_with_full_domain_sweep_within_four_ulp() -> None:
    switches = _ERF_SWITCHES + [-s for s in _ERF_SWITCHES]
    xs = np.concatenate(
        [
            _RNG.uniform(-6.0, 27.3, 1000),
            _signed_logspace(1e-300, 27.0, 400),
            _near([*switches, 26.5, 26.55, 27.2, 0.0]),
            np.array([5e-324, -5e-324, 1e-310]),
        ]
    )
    err, at = _max_ulps(verfc, mpmath.erfc, xs)
    assert err <= 4.0, f"verfc: {err:.2f} ulp at x={at!r}"


def test_vncdf_with_both_tails_within_four_ulp() -> None:
    switches = [s * math.sqrt(2.0) for s in _ERF_SWITCHES]
    xs = np.concatenate(
        [
            _RNG.uniform(-38.5, 9.0, 1000),
            _signed_logspace(1e-300, 38.4, 400),
            _near([*switches, *(-s for s in switches), -37.5, -38.4, 0.0]),
        ]
    )
    err, at = _max_ulps(vncdf, mpmath.ncdf, xs)
    assert err <= 4.0, f"vncdf: {err:.2f} ulp at x={at!r}"


def test_verfcx_with_full_domain_sweep_within_four_ulp() -> None:
    xs = np.concatenate(
        [
            _RNG.uniform(-26.5, 30.0, 700),
            np.exp(_RNG.uniform(-690.0, 690.0, 300)),
            _near(_ERF_SWITCHES + [-s for s in _ERF_SWITCHES]),
        ]
    )
    err, at = _max_ulps(verfcx, _erfcx, xs)
    assert err <= 4.0, f"verfcx: {err:.2f} ulp at x={at!r}"


@pytest.mark.parametrize(
    ("f", "x", "expected"),
    [
        (vexp, math.inf, math.inf),
        (vexp, -math.inf, 0.0),
        (vexp, 709.8, math.inf),
        (vexp, -745.2, 0.0),
        (vexp, 0.0, 1.0),
        (vexp, -0.0, 1.0),
        (vlog, 0.0, -math.inf),
        (vlog, -0.0, -math.inf),
        (vlog, -1.0, math.nan),
        (vlog, -math.inf, math.nan),
        (vlog, math.inf, math.inf),
        (vlog, 1.0, 0.0),
        (verfc, math.inf, 0.0),
        (verfc, -math.inf, 2.0),
        (verfc, 27.3, 0.0),
        (verfc, 0.0, 1.0),
        (verfcx, math.inf, 0.0),
        (verfcx, -27.0, math.inf),
        (verfcx, 0.0, 1.0),
        (vncdf, -math.inf, 0.0),
        (vncdf, math.inf, 1.0),
        (vncdf, -38.6, 0.0),
        (vncdf, 0.0, 0.5),
    ],
)
def test_special_value_with_edge_input_matches_c99(
    f: Callable[[float], float], x: float, expected: float
) -> None:
    got = float(_apply(f, np.array([x]))[0])
    if math.isnan(expected):
        assert math.isnan(got)
    else:
        assert got == expected


@pytest.mark.parametrize("f", [vexp, vlog, verfc, verfcx, vncdf])
def test_nan_with_any_function_propagates(f: Callable[[float], float]) -> None:
    assert math.isnan(float(_apply(f, np.array([math.nan]))[0]))


def test_vexp_with_subnormal_results_rounds_once() -> None:
    xs = np.array([-745.1, -744.0, -740.0, -720.0, -709.0])
    got = _apply(vexp, xs)
    with mpmath.workdps(50):
        want = [float(mpmath.exp(mpmath.mpf(float(x)))) for x in xs]
    assert got.tolist() == want


def _host_features() -> set[str]:
    import llvmlite.binding as llvm

    feats = llvm.get_host_cpu_features()
    return {name for name, on in feats.items() if on}


def _packed_kernel(f: Callable[[float], float]) -> str:
    _apply(f, np.linspace(-3.0, 3.0, 64))
    kernel = _loop(f)
    return str(kernel.inspect_asm(kernel.signatures[0]))


@pytest.mark.parametrize("f", [vexp, vlog, verfc, verfcx, vncdf])
def test_loop_with_vector_function_compiles_to_packed_code(
    f: Callable[[float], float],
) -> None:
    feats = _host_features()
    cpu = getattr(config, "CPU_NAME", None)
    if cpu not in (None, "host") or "avx2" not in feats:
        pytest.skip(f"needs a host CPU with AVX2 (numba cpu={cpu}, avx2={'avx2' in feats})")
    asm = _packed_kernel(f)
    packed = re.findall(r"\bv(?:mul|add|sub|fmadd\w*|fmsub\w*|fnmadd\w*)pd\s+[^\n]*%[yz]mm", asm)
    assert len(packed) >= 8, f"{f.__name__}: no packed ymm/zmm arithmetic in the loop"
    libm = re.findall(r"call\w*\s+[^\n]*\b(?:exp|log|erfc?)\w*", asm)
    assert not libm, f"{f.__name__}: libm calls remain: {libm[:3]}"
