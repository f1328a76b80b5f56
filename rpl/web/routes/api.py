"""The JSON API: the same actions as the pages, for machines. Documented at /docs and /openapi.json."""

from __future__ import annotations

import base64
import binascii
import dataclasses
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from rpl.claims import ClaimDetails, ClaimKind, EvidenceFile, InvalidClaimError, Skill
from rpl.organisations import Attester
from rpl.securing import media_type
from rpl.services import attestation, keys, organisations, records, reissue
from rpl.services.issuance import IssuePolicy
from rpl.web.deps import BearerDep, ContainerDep, OperatorDep, OrgAdminDep, UrlsDep
from rpl.web.forms import read_date
from rpl.web.ratelimit import LinkRateDep, VerifyRateDep
from rpl.web.schemas import (
    AmendmentAnswerIn,
    ClaimIn,
    ClaimOut,
    CompromiseIn,
    CompromiseOut,
    DecisionIn,
    ErrorOut,
    KeyOut,
    OrganisationIn,
    OrganisationOut,
    ReissueOut,
    SubmittedOut,
    VerificationOut,
    claim_out,
)

ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut} for code in (401, 403, 404, 409, 410, 413, 415, 422, 429)
}
router = APIRouter(prefix="/api", tags=["api"], responses=ERRORS)


@router.post("/organisations", status_code=201, response_model=OrganisationOut)
def register_organisation(body: OrganisationIn, container: ContainerDep, _: OperatorDep) -> Any:
    command = organisations.RegisterOrganisation(
        name=body.name,
        domain=body.domain,
        url=body.url,
        slug=body.slug,
        email=body.email,
        description=body.description,
        attesters=tuple(Attester(a.email, a.title) for a in body.attesters),
        domain_verified=body.domain_verified,
    )
    org = organisations.register_organisation(
        container.uow, container.keystore or container.master_key, command, container.now()
    )
    return _org_out(container, org)


@router.get("/organisations", response_model=list[OrganisationOut])
def list_organisations(container: ContainerDep) -> Any:
    with container.uow() as tx:
        return [_org_out(container, org) for org in tx.orgs.list()]


@router.post("/organisations/{slug}/keys", status_code=201, response_model=KeyOut)
def rotate_key(slug: str, container: ContainerDep, admin: OrgAdminDep) -> Any:
    """Give the organisation a new signing key; the old one is retired but stays in its DID."""
    key_id = keys.rotate_key(
        container.uow,
        container.keystore or container.master_key,
        slug,
        container.now(),
        actor=admin.actor.label(),
    )
    with container.uow() as tx:
        did = organisations.organisation_did(container.settings.public_url, tx.orgs.by_slug(slug))
    return KeyOut(key_id=key_id, verification_method=f"{did}#{key_id}", state="active")


@router.post("/organisations/{slug}/keys/{key_id}/compromise", response_model=CompromiseOut)
def compromise_key(
    slug: str, key_id: str, body: CompromiseIn, container: ContainerDep, admin: OrgAdminDep
) -> Any:
    """Mark a retired key compromised and revoke every credential it signed."""
    report = keys.compromise_key(
        container.status_publisher(),
        slug,
        key_id,
        body.reason,
        container.now(),
        admin.actor.label(),
    )
    return CompromiseOut(
        key_id=report.key_id,
        newly_marked=report.newly_marked,
        revoked=report.revoked,
        already_revoked=report.already_revoked,
        failed=report.failed,
    )


@router.post("/organisations/{slug}/keys/{key_id}/reissue", response_model=ReissueOut)
def reissue_compromised(
    slug: str, key_id: str, container: ContainerDep, admin: OrgAdminDep
) -> Any:  # access: org admin
    """Re-issue, with the active key, every credential the compromised key signed (except those
    the organisation revoked for its own reasons). Safe to repeat: nothing is issued twice."""
    settings = container.settings
    report = reissue.reissue_compromised(
        container.status_publisher(),
        container.mailer,
        IssuePolicy(settings.cryptosuite, settings.status_purposes),
        slug,
        key_id,
        container.now(),
        admin.actor.label(),
        batch_size=settings.issue_batch_size,
    )
    return ReissueOut(**dataclasses.asdict(report))


def _org_out(container: Any, org: Any) -> OrganisationOut:
    did = organisations.organisation_did(container.settings.public_url, org)
    return OrganisationOut(id=org.id, slug=org.slug, name=org.name, domain=org.domain, did=did)


@router.post("/claims", status_code=201, response_model=SubmittedOut)
def submit_claim(body: ClaimIn, container: ContainerDep, urls: UrlsDep) -> Any:
    with container.uow() as tx:
        org = tx.orgs.by_slug(body.organisation)
    evidence = tuple(_store_evidence(container, item) for item in body.evidence)
    problems: dict[str, list[str]] = {}
    start = read_date(body.start, "start", problems, required=True)
    end = read_date(body.end or "", "end", problems, required=False)
    if problems:
        raise InvalidClaimError(problems)
    details = ClaimDetails(
        kind=ClaimKind(body.kind),
        claimant_name=body.claimant_name,
        claimant_email=body.claimant_email,
        claimant_did=body.claimant_did,
        organisation_id=org.id,
        role=body.role,
        start=start,
        end=end,
        hours=body.hours,
        fte=body.fte,
        description=body.description,
        evidence=evidence,
        skills=tuple(Skill(**s.model_dump()) for s in body.skills),
        attester_email=body.attester_email,
    )
    submitted = attestation.submit_claim(
        container.uow, container.mailer, container.runner, urls, details, container.now()
    )
    return SubmittedOut(
        claim_id=submitted.claim_id,
        token=submitted.claimant_token,
        claimant_url=urls.claimant(submitted.claimant_token),
    )


def _store_evidence(container: Any, item: Any) -> EvidenceFile:
    try:
        content = base64.b64decode(item.content_base64, validate=True)
    except (binascii.Error, ValueError) as err:
        raise InvalidClaimError({"evidence": [f"{item.filename}: not valid base64"]}) from err
    stored = container.files.put([content], container.settings.max_upload_bytes, item.filename)
    return EvidenceFile(
        name=item.name,
        description=item.description,
        sha256=stored.sha256,
        media_type=stored.media_type,
        size=stored.size,
        filename=item.filename,
    )


@router.get("/claims/{claim_id}", response_model=ClaimOut)
def get_claim(claim_id: str, token: BearerDep, container: ContainerDep, urls: UrlsDep) -> Any:
    view = attestation.claim_for_claimant(container.uow, token)
    if view.claim.id != claim_id:
        raise attestation.UnknownLinkError("this token does not belong to that claim")
    return claim_out(view.claim, urls)


@router.post("/claims/{claim_id}/amendment", response_model=ClaimOut)
def answer_amendment(
    claim_id: str,
    body: AmendmentAnswerIn,
    token: BearerDep,
    container: ContainerDep,
    urls: UrlsDep,
) -> Any:
    view = attestation.claim_for_claimant(container.uow, token)
    if view.claim.id != claim_id:
        raise attestation.UnknownLinkError("this token does not belong to that claim")
    claim = attestation.answer_amendment(
        container.uow, container.runner, token, body.accept, body.reason, container.now()
    )
    return claim_out(claim, urls)


@router.get("/attestations/{token}", response_model=ClaimOut)
def show_attestation(token: str, container: ContainerDep, urls: UrlsDep, _: LinkRateDep) -> Any:
    view, _ = attestation.open_attestation(container.uow, token, container.now())
    return claim_out(view.claim, urls)


@router.post("/attestations/{token}", response_model=ClaimOut)
def decide_attestation(
    token: str, body: DecisionIn, container: ContainerDep, urls: UrlsDep, _: LinkRateDep
) -> Any:
    changes: dict[str, Any] = {}
    if body.changes:
        raw = body.changes.model_dump(exclude_unset=True)
        problems: dict[str, list[str]] = {}
        for key in ("start", "end"):
            if key in raw:
                raw[key] = read_date(raw[key] or "", key, problems, required=key == "start")
        if problems:
            raise InvalidClaimError(problems)
        changes = raw
    decision = attestation.Decision(body.action, body.attester_role, body.reason, changes)
    claim = attestation.decide_attestation(
        container.uow, container.mailer, container.runner, urls, token, decision, container.now()
    )
    return claim_out(claim, urls)


@router.get(
    "/credentials/{credential_id}",
    response_class=Response,
    responses={200: {"content": {"application/vc+ld+json": {}}}},
)
def get_credential(credential_id: str, container: ContainerDep) -> Response:
    record = records.get_credential(container.uow, credential_id)
    return Response(record.stored.document, media_type=media_type(record.stored.document))


@router.post(
    "/verify",
    response_model=VerificationOut,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    },
)
async def verify(request: Request, container: ContainerDep, _: VerifyRateDep) -> Any:
    """Verify a credential sent as the request body. Raw bytes are read, so duplicate keys are seen."""
    body = await request.body()
    result = records.verify(container.resolver(), body, container.now(), container.status_lists())
    return JSONResponse(result.to_json())
