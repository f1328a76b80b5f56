"""Known-answer tests: the W3C vc-di-eddsa test vectors, reproduced byte for byte, step by step.

Every intermediate value the vectors publish is checked against the step function of the
specification that produces it, so a mismatch points at the step that broke.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from rpl import multikey
from rpl.proofs import eddsa_jcs_2022, eddsa_rdfc_2022, rdfc
from rpl.proofs.dataintegrity import (
    ProofOptions,
    add_proof,
    encode_proof_value,
    proof_options_map,
    verify_proof,
)

# A copy of the W3C vc-di-eddsa test vectors (see tests/vectors/README.md).
VECTORS = Path(__file__).parents[1] / "vectors" / "w3c-vc-di-eddsa" / "TestVectors"
KEY_PAIR = json.loads((VECTORS / "keyPair.json").read_text())
SIGNING_KEY = Ed25519PrivateKey.from_private_bytes(
    multikey.decode_secret_key(KEY_PAIR["privateKeyMultibase"])
)
PUBLIC = KEY_PAIR["publicKeyMultibase"]
VERIFICATION_METHOD = f"did:key:{PUBLIC}#{PUBLIC}"
CREATED = "2023-02-24T23:36:38Z"


def text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def load(path: Path) -> Any:
    return json.loads(text(path))


@dataclass(frozen=True)
class Vector:
    """One folder of vectors: the unsigned input, the suite, and the file-name suffix used."""

    folder: Path
    suffix: str
    unsigned: Path
    suite: ModuleType

    def file(self, stem: str, extension: str = "txt") -> Path:
        return self.folder / f"{stem}{self.suffix}.{extension}"

    def options(self) -> dict[str, Any]:
        options = ProofOptions(verification_method=VERIFICATION_METHOD, created=CREATED)
        return proof_options_map(options, self.suite.CRYPTOSUITE)

    def transformed_document(self) -> str | bytes:
        """The suite's own type: N-Quads text for RDFC, JCS bytes for JCS."""
        transformed: str | bytes = self.suite.transformation(load(self.unsigned), self.options())
        return transformed

    def proof_configuration(self) -> str | bytes:
        document = load(self.unsigned)
        if self.suite is eddsa_jcs_2022:
            # §3.3.1 step 2: the JCS proof carries the document's @context into its configuration
            return eddsa_jcs_2022.proof_configuration(
                {**self.options(), "@context": document["@context"]}
            )
        configuration: str = eddsa_rdfc_2022.proof_configuration(document, self.options())
        return configuration

    def hash_data(self) -> bytes:
        data: bytes = self.suite.hashing(self.transformed_document(), self.proof_configuration())
        return data


def as_text(value: str | bytes) -> str:
    return value if isinstance(value, str) else value.decode("utf-8")


VECTOR_SETS = {
    "eddsa-rdfc-2022": Vector(
        VECTORS / "eddsa-rdfc-2022", "DataInt", VECTORS / "unsigned.json", eddsa_rdfc_2022
    ),
    "eddsa-rdfc-2022/employ": Vector(
        VECTORS / "eddsa-rdfc-2022" / "employ",
        "DataInt",
        VECTORS / "employmentAuth.json",
        eddsa_rdfc_2022,
    ),
    "eddsa-jcs-2022": Vector(
        VECTORS / "eddsa-jcs-2022", "JCS", VECTORS / "unsigned.json", eddsa_jcs_2022
    ),
}


@pytest.fixture(params=list(VECTOR_SETS), ids=list(VECTOR_SETS))
def vector(request: pytest.FixtureRequest) -> Vector:
    return VECTOR_SETS[request.param]


def test_transformation_gives_the_canonical_document(vector: Vector) -> None:
    assert as_text(vector.transformed_document()) == text(vector.file("canonDoc"))


def test_canonical_document_hashes_to_the_document_hash(vector: Vector) -> None:
    digest = hashlib.sha256(as_text(vector.transformed_document()).encode("utf-8")).hexdigest()
    assert digest == text(vector.file("docHash"))


def test_proof_options_with_context_are_the_proof_configuration(vector: Vector) -> None:
    document = load(vector.unsigned)
    expected = load(vector.file("proofConfig", "json"))
    configuration = {**vector.options(), "@context": document["@context"]}
    assert list(configuration.items()) == list(expected.items())


def test_proof_configuration_gives_the_canonical_proof_configuration(vector: Vector) -> None:
    assert as_text(vector.proof_configuration()) == text(vector.file("proofCanon"))


def test_canonical_proof_configuration_hashes_to_the_proof_hash(vector: Vector) -> None:
    digest = hashlib.sha256(as_text(vector.proof_configuration()).encode("utf-8")).hexdigest()
    assert digest == text(vector.file("proofHash"))


def test_hashing_gives_proof_hash_then_document_hash(vector: Vector) -> None:
    hash_data = vector.hash_data()
    assert hash_data.hex() == text(vector.file("combinedHash"))
    assert hash_data.hex() == text(vector.file("proofHash")) + text(vector.file("docHash"))


def test_proof_serialization_gives_the_signature(vector: Vector) -> None:
    signature = vector.suite.proof_serialization(vector.hash_data(), SIGNING_KEY)
    assert signature.hex() == text(vector.file("sigHex"))


def test_signature_encodes_to_the_proof_value(vector: Vector) -> None:
    signature = bytes.fromhex(text(vector.file("sigHex")))
    assert encode_proof_value(signature) == text(vector.file("sigBTC58"))


def test_proof_verification_accepts_the_published_signature(vector: Vector) -> None:
    signature = bytes.fromhex(text(vector.file("sigHex")))
    public_key = multikey.decode_public_key(PUBLIC)
    assert vector.suite.proof_verification(vector.hash_data(), signature, public_key)


def test_add_proof_reproduces_the_signed_document_byte_for_byte(vector: Vector) -> None:
    options = ProofOptions(verification_method=VERIFICATION_METHOD, created=CREATED)
    signed = add_proof(load(vector.unsigned), options, SIGNING_KEY, vector.suite.CRYPTOSUITE)
    assert signed == load(vector.file("signed", "json"))
    assert json.dumps(signed, indent=2) == text(vector.file("signed", "json"))


def test_published_signed_document_verifies(vector: Vector) -> None:
    checks = verify_proof(load(vector.file("signed", "json")), multikey.public_key_from_did_key_url)
    assert checks.verified, checks.errors
    [check] = checks
    assert check.cryptosuite == vector.suite.CRYPTOSUITE
    assert check.verification_method == VERIFICATION_METHOD
    assert check.proof_purpose == "assertionMethod"


def test_suite_verify_proof_returns_the_unsecured_document(vector: Vector) -> None:
    signed = load(vector.file("signed", "json"))
    proof = signed.pop("proof")
    result = vector.suite.verify_proof(signed, proof, multikey.decode_public_key(PUBLIC))
    assert result.verified
    assert result.verified_document == load(vector.unsigned)


# --- proof sets and chains (VC-DI §2.1.1, §2.1.2, §4.3, §4.5) ------------------------------------

CHAIN = VECTORS / "proof-set-chain"
CHAIN_KEYS = {
    pair["publicKeyMultibase"]: Ed25519PrivateKey.from_private_bytes(
        multikey.decode_secret_key(pair["privateKeyMultibase"])
    )
    for pair in load(CHAIN / "multiKeyPairs.json").values()
}
# each step: the proof configuration added, and the signed document it must produce
CHAIN_STEPS = [
    ("proofSetConfig1.json", "signedProofSet1.json"),
    ("proofSetConfig2.json", "signedProofSet2.json"),
    ("proofChainConfig1.json", "signedProofChain1.json"),
    ("proofChainConfig2.json", "signedProofChain2.json"),
]


def options_from(configuration: dict[str, Any]) -> ProofOptions:
    previous = configuration.get("previousProof")
    return ProofOptions(
        verification_method=configuration["verificationMethod"],
        created=configuration["created"],
        proof_purpose=configuration["proofPurpose"],
        id=configuration.get("id"),
        previous_proof=tuple(previous) if isinstance(previous, list) else previous,
    )


def signing_key_for(configuration: dict[str, Any]) -> Ed25519PrivateKey:
    return CHAIN_KEYS[configuration["verificationMethod"].split("#")[1]]


def test_proof_set_then_chain_is_reproduced_byte_for_byte() -> None:
    document = load(CHAIN / "unsigned.json")
    for configuration_file, signed_file in CHAIN_STEPS:
        configuration = load(CHAIN / configuration_file)
        document = add_proof(document, options_from(configuration), signing_key_for(configuration))
        assert json.dumps(document, indent=2) == text(CHAIN / signed_file), signed_file


@pytest.mark.parametrize("number", [1, 2])
def test_chained_proof_signs_the_document_with_its_previous_proofs(number: int) -> None:
    configuration = load(CHAIN / f"proofChainConfig{number}.json")
    temporary_document = load(CHAIN / f"proofChainTempDoc{number}.json")
    proof = eddsa_rdfc_2022.create_proof(
        temporary_document, configuration, signing_key_for(configuration)
    )
    assert proof == load(CHAIN / f"proofChainConfigSigned{number}.json")


@pytest.mark.parametrize("signed_file", [signed for _, signed in CHAIN_STEPS])
def test_published_proof_sets_and_chains_verify(signed_file: str) -> None:
    document = load(CHAIN / signed_file)
    proofs = document["proof"] if isinstance(document["proof"], list) else [document["proof"]]
    checks = verify_proof(document, multikey.public_key_from_did_key_url)
    assert checks.verified, checks.errors
    assert [check.verification_method for check in checks] == [
        proof["verificationMethod"] for proof in proofs
    ]


def test_chained_proof_fails_when_a_previous_proof_it_signed_is_altered() -> None:
    document = load(CHAIN / "signedProofChain1.json")
    document["proof"][0]["created"] = "2023-02-24T23:36:39Z"
    checks = verify_proof(document, multikey.public_key_from_did_key_url)
    assert [check.verified for check in checks] == [False, True, False]


def test_chained_proof_fails_when_its_previous_proof_is_missing() -> None:
    document = load(CHAIN / "signedProofChain2.json")
    del document["proof"][2]
    checks = verify_proof(document, multikey.public_key_from_did_key_url)
    assert not checks.verified
    assert (
        "proof 3: previousProof 'urn:uuid:d94f792a-c546-4d06-b38a-da070ab56c23' names no "
        "proof in this document" in checks.errors
    )


# --- Ed25519Signature2020: the legacy suite's canonical forms (the suite itself is not built) ---

LEGACY = VECTORS / "Ed25519Signature2020"


def test_ed25519_signature_2020_canonical_forms_hashes_and_signature() -> None:
    """Exercises the bundled ed25519-2020 context through RDFC-1.0; rpl does not sign with
    Ed25519Signature2020, but its canonical forms must still come out right."""
    signed = load(LEGACY / "signedEdSig.json")
    del signed["proof"]
    canonical_document = rdfc.canonicalize(signed)
    canonical_proof = rdfc.canonicalize(load(LEGACY / "proofConfigEdSig.json"))
    assert canonical_document == text(LEGACY / "canonDocEdSig.txt")
    assert canonical_proof == text(LEGACY / "proofCanonEdSig.txt")
    hash_data = eddsa_rdfc_2022.hashing(canonical_document, canonical_proof)
    assert hash_data.hex() == text(LEGACY / "combinedHashEdSig.txt")
    assert SIGNING_KEY.sign(hash_data).hex() == text(LEGACY / "sigHexEdSig.txt")
