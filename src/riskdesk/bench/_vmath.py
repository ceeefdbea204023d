"""Throughput of the branch-free vector elementary functions against libm in the same loop.

:func:`measure` times ``out[i] = f(x[i])`` over ``n`` float64 elements in a numba ``prange``
loop (all numba threads) for ``vexp``/``vlog``/``vncdf`` of :mod:`riskdesk.pricing._vmath`
and for ``math.exp``/``math.log``/``0.5 * math.erfc(-x/sqrt(2))``, and reports the median of
``repeats`` warm runs in ns per element.  Inputs: exp on ``[-20, 20]``, log on ``[1e-3, 1e3]``
(log-uniform), the normal cdf on ``[-10, 10]``.  The vector loops are compiled for 512-bit
registers where the CPU has AVX-512 (:func:`riskdesk.pricing._vmath.prefer_wide_vectors`); the libm
loops do not vectorize either way.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numba import njit, prange
from numpy.typing import NDArray

from riskdesk.pricing._vmath import prefer_wide_vectors, vexp, vlog, vncdf

__all__ = ["VmathRow", "measure"]

_F = NDArray[np.float64]
_INV_SQRT_2 = 0.7071067811865476


@dataclass(frozen=True)
class VmathRow:
    """One function's figures: ns per element for the vector version and for libm."""

    function: str
    n: int
    vector_ns: float
    libm_ns: float

    @property
    def speedup(self) -> float:
        """Libm time over vector time."""
        return self.libm_ns / self.vector_ns


@njit(parallel=True, cache=True)
def _loop_vexp(x: _F, out: _F) -> None:
    for i in prange(x.size):
        prefer_wide_vectors()  # inside: the prange body is compiled as its own function
        out[i] = vexp(x[i])


@njit(parallel=True, cache=True)
def _loop_exp(x: _F, out: _F) -> None:
    for i in prange(x.size):
        out[i] = math.exp(x[i])


@njit(parallel=True, cache=True)
def _loop_vlog(x: _F, out: _F) -> None:
    for i in prange(x.size):
        prefer_wide_vectors()  # inside: the prange body is compiled as its own function
        out[i] = vlog(x[i])


@njit(parallel=True, cache=True)
def _loop_log(x: _F, out: _F) -> None:
    for i in prange(x.size):
        out[i] = math.log(x[i])


@njit(parallel=True, cache=True)
def _loop_vncdf(x: _F, out: _F) -> None:
    for i in prange(x.size):
        prefer_wide_vectors()  # inside: the prange body is compiled as its own function
        out[i] = vncdf(x[i])


@njit(parallel=True, cache=True)
def _loop_ncdf(x: _F, out: _F) -> None:
    for i in prange(x.size):
        out[i] = 0.5 * math.erfc(-x[i] * _INV_SQRT_2)


def _median_ns(loop: Callable[[_F, _F], None], x: _F, repeats: int) -> float:
    out = np.empty_like(x)
    loop(x, out)  # compile / warm
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        loop(x, out)
        times.append(time.perf_counter() - t0)
    return statistics.median(times) / x.size * 1e9


def measure(n: int = 1_000_000, repeats: int = 7, seed: int = 20240611) -> list[VmathRow]:
    """Median ns/element of ``vexp``, ``vlog`` and ``vncdf`` beside libm, ``n`` elements each.

    Parameters
    ----------
    n
        Elements per run (at least 1).
    repeats
        Timed warm runs per loop; the median is reported (at least 1).
    seed
        Seed of the random inputs.

    Returns
    -------
    list of VmathRow
        One row per function, in the order exp, log, ncdf.

    """
    if n < 1 or repeats < 1:
        raise ValueError(f"n and repeats must be >= 1, got n={n}, repeats={repeats}")
    rng = np.random.default_rng(seed)
    cases: tuple[tuple[str, _F, Callable[[_F, _F], None], Callable[[_F, _F], None]], ...] = (
        ("exp", rng.uniform(-20.0, 20.0, n), _loop_vexp, _loop_exp),
        ("log", np.exp(rng.uniform(math.log(1e-3), math.log(1e3), n)), _loop_vlog, _loop_log),
        ("ncdf", rng.uniform(-10.0, 10.0, n), _loop_vncdf, _loop_ncdf),
    )
    return [
        VmathRow(name, n, _median_ns(vec, x, repeats), _median_ns(lib, x, repeats))
        for name, x, vec, lib in cases
    ]
