"""The eddsa-jcs-2022 cryptosuite: W3C Data Integrity EdDSA Cryptosuites v1.0, §3.3.

One function per algorithm of the specification, named after it. The document is canonicalized
with JCS (RFC 8785), so the signature covers its JSON exactly, member by member; no JSON-LD
processing takes place. The proof carries the document's `@context` (§3.3.1 step 2) so that
contexts appended later (by another signer of a proof set) do not break it.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Mapping
from typing import Any

import orjson

from rpl.proofs import jcs
from rpl.proofs.dataintegrity import (
    DATA_INTEGRITY_PROOF,
    EDDSA_JCS_2022,
    CreatedProof,
    CryptosuiteVerification,
    ProofError,
    Signer,
    decode_proof_value,
    ed25519_sign,
    ed25519_verify,
    encode_proof_value,
    parse_datetime,
)

CRYPTOSUITE = EDDSA_JCS_2022


def create_proof(
    unsecured_document: Mapping[str, Any], options: Mapping[str, Any], signer: Signer
) -> dict[str, Any]:
    """§3.3.1 Create Proof: the proof (options, the document's `@context`, `proofValue`)."""
    return _create_proof(unsecured_document, options, signer)[0]


def create_proof_and_hash(
    unsecured_document: Mapping[str, Any], options: Mapping[str, Any], signer: Signer
) -> CreatedProof:
    """`create_proof`, with the hash data (§3.3.4) and the raw signature: bulk issuance checks
    the signature against them without canonicalizing the document a second time."""
    return CreatedProof(*_create_proof(unsecured_document, options, signer))


def _create_proof(
    unsecured_document: Mapping[str, Any], options: Mapping[str, Any], signer: Signer
) -> tuple[dict[str, Any], bytes, bytes]:
    proof_config = dict(options)
    if "@context" in unsecured_document:
        proof_config["@context"] = unsecured_document["@context"]
    proof_config_hash, lists = _proof_config_hash(proof_config)
    transformed_data = transformation(unsecured_document, options)
    hash_data = proof_config_hash + hashlib.sha256(transformed_data).digest()  # §3.3.4
    proof_bytes = proof_serialization(hash_data, signer)
    # The proof shares nothing mutable with the caller's options or document: a configuration
    # of strings only needs its lists copied; anything else is deep-copied, and only now that
    # canonicalization has shown it to be a finite JSON tree.
    if lists is None:
        proof = _copy_json(proof_config)
    else:
        proof = proof_config  # a new dict already, its other members immutable strings
        for name in lists:
            proof[name] = list(proof[name])
    proof["proofValue"] = encode_proof_value(proof_bytes)
    return proof, hash_data, proof_bytes


def _proof_config_hash(proof_config: dict[str, Any]) -> tuple[bytes, tuple[str, ...] | None]:
    """SHA-256 of §3.3.5's canonical proof configuration (the first half of §3.3.4's hash data),
    and the names of its list members, or None when it is not made of strings alone.

    Every credential a key signs in the same second has the same proof configuration, so its
    hash is remembered for configurations of strings and lists of strings: the key is then
    exactly the configuration. Anything else is canonicalized every time.
    """
    key = _config_key(proof_config)
    if key is None:
        return hashlib.sha256(proof_configuration(proof_config)).digest(), None
    known = _CONFIG_HASHES.get(key)
    if known is None:
        lists = tuple(name for name, value in proof_config.items() if type(value) is list)
        known = hashlib.sha256(proof_configuration(proof_config)).digest(), lists
        if len(_CONFIG_HASHES) >= _CONFIG_HASHES_MAX:
            _CONFIG_HASHES.clear()  # a new second or a new key: the old entries are done with
        _CONFIG_HASHES[key] = known
    return known


_CONFIG_HASHES: dict[bytes, tuple[bytes, tuple[str, ...]]] = {}
_CONFIG_HASHES_MAX = 256
_STR_ONLY = {str}
_STR_OR_LIST = {str, list}


def _config_key(proof_config: dict[str, Any]) -> bytes | None:
    """The configuration's JSON (orjson, members in their order) when it is made of strings and
    lists of strings only, which that JSON then names exactly; else None."""
    if not set(map(type, proof_config)) <= _STR_ONLY:
        return None
    kinds = set(map(type, proof_config.values()))
    if not kinds <= _STR_OR_LIST:
        return None
    if list in kinds:
        for value in proof_config.values():
            if type(value) is list and not set(map(type, value)) <= _STR_ONLY:
                return None
    return orjson.dumps(proof_config)


def verify_proof(
    unsecured_document: Mapping[str, Any], proof: Mapping[str, Any], public_key: bytes
) -> CryptosuiteVerification:
    """§3.3.2 Verify Proof, with the public key already retrieved from `verificationMethod`.

    The secured document arrives split: `unsecured_document` (without this proof, but with the
    previous proofs a chained proof signed, VC-DI §4.5) and the `proof` itself. Raises
    `ProofError` for a malformed proof; returns `verified=False` for a wrong signature.
    """
    document = dict(unsecured_document)
    proof_options = {name: value for name, value in proof.items() if name != "proofValue"}
    proof_bytes = decode_proof_value(proof.get("proofValue"))
    if "@context" in proof_options:
        if not _starts_with(document.get("@context"), proof_options["@context"]):
            raise ProofError(
                "the document's @context does not start with the @context the proof signed"
            )
        document["@context"] = proof_options["@context"]
    transformed_data = transformation(document, proof_options)
    canonical_proof_config = proof_configuration(proof_options)
    hash_data = hashing(transformed_data, canonical_proof_config)
    verified = proof_verification(hash_data, proof_bytes, public_key)
    return CryptosuiteVerification(verified, document if verified else None)


def transformation(unsecured_document: Mapping[str, Any], options: Mapping[str, Any]) -> bytes:
    """§3.3.3 Transformation: the document's JCS bytes."""
    _require_this_suite(options, "PROOF_VERIFICATION_ERROR")
    document = unsecured_document
    return jcs.canonicalize(document if type(document) is dict else dict(document))


def hashing(transformed_document: bytes, canonical_proof_config: bytes) -> bytes:
    """§3.3.4 Hashing: SHA-256(canonical proof config) followed by SHA-256(document), 64 bytes."""
    transformed_document_hash = hashlib.sha256(transformed_document).digest()
    proof_config_hash = hashlib.sha256(canonical_proof_config).digest()
    return proof_config_hash + transformed_document_hash


def proof_configuration(options: Mapping[str, Any]) -> bytes:
    """§3.3.5 Proof Configuration: the proof options (with any `@context`) as JCS bytes."""
    proof_config = dict(options)
    _require_this_suite(proof_config, "PROOF_GENERATION_ERROR")
    if "created" in proof_config:
        parse_datetime(proof_config["created"], "created")
    return jcs.canonicalize(proof_config)


def proof_serialization(hash_data: bytes, signer: Signer) -> bytes:
    """§3.3.6 Proof Serialization: the Ed25519 signature of the hash data."""
    return ed25519_sign(hash_data, signer)


def proof_verification(hash_data: bytes, proof_bytes: bytes, public_key: bytes) -> bool:
    """§3.3.7 Proof Verification: whether the signature matches the hash data and key."""
    return ed25519_verify(hash_data, proof_bytes, public_key)


def _require_this_suite(options: Mapping[str, Any], error_type: str) -> None:
    if options.get("type") != DATA_INTEGRITY_PROOF or options.get("cryptosuite") != CRYPTOSUITE:
        raise ProofError(
            f"{error_type}: proof type {options.get('type')!r} with cryptosuite "
            f"{options.get('cryptosuite')!r} is not {DATA_INTEGRITY_PROOF} {CRYPTOSUITE}"
        )


_IMMUTABLE_LEAVES = frozenset({str, int, float, bool, type(None)})


def _copy_json(value: Any) -> Any:
    """A deep copy of a JSON tree; `copy.deepcopy` (about ten times slower) for anything else."""
    kind = type(value)
    if kind is dict and all(type(name) is str for name in value):
        return {
            name: member if type(member) in _IMMUTABLE_LEAVES else _copy_json(member)
            for name, member in value.items()
        }
    if kind is list:
        return [
            member if type(member) in _IMMUTABLE_LEAVES else _copy_json(member) for member in value
        ]
    return value if kind in _IMMUTABLE_LEAVES else copy.deepcopy(value)


def _starts_with(document_context: Any, proof_context: Any) -> bool:
    """§3.3.2 step 4: the document's contexts begin with the proof's, in the same order."""
    document_list = document_context if isinstance(document_context, list) else [document_context]
    proof_list = proof_context if isinstance(proof_context, list) else [proof_context]
    return document_context is not None and document_list[: len(proof_list)] == proof_list
