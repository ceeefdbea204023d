"""``/v1/brokers/positions`` and ``/v1/snapshots/broker`` against the fake tastytrade broker.

The fake DXLink broker runs on 127.0.0.1 (its book dated now, so its options are live);
its credentials sit in a file secrets store under ``tmp_path``. Expected positions are read
from the fake's own book, not from the route.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from tests.integration.service.conftest import Users

from riskdesk.adapters.tastytrade.fake import FakeDxlinkBroker
from riskdesk.domain.occ import format_occ
from riskdesk.secrets import open_secret_store, save_broker_credentials

ACCOUNT = "5WT00042"
SECRET = "fake-broker-pass-9"
CREDENTIALS = "route-test"


@pytest.fixture(scope="module")
def broker() -> Iterator[FakeDxlinkBroker]:
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    fake = FakeDxlinkBroker(rate=400, seed=5, account=ACCOUNT, as_of=now)
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
def stored_credentials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A file secrets store in tmp_path holding the fake broker's login."""
    monkeypatch.setenv("RISKDESK_SECRETS_BACKEND", "file")
    monkeypatch.setenv("RISKDESK_SECRETS_FILE", str(tmp_path / "secrets" / "secrets.enc"))
    monkeypatch.setenv("RISKDESK_SECRETS_KEY_FILE", str(tmp_path / "keys" / "secrets.key"))
    monkeypatch.delenv("RISKDESK_SECRETS_KEY", raising=False)
    save_broker_credentials(open_secret_store(), "tastytrade", CREDENTIALS, "trader", SECRET)
    return CREDENTIALS


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def _body(broker: FakeDxlinkBroker, **extra: object) -> dict[str, object]:
    return {
        "broker": "tastytrade",
        "account": ACCOUNT,
        "url": broker.url,
        "credentials": CREDENTIALS,
        "timeout_s": 8,
    } | extra


def test_broker_positions_with_fake_broker_equal_the_fakes_book(
    client: TestClient, users: Users, broker: FakeDxlinkBroker, stored_credentials: str
) -> None:
    response = client.post(
        "/v1/brokers/positions", json=_body(broker), headers=users.headers["trader"]
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["broker"] == "tastytrade"
    assert body["account"] == ACCOUNT
    assert body["warnings"] == []
    expected = {
        format_occ(p.contract): (p.contract, Decimal(p.quantity))
        for p in broker.positions
        if p.quantity != 0
    }
    got = {p["symbol"]: p for p in body["positions"]}
    assert set(got) == set(expected)
    for occ, (contract, quantity) in expected.items():
        row = got[occ]
        assert Decimal(row["quantity"]) == quantity
        assert row["underlying"] == contract.underlying
        assert row["expiry"] == contract.expiry.isoformat()
        assert Decimal(row["strike"]) == contract.strike
        assert row["right"] == contract.right.value
    assert any(Decimal(p["quantity"]) < 0 for p in body["positions"]), "shorts keep their sign"
    assert SECRET not in response.text


def test_broker_positions_with_closed_port_answers_504_naming_the_address(
    client: TestClient, users: Users, stored_credentials: str
) -> None:
    port = _closed_port()
    body = {
        "broker": "tastytrade",
        "account": ACCOUNT,
        "url": f"http://127.0.0.1:{port}",
        "credentials": CREDENTIALS,
        "timeout_s": 3,
    }

    response = client.post("/v1/brokers/positions", json=body, headers=users.headers["trader"])

    assert response.status_code == 504, response.text
    problem = response.json()
    assert problem["code"] == "SERVICE_UNAVAILABLE"
    assert f"127.0.0.1:{port}" in problem["detail"]
    assert "last error" in problem["detail"]
    assert SECRET not in response.text


def test_broker_positions_with_unknown_account_answers_409_with_the_brokers_error(
    client: TestClient, users: Users, broker: FakeDxlinkBroker, stored_credentials: str
) -> None:
    response = client.post(
        "/v1/brokers/positions",
        json=_body(broker, account="5WT99999"),
        headers=users.headers["trader"],
    )

    assert response.status_code == 409, response.text
    detail = response.json()["detail"]
    assert "unknown account" in detail
    assert broker.url in detail


def test_broker_positions_with_non_loopback_http_url_answers_422_and_connects_nowhere(
    client: TestClient, users: Users, stored_credentials: str
) -> None:
    response = client.post(
        "/v1/brokers/positions",
        json={
            "broker": "tastytrade",
            "account": ACCOUNT,
            "url": "http://198.51.100.7:8080",
            "credentials": CREDENTIALS,
        },
        headers=users.headers["trader"],
    )

    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["errors"][0]["field"] == "body"
    assert "not a tastytrade API host" in problem["detail"]


def test_broker_positions_with_missing_credentials_answers_422_with_the_command(
    client: TestClient, users: Users, broker: FakeDxlinkBroker, stored_credentials: str
) -> None:
    response = client.post(
        "/v1/brokers/positions",
        json=_body(broker, credentials="nobody"),
        headers=users.headers["trader"],
    )

    assert response.status_code == 422, response.text
    assert "riskdesk secrets broker-login" in response.json()["detail"]


def test_broker_routes_with_viewer_answer_403(
    client: TestClient, users: Users, broker: FakeDxlinkBroker, stored_credentials: str
) -> None:
    viewer = users.headers["viewer"]

    positions = client.post("/v1/brokers/positions", json=_body(broker), headers=viewer)
    snapshot = client.post("/v1/snapshots/broker", json=_body(broker), headers=viewer)

    assert positions.status_code == 403
    assert snapshot.status_code == 403
    assert positions.json()["code"] == "FORBIDDEN"


def test_broker_snapshot_with_fake_broker_stores_the_positions_contracts(
    client: TestClient, users: Users, broker: FakeDxlinkBroker, stored_credentials: str
) -> None:
    trader = users.headers["trader"]

    response = client.post("/v1/snapshots/broker", json=_body(broker), headers=trader)

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["source"] == f"tastytrade:{ACCOUNT}"
    assert body["mode"] == "LIVE"
    assert body["option_quotes"] == len(broker.positions)
    assert set(body["symbols"]) == {p.contract.underlying for p in broker.positions}
    assert isinstance(body["warnings"], list)
    stored = client.get(f"/v1/snapshots/{body['snapshot_id']}", headers=trader)
    assert stored.status_code == 200
    for underlying in body["symbols"]:
        chain = client.get(
            f"/v1/market/chains/{underlying}?snapshot={body['snapshot_id']}", headers=trader
        ).json()
        held = {(row["expiry"], Decimal(row["strike"]), row["right"]): row for row in chain["rows"]}
        mine = [p.contract for p in broker.positions if p.contract.underlying == underlying]
        assert len(held) == len(mine)
        for contract in mine:
            row = held[(contract.expiry.isoformat(), contract.strike, contract.right.value)]
            assert row["mark"] is not None
            assert Decimal(row["mark"]) > 0
    assert SECRET not in response.text


def test_broker_snapshot_with_symbols_quotes_only_those(
    client: TestClient, users: Users, broker: FakeDxlinkBroker, stored_credentials: str
) -> None:
    wanted = broker.positions[0]

    response = client.post(
        "/v1/snapshots/broker",
        json=_body(broker, symbols=[format_occ(wanted.contract)], mode="PINNED"),
        headers=users.headers["trader"],
    )
    bad = client.post(
        "/v1/snapshots/broker",
        json=_body(broker, symbols=["SPY"]),
        headers=users.headers["trader"],
    )

    assert response.status_code == 201, response.text
    assert response.json()["option_quotes"] == 1
    assert response.json()["mode"] == "PINNED"
    assert response.json()["symbols"] == [wanted.contract.underlying]
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "body.symbols"
