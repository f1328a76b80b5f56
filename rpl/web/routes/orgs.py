"""Organisations: the list, a page each, and each one's `did:web` document."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse

from rpl.services import organisations
from rpl.web.deps import ContainerDep
from rpl.web.render import page

router = APIRouter()


@router.get("/orgs/{slug}/did.json")
def did_json(container: ContainerDep, slug: str) -> JSONResponse:
    document = organisations.organisation_did_document(
        container.uow, container.settings.public_url, slug
    )
    return JSONResponse(document, media_type="application/did+json")


@router.get("/orgs", response_class=HTMLResponse)
def org_list(request: Request, container: ContainerDep) -> HTMLResponse:
    with container.uow() as tx:
        orgs = tx.orgs.list()
    public_url = container.settings.public_url
    return page(
        request,
        "orgs.html",
        orgs=[(o, organisations.organisation_did(public_url, o)) for o in orgs],
    )


@router.get("/", response_class=HTMLResponse)
def home(request: Request) -> HTMLResponse:
    return page(request, "home.html")
