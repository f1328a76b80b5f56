"""The OAuth 2.0 authorisation server of the Open Badges 3.0 API, and the holder's connected apps.

`POST /oauth/register` (RFC 7591), `GET`/`POST /oauth/authorize` (the holder's consent page;
RFC 6749 §4.1 with PKCE S256), `POST /oauth/token` (authorization_code and refresh_token),
`POST /oauth/revoke` (RFC 7009); `/my/apps` lists what the holder connected and disconnects it.

Errors at the token, registration and revocation endpoints are RFC 6749 JSON
(`{"error", "error_description"}`). An authorisation request with an unknown client or a
redirect URI the client did not register gets an error page and is never redirected anywhere.
"""

from __future__ import annotations

import base64
from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Header, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from rpl import oauth, oid4vci
from rpl.access import NotSignedInError
from rpl.errors import RplError
from rpl.jsonio import loads_strict
from rpl.oauth import OAuthError, RedirectError
from rpl.oid4vci import Oid4vciError
from rpl.services import oauth as service
from rpl.services import oid4vci as wallet_grants
from rpl.web import ratelimit
from rpl.web.deps import ActorDep, ContainerDep, CsrfDep, SignedInDep
from rpl.web.render import page
from rpl.web.security import SECURITY_HEADERS

router = APIRouter(tags=["oauth"])
# Tokens must not be kept by caches between the client and us (RFC 6749 §5.1).
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
_AUTHORIZE_FIELDS = (
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
)


def _error(err: OAuthError) -> JSONResponse:
    headers = dict(NO_STORE)
    if isinstance(err, oauth.InvalidClientError):
        headers["WWW-Authenticate"] = 'Basic realm="rpl"'
    return JSONResponse(err.body(), status_code=err.status, headers=headers)


async def _form(request: Request) -> dict[str, str]:
    """The form's fields; a field sent twice is refused (RFC 6749 §3.1, §3.2)."""
    form = await request.form()
    fields: dict[str, str] = {}
    for name, value in form.multi_items():
        if name in fields:
            raise OAuthError("invalid_request", f"{name} was sent more than once")
        fields[name] = value if isinstance(value, str) else ""
    return fields


def _refused_page(request: Request, err: RplError) -> HTMLResponse:
    message = err.description if isinstance(err, OAuthError) else str(err)
    return page(
        request,
        "error.html",
        400,
        title="This connection request cannot be used",
        message=f"{message}. Go back to the application and try again, or tell its makers.",
    )


@router.post("/oauth/register")
async def register(request: Request, container: ContainerDep) -> JSONResponse:
    ratelimit.check(request, "oauth")
    try:
        try:
            body: Any = loads_strict(await request.body())
        except RplError as err:
            raise OAuthError("invalid_client_metadata", f"not JSON: {err}") from err
        answer = service.register_client(container.uow, body, container.now())
    except OAuthError as err:
        return _error(err)
    return JSONResponse(answer, status_code=201, headers=NO_STORE)


def _consent_policy(redirect_uri: str) -> str:
    """This page's CSP: as everywhere, but the form may lead on to the client's redirect URI
    (browsers apply `form-action` to the redirect that follows a form's POST)."""
    parts = urlsplit(redirect_uri)
    origin = f"{parts.scheme}://{parts.netloc}"
    return SECURITY_HEADERS["Content-Security-Policy"].replace(
        "form-action 'self'", f"form-action 'self' {origin}"
    )


@router.get("/oauth/authorize", response_class=HTMLResponse)
def authorize(request: Request, container: ContainerDep, actor: ActorDep) -> Response:
    # access: signed in (checked after the request itself, so a broken one never asks to sign in)
    try:
        client, asked = service.check_authorization(container.uow, dict(request.query_params))
    except RedirectError as err:
        return RedirectResponse(err.location(), status_code=302)
    except (service.UnknownClientError, OAuthError) as err:
        return _refused_page(request, err)
    if actor.account is None:
        raise NotSignedInError(f"sign in to choose what {client.name} may see")
    scopes = [(s, oauth.OB_SCOPES[s]) for s in asked.scope if s in oauth.OB_SCOPES]
    response = page(
        request,
        "oauth_consent.html",
        client=client,
        client_uri=dict(client.metadata.extra).get("client_uri"),
        redirect_host=urlsplit(asked.redirect_uri).netloc,
        scopes=scopes,
        params=asked.as_params(),
        account=actor.account,
    )
    response.headers["Content-Security-Policy"] = _consent_policy(asked.redirect_uri)
    response.headers.update(NO_STORE)
    return response


@router.post("/oauth/authorize")
async def decide(
    request: Request, container: ContainerDep, account: SignedInDep, _: CsrfDep
) -> Response:
    form = await request.form()
    params = {k: str(form.get(k, "")) for k in _AUTHORIZE_FIELDS}
    try:
        _, asked = service.check_authorization(container.uow, params)
    except RedirectError as err:
        return RedirectResponse(err.location(), status_code=303)
    except (service.UnknownClientError, OAuthError) as err:
        return _refused_page(request, err)
    if form.get("decision") == "approve":
        location = service.approve(container.uow, account, asked, container.now())
    else:
        location = service.deny(asked)
    return RedirectResponse(location, status_code=303, headers=NO_STORE)


@router.post("/oauth/token")
async def token(
    request: Request, container: ContainerDep, authorization: Annotated[str, Header()] = ""
) -> JSONResponse:
    access_ttl = timedelta(minutes=container.settings.oauth_access_minutes)
    try:
        form = await _form(request)
        ratelimit.check(request, "oauth", form.get("client_id", ""), _basic_user(authorization))
        if form.get("grant_type") == oid4vci.PRE_AUTHORIZED_GRANT:  # a wallet (OpenID4VCI)
            return _pre_authorized(container, form)
        answer = service.exchange(container.uow, authorization, form, container.now(), access_ttl)
    except OAuthError as err:
        return _error(err)
    return JSONResponse(answer, headers=NO_STORE)


def _basic_user(authorization: str) -> str:
    """The client id of an HTTP Basic `Authorization` header, or "" (only to count tries)."""
    scheme, _, encoded = authorization.partition(" ")
    if scheme.lower() != "basic":
        return ""
    try:
        return base64.b64decode(encoded, validate=True).decode().partition(":")[0]
    except (ValueError, UnicodeDecodeError):
        return ""


def _pre_authorized(container: ContainerDep, form: dict[str, str]) -> JSONResponse:
    """The OpenID4VCI pre-authorised code grant, the same as at `/oid4vci/token`."""
    try:
        answer = wallet_grants.exchange_code(
            container.uow, form["grant_type"], form.get("pre-authorized_code", ""), container.now()
        )
    except Oid4vciError as err:
        body = {"error": err.code, "error_description": err.description}
        return JSONResponse(body, status_code=err.status, headers=NO_STORE)
    return JSONResponse(answer, headers=NO_STORE)


@router.post("/oauth/revoke")
async def revoke(
    request: Request, container: ContainerDep, authorization: Annotated[str, Header()] = ""
) -> Response:
    # access: the client (its own credentials), for its own tokens
    try:
        service.revoke(container.uow, authorization, await _form(request), container.now())
    except OAuthError as err:
        return _error(err)
    return Response(status_code=200, headers=NO_STORE)


# --- the holder's connected applications ----------------------------------------------------------


def _apps_page(
    request: Request, container: ContainerDep, account: SignedInDep, status: int = 200, **extra: Any
) -> HTMLResponse:
    apps = service.connected_apps(container.uow, account)
    return page(request, "my_apps.html", status, apps=apps, scope_words=oauth.OB_SCOPES, **extra)


@router.get("/my/apps", response_class=HTMLResponse)
def my_apps(request: Request, container: ContainerDep, account: SignedInDep) -> HTMLResponse:
    return _apps_page(request, container, account)


@router.post("/my/apps/{client_id}/revoke", response_class=HTMLResponse)
def disconnect(
    request: Request, container: ContainerDep, account: SignedInDep, client_id: str, _: CsrfDep
) -> Response:
    try:
        service.disconnect_app(container.uow, account, client_id, container.now())
    except service.NotConnectedError as err:
        return _apps_page(request, container, account, 404, problem=str(err))
    return RedirectResponse("/my/apps", status_code=303)


@router.get("/privacy", response_class=HTMLResponse)
def privacy(request: Request) -> HTMLResponse:
    """What the discovery document names as the privacy policy (x-imssf-privacyPolicyUrl)."""
    return page(request, "privacy.html")
