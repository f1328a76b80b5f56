"""Re-issue through the real app and the CLI: the API endpoint (admin only), the old credential's
page saying it was replaced and leading to the new one, and `rpl org reissue`."""

from __future__ import annotations

import re
from typing import Any

from typer.testing import CliRunner

from rpl.bootstrap import Container
from rpl.cli import app
from rpl.organisations import Organisation
from tests.integration.test_keys_rotation import compromise, env, issued, rotate, verify

ADMIN = {"Authorization": "Bearer test-admin-token"}
REISSUE = "/api/organisations/st-marys/keys/key-1/reissue"
__all__ = ["env"]  # the CLI test's fixture


def test_reissue_through_the_api_is_for_the_admin_and_safe_to_repeat(
    client: Any, container: Container, hospital: Organisation
) -> None:
    [old] = issued(container, hospital)
    rotate(container, hospital)
    early = client.post(REISSUE, headers=ADMIN)
    assert early.status_code == 409 and early.json()["error"] == "KeyNotCompromisedError"
    compromise(container, hospital, "key-1")

    assert client.post(REISSUE).status_code == 401
    assert client.post(REISSUE, headers={"Authorization": "Bearer nope"}).status_code == 401
    answer = client.post(REISSUE, headers=ADMIN)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    new = body["reissued"][old]
    assert body == {
        "key_id": "key-1",
        "reissued": {old: new},
        "already_reissued": {},
        "skipped": {},
        "failed": {},
    }
    again = client.post(REISSUE, headers=ADMIN).json()
    assert again["reissued"] == {} and again["already_reissued"] == {old: new}
    unknown = client.post("/api/organisations/st-marys/keys/key-7/reissue", headers=ADMIN)
    assert unknown.status_code == 404 and unknown.json()["error"] == "UnknownKeyError"

    verdict = client.post(
        "/api/verify",
        content=client.get(f"/api/credentials/{new}").content,
        headers={"Content-Type": "application/json"},
    ).json()
    assert verdict["verified"], verdict["errors"]


def test_the_old_credentials_page_says_it_was_replaced_and_links_the_new_one(
    client: Any, container: Container, hospital: Organisation
) -> None:
    [old] = issued(container, hospital)
    rotate(container, hospital)
    compromise(container, hospital, "key-1")
    new = client.post(REISSUE, headers=ADMIN).json()["reissued"][old]

    page = client.get(f"/credentials/{old}")
    assert page.status_code == 200
    assert "This credential was replaced" in page.text
    assert re.search(rf'href="/credentials/{new}"', page.text)
    assert "Not verified" in page.text

    replacement = client.get(f"/credentials/{new}")
    assert "Genuine: this credential verifies now" in replacement.text
    assert "This credential was replaced" not in replacement.text
    assert re.search(rf'This credential replaces\s+<a href="/credentials/{old}"', replacement.text)

    # The old credential's status can no longer be changed: its claim follows the new one.
    admin_page = client.get(f"/admin/credentials/{old}", headers=ADMIN)
    assert admin_page.status_code == 200
    assert "Change its status" not in admin_page.text
    assert "CredentialReissued" in admin_page.text
    refused = client.post(
        f"/api/credentials/{old}/suspend", json={"reason": "check"}, headers=ADMIN
    )
    assert refused.status_code == 409 and refused.json()["error"] == "ReplacedCredentialError"


def test_org_reissue_prints_what_it_reissued(env: Container, hospital: Organisation) -> None:
    old = issued(env, hospital, 2)
    runner = CliRunner()
    assert runner.invoke(app, ["org", "rotate-key", hospital.slug]).exit_code == 0
    refused = runner.invoke(app, ["org", "reissue", hospital.slug, "--key", "key-1"])
    assert refused.exit_code == 2 and "mark it first" in refused.stderr
    marked = runner.invoke(
        app, ["org", "compromise-key", hospital.slug, "key-1", "--reason", "laptop stolen"]
    )
    assert marked.exit_code == 0, marked.output

    result = runner.invoke(app, ["org", "reissue", hospital.slug, "--key", "key-1"])

    assert result.exit_code == 0, result.output
    rows = [line.split("\t") for line in result.stdout.splitlines()]
    assert sorted(r[0] for r in rows) == sorted(old)
    assert all(r[1].startswith("reissued as ") for r in rows)
    for _, outcome in rows:
        assert verify(env, outcome.removeprefix("reissued as ")).verified
    again = runner.invoke(app, ["org", "reissue", hospital.slug, "--key", "key-1"])
    assert again.exit_code == 0
    assert [line.split("\t")[1] for line in again.stdout.splitlines()] == [
        f"already {r[1]}" for r in rows
    ]
