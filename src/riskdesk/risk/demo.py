"""The demo's portfolio-risk job: a sample book, its history and its risk measures.

:func:`run_risk_demo` puts the packaged sample book (stocks, ETFs and option spreads:
``samples/demo_book.csv``) into the portfolio ``demo book`` (created on first use; importing
the same file again stores nothing new), synthesizes the daily history its measures need
(every underlying, the factor ETFs, the 10-year yield, VIX, QQQ and IWM, and short-interest
metrics, seeded), then computes the book's exposures, factor model, VaR/ES, stress table,
the market regime (recording crossed thresholds) and the squeeze tiers of its shorts, and runs
a what-if session (cover the NVDA short, then hedge the remaining delta with SPY shares) with
its pro forma comparison, on the demo's date through the same use cases as ``riskdesk risk`` and the ``/v1/risk`` routes. ``riskdesk demo`` renders what it returns.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from importlib import resources

from riskdesk.risk.exposures import Exposures
from riskdesk.risk.history_usecases import PriceHistory
from riskdesk.risk.market_risk import MarketRegime, RegimeReport, SqueezeReport
from riskdesk.risk.modeling import Comparison, HedgeOutcome, ModelingSessions
from riskdesk.risk.portfolios import ImportReport, NotFoundError, Portfolios
from riskdesk.risk.reports import FactorReport, RiskReports, StressOutcome, VarOutcome
from riskdesk.store import Database

__all__ = ["DEMO_BOOK_NAME", "HISTORY_SESSIONS", "RiskDemo", "demo_book_csv", "run_risk_demo"]

DEMO_BOOK_NAME = "demo book"
HISTORY_SESSIONS = 600
"""Sessions of synthetic history: the 500-day VaR window plus the 10-day horizon, with room."""

WHATIF_NAME = "cover the NVDA short, hedge delta with SPY"

Progress = Callable[[str], None]


def demo_book_csv() -> bytes:
    """The packaged sample book (seed 002's CSV format)."""
    return resources.files("riskdesk.risk").joinpath("samples/demo_book.csv").read_bytes()


@dataclass(frozen=True, slots=True)
class RiskDemo:
    """What the risk demo produced on ``on``."""

    on: date
    imported: ImportReport
    exposures: Exposures
    factors: FactorReport
    var: VarOutcome
    stress: StressOutcome
    regime: RegimeReport
    squeeze: SqueezeReport
    hedge: HedgeOutcome
    whatif: Comparison


def run_risk_demo(
    db: Database, *, on: date, seed: int, progress: Progress | None = None
) -> RiskDemo:
    """Load the sample book into ``db`` and compute its risk on ``on`` (an NYSE session)."""

    def step(text: str) -> None:
        if progress is not None:
            progress(text)

    book = demo_book_csv()
    portfolios = Portfolios(db)
    try:
        portfolios.get(DEMO_BOOK_NAME)
    except NotFoundError:
        portfolios.create(DEMO_BOOK_NAME, "riskdesk demo: stocks, ETFs and option spreads")
    imported = portfolios.import_csv(DEMO_BOOK_NAME, book, today=on)
    symbols = sorted({p.underlying for p in RiskReports(db).book(DEMO_BOOK_NAME, on).positions})
    step("synthesizing the book's price history")
    PriceHistory(db).synthesize(
        symbols,
        seed=seed,
        end=on,
        days=HISTORY_SESSIONS,
        include_factors=True,
        include_regime=True,
    )
    market = MarketRegime(db)
    market.synthesize_short_metrics(symbols, seed=seed, end=on)
    reports = RiskReports(db)
    step("exposures and factor model")
    exposures = reports.exposures(DEMO_BOOK_NAME, on)
    factors = reports.factors(DEMO_BOOK_NAME, on)
    step("VaR and expected shortfall")
    var = reports.var(DEMO_BOOK_NAME, on)
    step("stress scenarios")
    stress = reports.stress(DEMO_BOOK_NAME, on)
    step("market regime and short-squeeze tiers")
    regime = market.regime(on)
    squeeze = market.squeeze(DEMO_BOOK_NAME, on)
    step("what-if: cover the NVDA short and hedge the delta with SPY")
    sessions = ModelingSessions(db)
    session = sessions.start(DEMO_BOOK_NAME, on, name=WHATIF_NAME)
    sessions.remove_position(session.session_id, symbol="NVDA")
    hedge = sessions.hedge(session.session_id, method="delta", etf="SPY", apply=True)
    whatif = sessions.compare(session.session_id)
    sessions.complete(session.session_id)
    return RiskDemo(on, imported, exposures, factors, var, stress, regime, squeeze, hedge, whatif)
