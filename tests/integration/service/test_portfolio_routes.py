"""``/v1/portfolios`` and ``/v1/risk``: a book uploaded over HTTP and its risk measures.

The trader creates a portfolio and uploads a small book with one bad row; the history is
synthesized in the test; each risk route's JSON must equal the use case's ``to_dict()`` called
directly on the same database. Another trader gets 404s, a refused file is a 422 naming why,
a missing history a 409, a weekend date a 422, and ``as_job=true`` a job with the same result.
"""

from __future__ import annotations

import json
import time
from datetime import date
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from tests.integration.service.conftest import Users

from riskdesk.risk.history_usecases import PriceHistory
from riskdesk.risk.reports import RiskReports
from riskdesk.store.models.portfolio import PositionFactorBeta

ON = date(2026, 11, 20)
SATURDAY = date(2026, 11, 21)
SESSIONS = 200
CSV = {"Content-Type": "text/csv"}
BOOK = (
    "ticker,quantity,entry_price,entry_date,tags\n"
    "AAPL,100,200,2026-01-05,core\n"
    "MSFT,0,400,2026-01-05,core\n"
    "NVDA,-50,120,2026-01-05,\n"
    "AAPL261218C00230000,5,6,2026-01-05,spread\n"
    "AAPL261218C00245000,-5,2,2026-01-05,spread\n"
)


def _json(response: httpx.Response, status: int) -> Any:
    assert response.status_code == status, f"{response.status_code} {response.text[:500]}"
    return response.json()


def _plain(value: dict[str, Any]) -> Any:
    """``value`` as it comes back from JSON (tuples become lists)."""
    return json.loads(json.dumps(value))


def _book(client: TestClient, headers: dict[str, str], name: str = "growth") -> str:
    """A portfolio of the caller holding BOOK (the bad MSFT row rejected); its id."""
    portfolio = _json(client.post("/v1/portfolios", json={"name": name}, headers=headers), 201)
    _json(
        client.post(
            f"/v1/portfolios/{portfolio['id']}/positions/import?today={ON}",
            content=BOOK.encode(),
            headers=headers | CSV,
        ),
        200,
    )
    return str(portfolio["id"])


def _history(app: FastAPI) -> None:
    PriceHistory(app.state.riskdesk.db).synthesize(
        ["AAPL", "NVDA"], seed=11, end=ON, days=SESSIONS, include_factors=True
    )


def test_portfolio_routes_with_book_upload_report_rows_and_positions(
    client: TestClient, users: Users
) -> None:
    headers = users.headers["trader"]
    created = _json(
        client.post(
            "/v1/portfolios", json={"name": "growth", "description": "tech"}, headers=headers
        ),
        201,
    )

    report = _json(
        client.post(
            f"/v1/portfolios/{created['id']}/positions/import?today={ON}",
            content=BOOK.encode(),
            headers=headers | CSV,
        ),
        200,
    )
    again = _json(
        client.post(
            f"/v1/portfolios/{created['id']}/positions/import?today={ON}",
            content=BOOK.encode(),
            headers=headers | CSV,
        ),
        200,
    )
    detail = _json(client.get(f"/v1/portfolios/{created['id']}", headers=headers), 200)

    assert report["portfolio"] == {"id": created["id"], "name": "growth"}
    assert (report["data_rows"], report["imported"], report["rejected_count"]) == (5, 4, 1)
    [bad] = report["rejected"]
    assert (bad["line"], bad["column"], bad["value"]) == (3, "quantity", "0")
    assert bad["reason"]
    assert len(report["file_sha256"]) == 64
    assert (again["imported"], again["skipped_count"]) == (0, 4)
    types = {p["ticker"]: p["position_type"] for p in detail["positions"]}
    assert types == {
        "AAPL": "LONG",
        "NVDA": "SHORT",
        "AAPL261218C00230000": "LC",
        "AAPL261218C00245000": "SC",
    }
    assert detail["description"] == "tech"


def test_portfolio_list_with_two_pages_follows_the_cursor_and_shows_only_own(
    client: TestClient, users: Users
) -> None:
    headers = users.headers["trader"]
    ids = [
        _json(client.post("/v1/portfolios", json={"name": f"p{i}"}, headers=headers), 201)["id"]
        for i in range(3)
    ]
    _json(
        client.post("/v1/portfolios", json={"name": "theirs"}, headers=users.headers["other"]), 201
    )

    first = _json(client.get("/v1/portfolios?limit=2", headers=headers), 200)
    second = _json(
        client.get(
            "/v1/portfolios", params={"limit": 2, "cursor": first["next_cursor"]}, headers=headers
        ),
        200,
    )
    viewer = _json(client.get("/v1/portfolios", headers=users.headers["viewer"]), 200)

    listed = [p["id"] for p in first["items"] + second["items"]]
    assert listed == list(reversed(ids))
    assert second["next_cursor"] is None
    assert viewer["items"] == []


def test_risk_routes_with_synthesized_history_equal_the_use_cases(
    app: FastAPI, client: TestClient, users: Users
) -> None:
    headers = users.headers["trader"]
    pid = _book(client, headers)
    _history(app)
    direct = RiskReports(app.state.riskdesk.db)
    base = f"/v1/risk/{pid}"

    exposures = _json(client.get(f"{base}/exposures?date={ON}&benchmark=SPY", headers=headers), 200)
    greeks = _json(client.get(f"{base}/greeks?date={ON}&by=underlying", headers=headers), 200)
    factors = _json(client.post(f"{base}/factors?date={ON}&window=150", headers=headers), 200)
    stress = _json(
        client.get(f"{base}/stress?date={ON}&scenario=market_crash_35", headers=headers), 200
    )
    var = _json(client.get(f"{base}/var?date={ON}&window=60", headers=headers), 200)
    correlation = _json(
        client.post(f"{base}/correlation?date={ON}&window=60", headers=headers), 200
    )

    betas = direct.benchmark_betas(pid, ON, "SPY")
    assert exposures == _plain(direct.exposures(pid, ON, "SPY", betas=betas).to_dict())
    assert exposures["gross"] is not None
    # every underlying with enough history is beta-weighted, not only the benchmark itself
    weighted = exposures["beta_weighted"]
    assert weighted["missing_betas"] == []
    assert len(weighted["betas"]) > 1
    assert set(weighted["betas"]) <= set(betas)
    assert greeks == _plain(direct.greeks(pid, ON, by=("underlying",)).to_dict())
    assert factors == _plain(direct.factors(pid, ON, 150).to_dict())
    assert factors["window"] == 150
    expected_stress = direct.stress(pid, ON, ["market_crash_35"]).to_dict()
    assert stress == _plain(expected_stress)
    assert [s["key"] for s in stress["scenarios"]] == ["market_crash_35"]
    assert stress["scenarios"][0]["pnl"] == expected_stress["scenarios"][0]["pnl"]
    expected_var = direct.var(pid, ON, window=60).to_dict()
    assert var == _plain(expected_var)
    assert var["historical"][0]["var"] == expected_var["historical"][0]["var"]
    assert correlation == _plain(direct.correlation(pid, ON, 60).to_dict())


def test_var_with_as_job_answers_202_and_the_job_ends_with_the_same_result(
    app: FastAPI, client: TestClient, users: Users
) -> None:
    headers = users.headers["trader"]
    pid = _book(client, headers)
    _history(app)
    url = f"/v1/risk/{pid}/var?date={ON}&window=60"

    job = _json(client.get(f"{url}&as_job=true", headers=headers), 202)
    deadline = time.monotonic() + 60
    while job["status"] not in ("succeeded", "failed", "cancelled"):
        assert time.monotonic() < deadline, f"the job never finished: {job}"
        time.sleep(0.05)
        job = _json(client.get(f"/v1/jobs/{job['id']}", headers=headers), 200)
    now = _json(client.get(url, headers=headers), 200)

    assert job["kind"] == "risk.var"
    assert job["status"] == "succeeded", job
    assert job["result"] == now


def test_portfolio_routes_with_another_trader_answer_404(
    app: FastAPI, client: TestClient, users: Users
) -> None:
    pid = _book(client, users.headers["trader"])
    other = users.headers["other"]

    answers = [
        client.get(f"/v1/portfolios/{pid}", headers=other),
        client.post(
            f"/v1/portfolios/{pid}/positions/import?today={ON}",
            content=BOOK.encode(),
            headers=other | CSV,
        ),
        client.get(f"/v1/risk/{pid}/exposures?date={ON}", headers=other),
        client.get(f"/v1/risk/{pid}/var?date={ON}&window=60", headers=other),
        client.post(f"/v1/risk/{pid}/factors?date={ON}", headers=other),
    ]

    assert [a.status_code for a in answers] == [404] * len(answers)
    assert {a.json()["code"] for a in answers} == {"NOT_FOUND"}


def test_import_with_refused_file_is_a_422_problem_naming_why(
    client: TestClient, users: Users
) -> None:
    headers = users.headers["trader"]
    pid = _json(client.post("/v1/portfolios", json={"name": "p"}, headers=headers), 201)["id"]
    url = f"/v1/portfolios/{pid}/positions/import"

    no_header = client.post(url, content=b"AAPL,100,200,2026-01-05\n", headers=headers | CSV)
    empty = client.post(url, content=b"", headers=headers | CSV)
    bad_map = client.post(f"{url}?map=nonsense", content=BOOK.encode(), headers=headers | CSV)
    as_json = client.post(url, json=BOOK, headers=headers)
    too_big = client.post(url, content=b"x" * 2_100_000, headers=headers | CSV)

    for refused in (no_header, empty, bad_map):
        body = _json(refused, 422)
        assert body["code"] == "VALIDATION_ERROR"
        assert body["detail"].startswith("the book file is refused: ")
        assert body["errors"][0]["rule"] == "book_file"
    assert _json(as_json, 415)["code"] == "UNSUPPORTED_MEDIA_TYPE"
    assert _json(too_big, 413)["code"] == "PAYLOAD_TOO_LARGE"
    detail = _json(client.get(f"/v1/portfolios/{pid}", headers=headers), 200)
    assert detail["positions"] == []


def test_risk_routes_without_history_or_on_a_weekend_answer_409_and_422(
    client: TestClient, users: Users
) -> None:
    headers = users.headers["trader"]
    pid = _book(client, headers)

    missing = client.post(f"/v1/risk/{pid}/factors?date={ON}", headers=headers)
    weekend = client.get(f"/v1/risk/{pid}/exposures?date={SATURDAY}", headers=headers)
    viewer = client.post(f"/v1/risk/{pid}/factors?date={ON}", headers=users.headers["viewer"])

    problem = _json(missing, 409)
    assert problem["code"] == "CONFLICT"
    assert "riskdesk history synth" in problem["detail"]
    assert "not an NYSE session" in _json(weekend, 422)["detail"]
    assert _json(viewer, 403)["code"] == "FORBIDDEN"


def test_strategy_routes_with_group_and_ungroup_equal_the_use_case(
    client: TestClient, users: Users
) -> None:
    headers = users.headers["trader"]
    portfolio = _book(client, headers)
    before = _json(client.get(f"/v1/portfolios/{portfolio}/strategies", headers=headers), 200)
    assert [g["strategy_type"] for g in before["groups"]] == ["VERTICAL_CALL"]
    assert {leg["ticker"] for leg in before["ungrouped"]} == {"AAPL", "NVDA"}

    edit = _json(
        client.post(
            f"/v1/portfolios/{portfolio}/strategy-groups",
            json={"name": "pair", "positions": ["AAPL", "NVDA"]},
            headers=headers,
        ),
        200,
    )
    assert edit["group"] == "pair"
    assert edit["strategy_type"] == "CUSTOM"
    after = _json(client.get(f"/v1/portfolios/{portfolio}/strategies", headers=headers), 200)
    assert {g["name"]: g["user_defined"] for g in after["groups"]}["pair"] is True
    assert after["ungrouped"] == []
    detail = _json(client.get(f"/v1/portfolios/{portfolio}", headers=headers), 200)
    assert {p["ticker"]: p["strategy"] for p in detail["positions"]}["NVDA"] == "pair"

    bad = client.post(
        f"/v1/portfolios/{portfolio}/strategy-groups",
        json={"name": "x", "positions": ["TSLA"]},
        headers=headers,
    )
    assert bad.status_code == 404, bad.text
    undone = _json(
        client.post(
            f"/v1/portfolios/{portfolio}/strategy-groups/ungroup",
            json={"positions": ["AAPL", "NVDA"]},
            headers=headers,
        ),
        200,
    )
    assert undone["removed_groups"] == ["pair"]
    again = _json(client.get(f"/v1/portfolios/{portfolio}/strategies", headers=headers), 200)
    assert again == before


def test_stress_post_with_custom_scenario_equals_the_use_case(
    client: TestClient, users: Users, app: FastAPI
) -> None:
    headers = users.headers["trader"]
    portfolio = _book(client, headers)
    _history(app)
    mine = {
        "key": "tech_wreck",
        "name": "Tech wreck",
        "description": "growth down hard",
        "category": "rotation",
        "severity": "severe",
        "shocks": {"Market": -0.12, "Growth": -0.25},
    }
    body = {"scenarios": ["market_crash_35"], "custom": [mine]}
    got = _json(
        client.post(f"/v1/risk/{portfolio}/stress?date={ON}", json=body, headers=headers), 200
    )
    assert [s["key"] for s in got["scenarios"]] == ["market_crash_35", "tech_wreck"]
    direct = RiskReports(app.state.riskdesk.db).stress(
        "growth", ON, ["market_crash_35"], custom=[mine]
    )
    assert got == _plain(direct.to_dict()) | {"portfolio_id": got["portfolio_id"]}
    bad = client.post(
        f"/v1/risk/{portfolio}/stress?date={ON}",
        json={"custom": [mine | {"shocks": {"Oil": 0.1}}]},
        headers=headers,
    )
    assert bad.status_code == 422, bad.text
    assert "custom[0].shocks.Oil" in bad.text


def test_factors_get_with_history_answers_the_posts_figures_and_stores_nothing(
    app: FastAPI, client: TestClient, users: Users
) -> None:
    headers = users.headers["trader"]
    pid = _book(client, headers)
    _history(app)
    engine = app.state.riskdesk.db.engine
    url = f"/v1/risk/{pid}/factors?date={ON}&window=150"

    def stored() -> int:
        with engine.connect() as conn:
            return int(conn.scalar(select(func.count()).select_from(PositionFactorBeta)) or 0)

    viewed = _json(client.get(url, headers=headers), 200)
    after_get = stored()
    posted = _json(client.post(url, headers=headers), 200)
    direct = RiskReports(app.state.riskdesk.db).factors(pid, ON, 150, store=False).to_dict()

    assert after_get == 0
    assert stored() > 0  # the POST stores its rows; the GET did not
    # the same figures; only the count of stored rows differs
    assert set(viewed["stored"].values()) == {0}
    assert min(posted["stored"].values()) > 0
    assert {**viewed, "stored": None} == {**posted, "stored": None}
    assert viewed == _plain(direct)
    assert viewed["window"] == 150
