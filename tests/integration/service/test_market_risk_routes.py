"""``/v1/risk/regime``, ``/v1/risk/{id}/squeeze`` and ``/v1/risk-events`` over HTTP.

Each route's JSON must equal the use case's ``to_dict()`` on the same database; the regime's
crossed thresholds are recorded once however often it is asked; another trader's book is a
404; a weekend a 422; a missing history a 409; the event list pages with cursors and filters.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.testclient import TestClient
from tests.integration.service.conftest import Users

from riskdesk.domain.caller import Caller
from riskdesk.risk.history import VIX_SYMBOL, last_sessions
from riskdesk.risk.history_usecases import PriceHistory
from riskdesk.risk.market_risk import MarketRegime
from riskdesk.store import Database
from riskdesk.store.history import upsert_bars

ON = date(2026, 11, 20)
CSV = {"Content-Type": "text/csv"}
BOOK = (
    "ticker,quantity,entry_price,entry_date,tags\n"
    "NVDA,-50,120,2026-01-05,\n"
    "AAPL261218C00245000,-5,2,2026-01-05,\n"
    "AAPL,100,200,2026-01-05,\n"
)


def _json(response: httpx.Response, status: int) -> Any:
    assert response.status_code == status, f"{response.status_code} {response.text[:500]}"
    return response.json()


def _db(app: FastAPI) -> Database:
    db = app.state.riskdesk.db
    assert isinstance(db, Database)
    return db


def _spike_vix(db: Database, level: str, day: date = ON) -> None:
    """Overwrite the VIX close on ``day`` (the other bars stay synthetic)."""
    with db.sessions() as session, session.begin():
        upsert_bars(
            session,
            [
                {
                    "ticker": VIX_SYMBOL,
                    "date": day,
                    "open": None,
                    "high": None,
                    "low": None,
                    "close": Decimal(level),
                    "volume": None,
                    "data_source": "test",
                }
            ],
        )


def test_regime_route_with_a_vix_spike_matches_the_use_case_and_records_once(
    client: TestClient, users: Users, app: FastAPI
) -> None:
    db = _db(app)
    PriceHistory(db).synthesize([], seed=3, end=ON, days=40, include_regime=True)
    _spike_vix(db, "41.25")
    viewer = users.headers["viewer"]

    trader = users.headers["trader"]
    read = _json(client.get(f"/v1/risk/regime?on={ON}", headers=viewer), 200)
    assert read["events_recorded"] == []
    assert client.post(f"/v1/risk/regime?on={ON}", headers=viewer).status_code == 403
    assert _json(client.get("/v1/risk-events", headers=viewer), 200)["items"] == []
    first = _json(client.post(f"/v1/risk/regime?on={ON}", headers=trader), 200)
    second = _json(client.post(f"/v1/risk/regime?on={ON}", headers=trader), 200)

    expected = json.loads(json.dumps(MarketRegime(db).regime(ON, record=False).to_dict()))
    for key in ("vix_level", "regime", "position_size_multiplier", "correlations", "breaches"):
        assert first[key] == expected[key]
        assert read[key] == expected[key]
    assert first["regime"] == "extreme"
    assert "vix_emergency" in first["events_recorded"]
    assert second["events_recorded"] == []
    assert second["events_already_recorded"] == first["events_recorded"]
    events = _json(client.get("/v1/risk-events?event_type=vix_emergency", headers=viewer), 200)
    [event] = events["items"]
    assert (event["severity"], event["triggered_value"], event["threshold_value"]) == (
        "critical",
        "41.25",
        "35",
    )
    assert event["action_taken"] == "halt_new_positions"
    assert event["details"]["date"] == ON.isoformat()


def test_regime_route_with_a_weekend_is_422_and_without_history_409(
    client: TestClient, users: Users
) -> None:
    viewer = users.headers["viewer"]
    weekend = _json(client.get("/v1/risk/regime?on=2026-11-21", headers=viewer), 422)
    assert "not an NYSE session" in weekend["detail"]
    missing = _json(client.get(f"/v1/risk/regime?on={ON}", headers=viewer), 409)
    assert "--include-regime" in missing["detail"]


def test_squeeze_route_with_metrics_matches_the_use_case_and_hides_other_books(
    client: TestClient, users: Users, app: FastAPI
) -> None:
    db = _db(app)
    trader = users.headers["trader"]
    portfolio = _json(client.post("/v1/portfolios", json={"name": "shorts"}, headers=trader), 201)
    _json(
        client.post(
            f"/v1/portfolios/{portfolio['id']}/positions/import?today={ON}",
            content=BOOK.encode(),
            headers=trader | CSV,
        ),
        200,
    )
    MarketRegime(db).synthesize_short_metrics(["NVDA"], seed=2, end=ON, days=3)

    got = _json(client.get(f"/v1/risk/{portfolio['id']}/squeeze?on={ON}", headers=trader), 200)
    other = client.get(
        f"/v1/risk/{portfolio['id']}/squeeze?on={ON}", headers=users.headers["other"]
    )

    owner = Caller(actor="trader", user_id=users.ids["trader"])
    expected = MarketRegime(db, owner).squeeze(portfolio["id"], ON).to_dict()
    assert got == json.loads(json.dumps(expected))
    shorts = {p["symbol"]: (p["status"], p["shares_short"]) for p in got["positions"]}
    assert shorts == {"NVDA": ("ok", "50"), "AAPL261218C00245000": ("missing", "500")}
    assert other.status_code == 404


def test_risk_events_route_with_pages_and_filters_follows_the_cursor(
    client: TestClient, users: Users, app: FastAPI
) -> None:
    db = _db(app)
    for i, day in enumerate(last_sessions(ON, 3)):
        PriceHistory(db).synthesize([], seed=3, end=day, days=40, include_regime=True)
        _spike_vix(db, f"{36 + i}", day)
        MarketRegime(db).regime(day)
    viewer = users.headers["viewer"]
    first = _json(
        client.get("/v1/risk-events?event_type=vix_emergency&limit=2", headers=viewer), 200
    )
    assert len(first["items"]) == 2
    assert first["next_cursor"]
    rest = _json(
        client.get(
            f"/v1/risk-events?event_type=vix_emergency&limit=2&cursor={first['next_cursor']}",
            headers=viewer,
        ),
        200,
    )
    assert len(rest["items"]) == 1
    assert rest["next_cursor"] is None
    values = sorted(e["triggered_value"] for e in first["items"] + rest["items"])
    assert values == ["36", "37", "38"]
    one_day = _json(client.get(f"/v1/risk-events?on={ON}&severity=critical", headers=viewer), 200)
    assert [e["triggered_value"] for e in one_day["items"]] == ["38"]
    bad = client.get("/v1/risk-events?severity=bogus", headers=viewer)
    assert bad.status_code == 422
