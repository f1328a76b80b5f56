"""Passwordless sign-in through the real app: the mailed link, sessions, sign-out, API tokens."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text

from rpl.bootstrap import Container
from rpl.organisations import Organisation
from rpl.web.sessions import SESSION_COOKIE
from tests.conftest import csrf_from
from tests.web.signin import add_member, new_client, sign_in, sign_in_link

EMAIL = "margaret@example.net"


def signed_in_as(client: Any) -> str | None:
    page = client.get("/account", follow_redirects=False)
    if page.status_code == 303:
        assert page.headers["location"].startswith("/sign-in?next=")
        return None
    assert page.status_code == 200
    return page.text.split("Signed in as <strong>")[1].split("<")[0]


def later(container: Container, delta: timedelta) -> None:
    start = container.now()
    container.now = lambda: start + delta  # type: ignore[method-assign]


def test_the_mailed_link_signs_in_only_when_its_button_is_pressed(
    client: Any, container: Container
) -> None:
    path = sign_in_link(client, container, " Margaret@Example.NET ")
    shown = client.get(path)
    assert shown.status_code == 200 and ">Sign in</button>" in shown.text
    assert signed_in_as(client) is None  # a mail scanner's GET signs nobody in
    answer = client.post(path, data={"csrf_token": csrf_from(shown.text)}, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/account"
    assert signed_in_as(client) == EMAIL
    again = client.post(path, data={"csrf_token": csrf_from(shown.text)})
    assert again.status_code == 410 and "not valid any more" in again.text


def test_only_hashes_of_links_and_sessions_are_stored(client: Any, container: Container) -> None:
    path = sign_in_link(client, container, EMAIL)
    token = path.rsplit("/", 1)[1]
    with container.engine.connect() as db:
        stored = db.execute(text("SELECT token_hash FROM sign_in_link")).scalars().all()
    assert stored == [hashlib.sha256(token.encode()).hexdigest()]
    sign_in(client, container, EMAIL)
    with container.engine.connect() as db:
        sessions = db.execute(text("SELECT id_hash FROM account_session")).scalars().all()
    assert len(sessions) == 1 and sessions[0] not in client.cookies[SESSION_COOKIE]


def test_a_link_expires_after_fifteen_minutes(client: Any, container: Container) -> None:
    path = sign_in_link(client, container, EMAIL)
    form = csrf_from(client.get(path).text)
    later(container, timedelta(minutes=15, seconds=1))
    assert client.get(path).status_code == 410
    assert client.post(path, data={"csrf_token": form}).status_code == 410
    assert signed_in_as(client) is None


def test_known_and_unknown_addresses_get_the_same_answer(client: Any, container: Container) -> None:
    sign_in(client, container, EMAIL)
    stranger = new_client(container)
    known = stranger.post(
        "/sign-in",
        data={"email": EMAIL, "csrf_token": csrf_from(stranger.get("/sign-in").text)},
    )
    unknown = stranger.post(
        "/sign-in",
        data={
            "email": "nobody@example.net",
            "csrf_token": csrf_from(stranger.get("/sign-in").text),
        },
    )
    assert known.status_code == unknown.status_code == 200
    assert known.text.replace(EMAIL, "X") == unknown.text.replace("nobody@example.net", "X")
    bad = stranger.post(
        "/sign-in", data={"email": "nope", "csrf_token": csrf_from(stranger.get("/sign-in").text)}
    )
    assert bad.status_code == 422 and 'value="nope"' in bad.text


@pytest.mark.parametrize(
    ("asked", "landing"),
    [
        ("/my", "/my"),
        ("/orgs/st-marys/members?x=1", "/orgs/st-marys/members?x=1"),
        ("https://evil.example/", "/account"),
        ("//evil.example/", "/account"),
        ("/\\evil.example", "/account"),
        ("javascript:alert(1)", "/account"),
    ],
)
def test_next_leads_only_to_paths_of_this_site(
    client: Any, container: Container, asked: str, landing: str
) -> None:
    path = sign_in_link(client, container, EMAIL, next_path=asked)
    shown = client.get(path, params={"next": asked})
    answer = client.post(
        path, data={"csrf_token": csrf_from(shown.text), "next": asked}, follow_redirects=False
    )
    assert answer.headers["location"] == landing


def test_a_page_that_needs_signing_in_sends_there_and_back(
    client: Any, container: Container, hospital: Organisation
) -> None:
    answer = client.get("/my", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/sign-in?next=%2Fmy"
    assert 'name="next" value="/my"' in client.get(answer.headers["location"]).text
    api = client.get("/api/organisations/st-marys/members")
    assert api.status_code == 401 and api.json()["error"] == "NotSignedInError"


def test_the_session_cookie_is_httponly_lax_and_secure_only_over_https(
    client: Any, container: Container
) -> None:
    cookie = sign_in(client, container, EMAIL).headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
    assert f"Max-Age={14 * 24 * 3600}" in cookie
    container.settings = container.settings.with_(public_url="https://rpl.example")
    secure = new_client(container)
    secure.post(
        "/sign-in", data={"email": EMAIL, "csrf_token": csrf_from(secure.get("/sign-in").text)}
    )
    mailed = "".join(p.read_text() for p in sorted(container.settings.outbox_dir.glob("*.eml")))
    path = re.findall(r"https://rpl\.example(/sign-in/[A-Za-z0-9_-]+)", mailed)[-1]
    form = csrf_from(secure.get(path).text)
    answer = secure.post(path, data={"csrf_token": form}, follow_redirects=False)
    assert "; Secure" in answer.headers["set-cookie"]


def test_a_tampered_or_foreign_cookie_signs_nobody_in(client: Any, container: Container) -> None:
    sign_in(client, container, EMAIL)
    good = client.cookies[SESSION_COOKIE]
    sid, _, signature = good.rpartition(".")
    for forged in (f"{sid}.{signature[::-1]}", f"{sid[:-2]}AA.{signature}", "anything"):
        client.cookies.set(SESSION_COOKIE, forged)
        assert signed_in_as(client) is None
    client.cookies.set(SESSION_COOKIE, good)
    assert signed_in_as(client) == EMAIL


def test_sign_out_ends_this_session_and_its_cookie_cannot_come_back(
    client: Any, container: Container
) -> None:
    sign_in(client, container, EMAIL)
    kept = client.cookies[SESSION_COOKIE]
    form = csrf_from(client.get("/account").text)
    assert client.post("/sign-out", data={"csrf_token": form}).status_code == 200
    assert signed_in_as(client) is None
    client.cookies.set(SESSION_COOKIE, kept)
    assert signed_in_as(client) is None


def test_sign_out_everywhere_ends_the_other_sessions(client: Any, container: Container) -> None:
    phone = new_client(container)
    sign_in(client, container, EMAIL)
    sign_in(phone, container, EMAIL)
    page = client.get("/account").text
    assert page.count("<li>Since") == 2 and "this browser" in page
    answer = client.post("/account/sign-out-everywhere", data={"csrf_token": csrf_from(page)})
    assert answer.status_code == 200
    assert signed_in_as(phone) is None and signed_in_as(client) is None


def test_sessions_expire_after_the_configured_days(client: Any, container: Container) -> None:
    sign_in(client, container, EMAIL)
    later(container, timedelta(days=13, hours=23))
    assert signed_in_as(client) == EMAIL
    later(container, timedelta(days=14, seconds=1))
    assert signed_in_as(client) is None


def test_an_api_token_is_shown_once_and_works_until_revoked(
    client: Any, container: Container, hospital: Organisation
) -> None:
    add_member(container, hospital, EMAIL, "admin", "Head of HR")
    sign_in(client, container, EMAIL)
    made = client.post(
        "/account/tokens",
        data={"name": "HR system", "csrf_token": csrf_from(client.get("/account").text)},
    )
    secret = made.text.split('<code id="new-token">')[1].split("<")[0]
    assert secret.startswith("rpl_") and secret not in client.get("/account").text
    bearer = {"Authorization": f"Bearer {secret}"}
    listed = client.get("/api/organisations/st-marys/members", headers=bearer)
    assert listed.status_code == 200 and EMAIL in [m["email"] for m in listed.json()]
    assert client.post("/api/organisations/st-marys/keys", headers=bearer).status_code == 201
    page = client.get("/account").text
    token_id = page.split('action="/account/tokens/')[1].split("/")[0]
    client.post(f"/account/tokens/{token_id}/revoke", data={"csrf_token": csrf_from(page)})
    assert client.get("/api/organisations/st-marys/members", headers=bearer).status_code == 401


def test_the_session_cookie_does_not_authorise_the_api(
    client: Any, container: Container, hospital: Organisation
) -> None:
    add_member(container, hospital, EMAIL, "admin")
    sign_in(client, container, EMAIL)
    assert client.get("/orgs/st-marys/members").status_code == 200
    assert client.get("/api/organisations/st-marys/members").status_code == 401
