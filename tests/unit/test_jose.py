"""VC-JWT (VC-JOSE-COSE, EdDSA): signing, decoding, every refusal, and the whole verifier path.

Tokens here are built from a real OB 3.0 credential (a confirmed claim through
`build_achievement_credential`). Refusals that need a token no honest signer would make (alg none,
a duplicate key, a padded segment) are made with `forge`, which signs whatever bytes it is given,
so that only the rule under test can be what refuses them.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from rpl import multikey
from rpl.credentials import IssuerProfile, build_achievement_credential
from rpl.dids import DidResolutionError, DidResolver, did_document
from rpl.errors import RplError
from rpl.keys import LocalSigner
from rpl.proofs.dataintegrity import ProofOptions, add_proof
from rpl.proofs.jose import (
    JoseError,
    b64url_decode,
    b64url_encode,
    compact_jws_in,
    decode_vc_jwt,
    sign_vc_jwt,
    verify_vc_jwt,
)
from rpl.verify import VerificationResult, verify_credential
from tests.factories import NOW, confirmed_claim

CHECKED_AT = NOW + timedelta(days=1)
ISSUER_DID = "did:web:issuer.example:orgs:a"
ISSUER_VM = f"{ISSUER_DID}#key-1"
JWT_CHECKS = ["jws", "structure", "contexts", "schema", "issuer", "validity"]


def raw_public(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


ISSUER_KEY = Ed25519PrivateKey.generate()
OTHER_ISSUER_KEY = Ed25519PrivateKey.generate()
STRANGER_KEY = Ed25519PrivateKey.generate()
STRANGER_DID = multikey.did_key(raw_public(STRANGER_KEY))
STRANGER_VM = f"{STRANGER_DID}#{STRANGER_DID.removeprefix('did:key:')}"
ISSUER_SIGNER = LocalSigner(ISSUER_VM, ISSUER_KEY)


# --- a small world -------------------------------------------------------------------------------


def credential(issuer_did: str = ISSUER_DID, **extra: Any) -> dict[str, Any]:
    issuer = IssuerProfile(did=issuer_did, name="Organisation A", url="https://a.example")
    document = build_achievement_credential(
        confirmed_claim(),
        issuer,
        "https://issuer.example/credentials/1",
        "urn:uuid:5f1e7c2a-8a6c-4d0b-9a57-0d5c3f1a2b3c",
        "c2FsdA",
        NOW,
    )
    return {**document, **extra}


@functools.cache
def token() -> str:
    """The module's reference VC-JWT, signed by the issuer's key-1."""
    return sign_vc_jwt(credential(), ISSUER_SIGNER, ISSUER_VM)


def issuer_document() -> dict[str, Any]:
    keys = {"key-1": raw_public(ISSUER_KEY), "key-2": raw_public(OTHER_ISSUER_KEY)}
    return did_document(ISSUER_DID, keys)


def resolver(*documents: dict[str, Any]) -> DidResolver:
    held = {doc["id"]: doc for doc in documents or (issuer_document(),)}
    return DidResolver(local=held.get)


def key_of(did_resolver: DidResolver) -> Callable[[str], bytes]:
    return lambda vm: did_resolver.resolve_key(vm).public_key


def check(jwt: Any, now: datetime | None = CHECKED_AT) -> Any:
    return verify_vc_jwt(jwt, key_of(resolver()), now=now)


def forge(
    header: dict[str, Any] | str,
    payload: dict[str, Any] | str,
    key: Ed25519PrivateKey = ISSUER_KEY,
) -> str:
    """A compact JWS over any header and payload text, correctly signed with `key`."""
    parts = [
        b64url_encode((part if isinstance(part, str) else json.dumps(part)).encode())
        for part in (header, payload)
    ]
    signing_input = ".".join(parts)
    return f"{signing_input}.{b64url_encode(key.sign(signing_input.encode()))}"


def header(**changes: Any) -> dict[str, Any]:
    """rpl's header with `changes`; a change to None removes the member."""
    merged = {"alg": "EdDSA", "typ": "vc+jwt", "cty": "vc", "kid": ISSUER_VM, **changes}
    return {name: value for name, value in merged.items() if value is not None}


def verify(source: Any, with_resolver: DidResolver | None = None) -> VerificationResult:
    return verify_credential(source, with_resolver or resolver(), CHECKED_AT)


def failed(result: VerificationResult) -> dict[str, str]:
    return {c.name: c.detail for c in result.checks if not c.passed}


def names(result: VerificationResult) -> list[str]:
    return [c.name for c in result.checks]


# --- signing and decoding ------------------------------------------------------------------------


def test_a_signed_credential_decodes_to_rpls_header_and_the_credential_itself():
    decoded_header, payload, signing_input, signature = decode_vc_jwt(token())

    assert decoded_header == {"alg": "EdDSA", "typ": "vc+jwt", "cty": "vc", "kid": ISSUER_VM}
    assert payload == credential()
    assert signing_input == token().rsplit(".", 1)[0].encode()
    assert len(signature) == 64


def test_the_payload_is_the_unsecured_credential_with_no_jwt_claims_added():
    payload = decode_vc_jwt(token())[1]
    assert set(payload) == set(credential())
    assert not {"iss", "iat", "exp", "nbf", "jti", "sub", "vc"} & set(payload)


def test_a_token_is_three_unpadded_base64url_parts():
    parts = token().split(".")
    assert len(parts) == 3
    alphabet = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert all(part and set(part) <= alphabet for part in parts)
    assert "=" not in token()


def test_a_signed_credential_round_trips_through_verification():
    result = check(token())

    assert result.verified is True
    assert result.errors == ()
    assert result.kid == ISSUER_VM
    assert result.payload == credential()


def test_signing_does_not_change_the_credential():
    document = credential()
    sign_vc_jwt(document, ISSUER_SIGNER, ISSUER_VM)
    assert document == credential()


def test_a_signer_key_works_directly_as_well_as_a_local_signer():
    assert check(sign_vc_jwt(credential(), ISSUER_KEY, ISSUER_VM)).verified is True


@pytest.mark.parametrize(
    ("document", "vm", "message"),
    [
        (["not", "an", "object"], ISSUER_VM, "a JSON object"),
        (credential(vc={"type": "x"}), ISSUER_VM, "must not carry the JWT claim 'vc'"),
        (credential(extent=float("nan")), ISSUER_VM, "cannot be written as JSON"),
        (credential(), ISSUER_DID, "with a fragment"),
    ],
    ids=["not an object", "vc claim", "NaN", "kid without fragment"],
)
def test_what_cannot_be_a_vc_jwt_is_not_signed(document: Any, vm: str, message: str):
    with pytest.raises(JoseError, match=message):
        sign_vc_jwt(document, ISSUER_SIGNER, vm)


def test_a_signer_that_does_not_return_an_ed25519_signature_is_refused():
    class Broken:
        def sign(self, data: bytes) -> bytes:
            return b"short"

    with pytest.raises(JoseError, match="not an Ed25519 signature"):
        sign_vc_jwt(credential(), Broken(), ISSUER_VM)


BAD_SHAPES = {
    "two parts": ("a.b", "3 dot-separated parts, this has 2"),
    "JWE": ("a.b.c.d.e", "5 parts is JWE"),
    "detached payload": (token().split(".")[0] + ".." + token().split(".")[2], "detached"),
    "padded header": ("eyJhIjoxfQ==." + token().split(".", 1)[1], "not unpadded base64url"),
    # A '+' in place of the signature's first character: always present, whatever the random key.
    "standard alphabet": (
        token().rsplit(".", 1)[0] + ".+" + token().rsplit(".", 1)[1][1:],
        "base64url",
    ),
    "impossible length": ("eyJhIjoxfQ." + "A" * 5 + ".AAAA", "impossible base64url length"),
    "stray trailing bits": ("eyJhIjoxfR." + token().split(".", 1)[1], "not canonical"),
}


@pytest.mark.parametrize(("jwt", "message"), BAD_SHAPES.values(), ids=BAD_SHAPES)
def test_a_token_that_is_not_a_compact_jws_is_refused_with_a_reason(jwt: str, message: str):
    with pytest.raises(JoseError, match=message):
        decode_vc_jwt(jwt)
    assert message in " ".join(check(jwt).errors)


def test_base64url_round_trips_every_length():
    for length in range(7):
        data = bytes(range(length))
        assert b64url_decode(b64url_encode(data), "test") == data


# --- refusals: tampering, algorithms, keys ----------------------------------------------------


def swap_part(jwt: str, index: int, new_part: str) -> str:
    parts = jwt.split(".")
    parts[index] = new_part
    return ".".join(parts)


def test_a_changed_payload_is_not_verified():
    changed = credential()
    changed["credentialSubject"]["role"] = "Chief Executive"
    tampered = swap_part(token(), 1, b64url_encode(json.dumps(changed).encode()))

    result = check(tampered)

    assert result.verified is False
    assert result.payload is None
    assert result.errors == (
        f"the signature does not match the token and the key of {ISSUER_VM!r}",
    )


def test_a_changed_header_is_not_verified():
    # Same key material is on offer under key-2, but the signature was made over key-1's header.
    new_header = b64url_encode(json.dumps(header(kid=f"{ISSUER_DID}#key-2")).encode())

    result = check(swap_part(token(), 0, new_header))

    assert result.verified is False
    assert "the signature does not match the token" in result.errors[0]


def test_a_changed_signature_is_not_verified():
    signature = bytearray(b64url_decode(token().split(".")[2], "signature"))
    signature[10] ^= 1

    result = check(swap_part(token(), 2, b64url_encode(bytes(signature))))

    assert result.verified is False
    assert "the signature does not match the token" in result.errors[0]


def test_a_signature_of_the_wrong_length_is_refused_before_any_key_is_looked_up():
    signature = b64url_decode(token().split(".")[2], "signature")

    result = check(swap_part(token(), 2, b64url_encode(signature[:-1])))

    assert result.verified is False
    assert result.errors == ("the signature holds 63 bytes, an Ed25519 signature is 64",)


def test_a_token_signed_by_another_key_under_the_issuers_kid_is_not_verified():
    result = check(sign_vc_jwt(credential(), STRANGER_KEY, ISSUER_VM))

    assert result.verified is False
    assert "the signature does not match the token and the key of" in result.errors[0]


def test_alg_none_is_refused_without_looking_up_a_key():
    asked: list[str] = []
    unsigned = forge(header(alg="none"), credential()).rsplit(".", 1)[0] + "."

    result = verify_vc_jwt(unsigned, lambda vm: asked.append(vm) or b"", now=CHECKED_AT)

    assert result.verified is False
    assert "alg 'none' means the token is not signed; it is refused" in result.errors
    assert asked == []


def test_hs256_with_the_public_key_as_secret_is_refused():
    # The classic key-confusion attack: an HMAC "signed" with the issuer's public key.
    signing_input = forge(header(alg="HS256"), credential()).rsplit(".", 1)[0]
    mac = hmac.new(raw_public(ISSUER_KEY), signing_input.encode(), hashlib.sha256).digest()

    result = check(f"{signing_input}.{b64url_encode(mac)}")

    assert result.verified is False
    assert "alg 'HS256' is not accepted; a VC-JWT from rpl is signed with 'EdDSA'" in result.errors


REFUSED_HEADERS = {
    "kid missing": ({"kid": None}, "the header has no kid naming the issuer's verification method"),
    "kid a number": ({"kid": 7}, "kid 7 is not a verification method URL"),
    "alg missing": ({"alg": None}, "alg None is not accepted"),
    "alg Ed25519 (RFC 9864)": ({"alg": "Ed25519"}, "alg 'Ed25519' is not accepted"),
    "typ JWT": ({"typ": "JWT"}, "typ 'JWT' is not 'vc+jwt'"),
    "typ missing": ({"typ": None}, "typ None is not 'vc+jwt'"),
    "cty vp": ({"cty": "vp"}, "cty 'vp' is not 'vc'"),
    "crit": ({"crit": ["b64"], "b64": False}, "crit ['b64'] names extensions"),
}


@pytest.mark.parametrize(("changes", "message"), REFUSED_HEADERS.values(), ids=REFUSED_HEADERS)
def test_a_header_rpl_does_not_accept_is_refused(changes: dict[str, Any], message: str):
    result = check(forge(header(**changes), credential()))

    assert result.verified is False
    assert any(message in error for error in result.errors), result.errors


def test_media_types_may_be_written_in_full():
    full = header(typ="application/vc+jwt", cty="application/vc")
    assert check(forge(full, credential())).verified is True


def test_a_token_without_cty_is_accepted():
    assert check(forge(header(cty=None), credential())).verified is True


def test_an_unresolvable_kid_is_refused_with_the_resolvers_reason():
    result = check(sign_vc_jwt(credential(), ISSUER_KEY, f"{ISSUER_DID}#key-9"))

    assert result.verified is False
    assert f"cannot resolve kid '{ISSUER_DID}#key-9'" in result.errors[0]
    assert "is not listed in" in result.errors[0]


# --- refusals: JSON ------------------------------------------------------------------------------


def test_a_duplicate_key_in_the_payload_is_refused():
    text = json.dumps(credential()).replace(
        '"role": "Registered Nurse"', '"role": "Registered Nurse", "role": "CEO"'
    )

    result = check(forge(header(), text))

    assert result.verified is False
    assert "duplicate key 'role' in the JSON object at $.credentialSubject" in result.errors[0]
    assert result.payload is None


def test_a_duplicate_key_in_the_header_is_refused():
    text = json.dumps(header()).replace('"alg": "EdDSA"', '"alg": "EdDSA", "alg": "none"')

    result = check(forge(text, credential()))

    assert result.verified is False
    assert "the JWS header is not acceptable JSON: duplicate key 'alg'" in result.errors[0]


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ("not json at all", "the JWS payload is not acceptable JSON: not valid JSON"),
        ('{"n": NaN}', "NaN is not a JSON value"),
        ('["a", "list"]', "the JWS payload is not a JSON object"),
    ],
    ids=["text", "NaN", "a list"],
)
def test_a_payload_that_is_not_a_json_object_is_refused(payload: str, message: str):
    result = check(forge(header(), payload))

    assert result.verified is False
    assert message in result.errors[0]


def test_a_header_that_is_not_utf8_is_refused():
    jwt = swap_part(token(), 0, b64url_encode(b"\xff\xfe{}"))
    assert "must be UTF-8" in check(jwt).errors[0]


# --- JWT claims beside the credential ------------------------------------------------------------


def test_an_iss_claim_naming_the_issuer_is_accepted_in_payload_and_header():
    jwt = forge(header(iss=ISSUER_DID), credential(iss=ISSUER_DID, iat=1714564800))
    assert check(jwt).verified is True


@pytest.mark.parametrize("where", ["payload", "header"])
def test_an_iss_claim_naming_someone_else_is_refused(where: str):
    other = "did:web:impostor.example"
    jwt = (
        forge(header(), credential(iss=other))
        if where == "payload"
        else forge(header(iss=other), credential())
    )

    result = check(jwt)

    assert result.verified is False
    assert result.errors == (f"iss {other!r} in the {where} is not the issuer {ISSUER_DID!r}",)


def test_a_vc_claim_is_refused():
    result = check(forge(header(), credential(vc={"credentialSubject": {}})))
    assert result.errors == ("the JWT claim 'vc' must not be present",)


def test_an_expired_token_is_refused():
    result = check(forge(header(), credential(exp=int(NOW.timestamp()))))
    assert result.errors == ("the token expired at 2024-05-01T12:00:00Z (exp)",)


def test_a_token_not_yet_valid_is_refused_but_valid_from_its_nbf():
    jwt = forge(header(), credential(nbf=int(CHECKED_AT.timestamp()) + 1))

    assert check(jwt).errors == ("the token is not valid before 2024-05-02T12:00:01Z (nbf)",)
    assert check(jwt, now=CHECKED_AT + timedelta(seconds=1)).verified is True


def test_time_claims_that_are_not_numbers_are_refused():
    result = check(forge(header(), credential(exp="tomorrow", nbf=True)))
    assert result.errors == (
        "exp 'tomorrow' is not a NumericDate (seconds since 1970)",
        "nbf True is not a NumericDate (seconds since 1970)",
    )


# --- garbage never raises ------------------------------------------------------------------------

GARBAGE = [None, 42, b"a.b.c", "", ".", "..", "a.b.c", "é.é.é", "a" * 10_000, ["x"]]


@pytest.mark.parametrize("jwt", GARBAGE, ids=[repr(g)[:20] for g in GARBAGE])
def test_garbage_is_not_verified_and_never_raises(jwt: Any):
    result = check(jwt)
    assert result.verified is False
    assert result.errors


def test_a_resolver_error_that_is_not_rpls_propagates_for_the_outer_edge_to_log():
    # verify_vc_jwt refuses bad tokens; a broken resolver is a bug, and verify_credential's edge
    # turns it into an `internal` check (tested below).
    def broken(vm: str) -> bytes:
        raise TimeoutError("the network is down")

    with pytest.raises(TimeoutError):
        verify_vc_jwt(token(), broken)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (" a.b.c\n", "a.b.c"),
        (b"a.b.c", "a.b.c"),
        ('{"a": 1}', None),
        ("1.5", None),
        ("a.b", None),
        (b"\xff.b.c", None),
        ({"a": 1}, None),
    ],
)
def test_only_text_shaped_like_a_compact_jws_is_taken_for_one(source: Any, expected: str | None):
    assert compact_jws_in(source) == expected


# --- the verifier: verify_credential on a VC-JWT ---------------------------------------------


def test_a_vc_jwt_from_a_did_web_issuer_verifies_with_every_check():
    result = verify(token())

    assert result.verified is True
    assert names(result) == JWT_CHECKS
    assert result.checks[0].detail == f"EdDSA by {ISSUER_VM}: signature valid"
    assert result.credential == credential()


def test_a_vc_jwt_read_as_bytes_from_a_file_verifies():
    assert verify((token() + "\n").encode()).verified is True


def test_a_vc_jwt_from_a_did_key_issuer_verifies_without_any_document_held():
    jwt = sign_vc_jwt(credential(STRANGER_DID), STRANGER_KEY, STRANGER_VM)

    result = verify(jwt, DidResolver())

    assert result.verified is True
    assert f"signed with a key of the issuer {STRANGER_DID}" in [c.detail for c in result.checks]


def test_a_vc_jwt_whose_kid_is_not_controlled_by_the_issuer_is_not_verified():
    # A valid signature, but by a did:key the issuer (a did:web) does not control.
    jwt = sign_vc_jwt(credential(), STRANGER_KEY, STRANGER_VM)

    result = verify(jwt)

    assert result.verified is False
    assert failed(result) == {
        "issuer": f"key {STRANGER_VM} is controlled by {STRANGER_DID!r}, "
        f"not by the issuer {ISSUER_DID!r}"
    }


def test_a_vc_jwt_whose_key_is_not_an_assertion_method_is_not_verified():
    held = issuer_document()
    held["assertionMethod"] = [f"{ISSUER_DID}#key-2"]

    result = verify(token(), resolver(held))

    assert failed(result) == {
        "issuer": f"{ISSUER_DID} does not list {ISSUER_VM} as an assertion method"
    }


def test_a_tampered_vc_jwt_yields_no_credential_and_no_document_checks():
    changed = credential()
    changed["credentialSubject"]["role"] = "Chief Executive"

    result = verify(swap_part(token(), 1, b64url_encode(json.dumps(changed).encode())))

    assert result.verified is False
    assert names(result) == ["jws"]
    assert "the signature does not match the token" in failed(result)["jws"]
    assert result.credential is None


def test_an_unsigned_vc_jwt_is_not_verified():
    result = verify(forge(header(alg="none"), credential()).rsplit(".", 1)[0] + ".")

    assert result.verified is False
    assert failed(result) == {"jws": "alg 'none' means the token is not signed; it is refused"}


def test_a_vc_jwt_with_a_duplicate_key_is_refused_by_the_verifier():
    text = json.dumps(credential()).replace('"name": ', '"name": "A", "name": ', 1)

    result = verify(forge(header(), text))

    assert names(result) == ["jws"]
    assert "duplicate key 'name'" in failed(result)["jws"]


def test_an_expired_credential_in_a_vc_jwt_is_not_verified():
    jwt = sign_vc_jwt(credential(validUntil="2024-05-01T18:00:00Z"), ISSUER_KEY, ISSUER_VM)

    assert failed(verify(jwt)) == {"validity": "expired on 2024-05-01T18:00:00Z"}


def test_a_vc_jwt_whose_credential_breaks_the_ob3_schema_is_not_verified():
    document = credential()
    del document["credentialSubject"]["achievement"]["name"]

    result = verify(sign_vc_jwt(document, ISSUER_KEY, ISSUER_VM))

    assert failed(result) == {
        "schema": "$.credentialSubject.achievement.name: is required but missing"
    }


def test_a_vc_jwt_with_a_status_entry_is_not_verified_until_its_status_is_checked():
    status = {
        "id": "https://issuer.example/status/1#94567",
        "type": "BitstringStatusListEntry",
        "statusPurpose": "revocation",
        "statusListIndex": "94567",
        "statusListCredential": "https://issuer.example/status/1",
    }
    jwt = sign_vc_jwt(credential(credentialStatus=status), ISSUER_KEY, ISSUER_VM)

    result = verify(jwt)

    assert result.verified is False
    assert "status" in failed(result)


def embedded(document: dict[str, Any]) -> dict[str, Any]:
    options = ProofOptions(ISSUER_VM, created="2024-05-01T12:00:00Z")
    return add_proof(document, options, ISSUER_KEY, "eddsa-jcs-2022")


def test_a_data_integrity_proof_inside_a_vc_jwt_is_verified_too():
    result = verify(sign_vc_jwt(embedded(credential()), ISSUER_KEY, ISSUER_VM))

    assert result.verified is True
    assert names(result) == [
        "jws",
        "structure",
        "contexts",
        "schema",
        "proof",
        "issuer",
        "validity",
    ]


def test_a_broken_proof_inside_a_valid_vc_jwt_makes_it_unverified():
    document = embedded(credential())
    document["proof"]["created"] = "2024-05-01T12:00:01Z"

    result = verify(sign_vc_jwt(document, ISSUER_KEY, ISSUER_VM))

    assert result.verified is False
    assert list(failed(result)) == ["proof"]


def test_a_resolver_that_breaks_unexpectedly_does_not_break_the_verifier():
    def unreachable(did: str) -> dict[str, Any]:
        raise TimeoutError("the network is down")

    jwt = sign_vc_jwt(
        credential("did:web:elsewhere.example"), ISSUER_KEY, "did:web:elsewhere.example#k"
    )

    result = verify(jwt, DidResolver(fetch_did_web=unreachable))

    assert result.verified is False
    assert names(result) == ["internal"]
    assert "the network is down" in failed(result)["internal"]


def test_a_did_web_that_cannot_be_resolved_is_named_in_the_jws_check():
    def not_found(did: str) -> dict[str, Any]:
        raise DidResolutionError("could not fetch: 404 Not Found")

    jwt = sign_vc_jwt(
        credential("did:web:elsewhere.example"), ISSUER_KEY, "did:web:elsewhere.example#k"
    )

    result = verify(jwt, DidResolver(fetch_did_web=not_found))

    assert names(result) == ["jws"]
    assert "could not fetch: 404 Not Found" in failed(result)["jws"]


def test_jose_error_is_an_rpl_error():
    assert issubclass(JoseError, RplError)
