"""A riskdesk service on this machine for tools that drive it: the web bench and browser tests.

:func:`local_settings` is a service's configuration for a throwaway run (the key file in the
run's own folder, no keyring, no Redis, rate limits out of the way), :func:`local_app` builds
the application on a database with its users (a cheap password hasher: these runs measure and
test the service, not argon2's cost), and :func:`serve_in_thread` serves an application with
uvicorn on a free 127.0.0.1 port until the ``with`` block ends.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from fastapi import FastAPI

from riskdesk.config import Settings
from riskdesk.store import Database

__all__ = ["free_port", "local_app", "local_settings", "serve_in_thread"]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def local_settings(root: Path, database_url: str) -> Settings:
    """Settings of a throwaway service on ``database_url`` with its key file under ``root``."""
    return Settings(
        database_url=database_url,
        secret_key_file=root / "config" / "secret.key",
        use_keyring=False,
        redis_url=None,
        rate_limit_user=1_000_000,
        rate_limit_ip=1_000_000,
        rate_limit_login=1_000_000,
    )


def local_app(settings: Settings, db: Database, root: Path, users: Mapping[str, str]) -> FastAPI:
    """The application on ``db`` with ``users`` (name -> password; the role is the name).

    The stream journal goes under ``root``; passwords use argon2id at its cheapest.
    """
    from argon2 import PasswordHasher

    from riskdesk.domain.caller import Caller
    from riskdesk.identity.passwords import Passwords
    from riskdesk.service.app import create_app

    app = create_app(settings, db=db)
    state = app.state.riskdesk
    state.identity.passwords = Passwords(
        PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )
    state.stream.journal_dir = root / "stream-journal"
    for name, password in users.items():
        state.identity.create_user(
            Caller.local(),
            username=name,
            email=f"{name}@example.test",
            password=password,
            role=name,
        )
    return app


@contextmanager
def serve_in_thread(app: FastAPI, *, timeout_s: float = 30.0) -> Iterator[str]:
    """Serve ``app`` (lifespan included) on a free 127.0.0.1 port; yields its base URL."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, name=f"riskdesk-serve-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout_s
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            server.should_exit = True
            raise RuntimeError(f"the service did not start on 127.0.0.1:{port} in {timeout_s:g} s")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(20)
