"""Ed25519 keys as Multikey strings and did:key identifiers.

A Multikey (W3C Controlled Identifiers v1.0 §2.2.2) is multibase base58btc (prefix `z`) over a
multicodec header followed by the raw key: `0xed 0x01` for an Ed25519 public key, `0x80 0x26`
for an Ed25519 secret key (the 32-byte seed). A did:key (W3C CCG did:key v0.9) is
`did:key:` + the public Multikey; its one verification method is `did:key:X#X`.
"""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from rpl.errors import RplError
from rpl.proofs.multibase import b58decode, encode_z

ED25519_PUB_HEADER = b"\xed\x01"
ED25519_PRIV_HEADER = b"\x80\x26"
ED25519_KEY_LENGTH = 32
DID_KEY_PREFIX = "did:key:"
DID_CONTEXTS = ("https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1")


class InvalidMultikeyError(RplError):
    """A string that is not the expected Ed25519 Multikey, did:key or did:key method URL."""


def _encode(header: bytes, raw: bytes, what: str) -> str:
    if len(raw) != ED25519_KEY_LENGTH:
        raise InvalidMultikeyError(f"an Ed25519 {what} is 32 bytes, got {len(raw)}")
    return encode_z(header + raw)


def _decode(multibase: str, header: bytes, what: str) -> bytes:
    if not isinstance(multibase, str) or not multibase.startswith("z"):
        raise InvalidMultikeyError(
            f"{multibase!r} is not a base58btc multibase string (it must start with 'z')"
        )
    try:
        decoded = b58decode(multibase[1:])
    except ValueError as err:
        raise InvalidMultikeyError(f"{multibase!r} is not valid base58btc: {err}") from err
    if not decoded.startswith(header):
        raise InvalidMultikeyError(
            f"{multibase!r} is not an Ed25519 {what} (multicodec header 0x{header.hex()} missing)"
        )
    return decoded[len(header) :]


def encode_public_key(raw: bytes) -> str:
    """`z6Mk…`: the Multikey of a raw 32-byte Ed25519 public key."""
    return _encode(ED25519_PUB_HEADER, raw, "public key")


def decode_public_key(multibase: str) -> bytes:
    """The raw 32-byte Ed25519 public key in a `publicKeyMultibase` value."""
    raw = _decode(multibase, ED25519_PUB_HEADER, "public key")
    if len(raw) != ED25519_KEY_LENGTH:
        raise InvalidMultikeyError(f"{multibase!r} holds {len(raw)} key bytes, not 32")
    return raw


def encode_secret_key(raw_seed: bytes) -> str:
    """`z3u2…`: the Multikey of a 32-byte Ed25519 seed (the form the W3C test vectors use)."""
    return _encode(ED25519_PRIV_HEADER, raw_seed, "seed")


def decode_secret_key(multibase: str) -> bytes:
    """The 32-byte Ed25519 seed in a `secretKeyMultibase` / `privateKeyMultibase` value.

    Some libraries write the 64-byte libsodium form (seed followed by public key); it is
    accepted when its second half really is the seed's public key.
    """
    raw = _decode(multibase, ED25519_PRIV_HEADER, "secret key")
    if len(raw) == ED25519_KEY_LENGTH:
        return raw
    if len(raw) == 2 * ED25519_KEY_LENGTH:
        seed, public = raw[:ED25519_KEY_LENGTH], raw[ED25519_KEY_LENGTH:]
        if _public_of(seed) == public:
            return seed
        raise InvalidMultikeyError(f"{multibase!r}: public half does not match the seed")
    raise InvalidMultikeyError(f"{multibase!r} holds {len(raw)} key bytes, not 32")


def _public_of(seed: bytes) -> bytes:
    private = Ed25519PrivateKey.from_private_bytes(seed)
    return private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def did_key(raw_public: bytes) -> str:
    """`did:key:z6Mk…` for a raw Ed25519 public key."""
    return DID_KEY_PREFIX + encode_public_key(raw_public)


def _multikey_of_did(did: str) -> str:
    if not isinstance(did, str) or not did.startswith(DID_KEY_PREFIX):
        raise InvalidMultikeyError(f"{did!r} is not a did:key")
    multibase = did[len(DID_KEY_PREFIX) :]
    decode_public_key(multibase)  # only Ed25519 did:keys are supported; fail here, not later
    return multibase


def did_key_document(did: str) -> dict[str, Any]:
    """The DID document of an Ed25519 did:key, with its key as a single Multikey method.

    Every verification relationship the did:key method grants an Ed25519 key is listed; the
    optional X25519 keyAgreement key is not derived (rpl never encrypts to a did:key).
    """
    multibase = _multikey_of_did(did)
    method_id = f"{did}#{multibase}"
    return {
        "@context": list(DID_CONTEXTS),
        "id": did,
        "verificationMethod": [
            {
                "id": method_id,
                "type": "Multikey",
                "controller": did,
                "publicKeyMultibase": multibase,
            }
        ],
        "authentication": [method_id],
        "assertionMethod": [method_id],
        "capabilityInvocation": [method_id],
        "capabilityDelegation": [method_id],
    }


def public_key_from_did_key_url(vm_url: str) -> bytes:
    """The raw public key behind `did:key:X#X`, the only method URL a did:key has."""
    did, hash_sign, fragment = vm_url.partition("#") if isinstance(vm_url, str) else ("", "", "")
    multibase = _multikey_of_did(did)
    if not hash_sign or fragment != multibase:
        raise InvalidMultikeyError(
            f"{vm_url!r} is not the verification method of {did!r} (expected {did}#{multibase})"
        )
    return decode_public_key(multibase)
