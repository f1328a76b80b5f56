"""The attestation journey in real headless Chromium, with JavaScript off, as people take it:
the claimant files a claim with evidence; the attester opens the emailed link and confirms; the
claimant sees the credential; an anonymous visitor reads what it means, sees it verify, and
downloads the PDF. Every page is screenshotted and checked with axe-core; once more on a phone."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from tests.browser.conftest import PHONE, LiveApp, Pages
from tests.smtp_inbox import html_links, html_part, text_links

CLAIMANT = "Zoë Okafor-Nguyễn"


def _file_claim(page: Any, app: LiveApp, evidence: Path) -> str:
    page.goto(f"{app.url}/claims/new")
    page.get_by_label("I worked there").check()
    page.get_by_label("Organisation").select_option("st-marys")
    page.get_by_label("Your role, or the programme you studied").fill("Registered Nurse")
    page.locator("#start").fill("1998-03")
    page.locator("#end").fill("2020-06")
    page.get_by_label("Share of full time (if known)").fill("0.8")
    page.get_by_label("What you did").fill("Ward nursing; mentor to student nurses.")
    page.get_by_label("Skills").fill(
        "patient care | http://data.europa.eu/esco/skill/abc | S1 | ESCO\nmentoring"
    )
    page.get_by_label("File 1", exact=True).set_input_files(str(evidence))
    page.get_by_label("Title of file 1").fill("Letter of service")
    page.get_by_label("Your name").fill(CLAIMANT)
    page.get_by_label("Your email").fill("zoe@example.net")
    page.get_by_label("Email of the person who can confirm").fill("hr@stmarys.example")
    page.get_by_role("button", name="Send for confirmation").click()
    page.wait_for_load_state()
    assert re.search(r"/my/[A-Za-z0-9_-]+$", page.url), page.url
    return str(page.url)


def _emailed_link(app: LiveApp, to: str, path: str) -> str:
    [message] = [m for m in app.inbox.to(to) if any(path in u for u in text_links(m))]
    links = {u for u in html_links(message) if path in u}
    assert len(links) == 1 and links == {u for u in text_links(message) if path in u}
    return links.pop()


@pytest.fixture
def evidence(tmp_path: Path) -> Path:
    letter = tmp_path / "letter.pdf"
    letter.write_bytes(b"%PDF-1.4\n% twenty-two years of service\n%%EOF\n")
    return letter


def test_claim_confirm_and_read_the_credential_in_a_browser_without_javascript(
    live_app: LiveApp, browser: Any, evidence: Path
) -> None:
    pages = Pages(browser, live_app.url, "desktop")
    claimant = browser.new_context(java_script_enabled=False)
    page = claimant.new_page()

    page.goto(f"{live_app.url}/claims/new")
    pages.record(page, "01-claim-form")
    claimant_url = _file_claim(page, live_app, evidence)
    assert "Waiting for the organisation" in page.content()
    pages.record(page, "02-claim-filed")

    attester = browser.new_context(java_script_enabled=False)
    attest_page = attester.new_page()
    attest_page.goto(_emailed_link(live_app, "hr@stmarys.example", "/attest/"))
    assert f"{CLAIMANT} asks St Mary" in attest_page.content()
    assert "letter.pdf" in attest_page.content()
    pages.record(attest_page, "03-attester-link")
    attest_page.get_by_label("Your role at St Mary's Hospital").fill("HR Manager")
    attest_page.get_by_label("Confirm: this is right").check()
    attest_page.get_by_role("button", name="Send my answer").click()
    attest_page.wait_for_load_state()
    assert "Thank you" in attest_page.content()
    pages.record(attest_page, "04-attester-done")

    page.goto(claimant_url)
    assert "Confirmed and issued" in page.content()
    pages.record(page, "05-claimant-sees-credential")
    page.get_by_role("link", name="Open your credential").click()
    page.wait_for_load_state()
    credential_url = str(page.url)
    assert re.search(r"/credentials/[0-9a-f-]{36}$", credential_url), credential_url

    visitor = browser.new_context(java_script_enabled=False, accept_downloads=True)
    _read_as_a_stranger(visitor.new_page(), credential_url, pages, "06-credential-public")
    journey_mail = list(live_app.inbox.messages)  # the sign-in mail below is plain text only
    _share_open_and_revoke(browser, live_app, pages, page, credential_url)
    for context in (claimant, attester, visitor):
        context.close()
    for n, message in enumerate(journey_mail):  # the emails are read in browsers too
        pages.findings[f"email-{n}-{message['Subject'][:30]}"] = pages.check_html(
            html_part(message)
        )
    assert len(journey_mail) >= 4
    serious = pages.serious()
    pages.close()
    assert serious == {}, serious


def _read_as_a_stranger(page: Any, credential_url: str, pages: Pages, name: str) -> None:
    page.goto(credential_url)
    text = page.inner_text("main")
    assert "Genuine: this credential verifies now" in text
    assert "Registered Nurse at St Mary's Hospital" in text
    assert "through its HR Manager" in text and CLAIMANT in text
    assert "patient care" in text and "ESCO S1" in text and "Letter of service" in text
    pages.record(page, name)

    with page.expect_download() as download:
        page.get_by_role("link", name="PDF for A4 paper").click()
    pdf = Path(download.value.path()).read_bytes()
    reader = PdfReader(io.BytesIO(pdf))
    printed = " ".join(" ".join(p.extract_text().split()) for p in reader.pages)
    assert CLAIMANT in printed and credential_url in printed


def _share_open_and_revoke(
    browser: Any, app: LiveApp, pages: Pages, holder: Any, credential_url: str
) -> None:
    """The holder signs in, shares the record by link and publishes it on a profile; an employer
    (a fresh browser) opens the link, reads it, downloads the PDF; once revoked, the link is refused."""
    holder.goto(f"{app.url}/sign-in?next=/my/passport")
    holder.get_by_label("Your email address").fill("zoe@example.net")
    holder.get_by_role("button", name="Email me a sign-in link").click()
    holder.wait_for_load_state()
    [sign_in] = [
        u for m in app.inbox.to("zoe@example.net") for u in text_links(m) if "/sign-in/" in u
    ]
    holder.goto(sign_in)
    holder.get_by_role("button", name="Sign in").click()
    holder.wait_for_load_state()
    assert holder.url.endswith("/my/passport"), holder.url
    assert "Registered Nurse at St Mary's Hospital" in holder.inner_text("main")
    pages.record(holder, "07-passport")
    holder.get_by_role("link", name="By skill").click()
    holder.wait_for_load_state()
    pages.record(holder, "08-passport-by-skill")
    holder.get_by_label("Include in a new share link").first.check()
    holder.get_by_label("What it is for (only you see this)").fill("For the clinic")
    holder.get_by_label("Stops working after this many days").fill("30")
    holder.get_by_role("button", name="Make the link").click()
    holder.wait_for_load_state()
    shared_url = holder.get_by_label("Link to share").input_value()
    assert re.fullmatch(rf"{re.escape(app.url)}/shared/[A-Za-z0-9_-]+", shared_url), shared_url
    pages.record(holder, "09-passport-link-made")

    employer = browser.new_context(java_script_enabled=False, accept_downloads=True)
    reader = employer.new_page()
    reader.goto(shared_url)
    text = reader.inner_text("main")
    assert f"Records shared by {CLAIMANT}" in text
    assert "Genuine: this credential verifies now" in text
    assert "Registered Nurse at St Mary's Hospital" in text and "through its HR Manager" in text
    pages.record(reader, "10-shared-link")
    with reader.expect_download() as download:
        reader.get_by_role("link", name="PDF for A4 paper").click()
    printed = " ".join(
        " ".join(p.extract_text().split())
        for p in PdfReader(io.BytesIO(Path(download.value.path()).read_bytes())).pages
    )
    assert CLAIMANT in printed and credential_url in printed

    holder.goto(f"{app.url}/my/passport")
    assert "1 time" in holder.inner_text("#links")
    holder.get_by_role("button", name="Revoke the link For the clinic").click()
    holder.wait_for_load_state()
    assert "Revoked" in holder.inner_text("#links")
    refused = reader.goto(shared_url)
    assert refused is not None and refused.status == 410
    assert "This link no longer works" in reader.inner_text("main")
    assert "Registered Nurse" not in reader.content()
    pages.record(reader, "11-shared-link-revoked")

    holder.get_by_label("Your address: /people/…").fill("zoe-okafor")
    holder.locator("#profile").get_by_label("Registered Nurse at St Mary's Hospital").check()
    holder.get_by_label("Publish the profile (untick to take it down)").check()
    holder.get_by_role("button", name="Save the profile").click()
    holder.wait_for_load_state()
    reader.goto(f"{app.url}/people/zoe-okafor")
    assert "Genuine: this credential verifies now" in reader.inner_text("main")
    pages.record(reader, "12-public-profile")
    employer.close()


def test_the_credential_reads_on_a_phone(live_app: LiveApp, browser: Any, evidence: Path) -> None:
    pages = Pages(browser, live_app.url, "phone")
    phone = browser.new_context(java_script_enabled=False, accept_downloads=True, **PHONE)
    page = phone.new_page()
    page.goto(f"{live_app.url}/claims/new")
    pages.record(page, "01-claim-form")
    claimant_url = _file_claim(page, live_app, evidence)
    pages.record(page, "02-claim-filed")
    attester = browser.new_context(java_script_enabled=False, **PHONE)
    attest_page = attester.new_page()
    links = [
        u for m in live_app.inbox.to("hr@stmarys.example") for u in text_links(m) if "/attest/" in u
    ]
    attest_page.goto(links[-1])
    _no_sideways_scrolling(attest_page)
    pages.record(attest_page, "03-attester-link")
    attest_page.get_by_label("Your role at St Mary's Hospital").fill("Ward Manager")
    attest_page.get_by_role("button", name="Send my answer").click()
    attest_page.wait_for_load_state()

    page.goto(claimant_url)
    page.get_by_role("link", name="Open your credential").click()
    page.wait_for_load_state()
    visitor = browser.new_context(java_script_enabled=False, accept_downloads=True, **PHONE)
    stranger = visitor.new_page()
    stranger.goto(str(page.url))
    assert "Genuine: this credential verifies now" in stranger.inner_text("main")
    _no_sideways_scrolling(stranger)
    pages.record(stranger, "04-credential-public")
    for context in (phone, attester, visitor):
        context.close()
    serious = pages.serious()
    pages.close()
    assert serious == {}, serious


def _no_sideways_scrolling(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    viewport = page.viewport_size["width"]
    assert width <= viewport, f"{page.url} is {width}px wide on a {viewport}px screen"
