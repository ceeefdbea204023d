"""The paper-trading routes: accounts, policy, orders and their refusals, fills, kill switch.

The desk trades against one fixed synthetic snapshot (``state.extras["paper_market"]``) at a
clock one second after it, so every outcome is deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
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
from riskdesk.domain.market import MarketSnapshot
from riskdesk.domain.occ import format_occ
from riskdesk.service.routes import trading
from riskdesk.store import Database
from riskdesk.trading.desk import StaticMarket

AS_OF = datetime(2025, 3, 4, 15, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def snapshot() -> MarketSnapshot:
    """One synthetic SPY market (shared by the module: it takes a second to make)."""
    return generate_market(seed=11, as_of=AS_OF, symbols=["SPY"], max_expiry_days=20)


@dataclass
class Clock:
    """A settable clock."""

    now: datetime

    def __call__(self) -> datetime:
        """Now."""
        return self.now


def with_trading(application: FastAPI) -> FastAPI:
    """``application`` with the trading router (unless app.py already registers it)."""
    paths = {c.path for c in iter_route_contexts(application.routes)}
    if "/v1/orders" not in paths:
        application.include_router(trading.router)
    return application


@pytest.fixture
def clock() -> Clock:
    """One second after the snapshot."""
    return Clock(AS_OF + timedelta(seconds=1))


@pytest.fixture
def app(
    service_settings: Settings, service_db: Database, snapshot: MarketSnapshot, clock: Clock
) -> FastAPI:
    """The service with the trading routes on a fixed market and clock."""
    application = with_trading(make_app(service_settings, service_db))
    application.state.riskdesk.extras["paper_market"] = StaticMarket(snapshot)
    application.state.riskdesk.extras["paper_clock"] = clock
    return application


@pytest.fixture
def option(snapshot: MarketSnapshot) -> str:
    """An OCC symbol with a two-sided quote near the middle of the chain."""
    quoted = [q for q in snapshot.options if q.bid and q.ask]
    return format_occ(quoted[len(quoted) // 2].contract)


@pytest.fixture
def account(client: TestClient, users: Users) -> str:
    """The trader's account ``paper-1`` (100,000 USD); its id."""
    response = client.post(
        "/v1/accounts", json={"name": "paper-1", "cash": "100000"}, headers=users.headers["trader"]
    )
    assert response.status_code == 201, response.text
    return str(response.json()["account_id"])


def order(symbol: str, **fields: Any) -> dict[str, Any]:
    """A one-leg market buy of 1 for ``paper-1``, fields overriding."""
    return {"account": "paper-1", "legs": [{"symbol": symbol, "side": "buy"}], "qty": 1} | fields


@pytest.fixture
def trader(client: TestClient, users: Users) -> dict[str, str]:
    """The trader's headers."""
    return users.headers["trader"]


# -- accounts ----------------------------------------------------------------------------------


def test_accounts_with_create_list_and_get_answer_the_account(
    client: TestClient, trader: dict[str, str], account: str
) -> None:
    listed = client.get("/v1/accounts", headers=trader).json()["items"]
    by_name = client.get("/v1/accounts/paper-1", headers=trader)
    by_id = client.get(f"/v1/accounts/{account}", headers=trader)

    assert [a["account_id"] for a in listed] == [account]
    assert by_name.status_code == by_id.status_code == 200
    assert by_name.json() == by_id.json()
    assert by_id.json()["cash"] == by_id.json()["nav"] == "100000.00"


def test_accounts_with_unknown_or_foreign_ref_are_404(
    client: TestClient, users: Users, account: str
) -> None:
    unknown = client.get("/v1/accounts/nobody", headers=users.headers["trader"])
    foreign = client.get(f"/v1/accounts/{account}", headers=users.headers["other"])

    assert unknown.status_code == foreign.status_code == 404
    assert unknown.json()["code"] == "NOT_FOUND"


def test_accounts_with_viewer_or_bad_cash_are_refused(
    client: TestClient, users: Users, account: str
) -> None:
    viewer = client.post(
        "/v1/accounts", json={"name": "v", "cash": "1000"}, headers=users.headers["viewer"]
    )
    taken = client.post(
        "/v1/accounts", json={"name": "paper-1", "cash": "10"}, headers=users.headers["trader"]
    )
    zero = client.post(
        "/v1/accounts", json={"name": "z", "cash": "0"}, headers=users.headers["trader"]
    )

    assert viewer.status_code == 403
    assert taken.status_code == 422
    assert "exists" in taken.json()["detail"]
    assert zero.status_code == 422


# -- risk policy -------------------------------------------------------------------------------


def test_policy_with_set_and_clear_answers_the_active_parameters(
    client: TestClient, trader: dict[str, str], account: str
) -> None:
    body = {
        "account": "paper-1",
        "params": {
            "max_order_size": {"value": "5000", "type": "absolute"},
            "max_daily_loss": {"value": "2", "type": "percentage"},
        },
    }
    put = client.put("/v1/risk/policy", json=body, headers=trader)
    cleared = client.put(
        "/v1/risk/policy",
        json={"account": account, "params": {"max_daily_loss": None}},
        headers=trader,
    )
    got = client.get("/v1/risk/policy?account=paper-1", headers=trader)

    assert put.status_code == 200, put.text
    assert put.json()["params"]["max_daily_loss"]["type"] == "percentage"
    assert cleared.status_code == 200
    assert set(got.json()["params"]) == {"max_order_size"}
    assert Decimal(got.json()["params"]["max_order_size"]["value"]) == 5000


def test_policy_with_unknown_name_or_viewer_is_refused(
    client: TestClient, users: Users, account: str
) -> None:
    unknown = client.put(
        "/v1/risk/policy",
        json={"account": "paper-1", "params": {"max_everything": {"value": "1"}}},
        headers=users.headers["trader"],
    )
    relative = client.put(
        "/v1/risk/policy",
        json={
            "account": "paper-1",
            "params": {"cooldown_seconds": {"value": "1", "type": "percentage"}},
        },
        headers=users.headers["trader"],
    )
    viewer = client.put(
        "/v1/risk/policy",
        json={"account": "paper-1", "params": {}},
        headers=users.headers["viewer"],
    )

    assert unknown.status_code == 422
    assert "max_everything" in unknown.json()["detail"]
    assert relative.status_code == 422
    assert viewer.status_code == 403


# -- orders ------------------------------------------------------------------------------------


def test_orders_with_market_buy_are_filled_with_fills_positions_and_events(
    client: TestClient, trader: dict[str, str], account: str, option: str
) -> None:
    client.put(
        "/v1/risk/policy",
        json={"account": "paper-1", "params": {"max_order_size": {"value": "1000000"}}},
        headers=trader,
    )

    response = client.post("/v1/orders", json=order(option, qty=2), headers=trader)

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "filled"
    assert body["filled_qty"] == 2
    # one submission's transitions share their time: compare them as a set (see the report)
    assert {e["to"] for e in body["events"]} == {"proposed", "approved", "submitted", "filled"}
    assert body["fills"]
    assert body["fills"][0]["symbol"] == option
    got = client.get(f"/v1/orders/{body['order_id']}", headers=trader).json()
    assert got["order_id"] == body["order_id"]
    fills = client.get(f"/v1/fills?account={account}", headers=trader).json()["items"]
    assert {f["order_id"] for f in fills} == {body["order_id"]}
    positions = client.get("/v1/positions?account=paper-1", headers=trader).json()["items"]
    assert [(p["symbol"], p["qty"]) for p in positions] == [(option, "2")]
    events = client.get("/v1/risk/events?account=paper-1", headers=trader).json()["items"]
    assert events
    assert {e["order_id"] for e in events} == {body["order_id"]}
    reconciled = client.get(f"/v1/accounts/{account}/reconciliation", headers=trader).json()
    assert reconciled["ok"] is True


def test_orders_with_gate_block_are_409_naming_the_rule_and_the_stored_order(
    client: TestClient, trader: dict[str, str], account: str, option: str
) -> None:
    client.put(
        "/v1/risk/policy",
        json={"account": "paper-1", "params": {"max_order_size": {"value": "1"}}},
        headers=trader,
    )

    response = client.post("/v1/orders", json=order(option), headers=trader)

    assert response.status_code == 409, response.text
    problem = response.json()
    assert problem["code"] == "RISK_BLOCKED"
    assert response.headers["content-type"].startswith("application/problem+json")
    details = problem["details"]
    assert details["rule"] == "max_order_size"
    assert Decimal(details["threshold"]) == 1
    assert Decimal(details["observed"]) > 1
    stored = client.get(f"/v1/orders/{details['order_id']}", headers=trader).json()
    assert stored["status"] == "rejected"
    assert stored["code"] == "RISK_BLOCKED"
    blocked = client.get("/v1/risk/events?action=blocked", headers=trader).json()["items"]
    assert [e["rule"] for e in blocked] == ["max_order_size"]


def test_orders_with_kill_switch_on_are_423_and_resting_orders_cancelled(
    client: TestClient, users: Users, account: str, option: str, snapshot: MarketSnapshot
) -> None:
    trader = users.headers["trader"]
    resting = client.post(
        "/v1/orders",
        json=order(option, order_type="limit", limit_price="0.01", time_in_force="gtc"),
        headers=trader,
    ).json()
    assert resting["status"] == "submitted"

    viewer = client.post(
        "/v1/kill-switch", json={"enabled": True, "reason": "x"}, headers=users.headers["viewer"]
    )
    on = client.post(
        "/v1/kill-switch", json={"enabled": True, "reason": "venue incident"}, headers=trader
    )
    refused = client.post("/v1/orders", json=order(option), headers=trader)
    status = client.get("/v1/kill-switch", headers=users.headers["viewer"]).json()
    off = client.post("/v1/kill-switch", json={"enabled": False, "reason": "fixed"}, headers=trader)
    after = client.post("/v1/orders", json=order(option), headers=trader)

    assert viewer.status_code == 403
    assert on.status_code == 200
    assert on.json()["enabled"] is True
    assert on.json()["cancelled_orders"] == 1
    assert refused.status_code == 423
    assert refused.json()["code"] == "KILL_SWITCH_ACTIVE"
    assert refused.json()["details"]["order_id"]
    assert status["enabled"] is True
    assert status["actor"] == "trader"
    assert off.json()["enabled"] is False
    assert after.status_code == 201
    cancelled = client.get(f"/v1/orders/{resting['order_id']}", headers=trader).json()
    assert cancelled["status"] == "cancelled"


def test_orders_with_stale_market_are_409_stale_market_data(
    client: TestClient, trader: dict[str, str], account: str, option: str, clock: Clock
) -> None:
    clock.now = AS_OF + timedelta(seconds=60)

    response = client.post("/v1/orders", json=order(option), headers=trader)

    assert response.status_code == 409, response.text
    assert response.json()["code"] == "STALE_MARKET_DATA"
    stored = client.get(f"/v1/orders/{response.json()['details']['order_id']}", headers=trader)
    assert stored.json()["status"] == "rejected"


def test_orders_with_repeated_key_replay_200_and_create_nothing(
    client: TestClient, trader: dict[str, str], account: str, option: str
) -> None:
    first = client.post("/v1/orders", json=order(option, idempotency_key="k-1"), headers=trader)
    again = client.post("/v1/orders", json=order(option, idempotency_key="k-1"), headers=trader)
    other = client.post(
        "/v1/orders", json=order(option, qty=3, idempotency_key="k-1"), headers=trader
    )

    assert first.status_code == 201
    assert "Idempotent-Replayed" not in first.headers
    assert again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert other.status_code == 409
    assert other.json()["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert len(client.get("/v1/orders", headers=trader).json()["items"]) == 1


def test_orders_with_repeated_key_of_a_rejection_replay_the_refusal(
    client: TestClient, trader: dict[str, str], account: str, option: str
) -> None:
    client.put(
        "/v1/risk/policy",
        json={"account": "paper-1", "params": {"max_order_size": {"value": "1"}}},
        headers=trader,
    )
    body = order(option, idempotency_key="k-2")

    first = client.post("/v1/orders", json=body, headers=trader)
    again = client.post("/v1/orders", json=body, headers=trader)

    assert first.status_code == again.status_code == 409
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["details"] == first.json()["details"]
    assert len(client.get("/v1/orders", headers=trader).json()["items"]) == 1


def test_orders_with_header_key_reach_the_desk_and_body_mismatch_is_422(
    client: TestClient, trader: dict[str, str], account: str, option: str
) -> None:
    first = client.post(
        "/v1/orders", json=order(option), headers=trader | {"Idempotency-Key": "h-1"}
    )
    mismatch = client.post(
        "/v1/orders",
        json=order(option, idempotency_key="b-1"),
        headers=trader | {"Idempotency-Key": "h-2"},
    )

    assert first.status_code == 201
    assert first.json()["idempotency_key"] == "h-1"
    assert mismatch.status_code == 422


def test_orders_with_viewer_or_foreign_account_are_refused(
    client: TestClient, users: Users, account: str, option: str
) -> None:
    viewer = client.post("/v1/orders", json=order(option), headers=users.headers["viewer"])
    foreign = client.post(
        "/v1/orders", json=order(option, account=account), headers=users.headers["other"]
    )
    bad_symbol = client.post(
        "/v1/orders", json=order("SPY250101C09990000"), headers=users.headers["trader"]
    )

    assert viewer.status_code == 403
    assert foreign.status_code == 404
    assert bad_symbol.status_code == 422


def test_orders_with_preview_give_the_verdict_and_write_nothing(
    client: TestClient, trader: dict[str, str], account: str, option: str
) -> None:
    client.put(
        "/v1/risk/policy",
        json={"account": "paper-1", "params": {"max_order_size": {"value": "1"}}},
        headers=trader,
    )

    response = client.post("/v1/orders/preview", json=order(option), headers=trader)

    assert response.status_code == 200, response.text
    assert response.json()["accepted"] is False
    assert response.json()["code"] == "RISK_BLOCKED"
    assert [c["rule"] for c in response.json()["checks"]] == ["max_order_size"]
    assert client.get("/v1/orders", headers=trader).json()["items"] == []


def test_orders_with_cancel_of_resting_order_cancel_once(
    client: TestClient, users: Users, account: str, option: str
) -> None:
    trader = users.headers["trader"]
    resting = client.post(
        "/v1/orders", json=order(option, order_type="limit", limit_price="0.01"), headers=trader
    ).json()
    path = f"/v1/orders/{resting['order_id']}/cancel"

    foreign = client.post(path, headers=users.headers["other"])
    cancelled = client.post(path, headers=trader)
    again = client.post(path, headers=trader)
    unknown = client.post(f"/v1/orders/{'0' * 32}/cancel", headers=trader)

    assert foreign.status_code == 404
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    assert again.status_code == 409
    assert unknown.status_code == 404
    assert client.get(f"/v1/orders/{'0' * 32}", headers=trader).status_code == 404


def test_orders_with_limit_are_paged_by_cursor_newest_first(
    client: TestClient, trader: dict[str, str], account: str, option: str, clock: Clock
) -> None:
    ids = []
    for i in range(3):
        clock.now = AS_OF + timedelta(seconds=1 + i)
        limit = order(option, order_type="limit", limit_price="0.01")
        ids.append(client.post("/v1/orders", json=limit, headers=trader).json()["order_id"])

    first = client.get("/v1/orders?account=paper-1&status=submitted&limit=2", headers=trader)
    cursor = first.json()["next_cursor"]
    second = client.get(f"/v1/orders?limit=2&cursor={cursor}", headers=trader).json()
    bad = client.get("/v1/orders?cursor=not-a-cursor", headers=trader)

    assert [o["order_id"] for o in first.json()["items"]] == ids[:0:-1]
    assert [o["order_id"] for o in second["items"]] == ids[:1]
    assert second["next_cursor"] is None
    assert bad.status_code == 400
    assert bad.json()["code"] == "INVALID_CURSOR"


def test_snapshots_with_a_nav_mark_list_it(
    app: FastAPI, client: TestClient, trader: dict[str, str], users: Users, account: str
) -> None:
    caller = Caller(actor="trader", user_id=users.ids["trader"], role="trader")
    trading.desk_for(app.state.riskdesk, caller).snapshot_nav(account)

    response = client.get(
        "/v1/portfolio/snapshots",
        params={"account": "paper-1", "from": AS_OF.isoformat()},
        headers=trader,
    )
    page = response.json()
    assert response.status_code == 200, response.text

    assert [s["nav"] for s in page["items"]] == ["100000.00"]
    assert page["items"][0]["account_id"] == account


# -- the market pass ---------------------------------------------------------------------------


def test_market_pass_with_the_market_through_a_resting_limit_fills_it_and_marks_nav(
    app: FastAPI,
    client: TestClient,
    users: Users,
    account: str,
    option: str,
    snapshot: MarketSnapshot,
) -> None:
    trader = users.headers["trader"]
    quote = next(q for q in snapshot.options if format_occ(q.contract) == option)
    assert quote.ask is not None
    limit = (quote.ask / 2).quantize(Decimal("0.01"))
    resting = client.post(
        "/v1/orders",
        json=order(option, order_type="limit", limit_price=str(limit), time_in_force="gtc"),
        headers=trader,
    ).json()
    quiet = client.post("/v1/paper/market-pass", headers=trader)
    # the market falls through the limit: the option is offered at half its former ask
    cheaper = replace(quote, bid=(limit - Decimal("0.02")), ask=limit, mark=limit - Decimal("0.01"))
    moved = replace(snapshot, options=tuple(cheaper if q is quote else q for q in snapshot.options))
    app.state.riskdesk.extras["paper_market"] = StaticMarket(moved)
    viewer = client.post("/v1/paper/market-pass", headers=users.headers["viewer"])
    passed = client.post("/v1/paper/market-pass", headers=trader)
    filled = client.get(f"/v1/orders/{resting['order_id']}", headers=trader).json()
    fills = client.get("/v1/fills?account=paper-1", headers=trader).json()["items"]
    nav = client.get("/v1/portfolio/snapshots?account=paper-1", headers=trader).json()["items"]
    cash = Decimal(client.get("/v1/accounts/paper-1", headers=trader).json()["cash"])

    assert resting["status"] == "submitted"
    assert quiet.status_code == 200
    assert quiet.json()["fills"] == 0
    assert viewer.status_code == 403
    assert passed.status_code == 200, passed.text
    assert passed.json()["fills"] == 1
    assert resting["order_id"] in passed.json()["orders_touched"]
    assert filled["status"] == "filled"
    assert len(fills) == 1
    price = Decimal(fills[0]["fill_price"])
    assert price <= limit  # a buy limit never fills above its price
    # cash = start - price x qty x multiplier - commission - fee, from the stored fill
    costs = Decimal(fills[0]["commission"]) + Decimal(fills[0]["fee"])
    assert (
        cash == Decimal(100000) - price * Decimal(fills[0]["qty"]) * fills[0]["multiplier"] - costs
    )
    assert len(nav) >= 1


# -- the venue's chain -------------------------------------------------------------------------


def test_paper_chain_with_an_expiry_answers_the_venue_quotes_orders_fill_against(
    client: TestClient, users: Users, snapshot: MarketSnapshot, option: str
) -> None:
    quote = next(q for q in snapshot.options if format_occ(q.contract) == option)
    expiry = quote.contract.expiry
    response = client.get(
        f"/v1/paper/chain/spy?expiry={expiry.isoformat()}", headers=users.headers["viewer"]
    )

    assert response.status_code == 200, response.text
    chain = response.json()
    expected = [q for q in snapshot.options if q.contract.expiry == expiry]
    assert chain["symbol"] == "SPY"
    assert Decimal(chain["spot"]) == snapshot.underlying("SPY").spot
    assert chain["expiries"] == sorted({q.contract.expiry.isoformat() for q in snapshot.options})
    assert len(chain["rows"]) == len(expected)
    row = next(r for r in chain["rows"] if r["symbol"] == option.replace(" ", ""))
    assert (Decimal(row["bid"]), Decimal(row["ask"])) == (quote.bid, quote.ask)
    assert Decimal(row["strike"]) == quote.contract.strike


def test_paper_chain_with_an_unquoted_symbol_is_404(client: TestClient, users: Users) -> None:
    response = client.get("/v1/paper/chain/QQQ", headers=users.headers["trader"])

    assert response.status_code == 404
    assert "QQQ" in response.json()["detail"]


def test_paper_chain_without_a_token_is_401(client: TestClient) -> None:
    assert client.get("/v1/paper/chain/SPY").status_code == 401
