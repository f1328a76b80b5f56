"""The web layer's dependencies, as `Annotated` aliases: handlers ask for what they need by name."""

from __future__ import annotations

import hmac
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from fastapi.templating import Jinja2Templates

from rpl.errors import RplError
from rpl.services.attestation import Urls
from rpl.web.security import check_csrf


class NotAuthorisedError(RplError):
    """The request lacks the credentials this operation needs."""


def get_container(request: Request) -> Any:
    return request.app.state.container


def get_templates(request: Request) -> Jinja2Templates:
    return request.app.state.templates  # type: ignore[no-any-return]


def get_urls(request: Request) -> Urls:
    return Urls(request.app.state.container.settings.public_url)


def require_admin(request: Request, authorization: Annotated[str, Header()] = "") -> None:
    expected = request.app.state.container.settings.admin_token
    sent = authorization.removeprefix("Bearer ").strip()
    if not expected or not sent or not hmac.compare_digest(expected, sent):
        raise NotAuthorisedError("this needs the administrator's token (RPL_ADMIN_TOKEN)")


def bearer_token(authorization: Annotated[str, Header()] = "") -> str:
    token = authorization.removeprefix("Bearer ").strip()
    if not token:
        raise NotAuthorisedError("send the claim's private token as 'Authorization: Bearer …'")
    return token


ContainerDep = Annotated[Any, Depends(get_container)]
TemplatesDep = Annotated[Jinja2Templates, Depends(get_templates)]
UrlsDep = Annotated[Urls, Depends(get_urls)]
AdminDep = Annotated[None, Depends(require_admin)]
BearerDep = Annotated[str, Depends(bearer_token)]
CsrfDep = Annotated[None, Depends(check_csrf)]
