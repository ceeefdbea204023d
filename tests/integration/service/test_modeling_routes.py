"""``/v1/modeling-sessions``: a what-if session over HTTP.

The trader uploads a book, starts a session, edits it, compares (inline and as a job: the
same measures as the use case called directly), hedges, exports twice (two
``export_history`` rows) and cancels; a cancelled session refuses an add with a 409, a bad
edit is a 422, another trader and a viewer get 404s, a viewer cannot edit (403).
"""

from __future__ import annotations

import time
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from tests.integration.service.conftest import Users

from riskdesk.risk.history_usecases import PriceHistory
from riskdesk.risk.modeling import ModelingSessions
from riskdesk.store.models.system import ExportHistory

ON = date(2026, 11, 20)
CSV = {"Content-Type": "text/csv"}
BOOK = (
    "ticker,quantity,entry_price,entry_date,tags\n"
    "AAPL,100,200,2026-01-05,core\n"
    "NVDA,-50,120,2026-01-05,\n"
    "AAPL261218C00230000,5,6,2026-01-05,spread\n"
)
WINDOWS = "factor_window=60&var_window=60"


def _json(response: httpx.Response, status: int) -> Any:
    assert response.status_code == status, f"{response.status_code} {response.text[:500]}"
    return response.json()


def _session(app: FastAPI, client: TestClient, headers: dict[str, str]) -> str:
    portfolio = _json(client.post("/v1/portfolios", json={"name": "book"}, headers=headers), 201)
    _json(
        client.post(
            f"/v1/portfolios/{portfolio['id']}/positions/import?today={ON}",
            content=BOOK.encode(),
            headers=headers | CSV,
        ),
        200,
    )
    PriceHistory(app.state.riskdesk.db).synthesize(
        ["AAPL", "NVDA", "MSFT"], seed=11, end=ON, days=80, include_factors=True
    )
    body = {"portfolio_id": portfolio["id"], "date": ON.isoformat(), "name": "trim"}
    started = _json(client.post("/v1/modeling-sessions", json=body, headers=headers), 201)
    return str(started["id"])


def test_modeling_routes_with_full_session_compare_hedge_export_and_cancel(
    app: FastAPI, client: TestClient, users: Users
) -> None:
    headers = users.headers["trader"]
    sid = _session(app, client, headers)
    base = f"/v1/modeling-sessions/{sid}"

    _json(
        client.post(
            f"{base}/positions",
            json={"symbol": "MSFT", "quantity": "20", "price": "400"},
            headers=headers,
        ),
        200,
    )
    resized = _json(
        client.post(
            f"{base}/positions/resize", json={"symbol": "AAPL", "quantity": "60"}, headers=headers
        ),
        200,
    )
    compared = _json(client.post(f"{base}/compare?{WINDOWS}", headers=headers), 200)
    job = _json(client.post(f"{base}/compare?{WINDOWS}&as_job=true", headers=headers), 202)
    deadline = time.monotonic() + 60
    while job["status"] not in ("succeeded", "failed", "cancelled"):
        assert time.monotonic() < deadline, f"the job never finished: {job}"
        time.sleep(0.05)
        job = _json(client.get(f"/v1/jobs/{job['id']}", headers=headers), 200)
    hedged = _json(
        client.post(f"{base}/hedge", json={"method": "delta", "apply": True}, headers=headers),
        200,
    )
    first = _json(client.post(f"{base}/export", json={"format": "csv"}, headers=headers), 200)
    second = _json(client.post(f"{base}/export", json={"format": "json"}, headers=headers), 200)
    cancelled = _json(client.post(f"{base}/cancel", headers=headers), 200)
    refused = client.post(
        f"{base}/positions", json={"symbol": "QQQ", "quantity": "1", "price": "1"}, headers=headers
    )
    listed = _json(client.get("/v1/modeling-sessions?status=cancelled", headers=headers), 200)

    assert [c["kind"] for c in resized["changes"]] == ["add", "resize"]
    direct = ModelingSessions(app.state.riskdesk.db).stored_comparison(sid)
    assert direct is not None
    assert direct.changes == 3  # the export compared again: the hedge changed the book
    assert second["content"].count('"measure"') == len(direct.measures)
    assert job["status"] == "succeeded", job
    assert job["result"]["measures"] == compared["measures"]
    net = next(m for m in compared["measures"] if m["measure"] == "exposures.net")
    assert Decimal(net["change"]) == Decimal(net["pro_forma"]) - Decimal(net["baseline"])
    assert hedged["applied"] is True
    assert abs(Decimal(hedged["residual"])) <= Decimal(hedged["price"]) / 2
    assert first["content"].startswith("section,measure,baseline,pro_forma,change")
    assert second["format"] == "json"
    with app.state.riskdesk.db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(ExportHistory)) == 2
    assert cancelled["status"] == "cancelled"
    assert refused.status_code == 409
    assert "cancelled" in refused.json()["detail"]
    assert [s["id"] for s in listed["items"]] == [sid]


def test_modeling_routes_with_bad_edit_answer_422(
    app: FastAPI, client: TestClient, users: Users
) -> None:
    headers = users.headers["trader"]
    sid = _session(app, client, headers)
    base = f"/v1/modeling-sessions/{sid}"

    unknown = client.post(f"{base}/positions/remove", json={"symbol": "TSLA"}, headers=headers)
    flip = client.post(
        f"{base}/positions/resize", json={"symbol": "AAPL", "quantity": "-5"}, headers=headers
    )
    zero = client.post(
        f"{base}/positions", json={"symbol": "TSLA", "quantity": "0", "price": "5"}, headers=headers
    )

    assert unknown.status_code == 422
    assert "no TSLA position" in unknown.json()["detail"]
    assert flip.status_code == 422
    assert "flips" in flip.json()["detail"]
    assert zero.status_code == 422
    assert _json(client.get(base, headers=headers), 200)["changes"] == []


def test_modeling_routes_with_other_users_answer_404_and_viewer_403(
    app: FastAPI, client: TestClient, users: Users
) -> None:
    sid = _session(app, client, users.headers["trader"])
    base = f"/v1/modeling-sessions/{sid}"
    missing = "/v1/modeling-sessions/00000000-0000-0000-0000-000000000000"

    other = client.get(base, headers=users.headers["other"])
    random = client.get(missing, headers=users.headers["other"])
    viewer_read = client.get(base, headers=users.headers["viewer"])
    viewer_edit = client.post(f"{base}/cancel", headers=users.headers["viewer"])
    other_edit = client.post(f"{base}/cancel", headers=users.headers["other"])

    assert other.status_code == 404
    assert other.json()["detail"].replace(sid, "X") == random.json()["detail"].replace(
        "00000000-0000-0000-0000-000000000000", "X"
    )
    assert viewer_read.status_code == 404
    assert viewer_edit.status_code == 403
    assert other_edit.status_code == 404
    assert _json(client.get(base, headers=users.headers["trader"]), 200)["status"] == "active"
