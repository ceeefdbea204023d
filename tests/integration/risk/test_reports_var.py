"""VaR, ES and the backtest of a stored book, checked against the engines called directly."""

from __future__ import annotations

import numpy as np
import pytest
from tests.integration.risk.test_reports_measures import ON, db  # noqa: F401  (fixture)

from riskdesk.risk.backtest import kupiec_pof
from riskdesk.risk.reports import RiskReports
from riskdesk.risk.var import historical_var
from riskdesk.store import Database

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


def test_var_with_stored_book_equals_engine_on_the_same_returns(db: Database) -> None:  # noqa: F811
    reports = RiskReports(db)

    outcome = reports.var("book", ON, window=150)

    book = reports.book("book", ON)
    marks = reports.marks(book, ON)
    underlyings = sorted({p.underlying for p in book.positions})
    _, closes = reports._aligned_closes(underlyings, ON, 151)
    matrix = np.column_stack([np.diff(np.log(closes[u])) for u in underlyings])
    direct = historical_var(book.positions, marks, matrix, names=underlyings, window=150)
    for level in (0.95, 0.99):
        for horizon in (1, 10):
            ours = outcome.historical.figure(level, horizon)
            theirs = direct.figure(level, horizon)
            assert ours.var == pytest.approx(theirs.var, rel=1e-12)
            assert ours.es >= ours.var > 0
    assert outcome.monte_carlo is not None
    assert outcome.monte_carlo.figure(0.99, 1).var > 0
    assert outcome.delta_gamma.figure(0.99, 10).var > outcome.delta_gamma.figure(0.99, 1).var
    data = outcome.to_dict()
    assert {f["horizon_days"] for f in data["historical"]} == {1, 10}


def test_backtest_with_stored_book_counts_exceptions_and_matches_kupiec(db: Database) -> None:  # noqa: F811
    outcome = RiskReports(db).backtest("book", ON, window=60, days=120, confidence=0.95)

    result = outcome.result
    assert result.n == 120
    expected = kupiec_pof(result.exceptions, result.n, 0.05)
    assert result.kupiec.lr == pytest.approx(expected.lr)
    assert outcome.to_dict()["exceptions"] == int(result.exception_series.sum())


def test_var_with_window_too_short_for_betas_skips_monte_carlo(db: Database) -> None:  # noqa: F811
    outcome = RiskReports(db).var("book", ON, window=30)

    assert outcome.monte_carlo is None
    assert outcome.to_dict()["monte_carlo"] is None
    assert outcome.historical.figure(0.99, 1).var > 0


def test_var_with_no_close_on_the_date_refuses_instead_of_a_zero(db: Database) -> None:  # noqa: F811
    from datetime import timedelta

    from riskdesk.risk.history import last_sessions
    from riskdesk.risk.reports import HistoryMissingError

    later = last_sessions(ON + timedelta(days=10), 2)[-1]  # a session after the stored history
    with pytest.raises(HistoryMissingError, match="silent zero"):
        RiskReports(db).var("book", later, window=30)
