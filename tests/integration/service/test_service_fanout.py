"""Two service processes behind Redis: live data published by one reaches the other's sockets.

Real processes (``riskdesk serve``), one PostgreSQL database, one Redis server: a WebSocket
client of process A sees the snapshot created through process B, and process A serves B's
live quote from the shared cache.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.sync.client import connect

from riskdesk.config import Settings
from riskdesk.domain.caller import Caller
from riskdesk.identity import Identity, TokenService, load_signing_key
from riskdesk.store import Database
from riskdesk.store.secrets import secret_box_from_settings

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]

PASSWORD = "fanout-password-0001"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_healthy(base: str, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited early: {proc.stdout and proc.stdout.read()!r}")
        try:
            if httpx.get(f"{base}/v1/health", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{base} never became healthy")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)
    if proc.stdout is not None:
        proc.stdout.close()


@pytest.fixture
def two_servers(service_db_url: str, tmp_path: Path, redis_url: str) -> Iterator[tuple[str, str]]:
    key_file = tmp_path / "config" / "secret.key"
    settings = Settings(
        database_url=service_db_url,
        secret_key_file=key_file,
        use_keyring=False,
        redis_url=redis_url,
    )
    db = Database.from_settings(settings, create=False)
    try:
        box = secret_box_from_settings(settings)
        identity = Identity(
            db, TokenService(load_signing_key(db, box), access_minutes=15), refresh_days=1
        )
        identity.create_user(
            Caller.local(),
            username="fan",
            email="fan@example.test",
            password=PASSWORD,
            role="trader",
        )
    finally:
        db.dispose()
    env = os.environ | {
        "RISKDESK_DATABASE_URL": service_db_url,
        "RISKDESK_SECRET_KEY_FILE": str(key_file),
        "RISKDESK_USE_KEYRING": "false",
        "RISKDESK_REDIS_URL": redis_url,
    }
    procs = []
    bases = []
    try:
        for _ in range(2):
            port = _free_port()
            proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "riskdesk.cli.main",
                    "serve",
                    "--port",
                    str(port),
                    "--log-level",
                    "warning",
                ],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
            procs.append(proc)
            bases.append(f"http://127.0.0.1:{port}")
        for base, proc in zip(bases, procs, strict=True):
            _wait_healthy(base, proc)
        yield bases[0], bases[1]
    finally:
        for proc in procs:
            _stop(proc)


@pytest.mark.parametrize("service_backend", ["postgres"], indirect=True)
def test_snapshot_created_on_one_process_reaches_socket_of_the_other(
    two_servers: tuple[str, str],
) -> None:
    a, b = two_servers
    login = httpx.post(f"{b}/v1/auth/login", json={"username": "fan", "password": PASSWORD})
    assert login.status_code == 200, login.text
    token = login.json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    ws_url = a.replace("http://", "ws://") + f"/v1/ws/market/SPY?access_token={token}"

    with connect(ws_url, open_timeout=10) as ws:
        time.sleep(0.3)  # the subscription is registered on A before B publishes
        created = httpx.post(
            f"{b}/v1/snapshots", json={"symbols": ["SPY"]}, headers=headers, timeout=60
        )
        assert created.status_code in (200, 201), created.text
        message = json.loads(ws.recv(timeout=20))

    assert message["type"] == "snapshot"
    assert message["snapshot_id"] == created.json()["snapshot_id"]
    quote = httpx.get(f"{a}/v1/market/quotes/SPY", headers=headers, timeout=10)
    assert quote.status_code == 200
    assert quote.json()["snapshot_id"] == created.json()["snapshot_id"]
