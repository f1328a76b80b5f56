"""The consumer side of the Open Badges 3.0 API, end to end, between two rpl instances.

Provider P issues credentials to a holder; consumer C is where the holder connects P. C's HTTP
port (`Container.provider_http`) is an httpx client whose transport leads into P's app, and C's
verifier resolves P's did:web and status lists through the same client — no network. The holder
signs in at C, connects P, is sent to P, signs in there and approves on P's real consent page
(the HTML form with its CSRF token); the test carries P's redirect back to C's callback. C pulls,
verifies and keeps each credential (the same bytes, the same SHA-256 as P stored), and later
fetches only what is new.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from rpl.archive import sha256_hex
from rpl.bootstrap import Container, bootstrap
from rpl.config import Settings
from rpl.dids import DidResolver, did_web_url
from rpl.organisations import Organisation
from rpl.provider_http import HttpxProviderHttp
from rpl.services import oauth as oauth_service
from rpl.services.organisations import RegisterOrganisation, register_organisation
from rpl.status import FetchedStatusList
from rpl.status_fetch import StatusListSource
from rpl.storage.tables import ObConnectionRow
from rpl.web.app import create_app
from tests.conftest import _reset_postgres, csrf_from, database_url
from tests.credit.support import issued_here
from tests.web.obapi_platform import answer as answer_consent
from tests.web.obapi_platform import consent_form as hidden_fields

P_URL = "https://provider.example"
C_URL = "https://consumer.example"
HOLDER = "margaret@example.net"  # the claimant `issued_here` issues to


# --- two instances -------------------------------------------------------------------------------


def _own_database(url: str, suffix: str) -> str:
    from sqlalchemy import create_engine, make_url, text

    parsed = make_url(url)
    own = parsed.set(database=f"{parsed.database}{suffix}")
    engine = create_engine(parsed, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        found = connection.execute(
            text("select 1 from pg_database where datname = :n"), {"n": own.database}
        ).first()
        if not found:
            connection.execute(text(f'CREATE DATABASE "{own.database}"'))
    engine.dispose()
    return own.render_as_string(hide_password=False)


def _instance(tmp_path: Path, name: str, public_url: str) -> Container:
    home = tmp_path / name
    url = database_url(home)
    if url.startswith("postgresql"):
        url = _own_database(url, f"_{name}")
        _reset_postgres(url)
    settings = Settings(home=home, database_url=url, public_url=public_url, runner="inline")
    return bootstrap(settings, runner="inline", network=False)


@pytest.fixture
def provider(tmp_path: Path) -> Iterator[Container]:
    built = _instance(tmp_path, "provider", P_URL)
    yield built
    built.close()


@pytest.fixture
def hospital_at_p(provider: Container) -> Organisation:
    return register_organisation(
        provider.uow,
        provider.master_key,
        RegisterOrganisation(
            name="St Mary's Hospital",
            domain="stmarys.example",
            url="https://stmarys.example",
            slug="st-marys",
            domain_verified=True,
        ),
        provider.now(),
    )


@pytest.fixture
def p_server(provider: Container) -> Iterator[TestClient]:
    """P as C's server-side requests reach it (no holder's cookies)."""
    with TestClient(create_app(provider), base_url=P_URL) as client:
        yield client


@pytest.fixture
def consumer(tmp_path: Path, p_server: TestClient, monkeypatch: Any) -> Iterator[Container]:
    built = _instance(tmp_path, "consumer", C_URL)

    def fetch_did(did: str) -> dict[str, Any]:
        found = p_server.get(urlsplit(did_web_url(did)).path)
        assert found.status_code == 200, did
        return found.json()  # type: ignore[no-any-return]

    def fetch_list(url: str) -> FetchedStatusList:
        return FetchedStatusList(p_server.get(urlsplit(url).path).json())

    monkeypatch.setattr(built, "provider_http", lambda: HttpxProviderHttp(p_server))
    monkeypatch.setattr(built, "resolver", lambda: DidResolver(fetch_did_web=fetch_did))
    monkeypatch.setattr(built, "status_lists", lambda: StatusListSource(fetch_remote=fetch_list))
    yield built
    built.close()


def _sign_in_link(container: Container, base: str) -> str:
    newest = sorted(container.settings.outbox_dir.glob("*.eml"))[-1]
    message = message_from_bytes(newest.read_bytes(), policy=policy.default)
    text = message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    found = re.search(rf"{re.escape(base)}(/sign-in/[A-Za-z0-9_-]+(\?next=\S+)?)", text)
    assert found, "no sign-in link in the newest mail"
    return found.group(1)


def browser(container: Container, base: str, email: str, next_path: str = "") -> TestClient:
    """A browser on `container`'s app, signed in as `email` through the mailed link."""
    client = TestClient(create_app(container), base_url=base)
    form = csrf_from(client.get("/sign-in").text)
    sent = client.post("/sign-in", data={"email": email, "next": next_path, "csrf_token": form})
    assert sent.status_code == 200, sent.text
    link = _sign_in_link(container, base)
    done = client.post(
        link, data={"csrf_token": csrf_from(client.get(link).text)}, follow_redirects=False
    )
    assert done.status_code == 303, done.text
    return client


def local(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def connect(c_browser: TestClient, entered: str = P_URL) -> Any:
    form = csrf_from(c_browser.get("/my/connections").text)
    return c_browser.post(
        "/my/connections", data={"url": entered, "csrf_token": form}, follow_redirects=False
    )


def to_provider(c_browser: TestClient, provider: Container) -> tuple[TestClient, str]:
    """Connect at C, then sign in at P from the page C sent us to; returns P's browser and its
    consent page."""
    sent = connect(c_browser)
    assert sent.status_code == 303, sent.text
    location = sent.headers["location"]
    assert location.startswith(f"{P_URL}/oauth/authorize?"), location
    query = parse_qs(urlsplit(location).query)
    assert query["code_challenge_method"] == ["S256"] and query["state"][0]
    assert query["redirect_uri"] == [f"{C_URL}/my/connections/callback"]
    p_browser = TestClient(create_app(provider), base_url=P_URL)
    asked = p_browser.get(local(location), follow_redirects=False)
    assert asked.status_code == 303 and asked.headers["location"].startswith("/sign-in?next=")
    next_path = parse_qs(urlsplit(asked.headers["location"]).query)["next"][0]
    form = csrf_from(p_browser.get(asked.headers["location"]).text)
    p_browser.post("/sign-in", data={"email": HOLDER, "next": next_path, "csrf_token": form})
    link = _sign_in_link(provider, P_URL)
    done = p_browser.post(
        link, data=hidden_fields(p_browser.get(link).text), follow_redirects=False
    )
    assert done.status_code == 303
    consent = p_browser.get(done.headers["location"])
    assert consent.status_code == 200 and "See the credentials you hold here" in consent.text
    assert "rpl at consumer.example" in consent.text
    return p_browser, consent.text


def back_to_consumer(p_browser: TestClient, consent_html: str, decision: str) -> str:
    decided = answer_consent(p_browser, consent_html, decision)
    assert decided.status_code == 303, decided.text
    location = decided.headers["location"]
    assert location.startswith(f"{C_URL}/my/connections/callback?"), location
    return local(location)


def held(container: Container) -> list[Any]:
    with container.uow() as tx:
        account = tx.accounts.by_email(HOLDER)
        assert account is not None
        return list(tx.holdings.for_account(account.id))


def stored_document(container: Container, credential_id: str) -> bytes:
    with container.uow() as tx:
        found = tx.credentials.get(credential_id)
    assert found is not None
    return found.document.encode("utf-8")


def connection_rows(container: Container) -> list[Any]:
    with container.uow() as tx:
        ids = tx.session.exec(select(ObConnectionRow.id)).all()
        return [tx.connections.get(i) for i in ids]


# --- the journey -------------------------------------------------------------------------------------


def test_holder_connects_a_provider_imports_and_later_fetches_only_the_new_one(
    provider: Container, hospital_at_p: Organisation, consumer: Container, monkeypatch: Any
) -> None:
    first_id = issued_here(provider, hospital_at_p, role="Registered Nurse")
    c_browser = browser(consumer, C_URL, HOLDER)
    p_browser, consent = to_provider(c_browser, provider)
    callback = back_to_consumer(p_browser, consent, "approve")

    done = c_browser.get(callback, follow_redirects=False)
    assert done.status_code == 303, done.text
    assert done.headers["location"] == "/my/connections?done=connected"
    page = c_browser.get(done.headers["location"]).text
    assert "<h3>rpl</h3>" in page  # P's name (x-imssf-name), from its discovery document
    assert "1 new, 0 already with you, 0 did not verify" in page

    records = held(consumer)
    assert len(records) == 1
    assert records[0].verified, records[0].reason
    assert records[0].sha256 == sha256_hex(stored_document(provider, first_id))
    assert records[0].content == stored_document(provider, first_id)

    # The same answer again is refused: the state was single use.
    again = c_browser.get(callback, follow_redirects=False)
    assert again.status_code == 400 and "does not match a connection" in again.text

    # Later: P issues another; C's access token has expired by then, so C refreshes (rotating
    # the refresh token) and fetches only what is new.
    second_id = issued_here(
        provider, hospital_at_p, role="Ward Manager", start="2020-07", end="2023-01"
    )
    (before,) = connection_rows(consumer)
    later = consumer.now() + timedelta(hours=2)
    monkeypatch.setattr(consumer, "now", lambda: later)
    form = csrf_from(c_browser.get("/my/connections").text)
    pulled = c_browser.post(
        f"/my/connections/{before.id}/pull", data={"csrf_token": form}, follow_redirects=False
    )
    assert pulled.status_code == 303, pulled.text
    (after,) = connection_rows(consumer)
    assert after.refresh_token != before.refresh_token  # rotated, and the new one kept
    assert after.last_imported == 1 and after.last_failed == 0 and after.last_problem is None
    assert after.total_imported == 2
    records = held(consumer)
    assert len(records) == 2 and all(r.verified for r in records)
    assert sha256_hex(stored_document(provider, second_id)) in {r.sha256 for r in records}
    for secret in (after.client_secret, after.access_token, after.refresh_token):
        assert b"rplc_" not in secret  # sealed, not the provider's text

    # Disconnecting revokes the grant at P (its RFC 8414 metadata names the endpoint) and forgets
    # our keys: P no longer takes the refresh token.
    with provider.uow() as tx:
        holder_at_p = tx.accounts.by_email(HOLDER)
    assert holder_at_p is not None
    assert len(oauth_service.connected_apps(provider.uow, holder_at_p)) == 1
    form = csrf_from(c_browser.get("/my/connections").text)
    gone = c_browser.post(
        f"/my/connections/{after.id}/disconnect", data={"csrf_token": form}, follow_redirects=False
    )
    assert gone.status_code == 303 and gone.headers["location"].endswith("done=told")
    assert connection_rows(consumer) == []
    assert len(held(consumer)) == 2  # what came in stays with the holder
    assert oauth_service.connected_apps(provider.uow, holder_at_p) == []  # P ended the grant


def test_denied_consent_keeps_nothing_and_says_so(
    provider: Container, hospital_at_p: Organisation, consumer: Container
) -> None:
    issued_here(provider, hospital_at_p)
    c_browser = browser(consumer, C_URL, HOLDER)
    p_browser, consent = to_provider(c_browser, provider)
    callback = back_to_consumer(p_browser, consent, "deny")
    assert "error=access_denied" in callback
    refused = c_browser.get(callback, follow_redirects=False)
    assert refused.status_code == 400
    assert "said no, so nothing was shared and nothing was kept" in refused.text
    assert connection_rows(consumer) == [] and held(consumer) == []


def test_a_state_that_is_not_this_sessions_is_refused(
    provider: Container, hospital_at_p: Organisation, consumer: Container
) -> None:
    issued_here(provider, hospital_at_p)
    c_browser = browser(consumer, C_URL, HOLDER)
    p_browser, consent = to_provider(c_browser, provider)
    callback = back_to_consumer(p_browser, consent, "approve")
    query = parse_qs(urlsplit(callback).query)

    altered = urlencode({"code": query["code"][0], "state": query["state"][0] + "x"})
    wrong = c_browser.get(f"/my/connections/callback?{altered}", follow_redirects=False)
    assert wrong.status_code == 400 and "does not match a connection" in wrong.text

    # The right state from another browser session of the same holder: refused too.
    elsewhere = browser(consumer, C_URL, HOLDER)
    stolen = elsewhere.get(callback, follow_redirects=False)
    assert stolen.status_code == 400 and "does not match a connection" in stolen.text
    assert held(consumer) == []
    assert all(row.connected_at is None for row in connection_rows(consumer))


@pytest.mark.parametrize(
    ("entered", "words"),
    [
        ("http://provider.example", "uses plain http"),
        ("https://provider.example/nowhere", "answered HTTP 404"),
        ("ftp://provider.example", "is not a web address"),
        ("", "enter the provider&#39;s address"),
    ],
)
def test_a_bad_provider_address_is_refused_with_the_reason_and_kept_in_the_form(
    consumer: Container, entered: str, words: str
) -> None:
    c_browser = browser(consumer, C_URL, HOLDER)
    refused = connect(c_browser, entered)
    assert refused.status_code == 400
    assert words in refused.text
    assert f'value="{entered}"' in refused.text
    assert connection_rows(consumer) == []


def test_connections_are_their_holders_alone(
    provider: Container, hospital_at_p: Organisation, consumer: Container
) -> None:
    issued_here(provider, hospital_at_p)
    c_browser = browser(consumer, C_URL, HOLDER)
    p_browser, consent = to_provider(c_browser, provider)
    c_browser.get(back_to_consumer(p_browser, consent, "approve"))
    (row,) = connection_rows(consumer)
    other = browser(consumer, C_URL, "someone.else@example.net")
    form = csrf_from(other.get("/my/connections").text)
    for action in ("pull", "disconnect"):
        refused = other.post(f"/my/connections/{row.id}/{action}", data={"csrf_token": form})
        assert refused.status_code == 404
    assert "provider.example" not in other.get("/my/connections").text
    assert len(connection_rows(consumer)) == 1
