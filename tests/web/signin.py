"""Signing in through the real app's pages, as a person does: ask, open the mailed link, press."""

from __future__ import annotations

from typing import Any

from rpl.accounts import Membership
from rpl.bootstrap import Container
from rpl.organisations import Organisation
from rpl.services import members
from tests.conftest import PUBLIC_URL, csrf_from, outbox_links

OPERATOR = "admin:admin-token"


def sign_in_link(client: Any, container: Container, email: str, next_path: str = "") -> str:
    form = csrf_from(client.get("/sign-in").text)
    before = len(outbox_links(container, "sign-in"))
    answer = client.post("/sign-in", data={"email": email, "next": next_path, "csrf_token": form})
    assert answer.status_code == 200, answer.text
    links = outbox_links(container, "sign-in")
    assert len(links) == before + 1, "no sign-in link was mailed"
    return links[-1]


def sign_in(client: Any, container: Container, email: str) -> Any:
    """Sign `client` in as `email`; returns the redeeming POST's response (a 303)."""
    path = sign_in_link(client, container, email)
    form = csrf_from(client.get(path).text)
    answer = client.post(path, data={"csrf_token": form}, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    return answer


def new_client(container: Container) -> Any:
    """Another browser on the same app (its own cookies)."""
    from fastapi.testclient import TestClient

    from rpl.web.app import create_app

    return TestClient(create_app(container), base_url=PUBLIC_URL)


def add_member(
    container: Container, org: Organisation, email: str, role: str, title: str = ""
) -> Membership:
    return members.add_member(
        container.uow, None, PUBLIC_URL, org, email, role, title, OPERATOR, container.now()
    )


def api_headers(container: Container, email: str, name: str = "test") -> dict[str, str]:
    """An Authorization header with a new API token of `email`'s account (made if none)."""
    from rpl.services import accounts

    now = container.now()
    with container.uow() as tx:
        account, made = tx.accounts.ensure(f"acct-{email}", email, now)
        if made:
            tx.commit()
    _, secret = accounts.create_api_token(container.uow, account, name, now)
    return {"Authorization": f"Bearer {secret}"}
