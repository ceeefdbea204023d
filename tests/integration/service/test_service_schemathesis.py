"""schemathesis against the live OpenAPI schema of a running ``riskdesk serve``.

Every operation is exercised (examples, coverage and fuzzing phases, positive and negative
data) as an admin; the run must find no 5xx and no response that violates the schema.
Logout is left out: it would end the session the run authenticates with; so are the broker
reads, which connect to the address a body names (their tests use a fake broker).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from tests.integration.service.test_service_fanout import _free_port, _stop, _wait_healthy

pytestmark = pytest.mark.slow

PASSWORD = "schemathesis-password-01"


def test_live_schema_with_generated_requests_has_no_5xx_and_no_schema_violation(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    template: Path = request.getfixturevalue("_sqlite_template")
    db_path = tmp_path / "st.sqlite3"
    shutil.copyfile(template, db_path)
    env = os.environ | {
        "RISKDESK_DATABASE_URL": f"sqlite:///{db_path}",
        "RISKDESK_SECRET_KEY_FILE": str(tmp_path / "config" / "secret.key"),
        "RISKDESK_USE_KEYRING": "false",
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "RISKDESK_SECRETS_BACKEND": "file",
        "RISKDESK_RATE_LIMIT_USER": "1000000",
        "RISKDESK_RATE_LIMIT_IP": "1000000",
        "RISKDESK_RATE_LIMIT_LOGIN": "1000000",
    }
    env.pop("RISKDESK_REDIS_URL", None)
    cli = [sys.executable, "-m", "riskdesk.cli.main"]
    created = subprocess.run(
        [*cli, "user", "create", "st-admin", "--role", "admin", "--password-stdin"],
        input=PASSWORD + "\n",
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert created.returncode == 0, created.stdout + created.stderr
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [*cli, "serve", "--port", str(port), "--log-level", "warning"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        _wait_healthy(base, server)
        token = httpx.post(
            f"{base}/v1/auth/login", json={"username": "st-admin", "password": PASSWORD}
        ).json()["access_token"]
        # a snapshot to give chain and evaluate routes something real to find
        httpx.post(
            f"{base}/v1/snapshots",
            json={"symbols": ["SPY"]},
            headers={"Authorization": f"Bearer {token}"},
            timeout=60,
        )
        st = Path(sys.executable).with_name("schemathesis")
        run = subprocess.run(
            [
                str(st),
                "run",
                f"{base}/openapi.json",
                "--checks",
                "not_a_server_error,response_schema_conformance",
                "--header",
                f"Authorization: Bearer {token}",
                "--exclude-path",
                "/v1/auth/logout",
                # broker reads connect out to the body's address (any tws://host:port): never
                # from a fuzzer, and an unreachable broker is a documented 504
                "--exclude-path",
                "/v1/brokers/positions",
                "--exclude-path",
                "/v1/snapshots/broker",
                "--phases",
                "examples,coverage,fuzzing",
                "--max-examples",
                "4",
                "--seed",
                "20261130",
                "--workers",
                "2",
                "--request-timeout",
                "60",
                "--generation-database",
                "none",
                "--no-color",
                "--suppress-health-check",
                "all",
            ],
            env=env,
            cwd=tmp_path,  # schemathesis keeps its cache in the working directory
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
    finally:
        _stop(server)
    tail = "\n".join((run.stdout + run.stderr).splitlines()[-80:])
    assert run.returncode == 0, tail
