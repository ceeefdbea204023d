"""Compile the numba kernels into numba's on-disk cache ahead of their first use.

Every kernel is ``cache=True``: once compiled, a process loads it from the cache in
milliseconds, but the first call on a fresh install (or after a kernel changed) compiles it,
tens of seconds for the pricing kernels. ``python -m riskdesk.warm`` calls every kernel
family once on small inputs of the types the library passes (contiguous float64 arrays and
scalars), split into parts that compile in parallel processes, so that later processes, a
test run's workers among them, load instead of each compiling the same kernels again.

Compiling is all it does: the values computed are discarded, and a kernel met later with
other argument types still compiles on its first call as before.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from typing import Any

import numpy as np


def _european() -> None:
    """BSM, Black-76 and Bachelier: prices, every Greek, the fused five, implied vols."""
    from riskdesk.bench._pricing import _options
    from riskdesk.pricing import greeks, implied_vol, price

    fused = ("price", "delta", "gamma", "vega", "theta", "rho")
    for n in (1, 4096):
        args: dict[str, Any] = _options(n).kwargs()
        sigma = args.pop("sigma")
        for model in ("bsm", "black76", "bachelier"):
            vol = sigma * args["S"] if model == "bachelier" else sigma
            values = price(model=model, sigma=vol, **args)
            greeks(model=model, sigma=vol, **args)
            greeks(model=model, sigma=vol, which=fused, **args)
            implied_vol(model=model, price=values, **args)


def _american() -> None:
    """Both American engines: prices, Greeks and implied vols, with and without dividends."""
    from riskdesk.bench._pricing import _options
    from riskdesk.pricing import greeks, implied_vol, price

    args: dict[str, Any] = _options(64).kwargs()
    sigma = args.pop("sigma")
    dividends = (np.array([0.25]), np.array([0.5]))
    for engine in ("alo_qdplus", "bjerksund_stensland_2002"):
        for divs in (None, dividends):
            values = price(model="american", engine=engine, dividends=divs, sigma=sigma, **args)
            greeks(model="american", engine=engine, dividends=divs, sigma=sigma, **args)
            implied_vol(model="american", engine=engine, dividends=divs, price=values, **args)


def _revalue(*, american: bool) -> None:
    """The scenario engine of ``revalue_book`` (BSM or BS2002) on a small book."""
    from riskdesk.analytics.revalue import BookScenarios, OptionBook, revalue_book

    rng = np.random.default_rng(7)
    n = 64
    index = rng.integers(0, 2, n)
    spot = np.array([100.0, 50.0])
    book = OptionBook(
        underlyings=("A", "B"),
        spot=spot,
        underlying_index=index,
        strike=np.round(spot[index] * rng.uniform(0.8, 1.2, n), 1),
        time_to_expiry=rng.uniform(0.05, 1.5, n),
        vol=rng.uniform(0.15, 0.5, n),
        is_call=rng.random(n) < 0.5,
        american=np.full(n, american),
        position=np.full(n, 100.0),
        rate=0.03,
        carry=np.array([0.01, 0.0]),
    )
    revalue_book(book, BookScenarios.grid(np.linspace(-10.0, 10.0, 5), np.linspace(-2, 2, 3)))


def _european_part() -> None:
    """European kernels, their scenario engine and the benchmarks' own loops."""
    from riskdesk.bench import _pricing, _vmath

    _european()
    _revalue(american=False)
    _vmath.measure(n=1024, repeats=1)
    _pricing._memory_floor(_pricing._options(1024))


def _american_part() -> None:
    """American kernels and their scenario engine."""
    _american()
    _revalue(american=True)


PARTS: dict[str, Callable[[], None]] = {
    "european": _european_part,
    "american": _american_part,
}
"""The kernel families, each compiled by one call (a process of its own under :func:`warm`)."""


def _run(name: str) -> tuple[str, float]:
    start = time.perf_counter()
    PARTS[name]()
    return name, time.perf_counter() - start


def warm(jobs: int | None = None) -> dict[str, float]:
    """Compile every part, ``jobs`` processes at a time (default: the CPU count); seconds each."""
    workers = max(1, min(len(PARTS), jobs or os.cpu_count() or 1))
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
        return dict(pool.map(_run, list(PARTS)))


def main(argv: list[str] | None = None) -> int:
    """Command line: compile every part and print the seconds each took."""
    parser = argparse.ArgumentParser(prog="python -m riskdesk.warm", description=__doc__)
    parser.add_argument("--jobs", type=int, default=None, help="processes (default: CPUs)")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    seconds = warm(args.jobs)
    parts = ", ".join(f"{name} {s:.1f} s" for name, s in seconds.items())
    print(f"numba kernels compiled or loaded in {time.perf_counter() - start:.1f} s ({parts})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
