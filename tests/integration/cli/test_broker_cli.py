"""``riskdesk broker positions`` against the fake tastytrade broker on 127.0.0.1.

Credentials sit in a file secrets store under ``tmp_path``; the expected positions are read
from the fake's own book.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from riskdesk.adapters.tastytrade.fake import FakeDxlinkBroker
from riskdesk.cli.main import app
from riskdesk.domain.occ import format_occ
from riskdesk.secrets import open_secret_store, save_broker_credentials

ACCOUNT = "5WT00077"
SECRET = "cli-broker-pass-3"


@pytest.fixture(scope="module")
def broker() -> Iterator[FakeDxlinkBroker]:
    fake = FakeDxlinkBroker(
        rate=200, seed=9, account=ACCOUNT, as_of=datetime.now(UTC).replace(microsecond=0)
    )
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture(autouse=True)
def stored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RISKDESK_SECRETS_BACKEND", "file")
    monkeypatch.setenv("RISKDESK_SECRETS_FILE", str(tmp_path / "s" / "secrets.enc"))
    monkeypatch.setenv("RISKDESK_SECRETS_KEY_FILE", str(tmp_path / "k" / "secrets.key"))
    monkeypatch.delenv("RISKDESK_SECRETS_KEY", raising=False)
    save_broker_credentials(open_secret_store(), "tastytrade", "cli", "trader", SECRET)


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["broker", "positions", *args])
    return result.exit_code, result.output


def test_broker_positions_with_the_fake_broker_prints_its_book_as_json(
    broker: FakeDxlinkBroker,
) -> None:
    code, out = invoke(
        "--broker", "tastytrade", "--account", ACCOUNT, "--url", broker.url,
        "--credentials", "cli", "--timeout", "8", "--json",
    )  # fmt: skip

    assert code == 0, out
    body = json.loads(out)
    expected = {format_occ(p.contract): Decimal(p.quantity) for p in broker.positions if p.quantity}
    assert {p["symbol"]: Decimal(p["quantity"]) for p in body["positions"]} == expected
    assert body["account"] == ACCOUNT
    assert SECRET not in out


def test_broker_positions_with_the_fake_broker_prints_a_table(broker: FakeDxlinkBroker) -> None:
    code, out = invoke(
        "--broker", "tastytrade", "--account", ACCOUNT, "--url", broker.url,
        "--credentials", "cli", "--timeout", "8",
    )  # fmt: skip

    assert code == 0, out
    first = next(p for p in broker.positions if p.quantity)
    assert first.contract.underlying in out
    assert "open option position" in out


def test_broker_positions_with_a_closed_port_fails_naming_the_address() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    code, out = invoke(
        "--broker", "tastytrade", "--account", ACCOUNT, "--url", f"http://127.0.0.1:{port}",
        "--credentials", "cli", "--timeout", "3",
    )  # fmt: skip

    assert code == 1
    assert f"127.0.0.1:{port}" in out


def test_broker_positions_with_an_unknown_account_reports_the_refusal(
    broker: FakeDxlinkBroker,
) -> None:
    code, out = invoke(
        "--broker", "tastytrade", "--account", "5WT99999", "--url", broker.url,
        "--credentials", "cli", "--timeout", "8",
    )  # fmt: skip

    assert code == 1
    assert "refused" in out


def test_broker_positions_with_the_simulated_broker_is_refused() -> None:
    code, out = invoke("--broker", "simulated", "--account", ACCOUNT)

    assert code == 1
    assert "tastytrade or ibkr" in out
