"""Pages of the claimant's journey: file a claim with evidence, follow it, answer an amendment."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.datastructures import FormData, UploadFile

from rpl.claims import EvidenceFile, InvalidClaimError
from rpl.errors import RplError
from rpl.files import FileStore
from rpl.services import attestation
from rpl.web.deps import ContainerDep, CsrfDep, UrlsDep
from rpl.web.forms import details_from_form
from rpl.web.render import page

router = APIRouter()
EVIDENCE_SLOTS = 3
_CHUNK = 64 * 1024


@router.get("/claims/new", response_class=HTMLResponse)
def new_claim(request: Request, container: ContainerDep, org: str = "") -> HTMLResponse:
    with container.uow() as tx:
        orgs = tx.orgs.list()
    return page(
        request,
        "claim_new.html",
        orgs=orgs,
        values={"org": org},
        problems={},
        kept=[],
        slots=EVIDENCE_SLOTS,
        max_mb=container.settings.max_upload_bytes // 2**20,
    )


@router.post("/claims/new", response_class=HTMLResponse)
async def submit_claim(request: Request, container: ContainerDep, urls: UrlsDep, _: CsrfDep) -> Any:
    form = await request.form()
    problems: dict[str, list[str]] = {}
    evidence = _kept_evidence(form, container.files) + await _uploaded_evidence(
        form, container.files, container.settings.max_upload_bytes, problems
    )
    try:
        if problems:
            raise InvalidClaimError(problems)
        details = details_from_form(form, _org_id(container, form), evidence)
        submitted = attestation.submit_claim(
            container.uow, container.mailer, container.runner, urls, details, container.now()
        )
    except RplError as err:
        with container.uow() as tx:
            orgs = tx.orgs.list()
        found = getattr(err, "problems", None) or {"claim": [str(err)]}
        return page(
            request,
            "claim_new.html",
            status_code=422,
            orgs=orgs,
            values=dict(form),
            problems={k: list(v) for k, v in found.items()},
            kept=list(evidence),
            slots=EVIDENCE_SLOTS,
            max_mb=container.settings.max_upload_bytes // 2**20,
        )
    return RedirectResponse(f"/my/{submitted.claimant_token}", status_code=303)


def _org_id(container: Any, form: FormData) -> str:
    slug = form.get("org")
    if not isinstance(slug, str) or not slug:
        raise InvalidClaimError({"org": ["Choose the organisation that can confirm this."]})
    with container.uow() as tx:
        return str(tx.orgs.by_slug(slug).id)


def _kept_evidence(form: FormData, files: FileStore) -> tuple[EvidenceFile, ...]:
    """Files uploaded with an earlier, refused submission: kept so nothing has to be sent twice.

    Only hashes that are really in the store count, and size and type are read from the store,
    not from the form.
    """
    kept = []
    for sha, name, filename, description in zip(
        form.getlist("kept_sha256"),
        form.getlist("kept_name"),
        form.getlist("kept_filename"),
        form.getlist("kept_description"),
        strict=False,
    ):
        if not isinstance(sha, str) or len(sha) != 64 or not files.path_for(sha).is_file():
            continue
        stored = files.describe(sha)
        kept.append(
            EvidenceFile(
                name=str(name),
                description=str(description),
                sha256=sha,
                media_type=stored.media_type,
                size=stored.size,
                filename=str(filename),
            )
        )
    return tuple(kept)


async def _uploaded_evidence(
    form: FormData, files: FileStore, limit: int, problems: dict[str, list[str]]
) -> tuple[EvidenceFile, ...]:
    found = []
    for slot in range(1, EVIDENCE_SLOTS + 1):
        upload = form.get(f"evidence_{slot}")
        if not isinstance(upload, UploadFile) or not upload.filename:
            continue
        title = str(form.get(f"evidence_title_{slot}") or "").strip() or upload.filename
        try:
            stored = files.put(_chunks(upload), limit, name=upload.filename)
        except RplError as err:
            problems.setdefault("evidence", []).append(f"{upload.filename}: {err}")
            continue
        found.append(
            EvidenceFile(
                name=title,
                description=str(form.get(f"evidence_description_{slot}") or "").strip(),
                sha256=stored.sha256,
                media_type=stored.media_type,
                size=stored.size,
                filename=upload.filename,
            )
        )
    return tuple(found)


def _chunks(upload: UploadFile) -> Any:
    upload.file.seek(0)
    while chunk := upload.file.read(_CHUNK):
        yield chunk


@router.get("/my/{token}", response_class=HTMLResponse)
def my_claim(request: Request, container: ContainerDep, token: str) -> HTMLResponse:
    view = attestation.claim_for_claimant(container.uow, token)
    return page(request, "claim.html", view=view, token=token)


@router.post("/my/{token}/amendment")
def answer_amendment(
    container: ContainerDep,
    token: str,
    _: CsrfDep,
    answer: Annotated[str, Form()],
    reason: Annotated[str, Form()] = "",
) -> RedirectResponse:
    attestation.answer_amendment(
        container.uow, container.runner, token, answer == "accept", reason, container.now()
    )
    return RedirectResponse(f"/my/{token}", status_code=303)
