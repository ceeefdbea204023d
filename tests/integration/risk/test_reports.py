"""Risk report use cases on both backends: marks from history and snapshots, exposures and
Greeks of a stored book, idempotent position_greeks, owner scoping."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal

import numpy as np
import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from riskdesk.domain.caller import Caller
from riskdesk.domain.instruments import OptionContract, OptionRight
from riskdesk.domain.market import MarketSnapshot, OptionQuote, SnapshotMode, UnderlyingQuote
from riskdesk.risk.exposures import Grouping
from riskdesk.risk.history import last_sessions
from riskdesk.risk.marks import value_book
from riskdesk.risk.portfolios import Portfolios
from riskdesk.risk.reports import NotFoundError, RiskReports, valuation_time
from riskdesk.store import Database, make_session_factory
from riskdesk.store import models as m
from riskdesk.store.models.market import MarketDataCache
from riskdesk.store.models.portfolio import PositionGreeks
from riskdesk.workbench.usecases import Workbench

ON = date(2026, 11, 20)
CLOSE = datetime(2026, 11, 20, 21, 0, tzinfo=UTC)
CALL = "AAPL261218C00230000"
PUT = "AAPL270115P00220000"
TSLA_CALL = "TSLA261218C00300000"
GONE = "AAPL261016C00200000"
BOOK = (
    "ticker,quantity,entry_price,entry_date,tags\n"
    'AAPL,100,200,2026-09-01,"core,tech"\n'
    f"{CALL},2,5,2026-09-01,tech\n"
    f"{PUT},-1,4,2026-09-01,\n"
    f"{TSLA_CALL},1,9,2026-09-01,\n"
    "MSFT,10,400,2026-09-01,\n"
    "SPY,-5,600,2026-09-01,hedge\n"
    f"{GONE},1,3,2026-09-01,\n"
    "NVDA,10,100,2026-11-23,\n"
)


@pytest.fixture
def db(migrated_engine: Engine) -> Database:
    return Database(engine=migrated_engine, sessions=make_session_factory(migrated_engine))


def _path(start: float, n: int, seed: int) -> list[float]:
    rng = np.random.default_rng(seed)
    return list(start * np.exp(np.cumsum(rng.normal(0, 0.015, n))))


def _store_closes(db: Database, ticker: str, days: Sequence[date], closes: Sequence[float]) -> None:
    with db.sessions() as session, session.begin():
        for day, close in zip(days, closes, strict=True):
            session.add(
                MarketDataCache(
                    ticker=ticker,
                    date=day,
                    close=Decimal(f"{close:.4f}"),
                    data_source="test",
                )
            )


def _quote(contract: OptionContract, iv: float, when: datetime) -> OptionQuote:
    return OptionQuote(
        contract=contract,
        bid=Decimal("4.9"),
        ask=Decimal("5.1"),
        mark=Decimal(5),
        iv=iv,
        provider_timestamp=when,
        receive_timestamp=when,
    )


def _snapshot(when: datetime, iv: float) -> MarketSnapshot:
    call = OptionContract("AAPL", date(2026, 12, 18), Decimal(230), OptionRight.CALL)
    other = OptionContract("AAPL", date(2026, 12, 18), Decimal(240), OptionRight.CALL)
    spot = UnderlyingQuote(
        symbol="AAPL",
        spot=Decimal(230),
        bid=Decimal("229.9"),
        ask=Decimal("230.1"),
        last=Decimal(230),
        provider_timestamp=when,
        receive_timestamp=when,
    )
    return MarketSnapshot(
        as_of=when,
        mode=SnapshotMode.PINNED,
        source="test",
        underlyings=(spot,),
        options=(_quote(call, iv, when), _quote(other, 0.5, when)),
    )


@pytest.fixture
def loaded(db: Database) -> dict[str, list[float]]:
    Portfolios(db).create("main")
    report = Portfolios(db).import_csv("main", BOOK.encode(), today=date(2026, 11, 23))
    assert report.imported == 8, report.to_dict()
    days = last_sessions(ON, 45)
    closes = {
        "AAPL": _path(230, 45, 1),
        "SPY": _path(600, 45, 2),
        "MSFT": _path(400, 44, 3),
        "TSLA": _path(300, 10, 4),
    }
    _store_closes(db, "AAPL", days, closes["AAPL"])
    _store_closes(db, "SPY", days, closes["SPY"])
    _store_closes(db, "MSFT", days[:-1], closes["MSFT"])  # no close on ON
    _store_closes(db, "TSLA", days[-10:], closes["TSLA"])  # too short for a 30-day vol
    workbench = Workbench(db)
    workbench.save_snapshot(_snapshot(datetime(2026, 11, 19, 20, 0, tzinfo=UTC), 0.2))
    workbench.save_snapshot(_snapshot(datetime(2026, 11, 20, 20, 0, tzinfo=UTC), 0.31))
    workbench.save_snapshot(_snapshot(datetime(2026, 11, 20, 22, 0, tzinfo=UTC), 0.99))
    return {k: [float(Decimal(f"{c:.4f}")) for c in v] for k, v in closes.items()}


def test_marks_with_history_and_snapshots_uses_close_snapshot_iv_and_realized_vol(
    db: Database, loaded: dict[str, list[float]]
) -> None:
    marks = RiskReports(db).marks("main", ON)

    assert marks.valuation_time == CLOSE
    assert marks.spots["AAPL"] == pytest.approx(loaded["AAPL"][-1])
    assert "MSFT" not in marks.spots
    assert marks.vols[CALL] == pytest.approx(0.31)
    assert marks.vol_sources[CALL] == "snapshot_iv"
    window = np.array(loaded["AAPL"][-31:])
    expected = float(np.std(np.diff(np.log(window)), ddof=1) * np.sqrt(252))
    assert marks.vols[PUT] == pytest.approx(expected, rel=1e-12)
    assert marks.vol_sources[PUT] == "realized_30d"
    assert TSLA_CALL not in marks.vols
    assert marks.rate == pytest.approx(0.04)


def test_exposures_with_stored_book_lists_unpriceable_and_weights_by_beta(
    db: Database, loaded: dict[str, list[float]]
) -> None:
    reports = RiskReports(db)

    out = reports.exposures("main", ON, "spy", betas={"AAPL": 1.25})

    assert [(e.symbol, e.status.value) for e in out.excluded] == [
        (GONE, "expired"),
        ("MSFT", "no_spot"),
        (TSLA_CALL, "no_vol"),
    ]
    assert out.positions == 4  # AAPL, the call, the put, SPY; NVDA was entered after ON
    book = reports.book("main", ON)
    valuation = value_book(book.positions, reports.marks(book, ON))
    ok = [i for i, s in enumerate(valuation.status) if s == "ok"]
    dollars = valuation.delta[ok] * valuation.spot[ok]
    assert out.net == pytest.approx(float(valuation.value[ok].sum()))
    assert out.delta_net == pytest.approx(float(dollars.sum()))
    spy = loaded["SPY"][-1]
    aapl_dollars = sum(
        float(valuation.delta[i] * valuation.spot[i])
        for i in ok
        if book.positions[i].underlying == "AAPL"
    )
    weighted = 1.25 * aapl_dollars - 5 * spy
    assert out.benchmark == "SPY"
    assert out.benchmark_price == pytest.approx(spy)
    assert out.beta_weighted_dollars == pytest.approx(weighted)
    assert out.beta_weighted_shares == pytest.approx(weighted / spy)
    assert out.missing_betas == ()


def test_greeks_with_stored_book_buckets_by_underlying_and_tag(
    db: Database, loaded: dict[str, list[float]]
) -> None:
    out = RiskReports(db).greeks("main", ON, by=["underlying", "tag"])

    underlyings = {b.key: b.totals.count for b in out.by[Grouping.UNDERLYING]}
    assert underlyings == {"AAPL": 3, "SPY": 1}
    tags = {b.key: b.totals.count for b in out.by[Grouping.TAG]}
    assert tags == {"core": 1, "hedge": 1, "tech": 2, "(untagged)": 1}
    assert out.totals.count == 4
    assert len(out.excluded) == 3


def test_store_position_greeks_with_rerun_replaces_rows_never_duplicates(
    db: Database, loaded: dict[str, list[float]]
) -> None:
    reports = RiskReports(db)

    first = reports.store_position_greeks("main", ON)
    second = reports.store_position_greeks("main", ON)

    assert first.written == second.written == 4
    assert {e.symbol for e in second.excluded} == {GONE, TSLA_CALL, "MSFT"}
    with db.sessions() as session:
        rows = session.execute(
            select(m.Position.symbol, PositionGreeks.delta, PositionGreeks.rho)
            .join(m.Position, m.Position.id == PositionGreeks.position_id)
            .where(PositionGreeks.calculation_date == ON)
        ).all()
        audits = session.scalar(
            select(func.count())
            .select_from(m.AuditLog)
            .where(m.AuditLog.event_type == "risk.position_greeks_stored")
        )
    assert sorted(r[0] for r in rows) == sorted(["AAPL", CALL, PUT, "SPY"])
    delta = {r[0]: r[1] for r in rows}
    assert delta["AAPL"] == Decimal(100)
    assert delta["SPY"] == Decimal(-5)
    assert all(r[2] is None for r in rows)
    assert audits == 2


def test_risk_reports_with_other_users_caller_cannot_see_portfolio(
    db: Database, loaded: dict[str, list[float]]
) -> None:
    with db.sessions() as session, session.begin():
        user = m.User(username="eve", email="eve@example.com", role="trader")
        session.add(user)
        session.flush()
        user_id = user.id
    caller = Caller(actor="eve", user_id=user_id)

    with pytest.raises(NotFoundError):
        RiskReports(db, caller).exposures("main", ON)
    with pytest.raises(NotFoundError):
        RiskReports(db, caller).store_position_greeks("main", ON)


def test_valuation_time_with_weekend_raises() -> None:
    with pytest.raises(ValueError, match="not an NYSE session"):
        valuation_time(date(2026, 11, 21))
    assert valuation_time(ON) == CLOSE


def test_store_position_greeks_with_unknown_portfolio_raises(db: Database) -> None:
    with pytest.raises(NotFoundError):
        RiskReports(db).store_position_greeks(str(uuid.uuid4()), ON)
