"""Credit for prior learning: the student's bundle and view, the assessor's queue and decisions,
and crosswalks in and out.

The student's pages are reached by a private link (`/credit/my/<token>`, only the token's hash is
stored), like a claimant's `/my/<token>`. Until accounts land, an assessor is whoever holds the
admin token (RPL_ADMIN_TOKEN, as a bearer token).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.datastructures import UploadFile

from rpl import crosswalk_io
from rpl.credit import Adjustment, CreditState, InvalidAdjustmentError
from rpl.crosswalk import CrosswalkError
from rpl.services import credit
from rpl.web.deps import AdminDep, ContainerDep, CsrfDep, OrgAdminDep
from rpl.web.render import page

router = APIRouter()
ASSESSOR_ACTOR = "assessor:admin-token"
_STATES = (CreditState.AWAITING_ASSESSOR, CreditState.ACCEPTED)


# --- the student -----------------------------------------------------------------------------------


def _crosswalks(container: Any) -> list[Any]:
    with container.uow() as tx:
        latest = {c.crosswalk_id: c for c in tx.credit.crosswalks()}
    return list(latest.values())


def _new_page(
    request: Request,
    container: Any,
    status_code: int = 200,
    values: dict[str, str] | None = None,
    problems: dict[str, list[str]] | None = None,
) -> HTMLResponse:
    return page(
        request,
        "credit_new.html",
        status_code=status_code,
        crosswalks=_crosswalks(container),
        values=values or {},
        problems=problems or {},
    )


@router.get("/credit/new", response_class=HTMLResponse)
def credit_new(request: Request, container: ContainerDep) -> HTMLResponse:
    # access: holder (anyone may bring a bundle; what they hold here is named by its private link)
    return _new_page(request, container)


async def _command(request: Request) -> tuple[credit.SubmitBundle, dict[str, str]]:
    form = await request.form()
    values = {
        k: str(form.get(k) or "")
        for k in ("crosswalk_id", "learner_name", "learner_email", "held", "pasted")
    }
    external: list[tuple[str, str, bytes]] = []
    for upload in form.getlist("files"):
        if isinstance(upload, UploadFile) and upload.filename:
            external.append(("upload", upload.filename, await upload.read()))
    if values["pasted"].strip():
        external.append(("paste", "pasted", values["pasted"].strip().encode("utf-8")))
    command = credit.SubmitBundle(
        crosswalk_id=values["crosswalk_id"],
        learner_name=values["learner_name"],
        learner_email=values["learner_email"],
        held=tuple(line for line in values["held"].splitlines() if line.strip()),
        external=tuple(external),
    )
    return command, values


@router.post("/credit/new", response_model=None)
async def credit_submit(request: Request, container: ContainerDep, _: CsrfDep) -> Response:
    # access: holder
    command, values = await _command(request)
    try:
        request_id, token = credit.submit_bundle(container.uow, command, container.now())
    except credit.InvalidBundleError as err:
        return _new_page(request, container, 422, values, err.problems)
    container.runner.evaluate_credit(request_id)
    return RedirectResponse(f"/credit/my/{token}", status_code=303)


@router.get("/credit/my/{token}", response_class=HTMLResponse)
def credit_mine(request: Request, container: ContainerDep, token: str) -> HTMLResponse:
    # access: holder (the private link is the key)
    view = credit.credit_for_holder(container.uow, token)
    return page(request, "credit_view.html", view=view, token=token, assessor=False)


@router.get("/credit/my/{token}/transcript.json", response_model=None)
def credit_transcript(container: ContainerDep, token: str) -> Response:
    # access: holder
    view = credit.credit_for_holder(container.uow, token)
    if not view.request.transcript:
        return JSONResponse({"detail": "no transcript has been issued yet"}, status_code=404)
    headers = {"Content-Disposition": 'attachment; filename="transcript.json"'}
    return Response(view.request.transcript, media_type="application/vc+ld+json", headers=headers)


# --- the assessor ----------------------------------------------------------------------------------


@router.get("/assess/credit", response_class=HTMLResponse)
def assess_queue(request: Request, container: ContainerDep, _: AdminDep) -> HTMLResponse:
    # access: assessor
    return page(
        request, "assess_queue.html", requests=credit.assessor_queue(container.uow, _STATES)
    )


def _assess_page(
    request: Request,
    container: Any,
    request_id: str,
    status_code: int = 200,
    values: dict[str, Any] | None = None,
    problems: dict[str, list[str]] | None = None,
) -> HTMLResponse:
    view = credit.credit_for_assessor(container.uow, request_id)
    return page(
        request,
        "credit_view.html",
        status_code=status_code,
        view=view,
        assessor=True,
        values=values or {},
        problems=problems or {},
    )


@router.get("/assess/credit/{request_id}", response_class=HTMLResponse)
def assess_request(
    request: Request, container: ContainerDep, request_id: str, _: AdminDep
) -> HTMLResponse:
    # access: assessor
    return _assess_page(request, container, request_id)


@router.post("/assess/credit/{request_id}", response_model=None)
async def assess_decide(
    request: Request,
    container: ContainerDep,
    request_id: str,
    _: AdminDep,
    __: CsrfDep,
    decision: Annotated[str, Form()],
    reason: Annotated[str, Form()] = "",
    course: Annotated[str, Form()] = "",
    change: Annotated[str, Form()] = "add",
    credits: Annotated[str, Form()] = "",
) -> Response:
    # access: assessor
    form = await request.form()
    evidence_ids = tuple(str(v) for v in form.getlist("evidence_ids"))
    values = {
        "decision": decision,
        "reason": reason,
        "course": course,
        "change": change,
        "credits": credits,
    }
    now = container.now()
    try:
        if decision == "adjust":
            amount = _credits(credits) if change == "add" else None
            adjustment = Adjustment(change, course, reason, amount, evidence_ids)
            credit.adjust_credit(container.uow, request_id, adjustment, ASSESSOR_ACTOR, now)
        elif decision in ("accept", "reject"):
            credit.decide_credit(
                container.uow, request_id, decision == "accept", ASSESSOR_ACTOR, reason, now
            )
            if decision == "accept":
                container.runner.issue_credit(request_id)
        else:
            raise credit.InvalidBundleError(
                {"decision": [f"{decision!r} is not accept, adjust or reject"]}
            )
    except (InvalidAdjustmentError, credit.InvalidBundleError) as err:
        return _assess_page(request, container, request_id, 422, values, err.problems)
    return RedirectResponse(f"/assess/credit/{request_id}", status_code=303)


def _credits(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise InvalidAdjustmentError(
            {"credits": [f"{text!r} is not a number of credits"]}
        ) from None


# --- crosswalks as data ---------------------------------------------------------------------------


@router.get("/api/credit/crosswalks", tags=["credit"])
def list_crosswalks(container: ContainerDep) -> list[dict[str, Any]]:
    """Published crosswalk versions: id, version, digest. Crosswalks are open: anyone may read."""
    with container.uow() as tx:
        found = tx.credit.crosswalks()
    return [
        {
            "id": c.crosswalk_id,
            "version": c.version,
            "digest": c.digest,
            "published_at": c.published_at.isoformat(),
        }
        for c in found
    ]


@router.get(
    "/api/credit/crosswalks/{crosswalk_id}/{version}.{fmt}", tags=["credit"], response_model=None
)
def export_crosswalk(
    container: ContainerDep, crosswalk_id: str, version: int, fmt: str
) -> Response:
    if fmt not in ("json", "csv"):
        return JSONResponse({"detail": f"{fmt!r} is not json or csv"}, status_code=404)
    text = credit.export_crosswalk(container.uow, crosswalk_id, version, fmt)
    media = "text/csv; charset=utf-8" if fmt == "csv" else "application/json"
    return Response(text, media_type=media)


@router.post("/api/orgs/{slug}/crosswalks", tags=["credit"], response_model=None)
async def publish_crosswalk(
    request: Request, container: ContainerDep, slug: str, admin: OrgAdminDep
) -> Response:
    """Publish a crosswalk version: JSON, or CSV with `Content-Type: text/csv`. A published version
    never changes: the same content again is a no-op (200), different content is refused (409)."""
    body = await request.body()
    try:
        if request.headers.get("content-type", "").startswith("text/csv"):
            parsed = crosswalk_io.read_csv(body.decode("utf-8", errors="replace"))
        else:
            parsed = crosswalk_io.read_json(body)
    except CrosswalkError as err:
        return JSONResponse({"detail": str(err), "problems": list(err.problems)}, status_code=422)
    with container.uow() as tx:
        org = tx.orgs.by_slug(slug)
    added = credit.publish_crosswalk(
        container.uow, org.id, parsed, admin.actor.label(), container.now()
    )
    body_out = {
        "id": parsed.id,
        "version": parsed.version,
        "digest": parsed.digest,
        "published": added,
    }
    return JSONResponse(body_out, status_code=201 if added else 200)
