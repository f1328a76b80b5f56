"""The holder's passport (/my/passport), what they share (/shared/<secret>) and publish (/people/<handle>).

The passport is the signed-in account's own; a claim or link id of someone else's is, to it, one
that does not exist (404). A share link's page answers 410, showing nothing of the records, once
its holder revoked it or it expired.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from rpl import passport as pp
from rpl import printable
from rpl.services import passport, records
from rpl.web.deps import ContainerDep, CsrfDep, SignedInDep, UrlsDep
from rpl.web.ratelimit import LinkRateDep
from rpl.web.render import page

router = APIRouter(tags=["passport"])


def _passport_page(
    request: Request,
    container: Any,
    account: Any,
    by: str = "period",
    status_code: int = 200,
    form: str = "",
    problems: dict[str, list[str]] | None = None,
    values: dict[str, Any] | None = None,
    new_link: str | None = None,
) -> HTMLResponse:
    problems = dict(problems or {})
    try:
        grouping = pp.parse_grouping(by)
    except pp.UnknownGroupingError as err:
        grouping, status_code, form = pp.GroupBy.PERIOD, 422, "grouping"
        problems = {"by": [str(err)]}
    found = passport.get_passport(container.uow, account)
    now = container.now()
    return page(
        request,
        "passport.html",
        status_code=status_code,
        passport=found,
        by=grouping,
        group_names=pp.GROUP_NAMES,
        groups=found.grouped(grouping),
        skills=found.skills(),
        seen=found.visibility(now),
        now=now,
        form=form,
        problems=problems,
        values=values or {},
        new_link=new_link,
        limits={"headline": pp.MAX_HEADLINE, "notes": pp.MAX_NOTES, "days": pp.MAX_LINK_DAYS},
    )


def _problems(err: pp.InvalidPassportInputError) -> dict[str, list[str]]:
    return {k: list(v) for k, v in err.problems.items()}


@router.get("/my/passport", response_class=HTMLResponse)
def passport_page(
    request: Request, container: ContainerDep, account: SignedInDep, by: str = "period"
) -> HTMLResponse:
    return _passport_page(request, container, account, by)


@router.post("/my/passport/story", response_model=None)
def save_story(
    request: Request,
    container: ContainerDep,
    account: SignedInDep,
    _: CsrfDep,
    headline: Annotated[str, Form()] = "",
    story: Annotated[str, Form()] = "",
) -> HTMLResponse | RedirectResponse:
    try:
        passport.save_story(container.uow, account, headline, story, container.now())
    except pp.InvalidPassportInputError as err:
        values = {"headline": headline, "story": story}
        return _passport_page(
            request, container, account, "period", 422, "story", _problems(err), values
        )
    return RedirectResponse("/my/passport#story", status_code=303)


@router.post("/my/passport/records/{claim_id}/note", response_model=None)
def save_note(
    request: Request,
    container: ContainerDep,
    account: SignedInDep,
    claim_id: str,
    _: CsrfDep,
    headline: Annotated[str, Form()] = "",
    notes: Annotated[str, Form()] = "",
    by: Annotated[str, Form()] = "period",
) -> HTMLResponse | RedirectResponse:
    try:
        passport.save_note(container.uow, account, claim_id, headline, notes, container.now())
    except pp.InvalidPassportInputError as err:
        values = {"headline": headline, "notes": notes}
        form = f"note:{claim_id}"
        return _passport_page(request, container, account, by, 422, form, _problems(err), values)
    return RedirectResponse(f"/my/passport?by={pp.parse_grouping(by)}#records", 303)


@router.post("/my/passport/links", response_class=HTMLResponse)
async def create_link(
    request: Request,
    container: ContainerDep,
    account: SignedInDep,
    urls: UrlsDep,
    _: CsrfDep,
    label: Annotated[str, Form()] = "",
    days: Annotated[str, Form()] = "",
    include_notes: Annotated[bool, Form()] = False,
) -> HTMLResponse:
    """The link is shown on this one page and never again: only its secret's hash is kept."""
    chosen = [str(c) for c in (await request.form()).getlist("records")]
    try:
        _, secret = passport.create_share_link(
            container.uow, account, chosen, days, label, include_notes, container.now()
        )
    except pp.InvalidPassportInputError as err:
        values = {"label": label, "days": days, "include_notes": include_notes, "records": chosen}
        return _passport_page(
            request, container, account, "period", 422, "share", _problems(err), values
        )
    return _passport_page(
        request, container, account, new_link=f"{urls.public_url}/shared/{secret}"
    )


@router.post("/my/passport/links/{link_id}/revoke")
def revoke_link(
    container: ContainerDep, account: SignedInDep, link_id: str, _: CsrfDep
) -> RedirectResponse:
    passport.revoke_share_link(container.uow, account, link_id, container.now())
    return RedirectResponse("/my/passport#links", status_code=303)


@router.post("/my/passport/profile", response_model=None)
async def save_profile(
    request: Request,
    container: ContainerDep,
    account: SignedInDep,
    _: CsrfDep,
    handle: Annotated[str, Form()] = "",
    published: Annotated[bool, Form()] = False,
    show_story: Annotated[bool, Form()] = False,
) -> HTMLResponse | RedirectResponse:
    form = await request.form()
    chosen = [str(c) for c in form.getlist("profile_records")]
    notes = [str(c) for c in form.getlist("profile_notes")]
    try:
        passport.save_profile(
            container.uow, account, handle, published, show_story, chosen, notes, container.now()
        )
    except pp.InvalidPassportInputError as err:
        values = {
            "handle": handle,
            "published": published,
            "show_story": show_story,
            "profile_records": chosen,
            "profile_notes": notes,
        }
        return _passport_page(
            request, container, account, "period", 422, "profile", _problems(err), values
        )
    return RedirectResponse("/my/passport#profile", status_code=303)


# --- what others see -------------------------------------------------------------------------------


def _verified(container: Any, view: passport.SharedView) -> list[tuple[Any, Any]]:
    resolver, lists, now = container.resolver(), container.status_lists(), container.now()
    return [
        (item, records.verify(resolver, item.credential.stored.document, now, lists))
        for item in view.items
    ]


# Registered before `/shared/{token}`, which would otherwise take "<secret>.pdf" as a secret.
@router.get("/shared/{token}.pdf", response_class=Response)
def shared_pdf(
    container: ContainerDep,
    urls: UrlsDep,
    token: str,
    _: LinkRateDep,
    paper: Literal["a4", "letter"] = "a4",
) -> Response:
    """Every record of a live link in one PDF, each with its QR code to the live check."""
    view = passport.shared_records(container.uow, token, container.now())
    facts = [
        (
            printable.printed_facts(
                i.credential.document, i.credential.claim, i.credential.organisation
            ),
            urls.credential(i.credential.stored.id),
        )
        for i in view.items
    ]
    title = f"Records shared by {view.holder_name}"
    pdf = printable.credentials_pdf(facts, title, paper, container.now())
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="shared-records-{paper}.pdf"',
            "Cache-Control": "no-store",
        },
    )


@router.get("/shared/{token}", response_class=HTMLResponse)
def shared_page(
    request: Request, container: ContainerDep, token: str, _: LinkRateDep
) -> HTMLResponse:
    try:
        view = passport.open_share_link(container.uow, token, container.now())
    except passport.ShareLinkGoneError as err:
        gone = page(request, "shared_gone.html", status_code=410, state=err.state.value)
        gone.headers["Cache-Control"] = "no-store"
        return gone
    response = page(
        request,
        "shared.html",
        view=view,
        items=_verified(container, view),
        heading=f"Records shared by {view.holder_name}",
        pdf=f"/shared/{token}.pdf",
    )
    # Revoking must take effect at once, and a link meant for one reader belongs in no index.
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


@router.get("/people/{handle}", response_class=HTMLResponse)
def profile_page(request: Request, container: ContainerDep, handle: str) -> HTMLResponse:
    view = passport.public_profile(container.uow, handle)
    return page(
        request,
        "shared.html",
        view=view,
        items=_verified(container, view),
        heading=view.holder_name,
        profile=True,
    )
