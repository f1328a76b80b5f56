"""The assessor's pages: an institution's queue of credit requests, and the review of one (adjust,
accept, reject).

Only an assessor of the organisation in the path gets past `OrgAssessorDep` (rpl.access: an
active assessor membership; being its admin, or the site operator, is not enough — granting
credit is the assessor's call). Another organisation's request is, to them, one that does not
exist (404). Pages take the session cookie and a CSRF token like the other organisation pages;
a personal API token as `Authorization: Bearer` is accepted too. Each decision names the
assessor's account in the request's events and the audit log.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from rpl.credit import Adjustment, CreditState, InvalidAdjustmentError
from rpl.services import credit
from rpl.web.deps import ContainerDep, CsrfDep, OrgAccess, OrgAssessorDep
from rpl.web.render import page

router = APIRouter()
_STATES = (CreditState.AWAITING_ASSESSOR, CreditState.ACCEPTED)


def _path(assessor: OrgAccess, request_id: str = "") -> str:
    base = f"/orgs/{assessor.org.slug}/assess/credit"
    return f"{base}/{request_id}" if request_id else base


@router.get("/orgs/{slug}/assess/credit", response_class=HTMLResponse)
def assess_queue(
    request: Request, container: ContainerDep, assessor: OrgAssessorDep
) -> HTMLResponse:
    requests = credit.assessor_queue(container.uow, _STATES, organisation_id=assessor.org.id)
    return page(
        request, "assess_queue.html", org=assessor.org, requests=requests, base=_path(assessor)
    )


def _assess_page(
    request: Request,
    container: Any,
    assessor: OrgAccess,
    request_id: str,
    status_code: int = 200,
    values: dict[str, Any] | None = None,
    problems: dict[str, list[str]] | None = None,
) -> HTMLResponse:
    view = credit.credit_for_assessor(container.uow, request_id, assessor.org.id)
    return page(
        request,
        "credit_view.html",
        status_code=status_code,
        view=view,
        assessor=True,
        form_action=_path(assessor, request_id),
        queue=_path(assessor),
        values=values or {},
        problems=problems or {},
    )


@router.get("/orgs/{slug}/assess/credit/{request_id}", response_class=HTMLResponse)
def assess_request(
    request: Request, container: ContainerDep, assessor: OrgAssessorDep, request_id: str
) -> HTMLResponse:
    return _assess_page(request, container, assessor, request_id)


@router.post("/orgs/{slug}/assess/credit/{request_id}", response_model=None)
async def assess_decide(
    request: Request,
    container: ContainerDep,
    assessor: OrgAssessorDep,
    request_id: str,
    _: CsrfDep,
    decision: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
    course: Annotated[str, Form()] = "",
    change: Annotated[str, Form()] = "add",
    credits: Annotated[str, Form()] = "",
) -> Response:
    form = await request.form()
    evidence_ids = tuple(str(v) for v in form.getlist("evidence_ids"))
    values = {"decision": decision, "reason": reason, "course": course, "change": change}
    values |= {"credits": credits, "evidence_ids": list(evidence_ids)}
    try:
        _decide(container, assessor, request_id, values, evidence_ids)
    except (InvalidAdjustmentError, credit.InvalidBundleError) as err:
        return _assess_page(request, container, assessor, request_id, 422, values, err.problems)
    return RedirectResponse(_path(assessor, request_id), status_code=303)


def _decide(
    container: Any,
    assessor: OrgAccess,
    request_id: str,
    values: dict[str, Any],
    evidence_ids: tuple[str, ...],
) -> None:
    actor, org_id, now = assessor.actor.label("assessor"), assessor.org.id, container.now()
    decision = values["decision"]
    if decision == "adjust":
        amount = _credits(values["credits"]) if values["change"] == "add" else None
        adjustment = Adjustment(
            values["change"], values["course"], values["reason"], amount, evidence_ids
        )
        credit.adjust_credit(container.uow, request_id, adjustment, actor, now, org_id)
    elif decision in ("accept", "reject"):
        accept = decision == "accept"
        credit.decide_credit(
            container.uow, request_id, accept, actor, values["reason"], now, org_id
        )
        if accept:
            container.runner.issue_credit(request_id)
    else:
        raise credit.InvalidBundleError(
            {"decision": [f"{decision!r} is not accept, adjust or reject"]}
        )


def _credits(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise InvalidAdjustmentError(
            {"credits": [f"{text!r} is not a number of credits"]}
        ) from None
