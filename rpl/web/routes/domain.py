"""Domain proof over the API: the challenge to publish, and asking rpl to check it."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from rpl.domain_lookup import DomainLookups
from rpl.services import domain_proof
from rpl.web.deps import ContainerDep, OrgAdminDep
from rpl.web.schemas import ErrorOut

router = APIRouter(
    prefix="/api/organisations/{slug}/domain",
    tags=["api"],
    responses={code: {"model": ErrorOut} for code in (401, 403, 404, 422)},
)


class ChallengeOut(BaseModel):
    domain: str
    verified_at: datetime | None
    token: str = Field(description="Publish this exact text by either method")
    dns_name: str = Field(description="A TXT record here holding the token proves the domain")
    url: str = Field(description="Or a file here (served over HTTPS, no redirect) holding it")


class VerifyIn(BaseModel):
    method: Literal["dns", "http"] = "dns"


class VerificationOut(BaseModel):
    method: str
    proved: bool
    detail: str
    verified_at: datetime | None
    resumed: int = Field(description="Confirmed claims handed on to be issued now")


@router.get("", response_model=ChallengeOut)
def show_challenge(slug: str, container: ContainerDep, _: OrgAdminDep) -> Any:
    challenge = domain_proof.show_challenge(container.uow, slug, container.now())
    with container.uow() as tx:
        verified_at = tx.orgs.by_slug(slug).domain_verified_at
    return ChallengeOut(
        domain=challenge.domain,
        verified_at=verified_at,
        token=challenge.token,
        dns_name=challenge.dns_name,
        url=challenge.url,
    )


@router.post("/verify", response_model=VerificationOut)
def verify_domain(slug: str, body: VerifyIn, container: ContainerDep, admin: OrgAdminDep) -> Any:
    """Look for the token now; a failed look is an answer (`proved: false`), not an error."""
    lookups = getattr(container, "domain_lookups", None) or DomainLookups()
    result = domain_proof.verify_domain(
        container.uow,
        container.runner,
        lookups,
        slug,
        body.method,
        container.now(),
        admin.actor.label(),
    )
    return VerificationOut(
        method=result.outcome.method.value,
        proved=result.outcome.proved,
        detail=result.outcome.detail,
        verified_at=result.verified_at,
        resumed=len(result.resumed),
    )
