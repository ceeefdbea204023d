"""The Compare workspace in Chromium: chain trade builder, A/B compare, pin, matrix, crosshair.

Visible numbers are checked against the same ``/v1/compare`` call made with httpx for the
page's drafts, snapshot and scenario grid (built here independently from the snapshot time).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
from compare_support import (
    GREEKS,
    atm_strike,
    condor_plan,
    expiry_rows,
    number,
    page_grid,
    repriced_greeks,
)
from playwright.sync_api import expect

from conftest import WebServer, api_client, shoot

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

MID = 20  # the unmoved spot of the default 41-point grid
TIMEOUT = 15_000


@pytest.fixture(scope="module")
def api(web_server: WebServer) -> Iterator[httpx.Client]:
    """An httpx client logged in as the trader."""
    with api_client(web_server) as client:
        yield client


@pytest.fixture(scope="module")
def market(api: httpx.Client) -> dict[str, Any]:
    """A live SPY snapshot (the page's newest live one) and its chain."""
    created = api.post("/v1/snapshots", json={"symbols": ["SPY"]})
    assert created.status_code in (200, 201), created.text
    snapshot = created.json()
    chain = api.get(f"/v1/market/chains/SPY?snapshot={snapshot['snapshot_id']}").json()
    expiry, rows = expiry_rows(chain)
    return {"snapshot": snapshot, "chain": chain, "expiry": expiry, "rows": rows}


def open_compare(page_for: Callable[..., Any], role: str = "trader", **kw: Any) -> Any:
    """The compare page of ``role`` with fresh (empty) trades A and B, results drawn."""
    page = page_for(role, **kw)
    page.get_by_test_id("snapshot-hash").wait_for()
    page.locator("[data-testid=chain] table").wait_for()
    if role != "viewer":
        page.get_by_test_id("trade-a-new").click()
        page.get_by_test_id("trade-b-new").click()
        page.get_by_test_id("trade-a-empty").wait_for()
        page.get_by_test_id("trade-b-empty").wait_for()
    wait_computed(page)
    return page


def wait_computed(page: Any) -> None:
    """Wait until no trade is dirty and the last recompute finished."""
    for testid in ("trade-a-state", "trade-b-state"):
        expect(page.get_by_test_id(testid)).not_to_have_text("dirty", timeout=TIMEOUT)
    expect(page.get_by_test_id("result-status")).to_have_attribute(
        "data-phase", "done", timeout=TIMEOUT
    )


def pick_expiry(page: Any, market: dict[str, Any]) -> None:
    page.get_by_test_id("chain-expiry").select_option(market["expiry"])


def quote(page: Any, right: str, strike: str, side: str) -> Any:
    return page.get_by_test_id(f"chain-{right}-{strike}-{side}")


def build_condor_and_straddle(
    page: Any, market: dict[str, Any], *, screenshot: bool = False
) -> list[str]:
    """Iron condor into A (Ctrl multi-add), long straddle into B; the recompute URLs seen
    while the condor was built."""
    spot = Decimal(market["chain"]["spot"])
    seen: list[str] = []

    def on_request(request: Any) -> None:
        if re.search(r"/v1/(evaluate|compare)$", request.url):
            seen.append(request.url)

    pick_expiry(page, market)
    page.keyboard.press("a")
    page.on("request", on_request)
    page.keyboard.down("Control")
    expect(page.get_by_test_id("multiadd-indicator")).to_be_visible()
    for right, strike, side in condor_plan(market["rows"], spot):
        quote(page, right, strike, side).click()
    expect(page.get_by_test_id("multiadd-indicator")).to_contain_text("4 legs added")
    if screenshot:
        shoot(page, "compare-chain-multi-add")
    assert seen == [], "multi-add recomputed before it ended"
    page.keyboard.up("Control")
    wait_computed(page)
    page.wait_for_timeout(300)  # longer than the recompute debounce: no late extra request
    page.remove_listener("request", on_request)
    condor_requests = list(seen)

    page.keyboard.press("b")
    strike = atm_strike(market["rows"], spot)
    quote(page, "C", strike, "ask").click()
    quote(page, "P", strike, "ask").click()
    expect(page.locator("[data-testid^=leg-b-][data-testid$=-include]")).to_have_count(2)
    wait_computed(page)
    return condor_requests


def page_ids(page: Any) -> tuple[str, str, str]:
    """(draft A id, draft B id, snapshot id) the page computes with."""
    a = page.get_by_test_id("trade-a").get_attribute("data-draft-id")
    b = page.get_by_test_id("trade-b").get_attribute("data-draft-id")
    snap = page.get_by_test_id("snapshot-hash").get_attribute("data-id")
    return a, b, snap


def independent_compare(api: httpx.Client, page: Any, **grid: Any) -> dict[str, Any]:
    """/v1/compare for the page's drafts and snapshot on the grid built here."""
    a, b, snap = page_ids(page)
    as_of = api.get(f"/v1/snapshots/{snap}").json()["as_of"]
    response = api.post(
        "/v1/compare",
        json={
            "a": {"draft_id": a},
            "b": {"draft_id": b},
            "snapshot_id": snap,
            "scenario_grid": page_grid(as_of, **grid),
        },
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def shown(page: Any, testid: str) -> float:
    return number(page.get_by_test_id(testid).inner_text())


def test_compare_with_condor_from_chain_in_multi_add_recomputes_once_and_matches_the_api(
    page_for: Callable[..., Any], api: httpx.Client, market: dict[str, Any]
) -> None:
    page = open_compare(page_for)

    condor_requests = build_condor_and_straddle(page, market, screenshot=True)
    expected = independent_compare(api, page)

    assert len(condor_requests) == 1
    assert condor_requests[0].endswith("/v1/evaluate")
    legs_a = page.locator("[data-testid^=leg-a-][data-testid$=-qty]")
    assert [legs_a.nth(i).input_value() for i in range(4)] == ["-1", "1", "-1", "1"]
    a_pl = expected["a"]["curves"]["spot_time_pl"][0][MID]
    b_pl = expected["b"]["curves"]["spot_time_pl"][0][MID]
    diff_pl = expected["diff"]["spot_time_pl"][0][MID]
    assert shown(page, "readout-a") == pytest.approx(a_pl, abs=0.006)
    assert shown(page, "readout-b") == pytest.approx(b_pl, abs=0.006)
    assert shown(page, "readout-diff") == pytest.approx(diff_pl, abs=0.006)
    assert shown(page, "readout-diff") == pytest.approx(a_pl - b_pl, abs=0.011)
    assert shown(page, "sum-value-a") == pytest.approx(
        expected["a"]["measures"]["value"], abs=0.006
    )
    assert shown(page, "sum-value-diff") == pytest.approx(expected["diff"]["value"], abs=0.006)
    # T+0 is the snapshot's own instant: its curve at the unmoved spot is the P/L open now
    snapshot_time = api.get(f"/v1/snapshots/{page_ids(page)[2]}").json()["as_of"]
    assert expected["a"]["grid"]["dates"][0] == expected["a"]["inputs"]["as_of"]
    assert expected["a"]["inputs"]["as_of"].replace("Z", "") == snapshot_time.replace("Z", "")
    for side in ("a", "b"):
        assert expected[side]["curves"]["spot_time_pl"][0][MID] == pytest.approx(
            expected[side]["measures"]["pl_open"], rel=1e-9, abs=1e-9
        )
    assert (
        page.get_by_test_id("result-snapshot").get_attribute("data-hash")
        == (expected["a"]["inputs"]["snapshot_hash"])
    )
    shoot(page, "compare-curves-light")


def test_compare_with_a_leg_toggled_and_a_quantity_edited_changes_the_numbers_and_back(
    page_for: Callable[..., Any], api: httpx.Client, market: dict[str, Any]
) -> None:
    page = open_compare(page_for)
    build_condor_and_straddle(page, market)
    before = shown(page, "readout-a")

    # hold the recompute's request until the badge was seen: "dirty" lasts only as long as
    # the recompute, which can be shorter than one polling step of the expectation
    held: list[Any] = []

    def hold(route: Any) -> None:
        held.append(route)

    page.route("**/v1/compare", hold)
    page.get_by_test_id("leg-a-0-include").uncheck()
    expect(page.get_by_test_id("trade-a-state")).to_have_text("dirty")
    page.unroute("**/v1/compare", hold)
    for route in held:
        route.continue_()
    wait_computed(page)
    excluded = shown(page, "readout-a")
    expected_excluded = independent_compare(api, page)["a"]["curves"]["spot_time_pl"][0][MID]
    page.get_by_test_id("leg-a-0-include").check()
    wait_computed(page)
    restored = shown(page, "readout-a")
    page.get_by_test_id("leg-a-1-qty").fill("3")
    page.get_by_test_id("leg-a-1-qty").press("Enter")
    wait_computed(page)
    edited = shown(page, "readout-a")
    expected_edited = independent_compare(api, page)

    assert excluded != pytest.approx(before, abs=0.01)
    assert excluded == pytest.approx(expected_excluded, abs=0.006)
    assert restored == pytest.approx(before, abs=0.006)
    assert edited == pytest.approx(
        expected_edited["a"]["curves"]["spot_time_pl"][0][MID], abs=0.006
    )
    assert edited != pytest.approx(before, abs=0.01)
    assert page.get_by_test_id("leg-a-1-qty").input_value() == "3"


def test_compare_with_empty_trades_shows_no_legs_and_zeroed_outputs_without_a_request(
    page_for: Callable[..., Any], market: dict[str, Any]
) -> None:
    page = open_compare(page_for)
    seen: list[str] = []
    page.on(
        "request",
        lambda r: seen.append(r.url) if "/v1/evaluate" in r.url or "/v1/compare" in r.url else None,
    )

    page.keyboard.press("r")
    wait_computed(page)

    assert page.get_by_test_id("trade-a-state").inner_text() == "no legs"
    assert page.get_by_test_id("trade-b-state").inner_text() == "no legs"
    expect(page.get_by_test_id("result-ok")).to_have_text("no legs: zeroed outputs")
    values = [shown(page, f"sum-value-{k}") for k in ("a", "b", "diff")]
    readouts = [shown(page, f"readout-{k}") for k in ("a", "b", "diff")]
    assert values == [0.0, 0.0, 0.0]
    assert readouts == [0.0, 0.0, 0.0]
    assert seen == []


def test_compare_with_pin_shows_the_pinned_hash_on_every_result(
    page_for: Callable[..., Any], api: httpx.Client, market: dict[str, Any]
) -> None:
    page = open_compare(page_for)
    build_condor_and_straddle(page, market)
    live_hash = page.get_by_test_id("snapshot-hash").get_attribute("data-hash")

    page.get_by_test_id("snapshot-pin").click()
    expect(page.get_by_test_id("snapshot-mode")).to_have_text("pinned")
    pinned_id = page.get_by_test_id("snapshot-hash").get_attribute("data-id")
    pinned = api.get(f"/v1/snapshots/{pinned_id}").json()
    expect(page.get_by_test_id("result-snapshot")).to_have_attribute(
        "data-hash", pinned["snapshot_hash"]
    )
    wait_computed(page)
    expected = independent_compare(api, page)

    assert pinned["mode"] == "PINNED"
    assert (
        page.get_by_test_id("snapshot-hash").get_attribute("data-hash") == pinned["snapshot_hash"]
    )
    assert page.get_by_test_id("trade-a-hash").get_attribute("data-hash") == pinned["snapshot_hash"]
    assert page.get_by_test_id("trade-b-hash").get_attribute("data-hash") == pinned["snapshot_hash"]
    assert expected["a"]["inputs"]["snapshot_hash"] == pinned["snapshot_hash"]
    assert pinned["snapshot_hash"] != live_hash
    assert shown(page, "readout-a") == pytest.approx(
        expected["a"]["curves"]["spot_time_pl"][0][MID], abs=0.006
    )


def test_compare_with_crosshair_hover_and_arrow_keys_reads_a_b_and_a_minus_b(
    page_for: Callable[..., Any], api: httpx.Client, market: dict[str, Any]
) -> None:
    page = open_compare(page_for)
    build_condor_and_straddle(page, market)
    expected = independent_compare(api, page)
    spots = expected["a"]["grid"]["spots"]["SPY"]

    # hover risk graph A at its T+0 curve, spot index 10
    point = page.evaluate(
        """() => {
          const el = document.querySelector('[data-testid=chart-risk-a]');
          const fl = el._fullLayout, d = el._fullData[0];
          return [fl.xaxis._offset + fl.xaxis.d2p(d.x[10]), fl.yaxis._offset + fl.yaxis.d2p(d.y[10])];
        }"""
    )
    page.get_by_test_id("chart-risk-a").hover(position={"x": point[0], "y": point[1]})
    expect(page.get_by_test_id("readout")).to_have_attribute("data-spot", "10")
    hovered = [shown(page, f"readout-{k}") for k in ("spot", "a", "b", "diff")]
    page.get_by_test_id("curves").focus()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowUp")
    expect(page.get_by_test_id("readout")).to_have_attribute("data-spot", "11")
    expect(page.get_by_test_id("readout")).to_have_attribute("data-date", "1")
    keyed = [shown(page, f"readout-{k}") for k in ("a", "b", "diff")]
    sibling_hover = page.evaluate(
        "() => document.querySelectorAll('[data-testid=chart-risk-b] .hoverlayer .hovertext').length"
    )

    a, b, d = expected["a"]["curves"], expected["b"]["curves"], expected["diff"]
    assert hovered == pytest.approx(
        [spots[10], a["spot_time_pl"][0][10], b["spot_time_pl"][0][10], d["spot_time_pl"][0][10]],
        abs=0.006,
    )
    assert keyed == pytest.approx(
        [a["spot_time_pl"][1][11], b["spot_time_pl"][1][11], d["spot_time_pl"][1][11]], abs=0.006
    )
    assert sibling_hover >= 1, "the crosshair did not reach trade B's chart"
    assert "T+7d" in page.get_by_test_id("readout-horizon").inner_text()


def strip_values(page: Any, key: str) -> dict[str, Any]:
    el = page.get_by_test_id(f"chart-{key}")
    return {
        "spot": int(el.get_attribute("data-spot")),
        "date": int(el.get_attribute("data-date")),
        "state": el.get_attribute("data-state"),
        **{k: float(el.get_attribute(f"data-{k}")) for k in ("a", "b", "diff")},
        "readout": el.locator(".annotation-text").first.text_content() or "",
    }


def test_greeks_strips_with_exact_curves_read_the_api_greeks_at_the_crosshair(
    page_for: Callable[..., Any], api: httpx.Client, market: dict[str, Any]
) -> None:
    page = open_compare(page_for)
    build_condor_and_straddle(page, market)
    expected = independent_compare(api, page)
    for key in GREEKS:  # the page has one strip per Greek
        expect(page.get_by_test_id(f"chart-{key}")).to_be_visible()

    page.locator("[data-testid=chart-vega] .main-svg").first.wait_for()
    # hover trade A's trace of the delta strip at spot index 10: every strip follows
    point = page.evaluate(
        """() => {
          const el = document.querySelector('[data-testid=chart-delta]');
          const fl = el._fullLayout, d = el._fullData[0];
          return [fl.xaxis._offset + fl.xaxis.d2p(d.x[10]), fl.yaxis._offset + fl.yaxis.d2p(d.y[10])];
        }"""
    )
    page.get_by_test_id("chart-delta").hover(position={"x": point[0], "y": point[1]})
    expect(page.get_by_test_id("chart-vega")).to_have_attribute("data-spot", "10")
    expect(page.get_by_test_id("chart-vega")).to_have_attribute("data-date", "0")
    hovered = {key: strip_values(page, key) for key in GREEKS}
    readout_delta = [shown(page, f"readout-{k}-delta") for k in ("a", "b", "diff")]
    # the keyboard moves the crosshair a horizon later and 20 spots right: the strips follow
    page.get_by_test_id("curves").focus()
    page.keyboard.press("ArrowUp")
    for _ in range(20):
        page.keyboard.press("ArrowRight")
    expect(page.get_by_test_id("chart-gamma")).to_have_attribute("data-spot", "30")
    expect(page.get_by_test_id("chart-gamma")).to_have_attribute("data-date", "1")
    moved = {key: strip_values(page, key) for key in GREEKS}
    page.get_by_test_id("chart-delta").scroll_into_view_if_needed()
    shoot(page, "compare-greeks-strips")

    a, b = expected["a"]["curves"]["spot_time_greeks"], expected["b"]["curves"]["spot_time_greeks"]
    diff = expected["diff"]["spot_time_greeks"]
    for (d, i), shown_at in (((0, 10), hovered), ((1, 30), moved)):
        for key in GREEKS:
            got = shown_at[key]
            assert (got["state"], got["date"], got["spot"]) == ("exact", d, i)
            assert [got["a"], got["b"], got["diff"]] == pytest.approx(
                [a[key][d][i], b[key][d][i], diff[key][d][i]], rel=1e-12, abs=1e-12
            )
    # the visible readout and an independent repricing of trade A at the hovered point
    readout = hovered["delta"]["readout"]
    assert f"A {a['delta'][0][10]:,.2f} · B {b['delta'][0][10]:,.2f}" in readout
    assert f"A - B {diff['vega'][1][30]:,.2f}" in moved["vega"]["readout"]
    assert readout_delta == pytest.approx(
        [a["delta"][0][10], b["delta"][0][10], diff["delta"][0][10]], abs=0.006
    )
    by_hand = repriced_greeks(expected["a"], 0, 10)
    assert hovered["delta"]["a"] == pytest.approx(by_hand["delta"], rel=1e-9, abs=1e-9)
    assert hovered["vega"]["a"] == pytest.approx(by_hand["vega"], rel=1e-9, abs=1e-9)


def test_compare_with_a_matrix_cell_clicked_selects_it_in_both_matrices_and_the_slice(
    page_for: Callable[..., Any], api: httpx.Client, market: dict[str, Any]
) -> None:
    page = open_compare(page_for, theme="dark")
    build_condor_and_straddle(page, market)
    expected = independent_compare(api, page)

    page.keyboard.press("v")
    expect(page.get_by_test_id("matrix")).to_be_visible()
    page.locator("[data-testid=chart-matrix-a] .main-svg").first.wait_for()
    point = page.evaluate(
        """() => {
          const el = document.querySelector('[data-testid=chart-matrix-a]');
          const fl = el._fullLayout, d = el._fullData[0];
          return [fl.xaxis._offset + fl.xaxis.d2p(d.x[30]), fl.yaxis._offset + fl.yaxis.d2p(d.y[4])];
        }"""
    )
    page.get_by_test_id("chart-matrix-a").click(position={"x": point[0], "y": point[1]})
    expect(page.get_by_test_id("chart-matrix-b")).to_have_attribute("data-sel-spot", "30")
    shoot(page, "compare-matrix-dark")

    selected = [
        (
            page.get_by_test_id(f"chart-matrix-{k}").get_attribute("data-sel-spot"),
            page.get_by_test_id(f"chart-matrix-{k}").get_attribute("data-sel-vol"),
        )
        for k in ("a", "b", "diff")
    ]
    live = [shown(page, f"slice-live-{k}") for k in ("a", "b", "diff")]
    a, b, d = expected["a"]["curves"], expected["b"]["curves"], expected["diff"]
    assert selected == [("30", "4")] * 3
    assert live == pytest.approx(
        [a["spot_vol_pl"][4][30], b["spot_vol_pl"][4][30], d["spot_vol_pl"][4][30]], abs=0.006
    )
    assert "+10 pts" in page.get_by_test_id("slice-cell").inner_text()


def test_compare_first_render_with_a_live_snapshot_reads_its_chain_and_no_full_snapshot_first(
    page_for: Callable[..., Any], api: httpx.Client, market: dict[str, Any]
) -> None:
    page = page_for("trader")
    page.get_by_test_id("snapshot-hash").wait_for()
    seen: list[str] = []
    page.on(
        "request", lambda r: seen.append(r.url.split("/v1/", 1)[-1]) if "/v1/" in r.url else None
    )

    page.reload()
    expect(page.get_by_test_id("result-status")).to_have_attribute(
        "data-phase", "done", timeout=TIMEOUT
    )
    page.locator("[data-testid=chain] table").wait_for()
    snapshot_id = page.get_by_test_id("snapshot-hash").get_attribute("data-id")
    page.wait_for_function(
        "id => performance.getEntriesByType('resource')"
        ".some((r) => r.name.endsWith(`/v1/snapshots/${id}`))",
        arg=snapshot_id,
        timeout=TIMEOUT,
    )
    newest = api.get("/v1/market/chains/SPY").json()
    full = api.get(f"/v1/snapshots/{snapshot_id}").json()
    expect(page.get_by_test_id("snapshot-bar")).to_contain_text(", ".join(full["symbols"]))

    chains = [i for i, u in enumerate(seen) if u.startswith("market/chains/")]
    computes = [i for i, u in enumerate(seen) if u in ("compare", "evaluate")]
    described = [i for i, u in enumerate(seen) if u == f"snapshots/{snapshot_id}"]
    assert [seen[i] for i in chains] == ["market/chains/SPY"]  # one chain: the snapshot's too
    assert not any(u.startswith("market/quotes/") for u in seen)
    assert len(described) == 1
    assert described[0] > max(chains + computes), seen  # after the results, off their path
    assert (
        page.get_by_test_id("snapshot-hash").get_attribute("data-hash") == newest["snapshot_hash"]
    )
    assert snapshot_id == newest["snapshot_id"]


def test_compare_with_viewer_role_shows_market_and_diagnostics_but_builds_nothing(
    page_for: Callable[..., Any], api: httpx.Client, market: dict[str, Any]
) -> None:
    writes: list[str] = []
    page = page_for("viewer")
    page.on("request", lambda r: writes.append(r.url) if r.method != "GET" else None)
    page.get_by_test_id("snapshot-hash").wait_for()
    page.locator("[data-testid=chain] table").wait_for()

    page.get_by_test_id("snapshot-diagnostics").click()
    page.get_by_test_id("diagnostics-table").wait_for()
    snapshot_id = page.get_by_test_id("snapshot-hash").get_attribute("data-id")
    diagnostics = api.get(f"/v1/snapshots/{snapshot_id}/diagnostics").json()
    page.keyboard.press("a")
    page.keyboard.press("m")

    expect(page.get_by_test_id("viewer-notice")).to_contain_text("trader role")
    assert page.locator("[data-testid=chain] button").count() == 0
    assert page.get_by_test_id("snapshot-pin").count() == 0
    assert page.get_by_test_id("trade-a-commit").count() == 0
    assert page.get_by_test_id("multiadd-indicator").is_hidden()
    assert shown(page, "diag-options") == diagnostics["options"]
    assert [u for u in writes if "/v1/" in u and "/v1/auth/" not in u] == []


def test_compare_with_pinned_and_refreshed_snapshots_draws_the_attribution_waterfall(
    page_for: Callable[..., Any], api: httpx.Client, market: dict[str, Any]
) -> None:
    page = open_compare(page_for)
    pick_expiry(page, market)
    strike = atm_strike(market["rows"], Decimal(market["chain"]["spot"]))
    quote(page, "C", strike, "ask").click()
    wait_computed(page)
    page.get_by_test_id("snapshot-pin").click()
    expect(page.get_by_test_id("snapshot-mode")).to_have_text("pinned")
    pinned_id = page.get_by_test_id("snapshot-hash").get_attribute("data-id")

    page.get_by_test_id("snapshot-refresh").click()
    page.get_by_test_id("toast-info").filter(has_text="stays pinned").wait_for()
    page.get_by_test_id("attribution-toggle").click()
    page.get_by_test_id("attr-run").wait_for()
    compare_id = page.get_by_test_id("attr-compare").input_value()
    page.get_by_test_id("attr-run").click()
    page.get_by_test_id("attr-table").wait_for()
    page.locator("[data-testid=chart-waterfall] .main-svg").first.wait_for()
    draft_id = page.get_by_test_id("trade-a").get_attribute("data-draft-id")
    expected = api.post(
        "/v1/attribution",
        json={
            "trade": {"draft_id": draft_id},
            "base_snapshot_id": pinned_id,
            "compare_snapshot_id": compare_id,
        },
    ).json()["result"]["trade"]
    shoot(page, "compare-attribution")

    assert page.get_by_test_id("attr-base").input_value() == pinned_id
    assert api.get(f"/v1/snapshots/{compare_id}").json()["mode"] == "LIVE"
    assert shown(page, "attr-total") == pytest.approx(expected["revaluation_total"], abs=0.006)
    assert shown(page, "attr-residual") == pytest.approx(expected["taylor"]["residual"], abs=0.006)
