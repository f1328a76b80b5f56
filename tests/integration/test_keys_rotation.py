"""Key rotation and compromise against the real database: old credentials keep verifying after a
rotation; a compromised key's credentials are revoked and fail, naming the compromise."""

from __future__ import annotations

import json
from typing import Any

import pytest
from typer.testing import CliRunner

from rpl.bootstrap import Container
from rpl.cli import app
from rpl.organisations import Organisation
from rpl.services import jobs, keys, records
from rpl.services.organisations import organisation_did, organisation_did_document
from rpl.verify import VerificationResult
from tests.integration.test_issuance import confirmed_claims

ADMIN = "admin:test"


def issued(container: Container, org: Organisation, count: int = 1) -> list[str]:
    ids = confirmed_claims(container, org, count)
    report = jobs.issue_batch(container, ids)
    assert sorted(report.issued) == sorted(ids), report
    with container.uow() as tx:
        return [tx.credentials.by_claim(i).id for i in ids]  # type: ignore[union-attr]


def verify(container: Container, credential_id: str) -> VerificationResult:
    document = records.get_credential(container.uow, credential_id).document
    return records.verify(container.resolver(), document, container.now(), container.status_lists())


def signed_by(container: Container, credential_id: str) -> str:
    document = records.get_credential(container.uow, credential_id).document
    return str(document["proof"]["verificationMethod"]).rsplit("#", 1)[1]


def did_document(container: Container, org: Organisation) -> dict[str, Any]:
    return organisation_did_document(container.uow, container.settings.public_url, org.slug)


def rotate(container: Container, org: Organisation) -> str:
    return keys.rotate_key(container.uow, container.master_key, org.slug, container.now(), ADMIN)


def compromise(container: Container, org: Organisation, key_id: str) -> keys.CompromiseReport:
    return keys.compromise_key(
        container.status_publisher(), org.slug, key_id, "laptop stolen", container.now(), ADMIN
    )


def audit_intact(container: Container) -> bool:
    with container.uow() as tx:
        return tx.audit.verify(None).intact


def test_credentials_issued_before_and_after_a_rotation_all_verify(
    container: Container, hospital: Organisation
) -> None:
    before = issued(container, hospital, 2)
    assert rotate(container, hospital) == "key-2"
    after = issued(container, hospital, 2)

    assert {signed_by(container, c) for c in before} == {"key-1"}
    assert {signed_by(container, c) for c in after} == {"key-2"}
    for credential_id in before + after:
        result = verify(container, credential_id)
        assert result.verified, result.errors
    states = [(k.key_id, k.state) for k in keys.list_keys(container.uow, hospital.slug)]
    assert states == [("key-1", "retired"), ("key-2", "active")]
    document = did_document(container, hospital)
    did = organisation_did(container.settings.public_url, hospital)
    assert [m["id"] for m in document["verificationMethod"]] == [f"{did}#key-1", f"{did}#key-2"]
    assert document["assertionMethod"] == [f"{did}#key-1", f"{did}#key-2"]
    assert audit_intact(container)


def test_rotation_numbers_keys_on_and_keeps_every_old_one(
    container: Container, hospital: Organisation
) -> None:
    assert [rotate(container, hospital) for _ in range(3)] == ["key-2", "key-3", "key-4"]
    states = [(k.key_id, k.state) for k in keys.list_keys(container.uow, hospital.slug)]
    assert states == [("key-1", "retired"), ("key-2", "retired"), ("key-3", "retired")] + [
        ("key-4", "active")
    ]


def test_the_status_list_is_signed_again_with_the_new_key_after_a_rotation(
    container: Container, hospital: Organisation
) -> None:
    [first] = issued(container, hospital)
    assert verify(container, first).verified  # publishes the list, signed with key-1
    rotate(container, hospital)
    publisher = container.status_publisher()
    from rpl.services.status import current_status_list

    served = current_status_list(publisher, hospital.slug, "revocation", container.now())
    assert json.loads(served.document)["proof"]["verificationMethod"].endswith("#key-2")


def test_a_compromised_keys_credentials_are_revoked_and_fail_naming_the_compromise(
    container: Container, hospital: Organisation
) -> None:
    old = issued(container, hospital, 2)
    assert all(verify(container, c).verified for c in old)  # lists published under key-1
    rotate(container, hospital)
    new = issued(container, hospital)

    report = compromise(container, hospital, "key-1")

    assert report.newly_marked
    assert sorted(report.revoked) == sorted(old)
    signed_with_key_1 = keys.credentials_signed_by(
        container.uow, container.settings.public_url, hospital.slug, "key-1"
    )
    assert sorted(signed_with_key_1) == sorted(old)
    for credential_id in old:
        result = verify(container, credential_id)
        assert not result.verified
        [issuer] = [c for c in result.checks if c.name == "issuer"]
        assert not issuer.passed
        assert "key-1, which the issuer marked compromised on 20" in issuer.detail
        assert any(c.name == "status" and c.detail.startswith("revoked") for c in result.checks)
        claim = records.get_credential(container.uow, credential_id).claim
        assert claim.state == "revoked"
    [still_good] = new
    result = verify(container, still_good)
    assert result.verified, result.errors


def test_the_did_document_keeps_a_compromised_key_but_not_as_an_assertion_method(
    container: Container, hospital: Organisation
) -> None:
    rotate(container, hospital)
    compromise(container, hospital, "key-1")
    document = did_document(container, hospital)
    did = document["id"]
    [key_1, key_2] = document["verificationMethod"]
    assert key_1["id"] == f"{did}#key-1" and key_1["revoked"].endswith("Z")
    assert "revoked" not in key_2
    assert document["assertionMethod"] == [f"{did}#key-2"]
    states = [(k.key_id, k.state) for k in keys.list_keys(container.uow, hospital.slug)]
    assert states == [("key-1", "compromised"), ("key-2", "active")]


def test_compromising_again_revokes_nothing_twice_and_the_audit_log_stays_intact(
    container: Container, hospital: Organisation
) -> None:
    old = issued(container, hospital)
    rotate(container, hospital)
    first = compromise(container, hospital, "key-1")
    again = compromise(container, hospital, "key-1")
    assert first.revoked == old and first.newly_marked
    assert again.revoked == [] and again.already_revoked == old and not again.newly_marked
    with container.uow() as tx:
        kinds = [e.kind for e in tx.audit.last(20)]
        report = tx.audit.verify(None)
    assert report.intact
    assert kinds.count("SigningKeyRotated") == 1
    assert kinds.count("SigningKeyCompromised") == 1
    assert kinds.count("CredentialRevoked") == 1


def test_the_active_key_cannot_be_marked_compromised_before_a_rotation(
    container: Container, hospital: Organisation
) -> None:
    with pytest.raises(keys.ActiveKeyError, match="rotate first"):
        compromise(container, hospital, "key-1")
    with pytest.raises(keys.UnknownKeyError):
        compromise(container, hospital, "key-9")
    with pytest.raises(keys.MissingReasonError):
        keys.mark_key_compromised(container.uow, hospital.slug, "key-1", "  ", container.now())
    assert keys.list_keys(container.uow, hospital.slug)[0].state == "active"


@pytest.fixture
def env(container: Container, monkeypatch: pytest.MonkeyPatch) -> Container:
    s = container.settings
    monkeypatch.setenv("RPL_HOME", str(s.home))
    monkeypatch.setenv("RPL_DATABASE_URL", s.database_url)
    monkeypatch.setenv("RPL_PUBLIC_URL", s.public_url)
    return container


def test_org_key_commands_rotate_list_and_compromise(
    env: Container, hospital: Organisation
) -> None:
    old = issued(env, hospital)
    runner = CliRunner()

    rotated = runner.invoke(app, ["org", "rotate-key", hospital.slug])
    assert rotated.exit_code == 0, rotated.output
    assert rotated.stdout.strip() == "key-2"

    refused = runner.invoke(app, ["org", "compromise-key", hospital.slug, "key-2", "--reason", "x"])
    assert refused.exit_code == 2 and "rotate first" in refused.stderr

    compromised = runner.invoke(
        app, ["org", "compromise-key", hospital.slug, "key-1", "--reason", "laptop stolen"]
    )
    assert compromised.exit_code == 0, compromised.output
    assert compromised.stdout.splitlines() == [f"{old[0]}\trevoked"]

    listed = runner.invoke(app, ["org", "keys", hospital.slug])
    assert listed.exit_code == 0, listed.output
    rows = [line.split("\t") for line in listed.stdout.splitlines()]
    assert [(r[0], r[2]) for r in rows] == [("key-1", "compromised"), ("key-2", "active")]
    assert not verify(env, old[0]).verified
    assert audit_intact(env)
