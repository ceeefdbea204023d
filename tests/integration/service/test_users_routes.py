"""``/v1/users`` (admin): list with cursors, create, read, change, reset, revoke sessions."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient
from tests.integration.service.conftest import Users

NEW_USER = {
    "username": "Dora",
    "email": "dora@example.test",
    "password": "dora password 0005",
    "role": "viewer",
    "first_name": "Dora",
}


def test_list_users_with_small_limit_walks_pages_by_cursor(
    client: TestClient, users: Users
) -> None:
    admin = users.headers["admin"]
    names: list[str] = []
    params: dict[str, str | int] = {"limit": 3}
    while True:
        response = client.get("/v1/users", headers=admin, params=params)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["limit"] == 3
        names.extend(item["username"] for item in body["items"])
        if body["next_cursor"] is None:
            break
        params = {"limit": 3, "cursor": body["next_cursor"]}
    assert names == ["other", "viewer", "trader", "admin"]
    assert "$argon2" not in response.text
    assert "password" not in response.text


def test_list_users_with_forged_cursor_is_a_400(client: TestClient, users: Users) -> None:
    response = client.get("/v1/users", headers=users.headers["admin"], params={"cursor": "abc"})
    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_CURSOR"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/users"),
        ("POST", "/v1/users"),
        ("GET", "/v1/users/{id}"),
        ("PATCH", "/v1/users/{id}"),
        ("POST", "/v1/users/{id}/password"),
        ("DELETE", "/v1/users/{id}/sessions"),
    ],
)
def test_users_routes_with_non_admin_or_anonymous_caller_are_refused(
    client: TestClient, users: Users, method: str, path: str
) -> None:
    url = path.format(id=users.ids["trader"])
    body = {
        "POST /v1/users": NEW_USER,
        "PATCH /v1/users/{id}": {"role": "admin"},
        "POST /v1/users/{id}/password": {"new_password": "taken over password"},
    }.get(f"{method} {path}")
    for who in ("trader", "viewer", "other"):
        response = client.request(method, url, headers=users.headers[who], json=body)
        assert response.status_code == 403, (who, response.text)
        assert response.json()["code"] == "FORBIDDEN"
    assert client.request(method, url, json=body).status_code == 401
    me = client.get("/v1/auth/me", headers=users.headers["trader"]).json()
    assert me["role"] == "trader"


def test_create_user_as_admin_answers_201_and_the_user_can_log_in(
    client: TestClient, users: Users
) -> None:
    response = client.post("/v1/users", headers=users.headers["admin"], json=NEW_USER)
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["username"], body["role"], body["is_active"]) == ("dora", "viewer", True)
    uuid.UUID(body["id"])
    assert "password" not in response.text
    login = client.post(
        "/v1/auth/login", json={"username": "DORA", "password": NEW_USER["password"]}
    )
    assert login.status_code == 200
    again = client.post(
        "/v1/users",
        headers=users.headers["admin"],
        json=NEW_USER | {"username": "dora", "email": "x@example.test"},
    )
    assert again.status_code == 409
    assert again.json()["code"] == "CONFLICT"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"username": "no spaces allowed"}, "body.username"),
        ({"password": "short"}, "body.password"),
        ({"role": "root"}, "body.role"),
        ({"email": "nobody"}, "body.email"),
    ],
)
def test_create_user_with_invalid_field_is_a_422_naming_it(
    client: TestClient, users: Users, change: dict[str, str], field: str
) -> None:
    response = client.post("/v1/users", headers=users.headers["admin"], json=NEW_USER | change)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == field


def test_get_user_with_unknown_or_malformed_id_is_404_or_422(
    client: TestClient, users: Users
) -> None:
    admin = users.headers["admin"]
    found = client.get(f"/v1/users/{users.ids['viewer']}", headers=admin)
    assert found.status_code == 200
    assert found.json()["username"] == "viewer"
    assert client.get(f"/v1/users/{uuid.uuid4()}", headers=admin).status_code == 404
    assert client.get("/v1/users/not-a-uuid", headers=admin).status_code == 422


def test_patch_user_with_role_change_takes_effect_on_the_live_token(
    client: TestClient, users: Users
) -> None:
    response = client.patch(
        f"/v1/users/{users.ids['trader']}", headers=users.headers["admin"], json={"role": "admin"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["role"] == "admin"
    # the trader's existing token now acts as an admin
    listed = client.get("/v1/users", headers=users.headers["trader"])
    assert listed.status_code == 200


def test_patch_user_with_last_admin_demoted_is_a_409(client: TestClient, users: Users) -> None:
    response = client.patch(
        f"/v1/users/{users.ids['admin']}", headers=users.headers["admin"], json={"role": "viewer"}
    )
    assert response.status_code == 409
    assert response.json()["code"] == "CONFLICT"
    assert "last active admin" in response.json()["detail"]


def test_patch_user_with_deactivation_ends_their_tokens(client: TestClient, users: Users) -> None:
    response = client.patch(
        f"/v1/users/{users.ids['viewer']}",
        headers=users.headers["admin"],
        json={"is_active": False},
    )
    assert response.status_code == 200
    assert response.json()["is_active"] is False
    assert client.get("/v1/auth/me", headers=users.headers["viewer"]).status_code == 401
    login = client.post(
        "/v1/auth/login", json={"username": "viewer", "password": users.passwords["viewer"]}
    )
    assert login.status_code == 401


def test_reset_password_as_admin_ends_sessions_and_sets_the_new_password(
    client: TestClient, users: Users
) -> None:
    response = client.post(
        f"/v1/users/{users.ids['trader']}/password",
        headers=users.headers["admin"],
        json={"new_password": "set by the admin 1"},
    )
    assert response.status_code == 204
    assert client.get("/v1/auth/me", headers=users.headers["trader"]).status_code == 401
    login = client.post(
        "/v1/auth/login", json={"username": "trader", "password": "set by the admin 1"}
    )
    assert login.status_code == 200


def test_revoke_sessions_as_admin_counts_and_ends_them(client: TestClient, users: Users) -> None:
    client.post("/v1/auth/login", json={"username": "other", "password": users.passwords["other"]})
    response = client.delete(
        f"/v1/users/{users.ids['other']}/sessions", headers=users.headers["admin"]
    )
    assert response.status_code == 200
    assert response.json() == {"revoked": 2}
    assert client.get("/v1/auth/me", headers=users.headers["other"]).status_code == 401
    assert client.get("/v1/auth/me", headers=users.headers["trader"]).status_code == 200
