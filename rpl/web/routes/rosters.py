"""Rosters: the organisation admin's upload page and API, progress, the rejected-rows report, and
the page where a person accepts the participation their organisation confirmed."""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, StreamingResponse

from rpl import csv_safe
from rpl.claims import ClaimKind, InvalidClaimError
from rpl.files import FileTooLargeError, UnsupportedFileTypeError
from rpl.services import roster
from rpl.storage.roster import RosterImport
from rpl.web.deps import ContainerDep, CsrfDep, OrgAdminDep
from rpl.web.forms import correction_changes
from rpl.web.render import page

router = APIRouter()


def _report_lines(records: Iterable[list[str]]) -> Iterator[str]:
    """The rejected-rows report as CSV text, a record at a time, through `rpl.csv_safe`: a
    person's cell that a spreadsheet would run as a formula is written as text."""
    buffer = io.StringIO()
    writer = csv_safe.writer(buffer)
    for record in records:
        writer.writerow(record)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()


# A roster file may be large (a million rows is ~100 MB); past this it is refused before import.
MAX_ROSTER_BYTES = 2 * 1024 * 1024 * 1024


def _chunks(file: UploadFile) -> Iterator[bytes]:
    file.file.seek(0)
    while chunk := file.file.read(1024 * 1024):
        yield chunk


def _import_upload(
    container: Any, admin: Any, file: UploadFile, request: roster.ImportRequest
) -> RosterImport:
    """Store the uploaded file by content hash, record the import (`queued`) and hand it to the
    job runner; the import, and issuance when asked for, happen in the background."""
    start = getattr(container.runner, "import_roster", None)
    if start is None:
        raise roster.RosterRunnerError(f"this runner cannot import rosters: {container.runner!r}")
    name = file.filename or "roster"
    stored = container.files.put(_chunks(file), MAX_ROSTER_BYTES, name=name)
    if stored.media_type != "text/plain":
        raise UnsupportedFileTypeError(f"{name} is {stored.media_type}, not text")
    record = roster.start_import(
        container.uow, admin.org.slug, request, stored.size, container.now(), stored.sha256
    )
    start(record.id)
    return record


def _request(
    admin: Any, filename: str | None, issue: bool, role: str, email: str | None, kind: str
) -> roster.ImportRequest:
    who = admin.actor.label("admin") if hasattr(admin.actor, "label") else "admin:operator"
    kinds = {k.value: k for k in ClaimKind}
    return roster.ImportRequest(
        filename or "roster.csv",
        who,
        role or roster.ImportRequest.attester_role,
        email or None,
        kinds.get(kind, ClaimKind.CONTRIBUTION),
        direct=issue,
    )


def _status(container: Any, slug: str, import_id: str) -> dict[str, Any]:
    record, states = roster.get_import(container.uow, slug, import_id)
    issued = states.get("issued", 0)
    waiting = states.get("confirmed", 0)
    running = record.status in ("queued", "importing", "issuing") or (
        record.status == "imported" and record.direct
    )
    return {
        "id": record.id,
        "status": record.status,
        "running": running,
        "message": record.message,
        "filename": record.filename,
        "direct": record.direct,
        "rows": {
            "read": record.rows_read,
            "added": record.rows_added,
            "duplicate": record.rows_duplicate,
            "rejected": record.rows_rejected,
        },
        "claims": states,
        "progress": {
            "bytes_read": record.bytes_read,
            "bytes_total": record.bytes_total,
            "issued": issued,
            "to_issue": waiting if record.direct else 0,
        },
        "rejected_report": f"/api/organisations/{slug}/rosters/{record.id}/rejected.csv",
    }


# --- API ------------------------------------------------------------------------------------


@router.post("/api/organisations/{slug}/rosters", status_code=202)
def api_upload(  # access: org admin
    slug: str,
    container: ContainerDep,
    admin: OrgAdminDep,
    file: Annotated[UploadFile, File()],
    issue: Annotated[bool, Form()] = False,
    attester_role: Annotated[str, Form()] = "",
    attester_email: Annotated[str, Form()] = "",
    kind: Annotated[str, Form()] = "contribution",
) -> JSONResponse:
    request = _request(admin, file.filename, issue, attester_role, attester_email, kind)
    record = _import_upload(container, admin, file, request)
    location = f"/api/organisations/{slug}/rosters/{record.id}"
    body = _status(container, slug, record.id)
    return JSONResponse(body, status_code=202, headers={"Location": location})


@router.get("/api/organisations/{slug}/rosters/{import_id}")
def api_status(
    slug: str, import_id: str, container: ContainerDep, admin: OrgAdminDep
) -> Any:  # access: org admin
    return _status(container, slug, import_id)


@router.get("/api/organisations/{slug}/rosters/{import_id}/rejected.csv")
@router.get("/orgs/{slug}/rosters/{import_id}/rejected.csv")
def rejected_csv(
    slug: str, import_id: str, container: ContainerDep, admin: OrgAdminDep
) -> StreamingResponse:  # access: org admin
    records = roster.rejected_rows(container.uow, slug, import_id)
    first = next(records)  # raises UnknownImportError (404) before the response starts
    name = f"rejected-{import_id[:8]}.csv"
    return StreamingResponse(
        _report_lines(_chain(first, records)),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _chain(first: list[str], rest: Iterator[list[str]]) -> Iterator[list[str]]:
    yield first
    yield from rest


# --- pages ----------------------------------------------------------------------------------


@router.get("/orgs/{slug}/rosters", response_class=HTMLResponse)
def rosters_page(
    request: Request, container: ContainerDep, admin: OrgAdminDep
) -> HTMLResponse:  # access: org admin
    imports = roster.list_imports(container.uow, admin.org.slug)
    return page(request, "rosters.html", org=admin.org, imports=imports, kinds=list(ClaimKind))


@router.post("/orgs/{slug}/rosters", response_class=HTMLResponse)
def rosters_upload(  # access: org admin
    request: Request,
    container: ContainerDep,
    admin: OrgAdminDep,
    _csrf: CsrfDep,
    file: Annotated[UploadFile, File()],
    issue: Annotated[bool, Form()] = False,
    attester_role: Annotated[str, Form()] = "",
    attester_email: Annotated[str, Form()] = "",
    kind: Annotated[str, Form()] = "contribution",
) -> Any:
    if not file.filename:
        imports = roster.list_imports(container.uow, admin.org.slug)
        problems = {"file": ["Choose the roster's CSV file."]}
        return page(
            request,
            "rosters.html",
            422,
            org=admin.org,
            imports=imports,
            kinds=list(ClaimKind),
            problems=problems,
        )
    form = _request(admin, file.filename, issue, attester_role, attester_email, kind)
    try:
        record = _import_upload(container, admin, file, form)
    except (FileTooLargeError, UnsupportedFileTypeError) as err:
        imports = roster.list_imports(container.uow, admin.org.slug)
        return page(
            request,
            "rosters.html",
            422,
            org=admin.org,
            imports=imports,
            kinds=list(ClaimKind),
            problems={"file": [f"{err} — a roster is a CSV text file."]},
            values={"attester_role": attester_role, "kind": kind, "issue": issue},
        )
    return RedirectResponse(f"/orgs/{admin.org.slug}/rosters/{record.id}", status_code=303)


@router.get("/orgs/{slug}/rosters/{import_id}", response_class=HTMLResponse)
def roster_progress(
    request: Request, import_id: str, container: ContainerDep, admin: OrgAdminDep
) -> HTMLResponse:  # access: org admin
    status = _status(container, admin.org.slug, import_id)
    return page(request, "roster_import.html", org=admin.org, status=status)


@router.get("/rosters/accept/{token}", response_class=HTMLResponse)
def accept_page(
    request: Request, token: str, container: ContainerDep
) -> HTMLResponse:  # access: holder (the link)
    claim, org, waiting = roster.open_accept(container.uow, token)
    return page(request, "roster_accept.html", claim=claim, org=org, waiting=waiting, token=token)


@router.post("/rosters/accept/{token}", response_class=HTMLResponse)
def accept(
    request: Request, token: str, container: ContainerDep, _csrf: CsrfDep
) -> HTMLResponse:  # access: holder (the link)
    roster.accept(container.uow, container.runner, token, container.now())
    claim, org, waiting = roster.open_accept(container.uow, token)
    return page(
        request,
        "roster_accept.html",
        claim=claim,
        org=org,
        waiting=waiting,
        token=token,
        accepted=True,
    )


@router.post("/rosters/accept/{token}/correct", response_class=HTMLResponse)
async def correct(
    request: Request, token: str, container: ContainerDep, _csrf: CsrfDep
) -> HTMLResponse:  # access: holder (the link)
    """The person corrects the facts instead of accepting them; the attesters confirm anew."""
    claim, org, waiting = roster.open_accept(container.uow, token)
    form = await request.form()
    values = {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}
    try:
        changes = correction_changes(form, claim.details)
        claim = roster.correct(container.uow, container.runner, token, changes, container.now())
    except InvalidClaimError as err:
        problems = {k: list(v) for k, v in err.problems.items()}
        return page(
            request,
            "roster_accept.html",
            422,
            claim=claim,
            org=org,
            waiting=waiting,
            token=token,
            problems=problems,
            values=values,
        )
    return page(request, "roster_accept.html", claim=claim, org=org, waiting=False, token=token)
