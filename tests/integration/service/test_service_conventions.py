"""Conventions every route shares: problems, request ids, headers, limits, readiness."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text
from tests.integration.service.conftest import make_app

from riskdesk.config import Settings
from riskdesk.store import Database
from riskdesk.store.migrate import head_revision

PROBLEM = "application/problem+json"


def test_health_with_running_service_answers_ok(client: TestClient) -> None:
    response = client.get("/v1/health")

    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_ready_with_migrated_database_reports_head_revision(client: TestClient) -> None:
    response = client.get("/v1/ready")

    assert response.status_code == 200
    assert response.json()["schema_revision"] == head_revision() == "0007"


def test_ready_with_database_behind_head_answers_503(
    client: TestClient, service_db: Database
) -> None:
    with service_db.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0003'"))

    response = client.get("/v1/ready")

    assert response.status_code == 503
    assert response.json()["status"] == "not_ready"


def test_request_id_with_valid_header_is_echoed(client: TestClient) -> None:
    response = client.get("/v1/health", headers={"X-Request-Id": "abc-123.x"})

    assert response.headers["x-request-id"] == "abc-123.x"


def test_request_id_with_invalid_header_is_replaced_by_generated_one(client: TestClient) -> None:
    response = client.get("/v1/health", headers={"X-Request-Id": "bad id <script>"})

    assert response.headers["x-request-id"] != "bad id <script>"
    assert len(response.headers["x-request-id"]) == 32


def test_api_response_with_any_route_carries_security_headers(client: TestClient) -> None:
    headers = client.get("/v1/health").headers

    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "no-referrer"
    assert "default-src 'none'" in headers["content-security-policy"]
    assert headers["cache-control"] == "no-store"


def test_cors_with_default_settings_allows_no_foreign_origin(client: TestClient) -> None:
    response = client.options(
        "/v1/health",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
    )

    assert "access-control-allow-origin" not in response.headers


def test_cors_with_configured_origin_allows_only_that_origin(
    service_settings: Settings, service_db: Database
) -> None:
    settings = service_settings.model_copy(update={"cors_origins": ["https://desk.example"]})
    with TestClient(make_app(settings, service_db)) as c:
        ok = c.options(
            "/v1/health",
            headers={"Origin": "https://desk.example", "Access-Control-Request-Method": "GET"},
        )
        bad = c.options(
            "/v1/health",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
        )

    assert ok.headers["access-control-allow-origin"] == "https://desk.example"
    assert "access-control-allow-origin" not in bad.headers


def test_unknown_route_with_any_method_answers_problem_not_found(client: TestClient) -> None:
    response = client.get("/v1/no-such-thing", headers={"X-Request-Id": "rid-1"})

    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["code"] == "NOT_FOUND"
    assert body["type"].endswith("/not-found")
    assert body["status"] == 404
    assert body["title"]
    assert body["detail"]
    assert body["request_id"] == "rid-1"


def test_validation_error_with_bad_field_names_field_and_rule(client: TestClient) -> None:
    response = client.post("/v1/auth/login", json={"username": "x"})

    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "VALIDATION_ERROR"
    fields = {(e["field"], e["rule"]) for e in body["errors"]}
    assert ("body.password", "missing") in fields


def test_protected_route_without_token_answers_401_with_challenge(client: TestClient) -> None:
    response = client.get("/v1/jobs")

    assert response.status_code == 401
    assert response.json()["code"] == "UNAUTHENTICATED"
    assert response.headers["www-authenticate"] == "Bearer"


def test_body_with_more_than_limit_answers_413(
    service_settings: Settings, service_db: Database
) -> None:
    settings = service_settings.model_copy(update={"max_body_bytes": 2048})
    with TestClient(make_app(settings, service_db)) as c:
        response = c.post(
            "/v1/auth/login",
            content=b'{"username": "' + b"a" * 5000 + b'", "password": "x"}',
            headers={"content-type": "application/json"},
        )

    assert response.status_code == 413
    assert response.json()["code"] == "PAYLOAD_TOO_LARGE"


def test_login_with_more_attempts_than_budget_answers_429_with_retry_after(
    service_settings: Settings, service_db: Database
) -> None:
    settings = service_settings.model_copy(update={"rate_limit_login": 3})
    with TestClient(make_app(settings, service_db)) as c:
        codes = [
            c.post("/v1/auth/login", json={"username": "nobody", "password": "x" * 12})
            for _ in range(4)
        ]

    assert [r.status_code for r in codes] == [401, 401, 401, 429]
    assert codes[-1].json()["code"] == "RATE_LIMITED"
    assert int(codes[-1].headers["retry-after"]) >= 1


def test_user_budget_with_requests_past_limit_answers_429_for_that_user_only(
    service_settings: Settings, service_db: Database
) -> None:
    from tests.integration.service.conftest import PASSWORDS, auth_headers

    from riskdesk.domain.caller import Caller

    settings = service_settings.model_copy(update={"rate_limit_user": 5})
    app = make_app(settings, service_db)
    identity = app.state.riskdesk.identity
    for name in ("trader", "other"):
        identity.create_user(
            Caller.local(),
            username=name,
            email=f"{name}@example.test",
            password=PASSWORDS[name],
            role="trader",
        )
    with TestClient(app) as c:
        a = auth_headers(c, "trader", PASSWORDS["trader"])
        b = auth_headers(c, "other", PASSWORDS["other"])
        statuses = [c.get("/v1/jobs", headers=a).status_code for _ in range(6)]
        other = c.get("/v1/jobs", headers=b).status_code

    assert statuses == [200] * 5 + [429]
    assert other == 200


@pytest.fixture
def failing_app(app: FastAPI) -> Iterator[TestClient]:
    @app.get("/v1/test/boom")
    def boom() -> None:
        raise RuntimeError("secret internal detail")

    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def test_unhandled_error_answers_500_problem_without_exception_text(
    failing_app: TestClient,
) -> None:
    response = failing_app.get("/v1/test/boom", headers={"X-Request-Id": "rid-500"})

    assert response.status_code == 500
    body = response.json()
    assert body["code"] == "INTERNAL_ERROR"
    assert "secret internal detail" not in response.text
    assert "rid-500" in body["detail"]
    assert response.headers["x-request-id"] == "rid-500"


def test_openapi_with_every_operation_documents_request_body_examples(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()

    assert schema["openapi"].startswith("3.1")
    missing = []
    components = schema["components"]["schemas"]
    for path, ops in schema["paths"].items():
        for method, op in ops.items():
            body = op.get("requestBody")
            if not body:
                continue
            for media, content in body["content"].items():
                schema_ = content.get("schema", {})
                target = components.get(schema_.get("$ref", "").rsplit("/", 1)[-1], schema_)
                if not ({"examples", "example"} & (target.keys() | content.keys())):
                    missing.append(f"{method.upper()} {path} ({media})")
    assert not missing


def test_rate_limiter_with_its_store_down_still_serves_requests(
    app: FastAPI, client: TestClient
) -> None:
    class Down:
        async def hit(self, key: str, *, limit: int, window: float) -> None:
            raise ConnectionError("redis is down")

        async def close(self) -> None:
            return None

    app.state.riskdesk.rate_limiter = Down()

    assert client.get("/v1/health").status_code == 200
