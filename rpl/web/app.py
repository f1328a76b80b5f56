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
from rpl.web.ratelimit import limiter_for
from rpl.web.routes import accounts as account_routes
from rpl.web.routes import (
    api,
    attest,
    baked,
    claims,
    credentials,
    oid4vci,
    orgs,
    status,
    vcapi,
)
from rpl.web.routes import archive as archive_routes
from rpl.web.routes import connections as connection_routes
from rpl.web.routes import credit as credit_routes
from rpl.web.routes import credit_assess as credit_assess_routes
from rpl.web.routes import domain as domain_routes
from rpl.web.routes import members as member_routes
from rpl.web.routes import oauth as oauth_routes
from rpl.web.routes import obapi as obapi_routes
from rpl.web.routes import passport as passport_routes
from rpl.web.routes import printable as printable_routes
from rpl.web.routes import rosters as roster_routes
from rpl.web.security import BodySizeLimit, security_headers

TEMPLATES_DIR = Path(__file__).resolve().parents[2] / "templates"
STATIC_DIR = TEMPLATES_DIR / "static"
# Room for the form fields around the largest allowed evidence files.
_FORM_OVERHEAD = 1024 * 1024
EVIDENCE_SLOTS = claims.EVIDENCE_SLOTS
COMMON = (400, 401, 403, 404, 409, 410, 413, 415, 422, 429)


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
        # Any route can answer these (rpl.web.errors maps domain errors to them in one place;
        # CSRF, sign-in and rate limits apply everywhere): documented once, for every operation.
        responses={code: {"description": errors.TITLES.get(code, "Refused")} for code in COMMON},
    )
    app.state.container = container
    app.state.templates = make_templates()
    errors.install(app)
    app.middleware("http")(security_headers)
    limit = container.settings.max_upload_bytes * EVIDENCE_SLOTS + _FORM_OVERHEAD
    app.add_middleware(BodySizeLimit, limit=limit)
    # printable before credentials: its /credentials/<id>.pdf must match first
    # Standards routers come before `credentials`: its /credentials/{id} would take their paths.
    # passport first: its /my/passport must not be read as a claimant's /my/{token}.
    app.include_router(passport_routes.router)
    # and /my/export, /my/import, /my/clr.json likewise (the holder's archive)
    app.include_router(archive_routes.router)
    # and /my/apps (the holder's connected applications; the OB 3.0 API's OAuth server)
    app.include_router(oauth_routes.router)
    # and /my/connections (the holder's connections to other OB 3.0 providers)
    app.include_router(connection_routes.router)
    app.include_router(obapi_routes.router)
    routers = (orgs, claims, attest, printable_routes, vcapi, baked, oid4vci, credentials, api)
    for module in (*routers, status):
        app.include_router(module.router)
    app.include_router(account_routes.router)
    app.include_router(member_routes.router)
    app.include_router(roster_routes.router)
    app.include_router(credit_routes.router)
    app.include_router(credit_assess_routes.router)
    app.include_router(domain_routes.router)
    app.state.limiter = limiter_for(container.settings)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app
