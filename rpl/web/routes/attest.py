"""The attester's decision page. GET only shows (mail scanners pre-open links); only a POST decides."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse

from rpl.claims import InvalidClaimError
from rpl.services import attestation
from rpl.web.deps import ContainerDep, CsrfDep, UrlsDep
from rpl.web.forms import amendment_changes
from rpl.web.ratelimit import LinkRateDep
from rpl.web.render import page

router = APIRouter()


@router.get("/attest/{token}", response_class=HTMLResponse)
def show(request: Request, container: ContainerDep, token: str, _: LinkRateDep) -> HTMLResponse:
    view, link = attestation.open_attestation(container.uow, token, container.now())
    return page(request, "attest.html", view=view, link=link, token=token, problems={}, values={})


@router.post("/attest/{token}", response_class=HTMLResponse)
async def decide(
    request: Request,
    container: ContainerDep,
    urls: UrlsDep,
    token: str,
    _: CsrfDep,
    __: LinkRateDep,
    action: Annotated[str, Form()],
    attester_role: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
) -> HTMLResponse:
    view, link = attestation.open_attestation(container.uow, token, container.now())
    try:
        changes = {}
        if action == "amend":
            changes = amendment_changes(await request.form(), view.claim.details)
        decision = attestation.Decision(action, attester_role, reason, changes)
        decided = attestation.decide_attestation(
            container.uow,
            container.mailer,
            container.runner,
            urls,
            token,
            decision,
            container.now(),
        )
    except InvalidClaimError as err:
        return page(
            request,
            "attest.html",
            status_code=422,
            view=view,
            link=link,
            token=token,
            problems={k: list(v) for k, v in err.problems.items()},
            values=dict(await request.form()),
        )
    return page(request, "attest_done.html", claim=decided, organisation=view.organisation)
