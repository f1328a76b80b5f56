"""Open Badges 3.0 AchievementCredentials built from confirmed claims.

The credential says in plain words who confirmed what, for how long and in which role, and that it
acknowledges participation rather than assessing competence. Every property used here is defined
by one of `CONTEXTS` (an undefined one would vanish in JSON-LD canonicalization and the signer
would refuse the document), and the result passes 1EdTech's OB 3.0 JSON schema.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from types import MappingProxyType
from typing import Any

from rpl.claims import (
    Claim,
    ClaimKind,
    ClaimState,
    EventKind,
    EvidenceFile,
    IllegalTransitionError,
    PartialDate,
    Skill,
)
from rpl.errors import RplError

CONTEXTS = (
    "https://www.w3.org/ns/credentials/v2",
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
    "https://purl.imsglobal.org/spec/ob/v3p0/extensions.json",
)
# OB 3.0 §B.1.1: one type MUST be AchievementCredential or OpenBadgeCredential. The 3.0.3 context
# maps AchievementCredential onto OpenBadgeCredential's IRI, so both sign the same; we write
# OpenBadgeCredential, the term of the spec's examples and the one wallets and verifiers look for.
CREDENTIAL_TYPE = ("VerifiableCredential", "OpenBadgeCredential")
# OB 3.0 has no AchievementType for employment or for contributing in general (CommunityService
# is only volunteering), so those two are extensions, which the schema allows as "ext:<name>".
ACHIEVEMENT_TYPES: Mapping[ClaimKind, str] = MappingProxyType(
    {
        ClaimKind.EMPLOYMENT: "ext:Employment",
        ClaimKind.STUDY: "LearningProgram",
        ClaimKind.CONTRIBUTION: "ext:Contribution",
    }
)
KIND_NOUNS: Mapping[ClaimKind, str] = MappingProxyType(
    {
        ClaimKind.EMPLOYMENT: "Employment",
        ClaimKind.STUDY: "Study",
        ClaimKind.CONTRIBUTION: "Contribution",
    }
)
NOT_AN_ASSESSMENT = (
    "This credential acknowledges participation. It is not an assessment of competence."
)
_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:\S+")
_HTTP_URL = re.compile(r"https?://[^\s/]+\S*")
_DID = re.compile(r"did:[a-z0-9]+:\S+")


class CredentialInputError(RplError):
    """A value the credential cannot be built from; names it."""


@dataclass(frozen=True)
class IssuerProfile:
    """The organisation that confirmed the claim, as it appears in the credential's `issuer`."""

    did: str  # e.g. did:web:rpl.example.org:orgs:st-marys
    name: str
    url: str  # the organisation's own website
    email: str | None = None
    description: str | None = None
    image: str | None = None  # an https or data: URL

    def __post_init__(self) -> None:
        if not isinstance(self.did, str) or not _DID.fullmatch(self.did):
            raise CredentialInputError(f"issuer DID {self.did!r} is not a DID")
        if not isinstance(self.name, str) or not self.name.strip():
            raise CredentialInputError(f"issuer name {self.name!r} is empty")
        if not isinstance(self.url, str) or not _HTTP_URL.fullmatch(self.url):
            raise CredentialInputError(f"issuer url {self.url!r} is not an http(s) URL")
        if self.image is not None and not _URI.fullmatch(self.image):
            raise CredentialInputError(f"issuer image {self.image!r} is not a URL")


# --- plain words (the public page and the PDF say the same) ---------------------------------


def describe_period(start: PartialDate, end: PartialDate | None) -> str:
    """'from March 1998 to June 2020', 'in 2004', 'on 2 May 2019', or 'since March 1998'."""
    if end is None:
        return f"since {start.in_words()}"
    if end == start:
        return f"{'in' if start.day is None else 'on'} {start.in_words()}"
    return f"from {start.in_words()} to {end.in_words()}"


def _amount(value: float) -> str:
    return f"{value:,.0f}" if value >= 10 else f"{round(value, 2):g}"


def describe_extent(hours: float | None, fte: float | None) -> str:
    """'full time', 'about 0.8 FTE (part time)', 'about 1,200 hours in all'; '' if unknown."""
    parts = []
    if fte is not None:
        if fte == 1:
            parts.append("full time")
        else:
            kind = "part time" if fte < 1 else "more than full time"
            parts.append(f"about {round(fte, 2):g} FTE ({kind})")
    if hours is not None:
        parts.append(f"about {_amount(hours)} hours in all")
    return ", ".join(parts)


# What the attester confirmed, for a finished and for a still ongoing period.
_VERBS: Mapping[ClaimKind, tuple[str, str]] = MappingProxyType(
    {
        ClaimKind.EMPLOYMENT: ("worked there as", "has worked there as"),
        ClaimKind.STUDY: ("studied there on", "has studied there on"),
        ClaimKind.CONTRIBUTION: ("contributed there as", "has contributed there as"),
    }
)


def _markdown_text(text: str) -> str:
    """People's words as Markdown that means them literally: one line, no markup, no links."""
    return " ".join(text.split()).translate(_MARKDOWN_ESCAPES)


# Each character Markdown could read as markup, backslash-escaped (one C-level pass per text).
_MARKDOWN_ESCAPES = {ord(c): "\\" + c for c in "\\`*_[]<>#|!"}


def _corrected(claim: Claim) -> bool:
    decisive = (EventKind.CLAIM_CONFIRMED, EventKind.AMENDMENT_ACCEPTED)
    last = [e.kind for e in claim.events if e.kind in decisive]
    return bool(last) and last[-1] == EventKind.AMENDMENT_ACCEPTED


def criteria_narrative(claim: Claim, issuer: IssuerProfile) -> str:
    """Markdown: who confirmed what, in which role, for how long; and what this does not mean.

    e.g. "St Mary's Hospital, through its HR Manager, confirmed that Jane Doe worked there as
    Registered Nurse from March 1998 to June 2020, about 0.8 FTE (part time)."
    """
    d, by = claim.details, claim.confirmed_by
    if by is None:
        raise CredentialInputError(f"claim {claim.id!r} records no confirmation")
    verb = _VERBS[d.kind][d.end is None]
    what = "corrected and confirmed" if _corrected(claim) else "confirmed"
    extent = describe_extent(d.hours, d.fte)
    sentence = (
        f"{_markdown_text(issuer.name)}, through its {_markdown_text(by.attester_role)}, {what}"
        f" that {_markdown_text(d.claimant_name)} {verb} {_markdown_text(d.role)}"
        f" {describe_period(d.start, d.end)}{', ' + extent if extent else ''}."
    )
    paragraphs = [sentence, NOT_AN_ASSESSMENT]
    if d.skills or d.evidence:
        paragraphs.append(
            f"The skills and evidence listed are those {_markdown_text(d.claimant_name)} gave"
            f" in the claim that {_markdown_text(issuer.name)} confirmed."
        )
    return "\n\n".join(paragraphs)


def achievement_name(claim: Claim, issuer: IssuerProfile) -> str:
    """'Registered Nurse at St Mary's Hospital'."""
    return f"{' '.join(claim.details.role.split())} at {issuer.name.strip()}"


# --- identifiers and hashes ------------------------------------------------------------------


def identity_hash(email: str, salt: str) -> str:
    """OB 3.0 IdentityHash of an email: 'sha256$' + hex SHA-256 of UTF-8(identifier + salt).

    The address is trimmed and lower-cased first, so a verifier who knows it in any case matches.
    """
    text = email.strip().lower() + salt
    return "sha256$" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def evidence_uri(sha256_hex: str) -> str:
    """RFC 6920 'ni' URI naming a file by its content: ni:///sha-256;<base64url digest>."""
    digest = base64.urlsafe_b64encode(bytes.fromhex(sha256_hex)).rstrip(b"=").decode("ascii")
    return f"ni:///sha-256;{digest}"


def digest_multibase(sha256_hex: str) -> str:
    """VC 2.0 `digestMultibase`: multibase base64url ('u') of the sha2-256 multihash."""
    multihash = bytes([0x12, 0x20]) + bytes.fromhex(sha256_hex)
    return "u" + base64.urlsafe_b64encode(multihash).rstrip(b"=").decode("ascii")


# Framework link prefixes whose OB 3.0 targetType is known, for skills that do not name one.
_TARGET_TYPES_BY_URL = (
    ("http://data.europa.eu/esco/skill/", "ext:ESCOSkill"),
    ("https://data.europa.eu/esco/skill/", "ext:ESCOSkill"),
    ("http://data.europa.eu/esco/occupation/", "ext:ESCOOccupation"),
    ("https://data.europa.eu/esco/occupation/", "ext:ESCOOccupation"),
    ("https://credentialengineregistry.org/", "CTDL"),
)


def alignment_target_type(skill: Skill) -> str | None:
    """The skill's own target type, else one known from its framework link, else None."""
    if skill.target_type is not None:
        return skill.target_type
    url = skill.target_url or ""
    if "/ims/case/v1p0/CFItems/" in url:
        return "CFItem"
    return next((t for prefix, t in _TARGET_TYPES_BY_URL if url.startswith(prefix)), None)


# --- the document ----------------------------------------------------------------------------


@functools.lru_cache(maxsize=256)  # a bulk run stamps every credential with one `now`
def _timestamp(moment: datetime) -> str:
    if not isinstance(moment, datetime) or moment.utcoffset() is None:
        raise CredentialInputError(f"time {moment!r} must be a timezone-aware datetime")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _day(day: date) -> str:
    # The schema wants a date-time, the context types it xsd:date; the day is what carries meaning.
    return f"{day.isoformat()}T00:00:00Z"


def _issuer(issuer: IssuerProfile) -> dict[str, Any]:
    doc: dict[str, Any] = {"id": issuer.did, "type": ["Profile"], "name": issuer.name}
    doc["url"] = issuer.url
    if issuer.email:
        doc["email"] = issuer.email
    if issuer.description:
        doc["description"] = issuer.description
    if issuer.image:
        doc["image"] = {"id": issuer.image, "type": "Image"}
    return doc


def _alignment(skill: Skill) -> dict[str, Any]:
    doc: dict[str, Any] = {"type": ["Alignment"], "targetName": skill.name.strip()}
    doc["targetUrl"] = skill.target_url
    optional = {
        "targetCode": skill.code,
        "targetFramework": skill.framework,
        "targetType": alignment_target_type(skill),
    }
    doc.update({k: v for k, v in optional.items() if v})
    return doc


def _evidence(file: EvidenceFile) -> dict[str, Any]:
    # The file itself stays private; the credential names it by content hash, so whoever is shown
    # the file can check it is the one the organisation saw.
    doc: dict[str, Any] = {"id": evidence_uri(file.sha256), "type": ["Evidence"]}
    doc["name"] = file.name.strip()
    if file.description.strip():
        doc["description"] = file.description.strip()
    doc["mediaType"] = file.media_type
    doc["digestMultibase"] = digest_multibase(file.sha256)
    return doc


def _achievement(claim: Claim, issuer: IssuerProfile, achievement_id: str) -> dict[str, Any]:
    d = claim.details
    summary = f"{KIND_NOUNS[d.kind]} at {issuer.name}: {d.role}, {describe_period(d.start, d.end)}."
    doc: dict[str, Any] = {
        "id": achievement_id,
        "type": ["Achievement"],
        "achievementType": ACHIEVEMENT_TYPES[d.kind],
        "name": achievement_name(claim, issuer),
        "description": d.description.strip() or summary,
        "criteria": {"narrative": criteria_narrative(claim, issuer)},
    }
    tags = [s.name.strip() for s in d.skills if not s.is_aligned]
    if tags:
        doc["tag"] = tags
    alignments = [_alignment(s) for s in d.skills if s.is_aligned]
    if alignments:
        doc["alignment"] = alignments
    return doc


def _subject(claim: Claim, achievement: dict[str, Any], salt: str) -> dict[str, Any]:
    d = claim.details
    subject: dict[str, Any] = {"type": ["AchievementSubject"]}
    if d.claimant_did:
        subject["id"] = d.claimant_did
    else:
        # 1EdTech's validator wants `identifier` as a list (the context declares it a @set).
        subject["identifier"] = [
            {
                "type": "IdentityObject",
                "identityType": "emailAddress",
                "hashed": True,
                "identityHash": identity_hash(d.claimant_email, salt),
                "salt": salt,
            }
        ]
    subject["activityStartDate"] = _day(d.start.first_day())
    if d.end is not None:
        subject["activityEndDate"] = _day(d.end.last_day())
    if d.kind != ClaimKind.STUDY:  # OB 3.0 `role` is a position held; a programme is not one
        subject["role"] = " ".join(d.role.split())
    subject["achievement"] = achievement
    return subject


def _check_inputs(claim: Claim, credential_id: str, achievement_id: str, salt: str) -> None:
    if claim.state != ClaimState.CONFIRMED:
        raise IllegalTransitionError(claim.id, claim.state, "issue a credential")
    for what, value in (("credential id", credential_id), ("achievement id", achievement_id)):
        if not isinstance(value, str) or not _URI.fullmatch(value):
            raise CredentialInputError(f"{what} {value!r} is not a URI")
    if not claim.details.claimant_did and (not isinstance(salt, str) or not salt):
        raise CredentialInputError(f"subject salt {salt!r} is empty")


def build_achievement_credential(
    claim: Claim,
    issuer: IssuerProfile,
    credential_id: str,
    achievement_id: str,
    subject_salt: str,
    now: datetime,
) -> dict[str, Any]:
    """A new, unsigned OB 3.0 AchievementCredential for a confirmed claim.

    `subject_salt` salts the hash of the claimant's email when they have no DID; `now` becomes
    `validFrom`. Raises `IllegalTransitionError` unless the claim is confirmed.
    """
    _check_inputs(claim, credential_id, achievement_id, subject_salt)
    d = claim.details
    achievement = _achievement(claim, issuer, achievement_id)
    credential: dict[str, Any] = {
        "@context": list(CONTEXTS),
        "id": credential_id,
        "type": list(CREDENTIAL_TYPE),
        "name": f"{KIND_NOUNS[d.kind]} confirmed: {achievement_name(claim, issuer)}",
        "issuer": _issuer(issuer),
        "validFrom": _timestamp(now),
        "credentialSubject": _subject(claim, achievement, subject_salt),
    }
    if d.evidence:
        credential["evidence"] = [_evidence(f) for f in d.evidence]
    return credential
