"""The 1EdTech Open Badges 3.0 REST API (resource server): `/ims/ob/v3p0/…`.

`GET /discovery` is open (§6.3). Every other endpoint takes an access token from
`/oauth/token` (`Authorization: Bearer …`) carrying the endpoint's scope (§6.2.1); without a live
token the answer is 401, without the scope 403, both with an `Imsx_StatusInfo` body and an
RFC 6750 `WWW-Authenticate` challenge. Bad input is 400 with an `Imsx_StatusInfo` too.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from rpl import oauth
from rpl import obapi as spec
from rpl.errors import RplError
from rpl.jsonio import loads_strict
from rpl.obapi import ObApiError
from rpl.services import archive
from rpl.services import oauth as oauth_service
from rpl.services import obapi as service
from rpl.web.deps import ContainerDep

router = APIRouter(prefix=spec.API_PATH, tags=["open badges api"])
_JSON_TYPES = ("application/json", "application/ld+json", "application/vc+ld+json")


def _refusal(err: ObApiError, scope: str = "") -> JSONResponse:
    headers = {"Cache-Control": "no-store"}
    if err.status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="rpl", error="invalid_token"'
    elif err.status == 403:
        headers["WWW-Authenticate"] = (
            f'Bearer realm="rpl", error="insufficient_scope", scope="{scope}"'
        )
    body = spec.status_info(err.status, err.description, err.code_minor)
    return JSONResponse(body, status_code=err.status, headers=headers)


def _authorised(request: Request, container: Any, scope: str) -> oauth_service.TokenGrant:
    """The grant behind the request's bearer token, if it is live and carries `scope`."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise ObApiError(401, "send an access token from /oauth/token as 'Authorization: Bearer …'")
    try:
        grant = oauth_service.bearer_grant(container.uow, value.strip(), container.now())
    except oauth_service.InvalidTokenError as err:
        raise ObApiError(401, str(err)) from err
    if scope not in grant.scope:
        raise ObApiError(403, f"this access token was not granted the scope {scope}")
    return grant


@router.get("/discovery")
def discovery(container: ContainerDep) -> JSONResponse:
    public = container.settings.public_url
    document = spec.service_description(
        public, f"{public}/static/rpl-logo.svg", f"{public}/privacy"
    )
    return JSONResponse(document)


@router.get("/credentials")
def get_credentials(
    request: Request,
    container: ContainerDep,
    limit: str | None = None,
    offset: str | None = None,
    since: str | None = None,
) -> Response:
    # access: a holder's access token with credential.readonly
    try:
        grant = _authorised(request, container, oauth.CREDENTIAL_READONLY)
        page = spec.page_request(limit, offset, since)
    except ObApiError as err:
        return _refusal(err, oauth.CREDENTIAL_READONLY)
    found = service.list_credentials(container.uow, grant.account, page)
    base = f"{container.settings.public_url}{spec.API_PATH}/credentials"
    headers = {
        "X-Total-Count": str(found.total),
        "Link": spec.link_header(base, page, found.total, since),
        "Cache-Control": "no-store",
    }
    return JSONResponse(spec.credentials_response(found.documents), headers=headers)


@router.post("/credentials")
async def upsert_credential(request: Request, container: ContainerDep) -> Response:
    # access: a holder's access token with credential.upsert
    scope = oauth.CREDENTIAL_UPSERT
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        grant = _authorised(request, container, scope)
        if media != "text/plain" and media not in _JSON_TYPES:
            raise ObApiError(400, "send the credential as JSON, or a compact JWS as text/plain")
        data = await request.body()
        verifier = archive.Verifier(container.resolver(), container.status_lists())
        try:
            outcome = service.upsert_credential(
                container.uow, verifier, grant.account, data, grant.client_id, container.now()
            )
        except archive.NotACredentialError as err:
            raise ObApiError(400, f"not a credential: {err}") from err
    except ObApiError as err:
        return _refusal(err, scope)
    status = 201 if outcome.created else 200
    answer_type = "text/plain" if media == "text/plain" else media
    return Response(data, status_code=status, media_type=answer_type)


@router.get("/profile")
def get_profile(request: Request, container: ContainerDep) -> JSONResponse:
    # access: a holder's access token with profile.readonly
    try:
        grant = _authorised(request, container, oauth.PROFILE_READONLY)
    except ObApiError as err:
        return _refusal(err, oauth.PROFILE_READONLY)
    profile = service.get_profile(container.uow, grant.account)
    return JSONResponse(profile.as_json(), headers={"Cache-Control": "no-store"})


@router.put("/profile")
async def put_profile(request: Request, container: ContainerDep) -> JSONResponse:
    # access: a holder's access token with profile.update
    try:
        grant = _authorised(request, container, oauth.PROFILE_UPDATE)
        try:
            body: Any = loads_strict(await request.body())
        except RplError as err:
            raise ObApiError(400, f"the body is not JSON: {err}") from err
        profile = service.update_profile(
            container.uow, grant.account, body, grant.client_id, container.now()
        )
    except ObApiError as err:
        return _refusal(err, oauth.PROFILE_UPDATE)
    return JSONResponse(profile.as_json(), headers={"Cache-Control": "no-store"})
