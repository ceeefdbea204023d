"""Browser tests: the real service on 127.0.0.1 and Debian's Chromium driven by Playwright.

* ``web_server`` (one per test module) -- a migrated SQLite database copied from the suite's
  template, ``create_app`` with the cheap password hasher, served by uvicorn in a thread on a
  free loopback port, with users admin, trader and viewer (passwords in ``PASSWORDS``);
* ``browser`` -- headless Chromium: ``RISKDESK_TEST_CHROMIUM`` or ``chromium`` on the PATH
  (``scripts/test.sh`` installs Debian's package; Playwright's own download is not used). When
  neither exists the tests are skipped with the reason, unless ``RISKDESK_REQUIRE_BROWSER`` is
  set (the test script sets it), in which case they fail;
* ``page_for(role)`` -- a fresh browser context at 1280x800, logged in through the login page;
* ``shoot(page, name)`` -- a full-page screenshot under ``build/screenshots/`` (the README's
  pictures in ``docs/screenshots`` are copies of these).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from riskdesk.config import Settings
from riskdesk.service.local import local_app, local_settings, serve_in_thread
from riskdesk.store import Database

PASSWORDS = {
    "admin": "admin-password-0001",
    "trader": "trader-password-0002",
    "viewer": "viewer-password-0003",
}
SCREENSHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"
VIEWPORT = {"width": 1280, "height": 800}


@dataclass
class WebServer:
    """A served riskdesk: its base URL, database and settings."""

    url: str
    db: Database
    settings: Settings
    app: Any


@pytest.fixture(scope="module")
def web_server(
    _sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[WebServer]:
    """The service with its web workspace, on a free 127.0.0.1 port, with three users."""
    root = tmp_path_factory.mktemp("web")
    db_path = root / "web.sqlite3"
    shutil.copyfile(_sqlite_template, db_path)
    settings = local_settings(root, f"sqlite:///{db_path}")
    db = Database.from_settings(settings, create=False)
    try:
        app = local_app(settings, db, root, PASSWORDS)
        with serve_in_thread(app) as url:
            yield WebServer(url=url, db=db, settings=settings, app=app)
    finally:
        db.dispose()


def _chromium() -> str | None:
    return (
        os.environ.get("RISKDESK_TEST_CHROMIUM")
        or shutil.which("chromium")
        or shutil.which("chromium-browser")
    )


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium (Debian's) driven by Playwright."""
    executable = _chromium()
    if executable is None:
        if os.environ.get("RISKDESK_REQUIRE_BROWSER"):
            pytest.fail("no Chromium: install Debian's chromium or set RISKDESK_TEST_CHROMIUM")
        pytest.skip("no Chromium on this machine (scripts/test.sh installs Debian's chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=executable, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            yield chromium
        finally:
            chromium.close()


def login(page: Any, base_url: str, role: str) -> None:
    """Log in as ``role`` through the login page and wait for the workspace."""
    page.goto(f"{base_url}/#/compare")
    page.get_by_test_id("login-username").fill(role)
    page.get_by_test_id("login-password").fill(PASSWORDS[role])
    page.get_by_test_id("login-submit").click()
    page.get_by_test_id("whoami").filter(has_text=role).wait_for()


@pytest.fixture
def page_for(browser: Any, web_server: WebServer) -> Iterator[Callable[..., Any]]:
    """``page_for("trader")``: a new 1280x800 context logged in as that role."""
    contexts: list[Any] = []
    errors: list[str] = []

    def open_page(role: str, *, theme: str | None = None) -> Any:
        context = browser.new_context(viewport=VIEWPORT, base_url=web_server.url)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda exc: errors.append(f"{role}: {exc}"))
        page.set_default_timeout(15_000)
        if theme:
            page.add_init_script(f"localStorage.setItem('riskdesk.theme', '{theme}')")
        login(page, web_server.url, role)
        return page

    try:
        yield open_page
    finally:
        for context in contexts:
            context.close()
    assert not errors, f"JavaScript errors in the page: {errors}"


def shoot(page: Any, name: str) -> Path:
    """A full-page screenshot ``build/screenshots/<name>.png``; its path."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


@contextmanager
def api_client(web_server: WebServer, role: str = "trader") -> Iterator[httpx.Client]:
    """An httpx client on the test server logged in as ``role`` (the tests' independent reads)."""
    with httpx.Client(base_url=web_server.url, timeout=60) as client:
        tokens = client.post(
            "/v1/auth/login", json={"username": role, "password": PASSWORDS[role]}
        ).json()
        client.headers["Authorization"] = f"Bearer {tokens['access_token']}"
        yield client
