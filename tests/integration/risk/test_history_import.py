"""Importing price files (CSV and Parquet) into ``market_data_cache`` on both backends."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from riskdesk.risk.history_usecases import HistoryImportError, PriceHistory
from riskdesk.store import Database
from riskdesk.store.db import make_session_factory
from riskdesk.store.models import MarketDataCache

GOOD_AND_BAD = """\
Ticker,DATE,Close,Open,High,Low,Volume,Note
SPY,2026-11-16,590.10,589,591,588,1000,ok
SPY,2026-11-17,0,589,591,588,1000,zero close
SPY,2026-11-18,-3,589,591,588,1000,negative close
SPY,2026-13-01,590,589,591,588,1000,bad date
SPY,2026-11-16,590.20,589,591,588,1000,duplicate
AAPL,11/17/2026,230.5,,,,,only a close
AAPL,2026-11-18,,229,231,228,10,missing close
AAPL,2026-11-19,231,229,230,228,10,close above high
US10Y,2026-11-17,4.125,,,,,yield
"""


@pytest.fixture
def history(migrated_engine: Engine) -> PriceHistory:
    return PriceHistory(
        Database(engine=migrated_engine, sessions=make_session_factory(migrated_engine))
    )


def _stored(history: PriceHistory) -> list[tuple[str, date, Decimal, str]]:
    with history.db.engine.connect() as connection:
        rows = connection.execute(
            sa.select(
                MarketDataCache.ticker,
                MarketDataCache.date,
                MarketDataCache.close,
                MarketDataCache.data_source,
            ).order_by(MarketDataCache.ticker, MarketDataCache.date)
        ).all()
    return [(t, d, c, s) for t, d, c, s in rows]


def test_import_file_with_every_kind_of_bad_row_reports_line_column_and_reason(
    history: PriceHistory, tmp_path: Path
) -> None:
    path = tmp_path / "prices.csv"
    path.write_text(GOOD_AND_BAD)

    report = history.import_file(path)

    assert (report.rows_read, report.rows_ok, report.rows_rejected) == (9, 3, 6)
    found = {(e.line, e.column): e.reason for e in report.errors}
    assert found[(3, "Close")].startswith("non-positive close")
    assert found[(4, "Close")].startswith("non-positive close")
    assert found[(5, "DATE")].startswith("bad date")
    assert found[(6, "(ticker, date)")] == "duplicate (ticker, date) (first seen at line 2)"
    assert found[(8, "Close")] == "missing required value"
    assert found[(9, "Close")] == "close > high (231 > 230)"
    assert len(report.errors) == 6
    assert report.ignored_columns == ("Note",)
    assert report.written == 3
    assert _stored(history) == [
        ("AAPL", date(2026, 11, 17), Decimal("230.5"), "import"),
        ("SPY", date(2026, 11, 16), Decimal("590.10"), "import"),
        ("US10Y", date(2026, 11, 17), Decimal("4.125"), "import"),
    ]


def test_import_file_twice_with_same_file_changes_nothing(
    history: PriceHistory, tmp_path: Path
) -> None:
    path = tmp_path / "prices.csv"
    path.write_text(GOOD_AND_BAD)
    history.import_file(path)
    before = _stored(history)

    again = history.import_file(path)

    assert again.rows_ok == 3
    assert again.written == 0
    assert _stored(history) == before


def test_import_file_with_changed_close_updates_the_bar(
    history: PriceHistory, tmp_path: Path
) -> None:
    path = tmp_path / "p.csv"
    path.write_text("ticker,date,close\nKO,2026-11-16,60\n")
    history.import_file(path)
    path.write_text("ticker,date,close\nKO,2026-11-16,61.25\n")

    report = history.import_file(path)

    assert report.written == 1
    assert history.close_on("KO", date(2026, 11, 16)) == Decimal("61.25")


def test_import_file_with_parquet_reports_rows_by_number(
    history: PriceHistory, tmp_path: Path
) -> None:
    path = tmp_path / "prices.parquet"
    table = pa.table(
        {
            "TICKER": ["MSFT", "MSFT", "MSFT"],
            "Date": [date(2026, 11, 16), date(2026, 11, 17), date(2026, 11, 16)],
            "close": [430.5, -1.0, 431.0],
            "volume": [100, 200, 300],
        }
    )
    pq.write_table(table, path)

    report = history.import_file(path)

    assert report.rows_ok == 1
    assert [(e.line, e.column) for e in report.errors] == [(2, "close"), (3, "(ticker, date)")]
    assert history.close_on("MSFT", date(2026, 11, 16)) == Decimal("430.5")


def test_import_file_with_missing_required_column_imports_nothing(
    history: PriceHistory, tmp_path: Path
) -> None:
    path = tmp_path / "p.csv"
    path.write_text("ticker,close\nSPY,1\n")

    with pytest.raises(HistoryImportError, match=r"missing required column.*date"):
        history.import_file(path)
    assert _stored(history) == []


def test_import_file_with_ragged_row_reports_it(history: PriceHistory, tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text("ticker,date,close\nSPY,2026-11-16,1\nSPY,2026-11-17,2,extra\n")

    report = history.import_file(path)

    assert report.rows_ok == 1
    assert [(e.line, e.column) for e in report.errors] == [(3, "(row)")]
    assert "4 fields but the header has 3" in report.errors[0].reason
