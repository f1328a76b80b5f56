"""Organisation members (admin), the attester inbox (attester) and the holder's own list (holder).

Who may use each route is said by its dependency (rpl.web.deps → rpl.access); handlers only read
input, call one service and render.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel

from rpl import access
from rpl.accounts import ROLE_NAMES, InvalidMembershipError, Membership, Role
from rpl.claims import InvalidClaimError
from rpl.services import attestation, credit, holder, inbox, members
from rpl.web.deps import ContainerDep, CsrfDep, HolderDep, OrgAdminDep, OrgAttesterDep, SignedInDep
from rpl.web.forms import amendment_changes
from rpl.web.render import page
from rpl.web.schemas import ErrorOut

router = APIRouter()
API_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut} for code in (401, 403, 404, 409, 422)
}


class MemberIn(BaseModel):
    email: str
    role: Role
    title: str = ""


class RemovalIn(BaseModel):
    reason: str


class MemberOut(BaseModel):
    id: int
    email: str
    role: str
    title: str
    added_by: str
    added_at: str
    removed_at: str | None


def _out(m: Membership) -> MemberOut:
    assert m.id is not None
    return MemberOut(
        id=m.id,
        email=m.email,
        role=m.role.value,
        title=m.title,
        added_by=m.added_by,
        added_at=m.added_at.isoformat(),
        removed_at=m.removed_at.isoformat() if m.removed_at else None,
    )


# --- members: pages ---------------------------------------------------------------------------


@router.get("/orgs/{slug}/members", response_class=HTMLResponse)
def members_page(request: Request, container: ContainerDep, admin: OrgAdminDep) -> HTMLResponse:
    return _members(request, container, admin.org)


def _members(
    request: Request,
    container: Any,
    org: Any,
    status_code: int = 200,
    problems: dict[str, list[str]] | None = None,
    values: dict[str, str] | None = None,
) -> HTMLResponse:
    found = members.list_members(container.uow, org, include_removed=True)
    return page(
        request,
        "members.html",
        status_code,
        org=org,
        members=found,
        roles=ROLE_NAMES,
        problems=problems or {},
        values=values or {},
    )


@router.post("/orgs/{slug}/members", response_model=None)
def invite_member(
    request: Request,
    container: ContainerDep,
    admin: OrgAdminDep,
    _: CsrfDep,
    email: Annotated[str, Form()] = "",
    role: Annotated[str, Form()] = "attester",
    title: Annotated[str, Form()] = "",
) -> HTMLResponse | RedirectResponse:
    try:
        members.add_member(
            container.uow,
            container.mailer,
            container.settings.public_url,
            admin.org,
            email,
            role,
            title,
            admin.actor.label(),
            container.now(),
        )
    except InvalidMembershipError as err:
        values = {"email": email, "role": role, "title": title}
        problems = {k: [v] for k, v in err.problems.items()}
        return _members(request, container, admin.org, 422, problems, values)
    return RedirectResponse(f"/orgs/{admin.org.slug}/members", status_code=303)


@router.post("/orgs/{slug}/members/{membership_id}/remove", response_model=None)
def remove_member(
    request: Request,
    container: ContainerDep,
    admin: OrgAdminDep,
    membership_id: int,
    _: CsrfDep,
    reason: Annotated[str, Form()] = "",
) -> HTMLResponse | RedirectResponse:
    try:
        members.remove_member(
            container.uow, admin.org, membership_id, reason, admin.actor.label(), container.now()
        )
    except InvalidMembershipError as err:
        problems = {f"reason-{membership_id}": [v] for v in err.problems.values()}
        return _members(request, container, admin.org, 422, problems)
    return RedirectResponse(f"/orgs/{admin.org.slug}/members", status_code=303)


# --- members: API -----------------------------------------------------------------------------


@router.get(
    "/api/organisations/{slug}/members",
    response_model=list[MemberOut],
    tags=["api"],
    responses=API_ERRORS,
)
def list_members_api(container: ContainerDep, admin: OrgAdminDep) -> Any:
    return [_out(m) for m in members.list_members(container.uow, admin.org, True)]


@router.post(
    "/api/organisations/{slug}/members",
    status_code=201,
    response_model=MemberOut,
    tags=["api"],
    responses=API_ERRORS,
)
def add_member_api(body: MemberIn, container: ContainerDep, admin: OrgAdminDep) -> Any:
    added = members.add_member(
        container.uow,
        container.mailer,
        container.settings.public_url,
        admin.org,
        body.email,
        body.role.value,
        body.title,
        admin.actor.label(),
        container.now(),
    )
    return _out(added)


@router.post(
    "/api/organisations/{slug}/members/{membership_id}/remove",
    response_model=MemberOut,
    tags=["api"],
    responses=API_ERRORS,
)
def remove_member_api(
    membership_id: int, body: RemovalIn, container: ContainerDep, admin: OrgAdminDep
) -> Any:
    removed = members.remove_member(
        container.uow, admin.org, membership_id, body.reason, admin.actor.label(), container.now()
    )
    return _out(removed)


# --- the attester inbox -----------------------------------------------------------------------


@router.get("/orgs/{slug}/claims", response_class=HTMLResponse)
def inbox_page(request: Request, container: ContainerDep, attester: OrgAttesterDep) -> HTMLResponse:
    views = inbox.attester_inbox(container.uow, attester.org)
    return page(request, "inbox.html", org=attester.org, views=views)


def _inbox_claim(container: Any, attester: Any, claim_id: str) -> attestation.ClaimView:
    view = inbox.claim_view(container.uow, claim_id)
    access.require(attester.actor, access.Operation.VIEW_CLAIM, attester.org, view.claim)
    return view


@router.get("/orgs/{slug}/claims/{claim_id}", response_class=HTMLResponse)
def inbox_claim(
    request: Request, container: ContainerDep, attester: OrgAttesterDep, claim_id: str
) -> HTMLResponse:
    view = _inbox_claim(container, attester, claim_id)
    return _decision_page(request, attester, view)


def _decision_page(
    request: Request,
    attester: Any,
    view: attestation.ClaimView,
    status_code: int = 200,
    problems: dict[str, list[str]] | None = None,
    values: dict[str, Any] | None = None,
) -> HTMLResponse:
    titles = [m.title for m in attester.actor.memberships if m.organisation_id == attester.org.id]
    return page(
        request,
        "attest.html",
        status_code,
        view=view,
        link=None,
        token=None,
        form_action=f"/orgs/{attester.org.slug}/claims/{view.claim.id}",
        problems=problems or {},
        values=values or {"attester_role": titles[0] if titles else ""},
    )


@router.post("/orgs/{slug}/claims/{claim_id}", response_class=HTMLResponse)
async def inbox_decide(
    request: Request,
    container: ContainerDep,
    attester: OrgAttesterDep,
    claim_id: str,
    _: CsrfDep,
    action: Annotated[str, Form()],
    attester_role: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
) -> HTMLResponse:
    view = _inbox_claim(container, attester, claim_id)
    access.require(attester.actor, access.Operation.DECIDE_CLAIM, attester.org, view.claim)
    assert attester.actor.email is not None  # an attester is always an account
    try:
        changes = {}
        if action == "amend":
            changes = amendment_changes(await request.form(), view.claim.details)
        decided = attestation.decide_as_attester(
            container.uow,
            container.mailer,
            container.runner,
            attester.actor.email,
            claim_id,
            attestation.Decision(action, attester_role, reason, changes),
            container.now(),
        )
    except InvalidClaimError as err:
        problems = {k: list(v) for k, v in err.problems.items()}
        return _decision_page(request, attester, view, 422, problems, dict(await request.form()))
    return page(request, "attest_done.html", claim=decided, organisation=view.organisation)


# --- the holder's own records -----------------------------------------------------------------


@router.get("/my", response_class=HTMLResponse)
def my_records(request: Request, container: ContainerDep, account: SignedInDep) -> HTMLResponse:
    views = inbox.holder_claims(container.uow, account.email)
    requests = credit.requests_of_account(container.uow, account.email)
    held = holder.imported_records(container.uow, account)
    return page(
        request, "my.html", account=account, views=views, credit_requests=requests, held=held
    )


@router.get("/my/claims/{claim_id}", response_class=HTMLResponse)
def my_claim(request: Request, container: ContainerDep, held: HolderDep) -> HTMLResponse:
    view = inbox.claim_view(container.uow, held.claim.id)
    return page(request, "claim.html", view=view, token=None)
