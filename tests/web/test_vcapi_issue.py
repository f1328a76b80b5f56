"""`POST /credentials/issue` as the W3C suites use it: `options.credentialStatus`, credentials
stored like any other (page, JSON, status changes, audit), and organisation admins issuing with
their personal API token."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text

from rpl.bootstrap import Container
from rpl.organisations import Organisation
from rpl.services.organisations import RegisterOrganisation, register_organisation
from tests.web.signin import add_member, api_headers
from tests.web.test_vcapi import ADMIN, credential, issue
from tests.web.test_vcapi import issuer as issuer  # noqa: F401 (a fixture)

REVOCATION = {"type": "BitstringStatusListEntry", "statusPurpose": "revocation"}
SUSPENSION = {"type": "BitstringStatusListEntry", "statusPurpose": "suspension"}


def issued(client: Any, did: str, status: Any = REVOCATION, headers: Any = ADMIN) -> Any:
    options = {} if status is None else {"credentialStatus": status}
    response = issue(client, {"credential": credential(did), "options": options}, headers)
    assert response.status_code == 201, response.text
    return response


def verify(client: Any, vc: dict[str, Any]) -> Any:
    return client.post("/credentials/verify", json={"verifiableCredential": vc})


def change(client: Any, location: str, action: str, headers: Any = ADMIN) -> Any:
    credential_id = location.rsplit("/", 1)[1]
    return client.post(
        f"/api/credentials/{credential_id}/{action}", json={"reason": "test"}, headers=headers
    )


def audit_entries(container: Container) -> list[Any]:
    with container.uow() as tx:
        return list(tx.audit.entries())


def api_token(container: Container, org: Organisation, email: str, role: str) -> dict[str, str]:
    if role:
        add_member(container, org, email, role, "Head of HR")
    return api_headers(container, email, "vc-api")


def test_credential_status_option_adds_an_entry_from_the_organisations_list(
    client: Any, container: Container, issuer: str
) -> None:
    response = issued(client, issuer)
    vc = response.json()["verifiableCredential"]
    entry = vc["credentialStatus"]
    assert entry["type"] == "BitstringStatusListEntry"
    assert entry["statusPurpose"] == "revocation"
    assert entry["statusListCredential"].endswith("/orgs/st-marys/status/revocation")
    credential_id = response.headers["location"].rsplit("/", 1)[1]
    with container.uow() as tx:
        assert tx.status.for_credential(credential_id) == {
            "revocation": int(entry["statusListIndex"])
        }
    assert client.get(entry["statusListCredential"]).status_code == 200
    answer = verify(client, vc)
    assert answer.status_code == 200, answer.text
    assert "status" in answer.json()["checks"]


def test_a_vc_api_credential_is_stored_served_and_audited(
    client: Any, container: Container, issuer: str
) -> None:
    response = issued(client, issuer)
    location = response.headers["location"]
    vc = response.json()["verifiableCredential"]
    assert client.get(location + ".json").json() == vc
    page = client.get(location)
    assert page.status_code == 200
    assert "VC API" in page.text and "St Mary" in page.text
    credential_id = location.rsplit("/", 1)[1]
    with container.engine.connect() as connection:
        outcome = connection.execute(
            text("SELECT outcome FROM issuance_intent WHERE credential_id = :id"),
            {"id": credential_id},
        ).scalar_one()
    assert outcome == "stored"
    entries = [e for e in audit_entries(container) if e.subject == f"credential:{credential_id}"]
    assert [(e.kind, e.actor, e.data.get("via")) for e in entries] == [
        ("CredentialIssued", "admin:admin-token", "vc-api")
    ]


def test_revocation_through_the_status_api_makes_it_fail_verification(
    client: Any, container: Container, issuer: str
) -> None:
    response = issued(client, issuer)
    location, vc = response.headers["location"], response.json()["verifiableCredential"]
    revoked = change(client, location, "revoke")
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["state"] == "revoked" and revoked.json()["claim_id"] is None
    answer = verify(client, vc)
    assert answer.status_code == 400
    assert answer.json()["verified"] is False
    assert change(client, location, "revoke").status_code == 409  # revoked is final
    credential_id = location.rsplit("/", 1)[1]
    kinds = [e.kind for e in audit_entries(container) if e.subject.endswith(credential_id)]
    assert kinds == ["CredentialIssued", "CredentialRevoked"]


def test_suspension_round_trip(client: Any, issuer: str) -> None:
    response = issued(client, issuer, [REVOCATION, SUSPENSION])
    location, vc = response.headers["location"], response.json()["verifiableCredential"]
    assert [e["statusPurpose"] for e in vc["credentialStatus"]] == ["revocation", "suspension"]
    assert change(client, location, "suspend").json()["state"] == "suspended"
    assert verify(client, vc).json()["verified"] is False
    assert change(client, location, "suspend").status_code == 409
    assert change(client, location, "unsuspend").json()["state"] == "issued"
    assert verify(client, vc).json()["verified"] is True


def test_a_credential_without_a_suspension_entry_cannot_be_suspended(
    client: Any, issuer: str
) -> None:
    location = issued(client, issuer).headers["location"]
    assert change(client, location, "suspend").status_code == 409


@pytest.mark.parametrize(
    ("status", "words"),
    [
        ({"type": "BitstringStatusListEntry", "statusPurpose": "message"}, "'message'"),
        ({"type": "StatusList2021Entry", "statusPurpose": "revocation"}, "StatusList2021Entry"),
        ([REVOCATION, REVOCATION], "twice"),
        ("revocation", "JSON object"),
    ],
)
def test_unknown_status_types_and_purposes_are_400s(
    client: Any, container: Container, issuer: str, status: Any, words: str
) -> None:
    body = {"credential": credential(issuer), "options": {"credentialStatus": status}}
    response = issue(client, body)
    assert response.status_code == 400
    assert words in response.json()["detail"]
    with container.uow() as tx:
        assert tx.credentials.count() == 0


def test_a_credential_that_brings_its_own_status_with_the_option_is_refused(
    client: Any, issuer: str
) -> None:
    own = {"id": "https://elsewhere.example/list#1", "type": "BitstringStatusListEntry"}
    body = {"credential": credential(issuer, credentialStatus=own)}
    response = issue(client, {**body, "options": {"credentialStatus": REVOCATION}})
    assert response.status_code == 400
    assert "already has a credentialStatus" in response.json()["detail"]


def test_an_organisation_admin_issues_with_their_api_token_for_their_organisation_only(
    client: Any, container: Container, hospital: Organisation, issuer: str
) -> None:
    food = register_organisation(
        container.uow,
        container.master_key,
        RegisterOrganisation(
            name="Food Bank",
            domain="foodbank.example",
            url="https://foodbank.example",
            slug="food-bank",
            domain_verified=True,
        ),
        container.now(),
    )
    food_did = issuer.replace("st-marys", "food-bank")
    admin = api_token(container, hospital, "boss@outside.example", "admin")
    response = issued(client, issuer, headers=admin)
    location = response.headers["location"]
    assert change(client, location, "revoke", admin).status_code == 200
    denied = issue(client, {"credential": credential(food_did)}, admin)
    assert denied.status_code == 403
    attester = api_token(container, food, "pat@outside.example", "attester")
    assert issue(client, {"credential": credential(food_did)}, attester).status_code == 403
    nobody = api_token(container, hospital, "someone@example.net", "")
    assert issue(client, {"credential": credential(issuer)}, nobody).status_code == 403
    for anonymous in ({"Accept": "application/json"}, {"Accept": "text/html"}, {}):
        refused = issue(client, {"credential": credential(issuer)}, anonymous)
        assert refused.status_code == 401, anonymous  # never a redirect to the sign-in page
        assert refused.headers["www-authenticate"] == "Bearer"
    subject = location.replace("/credentials/", "credential:")
    entries = [e for e in audit_entries(container) if e.subject == subject]
    assert entries[0].actor == "admin:boss@outside.example"
