"""The connection service against a provider written here (httpx's MockTransport behind the real
`HttpxProviderHttp` adapter): what rpl sends, and what it does with odd or failing answers."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from rpl.accounts import Account
from rpl.bootstrap import Container
from rpl.dids import DidResolver
from rpl.obapi import service_description
from rpl.obclient import DiscoveryError, ProviderUnreachableError, ProviderUrlError
from rpl.provider_http import HttpxProviderHttp
from rpl.services import archive
from rpl.services import connections as service

BASE = "https://fake.example"
UNVERIFIABLE = {
    "@context": ["https://www.w3.org/ns/credentials/v2"],
    "id": "urn:uuid:6a3b1d2e-0000-4000-8000-000000000001",
    "type": ["VerifiableCredential"],
    "issuer": "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
    "validFrom": "2020-01-01T00:00:00Z",
    "credentialSubject": {"id": "mailto:margaret@example.net"},
}


@dataclass
class FakeProvider:
    """An OB 3.0 provider in a few lines: discovery, registration, tokens, two pages, revocation."""

    discovery: Any = None
    token_status: int = 200
    next_link: str = f"{BASE}/ims/ob/v3p0/credentials?limit=1&offset=1"
    revocation: bool = False
    requests: list[httpx.Request] = field(default_factory=list)
    issued: int = 0

    def __post_init__(self) -> None:
        if self.discovery is None:
            self.discovery = service_description(BASE, f"{BASE}/logo.svg", f"{BASE}/privacy")

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path
        if path == "/ims/ob/v3p0/discovery":
            return httpx.Response(200, json=self.discovery)
        if path == "/oauth/register":
            return httpx.Response(201, json={"client_id": "cid", "client_secret": "s3cret"})
        if path == "/oauth/token":
            if self.token_status != 200:
                return httpx.Response(self.token_status, json={"error": "invalid_grant"})
            self.issued += 1
            return httpx.Response(
                200,
                json={
                    "access_token": f"at{self.issued}",
                    "token_type": "Bearer",
                    "expires_in": 3600,
                    "refresh_token": f"rt{self.issued}",
                },
            )
        if path == "/ims/ob/v3p0/credentials":
            offset = request.url.params.get("offset", "0")
            headers = {"Link": f'<{self.next_link}>; rel="next"'} if offset == "0" else {}
            body = {"credential": [UNVERIFIABLE] if offset != "0" else [], "compactJwsString": []}
            return httpx.Response(200, json=body, headers=headers)
        if path == "/.well-known/oauth-authorization-server" and self.revocation:
            return httpx.Response(200, json={"revocation_endpoint": f"{BASE}/oauth/revoke"})
        if path == "/oauth/revoke":
            return httpx.Response(200)
        return httpx.Response(404, json={"error": "not found"})

    def sent(self, path: str) -> list[httpx.Request]:
        return [r for r in self.requests if r.url.path == path]


@pytest.fixture
def account(container: Container) -> Account:
    made = Account(str(uuid.uuid4()), "margaret@example.net", "Margaret", container.now())
    with container.uow() as tx:
        tx.accounts.add(made)
        tx.commit()
    return made


def connector(container: Container, handler: Callable[[httpx.Request], httpx.Response]) -> Any:
    http = HttpxProviderHttp(httpx.Client(transport=httpx.MockTransport(handler)))
    return service.Connector(
        container.uow,
        http,
        container.master_key,
        "https://rpl.example",
        archive.Verifier(DidResolver()),
    )


def connected(container: Container, account: Account, fake: FakeProvider) -> Any:
    c = connector(container, fake)
    location = service.start_connection(c, account, "session-1", BASE, container.now())
    state = parse_qs(urlsplit(location).query)["state"][0]
    params = {"state": state, "code": "the-code"}
    connection, outcome = service.finish_connection(
        c, account, "session-1", params, container.now()
    )
    return c, connection, outcome


def test_registration_and_token_requests_are_what_the_specs_ask(
    container: Container, account: Account
) -> None:
    fake = FakeProvider()
    c, connection, outcome = connected(container, account, fake)
    (registration,) = fake.sent("/oauth/register")
    body = json.loads(registration.content)
    assert body["redirect_uris"] == ["https://rpl.example/my/connections/callback"]
    assert body["token_endpoint_auth_method"] == "client_secret_basic"
    (token,) = fake.sent("/oauth/token")
    assert token.headers["authorization"] == "Basic " + base64.b64encode(b"cid:s3cret").decode()
    form = parse_qs(token.content.decode())
    assert form["grant_type"] == ["authorization_code"] and form["code"] == ["the-code"]
    assert len(form["code_verifier"][0]) >= 43
    pages = fake.sent("/ims/ob/v3p0/credentials")
    assert [p.url.params["offset"] for p in pages] == ["0", "1"]  # Link rel="next" followed
    assert all(p.headers["authorization"] == "Bearer at1" for p in pages)
    # The one credential does not verify: kept, marked, counted as failed.
    assert (outcome.imported, outcome.present, outcome.failed) == (0, 0, 1)
    with container.uow() as tx:
        (kept,) = tx.holdings.for_account(account.id)
    assert not kept.verified and kept.reason


def test_the_next_pull_asks_since_the_last_and_refreshes_an_expired_token(
    container: Container, account: Account, monkeypatch: Any
) -> None:
    fake = FakeProvider()
    c, connection, first = connected(container, account, fake)
    later = container.now() + timedelta(hours=2)
    again = service.pull(c, account, connection.id, later)
    assert (again.imported, again.present, again.failed) == (0, 1, 0)
    refresh = parse_qs(fake.sent("/oauth/token")[-1].content.decode())
    assert refresh == {"grant_type": ["refresh_token"], "refresh_token": ["rt1"]}
    newest = fake.sent("/ims/ob/v3p0/credentials")[-2]
    assert newest.headers["authorization"] == "Bearer at2"
    since = (first.pulled_at - service.SINCE_MARGIN).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert newest.url.params["since"] == since
    with container.uow() as tx:
        stored = tx.connections.get(connection.id)
    assert stored is not None and stored.refresh_token is not None
    assert b"rt2" not in stored.refresh_token  # sealed at rest
    assert service._open(c, connection.id, "refresh_token", stored.refresh_token) == "rt2"


def test_a_refused_refresh_is_recorded_in_plain_words(
    container: Container, account: Account
) -> None:
    fake = FakeProvider()
    c, connection, _ = connected(container, account, fake)
    fake.token_status = 400
    outcome = service.pull(c, account, connection.id, container.now() + timedelta(hours=2))
    assert outcome.problem and "no longer accepts this connection" in outcome.problem
    with container.uow() as tx:
        stored = tx.connections.get(connection.id)
    assert stored is not None and stored.last_problem == outcome.problem


def test_a_next_page_on_another_site_is_not_followed(
    container: Container, account: Account
) -> None:
    fake = FakeProvider(next_link="https://elsewhere.example/steal?offset=1")
    _, _, outcome = connected(container, account, fake)
    assert outcome.problem and "another site" in outcome.problem
    assert all(r.url.host == "fake.example" for r in fake.requests)


def test_disconnect_revokes_where_the_provider_advertises_it(
    container: Container, account: Account
) -> None:
    fake = FakeProvider(revocation=True)
    c, connection, _ = connected(container, account, fake)
    assert service.disconnect(c, account, connection.id, container.now())
    (revoked,) = fake.sent("/oauth/revoke")
    assert parse_qs(revoked.content.decode()) == {
        "token": ["rt1"],
        "token_type_hint": ["refresh_token"],
    }
    assert service.connections_of(container.uow, account) == []


def test_unreachable_host_and_foreign_documents_are_refused_and_nothing_is_kept(
    container: Container, account: Account
) -> None:
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with pytest.raises(ProviderUnreachableError, match="could not reach"):
        service.start_connection(connector(container, down), account, "s", BASE, container.now())
    not_ob3 = FakeProvider(discovery={"hello": "world"})
    with pytest.raises(DiscoveryError, match="not an Open Badges 3.0 discovery document"):
        service.start_connection(connector(container, not_ob3), account, "s", BASE, container.now())
    with pytest.raises(ProviderUrlError, match="plain http"):
        service.start_connection(
            connector(container, FakeProvider()),
            account,
            "s",
            "http://fake.example",
            container.now(),
        )
    with container.uow() as tx:
        assert tx.connections.abandoned(account.id, container.now() + timedelta(days=1)) == []


def test_pull_due_pulls_each_connection_at_most_every_period(
    container: Container, account: Account
) -> None:
    fake = FakeProvider()
    c, connection, first = connected(container, account, fake)
    every = timedelta(hours=6)
    assert service.pull_due(c, first.pulled_at + timedelta(hours=1), every) == []
    (outcome,) = service.pull_due(c, first.pulled_at + timedelta(hours=7), every)
    assert outcome.present == 1 and outcome.problem is None
    assert service.pull_due(c, first.pulled_at + timedelta(hours=8), every) == []
