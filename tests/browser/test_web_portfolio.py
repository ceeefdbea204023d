"""The Portfolio page in Chromium: upload a book, read its risk, a what-if session, roles.

History is synthesized once for the module (every underlying of the packaged sample book,
with the factor ETFs) up to ``ON``; the page is set to that date. Each number the page shows
is checked against the same ``/v1`` call made here with httpx and the trader's token.
"""

from __future__ import annotations

import itertools
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from conftest import PASSWORDS, SCREENSHOTS, WebServer, shoot
from riskdesk.risk.history_usecases import PriceHistory

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

ON = date(2026, 11, 20)
DAY = ON.isoformat()
WINDOW = 250
SAMPLE = Path(__file__).resolve().parents[2] / "src/riskdesk/risk/samples/demo_book.csv"
UNDERLYINGS = ["AAPL", "MSFT", "AMZN", "NVDA", "SPY", "IWM", "QQQ"]
BAD_CSV = (
    "ticker,quantity,entry_price,entry_date,tags\n"
    "AAPL,10,190.00,2026-03-02,core\n"
    "MSFT,0,400.00,2026-03-02,core\n"
    "NVDA,5,abc,2026-03-02,\n"
    "AMZN,5,180.00,not-a-date,\n"
)
_names = itertools.count(1)
ORDER_JS = """
window.__order = { tables: null, chart: null };
new MutationObserver(() => {
  const o = window.__order;
  const panels = ['exposures', 'greeks', 'var', 'stress', 'factors'];
  if (o.tables === null && panels.every(
    (p) => document.querySelector(`[data-testid=panel-${p}][data-state=ready] table`))) {
    o.tables = performance.now();
  }
  if (o.chart === null && document.querySelector('.pf-chart .main-svg')) o.chart = performance.now();
}).observe(document, { subtree: true, childList: true, attributes: true });
"""
"""When every risk panel first showed its table, and when the first chart was drawn."""


@pytest.fixture(scope="module")
def history(web_server: WebServer) -> None:
    """Closes of the sample book's underlyings and the factor ETFs up to ``ON``."""
    PriceHistory(web_server.db).synthesize(
        UNDERLYINGS, seed=11, end=ON, days=300, include_factors=True
    )


def _token(web_server: WebServer, role: str) -> dict[str, str]:
    response = httpx.post(
        f"{web_server.url}/v1/auth/login", json={"username": role, "password": PASSWORDS[role]}
    )
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def _api(web_server: WebServer, role: str = "trader") -> httpx.Client:
    return httpx.Client(base_url=web_server.url, headers=_token(web_server, role), timeout=60)


def shown(value: str | None) -> str:
    """A decimal string as the page shows it: its own decimals, thousands separators."""
    if value is None:
        return "-"
    number = Decimal(value)
    places = max(0, -int(number.as_tuple().exponent))
    return f"{number:,.{places}f}"


def _open(page_for: Any, *, theme: str | None = None) -> Any:
    """The trader's Portfolio page, set to ``ON`` and the test's VaR window."""
    page = page_for("trader", theme=theme)
    page.goto("/#/portfolio")
    page.get_by_test_id("portfolio-new-name").wait_for()
    page.get_by_test_id("portfolio-date").fill(ON.isoformat())
    page.get_by_test_id("portfolio-window").fill(str(WINDOW))
    page.get_by_test_id("portfolio-window").press("Enter")
    return page


def _create(page: Any, prefix: str) -> str:
    """Create a portfolio through the page (it becomes the chosen one); its id."""
    name = f"{prefix}-{next(_names)}"
    page.get_by_test_id("portfolio-new-name").fill(name)
    page.get_by_test_id("portfolio-create").click()
    select = page.get_by_test_id("portfolio-select")
    select.locator("option", has_text=name).wait_for(state="attached")
    page.wait_for_function(
        "name => { const s = document.querySelector('[data-testid=portfolio-select]');"
        " return s.options[s.selectedIndex] && s.options[s.selectedIndex].text === name; }",
        arg=name,
    )
    return str(select.input_value())


def _ready(page: Any, testid: str) -> Any:
    panel = page.locator(f'[data-testid="{testid}"][data-state="ready"]')
    panel.wait_for(timeout=60_000)
    return panel


def _cells(page: Any, testid: str) -> list[str]:
    return [c.strip() for c in page.get_by_test_id(testid).locator("td").all_inner_texts()]


def _upload_sample(page: Any) -> None:
    page.get_by_test_id("portfolio-use-sample").click()
    page.get_by_test_id("portfolio-import-summary").wait_for()
    for panel in ("panel-exposures", "panel-var", "panel-greeks", "panel-factors", "panel-stress"):
        _ready(page, panel)


def test_portfolio_page_with_the_sample_book_shows_exposures_and_var_equal_to_the_api(
    page_for: Any, web_server: WebServer, history: None
) -> None:
    page = _open(page_for)
    portfolio = _create(page, "sample")

    _upload_sample(page)
    summary = page.get_by_test_id("portfolio-import-summary").inner_text()
    with _api(web_server) as api:
        detail = api.get(f"/v1/portfolios/{portfolio}").json()
        exposures = api.get(f"/v1/risk/{portfolio}/exposures", params={"date": DAY}).json()
        var = api.get(f"/v1/risk/{portfolio}/var", params={"date": DAY, "window": WINDOW}).json()
        greeks = api.get(
            f"/v1/risk/{portfolio}/greeks", params={"date": DAY, "by": ["underlying", "expiry"]}
        ).json()
        again = api.post(
            f"/v1/portfolios/{portfolio}/positions/import",
            content=SAMPLE.read_bytes(),
            headers={"Content-Type": "text/csv"},
        ).json()

    served = httpx.get(f"{web_server.url}/static/samples/demo_book.csv")
    rows = SAMPLE.read_text().strip().count("\n")
    assert f"{rows} row(s): {rows} imported, 0 already stored, 0 rejected." in summary
    assert served.content == SAMPLE.read_bytes()  # the page uploads the packaged sample
    assert served.headers["content-type"].startswith("text/csv")
    assert again["skipped_count"] == rows  # so the page's upload stored exactly its rows
    assert len(detail["positions"]) == rows
    expected_exposures = {
        "exposure-market_value": exposures["market_value"],
        "exposure-gross": exposures["gross"],
        "exposure-net": exposures["net"],
        "exposure-delta_net": exposures["delta_adjusted"]["net"],
        "exposure-beta_dollars": exposures["beta_weighted"]["dollars"],
    }
    for testid, value in expected_exposures.items():
        assert _cells(page, testid)[1] == shown(value), testid
    for method in ("historical", "delta_gamma_normal", "monte_carlo"):
        for row in var[method]:
            cells = _cells(page, f"var-{method}-{row['confidence']}-{row['horizon_days']}")
            assert cells[3:5] == [shown(row["var"]), shown(row["es"])], (method, row)
    aapl = next(b for b in greeks["by"]["underlying"] if b["key"] == "AAPL")
    assert _cells(page, "greeks-underlying-AAPL")[1] == shown(aapl["delta"])
    page.get_by_test_id("greeks-bucket-expiry").click()
    first_expiry = greeks["by"]["expiry"][0]
    assert _cells(page, f"greeks-expiry-{first_expiry['key']}")[5] == shown(
        first_expiry["dollar_delta"]
    )
    page.get_by_test_id("greeks-chart").locator(".main-svg").first.wait_for()
    shoot(page, "portfolio-book")


def test_portfolio_upload_with_bad_rows_lists_each_row_error(
    page_for: Any, web_server: WebServer
) -> None:
    page = _open(page_for)
    _create(page, "bad")
    with _api(web_server) as api:
        other = api.post("/v1/portfolios", json={"name": f"bad-check-{next(_names)}"}).json()
        report = api.post(
            f"/v1/portfolios/{other['id']}/positions/import",
            params={"today": DAY},
            content=BAD_CSV.encode(),
            headers={"Content-Type": "text/csv"},
        ).json()

    page.get_by_test_id("portfolio-file").set_input_files(
        files=[{"name": "bad.csv", "mimeType": "text/csv", "buffer": BAD_CSV.encode()}]
    )
    page.get_by_test_id("portfolio-upload").click()
    page.get_by_test_id("portfolio-import-errors").wait_for()
    listed = [_cells(page, f"import-error-{row['line']}") for row in report["rejected"]]
    page.get_by_test_id("portfolio-file").set_input_files(
        files=[{"name": "empty.csv", "mimeType": "text/csv", "buffer": b""}]
    )
    page.get_by_test_id("portfolio-upload").click()
    refused = page.get_by_test_id("portfolio-import-error")
    refused.wait_for()

    assert report["rejected_count"] == 3
    assert listed == [
        [str(r["line"]), r["column"] or "-", r["value"] or "(none)", r["reason"]]
        for r in report["rejected"]
    ]
    assert page.locator('[data-testid="portfolio-import-errors"] tbody tr').count() == 0
    assert "422" in refused.inner_text()
    assert "the file is empty" in refused.inner_text()


def test_portfolio_stress_with_the_sample_book_shows_each_scenario_pnl_of_the_api(
    page_for: Any, web_server: WebServer, history: None
) -> None:
    page = _open(page_for)
    portfolio = _create(page, "stress")
    _upload_sample(page)

    with _api(web_server) as api:
        stress = api.get(f"/v1/risk/{portfolio}/stress", params={"date": DAY}).json()

    crash = next(s for s in stress["scenarios"] if s["key"] == "market_crash_35")
    cells = _cells(page, "stress-market_crash_35")
    assert cells[0] == crash["name"]
    assert cells[3] == shown(crash["pnl"])
    assert Decimal(crash["pnl"]) < 0
    assert page.locator('[data-testid="portfolio-stress"] tbody tr').count() == len(
        stress["scenarios"]
    )
    page.get_by_test_id("stress-chart").locator(".main-svg").first.wait_for()


def test_portfolio_whatif_with_a_resize_shows_before_and_after_of_the_api_compare(
    page_for: Any, web_server: WebServer, history: None
) -> None:
    page = _open(page_for, theme="dark")
    _create(page, "whatif")
    _upload_sample(page)

    page.get_by_test_id("whatif-start").click()
    quantity = page.get_by_test_id("whatif-qty-AAPL")
    quantity.fill("150")
    quantity.press("Enter")
    result = page.locator('[data-testid="whatif-result"][data-state="compared"]')
    result.wait_for(timeout=60_000)
    session_id = page.evaluate(
        "fetch('/v1/modeling-sessions?status=active', {headers: {Authorization: 'Bearer ' +"
        " JSON.parse(sessionStorage.getItem('riskdesk.session')).access_token}})"
        ".then(r => r.json()).then(p => p.items[0].id)"
    )
    with _api(web_server) as api:
        compare = api.post(
            f"/v1/modeling-sessions/{session_id}/compare", params={"var_window": WINDOW}
        ).json()

    measures = {m["measure"]: m for m in compare["measures"]}
    for name in ("exposures.market_value", "greeks.delta", "stress.market_crash_35.pnl"):
        m = measures[name]
        cells = _cells(page, f"whatif-row-{name}")
        assert cells[1:] == [shown(m["baseline"]), shown(m["pro_forma"]), shown(m["change"])]
    assert Decimal(measures["greeks.delta"]["change"]) == Decimal("-150")
    assert _cells(page, "whatif-baseline-AAPL")[2] == "300"
    assert _cells(page, "whatif-book-AAPL")[2] == "150"
    assert "resize AAPL to 150" in page.get_by_test_id("whatif-changes").inner_text()
    page.get_by_test_id("whatif-stress-chart").locator(".main-svg").first.wait_for()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.get_by_test_id("panel-whatif").screenshot(
        path=str(SCREENSHOTS / "portfolio-whatif-dark.png")
    )


def test_portfolio_page_with_viewer_hides_uploads_and_the_api_refuses_them(
    page_for: Any, web_server: WebServer
) -> None:
    with _api(web_server) as api:
        theirs = api.post("/v1/portfolios", json={"name": f"trader-{next(_names)}"}).json()
    page = page_for("viewer")
    page.goto("/#/portfolio")
    page.get_by_test_id("portfolio-readonly").wait_for()
    page.get_by_test_id("portfolio-none").wait_for()

    with _api(web_server, "viewer") as viewer:
        upload = viewer.post(
            f"/v1/portfolios/{theirs['id']}/positions/import",
            content=SAMPLE.read_bytes(),
            headers={"Content-Type": "text/csv"},
        )
        create = viewer.post("/v1/portfolios", json={"name": "mine"})
        listed = viewer.get("/v1/portfolios").json()

    for control in ("portfolio-upload", "portfolio-use-sample", "portfolio-create", "whatif-start"):
        assert page.get_by_test_id(control).count() == 0, control
    assert (upload.status_code, create.status_code) == (403, 403)
    assert listed["items"] == []
    assert "Viewers read books" in page.get_by_test_id("portfolio-none").inner_text()


def test_portfolio_page_with_its_book_in_the_address_fits_1280_px_and_charts_after_tables(
    page_for: Any, web_server: WebServer, history: None
) -> None:
    with _api(web_server) as api:
        book = api.post("/v1/portfolios", json={"name": f"address-{next(_names)}"}).json()
        api.post(
            f"/v1/portfolios/{book['id']}/positions/import",
            content=SAMPLE.read_bytes(),
            headers={"Content-Type": "text/csv"},
        ).raise_for_status()
        var = api.get(f"/v1/risk/{book['id']}/var", params={"date": DAY, "window": WINDOW}).json()
        narrow = api.get(f"/v1/risk/{book['id']}/var", params={"date": DAY, "window": 60}).json()
    page = page_for("trader")
    page.evaluate(
        "view => sessionStorage.setItem('riskdesk.portfolio.view', JSON.stringify(view))",
        {"date": DAY, "window": WINDOW},
    )
    page.add_init_script(ORDER_JS)
    page.goto(f"/#/portfolio/{book['id']}")
    page.reload()  # a fresh document: plotly not loaded by an earlier page
    for panel in ("panel-exposures", "panel-var", "panel-greeks", "panel-factors", "panel-stress"):
        _ready(page, panel)
    page.get_by_test_id("greeks-chart").locator(".main-svg").first.wait_for()
    page.get_by_test_id("stress-chart").locator(".main-svg").first.wait_for()
    widths = page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth,"
        " document.querySelector('[data-testid=panel-positions]').getBoundingClientRect().right]"
    )
    first = var["historical"][0]
    before = _cells(page, f"var-historical-{first['confidence']}-{first['horizon_days']}")[3]
    page.evaluate("() => { document.querySelector('[data-testid=greeks-chart]').__kept = true; }")
    window_input = page.get_by_test_id("portfolio-window")
    window_input.fill("60")
    window_input.press("Enter")
    row = narrow["historical"][0]
    page.wait_for_function(
        "([id, text]) => { const r = document.querySelector(`[data-testid='${id}']`);"
        " return r && r.querySelectorAll('td')[3].textContent.trim() === text; }",
        arg=[f"var-historical-{row['confidence']}-{row['horizon_days']}", shown(row["var"])],
        timeout=60_000,
    )
    for panel in ("panel-exposures", "panel-var", "panel-greeks", "panel-factors", "panel-stress"):
        _ready(page, panel)
    kept = page.evaluate("() => document.querySelector('[data-testid=greeks-chart]').__kept")
    order = page.evaluate("() => window.__order")

    assert widths[0] == widths[1] == 1280, widths  # no horizontal page scroll at 1280 px
    assert widths[2] <= 1280, widths
    assert order["tables"] is not None, order
    assert order["chart"] is not None, order
    assert order["chart"] >= order["tables"], order  # charts only once every table is up
    assert before == shown(first["var"])
    assert first["var"] != row["var"]
    assert kept is True  # the Greeks did not change: their table and chart were not redrawn
    shoot(page, "portfolio-address-1280")
