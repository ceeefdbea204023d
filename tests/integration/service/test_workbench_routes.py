"""The workbench behind the service: market, snapshots, trades, configs and analytics over HTTP.

In-process (TestClient) against a migrated database; the main flow also runs on PostgreSQL.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from tests.integration.service.conftest import Users

from riskdesk.analytics import evaluate as analytics_evaluate
from riskdesk.config import Settings
from riskdesk.domain.caller import Caller
from riskdesk.domain.configs import ModelConfig, ScenarioGrid
from riskdesk.domain.hashing import canonical_json
from riskdesk.store import Database
from riskdesk.store.models import AuditLog
from riskdesk.workbench.usecases import Workbench

AS_OF = "2026-11-20T15:00:00Z"
GRID = {
    "spot_range_kind": "PERCENT",
    "spot_min": -5,
    "spot_max": 5,
    "spot_steps": 11,
    "vol_shifts": [-2, 0, 2],
    "n_dates": 3,
}


@pytest.fixture
def service_settings(service_settings: Settings) -> Settings:
    """The conftest settings with a short synthetic expiry horizon (fast snapshots)."""
    return service_settings.model_copy(update={"market_max_days": 60})


def _snapshot(client: TestClient, headers: dict[str, str]) -> dict[str, Any]:
    response = client.post(
        "/v1/snapshots",
        json={"seed": 11, "as_of": AS_OF, "symbols": ["SPY"]},
        headers=headers,
    )
    assert response.status_code in (200, 201), response.text
    body: dict[str, Any] = response.json()
    return body


def _condor_legs(
    client: TestClient, headers: dict[str, str], snapshot_id: str
) -> list[dict[str, Any]]:
    """Four iron-condor legs on the chain's third expiry, taken from the snapshot."""
    chain = client.get(f"/v1/market/chains/SPY?snapshot={snapshot_id}", headers=headers)
    assert chain.status_code == 200, chain.text
    body = chain.json()
    expiry = body["expiries"][2]
    spot = Decimal(body["spot"])
    rows = client.get(
        f"/v1/market/chains/SPY?snapshot={snapshot_id}&expiry={expiry}", headers=headers
    ).json()["rows"]
    strikes = sorted({Decimal(r["strike"]) for r in rows if r["bid"] is not None})
    below = [k for k in strikes if k < spot]
    above = [k for k in strikes if k > spot]
    plan = [
        ("P", below[-8], "1"),
        ("P", below[-3], "-1"),
        ("C", above[2], "-1"),
        ("C", above[7], "1"),
    ]
    return [
        {
            "instrument": {
                "type": "option",
                "underlying": "SPY",
                "expiry": expiry,
                "strike": str(strike),
                "right": right,
            },
            "quantity": qty,
            "snapshot": snapshot_id,
        }
        for right, strike, qty in plan
    ]


def _build_draft(client: TestClient, headers: dict[str, str], snapshot_id: str) -> dict[str, Any]:
    created = client.post("/v1/trades/drafts", json={"name": "SPY condor"}, headers=headers)
    assert created.status_code == 201, created.text
    assert created.headers["ETag"] == '"1"'
    draft = created.json()
    for leg in _condor_legs(client, headers, snapshot_id):
        added = client.post(f"/v1/trades/drafts/{draft['id']}/legs", json=leg, headers=headers)
        assert added.status_code == 201, added.text
        draft = added.json()
    assert len(draft["legs"]) == 4
    return draft


@pytest.mark.parametrize("service_backend", ["sqlite", "postgres"], indirect=True)
def test_workbench_routes_with_full_flow_match_direct_use_cases(
    app: FastAPI, client: TestClient, users: Users, service_db: Database, service_backend: str
) -> None:
    headers = users.headers["trader"]
    snap = _snapshot(client, headers)
    again = client.post(
        "/v1/snapshots", json={"seed": 11, "as_of": AS_OF, "symbols": ["SPY"]}, headers=headers
    )
    assert (snap["created"], again.status_code) == (True, 200)
    assert again.json()["snapshot_id"] == snap["snapshot_id"]
    quote = client.get("/v1/market/quotes/SPY", headers=users.headers["viewer"])
    assert quote.status_code == 200
    assert quote.json()["snapshot_id"] == snap["snapshot_id"]

    draft = _build_draft(client, headers, snap["snapshot_id"])
    body = {
        "trade": {"draft_id": draft["id"]},
        "snapshot_id": snap["snapshot_id"],
        "model_config": {"vol_source": "MID_IV"},
        "scenario_grid": GRID,
    }
    miss = client.post("/v1/evaluate", json=body, headers=headers)
    hit = client.post("/v1/evaluate", json=body, headers=headers)
    assert (miss.status_code, hit.status_code) == (200, 200), miss.text
    assert (miss.headers["X-Cache"], hit.headers["X-Cache"]) == ("miss", "hit")
    assert miss.content == hit.content

    direct = Workbench(service_db).evaluate(
        f"draft:{draft['id']}",
        snap["snapshot_id"],
        ModelConfig(),
        ScenarioGrid.from_dict(GRID),
    )
    assert direct.output_bytes == miss.content
    stored_draft = Workbench(service_db).load_draft(draft["id"]).draft
    snapshot = Workbench(service_db).load_snapshot(snap["snapshot_id"]).snapshot
    fresh = analytics_evaluate(stored_draft, snapshot, ModelConfig(), ScenarioGrid.from_dict(GRID))
    assert canonical_json(fresh.to_json_dict()).encode() == miss.content

    committed = client.post(f"/v1/trades/drafts/{draft['id']}/commit", headers=headers)
    assert committed.status_code == 201, committed.text
    version = committed.json()
    compared = client.post(
        "/v1/compare",
        json={
            "a": {"version_id": version["id"]},
            "b": {"draft_id": draft["id"]},
            "snapshot_id": snap["snapshot_id"],
            "scenario_grid": GRID,
        },
        headers=headers,
    )
    assert compared.status_code == 200, compared.text
    assert {"a", "b"} <= set(compared.json())
    attributed = client.post(
        "/v1/attribution",
        json={
            "trade": {"version_id": version["id"]},
            "base_snapshot_id": snap["snapshot_id"],
            "days": 5,
        },
        headers=headers,
    )
    assert attributed.status_code == 201, attributed.text
    attribution = attributed.json()
    fetched = client.get(f"/v1/attribution/{attribution['id']}", headers=headers)
    assert fetched.status_code == 200
    assert fetched.json()["result"] == attribution["result"]
    assert attribution["trade_ref_type"] == "VERSION"


def test_workbench_routes_with_other_trader_hide_drafts_versions_and_attributions(
    client: TestClient, users: Users
) -> None:
    headers = users.headers["trader"]
    other = users.headers["other"]
    snap = _snapshot(client, headers)
    draft = _build_draft(client, headers, snap["snapshot_id"])
    version = client.post(f"/v1/trades/drafts/{draft['id']}/commit", headers=headers).json()
    attribution = client.post(
        "/v1/attribution",
        json={
            "trade": {"draft_id": draft["id"]},
            "base_snapshot_id": snap["snapshot_id"],
            "days": 1,
        },
        headers=headers,
    ).json()

    missing = str(uuid.uuid4())
    for path, ident in (
        ("/v1/trades/drafts/{}", draft["id"]),
        ("/v1/trades/versions/{}", version["id"]),
        ("/v1/attribution/{}", attribution["id"]),
    ):
        theirs = client.get(path.format(ident), headers=other)
        absent = client.get(path.format(missing), headers=other)
        assert theirs.status_code == absent.status_code == 404
        assert theirs.json()["detail"].replace(ident, "X") == absent.json()["detail"].replace(
            missing, "X"
        )
    for path in ("/v1/trades/drafts", "/v1/trades/versions"):
        assert client.get(path, headers=other).json()["items"] == []
        assert len(client.get(path, headers=headers).json()["items"]) == 1
    evaluated = client.post(
        "/v1/evaluate",
        json={"trade": {"draft_id": draft["id"]}, "snapshot_id": snap["snapshot_id"]},
        headers=other,
    )
    edited = client.post(
        f"/v1/trades/drafts/{draft['id']}/legs/{draft['legs'][0]['leg_id']}/toggle", headers=other
    )
    assert (evaluated.status_code, edited.status_code) == (404, 404)
    # the same content committed by the other trader is theirs too (versions are shared)
    assert client.get(f"/v1/trades/versions/{version['id']}", headers=headers).status_code == 200


def test_draft_list_with_limit_two_pages_each_draft_once_newest_first(
    client: TestClient, users: Users
) -> None:
    headers = users.headers["trader"]
    made = [
        client.post("/v1/trades/drafts", json={"name": f"d{i}"}, headers=headers).json()
        for i in range(5)
    ]
    client.post("/v1/trades/drafts", json={"name": "not mine"}, headers=users.headers["other"])
    seen: list[dict[str, Any]] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 2} | ({} if cursor is None else {"cursor": cursor})
        page = client.get("/v1/trades/drafts", params=params, headers=headers).json()
        pages += 1
        seen.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert sorted(d["id"] for d in seen) == sorted(d["id"] for d in made)
    keys = [(datetime.fromisoformat(d["created_at"]), uuid.UUID(d["id"])) for d in seen]
    assert keys == sorted(keys, reverse=True)


def test_draft_list_with_tampered_cursor_is_400(client: TestClient, users: Users) -> None:
    headers = users.headers["trader"]
    for i in range(3):
        client.post("/v1/trades/drafts", json={"name": f"d{i}"}, headers=headers)
    cursor = client.get("/v1/trades/drafts?limit=1", headers=headers).json()["next_cursor"]
    tampered = cursor[:-2] + ("AA" if cursor[-2:] != "AA" else "BB")
    response = client.get(
        "/v1/trades/drafts", params={"limit": 1, "cursor": tampered}, headers=headers
    )
    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_CURSOR"


def test_add_leg_with_non_numeric_quantity_is_422_naming_the_field(
    client: TestClient, users: Users
) -> None:
    headers = users.headers["trader"]
    draft = client.post("/v1/trades/drafts", json={"name": "bad"}, headers=headers).json()
    leg = {"instrument": {"type": "stock", "symbol": "SPY"}, "quantity": "ten", "price": "600"}
    response = client.post(f"/v1/trades/drafts/{draft['id']}/legs", json=leg, headers=headers)
    assert response.status_code == 422
    problem = response.json()
    assert problem["code"] == "VALIDATION_ERROR"
    assert any(e["field"].endswith("quantity") for e in problem["errors"])
    assert "quantity" in problem["detail"]


def test_draft_edit_with_stale_if_match_is_409_and_fresh_one_applies(
    client: TestClient, users: Users
) -> None:
    headers = users.headers["trader"]
    draft = client.post("/v1/trades/drafts", json={"name": "v1"}, headers=headers).json()
    path = f"/v1/trades/drafts/{draft['id']}"
    renamed = client.patch(path, json={"name": "v2"}, headers=headers | {"If-Match": '"1"'})
    stale = client.patch(path, json={"name": "v3"}, headers=headers | {"If-Match": '"1"'})
    assert renamed.status_code == 200, renamed.text
    assert renamed.headers["ETag"] == '"2"'
    assert stale.status_code == 409
    assert "rev 2" in stale.json()["detail"]
    leg = {"instrument": {"type": "stock", "symbol": "SPY"}, "quantity": 10, "price": 600.5}
    added = client.post(f"{path}/legs", json=leg, headers=headers | {"If-Match": '"2"'})
    assert added.status_code == 201, added.text
    leg_id = added.json()["legs"][0]["leg_id"]
    patched = client.patch(
        f"{path}/legs/{leg_id}", json={"quantity": "-5", "entry_price": "601.25"}, headers=headers
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["legs"][0]["quantity"] == "-5"
    assert patched.json()["legs"][0]["entry_price"] == "601.25"
    assert client.delete(path, headers=headers | {"If-Match": '"3"'}).status_code == 409
    assert client.delete(path, headers=headers).status_code == 204
    assert client.get(path, headers=headers).status_code == 404


def test_workbench_mutations_with_viewer_are_403_and_reads_200(
    client: TestClient, users: Users
) -> None:
    viewer = users.headers["viewer"]
    assert client.post("/v1/trades/drafts", json={"name": "x"}, headers=viewer).status_code == 403
    assert (
        client.post("/v1/snapshots", json={"symbols": ["SPY"]}, headers=viewer).status_code == 403
    )
    assert client.post("/v1/model-configs", json={}, headers=viewer).status_code == 403
    for path in (
        "/v1/market/symbols",
        "/v1/snapshots",
        "/v1/model-configs",
        "/v1/scenario-grids",
        "/v1/trades/drafts",
        "/v1/trades/versions",
    ):
        assert client.get(path, headers=viewer).status_code == 200, path


def test_configs_with_same_settings_twice_are_201_then_200_with_one_id(
    client: TestClient, users: Users
) -> None:
    headers = users.headers["trader"]
    first = client.post("/v1/model-configs", json={"time_basis": "trading"}, headers=headers)
    second = client.post("/v1/model-configs", json={"time_basis": "trading"}, headers=headers)
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"]
    assert first.json()["config"]["time_basis"] == "trading"
    grid = client.post("/v1/scenario-grids", json=GRID, headers=headers)
    assert grid.status_code == 201, grid.text
    fetched = client.get(f"/v1/scenario-grids/{grid.json()['id']}", headers=headers)
    assert fetched.json()["grid"]["spot_steps"] == 11
    bad = client.post("/v1/scenario-grids", json={"spot_min": 5, "spot_max": 1}, headers=headers)
    assert bad.status_code == 422
    assert "spot_min" in bad.json()["detail"]


def test_snapshot_routes_with_refresh_pin_and_diagnostics_answer_stored_snapshots(
    client: TestClient, users: Users
) -> None:
    headers = users.headers["trader"]
    snap = _snapshot(client, headers)
    sid = snap["snapshot_id"]
    refreshed = client.post(
        f"/v1/snapshots/{sid}/refresh", json={"minutes": 5, "seed": 11}, headers=headers
    )
    assert refreshed.status_code == 201, refreshed.text
    assert refreshed.json()["as_of"].startswith("2026-11-20T15:05")
    quote = client.get("/v1/market/quotes/SPY", headers=headers).json()
    assert quote["snapshot_id"] == refreshed.json()["snapshot_id"]
    pinned = client.post(f"/v1/snapshots/{sid}/pin", headers=headers)
    assert (pinned.status_code, pinned.json()["mode"]) == (201, "PINNED")
    listed = client.get("/v1/snapshots", headers=headers).json()["items"]
    assert len(listed) == 3
    diagnostics = client.get(f"/v1/snapshots/{sid}/diagnostics", headers=headers)
    assert diagnostics.status_code == 200
    assert "iv_status" in diagnostics.json()
    chain = client.get("/v1/market/chains/SPY", headers=headers).json()
    assert chain["snapshot_id"] == refreshed.json()["snapshot_id"]  # newest LIVE by as_of
    expiry = date.fromisoformat(chain["expiries"][0])
    assert expiry >= datetime(2026, 11, 20, tzinfo=UTC).date()


def test_workbench_use_cases_with_scoped_caller_record_user_in_audit(
    service_db: Database, users: Users
) -> None:
    caller = Caller(
        actor="trader", user_id=users.ids["trader"], role="trader", ip_address="10.0.0.9"
    )
    draft = Workbench(service_db, caller).new_draft("audited")
    with service_db.unit_of_work() as uow:
        row = uow.session.scalars(
            select(AuditLog).where(AuditLog.resource_id == str(draft.draft_id))
        ).one()
    assert (row.user_id, row.ip_address, row.actor) == (caller.user_id, "10.0.0.9", "trader")
    other = Caller(actor="other", user_id=users.ids["other"], role="trader")
    assert Workbench(service_db, other).list_drafts().items == ()
    assert [d.draft_id for d in Workbench(service_db).list_drafts()] == [draft.draft_id]


def test_evaluate_with_as_job_answers_202_and_the_job_holds_the_same_result(
    client: TestClient, users: Users
) -> None:
    headers = users.headers["trader"]
    snap = _snapshot(client, headers)
    draft = _build_draft(client, headers, snap["snapshot_id"])
    body = {
        "trade": {"draft_id": draft["id"]},
        "snapshot_id": snap["snapshot_id"],
        "scenario_grid": GRID,
    }
    accepted = client.post("/v1/evaluate?as_job=true", json=body, headers=headers)
    assert accepted.status_code == 202, accepted.text
    job_id = accepted.json()["id"]
    deadline = time.monotonic() + 60
    job = accepted.json()
    while job["status"] not in ("succeeded", "failed", "cancelled") and time.monotonic() < deadline:
        time.sleep(0.05)
        job = client.get(f"/v1/jobs/{job_id}", headers=headers).json()
    assert job["status"] == "succeeded", job
    direct = client.post("/v1/evaluate", json=body, headers=headers)
    assert direct.headers["X-Cache"] == "hit"
    assert job["result"]["result"] == json.loads(direct.content)


def test_create_draft_with_legs_and_one_bad_leg_stores_nothing(
    client: TestClient, users: Users
) -> None:
    headers = users.headers["trader"]
    snap = _snapshot(client, headers)
    legs = _condor_legs(client, headers, snap["snapshot_id"])
    bad = [*legs[:2], legs[2] | {"instrument": legs[2]["instrument"] | {"strike": "1.5"}}]
    refused = client.post("/v1/trades/drafts", json={"name": "c", "legs": bad}, headers=headers)
    made = client.post("/v1/trades/drafts", json={"name": "c", "legs": legs}, headers=headers)
    assert refused.status_code == 404, refused.text  # no quote for that strike
    assert made.status_code == 201, made.text
    assert [leg["quantity"] for leg in made.json()["legs"]] == ["1", "-1", "-1", "1"]
    assert len(client.get("/v1/trades/drafts", headers=headers).json()["items"]) == 1
