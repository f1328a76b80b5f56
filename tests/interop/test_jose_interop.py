"""VC-JWT interoperability with an independent JOSE implementation: joserfc (Python, RFC 7515/7519/8037).

rpl-signed tokens must verify in joserfc with nothing but an OKP JWK built from the issuer's raw
public key, and tokens joserfc signs and serialises itself must verify in rpl's verifier from the
issuer's DID document. Tampered or wrongly keyed tokens must fail on each side, so a side that
accepts everything cannot pass.

joserfc 1.8 follows RFC 9864, which deprecates the polymorphic `EdDSA` in favour of `Ed25519`;
VC-JOSE-COSE 1.0 and rpl use `EdDSA`, so joserfc is asked for it explicitly and its deprecation
warning is silenced here (and only here).

No Node.js needed: these run wherever the dev dependencies are installed.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from joserfc import jws, jwt
from joserfc.errors import BadSignatureError
from joserfc.jwk import OKPKey

from rpl import dids
from rpl.claims import (
    ClaimDetails,
    ClaimKind,
    PartialDate,
    claimant_actor,
    confirm,
    draft_claim,
    request,
)
from rpl.credentials import IssuerProfile, build_achievement_credential
from rpl.proofs.jose import sign_vc_jwt
from rpl.verify import VerificationResult, verify_credential

pytestmark = pytest.mark.filterwarnings("ignore:EdDSA is deprecated via RFC 9864")

NOW = datetime(2025, 6, 1, 9, 30, tzinfo=UTC)
CHECKED_AT = datetime(2025, 6, 2, 12, 0, tzinfo=UTC)
ISSUER_DID = dids.did_web_for("https://rpl.example", "orgs", "harbour-food-bank")
ISSUER_VM = f"{ISSUER_DID}#key-1"
EDDSA = ["EdDSA"]
RPL_HEADER = {"alg": "EdDSA", "typ": "vc+jwt", "cty": "vc", "kid": ISSUER_VM}
CLAIMANT = claimant_actor("sam@example.org")
ATTESTER = "volunteers@harbour-food-bank.example"


def credential() -> dict[str, Any]:
    """An OB 3.0 AchievementCredential for a confirmed volunteering claim."""
    details = ClaimDetails(
        kind=ClaimKind.CONTRIBUTION,
        claimant_name="Sam Rivera",
        claimant_email="sam@example.org",
        organisation_id="org-harbour",
        role="Warehouse volunteer",
        start=PartialDate.parse("2019-01"),
        end=PartialDate.parse("2024-12"),
        attester_email=ATTESTER,
    )
    claim = draft_claim("claim-7", details, CLAIMANT, NOW)
    claim = confirm(request(claim, CLAIMANT, NOW), ATTESTER, "Volunteer coordinator", NOW)
    issuer = IssuerProfile(ISSUER_DID, "Harbour Food Bank", "https://harbour-food-bank.example")
    return build_achievement_credential(
        claim,
        issuer,
        "https://rpl.example/credentials/7",
        "urn:uuid:4f0b6a62-3c1e-4f4e-9a55-2b7f7d3c9e10",
        "c2FsdC1zYW0",
        NOW,
    )


def raw_public(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def okp_jwk(raw: bytes) -> OKPKey:
    """The public key as joserfc sees it: an OKP JWK (RFC 8037 §2), built by hand from raw bytes."""
    x = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
    return OKPKey.import_key({"kty": "OKP", "crv": "Ed25519", "x": x})


def raw_of(jwk: OKPKey) -> bytes:
    x = jwk.as_dict(private=False)["x"]
    return base64.urlsafe_b64decode(x + "=" * (-len(x) % 4))


def rpl_verify(token: str, issuer_public: bytes) -> VerificationResult:
    held = dids.did_document(ISSUER_DID, {"key-1": issuer_public})
    return verify_credential(token, dids.DidResolver(local={ISSUER_DID: held}.get), CHECKED_AT)


def tamper_payload(token: str) -> str:
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["credentialSubject"]["role"] = "Chief Executive"
    changed = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{changed}.{signature}"


# --- rpl signs, joserfc verifies -----------------------------------------------------------------


@pytest.fixture(scope="module")
def issuer_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture(scope="module")
def rpl_token(issuer_key: Ed25519PrivateKey) -> str:
    return sign_vc_jwt(credential(), issuer_key, ISSUER_VM)


def test_an_rpl_vc_jwt_verifies_in_joserfc_as_a_jws(issuer_key: Ed25519PrivateKey, rpl_token: str):
    verified = jws.deserialize_compact(rpl_token, okp_jwk(raw_public(issuer_key)), algorithms=EDDSA)

    assert verified.headers() == RPL_HEADER
    assert json.loads(verified.payload) == credential()


def test_an_rpl_vc_jwt_reads_in_joserfc_as_a_jwt_whose_claims_are_the_credential(
    issuer_key: Ed25519PrivateKey, rpl_token: str
):
    decoded = jwt.decode(rpl_token, okp_jwk(raw_public(issuer_key)), algorithms=EDDSA)

    assert decoded.header["typ"] == "vc+jwt"
    assert decoded.claims == credential()


def test_joserfc_refuses_a_tampered_rpl_vc_jwt(issuer_key: Ed25519PrivateKey, rpl_token: str):
    with pytest.raises(BadSignatureError):
        jws.deserialize_compact(
            tamper_payload(rpl_token), okp_jwk(raw_public(issuer_key)), algorithms=EDDSA
        )


def test_joserfc_refuses_an_rpl_vc_jwt_under_another_key(rpl_token: str):
    stranger = raw_public(Ed25519PrivateKey.generate())
    with pytest.raises(BadSignatureError):
        jws.deserialize_compact(rpl_token, okp_jwk(stranger), algorithms=EDDSA)


# --- joserfc signs, rpl verifies -----------------------------------------------------------------


@pytest.fixture(scope="module")
def joserfc_key() -> OKPKey:
    return OKPKey.generate_key("Ed25519")


def test_a_joserfc_jws_verifies_in_rpl(joserfc_key: OKPKey):
    payload = json.dumps(credential(), indent=2).encode()
    token = jws.serialize_compact(RPL_HEADER, payload, joserfc_key, algorithms=EDDSA)

    result = rpl_verify(token, raw_of(joserfc_key))

    assert result.verified is True, result.errors
    assert result.credential == credential()


def test_a_joserfc_jwt_without_cty_verifies_in_rpl(joserfc_key: OKPKey):
    header = {"alg": "EdDSA", "typ": "vc+jwt", "kid": ISSUER_VM}
    token = jwt.encode(header, credential(), joserfc_key, algorithms=EDDSA)

    result = rpl_verify(token, raw_of(joserfc_key))

    assert result.verified is True, result.errors
    assert [c.name for c in result.checks][0] == "jws"


def test_rpl_refuses_a_tampered_joserfc_jwt(joserfc_key: OKPKey):
    token = jwt.encode(RPL_HEADER, credential(), joserfc_key, algorithms=EDDSA)

    result = rpl_verify(tamper_payload(token), raw_of(joserfc_key))

    assert result.verified is False
    assert "the signature does not match the token" in result.errors[0]


def test_rpl_refuses_a_joserfc_jwt_signed_by_a_key_the_issuer_does_not_list(joserfc_key: OKPKey):
    token = jwt.encode(RPL_HEADER, credential(), joserfc_key, algorithms=EDDSA)

    result = rpl_verify(token, raw_public(Ed25519PrivateKey.generate()))

    assert result.verified is False
    assert "the signature does not match the token" in result.errors[0]


def test_rpl_refuses_a_plain_jwt_that_is_not_typed_as_a_credential(joserfc_key: OKPKey):
    # joserfc's default `typ` is JWT: the same claims, but not declared a vc+jwt.
    token = jwt.encode({"alg": "EdDSA", "kid": ISSUER_VM}, credential(), joserfc_key, EDDSA)

    result = rpl_verify(token, raw_of(joserfc_key))

    assert result.verified is False
    assert result.errors == ("jws: typ 'JWT' is not 'vc+jwt'",)


def test_rpl_does_not_yet_accept_the_fully_specified_ed25519_alg(joserfc_key: OKPKey):
    # RFC 9864's `Ed25519` is what joserfc now recommends; VC-JOSE-COSE 1.0 and rpl use `EdDSA`.
    header = {**RPL_HEADER, "alg": "Ed25519"}
    token = jwt.encode(header, credential(), joserfc_key, algorithms=["Ed25519"])

    result = rpl_verify(token, raw_of(joserfc_key))

    assert result.verified is False
    assert "alg 'Ed25519' is not accepted" in result.errors[0]
