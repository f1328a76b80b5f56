"""Domain errors become HTTP responses here, and only here."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

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
from rpl.services.attestation import LinkExpiredError, LinkUsedError, UnknownLinkError
from rpl.services.keys import ActiveKeyError, MissingReasonError, UnknownKeyError
from rpl.services.records import UnknownCredentialError
from rpl.services.status import NoStatusEntryError, UnknownStatusListError
from rpl.storage.unit_of_work import ConcurrentUpdateError, DuplicateError, UnknownClaimError
from rpl.web.deps import NotAuthorisedError
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
    UnknownLinkError: 404,
    UnknownCredentialError: 404,
    UnknownStatusListError: 404,
    NoStatusEntryError: 409,
    UnknownKeyError: 404,
    ActiveKeyError: 409,
    MissingReasonError: 422,
    DidResolutionError: 404,
    LinkExpiredError: 410,
    LinkUsedError: 409,
    IllegalTransitionError: 409,
    ConcurrentUpdateError: 409,
    DuplicateError: 409,
    NotAuthorisedError: 401,
    CsrfError: 403,
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
    if wants_json(request):
        body: dict[str, object] = {"error": type(err).__name__, "detail": str(err)}
        if problems:
            body["problems"] = {
                k: list(v) if not isinstance(v, str) else [v] for k, v in problems.items()
            }
        return JSONResponse(body, status_code=status)
    templates = request.app.state.templates
    return templates.TemplateResponse(
        request,
        "error.html",
        {"title": TITLES.get(status, "Something is wrong"), "message": str(err)},
        status_code=status,
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(RplError, rpl_error)
