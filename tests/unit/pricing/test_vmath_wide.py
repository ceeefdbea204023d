"""512-bit vectors (``prefer_wide_vectors``) and the one-exponential ``vncdf``."""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from numba import config, njit
from numpy.typing import NDArray

from riskdesk.pricing._vmath import prefer_wide_vectors, vncdf

_ATTR = '"prefer-vector-width"="512"'


def _host_features() -> set[str]:
    import llvmlite.binding as llvm  # type: ignore[import-untyped]

    feats = llvm.get_host_cpu_features()
    return {name for name, on in feats.items() if on}


def _needs_host_with(feature: str) -> None:
    cpu = getattr(config, "CPU_NAME", None)
    if cpu not in (None, "host") or feature not in _host_features():
        pytest.skip(f"needs a host CPU with {feature} (numba cpu={cpu})")


def _wide_loop(x: NDArray[np.float64], out: NDArray[np.float64]) -> None:
    prefer_wide_vectors()
    for i in range(x.size):
        out[i] = vncdf(x[i])


def _narrow_loop(x: NDArray[np.float64], out: NDArray[np.float64]) -> None:
    for i in range(x.size):
        out[i] = vncdf(x[i])


@functools.cache
def _compiled(py_func: Callable[..., None]) -> Any:
    """An uncached compile (numba does not disassemble cached code), once per loop, warmed."""
    f: Any = njit(py_func)
    x = np.linspace(-40.0, 10.0, 64)
    f(x, np.empty_like(x))
    return f


def _vector_body_instructions(asm: str) -> int:
    """Instructions of the basic block with the most zmm operands (the vector loop body)."""
    blocks = re.split(r"\n\.LBB\w+:", asm)
    body = max(blocks, key=lambda b: len(re.findall("%zmm", b)))
    return sum(
        1 for line in body.split("\n") if line.startswith("\t") and not line.startswith("\t.")
    )


def test_prefer_wide_vectors_with_any_cpu_marks_the_calling_function() -> None:
    wide = _compiled(_wide_loop)
    narrow = _compiled(_narrow_loop)
    assert _ATTR in str(wide.inspect_llvm(wide.signatures[0]))
    assert _ATTR not in str(narrow.inspect_llvm(narrow.signatures[0]))


def test_prefer_wide_vectors_with_any_cpu_keeps_results_bit_identical() -> None:
    wide = _compiled(_wide_loop)
    narrow = _compiled(_narrow_loop)
    x = np.random.default_rng(7).uniform(-40.0, 10.0, 4099)
    a = np.empty_like(x)
    b = np.empty_like(x)
    wide(x, a)
    narrow(x, b)
    assert np.array_equal(a.view(np.int64), b.view(np.int64))


def test_prefer_wide_vectors_with_avx512_host_compiles_zmm_arithmetic() -> None:
    _needs_host_with("avx512f")
    wide = _compiled(_wide_loop)
    asm = str(wide.inspect_asm(wide.signatures[0]))
    packed = re.findall(r"\bv(?:mul|add|sub|fmadd\w*|fnmadd\w*|fmsub\w*)pd\s+[^\n]*%zmm", asm)
    assert len(packed) >= 40, f"only {len(packed)} packed zmm arithmetic instructions"


def test_vncdf_with_avx512_host_needs_one_exponential_per_lane() -> None:
    # The fdlibm form needs exp for the tail (ranges 3-4) and the Gaussian rounding correction
    # (ranges 1-2); one exponential of a per-lane selected argument serves both.  Two
    # exponentials compiled to 267 instructions per 8 lanes, one to 205.
    _needs_host_with("avx512f")
    wide = _compiled(_wide_loop)
    n = _vector_body_instructions(str(wide.inspect_asm(wide.signatures[0])))
    assert n <= 235, f"vncdf vector body: {n} instructions per 8 lanes"


def test_vncdf_with_both_exponential_forms_matches_reference_points() -> None:
    # one point per fdlibm range of y = |x|/sqrt(2), both signs, against 30-digit values
    want = {  # mpmath.ncdf at 30 digits
        -0.5: 0.30853753872598689636,
        -1.5: 0.066807201268858066004,
        -3.0: 0.0013498980316300945267,
        -6.0: 9.865876450376981407e-10,
        -30.0: 4.9067139271481870595e-198,
        0.5: 0.69146246127401310364,
        1.5: 0.933192798731141934,
        3.0: 0.99865010196836990547,
    }
    wide = _compiled(_wide_loop)
    xs = np.array(list(want))
    out = np.empty_like(xs)
    wide(xs, out)
    for x, got, ref in zip(xs, out, want.values(), strict=True):
        assert abs(got - ref) <= 4.0 * math.ulp(ref), f"vncdf({x}) = {got!r}, want {ref!r}"
