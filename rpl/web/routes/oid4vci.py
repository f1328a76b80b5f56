"""OpenID for Verifiable Credential Issuance 1.0, pre-authorised code flow.

Metadata at `/.well-known/openid-credential-issuer` and `/.well-known/oauth-authorization-server`;
`POST /oid4vci/token` (form-encoded, RFC 6749 §4.1.3 shape), `POST /oid4vci/credential` and
`POST /oid4vci/nonce` (bearer token); the claimant's offer with its QR code at
`POST /my/<token>/wallet`. Errors are OAuth-shaped: `{"error", "error_description"}`.
"""

from __future__ import annotations

from typing import Annotated, Any

import segno
from fastapi import APIRouter, Form, Header, Request
from fastapi.responses import HTMLResponse, JSONResponse
from markupsafe import Markup

from rpl import oid4vci as spec
from rpl.errors import RplError
from rpl.jsonio import loads_strict
from rpl.oid4vci import InvalidTokenError, Oid4vciError
from rpl.services import attestation, jobs
from rpl.services import oid4vci as service
from rpl.web.deps import ContainerDep, CsrfDep
from rpl.web.render import page

router = APIRouter(tags=["openid4vci"])
# Tokens and credentials must not be kept by caches between the wallet and us (RFC 6749 §5.1).
NO_STORE = {"Cache-Control": "no-store"}


def _error(err: Oid4vciError) -> JSONResponse:
    headers = dict(NO_STORE)
    if isinstance(err, InvalidTokenError):
        headers["WWW-Authenticate"] = f'Bearer error="{err.code}"'
    body = {"error": err.code, "error_description": err.description}
    return JSONResponse(body, status_code=err.status, headers=headers)


@router.get("/.well-known/openid-credential-issuer")
def issuer_metadata(container: ContainerDep) -> JSONResponse:
    return JSONResponse(spec.issuer_metadata(container.settings.public_url))


@router.get("/.well-known/oauth-authorization-server")
def authorization_server_metadata(container: ContainerDep) -> JSONResponse:
    return JSONResponse(spec.authorization_server_metadata(container.settings.public_url))


@router.post("/oid4vci/token")
def token(
    container: ContainerDep,
    grant_type: Annotated[str, Form()] = "",
    pre_authorized_code: Annotated[str, Form(alias="pre-authorized_code")] = "",
) -> JSONResponse:
    try:
        answer = service.exchange_code(
            container.uow, grant_type, pre_authorized_code, container.now()
        )
    except Oid4vciError as err:
        return _error(err)
    return JSONResponse(answer, headers=NO_STORE)


def _bearer(authorization: str) -> str:
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise InvalidTokenError(
            "invalid_token", "send the access token as 'Authorization: Bearer …'"
        )
    return value.strip()


@router.post("/oid4vci/credential")
async def credential(
    request: Request, container: ContainerDep, authorization: Annotated[str, Header()] = ""
) -> JSONResponse:
    # access: holder (the wallet, by the access token its pre-authorised code bought)
    try:
        access_token = _bearer(authorization)
        try:
            body: Any = loads_strict(await request.body())
        except RplError as err:
            raise Oid4vciError("invalid_credential_request", f"not JSON: {err}") from err
        if not isinstance(body, dict):
            raise Oid4vciError("invalid_credential_request", "the request is not a JSON object")
        issuer = service.WalletIssuer(
            container.uow,
            jobs.keyring(container),
            container.settings.public_url,
            container.settings.cryptosuite,
        )
        answer = service.deliver_credential(issuer, access_token, body, container.now())
    except Oid4vciError as err:
        return _error(err)
    return JSONResponse(answer, headers=NO_STORE)


@router.post("/oid4vci/nonce")
def nonce(container: ContainerDep, authorization: Annotated[str, Header()] = "") -> JSONResponse:
    """A fresh c_nonce. Unlike OID4VCI 1.0's open nonce endpoint, ours is bound to the grant, so
    it takes the access token."""
    try:
        answer = service.fresh_nonce(container.uow, _bearer(authorization), container.now())
    except Oid4vciError as err:
        return _error(err)
    return JSONResponse(answer, headers=NO_STORE)


@router.post("/my/{token}/wallet", response_class=HTMLResponse)
def wallet_offer(request: Request, container: ContainerDep, token: str, _: CsrfDep) -> HTMLResponse:
    # access: holder (the claimant's private link)
    view = attestation.claim_for_claimant(container.uow, token)
    offer = service.create_offer(
        container.uow, container.settings.public_url, token, container.now()
    )
    # segno writes the SVG from the offer URI alone; nothing of it comes from the request.
    qr = Markup(segno.make(offer.uri, error="m").svg_inline(scale=4, title="Credential offer"))
    response = page(
        request,
        "wallet_offer.html",
        offer=offer,
        qr_svg=qr,
        token=token,
        organisation=view.organisation,
    )
    response.headers.update(NO_STORE)
    return response
