"""Settings: the only module that reads the environment.

Everything else receives a frozen :class:`Settings` object.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

import platformdirs
from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

APP_NAME = "riskdesk"
DEBUG_ENV = "RISKDESK_DEBUG"
"""Environment variable that makes the CLI print tracebacks (like ``riskdesk --debug``)."""


def default_data_dir() -> Path:
    """Directory holding the embedded SQLite database and reports."""
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def default_secret_key_file() -> Path:
    """Key file for encrypted secrets: in the user *config* directory, apart from the data."""
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)) / "secret.key"


def default_database_url() -> str:
    """SQLite file under the user's data directory."""
    return f"sqlite:///{default_data_dir() / 'riskdesk.sqlite3'}"


class Settings(BaseSettings):
    """riskdesk settings, read from ``RISKDESK_*`` environment variables."""

    model_config = SettingsConfigDict(env_prefix="RISKDESK_", frozen=True, extra="ignore")

    database_url: str = Field(default_factory=default_database_url)
    redis_url: str | None = None
    actor: str = Field(default="local", description="Name written to the audit log as the actor.")
    secret_key_file: Path = Field(
        default_factory=default_secret_key_file,
        description="Fernet key file used when no OS keyring is available (never beside the DB).",
    )
    use_keyring: bool = Field(default=True, description="Prefer the OS keyring for the key.")

    # -- the HTTP service (riskdesk serve) ------------------------------------------------
    access_token_minutes: int = Field(
        default=15, ge=1, le=24 * 60, description="Lifetime of a JWT access token."
    )
    refresh_token_days: int = Field(
        default=14, ge=1, le=365, description="Lifetime of a refresh-token family."
    )
    cors_origins: list[str] = Field(
        default_factory=list,
        description="Origins allowed by CORS (empty: CORS closed, same-origin only).",
    )
    max_body_bytes: int = Field(
        default=2_000_000, ge=1_024, description="Largest request body accepted (bytes)."
    )
    rate_limit_user: int = Field(
        default=1_200, ge=1, description="Requests per minute allowed to one user."
    )
    rate_limit_ip: int = Field(
        default=2_400, ge=1, description="Requests per minute allowed from one IP address."
    )
    rate_limit_login: int = Field(
        default=10, ge=1, description="Login attempts per minute allowed from one IP address."
    )
    service_threads: int = Field(
        default=4,
        ge=1,
        le=256,
        description="Threads a service process runs blocking route work in (the GIL makes "
        "more threads slower, not faster, for CPU-bound requests).",
    )
    market_seed: int = Field(
        default=7, ge=0, description="Seed of the synthetic market the service serves."
    )
    market_max_days: int = Field(
        default=730, ge=1, description="Longest expiry (days) of the service's synthetic market."
    )
    dask_scheduler: str | None = Field(
        default=None,
        description="Address of a Dask scheduler (tcp://host:8786) the daily batch runs on "
        "(RISKDESK_DASK_SCHEDULER); unset: a local process pool.",
    )

    @field_validator("database_url")
    @classmethod
    def _check_scheme(cls, value: str) -> str:
        allowed = ("sqlite", "postgresql")
        scheme = value.split(":", 1)[0].split("+", 1)[0]
        if scheme not in allowed:
            raise ValueError(
                f"RISKDESK_DATABASE_URL scheme {scheme!r} is not supported; use one of {allowed}"
            )
        if scheme == "postgresql" and "+" not in value.split(":", 1)[0]:
            # psycopg 3 is the driver we ship; make the URL explicit for SQLAlchemy.
            value = "postgresql+psycopg" + value[len("postgresql") :]
        return value


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Process-wide settings (cached). Tests build :class:`Settings` directly instead."""
    return Settings()


def debug_from_env() -> bool:
    """True when ``RISKDESK_DEBUG`` asks for tracebacks (``1``, ``true``, ``yes`` or ``on``).

    Read apart from :class:`Settings` so that it works even when the other settings are
    invalid (the error that reports them is then shown with its traceback).
    """
    return os.environ.get(DEBUG_ENV, "").strip().lower() in {"1", "true", "yes", "on"}
