"""The Paper trading page in Chromium: ticket, verdict, orders, fills, positions, kill switch.

The paper desk trades against a :class:`~riskdesk.trading.desk.StaticMarket` injected as
``state.extras["paper_market"]`` (a synthetic snapshot taken when each test starts, so its
quotes are fresh for the kill switch's staleness check and every request sees one market).
Visible numbers are checked against the same ``/v1`` reads made with httpx.
"""

from __future__ import annotations

import functools
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from conftest import WebServer, api_client, shoot
from riskdesk.adapters.simulated.market import SyntheticSource
from riskdesk.domain.caller import Caller
from riskdesk.domain.instruments import OptionRight
from riskdesk.domain.market import MarketSnapshot
from riskdesk.domain.occ import format_occ
from riskdesk.trading.desk import PaperDesk, StaticMarket
from riskdesk.trading.market import MidHistory

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

TIMEOUT = 15_000


@pytest.fixture
def market(web_server: WebServer) -> Iterator[MarketSnapshot]:
    """A fresh synthetic SPY snapshot as the paper venue's market for one test."""
    state = web_server.app.state.riskdesk
    snapshot = SyntheticSource(
        seed=web_server.settings.market_seed,
        as_of=datetime.now(UTC).replace(microsecond=0),
        symbols=("SPY",),
        max_expiry_days=45,
    ).snapshot()
    state.extras["paper_market"] = StaticMarket(snapshot)
    try:
        yield snapshot
    finally:
        state.extras.pop("paper_market", None)


@pytest.fixture
def api(web_server: WebServer) -> Iterator[httpx.Client]:
    """An httpx client logged in as the trader."""
    with api_client(web_server) as client:
        yield client


def _call(snapshot: MarketSnapshot) -> tuple[str, Decimal]:
    """The OCC symbol and ask of the at-the-money call of the first expiry a week out."""
    spot = snapshot.underlying("SPY").spot
    soon = snapshot.as_of.date() + timedelta(days=7)
    calls = [
        q
        for q in snapshot.options
        if q.contract.right is OptionRight.CALL and q.contract.expiry >= soon
    ]
    expiry = min(q.contract.expiry for q in calls)
    quote = min(
        (q for q in calls if q.contract.expiry == expiry),
        key=lambda q: abs(q.contract.strike - spot),
    )
    c = quote.contract
    symbol = f"SPY{c.expiry:%y%m%d}C{int(c.strike * 1000):08d}"
    assert quote.ask is not None
    return symbol, quote.ask


@pytest.fixture(autouse=True)
def _warm_pricing(api: httpx.Client, market: MarketSnapshot) -> None:
    """Price one preview before the page does.

    The first preview of a process compiles the pricing kernels (numba; seconds on a clean
    clone's empty cache), which would otherwise land inside the page's 5 s expectations.
    """
    account = _account(api)
    symbol, _ask = _call(market)
    response = api.post(
        "/v1/orders/preview",
        json={
            "account": account["account_id"],
            "legs": [{"symbol": symbol, "side": "buy"}],
            "qty": 1,
            "order_type": "limit",
            "limit_price": "0.05",
        },
        timeout=300,
    )
    assert response.status_code == 200, response.text


def _account(api: httpx.Client, cash: str = "100000") -> dict[str, Any]:
    response = api.post("/v1/accounts", json={"name": f"p-{uuid.uuid4().hex[:8]}", "cash": cash})
    assert response.status_code == 201, response.text
    return dict(response.json())


def _open(page_for: Callable[..., Any], account_id: str, **kwargs: Any) -> Any:
    page = page_for("trader", **kwargs)
    page.evaluate("id => localStorage.setItem('riskdesk.paper.account', id)", account_id)
    page.goto("/#/paper")
    expect(page.get_by_test_id("account-select")).to_have_value(account_id)
    expect(page.get_by_test_id("live-status")).to_have_text("live", timeout=TIMEOUT)
    return page


def _ticket(page: Any, symbol: str, *, qty: int, order_type: str, limit: str = "") -> None:
    page.get_by_test_id("ticket-leg-symbol-0").fill(symbol)
    page.get_by_test_id("ticket-qty").fill(str(qty))
    page.get_by_test_id("ticket-type").select_option(order_type)
    if limit:
        page.get_by_test_id("ticket-limit").fill(limit)


def _order_row(page: Any, order_id: str) -> Any:
    return page.locator(f'[data-testid="orders-table"] tr[data-order-id="{order_id}"]')


def _fixed(at: datetime) -> datetime:
    return at


def _money(text: str) -> Decimal:
    return Decimal(text.replace(",", ""))


def test_paper_limit_order_with_a_far_price_rests_then_cancels_in_the_table(
    page_for: Callable[..., Any], api: httpx.Client, market: MarketSnapshot
) -> None:
    account = _account(api)
    symbol, _ask = _call(market)
    page = _open(page_for, account["account_id"])

    _ticket(page, symbol, qty=1, order_type="limit", limit="0.05")
    expect(page.get_by_test_id("verdict-status")).to_have_text("would be accepted")
    page.get_by_test_id("ticket-submit").click()
    row = page.locator('[data-testid="orders-table"] tbody tr').first
    expect(row).to_have_attribute("data-status", "submitted", timeout=TIMEOUT)
    order_id = row.get_attribute("data-order-id")
    working = api.get(f"/v1/orders/{order_id}").json()

    _order_row(page, order_id).get_by_test_id("order-cancel").click()
    expect(_order_row(page, order_id)).to_have_attribute("data-status", "cancelled")
    expect(_order_row(page, order_id).get_by_test_id("order-cancel")).to_have_count(0)
    stored = api.get(f"/v1/orders/{order_id}").json()

    assert working["status"] == "submitted"
    assert working["idempotency_key"]  # the ticket sends one
    assert (stored["status"], stored["filled_qty"]) == ("cancelled", 0)
    assert page.get_by_test_id("fills-table-empty").is_visible()


def test_paper_market_order_with_quotes_fills_and_shows_position_cash_and_equity(
    page_for: Callable[..., Any],
    api: httpx.Client,
    market: MarketSnapshot,
    web_server: WebServer,
) -> None:
    account = _account(api)
    account_id = account["account_id"]
    state = web_server.app.state.riskdesk
    start = datetime.now(UTC) - timedelta(hours=4)
    for hours in range(3):  # NAV history the API cannot make: the desk's market pass does
        at = start + timedelta(hours=hours)
        PaperDesk(
            state.db,
            Caller.local(),
            market=StaticMarket(market),
            clock=functools.partial(_fixed, at),
            history=MidHistory(),
        ).snapshot_nav(account_id)
    symbol, ask = _call(market)
    page = _open(page_for, account_id)
    expect(page.get_by_test_id("equity-curve")).to_have_attribute(
        "data-points", "3", timeout=TIMEOUT
    )

    _ticket(page, symbol, qty=2, order_type="market")
    expect(page.get_by_test_id("verdict-status")).to_have_text("would be accepted")
    page.get_by_test_id("ticket-submit").click()
    position = page.locator('[data-testid="positions-table"] tbody tr')
    expect(position).to_have_count(1, timeout=TIMEOUT)
    expect(page.locator('[data-testid="fills-table"] tbody tr')).to_have_count(1)
    expect(page.get_by_test_id("equity-curve")).to_have_attribute(
        "data-points", re.compile(r"^[4-9]$")
    )
    shoot(page, "paper-positions-equity")

    positions = api.get("/v1/positions", params={"account": account_id}).json()["items"]
    fills = api.get("/v1/fills", params={"account": account_id}).json()["items"]
    stored = api.get(f"/v1/accounts/{account_id}").json()
    cells = position.locator("td").all_inner_texts()
    fill_cells = page.locator('[data-testid="fills-table"] tbody tr td').all_inner_texts()
    shown_cash = _money(page.get_by_test_id("summary-cash").inner_text())
    shown_nav = _money(page.get_by_test_id("summary-nav").inner_text())

    (held,) = positions
    (fill,) = fills
    assert fill["symbol"].replace(" ", "") == symbol
    paid = Decimal(fill["fill_price"]) * 2 * fill["multiplier"]
    costs = Decimal(fill["commission"]) + Decimal(fill["fee"])
    assert (held["symbol"].replace(" ", ""), held["qty"]) == (symbol, "2")
    assert cells[:4] == [
        symbol,
        "2",
        f"{Decimal(held['avg_entry_price']):,.2f}",
        f"{Decimal(held['mark_price']):,.2f}",
    ]
    assert fill_cells[1:5] == [symbol, "buy", "2", f"{Decimal(fill['fill_price']):,.2f}"]
    assert Decimal(fill["fill_price"]) >= ask  # a market buy pays at least the ask
    assert shown_cash == Decimal(stored["cash"]).quantize(Decimal("0.01"))
    assert Decimal(stored["cash"]) == Decimal("100000") - paid - costs
    assert shown_nav == Decimal(stored["nav"]).quantize(Decimal("0.01"))


def test_paper_preview_with_an_oversized_order_shows_the_failing_gate_and_its_values(
    page_for: Callable[..., Any], api: httpx.Client, market: MarketSnapshot
) -> None:
    account = _account(api)
    policy = api.put(
        "/v1/risk/policy",
        json={
            "account": account["account_id"],
            "params": {"max_order_size": {"value": "1000", "type": "absolute"}},
        },
    )
    assert policy.status_code == 200, policy.text
    symbol, _ask = _call(market)
    page = _open(page_for, account["account_id"])

    _ticket(page, symbol, qty=5, order_type="limit", limit="50")
    page.get_by_test_id("ticket-preview").click()
    gate = page.get_by_test_id("verdict-check-max_order_size")
    expect(gate).to_have_attribute("data-action", "blocked", timeout=TIMEOUT)
    expected = api.post(
        "/v1/orders/preview",
        json={
            "account": account["account_id"],
            "legs": [{"symbol": symbol, "side": "buy", "ratio": 1}],
            "qty": 5,
            "order_type": "limit",
            "time_in_force": "day",
            "limit_price": "50",
        },
    ).json()
    check = next(c for c in expected["checks"] if c["rule"] == "max_order_size")

    assert page.get_by_test_id("verdict-status").inner_text().startswith("would be refused")
    assert gate.get_by_test_id("observed").inner_text() == check["observed"]
    assert gate.get_by_test_id("threshold").inner_text() == check["threshold"]
    assert Decimal(check["threshold"]) == Decimal("1000")
    assert Decimal(check["observed"]) > Decimal("1000")
    assert api.get("/v1/orders", params={"account": account["account_id"]}).json()["items"] == []


def test_paper_ticket_with_the_kill_switch_on_refuses_with_the_423_detail_and_history(
    page_for: Callable[..., Any], api: httpx.Client, market: MarketSnapshot
) -> None:
    account = _account(api)
    symbol, _ask = _call(market)
    page = _open(page_for, account["account_id"], theme="dark")
    reason = f"venue incident {uuid.uuid4().hex[:6]}"
    try:
        page.get_by_test_id("kill-reason").fill(reason)
        page.get_by_test_id("kill-on").click()
        expect(page.get_by_test_id("kill-state")).to_have_text("ON")
        expect(page.get_by_test_id("kill-current-reason")).to_contain_text(reason)
        expect(page.get_by_test_id("kill-history-table")).to_contain_text(reason)

        _ticket(page, symbol, qty=1, order_type="market")
        expect(page.get_by_test_id("verdict-status")).to_contain_text("KILL_SWITCH_ACTIVE")
        page.get_by_test_id("ticket-submit").click()
        error = page.get_by_test_id("ticket-error")
        expect(error).to_contain_text("423 KILL_SWITCH_ACTIVE")
        shoot(page, "paper-kill-switch-refusal-dark")
        status = api.get("/v1/kill-switch").json()
        orders = api.get("/v1/orders", params={"account": account["account_id"]}).json()["items"]
        shown = page.get_by_test_id("kill-switch-state").inner_text()
    finally:
        api.post("/v1/kill-switch", json={"enabled": False, "reason": "test over"})

    assert status["enabled"] is True
    assert status["reason"] == reason
    assert "by trader" in shown
    assert status["actor"] == "trader"
    # the desk keeps the refused ticket as a rejected order (its audit); nothing was accepted
    assert [(o["status"], o["code"], o["filled_qty"]) for o in orders] == [
        ("rejected", "KILL_SWITCH_ACTIVE", 0)
    ]


def test_paper_signal_with_a_template_lists_and_loads_its_legs_into_the_ticket(
    page_for: Callable[..., Any], api: httpx.Client, market: MarketSnapshot
) -> None:
    account = _account(api)
    expiry = _call(market)[0][3:9]  # the week-out expiry the form defaults to, as YYMMDD
    page = _open(page_for, account["account_id"])
    page.get_by_test_id("signal-expiry").fill(f"20{expiry[:2]}-{expiry[2:4]}-{expiry[4:]}")

    page.get_by_test_id("signal-create").click()
    row = page.locator('[data-testid="signals-table"] tbody tr').first
    row.wait_for()
    signal = api.get(f"/v1/signals/{row.get_attribute('data-signal-id')}").json()
    row.get_by_test_id("signal-use").click()
    expect(page.get_by_test_id("verdict-status")).to_have_text("would be accepted")
    symbols = [page.get_by_test_id(f"ticket-leg-symbol-{i}").input_value() for i in range(4)]
    sides = [page.get_by_test_id(f"ticket-leg-side-{i}").input_value() for i in range(4)]

    assert signal["strategy_type"] == "iron_condor"
    assert symbols == [leg["occ_symbol"].replace(" ", "") for leg in signal["legs"]]
    assert sides == [leg["action"] for leg in signal["legs"]]
    assert page.get_by_test_id("ticket-limit").input_value() == (
        f"{abs(Decimal(signal['net_premium'])):.2f}"
    )
    assert page.get_by_test_id("ticket-credit").is_checked() == (Decimal(signal["net_premium"]) < 0)


def test_paper_page_with_a_viewer_shows_no_ticket_and_no_kill_switch_controls(
    page_for: Callable[..., Any],
) -> None:
    page = page_for("viewer")
    page.goto("/#/paper")
    page.get_by_test_id("kill-switch-state").get_by_test_id("kill-state").wait_for()
    page.get_by_test_id("orders-panel").wait_for()

    assert page.get_by_test_id("ticket").count() == 0
    assert page.get_by_test_id("kill-controls").count() == 0
    assert page.get_by_test_id("account-form").count() == 0
    assert page.get_by_test_id("signal-form").count() == 0
    assert page.get_by_test_id("orders-panel").is_visible()


def test_paper_market_pass_with_the_market_through_a_resting_limit_fills_it_and_marks_nav(
    page_for: Callable[..., Any], api: httpx.Client, market: MarketSnapshot, web_server: WebServer
) -> None:
    account = _account(api)
    symbol, ask = _call(market)
    limit = (ask / 2).quantize(Decimal("0.01"))
    resting = api.post(
        "/v1/orders",
        json={
            "account": account["account_id"],
            "legs": [{"symbol": symbol, "side": "buy"}],
            "qty": 1,
            "order_type": "limit",
            "limit_price": str(limit),
            "time_in_force": "gtc",
        },
    ).json()
    page = _open(page_for, account["account_id"])
    expect(_order_row(page, resting["order_id"])).to_have_attribute("data-status", "submitted")
    # the market falls through the limit: the call is now offered at the limit
    quote = next(
        q
        for q in market.options
        if f"SPY{q.contract.expiry:%y%m%d}C{int(q.contract.strike * 1000):08d}" == symbol
        and q.contract.right is OptionRight.CALL
    )
    cheaper = replace(quote, bid=limit - Decimal("0.02"), ask=limit, mark=limit - Decimal("0.01"))
    moved = replace(market, options=tuple(cheaper if q is quote else q for q in market.options))
    web_server.app.state.riskdesk.extras["paper_market"] = StaticMarket(moved)

    page.get_by_test_id("market-pass").click()
    expect(_order_row(page, resting["order_id"])).to_have_attribute(
        "data-status", "filled", timeout=TIMEOUT
    )
    expect(page.get_by_test_id("market-pass-note")).to_contain_text("fill(s)")
    expect(page.get_by_test_id("equity-curve")).to_have_attribute(
        "data-points", re.compile(r"[1-9]\d*"), timeout=TIMEOUT
    )
    stored = api.get(f"/v1/orders/{resting['order_id']}").json()
    fills = api.get(f"/v1/fills?account={account['account_id']}").json()["items"]
    snapshots = api.get(f"/v1/portfolio/snapshots?account={account['account_id']}").json()

    assert stored["status"] == "filled"
    assert [Decimal(f["fill_price"]) <= limit for f in fills] == [True]
    assert len(snapshots["items"]) >= 1


def _near_puts(page: Any, market: MarketSnapshot) -> tuple[Any, Any]:
    """The page's expiry's at-the-money put and the next lower strike's put (snapshot quotes)."""
    expect(page.get_by_test_id("paper-chain-expiry")).not_to_have_value("", timeout=TIMEOUT)
    expiry = page.get_by_test_id("paper-chain-expiry").input_value()
    spot = market.underlying("SPY").spot
    puts = sorted(
        (
            q
            for q in market.options
            if q.contract.right is OptionRight.PUT
            and q.contract.expiry.isoformat() == expiry
            and q.bid
            and q.ask
        ),
        key=lambda q: q.contract.strike,
    )
    at = min(range(len(puts)), key=lambda i: abs(puts[i].contract.strike - spot))
    return puts[at], puts[at - 1]


def test_paper_chain_with_a_bid_and_an_ask_clicked_builds_a_credit_spread_priced_at_the_quotes(
    page_for: Callable[..., Any], api: httpx.Client, market: MarketSnapshot
) -> None:
    account = _account(api)
    page = _open(page_for, account["account_id"])
    short, long = _near_puts(page, market)
    short_symbol = format_occ(short.contract, padded=False)
    long_symbol = format_occ(long.contract, padded=False)

    bid = page.get_by_test_id(f"paper-chain-bid-{short_symbol}")
    expect(bid).to_have_text(f"{short.bid:.2f}")
    bid.click()
    page.get_by_test_id(f"paper-chain-ask-{long_symbol}").click()
    expect(page.get_by_test_id("verdict-status")).to_have_text("would be accepted")
    shoot(page, "paper-chain-credit-spread")
    legs = [
        (
            page.get_by_test_id(f"ticket-leg-symbol-{i}").input_value(),
            page.get_by_test_id(f"ticket-leg-side-{i}").input_value(),
        )
        for i in range(2)
    ]
    limit = page.get_by_test_id("ticket-limit").input_value()
    credit = page.get_by_test_id("ticket-credit").is_checked()
    page.get_by_test_id("ticket-submit").click()
    row = page.locator('[data-testid="orders-table"] tbody tr').first
    expect(row).to_have_attribute("data-status", re.compile("submitted|filled"), timeout=TIMEOUT)
    stored = api.get(f"/v1/orders/{row.get_attribute('data-order-id')}").json()

    assert short.bid is not None
    assert long.ask is not None
    assert legs == [(short_symbol, "sell"), (long_symbol, "buy")]
    # a credit spread: the short put's bid less the long put's ask, computed here in Decimal
    assert credit is True
    assert Decimal(limit) == short.bid - long.ask
    # the order stores a net credit as a negative limit
    assert Decimal(stored["limit_price"]) == long.ask - short.bid
    assert [leg["side"] for leg in stored["legs"]] == ["sell", "buy"]


def test_paper_page_with_a_viewer_sees_the_kill_switch_change_live(
    page_for: Callable[..., Any], api: httpx.Client
) -> None:
    page = page_for("viewer")
    page.goto("/#/paper")
    expect(page.get_by_test_id("live-status")).to_have_text("live: kill switch", timeout=TIMEOUT)
    expect(page.get_by_test_id("kill-state")).to_have_text("off")
    reason = f"viewer watch {uuid.uuid4().hex[:6]}"
    try:
        assert (
            api.post("/v1/kill-switch", json={"enabled": True, "reason": reason}).status_code == 200
        )
        expect(page.get_by_test_id("kill-state")).to_have_text("ON", timeout=TIMEOUT)
        expect(page.get_by_test_id("kill-current-reason")).to_contain_text(reason)
    finally:
        api.post("/v1/kill-switch", json={"enabled": False, "reason": "test over"})
    expect(page.get_by_test_id("kill-state")).to_have_text("off", timeout=TIMEOUT)
