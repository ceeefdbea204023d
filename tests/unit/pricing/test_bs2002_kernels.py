"""BS2002 kernels: the fixed-correlation bivariate normal, the shared normal cdfs, packed code."""

from __future__ import annotations

import math
import re

import mpmath
import numpy as np
import pytest
from numba import njit
from numba.core import config

from riskdesk.pricing import _american_bs2002 as bs
from riskdesk.pricing._american_math import bvn_cdf, fast_norm_cdf, fast_norm_cdf_pair

_RNG = np.random.default_rng(20261201)


@njit(cache=True)
def _fixed_and_genz(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, ...]:
    """``M(a, b, +-rho)`` by the BS2002 fixed-node rule and by Genz's general routine."""
    n = a.size
    pos, pos_genz = np.empty(n), np.empty(n)
    neg, neg_genz = np.empty(n), np.empty(n)
    for i in range(n):
        pa, _ = fast_norm_cdf_pair(a[i])
        pb, pnb = fast_norm_cdf_pair(b[i])
        pos[i] = bs._bvn_signed_pre(a[i], b[i], pa, pb, pnb, False)
        neg[i] = bs._bvn_signed_pre(a[i], b[i], pa, pb, pnb, True)
        pos_genz[i] = bvn_cdf(a[i], b[i], bs._RHO)
        neg_genz[i] = bvn_cdf(a[i], b[i], -bs._RHO)
    return pos, pos_genz, neg, neg_genz


@njit(cache=True)
def _pairs(x: np.ndarray) -> tuple[np.ndarray, ...]:
    n = x.size
    got_p, got_m, want_p, want_m = np.empty(n), np.empty(n), np.empty(n), np.empty(n)
    for i in range(n):
        got_p[i], got_m[i] = fast_norm_cdf_pair(x[i])
        want_p[i] = fast_norm_cdf(x[i])
        want_m[i] = fast_norm_cdf(-x[i])
    return got_p, got_m, want_p, want_m


def test_fast_norm_cdf_pair_with_both_signs_equals_two_fast_norm_cdf_calls_bit_for_bit() -> None:
    x = np.concatenate(
        [
            _RNG.normal(0.0, 4.0, 20_000),
            np.array([0.0, -0.0, 1e-300, -1e-300, 8.0, -8.0, 11.3, -11.3, 40.0, -40.0]),
        ]
    )

    got_p, got_m, want_p, want_m = _pairs(x)

    assert np.array_equal(got_p, want_p)
    assert np.array_equal(got_m, want_m)


def test_fixed_node_bvn_with_bs2002_argument_range_matches_genz_within_2e_15() -> None:
    # BS2002 evaluates M(a, b, +-sqrt(t1/T)) for |a|, |b| <= 8.3 (beyond, cut-offs apply)
    a = np.concatenate([_RNG.uniform(-8.3, 8.3, 20_000), np.linspace(-9.0, 9.0, 61)])
    b = np.concatenate([_RNG.uniform(-8.3, 8.3, 20_000), np.linspace(9.0, -9.0, 61)])

    pos, pos_genz, neg, neg_genz = _fixed_and_genz(a, b)

    assert np.max(np.abs(pos - pos_genz)) <= 2e-15
    assert np.max(np.abs(neg - neg_genz)) <= 2e-15


def _mp_bvn(a: float, b: float, rho: float) -> float:
    """``M(a, b, rho) = int_{-inf}^a phi(x) Phi((b - rho x) / sqrt(1 - rho^2)) dx`` (30 digits)."""
    with mpmath.workdps(30):
        s = mpmath.sqrt(1 - mpmath.mpf(rho) ** 2)
        value = mpmath.quad(
            lambda x: mpmath.npdf(x) * mpmath.ncdf((b - rho * x) / s), [-mpmath.inf, a]
        )
    return float(value)


@pytest.mark.parametrize(
    ("a", "b"),
    [(-8.0, -8.0), (-6.0, -7.0), (-3.0, -3.0), (-1.0, 2.0), (0.0, 0.0), (2.0, -4.0), (1.0, 1.0)],
)
def test_fixed_node_bvn_with_positive_rho_matches_mpmath_relatively(a: float, b: float) -> None:
    want = _mp_bvn(a, b, bs._RHO)

    got = bs._bvn_rho(a, b)

    # relative accuracy matters: BS2002 multiplies these by powers (I/S)^kappa
    assert abs(got - want) <= 1e-11 * want


def _host_avx2() -> bool:
    import llvmlite.binding as llvm  # type: ignore[import-untyped]

    feats = llvm.get_host_cpu_features()
    return bool(feats.get("avx2")) and getattr(config, "CPU_NAME", None) in (None, "host")


def test_fixed_node_quadrature_compiles_to_packed_code_without_libm_exp() -> None:
    if not _host_avx2():
        pytest.skip("needs a host CPU with AVX2")
    # the cached kernel cannot be inspected: compile the same function with the same flags
    kernel = njit(nogil=True, error_model="numpy", fastmath={"reassoc", "contract"})(
        bs._dw_sum.py_func
    )
    assert math.isfinite(kernel(0.5, 1.0))

    asm = str(kernel.inspect_asm(kernel.signatures[0]))

    packed = re.findall(r"\bv(?:mul|add|sub|fmadd\w*|fmsub\w*|fnmadd\w*)pd\s+[^\n]*%[yz]mm", asm)
    assert len(packed) >= 8, "the 12-node rule holds no packed ymm/zmm arithmetic"
    libm = re.findall(r"call\w*\s+[^\n]*\bexp\w*", asm)
    assert not libm, f"libm exp calls remain: {libm[:3]}"
