"""The authorization matrix: every route as anonymous, viewer, trader, admin and another trader.

The trader creates a snapshot, a draft with two legs, a committed version, an attribution, a
job, a model config and a scenario grid; then one test walks a table of rows (operation,
principal, expected outcome) and reports every mismatch at once.

* anonymous: 401 everywhere but health, readiness, login and refresh (which answer 401 for a
  wrong password or token on their own terms); WebSockets close with 4401.
* viewer: reads shared data and its own (empty) lists; 404 for the trader's private resources;
  403 for every workbench mutation and every admin route.
* trader: 2xx on every workbench route on its own resources; 403 on admin routes.
* other (a second trader) and admin: 404 for the trader's draft, legs, version, attribution
  and job -- never 403 -- with the very body (code, title, detail up to the id) of the 404 for
  a random id on the same route, so a 404 never confirms that a resource exists.

The table must hold a row for every principal on every operation of ``/openapi.json`` and every
WebSocket route of the app: a route added without rows fails the test. Rows run principal by
principal (the trader last), in table order: destructive calls (deactivate, delete the draft,
logout, change password) come last and logout uses a spare session.
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocketDisconnect
from tests.integration.service.conftest import Users

from riskdesk.adapters.simulated import generate_market
from riskdesk.config import Settings
from riskdesk.domain.caller import Caller
from riskdesk.domain.occ import format_occ
from riskdesk.risk.history_usecases import PriceHistory
from riskdesk.streaming.manager import StreamManager
from riskdesk.trading.desk import StaticMarket

PRINCIPALS = ("anonymous", "viewer", "other", "admin", "trader")
"""Every principal, in the order their rows run (the trader's own edits and deletes last)."""

PRIVATE = (
    "draft",
    "leg1",
    "leg2",
    "version",
    "attribution",
    "job",
    "portfolio",
    "whatif",
    "account",
    "order",
)
"""The trader's private resources: anyone else gets a 404 for them."""

HTTP_METHODS = frozenset({"get", "put", "post", "patch", "delete", "head", "options", "trace"})
WEBSOCKETS = frozenset(
    {
        "/v1/ws/market/{symbol}",
        "/v1/ws/jobs/{job_id}",
        "/v1/ws/events",
        "/v1/ws/trading",
        "/v1/ws/stream",
    }
)

AS_OF = "2026-11-20T15:00:00Z"
BROKER_CLOSED = {
    "broker": "ibkr",
    "account": "DU000001",
    "url": "tws://127.0.0.1:1",
    "timeout_s": 2,
}
"""A broker read of TWS on a port nothing listens on (a 504 problem for any trader)."""
SNAPSHOT = {"seed": 11, "as_of": AS_OF, "symbols": ["SPY"]}
CONFIG = {"vol_source": "PROVIDER_IV"}
GRID = {"spot_min": -5, "spot_max": 5, "spot_steps": 11, "vol_shifts": [-2, 0, 2], "n_dates": 3}
STOCK_LEG = {"instrument": {"type": "stock", "symbol": "SPY"}, "quantity": "10", "price": "600"}
NEW_USER = {
    "username": "matrix-new",
    "email": "matrix-new@example.test",
    "password": "a fresh passphrase 01",
    "role": "viewer",
}
CONFIG_KEY = "matrix.max_daily_loss"
RISK_ON = date(2026, 11, 20)
BOOK_CSV = b"ticker,quantity,entry_price,entry_date,tags\nAAPL,10,200,2026-01-05,core\n"
RISK = "/v1/risk/{portfolio}"
WHATIF = "/v1/modeling-sessions/{whatif}"
WHATIF_ROUTE = "/v1/modeling-sessions/{session_id}"
WHATIF_WINDOWS = {"factor_window": 60, "var_window": 60}
PAPER_AS_OF = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)  # a Friday: SPY lists a 0DTE expiry
SPY_BUY = {"legs": [{"symbol": "SPY", "side": "buy"}], "qty": 1}
STREAM_SOURCES = {"sources": [{"broker": "simulated", "account": "SIM-MATRIX", "rate": 20.0}]}

Ids = Mapping[str, str]
Body = Callable[[Ids], Any]
"""A row's body: JSON, or bytes sent as it is with ``Content-Type: text/csv``."""


@pytest.fixture
def service_settings(service_settings: Settings) -> Settings:
    """The conftest settings with a short synthetic expiry horizon (fast snapshots)."""
    return service_settings.model_copy(update={"market_max_days": 60})


@dataclass
class Ctx:
    """The client, the users and the ids of every resource rows refer to."""

    client: TestClient
    users: Users
    ids: dict[str, str]

    def headers(self, who: str) -> dict[str, str]:
        """The Authorization header of ``who``'s main session (none for anonymous)."""
        return {} if who == "anonymous" else dict(self.users.headers[who])

    def token(self, who: str) -> str | None:
        """The access token of ``who``'s main session."""
        return None if who == "anonymous" else self.users.headers[who]["Authorization"][7:]


@dataclass(frozen=True)
class Row:
    """One call: an operation as one principal, and the outcome it must have.

    ``expect`` is an HTTP status, or for a WebSocket ``"close 4401"`` / ``"message <type>"``.
    ``path`` and ``body`` are filled from the resource ids (``{draft}``, ``{leg1}``, ...).
    """

    method: str
    route: str
    who: str
    expect: int | str
    path: str
    body: Body | None = None
    check: Callable[[Ctx, str, httpx.Response], str | None] | None = None
    capture: Callable[[Ctx, httpx.Response], None] | None = None
    session: str | None = None  # an ids key holding the access token to use instead


def op(
    method: str,
    route: str,
    expect: Mapping[str, int | str],
    *,
    path: str | None = None,
    body: Body | None = None,
    check: Callable[[Ctx, str, httpx.Response], str | None] | None = None,
    per: Mapping[str, Mapping[str, Any]] | None = None,
) -> list[Row]:
    """The rows of one operation: one per principal in ``expect``, ``per`` overriding fields."""
    rows = []
    for who, status in expect.items():
        row = Row(method, route, who, status, path or route, body, check)
        if per and who in per:
            row = dataclasses.replace(row, **per[who])
        rows.append(row)
    return rows


def everyone(ok: int | str, anonymous: int | str = 401) -> dict[str, int | str]:
    """Every logged-in principal ``ok``; anonymous ``anonymous``."""
    return {"anonymous": anonymous} | {who: ok for who in PRINCIPALS[1:]}


def private(trader: int | str, viewer: int | str = 404) -> dict[str, int | str]:
    """The trader's private resource: the trader ``trader``, everyone else a 404."""
    return {"anonymous": 401, "viewer": viewer, "other": 404, "admin": 404, "trader": trader}


def private_write(trader: int) -> dict[str, int | str]:
    """A workbench edit of the trader's resource: viewers are refused by role first."""
    return private(trader, viewer=403)


def shared_write(trader: int, other: int, admin: int) -> dict[str, int | str]:
    """Storing shared data: every trader (an admin is one too), never a viewer."""
    return {"anonymous": 401, "viewer": 403, "other": other, "admin": admin, "trader": trader}


def admin_only(ok: int) -> dict[str, int | str]:
    """An admin route."""
    return {"anonymous": 401, "viewer": 403, "other": 403, "admin": ok, "trader": 403}


def listing(key: str) -> Callable[[Ctx, str, httpx.Response], str | None]:
    """A list holds the trader's ``key`` for the trader and for nobody else."""

    def check(ctx: Ctx, who: str, response: httpx.Response) -> str | None:
        listed = {item["id"] for item in response.json()["items"]}
        if (ctx.ids[key] in listed) != (who == "trader"):
            verb = "misses" if who == "trader" else "shows"
            return f"the list {verb} the trader's {key} {ctx.ids[key]}"
        return None

    return check


def is_me(ctx: Ctx, who: str, response: httpx.Response) -> str | None:
    """``/v1/auth/me`` names the caller."""
    name = response.json()["username"]
    return None if name == who else f"me answered {name!r}"


def capture_leg(ctx: Ctx, response: httpx.Response) -> None:
    """Remember the leg the trader added (its id ends the Location header)."""
    ctx.ids["leg_new"] = response.headers["Location"].rsplit("/", 1)[1]


def capture_snapshot(ctx: Ctx, response: httpx.Response) -> None:
    """Remember the snapshot the trader's refresh stored."""
    ctx.ids["snap_refreshed"] = response.json()["snapshot_id"]


def matrix() -> list[Row]:
    """Every row, in table order (which is the order of each principal's calls)."""
    refresh_as = {
        who: {"body": lambda _i, m=minutes: {"minutes": m, "seed": 11}}
        for who, minutes in (("other", 3), ("admin", 4))
    }
    rows: list[Row] = [
        *op("GET", "/v1/health", everyone(200, anonymous=200)),
        *op("GET", "/v1/ready", everyone(200, anonymous=200)),
        *op(
            "POST",
            "/v1/auth/login",
            everyone(200),
            body=lambda i: {"username": i["me"], "password": i["password"]},
            per={"anonymous": {"body": lambda _i: {"username": "trader", "password": "wrong"}}},
        ),
        *op(
            "POST",
            "/v1/auth/refresh",
            everyone(200),
            body=lambda i: {"refresh_token": i["spare_refresh"]},
            per={"anonymous": {"body": lambda _i: {"refresh_token": "not-a-refresh-token"}}},
        ),
        *op("GET", "/v1/auth/me", everyone(200), check=is_me),
        # market and snapshots: shared data
        *op("GET", "/v1/market/symbols", everyone(200)),
        *op("GET", "/v1/market/chains/{symbol}", everyone(200), path="/v1/market/chains/SPY"),
        *op("GET", "/v1/market/quotes/{symbol}", everyone(200), path="/v1/market/quotes/SPY"),
        *op("GET", "/v1/snapshots", everyone(200)),
        *op("GET", "/v1/snapshots/{snapshot_id}", everyone(200), path="/v1/snapshots/{snap}"),
        *op(
            "GET",
            "/v1/snapshots/{snapshot_id}/diagnostics",
            everyone(200),
            path="/v1/snapshots/{snap}/diagnostics",
        ),
        *op(
            "POST",
            "/v1/snapshots",
            shared_write(trader=201, other=200, admin=200),
            body=lambda _i: SNAPSHOT,
            per={"trader": {"body": lambda _i: SNAPSHOT | {"seed": 12}}},
        ),
        *op(
            "POST",
            "/v1/snapshots/{snapshot_id}/refresh",
            shared_write(trader=201, other=201, admin=201),
            path="/v1/snapshots/{snap}/refresh",
            body=lambda _i: {"minutes": 2, "seed": 11},
            per={**refresh_as, "trader": {"capture": capture_snapshot}},
        ),
        *op(
            "POST",
            "/v1/snapshots/{snapshot_id}/pin",
            shared_write(trader=201, other=201, admin=200),
            path="/v1/snapshots/{snap}/pin",
            per={"trader": {"path": "/v1/snapshots/{snap_refreshed}/pin"}},
        ),
        # model configs and scenario grids: shared, get-or-create by hash
        *op("GET", "/v1/model-configs", everyone(200)),
        *op(
            "GET", "/v1/model-configs/{config_id}", everyone(200), path="/v1/model-configs/{config}"
        ),
        *op(
            "POST",
            "/v1/model-configs",
            shared_write(trader=201, other=200, admin=200),
            body=lambda _i: CONFIG,
            per={"trader": {"body": lambda _i: {"time_basis": "trading"}}},
        ),
        *op("GET", "/v1/scenario-grids", everyone(200)),
        *op("GET", "/v1/scenario-grids/{grid_id}", everyone(200), path="/v1/scenario-grids/{grid}"),
        *op(
            "POST",
            "/v1/scenario-grids",
            shared_write(trader=201, other=200, admin=200),
            body=lambda _i: GRID,
            per={"trader": {"body": lambda _i: GRID | {"spot_steps": 5}}},
        ),
        # the trader's private resources, read
        *op("GET", "/v1/trades/drafts", everyone(200), check=listing("draft")),
        *op("GET", "/v1/trades/drafts/{draft_id}", private(200), path="/v1/trades/drafts/{draft}"),
        *op("GET", "/v1/trades/versions", everyone(200), check=listing("version")),
        *op(
            "GET",
            "/v1/trades/versions/{version_id}",
            private(200),
            path="/v1/trades/versions/{version}",
        ),
        *op(
            "GET",
            "/v1/attribution/{attribution_id}",
            private(200),
            path="/v1/attribution/{attribution}",
        ),
        *op("GET", "/v1/jobs", everyone(200), check=listing("job")),
        *op("GET", "/v1/jobs/{job_id}", private(200), path="/v1/jobs/{job}"),
        # analytics on the trader's trades
        *op(
            "POST",
            "/v1/evaluate",
            private_write(200),
            body=lambda i: {
                "trade": {"draft_id": i["draft"]},
                "snapshot_id": i["snap"],
                "model_config_id": i["config"],
                "scenario_grid_id": i["grid"],
            },
        ),
        *op(
            "POST",
            "/v1/compare",
            private_write(200),
            body=lambda i: {
                "a": {"version_id": i["version"]},
                "b": {"draft_id": i["draft"]},
                "snapshot_id": i["snap"],
                "scenario_grid_id": i["grid"],
            },
        ),
        *op(
            "POST",
            "/v1/attribution",
            private_write(201),
            body=lambda i: {
                "trade": {"draft_id": i["draft"]},
                "base_snapshot_id": i["snap"],
                "days": 2,
            },
        ),
        # drafts and legs
        *op(
            "POST",
            "/v1/trades/drafts",
            shared_write(trader=201, other=201, admin=201),
            body=lambda _i: {"name": "a draft of one's own", "legs": [STOCK_LEG]},
        ),
        *op(
            "PATCH",
            "/v1/trades/drafts/{draft_id}",
            private_write(200),
            path="/v1/trades/drafts/{draft}",
            body=lambda _i: {"name": "renamed"},
        ),
        *op(
            "POST",
            "/v1/trades/drafts/{draft_id}/legs",
            private_write(201),
            path="/v1/trades/drafts/{draft}/legs",
            body=lambda _i: STOCK_LEG | {"quantity": "-5"},
            per={"trader": {"capture": capture_leg}},
        ),
        *op(
            "PATCH",
            "/v1/trades/drafts/{draft_id}/legs/{leg_id}",
            private_write(200),
            path="/v1/trades/drafts/{draft}/legs/{leg1}",
            body=lambda _i: {"quantity": "20"},
        ),
        *op(
            "POST",
            "/v1/trades/drafts/{draft_id}/legs/{leg_id}/toggle",
            private_write(200),
            path="/v1/trades/drafts/{draft}/legs/{leg1}/toggle",
        ),
        *op(
            "DELETE",
            "/v1/trades/drafts/{draft_id}/legs/{leg_id}",
            private_write(200),
            path="/v1/trades/drafts/{draft}/legs/{leg2}",
            per={"trader": {"path": "/v1/trades/drafts/{draft}/legs/{leg_new}"}},
        ),
        *op(
            "POST",
            "/v1/trades/drafts/{draft_id}/commit",
            private_write(201),
            path="/v1/trades/drafts/{draft}/commit",
        ),
        # portfolios and their risk: the trader's portfolio is private to it
        *op(
            "POST",
            "/v1/portfolios",
            shared_write(trader=201, other=201, admin=201),
            body=lambda _i: {"name": "a book of one's own"},
        ),
        *op("GET", "/v1/portfolios", everyone(200), check=listing("portfolio")),
        *op(
            "GET",
            "/v1/portfolios/{portfolio_id}",
            private(200),
            path="/v1/portfolios/{portfolio}",
        ),
        *op(
            "POST",
            "/v1/portfolios/{portfolio_id}/positions/import",
            private_write(200),
            path=f"/v1/portfolios/{{portfolio}}/positions/import?today={RISK_ON}",
            body=lambda _i: BOOK_CSV,
        ),
        *op(
            "GET",
            "/v1/portfolios/{portfolio_id}/strategies",
            private(200),
            path="/v1/portfolios/{portfolio}/strategies",
        ),
        *op(
            "POST",
            "/v1/portfolios/{portfolio_id}/strategy-groups",
            private_write(200),
            path="/v1/portfolios/{portfolio}/strategy-groups",
            body=lambda _i: {"name": "core", "positions": ["AAPL"]},
        ),
        *op(
            "POST",
            "/v1/portfolios/{portfolio_id}/strategy-groups/ungroup",
            private_write(200),
            path="/v1/portfolios/{portfolio}/strategy-groups/ungroup",
            body=lambda _i: {"positions": ["AAPL"]},
        ),
        *op(
            "GET",
            "/v1/risk/{portfolio_id}/exposures",
            private(200),
            path=f"{RISK}/exposures?date={RISK_ON}",
        ),
        *op(
            "GET",
            "/v1/risk/{portfolio_id}/greeks",
            private(200),
            path=f"{RISK}/greeks?date={RISK_ON}",
        ),
        *op(
            "GET",
            "/v1/risk/{portfolio_id}/factors",
            private(200),
            path=f"{RISK}/factors?date={RISK_ON}&window=60",
        ),
        *op(
            "POST",
            "/v1/risk/{portfolio_id}/factors",
            private_write(200),
            path=f"{RISK}/factors?date={RISK_ON}&window=60",
        ),
        *op(
            "POST",
            "/v1/risk/{portfolio_id}/correlation",
            private_write(200),
            path=f"{RISK}/correlation?date={RISK_ON}&window=20",
        ),
        *op(
            "GET",
            "/v1/risk/{portfolio_id}/stress",
            private(200),
            path=f"{RISK}/stress?date={RISK_ON}&window=60&scenario=market_crash_35",
        ),
        *op(
            "POST",
            "/v1/risk/{portfolio_id}/stress",
            private(200),
            path=f"{RISK}/stress?date={RISK_ON}",
            body=lambda _i: {"scenarios": ["market_crash_35"]},
        ),
        *op(
            "GET",
            "/v1/risk/{portfolio_id}/var",
            private(200),
            path=f"{RISK}/var?date={RISK_ON}&window=60",
        ),
        *op(
            "GET",
            "/v1/risk/{portfolio_id}/backtest",
            private(200),
            path=f"{RISK}/backtest?date={RISK_ON}&window=20&days=20",
        ),
        # seed 001's regime (market-wide: every logged-in principal) and the squeeze tiers of
        # the trader's book (private)
        *op(
            "GET",
            "/v1/risk/{portfolio_id}/squeeze",
            private(200),
            path=f"{RISK}/squeeze?on={RISK_ON}",
        ),
        *op("GET", "/v1/risk/regime", everyone(200), path=f"/v1/risk/regime?on={RISK_ON}"),
        *op(
            "POST",
            "/v1/risk/regime",
            shared_write(trader=200, other=200, admin=200),
            path=f"/v1/risk/regime?on={RISK_ON}",
        ),
        *op("GET", "/v1/risk-events", everyone(200), path="/v1/risk-events?severity=critical"),
        # the daily batch: a trader runs its own portfolios, an admin everyone's (a job each;
        # the day after the stored history, so every portfolio fails fast at its prices step);
        # everyone reads the audit log of the portfolios it may see
        *op(
            "POST",
            "/v1/batch/runs",
            shared_write(trader=202, other=202, admin=202),
            body=lambda _i: {"date": "2026-11-23"},
        ),
        *op("GET", "/v1/batch/runs", everyone(200), path=f"/v1/batch/runs?date={RISK_ON}"),
        # what-if sessions: the trader's session (on its portfolio) is private to it; the
        # trader completes it, so its cancel after that is a 409 (a closed session)
        *op(
            "POST",
            "/v1/modeling-sessions",
            private_write(201),
            body=lambda i: {"portfolio_id": i["portfolio"], "date": RISK_ON.isoformat()},
        ),
        *op("GET", "/v1/modeling-sessions", everyone(200), check=listing("whatif")),
        *op("GET", WHATIF_ROUTE, private(200), path=WHATIF),
        *op(
            "POST",
            f"{WHATIF_ROUTE}/positions",
            private_write(200),
            path=f"{WHATIF}/positions",
            body=lambda _i: {"symbol": "MSFT", "quantity": "5", "price": "400"},
        ),
        *op(
            "POST",
            f"{WHATIF_ROUTE}/positions/resize",
            private_write(200),
            path=f"{WHATIF}/positions/resize",
            body=lambda _i: {"symbol": "AAPL", "quantity": "20"},
        ),
        *op(
            "POST",
            f"{WHATIF_ROUTE}/positions/remove",
            private_write(200),
            path=f"{WHATIF}/positions/remove",
            body=lambda _i: {"symbol": "MSFT"},
        ),
        *op(
            "POST",
            f"{WHATIF_ROUTE}/compare",
            private_write(200),
            path=f"{WHATIF}/compare?factor_window=60&var_window=60",
        ),
        *op(
            "POST",
            f"{WHATIF_ROUTE}/hedge",
            private_write(200),
            path=f"{WHATIF}/hedge",
            body=lambda _i: {"method": "delta"},
        ),
        *op(
            "POST",
            f"{WHATIF_ROUTE}/export",
            private_write(200),
            path=f"{WHATIF}/export",
            body=lambda _i: {"format": "csv"} | WHATIF_WINDOWS,
        ),
        *op("POST", f"{WHATIF_ROUTE}/complete", private_write(200), path=f"{WHATIF}/complete"),
        *op("POST", f"{WHATIF_ROUTE}/cancel", private_write(409), path=f"{WHATIF}/cancel"),
        # a viewer may cancel its own jobs: the trader's job is a 404 to it, not a 403
        *op("POST", "/v1/jobs/{job_id}/cancel", private(200), path="/v1/jobs/{job}/cancel"),
        # admin: system config, audit, users (the throwaway user "spare" is deactivated last)
        *op(
            "PUT",
            "/v1/system/config/{key}",
            admin_only(200),
            path=f"/v1/system/config/{CONFIG_KEY}",
            body=lambda _i: {"value": "2500.00", "config_type": "decimal"},
        ),
        *op("GET", "/v1/system/config", admin_only(200)),
        *op(
            "GET",
            "/v1/system/config/{key}",
            admin_only(200),
            path=f"/v1/system/config/{CONFIG_KEY}",
        ),
        *op("GET", "/v1/audit", admin_only(200)),
        *op("GET", "/v1/users", admin_only(200)),
        *op("POST", "/v1/users", admin_only(201), body=lambda _i: NEW_USER),
        *op("GET", "/v1/users/{user_id}", admin_only(200), path="/v1/users/{spare_user}"),
        *op(
            "POST",
            "/v1/users/{user_id}/password",
            admin_only(204),
            path="/v1/users/{spare_user}/password",
            body=lambda _i: {"new_password": "a reset passphrase 02"},
        ),
        *op(
            "DELETE",
            "/v1/users/{user_id}/sessions",
            admin_only(200),
            path="/v1/users/{spare_user}/sessions",
        ),
        *op(
            "PATCH",
            "/v1/users/{user_id}",
            admin_only(200),
            path="/v1/users/{spare_user}",
            body=lambda _i: {"is_active": False},
        ),
        # paper trading: the trader's account and its orders are private
        *op(
            "POST",
            "/v1/accounts",
            shared_write(trader=201, other=201, admin=201),
            body=lambda i: {"name": f"matrix-own-{i['me']}", "cash": "1000"},
        ),
        *op("GET", "/v1/accounts", everyone(200)),
        *op("GET", "/v1/accounts/{ref}", private(200), path="/v1/accounts/{account}"),
        *op(
            "GET",
            "/v1/accounts/{ref}/reconciliation",
            private(200),
            path="/v1/accounts/{account}/reconciliation",
        ),
        *op("GET", "/v1/risk/policy", private(200), path="/v1/risk/policy?account={account}"),
        *op(
            "PUT",
            "/v1/risk/policy",
            private_write(200),
            body=lambda i: {
                "account": i["account"],
                "params": {"max_order_size": {"value": "1000000"}},
            },
        ),
        *op("GET", "/v1/risk/events", everyone(200)),
        *op(
            "POST",
            "/v1/orders/preview",
            private_write(200),
            body=lambda i: {"account": i["account"], **SPY_BUY},
        ),
        *op(
            "POST",
            "/v1/orders",
            private_write(201),
            body=lambda i: {"account": i["account"], **SPY_BUY},
        ),
        *op("GET", "/v1/orders", everyone(200)),
        *op("GET", "/v1/orders/{order_id}", private(200), path="/v1/orders/{order}"),
        *op("GET", "/v1/fills", everyone(200)),
        *op("GET", "/v1/positions", everyone(200)),
        *op("GET", "/v1/portfolio/snapshots", everyone(200)),
        *op("GET", "/v1/kill-switch", everyone(200)),
        *op(
            "POST",
            "/v1/kill-switch",
            shared_write(trader=200, other=200, admin=200),
            body=lambda _i: {"enabled": False, "reason": "matrix check"},
        ),
        *op(
            "POST",
            "/v1/trade/cycle",
            private_write(202),
            body=lambda i: {
                "account": i["account"],
                "idempotency_key": "matrix-cycle",
                "trigger_source": "matrix",
                "symbol": "SPY",
            },
        ),
        *op(
            "POST",
            "/v1/orders/{order_id}/cancel",
            private_write(200),
            path="/v1/orders/{order}/cancel",
        ),
        # signals: shared desk data
        *op("GET", "/v1/signals", everyone(200)),
        *op("GET", "/v1/signals/{signal_id}", everyone(200), path="/v1/signals/{signal}"),
        *op(
            "POST",
            "/v1/signals",
            shared_write(trader=201, other=201, admin=201),
            body=lambda i: {
                "symbol": "SPY",
                "direction": "neutral",
                "confidence": "0.5",
                "legs": [{"symbol": i["signal_occ"], "side": "buy"}],
            },
        ),
        *op(
            "POST",
            "/v1/signals/from-template",
            shared_write(trader=201, other=201, admin=201),
            body=lambda i: {
                "template": "straddle",
                "symbol": "SPY",
                "expiry": i["signal_expiry"],
                "confidence": "0.5",
            },
        ),
        *op(
            "POST",
            "/v1/signals/{signal_id}/cancel",
            {"anonymous": 401, "viewer": 403, "other": 200, "admin": 409, "trader": 409},
            path="/v1/signals/{signal}/cancel",
        ),
        # performance of the caller's own accounts (the trader's has no NAV history: 409)
        *op("GET", "/v1/performance", private(409), path="/v1/performance?account={account}"),
        *op(
            "GET",
            "/v1/performance/tax-lots",
            private(200),
            path="/v1/performance/tax-lots?account={account}&format=csv",
        ),
        # the venue's pass over the market for the caller's accounts (after performance: the
        # pass marks NAV, which gives the trader's account a history)
        *op("POST", "/v1/paper/market-pass", shared_write(trader=200, other=200, admin=200)),
        # the venue's chain now: market data, readable by everyone logged in
        *op("GET", "/v1/paper/chain/{symbol}", everyone(200), path="/v1/paper/chain/SPY"),
        # venue smoke runs: operational records, shared
        *op("GET", "/v1/smoke-runs", everyone(200)),
        *op("POST", "/v1/smoke-runs", shared_write(trader=201, other=201, admin=201)),
        # streaming Greeks and the seed-003 trade log: shared data, traders write the log
        *op("GET", "/v1/greeks/latest", everyone(200)),
        *op("GET", "/v1/greeks/history", everyone(200)),
        *op("GET", "/v1/greeks/count", everyone(200)),
        *op("GET", "/v1/tradelog", everyone(200)),
        *op(
            "POST",
            "/v1/tradelog",
            shared_write(trader=201, other=201, admin=201),
            body=lambda _i: {
                "broker": "tastytrade",
                "account_id": "5WT00001",
                "symbol": "SPY",
                "action": "BUY_TO_OPEN",
                "quantity": "1",
            },
        ),
        # the in-process Greeks stream: desk-wide; each trader (an admin too) starts one,
        # reads it and stops it in turn, so every start finds none running
        *op(
            "POST",
            "/v1/stream/start",
            shared_write(trader=201, other=201, admin=201),
            body=lambda _i: STREAM_SOURCES,
        ),
        *op("GET", "/v1/stream/status", everyone(200)),
        *op("GET", "/v1/stream/latest", everyone(200)),
        *op("POST", "/v1/stream/stop", shared_write(trader=200, other=200, admin=200)),
        # broker reads (flow 9): traders connect out, viewers never; TWS on a closed loopback
        # port answers every trader with the broker problem (504), proving the role passed
        *op(
            "POST",
            "/v1/brokers/positions",
            shared_write(trader=504, other=504, admin=504),
            body=lambda _i: BROKER_CLOSED,
        ),
        *op(
            "POST",
            "/v1/snapshots/broker",
            shared_write(trader=504, other=504, admin=504),
            body=lambda _i: BROKER_CLOSED,
        ),
        # destructive, last: the trader deletes its draft (the version stays)
        *op(
            "DELETE",
            "/v1/trades/drafts/{draft_id}",
            private_write(204),
            path="/v1/trades/drafts/{draft}",
        ),
        # WebSockets
        *op(
            "WS",
            "/v1/ws/market/{symbol}",
            everyone("message quote", anonymous="close 4401"),
            path="/v1/ws/market/SPY",
        ),
        *op("WS", "/v1/ws/events", everyone("message hello", anonymous="close 4401")),
        *op("WS", "/v1/ws/trading", everyone("message state", anonymous="close 4401")),
        *op("WS", "/v1/ws/stream", everyone("message status", anonymous="close 4401")),
        *op(
            "WS",
            "/v1/ws/jobs/{job_id}",
            {who: "close 4404" for who in ("viewer", "other", "admin")}
            | {"anonymous": "close 4401", "trader": "message job"},
            path="/v1/ws/jobs/{job}",
        ),
        # sessions end: logout on a spare session, then the password change ends them all
        *op(
            "POST",
            "/v1/auth/logout",
            everyone(204),
            per={w: {"session": "leave_access"} for w in PRINCIPALS[1:]},
        ),
        *op(
            "POST",
            "/v1/auth/password",
            everyone(204),
            body=lambda i: {"current_password": i["password"], "new_password": i["password"] + "!"},
        ),
    ]
    return rows


# -- setup -----------------------------------------------------------------------------------


def _ok(response: httpx.Response, *statuses: int) -> dict[str, Any]:
    assert response.status_code in statuses, (
        f"setup {response.request.method} {response.request.url.path}: "
        f"{response.status_code} {response.text[:500]}"
    )
    body: dict[str, Any] = response.json()
    return body


def _option_leg(client: TestClient, headers: dict[str, str], snapshot_id: str) -> dict[str, Any]:
    """A short put near the money, priced from the snapshot's bid."""
    chain = _ok(client.get(f"/v1/market/chains/SPY?snapshot={snapshot_id}", headers=headers), 200)
    expiry = chain["expiries"][1]
    spot = Decimal(chain["spot"])
    rows = [
        r
        for r in chain["rows"]
        if r["expiry"] == expiry and r["right"] == "P" and r["bid"] is not None
    ]
    strike = min((Decimal(r["strike"]) for r in rows), key=lambda k: abs(k - spot))
    return {
        "instrument": {
            "type": "option",
            "underlying": "SPY",
            "expiry": expiry,
            "strike": str(strike),
            "right": "P",
        },
        "quantity": "-1",
        "snapshot": snapshot_id,
    }


def _wait_finished(client: TestClient, headers: dict[str, str], job_id: str) -> None:
    deadline = time.monotonic() + 30
    job = _ok(client.get(f"/v1/jobs/{job_id}", headers=headers), 200)
    while job["status"] not in ("succeeded", "failed", "cancelled"):
        assert time.monotonic() < deadline, f"setup job never finished: {job}"
        time.sleep(0.02)
        job = _ok(client.get(f"/v1/jobs/{job_id}", headers=headers), 200)
    # the job's outcome is not the matrix's business (only who may see it): any end will do


def _setup(app: FastAPI, client: TestClient, users: Users, tmp_path: Path) -> Ctx:
    """The trader's resources, a throwaway user for admin routes, a stream journal of its own."""
    headers = users.headers["trader"]
    state = app.state.riskdesk
    state.stream = StreamManager(state.db, journal_dir=tmp_path / "stream-journal")
    snap = _ok(client.post("/v1/snapshots", json=SNAPSHOT, headers=headers), 201)["snapshot_id"]
    legs = [STOCK_LEG, _option_leg(client, headers, snap)]
    draft = _ok(
        client.post("/v1/trades/drafts", json={"name": "matrix", "legs": legs}, headers=headers),
        201,
    )
    version = _ok(client.post(f"/v1/trades/drafts/{draft['id']}/commit", headers=headers), 201)
    attribution = _ok(
        client.post(
            "/v1/attribution",
            json={"trade": {"version_id": version["id"]}, "base_snapshot_id": snap, "days": 1},
            headers=headers,
        ),
        201,
    )
    config = _ok(client.post("/v1/model-configs", json=CONFIG, headers=headers), 201)
    grid = _ok(client.post("/v1/scenario-grids", json=GRID, headers=headers), 201)
    job = _ok(
        client.post(
            f"/v1/snapshots/{snap}/refresh?as_job=true",
            json={"minutes": 1, "seed": 11},
            headers=headers,
        ),
        202,
    )
    _wait_finished(client, headers, job["id"])
    portfolio = _ok(client.post("/v1/portfolios", json={"name": "matrix"}, headers=headers), 201)
    _ok(
        client.post(
            f"/v1/portfolios/{portfolio['id']}/positions/import?today={RISK_ON}",
            content=BOOK_CSV,
            headers=headers | {"Content-Type": "text/csv"},
        ),
        200,
    )
    PriceHistory(app.state.riskdesk.db).synthesize(
        ["AAPL"], seed=11, end=RISK_ON, days=90, include_factors=True, include_regime=True
    )
    whatif = _ok(
        client.post(
            "/v1/modeling-sessions",
            json={"portfolio_id": portfolio["id"], "date": RISK_ON.isoformat()},
            headers=headers,
        ),
        201,
    )
    spare = app.state.riskdesk.identity.create_user(
        Caller.local(),
        username="spare",
        email="spare@example.test",
        password="spare-password-0005",
        role="trader",
    )
    # paper trading on a fixed market and clock (a Friday: SPY lists a same-day expiry)
    market = generate_market(seed=11, as_of=PAPER_AS_OF, symbols=["SPY"], max_expiry_days=45)
    app.state.riskdesk.extras["paper_market"] = StaticMarket(market)
    app.state.riskdesk.extras["paper_clock"] = lambda: PAPER_AS_OF + timedelta(seconds=1)
    account = _ok(
        client.post(
            "/v1/accounts", json={"name": "matrix-paper", "cash": "100000"}, headers=headers
        ),
        201,
    )
    order = _ok(
        client.post(
            "/v1/orders",
            json={
                "account": account["account_id"],
                **SPY_BUY,
                "order_type": "limit",
                "limit_price": "0.01",
                "time_in_force": "gtc",
            },
            headers=headers,
        ),
        201,
    )
    expiry = sorted({q.contract.expiry for q in market.options})[1]
    quote = next(q for q in market.options if q.contract.expiry == expiry and q.bid and q.ask)
    signal = _ok(
        client.post(
            "/v1/signals/from-template",
            json={
                "template": "straddle",
                "symbol": "SPY",
                "expiry": expiry.isoformat(),
                "confidence": "0.5",
            },
            headers=headers,
        ),
        201,
    )
    ids = {
        "account": account["account_id"],
        "order": order["order_id"],
        "signal": signal["id"],
        "signal_expiry": expiry.isoformat(),
        "signal_occ": format_occ(quote.contract),
        "snap": snap,
        "draft": draft["id"],
        "leg1": draft["legs"][0]["leg_id"],
        "leg2": draft["legs"][1]["leg_id"],
        "version": version["id"],
        "attribution": attribution["id"],
        "job": job["id"],
        "config": config["id"],
        "grid": grid["id"],
        "spare_user": str(spare.id),
        "portfolio": portfolio["id"],
        "whatif": whatif["id"],
    }
    return Ctx(client, users, ids)


def _ids_of(ctx: Ctx, who: str) -> dict[str, str]:
    """The resource ids plus ``who``'s own login material (spare sessions made on first use)."""
    ids = dict(ctx.ids)
    if who == "anonymous":  # a body that would be fine, but no credentials
        return ids | {"me": "anonymous", "password": "not-anyones-password"}
    key = f"{who}:spare_refresh"
    if key not in ctx.ids:
        password = ctx.users.passwords[who]
        for name in ("spare", "leave"):
            pair = _ok(
                ctx.client.post("/v1/auth/login", json={"username": who, "password": password}),
                200,
            )
            ctx.ids[f"{who}:{name}_refresh"] = pair["refresh_token"]
            ctx.ids[f"{who}:{name}_access"] = pair["access_token"]
    for name in ("spare_refresh", "leave_access"):
        ids[name] = ctx.ids[f"{who}:{name}"]
    return ids | {"me": who, "password": ctx.users.passwords[who]}


# -- running rows ----------------------------------------------------------------------------


def _request(ctx: Ctx, row: Row, ids: Ids) -> httpx.Response:
    headers = ctx.headers(row.who)
    if row.session is not None:
        headers = {"Authorization": f"Bearer {ids[row.session]}"}
    body = None if row.body is None else row.body(ids)
    if isinstance(body, bytes):  # a file upload: the bytes themselves, as CSV
        upload: httpx.Response = ctx.client.request(
            row.method,
            row.path.format_map(ids),
            content=body,
            headers=headers | {"Content-Type": "text/csv"},
        )
        return upload
    response: httpx.Response = ctx.client.request(
        row.method, row.path.format_map(ids), json=body, headers=headers
    )
    return response


def _socket(ctx: Ctx, row: Row, ids: Ids) -> str:
    """``"message <type>"`` of the first message, or ``"close <code>: <reason>"``."""
    url = row.path.format_map(ids)
    token = ctx.token(row.who)
    if token is not None:
        url += f"?access_token={token}"
    try:
        with ctx.client.websocket_connect(url) as websocket:
            return f"message {websocket.receive_json().get('type')}"
    except WebSocketDisconnect as exc:
        return f"close {exc.code}: {exc.reason}"


def _random_twin(ids: Ids) -> dict[str, str]:
    """``ids`` with every private resource replaced by a random id."""
    return dict(ids) | {key: str(uuid.uuid4()) for key in PRIVATE}


def _masked(text: str, *idsets: Ids) -> str:
    for ids in idsets:
        for key in PRIVATE:
            ident = uuid.UUID(ids[key])
            text = text.replace(str(ident), "<id>").replace(ident.hex, "<id>")
    return text


def _problem(response: httpx.Response, *idsets: Ids) -> dict[str, Any]:
    body = response.json()
    return {
        "status": response.status_code,
        "content_type": response.headers.get("content-type"),
        "type": body.get("type"),
        "title": body.get("title"),
        "code": body.get("code"),
        "detail": _masked(str(body.get("detail")), *idsets),
    }


def _run(ctx: Ctx, row: Row) -> str | None:
    """The mismatch of ``row`` (None when it behaved as designed)."""
    ids = _ids_of(ctx, row.who)
    label = f"{row.method} {row.path.format_map(ids)} as {row.who}"
    if row.method == "WS":
        got = _socket(ctx, row, ids)
        if got.split(":")[0] != row.expect:
            return f"{label}: expected {row.expect}, got {got}"
        if row.expect == "close 4404":
            twin = _random_twin(ids)
            random_got = _socket(ctx, row, twin)
            if random_got != got:
                return f"{label}: closes {got!r} but a random id closes {random_got!r}"
        return None
    response = _request(ctx, row, ids)
    if response.status_code != row.expect:
        return f"{label}: expected {row.expect}, got {response.status_code} {response.text[:300]}"
    if row.expect == 404:
        twin = _random_twin(ids)
        mine, random = _problem(response, ids), _problem(_request(ctx, row, twin), twin)
        if mine != random:
            return f"{label}: the 404 differs from a random id's: {mine} != {random}"
    if row.check is not None and response.is_success:
        problem = row.check(ctx, row.who, response)
        if problem is not None:
            return f"{label}: {problem}"
    if row.capture is not None:
        row.capture(ctx, response)
    return None


def _operations(app: FastAPI, client: TestClient) -> set[tuple[str, str]]:
    """Every HTTP operation of the OpenAPI document and every WebSocket route of the app."""
    paths: dict[str, dict[str, Any]] = client.get("/openapi.json").json()["paths"]
    ops = {(m.upper(), p) for p, item in paths.items() for m in item if m in HTTP_METHODS}
    # routers are included lazily: walk their route contexts, not app.routes
    sockets = {
        context.path
        for context in iter_route_contexts(app.routes)
        if isinstance(context.original_route, WebSocketRoute) and context.path is not None
    }
    assert sockets >= WEBSOCKETS, f"WebSocket routes not found on the app: {WEBSOCKETS - sockets}"
    return ops | {("WS", path) for path in sockets}


def _ordered(rows: list[Row]) -> Iterator[Row]:
    for who in PRINCIPALS:
        yield from (row for row in rows if row.who == who)


def test_authz_matrix_with_every_route_and_principal_matches_the_design(
    app: FastAPI, client: TestClient, users: Users, tmp_path: Path
) -> None:
    rows = matrix()
    operations = _operations(app, client)
    covered: dict[tuple[str, str], set[str]] = {}
    for row in rows:
        covered.setdefault((row.method, row.route), set()).add(row.who)
    missing = {key: set(PRINCIPALS) - covered.get(key, set()) for key in operations}
    gaps = [f"{m} {r}: no row for {sorted(who)}" for (m, r), who in sorted(missing.items()) if who]
    gaps += [
        f"{m} {r}: a row for an operation the service lacks" for m, r in covered.keys() - operations
    ]
    assert not gaps, "the matrix does not cover the service:\n" + "\n".join(gaps)

    ctx = _setup(app, client, users, tmp_path)
    mismatches = [problem for row in _ordered(rows) if (problem := _run(ctx, row)) is not None]

    assert not mismatches, f"{len(mismatches)} of {len(rows)} calls differ from the design:\n" + (
        "\n".join(mismatches)
    )
