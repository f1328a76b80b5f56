"""The 1EdTech Open Badges 3.0 REST API (OB 3.0 §6, §7): the documents it speaks, pure.

The service description document (§6.3, an OpenAPI 3.0 document with the `OAuth2ACG` security
scheme of §7.1.1.1), `Imsx_StatusInfo` error bodies, the paging headers of §6.4 (`X-Total-Count`
and an RFC 8288 `Link` with first, last, prev and next), the `GetOpenBadgeCredentialsResponse`
body, and the holder's `Profile` (§B.2.1): what we keep of a person (a name and the address they
sign in with), and what a `PUT` may change of it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from rpl.errors import RplError
from rpl.oauth import OB_SCOPES
from rpl.schema import validate
from rpl.securing import is_jwt, secured_document

API_PATH = "/ims/ob/v3p0"
OB_CONTEXT = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
PROFILE_SCHEMA = "ob_v3p0_profile"
RESPONSE_SCHEMA = "ob_v3p0_getopenbadgecredentialsresponse"
DEFAULT_LIMIT = 20
MAX_LIMIT = 100
MAX_NAME = 200
# Imsx_CodeMinorFieldValue for each HTTP status we answer with.
CODE_MINOR = {
    400: "invalid_data",
    401: "unauthorizedrequest",
    403: "forbidden",
    404: "not_found",
    405: "not_allowed",
    406: "not_acceptable",
    500: "internal_server_error",
}


class ObApiError(RplError):
    """A request the resource server refuses, answered with an `Imsx_StatusInfo` body."""

    def __init__(self, status: int, description: str, code_minor: str | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.code_minor = code_minor or CODE_MINOR.get(status, "unknown")


def status_info(status: int, description: str, code_minor: str | None = None) -> dict[str, Any]:
    """An `Imsx_StatusInfo` (§B.3.3) for a failed request."""
    return {
        "imsx_codeMajor": "failure",
        "imsx_severity": "error",
        "imsx_description": description,
        "imsx_codeMinor": {
            "imsx_codeMinorField": [
                {
                    "imsx_codeMinorFieldName": "rpl",
                    "imsx_codeMinorFieldValue": code_minor or CODE_MINOR.get(status, "unknown"),
                }
            ]
        },
    }


def _operation(operation_id: str, scope: str, summary: str, ok: str) -> dict[str, Any]:
    return {
        "operationId": operation_id,
        "summary": summary,
        "tags": ["OpenBadgeCredentials"],
        "security": [{"OAuth2ACG": [scope]}],
        "responses": {
            ok: {"description": summary},
            "default": {"description": "The request was refused: an Imsx_StatusInfo says why."},
        },
    }


def service_description(public_url: str, image_url: str, privacy_url: str) -> dict[str, Any]:
    """The Service Description Document (§6.3.1, §7.1.1.1) served at /ims/ob/v3p0/discovery."""
    scopes = dict(OB_SCOPES)
    paging = [
        {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1}},
        {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0}},
        {"name": "since", "in": "query", "schema": {"type": "string", "format": "date-time"}},
    ]
    credentials = {
        "get": {
            **_operation(
                "getCredentials",
                next(s for s in scopes if s.endswith("credential.readonly")),
                "The holder's OpenBadgeCredentials",
                "200",
            ),
            "parameters": paging,
        },
        "post": _operation(
            "upsertCredential",
            next(s for s in scopes if s.endswith("credential.upsert")),
            "Add or replace a credential the holder holds",
            "201",
        ),
    }
    profile = {
        "get": _operation(
            "getProfile",
            next(s for s in scopes if s.endswith("profile.readonly")),
            "The holder's Profile",
            "200",
        ),
        "put": _operation(
            "putProfile",
            next(s for s in scopes if s.endswith("profile.update")),
            "Change the holder's Profile",
            "200",
        ),
    }
    token_url = f"{public_url}/oauth/token"
    return {
        "openapi": "3.0.1",
        "info": {
            "title": "rpl: recognition of prior learning",
            "version": "3.0",
            "description": "The 1EdTech Open Badges 3.0 API of this rpl instance.",
            "termsOfService": privacy_url,
            "x-imssf-image": image_url,
            "x-imssf-privacyPolicyUrl": privacy_url,
        },
        "servers": [{"url": f"{public_url}{API_PATH}"}],
        "tags": [{"name": "OpenBadgeCredentials"}, {"name": "Discovery"}],
        "paths": {
            "/credentials": credentials,
            "/profile": profile,
            "/discovery": {
                "get": {
                    "operationId": "getServiceDescription",
                    "tags": ["Discovery"],
                    "responses": {"200": {"description": "This document"}},
                }
            },
        },
        "components": {
            "securitySchemes": {
                "OAuth2ACG": {
                    "type": "oauth2",
                    "description": "OAuth 2.0 Authorization Code Grant authorization",
                    "x-imssf-name": "rpl",
                    "x-imssf-privacyPolicyUrl": privacy_url,
                    "x-imssf-registrationUrl": f"{public_url}/oauth/register",
                    "x-imssf-termsOfServiceUrl": privacy_url,
                    "flows": {
                        "authorizationCode": {
                            "authorizationUrl": f"{public_url}/oauth/authorize",
                            "tokenUrl": token_url,
                            "refreshUrl": token_url,
                            "scopes": scopes,
                        }
                    },
                }
            },
            "schemas": {},
        },
    }


# --- paging (§6.4) ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PageRequest:
    limit: int
    offset: int
    since: datetime | None


def _whole(raw: str | None, name: str, least: int, default: int) -> int:
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or int(raw) < least:
        raise ObApiError(
            400, f"{name} must be a whole number of at least {least}", "invalid_query_parameter"
        )
    return int(raw)


def page_request(limit: str | None, offset: str | None, since: str | None) -> PageRequest:
    """The query of getCredentials, checked; `limit` is capped at MAX_LIMIT."""
    when = None
    if since:
        try:
            when = datetime.fromisoformat(since.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError as err:
            raise ObApiError(
                400, "since must be an ISO 8601 date and time", "invalid_query_parameter"
            ) from err
        if when.tzinfo is None:
            raise ObApiError(
                400, "since must name its time zone (e.g. Z)", "invalid_query_parameter"
            )
    return PageRequest(
        limit=min(_whole(limit, "limit", 1, DEFAULT_LIMIT), MAX_LIMIT),
        offset=_whole(offset, "offset", 0, 0),
        since=when,
    )


def link_header(base_url: str, page: PageRequest, total: int, since: str | None) -> str:
    """The RFC 8288 `Link` header: first and last always, prev and next where they exist."""

    def url(offset: int) -> str:
        query = {"limit": str(page.limit), "offset": str(offset)}
        if since:
            query["since"] = since
        return f"{base_url}?{urlencode(query)}"

    last = max(0, (total - 1) // page.limit * page.limit)
    links = []
    if page.offset + page.limit < total:
        links.append((url(page.offset + page.limit), "next"))
    links.append((url(last), "last"))
    links.append((url(0), "first"))
    if page.offset > 0:
        links.append((url(max(0, min(page.offset - page.limit, last))), "prev"))
    return ", ".join(f'<{target}>; rel="{rel}"' for target, rel in links)


def credentials_response(documents: Sequence[str]) -> dict[str, Any]:
    """The GetOpenBadgeCredentialsResponse: JSON credentials in `credential`, VC-JWTs (compact
    JWS, §8.2) in `compactJwsString`; the page's order is kept within each."""
    return {
        "credential": [secured_document(d) for d in documents if not is_jwt(d)],
        "compactJwsString": [d.strip() for d in documents if is_jwt(d)],
    }


# --- the holder's Profile -----------------------------------------------------------------------


@dataclass(frozen=True)
class HolderProfile:
    """What we keep of a holder: an id, a name (theirs to change), the address they sign in with."""

    account_id: str
    name: str
    email: str

    @property
    def id(self) -> str:
        return f"urn:uuid:{self.account_id}"

    def as_json(self) -> dict[str, Any]:
        return {
            "@context": [OB_CONTEXT],
            "id": self.id,
            "type": "Profile",
            "name": self.name,
            "email": self.email,
        }


def profile_update(current: HolderProfile, body: object) -> str:
    """The new name a PUT /profile asks for; 400 if the body is not a valid Profile or tries to
    change what is not the holder's to change here (its id, its email address)."""
    if not isinstance(body, dict):
        raise ObApiError(400, "the body must be a JSON Profile object")
    problems = validate(body, PROFILE_SCHEMA)
    if problems:
        raise ObApiError(400, "not a valid Profile: " + "; ".join(problems[:3]))
    kinds = body["type"] if isinstance(body["type"], list) else [body["type"]]
    if "Profile" not in kinds:
        raise ObApiError(400, "type must be Profile (or a list holding it)")
    if body["id"] != current.id:
        raise ObApiError(400, f"this token's profile is {current.id}, not {body['id']!r}")
    if "email" in body and body["email"] != current.email:
        raise ObApiError(400, "the email address is how the holder signs in; it cannot change here")
    name = body.get("name", current.name)
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME:
        raise ObApiError(400, f"name must be a non-empty text of at most {MAX_NAME} characters")
    return " ".join(name.split())
