"""The portfolio page's VaR on the bench's sample book: the fast path moves no number, and a
warm memo never serves a stale one.

* The VaR of ``GET /v1/risk/{id}/var`` (one read of the closes, the engines memoized under the
  content of their inputs) equals, to the last bit of every figure and scenario P&L, a
  straightforward computation written out in this test: the closes read separately for the
  returns and for the factor model (as the route did before), every engine called directly.
* With the memo warm, editing a position, uploading more positions or importing a changed
  close changes the answer, which then equals a computation with no memo at all; a second
  "worker" with its own memo on the same database (SQLite and PostgreSQL) agrees at each step.
"""

from __future__ import annotations

import json
import math
import uuid
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import update
from tests.integration.service.conftest import Users

from riskdesk.domain.caller import Caller
from riskdesk.risk.factors import (
    FACTOR_PROXIES,
    REGRESSION_WINDOW,
    ewma_covariance,
    factor_returns_from_closes,
    multivariate_betas,
    simple_returns,
)
from riskdesk.risk.history import last_sessions
from riskdesk.risk.history_usecases import PriceHistory
from riskdesk.risk.memo import ContentCache
from riskdesk.risk.reports import MC_PATHS, RiskReports, VarOutcome
from riskdesk.risk.var import (
    VarReport,
    delta_gamma_inputs,
    delta_gamma_normal_var,
    historical_var,
    monte_carlo_var,
)
from riskdesk.store import Database
from riskdesk.store import history as history_repo
from riskdesk.store.models.portfolio import Position

ON = date(2026, 11, 20)
WINDOW = 250
SEED = 7
SAMPLE = Path(__file__).resolve().parents[3] / "src/riskdesk/risk/samples/demo_book.csv"
UNDERLYINGS = ("AAPL", "MSFT", "AMZN", "NVDA", "SPY", "IWM", "QQQ")
CSV = {"Content-Type": "text/csv"}


def _json(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, f"{response.status_code} {response.text[:500]}"
    return response.json()


def _plain(value: dict[str, Any]) -> Any:
    return json.loads(json.dumps(value))


def _sample_book(app: FastAPI, client: TestClient, headers: dict[str, str]) -> str:
    """The bench's book: the packaged sample CSV and 300 sessions of synthetic history."""
    PriceHistory(app.state.riskdesk.db).synthesize(
        UNDERLYINGS, seed=11, end=ON, days=300, include_factors=True
    )
    pid = str(
        _json(client.post("/v1/portfolios", json={"name": "sample"}, headers=headers), 201)["id"]
    )
    report = _json(
        client.post(
            f"/v1/portfolios/{pid}/positions/import?today={ON}",
            content=SAMPLE.read_bytes(),
            headers=headers | CSV,
        )
    )
    assert report["rejected_count"] == 0, report
    assert report["imported"] == 15, report
    return pid


def _closes(db: Database, tickers: list[str], count: int) -> dict[str, np.ndarray]:
    """Closes of ``tickers`` on the last ``count`` sessions up to ON, NaN where missing."""
    days = last_sessions(ON, count)
    with db.unit_of_work_for(Caller.local(db.actor), read_only=True) as uow:
        rows = history_repo.read_closes(uow.session, tickers=tickers, start=days[0], end=ON)
    at = {d: i for i, d in enumerate(days)}
    out = {t: np.full(count, np.nan) for t in tickers}
    for ticker, day, close in rows:
        if day in at:
            out[ticker][at[day]] = float(close)
    return out


def _straightforward_var(db: Database, pid: str) -> VarOutcome:
    """The book's VaR written out step by step, every engine called directly, no memo."""
    plain = RiskReports(db, memo=None)
    book = plain.book(pid, ON)
    marks = plain.marks(book, ON)
    positions = book.positions
    underlyings = sorted({p.underlying for p in positions})
    closes = _closes(db, underlyings, WINDOW + 1)
    matrix = np.column_stack([np.diff(np.log(closes[u])) for u in underlyings])
    historical = historical_var(positions, marks, matrix, names=underlyings, window=WINDOW)

    inputs = delta_gamma_inputs(positions, marks)
    cols = [underlyings.index(u) for u in inputs.underlyings]
    sub = matrix[:, cols]
    complete = sub[np.all(np.isfinite(sub), axis=1)]
    cov = np.cov(np.expm1(complete), rowvar=False, ddof=1).reshape(len(cols), len(cols))
    delta_gamma = delta_gamma_normal_var(inputs.delta_dollars, inputs.gamma_dollars, cov)

    model_window = min(WINDOW, REGRESSION_WINDOW)
    proxies = list(FACTOR_PROXIES.values())
    factor_closes = _closes(db, sorted({*proxies, *underlyings}), model_window + 1)
    names, factor_returns = factor_returns_from_closes({t: factor_closes[t] for t in proxies})
    returns = np.column_stack([simple_returns(factor_closes[u])[:, 0] for u in underlyings])
    ridge = multivariate_betas(
        returns, factor_returns, window=model_window, positions=underlyings, factors=names
    )
    factor_cov = ewma_covariance(factor_returns, factors=names).covariance
    betas = {u: ridge.beta[i].tolist() for i, u in enumerate(underlyings)}
    specific = {u: math.sqrt(float(ridge.specific_var[i])) for i, u in enumerate(underlyings)}
    simulated = monte_carlo_var(
        positions, marks, betas, factor_cov, specific, n_paths=MC_PATHS, seed=SEED
    )
    return VarOutcome(book.portfolio_id, book.name, ON, WINDOW, historical, delta_gamma, simulated)


def _assert_same_report(ours: VarReport | None, theirs: VarReport | None) -> None:
    assert ours is not None
    assert theirs is not None
    assert ours.figures == theirs.figures  # exact floats (dataclass equality)
    assert ours.scaled_figures == theirs.scaled_figures
    assert ours.current_value == theirs.current_value
    assert ours.excluded == theirs.excluded
    assert dict(ours.n_scenarios) == dict(theirs.n_scenarios)
    for h in theirs.pnl:
        assert np.array_equal(ours.pnl[h], theirs.pnl[h])


def _assert_same_outcome(ours: VarOutcome, theirs: VarOutcome) -> None:
    _assert_same_report(ours.historical, theirs.historical)
    _assert_same_report(ours.monte_carlo, theirs.monte_carlo)
    assert ours.delta_gamma.figures == theirs.delta_gamma.figures
    assert dict(ours.delta_gamma.mean) == dict(theirs.delta_gamma.mean)
    assert dict(ours.delta_gamma.std) == dict(theirs.delta_gamma.std)


def test_var_with_memoized_path_equals_a_straightforward_computation_to_the_last_digit(
    app: FastAPI, client: TestClient, users: Users
) -> None:
    headers = users.headers["trader"]
    pid = _sample_book(app, client, headers)
    db: Database = app.state.riskdesk.db
    memo = ContentCache()
    reports = RiskReports(db, memo=memo)

    first = reports.var(pid, ON, window=WINDOW, seed=SEED)
    again = reports.var(pid, ON, window=WINDOW, seed=SEED)
    expected = _straightforward_var(db, pid)
    answered = _json(client.get(f"/v1/risk/{pid}/var?date={ON}&window={WINDOW}", headers=headers))

    assert first.monte_carlo is not None
    assert not first.historical.excluded
    assert memo.stats().hits >= 2  # the second call was served by the memo
    _assert_same_outcome(first, expected)
    _assert_same_outcome(again, expected)
    _assert_same_outcome(RiskReports(db, memo=None).var(pid, ON, window=WINDOW), expected)
    assert answered == _plain(expected.to_dict())


@pytest.mark.parametrize("service_backend", ["sqlite", "postgres"], indirect=True)
def test_var_with_warm_memo_and_edited_book_or_history_answers_the_new_numbers(
    app: FastAPI, client: TestClient, users: Users, tmp_path: Path
) -> None:
    headers = users.headers["trader"]
    pid = _sample_book(app, client, headers)
    db: Database = app.state.riskdesk.db
    url = f"/v1/risk/{pid}/var?date={ON}&window={WINDOW}"
    worker = RiskReports(db, memo=ContentCache())  # a second worker with its own memo

    def fresh() -> Any:
        return _plain(RiskReports(db, memo=None).var(pid, ON, window=WINDOW).to_dict())

    def answers() -> Any:
        served = _json(client.get(url, headers=headers))
        assert served == _json(client.get(url, headers=headers))  # the memo's own answer
        assert served == fresh()
        assert served == _plain(worker.var(pid, ON, window=WINDOW).to_dict())
        return served

    before = answers()

    # another position uploaded into the book
    _json(
        client.post(
            f"/v1/portfolios/{pid}/positions/import?today={ON}",
            content=b"ticker,quantity,entry_price,entry_date,tags\n"
            b"AAPL261218P00190000,4,3.10,2026-10-01,hedge\n",
            headers=headers | CSV,
        )
    )
    uploaded = answers()
    assert uploaded["historical"] != before["historical"]

    # a position's quantity edited in the database (e.g. by another worker's request)
    with db.unit_of_work_for(Caller.local(db.actor)) as uow:
        edited = uow.session.execute(
            update(Position)
            .where(Position.portfolio_id == uuid.UUID(pid), Position.symbol == "SPY")
            .values(quantity=Decimal("350"))
        )
        assert edited.rowcount == 1  # type: ignore[attr-defined]
    resized = answers()
    assert resized["historical"] != uploaded["historical"]
    assert resized["monte_carlo"] != uploaded["monte_carlo"]

    # a close inside the window but before the marks' 30-session realised vols (only the
    # scenarios see it) imported again, 30% higher
    day = last_sessions(ON, 100)[0]
    closes = _closes(db, ["SPY"], 100)
    path = tmp_path / "spy.csv"
    path.write_text(f"ticker,date,close\nSPY,{day.isoformat()},{closes['SPY'][0] * 1.3:.4f}\n")
    assert PriceHistory(db).import_file(path).written == 1
    imported = answers()
    assert imported["historical"] != resized["historical"]
    assert imported["monte_carlo"] != resized["monte_carlo"]
