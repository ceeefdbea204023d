"""``/v1/greeks`` and ``/v1/tradelog``: roles, filters, cursor pages, 400/422 on bad input.

The router is included here (``service/app.py`` registers it for the served app).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from tests.integration.service.conftest import Users, make_app

from riskdesk.config import Settings
from riskdesk.service.routes import greeks
from riskdesk.store import Database
from riskdesk.store.models import GreekSnapshot
from riskdesk.store.timeseries import insert_rows
from riskdesk.streaming.records import UnifiedPositionRecord

pytestmark = pytest.mark.parametrize(
    "service_backend",
    ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
    indirect=True,
)

T0 = datetime(2025, 1, 17, 15, 30, tzinfo=UTC)
CALL = "SPY:20250321:580:C"
PUT = "SPY:20250321:560:P"
ENTRY = {
    "broker": "tastytrade",
    "account_id": "5WT00001",
    "symbol": "SPY",
    "contract_key": CALL,
    "action": "BUY_TO_OPEN",
    "quantity": "2",
    "price": "4.35",
    "strategy_tag": "condor",
    "metadata": {"note": "test"},
}


@pytest.fixture
def app(service_settings: Settings, service_db: Database) -> FastAPI:
    application = make_app(service_settings, service_db)
    if not any(getattr(r, "path", "") == "/v1/greeks/latest" for r in application.routes):
        application.include_router(greeks.router)
    return application


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def seed(db: Database, specs: Sequence[tuple[str, float, float]]) -> None:
    """Store (contract, seconds after T0, delta) events, in list order, one batch each."""
    for contract, seconds, delta in specs:
        event = T0 + timedelta(seconds=seconds)
        row = UnifiedPositionRecord.for_contract(
            broker="tastytrade",
            account_id="5WT00001",
            contract_key=contract,
            event_time=event,
            received_at=event + timedelta(milliseconds=5),
            quantity=Decimal("2"),
            delta=delta,
            gamma=0.01,
        ).to_row()
        with db.sessions() as session, session.begin():
            insert_rows(session, GreekSnapshot, [row])


def get(client: TestClient, users: Users, who: str, url: str, **params: Any) -> Any:
    return client.get(url, params=params, headers=users.headers[who])


def test_latest_with_late_older_event_returns_newest_per_contract(
    client: TestClient, users: Users, service_db: Database
) -> None:
    seed(service_db, [(CALL, 60, 0.6), (PUT, 10, -0.3), (CALL, 30, 0.55)])

    response = get(client, users, "viewer", "/v1/greeks/latest")

    assert response.status_code == 200, response.text
    body = response.json()
    by_key = {item["contract_key"]: item for item in body["items"]}
    assert by_key[CALL]["delta"] == pytest.approx(0.6)
    assert by_key[CALL]["strike"] == "580"
    assert by_key[CALL]["quantity"] == "2"
    assert datetime.fromisoformat(by_key[CALL]["event_time"]) == T0 + timedelta(seconds=60)
    assert body["truncated"] is False


def test_history_with_cursor_pages_covers_every_row_once_in_order(
    client: TestClient, users: Users, service_db: Database
) -> None:
    seed(service_db, [(CALL, s, 0.5 + s / 1000) for s in (5, 1, 4, 2, 3, 7, 6)] + [(PUT, 9, -0.2)])

    times: list[str] = []
    params: dict[str, Any] = {"contract_key": CALL, "limit": 3}
    while True:
        response = get(client, users, "viewer", "/v1/greeks/history", **params)
        assert response.status_code == 200, response.text
        body = response.json()
        times.extend(item["event_time"] for item in body["items"])
        if body["next_cursor"] is None:
            break
        params["cursor"] = body["next_cursor"]
    count = get(client, users, "viewer", "/v1/greeks/count", contract_key=CALL)
    window = get(
        client,
        users,
        "viewer",
        "/v1/greeks/count",
        **{
            "from": (T0 + timedelta(seconds=2)).isoformat(),
            "to": (T0 + timedelta(seconds=5)).isoformat(),
        },
    )

    expected = [T0 + timedelta(seconds=s) for s in (7, 6, 5, 4, 3, 2, 1)]
    assert [datetime.fromisoformat(t) for t in times] == expected
    assert count.json() == {"count": 7}
    assert window.json() == {"count": 3}


BAD_QUERIES: list[tuple[dict[str, Any], int, str]] = [
    ({"cursor": "not-a-cursor"}, 400, "INVALID_CURSOR"),
    ({"from": "2025-01-17T15:30:00"}, 422, "VALIDATION_ERROR"),
    ({"from": "2025-01-17T16:00:00Z", "to": "2025-01-17T15:00:00Z"}, 422, "VALIDATION_ERROR"),
    ({"broker": "etrade"}, 422, "VALIDATION_ERROR"),
    ({"limit": 0}, 422, "VALIDATION_ERROR"),
]


def test_history_with_bad_filter_or_cursor_answers_problem(
    client: TestClient, users: Users
) -> None:
    answers = [
        (
            get(client, users, "viewer", "/v1/greeks/history", **params),
            status,
            code,
        )
        for params, status, code in BAD_QUERIES
    ]

    for response, status, code in answers:
        assert response.status_code == status, response.text
        assert response.json()["code"] == code, response.text


def test_tradelog_with_roles_lets_traders_write_and_everyone_read(
    client: TestClient, users: Users
) -> None:
    viewer = client.post("/v1/tradelog", json=ENTRY, headers=users.headers["viewer"])
    anonymous = client.get("/v1/tradelog")
    created = client.post("/v1/tradelog", json=ENTRY, headers=users.headers["trader"])
    client.post("/v1/tradelog", json=ENTRY | {"broker": "ibkr"}, headers=users.headers["admin"])

    listed = get(client, users, "viewer", "/v1/tradelog", broker="tastytrade")

    assert viewer.status_code == 403
    assert anonymous.status_code == 401
    assert created.status_code == 201, created.text
    assert created.json()["quantity"] == "2"
    assert created.json()["price"] == "4.35"
    assert [item["id"] for item in listed.json()["items"]] == [created.json()["id"]]


def test_tradelog_post_with_bad_field_answers_422(client: TestClient, users: Users) -> None:
    changes: list[dict[str, Any]] = [
        {"quantity": "0"},
        {"quantity": "two"},
        {"contract_key": "SPY 580C"},
        {"broker": "x"},
    ]

    answers = [
        client.post("/v1/tradelog", json=ENTRY | change, headers=users.headers["trader"])
        for change in changes
    ]

    assert [a.status_code for a in answers] == [422] * len(changes), [a.text for a in answers]
    assert get(client, users, "trader", "/v1/tradelog").json()["items"] == []
