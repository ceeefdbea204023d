"""Seed 001's regime measures and squeeze tiers on both backends: values checked against numpy,
emergency events written once per (type, day), squeeze statuses, the metric importer."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from riskdesk.domain.caller import Caller
from riskdesk.risk.history import REGIME_ETFS, VIX_SYMBOL, last_sessions
from riskdesk.risk.history_usecases import HistoryImportError, PriceHistory
from riskdesk.risk.market_risk import MarketRegime
from riskdesk.risk.portfolios import Portfolios
from riskdesk.risk.regime import classify_vix
from riskdesk.risk.reports import HistoryMissingError, NotFoundError
from riskdesk.store import Database, make_session_factory
from riskdesk.store import market_risk as repo
from riskdesk.store.history import upsert_bars
from riskdesk.store.models import RiskEvent, ShortSellingMetric

ON = date(2026, 11, 20)
SESSIONS = last_sessions(ON, 31)


@pytest.fixture
def db(migrated_engine: Engine) -> Database:
    return Database(engine=migrated_engine, sessions=make_session_factory(migrated_engine))


def _bars(
    ticker: str, days: Sequence[date], closes: Sequence[float], volumes: Sequence[int | None]
) -> list[dict[str, object]]:
    return [
        {
            "ticker": ticker,
            "date": d,
            "open": None,
            "high": None,
            "low": None,
            "close": Decimal(f"{c:.4f}"),
            "volume": v,
            "data_source": "test",
        }
        for d, c, v in zip(days, closes, volumes, strict=True)
    ]


def _store_stressed_market(db: Database, *, vix: float, spike: float) -> None:
    """31 sessions where IWM turns against SPY in the last 7 returns and SPY's volume spikes."""
    rng = np.random.default_rng(5)
    common = rng.normal(0, 0.01, size=30)
    iwm = common + rng.normal(0, 0.002, size=30)
    iwm[-7:] = -common[-7:]
    series = {
        "SPY": common,
        "QQQ": common + rng.normal(0, 0.002, size=30),
        "IWM": iwm,
    }
    rows: list[dict[str, object]] = []
    for ticker, returns in series.items():
        closes = 100 * np.exp(np.concatenate([[0.0], np.cumsum(returns)]))
        volumes = [1_000_000] * 31
        if ticker == "SPY":
            volumes[-1] = int(1_000_000 * spike)
        rows += _bars(ticker, SESSIONS, list(closes), volumes)
    rows += _bars(VIX_SYMBOL, SESSIONS, [20.0] * 30 + [vix], [None] * 31)
    with db.sessions() as session, session.begin():
        upsert_bars(session, rows)


def _event_count(db: Database) -> int:
    with db.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(RiskEvent)) or 0)


def test_regime_with_synthetic_history_matches_numpy_correlations(db: Database) -> None:
    PriceHistory(db).synthesize([], seed=7, end=ON, days=60, include_regime=True)
    report = MarketRegime(db).regime(ON, record=False)
    closes = PriceHistory(db).closes([*REGIME_ETFS, VIX_SYMBOL], end=ON)
    logs = np.diff(np.log(closes[list(REGIME_ETFS)].to_numpy()), axis=0)
    for window in (7, 30):
        got = report.correlations[f"{window}d"]
        for i, a in enumerate(REGIME_ETFS):
            for j in range(i + 1, 3):
                b = REGIME_ETFS[j]
                expected = np.corrcoef(logs[-window:, i], logs[-window:, j])[0, 1]
                assert got[f"{a}_{b}"] == pytest.approx(expected, abs=1e-12)
    vix = float(closes[VIX_SYMBOL].iloc[-1])
    regime, factor = classify_vix(vix)
    assert report.vix == vix
    assert (report.regime, report.position_size_multiplier) == (regime.value, factor)
    data = report.to_dict()
    assert data["emergency_thresholds"] == {
        "vix_emergency": 35.0,
        "correlation_breakdown": 0.3,
        "volume_spike": 3.0,
    }
    assert data["events_recorded"] == []
    assert _event_count(db) == 0


def test_regime_with_every_threshold_crossed_writes_each_event_once_per_rerun(db: Database) -> None:
    _store_stressed_market(db, vix=36.5, spike=3.5)
    first = MarketRegime(db).regime(ON)
    assert first.regime == "extreme"
    assert first.position_size_multiplier == 0.0
    assert [b.event_type for b in first.breaches] == [
        "vix_emergency",
        "correlation_breakdown",
        "volume_spike",
    ]
    assert first.recorded == ("vix_emergency", "correlation_breakdown", "volume_spike")
    assert first.volume_ratios["SPY"] == pytest.approx(3.5)
    second = MarketRegime(db).regime(ON)
    assert second.recorded == ()
    assert second.already_recorded == first.recorded
    assert _event_count(db) == 3
    with db.sessions() as session:
        rows = {r.event_type: r for r in session.scalars(select(RiskEvent))}
    vix = rows["vix_emergency"]
    assert vix.severity == "critical"
    assert vix.triggered_value == Decimal("36.5")
    assert vix.threshold_value == Decimal("35")
    assert vix.action_taken == "halt_new_positions"
    assert vix.details["date"] == ON.isoformat()
    assert rows["volume_spike"].triggered_value == Decimal("3.5")
    assert rows["correlation_breakdown"].severity == "high"


def test_regime_with_calm_markets_on_the_edges_writes_no_event(db: Database) -> None:
    _store_stressed_market(db, vix=34.99, spike=2.99)
    report = MarketRegime(db).regime(ON)
    assert report.regime == "high"
    assert report.position_size_multiplier == 0.8
    assert [b.event_type for b in report.breaches] == ["correlation_breakdown"]
    assert _event_count(db) == 1


def test_regime_with_no_vix_close_raises_history_missing(db: Database) -> None:
    PriceHistory(db).synthesize(list(REGIME_ETFS), seed=7, end=ON, days=40)
    with pytest.raises(HistoryMissingError, match=r"no VIX close on 2026-11-20.*--include-regime"):
        MarketRegime(db).regime(ON)


def test_regime_with_a_gap_in_the_etf_history_raises_history_missing(db: Database) -> None:
    PriceHistory(db).synthesize([], seed=7, end=ON, days=20, include_regime=True)
    with pytest.raises(HistoryMissingError, match="SPY lacks 11 of the 31 closes"):
        MarketRegime(db).regime(ON)


def test_regime_with_a_weekend_raises_value_error(db: Database) -> None:
    with pytest.raises(ValueError, match="2026-11-21 is not an NYSE session"):
        MarketRegime(db).regime(date(2026, 11, 21))


BOOK = (
    "ticker,quantity,entry_price,entry_date,tags\n"
    "TSLA,-50,300,2026-09-01,\n"
    "AAPL261218C00230000,-2,5,2026-09-01,\n"
    "AAPL270115P00220000,3,4,2026-09-01,\n"
    "GME,-100,20,2026-09-01,\n"
    "MSFT,10,400,2026-09-01,\n"
    "NVDA,-10,100,2026-09-01,\n"
)


def _metric(ticker: str, day: date, rate: str | None, dtc: str | None) -> dict[str, object]:
    return {
        "ticker": ticker,
        "metric_date": day,
        "cost_to_borrow_rate": None if rate is None else Decimal(rate),
        "short_interest_ratio": None,
        "days_to_cover": None if dtc is None else Decimal(dtc),
        "data_source": "test",
    }


def test_squeeze_with_hand_built_metrics_tiers_short_equity_and_flags_missing(
    db: Database,
) -> None:
    book = Portfolios(db).create("shorts")
    Portfolios(db).import_csv(book.portfolio_id, BOOK.encode(), today=ON)
    with db.sessions() as session, session.begin():
        repo.upsert_short_metrics(
            session,
            [
                _metric("AAPL", date(2026, 11, 18), "0.01", "2"),
                _metric("AAPL", date(2026, 11, 10), "0.90", "20"),
                _metric("GME", ON, "0.50", "1"),
                _metric("TSLA", date(2026, 11, 19), None, "4.99"),
                _metric("NVDA", date(2026, 10, 19), "0.9", "30"),
            ],
        )
    report = MarketRegime(db).squeeze("shorts", ON)
    rows = {r.symbol: r for r in report.rows}
    assert set(rows) == {"TSLA", "AAPL261218C00230000", "GME", "NVDA"}
    call = rows["AAPL261218C00230000"]
    assert (call.underlying, call.shares_short, call.tier, call.status) == (
        "AAPL",
        Decimal(200),
        "moderate",
        "ok",
    )
    assert call.metric is not None
    assert call.metric.metric_date == date(2026, 11, 18)
    assert (rows["GME"].tier, rows["GME"].status) == ("extreme", "ok")
    assert (rows["TSLA"].tier, rows["TSLA"].status) == ("moderate", "partial")
    stale = rows["NVDA"]
    assert (stale.tier, stale.status) == (None, "missing")
    assert stale.reason is not None
    assert "no short_selling_metrics row for NVDA" in stale.reason
    data = report.to_dict()
    assert data["worst_tier"] == "extreme"
    assert data["statuses"] == {"ok": 2, "partial": 1, "missing": 1}


def test_squeeze_with_another_users_portfolio_is_not_found(db: Database) -> None:
    owner = Caller(actor="ann", user_id=uuid.uuid4())
    book = Portfolios(db).create("mine")
    stranger = MarketRegime(db, owner)
    with pytest.raises(NotFoundError):
        stranger.squeeze(book.portfolio_id, ON)


def test_synthesize_short_metrics_with_a_book_is_idempotent(db: Database) -> None:
    regime = MarketRegime(db)
    book = Portfolios(db).create("synth")
    Portfolios(db).import_csv(book.portfolio_id, BOOK.encode(), today=ON)
    symbols = regime.book_symbols("synth")
    assert symbols == ["AAPL", "GME", "MSFT", "NVDA", "TSLA"]
    first = regime.synthesize_short_metrics(symbols, seed=3, end=ON, days=5)
    assert first.written == 25
    assert regime.synthesize_short_metrics(symbols, seed=3, end=ON, days=5).written == 0
    report = regime.squeeze("synth", ON)
    assert all(r.status == "ok" for r in report.rows)


def test_import_short_metrics_with_bad_rows_reports_each_and_keeps_the_good(
    db: Database, tmp_path: Path
) -> None:
    file = tmp_path / "short.csv"
    file.write_text(
        "Symbol,Date,Borrow_Rate,Short_Interest,DTC,note\n"
        "AAPL,2026-11-20,0.012,0.02,1.5,x\n"
        "GME,2026-11-20,0.75,,12,\n"
        "TSLA,2026-11-20,-0.1,,3,\n"
        "MSFT,2026-13-01,0.01,,1,\n"
        "NVDA,2026-11-20,,,,\n"
        "AAPL,2026-11-20,0.02,,1,\n"
        "IBM,2026-11-20,0.01,,1,,extra\n"
        "AMD,2026-11-20,0.01234567891,,1,\n"
    )
    report = MarketRegime(db).import_short_metrics(file)
    assert (report.rows_read, report.rows_ok, report.rows_rejected, report.written) == (8, 2, 6, 2)
    assert report.ignored_columns == ("note",)
    lines = {(e.line, e.column): e.reason for e in report.errors}
    assert lines[(4, "Borrow_Rate")] == "must be a number >= 0"
    assert lines[(5, "Date")].startswith("bad date")
    assert lines[(6, "(row)")].startswith("no measure")
    assert "first seen at line 2" in lines[(7, "(ticker, date)")]
    assert "7 fields but the header has 6" in lines[(8, "(row)")]
    assert lines[(9, "Borrow_Rate")] == "at most 10 decimal places"
    again = MarketRegime(db).import_short_metrics(file)
    assert again.written == 0
    with db.sessions() as session:
        stored = {r.ticker: r for r in session.scalars(select(ShortSellingMetric))}
    assert set(stored) == {"AAPL", "GME"}
    assert stored["GME"].short_interest_ratio is None
    assert stored["GME"].days_to_cover == Decimal(12)


def test_import_short_metrics_with_no_measure_column_refuses_the_file(
    db: Database, tmp_path: Path
) -> None:
    file = tmp_path / "short.csv"
    file.write_text("ticker,date,price\nAAPL,2026-11-20,1\n")
    with pytest.raises(HistoryImportError, match="one of cost_to_borrow_rate"):
        MarketRegime(db).import_short_metrics(file)


def test_events_with_a_scoped_caller_list_market_events_with_filters_and_pages(
    db: Database,
) -> None:
    _store_stressed_market(db, vix=40.0, spike=5.0)
    MarketRegime(db).regime(ON)
    viewer = MarketRegime(db, Caller(actor="vic", user_id=uuid.uuid4()))
    first = viewer.events(limit=2)
    assert len(first.items) == 2
    assert first.next_key is not None
    rest = viewer.events(after=first.next_key, limit=2)
    assert len(rest.items) == 1
    assert rest.next_key is None
    kinds = {e.event_type for e in (*first.items, *rest.items)}
    assert kinds == {"vix_emergency", "correlation_breakdown", "volume_spike"}
    critical = viewer.events(severity="critical")
    assert [e.event_type for e in critical.items] == ["vix_emergency"]
    assert viewer.events(on=date(2026, 11, 19)).items == ()
    assert len(viewer.events(on=ON).items) == 3
