"""``/v1/auth``: login, refresh rotation and reuse, logout, me, changing one's password."""

from __future__ import annotations

from fastapi.testclient import TestClient
from tests.integration.service.conftest import Users

LOGIN = "/v1/auth/login"


def _login(client: TestClient, username: str, password: str) -> dict[str, object]:
    response = client.post(LOGIN, json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


def _bearer(tokens: dict[str, object]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


def test_login_with_right_password_returns_token_pair_and_me_works(
    client: TestClient, users: Users
) -> None:
    tokens = _login(client, "trader", users.passwords["trader"])
    assert set(tokens) == {"access_token", "refresh_token", "token_type", "expires_in"}
    assert tokens["token_type"] == "bearer"
    assert tokens["expires_in"] == 15 * 60
    me = client.get("/v1/auth/me", headers=_bearer(tokens))
    assert me.status_code == 200, me.text
    body = me.json()
    assert (body["id"], body["username"], body["role"]) == (
        str(users.ids["trader"]),
        "trader",
        "trader",
    )
    assert body["created_at"].endswith("Z")
    assert "password" not in me.text
    assert "$argon2" not in me.text


def test_login_with_wrong_password_or_unknown_user_answers_the_same_401(
    client: TestClient, users: Users
) -> None:
    wrong = client.post(LOGIN, json={"username": "trader", "password": "not the password"})
    unknown = client.post(LOGIN, json={"username": "ghost", "password": "not the password"})
    for response in (wrong, unknown):
        assert response.status_code == 401
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["code"] == "UNAUTHENTICATED"
        assert response.json()["detail"] == "invalid username or password"
    del users


def test_login_with_missing_field_is_a_422_naming_it(client: TestClient) -> None:
    response = client.post(LOGIN, json={"username": "trader"})
    assert response.status_code == 422
    assert any(e["field"].endswith("password") for e in response.json()["errors"])


def test_refresh_with_used_token_revokes_the_login_and_its_access_tokens(
    client: TestClient, users: Users
) -> None:
    first = _login(client, "trader", users.passwords["trader"])
    second = client.post("/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert second.status_code == 200, second.text
    assert second.json()["refresh_token"] != first["refresh_token"]
    # rotation keeps the first access token alive
    assert client.get("/v1/auth/me", headers=_bearer(first)).status_code == 200
    reused = client.post("/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert reused.status_code == 401
    assert reused.json()["code"] == "UNAUTHENTICATED"
    for tokens in (first, second.json()):
        assert client.get("/v1/auth/me", headers=_bearer(tokens)).status_code == 401
    # the fixture's own login of the same user is another family: untouched
    assert client.get("/v1/auth/me", headers=users.headers["trader"]).status_code == 200


def test_refresh_with_unknown_token_is_401(client: TestClient) -> None:
    response = client.post("/v1/auth/refresh", json={"refresh_token": "made-up"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


def test_logout_with_valid_token_ends_access_and_refresh(client: TestClient, users: Users) -> None:
    tokens = _login(client, "viewer", users.passwords["viewer"])
    response = client.post("/v1/auth/logout", headers=_bearer(tokens))
    assert response.status_code == 204
    assert response.content == b""
    assert client.get("/v1/auth/me", headers=_bearer(tokens)).status_code == 401
    refresh = client.post("/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert refresh.status_code == 401
    assert client.get("/v1/auth/me", headers=users.headers["viewer"]).status_code == 200


def test_auth_routes_without_token_answer_401(client: TestClient) -> None:
    assert client.get("/v1/auth/me").status_code == 401
    assert client.post("/v1/auth/logout").status_code == 401
    body = {"current_password": "whatever-long", "new_password": "whatever-longer"}
    assert client.post("/v1/auth/password", json=body).status_code == 401
    bad = client.get("/v1/auth/me", headers={"Authorization": "Bearer not.a.jwt"})
    assert bad.status_code == 401


def test_change_password_with_right_current_password_revokes_sessions_and_new_one_works(
    client: TestClient, users: Users
) -> None:
    headers = users.headers["other"]
    old = users.passwords["other"]
    wrong = client.post(
        "/v1/auth/password",
        headers=headers,
        json={"current_password": "not the password", "new_password": "a fresh passphrase"},
    )
    assert wrong.status_code == 403
    assert wrong.json()["code"] == "FORBIDDEN"
    short = client.post(
        "/v1/auth/password", headers=headers, json={"current_password": old, "new_password": "x"}
    )
    assert short.status_code == 422
    assert short.json()["errors"][0]["field"] == "body.new_password"
    done = client.post(
        "/v1/auth/password",
        headers=headers,
        json={"current_password": old, "new_password": "a fresh passphrase"},
    )
    assert done.status_code == 204
    assert client.get("/v1/auth/me", headers=headers).status_code == 401
    assert client.post(LOGIN, json={"username": "other", "password": old}).status_code == 401
    _login(client, "other", "a fresh passphrase")


def test_audit_after_login_carries_ip_and_user_agent_and_no_password(
    client: TestClient, users: Users
) -> None:
    client.post(
        LOGIN,
        json={"username": "trader", "password": "a wrong password"},
        headers={"User-Agent": "agent-under-test"},
    )
    audit = client.get(
        "/v1/audit", params={"event_type": "auth.login_failed"}, headers=users.headers["admin"]
    )
    assert audit.status_code == 200, audit.text
    (row,) = audit.json()["items"]
    assert row["user_agent"] == "agent-under-test"
    assert row["ip_address"]
    assert row["payload"]["username"] == "trader"
    assert "a wrong password" not in audit.text
