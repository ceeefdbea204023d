"""Fixtures of the service tests: a migrated database, the app, a client and four users.

* ``service_backend`` -- ``"sqlite"`` by default; a test module sets
  ``pytestmark = pytest.mark.parametrize("service_backend", ["sqlite", "postgres"],
  indirect=True)`` to run on both.
* ``service_settings`` -- Settings on that database, the key file in ``tmp_path`` (no
  keyring), generous rate limits (tests of the limits build their own settings).
* ``service_db`` / ``app`` / ``client`` -- the Database, ``create_app`` and a TestClient
  (lifespan run: the hub and job runner are started).
* ``users`` -- admin, trader, viewer and other (a second trader) created through
  ``Identity.create_user`` and logged in: ``users.headers["trader"]`` etc.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from riskdesk.config import Settings
from riskdesk.domain.caller import Caller
from riskdesk.identity.passwords import Passwords
from riskdesk.service.app import create_app
from riskdesk.store import Database

PASSWORDS = {
    "admin": "admin-password-0001",
    "trader": "trader-password-0002",
    "viewer": "viewer-password-0003",
    "other": "other-password-00004",
}
ROLES = {"admin": "admin", "trader": "trader", "viewer": "viewer", "other": "trader"}


@pytest.fixture
def service_backend(request: pytest.FixtureRequest) -> str:
    """The backend of the service under test (``sqlite`` unless parametrized indirectly)."""
    return str(getattr(request, "param", "sqlite"))


@pytest.fixture
def service_db_url(
    service_backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[str]:
    """A migrated database of ``service_backend``, private to the test."""
    if service_backend == "sqlite":
        template: Path = request.getfixturevalue("_sqlite_template")
        target = tmp_path / "service.sqlite3"
        shutil.copyfile(template, target)
        yield f"sqlite:///{target}"
        return
    server = request.getfixturevalue("_pg_server")
    pg_template: str = request.getfixturevalue("_pg_template")
    name = server.new_name("svc")
    url = server.create(name, template=pg_template)
    try:
        yield url
    finally:
        server.drop(name)


@pytest.fixture
def service_settings(service_db_url: str, tmp_path: Path) -> Settings:
    """Settings of a test service: its own database and key file, no keyring, no Redis."""
    return Settings(
        database_url=service_db_url,
        secret_key_file=tmp_path / "config" / "secret.key",
        use_keyring=False,
        redis_url=None,
        rate_limit_user=100_000,
        rate_limit_ip=100_000,
        rate_limit_login=100_000,
    )


@pytest.fixture
def service_db(service_settings: Settings) -> Iterator[Database]:
    """The service's database handle."""
    db = Database.from_settings(service_settings, create=False)
    try:
        yield db
    finally:
        db.dispose()


def fast_passwords() -> Passwords:
    """argon2 at its cheapest: the tests check the flow, not the hash's cost."""
    return Passwords(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


def make_app(settings: Settings, db: Database) -> FastAPI:
    """``create_app`` with the cheap password hasher."""
    application = create_app(settings, db=db)
    application.state.riskdesk.identity.passwords = fast_passwords()
    return application


@pytest.fixture
def app(service_settings: Settings, service_db: Database) -> FastAPI:
    """The service application."""
    return make_app(service_settings, service_db)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    """A client of ``app`` with its lifespan started (errors come back as responses)."""
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def auth_headers(client: TestClient, username: str, password: str) -> dict[str, str]:
    """Log in and return the Authorization header of the access token."""
    response = client.post("/v1/auth/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@dataclass
class Users:
    """The four test users: ids, passwords and logged-in headers by name."""

    ids: dict[str, uuid.UUID] = field(default_factory=dict)
    headers: dict[str, dict[str, str]] = field(default_factory=dict)
    passwords: dict[str, str] = field(default_factory=lambda: dict(PASSWORDS))


@pytest.fixture
def users(app: FastAPI, client: TestClient) -> Users:
    """admin, trader, viewer and other (a second trader), logged in."""
    identity = app.state.riskdesk.identity
    out = Users()
    for name, role in ROLES.items():
        view = identity.create_user(
            Caller.local(),
            username=name,
            email=f"{name}@example.test",
            password=PASSWORDS[name],
            role=role,
        )
        out.ids[name] = view.id
        out.headers[name] = auth_headers(client, name, PASSWORDS[name])
    return out


def database_file(settings: Settings) -> Path | None:
    """The SQLite file of ``settings`` (None on PostgreSQL)."""
    url = make_url(settings.database_url)
    return Path(url.database) if url.get_backend_name() == "sqlite" and url.database else None
