"""``/v1/ws/trading``: the current state first, then order, fill, positions and NAV events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect
from tests.integration.service.conftest import Users, make_app
from tests.integration.service.test_trading_routes import with_trading

from riskdesk.adapters.simulated import generate_market
from riskdesk.config import Settings
from riskdesk.domain.market import MarketSnapshot
from riskdesk.domain.occ import format_occ
from riskdesk.store import Database
from riskdesk.trading.desk import StaticMarket

AS_OF = datetime(2025, 3, 4, 15, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def snapshot() -> MarketSnapshot:
    """One synthetic SPY market."""
    return generate_market(seed=11, as_of=AS_OF, symbols=["SPY"], max_expiry_days=20)


@pytest.fixture
def app(service_settings: Settings, service_db: Database, snapshot: MarketSnapshot) -> FastAPI:
    """The service with the trading routes on a fixed market, one second after it."""
    application = with_trading(make_app(service_settings, service_db))
    application.state.riskdesk.extras["paper_market"] = StaticMarket(snapshot)
    application.state.riskdesk.extras["paper_clock"] = lambda: AS_OF + timedelta(seconds=1)
    return application


def _token(users: Users, who: str) -> str:
    return users.headers[who]["Authorization"][7:]


def _first_message(client: TestClient, url: str) -> dict[str, Any]:
    with client.websocket_connect(url) as websocket:
        message: dict[str, Any] = websocket.receive_json()
        return message


def _until(websocket: Any, kind: str) -> dict[str, Any]:
    for _ in range(20):
        message: dict[str, Any] = websocket.receive_json()
        if message["type"] == kind:
            return message
    raise AssertionError(f"no {kind} message among the next 20")


def test_trading_ws_with_order_posted_sends_state_order_fill_positions_and_nav(
    client: TestClient, users: Users, snapshot: MarketSnapshot
) -> None:
    headers = users.headers["trader"]
    created = client.post("/v1/accounts", json={"name": "ws", "cash": "50000"}, headers=headers)
    account = created.json()["account_id"]
    quoted = [q for q in snapshot.options if q.bid and q.ask]
    symbol = format_occ(quoted[len(quoted) // 2].contract)
    url = f"/v1/ws/trading?account=ws&access_token={_token(users, 'trader')}"

    with client.websocket_connect(url) as websocket:
        first = websocket.receive_json()
        posted = client.post(
            "/v1/orders",
            json={"account": "ws", "legs": [{"symbol": symbol, "side": "buy"}], "qty": 1},
            headers=headers,
        )
        order = _until(websocket, "order")
        fill = _until(websocket, "fill")
        positions = _until(websocket, "positions")
        nav = _until(websocket, "nav")

    assert first["type"] == "state"
    assert [(a["account_id"], a["nav"], a["positions"]) for a in first["accounts"]] == [
        (account, "50000.00", [])
    ]
    assert posted.status_code == 201, posted.text
    assert order["order"]["order_id"] == posted.json()["order_id"]
    assert fill["fill"]["order_id"] == posted.json()["order_id"]
    assert [p["symbol"] for p in positions["items"]] == [symbol]
    assert nav["account_id"] == account
    assert nav["cash"] != "50000.00"


def test_trading_ws_with_bad_token_or_foreign_account_closes(
    client: TestClient, users: Users
) -> None:
    client.post(
        "/v1/accounts", json={"name": "mine", "cash": "1000"}, headers=users.headers["trader"]
    )

    foreign_url = f"/v1/ws/trading?account=mine&access_token={_token(users, 'other')}"

    with pytest.raises(WebSocketDisconnect) as anonymous:
        _first_message(client, "/v1/ws/trading")
    with pytest.raises(WebSocketDisconnect) as foreign:
        _first_message(client, foreign_url)

    assert anonymous.value.code == 4401
    assert foreign.value.code == 4404


def test_trading_ws_with_kill_switch_change_sends_it(client: TestClient, users: Users) -> None:
    url = f"/v1/ws/trading?access_token={_token(users, 'viewer')}"

    with client.websocket_connect(url) as websocket:
        first = websocket.receive_json()
        client.post(
            "/v1/kill-switch",
            json={"enabled": True, "reason": "drill"},
            headers=users.headers["admin"],
        )
        event = _until(websocket, "kill_switch")

    assert first == {"type": "state", "accounts": []}
    assert event["enabled"] is True
    assert event["actor"] == "admin"
