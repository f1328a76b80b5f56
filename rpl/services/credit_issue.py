"""`issue_credit`: after an assessor accepted, one OB 3.0 credential per course granted and a CLR 2.0
transcript tying each grant to its source credentials, signed by the institution.

Record intent, check, sign, verify what was signed, store: every document is checked against its
1EdTech schema before signing and verified after; the awards, the transcript and the move to
`issued` are one transaction with compare-and-set on the request, and awards have a unique
(request, course), so a retried run stores nothing twice.

Each course credential and the transcript carry a BitstringStatusListEntry in the institution's
lists, drawn exactly as for a claim's credential (`StatusAllocator`, the purposes of the
`IssuePolicy`) and recorded in the same transaction as the awards; revoking one is
`revoke_award`.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from rpl import bundle, clr
from rpl.bundle import BundleItem
from rpl.clr import CourseGrant, Learner, SourceRef
from rpl.credit import (
    Adjustment,
    CreditAction,
    CreditEvent,
    CreditRequest,
    CreditState,
    FinalGrant,
    final_grants,
    next_state,
)
from rpl.crosswalk import Crosswalk
from rpl.crosswalk_rules import Proposal
from rpl.errors import RplError
from rpl.organisations import Organisation
from rpl.proofs.dataintegrity import ProofOptions, add_proof, verify_proof
from rpl.schema import ensure_valid_achievement_credential
from rpl.services.credit import SYSTEM, load_crosswalk
from rpl.services.issuance import IssuePolicy, Keyring
from rpl.services.organisations import issuer_profile
from rpl.services.ports import UowFactory
from rpl.services.status import StatusAllocator
from rpl.storage.status import Allocation
from rpl.storage.unit_of_work import DuplicateError

# Status indexes are drawn at random: two runs drawing the same one is a one-in-a-hundred-thousand
# event, so a third collision in a row means something else is wrong.
_ATTEMPTS = 3
# One draw of status entries: the indexes (stored with the credential) and the entries (signed in).
_Draw = tuple[tuple[Allocation, ...], list[dict[str, Any]]]


class TranscriptNotVerifiedError(RplError):
    """What was just signed does not verify: never stored."""


@dataclass(frozen=True)
class _Signing:
    signer: Any
    public_key: bytes
    cryptosuite: str
    now: datetime

    def sign(self, document: dict[str, Any]) -> dict[str, Any]:
        created = clr.timestamp(self.now)
        signed = add_proof(
            document,
            ProofOptions(self.signer.verification_method, created=created),
            self.signer,
            self.cryptosuite,
        )
        checks = verify_proof(signed, lambda vm: self.public_key)
        if not checks or not all(c.verified for c in checks):
            raise TranscriptNotVerifiedError(
                f"{document.get('id')}: signed document fails to verify"
            )
        return signed


def course_achievement_id(public_url: str, org: Organisation, code: str) -> str:
    return f"{public_url}/orgs/{org.slug}/courses/{code}"


def _source_ref(item: BundleItem) -> SourceRef:
    doc = bundle.document_of(item.raw) or {}
    evidence = bundle.evidence_of(item)
    own_id = doc.get("id") if isinstance(doc.get("id"), str) and ":" in str(doc.get("id")) else None
    digest = hashlib.sha256(item.raw.encode("utf-8")).hexdigest()
    # Without an id of its own a source is named by the hash of what the student gave.
    fallback = f"urn:sha256:{digest}"
    return SourceRef(
        credential_id=own_id or fallback,
        achievement_id=evidence.achievement_id or own_id or fallback,
        name=evidence.name,
        verified=item.verified,
    )


def _narrative(grant: FinalGrant, crosswalk: Crosswalk) -> str:
    return (
        f"{grant.because}.\n\nRecognition of prior learning under {crosswalk.title} "
        f"({crosswalk.label}, digest {crosswalk.digest}), reviewed by an assessor."
    )


def _course_grants(
    public_url: str,
    org: Organisation,
    crosswalk: Crosswalk,
    grants: Sequence[FinalGrant],
    items: dict[str, BundleItem],
) -> list[CourseGrant]:
    return [
        CourseGrant(
            code=g.course,
            title=g.title,
            credits=g.credits,
            achievement_id=course_achievement_id(public_url, org, g.course),
            narrative=_narrative(g, crosswalk),
            sources=tuple(_source_ref(items[i]) for i in g.evidence_ids if i in items),
        )
        for g in grants
    ]


def _embeddable_sources(items: Sequence[BundleItem], used: set[str]) -> list[dict[str, Any]]:
    """Verified source credentials secured by an embedded proof: they travel inside the CLR, so a
    reader can check them too. A VC-JWT cannot be embedded as an object and is cited instead."""
    found = []
    for item in items:
        if item.id in used and item.verified and item.format == "json":
            doc = bundle.document_of(item.raw)
            if doc is not None and doc.get("proof"):
                found.append(doc)
    return found


def issue_credit(
    uow: UowFactory,
    keyring: Keyring,
    public_url: str,
    policy: IssuePolicy,
    request_id: str,
    now: datetime,
) -> bool:
    """Issue the credentials and the transcript of an accepted request; False if already issued."""
    for attempt in range(1, _ATTEMPTS + 1):
        with uow() as tx:
            request = tx.credit.get(request_id)
            if request.state is not CreditState.ACCEPTED:
                if request.state is CreditState.ISSUED:
                    return False
                next_state(request.id, request.state, CreditAction.ISSUE)  # raises: not accepted
            crosswalk = load_crosswalk(tx, request.crosswalk_id, request.crosswalk_version)
            org = tx.orgs.get(request.organisation_id)
            sealed = tx.orgs.active_key(org.id)
            signer = keyring.signer(public_url, org, sealed)
            draws = _draw_status(tx, public_url, policy, org, crosswalk, request)
        signing = _Signing(signer, sealed.public_key, policy.cryptosuite, now)
        awards, transcript = _build(public_url, org, crosswalk, request, signing, draws)
        try:
            return _store(uow, request_id, awards, transcript, draws, now)
        except DuplicateError:  # another run took one of the indexes meanwhile: draw again
            if attempt == _ATTEMPTS:
                raise
    raise AssertionError("unreachable")


def _draw_status(
    tx: Any,
    public_url: str,
    policy: IssuePolicy,
    org: Organisation,
    crosswalk: Crosswalk,
    request: CreditRequest,
) -> list[_Draw]:
    """Status entries for each course credential, then one for the transcript."""
    allocator = StatusAllocator(public_url, purposes=policy.status_purposes)
    grants = final_grants(
        crosswalk,
        Proposal.from_json(request.proposal or {}),
        [Adjustment.from_json(a) for a in request.adjustments],
    )
    return [allocator.draw(tx, org) for _ in range(len(grants) + 1)]


def _with_status(document: dict[str, Any], entries: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """OB 3.0 and CLR 2.0 allow one `credentialStatus`; several (suspension too) go as a list."""
    if not entries:
        return document
    status: Any = dict(entries[0]) if len(entries) == 1 else [dict(e) for e in entries]
    return {**document, "credentialStatus": status}


def _store(
    uow: UowFactory,
    request_id: str,
    awards: Sequence[tuple[str, dict[str, Any]]],
    transcript: dict[str, Any],
    draws: Sequence[_Draw],
    now: datetime,
) -> bool:
    """Awards, transcript and the move to `issued` in one transaction; False if another run
    got there first (compare-and-set on the request, unique (request, course) on awards)."""
    with uow() as tx:
        current = tx.credit.get(request_id)
        if current.state is not CreditState.ACCEPTED:
            return False
        for course, credential in awards:
            tx.credit.add_award(
                current.id,
                course,
                credential["id"],
                json.dumps(credential, ensure_ascii=False),
                now,
            )
        signed_ids = [c["id"] for _, c in awards] + [transcript["id"]]
        for credential_id, (allocations, _) in zip(signed_ids, draws, strict=True):
            for allocation in allocations:
                tx.status.allocate(allocation, credential_id, now)  # DuplicateError: index taken
        text = json.dumps(transcript, ensure_ascii=False, indent=2)
        data = {"transcript": transcript["id"], "courses": [c for c, _ in awards]}
        event = CreditEvent(
            "CreditIssued", SYSTEM, now, current.state.value, CreditState.ISSUED.value, None, data
        )
        updated = replace(
            current,
            state=CreditState.ISSUED,
            transcript_id=transcript["id"],
            transcript=text,
            events=(*current.events, event),
        )
        tx.credit.save(updated, now)
        data |= {"sha256": hashlib.sha256(text.encode("utf-8")).hexdigest()}
        tx.audit.append("CreditIssued", SYSTEM, f"credit_request:{current.id}", data, now)
        tx.commit()
    return True


def _build(
    public_url: str,
    org: Organisation,
    crosswalk: Crosswalk,
    request: CreditRequest,
    signing: _Signing,
    draws: Sequence[_Draw],
) -> tuple[list[tuple[str, dict[str, Any]]], dict[str, Any]]:
    items = {i["id"]: BundleItem.from_json(i) for i in request.items}
    proposal = Proposal.from_json(request.proposal or {})
    adjustments = [Adjustment.from_json(a) for a in request.adjustments]
    grants = _course_grants(
        public_url, org, crosswalk, final_grants(crosswalk, proposal, adjustments), items
    )
    institution = issuer_profile(public_url, org)
    learner = Learner(**request.learner)
    awards = []
    for grant, (_, entries) in zip(grants, draws, strict=False):
        unsigned = _with_status(
            clr.build_course_credential(
                grant, institution, learner, f"urn:uuid:{uuid.uuid4()}", signing.now
            ),
            entries,
        )
        ensure_valid_achievement_credential(unsigned)
        awards.append((grant.code, signing.sign(unsigned)))
    used = {i for g in final_grants(crosswalk, proposal, adjustments) for i in g.evidence_ids}
    held = [c for _, c in awards] + _embeddable_sources(list(items.values()), used)
    if not held:
        raise clr.TranscriptError(
            f"credit request {request.id!r} grants nothing: no transcript to issue"
        )
    unsigned_clr = _with_status(
        clr.build_clr(institution, learner, f"urn:uuid:{uuid.uuid4()}", grants, held, signing.now),
        draws[-1][1],
    )
    clr.ensure_valid_clr(unsigned_clr)
    return awards, signing.sign(unsigned_clr)
