"""The fast canonical forms equal the reference implementations, byte for byte.

JCS: `jcs.canonicalize` (orjson behind a guard) against the `rfc8785` package. RDFC-1.0:
`rdfc_fast` (compiled JSON-LD, first-degree blank node hashing) against the general path
(`rdfc.canonicalize_reference`: pyld, safe mode, the full RDFC-1.0 algorithm). The fast paths may
decline a document (and the public functions then use the reference), never give other bytes.
"""

from __future__ import annotations

import copy
import enum
import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import rfc8785
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rpl.proofs import jcs, rdfc, rdfc_fast
from rpl.proofs.dataintegrity import CanonicalizationError

VECTORS = Path(__file__).parents[1] / "vectors" / "w3c-vc-di-eddsa" / "TestVectors"
VC_V2 = "https://www.w3.org/ns/credentials/v2"
OB_CONTEXTS = [
    VC_V2,
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
    "https://purl.imsglobal.org/spec/ob/v3p0/extensions.json",
]


def outcome(canonicalize: Any, value: Any) -> Any:
    """The canonical form, or the error message: what two implementations must agree on."""
    try:
        return canonicalize(value)
    except CanonicalizationError as err:
        return ("refused", str(err))


# --- JCS -----------------------------------------------------------------------------------------

_EVERY_CHARACTER = "".join(chr(c) for c in range(0x110000) if not 0xD800 <= c < 0xE000)


def test_every_character_is_escaped_as_rfc8785_escapes_it() -> None:
    assert jcs.canonicalize(_EVERY_CHARACTER) == rfc8785.dumps(_EVERY_CHARACTER)
    assert jcs.canonicalize({_EVERY_CHARACTER: 1}) == rfc8785.dumps({_EVERY_CHARACTER: 1})


@pytest.mark.parametrize(
    "names",
    [
        ["\ue000", "\U00010000"],  # code point order and UTF-16 order disagree
        ["\uffff", "\U0001f600", "a", "é", "\u20ac"],
        ["b", "a", "aa", "", "A", "_", "~"],
    ],
)
def test_member_names_sort_by_utf16_code_units(names: list[str]) -> None:
    document = {name: index for index, name in enumerate(names)}
    assert jcs.canonicalize(document) == rfc8785.dumps(document)


class Colour(enum.Enum):
    RED = "red"


class Size(enum.IntEnum):
    SMALL = 1


class Text(str):
    pass


@pytest.mark.parametrize(
    "value",
    [
        1.0,
        -0.0,
        1e21,
        1e-7,
        0.1,
        2**53 - 1,
        -(2**53 - 1),
        2**53,
        -(2**53),
        2**64,
        float("nan"),
        float("inf"),
        (1, "a"),
        Text("x"),
        {Text("k"): 1},
        Size.SMALL,
        Colour.RED,
        uuid.UUID(int=7),
        datetime(2024, 5, 1, tzinfo=UTC),
        {1: "a"},
        {"a": {"b": [1.5, True, None]}},
        "\ud800",
        {"\udfff": 1},
        b"bytes",
    ],
    ids=repr,
)
def test_values_the_fast_path_declines_come_out_as_the_reference_gives_them(value: Any) -> None:
    assert outcome(jcs.canonicalize, value) == outcome(jcs.canonicalize_reference, value)


def test_deep_and_cyclic_values_are_refused_like_the_reference() -> None:
    deep: Any = []
    for _ in range(2000):
        deep = [deep]
    cyclic: dict[str, Any] = {}
    cyclic["self"] = cyclic
    for value in (deep, cyclic):
        assert outcome(jcs.canonicalize, value)[0] == "refused"


_json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**60), max_value=2**60)
    | st.floats()
    | st.text()
)
_json = st.recursive(
    _json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=400, deadline=None)
@given(value=_json)
def test_jcs_equals_rfc8785_on_arbitrary_json(value: Any) -> None:
    assert outcome(jcs.canonicalize, value) == outcome(jcs.canonicalize_reference, value)


@settings(max_examples=200, deadline=None)
@given(
    names=st.lists(st.text(st.characters(min_codepoint=0xD7F0, max_codepoint=0x1F000), max_size=3))
)
def test_jcs_sorts_names_near_the_surrogate_range_like_rfc8785(names: list[str]) -> None:
    document = {name: None for name in names}
    assert outcome(jcs.canonicalize, document) == outcome(jcs.canonicalize_reference, document)


# --- RDFC-1.0: the W3C vectors through the fast path ---------------------------------------------


def _vector_documents() -> dict[str, tuple[dict[str, Any], str]]:
    def load(path: Path) -> Any:
        return json.loads(path.read_text(encoding="utf-8"))

    def text(path: Path) -> str:
        return path.read_text(encoding="utf-8")

    rdfc_dir = VECTORS / "eddsa-rdfc-2022"
    return {
        "unsigned": (load(VECTORS / "unsigned.json"), text(rdfc_dir / "canonDocDataInt.txt")),
        "employment": (
            load(VECTORS / "employmentAuth.json"),
            text(rdfc_dir / "employ" / "canonDocDataInt.txt"),
        ),
        "proof config": (
            load(rdfc_dir / "proofConfigDataInt.json"),
            text(rdfc_dir / "proofCanonDataInt.txt"),
        ),
        "employment proof config": (
            load(rdfc_dir / "employ" / "proofConfigDataInt.json"),
            text(rdfc_dir / "employ" / "proofCanonDataInt.txt"),
        ),
    }


@pytest.mark.parametrize("name", list(_vector_documents()))
def test_w3c_vectors_come_out_of_the_fast_path(name: str) -> None:
    document, expected = _vector_documents()[name]
    assert rdfc_fast.canonicalize(document) == expected
    assert rdfc.canonicalize_reference(document) == expected


# --- RDFC-1.0: generated Open Badges credentials -------------------------------------------------

_text = st.text(max_size=16)  # any code point but lone surrogates: controls, non-BMP, quotes
_word = st.text("abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=8)
_uuid_urn = st.uuids().map(lambda u: f"urn:uuid:{u}")
_https = _word.map(lambda w: f"https://{w}.example/{w}")
_did = _word.map(lambda w: f"did:web:{w}.example") | st.just(
    "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"
)
_timestamp = st.datetimes(
    min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
).map(lambda moment: moment.strftime("%Y-%m-%dT%H:%M:%SZ"))
_profile = st.fixed_dictionaries(
    {"id": _did, "type": st.just(["Profile"]), "name": _text},
    optional={
        "url": _https,
        "email": _word.map(lambda w: f"{w}@example.org"),
        "description": _text,
        "image": st.fixed_dictionaries({"id": _https, "type": st.just("Image")}),
    },
)
_alignment = st.fixed_dictionaries(
    {"type": st.just(["Alignment"]), "targetName": _text, "targetUrl": _https},
    optional={"targetCode": _text, "targetFramework": _text, "targetType": _word},
)
_achievement = st.fixed_dictionaries(
    {
        "id": _uuid_urn | _https,
        "type": st.just(["Achievement"]),
        "name": _text,
        "criteria": st.fixed_dictionaries({"narrative": _text}, optional={"id": _https}),
    },
    optional={
        "description": _text,
        "achievementType": _word,
        "tag": st.lists(_text, max_size=3),
        "alignment": st.lists(_alignment, max_size=3),
        "creditsAvailable": st.integers(0, 300) | st.floats(0, 300),
        "humanCode": _text,
    },
)
_identifier = st.fixed_dictionaries(
    {
        "type": st.just("IdentityObject"),
        "identityType": st.just("emailAddress"),
        "hashed": st.booleans(),
        "identityHash": _text,
        "salt": _text,
    }
)
_subject = st.fixed_dictionaries(
    {"type": st.just(["AchievementSubject"]), "achievement": _achievement},
    optional={
        "id": _did,
        "identifier": st.lists(_identifier, min_size=1, max_size=2),
        "activityStartDate": _timestamp,
        "activityEndDate": _timestamp,
        "role": _text,
    },
)
_evidence = st.fixed_dictionaries(
    {"type": st.just(["Evidence"])},
    optional={"id": _https, "name": _text, "description": _text, "narrative": _text},
)
_credential = st.fixed_dictionaries(
    {
        "@context": st.just(OB_CONTEXTS),
        "type": st.sampled_from(
            [
                ["VerifiableCredential", "OpenBadgeCredential"],
                ["VerifiableCredential", "AchievementCredential"],
            ]
        ),
        "issuer": _did | _profile,
        "credentialSubject": _subject,
    },
    optional={
        "id": _uuid_urn | _https,
        "name": _text,
        "description": _text,
        "validFrom": _timestamp,
        "validUntil": _timestamp,
        "evidence": st.lists(_evidence, max_size=3),
    },
)
# Things outside the fast path, mixed in so that its declining is tested too.
_odd_members = st.sampled_from(
    [
        {"favouriteColour": "green"},
        {"proof": {"type": "DataIntegrityProof", "cryptosuite": "eddsa-rdfc-2022"}},
        {"name": None},
        {"description": ["a", ["b"]]},
        {"@context": [*OB_CONTEXTS, "https://w3id.org/security/data-integrity/v2"]},
        {"id": "relative/id"},
        {"id": "_:b0"},
    ]
)


def assert_fast_path_equals_reference(document: dict[str, Any]) -> str | None:
    fast = rdfc_fast.canonicalize(copy.deepcopy(document))
    reference = outcome(rdfc.canonicalize_reference, document)
    if fast is not None:
        assert fast == reference
    assert outcome(rdfc.canonicalize, document) == reference
    return fast


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(credential=_credential)
def test_rdfc_fast_path_equals_pyld_on_generated_credentials(credential: dict[str, Any]) -> None:
    fast = assert_fast_path_equals_reference(credential)
    achievement = credential["credentialSubject"]["achievement"]
    if not isinstance(achievement.get("creditsAvailable", 0), float):
        # identical blank nodes (equal evidence, say) need the full algorithm
        assert fast is not None or _has_twin_blank_nodes(credential)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(credential=_credential, odd=_odd_members)
def test_rdfc_documents_outside_the_fast_path_still_come_out_as_pyld_gives_them(
    credential: dict[str, Any], odd: dict[str, Any]
) -> None:
    assert_fast_path_equals_reference({**credential, **odd})


def _has_twin_blank_nodes(credential: dict[str, Any]) -> bool:
    evidence = [
        json.dumps(e, sort_keys=True) for e in credential.get("evidence", []) if "id" not in e
    ]
    identifiers = [
        json.dumps(i, sort_keys=True) for i in credential["credentialSubject"].get("identifier", [])
    ]
    alignments = [
        json.dumps(a, sort_keys=True)
        for a in credential["credentialSubject"]["achievement"].get("alignment", [])
    ]
    return any(len(set(group)) < len(group) for group in (evidence, identifiers, alignments))


def test_identical_blank_nodes_are_left_to_the_full_algorithm() -> None:
    evidence = {"type": ["Evidence"], "name": "same"}
    document = {
        "@context": OB_CONTEXTS,
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": "did:web:issuer.example",
        "credentialSubject": {
            "type": ["AchievementSubject"],
            "achievement": {"id": "urn:x:a", "type": ["Achievement"]},
        },
        "evidence": [evidence, dict(evidence)],
    }
    assert rdfc_fast.canonicalize(document) is None
    assert rdfc.canonicalize(document) == rdfc.canonicalize_reference(document)


def test_undefined_terms_are_still_refused_by_name() -> None:
    document = {
        "@context": OB_CONTEXTS,
        "type": ["VerifiableCredential"],
        "issuer": "did:web:issuer.example",
        "credentialSubject": {"id": "did:web:subject.example", "grade": "A+"},
    }
    assert rdfc_fast.canonicalize(document) is None
    with pytest.raises(CanonicalizationError, match="'grade' is not defined") as caught:
        rdfc.canonicalize(document)
    assert caught.value.term == "grade"
