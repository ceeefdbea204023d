"""Fixtures of the identity integration tests: a migrated database and an Identity on it."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from argon2 import PasswordHasher
from identity_support import ADMIN_PASSWORD, FAST_HASHER, SIGNING_KEY, TRADER_PASSWORD, Clock
from sqlalchemy.engine import Engine

from riskdesk.domain.caller import Caller
from riskdesk.identity import Identity, TokenService, UserView
from riskdesk.store import Database, make_session_factory


@pytest.fixture
def db(migrated_engine: Engine) -> Database:
    return Database(engine=migrated_engine, sessions=make_session_factory(migrated_engine))


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def make_identity(db: Database, clock: Clock) -> Callable[..., Identity]:
    def make(hasher: PasswordHasher = FAST_HASHER) -> Identity:
        return Identity(
            db,
            TokenService(SIGNING_KEY, access_minutes=15),
            refresh_days=14,
            password_hasher=hasher,
            clock=clock,
        )

    return make


@pytest.fixture
def identity(make_identity: Callable[..., Identity]) -> Identity:
    return make_identity()


@pytest.fixture
def admin(identity: Identity) -> UserView:
    return identity.create_user(
        Caller.local(),
        username="Root",
        email="root@example.com",
        password=ADMIN_PASSWORD,
        role="admin",
    )


@pytest.fixture
def trader(identity: Identity, admin: UserView) -> UserView:
    del admin
    return identity.create_user(
        Caller.local(),
        username="ana",
        email="ana@example.com",
        password=TRADER_PASSWORD,
        role="trader",
        first_name="Ana",
    )
