"""Credit for prior learning: the student's bundle and view, and crosswalks in and out.

A student signed in owns the bundle they submit: they may pick records issued on their own claims,
and find the request on `/my` and at `/my/credit/<id>` (anyone else: 404). Without an account the
request is reached by its private link (`/credit/my/<token>`, only the token's hash is stored),
like a claimant's `/my/<token>`: the unguessable token is the capability. The assessor's pages are
in `rpl.web.routes.credit_assess`.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel
from starlette.datastructures import UploadFile

from rpl import crosswalk_io
from rpl.accounts import Account
from rpl.crosswalk import CrosswalkError
from rpl.services import credit, credit_status, inbox
from rpl.web.deps import ContainerDep, CsrfDep, CurrentAccountDep, OrgAdminDep, SignedInDep
from rpl.web.render import page

router = APIRouter()


# --- the student -----------------------------------------------------------------------------------


def _crosswalks(container: Any) -> list[Any]:
    with container.uow() as tx:
        latest = {c.crosswalk_id: c for c in tx.credit.crosswalks()}
    return list(latest.values())


def _own_records(container: Any, account: Account | None) -> list[Any]:
    """The account's issued credentials, to pick from: (credential id, what, organisation)."""
    if account is None:
        return []
    views = inbox.holder_claims(container.uow, account.email)
    return [
        (v.credential.id, v.claim.details.role, v.organisation.name) for v in views if v.credential
    ]


def _new_page(
    request: Request,
    container: Any,
    account: Account | None,
    status_code: int = 200,
    values: dict[str, Any] | None = None,
    problems: dict[str, list[str]] | None = None,
) -> HTMLResponse:
    return page(
        request,
        "credit_new.html",
        status_code=status_code,
        crosswalks=_crosswalks(container),
        account=account,
        own_records=_own_records(container, account),
        values=values or {"chosen": []},
        problems=problems or {},
    )


@router.get("/credit/new", response_class=HTMLResponse)
def credit_new(
    request: Request, container: ContainerDep, account: CurrentAccountDep
) -> HTMLResponse:
    # access: anyone may bring a bundle; signed in, it is the account's and may pick its records
    return _new_page(request, container, account)


async def _command(
    request: Request, account: Account | None
) -> tuple[credit.SubmitBundle, dict[str, Any]]:
    form = await request.form()
    values: dict[str, Any] = {
        k: str(form.get(k) or "")
        for k in ("crosswalk_id", "learner_name", "learner_email", "held", "pasted")
    }
    values["chosen"] = [str(v) for v in form.getlist("chosen")]
    if account is not None:  # the transcript names the account's address, not a typed one
        values["learner_email"] = account.email
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
        holder_email=account.email if account else None,
        chosen=tuple(values["chosen"]),
    )
    return command, values


@router.post("/credit/new", response_model=None)
async def credit_submit(
    request: Request, container: ContainerDep, account: CurrentAccountDep, _: CsrfDep
) -> Response:
    # access: anyone; signed in, the request is the account's
    command, values = await _command(request, account)
    try:
        request_id, token = credit.submit_bundle(container.uow, command, container.now())
    except credit.InvalidBundleError as err:
        return _new_page(request, container, account, 422, values, err.problems)
    container.runner.evaluate_credit(request_id)
    where = f"/my/credit/{request_id}" if account else f"/credit/my/{token}"
    return RedirectResponse(where, status_code=303)


def _student_page(request: Request, view: credit.CreditView, base: str, link: bool) -> HTMLResponse:
    return page(
        request,
        "credit_view.html",
        view=view,
        assessor=False,
        private_link=link,
        transcript_url=f"{base}/transcript.json",
    )


def _transcript(view: credit.CreditView) -> Response:
    if not view.request.transcript:
        # The request is there; its transcript is not, yet: a state, not a missing page.
        return JSONResponse({"detail": "no transcript has been issued yet"}, status_code=409)
    headers = {"Content-Disposition": 'attachment; filename="transcript.json"'}
    return Response(view.request.transcript, media_type="application/vc+ld+json", headers=headers)


@router.get("/credit/my/{token}", response_class=HTMLResponse)
def credit_mine(request: Request, container: ContainerDep, token: str) -> HTMLResponse:
    # access: whoever holds the private link (it is the key)
    view = credit.credit_for_holder(container.uow, token)
    return _student_page(request, view, f"/credit/my/{token}", link=True)


@router.get("/credit/my/{token}/transcript.json", response_model=None)
def credit_transcript(container: ContainerDep, token: str) -> Response:
    # access: whoever holds the private link
    return _transcript(credit.credit_for_holder(container.uow, token))


@router.get("/my/credit/{request_id}", response_class=HTMLResponse)
def account_credit(
    request: Request, container: ContainerDep, account: SignedInDep, request_id: str
) -> HTMLResponse:
    # access: the account that submitted it (anyone else: 404)
    view = credit.credit_for_account(container.uow, request_id, account.email)
    return _student_page(request, view, f"/my/credit/{request_id}", link=False)


@router.get("/my/credit/{request_id}/transcript.json", response_model=None)
def account_transcript(container: ContainerDep, account: SignedInDep, request_id: str) -> Response:
    # access: the account that submitted it
    return _transcript(credit.credit_for_account(container.uow, request_id, account.email))


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


class CreditRevocationIn(BaseModel):
    reason: str


@router.post(
    "/api/orgs/{slug}/credit/credentials/{credential_id}/revoke",
    tags=["credit"],
    response_model=None,
)
def revoke_credit_credential(
    credential_id: str, body: CreditRevocationIn, container: ContainerDep, admin: OrgAdminDep
) -> dict[str, Any]:
    """Revoke a course credential or CLR transcript this organisation issued for credit; the
    reason is kept in the audit log, and the revocation list is re-published at once."""
    index = credit_status.revoke_credit_credential(
        container.status_publisher(),
        admin.org,
        credential_id,
        admin.actor.label(),
        body.reason,
        container.now(),
    )
    return {"credential_id": credential_id, "revoked": True, "status_list_index": index}
