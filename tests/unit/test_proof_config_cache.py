"""The remembered proof-configuration hashes of both suites: never a stale or a shared answer.

Bulk signing re-uses the SHA-256 of the canonical proof configuration (options + the document's
`@context`) across the credentials of a run. Each test signs with the cache warm and compares
with what the specification's steps give from scratch (`proof_configuration` then `hashing`).
"""

from __future__ import annotations

import copy
import hashlib
from types import ModuleType
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from rpl import bench, multikey
from rpl.proofs import eddsa_jcs_2022, eddsa_rdfc_2022
from rpl.proofs.dataintegrity import ProofError, ProofOptions, proof_options_map

KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
PUBLIC = KEY.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
DID = multikey.did_key(PUBLIC)
METHOD = f"{DID}#{DID.removeprefix('did:key:')}"
SUITES = (eddsa_jcs_2022, eddsa_rdfc_2022)


def options(suite: ModuleType, created: str = "2025-06-01T09:30:00Z") -> dict[str, Any]:
    return proof_options_map(ProofOptions(METHOD, created=created), suite.CRYPTOSUITE)


def from_scratch(suite: ModuleType, document: dict[str, Any], opts: dict[str, Any]) -> bytes:
    """The §3.x.4 hash data by the specification's steps alone, no cache involved."""
    if suite is eddsa_jcs_2022:
        config = eddsa_jcs_2022.proof_configuration({**opts, "@context": document["@context"]})
        return eddsa_jcs_2022.hashing(eddsa_jcs_2022.transformation(document, opts), config)
    config_text = eddsa_rdfc_2022.proof_configuration(document, opts)
    return eddsa_rdfc_2022.hashing(eddsa_rdfc_2022.transformation(document, opts), config_text)


@pytest.mark.parametrize("suite", SUITES, ids=lambda s: s.CRYPTOSUITE)
def test_warm_cache_signs_what_the_steps_give_from_scratch(suite: ModuleType) -> None:
    document = bench.realistic_credential()
    first = suite.create_proof_and_hash(document, options(suite), KEY)
    # Same second, another credential; then another second; then other contexts.
    other = {**document, "id": "https://rpl.example.org/credentials/other"}
    later = options(suite, created="2025-06-01T09:30:01Z")
    fewer = {**document, "@context": document["@context"][:2]}
    fewer["credentialSubject"] = copy.deepcopy(document["credentialSubject"])
    fewer["credentialSubject"]["achievement"]["achievementType"] = "Achievement"
    fewer["credentialSubject"]["achievement"]["alignment"][0]["targetType"] = "ESCOSkill"
    for doc, opts in ((document, options(suite)), (other, options(suite)), (other, later)):
        made = suite.create_proof_and_hash(doc, opts, KEY)
        assert made.hash_data == from_scratch(suite, doc, opts)
        assert suite.verify_proof(doc, made.proof, PUBLIC).verified
    made = suite.create_proof_and_hash(fewer, options(suite), KEY)
    assert made.hash_data == from_scratch(suite, fewer, options(suite))
    if suite is eddsa_jcs_2022:  # JCS signs the @context itself (RDFC, what it means)
        assert made.hash_data[:32] != first.hash_data[:32]
    assert KEY.public_key().verify(made.signature, made.hash_data) is None


def test_jcs_proof_shares_nothing_mutable_with_options_or_document() -> None:
    document = bench.realistic_credential()
    opts = options(eddsa_jcs_2022)
    eddsa_jcs_2022.create_proof(document, opts, KEY)  # warm
    proof = eddsa_jcs_2022.create_proof(document, opts, KEY)
    proof["@context"].append("https://example.org/tampered")
    proof["created"] = "1999-01-01T00:00:00Z"
    assert document["@context"] == bench.realistic_credential()["@context"]
    assert opts == options(eddsa_jcs_2022)
    again = eddsa_jcs_2022.create_proof(document, opts, KEY)
    assert again["@context"] == document["@context"] and again["created"] == opts["created"]
    assert eddsa_jcs_2022.verify_proof(document, again, PUBLIC).verified


@pytest.mark.parametrize("suite", SUITES, ids=lambda s: s.CRYPTOSUITE)
def test_a_configuration_the_cache_does_not_hold_is_still_checked(suite: ModuleType) -> None:
    document = bench.realistic_credential()
    suite.create_proof(document, options(suite), KEY)  # warm with the valid configuration
    with pytest.raises(ProofError):  # not a dateTime: refused, never answered from the cache
        suite.create_proof(document, options(suite, created="yesterday"), KEY)
    with pytest.raises(ProofError):  # another suite's options
        suite.create_proof(document, {**options(suite), "cryptosuite": "other-2022"}, KEY)


def test_jcs_configuration_with_other_than_strings_is_canonicalized_every_time() -> None:
    document = bench.realistic_credential()
    # A list of non-strings and a nested object: exact, but not what the cache keys on.
    opts = {**options(eddsa_jcs_2022), "previousProof": ["urn:a", "urn:b"], "x": {"n": 1}}
    expected = hashlib.sha256(
        eddsa_jcs_2022.proof_configuration({**opts, "@context": document["@context"]})
    ).digest()
    made = eddsa_jcs_2022.create_proof_and_hash(document, opts, KEY)
    assert made.hash_data[:32] == expected
    assert made.proof["x"] == {"n": 1} and made.proof["x"] is not opts["x"]
