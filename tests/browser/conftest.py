"""The real app on a free loopback port (uvicorn in a thread), mail to a real SMTP server on loopback,
and Debian's Chromium driven by Playwright. Skipped, with the reason, where Chromium, Playwright or
axe-core is missing, unless RPL_REQUIRE_BROWSER=1 (CI), where that is a failure."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from rpl.bootstrap import Container, bootstrap
from rpl.config import Settings
from rpl.organisations import Attester
from rpl.services.organisations import RegisterOrganisation, register_organisation
from tests.conftest import _reset_postgres, database_url
from tests.smtp_inbox import Inbox, free_port, smtp_server

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
AXE = Path(__file__).parent / "node_modules" / "axe-core" / "axe.min.js"
# Named in the README; CI keeps the folder as an artifact.
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "device_scale_factor": 2}


def _missing() -> str | None:
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (Debian: apt-get install chromium; `make install` does it as root)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "python playwright is missing (uv sync installs the dev group)"
    if not AXE.exists():
        return f"axe-core is missing at {AXE} (make install runs npm ci --prefix tests/browser)"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    ours = [i for i in items if here in Path(str(i.fspath)).parents]
    for item in ours:
        item.add_marker(pytest.mark.browser)
    reason = _missing()
    if reason and os.environ.get("RPL_REQUIRE_BROWSER") != "1":
        for item in ours:
            item.add_marker(pytest.mark.skip(reason=reason))


@dataclass
class LiveApp:
    url: str
    container: Container
    inbox: Inbox


@pytest.fixture(scope="module")
def live_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApp]:
    import uvicorn

    from rpl.web.app import create_app

    home = tmp_path_factory.mktemp("browser") / "home"
    port = free_port()
    with smtp_server() as (smtp_port, inbox):
        settings = Settings(
            home=home,
            database_url=database_url(home),
            public_url=f"http://127.0.0.1:{port}",
            runner="inline",
            smtp_host="127.0.0.1",
            smtp_port=smtp_port,
            smtp_sender="rpl@stmarys.example",
            sweep_minutes=0,
        )
        if settings.database_url.startswith("postgresql"):
            _reset_postgres(settings.database_url)
        container = bootstrap(settings, runner="inline", network=False)
        register_organisation(
            container.uow,
            container.master_key,
            RegisterOrganisation(
                name="St Mary's Hospital",
                domain="stmarys.example",
                url="https://stmarys.example",
                slug="st-marys",
                attesters=(Attester("hr@stmarys.example", "HR"),),
                domain_verified=True,
            ),
            container.now(),
        )
        config = uvicorn.Config(
            create_app(container), host="127.0.0.1", port=port, log_level="warning"
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, name="rpl-browser-app", daemon=True)
        thread.start()
        deadline = time.monotonic() + 30
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "the app did not start"
            time.sleep(0.05)
        try:
            yield LiveApp(settings.public_url, container, inbox)
        finally:
            server.should_exit = True
            thread.join(timeout=15)
            container.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    reason = _missing()
    if reason:  # only reached with RPL_REQUIRE_BROWSER=1: the tests must run here
        pytest.fail(f"RPL_REQUIRE_BROWSER=1 but {reason}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


class Pages:
    """Screenshots and accessibility checks of the pages a journey passes through.

    The journey runs with JavaScript off (the pages must work without it); axe-core needs it, so
    each page's HTML, as the JS-less browser got it, is checked in a second context where JavaScript
    runs, served from the app's own address so that its stylesheet applies."""

    def __init__(self, browser: Any, base_url: str, prefix: str) -> None:
        self.base_url = base_url
        self.prefix = prefix
        self.axe = browser.new_context(base_url=base_url)
        self.findings: dict[str, list[dict[str, Any]]] = {}
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def record(self, page: Any, name: str) -> None:
        page.screenshot(path=SCREENSHOTS / f"{self.prefix}-{name}.png", full_page=True)
        self.findings[name] = self.check_html(page.content())

    def check_html(self, html: str) -> list[dict[str, Any]]:
        page = self.axe.new_page()
        snapshot = f"{self.base_url}/__axe-snapshot__"
        page.route(snapshot, lambda route: route.fulfill(body=html, content_type="text/html"))
        page.goto(snapshot)
        page.evaluate(AXE.read_text(encoding="utf-8"))
        result = page.evaluate(
            "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        )
        page.close()
        return [
            {
                "id": v["id"],
                "impact": v["impact"],
                "help": v["help"],
                "nodes": [n["html"][:200] for n in v["nodes"]],
            }
            for v in result
        ]

    def serious(self) -> dict[str, list[dict[str, Any]]]:
        """Serious and critical violations, by page; all findings are written next to the
        screenshots for people to read."""
        (SCREENSHOTS / f"{self.prefix}-axe.json").write_text(json.dumps(self.findings, indent=2))
        return {
            name: [v for v in found if v["impact"] in ("serious", "critical")]
            for name, found in self.findings.items()
            if any(v["impact"] in ("serious", "critical") for v in found)
        }

    def close(self) -> None:
        self.axe.close()
