"""The attestation journey through the real app: submit → link → decide → credential → verify."""

from __future__ import annotations

import json
from typing import Any

from rpl import schema
from rpl.bootstrap import Container
from rpl.organisations import Organisation
from tests.web.journey import (
    CLAIM,
    attester_path,
    credential_id,
    decide,
    file_claim,
    issued_credential,
)


def test_claim_confirmed_through_the_link_becomes_a_verifiable_credential(
    client: Any, container: Container, hospital: Organisation
) -> None:
    letter = ("letter.pdf", b"%PDF-1.4\n% long service\n", "application/pdf")
    submitted = file_claim(client, files={"evidence_1": letter}, evidence_title_1="Letter")
    assert submitted.status_code == 303
    claimant = submitted.headers["location"]
    assert "Waiting for the organisation" in client.get(claimant).text

    path = attester_path(container)
    page = client.get(path)
    assert page.status_code == 200 and "Margaret Okafor" in page.text
    decided = decide(client, path, action="confirm", attester_role="HR Manager")
    assert decided.status_code == 200 and "Thank you" in decided.text

    credential = issued_credential(client, claimant)
    assert credential["issuer"]["id"] == "did:web:testserver:orgs:st-marys"
    narrative = credential["credentialSubject"]["achievement"]["criteria"]["narrative"]
    assert "through its HR Manager" in narrative and "hr@stmarys.example" not in json.dumps(
        credential
    )
    assert credential["evidence"][0]["name"] == "Letter"
    # By default one revocation entry: valid against 1EdTech's schema as published, untouched.
    assert credential["credentialStatus"]["statusPurpose"] == "revocation"
    assert schema.validate(credential, schema.ACHIEVEMENT_CREDENTIAL) == []

    public = client.get(f"/credentials/{credential_id(client.get(claimant).text)}")
    assert "Genuine: this credential verifies now" in public.text
    assert "Registered Nurse" in public.text

    result = client.post("/api/verify", content=json.dumps(credential)).json()
    assert result["verified"] is True, result["errors"]


def test_verify_page_reports_a_tampered_credential(
    client: Any, container: Container, hospital: Organisation
) -> None:
    claimant = file_claim(client).headers["location"]
    decide(client, attester_path(container), action="confirm", attester_role="HR Manager")
    credential = issued_credential(client, claimant)
    credential["credentialSubject"]["role"] = "Chief Surgeon"
    page = client.get("/verify")
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    checked = client.post(
        "/verify", data={"credential": json.dumps(credential), "csrf_token": token}
    )
    assert "Not verified" in checked.text and "The signature is intact" in checked.text
    assert "signature" in checked.text.lower()


def test_getting_the_link_decides_nothing_and_a_second_post_is_refused(
    client: Any, container: Container, hospital: Organisation
) -> None:
    claimant = file_claim(client).headers["location"]
    path = attester_path(container)
    for _ in range(3):
        client.get(path)
    assert "Waiting for the organisation" in client.get(claimant).text
    assert decide(client, path, action="confirm", attester_role="HR").status_code == 200
    again = client.post(
        path,
        data={"action": "decline", "reason": "x", "csrf_token": client.cookies.get("rpl_csrf")},
    )
    assert again.status_code == 409
    assert "already used" in again.text


def test_amendment_waits_for_the_claimant_then_issues_the_corrected_record(
    client: Any, container: Container, hospital: Organisation
) -> None:
    claimant = file_claim(client).headers["location"]
    amended = decide(
        client,
        attester_path(container),
        action="amend",
        attester_role="HR Manager",
        role="Staff Nurse",
        start="1999-01",
        end="2020-06",
        fte="0.8",
        reason="Our records show Staff Nurse from January 1999.",
    )
    assert amended.status_code == 200
    page = client.get(claimant).text
    assert "proposes corrections" in page and "Staff Nurse" in page
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    client.post(f"{claimant}/amendment", data={"answer": "accept", "csrf_token": token})
    credential = issued_credential(client, claimant)
    subject = credential["credentialSubject"]
    assert subject["role"] == "Staff Nurse"
    assert subject["activityStartDate"].startswith("1999-01-01")


def test_declining_needs_a_reason_and_is_final(
    client: Any, container: Container, hospital: Organisation
) -> None:
    claimant = file_claim(client).headers["location"]
    path = attester_path(container)
    refused = decide(client, path, action="decline", attester_role="HR")
    assert refused.status_code == 422 and "Please say why" in refused.text
    assert (
        decide(
            client, path, action="decline", attester_role="HR", reason="No record of this person."
        ).status_code
        == 200
    )
    page = client.get(claimant).text
    assert "Declined by the organisation" in page and "No record of this person." in page


def test_a_refused_form_keeps_every_value_and_the_uploaded_file(
    client: Any, container: Container, hospital: Organisation
) -> None:
    letter = ("letter.txt", b"twenty years of service\n", "text/plain")
    refused = file_claim(
        client,
        files={"evidence_1": letter},
        evidence_title_1="Letter",
        start="2030-01",
        claimant_email="not-an-email",
    )
    assert refused.status_code == 422
    assert 'value="Registered Nurse"' in refused.text
    assert "Kept: Letter (letter.txt)" in refused.text
    assert "future" in refused.text.lower() and "email" in refused.text.lower()
    kept = refused.text.split('name="kept_sha256" value="')[1].split('"')[0]
    retry = file_claim(
        client,
        kept_sha256=kept,
        kept_name="Letter",
        kept_filename="letter.txt",
        kept_description="",
    )
    assert retry.status_code == 303
    decide(client, attester_path(container), action="confirm", attester_role="HR")
    evidence = issued_credential(client, retry.headers["location"])["evidence"]
    assert [e["name"] for e in evidence] == ["Letter"]


def test_an_attester_outside_the_organisation_is_refused_at_submission(
    client: Any, hospital: Organisation
) -> None:
    refused = file_claim(client, attester_email="friend@gmail.example")
    assert refused.status_code == 422
    assert "neither at stmarys.example nor listed" in refused.text
    listed = file_claim(client, attester_email="registrar@outside.example")
    assert listed.status_code == 303


def test_forms_without_the_csrf_token_are_refused(client: Any, hospital: Organisation) -> None:
    client.get("/claims/new")
    response = client.post("/claims/new", data={**CLAIM, "csrf_token": "forged"})
    assert response.status_code == 403
    assert "expired or came from another site" in response.text


def test_evidence_over_the_size_limit_or_of_an_unknown_type_is_refused_clearly(
    client: Any, container: Container, hospital: Organisation
) -> None:
    limit = container.settings.max_upload_bytes
    big = ("big.pdf", b"%PDF-" + b"0" * limit, "application/pdf")
    refused = file_claim(client, files={"evidence_1": big})
    assert refused.status_code == 422 and "larger than" in refused.text
    exe = ("tool.pdf", b"MZ\x90\x00\x03\x00\x00\x00\x04\x00", "application/pdf")
    refused = file_claim(client, files={"evidence_1": exe})
    assert refused.status_code == 422 and "can be attached" in refused.text
    assert not list(container.settings.files_dir.rglob("*.upload-*"))


def test_did_json_lists_the_signing_key_for_did_web(client: Any, hospital: Organisation) -> None:
    response = client.get("/orgs/st-marys/did.json")
    assert response.status_code == 200
    document = response.json()
    assert document["id"] == "did:web:testserver:orgs:st-marys"
    assert document["assertionMethod"] == ["did:web:testserver:orgs:st-marys#key-1"]
    assert document["verificationMethod"][0]["publicKeyMultibase"].startswith("z6Mk")
    assert client.get("/orgs/nobody/did.json").status_code == 404


def test_pages_carry_security_headers_and_escape_what_people_typed(
    client: Any, container: Container, hospital: Organisation
) -> None:
    claimant = file_claim(client, description="<script>alert(1)</script>").headers["location"]
    page = client.get(claimant)
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;" in page.text
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["referrer-policy"] == "no-referrer"
