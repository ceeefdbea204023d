"""Factor model, correlations and stress of a stored book on both backends: stored rows replaced
on a re-run, factor exposures equal to delta-dollars x beta, the rate scenario reaching a bond
ETF, and the crash scenario equal to the stress engine called directly on the same inputs."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import numpy as np
import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from riskdesk.risk.factors import (
    FACTOR_PROXIES,
    RATES_FACTOR,
    ewma_covariance,
    factor_returns_from_closes,
    multivariate_betas,
    simple_returns,
)
from riskdesk.risk.history import last_sessions
from riskdesk.risk.history_usecases import PriceHistory
from riskdesk.risk.marks import MarkStatus, value_book
from riskdesk.risk.portfolios import Portfolios
from riskdesk.risk.reports import FACTOR_ROWS, HistoryMissingError, RiskReports
from riskdesk.risk.stress import RATE_FACTOR, FactorCorrelation, load_scenario_file, run_stress
from riskdesk.store import Database, make_session_factory
from riskdesk.store.models.market import MarketDataCache
from riskdesk.store.models.portfolio import (
    FactorCovariance,
    PortfolioFactorExposure,
    PositionCorrelation,
    PositionFactorBeta,
)

ON = date(2026, 11, 20)
SESSIONS = 200
TLT_DURATION = 17.0
BOOK = (
    "ticker,quantity,entry_price,entry_date,tags\n"
    "AAPL,100,200,2026-01-05,core\n"
    "MSFT,40,400,2026-01-05,core\n"
    "NVDA,-50,120,2026-01-05,\n"
    "TLT,300,90,2026-01-05,rates\n"
    "AAPL261218C00230000,5,6,2026-01-05,spread\n"
    "AAPL261218C00245000,-5,2,2026-01-05,spread\n"
    "SPY261218P00580000,3,9,2026-01-05,hedge\n"
    "SPY261218P00550000,-3,4,2026-01-05,hedge\n"
)


@pytest.fixture
def db(migrated_engine: Engine) -> Database:
    database = Database(engine=migrated_engine, sessions=make_session_factory(migrated_engine))
    Portfolios(database).create("book")
    report = Portfolios(database).import_csv("book", BOOK.encode(), today=ON)
    assert report.imported == 8, report.to_dict()
    PriceHistory(database).synthesize(
        ["AAPL", "MSFT", "NVDA"], seed=11, end=ON, days=SESSIONS, include_factors=True
    )
    _store_tlt(database)
    return database


def _store_tlt(db: Database) -> None:
    """TLT priced off the stored 10-year yield with a duration of 17 (plus a little noise)."""
    yields = PriceHistory(db).closes(["US10Y"])["US10Y"].to_numpy()
    rng = np.random.default_rng(5)
    returns = -TLT_DURATION * np.diff(yields) / 100.0 + rng.normal(0.0, 0.001, yields.size - 1)
    prices = 90.0 * np.concatenate([[1.0], np.cumprod(1.0 + returns)])
    days = last_sessions(ON, yields.size)
    with db.sessions() as session, session.begin():
        for day, price in zip(days, prices, strict=True):
            session.add(
                MarketDataCache(
                    ticker="TLT", date=day, close=Decimal(f"{price:.2f}"), data_source="test"
                )
            )


def _count(db: Database, model: type, **where: object) -> int:
    with db.sessions() as session:
        query = select(func.count()).select_from(model)
        for name, value in where.items():
            query = query.where(getattr(model, name) == value)
        return int(session.scalar(query) or 0)


def test_factors_and_correlation_with_rerun_replace_stored_rows(db: Database) -> None:
    reports = RiskReports(db)

    first = reports.factors("book", ON)
    again = reports.factors("book", ON)
    corr_first = reports.correlation("book", ON)
    corr_again = reports.correlation("book", ON)

    factors = len(FACTOR_PROXIES)
    assert first.stored_betas == again.stored_betas == 8 * factors
    assert _count(db, PositionFactorBeta, calculation_date=ON) == 8 * factors
    assert _count(db, PortfolioFactorExposure, calculation_date=ON) == factors
    assert _count(db, FactorCovariance, calculation_date=ON) == factors * (factors + 1) // 2
    assert corr_first.stored == corr_again.stored > 0
    assert _count(db, PositionCorrelation, calculation_date=ON) == corr_again.stored
    np.testing.assert_allclose(first.exposures.dollar_exposure, again.exposures.dollar_exposure)


def test_factors_with_options_exposure_equals_delta_dollars_times_beta(db: Database) -> None:
    reports = RiskReports(db)
    book = reports.book("book", ON)
    valuation = value_book(book.positions, reports.marks(book, ON))

    report = reports.factors("book", ON)

    assert all(s is MarkStatus.OK for s in valuation.status)
    delta_dollars = valuation.delta * valuation.spot
    row_of = {u: i for i, u in enumerate(report.univariate.positions)}
    betas = np.array([report.univariate.beta[row_of[p.underlying]] for p in book.positions])
    expected = (delta_dollars[:, None] * betas).sum(axis=0)
    np.testing.assert_allclose(report.exposures.dollar_exposure, expected, rtol=1e-12)
    call = [p.symbol for p in book.positions].index("AAPL261218C00230000")
    market = report.univariate.factors.index("Market")
    assert report.exposures.position_factor_dollars[call, market] == pytest.approx(
        delta_dollars[call] * report.univariate.beta[row_of["AAPL"], market]
    )
    with db.sessions() as session:
        stored = session.scalar(
            select(PortfolioFactorExposure.exposure_dollar).where(
                PortfolioFactorExposure.factor_id == FACTOR_ROWS["Market"].factor_id,
                PortfolioFactorExposure.calculation_date == ON,
            )
        )
    assert stored == Decimal(repr(float(expected[market]))).quantize(Decimal("0.01"))
    decomposition = report.decomposition
    assert decomposition.factor_percent + decomposition.specific_percent == pytest.approx(100.0)


def test_stress_with_rates_up_100bp_hits_tlt_with_a_loss(db: Database) -> None:
    outcome = RiskReports(db).stress("book", ON, ["rates_up_100bp"])

    result = outcome.report.result("rates_up_100bp")
    tlt = [p.symbol for p in outcome.positions].index("TLT")
    assert outcome.betas["TLT"][RATE_FACTOR] == pytest.approx(-TLT_DURATION, rel=0.25)
    assert result.pnl_by_position[tlt] < 0
    assert result.pnl_by_underlying["TLT"] < 0
    assert outcome.to_dict()["scenarios"][0]["key"] == "rates_up_100bp"


def test_stress_with_crash_equals_the_engine_called_directly(db: Database) -> None:
    reports = RiskReports(db)
    book = reports.book("book", ON)
    marks = reports.marks(book, ON)
    underlyings = sorted({p.underlying for p in book.positions})
    proxies = list(FACTOR_PROXIES.values())
    closes = PriceHistory(db).closes(
        [*proxies, *underlyings], start=last_sessions(ON, 151)[0], end=ON
    )
    names, factor_returns = factor_returns_from_closes({t: closes[t].to_numpy() for t in proxies})
    returns = simple_returns(closes[underlyings].to_numpy())
    ridge = multivariate_betas(returns, factor_returns, positions=underlyings, factors=names)
    betas = {
        u: {
            (RATE_FACTOR if f == RATES_FACTOR else f): float(ridge.beta[i, k])
            * (100.0 if f == RATES_FACTOR else 1.0)
            for k, f in enumerate(names)
        }
        for i, u in enumerate(underlyings)
    }
    cov = ewma_covariance(factor_returns, factors=names)
    vols = cov.volatility * np.array([0.01 if f == RATES_FACTOR else 1.0 for f in names])
    correlation = FactorCorrelation(
        tuple(RATE_FACTOR if f == RATES_FACTOR else f for f in names), cov.correlation, vols
    )
    packaged = load_scenario_file()
    crash = [s for s in packaged.scenarios if s.key == "market_crash_35"]
    direct = run_stress(
        book.positions, marks, crash, betas=betas, correlation=correlation, config=packaged.config
    )

    outcome = reports.stress("book", ON, ["market_crash_35"])

    got = outcome.report.result("market_crash_35")
    want = direct.result("market_crash_35")
    assert got.pnl == pytest.approx(want.pnl, rel=1e-9)
    assert got.correlated_pnl == pytest.approx(want.correlated_pnl, rel=1e-9)
    np.testing.assert_allclose(got.pnl_by_position, want.pnl_by_position, rtol=1e-9)
    assert got.pnl_by_underlying["AAPL"] < 0


def test_stress_without_propagation_has_no_correlated_pnl(db: Database) -> None:
    outcome = RiskReports(db).stress("book", ON, ["market_down_10"], propagate=False)

    result = outcome.report.result("market_down_10")
    assert result.correlated_pnl == 0.0
    assert outcome.correlation is None


def test_factors_without_factor_history_fails_naming_the_tickers(migrated_engine: Engine) -> None:
    database = Database(engine=migrated_engine, sessions=make_session_factory(migrated_engine))
    Portfolios(database).create("bare")
    Portfolios(database).import_csv(
        "bare", b"ticker,quantity,entry_price,entry_date\nAAPL,1,200,2026-01-05\n", today=ON
    )
    PriceHistory(database).synthesize(["AAPL"], seed=3, end=ON, days=100)

    with pytest.raises(HistoryMissingError, match=r"SPY.*US10Y.*--include-factors"):
        RiskReports(database).factors("bare", ON)


def test_correlation_with_significance_filter_keeps_exactly_the_large_positions(
    db: Database,
) -> None:
    reports = RiskReports(db)
    valuation = value_book(
        reports.book("book", ON).positions, reports.marks("book", ON)
    )  # delta-dollars computed here, apart from the report
    book = reports.book("book", ON)
    dollars = {
        p.symbol: abs(float(valuation.delta[i]) * float(valuation.spot[i]))
        for i, p in enumerate(book.positions)
        if valuation.status[i] is MarkStatus.OK
    }
    gross = sum(dollars.values())
    floor = sorted(dollars.values())[len(dollars) // 2]  # the median: about half stay
    weight = 0.05
    expected = {s for s, d in dollars.items() if d >= floor and d / gross >= weight}

    report = reports.correlation(
        "book", ON, 20, store=False, min_position_value=floor, min_portfolio_weight=weight
    )

    assert {p.symbol for p in report.positions} == expected
    assert set(report.below_threshold) == set(dollars) - expected
    assert 0 < len(expected) < len(dollars)
