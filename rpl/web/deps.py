"""The web layer's dependencies, as `Annotated` aliases: handlers ask for what they need by name."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from fastapi.templating import Jinja2Templates

from rpl import access
from rpl.accounts import Account, Role
from rpl.claims import Claim
from rpl.errors import RplError
from rpl.organisations import Organisation
from rpl.services import accounts, inbox, records
from rpl.services.attestation import Urls
from rpl.storage.unit_of_work import UnknownClaimError
from rpl.web.security import check_csrf
from rpl.web.sessions import session_id


class NotAuthorisedError(RplError):
    """The request lacks the credentials this operation needs."""


def get_container(request: Request) -> Any:
    return request.app.state.container


def get_templates(request: Request) -> Jinja2Templates:
    return request.app.state.templates  # type: ignore[no-any-return]


def get_urls(request: Request) -> Urls:
    return Urls(request.app.state.container.settings.public_url)


def require_admin(request: Request, authorization: Annotated[str, Header()] = "") -> None:
    expected = request.app.state.container.settings.admin_token
    sent = authorization.removeprefix("Bearer ").strip()
    if not expected or not sent or not hmac.compare_digest(expected, sent):
        raise NotAuthorisedError("this needs the administrator's token (RPL_ADMIN_TOKEN)")


def bearer_token(authorization: Annotated[str, Header()] = "") -> str:
    token = authorization.removeprefix("Bearer ").strip()
    if not token:
        raise NotAuthorisedError("send the claim's private token as 'Authorization: Bearer …'")
    return token


ContainerDep = Annotated[Any, Depends(get_container)]
TemplatesDep = Annotated[Jinja2Templates, Depends(get_templates)]
UrlsDep = Annotated[Urls, Depends(get_urls)]
AdminDep = Annotated[None, Depends(require_admin)]
BearerDep = Annotated[str, Depends(bearer_token)]
CsrfDep = Annotated[None, Depends(check_csrf)]


# --- who is asking, and what they may do (the policy itself is rpl.access) -----------------------


def _operator_token(request: Request, sent: str) -> bool:
    expected = request.app.state.container.settings.admin_token
    return bool(expected and sent and hmac.compare_digest(expected.encode(), sent.encode()))


def get_actor(request: Request) -> access.Actor:
    """The actor behind this request, worked out once per request.

    `Authorization: Bearer` (the operator's token or a personal API token) counts everywhere;
    the session cookie only on pages, so a browser's session never authorises an API call.
    """
    cached = getattr(request.state, "actor", None)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    container = request.app.state.container
    actor = access.ANONYMOUS
    sent = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
    if _operator_token(request, sent):
        actor = access.OPERATOR
    elif sent.startswith(accounts.API_TOKEN_PREFIX):
        actor = accounts.token_actor(container.uow, sent, container.now())
    elif not request.url.path.startswith("/api/"):
        sid = session_id(request)
        if sid:
            actor = accounts.session_actor(container.uow, sid, container.now())
    request.state.actor = actor
    return actor


ActorDep = Annotated[access.Actor, Depends(get_actor)]


def current_account(actor: ActorDep) -> Account | None:
    return actor.account


def require_signed_in(actor: ActorDep) -> Account:
    """Pages: a 303 to /sign-in?next=… (see rpl.web.errors); the API: 401 JSON."""
    if actor.account is None:
        raise access.NotSignedInError("sign in to see this page")
    return actor.account


def require_operator(actor: ActorDep) -> access.Actor:
    access.require_operator(actor)
    return actor


def session_ttl(request: Request) -> timedelta:
    return timedelta(days=request.app.state.container.settings.session_days)


@dataclass(frozen=True)
class OrgAccess:
    """An organisation-scoped route's organisation and the actor allowed to act on it."""

    org: Organisation
    actor: access.Actor


def org_role(role: Role) -> Callable[..., OrgAccess]:
    """A dependency for routes with a `slug` path parameter: the actor must hold `role` there."""

    def dependency(slug: str, request: Request, actor: ActorDep) -> OrgAccess:
        with request.app.state.container.uow() as tx:
            org = tx.orgs.by_slug(slug)
        access.require_role(actor, org, role)
        return OrgAccess(org, actor)

    return dependency


def credential_admin(credential_id: str, request: Request, actor: ActorDep) -> OrgAccess:
    """For credential routes: the actor must be the admin of the organisation that issued it."""
    record = records.get_credential(request.app.state.container.uow, credential_id)
    access.require_role(actor, record.organisation, Role.ADMIN)
    return OrgAccess(record.organisation, actor)


async def credential_page_admin(credential_id: str, request: Request, actor: ActorDep) -> OrgAccess:
    """The credential admin page: its organisation's admin, or the operator's token in the form."""
    record = records.get_credential(request.app.state.container.uow, credential_id)
    if access.is_org_admin(actor, record.organisation):
        return OrgAccess(record.organisation, actor)
    sent = str((await request.form()).get("admin_token") or "").strip()
    if _operator_token(request, sent):
        return OrgAccess(record.organisation, access.OPERATOR)
    if sent:
        raise NotAuthorisedError("that is not the admin token")
    access.require_role(actor, record.organisation, Role.ADMIN)  # raises: signed out, or not admin
    return OrgAccess(record.organisation, actor)


@dataclass(frozen=True)
class HeldClaim:
    claim: Claim
    actor: access.Actor


def claim_holder(claim_id: str, request: Request, actor: ActorDep) -> HeldClaim:
    """For claim routes: only the claim's holder (its claimant, signed in) gets past."""
    view = inbox.claim_view(request.app.state.container.uow, claim_id)
    if not access.is_holder(actor, view.claim):
        if not actor.known:
            raise access.NotSignedInError("sign in to see your claim")
        # Not "forbidden": someone else's claim is, to this actor, a claim that does not exist.
        raise UnknownClaimError(f"no claim with id {claim_id!r}")
    return HeldClaim(view.claim, actor)


CurrentAccountDep = Annotated[Account | None, Depends(current_account)]
SignedInDep = Annotated[Account, Depends(require_signed_in)]
OperatorDep = Annotated[access.Actor, Depends(require_operator)]
OrgAdminDep = Annotated[OrgAccess, Depends(org_role(Role.ADMIN))]
OrgAttesterDep = Annotated[OrgAccess, Depends(org_role(Role.ATTESTER))]
OrgAssessorDep = Annotated[OrgAccess, Depends(org_role(Role.ASSESSOR))]
CredentialAdminDep = Annotated[OrgAccess, Depends(credential_admin)]
CredentialPageAdminDep = Annotated[OrgAccess, Depends(credential_page_admin)]
HolderDep = Annotated[HeldClaim, Depends(claim_holder)]
SessionTtlDep = Annotated[timedelta, Depends(session_ttl)]
