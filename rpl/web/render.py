"""Rendering pages: every template gets the request and the browser's CSRF token."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from rpl.web.deps import get_actor
from rpl.web.security import CSRF_FIELD, csrf_token


def page(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    templates = request.app.state.templates
    context.setdefault("csrf_field", CSRF_FIELD)
    context["csrf_token"] = csrf_token(request)
    context.setdefault("actor", get_actor(request))  # for the header's sign-in / account links
    response: HTMLResponse = templates.TemplateResponse(
        request, name, context, status_code=status_code
    )
    return response
