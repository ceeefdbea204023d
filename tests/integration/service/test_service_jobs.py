"""Jobs: status, progress, cancel, owner scoping, and the job WebSocket."""

from __future__ import annotations

import threading
import time
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from tests.integration.service.conftest import Users

from riskdesk.domain.caller import Caller
from riskdesk.service.jobs import JobContext


def _caller(app: FastAPI, users: Users, name: str) -> Caller:
    return Caller(actor=name, user_id=users.ids[name], role="trader")


def _wait(client: TestClient, headers: dict[str, str], job_id: str, status: str) -> dict[str, Any]:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        body = client.get(f"/v1/jobs/{job_id}", headers=headers).json()
        if body["status"] == status:
            return body
        time.sleep(0.02)
    raise AssertionError(f"job {job_id} never reached {status}: {body}")


def test_job_with_work_reports_progress_then_result(
    app: FastAPI, client: TestClient, users: Users
) -> None:
    go = threading.Event()

    def work(ctx: JobContext) -> dict[str, Any]:
        ctx.progress(0.5, "half way", force=True)
        go.wait(10)
        return {"answer": 42}

    view = app.state.riskdesk.jobs.submit(_caller(app, users, "trader"), "test", {"n": 1}, work)
    headers = users.headers["trader"]
    running = _wait(client, headers, str(view.id), "running")
    deadline = time.monotonic() + 5
    while running["progress"] < 0.5 and time.monotonic() < deadline:
        running = client.get(f"/v1/jobs/{view.id}", headers=headers).json()
    go.set()
    done = _wait(client, headers, str(view.id), "succeeded")

    assert running["progress"] == 0.5
    assert running["message"] == "half way"
    assert done["result"] == {"answer": 42}
    assert done["progress"] == 1.0
    assert done["finished_at"] is not None


def test_job_of_another_user_answers_404_and_is_not_listed(
    app: FastAPI, client: TestClient, users: Users
) -> None:
    view = app.state.riskdesk.jobs.submit(_caller(app, users, "trader"), "test", {}, lambda ctx: {})

    other = client.get(f"/v1/jobs/{view.id}", headers=users.headers["other"])
    cancel = client.post(f"/v1/jobs/{view.id}/cancel", headers=users.headers["other"])
    listed = client.get("/v1/jobs", headers=users.headers["other"]).json()["items"]

    assert other.status_code == cancel.status_code == 404
    assert listed == []


def test_cancel_of_running_job_stops_it_at_next_progress(
    app: FastAPI, client: TestClient, users: Users
) -> None:
    started = threading.Event()
    steps: list[int] = []

    def work(ctx: JobContext) -> dict[str, Any]:
        started.set()
        for i in range(500):
            ctx.progress(i / 500, force=True)
            steps.append(i)
            time.sleep(0.01)
        return {}

    view = app.state.riskdesk.jobs.submit(_caller(app, users, "trader"), "test", {}, work)
    assert started.wait(10)
    response = client.post(f"/v1/jobs/{view.id}/cancel", headers=users.headers["trader"])
    done = _wait(client, users.headers["trader"], str(view.id), "cancelled")

    assert response.status_code == 200
    assert response.json()["cancel_requested"] is True
    assert done["status"] == "cancelled"
    assert len(steps) < 500


def test_failing_job_with_value_error_records_validation_code_not_traceback(
    app: FastAPI, client: TestClient, users: Users
) -> None:
    def work(ctx: JobContext) -> dict[str, Any]:
        raise ValueError("trade has no legs")

    view = app.state.riskdesk.jobs.submit(_caller(app, users, "trader"), "test", {}, work)
    done = _wait(client, users.headers["trader"], str(view.id), "failed")

    assert done["error"] == {"code": "VALIDATION_ERROR", "detail": "trade has no legs"}


def test_job_websocket_with_owner_token_streams_until_finished(
    app: FastAPI, client: TestClient, users: Users
) -> None:
    go = threading.Event()

    def work(ctx: JobContext) -> dict[str, Any]:
        go.wait(10)
        ctx.progress(0.25, "quarter", force=True)
        return {"ok": True}

    view = app.state.riskdesk.jobs.submit(_caller(app, users, "trader"), "test", {}, work)
    token = users.headers["trader"]["Authorization"].split()[1]
    messages = []
    with client.websocket_connect(f"/v1/ws/jobs/{view.id}?access_token={token}") as ws:
        messages.append(ws.receive_json())
        go.set()
        while not messages[-1].get("finished"):
            messages.append(ws.receive_json())

    assert messages[0]["type"] == "job"
    assert messages[-1]["status"] == "succeeded"
    assert any(m.get("progress") == 0.25 for m in messages)


def test_job_websocket_without_token_closes_4401(client: TestClient, users: Users) -> None:
    import pytest
    from starlette.websockets import WebSocketDisconnect

    with (
        pytest.raises(WebSocketDisconnect) as info,
        client.websocket_connect("/v1/ws/events") as ws,
    ):
        ws.receive_json()

    assert info.value.code == 4401


def test_snapshot_refresh_as_job_succeeds_and_caches_the_new_quote(
    client: TestClient, users: Users
) -> None:
    headers = users.headers["trader"]
    created = client.post("/v1/snapshots", json={"symbols": ["SPY"]}, headers=headers)
    assert created.status_code == 201, created.text
    snapshot_id = created.json()["snapshot_id"]

    accepted = client.post(
        f"/v1/snapshots/{snapshot_id}/refresh?as_job=true", json={"minutes": 15}, headers=headers
    )
    assert accepted.status_code == 202, accepted.text
    done = _wait(client, headers, accepted.json()["id"], "succeeded")
    quote = client.get("/v1/market/quotes/SPY", headers=headers).json()

    refreshed_id = done["result"]["snapshot_id"]
    assert refreshed_id != snapshot_id
    assert quote["snapshot_id"] == refreshed_id
