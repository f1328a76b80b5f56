"""The holder's connections to other Open Badges 3.0 providers: `/my/connections`.

`POST /my/connections` registers rpl with the provider and sends the browser to its
authorisation page; `GET /my/connections/callback` is where the provider sends it back (the
state is bound to this browser's session); each connection can fetch new credentials and be
disconnected. Every route answers only to the signed-in holder, about their own connections.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from rpl.accounts import Account
from rpl.errors import RplError
from rpl.obclient import ProviderError
from rpl.services import connections as service
from rpl.web.deps import ContainerDep, CsrfDep, SignedInDep
from rpl.web.render import page
from rpl.web.security import SECURITY_HEADERS
from rpl.web.sessions import session_id

router = APIRouter(tags=["holder"])
# The connect form's POST answers with a redirect to the provider's authorisation page, and
# browsers apply `form-action` to where a form's POST redirects: any https site (or this machine).
_POLICY = SECURITY_HEADERS["Content-Security-Policy"].replace(
    "form-action 'self'", "form-action 'self' https: http://127.0.0.1:* http://localhost:*"
)
NOTICES = {
    "connected": "Connected. What the provider holds for you was fetched; see below.",
    "pulled": "Fetched. See below what came in.",
    "told": "Disconnected. The provider was told to end rpl's access, and rpl forgot its keys.",
    "forgotten": "Disconnected: rpl forgot its keys to that provider. The provider offers no way "
    "to be told; you can also remove rpl's access on the provider's own site.",
}


def _page(
    request: Request, container: Any, account: Account, status: int = 200, **extra: Any
) -> HTMLResponse:
    extra.setdefault("values", {})
    notice = NOTICES.get(request.query_params.get("done", ""))
    response = page(
        request,
        "connections.html",
        status,
        account=account,
        connections=service.connections_of(container.uow, account),
        notice=None if status != 200 else notice,
        **extra,
    )
    response.headers["Content-Security-Policy"] = _POLICY
    return response


@router.get("/my/connections", response_class=HTMLResponse)
def connections(request: Request, container: ContainerDep, account: SignedInDep) -> HTMLResponse:
    return _page(request, container, account)


@router.post("/my/connections", response_class=HTMLResponse)
def connect(
    request: Request,
    container: ContainerDep,
    account: SignedInDep,
    _: CsrfDep,
    url: Annotated[str, Form()] = "",
) -> Response:
    try:
        location = service.start_connection(
            service.connector_of(container),
            account,
            session_id(request) or "",
            url,
            container.now(),
        )
    except (ProviderError, service.StateMismatchError) as err:
        # Nothing was kept; the page says why and keeps what was typed.
        title = "Could not connect"
        return _page(
            request,
            container,
            account,
            400,
            values={"url": url},
            problem=str(err),
            problem_title=title,
        )
    return RedirectResponse(location, status_code=303)


@router.get("/my/connections/callback", response_class=HTMLResponse)
def callback(request: Request, container: ContainerDep, account: SignedInDep) -> Response:
    # access: signed in, and the state must be one this session started (checked by the service)
    params = {k: v for k, v in request.query_params.items()}
    try:
        service.finish_connection(
            service.connector_of(container),
            account,
            session_id(request) or "",
            params,
            container.now(),
        )
    except (ProviderError, service.StateMismatchError) as err:
        return _page(
            request,
            container,
            account,
            400,
            problem=str(err),
            problem_title="The connection was not made",
        )
    return RedirectResponse("/my/connections?done=connected", status_code=303)


def _refused(request: Request, container: Any, account: Account, err: RplError) -> HTMLResponse:
    status = 409 if isinstance(err, service.PullRunningError) else 404
    return _page(request, container, account, status, problem=str(err))


@router.post("/my/connections/{connection_id}/pull", response_class=HTMLResponse)
def pull(
    request: Request,
    container: ContainerDep,
    account: SignedInDep,
    connection_id: str,
    _: CsrfDep,
) -> Response:
    try:
        service.pull(service.connector_of(container), account, connection_id, container.now())
    except (service.UnknownConnectionError, service.PullRunningError) as err:
        return _refused(request, container, account, err)
    return RedirectResponse("/my/connections?done=pulled", status_code=303)


@router.post("/my/connections/{connection_id}/disconnect", response_class=HTMLResponse)
def disconnect(
    request: Request,
    container: ContainerDep,
    account: SignedInDep,
    connection_id: str,
    _: CsrfDep,
) -> Response:
    try:
        told = service.disconnect(
            service.connector_of(container), account, connection_id, container.now()
        )
    except service.UnknownConnectionError as err:
        return _refused(request, container, account, err)
    return RedirectResponse(
        f"/my/connections?done={'told' if told else 'forgotten'}", status_code=303
    )
