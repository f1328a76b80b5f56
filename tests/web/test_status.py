"""Status through the real app: the served lists, and the admin's API and page."""

from __future__ import annotations

import json
from typing import Any

import pytest

from rpl.bootstrap import Container
from rpl.config import Settings
from rpl.organisations import Organisation
from rpl.status import decode_list, set_indexes
from tests.conftest import csrf_from
from tests.web.journey import attester_path, credential_id, decide, file_claim, issued_credential

ADMIN = {"Authorization": "Bearer test-admin-token"}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Credentials here carry a revocation and a suspension entry."""
    return settings.with_(status_purposes=("revocation", "suspension"))


def issued(client: Any, container: Container) -> tuple[str, dict[str, Any]]:
    claimant = file_claim(client).headers["location"]
    decide(client, attester_path(container), action="confirm", attester_role="HR Manager")
    return credential_id(client.get(claimant).text), issued_credential(client, claimant)


def verdict(client: Any, credential: dict[str, Any]) -> dict[str, Any]:
    return client.post("/api/verify", content=json.dumps(credential)).json()  # type: ignore[no-any-return]


def test_status_lists_are_served_signed_with_caching_headers(
    client: Any, container: Container, hospital: Organisation
) -> None:
    _, credential = issued(client, container)
    url = credential["credentialStatus"][0]["statusListCredential"]
    response = client.get(url)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/vc+ld+json"
    assert response.headers["cache-control"] == "public, max-age=300"
    listed = response.json()
    assert listed["id"] == url and listed["issuer"] == credential["issuer"]["id"]
    assert listed["proof"]["cryptosuite"] == "eddsa-rdfc-2022"
    assert set_indexes(decode_list(listed["credentialSubject"]["encodedList"])) == []
    again = client.get(url, headers={"If-None-Match": response.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    assert client.get("/orgs/st-marys/status/refresh").status_code == 404
    assert client.get("/orgs/nobody/status/revocation").status_code == 404


def test_api_revoke_then_verify_reports_revoked(
    client: Any, container: Container, hospital: Organisation
) -> None:
    cid, credential = issued(client, container)
    assert verdict(client, credential)["verified"] is True
    refused = client.post(f"/api/credentials/{cid}/revoke", json={"reason": "fraud"})
    assert refused.status_code == 401
    no_reason = client.post(f"/api/credentials/{cid}/revoke", json={"reason": " "}, headers=ADMIN)
    assert no_reason.status_code == 422
    revoked = client.post(f"/api/credentials/{cid}/revoke", json={"reason": "fraud"}, headers=ADMIN)
    assert revoked.status_code == 200 and revoked.json()["state"] == "revoked"
    result = verdict(client, credential)
    assert result["verified"] is False
    assert any(e.startswith("status: revoked") for e in result["errors"])
    index = int(credential["credentialStatus"][0]["statusListIndex"])
    listed = client.get(credential["credentialStatus"][0]["statusListCredential"]).json()
    assert set_indexes(decode_list(listed["credentialSubject"]["encodedList"])) == [index]
    again = client.post(f"/api/credentials/{cid}/revoke", json={"reason": "x"}, headers=ADMIN)
    assert again.status_code == 409
    assert (
        client.post(
            f"/api/credentials/{cid}/delete", json={"reason": "x"}, headers=ADMIN
        ).status_code
        == 422
    )


def test_api_suspend_and_unsuspend_round_trip(
    client: Any, container: Container, hospital: Organisation
) -> None:
    cid, credential = issued(client, container)
    body = {"reason": "under review"}
    assert (
        client.post(f"/api/credentials/{cid}/suspend", json=body, headers=ADMIN).status_code == 200
    )
    assert any(e.startswith("status: suspended") for e in verdict(client, credential)["errors"])
    back = client.post(f"/api/credentials/{cid}/unsuspend", json=body, headers=ADMIN)
    assert back.json()["state"] == "issued"
    assert verdict(client, credential)["verified"] is True


def test_admin_page_suspends_with_the_token_and_a_reason(
    client: Any, container: Container, hospital: Organisation
) -> None:
    cid, credential = issued(client, container)
    path = f"/admin/credentials/{cid}"
    assert client.get(path, follow_redirects=False).status_code == 303  # to /sign-in
    page = client.get(path, headers=ADMIN)
    assert page.status_code == 200 and "issued" in page.text
    form = {"csrf_token": csrf_from(page.text), "action": "suspend", "reason": "under review"}
    wrong = client.post(path, data={**form, "admin_token": "guess"})
    assert wrong.status_code == 401 and "not the admin token" in wrong.text
    no_csrf = client.post(path, data={**form, "csrf_token": "x", "admin_token": "test-admin-token"})
    assert no_csrf.status_code == 403
    no_reason = client.post(path, data={**form, "reason": "", "admin_token": "test-admin-token"})
    assert no_reason.status_code == 422
    done = client.post(path, data={**form, "admin_token": "test-admin-token"})
    assert done.history[0].status_code == 303
    done = client.get(path, headers=ADMIN)
    assert done.status_code == 200 and "suspended" in done.text and "under review" in done.text
    assert "Unsuspend" in done.text and "Suspend</label>" not in done.text
    public = client.get(f"/credentials/{cid}")
    assert "Genuine: this credential verifies now" not in public.text
