"""`create_app(container)`: the front door. Pages for people, a JSON API for machines."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, select_autoescape

import rpl
from rpl.web import errors, filters
from rpl.web.routes import api, attest, claims, credentials, orgs, status
from rpl.web.security import BodySizeLimit, security_headers

TEMPLATES_DIR = Path(__file__).resolve().parents[2] / "templates"
STATIC_DIR = TEMPLATES_DIR / "static"
# Room for the form fields around the largest allowed evidence files.
_FORM_OVERHEAD = 1024 * 1024
EVIDENCE_SLOTS = claims.EVIDENCE_SLOTS


def make_templates() -> Jinja2Templates:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    filters.install(env)
    return Jinja2Templates(env=env)


def create_app(container: Any) -> FastAPI:
    app = FastAPI(
        title="rpl",
        version=rpl.__version__,
        description="Recognition of prior learning: participation claims confirmed by the "
        "organisations that saw them, issued as Open Badges 3.0 credentials.",
    )
    app.state.container = container
    app.state.templates = make_templates()
    errors.install(app)
    app.middleware("http")(security_headers)
    limit = container.settings.max_upload_bytes * EVIDENCE_SLOTS + _FORM_OVERHEAD
    app.add_middleware(BodySizeLimit, limit=limit)
    for module in (orgs, claims, attest, credentials, api, status):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app
