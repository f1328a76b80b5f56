"""CLR 2.0 (Comprehensive Learner Record) transcripts, and OB 3.0 credentials for granted credit.

`build_course_credential` makes the AchievementCredential for one course granted (its `result`
and `creditsEarned`, the source credentials as `evidence`). `build_clr` gathers signed credentials
into a `ClrCredential` whose `association`s say which source achievement led to which grant.
Builders never change their input and return unsigned documents; `validate_clr` checks 1EdTech's
CLR 2.0 JSON schema (bundled in `rpl/schemas`, resolved offline like the OB 3.0 one).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from rpl import schema
from rpl.credentials import CONTEXTS as OB_CONTEXTS
from rpl.credentials import IssuerProfile, identity_hash
from rpl.dids import DidResolver
from rpl.errors import RplError
from rpl.status import StatusListFetcher
from rpl.verify import VerificationResult, verify_credential

CLR_CONTEXTS = (
    "https://www.w3.org/ns/credentials/v2",
    "https://purl.imsglobal.org/spec/clr/v2p0/context-2.0.1.json",
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
)
CLR_CREDENTIAL = "clr_v2p0_clrcredential"
# A source achievement counts towards the course granted for it: it is part of that recognition.
ASSOCIATION_TYPE = "isPartOf"


class TranscriptError(RplError):
    """A transcript that cannot be built or does not match the CLR 2.0 schema."""


@dataclass(frozen=True)
class Learner:
    name: str
    email: str
    salt: str
    did: str | None = None

    def subject_identity(self) -> dict[str, Any]:
        if self.did:
            return {"id": self.did}
        return {
            "identifier": [
                {
                    "type": "IdentityObject",
                    "identityType": "emailAddress",
                    "hashed": True,
                    "identityHash": identity_hash(self.email, self.salt),
                    "salt": self.salt,
                }
            ]
        }


@dataclass(frozen=True)
class SourceRef:
    """A source credential as a grant cites it: its id (a URI) and its achievement's id."""

    credential_id: str
    achievement_id: str
    name: str
    verified: bool


@dataclass(frozen=True)
class CourseGrant:
    code: str
    title: str
    credits: float
    achievement_id: str  # a URI naming the course as an achievement of the institution
    narrative: str  # why: the rule (crosswalk version and digest) or the assessor's reason
    sources: tuple[SourceRef, ...]


def timestamp(moment: datetime) -> str:
    if moment.utcoffset() is None:
        raise TranscriptError(f"time {moment!r} must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _issuer(issuer: IssuerProfile) -> dict[str, Any]:
    doc: dict[str, Any] = {"id": issuer.did, "type": ["Profile"], "name": issuer.name}
    doc["url"] = issuer.url
    if issuer.email:
        doc["email"] = issuer.email
    return doc


def course_achievement(grant: CourseGrant, institution: IssuerProfile) -> dict[str, Any]:
    return {
        "id": grant.achievement_id,
        "type": ["Achievement"],
        "achievementType": "Course",
        "name": grant.title,
        "humanCode": grant.code,
        "description": f"{grant.code} {grant.title}, {institution.name}.",
        "criteria": {"narrative": grant.narrative},
        "creditsAvailable": grant.credits,
        "resultDescription": [
            {
                "id": f"{grant.achievement_id}#recognition",
                "type": ["ResultDescription"],
                "name": "Recognition of prior learning",
                "resultType": "Status",
            }
        ],
    }


def build_course_credential(
    grant: CourseGrant,
    institution: IssuerProfile,
    learner: Learner,
    credential_id: str,
    now: datetime,
) -> dict[str, Any]:
    """An unsigned OB 3.0 AchievementCredential awarding `grant.credits` for one course."""
    achievement = course_achievement(grant, institution)
    subject: dict[str, Any] = {"type": ["AchievementSubject"], **learner.subject_identity()}
    subject["achievement"] = achievement
    subject["creditsEarned"] = grant.credits
    subject["result"] = [
        {
            "type": ["Result"],
            "resultDescription": achievement["resultDescription"][0]["id"],
            "status": "Completed",
        }
    ]
    doc: dict[str, Any] = {
        "@context": list(OB_CONTEXTS),
        "id": credential_id,
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": f"Credit recognised: {grant.code} {grant.title}",
        "issuer": _issuer(institution),
        "validFrom": timestamp(now),
        "credentialSubject": subject,
    }
    if grant.sources:
        doc["evidence"] = [
            {
                "id": s.credential_id,
                "type": ["Evidence"],
                "name": s.name,
                "narrative": "verified when assessed"
                if s.verified
                else "unverified; accepted by the assessor",
            }
            for s in grant.sources
        ]
    return doc


def build_clr(
    institution: IssuerProfile,
    learner: Learner,
    transcript_id: str,
    grants: Sequence[CourseGrant],
    signed_credentials: Sequence[dict[str, Any]],
    now: datetime,
) -> dict[str, Any]:
    """An unsigned CLR 2.0 ClrCredential: the signed course credentials (and any verified source
    credentials passed in `signed_credentials`), and one Association per source → course."""
    if not signed_credentials:
        raise TranscriptError("a CLR holds at least one credential")
    associations = [
        {
            "type": "Association",
            "associationType": ASSOCIATION_TYPE,
            "sourceId": source.achievement_id,
            "targetId": grant.achievement_id,
        }
        for grant in grants
        for source in grant.sources
    ]
    subject: dict[str, Any] = {"type": ["ClrSubject"], **learner.subject_identity()}
    subject["verifiableCredential"] = list(signed_credentials)
    if associations:
        subject["association"] = associations
    total = sum(g.credits for g in grants)
    return {
        "@context": list(CLR_CONTEXTS),
        "id": transcript_id,
        "type": ["VerifiableCredential", "ClrCredential"],
        "name": f"Transcript of recognised prior learning: {learner.name}",
        "description": f"{total:g} credits recognised by {institution.name} in {len(grants)} course(s).",
        "issuer": _issuer(institution),
        "validFrom": timestamp(now),
        "awardedDate": timestamp(now),
        "credentialSubject": subject,
    }


def validate_clr(doc: Any) -> list[str]:
    """Problems with a ClrCredential against 1EdTech's CLR 2.0 schema; empty means valid."""
    return schema.validate(doc, CLR_CREDENTIAL)


def ensure_valid_clr(doc: Any) -> None:
    errors = validate_clr(doc)
    if errors:
        raise schema.SchemaValidationError(CLR_CREDENTIAL, errors)


def verify_transcript(
    doc: Any,
    resolver: DidResolver,
    now: datetime,
    status_lists: StatusListFetcher | None = None,
) -> tuple[VerificationResult, list[VerificationResult]]:
    """Verify a CLR and, one by one, every credential it holds; (the CLR's result, theirs)."""
    outer = verify_credential(doc, resolver, now, status_lists=status_lists)
    inner = []
    subject = doc.get("credentialSubject") if isinstance(doc, dict) else None
    for credential in (subject or {}).get("verifiableCredential") or []:
        inner.append(verify_credential(credential, resolver, now, status_lists=status_lists))
    return outer, inner
