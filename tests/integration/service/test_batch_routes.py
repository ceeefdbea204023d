"""``/v1/batch``: the daily batch as a job with progress, and its audit view.

A trader's run covers its own portfolios only; an admin's covers every user's; the job ends
with the batch result, the audit view matches it, a weekend date is a 422, another user's
portfolio a 404, and a viewer may read but not run.
"""

from __future__ import annotations

import time
from datetime import date
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.testclient import TestClient
from tests.integration.service.conftest import Users

from riskdesk.risk.batch import STEPS
from riskdesk.risk.history_usecases import PriceHistory

ON = date(2026, 11, 20)
CSV = {"Content-Type": "text/csv"}
BOOK = "ticker,quantity,entry_price,entry_date,tags\nAAPL,100,200,2026-01-05,core\n"


def _json(response: httpx.Response, status: int) -> Any:
    assert response.status_code == status, f"{response.status_code} {response.text[:500]}"
    return response.json()


def _book(client: TestClient, headers: dict[str, str], name: str) -> str:
    portfolio = _json(client.post("/v1/portfolios", json={"name": name}, headers=headers), 201)
    _json(
        client.post(
            f"/v1/portfolios/{portfolio['id']}/positions/import?today={ON}",
            content=BOOK.encode(),
            headers=headers | CSV,
        ),
        200,
    )
    return str(portfolio["id"])


def _finished(client: TestClient, headers: dict[str, str], job: dict[str, Any]) -> Any:
    deadline = time.monotonic() + 60
    while job["status"] not in ("succeeded", "failed", "cancelled"):
        assert time.monotonic() < deadline, job
        time.sleep(0.05)
        job = _json(client.get(f"/v1/jobs/{job['id']}", headers=headers), 200)
    return job


def _setup(app: FastAPI, client: TestClient, users: Users) -> tuple[str, str]:
    mine = _book(client, users.headers["trader"], "mine")
    theirs = _book(client, users.headers["other"], "theirs")
    PriceHistory(app.state.riskdesk.db).synthesize(
        ["AAPL"], seed=11, end=ON, days=600, include_factors=True
    )
    return mine, theirs


def test_batch_run_as_trader_covers_its_own_portfolios_and_reports_progress(
    app: FastAPI, client: TestClient, users: Users
) -> None:
    mine, theirs = _setup(app, client, users)
    headers = users.headers["trader"]

    job = _json(client.post("/v1/batch/runs", json={"date": str(ON)}, headers=headers), 202)
    done = _finished(client, headers, job)

    assert job["kind"] == "batch.run"
    assert job["params"] == {"date": str(ON), "portfolios": [mine], "force": False}
    assert done["status"] == "succeeded", done
    assert done["progress"] == 1.0
    assert done["message"] == "mine: completed"
    (run,) = done["result"]["portfolios"]
    assert run["portfolio_id"] == mine
    assert [s["step"] for s in run["steps"]] == list(STEPS)
    assert all(s["status"] == "completed" for s in run["steps"])
    view = _json(client.get(f"/v1/batch/runs?date={ON}", headers=headers), 200)
    assert view["steps"] == list(STEPS)
    (item,) = view["portfolios"]
    assert item["portfolio_id"] == mine
    assert item["complete"] is True
    assert [s["records"] for s in item["steps"]] == [s["records"] for s in run["steps"]]
    others = _json(client.get(f"/v1/batch/runs?date={ON}", headers=users.headers["other"]), 200)
    assert [p["portfolio_id"] for p in others["portfolios"]] == [theirs]
    assert others["portfolios"][0]["complete"] is False


def test_batch_run_as_admin_covers_every_users_portfolios_and_reruns_as_already_done(
    app: FastAPI, client: TestClient, users: Users
) -> None:
    mine, theirs = _setup(app, client, users)
    headers = users.headers["admin"]

    first = _finished(
        client,
        headers,
        _json(client.post("/v1/batch/runs", json={"date": str(ON)}, headers=headers), 202),
    )
    again = _finished(
        client,
        headers,
        _json(client.post("/v1/batch/runs", json={"date": str(ON)}, headers=headers), 202),
    )

    assert first["status"] == "succeeded", first
    assert sorted(p["portfolio_id"] for p in first["result"]["portfolios"]) == sorted(
        [mine, theirs]
    )
    assert {p["status"] for p in first["result"]["portfolios"]} == {"completed"}
    assert {p["status"] for p in again["result"]["portfolios"]} == {"already_done"}
    view = _json(client.get(f"/v1/batch/runs?date={ON}", headers=headers), 200)
    assert len(view["portfolios"]) == 2
    assert all(p["complete"] for p in view["portfolios"])


def test_batch_routes_with_bad_requests_answer_problems(
    app: FastAPI, client: TestClient, users: Users
) -> None:
    _, theirs = _setup(app, client, users)
    trader, viewer = users.headers["trader"], users.headers["viewer"]

    weekend = client.post("/v1/batch/runs", json={"date": "2026-11-21"}, headers=trader)
    weekend_view = client.get("/v1/batch/runs?date=2026-11-21", headers=trader)
    foreign = client.post("/v1/batch/runs", json={"portfolios": [theirs]}, headers=trader)
    extra = client.post("/v1/batch/runs", json={"when": str(ON)}, headers=trader)
    viewer_run = client.post("/v1/batch/runs", json={"date": str(ON)}, headers=viewer)

    assert _json(weekend, 422)["code"] == "VALIDATION_ERROR"
    assert "not an NYSE session" in weekend.json()["detail"]
    assert _json(weekend_view, 422)["code"] == "VALIDATION_ERROR"
    assert _json(foreign, 404)["code"] == "NOT_FOUND"
    assert _json(extra, 422)["code"] == "VALIDATION_ERROR"
    assert _json(viewer_run, 403)["code"] == "FORBIDDEN"
    assert weekend.headers["content-type"].startswith("application/problem+json")
