"""The signal, performance and smoke-run routes on one fixed synthetic market.

The desk trades against ``state.extras["paper_market"]`` (a StaticMarket) at the clock
``state.extras["paper_clock"]``, one second after the snapshot, as the trading routes' tests do.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from tests.integration.service.conftest import Users, make_app

from riskdesk.adapters.simulated import generate_market
from riskdesk.config import Settings
from riskdesk.domain.caller import Caller
from riskdesk.domain.instruments import OptionRight
from riskdesk.domain.market import MarketSnapshot
from riskdesk.domain.occ import format_occ
from riskdesk.service.routes import signals, trading
from riskdesk.store import Database
from riskdesk.trading.desk import StaticMarket

AS_OF = datetime(2025, 3, 4, 15, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def snapshot() -> MarketSnapshot:
    return generate_market(seed=11, as_of=AS_OF, symbols=["SPY"], max_expiry_days=20)


@pytest.fixture(scope="module")
def expiry(snapshot: MarketSnapshot) -> date:
    listed = sorted(
        {q.contract.expiry for q in snapshot.options if q.contract.expiry > AS_OF.date()}
    )
    return next(d for d in listed if (d - AS_OF.date()).days >= 7)


@dataclass
class Clock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(AS_OF + timedelta(seconds=1))


def with_routes(application: FastAPI) -> FastAPI:
    """``application`` with the trading and signal routers (unless app.py registers them)."""
    paths = {c.path for c in iter_route_contexts(application.routes)}
    if "/v1/orders" not in paths:
        application.include_router(trading.router)
    if "/v1/signals" not in paths:
        application.include_router(signals.router)
    return application


@pytest.fixture
def app(
    service_settings: Settings, service_db: Database, snapshot: MarketSnapshot, clock: Clock
) -> FastAPI:
    application = with_routes(make_app(service_settings, service_db))
    application.state.riskdesk.extras["paper_market"] = StaticMarket(snapshot)
    application.state.riskdesk.extras["paper_clock"] = clock
    return application


def condor(expiry: date, **fields: Any) -> dict[str, Any]:
    return {
        "template": "iron_condor",
        "symbol": "SPY",
        "expiry": expiry.isoformat(),
        "offset": "5",
        "width": "3",
        "confidence": "0.7",
    } | fields


def _ok(response: Any, status: int) -> Any:
    assert response.status_code == status, response.text
    return response.json()


# -- signals -----------------------------------------------------------------------------------


def test_signal_routes_with_template_store_read_and_list_the_signal(
    client: TestClient, users: Users, expiry: date
) -> None:
    trader, viewer = users.headers["trader"], users.headers["viewer"]

    made = _ok(client.post("/v1/signals/from-template", json=condor(expiry), headers=trader), 201)
    read = _ok(client.get(f"/v1/signals/{made['id']}", headers=viewer), 200)
    listed = _ok(client.get("/v1/signals?status=active&symbol=spy", headers=viewer), 200)
    none = _ok(client.get("/v1/signals?status=cancelled", headers=viewer), 200)

    assert [leg["action"] for leg in made["legs"]] == ["buy", "sell", "sell", "buy"]
    assert Decimal(made["net_premium"]) < 0
    assert isinstance(made["max_profit"], str)
    assert len(made["breakevens"]) == 2
    assert datetime.fromisoformat(made["generated_at"]) == AS_OF + timedelta(seconds=1)
    assert read == made
    assert [s["id"] for s in listed["items"]] == [made["id"]]
    assert none["items"] == []


def test_signal_routes_with_hand_built_legs_price_at_the_mids(
    client: TestClient, users: Users, snapshot: MarketSnapshot, expiry: date
) -> None:
    spot = snapshot.underlying("SPY").spot
    puts = sorted(
        (
            q
            for q in snapshot.options
            if q.contract.expiry == expiry
            and q.contract.right is OptionRight.PUT
            and q.bid is not None
            and q.ask is not None
            and q.contract.strike <= spot
        ),
        key=lambda q: q.contract.strike,
    )
    high, low = puts[-1], puts[-3]
    body = {
        "symbol": "SPY",
        "direction": "bearish",
        "confidence": "0.6",
        "legs": [
            {"symbol": format_occ(high.contract), "side": "buy"},
            {"symbol": format_occ(low.contract), "side": "sell", "estimated_price": "0.5"},
        ],
    }

    made = _ok(client.post("/v1/signals", json=body, headers=users.headers["admin"]), 201)

    assert high.mid is not None
    assert [Decimal(leg["estimated_price"]) for leg in made["legs"]] == [high.mid, Decimal("0.5")]
    assert Decimal(made["net_premium"]) == high.mid - Decimal("0.5")
    assert made["strategy_type"] == "custom"


def test_signal_routes_with_cancel_twice_answer_409_and_unknown_id_404(
    client: TestClient, users: Users, expiry: date
) -> None:
    trader = users.headers["trader"]
    made = _ok(client.post("/v1/signals/from-template", json=condor(expiry), headers=trader), 201)

    first = client.post(f"/v1/signals/{made['id']}/cancel", headers=trader)
    second = client.post(f"/v1/signals/{made['id']}/cancel", headers=trader)
    unknown = client.get("/v1/signals/00000000-0000-0000-0000-000000000000", headers=trader)
    unknown_cancel = client.post(
        "/v1/signals/00000000-0000-0000-0000-000000000000/cancel", headers=trader
    )

    assert _ok(first, 200)["status"] == "cancelled"
    assert second.status_code == 409
    assert second.json()["code"] == "CONFLICT"
    assert "cancelled" in second.json()["detail"]
    assert unknown.status_code == unknown_cancel.status_code == 404


def test_signal_routes_with_viewer_write_or_bad_template_are_refused(
    client: TestClient, users: Users, expiry: date
) -> None:
    viewer = client.post(
        "/v1/signals/from-template", json=condor(expiry), headers=users.headers["viewer"]
    )
    anonymous = client.get("/v1/signals")
    both = client.post(
        "/v1/signals/from-template",
        json=condor(expiry, delta="0.2"),
        headers=users.headers["trader"],
    )
    unlisted = client.post(
        "/v1/signals/from-template",
        json=condor(date(2031, 1, 17)),
        headers=users.headers["trader"],
    )

    assert viewer.status_code == 403
    assert anonymous.status_code == 401
    assert both.status_code == unlisted.status_code == 422
    assert "listed expiries" in unlisted.json()["detail"]


def test_signal_routes_with_many_signals_page_by_cursor(
    client: TestClient, users: Users, expiry: date, clock: Clock
) -> None:
    trader = users.headers["trader"]
    made = []
    for i in range(3):
        clock.now = AS_OF + timedelta(seconds=1 + i)
        made.append(
            _ok(client.post("/v1/signals/from-template", json=condor(expiry), headers=trader), 201)
        )

    first = _ok(client.get("/v1/signals?limit=2", headers=trader), 200)
    rest = _ok(
        client.get(f"/v1/signals?limit=2&cursor={first['next_cursor']}", headers=trader), 200
    )

    seen = [s["id"] for s in first["items"] + rest["items"]]
    assert sorted(seen) == sorted(s["id"] for s in made)
    assert rest["next_cursor"] is None


# -- performance -------------------------------------------------------------------------------


def test_performance_routes_with_nav_history_report_and_export_tax_lots(
    app: FastAPI, client: TestClient, users: Users
) -> None:
    trader = users.headers["trader"]
    _ok(client.post("/v1/accounts", json={"name": "perf", "cash": "50000"}, headers=trader), 201)
    before = client.get("/v1/performance?account=perf", headers=trader)
    caller = Caller(actor="trader", user_id=users.ids["trader"], role="trader")
    trading.desk_for(app.state.riskdesk, caller).snapshot_nav("perf")  # a market pass

    report = _ok(client.get("/v1/performance?account=perf&from=2025-03-04", headers=trader), 200)
    lots = _ok(client.get("/v1/performance/tax-lots?account=perf", headers=trader), 200)
    exported = client.get("/v1/performance/tax-lots?account=perf&format=csv", headers=trader)
    foreign = client.get("/v1/performance?account=perf", headers=users.headers["other"])

    assert before.status_code == 409
    assert "no NAV snapshot" in before.json()["detail"]
    assert report["starting_nav"] == report["ending_nav"]
    assert Decimal(report["ending_nav"]) == Decimal(50000)
    assert report["total_return"] == 0.0
    assert report["period_start"] == "2025-03-04"
    assert [d["date"] for d in report["daily_pnl"]] == ["2025-03-04"]
    assert lots["items"] == []
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    assert len(list(csv.reader(io.StringIO(exported.text)))) == 1  # the header: nothing realized
    assert foreign.status_code == 404


# -- smoke runs --------------------------------------------------------------------------------


def test_smoke_run_routes_with_fresh_market_pass_and_list_for_viewers(
    client: TestClient, users: Users
) -> None:
    run = _ok(client.post("/v1/smoke-runs", headers=users.headers["trader"]), 201)
    refused = client.post("/v1/smoke-runs", json={}, headers=users.headers["viewer"])
    listed = _ok(client.get("/v1/smoke-runs", headers=users.headers["viewer"]), 200)

    assert run["status"] == "passed", run
    assert run["failed_step"] is None
    assert refused.status_code == 403
    assert [r["run_id"] for r in listed["items"]] == [run["run_id"]]


def test_smoke_run_routes_with_stale_market_store_a_failed_run(
    client: TestClient, users: Users, clock: Clock
) -> None:
    clock.now = AS_OF + timedelta(minutes=10)

    run = _ok(client.post("/v1/smoke-runs", json={}, headers=users.headers["trader"]), 201)

    assert run["status"] == "failed"
    assert run["failed_step"] == "market"
    assert "old" in run["wallet_check"]
