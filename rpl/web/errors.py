"""Domain errors become HTTP responses here, and only here."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from rpl.access import ForbiddenError, NotSignedInError
from rpl.accounts import InvalidEmailError, InvalidMembershipError, UnknownMembershipError
from rpl.claims import IllegalTransitionError, InvalidClaimError
from rpl.credentials import CredentialInputError
from rpl.dids import DidResolutionError
from rpl.errors import RplError
from rpl.files import FileTooLargeError, UnsupportedFileTypeError
from rpl.organisations import (
    AttesterNotAllowedError,
    InvalidOrganisationError,
    UnknownOrganisationError,
)
from rpl.services.accounts import SignInLinkError, UnknownApiTokenError
from rpl.services.attestation import LinkExpiredError, LinkUsedError, UnknownLinkError
from rpl.services.keys import ActiveKeyError, MissingReasonError, UnknownKeyError
from rpl.services.records import UnknownCredentialError
from rpl.services.reissue import KeyNotCompromisedError
from rpl.services.roster import UnknownImportError
from rpl.services.status import (
    NoStatusEntryError,
    ReplacedCredentialError,
    UnknownStatusListError,
)
from rpl.storage.unit_of_work import ConcurrentUpdateError, DuplicateError, UnknownClaimError
from rpl.web.deps import NotAuthorisedError
from rpl.web.ratelimit import RateLimitedError
from rpl.web.routes.credit_errors import CREDIT_STATUS
from rpl.web.routes.passport_errors import PASSPORT_STATUS
from rpl.web.security import CsrfError

STATUS: dict[type[RplError], int] = {
    InvalidClaimError: 422,
    InvalidOrganisationError: 422,
    CredentialInputError: 422,
    AttesterNotAllowedError: 422,
    FileTooLargeError: 413,
    UnsupportedFileTypeError: 415,
    UnknownOrganisationError: 404,
    UnknownClaimError: 404,
    UnknownImportError: 404,
    UnknownLinkError: 404,
    UnknownCredentialError: 404,
    UnknownStatusListError: 404,
    NoStatusEntryError: 409,
    UnknownKeyError: 404,
    ActiveKeyError: 409,
    KeyNotCompromisedError: 409,
    ReplacedCredentialError: 409,
    MissingReasonError: 422,
    DidResolutionError: 404,
    LinkExpiredError: 410,
    LinkUsedError: 409,
    IllegalTransitionError: 409,
    ConcurrentUpdateError: 409,
    DuplicateError: 409,
    NotAuthorisedError: 401,
    CsrfError: 403,
    NotSignedInError: 401,
    ForbiddenError: 403,
    RateLimitedError: 429,
    InvalidEmailError: 422,
    InvalidMembershipError: 422,
    UnknownMembershipError: 404,
    UnknownApiTokenError: 404,
    SignInLinkError: 410,
    **CREDIT_STATUS,
    **PASSPORT_STATUS,
}
# Titles of errors that share a status with another meaning (403 is also an expired form).
ERROR_TITLES: dict[type[RplError], str] = {
    ForbiddenError: "Not allowed",
    RateLimitedError: "Too many attempts",
    SignInLinkError: "Link not valid",
}

TITLES = {
    401: "Not allowed",
    403: "Form expired",
    404: "Not found",
    409: "Already decided",
    410: "Link expired",
    413: "Too large",
    415: "File type not accepted",
    422: "Please check",
}


def status_of(err: RplError) -> int:
    for cls in type(err).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 400


def wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or (
        "application/json" in request.headers.get("accept", "")
        and "text/html" not in request.headers.get("accept", "")
    )


async def rpl_error(request: Request, err: Exception) -> Response:
    assert isinstance(err, RplError)
    status = status_of(err)
    problems = getattr(err, "problems", None)
    # Pages send someone who is not signed in to sign in, and back here afterwards.
    if isinstance(err, NotSignedInError) and not wants_json(request):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/sign-in?{urlencode({'next': target})}", status_code=303)
    headers = {"Retry-After": str(err.retry_after)} if isinstance(err, RateLimitedError) else None
    if wants_json(request):
        body: dict[str, object] = {"error": type(err).__name__, "detail": str(err)}
        if problems:
            body["problems"] = {
                k: list(v) if not isinstance(v, str) else [v] for k, v in problems.items()
            }
        return JSONResponse(body, status_code=status, headers=headers)
    title = next((ERROR_TITLES[c] for c in type(err).__mro__ if c in ERROR_TITLES), None)
    templates = request.app.state.templates
    return templates.TemplateResponse(
        request,
        "error.html",
        {"title": title or TITLES.get(status, "Something is wrong"), "message": str(err)},
        status_code=status,
        headers=headers,
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(RplError, rpl_error)
