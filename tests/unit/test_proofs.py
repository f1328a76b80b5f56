"""Adding and verifying Data Integrity proofs: round trips, and every way a proof must fail.

Verification never raises for a bad document; each failing case asserts both that the document
is not verified and that the error says why in words a person can act on.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rpl import multikey
from rpl.errors import RplError
from rpl.jsonio import DuplicateKeyError, loads_strict
from rpl.proofs import eddsa_jcs_2022, eddsa_rdfc_2022, jcs, rdfc
from rpl.proofs.dataintegrity import (
    CanonicalizationError,
    ProofChecks,
    ProofError,
    ProofOptions,
    add_proof,
    ed25519_verify,
    instantiate_cryptosuite,
    parse_datetime,
    verify_proof,
)

SUITES = ("eddsa-rdfc-2022", "eddsa-jcs-2022")
VC_V2 = "https://www.w3.org/ns/credentials/v2"
OB_CONTEXTS = [
    VC_V2,
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
    "https://purl.imsglobal.org/spec/ob/v3p0/extensions.json",
]
CREATED = "2025-06-01T09:30:00Z"


def raw_public(private: Ed25519PrivateKey) -> bytes:
    return private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


ISSUER_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
OTHER_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32, 64)))
ISSUER_DID = multikey.did_key(raw_public(ISSUER_KEY))
ISSUER_METHOD = f"{ISSUER_DID}#{ISSUER_DID.removeprefix('did:key:')}"
OPTIONS = ProofOptions(verification_method=ISSUER_METHOD, created=CREATED)


def resolve(verification_method: str) -> bytes:
    return multikey.public_key_from_did_key_url(verification_method)


def badge() -> dict[str, Any]:
    """A small Open Badges 3.0 credential: someone did warehouse work somewhere."""
    return {
        "@context": list(OB_CONTEXTS),
        "id": "urn:uuid:4f0b6a62-3c1e-4f4e-9a55-2b7f7d3c9e10",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": "Warehouse volunteer at Harbour Food Bank",
        "issuer": {"id": ISSUER_DID, "type": ["Profile"], "name": "Harbour Food Bank"},
        "validFrom": "2025-05-30T00:00:00Z",
        "credentialSubject": {
            "type": ["AchievementSubject"],
            "achievement": {
                "id": "https://rpl.example/achievements/warehouse-volunteer",
                "type": ["Achievement"],
                "name": "Warehouse volunteer",
                "description": "Sorted, stored and dispatched donated food — 120 hours.",
                "criteria": {"narrative": "Confirmed by the warehouse coordinator."},
            },
        },
    }


@pytest.fixture(params=SUITES)
def suite(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture
def signed(suite: str) -> dict[str, Any]:
    return add_proof(badge(), OPTIONS, ISSUER_KEY, cryptosuite=suite)


def assert_fails(checks: ProofChecks, *fragments: str) -> None:
    """Not verified, and each fragment appears in some error."""
    assert not checks.verified
    text = " | ".join(checks.errors)
    for fragment in fragments:
        assert fragment in text, text


# --- round trips -------------------------------------------------------------------------------


def test_signed_badge_verifies(signed: dict[str, Any], suite: str) -> None:
    checks = verify_proof(signed, resolve)
    assert checks.verified, checks.errors
    assert checks.errors == ()
    [check] = checks
    assert (check.cryptosuite, check.verification_method, check.proof_purpose) == (
        suite,
        ISSUER_METHOD,
        "assertionMethod",
    )


def test_proof_records_the_options(signed: dict[str, Any], suite: str) -> None:
    proof = signed["proof"]
    assert proof["type"] == "DataIntegrityProof"
    assert proof["cryptosuite"] == suite
    assert proof["created"] == CREATED
    assert proof["verificationMethod"] == ISSUER_METHOD
    assert proof["proofPurpose"] == "assertionMethod"
    assert proof["proofValue"].startswith("z")


def test_only_the_jcs_proof_carries_the_document_context(
    signed: dict[str, Any], suite: str
) -> None:
    assert ("@context" in signed["proof"]) == (suite == "eddsa-jcs-2022")


def test_add_proof_does_not_change_its_input(suite: str) -> None:
    document = badge()
    before = copy.deepcopy(document)
    once = add_proof(document, OPTIONS, ISSUER_KEY, cryptosuite=suite)
    snapshot = copy.deepcopy(once)
    add_proof(once, OPTIONS, OTHER_KEY, cryptosuite=suite)
    assert document == before
    assert once == snapshot


def test_returned_document_shares_nothing_with_the_input(suite: str) -> None:
    document = badge()
    signed = add_proof(document, OPTIONS, ISSUER_KEY, cryptosuite=suite)
    signed["credentialSubject"]["achievement"]["name"] = "changed"
    assert document["credentialSubject"]["achievement"]["name"] == "Warehouse volunteer"


def test_second_proof_makes_a_proof_set_that_verifies(signed: dict[str, Any], suite: str) -> None:
    other_did = multikey.did_key(raw_public(OTHER_KEY))
    other = ProofOptions(f"{other_did}#{other_did.removeprefix('did:key:')}", created=CREATED)
    both = add_proof(signed, other, OTHER_KEY, cryptosuite=suite)
    assert [proof["verificationMethod"] for proof in both["proof"]] == [
        ISSUER_METHOD,
        other.verification_method,
    ]
    checks = verify_proof(both, resolve)
    assert checks.verified, checks.errors
    assert len(checks.checks) == 2


def test_signing_and_verifying_are_deterministic(suite: str) -> None:
    first = add_proof(badge(), OPTIONS, ISSUER_KEY, cryptosuite=suite)
    assert add_proof(badge(), OPTIONS, ISSUER_KEY, cryptosuite=suite) == first


def test_cryptographys_private_key_is_a_signer() -> None:
    assert add_proof(badge(), OPTIONS, ISSUER_KEY)["proof"]["cryptosuite"] == "eddsa-rdfc-2022"


def test_rdfc_signature_survives_reordering_and_reformatting_the_json() -> None:
    signed = add_proof(badge(), OPTIONS, ISSUER_KEY)
    reordered = json.loads(json.dumps(dict(reversed(list(signed.items())))))
    assert verify_proof(reordered, resolve).verified


def test_jcs_signature_survives_reordering_the_json() -> None:
    signed = add_proof(badge(), OPTIONS, ISSUER_KEY, cryptosuite="eddsa-jcs-2022")
    reordered = dict(reversed(list(signed.items())))
    assert verify_proof(reordered, resolve).verified


# --- tampering ---------------------------------------------------------------------------------


def test_changed_field_is_not_verified(signed: dict[str, Any]) -> None:
    signed["credentialSubject"]["achievement"]["name"] = "Warehouse manager"
    assert_fails(verify_proof(signed, resolve), "signature does not match")


def test_added_field_is_not_verified(signed: dict[str, Any]) -> None:
    signed["description"] = "added after signing"
    assert_fails(verify_proof(signed, resolve), "signature does not match")


def test_removed_field_is_not_verified(signed: dict[str, Any]) -> None:
    del signed["validFrom"]
    assert_fails(verify_proof(signed, resolve), "signature does not match")


def test_changed_proof_field_is_not_verified(signed: dict[str, Any]) -> None:
    signed["proof"]["created"] = "2025-06-01T09:30:01Z"
    assert_fails(verify_proof(signed, resolve), "signature does not match")


def test_changed_proof_value_is_not_verified(signed: dict[str, Any]) -> None:
    value = signed["proof"]["proofValue"]
    signed["proof"]["proofValue"] = value[:10] + ("2" if value[10] != "2" else "3") + value[11:]
    checks = verify_proof(signed, resolve)
    assert not checks.verified
    assert checks.errors[0].startswith(("the signature does not match", "proofValue holds"))


@pytest.mark.parametrize(
    ("proof_value", "error"),
    [
        ("not multibase", "is not a base58btc multibase string"),
        ("z0OIl", "is not valid base58btc"),
        ("z3yZe", "proofValue holds 3 bytes, an Ed25519 signature is 64"),
        (12345, "the proof's 'proofValue' is not text"),
    ],
)
def test_malformed_proof_value_is_not_verified(
    signed: dict[str, Any], proof_value: Any, error: str
) -> None:
    signed["proof"]["proofValue"] = proof_value
    assert_fails(verify_proof(signed, resolve), error)


def test_signature_by_another_key_is_not_verified(suite: str) -> None:
    forged = add_proof(badge(), OPTIONS, OTHER_KEY, cryptosuite=suite)
    assert_fails(verify_proof(forged, resolve), "signature does not match", ISSUER_METHOD)


def test_key_resolved_for_another_method_is_not_verified(signed: dict[str, Any]) -> None:
    checks = verify_proof(signed, lambda method: raw_public(OTHER_KEY))
    assert_fails(checks, "signature does not match")


def test_key_resolution_failure_is_reported(signed: dict[str, Any]) -> None:
    def refuse(method: str) -> bytes:
        raise RplError(f"{method} is not trusted here")

    assert_fails(verify_proof(signed, refuse), "cannot resolve verification method", "not trusted")


def test_resolved_key_of_wrong_length_is_reported(signed: dict[str, Any]) -> None:
    assert_fails(verify_proof(signed, lambda method: b"short"), "not a 32-byte Ed25519 key")


def test_undefined_term_is_refused_when_signing_and_names_the_term() -> None:
    document = {**badge(), "favouriteColour": "green"}
    with pytest.raises(CanonicalizationError, match="'favouriteColour' is not defined") as caught:
        add_proof(document, OPTIONS, ISSUER_KEY)
    assert caught.value.term == "favouriteColour"


def test_undefined_type_is_refused_when_signing() -> None:
    document = {**badge(), "type": ["VerifiableCredential", "OpenBadgeCredential", "Medal"]}
    with pytest.raises(CanonicalizationError, match="type 'Medal' is not defined"):
        add_proof(document, OPTIONS, ISSUER_KEY)


def test_undefined_term_added_after_rdfc_signing_is_not_verified_and_named() -> None:
    signed = add_proof(badge(), OPTIONS, ISSUER_KEY)
    signed["credentialSubject"]["grade"] = "A+"
    assert_fails(verify_proof(signed, resolve), "property 'grade' is not defined")


def test_undefined_term_added_after_jcs_signing_is_not_verified() -> None:
    signed = add_proof(badge(), OPTIONS, ISSUER_KEY, cryptosuite="eddsa-jcs-2022")
    signed["credentialSubject"]["grade"] = "A+"
    assert_fails(verify_proof(signed, resolve), "signature does not match")


def test_unknown_context_is_refused_when_signing_with_rdfc() -> None:
    document = {**badge(), "@context": [*OB_CONTEXTS, "https://evil.example/context.json"]}
    with pytest.raises(CanonicalizationError, match="'https://evil.example/context.json' is not"):
        add_proof(document, OPTIONS, ISSUER_KEY)


def test_unknown_context_added_after_rdfc_signing_is_not_verified() -> None:
    signed = add_proof(badge(), OPTIONS, ISSUER_KEY)
    signed["@context"] = [*OB_CONTEXTS, "https://evil.example/context.json"]
    assert_fails(
        verify_proof(signed, resolve), "'https://evil.example/context.json' is not bundled"
    )


def test_jcs_context_replaced_after_signing_is_not_verified() -> None:
    signed = add_proof(badge(), OPTIONS, ISSUER_KEY, cryptosuite="eddsa-jcs-2022")
    signed["@context"] = [VC_V2, "https://evil.example/context.json"]
    assert_fails(verify_proof(signed, resolve), "does not start with the @context the proof signed")


def test_jcs_context_appended_after_signing_still_verifies_as_the_spec_says() -> None:
    """vc-di-eddsa §3.3.2 step 4 lets later signers of a proof set append contexts; whether the
    contexts are acceptable is the verifier's separate context check (rpl.verify)."""
    signed = add_proof(badge(), OPTIONS, ISSUER_KEY, cryptosuite="eddsa-jcs-2022")
    signed["@context"] = [*OB_CONTEXTS, "https://w3id.org/security/data-integrity/v2"]
    assert verify_proof(signed, resolve).verified


def test_duplicate_keys_cannot_smuggle_a_value_past_the_signature(signed: dict[str, Any]) -> None:
    """Python's json keeps the last duplicate, a first-wins parser the first: with the signed
    value last, `json.loads` verifies what another reader would see as "Warehouse manager"."""
    text = json.dumps(signed)
    signed_name = '"name": "Warehouse volunteer at Harbour Food Bank"'
    smuggled = text.replace(signed_name, '"name": "Warehouse manager", ' + signed_name, 1)
    assert verify_proof(json.loads(smuggled), resolve).verified  # the danger, shown
    with pytest.raises(DuplicateKeyError, match="duplicate key 'name' in the JSON object at \\$"):
        loads_strict(smuggled)


# --- proof fields checked before any cryptography (VC-DI §4.4) ---------------------------------


def test_proof_purpose_other_than_expected_is_not_verified(suite: str) -> None:
    options = ProofOptions(ISSUER_METHOD, created=CREATED, proof_purpose="authentication")
    signed = add_proof(badge(), options, ISSUER_KEY, cryptosuite=suite)
    assert_fails(
        verify_proof(signed, resolve),
        "proof purpose is 'authentication', expected 'assertionMethod'",
    )
    assert verify_proof(signed, resolve, expected_proof_purpose="authentication").verified
    assert verify_proof(signed, resolve, expected_proof_purpose=None).verified


def test_domain_and_challenge_must_match_when_expected(suite: str) -> None:
    options = ProofOptions(ISSUER_METHOD, created=CREATED, domain="rpl.example", challenge="n-1")
    signed = add_proof(badge(), options, ISSUER_KEY, cryptosuite=suite)
    assert verify_proof(signed, resolve, domain="rpl.example", challenge="n-1").verified
    assert verify_proof(signed, resolve, domain=["rpl.example"]).verified
    assert_fails(verify_proof(signed, resolve, domain="other.example"), "proof domain")
    assert_fails(verify_proof(signed, resolve, challenge="n-2"), "proof challenge 'n-1'")


def test_expired_proof_is_not_verified_at_a_later_time(suite: str) -> None:
    options = ProofOptions(ISSUER_METHOD, created=CREATED, expires="2025-07-01T00:00:00Z")
    signed = add_proof(badge(), options, ISSUER_KEY, cryptosuite=suite)
    assert verify_proof(signed, resolve, now=datetime(2025, 6, 30, tzinfo=UTC)).verified
    assert_fails(
        verify_proof(signed, resolve, now=datetime(2025, 7, 2, tzinfo=UTC)),
        "the proof expired at 2025-07-01T00:00:00Z",
    )


@pytest.mark.parametrize("created", ["yesterday", "2025-02-30T00:00:00Z", "2025-06-01 09:30:00Z"])
def test_bad_created_datetime_is_not_verified(signed: dict[str, Any], created: str) -> None:
    signed["proof"]["created"] = created
    assert_fails(verify_proof(signed, resolve), f"created {created!r} is not")


def test_bad_created_datetime_is_refused_when_signing(suite: str) -> None:
    with pytest.raises(ProofError, match="created 'soon' is not an XML Schema dateTime"):
        add_proof(badge(), ProofOptions(ISSUER_METHOD, created="soon"), ISSUER_KEY, suite)


@pytest.mark.parametrize(
    "missing", ["type", "cryptosuite", "verificationMethod", "proofPurpose", "proofValue"]
)
def test_proof_missing_a_required_field_is_not_verified(
    signed: dict[str, Any], missing: str
) -> None:
    del signed["proof"][missing]
    assert_fails(verify_proof(signed, resolve), f"the proof has no {missing!r}")


def test_unsupported_proof_type_is_not_verified(signed: dict[str, Any]) -> None:
    signed["proof"]["type"] = "Ed25519Signature2020"
    assert_fails(verify_proof(signed, resolve), "unsupported proof type 'Ed25519Signature2020'")


def test_unsupported_cryptosuite_is_not_verified(signed: dict[str, Any]) -> None:
    signed["proof"]["cryptosuite"] = "ecdsa-rdfc-2019"
    assert_fails(verify_proof(signed, resolve), "unsupported cryptosuite 'ecdsa-rdfc-2019'")


def test_swapping_the_cryptosuite_name_is_not_verified(signed: dict[str, Any], suite: str) -> None:
    signed["proof"]["cryptosuite"] = "eddsa-jcs-2022" if suite == "eddsa-rdfc-2022" else SUITES[0]
    assert not verify_proof(signed, resolve).verified


@pytest.mark.parametrize(
    ("document", "error"),
    [
        ("a string", "the document is not a JSON object"),
        ([1, 2], "the document is not a JSON object"),
        ({"@context": [VC_V2]}, "the document has no proof"),
        ({"@context": [VC_V2], "proof": []}, "the document's proof set is empty"),
        ({"@context": [VC_V2], "proof": "zabc"}, "the proof is not a JSON object"),
        ({"@context": [VC_V2], "proof": [None]}, "the proof is not a JSON object"),
    ],
)
def test_malformed_document_is_not_verified_and_nothing_raises(document: Any, error: str) -> None:
    checks = verify_proof(document, resolve)
    assert_fails(checks, error)
    assert len(checks.checks) == 1


def test_previous_proof_naming_nothing_is_not_verified(signed: dict[str, Any]) -> None:
    signed["proof"]["previousProof"] = "urn:uuid:nowhere"
    assert_fails(verify_proof(signed, resolve), "previousProof 'urn:uuid:nowhere' names no proof")


def test_previous_proof_naming_nothing_is_refused_when_signing(signed: dict[str, Any]) -> None:
    options = ProofOptions(ISSUER_METHOD, created=CREATED, previous_proof="urn:uuid:nowhere")
    with pytest.raises(ProofError, match="previousProof 'urn:uuid:nowhere' names no proof"):
        add_proof(signed, options, ISSUER_KEY)


def test_every_proof_of_a_set_is_reported_separately(signed: dict[str, Any], suite: str) -> None:
    later = ProofOptions(ISSUER_METHOD, created="2025-06-02T09:30:00Z")
    both = add_proof(signed, later, ISSUER_KEY, cryptosuite=suite)
    both["proof"][1]["proofValue"] = both["proof"][0]["proofValue"]
    checks = verify_proof(both, resolve)
    assert [check.verified for check in checks] == [True, False]
    assert checks.errors[0].startswith("proof 2: the signature does not match")


def test_an_empty_result_never_counts_as_verified() -> None:
    assert not ProofChecks(()).verified


# --- suite steps and helpers -------------------------------------------------------------------


def test_transformation_refuses_options_of_another_suite() -> None:
    options = {"type": "DataIntegrityProof", "cryptosuite": "eddsa-jcs-2022"}
    with pytest.raises(ProofError, match="PROOF_TRANSFORMATION_ERROR"):
        eddsa_rdfc_2022.transformation(badge(), options)
    with pytest.raises(ProofError, match="PROOF_GENERATION_ERROR"):
        eddsa_jcs_2022.proof_configuration({**options, "cryptosuite": "eddsa-rdfc-2022"})


def test_rdfc_needs_a_json_ld_document() -> None:
    document = {key: value for key, value in badge().items() if key != "@context"}
    with pytest.raises(ProofError, match="has no @context"):
        add_proof(document, OPTIONS, ISSUER_KEY)


def test_unknown_cryptosuite_is_refused() -> None:
    with pytest.raises(ProofError, match="unsupported cryptosuite 'eddsa-2022'"):
        instantiate_cryptosuite("eddsa-2022")


def test_signer_returning_something_else_than_a_signature_is_refused() -> None:
    class BrokenSigner:
        def sign(self, data: bytes) -> bytes:
            return data[:10]

    with pytest.raises(ProofError, match="returned 10 bytes"):
        add_proof(badge(), OPTIONS, BrokenSigner())


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2025-06-01T09:30:00Z", datetime(2025, 6, 1, 9, 30, tzinfo=UTC)),
        ("2025-06-01T11:30:00+02:00", datetime(2025, 6, 1, 9, 30, tzinfo=UTC)),
        ("2025-06-01T09:30:00.1234567Z", datetime(2025, 6, 1, 9, 30, 0, 123456, tzinfo=UTC)),
        ("2025-06-01T09:30:00", datetime(2025, 6, 1, 9, 30, tzinfo=UTC)),
    ],
)
def test_parse_datetime_reads_xml_schema_datetimes(value: str, expected: datetime) -> None:
    assert parse_datetime(value, "created") == expected


@pytest.mark.parametrize("value", ["2025-13-01T00:00:00Z", "2025-06-01T09:30Z", "2025-06-01", 7])
def test_parse_datetime_refuses_anything_else(value: Any) -> None:
    with pytest.raises(ProofError, match="created"):
        parse_datetime(value, "created")


def test_jcs_canonicalize_refuses_what_json_cannot_hold() -> None:
    for value in (float("nan"), 2**60, {1: "non-string key"}, {"set"}):
        with pytest.raises(CanonicalizationError):
            jcs.canonicalize(value)


def test_rdfc_canonical_n_quads_escape_control_characters_as_rdfc_1_0_does() -> None:
    document = {**badge(), "name": 'tab\there "quoted" back\\slash \b\f\x00\x7f'}
    nquads = rdfc.canonicalize(document)
    assert '"tab\\there \\"quoted\\" back\\\\slash \\b\\f\\u0000\\u007F"' in nquads


# --- property: any credential built from defined terms signs, verifies, and detects edits --------

_texts = st.text(max_size=12)
_iris = st.builds(lambda n: f"urn:uuid:{n:032x}", st.integers(min_value=0, max_value=2**128 - 1))
_subjects = st.fixed_dictionaries(
    {"id": st.builds(lambda n: f"did:example:{n}", st.integers(0, 10**6))},
    optional={"name": _texts, "description": _texts},
)
_credentials = st.fixed_dictionaries(
    {
        "@context": st.just([VC_V2]),
        "type": st.just(["VerifiableCredential"]),
        "issuer": st.one_of(_iris, st.fixed_dictionaries({"id": _iris}, optional={"name": _texts})),
        "credentialSubject": _subjects,
    },
    optional={
        "id": _iris,
        "name": _texts,
        "description": _texts,
        "validFrom": st.datetimes(timezones=st.just(UTC)).map(
            lambda moment: moment.strftime("%Y-%m-%dT%H:%M:%SZ")
        ),
    },
)


def string_paths(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """The path of every string value in a JSON document (proof included)."""
    if isinstance(node, str):
        yield path
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from string_paths(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from string_paths(value, (*path, index))


def with_one_character_changed(document: Any, path: tuple[Any, ...], data: st.DataObject) -> Any:
    changed = copy.deepcopy(document)
    parent = changed
    for step in path[:-1]:
        parent = parent[step]
    original: str = parent[path[-1]]
    if original:
        index = data.draw(st.integers(0, len(original) - 1), label="index")
        char = data.draw(st.characters().filter(lambda c: c != original[index]), label="char")
        parent[path[-1]] = original[:index] + char + original[index + 1 :]
    else:
        parent[path[-1]] = data.draw(st.characters(), label="char")
    return changed


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(credential=_credentials, suite=st.sampled_from(SUITES), data=st.data())
def test_signed_credentials_verify_and_any_single_character_change_fails(
    credential: dict[str, Any], suite: str, data: st.DataObject
) -> None:
    signed = add_proof(credential, OPTIONS, ISSUER_KEY, cryptosuite=suite)
    assert verify_proof(signed, resolve).verified
    path = data.draw(st.sampled_from(list(string_paths(signed))), label="path")
    changed = with_one_character_changed(signed, path, data)
    checks = verify_proof(changed, resolve)
    assert not checks.verified
    assert checks.errors


def test_blank_node_clique_is_refused_as_a_possible_poison_graph() -> None:
    """RDFC-1.0 §6: hashing a clique of identical blank nodes grows factorially; like
    rdf-canonize's default maxWorkFactor of 1, rdfc gives up instead of hanging."""
    ids = [f"_:n{number}" for number in range(6)]
    clique = {
        "@context": [VC_V2, "https://www.w3.org/ns/credentials/examples/v2"],
        "@graph": [{"@id": i, "knows": [{"@id": j} for j in ids if j != i]} for i in ids],
    }
    with pytest.raises(CanonicalizationError, match="possible poison graph"):
        rdfc.canonicalize(clique)


def test_identical_blank_nodes_of_an_ordinary_credential_canonicalize() -> None:
    evidence = {"type": ["Evidence"], "name": "same", "narrative": "same"}
    document = {**badge(), "evidence": [evidence, copy.deepcopy(evidence)]}
    assert verify_proof(add_proof(document, OPTIONS, ISSUER_KEY), resolve).verified


# --- property: verification never raises, whatever is done to a signed document ----------------

_keys = st.sampled_from(["@context", "@id", "@type", "@value", "@list", "@graph", "id", "type"])
_any_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(_keys | st.text(max_size=6), children, max_size=3)
    ),
    max_leaves=8,
)
_SIGNED = {suite: add_proof(badge(), OPTIONS, ISSUER_KEY, cryptosuite=suite) for suite in SUITES}


def every_path(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """The path of every value in a JSON document, containers included."""
    yield path
    if isinstance(node, dict | list):
        for key, value in node.items() if isinstance(node, dict) else enumerate(node):
            yield from every_path(value, (*path, key))


@settings(max_examples=150, deadline=None)
@given(suite=st.sampled_from(SUITES), data=st.data())
def test_verifying_a_mangled_document_never_raises(suite: str, data: st.DataObject) -> None:
    mangled = copy.deepcopy(_SIGNED[suite])
    path = data.draw(st.sampled_from(list(every_path(mangled))[1:]), label="path")
    parent = mangled
    for step in path[:-1]:
        parent = parent[step]
    parent[path[-1]] = data.draw(_any_json, label="replacement")
    checks = verify_proof(mangled, resolve)
    assert checks.checks
    assert checks.verified == (checks.errors == ())


# --- Ed25519 itself: libsodium verifies, OpenSSL (`cryptography`) signs -----------------------


def _openssl_verifies(public_key: bytes, signature: bytes, message: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
    except InvalidSignature:
        return False
    return True


@settings(max_examples=300, deadline=None)
@given(
    seed=st.binary(min_size=32, max_size=32),
    message=st.binary(max_size=200),
    flip=st.integers(min_value=-1, max_value=64 * 8 - 1),
    other_message=st.booleans(),
)
def test_ed25519_verify_agrees_with_openssl(
    seed: bytes, message: bytes, flip: int, other_message: bool
) -> None:
    """Whatever libsodium says about a signature (as made, or with one bit flipped, or over
    another message), OpenSSL says too: swapping the verifier changed no verdict."""
    key = Ed25519PrivateKey.from_private_bytes(seed)
    public_key = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    signature = bytearray(key.sign(message))
    if flip >= 0:
        signature[flip // 8] ^= 1 << (flip % 8)
    checked = message + b"!" if other_message else message
    expected = _openssl_verifies(public_key, bytes(signature), checked)
    assert ed25519_verify(checked, bytes(signature), public_key) is expected
    assert expected is (flip < 0 and not other_message)


def test_ed25519_verify_refuses_a_small_order_key_that_openssl_accepts() -> None:
    """The one place the two differ: the identity point as public key with the identity point
    as R and S = 0 "signs" every message (RFC 8032's cofactorless equation holds). OpenSSL
    accepts it; libsodium refuses small-order keys, so such a credential is not verified."""
    identity = bytes([1]) + bytes(31)
    forged = identity + bytes(32)
    assert _openssl_verifies(identity, forged, b"anything")
    assert ed25519_verify(b"anything", forged, identity) is False


def test_ed25519_verify_refuses_a_public_key_of_the_wrong_length() -> None:
    with pytest.raises(ProofError, match="32-byte Ed25519 key"):
        ed25519_verify(b"m", bytes(64), bytes(31))
