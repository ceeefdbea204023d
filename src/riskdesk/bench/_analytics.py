"""``riskdesk bench analytics``: workbench evaluation and book revaluation timings.

Warm medians, each beside a baseline measured in the same run:

1. ``evaluate`` of a 4-leg European iron condor (BSM, raw chain IV) on the default grid
   (41 x 21 spot x vol, 10 dates); target <= 5 ms. Baseline: the same two grids priced by a
   Python loop over grid points, one vectorized kernel call (all legs) per point.
2. The same with American legs (Bjerksund-Stensland 2002 engine, the default).
3. ``revalue_book`` of 10,000 European options under 1,000 spot x vol scenarios (10 million
   BSM prices); target <= 1 s. Baseline: a plain-numpy BSM (scipy ``ndtr``) of the same
   prices.
4. The same book with American options (Bjerksund-Stensland 2002). Baseline: a Python loop
   over scenarios, one kernel call (all options) per scenario, timed on 100 scenarios and
   scaled to 1,000.

The market is synthetic and built here, so the benchmark needs no data files.
"""

from __future__ import annotations

import json
import math
import statistics
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table
from scipy.special import ndtr

from riskdesk.analytics.evaluate import evaluate
from riskdesk.analytics.revalue import BookScenarios, OptionBook, revalue_book
from riskdesk.domain.configs import ModelConfig, ScenarioGrid
from riskdesk.domain.instruments import ExerciseStyle, OptionContract, OptionRight, Settlement
from riskdesk.domain.market import (
    MarketOverrides,
    MarketSnapshot,
    OptionQuote,
    SnapshotMode,
    UnderlyingQuote,
)
from riskdesk.domain.timeutil import expiry_datetime, year_fraction
from riskdesk.domain.trades import Leg, TradeVersion
from riskdesk.pricing import price

__all__ = ["main"]

_AS_OF = datetime(2025, 1, 2, 15, 0, tzinfo=UTC)
_EXPIRY = date(2025, 2, 21)
_SPOT = 100.0
_RATE = 0.04
_CARRY = 0.01
_BOOK_SIZE = 10_000
_SCENARIO_SPOTS = 50
_SCENARIO_VOLS = 20
_EVAL_TARGET_S = 0.005
_BOOK_TARGET_S = 1.0
MIN_SPEEDUP_EUROPEAN_BOOK = 5.0
"""Issue 14: the European book's revaluation >= 5x its plain-numpy baseline (same run)."""
MIN_SPEEDUP_AMERICAN_BOOK = 10.0
"""Issue 14: the American book's revaluation >= 10x its per-scenario baseline (same run)."""


def _median_time(fn: Callable[[], object], repeats: int) -> float:
    fn()  # warm-up: JIT compilation, caches
    samples = []
    for _ in range(max(1, repeats)):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def _smile(strike: float) -> float:
    return 0.20 + 0.10 * math.log(strike / _SPOT) ** 2 - 0.05 * math.log(strike / _SPOT)


def _model(style: ExerciseStyle) -> dict[str, Any]:
    if style is ExerciseStyle.AMERICAN:
        return {"model": "american", "engine": "bjerksund_stensland_2002"}
    return {"model": "bsm"}


def _snapshot(style: ExerciseStyle) -> MarketSnapshot:
    """One expiry of XYZ, strikes 60..140 by 2.5, quotes priced on a smile with ``style``."""
    t = year_fraction(_AS_OF, expiry_datetime(_EXPIRY, settlement=Settlement.PM))
    strikes = np.arange(60.0, 141.0, 2.5)
    vols = np.array([_smile(k) for k in strikes])
    quotes = []
    for right in (OptionRight.CALL, OptionRight.PUT):
        mids = price(
            S=_SPOT,
            K=strikes,
            T=t,
            r=_RATE,
            q=_CARRY,
            sigma=vols,
            is_call=right.is_call,
            **_model(style),
        )
        for k, mid in zip(strikes, np.asarray(mids), strict=True):
            m = Decimal(str(round(float(mid), 4)))
            half = min(Decimal("0.02"), m)
            contract = OptionContract("XYZ", _EXPIRY, Decimal(str(k)), right, style)
            quotes.append(OptionQuote(contract, m - half, m + half, m, None, _AS_OF, _AS_OF))
    spot = UnderlyingQuote(
        "XYZ", Decimal("100"), Decimal("99.99"), Decimal("100.01"), Decimal("100"), _AS_OF, _AS_OF
    )
    return MarketSnapshot(
        as_of=_AS_OF,
        mode=SnapshotMode.PINNED,
        source="bench",
        underlyings=(spot,),
        options=tuple(quotes),
        overrides=MarketOverrides(rate=_RATE, dividend_yield={"XYZ": _CARRY}),
    )


def _iron_condor(style: ExerciseStyle) -> TradeVersion:
    def leg(strike: str, right: OptionRight, qty: int, entry: str) -> Leg:
        contract = OptionContract("XYZ", _EXPIRY, Decimal(strike), right, style)
        return Leg(contract, Decimal(qty), Decimal(entry), Decimal("0.65"))

    return TradeVersion(
        name="bench iron condor",
        legs=(
            leg("85", OptionRight.PUT, 1, "0.40"),
            leg("92.5", OptionRight.PUT, -1, "1.20"),
            leg("107.5", OptionRight.CALL, -1, "1.00"),
            leg("115", OptionRight.CALL, 1, "0.30"),
        ),
    )


def _loop_baseline(
    snapshot: MarketSnapshot, trade: TradeVersion, grid: ScenarioGrid, style: ExerciseStyle
) -> float:
    """Price the evaluation's two grids point by point (one kernel call per grid point)."""
    result = evaluate(trade, snapshot, ModelConfig(), grid)
    legs = [leg for leg in result.legs if leg.status == "ok"]
    strikes = np.array([float(leg.instrument["strike"]) for leg in legs])
    calls = np.array([leg.instrument["right"] == "C" for leg in legs])
    vols = np.array([leg.vol or 0.0 for leg in legs])
    ttm = np.array([leg.time_to_expiry or 0.0 for leg in legs])
    pos = np.array([float(Decimal(leg.quantity)) * 100.0 for leg in legs])
    model = _model(style)

    def run() -> float:
        total = 0.0
        for s in result.spots["XYZ"]:
            for shift in result.vol_shifts:
                sigma = np.maximum(vols + shift / 100.0, ScenarioGrid.MIN_VOL)
                px = price(
                    S=s, K=strikes, T=ttm, r=_RATE, q=_CARRY, sigma=sigma, is_call=calls, **model
                )
                total += float(np.asarray(px) @ pos)
            for tau in result.date_years:
                tt = np.maximum(ttm - tau, 0.0)
                px = price(
                    S=s, K=strikes, T=tt, r=_RATE, q=_CARRY, sigma=vols, is_call=calls, **model
                )
                total += float(np.asarray(px) @ pos)
        return total

    return _median_time(run, 3)


def _book(*, american: bool, seed: int = 7) -> OptionBook:
    """10,000 random positions on four underlyings, strikes 70%..130% of spot."""
    rng = np.random.default_rng(seed)
    n = _BOOK_SIZE
    spot = np.array([100.0, 50.0, 250.0, 20.0])
    index = rng.integers(0, spot.size, n)
    return OptionBook(
        underlyings=("A", "B", "C", "D"),
        spot=spot,
        underlying_index=index,
        strike=np.round(spot[index] * rng.uniform(0.7, 1.3, n), 1),
        time_to_expiry=rng.uniform(7 / 365, 2.0, n),
        vol=rng.uniform(0.12, 0.6, n),
        is_call=rng.random(n) < 0.5,
        american=np.full(n, american),
        position=rng.choice([-300.0, -100.0, 100.0, 200.0], n),
        rate=_RATE,
        carry=np.array([0.01, 0.0, 0.02, 0.03]),
    )


def _scenarios() -> BookScenarios:
    return BookScenarios.grid(
        np.linspace(-25.0, 25.0, _SCENARIO_SPOTS), np.linspace(-10.0, 10.0, _SCENARIO_VOLS)
    )


def _scenario_loop_baseline(book: OptionBook, scenarios: BookScenarios, count: int) -> float:
    """Python loop over the first ``count`` scenarios, one kernel call each, scaled to all."""
    s0 = book.spot[book.underlying_index]
    q = book.carry[book.underlying_index]

    def run() -> None:
        for k in range(count):
            sigma = np.maximum(book.vol + scenarios.vol_shocks[k] / 100.0, ScenarioGrid.MIN_VOL)
            px = price(
                model="american",
                S=s0 * (1.0 + scenarios.spot_shocks[k]),
                K=book.strike,
                T=book.time_to_expiry,
                r=book.rate,
                q=q,
                sigma=sigma,
                is_call=book.is_call,
                engine="bjerksund_stensland_2002",
            )
            float(np.asarray(px) @ book.position)

    return _median_time(run, 1) * scenarios.count / count


def _numpy_bsm_baseline(book: OptionBook, scenarios: BookScenarios) -> float:
    """Plain-numpy BSM (no numba) of the whole book in every scenario, chunked like the engine."""
    s0 = book.spot[book.underlying_index]
    q = book.carry[book.underlying_index]

    def run() -> None:
        rows = 200
        for start in range(0, scenarios.count, rows):
            shocks = scenarios.spot_shocks[start : start + rows, None]
            sigma = np.maximum(
                book.vol[None, :] + scenarios.vol_shocks[start : start + rows, None] / 100.0,
                ScenarioGrid.MIN_VOL,
            )
            s = s0[None, :] * (1.0 + shocks)
            t = book.time_to_expiry[None, :]
            sd = sigma * np.sqrt(t)
            fwd = s * np.exp((book.rate - q[None, :]) * t)
            d1 = np.log(fwd / book.strike[None, :]) / sd + 0.5 * sd
            d2 = d1 - sd
            df = np.exp(-book.rate * t)
            call = df * (fwd * ndtr(d1) - book.strike[None, :] * ndtr(d2))
            put = call - df * (fwd - book.strike[None, :])
            values = np.where(book.is_call[None, :], call, put)
            float((values @ book.position).sum())

    return _median_time(run, 1)


def _row(
    name: str,
    median: float,
    target: float | None,
    baseline_name: str,
    baseline: float,
    detail: str,
    min_speedup: float | None = None,
) -> dict[str, Any]:
    speedup = baseline / median if median > 0 else None
    checks = [] if target is None else [median <= target]
    if min_speedup is not None and speedup is not None:
        checks.append(speedup >= min_speedup)
    return {
        "name": name,
        "median_s": median,
        "target_s": target,
        "min_speedup": min_speedup,
        "meets_target": all(checks) if checks else None,
        "baseline": baseline_name,
        "baseline_median_s": baseline,
        "speedup": speedup,
        "detail": detail,
    }


def main(repeats: int, as_json: bool) -> None:
    """Run the analytics benchmarks and print a rich table (or JSON with ``as_json``)."""
    rows = []
    grid = ScenarioGrid()
    config = ModelConfig()
    for style, label in ((ExerciseStyle.EUROPEAN, "BSM"), (ExerciseStyle.AMERICAN, "BS2002")):
        snapshot = _snapshot(style)
        trade = _iron_condor(style)
        evaluation = evaluate(trade, snapshot, config, grid)
        if evaluation.errors or any(leg.status != "ok" for leg in evaluation.legs):
            raise RuntimeError(f"benchmark trade did not evaluate cleanly: {evaluation.warnings}")
        runs = max(repeats, 5) * 4

        def run(s: MarketSnapshot = snapshot, t: TradeVersion = trade) -> object:
            return evaluate(t, s, config, grid)

        rows.append(
            _row(
                f"evaluate iron condor ({label})",
                _median_time(run, runs),
                _EVAL_TARGET_S,
                "loop: 1 kernel call per grid point",
                _loop_baseline(snapshot, trade, grid, style),
                f"4 {style.value.lower()} legs, 41 x 21 spot x vol + 41 x 10 spot x date, warm, "
                f"median of {runs}; includes IV solve, Greeks, breakevens, max P/L, PoP",
            )
        )
    scenarios = _scenarios()
    european = _book(american=False)
    n_prices = european.size * scenarios.count
    rows.append(
        _row(
            "revalue_book 10k x 1k (BSM)",
            _median_time(lambda: revalue_book(european, scenarios), repeats),
            _BOOK_TARGET_S,
            "plain-numpy BSM (scipy ndtr)",
            _numpy_bsm_baseline(european, scenarios),
            f"{european.size:,} European options x {scenarios.count:,} spot x vol scenarios = "
            f"{n_prices:,} BSM prices, median of {repeats}",
            min_speedup=MIN_SPEEDUP_EUROPEAN_BOOK,
        )
    )
    american = _book(american=True)
    runs = max(1, min(repeats, 3))
    rows.append(
        _row(
            "revalue_book 10k x 1k (BS2002)",
            _median_time(lambda: revalue_book(american, scenarios), runs),
            _BOOK_TARGET_S,
            "loop: 1 kernel call per scenario",
            _scenario_loop_baseline(american, scenarios, 100),
            f"{american.size:,} American options x {scenarios.count:,} scenarios = "
            f"{n_prices:,} Bjerksund-Stensland 2002 prices, median of {runs}; baseline timed "
            "on 100 scenarios and scaled x10",
            min_speedup=MIN_SPEEDUP_AMERICAN_BOOK,
        )
    )
    if as_json:
        print(json.dumps({"benchmark": "analytics", "repeats": repeats, "results": rows}, indent=2))
        return
    table = Table(title="riskdesk analytics benchmark (warm medians)")
    for column in ("#", "measurement", "median", "target", "baseline", "speedup"):
        table.add_column(column, justify="left" if column == "measurement" else "right")
    for i, row in enumerate(rows, start=1):
        target = "" if row["target_s"] is None else "<= " + _fmt(row["target_s"])
        if row["min_speedup"] is not None:
            target += f", >= {row['min_speedup']:g}x"
        ok = "" if row["meets_target"] is None else (" ok" if row["meets_target"] else " MISS")
        table.add_row(
            str(i),
            row["name"],
            _fmt(row["median_s"]),
            target + ok,
            _fmt(row["baseline_median_s"]),
            f"{row['speedup']:.1f}x" if row["speedup"] else "",
        )
    console = Console()
    console.print(table)
    for i, row in enumerate(rows, start=1):
        console.print(f"[dim]{i}. {row['detail']}. Baseline: {row['baseline']}.[/dim]")


def _fmt(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} us"
    if seconds < 1.0:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.2f} s"
