"""``riskdesk serve``: run the HTTP service (uvicorn)."""

from __future__ import annotations

import os

import typer

from riskdesk.cli._common import DatabaseUrlOption, console, fail, open_db
from riskdesk.config import get_settings

__all__ = ["serve_command"]


def serve_command(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="TCP port."),
    workers: int = typer.Option(
        1,
        "--workers",
        min=1,
        max=64,
        help="Worker processes (more than one needs PostgreSQL and Redis).",
    ),
    log_level: str = typer.Option("info", "--log-level", help="uvicorn log level."),
    database_url: str | None = DatabaseUrlOption,
) -> None:
    """Serve the riskdesk API under /v1 (docs at /docs) on the embedded database by default.

    Create the first admin with ``riskdesk user create NAME --role admin`` first: the
    service has no default account.
    """
    import uvicorn

    if database_url is not None:
        os.environ["RISKDESK_DATABASE_URL"] = database_url
        get_settings.cache_clear()
    settings = get_settings()
    with open_db(None):
        pass  # refuses a database that is missing or not migrated, with the fix to run
    if workers > 1:
        if settings.database_url.startswith("sqlite"):
            fail(
                "--workers > 1 needs PostgreSQL (RISKDESK_DATABASE_URL=postgresql://...): the "
                "embedded SQLite database serves one process"
            )
        if not settings.redis_url:
            fail(
                "--workers > 1 needs RISKDESK_REDIS_URL: live data, rate limits and WebSocket "
                "fan-out are shared between workers through Redis"
            )
    console.print(
        f"riskdesk serving on http://{host}:{port}/v1 (docs /docs), {workers} worker(s), "
        f"database {settings.database_url.split('@')[-1]}"
    )
    uvicorn.run(
        "riskdesk.service.app:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
        server_header=False,
        proxy_headers=False,
    )
