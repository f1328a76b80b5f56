"""OB 3.0 AchievementCredentials built from confirmed claims."""

from __future__ import annotations

import copy
import hashlib
import json
import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rpl.claims import (
    Claim,
    ClaimDetails,
    ClaimKind,
    EvidenceFile,
    IllegalTransitionError,
    PartialDate,
    Skill,
    accept_amendment,
    amend,
    claimant_actor,
    confirm,
    draft_claim,
    mark_issued,
    request,
)
from rpl.credentials import (
    ACHIEVEMENT_TYPES,
    NOT_AN_ASSESSMENT,
    CredentialInputError,
    IssuerProfile,
    alignment_target_type,
    build_achievement_credential,
    criteria_narrative,
    describe_extent,
    describe_period,
    digest_multibase,
    evidence_uri,
    identity_hash,
)
from rpl.schema import validate_achievement_credential

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
CLAIMANT = claimant_actor("jane@example.org")
ATTESTER = "hr@stmarys.example"
CREDENTIAL_ID = "https://rpl.example.org/credentials/7d4e"
ACHIEVEMENT_ID = "https://rpl.example.org/achievements/7d4e"
SALT = "c2FsdC1mb3ItamFuZQ"
ISSUER = IssuerProfile(
    did="did:web:rpl.example.org:orgs:st-marys",
    name="St Mary's Hospital",
    url="https://stmarys.example",
    email="hr@stmarys.example",
    description="A teaching hospital.",
    image="https://stmarys.example/logo.png",
)
HELLO_SHA256 = hashlib.sha256(b"hello").hexdigest()
ESCO_SKILL = Skill(
    "provide first aid",
    framework="ESCO",
    target_url="http://data.europa.eu/esco/skill/5a29a2c9-1b64-4e3c-a5b4-2fef0b3c4a4a",
    code="S3.2.1",
)
PAYSLIP = EvidenceFile(
    "Payslip, May 2005", "Shows role and hours", HELLO_SHA256, "application/pdf", 5, "p.pdf"
)


def make_details(**overrides: Any) -> ClaimDetails:
    fields: dict[str, Any] = {
        "kind": ClaimKind.EMPLOYMENT,
        "claimant_name": "Jane Doe",
        "claimant_email": "Jane.Doe@Example.org",
        "organisation_id": "org-st-marys",
        "role": "Registered Nurse",
        "start": PartialDate.parse("1998-03"),
        "end": PartialDate.parse("2020-06"),
        "attester_email": ATTESTER,
        "fte": 0.8,
    }
    fields.update(overrides)
    return ClaimDetails(**fields)


def confirmed(details: ClaimDetails | None = None, role: str = "HR Manager") -> Claim:
    claim = draft_claim("claim-1", details or make_details(), CLAIMANT, NOW)
    return confirm(request(claim, CLAIMANT, NOW), ATTESTER, role, NOW)


def build(claim: Claim, issuer: IssuerProfile = ISSUER, now: datetime = NOW) -> dict[str, Any]:
    return build_achievement_credential(claim, issuer, CREDENTIAL_ID, ACHIEVEMENT_ID, SALT, now)


VARIANTS = {
    "plain": {},
    "with DID": {"claimant_did": "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"},
    "with skills": {"skills": (Skill("Wound care"), ESCO_SKILL)},
    "with evidence": {"evidence": (PAYSLIP,)},
    "ongoing": {"end": None, "fte": None, "hours": 2000.0},
    "by the day": {"start": PartialDate(2019, 5, 2), "end": PartialDate(2019, 5, 2), "hours": 8.0},
}


# --- the document is valid ---------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(ClaimKind))
@pytest.mark.parametrize("variant", list(VARIANTS))
def test_credentials_are_schema_valid(kind: ClaimKind, variant: str):
    doc = build(confirmed(make_details(kind=kind, **VARIANTS[variant])))
    assert validate_achievement_credential(doc) == []
    assert doc["credentialSubject"]["achievement"]["achievementType"] == ACHIEVEMENT_TYPES[kind]


def test_the_credential_has_the_ob3_frame():
    doc = build(
        confirmed(), now=datetime(2024, 5, 1, 14, 30, 5, 123, tzinfo=timezone(timedelta(hours=2)))
    )
    assert doc["@context"] == [
        "https://www.w3.org/ns/credentials/v2",
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
        "https://purl.imsglobal.org/spec/ob/v3p0/extensions.json",
    ]
    assert doc["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert doc["id"] == CREDENTIAL_ID
    assert doc["validFrom"] == "2024-05-01T12:30:05Z"
    assert doc["name"] == "Employment confirmed: Registered Nurse at St Mary's Hospital"
    assert doc["issuer"] == {
        "id": ISSUER.did,
        "type": ["Profile"],
        "name": "St Mary's Hospital",
        "url": "https://stmarys.example",
        "email": "hr@stmarys.example",
        "description": "A teaching hospital.",
        "image": {"id": "https://stmarys.example/logo.png", "type": "Image"},
    }
    assert "proof" not in doc


def test_subject_without_a_did_is_a_salted_email_hash():
    subject = build(confirmed())["credentialSubject"]
    assert "id" not in subject
    assert subject["identifier"] == [
        {
            "type": "IdentityObject",
            "identityType": "emailAddress",
            "hashed": True,
            "identityHash": "sha256$"
            + hashlib.sha256(f"jane.doe@example.org{SALT}".encode()).hexdigest(),
            "salt": SALT,
        }
    ]


def test_subject_with_a_did_is_identified_by_it():
    did = VARIANTS["with DID"]["claimant_did"]
    subject = build(confirmed(make_details(claimant_did=did)))["credentialSubject"]
    assert subject["id"] == did
    assert "identifier" not in subject


def test_identity_hash_follows_the_ob3_example():
    # The spec's own example: SHA-256 over 'a@example.com' followed by the salt 'Kosher'.
    expected = "sha256$b5809d8a92f8858436d7e6b87c12ebc0ae1eac4baecc2c0b913aee2c922ef399"
    assert identity_hash("a@example.com", "Kosher") == expected
    assert identity_hash(" A@Example.COM ", "Kosher") == expected


def test_activity_dates_span_the_whole_months_and_role_is_the_position():
    subject = build(confirmed())["credentialSubject"]
    assert subject["activityStartDate"] == "1998-03-01T00:00:00Z"
    assert subject["activityEndDate"] == "2020-06-30T00:00:00Z"
    assert subject["role"] == "Registered Nurse"
    ongoing = build(confirmed(make_details(end=None)))["credentialSubject"]
    assert "activityEndDate" not in ongoing


def test_study_names_the_programme_not_a_role():
    doc = build(confirmed(make_details(kind=ClaimKind.STUDY, role="BSc Nursing")))
    achievement = doc["credentialSubject"]["achievement"]
    assert achievement["achievementType"] == "LearningProgram"
    assert achievement["name"] == "BSc Nursing at St Mary's Hospital"
    assert "role" not in doc["credentialSubject"]
    assert "studied there on BSc Nursing" in achievement["criteria"]["narrative"]


def test_free_skills_are_tags_and_framework_skills_are_alignments():
    details = make_details(skills=(Skill("Wound care"), ESCO_SKILL))
    achievement = build(confirmed(details))["credentialSubject"]["achievement"]
    assert achievement["tag"] == ["Wound care"]
    assert achievement["alignment"] == [
        {
            "type": ["Alignment"],
            "targetName": "provide first aid",
            "targetUrl": ESCO_SKILL.target_url,
            "targetCode": "S3.2.1",
            "targetFramework": "ESCO",
            "targetType": "ext:ESCOSkill",
        }
    ]


@pytest.mark.parametrize(
    ("skill", "expected"),
    [
        (Skill("x", target_url="http://data.europa.eu/esco/skill/1"), "ext:ESCOSkill"),
        (Skill("x", target_url="http://data.europa.eu/esco/occupation/1"), "ext:ESCOOccupation"),
        (Skill("x", target_url="https://case.example/ims/case/v1p0/CFItems/9"), "CFItem"),
        (Skill("x", target_url="https://credentialengineregistry.org/resources/ce-1"), "CTDL"),
        (Skill("x", target_url="https://www.onetonline.org/link/summary/29-1141.00"), None),
        (Skill("x", target_url="https://osn.example/skills/1", target_type="ext:RSD"), "ext:RSD"),
    ],
)
def test_alignment_target_types(skill: Skill, expected: str | None):
    assert alignment_target_type(skill) == expected


def test_evidence_is_named_by_content_hash_not_by_a_private_url():
    doc = build(confirmed(make_details(evidence=(PAYSLIP,))))
    assert doc["evidence"] == [
        {
            # RFC 6920 §3 and multihash sha2-256 (0x12, 32 bytes) of b"hello"
            "id": "ni:///sha-256;LPJNul-wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ",
            "type": ["Evidence"],
            "name": "Payslip, May 2005",
            "description": "Shows role and hours",
            "mediaType": "application/pdf",
            "digestMultibase": "uEiAs8k26X7CjDiboOyrFueKeGxYeXB-nQl5zBDNik4uYJA",
        }
    ]
    assert evidence_uri(HELLO_SHA256) == doc["evidence"][0]["id"]
    assert digest_multibase(HELLO_SHA256) == doc["evidence"][0]["digestMultibase"]


# --- the words ---------------------------------------------------------------------------------


def test_the_narrative_says_who_confirmed_what_in_which_role():
    narrative = build(confirmed())["credentialSubject"]["achievement"]["criteria"]["narrative"]
    assert narrative.split("\n\n") == [
        "St Mary's Hospital, through its HR Manager, confirmed that Jane Doe worked there as"
        " Registered Nurse from March 1998 to June 2020, about 0.8 FTE (part time).",
        NOT_AN_ASSESSMENT,
    ]
    assert "not an assessment of competence" in narrative


def test_the_narrative_of_an_ongoing_contribution_and_of_a_corrected_claim():
    details = make_details(kind=ClaimKind.CONTRIBUTION, role="Volunteer", end=None, fte=None)
    claim = confirmed(details, role="Volunteer Coordinator")
    assert criteria_narrative(claim, ISSUER).startswith(
        "St Mary's Hospital, through its Volunteer Coordinator, confirmed that Jane Doe has"
        " contributed there as Volunteer since March 1998."
    )
    requested = request(
        draft_claim("c", make_details(skills=(Skill("Triage"),)), CLAIMANT, NOW), CLAIMANT, NOW
    )
    amended = amend(requested, ATTESTER, "Head of Nursing", {"fte": 1.0}, "Full time", NOW)
    narrative = criteria_narrative(accept_amendment(amended, CLAIMANT, NOW), ISSUER)
    assert "through its Head of Nursing, corrected and confirmed that Jane Doe" in narrative
    assert "June 2020, full time." in narrative
    assert "skills and evidence listed are those Jane Doe gave" in narrative


def test_peoples_words_cannot_inject_markdown():
    details = make_details(
        role="Nurse [click](https://evil.example) *now*", claimant_name="Jane\n# Doe"
    )
    narrative = criteria_narrative(confirmed(details), ISSUER)
    assert r"Nurse \[click\](https://evil.example) \*now\*" in narrative
    assert "Jane \\# Doe" in narrative


@pytest.mark.parametrize(
    ("start", "end", "words"),
    [
        ("1998-03", "2020-06", "from March 1998 to June 2020"),
        ("1998", "2001", "from 1998 to 2001"),
        ("2004", "2004", "in 2004"),
        ("2004-07", "2004-07", "in July 2004"),
        ("2019-05-02", "2019-05-02", "on 2 May 2019"),
        ("2019-05-02", "2019-05-03", "from 2 May 2019 to 3 May 2019"),
        ("1998-03", None, "since March 1998"),
    ],
)
def test_describe_period(start: str, end: str | None, words: str):
    assert describe_period(PartialDate.parse(start), end and PartialDate.parse(end)) == words


@pytest.mark.parametrize(
    ("hours", "fte", "words"),
    [
        (None, None, ""),
        (None, 1.0, "full time"),
        (None, 0.8, "about 0.8 FTE (part time)"),
        (None, 1.2, "about 1.2 FTE (more than full time)"),
        (1234.4, None, "about 1,234 hours in all"),
        (7.5, 0.333333, "about 0.33 FTE (part time), about 7.5 hours in all"),
    ],
)
def test_describe_extent(hours: float | None, fte: float | None, words: str):
    assert describe_extent(hours, fte) == words


# --- what the builder refuses and leaves alone -------------------------------------------------


def test_inputs_are_not_changed_and_outputs_share_nothing():
    claim = confirmed(make_details(skills=(Skill("Wound care"), ESCO_SKILL), evidence=(PAYSLIP,)))
    claim_before, issuer_before = copy.deepcopy(claim), copy.deepcopy(ISSUER)
    first = build(claim)
    assert (claim, ISSUER) == (claim_before, issuer_before)
    expected = copy.deepcopy(first)
    first["credentialSubject"]["achievement"]["tag"].append("tampered")
    first["@context"].append("tampered")
    assert build(claim) == expected


def _drafted() -> Claim:
    return draft_claim("claim-9", make_details(), CLAIMANT, NOW)


def _requested() -> Claim:
    return request(_drafted(), CLAIMANT, NOW)


def _issued() -> Claim:
    return mark_issued(confirm(_requested(), ATTESTER, "HR", NOW), "urn:uuid:1", NOW)


@pytest.mark.parametrize("make_claim", [_drafted, _requested, _issued])
def test_unconfirmed_claims_refuse(make_claim):
    with pytest.raises(IllegalTransitionError) as caught:
        build(make_claim())
    assert "claim-9" in str(caught.value) and "issue a credential" in str(caught.value)


def test_an_amended_claim_refuses_until_accepted():
    requested = request(draft_claim("c", make_details(), CLAIMANT, NOW), CLAIMANT, NOW)
    amended = amend(requested, ATTESTER, "HR", {"fte": 0.5}, "Records", NOW)
    with pytest.raises(IllegalTransitionError):
        build(amended)


@pytest.mark.parametrize(
    ("call", "words"),
    [
        (
            lambda c: build_achievement_credential(c, ISSUER, "no uri", ACHIEVEMENT_ID, SALT, NOW),
            "'no uri'",
        ),
        (
            lambda c: build_achievement_credential(c, ISSUER, CREDENTIAL_ID, "", SALT, NOW),
            "achievement id",
        ),
        (
            lambda c: build_achievement_credential(
                c, ISSUER, CREDENTIAL_ID, ACHIEVEMENT_ID, "", NOW
            ),
            "salt",
        ),
        (lambda c: build(c, now=datetime(2024, 5, 1)), "timezone-aware"),
    ],
)
def test_bad_inputs_are_named(call, words: str):
    with pytest.raises(CredentialInputError, match=words):
        call(confirmed())


@pytest.mark.parametrize(
    "overrides",
    [
        {"did": "https://st-marys.example"},
        {"name": " "},
        {"url": "st-marys.example"},
        {"image": "logo"},
    ],
)
def test_issuer_profiles_are_checked(overrides: dict[str, str]):
    fields = {"did": ISSUER.did, "name": ISSUER.name, "url": ISSUER.url} | overrides
    with pytest.raises(CredentialInputError):
        IssuerProfile(**fields)


# --- every term is defined by the contexts ----------------------------------------------------

CONTEXTS = Path(__file__).resolve().parents[3] / "shared" / "vectors" / "contexts"


def _offline_loader(url: str, options: object = None) -> dict[str, Any]:
    index = json.loads((CONTEXTS / "index.json").read_text())
    document = json.loads((CONTEXTS / index[url]).read_text())  # KeyError: never fetch
    return {"contextUrl": None, "documentUrl": url, "document": document}


def _singletons_unwrapped(value: Any) -> Any:
    if isinstance(value, list):
        items = [_singletons_unwrapped(v) for v in value]
        return items[0] if len(items) == 1 else items
    if isinstance(value, dict):
        return {k: _singletons_unwrapped(v) for k, v in value.items()}
    return value


@pytest.mark.skipif(not CONTEXTS.is_dir(), reason="needs ../shared/vectors/contexts")
def test_no_term_is_dropped_by_json_ld_expansion():
    # A term no context defines vanishes on expansion, so it would be neither signed nor seen;
    # compacting the expansion back must give the document we built.
    from pyld import jsonld

    details = make_details(skills=(Skill("Wound care"), ESCO_SKILL), evidence=(PAYSLIP,))
    for doc in (build(confirmed(details)), build(confirmed(make_details(**VARIANTS["with DID"])))):
        options = {"documentLoader": _offline_loader}
        expanded = jsonld.expand(doc, options)
        compacted = jsonld.compact(expanded, {"@context": doc["@context"]}, options)
        assert _singletons_unwrapped(compacted) == _singletons_unwrapped(doc)


@given(st.text())
def test_markdown_text_escapes_as_the_regular_expression_did(text: str) -> None:
    from rpl.credentials import _markdown_text

    reference = re.sub(r"([\\`*_\[\]<>#|!])", r"\\\1", " ".join(text.split()))
    assert _markdown_text(text) == reference
