"""The workspace shell in Chromium: login, navigation by role, theme, logout, headers."""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

import httpx
import pytest

from conftest import PASSWORDS, VIEWPORT, WebServer

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def test_login_with_wrong_password_shows_the_error_and_stays_on_the_form(
    browser: Any, web_server: WebServer
) -> None:
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.goto(f"{web_server.url}/")
    page.get_by_test_id("login-username").fill("trader")
    page.get_by_test_id("login-password").fill("not-the-password")
    page.get_by_test_id("login-submit").click()

    error = page.get_by_test_id("login-error")
    error.filter(has_text="Wrong username or password").wait_for()
    assert page.get_by_test_id("whoami").inner_text() == ""
    context.close()


def test_login_with_each_role_shows_its_name_and_every_page_link(
    page_for: Any,
) -> None:
    for role in PASSWORDS:
        page = page_for(role)
        assert page.get_by_test_id("whoami").inner_text() == f"{role} ({role})"
        links = page.locator("#nav a").all_inner_texts()
        assert links == ["Compare", "Portfolio", "Paper trading", "Streaming"]


def test_theme_toggle_with_click_and_key_switches_and_remembers_the_theme(page_for: Any) -> None:
    page = page_for("viewer", theme="light")
    assert page.evaluate("document.documentElement.dataset.theme") == "light"

    page.locator("#theme-toggle").click()
    dark = page.evaluate("document.documentElement.dataset.theme")
    page.locator("body").press("t")
    light = page.evaluate("document.documentElement.dataset.theme")
    page.reload()
    page.get_by_test_id("whoami").filter(has_text="viewer").wait_for()
    remembered = page.evaluate("document.documentElement.dataset.theme")

    assert (dark, light, remembered) == ("dark", "light", "light")


def test_logout_with_a_session_returns_to_the_login_form(page_for: Any) -> None:
    page = page_for("trader")
    page.locator("#logout").click()

    page.get_by_test_id("login-username").wait_for()
    assert page.evaluate("sessionStorage.getItem('riskdesk.session')") is None


def test_shell_with_plain_http_is_served_with_a_strict_policy_and_bundled_plotly(
    web_server: WebServer,
) -> None:
    with httpx.Client(base_url=web_server.url) as client:
        index = client.get("/")
        plotly = client.get("/static/vendor/plotly.min.js")
        app_js = client.get("/static/js/app.js")
        api = client.get("/v1/health")

    assert index.status_code == 200
    assert "text/html" in index.headers["content-type"]
    assert "script-src 'self'" in index.headers["content-security-policy"]
    assert "cdn" not in index.text.lower()
    assert plotly.status_code == 200
    assert len(plotly.content) > 1_000_000
    assert app_js.headers["content-type"].startswith("text/javascript")
    assert api.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"


def test_round_decimal_with_ties_and_carries_matches_python_decimal_formatting(
    page_for: Any,
) -> None:
    rng = random.Random(5)
    texts = ["5.845", "5.855", "1.575", "-1.575", "999.995", "-0.005", "0", "12", "0.0049999"]
    for _ in range(400):
        whole = rng.randint(0, 10 ** rng.randint(0, 8))
        fraction = "".join(rng.choice("0123456789") for _ in range(rng.randint(0, 6)))
        texts.append(
            f"{'-' if rng.random() < 0.3 else ''}{whole}{'.' + fraction if fraction else ''}"
        )
    cases = [[text, digits] for text in texts for digits in (0, 2, 4)]
    page = page_for("viewer")

    shown = page.evaluate(
        """async (cases) => {
            const ui = await import("/static/js/ui.js");
            return cases.map(([text, digits]) => ui.roundDecimal(text, digits));
        }""",
        cases,
    )

    assert shown == [format(Decimal(text), f",.{digits}f") for text, digits in cases]
