"""Constants and a movable clock shared by the identity integration tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher

FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
SIGNING_KEY = b"s" * 64
ADMIN_PASSWORD = "admin password 1"
TRADER_PASSWORD = "trader password 1"
IP = "203.0.113.7"
UA = "pytest-agent/1.0"


class Clock:
    """A clock the test moves forward."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)
