"""End-to-end tests in a real browser: Debian's Chromium driven by Playwright, with axe-core checks.

The module's server is the real app (``xrm.ui.app.create_app``) over a copy of the runtime's template
database (the three packs and the cast of users, password ``PASSWORD``), served by uvicorn in a
background thread on a free port.  Chromium is the one from ``apt-get install chromium`` at
``/usr/bin/chromium`` (never ``playwright install``); without it the tests skip and say why.
axe-core comes from npm (``package.json``), injected into the page from ``node_modules``.
"""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from playwright.sync_api import Browser, Page, Playwright, expect, sync_playwright

from tests.conftest import REPO_ROOT
from tests.runtime.conftest import PASSWORD, Seed
from xrm.db import make_engine

CHROMIUM = Path("/usr/bin/chromium")
AXE_JS = REPO_ROOT / "node_modules" / "axe-core" / "axe.min.js"
#: axe impacts that fail a test; "minor" and "moderate" findings are left to review.
FAILING_IMPACTS = ("serious", "critical")

expect.set_options(timeout=10_000)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test under tests/ui/browser is a browser test: ``-m browser`` selects them, ``-m 'not browser'`` leaves them out."""
    here = Path(__file__).resolve().parent
    for item in items:
        if here in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.browser)


@dataclass(frozen=True)
class LiveServer:
    url: str
    seed: Seed

    def api_headers(self, user: str = "admin") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.seed.tokens[user]}"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def live_server(sqlite_template: tuple[Path, Seed], tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The app over a fresh copy of ``sqlite_template`` (tests/ui/conftest.py), served on a free port for the module's tests."""
    from xrm.ui.app import create_app

    template, seed = sqlite_template
    folder = tmp_path_factory.mktemp("live")
    shutil.copy(template, folder / "xrm.db")
    engine = make_engine(f"sqlite:///{folder / 'xrm.db'}")
    port = _free_port()
    config = uvicorn.Config(create_app(engine), host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn-live-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            thread.join(5)
            engine.dispose()
            pytest.fail("the live server did not start")
        time.sleep(0.02)
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", seed)
    finally:
        server.should_exit = True
        thread.join(15)
        engine.dispose()
        assert not thread.is_alive(), "the live server did not stop"


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} not found: install Debian's Chromium (apt-get install chromium) to run the browser tests")
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox", "--headless"])
    try:
        yield browser
    finally:
        browser.close()


@pytest.fixture
def page(browser: Browser, live_server: LiveServer) -> Iterator[Page]:
    """A fresh page in its own context (no cookies) for each test, on the live server."""
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()


def sign_in(page: Page, user: str = "admin", password: str = PASSWORD) -> None:
    page.goto("/login")
    page.get_by_label("User name").fill(user)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Welcome, {user.title()}")


@pytest.fixture
def admin_page(page: Page) -> Page:
    sign_in(page, "admin")
    return page


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page as it is now."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE_JS))
    results = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [v for v in results["violations"] if v.get("impact") in FAILING_IMPACTS]


def format_violations(violations: list[dict[str, Any]]) -> str:
    lines = []
    for violation in violations:
        lines.append(f"[{violation['impact']}] {violation['id']}: {violation['help']} ({violation['helpUrl']})")
        for node in violation["nodes"]:
            target = " ".join(str(t) for t in node["target"])
            fix = (node.get("failureSummary") or "").strip().splitlines()
            lines.append(f"    {target}: {fix[-1].strip() if fix else ''}")
            lines.append(f"      {node['html'][:200]}")
    return "\n".join(lines)


def assert_accessible(page: Page, where: str) -> None:
    if not AXE_JS.is_file():
        pytest.fail(f"{AXE_JS} missing: run ./run setup (npm ci installs axe-core from package.json)")
    violations = axe_violations(page)
    assert not violations, f"axe-core found serious or critical problems on {where} ({page.url}):\n{format_violations(violations)}"
