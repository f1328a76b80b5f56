"""The W3C CCG VC API: `POST /credentials/issue`, `/credentials/verify`, `/presentations/verify`.

Shapes follow the VC API and what the W3C interoperability suites (vc-data-model-2.0,
vc-di-eddsa, vc-bitstring-status-list) send and expect: issuing answers 201
`{"verifiableCredential": …}`; verifying answers 200 `{"verified": true, "checks", "warnings",
"errors"}` when everything passed and 400 with the same body when anything failed. Input that is
not what the API takes (not JSON, missing members, a signed credential sent for issuing) is a 400
with `{"error", "detail"}`. Bodies are read by hand rather than by a pydantic model, so that bad
input is a 400 as the suites expect, not FastAPI's 422.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from rpl import access
from rpl.accounts import Role
from rpl.errors import RplError
from rpl.jsonio import loads_strict
from rpl.presentations import PresentationResult, verify_presentation
from rpl.services import jobs, records, vcapi
from rpl.services.vcapi import InvalidRequestError
from rpl.verify import Check, VerificationResult
from rpl.web.deps import ActorDep, ContainerDep
from rpl.web.ratelimit import VerifyRateDep

router = APIRouter(tags=["vc-api"])

# VC Data Model 2.0 §7.1 problem types, and Bitstring Status List v1.0 §3.6 for status.
_SPEC = "https://www.w3.org/TR/vc-data-model#"
_PROBLEMS = {
    "json": (_SPEC + "PARSING_ERROR", "The document could not be parsed"),
    "structure": (_SPEC + "MALFORMED_VALUE_ERROR", "Malformed document"),
    "contexts": (_SPEC + "MALFORMED_VALUE_ERROR", "Malformed document"),
    "schema": (_SPEC + "MALFORMED_VALUE_ERROR", "Not valid against its schema"),
    "validity": (_SPEC + "RANGE_ERROR", "Outside its validity period"),
    "status": (
        "https://www.w3.org/ns/credentials/status-list#STATUS_VERIFICATION_ERROR",
        "Status check failed",
    ),
}
_CRYPTO = (_SPEC + "CRYPTOGRAPHIC_SECURITY_ERROR", "Securing mechanism check failed")


async def _body(request: Request) -> dict[str, Any]:
    try:
        body = loads_strict(await request.body())
    except RplError as err:
        raise InvalidRequestError(f"the request body is not acceptable JSON: {err}") from err
    if not isinstance(body, dict):
        raise InvalidRequestError("the request body must be a JSON object")
    return body


def _bad_request(err: RplError) -> JSONResponse:
    return JSONResponse({"error": type(err).__name__, "detail": str(err)}, status_code=400)


def _problem(check: Check) -> dict[str, str]:
    kind, title = _PROBLEMS.get(check.name, _CRYPTO)
    return {"type": kind, "title": title, "detail": f"{check.name}: {check.detail}"}


def _answer(
    result: VerificationResult | PresentationResult, checks: tuple[Check, ...]
) -> JSONResponse:
    body = {
        "verified": result.verified,
        "checks": list(dict.fromkeys(c.name for c in checks if c.passed)),
        "warnings": [],
        "errors": [_problem(c) for c in checks if not c.passed],
        "results": result.to_json(),
    }
    return JSONResponse(body, status_code=200 if result.verified else 400)


@router.post("/credentials/issue", status_code=201)
async def issue(request: Request, container: ContainerDep, actor: ActorDep) -> JSONResponse:
    """Sign a credential for one of our organisations (the `issuer`), with its key and its
    securing mechanism, and store it (its page and JSON at `Location`)."""
    # access: org admin (a personal API token) or the operator's token; checked before the body
    try:
        _may_issue_somewhere(actor)
    except access.NotSignedInError as err:  # an API: 401, never the pages' way to the sign-in form
        body = {"error": type(err).__name__, "detail": str(err)}
        return JSONResponse(body, status_code=401, headers={"WWW-Authenticate": "Bearer"})
    try:
        body = await _body(request)
        if "credential" not in body:
            raise InvalidRequestError("the request has no credential")
        org = vcapi.hosted_issuer(container.uow, container.settings.public_url, body["credential"])
    except RplError as err:
        return _bad_request(err)
    access.require_role(actor, org, Role.ADMIN)  # 403: not an admin of the issuer
    try:
        issued = vcapi.issue_credential(
            container.uow,
            jobs.keyring(container),
            container.settings.public_url,
            container.settings.cryptosuite,
            body["credential"],
            body.get("options"),
            container.now(),
            actor.label("admin"),
        )
    except RplError as err:
        return _bad_request(err)
    return JSONResponse(
        {"verifiableCredential": issued.secured},
        status_code=201,
        headers={"Location": f"/credentials/{issued.credential_id}"},
    )


def _may_issue_somewhere(actor: access.Actor) -> None:
    """Nobody (401), or someone who is no organisation's admin (403), learns nothing more."""
    if actor.operator or any(m.active and m.role is Role.ADMIN for m in actor.memberships):
        return
    if not actor.known:
        raise access.NotSignedInError(
            "issuing needs an organisation admin's API token or the operator's token "
            "as 'Authorization: Bearer …'"
        )
    raise access.ForbiddenError("issuing needs the admin role at the issuing organisation")


@router.post("/credentials/verify")
async def verify(request: Request, container: ContainerDep, _: VerifyRateDep) -> JSONResponse:
    try:
        body = await _body(request)
        credential = body.get("verifiableCredential")
        if not isinstance(credential, dict | str):
            raise InvalidRequestError("the request has no verifiableCredential")
    except RplError as err:
        return _bad_request(err)
    if isinstance(credential, dict) and credential.get("type") == "EnvelopedVerifiableCredential":
        credential = str(credential.get("id", "")).removeprefix("data:application/vc+jwt,")
    result = records.verify(
        container.resolver(), credential, container.now(), container.status_lists()
    )
    return _answer(result, result.checks)


@router.post("/presentations/verify")
async def verify_vp(request: Request, container: ContainerDep, _: VerifyRateDep) -> JSONResponse:
    try:
        body = await _body(request)
        presentation = body.get("verifiablePresentation")
        options = body.get("options") or {}
        if not isinstance(presentation, dict):
            raise InvalidRequestError("the request has no verifiablePresentation")
        if not isinstance(options, dict):
            raise InvalidRequestError("options must be a JSON object")
    except RplError as err:
        return _bad_request(err)
    result = verify_presentation(
        presentation,
        container.resolver(),
        container.now(),
        challenge=options.get("challenge"),
        domain=options.get("domain"),
        status_lists=container.status_lists(),
        require_binding=False,
    )
    inner = tuple(c for r in result.credentials for c in r.checks)
    return _answer(result, result.checks + inner)
