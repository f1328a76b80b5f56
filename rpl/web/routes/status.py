"""Status lists served at stable URLs, and the organisation admin's revoke/suspend/unsuspend.

Only the issuing organisation's admins may change a credential's status (rpl.access): signed in on
the page, or with a personal API token on the API. The site operator's token (RPL_ADMIN_TOKEN) is
accepted too: as a bearer token, or on the page as a form field (with the usual CSRF token).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel

from rpl import claims
from rpl.claims import InvalidClaimError
from rpl.services import credential_status, records, status
from rpl.web.deps import ContainerDep, CredentialAdminDep, CredentialPageAdminDep, CsrfDep
from rpl.web.render import page

router = APIRouter()
STATUS_LIST_MEDIA_TYPE = "application/vc+ld+json"
Action = Literal["revoke", "suspend", "unsuspend"]
# The claim transition behind each action, to offer only what the credential's state allows.
_TRANSITIONS = {
    "revoke": claims.Action.REVOKE,
    "suspend": claims.Action.SUSPEND,
    "unsuspend": claims.Action.REINSTATE,
}


class StatusChangeIn(BaseModel):
    reason: str


class StatusChangeOut(BaseModel):
    credential_id: str
    claim_id: str | None  # None: signed through the VC API, no claim behind it
    state: str
    reason: str


@router.get(
    "/orgs/{slug}/status/{purpose}",
    response_class=Response,
    responses={200: {"content": {STATUS_LIST_MEDIA_TYPE: {}}}, 304: {}},
    tags=["status"],
)
def status_list(request: Request, container: ContainerDep, slug: str, purpose: str) -> Response:
    """The organisation's signed BitstringStatusListCredential for `revocation` or `suspension`."""
    now = container.now()
    published = status.current_status_list(container.status_publisher(), slug, purpose, now)
    headers = {
        "Cache-Control": f"public, max-age={published.max_age(now)}",
        "ETag": published.etag,
    }
    if published.etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return Response(published.document, media_type=STATUS_LIST_MEDIA_TYPE, headers=headers)


@router.post(
    "/api/credentials/{credential_id}/{action}", response_model=StatusChangeOut, tags=["api"]
)
def change_status_api(
    credential_id: str,
    action: Action,
    body: StatusChangeIn,
    container: ContainerDep,
    admin: CredentialAdminDep,
) -> Any:
    """Revoke, suspend or unsuspend a credential; the reason is kept in its record."""
    changed = credential_status.change(
        container.status_publisher(),
        credential_id,
        action,
        admin.actor.label(),
        body.reason,
        container.now(),
    )
    return StatusChangeOut(
        credential_id=credential_id,
        claim_id=changed.claim_id,
        state=changed.state,
        reason=body.reason,
    )


@router.get("/admin/credentials/{credential_id}", response_class=HTMLResponse)
def admin_page(
    request: Request, container: ContainerDep, credential_id: str, admin: CredentialPageAdminDep
) -> HTMLResponse:
    return _admin_page(request, container, credential_id)


@router.post("/admin/credentials/{credential_id}", response_model=None)
def admin_change(
    request: Request,
    container: ContainerDep,
    credential_id: str,
    _: CsrfDep,
    admin: CredentialPageAdminDep,
    action: Annotated[str, Form()],
    reason: Annotated[str, Form()] = "",
) -> HTMLResponse | RedirectResponse:
    values = {"action": action, "reason": reason}
    try:
        credential_status.change(
            container.status_publisher(),
            credential_id,
            action,
            admin.actor.label(),
            reason,
            container.now(),
        )
    except InvalidClaimError as err:
        problems = {k: list(v) for k, v in err.problems.items()}
        return _admin_page(request, container, credential_id, 422, problems, values)
    return RedirectResponse(f"/admin/credentials/{credential_id}", status_code=303)


def _admin_page(
    request: Request,
    container: Any,
    credential_id: str,
    status_code: int = 200,
    problems: dict[str, list[str]] | None = None,
    values: dict[str, str] | None = None,
) -> HTMLResponse:
    record = records.get_credential(container.uow, credential_id)
    if record.claim is None:  # signed through the VC API: its list bits are its state
        actions = list(credential_status.allowed_actions(container.uow, record.stored))
        state = credential_status.current_state(container.uow, record.stored).value
        history = []
    else:
        state = record.claim.state.value
        # A credential replaced by a re-issue stays revoked; its claim's status follows the new one.
        current = record.claim.credential_id == record.stored.id
        allowed = claims.allowed_actions(record.claim.state) if current else ()
        actions = [name for name, transition in _TRANSITIONS.items() if transition in allowed]
        history = [e for e in record.claim.events if e.kind.value.startswith("Credential")]
    return page(
        request,
        "admin_credential.html",
        status_code=status_code,
        record=record,
        actions=actions,
        entries=_entries(record.document),
        history=history,
        state=state,
        problems=problems or {},
        values=values or {},
    )


def _entries(document: dict[str, Any]) -> list[dict[str, Any]]:
    found = document.get("credentialStatus") or []
    return [e for e in (found if isinstance(found, list) else [found]) if isinstance(e, dict)]
