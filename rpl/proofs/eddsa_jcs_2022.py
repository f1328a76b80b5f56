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

from rpl.proofs import jcs
from rpl.proofs.dataintegrity import (
    DATA_INTEGRITY_PROOF,
    EDDSA_JCS_2022,
    CreatedProof,
    CryptosuiteVerification,
    ProofConfigHashes,
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
    # §3.3.1 with its steps inlined (this runs once per signature): the proof configuration is
    # the options with the document's @context; its hash is remembered (`ProofConfigHashes`).
    _require_this_suite(options, "PROOF_GENERATION_ERROR")
    has_context = "@context" in unsecured_document
    context = unsecured_document["@context"] if has_context else None
    key = _CONFIG_HASHES.key(options, context)
    proof_config_hash = _CONFIG_HASHES.get(key)
    if proof_config_hash is None:
        proof_config = dict(options)
        if has_context:
            proof_config["@context"] = context
        proof_config_hash = hashlib.sha256(proof_configuration(proof_config)).digest()
        if key is not None:
            _CONFIG_HASHES.remember(key, proof_config_hash)
    document = unsecured_document
    transformed_data = jcs.canonicalize(document if type(document) is dict else dict(document))
    hash_data = proof_config_hash + hashlib.sha256(transformed_data).digest()  # §3.3.4
    proof_bytes = ed25519_sign(hash_data, signer)  # §3.3.6
    # The proof shares nothing mutable with the caller's options or document. Options of
    # strings (`key` is not None) need only the context list copied; anything else is
    # deep-copied, and only now that canonicalization has shown it to be a finite JSON tree.
    if key is not None:
        proof = dict(options)
        if has_context:
            proof["@context"] = list(context) if type(context) is list else context
    else:
        proof = _copy_json(dict(options))
        if has_context:
            proof["@context"] = _copy_json(context)
    proof["proofValue"] = encode_proof_value(proof_bytes)
    return proof, hash_data, proof_bytes


_CONFIG_HASHES = ProofConfigHashes()


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
