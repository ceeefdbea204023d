"""USER_FLOWS flow 9 in Chromium: import broker positions into a trade, evaluate on the broker.

The fake tastytrade broker (REST + DXLink) runs on 127.0.0.1 with its book dated now; its
login sits in a file secrets store of this module. The page fetches the account's positions,
switches the workspace to the broker's snapshot, adds two positions to B and evaluates: B's
legs are checked against the fake's own book and B's value and delta against the same
``/v1/evaluate`` made with httpx.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from compare_support import number, page_grid
from playwright.sync_api import expect

from conftest import WebServer, api_client, shoot
from riskdesk.adapters.tastytrade.fake import FakeDxlinkBroker
from riskdesk.domain.occ import format_occ
from riskdesk.secrets import open_secret_store, save_broker_credentials

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

ACCOUNT = "5WT00077"
CREDENTIALS = "web-import"
SECRET = "fake-web-pass-7"
TIMEOUT = 20_000


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeDxlinkBroker]:
    """The fake broker and a file secrets store holding its login (env of this module)."""
    root = tmp_path_factory.mktemp("import-secrets")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RISKDESK_SECRETS_BACKEND", "file")
        mp.setenv("RISKDESK_SECRETS_FILE", str(root / "secrets" / "secrets.enc"))
        mp.setenv("RISKDESK_SECRETS_KEY_FILE", str(root / "keys" / "secrets.key"))
        mp.delenv("RISKDESK_SECRETS_KEY", raising=False)
        save_broker_credentials(open_secret_store(), "tastytrade", CREDENTIALS, "trader", SECRET)
        now = datetime.now(UTC).replace(second=0, microsecond=0)
        fake = FakeDxlinkBroker(rate=400, seed=9, account=ACCOUNT, as_of=now)
        fake.start()
        try:
            yield fake
        finally:
            fake.stop()


@pytest.fixture(scope="module")
def api(web_server: WebServer) -> Iterator[httpx.Client]:
    """An httpx client logged in as the trader, with a live synthetic SPY snapshot taken."""
    with api_client(web_server) as client:
        assert client.post("/v1/snapshots", json={"symbols": ["SPY"]}).status_code in (200, 201)
        yield client


def _open(page_for: Callable[..., Any]) -> Any:
    page = page_for("trader")
    page.get_by_test_id("snapshot-hash").wait_for()
    page.get_by_test_id("importer").wait_for()
    page.get_by_test_id("trade-a-new").click()
    page.get_by_test_id("trade-b-new").click()
    page.get_by_test_id("trade-b-empty").wait_for()
    return page


def _fetch(page: Any, url: str) -> None:
    page.get_by_test_id("import-broker").select_option("tastytrade")
    page.get_by_test_id("import-account").fill(ACCOUNT)
    page.get_by_test_id("import-credentials").fill(CREDENTIALS)
    page.get_by_test_id("import-url").fill(url)
    page.get_by_test_id("import-url").press("Enter")  # the form submits from the keyboard


def test_import_with_fake_broker_adds_positions_to_b_and_evaluates_on_broker_marks(
    page_for: Callable[..., Any],
    api: httpx.Client,
    broker: FakeDxlinkBroker,
) -> None:
    page = _open(page_for)
    _fetch(page, broker.url)
    rows = page.locator("[data-testid=import-positions] tbody tr")
    expect(rows).to_have_count(len(broker.positions), timeout=TIMEOUT)
    book = {format_occ(p.contract): p for p in broker.positions}
    shown = {}
    for i in range(len(broker.positions)):
        symbol = page.get_by_test_id(f"import-pos-{i}").get_attribute("data-symbol")
        shown[symbol] = number(page.get_by_test_id(f"import-pos-{i}-qty").inner_text())
    assert shown == {occ: float(p.quantity) for occ, p in book.items()}
    shoot(page, "compare-import-positions")

    # the broker's own marks become the workspace's snapshot
    page.get_by_test_id("import-snapshot").click()
    expect(page.get_by_test_id("import-ok")).to_be_visible(timeout=TIMEOUT)
    snap_id = page.get_by_test_id("snapshot-hash").get_attribute("data-id")
    snapshot = api.get(f"/v1/snapshots/{snap_id}").json()
    assert snapshot["source"] == f"tastytrade:{ACCOUNT}"
    assert snapshot["option_quotes"] == len(broker.positions)

    # two positions, a long and a short, into B: one recompute for both
    chosen = [
        next(i for i in range(len(broker.positions)) if shown[_symbol(page, i)] > 0),
        next(i for i in range(len(broker.positions)) if shown[_symbol(page, i)] < 0),
    ]
    for i in chosen:
        page.get_by_test_id(f"import-pos-{i}-select").check()
    expect(page.get_by_test_id("import-selected")).to_have_text("2 selected")
    _wait_computed(page)
    page.wait_for_timeout(300)  # the switch's own recompute is over before counting
    runs_before = int(page.get_by_test_id("result-status").get_attribute("data-runs") or "0")
    page.get_by_test_id("import-add-b").click()
    expect(page.locator("[data-testid^=leg-b-][data-testid$=-include]")).to_have_count(2)
    _wait_computed(page)
    page.wait_for_timeout(300)  # longer than the recompute debounce: no late extra run
    runs = int(page.get_by_test_id("result-status").get_attribute("data-runs") or "0")
    assert runs == runs_before + 1, "adding two positions recomputed more than once"

    # B's legs: the chosen contracts, signed quantities, entered at the broker's marks
    draft_id = page.get_by_test_id("trade-b").get_attribute("data-draft-id")
    draft = api.get(f"/v1/trades/drafts/{draft_id}").json()
    marks = {}
    for underlying in snapshot["symbols"]:
        chain = api.get(f"/v1/market/chains/{underlying}?snapshot={snap_id}").json()
        for row in chain["rows"]:
            marks[(underlying, row["expiry"], Decimal(row["strike"]), row["right"])] = row["mark"]
    legs = {
        (
            leg["instrument"]["symbol"],
            leg["instrument"]["expiry"],
            Decimal(leg["instrument"]["strike"]),
            leg["instrument"]["right"],
        ): leg
        for leg in draft["legs"]
    }
    expected = {}
    for i in chosen:
        c = book[_symbol(page, i)].contract
        key = (c.underlying, c.expiry.isoformat(), c.strike, c.right.value)
        expected[key] = book[_symbol(page, i)].quantity
    assert set(legs) == set(expected)
    for key, quantity in expected.items():
        assert Decimal(legs[key]["quantity"]) == quantity
        assert Decimal(legs[key]["entry_price"]) == Decimal(marks[key])

    # B's value and delta as the page shows them == the same /v1/evaluate made here
    response = api.post(
        "/v1/evaluate",
        json={
            "trade": {"draft_id": draft_id},
            "snapshot_id": snap_id,
            "scenario_grid": page_grid(snapshot["as_of"]),
        },
    )
    assert response.status_code == 200, response.text
    measures = response.json()["measures"]
    assert number(page.get_by_test_id("sum-value-b").inner_text()) == pytest.approx(
        measures["value"], abs=0.006
    )
    assert number(page.get_by_test_id("sum-delta-b").inner_text()) == pytest.approx(
        measures["greeks"]["delta"], abs=0.006
    )
    hashes = page.get_by_test_id("trade-b-hash").get_attribute("data-hash")
    assert hashes == snapshot["snapshot_hash"]
    shoot(page, "compare-import-evaluated")


def _wait_computed(page: Any) -> None:
    for testid in ("trade-a-state", "trade-b-state"):
        expect(page.get_by_test_id(testid)).not_to_have_text("dirty", timeout=TIMEOUT)
    expect(page.get_by_test_id("result-status")).to_have_attribute(
        "data-phase", "done", timeout=TIMEOUT
    )


def _symbol(page: Any, i: int) -> str:
    value: str = page.get_by_test_id(f"import-pos-{i}").get_attribute("data-symbol")
    return value


def test_import_with_closed_port_shows_the_problem_naming_the_address(
    page_for: Callable[..., Any], api: httpx.Client, broker: FakeDxlinkBroker, tmp_path: Path
) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    page = _open(page_for)
    _fetch(page, f"http://127.0.0.1:{port}")

    error = page.get_by_test_id("import-error")
    expect(error).to_be_visible(timeout=TIMEOUT)
    expect(error).to_contain_text(f"127.0.0.1:{port}")
    assert SECRET not in error.inner_text()
    expect(page.get_by_test_id("import-add-b")).to_have_count(0)
