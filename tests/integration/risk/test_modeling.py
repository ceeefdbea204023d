"""What-if modeling sessions on a stored book: pro forma measures equal those of a hand-built
book, a remove-then-re-add returns to the baseline exactly, a delta hedge zeroes the book's
delta-dollars when recomputed, exports are recorded one row per call, closed sessions refuse
edits and other users' sessions are missing."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from riskdesk.domain.caller import Caller
from riskdesk.domain.instruments import Stock
from riskdesk.domain.occ import parse_occ
from riskdesk.risk.exposures import aggregate_greeks, compute_exposures
from riskdesk.risk.history_usecases import PriceHistory
from riskdesk.risk.marks import value_book
from riskdesk.risk.modeling import ModelingSessions, NotFoundError, SessionClosedError
from riskdesk.risk.portfolios import Portfolios
from riskdesk.risk.positions import BookPosition
from riskdesk.risk.reports import PortfolioBook, RiskReports
from riskdesk.risk.whatif import WhatIfError
from riskdesk.store import Database, make_session_factory
from riskdesk.store.models.portfolio import ModelingSessionSnapshot, PortfolioFactorExposure
from riskdesk.store.models.system import AuditLog, ExportHistory

SQLITE = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
BOTH = pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)

ON = date(2026, 11, 20)
BOOK = (
    "ticker,quantity,entry_price,entry_date,tags\n"
    "AAPL,100,200,2026-01-05,core\n"
    "MSFT,-40,400,2026-01-05,core\n"
    "AAPL261218C00230000,5,6,2026-01-05,spread\n"
    "SPY261218P00580000,3,9,2026-01-05,hedge\n"
)
OPTION = "NVDA261218C00140000"
FACTOR_WINDOW = 60
VAR_WINDOW = 60


@pytest.fixture
def db(migrated_engine: Engine) -> Database:
    database = Database(engine=migrated_engine, sessions=make_session_factory(migrated_engine))
    Portfolios(database).create("book")
    report = Portfolios(database).import_csv("book", BOOK.encode(), today=ON)
    assert report.imported == 4, report.to_dict()
    PriceHistory(database).synthesize(
        ["AAPL", "MSFT", "NVDA"], seed=11, end=ON, days=90, include_factors=True
    )
    return database


def _count(db: Database, model: type, **where: object) -> int:
    with db.sessions() as session:
        query = select(func.count()).select_from(model)
        for name, value in where.items():
            query = query.where(getattr(model, name) == value)
        return int(session.scalar(query) or 0)


def _independent(db: Database, positions: list[BookPosition]) -> tuple[float, float, float]:
    """Net, delta-adjusted net and total delta of a hand-built book, engines called directly."""
    marks = RiskReports(db).marks(positions, ON)
    valuation = value_book(positions, marks)
    exposures = compute_exposures(positions, valuation, on=ON)
    greeks = aggregate_greeks(positions, valuation, on=ON, by=())
    return exposures.net, exposures.delta_net, greeks.totals.delta


def _money(value: float) -> Decimal:
    return Decimal(repr(value)).quantize(Decimal("0.01"))


@SQLITE
def test_modeling_with_added_option_equals_hand_built_book(db: Database) -> None:
    sessions = ModelingSessions(db)
    started = sessions.start("book", ON, "add nvda calls")
    baseline = list(RiskReports(db).book("book", ON).positions)

    view = sessions.add_position(started.session_id, OPTION.lower(), "4", "7.5", tags=["idea"])
    comparison = sessions.compare(
        view.session_id, factor_window=FACTOR_WINDOW, var_window=VAR_WINDOW
    )

    hand_built = [
        *baseline,
        BookPosition(OPTION, parse_occ(OPTION), Decimal(4), Decimal("7.5"), ON, ("idea",)),
    ]
    net, delta_net, delta = _independent(db, hand_built)
    assert comparison.measure("exposures.net").pro_forma == _money(net)
    assert comparison.measure("exposures.delta_adjusted.net").pro_forma == _money(delta_net)
    assert comparison.measure("greeks.delta").pro_forma == Decimal(repr(delta)).quantize(
        Decimal("0.0001")
    )
    base_net, _, _ = _independent(db, baseline)
    assert comparison.measure("exposures.net").baseline == _money(base_net)
    change = comparison.measure("exposures.net").change
    assert change == _money(net) - _money(base_net)
    assert change is not None
    assert change > 0
    for name in ("var.historical.99.1d.var", "var.historical.95.10d.es", "factors.Market.dollars"):
        assert comparison.measure(name).change is not None, name
    assert any(m.section == "stress" for m in comparison.measures)
    assert comparison.unavailable == {}


@SQLITE
def test_modeling_with_remove_then_readd_returns_to_baseline_exactly(db: Database) -> None:
    sessions = ModelingSessions(db)
    sid = sessions.start("book", ON).session_id

    sessions.remove_position(sid, symbol="MSFT")
    view = sessions.add_position(sid, "MSFT", -40, 400, tags=["core"])
    comparison = sessions.compare(sid, factor_window=FACTOR_WINDOW, var_window=VAR_WINDOW)

    assert [c["kind"] for c in view.changes] == ["remove", "add"]
    assert comparison.measure("exposures.net").baseline is not None
    assert comparison.measure("var.historical.99.1d.var").baseline is not None
    for m in comparison.measures:
        if m.section in ("exposures", "greeks", "factors", "var", "stress"):
            assert m.baseline == m.pro_forma, m.measure
            assert m.change in (None, Decimal(0)), m.measure


@SQLITE
def test_modeling_with_compare_stores_impact_and_writes_no_factor_rows(db: Database) -> None:
    sessions = ModelingSessions(db)
    sid = sessions.start("book", ON).session_id
    sessions.resize_position(sid, 150, symbol="AAPL")

    comparison = sessions.compare(sid, factor_window=FACTOR_WINDOW, var_window=VAR_WINDOW)

    assert _count(db, PortfolioFactorExposure) == 0
    with db.sessions() as session:
        row = session.get(ModelingSessionSnapshot, sid)
        assert row is not None
        assert row.impact_summary is not None
        assert row.impact_summary["changes"] == 1
        assert row.risk_metrics_before is not None
        assert row.risk_metrics_after is not None
        assert row.factor_exposures_change is not None
        assert "Market" in row.factor_exposures_change
    stored = sessions.stored_comparison(sid)
    assert stored is not None
    assert stored.measures == comparison.measures


@SQLITE
def test_modeling_with_delta_hedge_applied_leaves_under_half_a_share(db: Database) -> None:
    sessions = ModelingSessions(db)
    sid = sessions.start("book", ON).session_id

    outcome = sessions.hedge(sid, method="delta", etf="SPY", apply=True)

    assert outcome.applied
    assert outcome.hedge.shares != 0
    positions = list(outcome.session.positions)
    spy = next(p for p in positions if p.symbol == "SPY" and isinstance(p.instrument, Stock))
    assert spy.quantity == Decimal(outcome.hedge.shares)
    spot = RiskReports(db).marks(positions, ON).spots["SPY"]
    _, delta_net, _ = _independent(db, positions)
    assert abs(delta_net) <= spot / 2
    _, before, _ = _independent(db, list(outcome.session.baseline))
    assert abs(before) > spot / 2


@SQLITE
def test_modeling_with_beta_hedge_zeroes_beta_weighted_delta(db: Database) -> None:
    sessions = ModelingSessions(db)
    sid = sessions.start("book", ON).session_id

    outcome = sessions.hedge(sid, method="beta", etf="VTV", apply=True, window=60)

    reports = RiskReports(db)
    book = PortfolioBook(uuid.uuid4(), "x", ON, outcome.session.positions)
    betas = reports.benchmark_betas(book, ON, "VTV", window=60)
    after = reports.exposures(book, ON, "VTV", betas=betas)
    assert after.benchmark_price is not None
    assert abs(after.beta_weighted_dollars) <= after.benchmark_price / 2


@BOTH
def test_modeling_with_exports_records_one_row_per_call(db: Database) -> None:
    sessions = ModelingSessions(db)
    sid = sessions.start("book", ON).session_id
    sessions.add_position(sid, "NVDA", 10, 120)

    first = sessions.export(sid, "csv", factor_window=FACTOR_WINDOW, var_window=VAR_WINDOW)
    second = sessions.export(sid, "json", factor_window=FACTOR_WINDOW, var_window=VAR_WINDOW)

    assert _count(db, ExportHistory, export_type="modeling_session") == 2
    assert _count(db, ExportHistory, export_format="csv") == 1
    assert first.content.splitlines()[0] == "section,measure,baseline,pro_forma,change"
    assert any(line.startswith("exposures,exposures.net,") for line in first.content.splitlines())
    assert '"measures"' in second.content
    assert _count(db, AuditLog, event_type="whatif.exported") == 2


@BOTH
def test_modeling_with_cancelled_session_refuses_add(db: Database) -> None:
    sessions = ModelingSessions(db)
    sid = sessions.start("book", ON).session_id
    sessions.cancel(sid)

    with pytest.raises(SessionClosedError, match="cancelled"):
        sessions.add_position(sid, "NVDA", 10, 120)
    with pytest.raises(SessionClosedError):
        sessions.complete(sid)
    assert sessions.get(sid).status == "cancelled"
    assert sessions.get(sid).changes == ()


@SQLITE
@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda s, sid: s.remove_position(sid, symbol="TSLA"), "no TSLA position"),
        (lambda s, sid: s.add_position(sid, "AAPL", 5, 200), "already holds AAPL"),
        (lambda s, sid: s.add_position(sid, "NVDA", 0, 120), "must not be 0"),
        (lambda s, sid: s.resize_position(sid, -10, symbol="AAPL"), "flips"),
        (lambda s, sid: s.resize_position(sid, 0, symbol="AAPL"), "remove it instead"),
    ],
)
def test_modeling_with_bad_edit_refuses_and_stores_nothing(
    db: Database, edit: object, message: str
) -> None:
    sessions = ModelingSessions(db)
    sid = sessions.start("book", ON).session_id

    with pytest.raises(WhatIfError, match=message):
        edit(sessions, sid)  # type: ignore[operator]

    assert sessions.get(sid).changes == ()


@BOTH
def test_modeling_with_other_user_session_is_not_found(db: Database) -> None:
    with db.sessions() as session, session.begin():
        from riskdesk.store.models import User

        owner = User(username="alice", email="alice@example.test", role="trader")
        other = User(username="bob", email="bob@example.test", role="trader")
        session.add_all([owner, other])
        session.flush()
        owner_id, other_id = owner.id, other.id
    alice = Caller("alice", owner_id, role="trader")
    bob = Caller("bob", other_id, role="trader")
    Portfolios(db, alice).create("mine")
    Portfolios(db, alice).import_csv("mine", BOOK.encode(), today=ON)
    sid = ModelingSessions(db, alice).start("mine", ON).session_id

    with pytest.raises(NotFoundError):
        ModelingSessions(db, bob).get(sid)
    with pytest.raises(NotFoundError):
        ModelingSessions(db, bob).add_position(sid, "NVDA", 1, 100)
    with pytest.raises(NotFoundError):
        ModelingSessions(db, bob).start("mine", ON)
    assert [v.session_id for v in ModelingSessions(db, alice).list()] == [sid]
    assert list(ModelingSessions(db, bob).list()) == []
    assert dataclasses.asdict(ModelingSessions(db, alice).get(sid))["status"] == "active"


@SQLITE
def test_reports_with_pro_forma_book_refuse_to_store_and_match_stored_book(db: Database) -> None:
    reports = RiskReports(db)
    stored = reports.book("book", ON)
    extra = BookPosition("NVDA", Stock("NVDA"), Decimal(10), Decimal(120), ON)
    pro_forma = dataclasses.replace(stored, positions=(*stored.positions, extra))

    same = reports.factors(stored, ON, 60, store=False)
    by_ref = reports.factors("book", ON, 60, store=False)
    correlation = reports.correlation(pro_forma, ON, 20, store=False)

    assert same.to_dict()["exposures"] == by_ref.to_dict()["exposures"]
    assert correlation.stored == 0
    assert "NVDA" in correlation.to_dict()["positions"]
    with pytest.raises(ValueError, match="store=False"):
        reports.factors(pro_forma, ON, 60)
    with pytest.raises(ValueError, match="store=False"):
        reports.correlation(pro_forma, ON, 20)
    with pytest.raises(ValueError, match="its own date"):
        reports.exposures(pro_forma, date(2026, 11, 19))
    assert _count(db, PortfolioFactorExposure) == 0
    # a resized copy keeps every position id: only the copy flag stops it being stored
    resized = dataclasses.replace(
        stored,
        positions=tuple(dataclasses.replace(p, quantity=p.quantity * 2) for p in stored.positions),
        copy=True,
    )
    with pytest.raises(ValueError, match="is a copy"):
        reports.factors(resized, ON, 60)
    with pytest.raises(ValueError, match="is a copy"):
        reports.store_position_greeks(resized, ON)
    assert _count(db, PortfolioFactorExposure) == 0
