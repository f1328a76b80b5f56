"""Signing in by emailed link, signing out (here or everywhere), the account page and API tokens.

GET of a sign-in link only shows a button: mail scanners open links, and must not sign anyone in
(nor spend the link). The POST redeems it, makes the session and sets the signed cookie.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from rpl.accounts import InvalidEmailError
from rpl.services import accounts
from rpl.tokens import hash_token
from rpl.web import ratelimit
from rpl.web.deps import ContainerDep, CsrfDep, SessionTtlDep, SignedInDep
from rpl.web.ratelimit import LinkRateDep
from rpl.web.render import page
from rpl.web.sessions import clear_session_cookie, session_id, set_session_cookie

router = APIRouter(tags=["accounts"])


def safe_next(value: str) -> str:
    """`next` only ever leads to a path of this site; anything else goes to /account."""
    if (
        value.startswith("/")
        and not value.startswith(("//", "/\\"))
        and all(c.isprintable() and c not in "\\" for c in value)
    ):
        return value
    return "/account"


@router.get("/sign-in", response_class=HTMLResponse)
def sign_in_form(request: Request, next: str = "") -> HTMLResponse:
    return page(request, "sign_in.html", values={"email": "", "next": safe_next(next)}, problems={})


@router.post("/sign-in", response_class=HTMLResponse)
def sign_in_request(
    request: Request,
    container: ContainerDep,
    _: CsrfDep,
    email: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "",
) -> HTMLResponse:
    ratelimit.check(request, "sign-in", email.strip().lower())
    target = safe_next(next)
    try:
        accounts.request_sign_in(
            container.uow,
            container.mailer,
            container.settings.public_url,
            email,
            container.now(),
            target,
        )
    except InvalidEmailError as err:
        values = {"email": email, "next": target}
        return page(request, "sign_in.html", 422, values=values, problems={"email": [str(err)]})
    # The same answer whether or not an account has this address.
    return page(request, "sign_in_sent.html", email=email.strip())


@router.get("/sign-in/{token}", response_class=HTMLResponse)
def sign_in_link(
    request: Request, container: ContainerDep, token: str, _: LinkRateDep, next: str = ""
) -> HTMLResponse:
    accounts.check_sign_in_link(container.uow, token, container.now())
    return page(request, "sign_in_confirm.html", token=token, next=safe_next(next))


@router.post("/sign-in/{token}")
def sign_in_redeem(
    request: Request,
    container: ContainerDep,
    ttl: SessionTtlDep,
    token: str,
    _: LinkRateDep,
    __: CsrfDep,
    next: Annotated[str, Form()] = "",
) -> RedirectResponse:
    agent = request.headers.get("user-agent", "")
    signed_in = accounts.redeem_sign_in(container.uow, token, ttl, container.now(), agent)
    response = RedirectResponse(safe_next(next), status_code=303)
    set_session_cookie(request, response, signed_in.session_id, ttl)
    return response


@router.post("/sign-out")
def sign_out(request: Request, container: ContainerDep, _: CsrfDep) -> RedirectResponse:
    sid = session_id(request)
    if sid:
        accounts.sign_out(container.uow, sid, container.now())
    response = RedirectResponse("/", status_code=303)
    clear_session_cookie(response)
    return response


@router.get("/account", response_class=HTMLResponse)
def account_page(request: Request, container: ContainerDep, account: SignedInDep) -> HTMLResponse:
    return _account(request, container, account)


def _account(
    request: Request, container: ContainerDep, account: SignedInDep, new_token: str | None = None
) -> HTMLResponse:
    found = accounts.overview(container.uow, account, container.now())
    current = session_id(request)
    return page(
        request,
        "account.html",
        account=account,
        overview=found,
        current=hash_token(current) if current else None,
        new_token=new_token,
    )


@router.post("/account/sign-out-everywhere")
def sign_out_everywhere(
    container: ContainerDep, account: SignedInDep, _: CsrfDep
) -> RedirectResponse:
    accounts.sign_out_everywhere(container.uow, account, container.now())
    response = RedirectResponse("/sign-in", status_code=303)
    clear_session_cookie(response)
    return response


@router.post("/account/tokens", response_class=HTMLResponse)
def create_token(
    request: Request,
    container: ContainerDep,
    account: SignedInDep,
    _: CsrfDep,
    name: Annotated[str, Form()] = "",
) -> HTMLResponse:
    """The token is shown on this one page and never again: only its hash is kept."""
    _, secret = accounts.create_api_token(container.uow, account, name, container.now())
    return _account(request, container, account, new_token=secret)


@router.post("/account/tokens/{token_id}/revoke")
def revoke_token(
    container: ContainerDep, account: SignedInDep, token_id: int, _: CsrfDep
) -> RedirectResponse:
    accounts.revoke_api_token(container.uow, account, token_id, container.now())
    return RedirectResponse("/account", status_code=303)
