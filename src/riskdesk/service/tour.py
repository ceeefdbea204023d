"""The demo's API tour: the same workbench job, asked of the HTTP service.

:func:`api_tour` serves the demo database in-process (the real ASGI application and its
middleware, over httpx's ASGI transport: no socket, no network), signs in as a throwaway
trader whose random password is generated for the tour and never shown, reads the chain,
evaluates a committed demo trade through ``POST /v1/evaluate`` and checks that the answer is
byte-for-byte the evaluation the workbench stored. The throwaway account is deactivated at
the end (its sessions revoked), so it cannot be used afterwards; the audit log keeps the
trail.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import statistics
import time
import uuid
from dataclasses import dataclass

import httpx

from riskdesk.config import Settings
from riskdesk.domain.caller import Caller
from riskdesk.domain.instruments import OptionContract, Stock
from riskdesk.domain.trades import TradeVersion
from riskdesk.store import Database

__all__ = ["ApiCall", "ApiTour", "api_tour"]

REPEATS = 5
"""Each timed call is made this many times; the median is reported."""


@dataclass(frozen=True, slots=True)
class ApiCall:
    """One request of the tour: what was asked, the status and its median latency."""

    method: str
    path: str
    status: int
    median_ms: float
    note: str


@dataclass(frozen=True, slots=True)
class ApiTour:
    """The tour's calls and whether the API's evaluation equals the stored one."""

    calls: list[ApiCall]
    trade_hash: str
    same_version: bool
    evaluation_sha256: str
    identical_to_workbench: bool


def _leg_body(leg: object) -> dict[str, object]:
    """The ``LegIn`` body of a domain leg (entry price and fees as given)."""
    from riskdesk.domain.trades import Leg

    assert isinstance(leg, Leg)
    instrument = leg.instrument
    if isinstance(instrument, OptionContract):
        spec: dict[str, object] = {
            "type": "option",
            "underlying": instrument.underlying,
            "expiry": instrument.expiry.isoformat(),
            "strike": str(instrument.strike),
            "right": instrument.right.value,
            "style": instrument.style.value,
        }
    else:
        assert isinstance(instrument, Stock)
        spec = {"type": "stock", "symbol": instrument.symbol}
    return {
        "instrument": spec,
        "quantity": str(leg.quantity),
        "price": str(leg.entry_price),
        "fees": str(leg.fees),
    }


async def _tour(
    settings: Settings,
    db: Database,
    *,
    version: TradeVersion,
    snapshot_id: uuid.UUID,
    stored_bytes: bytes,
) -> ApiTour:
    from riskdesk.service.app import create_app

    symbol = version.underlyings[0]
    app = create_app(settings, db=db)
    identity = app.state.riskdesk.identity
    username = f"tour-{secrets.token_hex(4)}"
    password = secrets.token_urlsafe(24)
    user = identity.create_user(
        Caller.local(),
        username=username,
        email=f"{username}@localhost",
        password=password,
        role="trader",
    )
    calls: list[ApiCall] = []
    body = b""
    committed_hash = ""
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
            async with httpx.AsyncClient(transport=transport, base_url="http://riskdesk") as c:

                async def timed(
                    method: str, path: str, note: str, **kwargs: object
                ) -> httpx.Response:
                    times = []
                    response = None
                    for _ in range(REPEATS):
                        start = time.perf_counter()
                        response = await c.request(method, path, **kwargs)  # type: ignore[arg-type]
                        times.append((time.perf_counter() - start) * 1000.0)
                    assert response is not None
                    calls.append(
                        ApiCall(method, path, response.status_code, statistics.median(times), note)
                    )
                    return response

                await timed("GET", "/v1/health", "liveness")
                await timed("GET", "/v1/ready", "database reachable, schema at head")
                login = await c.post(
                    "/v1/auth/login", json={"username": username, "password": password}
                )
                login.raise_for_status()
                calls.append(
                    ApiCall("POST", "/v1/auth/login", login.status_code, float("nan"), "argon2id")
                )
                auth = {"Authorization": f"Bearer {login.json()['access_token']}"}
                await timed(
                    "GET",
                    f"/v1/market/chains/{symbol}?snapshot={snapshot_id}",
                    "full chain of the pinned snapshot",
                    headers=auth,
                )
                draft = await c.post(
                    "/v1/trades/drafts",
                    headers=auth,
                    json={"name": version.name, "legs": [_leg_body(x) for x in version.legs]},
                )
                draft.raise_for_status()
                calls.append(
                    ApiCall(
                        "POST",
                        "/v1/trades/drafts",
                        draft.status_code,
                        float("nan"),
                        f"{len(version.legs)} legs, entry prices as committed",
                    )
                )
                commit = await c.post(
                    f"/v1/trades/drafts/{draft.json()['id']}/commit", headers=auth
                )
                commit.raise_for_status()
                committed = commit.json()
                committed_hash = str(committed["trade_hash"])
                calls.append(
                    ApiCall(
                        "POST",
                        "/v1/trades/drafts/{id}/commit",
                        commit.status_code,
                        float("nan"),
                        f"version {committed_hash[:12]}",
                    )
                )
                evaluated = await timed(
                    "POST",
                    "/v1/evaluate",
                    f"{version.name}, default config and grid",
                    headers=auth,
                    json={
                        "trade": {"version_id": str(committed["id"])},
                        "snapshot_id": str(snapshot_id),
                    },
                )
                body = evaluated.content
                await c.post("/v1/auth/logout", headers=auth)
    finally:
        identity.update_user(Caller.local(), user.id, is_active=False)
    return ApiTour(
        calls=calls,
        trade_hash=committed_hash,
        same_version=committed_hash == version.trade_hash,
        evaluation_sha256=hashlib.sha256(body).hexdigest(),
        identical_to_workbench=body == stored_bytes,
    )


def api_tour(
    settings: Settings,
    db: Database,
    *,
    version: TradeVersion,
    snapshot_id: uuid.UUID,
    stored_bytes: bytes,
) -> ApiTour:
    """Run the tour (see the module docstring) on ``db``."""
    return asyncio.run(
        _tour(settings, db, version=version, snapshot_id=snapshot_id, stored_bytes=stored_bytes)
    )
