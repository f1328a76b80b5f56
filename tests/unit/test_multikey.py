"""Ed25519 Multikeys and did:key, against the W3C and W3C-CCG test vectors."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import base58
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from rpl import multikey
from rpl.errors import RplError
from rpl.multikey import InvalidMultikeyError
from rpl.proofs import rdfc

VECTORS = Path(__file__).parents[1] / "vectors"
DID_KEY_VECTORS = json.loads((VECTORS / "did-method-key" / "ed25519-x25519.json").read_text())
W3C_KEY_PAIR = json.loads(
    (VECTORS / "w3c-vc-di-eddsa" / "TestVectors" / "keyPair.json").read_text()
)
CHAIN_KEY_PAIRS = json.loads(
    (
        VECTORS / "w3c-vc-di-eddsa" / "TestVectors" / "proof-set-chain" / "multiKeyPairs.json"
    ).read_text()
)
W3C_PAIRS = [W3C_KEY_PAIR, *CHAIN_KEY_PAIRS.values()]


def vector_public_key(vector: dict[str, Any]) -> bytes:
    """The Ed25519 key of a did:key vector, written as base58 or (in one vector) as a JWK."""
    pair = vector["verificationKeyPair"]
    if "publicKeyBase58" in pair:
        return base58.b58decode(pair["publicKeyBase58"])
    return base64.urlsafe_b64decode(pair["publicKeyJwk"]["x"] + "=")


def public_of(seed: bytes) -> bytes:
    private = Ed25519PrivateKey.from_private_bytes(seed)
    return private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


@pytest.mark.parametrize("pair", W3C_PAIRS, ids=lambda pair: pair["publicKeyMultibase"][:12])
def test_w3c_private_key_multibase_decodes_to_the_seed_of_its_public_key(
    pair: dict[str, str],
) -> None:
    seed = multikey.decode_secret_key(pair["privateKeyMultibase"])
    assert multikey.encode_public_key(public_of(seed)) == pair["publicKeyMultibase"]
    assert multikey.decode_public_key(pair["publicKeyMultibase"]) == public_of(seed)


@pytest.mark.parametrize("pair", W3C_PAIRS, ids=lambda pair: pair["publicKeyMultibase"][:12])
def test_encoding_a_seed_gives_the_w3c_private_key_multibase(pair: dict[str, str]) -> None:
    seed = multikey.decode_secret_key(pair["privateKeyMultibase"])
    assert multikey.encode_secret_key(seed) == pair["privateKeyMultibase"]


@pytest.mark.parametrize("did", list(DID_KEY_VECTORS))
def test_did_key_of_a_seed_matches_the_did_key_vectors(did: str) -> None:
    vector = DID_KEY_VECTORS[did]
    public = public_of(bytes.fromhex(vector["seed"]))
    assert public == vector_public_key(vector)
    assert multikey.did_key(public) == did


@pytest.mark.parametrize("did", list(DID_KEY_VECTORS))
def test_did_key_document_names_the_vectors_verification_method(did: str) -> None:
    expected: dict[str, Any] = DID_KEY_VECTORS[did]["didDocument"]
    document = multikey.did_key_document(did)
    [method] = document["verificationMethod"]
    ed25519_method = expected["verificationMethod"][0]
    assert document["id"] == did
    assert method["id"] == ed25519_method["id"]
    assert method["controller"] == did
    assert method["type"] == "Multikey"
    assert method["publicKeyMultibase"] == did.removeprefix("did:key:")
    for relationship in ("assertionMethod", "authentication"):
        assert document[relationship] == expected[relationship]


@pytest.mark.parametrize("did", list(DID_KEY_VECTORS))
def test_public_key_from_did_key_url_gives_the_vectors_key(did: str) -> None:
    vector = DID_KEY_VECTORS[did]
    method_url = vector["didDocument"]["verificationMethod"][0]["id"]
    assert multikey.public_key_from_did_key_url(method_url) == vector_public_key(vector)


def test_did_key_document_is_json_ld_under_its_own_contexts() -> None:
    document = multikey.did_key_document(next(iter(DID_KEY_VECTORS)))
    assert document["@context"] == [
        "https://www.w3.org/ns/did/v1",
        "https://w3id.org/security/multikey/v1",
    ]
    assert "https://w3id.org/security#publicKeyMultibase" in rdfc.canonicalize(document)


def test_sixty_four_byte_secret_key_form_gives_the_seed() -> None:
    seed = bytes(range(32))
    libsodium_form = "z" + base58.b58encode(b"\x80\x26" + seed + public_of(seed)).decode()
    assert multikey.decode_secret_key(libsodium_form) == seed


def test_sixty_four_byte_secret_key_with_a_foreign_public_half_is_refused() -> None:
    seed = bytes(range(32))
    mismatched = "z" + base58.b58encode(b"\x80\x26" + seed + bytes(32)).decode()
    with pytest.raises(InvalidMultikeyError, match="public half does not match"):
        multikey.decode_secret_key(mismatched)


X25519_KEY = "z6LShs9GGnqk85isEBzzshkuVWrVKsRp24GnDuHk8QWkARMW"
SOME_ED25519 = "z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp", "must start with 'z'"),
        ("z6Mk0OIl", "not valid base58btc"),
        (X25519_KEY, "multicodec header 0xed01 missing"),
        ("z" + base58.b58encode(b"\xed\x01" + bytes(31)).decode(), "holds 31 key bytes"),
        (None, "not a base58btc multibase string"),
    ],
)
def test_malformed_public_multikey_is_refused_with_the_reason(value: Any, message: str) -> None:
    with pytest.raises(InvalidMultikeyError, match=message):
        multikey.decode_public_key(value)


def test_public_key_is_not_accepted_as_a_secret_key() -> None:
    with pytest.raises(InvalidMultikeyError, match="not an Ed25519 secret key"):
        multikey.decode_secret_key(SOME_ED25519)


@pytest.mark.parametrize("encode", [multikey.encode_public_key, multikey.encode_secret_key])
def test_encoding_a_key_of_the_wrong_length_is_refused(encode: Any) -> None:
    with pytest.raises(InvalidMultikeyError, match="is 32 bytes, got 31"):
        encode(bytes(31))


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (f"did:key:{SOME_ED25519}", "is not the verification method"),
        (f"did:key:{SOME_ED25519}#key-1", "is not the verification method"),
        (f"did:web:example.com#{SOME_ED25519}", "is not a did:key"),
        (f"did:key:{X25519_KEY}#{X25519_KEY}", "multicodec header 0xed01 missing"),
    ],
)
def test_method_url_that_is_not_an_ed25519_did_key_method_is_refused(
    url: str, message: str
) -> None:
    with pytest.raises(InvalidMultikeyError, match=message):
        multikey.public_key_from_did_key_url(url)


def test_did_key_document_of_a_non_ed25519_did_is_refused() -> None:
    with pytest.raises(InvalidMultikeyError):
        multikey.did_key_document(f"did:key:{X25519_KEY}")


def test_multikey_errors_are_rpl_errors() -> None:
    assert issubclass(InvalidMultikeyError, RplError)
