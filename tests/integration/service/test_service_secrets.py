"""No password, token or sensitive value in clear in the database file or the logs."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from tests.integration.service.conftest import PASSWORDS, Users, database_file

from riskdesk.config import Settings


def test_database_and_logs_with_full_auth_flow_hold_no_secret_in_clear(
    client: TestClient,
    users: Users,
    service_settings: Settings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    secrets: list[str] = list(PASSWORDS.values())
    login = client.post(
        "/v1/auth/login", json={"username": "trader", "password": PASSWORDS["trader"]}
    ).json()
    secrets += [login["refresh_token"], login["access_token"]]
    refreshed = client.post("/v1/auth/refresh", json={"refresh_token": login["refresh_token"]})
    assert refreshed.status_code == 200
    secrets += [refreshed.json()["refresh_token"]]
    # a failed login with a password-like string must not log or store it either
    client.post("/v1/auth/login", json={"username": "trader", "password": "wrong-guess-123456"})
    secrets.append("wrong-guess-123456")
    new_password = "changed-password-0009"
    changed = client.post(
        "/v1/auth/password",
        json={"current_password": PASSWORDS["viewer"], "new_password": new_password},
        headers=users.headers["viewer"],
    )
    assert changed.status_code == 204, changed.text
    secrets.append(new_password)
    client.put(
        "/v1/system/config/broker.token",
        json={"value": "broker-token-abcdef123", "is_sensitive": True},
        headers=users.headers["admin"],
    )
    secrets.append("broker-token-abcdef123")
    client.app.state.riskdesk.db.engine.dispose()  # flush pooled connections

    path = database_file(service_settings)
    assert path is not None
    stored = b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())
    in_db = [s for s in secrets if s.encode() in stored]
    in_logs = [s for s in secrets if s in caplog.text]

    assert stored  # the check read the real file
    assert b"$argon2id$" in stored  # passwords are there, hashed
    assert in_db == []
    assert in_logs == []
