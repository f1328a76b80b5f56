"""The eddsa-rdfc-2022 cryptosuite: W3C Data Integrity EdDSA Cryptosuites v1.0, §3.2.

One function per algorithm of the specification, named after it. The document is canonicalized
with RDFC-1.0 (`rpl.proofs.rdfc`, offline and in safe mode), so the signature covers the
credential's meaning under its JSON-LD contexts rather than its JSON bytes.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Mapping
from typing import Any

from rpl.proofs import rdfc
from rpl.proofs.dataintegrity import (
    DATA_INTEGRITY_PROOF,
    EDDSA_RDFC_2022,
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

CRYPTOSUITE = EDDSA_RDFC_2022


def create_proof(
    unsecured_document: Mapping[str, Any], options: Mapping[str, Any], signer: Signer
) -> dict[str, Any]:
    """§3.2.1 Create Proof: the proof (the options plus `proofValue`) for a document."""
    return create_proof_and_hash(unsecured_document, options, signer).proof


def create_proof_and_hash(
    unsecured_document: Mapping[str, Any], options: Mapping[str, Any], signer: Signer
) -> CreatedProof:
    """`create_proof`, with the hash data (§3.2.4) and the raw signature: bulk issuance checks
    the signature against them without canonicalizing the document a second time."""
    proof = copy.deepcopy(dict(options))
    proof_config_hash = _proof_config_hash(unsecured_document, options)
    transformed_data = transformation(unsecured_document, options)
    hash_data = proof_config_hash + hashlib.sha256(transformed_data.encode("utf-8")).digest()
    proof_bytes = proof_serialization(hash_data, signer)
    proof["proofValue"] = encode_proof_value(proof_bytes)
    return CreatedProof(proof, hash_data, proof_bytes)


def _proof_config_hash(unsecured_document: Mapping[str, Any], options: Mapping[str, Any]) -> bytes:
    """SHA-256 of §3.2.5's canonical proof configuration, the first half of §3.2.4's hash data.

    Every credential a key signs in the same second under the same contexts has the same proof
    configuration, and its RDFC-1.0 canonicalization costs as much as a signature: its hash is
    remembered when the options are strings and the context a string or list of strings, so
    that the key is exactly what is canonicalized. Anything else is canonicalized every time.
    """
    key = _CONFIG_HASHES.key(options, unsecured_document.get("@context"))
    digest = _CONFIG_HASHES.get(key)
    if digest is None:
        digest = _sha256(proof_configuration(unsecured_document, options))
        if key is not None:
            _CONFIG_HASHES.remember(key, digest)
    return digest


_CONFIG_HASHES = ProofConfigHashes()


def _sha256(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8")).digest()


def verify_proof(
    unsecured_document: Mapping[str, Any], proof: Mapping[str, Any], public_key: bytes
) -> CryptosuiteVerification:
    """§3.2.2 Verify Proof, with the public key already retrieved from `verificationMethod`.

    The secured document arrives split: `unsecured_document` (without this proof, but with the
    previous proofs a chained proof signed, VC-DI §4.5) and the `proof` itself. Raises
    `ProofError` for a malformed proof; returns `verified=False` for a wrong signature.
    """
    proof_options = {name: value for name, value in proof.items() if name != "proofValue"}
    proof_bytes = decode_proof_value(proof.get("proofValue"))
    transformed_data = transformation(unsecured_document, proof_options)
    canonical_proof_config = proof_configuration(unsecured_document, proof_options)
    hash_data = hashing(transformed_data, canonical_proof_config)
    verified = proof_verification(hash_data, proof_bytes, public_key)
    return CryptosuiteVerification(verified, dict(unsecured_document) if verified else None)


def transformation(unsecured_document: Mapping[str, Any], options: Mapping[str, Any]) -> str:
    """§3.2.3 Transformation: the document's canonical N-Quads (RDFC-1.0)."""
    _require_this_suite(options, "PROOF_TRANSFORMATION_ERROR")
    _require_context(unsecured_document)
    return rdfc.canonicalize(unsecured_document)


def hashing(transformed_document: str, canonical_proof_config: str) -> bytes:
    """§3.2.4 Hashing: SHA-256(canonical proof config) followed by SHA-256(document), 64 bytes."""
    proof_config_hash = hashlib.sha256(canonical_proof_config.encode("utf-8")).digest()
    transformed_document_hash = hashlib.sha256(transformed_document.encode("utf-8")).digest()
    return proof_config_hash + transformed_document_hash


def proof_configuration(unsecured_document: Mapping[str, Any], options: Mapping[str, Any]) -> str:
    """§3.2.5 Proof Configuration: the proof options, under the document's `@context`, as
    canonical N-Quads.
    """
    proof_config = copy.deepcopy(dict(options))
    _require_this_suite(proof_config, "PROOF_GENERATION_ERROR")
    if "created" in proof_config:
        parse_datetime(proof_config["created"], "created")
    _require_context(unsecured_document)
    proof_config["@context"] = copy.deepcopy(unsecured_document["@context"])
    return rdfc.canonicalize(proof_config)


def proof_serialization(hash_data: bytes, signer: Signer) -> bytes:
    """§3.2.6 Proof Serialization: the Ed25519 signature of the hash data."""
    return ed25519_sign(hash_data, signer)


def proof_verification(hash_data: bytes, proof_bytes: bytes, public_key: bytes) -> bool:
    """§3.2.7 Proof Verification: whether the signature matches the hash data and key."""
    return ed25519_verify(hash_data, proof_bytes, public_key)


def _require_this_suite(options: Mapping[str, Any], error_type: str) -> None:
    if options.get("type") != DATA_INTEGRITY_PROOF or options.get("cryptosuite") != CRYPTOSUITE:
        raise ProofError(
            f"{error_type}: proof type {options.get('type')!r} with cryptosuite "
            f"{options.get('cryptosuite')!r} is not {DATA_INTEGRITY_PROOF} {CRYPTOSUITE}"
        )


def _require_context(unsecured_document: Mapping[str, Any]) -> None:
    if "@context" not in unsecured_document:
        raise ProofError(f"{CRYPTOSUITE} needs a JSON-LD document, and this one has no @context")
