"""Credentials issued for credit carry status entries from the institution's revocation list, like
every credential issued here: revoking a course credential shows in verification, and the CLR
transcript that holds it stays valid against 1EdTech's CLR 2.0 schema."""

from __future__ import annotations

import json
from typing import Any

import pytest

from rpl import clr, schema
from rpl.bootstrap import Container
from rpl.organisations import Organisation
from rpl.services import credit, credit_jobs
from rpl.services.credit_status import (
    MissingRevocationReasonError,
    UnknownCreditCredentialError,
    revoke_credit_credential,
)
from rpl.verify import verify_credential
from tests.conftest import PUBLIC_URL
from tests.credit.support import ASSESSOR, institution, issued_here
from tests.integration.test_status import counted_as_allocated


def _issued(container: Container, hospital: Organisation) -> tuple[Any, str]:
    """A request for NURS-101 on 22 years of nursing, accepted and issued: (view, token)."""
    nurse = issued_here(container, hospital)
    request_id, token = credit.submit_bundle(
        container.uow,
        credit.SubmitBundle("bsc-nursing", "Margaret Okafor", "m@example.net", held=(nurse,)),
        container.now(),
    )
    assert credit_jobs.evaluate_credit(container, request_id)
    credit.decide_credit(container.uow, request_id, True, ASSESSOR, "", container.now())
    assert credit_jobs.issue_credit(container, request_id)
    return credit.credit_for_holder(container.uow, token), token


def _verify(container: Container, document: dict[str, Any]) -> Any:
    return verify_credential(
        document, container.resolver(), container.now(), status_lists=container.status_lists()
    )


def test_course_credentials_and_the_transcript_carry_revocation_entries(
    container: Container, hospital: Organisation
) -> None:
    northfield = institution(container)
    view, _ = _issued(container, hospital)
    awards = [json.loads(document) for _, _, document in view.awards]
    transcript = json.loads(view.request.transcript or "")
    assert awards and all(schema.validate_achievement_credential(a) == [] for a in awards)
    assert clr.validate_clr(transcript) == []
    indexes = set()
    with container.uow() as tx:
        for document in [*awards, transcript]:
            entry = document["credentialStatus"]
            assert entry["type"] == "BitstringStatusListEntry"
            assert entry["statusPurpose"] == "revocation"
            assert entry["statusListCredential"] == (
                f"{PUBLIC_URL}/orgs/{northfield.slug}/status/revocation"
            )
            stored = tx.status.for_credential(document["id"])
            assert stored == {"revocation": int(entry["statusListIndex"])}
            indexes.add(stored["revocation"])
    assert len(indexes) == len(awards) + 1  # never one index for two credentials
    assert counted_as_allocated(container)[(northfield.id, "revocation")] == len(indexes)
    assert all(_verify(container, d).verified for d in [*awards, transcript])


def test_a_revoked_course_credential_no_longer_verifies_and_the_transcript_says_so(
    container: Container, hospital: Organisation
) -> None:
    northfield = institution(container)
    view, _ = _issued(container, hospital)
    [(_, award_id, document)] = view.awards
    publisher = container.status_publisher()
    with pytest.raises(MissingRevocationReasonError):
        revoke_credit_credential(publisher, northfield, award_id, "admin:x", " ", container.now())
    with pytest.raises(UnknownCreditCredentialError):  # St Mary's did not issue it
        revoke_credit_credential(publisher, hospital, award_id, "admin:x", "x", container.now())
    revoke_credit_credential(
        publisher, northfield, award_id, "admin:x", "granted in error", container.now()
    )
    result = _verify(container, json.loads(document))
    assert not result.verified
    assert any("revoked" in e for e in result.errors), result.errors
    transcript = json.loads(view.request.transcript or "")
    assert clr.validate_clr(transcript) == []
    outer, inner = clr.verify_transcript(
        transcript, container.resolver(), container.now(), container.status_lists()
    )
    assert outer.verified, outer.errors  # the transcript itself is not revoked
    revoked = [r for r in inner if r.credential and r.credential.get("id") == award_id]
    assert revoked and not revoked[0].verified
    with container.uow() as tx:
        logged = [e for e in tx.audit.last(20) if e.subject == f"credential:{award_id}"]
    assert [(e.kind, e.actor) for e in logged] == [("CreditCredentialRevoked", "admin:x")]
    assert logged[0].data["reason"] == "granted in error"  # type: ignore[index]


def test_an_admin_revokes_a_course_credential_through_the_api(
    client: Any, container: Container, hospital: Organisation
) -> None:
    institution(container)
    view, _ = _issued(container, hospital)
    [(_, award_id, document)] = view.awards
    path = f"/api/orgs/northfield/credit/credentials/{award_id}/revoke"
    admin = {"Authorization": "Bearer test-admin-token"}
    assert client.post(path, json={"reason": "x"}).status_code == 401
    missing = client.post(path, json={"reason": " "}, headers=admin)
    assert missing.status_code == 422 and "reason" in missing.text
    elsewhere = f"/api/orgs/st-marys/credit/credentials/{award_id}/revoke"
    assert client.post(elsewhere, json={"reason": "x"}, headers=admin).status_code == 404
    done = client.post(path, json={"reason": "granted in error"}, headers=admin)
    assert done.status_code == 200 and done.json()["revoked"] is True
    assert not _verify(container, json.loads(document)).verified
    listed = client.get("/orgs/northfield/status/revocation").json()
    assert listed["credentialSubject"]["statusPurpose"] == "revocation"
