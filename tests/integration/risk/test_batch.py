"""The daily batch on both backends: every step audited, the daily snapshot written, a re-run
that changes no row count, a resume at the failed step, and the process pool and a two-worker
Dask cluster storing the same numbers as the in-process run."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.engine import Engine

from riskdesk.risk import batch as batch_module
from riskdesk.risk.batch import (
    STEPS,
    BatchSettings,
    DailyBatch,
    Executor,
    PortfolioStatus,
)
from riskdesk.risk.history_usecases import PriceHistory
from riskdesk.risk.portfolios import Portfolios
from riskdesk.risk.reports import RiskReports
from riskdesk.store import Database, make_session_factory
from riskdesk.store.models import AuditLog
from riskdesk.store.models.market import MarketDataCache
from riskdesk.store.models.portfolio import (
    FactorCovariance,
    PortfolioFactorExposure,
    PortfolioSnapshot,
    Position,
    PositionCorrelation,
    PositionFactorBeta,
    PositionGreeks,
)
from riskdesk.store.models.system import CalculationAuditLog

ON = date(2026, 11, 20)
PREVIOUS = date(2026, 11, 19)
SESSIONS = 200
SETTINGS = BatchSettings(var_window=100)
BOOK = (
    "ticker,quantity,entry_price,entry_date,tags\n"
    "AAPL,100,200,2026-01-05,core\n"
    "MSFT,40,400,2026-01-05,core\n"
    "NVDA,-50,120,2026-01-05,\n"
    "AAPL261218C00230000,5,6,2026-01-05,spread\n"
    "AAPL261218C00245000,-5,2,2026-01-05,spread\n"
    "SPY261218P00580000,3,9,2026-01-05,hedge\n"
)
SECOND = "ticker,quantity,entry_price,entry_date,tags\nAAPL,10,190,2026-02-02,\nNVDA,20,100,2026-02-02,\n"
WRITTEN = (
    CalculationAuditLog,
    PortfolioSnapshot,
    PositionGreeks,
    PositionFactorBeta,
    PortfolioFactorExposure,
    FactorCovariance,
    PositionCorrelation,
    AuditLog,
)


@pytest.fixture
def db(migrated_engine: Engine) -> Database:
    database = Database(engine=migrated_engine, sessions=make_session_factory(migrated_engine))
    books = Portfolios(database)
    books.create("book")
    books.create("second")
    assert books.import_csv("book", BOOK.encode(), today=ON).imported == 6
    assert books.import_csv("second", SECOND.encode(), today=ON).imported == 2
    PriceHistory(database).synthesize(
        ["AAPL", "MSFT", "NVDA"], seed=11, end=ON, days=SESSIONS, include_factors=True
    )
    return database


def _counts(db: Database) -> dict[str, int]:
    with db.sessions() as session:
        return {
            m.__tablename__: int(session.scalar(select(func.count()).select_from(m)) or 0)
            for m in WRITTEN
        }


def _stored_numbers(db: Database) -> dict[str, Any]:
    """Every figure the batch stores, keyed so that two runs compare equal."""
    with db.sessions() as session:
        snapshots = {
            (str(r.portfolio_id), r.snapshot_date): (
                r.total_value,
                r.long_exposure,
                r.short_exposure,
                r.gross_exposure,
                r.net_exposure,
                r.daily_pnl,
                r.total_pnl,
                r.portfolio_beta,
                r.annualized_volatility,
                r.diversification_score,
                r.position_correlation,
            )
            for r in session.scalars(select(PortfolioSnapshot))
        }
        greeks = {
            (str(r.position_id), r.calculation_date): (r.delta, r.gamma, r.theta, r.vega)
            for r in session.scalars(select(PositionGreeks))
        }
        marks = {
            str(r.id): (r.mark_price, r.unrealized_pnl)
            for r in session.scalars(select(Position).where(Position.portfolio_id.is_not(None)))
        }
        betas = {
            (str(r.position_id), str(r.factor_id)): r.beta
            for r in session.scalars(select(PositionFactorBeta))
        }
    return {"snapshots": snapshots, "greeks": greeks, "marks": marks, "betas": betas}


def test_batch_with_complete_history_runs_every_step_and_writes_the_snapshot(
    db: Database,
) -> None:
    result = DailyBatch(db).run(ON, executor=Executor.INLINE, settings=SETTINGS)

    assert [p.name for p in result.portfolios] == ["book", "second"]
    for run in result.portfolios:
        assert run.status is PortfolioStatus.COMPLETED, run.to_dict()
        assert run.ran == STEPS
    book = result.portfolios[0]
    records = {s.step: s.records for s in book.steps}
    assert records["prices"] == 3 + 8  # AAPL, MSFT, NVDA (SPY is a factor proxy) + 8 proxies
    assert records["position_values"] == 6
    assert records["greeks"] == 6
    with db.sessions() as session:
        logged = session.scalars(
            select(CalculationAuditLog).where(CalculationAuditLog.portfolio_id == book.portfolio_id)
        ).all()
        snapshot = session.scalars(
            select(PortfolioSnapshot).where(PortfolioSnapshot.portfolio_id == book.portfolio_id)
        ).one()
        positions = session.scalars(
            select(Position).where(Position.portfolio_id == book.portfolio_id)
        ).all()
    assert sorted(r.calculation_type for r in logged) == sorted(STEPS)
    assert all(r.status == "completed" and r.end_time is not None for r in logged)
    assert {r.calculation_type: r.records_processed for r in logged} == records
    exposures = RiskReports(db).exposures("book", ON)
    assert snapshot.snapshot_date == ON
    assert snapshot.frequency == "daily"
    assert snapshot.total_value == Decimal(repr(exposures.market_value)).quantize(Decimal("0.01"))
    assert snapshot.gross_exposure == Decimal(repr(exposures.gross)).quantize(Decimal("0.01"))
    assert snapshot.daily_pnl is None  # the first daily snapshot has nothing to compare with
    unrealized = sum(
        (p.unrealized_pnl for p in positions if p.unrealized_pnl is not None), Decimal(0)
    )
    assert snapshot.total_pnl == unrealized
    assert snapshot.portfolio_beta is not None
    assert snapshot.annualized_volatility is not None
    assert snapshot.annualized_volatility > 0
    assert snapshot.diversification_score is not None
    shares = next(p for p in positions if p.symbol == "AAPL")
    close = PriceHistory(db).close_on("AAPL", ON)
    assert close is not None
    assert shares.mark_price == close
    assert shares.unrealized_pnl == ((close - Decimal(200)) * 100).quantize(Decimal("0.01"))


def test_batch_with_rerun_of_a_completed_date_recomputes_nothing_and_keeps_row_counts(
    db: Database,
) -> None:
    runner = DailyBatch(db)
    runner.run(ON, executor=Executor.INLINE, settings=SETTINGS)
    before, numbers = _counts(db), _stored_numbers(db)

    again = runner.run(ON, executor=Executor.INLINE, settings=SETTINGS)
    forced = runner.run(ON, executor=Executor.INLINE, settings=SETTINGS, force=True)

    assert all(p.status is PortfolioStatus.ALREADY_DONE for p in again.portfolios)
    assert all(p.ran == () for p in again.portfolios)
    assert all(p.ran == STEPS for p in forced.portfolios)
    after = _counts(db)
    audit_before, audit_after = before.pop("audit_log"), after.pop("audit_log")
    assert after == before
    assert audit_after > audit_before  # only the forced run's own audit trail was added
    assert _stored_numbers(db) == numbers


def test_batch_with_a_missing_close_fails_that_portfolio_and_resumes_when_fixed(
    db: Database,
) -> None:
    with db.sessions() as session, session.begin():
        removed = session.scalars(
            select(MarketDataCache).where(
                MarketDataCache.ticker == "MSFT", MarketDataCache.date == ON
            )
        ).one()
        saved = {c: getattr(removed, c) for c in ("ticker", "date", "close", "data_source")}
        session.execute(delete(MarketDataCache).where(MarketDataCache.id == removed.id))
    runner = DailyBatch(db)

    first = runner.run(ON, executor=Executor.INLINE, settings=SETTINGS)

    book, second = first.portfolios
    assert book.status is PortfolioStatus.FAILED
    assert [(s.step, s.status) for s in book.steps] == [("prices", "failed")]
    assert book.steps[0].error is not None
    assert "MSFT" in book.steps[0].error
    assert "AAPL" not in book.steps[0].error
    assert second.status is PortfolioStatus.COMPLETED  # one failure never stops the others
    status = {p["portfolio"]: p for p in runner.status(ON)}
    assert [s["status"] for s in status["book"]["steps"]] == ["failed"] + ["pending"] * 8
    assert status["second"]["complete"] is True

    with db.sessions() as session, session.begin():
        session.add(MarketDataCache(**saved))
    resumed = runner.run(ON, executor=Executor.INLINE, settings=SETTINGS)

    assert resumed.portfolios[0].ran == STEPS
    assert resumed.portfolios[0].status is PortfolioStatus.COMPLETED
    assert resumed.portfolios[1].status is PortfolioStatus.ALREADY_DONE
    with db.sessions() as session:
        rows = session.scalars(
            select(CalculationAuditLog).where(CalculationAuditLog.calculation_type == "prices")
        ).all()
    assert len(rows) == 2
    assert all(r.status == "completed" and r.error_message is None for r in rows)


def test_batch_with_a_failed_later_step_resumes_at_that_step(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(ctx: object) -> tuple[int, dict[str, Any]]:
        raise RuntimeError("stress engine unavailable")

    monkeypatch.setitem(batch_module._STEP_FUNCTIONS, "stress", broken)
    runner = DailyBatch(db)
    first = runner.run(ON, executor=Executor.INLINE, portfolios=["book"], settings=SETTINGS)
    monkeypatch.undo()
    counts = _counts(db)

    resumed = runner.run(ON, executor=Executor.INLINE, portfolios=["book"], settings=SETTINGS)

    assert first.portfolios[0].ran == STEPS[: STEPS.index("stress") + 1]
    assert first.portfolios[0].steps[-1].error == "RuntimeError: stress engine unavailable"
    assert resumed.portfolios[0].ran == ("stress", "snapshot", "correlations")
    assert [s.status for s in resumed.portfolios[0].steps[:6]] == ["skipped"] * 6
    after = _counts(db)
    assert after["calculation_audit_log"] == counts["calculation_audit_log"] + 2
    assert after["portfolio_snapshots"] == counts["portfolio_snapshots"]


def test_batch_with_a_previous_snapshot_reports_the_daily_pnl(db: Database) -> None:
    runner = DailyBatch(db)
    runner.run(PREVIOUS, executor=Executor.INLINE, portfolios=["second"], settings=SETTINGS)
    runner.run(ON, executor=Executor.INLINE, portfolios=["second"], settings=SETTINGS)

    with db.sessions() as session:
        rows = {
            r.snapshot_date: r
            for r in session.scalars(
                select(PortfolioSnapshot).order_by(PortfolioSnapshot.snapshot_date)
            )
        }
    assert set(rows) == {PREVIOUS, ON}
    previous_total, total = rows[PREVIOUS].total_value, rows[ON].total_value
    assert previous_total is not None
    assert total is not None
    assert rows[ON].daily_pnl == total - previous_total
    assert rows[PREVIOUS].daily_pnl is None


def test_batch_with_a_weekend_date_is_refused(db: Database) -> None:
    with pytest.raises(ValueError, match="not an NYSE session"):
        DailyBatch(db).run(date(2026, 11, 21), executor=Executor.INLINE)


def test_batch_with_process_pool_stores_the_same_numbers_as_in_process(db: Database) -> None:
    runner = DailyBatch(db)
    runner.run(ON, executor=Executor.INLINE, settings=SETTINGS)
    inline, counts = _stored_numbers(db), _counts(db)

    pooled = runner.run(ON, executor=Executor.PROCESS, workers=2, settings=SETTINGS, force=True)

    assert pooled.executor is Executor.PROCESS
    assert pooled.workers == 2
    assert all(p.status is PortfolioStatus.COMPLETED for p in pooled.portfolios), pooled.to_dict()
    assert _stored_numbers(db) == inline
    assert _counts(db)["calculation_audit_log"] == counts["calculation_audit_log"]


@pytest.fixture(scope="module")
def dask_scheduler() -> Iterator[str]:
    from dask.distributed import LocalCluster

    with LocalCluster(  # type: ignore[no-untyped-call]
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address="127.0.0.1:0",  # a free port: 8787 may be taken on the machine
    ) as cluster:
        yield str(cluster.scheduler_address)


def test_batch_with_local_dask_cluster_stores_the_same_numbers_as_in_process(
    db: Database, dask_scheduler: str
) -> None:
    runner = DailyBatch(db)
    runner.run(ON, executor=Executor.INLINE, settings=SETTINGS)
    inline = _stored_numbers(db)

    progress: list[tuple[str, int, int]] = []
    distributed = runner.run(
        ON,
        scheduler=dask_scheduler,
        settings=SETTINGS,
        force=True,
        progress=lambda run, done, total: progress.append((run.name, done, total)),
    )

    assert distributed.executor is Executor.DASK
    assert distributed.workers == 2
    assert all(p.status is PortfolioStatus.COMPLETED for p in distributed.portfolios), [
        (p.name, p.status, [s.error for s in p.steps if s.error]) for p in distributed.portfolios
    ]
    assert sorted(name for name, _, _ in progress) == ["book", "second"]
    assert [(done, total) for _, done, total in progress] == [(1, 2), (2, 2)]
    assert _stored_numbers(db) == inline
