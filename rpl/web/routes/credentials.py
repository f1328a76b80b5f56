"""A credential's public page (meaning first), its JSON, and the verify page for anyone."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, Response

from rpl import baking
from rpl.securing import media_type
from rpl.services import records
from rpl.web.deps import ContainerDep, CsrfDep
from rpl.web.ratelimit import VerifyRateDep
from rpl.web.render import page

router = APIRouter()
CREDENTIAL_MEDIA_TYPE = "application/vc+ld+json"


@router.get("/credentials/{credential_id}.json")
def credential_json(container: ContainerDep, credential_id: str) -> Response:
    record = records.get_credential(container.uow, credential_id)
    return Response(record.stored.document, media_type=media_type(record.stored.document))


@router.get("/credentials/{credential_id}", response_model=None)
def credential_page(
    request: Request, container: ContainerDep, credential_id: str
) -> HTMLResponse | Response:
    record = records.get_credential(container.uow, credential_id)
    accept = request.headers.get("accept", "")
    if ("json" in accept) and "text/html" not in accept:
        return Response(record.stored.document, media_type=media_type(record.stored.document))
    result = records.verify(
        container.resolver(), record.stored.document, container.now(), container.status_lists()
    )
    return page(request, "credential.html", record=record, result=result)


@router.get("/verify", response_class=HTMLResponse)
def verify_form(request: Request) -> HTMLResponse:
    return page(request, "verify.html", result=None, pasted="")


@router.post("/verify", response_class=HTMLResponse)
async def verify_submit(
    request: Request,
    container: ContainerDep,
    _: CsrfDep,
    __: VerifyRateDep,
    credential: Annotated[str, Form()] = "",
    file: UploadFile | None = None,
) -> HTMLResponse:
    source: Any = credential
    if file is not None and file.filename:
        source = await file.read(container.settings.max_upload_bytes + 1)
        if len(source) > container.settings.max_upload_bytes:
            return page(
                request,
                "verify.html",
                status_code=413,
                result=None,
                pasted="",
                problem="That file is too large to be a credential.",
            )
    if not source:
        return page(
            request,
            "verify.html",
            status_code=422,
            result=None,
            pasted="",
            problem="Paste a credential or choose a file.",
        )
    if isinstance(source, bytes) and baking.is_baked_image(source):
        try:  # a baked badge: the credential inside the image is what is checked
            source = baking.unbake(source)
        except baking.BakingError as err:
            return page(
                request, "verify.html", status_code=422, result=None, pasted="", problem=str(err)
            )
    result = records.verify(container.resolver(), source, container.now(), container.status_lists())
    return page(request, "verify.html", result=result, pasted=credential)
