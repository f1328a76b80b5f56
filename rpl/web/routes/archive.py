"""The holder's export and import, and their CLR: pages under /my and one API endpoint.

Every route here answers only to a signed-in account and only about that account's own records
(the session cookie on pages, a personal API token on `/api/my/import`).
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from fastapi.routing import APIRouter
from starlette.datastructures import UploadFile

from rpl.accounts import Account
from rpl.archive import DEFAULT_LIMITS
from rpl.services import archive, holder
from rpl.web.deps import ContainerDep, CsrfDep, SignedInDep
from rpl.web.render import page

router = APIRouter(tags=["holder"])
JSON_LD = "application/ld+json"


def _verifier(container: Any) -> archive.Verifier:
    return archive.Verifier(container.resolver(), container.status_lists())


# --- export ---------------------------------------------------------------------------------------


@router.get("/my/export", response_class=HTMLResponse)
def export_page(request: Request, container: ContainerDep, account: SignedInDep) -> HTMLResponse:
    holdings = holder.holdings_of(container.uow, account)
    return page(request, "export.html", account=account, holdings=holdings)


@router.post("/my/export")
def export_download(container: ContainerDep, account: SignedInDep, _: CsrfDep) -> Response:
    """The archive, streamed as it is written (a POST: the first export makes the holder's key)."""
    now = container.now()
    chunks = archive.export_archive(
        container.uow,
        container.master_key,
        archive.ExportRequest(account, container.settings.public_url, now),
    )
    name = f"rpl-records-{now.strftime('%Y%m%d')}.zip"
    return StreamingResponse(
        chunks,
        media_type="application/zip",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )


@router.get("/my/clr.json")
def my_clr(container: ContainerDep, account: SignedInDep) -> Response:
    """A freshly signed CLR 2.0 ClrCredential of the credentials issued here to the holder."""
    now = container.now()
    holdings = holder.holdings_of(container.uow, account)
    if not any(v.credential is not None for v in holdings.issued):
        return JSONResponse(
            {"error": "NothingToBundleError", "detail": "no credential was issued to you here yet"},
            status_code=404,
        )
    signer = holder.holder_signer(container.uow, container.master_key, account, now)
    document = holder.holder_clr(holdings, signer, container.settings.public_url, now)
    return JSONResponse(document, media_type=JSON_LD, headers={"Cache-Control": "no-store"})


# --- import ---------------------------------------------------------------------------------------


@router.get("/my/import", response_class=HTMLResponse)
def import_page(request: Request, account: SignedInDep) -> HTMLResponse:
    return page(request, "import.html", account=account, values={}, problems={}, report=None)


async def _form_items(request: Request) -> tuple[list[tuple[str, str, bytes]], dict[str, str]]:
    items: list[tuple[str, str, bytes]] = []
    async with request.form() as form:  # closes the uploads' temporary files when read
        pasted = str(form.get("pasted") or "")
        for upload in form.getlist("files"):
            if isinstance(upload, UploadFile) and upload.filename:
                items.append(("upload", upload.filename, await upload.read()))
    if pasted.strip():
        items.append(("paste", "pasted text", pasted.strip().encode("utf-8")))
    return items, {"pasted": pasted}


@router.post("/my/import", response_class=HTMLResponse)
async def import_upload(
    request: Request, container: ContainerDep, account: SignedInDep, _: CsrfDep
) -> HTMLResponse:
    items, values = await _form_items(request)
    try:
        report = _import(container, account, items)
    except archive.InvalidImportError as err:
        # Nothing was stored: the page says why and keeps what was pasted.
        return page(
            request,
            "import.html",
            422,
            account=account,
            values=values,
            problems=err.problems,
            report=None,
        )
    return page(request, "import.html", account=account, values={}, problems={}, report=report)


@router.post("/api/my/import")
async def import_api(request: Request, container: ContainerDep, account: SignedInDep) -> Response:
    """The request body is one archive (application/zip) or one credential: JSON, a VC-JWT, or a
    baked PNG/SVG badge. 200 with one outcome per credential; 400/422 and nothing stored if the
    body is not usable."""
    data = await _body(request)
    kind = request.headers.get("content-type", "").split(";")[0].strip()
    label = "archive.zip" if kind == "application/zip" else _label_for(kind)
    report = _import(container, account, [("api", label, data)])
    return JSONResponse(report.to_json())


def _label_for(kind: str) -> str:
    return {"image/png": "badge.png", "image/svg+xml": "badge.svg"}.get(kind, "")


async def _body(request: Request) -> bytes:
    limit = DEFAULT_LIMITS.max_upload_bytes
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise archive.InvalidImportError({"body": [f"at most {limit} bytes are accepted"]})
    return bytes(body)


def _import(
    container: Any, account: Account, items: list[tuple[str, str, bytes]]
) -> archive.ImportReport:
    return archive.import_records(
        container.uow,
        _verifier(container),
        account,
        items,
        container.now(),
        here=container.settings.public_url,
    )
