"""Shapes of the JSON API's requests and answers (they make the OpenAPI document)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from rpl.claims import Claim
from rpl.services.attestation import Urls


class AttesterIn(BaseModel):
    email: str
    title: str = "Attester"


class OrganisationIn(BaseModel):
    name: str
    domain: str = Field(description="The organisation's internet domain, e.g. stmarys.example")
    url: str = Field(description="The organisation's website")
    slug: str | None = None
    email: str | None = None
    description: str | None = None
    attesters: list[AttesterIn] = []
    domain_verified: bool = Field(
        False,
        description="Only for an operator who checked the domain out of band: the organisation "
        "may issue at once. Otherwise it proves its domain (/api/organisations/{slug}/domain).",
    )


class OrganisationOut(BaseModel):
    id: str
    slug: str
    name: str
    domain: str
    did: str


class SkillIn(BaseModel):
    name: str
    target_url: str | None = Field(None, description="The framework's page for this skill")
    code: str | None = None
    framework: str | None = None
    target_type: str | None = None


class EvidenceIn(BaseModel):
    name: str
    filename: str
    content_base64: str
    description: str = ""


class ClaimIn(BaseModel):
    kind: Literal["employment", "study", "contribution"]
    organisation: str = Field(description="The organisation's slug")
    claimant_name: str
    claimant_email: str
    claimant_did: str | None = None
    role: str = Field(description="The role held, or the programme studied")
    start: str = Field(description="YYYY, YYYY-MM or YYYY-MM-DD")
    end: str | None = Field(None, description="YYYY, YYYY-MM or YYYY-MM-DD; none if ongoing")
    hours: float | None = None
    fte: float | None = None
    description: str = ""
    skills: list[SkillIn] = []
    evidence: list[EvidenceIn] = []
    attester_email: str


class SubmittedOut(BaseModel):
    claim_id: str
    token: str = Field(description="The claimant's private token: keep it secret")
    claimant_url: str


class EventOut(BaseModel):
    kind: str
    actor: str
    at: str
    from_state: str | None
    to_state: str
    reason: str | None


class ClaimOut(BaseModel):
    id: str
    state: str
    details: dict[str, Any]
    amendment: dict[str, Any] | None
    events: list[EventOut]
    credential_url: str | None


class AmendmentAnswerIn(BaseModel):
    accept: bool
    reason: str | None = None


class ChangesIn(BaseModel):
    role: str | None = None
    start: str | None = None
    end: str | None = None
    hours: float | None = None
    fte: float | None = None


class DecisionIn(BaseModel):
    action: Literal["confirm", "amend", "decline"]
    attester_role: str = ""
    reason: str = ""
    changes: ChangesIn | None = None


class KeyOut(BaseModel):
    key_id: str
    verification_method: str
    state: Literal["active", "retired", "compromised"]


class CompromiseIn(BaseModel):
    reason: str


class CompromiseOut(BaseModel):
    key_id: str
    newly_marked: bool
    revoked: list[str]
    already_revoked: list[str]
    failed: dict[str, str]


class ReissueOut(BaseModel):
    key_id: str
    reissued: dict[str, str]  # old credential id -> its replacement
    already_reissued: dict[str, str]
    skipped: dict[str, str]  # old credential id -> why it stays as it is
    failed: dict[str, str]


class CheckOut(BaseModel):
    check: str
    passed: bool
    detail: str


class VerificationOut(BaseModel):
    verified: bool
    checks: list[CheckOut]
    errors: list[str]


class ErrorOut(BaseModel):
    error: str
    detail: str
    problems: dict[str, list[str]] | None = None


def claim_out(claim: Claim, urls: Urls) -> ClaimOut:
    from rpl.storage.codec import details_to_json

    amendment = None
    if claim.amendment:
        amendment = {
            "changes": {
                k: str(v) if v is not None else None for k, v in claim.amendment.changes.items()
            },
            "reason": claim.amendment.reason,
            "attester_role": claim.amendment.attester_role,
        }
    return ClaimOut(
        id=claim.id,
        state=claim.state.value,
        details=details_to_json(claim.details),
        amendment=amendment,
        events=[
            EventOut(
                kind=e.kind.value,
                actor=e.actor,
                at=e.at.isoformat(),
                from_state=e.from_state.value if e.from_state else None,
                to_state=e.to_state.value,
                reason=e.reason,
            )
            for e in claim.events
        ],
        credential_url=urls.credential(claim.credential_id) if claim.credential_id else None,
    )
