"""``riskdesk bench portfolio``: portfolio risk timings on a synthetic 10,000-position book.

The book is built here, in memory (no database, no files): stocks and ETFs across about 200
underlyings (one for every 50 positions, at least 5), about half the positions options
(American equity and ETF options, European AM-settled SPX options), as singles and as
spreads (verticals, straddles, strangles, iron condors, calendars, covered calls), and a
few options that expired before the valuation date (excluded, never priced as live). Spots
are the last closes of a seeded :func:`~riskdesk.risk.history.synthesize_history` ending on
the session :data:`VALUATION_DATE`, valued at that session's close; option vols are each
underlying's realised 30-day vol with a smile in moneyness.

Warm medians of ``repeats`` runs (after one untimed warm-up), each beside a baseline measured
in the same run:

1. ``value_book`` + ``compute_exposures`` + ``aggregate_greeks`` (all five groupings, the
   strategy groups given, as a stored book carries them); target <= 100 ms. Baseline: one
   ``value_book`` pass with Greeks (the floor every measure pays).
2. ``detect_strategies`` alone (no target of its own).
3. Measure 1 with strategy detection included (``strategies=None``); target <= 100 ms.
4. ``historical_var``, 500 days, 95% and 99%, 1-day, full option revaluation; target <= 2 s.
   Baseline: the delta-only linear P&L of the same scenarios (one numpy matrix product).
5. The same with the 10-day horizon (499 overlapping 10-day scenarios; the engine also
   simulates the 1-day ones for its sqrt(10)-scaled comparison); target <= 2 s.
6. ``run_stress`` of every packaged scenario, with phase-2 propagation through the EWMA factor
   correlation; target <= 1 s. Baseline: ``value_book`` (prices only) of as many scenario rows
   as the stress stack holds at most (the revaluation floor).
7. The daily batch (:func:`batch_timing`): 10 portfolios of a tenth of the positions each
   (1,000 for the default 10,000) on a temporary SQLite file, every step, on the process
   pool; target <= 30 s. Baseline: the portfolios' own run times summed (one process). A book
   under 1,000 positions skips it (status ``skipped``).

The stress betas are the synthetic history's own factor loadings (a stand-in for the factor
regression); TLT carries a rate beta of -17 (minus its modified duration).
"""

from __future__ import annotations

import bisect
import json
import math
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import numpy as np
import numpy.typing as npt
from rich.console import Console
from rich.table import Table

from riskdesk.domain.instruments import (
    ExerciseStyle,
    OptionContract,
    OptionRight,
    Settlement,
    Stock,
)
from riskdesk.domain.occ import format_occ
from riskdesk.domain.timeutil import expiry_datetime, monthly_expiry
from riskdesk.risk.exposures import Grouping, aggregate_greeks, compute_exposures
from riskdesk.risk.history import (
    FACTOR_ETFS,
    RATE_SYMBOL,
    SymbolSpec,
    SyntheticHistory,
    last_sessions,
    synthesize_history,
)
from riskdesk.risk.marks import Marks, MarkStatus, value_book
from riskdesk.risk.positions import BookPosition
from riskdesk.risk.strategies import StrategyMatch, detect_strategies
from riskdesk.risk.stress import (
    RATE_FACTOR,
    FactorCorrelation,
    Scenario,
    StressConfig,
    load_scenario_file,
    run_stress,
)
from riskdesk.risk.var import historical_var

__all__ = ["VALUATION_DATE", "SyntheticBook", "batch_timing", "build_book", "main", "run"]

FloatArray = npt.NDArray[np.float64]

VALUATION_DATE = date(2026, 6, 30)
"""The session the book is valued on (its close)."""

_WINDOW = 500
_CONFIDENCE = (0.95, 0.99)
_RATE = 0.04
_SEED = 20260630
_POSITIONS_PER_UNDERLYING = 50
_MAX_UNDERLYINGS = 200
_MIN_UNDERLYINGS = 5
_INDEX = "SPX"
_RATE_ETF = "TLT"
_TLT_RATE_BETA = -17.0
_EXTRA_ETFS = ("QQQ", "IWM", _RATE_ETF)
_TAGS = ("core", "hedge", "income", "momentum", "tech", "value")

_GREEKS_TARGET_S = 0.100
_VAR_TARGET_S = 2.0
_STRESS_TARGET_S = 1.0
_BATCH_TARGET_S = 30.0
_BATCH_PORTFOLIOS = 10
_BATCH_POSITIONS = 1_000
_BATCH_REPEATS = 3
_MIN_BATCH_POSITIONS = 100
_BATCH_OVERBUILD = 3
"""A synthetic book repeats symbols; build this many times the positions, keep the first of
each symbol."""

# Factor of the stress engine -> the synthetic history's latent factor index and ETF proxy.
_FACTOR_LOADING = {"Market": 0, "Value": 1, "Size": 2, "Momentum": 3, "Quality": 4}
_FACTOR_PROXY = {
    "Market": "SPY",
    "Value": "VTV",
    "Growth": "VUG",
    "Momentum": "MTUM",
    "Quality": "QUAL",
    "Size": "SIZE",
    "Low Volatility": "USMV",
}


@dataclass(frozen=True)
class SyntheticBook:
    """A synthetic book and everything its risk measures need.

    ``returns`` holds daily log returns ``(n_days, n_names)`` of ``names``, oldest first;
    ``betas`` maps an underlying to its stress factor betas; ``correlation`` is the EWMA
    factor correlation (with vols) of the factor proxies and the yield change.
    """

    positions: tuple[BookPosition, ...]
    marks: Marks
    names: tuple[str, ...]
    returns: FloatArray
    betas: dict[str, dict[str, float]]
    correlation: FactorCorrelation
    underlyings: tuple[str, ...]
    expired: int


def _tickers(count: int, rng: np.random.Generator) -> list[str]:
    """``count`` distinct made-up tickers (3-4 letters), none a factor or extra ETF name."""
    taken = {*FACTOR_ETFS, *_EXTRA_ETFS, _INDEX, RATE_SYMBOL}
    out: list[str] = []
    letters = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
    while len(out) < count:
        name = "".join(rng.choice(letters, size=int(rng.integers(3, 5))))
        if name not in taken:
            taken.add(name)
            out.append(name)
    return out


def _strike_step(spot: float) -> float:
    if spot < 50:
        return 1.0
    if spot < 200:
        return 2.5
    if spot < 1000:
        return 5.0
    return 25.0


def _strike(spot: float, moneyness: float) -> Decimal:
    step = _strike_step(spot)
    k = max(step, round(spot * moneyness / step) * step)
    return Decimal(str(k))


class _Builder:
    """Draws positions until the book has ``size`` of them (groups never split)."""

    def __init__(
        self,
        size: int,
        spots: dict[str, float],
        stocks: Sequence[str],
        etfs: Sequence[str],
        sessions: Sequence[date],
        rng: np.random.Generator,
    ) -> None:
        self.size = size
        self.spots = spots
        self.stocks = list(stocks)
        self.etfs = list(etfs)
        self.sessions = list(sessions)
        self.rng = rng
        self.positions: list[BookPosition] = []
        self.expired = 0
        ahead = [(VALUATION_DATE.year * 12 + VALUATION_DATE.month - 1 + m) for m in range(1, 19)]
        self.expiries = [monthly_expiry(a // 12, a % 12 + 1) for a in ahead]
        behind = [(VALUATION_DATE.year * 12 + VALUATION_DATE.month - 1 - m) for m in (1, 2, 3)]
        self.past_expiries = [monthly_expiry(a // 12, a % 12 + 1) for a in behind]

    def _entry(self, before: date | None = None) -> date:
        limit = len(self.sessions) - 1
        if before is not None:
            limit = max(1, bisect.bisect_left(self.sessions, before))
        return self.sessions[int(self.rng.integers(max(0, limit - 400), limit))]

    def _tags(self) -> tuple[str, ...]:
        count = int(self.rng.choice([0, 1, 1, 2]))
        return tuple(sorted({str(t) for t in self.rng.choice(_TAGS, size=count)}))

    def _add_stock(self, symbol: str, qty: int, tags: tuple[str, ...]) -> None:
        price = self.spots[symbol] * float(self.rng.uniform(0.7, 1.3))
        self.positions.append(
            BookPosition(
                symbol=symbol,
                instrument=Stock(symbol),
                quantity=Decimal(qty),
                entry_price=Decimal(f"{price:.2f}"),
                entry_date=self._entry(),
                tags=tags,
            )
        )

    def _add_option(
        self,
        underlying: str,
        expiry: date,
        moneyness: float,
        right: OptionRight,
        qty: int,
        tags: tuple[str, ...],
    ) -> None:
        index = underlying == _INDEX
        contract = OptionContract(
            underlying,
            expiry,
            _strike(self.spots[underlying], moneyness),
            right,
            ExerciseStyle.EUROPEAN if index else ExerciseStyle.AMERICAN,
            Settlement.AM if index else Settlement.PM,
        )
        premium = max(0.05, self.spots[underlying] * float(self.rng.uniform(0.005, 0.08)))
        self.positions.append(
            BookPosition(
                symbol=format_occ(contract, padded=False),
                instrument=contract,
                quantity=Decimal(qty),
                entry_price=Decimal(f"{premium:.2f}"),
                entry_date=self._entry(min(expiry, VALUATION_DATE)),
                tags=tags,
            )
        )

    def _underlying(self, *, options: bool) -> str:
        u = self.rng.random()
        if options and u < 0.15:
            return _INDEX
        if u < 0.3:
            return str(self.rng.choice(self.etfs))
        return str(self.rng.choice(self.stocks))

    def _lots(self) -> int:
        return int(self.rng.choice([1, 2, 3, 5, 10, 20]))

    def _shares(self) -> int:
        return int(self.rng.choice([10, 25, 50, 100, 200, 300, 500, 1000]))

    def build(self) -> list[BookPosition]:
        """Positions until the book is full: stocks, singles, spreads, a few expired."""
        kinds = ("stock", "single", "vertical", "straddle", "condor", "calendar", "covered")
        weights = np.array([1.00, 0.16, 0.12, 0.08, 0.08, 0.06, 0.10])
        legs = {"stock": 1, "single": 1, "vertical": 2, "straddle": 2, "condor": 4}
        legs |= {"calendar": 2, "covered": 2}
        n_expired = max(1, self.size // 400)
        expire_at = [int((k + 0.5) * self.size / n_expired) for k in range(n_expired)]
        while len(self.positions) < self.size:
            left = self.size - len(self.positions)
            if expire_at and len(self.positions) >= expire_at[0]:
                expire_at.pop(0)
                u = str(self.rng.choice(self.stocks))
                right = OptionRight.CALL if self.rng.random() < 0.5 else OptionRight.PUT
                expiry = self.past_expiries[int(self.rng.integers(0, 3))]
                self._add_option(u, expiry, float(self.rng.uniform(0.9, 1.1)), right, 2, ())
                self.expired += 1
                continue
            kind = str(self.rng.choice(kinds, p=weights / weights.sum()))
            if legs[kind] > left:
                kind = "stock"
            self._add(kind)
        return self.positions

    def _add(self, kind: str) -> None:
        tags = self._tags()
        sign = 1 if self.rng.random() < (0.7 if kind == "stock" else 0.5) else -1
        expiry = self.expiries[int(self.rng.integers(0, len(self.expiries)))]
        call, put = OptionRight.CALL, OptionRight.PUT
        if kind == "stock":
            u = self._underlying(options=False)
            self._add_stock(u, sign * self._shares(), tags)
        elif kind == "single":
            u = self._underlying(options=True)
            right = call if self.rng.random() < 0.5 else put
            m = float(self.rng.uniform(0.75, 1.25))
            self._add_option(u, expiry, m, right, sign * self._lots(), tags)
        elif kind == "vertical":
            u, n = self._underlying(options=True), self._lots()
            right = call if self.rng.random() < 0.5 else put
            low = float(self.rng.uniform(0.85, 1.0))
            self._add_option(u, expiry, low, right, sign * n, tags)
            self._add_option(u, expiry, low + 0.08, right, -sign * n, tags)
        elif kind == "straddle":
            u, n = self._underlying(options=True), self._lots()
            width = float(self.rng.choice([0.0, 0.05]))
            self._add_option(u, expiry, 1.0 + width, call, sign * n, tags)
            self._add_option(u, expiry, 1.0 - width, put, sign * n, tags)
        elif kind == "condor":
            u, n = self._underlying(options=True), self._lots()
            for m, right, s in ((0.85, put, 1), (0.92, put, -1), (1.08, call, -1), (1.15, call, 1)):
                self._add_option(u, expiry, m, right, s * sign * n, tags)
        elif kind == "calendar":
            u, n = self._underlying(options=True), self._lots()
            i = int(self.rng.integers(0, len(self.expiries) - 3))
            self._add_option(u, self.expiries[i], 1.0, call, -n, tags)
            self._add_option(u, self.expiries[i + 3], 1.0, call, n, tags)
        else:  # covered call: 100 shares per contract, the call out of the money
            u, n = self._underlying(options=False), self._lots()
            self._add_stock(u, 100 * n, tags)
            self._add_option(u, expiry, 1.1, call, -n, tags)


def _realised_vol(closes: FloatArray) -> float:
    """Annualised sample vol of the last 30 daily log returns, floored at 8%."""
    r = np.diff(np.log(closes[-31:]))
    return max(0.08, float(np.std(r, ddof=1)) * math.sqrt(252.0))


def _history(symbols: Sequence[str], start: date, seed: int) -> SyntheticHistory:
    """The seeded history of a synthetic book (the same for the same symbols and seed)."""
    specs = {
        _INDEX: SymbolSpec((1.0, 0.0, 0.0, 0.0, 0.0), 0.0004, 6000.0),
        _RATE_ETF: SymbolSpec((-0.15, 0.0, 0.0, 0.0, 0.0), 0.009, 90.0),
    }
    return synthesize_history(
        symbols, start=start, end=VALUATION_DATE, seed=seed % 2**31, specs=specs
    )


def build_book(positions: int = 10_000, *, seed: int = _SEED) -> SyntheticBook:
    """A synthetic book of ``positions`` positions with its marks, history, betas, correlation.

    Raises
    ------
    ValueError
        When ``positions`` is below 20.

    """
    if positions < 20:
        raise ValueError(f"positions must be at least 20, got {positions}")
    rng = np.random.default_rng(seed)
    n_stocks = min(_MAX_UNDERLYINGS, max(_MIN_UNDERLYINGS, positions // _POSITIONS_PER_UNDERLYING))
    stocks = _tickers(n_stocks, rng)
    etfs = [*FACTOR_ETFS, *_EXTRA_ETFS]
    sessions = last_sessions(VALUATION_DATE, _WINDOW + 1)
    history = _history([*stocks, *etfs, _INDEX, RATE_SYMBOL], sessions[0], seed)
    closes: dict[str, list[float]] = {}
    for bar in history.bars:
        closes.setdefault(bar.ticker, []).append(float(bar.close))
    series = {name: np.asarray(values, dtype=np.float64) for name, values in closes.items()}
    spots = {name: float(values[-1]) for name, values in series.items() if name != RATE_SYMBOL}
    builder = _Builder(positions, spots, stocks, etfs, sessions, rng)
    book = tuple(builder.build())
    valuation_time = expiry_datetime(VALUATION_DATE, settlement=Settlement.PM)
    marks = _marks(book, series, spots, valuation_time, rng)
    names = tuple(sorted(spots))
    returns = np.column_stack([np.diff(np.log(series[name])) for name in names])
    betas: dict[str, dict[str, float]] = {}
    for name in names:
        loadings = history.specs[name].loadings
        betas[name] = {factor: float(loadings[k]) for factor, k in _FACTOR_LOADING.items()}
    betas[_RATE_ETF][RATE_FACTOR] = _TLT_RATE_BETA
    factors = [*_FACTOR_PROXY, RATE_FACTOR]
    factor_changes = np.column_stack(
        [np.diff(np.log(series[_FACTOR_PROXY[f]])) for f in _FACTOR_PROXY]
        + [np.diff(series[RATE_SYMBOL]) / 100.0]
    )
    correlation = FactorCorrelation.from_returns(
        factors, factor_changes, decay=StressConfig().ewma_decay
    )
    return SyntheticBook(
        positions=book,
        marks=marks,
        names=names,
        returns=returns,
        betas=betas,
        correlation=correlation,
        underlyings=tuple(sorted({p.underlying for p in book})),
        expired=builder.expired,
    )


def _marks(
    book: Sequence[BookPosition],
    series: dict[str, FloatArray],
    spots: dict[str, float],
    valuation_time: datetime,
    rng: np.random.Generator,
) -> Marks:
    """Spots, a smile on each underlying's realised vol per option, small dividend yields."""
    realised = {name: _realised_vol(series[name]) for name in spots}
    vols: dict[str, float] = {}
    sources: dict[str, str] = {}
    for p in book:
        contract = p.instrument
        if isinstance(contract, OptionContract):
            m = math.log(float(contract.strike) / spots[p.underlying])
            vols[p.symbol] = realised[p.underlying] * (1.0 - 0.3 * m + 0.8 * m * m)
            sources[p.symbol] = "realized_30d_smile"
    yields = {name: float(rng.uniform(0.0, 0.03)) for name in spots}
    return Marks(
        valuation_time,
        spots=spots,
        vols=vols,
        vol_sources=sources,
        rate=_RATE,
        dividend_yields=yields,
    )


# -- timing -----------------------------------------------------------------------------------


def _book_csv(positions: Sequence[BookPosition]) -> bytes:
    lines = ["ticker,quantity,entry_price,entry_date,tags"]
    for p in positions:
        tags = ",".join(p.tags)
        lines.append(f'{p.symbol},{p.quantity},{p.entry_price},{p.entry_date},"{tags}"')
    return ("\n".join(lines) + "\n").encode()


def batch_timing(
    repeats: int = _BATCH_REPEATS,
    *,
    portfolios: int = _BATCH_PORTFOLIOS,
    positions: int = _BATCH_POSITIONS,
    workers: int | None = None,
) -> dict[str, Any]:
    """Time the daily batch of ``portfolios`` books of ``positions`` positions.

    A temporary SQLite file gets the synthetic book's history (501 sessions up to
    :data:`VALUATION_DATE`, imported as a CSV file) and ``portfolios`` portfolios each holding
    that book: the first ``positions`` distinct symbols of a synthetic book (a book holds one
    open position per symbol), imported with the book CSV upload; identical books share no
    work, each portfolio is computed on its own. Timed: one cold run (the first, every step),
    then the median of ``repeats`` ``--force`` runs on the process pool (``workers``: the CPU
    count by default; pool start-up included). Baseline: the last run's per-portfolio times
    summed (what one process would take); ``slowest_steps`` sums each step over portfolios.
    """
    import tempfile
    from pathlib import Path

    from riskdesk.risk.batch import DailyBatch
    from riskdesk.risk.history_usecases import PriceHistory
    from riskdesk.risk.portfolios import Portfolios
    from riskdesk.store import Database
    from riskdesk.store.migrate import upgrade_database

    if repeats < 1 or portfolios < 1:
        raise ValueError(f"repeats and portfolios must be >= 1, got {repeats}, {portfolios}")
    book = build_book(positions * _BATCH_OVERBUILD)
    held: dict[str, BookPosition] = {}
    for p in book.positions:  # a book holds one open position per symbol
        if len(held) < positions:
            held.setdefault(p.symbol, p)
    with tempfile.TemporaryDirectory(prefix="riskdesk-batch-bench-") as folder:
        root = Path(folder)
        db = Database.from_url(f"sqlite:///{root / 'bench.sqlite3'}")
        try:
            upgrade_database(db.engine)
            sessions = last_sessions(VALUATION_DATE, _WINDOW + 1)
            history = _history([*book.names, RATE_SYMBOL], sessions[0], _SEED)
            prices = root / "prices.csv"
            prices.write_text(
                "ticker,date,close\n"
                + "".join(f"{b.ticker},{b.date.isoformat()},{b.close}\n" for b in history.bars),
                encoding="utf-8",
            )
            PriceHistory(db).import_file(prices)
            books = Portfolios(db)
            csv = _book_csv(tuple(held.values()))
            imported = 0
            for i in range(portfolios):
                name = f"bench-{i + 1:02d}"
                books.create(name)
                imported += books.import_csv(name, csv, today=VALUATION_DATE).imported
            runner = DailyBatch(db)
            start = time.perf_counter()
            cold = runner.run(VALUATION_DATE, workers=workers)
            cold_s = time.perf_counter() - start
            samples = []
            for _ in range(repeats):
                start = time.perf_counter()
                result = runner.run(VALUATION_DATE, workers=workers, force=True)
                samples.append(time.perf_counter() - start)
        finally:
            db.dispose()
    return {
        "portfolios": portfolios,
        "positions_per_portfolio": imported // portfolios,
        "workers": result.workers,
        "repeats": repeats,
        "cold_s": cold_s,
        "median_s": statistics.median(samples),
        "samples_s": samples,
        "serial_s": sum(run.seconds for run in result.portfolios),
        "slowest_steps": _slowest_steps(result),
        "failed": len(result.failed) + len(cold.failed),
    }


def _slowest_steps(result: Any) -> dict[str, float]:
    """Seconds per step, summed over the portfolios of a batch result, slowest first."""
    totals: dict[str, float] = {}
    for run in result.portfolios:
        for step in run.steps:
            if step.seconds is not None:
                totals[step.step] = totals.get(step.step, 0.0) + step.seconds
    return dict(sorted(totals.items(), key=lambda item: -item[1]))


def _median_time(fn: Callable[[], object], repeats: int) -> float:
    fn()  # warm-up: JIT compilation, caches
    samples = []
    for _ in range(max(1, repeats)):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def _row(
    name: str,
    median: float | None,
    target: float | None,
    baseline_name: str,
    baseline: float | None,
    detail: str,
) -> dict[str, Any]:
    if median is None:
        status = "not built"
    elif target is None:
        status = "no target"
    else:
        status = "met" if median <= target else "not met"
    return {
        "name": name,
        "median_s": median,
        "target_s": target,
        "meets_target": None if median is None or target is None else median <= target,
        "status": status,
        "baseline": baseline_name,
        "baseline_median_s": baseline,
        "ratio_to_baseline": (
            median / baseline
            if median is not None and baseline is not None and baseline > 0
            else None
        ),
        "detail": detail,
    }


def _linear_pnl_time(
    positions: Sequence[BookPosition],
    dollar_delta: FloatArray,
    ok: npt.NDArray[np.bool_],
    names: Sequence[str],
    scenario_returns: FloatArray,
    repeats: int,
) -> tuple[float, FloatArray]:
    """Time the delta-only P&L ``(exp(r) - 1) @ delta dollars`` of every scenario."""
    col_of = {name: j for j, name in enumerate(names)}
    cols = np.array([col_of[p.underlying] for p in positions], dtype=np.intp)[ok]
    dd = dollar_delta[ok]

    def run() -> FloatArray:
        result: FloatArray = np.expm1(scenario_returns[:, cols]) @ dd
        return result

    return _median_time(run, repeats), run()


def _money(value: float) -> str:
    return f"{value:.2f}"


def run(positions: int = 10_000, repeats: int = 5) -> dict[str, Any]:
    """Build the book, time every measure and return the results (plain JSON types).

    Raises
    ------
    ValueError
        When ``positions`` is below 20 or ``repeats`` below 1.

    """
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}")
    book = build_book(positions)
    pos, marks, on = book.positions, book.marks, VALUATION_DATE
    spy = marks.spots["SPY"]
    market_betas = {u: b["Market"] for u, b in book.betas.items()}
    every_grouping = tuple(Grouping)
    strategies: list[StrategyMatch] = detect_strategies(pos, on=on)

    def floor() -> object:
        return value_book(pos, marks)

    def greeks(given: Sequence[StrategyMatch] | None) -> Callable[[], object]:
        def measure() -> object:
            valuation = value_book(pos, marks)
            exposures = compute_exposures(
                pos, valuation, on=on, benchmark="SPY", benchmark_price=spy, betas=market_betas
            )
            report = aggregate_greeks(pos, valuation, on=on, by=every_grouping, strategies=given)
            return exposures, report

        return measure

    rows: list[dict[str, Any]] = []
    floor_s = _median_time(floor, repeats)
    base = value_book(pos, marks)
    ok = np.array([s is MarkStatus.OK for s in base.status], dtype=bool)
    options = sum(1 for p in pos if p.is_option)
    american = sum(
        1
        for p in pos
        if isinstance(p.instrument, OptionContract) and p.instrument.style is ExerciseStyle.AMERICAN
    )
    size = f"{len(pos):,} positions ({options:,} options) on {len(book.underlyings)} underlyings"
    rows.append(
        _row(
            "exposures + Greeks (strategy groups given)",
            _median_time(greeks(strategies), repeats),
            _GREEKS_TARGET_S,
            "one value_book pass with Greeks",
            floor_s,
            f"{size}: value_book + compute_exposures (beta-weighted to SPY) + aggregate_greeks "
            f"by all 5 groupings, {len(strategies):,} strategy groups passed in (no detection), "
            f"median of {repeats}",
        )
    )
    rows.append(
        _row(
            "strategy detection alone",
            _median_time(lambda: detect_strategies(pos, on=on), repeats),
            None,
            "one value_book pass with Greeks",
            floor_s,
            f"detect_strategies over the book ({len(strategies):,} groups found), "
            f"median of {repeats}",
        )
    )
    rows.append(
        _row(
            "exposures + Greeks incl. strategy detection",
            _median_time(greeks(None), repeats),
            _GREEKS_TARGET_S,
            "one value_book pass with Greeks",
            floor_s,
            f"measure 1 with aggregate_greeks detecting the strategy groups itself, "
            f"median of {repeats}",
        )
    )

    def var(horizons: tuple[int, ...]) -> Callable[[], Any]:
        def measure() -> Any:
            return historical_var(
                pos,
                marks,
                book.returns,
                names=book.names,
                confidence=_CONFIDENCE,
                horizon_days=horizons,
                window=_WINDOW,
            )

        return measure

    dollar_delta = base.delta * base.spot
    recent = book.returns[-_WINDOW:]
    cumulative = np.vstack([np.zeros((1, recent.shape[1])), np.cumsum(recent, axis=0)])
    ten_day = cumulative[10:] - cumulative[:-10]
    linear_1d_s, linear_1d = _linear_pnl_time(pos, dollar_delta, ok, book.names, recent, repeats)
    both = np.vstack([recent, ten_day])
    linear_10d_s, _ = _linear_pnl_time(pos, dollar_delta, ok, book.names, both, repeats)
    report_1d = var((1,))()
    report_10d = var((10,))()
    rows.append(
        _row(
            "historical VaR 500d, 1-day 95/99",
            _median_time(var((1,)), repeats),
            _VAR_TARGET_S,
            "delta-only linear P&L (numpy matrix product)",
            linear_1d_s,
            f"{report_1d.n_scenarios[1]} daily scenarios x {len(pos):,} positions, every option "
            f"fully repriced (American: Bjerksund-Stensland 2002; European: BSM), VaR and ES "
            f"at 95% and 99%, median of {repeats}",
        )
    )
    rows.append(
        _row(
            "historical VaR 500d, 10-day 95/99",
            _median_time(var((10,)), repeats),
            _VAR_TARGET_S,
            "delta-only linear P&L (numpy matrix product)",
            linear_10d_s,
            f"{report_10d.n_scenarios[10]} overlapping 10-day scenarios plus the "
            f"{_WINDOW} 1-day ones the engine simulates for its sqrt(10)-scaled comparison, "
            f"median of {repeats}",
        )
    )

    scenario_file = load_scenario_file()
    scenarios: tuple[Scenario, ...] = scenario_file.scenarios

    def stress() -> Any:
        return run_stress(
            pos,
            marks,
            scenarios,
            betas=book.betas,
            correlation=book.correlation,
            propagate=True,
            config=scenario_file.config,
        )

    stack = 1 + 2 * len(scenarios)
    shocks = np.linspace(0.7, 1.3, stack)

    def stress_floor() -> object:
        return value_book(
            pos, marks, spot_multipliers=shocks, vol_multipliers=2.0 - shocks, with_greeks=False
        )

    stress_report = stress()
    rows.append(
        _row(
            f"all {len(scenarios)} stress scenarios, propagated",
            _median_time(stress, repeats),
            _STRESS_TARGET_S,
            f"value_book of {stack} scenario rows (prices only)",
            _median_time(stress_floor, repeats),
            f"run_stress of every packaged scenario: direct shocks, phase-2 propagation through "
            f"the EWMA factor correlation, spot-vol rule, full revaluation, median of {repeats}",
        )
    )
    per_portfolio = positions // _BATCH_PORTFOLIOS
    batch: dict[str, Any] | None = None
    if per_portfolio < _MIN_BATCH_POSITIONS:
        skipped = _row(
            f"daily batch {_BATCH_PORTFOLIOS} x {per_portfolio:,} positions",
            None,
            _BATCH_TARGET_S,
            "",
            None,
            f"skipped: a book under {_BATCH_PORTFOLIOS * _MIN_BATCH_POSITIONS:,} positions "
            f"gives portfolios under {_MIN_BATCH_POSITIONS} positions, too small to time a "
            "batch (its fixed costs would be all there is to see)",
        )
        rows.append(skipped | {"status": "skipped"})
    else:
        batch = batch_timing(repeats=min(repeats, _BATCH_REPEATS), positions=per_portfolio)
        rows.append(
            _row(
                f"daily batch {_BATCH_PORTFOLIOS} x {batch['positions_per_portfolio']:,} positions",
                batch["median_s"],
                _BATCH_TARGET_S,
                "the portfolios' own run times summed (one process, one after the other)",
                batch["serial_s"],
                f"DailyBatch.run of every step (prices ... correlations, 500-day VaR with full "
                f"revaluation, every stress scenario) on a temporary SQLite file, process pool "
                f"of {batch['workers']} workers, --force, median of {batch['repeats']} runs "
                f"(pool start-up included; the first, cold run took {batch['cold_s']:.1f} s)",
            )
        )

    worst = min(stress_report.results, key=lambda r: r.pnl)
    linear_var_99 = float(np.quantile(-linear_1d, 0.99, method="linear"))
    greeks_report = aggregate_greeks(pos, base, on=on, by=(), strategies=strategies)
    exposures = compute_exposures(
        pos, base, on=on, benchmark="SPY", benchmark_price=spy, betas=market_betas
    )

    def figure(report: Any, level: float, horizon: int) -> dict[str, str]:
        fig = report.figure(level, horizon)
        return {"var": _money(fig.var), "es": _money(fig.es)}

    figures = {
        "market_value": _money(exposures.market_value),
        "gross": _money(exposures.gross),
        "delta_net": _money(exposures.delta_net),
        "vega": _money(greeks_report.totals.vega),
        "var": {
            "1d": {str(c): figure(report_1d, c, 1) for c in _CONFIDENCE},
            "10d": {str(c): figure(report_10d, c, 10) for c in _CONFIDENCE},
            "excluded": len(report_1d.excluded),
            "linear_1d_0.99_var": _money(linear_var_99),
        },
        "stress": {
            "scenarios": len(stress_report.results),
            "worst": {
                "key": worst.scenario.key,
                "pnl": _money(worst.pnl),
                "impact": f"{worst.impact:.4f}",
                "severity": worst.severity,
            },
            "excluded": len(stress_report.excluded),
        },
    }
    return {
        "benchmark": "portfolio",
        "repeats": repeats,
        "valuation_date": on.isoformat(),
        "book": {
            "positions": len(pos),
            "options": options,
            "american_options": american,
            "european_options": options - american,
            "expired_options": book.expired,
            "underlyings": len(book.underlyings),
            "strategy_groups": len(strategies),
        },
        "figures": figures,
        "batch": batch,
        "results": rows,
    }


def main(positions: int, repeats: int, as_json: bool) -> None:
    """Run the portfolio benchmarks and print a rich table (or JSON with ``as_json``)."""
    out = run(positions=positions, repeats=repeats)
    if as_json:
        print(json.dumps(out, indent=2))
        return
    b = out["book"]
    table = Table(
        title=(
            f"riskdesk portfolio benchmark (warm medians): {b['positions']:,} positions, "
            f"{b['options']:,} options ({b['european_options']:,} European, "
            f"{b['expired_options']} expired), {b['underlyings']} underlyings"
        )
    )
    for column in ("#", "measurement", "median", "target", "status", "baseline", "x baseline"):
        table.add_column(column, justify="left" if column == "measurement" else "right")
    for i, row in enumerate(out["results"], start=1):
        ratio = row["ratio_to_baseline"]
        table.add_row(
            str(i),
            row["name"],
            row["status"] if row["median_s"] is None else _fmt(row["median_s"]),
            "" if row["target_s"] is None else _fmt(row["target_s"]),
            row["status"],
            "" if row["baseline_median_s"] is None else _fmt(row["baseline_median_s"]),
            "" if ratio is None else f"{ratio:.1f}x",
        )
    console = Console()
    console.print(table)
    for i, row in enumerate(out["results"], start=1):
        baseline = f" Baseline: {row['baseline']}." if row["baseline"] else ""
        console.print(f"[dim]{i}. {row['detail']}.{baseline}[/dim]")
    var = out["figures"]["var"]
    worst = out["figures"]["stress"]["worst"]
    console.print(
        f"[dim]Figures: 1-day VaR 99% {var['1d']['0.99']['var']} (delta-only "
        f"{var['linear_1d_0.99_var']}), 10-day VaR 99% {var['10d']['0.99']['var']}; worst "
        f"stress {worst['key']} {worst['pnl']} ({worst['severity']}).[/dim]"
    )


def _fmt(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} us"
    if seconds < 1.0:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.2f} s"
