"""The VC API through the real app: issue for a hosted organisation, verify credentials and
presentations, 400s for what the W3C suites send as invalid input."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import text

from rpl import multikey
from rpl.bootstrap import Container
from rpl.organisations import Organisation
from rpl.presentations import build_presentation, sign_presentation
from rpl.services.organisations import organisation_did
from rpl.services.securing import choose_securing
from tests.unit.test_verify import raw_public

ADMIN = {"Authorization": "Bearer test-admin-token"}
V2 = "https://www.w3.org/ns/credentials/v2"
EXAMPLES = "https://www.w3.org/ns/credentials/examples/v2"
HOLDER_KEY = Ed25519PrivateKey.generate()
HOLDER_DID = multikey.did_key(raw_public(HOLDER_KEY))
HOLDER_VM = f"{HOLDER_DID}#{HOLDER_DID.removeprefix('did:key:')}"


def verified_domain(container: Container, org: Organisation) -> Organisation:
    """Mark the organisation's domain proved, as an operator would; it may then issue."""
    with container.engine.begin() as connection:
        connection.execute(
            text("UPDATE organisation SET domain_verified_at = :at WHERE id = :id"),
            {"at": datetime(2024, 1, 1, tzinfo=UTC), "id": org.id},
        )
    return org


@pytest.fixture
def issuer(container: Container, hospital: Organisation) -> str:
    verified_domain(container, hospital)
    return organisation_did(container.settings.public_url, hospital)


def credential(issuer_did: str, **extra: Any) -> dict[str, Any]:
    """What the vc-data-model-2.0 suite sends: a plain VC 2.0 credential with the examples context."""
    return {
        "@context": [V2, EXAMPLES],
        "type": ["VerifiableCredential", "ExampleAchievementCredential"],
        "issuer": issuer_did,
        "credentialSubject": {"id": "did:example:learner", "name": "A learner"},
        **extra,
    }


def issue(client: Any, body: Any, headers: dict[str, str] = ADMIN) -> Any:
    return client.post("/credentials/issue", json=body, headers=headers)


def test_issue_signs_for_a_hosted_organisation_and_verify_accepts_it(
    client: Any, issuer: str
) -> None:
    response = issue(client, {"credential": credential(issuer), "options": {}})
    assert response.status_code == 201, response.text
    signed = response.json()["verifiableCredential"]
    assert signed["proof"]["verificationMethod"] == f"{issuer}#key-1"
    assert signed["proof"]["cryptosuite"] == "eddsa-rdfc-2022"
    assert signed["id"].startswith("urn:uuid:")
    answer = client.post(
        "/credentials/verify",
        json={"verifiableCredential": signed, "options": {"checks": ["proof"]}},
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["verified"] is True
    assert "proof" in body["checks"] and body["errors"] == [] and body["warnings"] == []


def test_issue_honours_options_created(client: Any, issuer: str) -> None:
    options = {"created": "2024-05-01T10:00:00Z"}
    signed = issue(client, {"credential": credential(issuer), "options": options}).json()
    assert signed["verifiableCredential"]["proof"]["created"] == "2024-05-01T10:00:00Z"


def test_a_tampered_credential_is_a_400_with_a_cryptographic_problem(
    client: Any, issuer: str
) -> None:
    signed = issue(client, {"credential": credential(issuer)}).json()["verifiableCredential"]
    signed["credentialSubject"]["name"] = "Someone else"
    answer = client.post("/credentials/verify", json={"verifiableCredential": signed})
    assert answer.status_code == 400
    body = answer.json()
    assert body["verified"] is False
    assert any(e["type"].endswith("CRYPTOGRAPHIC_SECURITY_ERROR") for e in body["errors"])


def test_an_organisation_that_chose_jwt_issues_an_enveloped_vc_jwt(
    client: Any, container: Container, hospital: Organisation, issuer: str
) -> None:
    choose_securing(container.uow, hospital.slug, "jwt", "admin:test", container.now())
    response = issue(client, {"credential": credential(issuer)})
    assert response.status_code == 201, response.text
    enveloped = response.json()["verifiableCredential"]
    assert enveloped["type"] == "EnvelopedVerifiableCredential"
    assert enveloped["id"].startswith("data:application/vc+jwt,")
    answer = client.post("/credentials/verify", json={"verifiableCredential": enveloped})
    assert answer.status_code == 200, answer.text
    assert "jws" in answer.json()["checks"]


@pytest.mark.parametrize(
    "mutate, words",
    [
        (lambda c: c.pop("@context"), "@context"),
        (lambda c: c.update({"@context": [EXAMPLES, V2]}), "@context"),
        (lambda c: c.update({"@context": [V2, "https://unknown.example/ctx"]}), "unknown"),
        (lambda c: c.update({"type": ["ExampleCredential"]}), "VerifiableCredential"),
        (lambda c: c.pop("credentialSubject"), "credentialSubject"),
        (lambda c: c.pop("issuer"), "issuer"),
        (
            lambda c: c.update({"issuer": "did:example:elsewhere"}),
            "not an organisation hosted here",
        ),
        (lambda c: c.update({"proof": {"type": "DataIntegrityProof"}}), "already has a proof"),
    ],
)
def test_invalid_credentials_are_refused_with_a_400(
    client: Any, issuer: str, mutate: Any, words: str
) -> None:
    body = credential(issuer)
    mutate(body)
    response = issue(client, {"credential": body})
    assert response.status_code == 400
    assert words in response.json()["detail"]


def test_unknown_options_and_bad_bodies_are_400s(client: Any, issuer: str) -> None:
    assert (
        issue(
            client, {"credential": credential(issuer), "options": {"mandatoryPointers": []}}
        ).status_code
        == 400
    )
    assert (
        issue(
            client, {"credential": credential(issuer), "options": {"created": "yesterday"}}
        ).status_code
        == 400
    )
    assert issue(client, {"options": {}}).status_code == 400
    raw = client.post("/credentials/issue", content=b"{not json", headers=ADMIN)
    assert raw.status_code == 400
    assert client.post("/credentials/verify", json={"options": {}}).status_code == 400
    assert (
        client.post("/presentations/verify", json={"verifiablePresentation": "x"}).status_code
        == 400
    )


def test_issuing_needs_the_organisation_admin(client: Any, issuer: str) -> None:
    response = issue(
        client, {"credential": credential(issuer)}, headers={"Accept": "application/json"}
    )
    assert response.status_code == 401


def test_an_organisation_that_has_not_proved_its_domain_cannot_issue(
    client: Any, container: Container, hospital: Organisation
) -> None:
    with container.engine.begin() as connection:
        connection.execute(text("UPDATE organisation SET domain_verified_at = NULL"))
    did = organisation_did(container.settings.public_url, hospital)
    response = issue(client, {"credential": credential(did)})
    assert response.status_code == 400
    assert "proved" in response.json()["detail"]


def _presentation(signed: list[dict[str, Any]], challenge: str, domain: str) -> dict[str, Any]:
    vp = build_presentation(signed, HOLDER_DID)
    return sign_presentation(
        vp,
        HOLDER_KEY,
        HOLDER_VM,
        challenge=challenge,
        domain=domain,
        created="2024-05-01T10:00:00Z",
    )


def test_presentations_verify_checks_both_layers(client: Any, issuer: str) -> None:
    signed = [
        issue(client, {"credential": credential(issuer)}).json()["verifiableCredential"]
        for _ in range(2)
    ]
    vp = _presentation(signed, "abc123", "verifier.example")
    options = {"challenge": "abc123", "domain": "verifier.example"}
    answer = client.post(
        "/presentations/verify", json={"verifiablePresentation": vp, "options": options}
    )
    assert answer.status_code == 200, answer.text
    assert {"presentation proof", "holder", "proof"} <= set(answer.json()["checks"])
    wrong = client.post(
        "/presentations/verify",
        json={"verifiablePresentation": vp, "options": {**options, "challenge": "other"}},
    )
    assert wrong.status_code == 400
    tampered = copy.deepcopy(vp)
    tampered["verifiableCredential"][0]["credentialSubject"]["name"] = "Mallory"
    bad = client.post(
        "/presentations/verify", json={"verifiablePresentation": tampered, "options": options}
    )
    assert bad.status_code == 400
    assert bad.json()["verified"] is False
