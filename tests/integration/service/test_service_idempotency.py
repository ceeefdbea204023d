"""Idempotency-Key: replay, conflict, in progress, rejections never cached."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel
from tests.integration.service.conftest import Users

from riskdesk.service.deps import TraderCaller


class EchoIn(BaseModel):
    value: int


class Probe:
    def __init__(self) -> None:
        self.calls = 0
        self.release = threading.Event()
        self.entered = threading.Event()
        self.block = False


@pytest.fixture
def probe(app: FastAPI) -> Iterator[Probe]:
    state = Probe()

    @app.post("/v1/test/echo", status_code=201)
    def echo(body: EchoIn, caller: TraderCaller) -> dict[str, Any]:
        state.calls += 1
        if state.block:
            state.entered.set()
            state.release.wait(10)
        if body.value < 0:
            from riskdesk.service.problems import ErrorCode, ProblemError

            raise ProblemError(409, ErrorCode.CONFLICT, "negative")
        return {"value": body.value, "call": state.calls}

    return state


def test_repeat_with_same_key_and_body_replays_stored_response(
    client: TestClient, users: Users, probe: Probe
) -> None:
    headers = users.headers["trader"] | {"Idempotency-Key": "k-1"}

    first = client.post("/v1/test/echo", json={"value": 7}, headers=headers)
    second = client.post("/v1/test/echo", json={"value": 7}, headers=headers)

    assert first.status_code == second.status_code == 201
    assert second.content == first.content
    assert second.headers["idempotent-replayed"] == "true"
    assert probe.calls == 1


def test_same_key_with_different_body_answers_409(
    client: TestClient, users: Users, probe: Probe
) -> None:
    headers = users.headers["trader"] | {"Idempotency-Key": "k-2"}
    client.post("/v1/test/echo", json={"value": 1}, headers=headers)

    response = client.post("/v1/test/echo", json={"value": 2}, headers=headers)

    assert response.status_code == 409
    assert response.json()["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert probe.calls == 1


def test_rejected_request_with_key_is_not_cached(
    client: TestClient, users: Users, probe: Probe
) -> None:
    headers = users.headers["trader"] | {"Idempotency-Key": "k-3"}

    rejected = client.post("/v1/test/echo", json={"value": -1}, headers=headers)
    again = client.post("/v1/test/echo", json={"value": -1}, headers=headers)
    fixed = client.post("/v1/test/echo", json={"value": 5}, headers=headers)

    assert rejected.status_code == again.status_code == 409
    assert probe.calls == 3  # each rejection ran; nothing replayed
    assert fixed.status_code == 201
    assert fixed.json()["value"] == 5


def test_same_key_for_two_users_is_independent(
    client: TestClient, users: Users, probe: Probe
) -> None:
    a = client.post(
        "/v1/test/echo",
        json={"value": 1},
        headers=users.headers["trader"] | {"Idempotency-Key": "k"},
    )
    b = client.post(
        "/v1/test/echo",
        json={"value": 2},
        headers=users.headers["other"] | {"Idempotency-Key": "k"},
    )

    assert (a.status_code, b.status_code) == (201, 201)
    assert b.json()["value"] == 2


def test_key_whose_first_request_is_running_answers_409_in_progress(
    client: TestClient, users: Users, probe: Probe
) -> None:
    headers = users.headers["trader"] | {"Idempotency-Key": "k-4"}
    probe.block = True
    results: dict[str, Any] = {}

    def first() -> None:
        results["first"] = client.post("/v1/test/echo", json={"value": 3}, headers=headers)

    thread = threading.Thread(target=first)
    thread.start()
    assert probe.entered.wait(10)
    probe.block = False
    try:
        second = client.post("/v1/test/echo", json={"value": 3}, headers=headers)
    finally:
        probe.release.set()
        thread.join(10)

    assert second.status_code == 409
    assert second.json()["code"] == "IDEMPOTENCY_IN_PROGRESS"
    assert results["first"].status_code == 201
    replay = client.post("/v1/test/echo", json={"value": 3}, headers=headers)
    assert replay.content == results["first"].content


def test_key_longer_than_255_answers_400(client: TestClient, users: Users, probe: Probe) -> None:
    headers = users.headers["trader"] | {"Idempotency-Key": "x" * 256}

    response = client.post("/v1/test/echo", json={"value": 1}, headers=headers)

    assert response.status_code == 400
    assert probe.calls == 0
