"""System config and audit log routes (admin)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from tests.integration.service.conftest import Users

from riskdesk.store import Database
from riskdesk.store.models import SystemConfig


def test_config_put_with_sensitive_value_stores_ciphertext_and_never_returns_it(
    client: TestClient, users: Users, service_db: Database
) -> None:
    admin = users.headers["admin"]

    put = client.put(
        "/v1/system/config/broker.api_secret",
        json={"value": "s3cr3t-value-xyz", "config_type": "string", "is_sensitive": True},
        headers=admin,
    )
    got = client.get("/v1/system/config/broker.api_secret", headers=admin)
    listed = client.get("/v1/system/config", headers=admin)

    assert put.status_code == 200
    assert put.json()["value"] == "***"
    assert got.json()["value"] == "***"
    assert "s3cr3t-value-xyz" not in listed.text
    assert "s3cr3t-value-xyz" not in put.text
    with service_db.sessions() as session:
        row = session.scalars(
            select(SystemConfig).where(SystemConfig.config_key == "broker.api_secret")
        ).one()
    assert row.config_value.startswith("gAAAAA")
    assert "s3cr3t" not in row.config_value


def test_config_put_with_value_not_of_its_type_answers_422(
    client: TestClient, users: Users
) -> None:
    response = client.put(
        "/v1/system/config/risk.max_daily_loss",
        json={"value": "lots", "config_type": "decimal"},
        headers=users.headers["admin"],
    )

    assert response.status_code == 422
    assert "risk.max_daily_loss" in response.json()["detail"]


def test_config_put_with_reserved_key_answers_422(client: TestClient, users: Users) -> None:
    response = client.put(
        "/v1/system/config/auth.jwt_signing_key",
        json={"value": "mine"},
        headers=users.headers["admin"],
    )

    assert response.status_code == 422


def test_config_routes_with_trader_or_viewer_answer_403(client: TestClient, users: Users) -> None:
    for name in ("trader", "viewer"):
        assert client.get("/v1/system/config", headers=users.headers[name]).status_code == 403
        assert (
            client.put(
                "/v1/system/config/x.y", json={"value": "1"}, headers=users.headers[name]
            ).status_code
            == 403
        )
        assert client.get("/v1/audit", headers=users.headers[name]).status_code == 403


def test_audit_with_config_change_records_actor_ip_agent_old_and_new(
    client: TestClient, users: Users
) -> None:
    admin = users.headers["admin"] | {"User-Agent": "audit-test/1.0"}
    client.put("/v1/system/config/desk.name", json={"value": "alpha"}, headers=admin)
    client.put("/v1/system/config/desk.name", json={"value": "beta"}, headers=admin)

    rows = client.get(
        "/v1/audit",
        params={"event_type": "config.changed", "resource_id": "desk.name"},
        headers=admin,
    ).json()["items"]

    assert len(rows) == 2
    newest = rows[0]
    assert newest["actor"] == "admin"
    assert newest["user_id"] == str(users.ids["admin"])
    assert newest["ip_address"] == "testclient"
    assert newest["user_agent"] == "audit-test/1.0"
    assert newest["old_values"]["value"] == "alpha"
    assert newest["new_values"]["value"] == "beta"


def test_audit_list_with_small_limit_pages_through_every_row_once(
    client: TestClient, users: Users
) -> None:
    admin = users.headers["admin"]
    for i in range(5):
        client.put(f"/v1/system/config/page.k{i}", json={"value": str(i)}, headers=admin)

    seen: list[str] = []
    cursor = None
    while True:
        params = {"event_type": "config.changed", "limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = client.get("/v1/audit", params=params, headers=admin).json()
        seen.extend(r["resource_id"] for r in page["items"] if r["resource_id"].startswith("page."))
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert seen == [f"page.k{i}" for i in reversed(range(5))]


def test_audit_with_tampered_cursor_answers_400(client: TestClient, users: Users) -> None:
    response = client.get(
        "/v1/audit", params={"cursor": "AAAABBBBCCCC"}, headers=users.headers["admin"]
    )

    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_CURSOR"


def test_limit_above_200_answers_422(client: TestClient, users: Users) -> None:
    response = client.get("/v1/audit", params={"limit": 201}, headers=users.headers["admin"])

    assert response.status_code == 422
