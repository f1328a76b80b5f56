"""The accessibility check can fail: axe-core, run the way the journeys run it, finds what it should."""

from __future__ import annotations

from typing import Any

from tests.browser.conftest import LiveApp, Pages

BAD = """<!doctype html><html><head><title>bad</title></head><body><main>
<h1>Bad page</h1>
<img src="/static/nothing.png">
<p style="color:#c8c8c8;background:#ffffff">Pale grey text on white</p>
<form><input type="text" name="unlabelled"></form>
</main></body></html>"""


def test_the_check_reports_missing_alt_text_low_contrast_and_unlabelled_fields(
    live_app: LiveApp, browser: Any
) -> None:
    pages = Pages(browser, live_app.url, "axe-self-test")
    try:
        found = {v["id"]: v["impact"] for v in pages.check_html(BAD)}
    finally:
        pages.close()
    assert found["image-alt"] == "critical"
    assert found["color-contrast"] == "serious"
    assert found["label"] == "critical"
