"""The Streaming page in Chromium: start a simulated stream, watch it live, stop, history.

Visible numbers are checked against the service's own ``/v1`` reads made with httpx after
the stream stopped (``/v1/stream/status``, ``/v1/greeks/latest``, ``/v1/greeks/history``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import httpx
import pytest

from conftest import WebServer, api_client, shoot

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

ACCOUNT = "SIM00042"
FIELDS = ("delta", "gamma", "theta", "vega", "implied_volatility", "underlying_price")
DIGITS = {"delta": 4, "gamma": 4, "theta": 4, "vega": 4, "implied_volatility": 2}


@pytest.fixture
def api(web_server: WebServer) -> Iterator[httpx.Client]:
    """An httpx client logged in as the trader; stops a stream a failed test left running."""
    with api_client(web_server) as client:
        yield client
        if client.get("/v1/stream/status").json()["running"]:
            client.post("/v1/stream/stop")


def _eventually(check: Callable[[], None], timeout: float = 15.0) -> None:
    """Run ``check`` until it stops raising AssertionError (the page updates once a second)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            check()
            return
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.25)


def _open_stream_page(page: Any) -> None:
    page.get_by_test_id("nav-stream").click()
    page.get_by_test_id("sessions").wait_for()
    page.locator('[data-testid="stream-live"]', has_text="live").wait_for()


def _row(page: Any, contract: str, account: str = ACCOUNT) -> Any:
    key = f"simulated|{account}|{contract}"
    return page.locator(f'[data-testid="greek-row"][data-key="{key}"]')


def _cell(page: Any, contract: str, field: str) -> Any:
    return _row(page, contract).locator(f'td[data-field="{field}"]')


def _shown(text: str) -> float:
    return float(text.replace(",", "").split()[-1])


def _history_count(api: httpx.Client, item: dict[str, Any]) -> int:
    params = {
        "broker": item["broker"],
        "account_id": item["account_id"],
        "contract_key": item["contract_key"],
        "limit": 200,
    }
    total = 0
    cursor: str | None = None
    while True:
        page = api.get("/v1/greeks/history", params=params | ({"cursor": cursor} if cursor else {}))
        assert page.status_code == 200, page.text
        body = page.json()
        total += len(body["items"])
        cursor = body["next_cursor"]
        if not cursor:
            return total


def test_stream_page_with_a_simulated_stream_shows_live_state_latest_greeks_and_final_counts(
    page_for: Callable[..., Any], api: httpx.Client
) -> None:
    page = page_for("trader", theme="light")
    _open_stream_page(page)

    page.get_by_test_id("stream-broker").select_option("simulated")
    page.get_by_test_id("stream-account").fill(ACCOUNT)
    page.get_by_test_id("stream-seed").fill("11")
    page.get_by_test_id("stream-rate").fill("30")
    page.get_by_test_id("stream-account").press("Enter")

    session = page.locator(f'[data-testid="session-row"][data-session="simulated/{ACCOUNT}"]')
    session.get_by_test_id("session-state").filter(has_text="connected").wait_for()
    received = session.get_by_test_id("session-received")
    first = int(received.get_attribute("data-value") or "0")
    page.wait_for_function(
        "([n]) => Number(document.querySelector('[data-testid=session-received]')"
        ".dataset.value) > n",
        arg=[first],
    )
    rows = page.get_by_test_id("greek-row")
    rows.first.wait_for()
    contract = rows.first.get_attribute("data-contract")
    assert contract is not None
    before = _cell(page, contract, "event_time").get_attribute("data-value")
    page.wait_for_function(
        "([c, t]) => { const td = document.querySelector("
        '`[data-testid=greek-row][data-contract="${c}"] td[data-field=event_time]`);'
        " return td && td.dataset.value !== t; }",
        arg=[contract, before],
    )
    assert page.get_by_test_id("greeks-source").inner_text() == "live view"
    assert page.get_by_test_id("stream-start").is_disabled()
    shoot(page, "stream-live")

    page.get_by_test_id("stream-stop").click()
    result = page.get_by_test_id("stream-stop-result")
    result.filter(has_text="drained").wait_for()
    page.locator('[data-testid="greeks-source"]', has_text="stored").wait_for()

    status = api.get("/v1/stream/status").json()
    assert status["running"] is False
    totals = status["status"]["totals"]
    shown = {
        name: int(page.get_by_test_id(f"total-{name}").get_attribute("data-value") or "-1")
        for name in ("received", "journaled", "persisted", "deduped")
    }
    assert shown == {k: totals[k] for k in shown}
    assert totals["received"] > first
    assert totals["persisted"] + totals["deduped"] == totals["journaled"]
    assert "Stopped: drained" in result.inner_text()
    assert page.get_by_test_id("stream-drained").inner_text() == "drained"
    assert page.get_by_test_id("stream-start").is_enabled()

    latest = api.get("/v1/greeks/latest", params={"account_id": ACCOUNT, "limit": 1000}).json()
    items = latest["items"]
    assert len(items) >= 2

    def table_matches_latest() -> None:
        assert rows.count() == len(items)
        for item in items:
            key = item["contract_key"]
            for field in FIELDS:
                cell = _cell(page, key, field)
                assert float(cell.get_attribute("data-value") or "nan") == item[field], (key, field)
                scale = 100 if field == "implied_volatility" else 1
                digits = DIGITS.get(field, 2)
                assert (
                    abs(_shown(cell.inner_text()) - item[field] * scale) <= 0.5 * 10**-digits + 1e-9
                )
            assert _cell(page, key, "quantity").inner_text() == item["quantity"]
            shown_time = datetime.fromisoformat(
                _cell(page, key, "event_time").get_attribute("data-value") or ""
            )
            assert shown_time == datetime.fromisoformat(item["event_time"].replace("Z", "+00:00"))

    _eventually(table_matches_latest)


def test_stream_page_with_a_row_clicked_charts_every_stored_event_of_that_contract(
    page_for: Callable[..., Any], api: httpx.Client
) -> None:
    started = api.post(
        "/v1/stream/start",
        json={"sources": [{"broker": "simulated", "account": "SIM00043", "seed": 3, "rate": 3000}]},
    )
    assert started.status_code == 201, started.text
    deadline = time.monotonic() + 15
    # more than one 200-event page per contract (12 simulated contracts), so the page must
    # walk the history's cursor pages to chart every event
    while api.get("/v1/stream/status").json()["status"]["totals"]["persisted"] < 12 * 260:
        assert time.monotonic() < deadline, "the simulated stream stored too few events"
        time.sleep(0.2)
    assert api.post("/v1/stream/stop").json()["drained"] is True
    item = api.get("/v1/greeks/latest", params={"account_id": "SIM00043"}).json()["items"][0]
    expected = _history_count(api, item)
    count = api.get(
        "/v1/greeks/count",
        params={"account_id": "SIM00043", "contract_key": item["contract_key"]},
    ).json()["count"]
    assert expected == count
    assert expected > 200

    page = page_for("trader", theme="dark")
    _open_stream_page(page)
    row = _row(page, item["contract_key"], "SIM00043")
    row.focus()
    row.press("Enter")
    panel = page.locator('[data-testid="history"][data-state="ready"]')
    panel.wait_for()

    points = page.evaluate(
        "Array.from(document.querySelector('[data-testid=history-chart]').data, (t) => t.x.length)"
    )
    assert points == [expected] * 5
    assert item["contract_key"] in page.get_by_test_id("history-title").inner_text()
    assert page.get_by_test_id("history-summary").inner_text().startswith(f"{expected:,} events")
    assert "selected" in (row.get_attribute("class") or "")
    page.evaluate("window.scrollTo(0, 0)")
    shoot(page, "stream-history-dark")

    page.keyboard.press("Escape")
    page.locator('[data-testid="history"][data-state="closed"]').wait_for(state="hidden")


def test_stream_page_with_a_negative_rate_shows_the_services_validation_detail(
    page_for: Callable[..., Any], api: httpx.Client
) -> None:
    page = page_for("trader")
    _open_stream_page(page)
    page.get_by_test_id("stream-rate").fill("-1")
    page.get_by_test_id("stream-start").click()

    error = page.get_by_test_id("stream-form-error")
    error.filter(has_text="rate").wait_for()
    assert "ticks per second" in error.inner_text()
    assert api.get("/v1/stream/status").json()["running"] is False


def test_stream_page_with_the_viewer_role_shows_state_but_no_start_or_stop(
    page_for: Callable[..., Any],
) -> None:
    page = page_for("viewer")
    _open_stream_page(page)
    page.get_by_test_id("stream-running").filter(has_text="idle").or_(
        page.get_by_test_id("stream-running").filter(has_text="stopped")
    ).wait_for()

    assert page.get_by_test_id("stream-form").count() == 0
    assert page.get_by_test_id("stream-start").count() == 0
    assert page.get_by_test_id("stream-stop").count() == 0
