"""Verifying credentials: a real signed OB 3.0 credential passes; every rule has its failing case.

Each credential here is built from a confirmed claim, signed with a fresh Ed25519 key and checked
against a DID document served by a `DidResolver` fake (its `local` lookup). A failing case asserts
that the credential is not verified, which check failed, and that the check says why in words.
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from rpl import multikey
from rpl.credentials import IssuerProfile, build_achievement_credential
from rpl.dids import DidResolutionError, DidResolver, did_document
from rpl.proofs.dataintegrity import ProofOptions, add_proof, encode_proof_value
from rpl.verify import VerificationResult, verify_credential
from tests.factories import NOW, confirmed_claim

RDFC, JCS = "eddsa-rdfc-2022", "eddsa-jcs-2022"
SUITES = (RDFC, JCS)
CHECKED_AT = NOW + timedelta(days=1)
CREATED = "2024-05-01T12:00:00Z"
ISSUER_DID = "did:web:issuer.example:orgs:a"
ISSUER_VM = f"{ISSUER_DID}#key-1"
EVERY_CHECK = ["structure", "contexts", "schema", "proof", "issuer", "validity"]


def raw_public(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


# Fresh keys for this test module; nothing depends on their value.
ISSUER_KEY = Ed25519PrivateKey.generate()
STRANGER_KEY = Ed25519PrivateKey.generate()
STRANGER_DID = multikey.did_key(raw_public(STRANGER_KEY))
STRANGER_VM = f"{STRANGER_DID}#{STRANGER_DID.removeprefix('did:key:')}"


# --- a small world: a confirmed claim, its credential, a DID document ----------------------------


def unsigned(issuer_did: str = ISSUER_DID, now: datetime = NOW, **extra: Any) -> dict[str, Any]:
    issuer = IssuerProfile(did=issuer_did, name="Organisation A", url="https://a.example")
    document = build_achievement_credential(
        confirmed_claim(),
        issuer,
        "https://issuer.example/credentials/1",
        "urn:uuid:5f1e7c2a-8a6c-4d0b-9a57-0d5c3f1a2b3c",
        "c2FsdA",
        now,
    )
    return {**document, **extra}


def sign(
    document: dict[str, Any],
    suite: str = JCS,
    key: Ed25519PrivateKey = ISSUER_KEY,
    vm: str = ISSUER_VM,
    **options: Any,
) -> dict[str, Any]:
    return add_proof(document, ProofOptions(vm, created=CREATED, **options), key, suite)


@functools.cache
def signed(suite: str) -> dict[str, Any]:
    """The module's reference credential; copy it before changing anything."""
    return sign(unsigned(), suite)


def issuer_document(**keys: bytes) -> dict[str, Any]:
    return did_document(ISSUER_DID, keys or {"key-1": raw_public(ISSUER_KEY)})


def resolver(*documents: dict[str, Any]) -> DidResolver:
    """A resolver that holds `documents` (the issuer's, by default) and never fetches."""
    held = {doc["id"]: doc for doc in documents or (issuer_document(),)}
    return DidResolver(local=held.get)


def verify(
    source: str | bytes | dict[str, Any], with_resolver: DidResolver | None = None
) -> VerificationResult:
    return verify_credential(source, with_resolver or resolver(), CHECKED_AT)


def failed(result: VerificationResult) -> dict[str, str]:
    """The failing checks, name → detail."""
    return {check.name: check.detail for check in result.checks if not check.passed}


def check_names(result: VerificationResult) -> list[str]:
    return [check.name for check in result.checks]


# --- credentials that verify ---------------------------------------------------------------------


@pytest.mark.parametrize("suite", SUITES)
def test_a_credential_signed_by_its_issuer_verifies(suite: str):
    result = verify(signed(suite))

    assert result.verified is True
    assert check_names(result) == EVERY_CHECK
    assert result.errors == ()
    assert result.credential == signed(suite)
    assert f"{suite} by {ISSUER_VM}: signature valid" in result.to_json()["checks"][3]["detail"]


@pytest.mark.parametrize("suite", SUITES)
def test_a_credential_read_from_json_text_verifies_and_says_the_json_was_checked(suite: str):
    result = verify(json.dumps(signed(suite), indent=2).encode())

    assert result.verified is True
    assert check_names(result) == ["json", *EVERY_CHECK]


def test_a_credential_issued_by_a_did_key_verifies_without_any_document_held():
    issuer_did = multikey.did_key(raw_public(STRANGER_KEY))
    document = sign(unsigned(issuer_did), JCS, key=STRANGER_KEY, vm=STRANGER_VM)

    result = verify(document, DidResolver())

    assert result.verified is True
    assert f"signed with a key of the issuer {issuer_did}" in [c.detail for c in result.checks]


def test_verification_does_not_change_the_credential():
    document = copy.deepcopy(signed(JCS))
    verify(document)
    assert document == signed(JCS)


def test_a_credential_is_valid_from_the_very_moment_of_validfrom():
    result = verify_credential(signed(JCS), resolver(), NOW)
    assert result.verified is True


# --- tampering -----------------------------------------------------------------------------------


@pytest.mark.parametrize("suite", SUITES)
def test_a_changed_subject_field_is_not_verified(suite: str):
    document = copy.deepcopy(signed(suite))
    document["credentialSubject"]["role"] = "Chief Executive"

    result = verify(document)

    assert result.verified is False
    assert list(failed(result)) == ["proof"]
    assert "the signature does not match the document" in failed(result)["proof"]
    assert ISSUER_VM in failed(result)["proof"]


@pytest.mark.parametrize("suite", SUITES)
def test_a_changed_proof_creation_time_is_not_verified(suite: str):
    document = copy.deepcopy(signed(suite))
    document["proof"]["created"] = "2024-05-01T12:00:01Z"

    result = verify(document)

    assert result.verified is False
    assert list(failed(result)) == ["proof"]
    assert "the signature does not match the document" in failed(result)["proof"]


@pytest.mark.parametrize("suite", SUITES)
def test_a_proof_value_replaced_by_another_signature_is_not_verified(suite: str):
    document = copy.deepcopy(signed(suite))
    document["proof"]["proofValue"] = encode_proof_value(ISSUER_KEY.sign(b"something else"))

    result = verify(document)

    assert result.verified is False
    assert list(failed(result)) == ["proof"]
    assert "the signature does not match the document" in failed(result)["proof"]


def test_a_proof_value_that_is_not_a_signature_is_not_verified():
    document = copy.deepcopy(signed(JCS))
    document["proof"]["proofValue"] = document["proof"]["proofValue"][:-5]

    result = verify(document)

    assert result.verified is False
    assert "an Ed25519 signature is 64" in failed(result)["proof"]


def test_a_json_text_with_a_duplicate_key_is_refused_before_anything_else():
    text = json.dumps(signed(JCS))
    # Two readers could disagree on which `id` this object has; a verifier must not pick one.
    text = text.replace('"achievement": {', '"achievement": {"extra": {"id": 1, "id": 2}, ', 1)

    result = verify(text)

    assert result.verified is False
    assert check_names(result) == ["json"]
    assert failed(result)["json"] == (
        "duplicate key 'id' in the JSON object at $.credentialSubject.achievement.extra"
    )
    assert result.credential is None


def test_a_second_value_for_a_signed_field_is_refused_as_a_duplicate_key():
    text = json.dumps(signed(JCS))
    text = text.replace('"role": "Registered Nurse"', '"role": "Registered Nurse", "role": "CEO"')

    result = verify(text)

    assert result.verified is False
    assert "duplicate key 'role'" in failed(result)["json"]


# --- keys and issuers ----------------------------------------------------------------------------


def test_a_credential_signed_by_a_key_the_issuer_does_not_list_is_not_verified():
    # The issuer's DID document names a different key under the same id.
    held = issuer_document(**{"key-1": raw_public(STRANGER_KEY)})

    result = verify(signed(JCS), resolver(held))

    assert result.verified is False
    assert "the signature does not match the document and the key of" in failed(result)["proof"]


def test_a_credential_signed_by_a_key_of_another_did_is_not_verified():
    # A valid signature, but by a did:key the issuer (a did:web) does not control.
    document = sign(unsigned(), JCS, key=STRANGER_KEY, vm=STRANGER_VM)

    result = verify(document)

    assert result.verified is False
    assert list(failed(result)) == ["issuer"]
    assert failed(result)["issuer"] == (
        f"key {STRANGER_VM} is controlled by {STRANGER_DID!r}, not by the issuer {ISSUER_DID!r}"
    )
    assert "signature valid" in {c.name: c.detail for c in result.checks}["proof"]


def test_a_key_in_the_issuers_document_controlled_by_someone_else_is_not_verified():
    held = issuer_document()
    held["verificationMethod"][0]["controller"] = "did:web:someone-else.example"

    result = verify(signed(JCS), resolver(held))

    assert result.verified is False
    assert list(failed(result)) == ["issuer"]
    assert "is controlled by 'did:web:someone-else.example'" in failed(result)["issuer"]


def test_a_key_that_is_not_an_assertion_method_of_the_issuer_is_not_verified():
    held = issuer_document()
    held["assertionMethod"] = []
    held["authentication"] = [ISSUER_VM]

    result = verify(signed(JCS), resolver(held))

    assert result.verified is False
    assert list(failed(result)) == ["issuer"]
    assert failed(result)["issuer"] == (
        f"{ISSUER_DID} does not list {ISSUER_VM} as an assertion method"
    )


def test_a_key_its_issuer_marked_compromised_is_named_as_such():
    held = did_document(
        ISSUER_DID, {"key-1": raw_public(ISSUER_KEY)}, revoked={"key-1": "2024-05-01T13:00:00Z"}
    )
    assert held["assertionMethod"] == [] and held["verificationMethod"][0]["revoked"]

    result = verify(signed(JCS), resolver(held))

    assert result.verified is False
    assert failed(result) == {
        "issuer": f"signed with key {ISSUER_VM}, which the issuer marked compromised on "
        "2024-05-01T13:00:00Z"
    }


def test_a_key_listed_as_revoked_fails_even_if_still_an_assertion_method():
    held = issuer_document()
    held["verificationMethod"][0]["revoked"] = "2024-05-01T13:00:00Z"

    result = verify(signed(JCS), resolver(held))

    assert list(failed(result)) == ["issuer"]
    assert "marked compromised on 2024-05-01T13:00:00Z" in failed(result)["issuer"]


def test_a_proof_made_for_authentication_does_not_issue_a_credential():
    document = sign(unsigned(), JCS, proof_purpose="authentication")

    result = verify(document)

    assert result.verified is False
    assert (
        "proof purpose is 'authentication', expected 'assertionMethod'" in failed(result)["proof"]
    )


def test_a_second_proof_by_a_stranger_makes_the_credential_unverified():
    document = sign(signed(JCS), JCS, key=STRANGER_KEY, vm=STRANGER_VM)

    result = verify(document)

    assert result.verified is False
    assert [c.passed for c in result.checks if c.name == "proof"] == [True, True]
    assert "not by the issuer" in failed(result)["issuer"]


def test_a_credential_from_an_unknown_did_method_is_not_verified():
    document = sign(unsigned("did:example:123"), JCS, vm="did:example:123#key-1")

    result = verify(document)

    assert result.verified is False
    assert "unsupported DID method in 'did:example:123'" in failed(result)["proof"]
    assert "issuer" not in check_names(result)


def test_a_did_web_that_is_not_held_and_cannot_be_fetched_is_not_verified():
    document = sign(unsigned("did:web:elsewhere.example"), JCS, vm="did:web:elsewhere.example#k")

    result = verify(document)

    assert result.verified is False
    assert (
        "'did:web:elsewhere.example' is not held here and fetching is off"
        in (failed(result)["proof"])
    )


def unreachable(error: Exception) -> Callable[[str], dict[str, Any]]:
    def fetch(did: str) -> dict[str, Any]:
        raise error

    return fetch


def test_a_did_web_whose_fetch_fails_is_not_verified():
    fetch = unreachable(DidResolutionError("could not fetch: 404 Not Found"))
    document = sign(unsigned("did:web:elsewhere.example"), JCS, vm="did:web:elsewhere.example#k")

    result = verify(document, DidResolver(fetch_did_web=fetch))

    assert result.verified is False
    assert "could not fetch: 404 Not Found" in failed(result)["proof"]


def test_a_resolver_that_breaks_unexpectedly_does_not_break_the_verifier():
    fetch = unreachable(TimeoutError("the network is down"))
    document = sign(unsigned("did:web:elsewhere.example"), JCS, vm="did:web:elsewhere.example#k")

    result = verify(document, DidResolver(fetch_did_web=fetch))

    assert result.verified is False
    assert "the network is down" in " ".join(result.errors)


# --- validity, status, proof, contexts, schema ---------------------------------------------------


def test_an_expired_credential_is_not_verified():
    document = sign(unsigned(validUntil="2024-05-01T18:00:00Z"))

    result = verify(document)

    assert result.verified is False
    assert failed(result) == {"validity": "expired on 2024-05-01T18:00:00Z"}


def test_a_credential_not_yet_valid_is_not_verified():
    document = sign(unsigned(now=NOW + timedelta(days=30)))

    result = verify(document)

    assert result.verified is False
    assert failed(result) == {"validity": "not valid before 2024-05-31T12:00:00Z"}


def test_a_credential_with_a_status_entry_is_not_verified_until_its_status_is_checked():
    status = {
        "id": "https://issuer.example/status/1#94567",
        "type": "BitstringStatusListEntry",
        "statusPurpose": "revocation",
        "statusListIndex": "94567",
        "statusListCredential": "https://issuer.example/status/1",
    }
    document = sign(unsigned(credentialStatus=status), RDFC)

    result = verify(document)

    assert result.verified is False
    assert list(failed(result)) == ["status"]
    assert "cannot say it is not revoked" in failed(result)["status"]


@pytest.mark.parametrize("proof", [None, [], {}], ids=["absent", "empty list", "empty object"])
def test_a_credential_without_a_proof_is_not_verified(proof: Any):
    document = unsigned() if proof is None else {**unsigned(), "proof": proof}

    result = verify(document)

    assert result.verified is False
    assert failed(result)["proof"] == "the credential carries no proof"
    assert "issuer" not in check_names(result)


def test_a_credential_with_an_unknown_context_is_not_verified_and_nothing_is_fetched():
    document = copy.deepcopy(signed(JCS))
    document["@context"].append("https://contexts.example/unknown/v1")

    result = verify(document)

    assert result.verified is False
    assert check_names(result) == ["structure", "contexts"]
    assert failed(result) == {
        "contexts": "unknown context(s), not fetched: https://contexts.example/unknown/v1"
    }


def test_a_credential_that_does_not_start_with_the_vc2_context_is_not_verified():
    document = copy.deepcopy(signed(JCS))
    document["@context"][0] = "https://www.w3.org/2018/credentials/v1"

    result = verify(document)

    assert failed(result) == {"contexts": "the first @context must be the VC 2.0 context"}


def test_a_signed_credential_that_breaks_the_ob3_schema_is_not_verified():
    document = unsigned()
    del document["credentialSubject"]["achievement"]["name"]

    result = verify(sign(document))

    assert result.verified is False
    assert failed(result) == {
        "schema": "$.credentialSubject.achievement.name: is required but missing"
    }


DELETE = object()
NOT_CREDENTIALS = {
    "not a VC": ("type", ["OpenBadgeCredential"], "type must include VerifiableCredential"),
    "no issuer": ("issuer", {"name": "Nobody"}, "the credential names no issuer"),
    "no subject": ("credentialSubject", DELETE, "the credential has no credentialSubject"),
}


@pytest.mark.parametrize(
    ("field", "value", "detail"), NOT_CREDENTIALS.values(), ids=NOT_CREDENTIALS
)
def test_a_document_that_is_not_a_credential_is_not_verified(field: str, value: Any, detail: str):
    document = copy.deepcopy(signed(JCS))
    if value is DELETE:
        del document[field]
    else:
        document[field] = value

    result = verify(document)

    assert result.verified is False
    assert check_names(result) == ["structure"]
    assert failed(result) == {"structure": detail}


# --- garbage never raises ------------------------------------------------------------------------

GARBAGE = {
    "empty string": "",
    "empty bytes": b"",
    "empty list": "[]",
    "null": "null",
    "a number": "42",
    "a string": '"a credential"',
    "NaN": "NaN",
    "cut short": '{"@context": [',
    "not UTF-8": b"\xff\xfe{}",
    "deeply nested lists": "[" * 100_000 + "]" * 100_000,
    "deeply nested objects": '{"a":' * 50_000 + "1" + "}" * 50_000,
    "empty object": "{}",
}


@pytest.mark.parametrize("source", GARBAGE.values(), ids=GARBAGE.keys())
def test_garbage_is_not_verified_and_never_raises(source: str | bytes):
    result = verify(source)

    assert result.verified is False
    assert result.errors, "a refusal says why"


JUNK_DOCUMENTS = {
    "proof is text": {"proof": "junk"},
    "proof is a list of junk": {"proof": [1, None, "x", []]},
    "proof fields of the wrong type": {
        "proof": {"type": 1, "cryptosuite": [], "verificationMethod": {}, "proofValue": 5}
    },
    "verification method without fragment": {
        "proof": {**signed(JCS)["proof"], "verificationMethod": ISSUER_DID}
    },
    "unknown cryptosuite": {"proof": {**signed(JCS)["proof"], "cryptosuite": "rsa-2048"}},
    "issuer is a number": {"issuer": 7},
    "context is an object": {"@context": {"@vocab": "https://example.org/"}},
    "validity dates are junk": {"validFrom": "yesterday", "validUntil": 12},
    "subject is a list of numbers": {"credentialSubject": [1, 2, 3]},
}


@pytest.mark.parametrize("change", JUNK_DOCUMENTS.values(), ids=JUNK_DOCUMENTS.keys())
def test_a_credential_with_junk_fields_is_not_verified_and_never_raises(change: dict[str, Any]):
    result = verify({**signed(JCS), **change})

    assert result.verified is False
    assert result.errors
    assert "internal" not in check_names(result), result.errors


def test_an_object_among_the_types_is_refused_by_a_named_check():
    document = {**signed(JCS), "type": ["VerifiableCredential", "OpenBadgeCredential", {}]}

    result = verify(document)

    assert result.verified is False
    assert "internal" not in check_names(result), result.errors


@pytest.mark.parametrize("source", [[], 42, None], ids=["list", "int", "None"])
def test_a_parsed_json_value_that_is_not_an_object_is_refused_not_raised(source: Any):
    result = verify(source)
    assert result.verified is False


# --- properties ----------------------------------------------------------------------------------


def string_leaves(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(node, str):
        return [path]
    if isinstance(node, dict):
        items: Any = node.items()
    elif isinstance(node, list):
        items = enumerate(node)
    else:
        return []
    return [leaf for key, value in items for leaf in string_leaves(value, (*path, key))]


def replace_at(document: Any, path: tuple[Any, ...], value: Any) -> Any:
    changed = copy.deepcopy(document)
    parent = changed
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = value
    return changed


def value_at(document: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        document = document[key]
    return document


@st.composite
def one_character_changed(draw: st.DrawFn, suite: str) -> dict[str, Any]:
    document = signed(suite)
    path = draw(st.sampled_from(string_leaves(document)))
    text = value_at(document, path)
    position = draw(st.integers(0, max(len(text) - 1, 0)))
    character = draw(st.characters(codec="utf-8"))
    assume(text[position : position + 1] != character)
    return replace_at(document, path, text[:position] + character + text[position + 1 :])


@pytest.mark.parametrize("suite", SUITES)
@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_no_single_character_change_in_a_signed_credential_verifies(
    suite: str, data: st.DataObject
):
    document = data.draw(one_character_changed(suite))

    result = verify(document)

    assert result.verified is False
    assert result.errors


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=20,
)


@settings(max_examples=60, deadline=None)
@given(value=JSON)
def test_arbitrary_json_never_raises_and_never_verifies(value: Any):
    result = verify(json.dumps(value))

    assert result.verified is False
    if isinstance(value, dict):
        assert verify(value).verified is False


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), value=JSON)
def test_arbitrary_json_grafted_into_a_signed_credential_never_raises(
    data: st.DataObject, value: Any
):
    # eddsa-jcs-2022 signs the JSON itself, so any other value breaks it. eddsa-rdfc-2022 signs the
    # RDF, so a JSON change with the same meaning (`"type": "Profile"` for `["Profile"]`) verifies.
    document = signed(JCS)
    paths = [(key,) for key in document] + string_leaves(document)
    path = data.draw(st.sampled_from(paths))
    assume(value_at(document, path) != value)

    result = verify(replace_at(document, path, value))

    assert result.verified is False
