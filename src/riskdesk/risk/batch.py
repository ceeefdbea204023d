"""The daily risk batch: every portfolio's measures of one date, step by step, audited.

Steps, in seed 002's order (:data:`STEPS`), each a call into the use cases
(:class:`~riskdesk.risk.reports.RiskReports`, :class:`~riskdesk.risk.portfolios.Portfolios`,
:class:`~riskdesk.risk.history_usecases.PriceHistory`) or the repository
:mod:`riskdesk.store.batch`; records are what each step reports as processed:

``prices``
    Every close the date needs is stored: the underlyings of the positions held on the date
    (expired options excluded) and the factor proxies. A missing close fails the step and
    names the tickers. Records: tickers found.
``returns``
    Every one of those tickers has at least ``MIN_OBSERVATIONS`` (60, the fewest of a beta)
    daily returns in the factor window (``settings.factor_window`` sessions up to the date);
    otherwise the step fails naming each short ticker and its count. Records: returns found.
``position_values``
    ``positions.mark_price`` (per unit: per share, or per option contract unit before the
    multiplier) and ``unrealized_pnl`` (value minus quantity x multiplier x entry price, to the
    cent) from the marks of :meth:`RiskReports.marks`, fully repriced; a position not priced
    (expired, no spot, no vol) gets NULL (never a guess). These columns hold the marks of the
    last batch run, whatever its date. The daily snapshot's value and exposure columns are
    written here (market value; long, short as a negative number, gross, net), because this
    step computes them. Records: positions marked.
``greeks``
    :meth:`RiskReports.store_position_greeks`. Records: rows written.
``factors``
    :meth:`RiskReports.factors` (it stores betas, exposures and covariance). Records: rows.
``market_risk``
    :meth:`RiskReports.var` over ``settings.var_window`` sessions; the result keeps the 95 and
    99% 1- and 10-day historical VaR / ES. The snapshot's ``portfolio_beta`` (the stored
    univariate exposure to Market, i.e. the beta-weighted book over its gross delta exposure)
    and ``annualized_volatility`` (standard deviation of the 1-day historical P&L x sqrt(252)
    over the market value; NULL when the value is not positive) are written here.
    Records: VaR figures.
``stress``
    :meth:`RiskReports.stress` on every packaged scenario; the result keeps the worst loss.
    Records: scenarios.
``snapshot``
    Closes the daily snapshot: ``total_pnl`` (sum of the unrealized P&L of the marked
    positions) and ``daily_pnl`` (market value minus the previous daily snapshot's; NULL for a
    first snapshot). Fails when the date has no snapshot row. Records: 1.
``correlations``
    :meth:`RiskReports.correlation` (stored); the snapshot's ``diversification_score`` and
    ``position_correlation`` (weighted average correlation). Records: pairs stored.

Every figure is written by the step that computes it, so a resumed run never needs an
earlier step's in-memory result.

Audit, idempotence, resume
--------------------------
Each step of a portfolio has ONE ``calculation_audit_log`` row per date: set ``running`` (its
own short unit, committed) before the step, then ``completed`` with records or ``failed`` with
the error. A portfolio's run starts at its first step not completed on that date: a date whose
steps all completed recomputes nothing (``already_done``) unless ``force``; after a failure the
next run starts at the failed step. A step's failure stops that portfolio (later steps depend
on it) but never the other portfolios. Every write replaces that date's rows, so no run
duplicates anything. A portfolio holding no position on the date is reported ``empty``,
with no steps run. A step (or its audit write) that fails on a transient database lock
(SQLite's busy timeout while another worker writes, a PostgreSQL deadlock or serialization
failure) is tried up to six times with a doubling pause (0.5 s up to 8 s) before it counts
as failed: every step replaces its date's rows, so a retry is safe. Database errors reach
the audit log as one line, without SQL or parameters.

Executors
---------
Portfolios are independent, so the batch fans out: ``inline`` (this process, one portfolio
after the other; the tests' reference), ``process`` (a ``ProcessPoolExecutor``, spawn context;
the default) or ``dask`` (a ``dask.distributed.Client`` on a scheduler address). Workers open
their own :class:`~riskdesk.store.Database` from the URL (once per worker process) and return
plain dataclasses. Progress callbacks run in the calling process, once per finished portfolio.
"""

from __future__ import annotations

import enum
import math
import multiprocessing
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import partial
from typing import Any, TypeVar

import numpy as np

from riskdesk.domain.caller import Caller
from riskdesk.domain.timeutil import is_trading_day
from riskdesk.risk.exposures import compute_exposures
from riskdesk.risk.factors import FACTOR_PROXIES, MIN_OBSERVATIONS, REGRESSION_WINDOW
from riskdesk.risk.history import last_sessions
from riskdesk.risk.history_usecases import PriceHistory
from riskdesk.risk.marks import MarkStatus, value_book
from riskdesk.risk.portfolios import Portfolios
from riskdesk.risk.reports import (
    CORRELATION_WINDOW,
    DEFAULT_RATE,
    FACTOR_ROWS,
    VAR_WINDOW,
    InsignificantBookError,
    PortfolioBook,
    RiskReports,
)
from riskdesk.store import Database
from riskdesk.store import batch as repo
from riskdesk.store.paging import PageKey

__all__ = [
    "STEPS",
    "BatchResult",
    "BatchSettings",
    "DailyBatch",
    "Executor",
    "PortfolioRun",
    "PortfolioStatus",
    "ProgressCallback",
    "StepOutcome",
    "run_portfolio",
]

STEPS: tuple[str, ...] = (
    "prices",
    "returns",
    "position_values",
    "greeks",
    "factors",
    "market_risk",
    "stress",
    "snapshot",
    "correlations",
)
"""The batch steps in seed 002's order."""
_ANNUAL = math.sqrt(252.0)
_CENTS = Decimal("0.01")
_UNIT = Decimal("1e-8")
_RATIO = Decimal("1e-10")
_ERROR_LIMIT = 2_000
_RETRIES = 6
_RETRY_BASE_S = 0.5
_RETRY_CAP_S = 8.0
T = TypeVar("T")

ProgressCallback = Callable[["PortfolioRun", int, int], None]
"""Called with each finished portfolio's run, the number finished and the total."""


class Executor(enum.StrEnum):
    """Where the portfolios run."""

    INLINE = "inline"
    PROCESS = "process"
    DASK = "dask"


@dataclass(frozen=True, slots=True)
class BatchSettings:
    """Windows and inputs of a batch run (sessions; the rate continuously compounded)."""

    var_window: int = VAR_WINDOW
    factor_window: int = REGRESSION_WINDOW
    correlation_window: int = CORRELATION_WINDOW
    rate: float = DEFAULT_RATE
    seed: int = 7
    correlation_min_value: float = 10_000.0
    """Seed 002's significance filter of the correlation step: delta-dollar exposure floor."""
    correlation_min_weight: float = 0.01
    """... and share of the gross delta-dollar exposure (so at most 100 positions)."""

    def __post_init__(self) -> None:
        for name in ("var_window", "factor_window", "correlation_window"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 20:
                raise ValueError(f"{name} must be a whole number of sessions >= 20, got {value!r}")


@dataclass(frozen=True, slots=True)
class StepOutcome:
    """One step of one portfolio in this run.

    ``status`` is ``completed``, ``failed`` or ``skipped`` (completed by an earlier run).
    """

    step: str
    status: str
    records: int | None = None
    seconds: float | None = None
    error: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types."""
        return {
            "step": self.step,
            "status": self.status,
            "records": self.records,
            "seconds": None if self.seconds is None else round(self.seconds, 4),
            "error": self.error,
            "details": dict(self.details),
        }


class PortfolioStatus(enum.StrEnum):
    """How a portfolio's run ended."""

    COMPLETED = "completed"
    ALREADY_DONE = "already_done"
    FAILED = "failed"
    EMPTY = "empty"


@dataclass(frozen=True, slots=True)
class PortfolioRun:
    """One portfolio's batch run on one date (plain data: crosses process boundaries)."""

    portfolio_id: uuid.UUID
    name: str
    day: date
    status: PortfolioStatus
    steps: tuple[StepOutcome, ...]
    seconds: float

    @property
    def ran(self) -> tuple[str, ...]:
        """The steps computed by this run (not skipped)."""
        return tuple(s.step for s in self.steps if s.status != "skipped")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types."""
        return {
            "portfolio_id": str(self.portfolio_id),
            "portfolio": self.name,
            "date": self.day.isoformat(),
            "status": self.status.value,
            "seconds": round(self.seconds, 4),
            "steps": [s.to_dict() for s in self.steps],
        }


@dataclass(frozen=True, slots=True)
class BatchResult:
    """Every portfolio's run of one date."""

    day: date
    executor: Executor
    workers: int
    portfolios: tuple[PortfolioRun, ...]
    seconds: float

    @property
    def failed(self) -> tuple[PortfolioRun, ...]:
        """The portfolios whose run failed."""
        return tuple(p for p in self.portfolios if p.status is PortfolioStatus.FAILED)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types."""
        return {
            "date": self.day.isoformat(),
            "executor": self.executor.value,
            "workers": self.workers,
            "seconds": round(self.seconds, 4),
            "portfolios": [p.to_dict() for p in self.portfolios],
            "failed": len(self.failed),
        }


class _StepError(RuntimeError):
    """A step's own refusal (missing data): its message goes to the audit log as is."""


def _now() -> datetime:
    return datetime.now(UTC)


def _money(value: float) -> Decimal:
    return Decimal(repr(float(value))).quantize(_CENTS)


def _ratio(value: float | None) -> Decimal | None:
    if value is None or not math.isfinite(value):
        return None
    return Decimal(repr(float(value))).quantize(_RATIO)


# -- the steps --------------------------------------------------------------------------------


@dataclass
class _Context:
    db: Database
    caller: Caller
    reports: RiskReports
    book: PortfolioBook
    day: date
    settings: BatchSettings

    def tickers(self) -> list[str]:
        held = {p.underlying for p in self.book.positions if not p.expired(self.day)}
        return sorted(held | set(FACTOR_PROXIES.values()))


_StepResult = tuple[int, dict[str, Any]]


def _prices(ctx: _Context) -> _StepResult:
    wanted = ctx.tickers()
    history = PriceHistory(ctx.db, ctx.caller)
    try:
        history.closes(wanted, start=ctx.day, end=ctx.day)
    except LookupError:
        missing = [t for t in wanted if history.close_on(t, ctx.day) is None]
        raise _StepError(
            f"no close on {ctx.day.isoformat()} for {', '.join(missing)}: import them "
            "(`riskdesk history import FILE`) and run the batch again"
        ) from None
    return len(wanted), {"tickers": len(wanted)}


def _returns(ctx: _Context) -> _StepResult:
    wanted = ctx.tickers()
    days = last_sessions(ctx.day, ctx.settings.factor_window + 1)
    try:
        closes = PriceHistory(ctx.db, ctx.caller).closes(wanted, start=days[0], end=ctx.day)
    except LookupError as exc:
        raise _StepError(str(exc)) from exc
    closes = closes.reindex(list(days))
    values = closes.to_numpy(dtype=np.float64)
    pairs = np.isfinite(values[1:]) & np.isfinite(values[:-1])
    counts = pairs.sum(axis=0)
    short = [
        f"{t} ({int(n)})"
        for t, n in zip(closes.columns, counts, strict=True)
        if n < MIN_OBSERVATIONS
    ]
    if short:
        raise _StepError(
            f"too few daily returns in the {ctx.settings.factor_window} sessions up to "
            f"{ctx.day.isoformat()} (at least {MIN_OBSERVATIONS} needed): {', '.join(short)}"
        )
    return int(counts.sum()), {"tickers": len(wanted), "sessions": len(days) - 1}


def _position_values(ctx: _Context) -> _StepResult:
    positions = ctx.book.positions
    marks = ctx.reports.marks(ctx.book, ctx.day, rate=ctx.settings.rate)
    valuation = value_book(positions, marks)
    rows: list[repo.PositionMark] = []
    marked = 0
    for i, p in enumerate(positions):
        if p.position_id is None:
            continue
        if valuation.status[i] is not MarkStatus.OK:
            rows.append(repo.PositionMark(p.position_id, None, None))
            continue
        value = float(valuation.value[i])
        units = float(p.quantity) * p.multiplier
        cost = float(p.entry_price) * units
        mark = Decimal(repr(value / units)).quantize(_UNIT)
        rows.append(repo.PositionMark(p.position_id, mark, _money(value - cost)))
        marked += 1
    exposures = compute_exposures(positions, valuation, on=ctx.day)
    values = {
        "total_value": _money(exposures.market_value),
        "long_exposure": _money(exposures.long),
        "short_exposure": _money(exposures.short),
        "gross_exposure": _money(exposures.gross),
        "net_exposure": _money(exposures.net),
    }
    with ctx.db.unit_of_work_for(ctx.caller) as uow:
        repo.write_position_marks(uow.session, marks=rows)
        repo.update_daily_snapshot(
            uow.session, portfolio_id=ctx.book.portfolio_id, day=ctx.day, values=values
        )
        uow.audit(
            "batch.position_values",
            resource_type="portfolio",
            resource_id=ctx.book.portfolio_id,
            payload={"date": ctx.day.isoformat(), "marked": marked, "unmarked": len(rows) - marked},
        )
    return marked, {k: str(v) for k, v in values.items()} | {"unmarked": len(rows) - marked}


def _greeks(ctx: _Context) -> _StepResult:
    stored = ctx.reports.store_position_greeks(ctx.book, ctx.day, rate=ctx.settings.rate)
    return stored.written, {"excluded": len(stored.excluded)}


def _factors(ctx: _Context) -> _StepResult:
    report = ctx.reports.factors(
        ctx.book, ctx.day, ctx.settings.factor_window, rate=ctx.settings.rate
    )
    records = report.stored_betas + report.stored_exposures + report.stored_covariances
    return records, {
        "position_factor_betas": report.stored_betas,
        "portfolio_factor_exposures": report.stored_exposures,
        "factor_covariance_matrix": report.stored_covariances,
    }


def _market_risk(ctx: _Context) -> _StepResult:
    outcome = ctx.reports.var(
        ctx.book,
        ctx.day,
        window=ctx.settings.var_window,
        rate=ctx.settings.rate,
        seed=ctx.settings.seed,
        monte_carlo=False,  # the step keeps the historical figures (full revaluation)
    )
    historical = outcome.historical
    pnl = np.asarray(historical.pnl.get(1, ()), dtype=np.float64)
    pnl = pnl[np.isfinite(pnl)]
    value = historical.current_value
    volatility = (
        float(np.std(pnl, ddof=1)) * _ANNUAL / value if pnl.size > 1 and value > 0 else None
    )
    figures = {
        f"var_{round(f.confidence * 100)}_{f.horizon_days}d": str(_money(f.var))
        for f in historical.figures
    } | {
        f"es_{round(f.confidence * 100)}_{f.horizon_days}d": str(_money(f.es))
        for f in historical.figures
    }
    with ctx.db.unit_of_work_for(ctx.caller) as uow:
        beta = repo.market_beta(
            uow.session,
            portfolio_id=ctx.book.portfolio_id,
            day=ctx.day,
            factor_name=FACTOR_ROWS["Market"].name,
        )
        repo.update_daily_snapshot(
            uow.session,
            portfolio_id=ctx.book.portfolio_id,
            day=ctx.day,
            values={"portfolio_beta": beta, "annualized_volatility": _ratio(volatility)},
        )
    records = len(historical.figures) + len(outcome.delta_gamma.figures)
    if outcome.monte_carlo is not None:
        records += len(outcome.monte_carlo.figures)
    return records, figures | {
        "portfolio_beta": None if beta is None else str(beta),
        "annualized_volatility": None if volatility is None else round(volatility, 6),
    }


def _stress(ctx: _Context) -> _StepResult:
    outcome = ctx.reports.stress(
        ctx.book,
        ctx.day,
        window=ctx.settings.factor_window,
        rate=ctx.settings.rate,
    )
    results = outcome.report.results
    worst = min(results, key=lambda r: r.pnl) if results else None
    return len(results), {
        "worst_scenario": None if worst is None else worst.scenario.key,
        "worst_pnl": None if worst is None else str(_money(worst.pnl)),
    }


def _snapshot(ctx: _Context) -> _StepResult:
    pid = ctx.book.portfolio_id
    detail = Portfolios(ctx.db, ctx.caller).get(pid)
    held = {p.position_id for p in ctx.book.positions if p.position_id is not None}
    with ctx.db.unit_of_work_for(ctx.caller) as uow:
        current = repo.read_daily_snapshot(uow.session, portfolio_id=pid, day=ctx.day)
        if current is None or current["total_value"] is None:
            raise _StepError(
                f"no daily snapshot of {ctx.day.isoformat()} to close: the position values "
                "step has not completed (run the batch with --force)"
            )
        unrealized = repo.unrealized_pnl(uow.session, position_ids=sorted(held))
        previous = repo.previous_daily_snapshot(uow.session, portfolio_id=pid, before=ctx.day)
        total_value: Decimal = current["total_value"]
        daily = None if previous is None else (total_value - previous[1]).quantize(_CENTS)
        total = sum(unrealized, Decimal(0)).quantize(_CENTS)
        repo.update_daily_snapshot(
            uow.session,
            portfolio_id=pid,
            day=ctx.day,
            values={"daily_pnl": daily, "total_pnl": total},
        )
        uow.audit(
            "batch.snapshot",
            resource_type="portfolio",
            resource_id=pid,
            payload={
                "date": ctx.day.isoformat(),
                "total_value": total_value,
                "daily_pnl": daily,
                "total_pnl": total,
                "positions": len(detail.positions),
            },
        )
    return 1, {
        "total_value": str(total_value),
        "daily_pnl": None if daily is None else str(daily),
        "total_pnl": str(total),
        "previous_date": None if previous is None else previous[0].isoformat(),
    }


def _correlations(ctx: _Context) -> _StepResult:
    try:
        report = ctx.reports.correlation(
            ctx.book,
            ctx.day,
            ctx.settings.correlation_window,
            rate=ctx.settings.rate,
            min_position_value=ctx.settings.correlation_min_value,
            min_portfolio_weight=ctx.settings.correlation_min_weight,
        )
    except InsignificantBookError as exc:
        return 0, {"significant_positions": 0, "note": str(exc)}
    metrics = report.metrics
    with ctx.db.unit_of_work_for(ctx.caller) as uow:
        repo.update_daily_snapshot(
            uow.session,
            portfolio_id=ctx.book.portfolio_id,
            day=ctx.day,
            values={
                "diversification_score": _ratio(metrics.diversification_score),
                "position_correlation": _ratio(metrics.average_correlation),
            },
        )
    return report.stored, {
        "diversification_score": metrics.diversification_score,
        "average_correlation": metrics.average_correlation,
        "effective_positions": metrics.effective_positions,
        "significant_positions": len(report.positions),
        "below_threshold": len(report.below_threshold),
    }


_STEP_FUNCTIONS: Mapping[str, Callable[[_Context], _StepResult]] = {
    "prices": _prices,
    "returns": _returns,
    "position_values": _position_values,
    "greeks": _greeks,
    "factors": _factors,
    "market_risk": _market_risk,
    "stress": _stress,
    "snapshot": _snapshot,
    "correlations": _correlations,
}
assert tuple(_STEP_FUNCTIONS) == STEPS


def _error_text(exc: BaseException) -> str:
    text = str(exc) if isinstance(exc, _StepError) else repo.error_text(exc)
    return text[:_ERROR_LIMIT]


def _retrying(work: Callable[[], T]) -> T:
    """``work()``, retried while it fails on a transient database lock (module docstring)."""
    for attempt in range(_RETRIES - 1):
        try:
            return work()
        except Exception as exc:
            if not repo.is_transient(exc):
                raise
            time.sleep(min(_RETRY_BASE_S * 2**attempt, _RETRY_CAP_S))
    return work()


def _start(db: Database, caller: Caller, pid: uuid.UUID, step: str, day: date) -> uuid.UUID:
    with db.unit_of_work_for(caller) as uow:
        return repo.start_step(uow.session, portfolio_id=pid, step=step, day=day, started=_now())


def _finish(
    db: Database, caller: Caller, row_id: uuid.UUID, records: int | None, error: str | None
) -> None:
    with db.unit_of_work_for(caller) as uow:
        repo.finish_step(uow.session, row_id=row_id, ended=_now(), records=records, error=error)


def run_portfolio(
    db: Database,
    caller: Caller,
    portfolio_id: uuid.UUID,
    day: date,
    *,
    force: bool = False,
    settings: BatchSettings | None = None,
    on_step: Callable[[StepOutcome], None] | None = None,
) -> PortfolioRun:
    """Run the batch steps of one portfolio on ``day`` (module docstring for the rules).

    Returns the run as plain data; a failing step is recorded (audit log and result), never
    raised. Raises only for a portfolio the caller cannot see (``NotFoundError``).
    """
    chosen = settings or BatchSettings()
    started = time.perf_counter()
    reports = RiskReports(db, caller)
    book = reports.book(portfolio_id, day)
    if not book.positions:
        return PortfolioRun(book.portfolio_id, book.name, day, PortfolioStatus.EMPTY, (), 0.0)
    with db.unit_of_work_for(caller, read_only=True) as uow:
        done = {
            r.step
            for r in repo.step_rows(uow.session, day=day, portfolio_ids=[book.portfolio_id])
            if r.status == "completed"
        }
    first = 0 if force else next((i for i, s in enumerate(STEPS) if s not in done), len(STEPS))
    outcomes = [StepOutcome(step, "skipped") for step in STEPS[:first]]
    ctx = _Context(db, caller, reports, book, day, chosen)
    status = PortfolioStatus.ALREADY_DONE if first == len(STEPS) else PortfolioStatus.COMPLETED
    for step in STEPS[first:]:
        row_id = _retrying(partial(_start, db, caller, book.portfolio_id, step, day))
        tick = time.perf_counter()
        records: int | None = None
        details: dict[str, Any] = {}
        error: str | None = None
        try:
            records, details = _retrying(partial(_STEP_FUNCTIONS[step], ctx))
        except Exception as exc:  # a failing step is recorded, the batch goes on
            error = _error_text(exc)
        _retrying(partial(_finish, db, caller, row_id, records, error))
        outcome = StepOutcome(
            step,
            "completed" if error is None else "failed",
            records,
            time.perf_counter() - tick,
            error,
            details,
        )
        outcomes.append(outcome)
        if on_step is not None:
            on_step(outcome)
        if error is not None:
            status = PortfolioStatus.FAILED
            break
    return PortfolioRun(
        book.portfolio_id,
        book.name,
        day,
        status,
        tuple(outcomes),
        time.perf_counter() - started,
    )


# -- workers ----------------------------------------------------------------------------------

_WORKER_DATABASES: dict[tuple[str, str], Database] = {}


def _worker_run(
    url: str,
    caller: Caller,
    portfolio_id: uuid.UUID,
    day: date,
    force: bool,
    settings: BatchSettings,
) -> PortfolioRun:
    """One portfolio in a worker process: its own Database per (URL, actor), kept for reuse."""
    key = (url, caller.actor)
    db = _WORKER_DATABASES.get(key)
    if db is None:
        db = _WORKER_DATABASES[key] = Database.from_url(url, actor=caller.actor, create=False)
    return run_portfolio(db, caller, portfolio_id, day, force=force, settings=settings)


def _failed_run(pid: uuid.UUID, name: str, day: date, exc: BaseException) -> PortfolioRun:
    """A portfolio whose worker itself failed (not one of its steps)."""
    return PortfolioRun(
        pid,
        name,
        day,
        PortfolioStatus.FAILED,
        (StepOutcome("worker", "failed", error=_error_text(exc)),),
        0.0,
    )


class DailyBatch:
    """The daily batch on one database, for one caller.

    Parameters
    ----------
    db
        The database; workers (process pool, Dask) reopen it from its URL, so it must be a
        file or server database for those executors.
    caller
        Who runs it: a caller with a ``user_id`` runs (and sees) only its own portfolios;
        None is the local desktop user (every portfolio).
    everyone
        Run (and see) every user's portfolios: an admin's choice (a ``ValueError`` for a
        lesser role). The steps then run unscoped under the caller's name, IP and agent (their
        audit rows carry no user id).

    """

    def __init__(
        self, db: Database, caller: Caller | None = None, *, everyone: bool = False
    ) -> None:
        who = caller if caller is not None else Caller.local(db.actor)
        if everyone and who.scoped:
            if not who.at_least("admin"):
                raise ValueError(f"only an admin runs every user's batch, not a {who.role}")
            who = Caller(who.actor, None, "admin", who.ip_address, who.user_agent)
        self.db = db
        self.caller = who

    def _url(self) -> str:
        return self.db.engine.url.render_as_string(hide_password=False)

    def portfolios(self, refs: Sequence[str] = ()) -> list[tuple[uuid.UUID, str]]:
        """(id, name) of the portfolios named in ``refs`` (names or ids), else all visible."""
        books = Portfolios(self.db, self.caller)
        if refs:
            found: dict[uuid.UUID, str] = {}
            for ref in refs:
                summary = books.get(ref).portfolio
                found[summary.portfolio_id] = summary.name
            return list(found.items())
        out: list[tuple[uuid.UUID, str]] = []
        after: PageKey | None = None
        while True:
            page = books.list(after=after, limit=200)
            out.extend((p.portfolio_id, p.name) for p in page.items)
            if page.next_key is None:
                break
            after = page.next_key
        return sorted(out, key=lambda item: (item[1], str(item[0])))

    def run(
        self,
        day: date,
        *,
        portfolios: Sequence[str] = (),
        force: bool = False,
        executor: Executor | str = Executor.PROCESS,
        workers: int | None = None,
        scheduler: str | None = None,
        settings: BatchSettings | None = None,
        progress: ProgressCallback | None = None,
    ) -> BatchResult:
        """Run the batch of ``day`` for ``portfolios`` (all visible when empty).

        ``executor`` is ``inline``, ``process`` (``workers`` processes; default: the CPU count,
        at most one per portfolio) or ``dask`` (``scheduler`` is the address, e.g.
        ``tcp://127.0.0.1:8786``; a scheduler given with the default executor selects Dask).

        Raises
        ------
        ValueError
            For a date that is not an NYSE session, a bad worker count, or Dask without a
            scheduler address.
        NotFoundError
            For a named portfolio the caller cannot see.

        """
        if not is_trading_day(day):
            raise ValueError(
                f"{day.isoformat()} is not an NYSE session: the batch runs on trading days"
            )
        kind = Executor(executor)
        if scheduler and kind is Executor.PROCESS:
            kind = Executor.DASK
        if kind is Executor.DASK and not scheduler:
            raise ValueError(
                "the Dask executor needs a scheduler address (--scheduler or "
                "RISKDESK_DASK_SCHEDULER), e.g. tcp://127.0.0.1:8786"
            )
        if workers is not None and (isinstance(workers, bool) or workers < 1):
            raise ValueError(f"workers must be a positive whole number, got {workers!r}")
        chosen = settings or BatchSettings()
        targets = self.portfolios(portfolios)
        started = time.perf_counter()
        total = len(targets)
        runs: dict[uuid.UUID, PortfolioRun] = {}

        def finished(run: PortfolioRun) -> None:
            runs[run.portfolio_id] = run
            if progress is not None:
                progress(run, len(runs), total)

        pool_size = 1
        if kind is Executor.INLINE or not targets:
            kind = Executor.INLINE if not targets else kind
            for pid, name in targets:
                try:
                    run = run_portfolio(
                        self.db, self.caller, pid, day, force=force, settings=chosen
                    )
                except Exception as exc:  # one portfolio never stops the others
                    run = _failed_run(pid, name, day, exc)
                finished(run)
        elif kind is Executor.PROCESS:
            pool_size = min(workers or multiprocessing.cpu_count() or 1, total)
            for run in self._process_pool(targets, day, force, chosen, pool_size):
                finished(run)
        else:
            assert scheduler is not None
            for run, size in self._dask(targets, day, force, chosen, scheduler):
                pool_size = size
                finished(run)
        ordered = tuple(runs[pid] for pid, _ in targets)
        return BatchResult(day, kind, pool_size, ordered, time.perf_counter() - started)

    def _process_pool(
        self,
        targets: Sequence[tuple[uuid.UUID, str]],
        day: date,
        force: bool,
        settings: BatchSettings,
        size: int,
    ) -> Iterator[PortfolioRun]:
        url = self._url()
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=size, mp_context=context) as pool:
            futures: dict[Future[PortfolioRun], tuple[uuid.UUID, str]] = {
                pool.submit(_worker_run, url, self.caller, pid, day, force, settings): (pid, name)
                for pid, name in targets
            }
            for future in as_completed(futures):
                pid, name = futures[future]
                try:
                    yield future.result()
                except Exception as exc:  # a dead worker fails its portfolio only
                    yield _failed_run(pid, name, day, exc)

    def _dask(
        self,
        targets: Sequence[tuple[uuid.UUID, str]],
        day: date,
        force: bool,
        settings: BatchSettings,
        address: str,
    ) -> Iterator[tuple[PortfolioRun, int]]:
        from dask.distributed import Client
        from dask.distributed import as_completed as dask_completed

        url = self._url()
        with Client(address, set_as_default=False) as client:  # type: ignore[no-untyped-call]
            size = max(1, len(client.scheduler_info().get("workers", {})))
            futures = {
                client.submit(
                    _worker_run, url, self.caller, pid, day, force, settings, pure=False
                ): (pid, name)
                for pid, name in targets
            }
            for future in dask_completed(list(futures), loop=client.loop):  # type: ignore[no-untyped-call]
                pid, name = futures[future]
                try:
                    yield future.result(), size
                except Exception as exc:  # a failed task fails its portfolio only
                    yield _failed_run(pid, name, day, exc), size

    def status(self, day: date, *, portfolios: Sequence[str] = ()) -> list[dict[str, Any]]:
        """Each visible portfolio's steps of ``day`` from the audit log, in step order.

        A step with no row is ``pending``.
        """
        targets = self.portfolios(portfolios)
        with self.db.unit_of_work_for(self.caller, read_only=True) as uow:
            rows = repo.step_rows(uow.session, day=day, portfolio_ids=[p for p, _ in targets])
        by_key = {(r.portfolio_id, r.step): r for r in rows}
        out: list[dict[str, Any]] = []
        for pid, name in targets:
            steps = []
            for step in STEPS:
                row = by_key.get((pid, step))
                steps.append(
                    {
                        "step": step,
                        "status": "pending" if row is None else row.status,
                        "records": None if row is None else row.records,
                        "start_time": None if row is None else row.start_time.isoformat(),
                        "end_time": None
                        if row is None or row.end_time is None
                        else row.end_time.isoformat(),
                        "seconds": None if row is None else row.duration_seconds,
                        "error": None if row is None else row.error,
                    }
                )
            out.append(
                {
                    "portfolio_id": str(pid),
                    "portfolio": name,
                    "date": day.isoformat(),
                    "complete": all(s["status"] == "completed" for s in steps),
                    "steps": steps,
                }
            )
        return out
