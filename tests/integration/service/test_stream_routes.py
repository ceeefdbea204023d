"""``/v1/stream`` and ``/v1/ws/stream``: start a simulated stream, watch it, stop it, 409/403/422.

Each test's service gets a stream manager on a journal directory under ``tmp_path``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect
from tests.integration.service.conftest import Users

from riskdesk.streaming.journal import Journal
from riskdesk.streaming.manager import StreamManager

pytestmark = pytest.mark.parametrize(
    "service_backend",
    ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
    indirect=True,
)

SPEC = {"broker": "simulated", "account": "SIM-ROUTE-1", "seed": 5, "rate": 200.0}


@pytest.fixture
def journal_dir(app: FastAPI, tmp_path: Path) -> Path:
    """The service's stream manager, on a journal directory of this test."""
    state = app.state.riskdesk
    folder = tmp_path / "stream-journal"
    state.stream = StreamManager(state.db, journal_dir=folder, status_interval=0.2)
    return folder


def wait_until(predicate: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("condition not reached in time")


def _status(client: TestClient, headers: dict[str, str]) -> dict[str, Any]:
    response = client.get("/v1/stream/status", headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _received(client: TestClient, headers: dict[str, str]) -> int:
    status = _status(client, headers)["status"]
    return 0 if status is None else int(status["totals"]["received"])


def _next(websocket: Any, kind: str) -> dict[str, Any]:
    message: dict[str, Any] = websocket.receive_json()
    assert message["type"] == kind, message
    return message


def test_stream_routes_with_simulated_source_stream_push_stop_and_store(
    client: TestClient, users: Users, journal_dir: Path
) -> None:
    trader, viewer = users.headers["trader"], users.headers["viewer"]

    started = client.post("/v1/stream/start", json={"sources": [SPEC]}, headers=trader)
    again = client.post("/v1/stream/start", json={"sources": [SPEC]}, headers=trader)
    wait_until(lambda: _received(client, viewer) > 0)
    running = _status(client, viewer)
    url = f"/v1/ws/stream?access_token={viewer['Authorization'][7:]}"
    with client.websocket_connect(url) as websocket:
        pushed_status = _next(websocket, "status")
        first = _next(websocket, "greeks")
        _next(websocket, "status")
        second = _next(websocket, "greeks")
    live = client.get("/v1/stream/latest", headers=viewer)
    stopped = client.post("/v1/stream/stop", headers=trader)
    stop_again = client.post("/v1/stream/stop", headers=trader)
    stored = client.get("/v1/greeks/latest?broker=simulated&account_id=SIM-ROUTE-1", headers=viewer)
    idle = _status(client, viewer)
    with client.websocket_connect(url) as websocket:
        _next(websocket, "status")
        idle_first = _next(websocket, "greeks")
        _next(websocket, "status")
        idle_second = _next(websocket, "greeks")

    assert started.status_code == 201, started.text
    assert started.json()["running"] is True
    assert started.json()["journal_dir"] == str(journal_dir)
    assert again.status_code == 409
    assert again.json()["code"] == "CONFLICT"
    assert "already running" in again.json()["detail"]
    assert running["running"] is True
    assert running["status"]["sessions"][0]["account_id"] == "SIM-ROUTE-1"
    assert pushed_status["running"] is True
    assert pushed_status["status"]["totals"]["received"] > 0
    assert first["full"] is True
    assert first["source"] == "live"
    assert first["items"]
    assert second["full"] is False
    before = {i["contract_key"]: i for i in first["items"]}
    assert second["items"], "a stream at 200 ticks/s changes some rows within a second"
    assert all(before.get(i["contract_key"]) != i for i in second["items"])
    assert live.status_code == 200
    assert live.json()["source"] == "live"
    assert stopped.status_code == 200, stopped.text
    final = stopped.json()
    assert final["drained"] is True
    assert final["journal_depth"] == 0
    assert final["totals"]["received"] >= pushed_status["status"]["totals"]["received"]
    assert stop_again.status_code == 409
    assert stored.status_code == 200
    contracts = {i["contract_key"] for i in stored.json()["items"]}
    assert contracts >= set(before)
    assert idle["running"] is False
    assert idle["status"]["state"] == "stopped"
    assert idle["latest_sessions"][0]["account_id"] == "SIM-ROUTE-1"
    assert idle["latest_sessions"][0]["rows_written"] == final["totals"]["persisted"]
    assert idle_first["source"] == "stored"
    assert {i["contract_key"] for i in idle_first["items"]} == contracts
    assert idle_second["items"] == [], "nothing changed: the second push repeats no row"


def test_stream_start_with_viewer_answers_403_and_starts_nothing(
    client: TestClient, users: Users, journal_dir: Path
) -> None:
    response = client.post(
        "/v1/stream/start", json={"sources": [SPEC]}, headers=users.headers["viewer"]
    )
    stop = client.post("/v1/stream/stop", headers=users.headers["viewer"])

    assert response.status_code == 403
    assert response.json()["code"] == "FORBIDDEN"
    assert stop.status_code == 403
    assert _status(client, users.headers["viewer"])["running"] is False


def test_stream_start_with_bad_spec_answers_422_naming_the_field(
    client: TestClient, users: Users, journal_dir: Path
) -> None:
    bad_broker = client.post(
        "/v1/stream/start",
        json={"sources": [SPEC, {"broker": "nobroker"}]},
        headers=users.headers["trader"],
    )
    no_sources = client.post(
        "/v1/stream/start", json={"sources": []}, headers=users.headers["trader"]
    )

    assert bad_broker.status_code == 422
    body = bad_broker.json()
    assert body["code"] == "VALIDATION_ERROR"
    assert body["errors"][0]["field"] == "body.sources.1"
    assert "broker" in body["detail"]
    assert no_sources.status_code == 422
    assert no_sources.json()["errors"][0]["field"] == "body.sources"
    assert _status(client, users.headers["trader"])["running"] is False


def test_stream_start_with_journal_held_by_another_process_answers_409(
    client: TestClient, users: Users, journal_dir: Path
) -> None:
    holder = Journal(journal_dir)
    try:
        response = client.post(
            "/v1/stream/start", json={"sources": [SPEC]}, headers=users.headers["trader"]
        )
    finally:
        holder.close()

    assert response.status_code == 409
    assert "in use by another process" in response.json()["detail"]
    assert _status(client, users.headers["trader"])["running"] is False


def test_stream_ws_without_token_closes_4401(client: TestClient, journal_dir: Path) -> None:
    with (
        pytest.raises(WebSocketDisconnect) as closed,
        client.websocket_connect("/v1/ws/stream") as websocket,
    ):
        websocket.receive_json()

    assert closed.value.code == 4401


def test_stream_with_a_running_stream_stops_drained_when_the_app_shuts_down(
    app: FastAPI, users: Users, journal_dir: Path
) -> None:
    manager: StreamManager = app.state.riskdesk.stream
    with TestClient(app) as served:
        started = served.post(
            "/v1/stream/start", json={"sources": [SPEC]}, headers=users.headers["trader"]
        )
        wait_until(lambda: _received(served, users.headers["trader"]) > 0)

    assert started.status_code == 201
    assert not manager.running
    final = manager.status()["status"]
    assert final["state"] == "stopped"
    assert final["drained"] is True
