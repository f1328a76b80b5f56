"""Verifiable Presentations: a holder presents several credentials; both layers are checked.

The credentials are real OB 3.0 credentials signed by an organisation (did:web, resolved by a
fake holding its DID document); the presentation is signed by the holder's did:key. Each failing
case asserts which check failed and that it says why.
"""

from __future__ import annotations

import copy
from datetime import timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from rpl import multikey
from rpl.presentations import (
    PresentationError,
    PresentationResult,
    build_presentation,
    sign_presentation,
    verify_presentation,
)
from rpl.proofs.jose import sign_vc_jwt
from tests.unit.test_verify import (
    CHECKED_AT,
    ISSUER_KEY,
    ISSUER_VM,
    JCS,
    RDFC,
    raw_public,
    resolver,
    sign,
    unsigned,
)

HOLDER_KEY = Ed25519PrivateKey.generate()
HOLDER_DID = multikey.did_key(raw_public(HOLDER_KEY))
HOLDER_VM = f"{HOLDER_DID}#{HOLDER_DID.removeprefix('did:key:')}"
OTHER_KEY = Ed25519PrivateKey.generate()
OTHER_DID = multikey.did_key(raw_public(OTHER_KEY))
OTHER_VM = f"{OTHER_DID}#{OTHER_DID.removeprefix('did:key:')}"
CHALLENGE = "c0ae1c8e-c7e7-469f-b252-86e6a0e7387e"
DOMAIN = "verifier.example"
CREATED = "2024-05-02T09:00:00Z"


def two_credentials(suite: str) -> list[dict[str, Any]]:
    first = sign(unsigned(), suite)
    second = sign(unsigned(id="urn:uuid:1d4a1c65-1b57-4a8e-9e69-5f1c2a0f7c11"), suite)
    return [first, second]


def presented(
    suite: str = RDFC,
    credentials: list[Any] | None = None,
    holder: str = HOLDER_DID,
    key: Ed25519PrivateKey = HOLDER_KEY,
    vm: str = HOLDER_VM,
) -> dict[str, Any]:
    vp = build_presentation(credentials or two_credentials(suite), holder)
    return sign_presentation(
        vp, key, vm, challenge=CHALLENGE, domain=DOMAIN, created=CREATED, cryptosuite=suite
    )


def check(
    vp: Any, challenge: str | None = CHALLENGE, domain: str | None = DOMAIN
) -> PresentationResult:
    return verify_presentation(vp, resolver(), CHECKED_AT, challenge=challenge, domain=domain)


def failed(result: PresentationResult) -> dict[str, str]:
    return {c.name: c.detail for c in result.checks if not c.passed}


@pytest.mark.parametrize("suite", [RDFC, JCS])
def test_a_signed_presentation_of_two_credentials_verifies(suite: str) -> None:
    result = check(presented(suite))
    assert result.verified, result.errors
    assert [c.name for c in result.checks] == ["structure", "presentation proof", "holder"]
    assert len(result.credentials) == 2
    assert all(r.verified for r in result.credentials)


def test_the_presentation_proof_is_for_authentication_with_challenge_and_domain() -> None:
    proof = presented()["proof"]
    assert proof["proofPurpose"] == "authentication"
    assert (proof["challenge"], proof["domain"]) == (CHALLENGE, DOMAIN)
    assert proof["verificationMethod"] == HOLDER_VM


def test_a_wrong_challenge_fails() -> None:
    result = check(presented(), challenge="another-challenge")
    assert not result.verified
    assert "challenge" in failed(result)["presentation proof"]


def test_a_wrong_domain_fails() -> None:
    result = check(presented(), domain="elsewhere.example")
    assert not result.verified
    assert "domain" in failed(result)["presentation proof"]


def test_a_verifier_that_asks_for_no_challenge_does_not_pass_it() -> None:
    result = check(presented(), challenge=None)
    assert not result.verified
    assert "replay" in failed(result)["binding"]


@pytest.mark.parametrize("suite", [RDFC, JCS])
def test_a_credential_changed_after_the_holder_signed_fails_both_layers(suite: str) -> None:
    vp = presented(suite)
    changed = copy.deepcopy(vp)
    changed["verifiableCredential"][1]["credentialSubject"]["achievement"]["name"] = "Director"
    result = check(changed)
    assert not result.verified
    assert "signature does not match" in failed(result)["presentation proof"]
    assert result.credentials[0].verified
    assert not result.credentials[1].verified
    assert any("credential 2: proof" in e for e in result.errors)


def test_a_tampered_inner_credential_fails_even_when_the_holder_signs_it() -> None:
    inner = two_credentials(RDFC)
    inner[0]["credentialSubject"]["role"] = "Chief surgeon"
    result = check(presented(credentials=inner))
    assert not result.verified
    assert failed(result) == {}  # the holder's layer is sound: the holder signed what it showed
    assert not result.credentials[0].verified
    assert "proof" in {c.name for c in result.credentials[0].checks if not c.passed}


def test_a_holder_that_is_not_the_signer_fails() -> None:
    vp = presented(holder=OTHER_DID)  # says OTHER holds it, HOLDER signs
    result = check(vp)
    assert not result.verified
    assert "not by its holder" in failed(result)["holder"]


def test_a_presentation_signed_for_assertion_is_refused() -> None:
    from rpl.proofs.dataintegrity import ProofOptions, add_proof

    vp = build_presentation(two_credentials(JCS), HOLDER_DID)
    options = ProofOptions(HOLDER_VM, created=CREATED, challenge=CHALLENGE, domain=DOMAIN)
    signed = add_proof(vp, options, HOLDER_KEY, JCS)
    result = check(signed)
    assert "authentication" in failed(result)["presentation proof"]


def test_an_unsigned_presentation_fails() -> None:
    result = check(build_presentation(two_credentials(JCS), HOLDER_DID))
    assert "no proof" in failed(result)["presentation proof"]


def test_a_vc_jwt_travels_enveloped_and_is_verified() -> None:
    token = sign_vc_jwt(unsigned(), ISSUER_KEY, ISSUER_VM)
    vp = presented(JCS, credentials=[token, sign(unsigned(), JCS)])
    assert vp["verifiableCredential"][0]["type"] == "EnvelopedVerifiableCredential"
    result = check(vp)
    assert result.verified, result.errors
    assert "jws" in [c.name for c in result.credentials[0].checks]


def test_an_enveloped_vc_jwt_with_a_bad_signature_fails() -> None:
    token = sign_vc_jwt(unsigned(), OTHER_KEY, ISSUER_VM)
    result = check(presented(JCS, credentials=[token]))
    assert not result.verified
    assert not result.credentials[0].verified


def test_an_expired_inner_credential_fails() -> None:
    old = sign(unsigned(validUntil=(CHECKED_AT - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")))
    result = check(presented(JCS, credentials=[old]))
    assert not result.verified
    assert "expired" in " ".join(result.errors)


@pytest.mark.parametrize(
    "source, problem",
    [
        ("{not json", "json"),
        ([], "structure"),
        (
            {"@context": ["https://www.w3.org/ns/credentials/v2"], "type": "VerifiableCredential"},
            "structure",
        ),
    ],
)
def test_a_document_that_is_no_presentation_fails_with_a_reason(source: Any, problem: str) -> None:
    result = check(source)
    assert not result.verified
    assert problem in failed(result)


def test_a_presentation_needs_credentials_a_holder_and_a_binding() -> None:
    with pytest.raises(PresentationError):
        build_presentation([], HOLDER_DID)
    with pytest.raises(PresentationError):
        build_presentation([{}], "not-a-did")
    with pytest.raises(PresentationError):
        sign_presentation(
            build_presentation([{}], HOLDER_DID),
            HOLDER_KEY,
            HOLDER_VM,
            challenge="",
            domain=DOMAIN,
            created=CREATED,
        )


def test_the_result_reads_as_json() -> None:
    body = check(presented(JCS)).to_json()
    assert body["verified"] is True
    assert len(body["credentialResults"]) == 2
