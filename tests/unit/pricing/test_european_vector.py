"""Vectorized European block path: agreement with the scalar element path and packed machine code."""

from __future__ import annotations

import re

import numpy as np
import pytest
from numba import njit
from numba.core import config

from riskdesk.pricing import _european as eu

_RNG = np.random.default_rng(20240611)


def _inputs(n: int) -> dict[str, np.ndarray]:
    """Random options plus the lanes the block path hands to the scalar pass."""
    S = _RNG.uniform(50.0, 150.0, n)
    K = S * np.exp(_RNG.uniform(-1.5, 1.5, n))
    T = np.exp(_RNG.uniform(np.log(1.0 / 8760.0), np.log(30.0), n))
    sigma = np.exp(_RNG.uniform(np.log(0.005), np.log(3.0), n))
    T[::97] = 0.0  # expiry
    sigma[5::89] = 0.0  # zero vol
    K[7::53] = S[7::53] * np.exp(-12.0)  # deep in the money: cancelling two-term value
    sigma[11::41] = 1e-4  # tiny total vol near the money
    is_call = _RNG.random(n) < 0.5
    return {"S": S, "K": K, "T": T, "sigma": sigma, "is_call": is_call}


def _scalar_reference(
    model: int, x: dict[str, np.ndarray], r: float, q: float, slots: np.ndarray, rows: int
) -> np.ndarray:
    """Each element through :func:`riskdesk.pricing._european._black_element` alone."""
    n = x["S"].size
    out = np.full((rows, n), np.nan)
    for i in range(n):
        eu._black_element(
            float(x["S"][i]),
            float(x["K"][i]),
            float(x["T"][i]),
            r,
            q,
            float(x["sigma"][i]),
            bool(x["is_call"][i]),
            model == eu.MODEL_BLACK76,
            slots,
            out,
            i,
            True,
        )
    return out


def _kernel(
    model: int, x: dict[str, np.ndarray], r: float, q: float, slots: np.ndarray, rows: int
) -> np.ndarray:
    n = x["S"].size
    out = np.full((rows, n), np.nan)
    # r and q as broadcast scalars (stride 0), the rest as arrays
    strides = np.array([1, 1, 1, 0, 0, 1, 1], dtype=np.int64)
    bad = eu.european_kernel_serial(
        model,
        x["S"],
        x["K"],
        x["T"],
        np.array([r]),
        np.array([q]),
        x["sigma"],
        x["is_call"],
        strides,
        slots,
        out,
        n,
        1,
    )
    assert int(bad[0, 0]) == -1
    return out


@pytest.mark.parametrize("model", [eu.MODEL_BSM, eu.MODEL_BLACK76])
@pytest.mark.parametrize(
    "which",
    [("price",), ("price", "delta", "gamma", "vega", "theta", "rho"), ("gamma", "vanna"), None],
)
def test_block_path_with_mixed_lanes_matches_scalar_elements(
    model: int, which: tuple[str, ...] | None
) -> None:
    names = eu.GREEK_NAMES if which is None else which
    slots = np.full(eu.N_GREEKS, -1, dtype=np.int64)
    for k, g in enumerate(names):
        slots[eu.GREEK_NAMES.index(g)] = k
    x = _inputs(3000)
    got = _kernel(model, x, 0.03, 0.01, slots, len(names))
    want = _scalar_reference(model, x, 0.03, 0.01, slots, len(names))
    assert not np.isnan(got).any()
    for k, g in enumerate(names):
        scale = np.max(np.abs(want[k])) if g != "price" else 0.0
        # Vector lanes differ from libm's exp/log by an ulp or so, amplified by at most the
        # two-term acceptance bound; scalar-pass lanes are bit-identical.
        tol = 1e-12 * np.abs(want[k]) + 1e-13 * scale
        bad = np.abs(got[k] - want[k]) > tol
        assert not bad.any(), (
            f"{g}: element {int(np.argmax(bad))} got {got[k][bad][0]!r}, want {want[k][bad][0]!r}"
        )


def test_block_path_with_expiry_and_invalid_lanes_uses_exact_fallback() -> None:
    slots = np.arange(eu.N_GREEKS, dtype=np.int64)
    x = {
        "S": np.array([100.0, 100.0, 100.0, 100.0]),
        "K": np.array([90.0, 110.0, 100.0, 100.0]),
        "T": np.array([0.0, 0.0, 1.0, 1.0]),
        "sigma": np.array([0.2, 0.2, 0.0, 0.2]),
        "is_call": np.array([True, True, True, False]),
    }
    got = _kernel(eu.MODEL_BSM, x, 0.0, 0.0, slots, eu.N_GREEKS)
    assert got[eu.PRICE, 0] == 10.0
    assert got[eu.DELTA, 0] == 1.0
    assert got[eu.PRICE, 1] == 0.0
    assert got[eu.DELTA, 1] == 0.0
    assert got[eu.PRICE, 2] == 0.0
    assert got[eu.GAMMA, 2] == 0.0
    assert got[eu.PRICE, 3] == pytest.approx(7.965567455405798, rel=1e-13)
    x["S"][1] = -1.0
    out = np.full((eu.N_GREEKS, 4), 0.0)
    bad = eu.european_kernel_serial(
        eu.MODEL_BSM,
        x["S"],
        x["K"],
        x["T"],
        np.array([0.0]),
        np.array([0.0]),
        x["sigma"],
        x["is_call"],
        np.array([1, 1, 1, 0, 0, 1, 1], dtype=np.int64),
        slots,
        out,
        4,
        1,
    )
    assert bad[0].tolist() == [1, eu.BAD_S]
    assert np.isnan(out[:, 1]).all()
    assert not np.isnan(out[:, [0, 2, 3]]).any()


def _host_features() -> set[str]:
    import llvmlite.binding as llvm  # type: ignore[import-untyped]

    feats = llvm.get_host_cpu_features()
    return {name for name, on in feats.items() if on}


def test_black_block_with_avx2_host_compiles_to_packed_code() -> None:
    feats = _host_features()
    cpu = getattr(config, "CPU_NAME", None)
    if cpu not in (None, "host") or "avx2" not in feats:
        pytest.skip(f"needs a host CPU with AVX2 (numba cpu={cpu}, avx2={'avx2' in feats})")
    # An uncached compile of the same function (numba does not disassemble cached code).
    block = njit(error_model="numpy")(eu._black_block.py_func)
    m = eu.BLOCK
    work = np.ones(eu.WORK_ROWS * m)
    block(eu.LEVEL_ALL, False, work, m)
    sig = block.signatures[0]
    asm = str(block.inspect_asm(sig))
    packed = re.findall(
        r"\bv(?:mul|add|sub|div|fmadd\w*|fmsub\w*|fnmadd\w*)pd\s+[^\n]*%[yz]mm", asm
    )
    assert len(packed) >= 100, f"only {len(packed)} packed ymm/zmm arithmetic instructions"
    ir = str(block.inspect_llvm(sig))
    # the d1/d2 pass and the three per-level value/Greek loops (the cdf pass stays scalar)
    loops = re.findall(r"^vector\.body\d*:", ir, re.MULTILINE)
    assert len(loops) >= 4, f"only {len(loops)} vectorized loops in the block function"
    libm = re.findall(r"call [^\n]*@(?:exp|log)\b", ir)
    assert not libm, f"libm exp/log calls remain in the block loops: {libm[:3]}"
    # 512-bit vectors where the CPU has AVX-512 (pricing._vmath.prefer_wide_vectors)
    assert '"prefer-vector-width"="512"' in ir
