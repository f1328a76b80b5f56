"""The pure consumer side of the OB 3.0 API: addresses, discovery, PKCE, Link headers, pages."""

from __future__ import annotations

import json
from typing import Any

import pytest

from rpl import obclient
from rpl.keys import MasterKeyError
from rpl.oauth import pkce_matches
from rpl.obapi import PageRequest, link_header, service_description
from rpl.obclient import (
    DiscoveryError,
    HttpAnswer,
    ProviderRefusedError,
    ProviderUrlError,
    discovery_url,
    page_credentials,
    parse_discovery,
    parse_link_header,
)
from rpl.sealing import open_secret, seal_secret

BASE = "https://badges.example.org"


def sdd(**changes: Any) -> dict[str, Any]:
    document = service_description(BASE, f"{BASE}/logo.svg", f"{BASE}/privacy")
    document.update(changes)
    return document


@pytest.mark.parametrize(
    ("entered", "expected"),
    [
        ("https://badges.example.org", f"{BASE}/ims/ob/v3p0/discovery"),
        ("badges.example.org/", f"{BASE}/ims/ob/v3p0/discovery"),
        (f"{BASE}/ims/ob/v3p0/discovery", f"{BASE}/ims/ob/v3p0/discovery"),
        ("https://example.org/badges", "https://example.org/badges/ims/ob/v3p0/discovery"),
        ("http://127.0.0.1:8000", "http://127.0.0.1:8000/ims/ob/v3p0/discovery"),
        ("http://localhost:8000/", "http://localhost:8000/ims/ob/v3p0/discovery"),
    ],
)
def test_discovery_url_from_what_the_holder_typed(entered: str, expected: str) -> None:
    assert discovery_url(entered) == expected


@pytest.mark.parametrize(
    ("entered", "words"),
    [
        ("http://badges.example.org", "plain http"),
        ("ftp://badges.example.org", "not a web address"),
        ("https://user@badges.example.org", "not a web address"),
        (f"{BASE}?x=1", "without ?"),
        ("   ", "enter the provider's address"),
    ],
)
def test_addresses_rpl_will_not_connect_to(entered: str, words: str) -> None:
    with pytest.raises(ProviderUrlError, match=words.replace("?", r"\?")):
        discovery_url(entered)


def test_rpls_own_discovery_document_reads_back() -> None:
    found = parse_discovery(json.dumps(sdd()).encode(), f"{BASE}/ims/ob/v3p0/discovery")
    assert found.authorization_url == f"{BASE}/oauth/authorize"
    assert found.token_url == found.refresh_url == f"{BASE}/oauth/token"
    assert found.registration_url == f"{BASE}/oauth/register"
    assert found.credentials_url == f"{BASE}/ims/ob/v3p0/credentials"
    assert found.since_supported and found.name == "rpl"


def _without(document: dict[str, Any], *path: str) -> dict[str, Any]:
    node = document
    for key in path[:-1]:
        node = node[key]
    del node[path[-1]]
    return document


ACG = ("components", "securitySchemes", "OAuth2ACG")


@pytest.mark.parametrize(
    ("document", "words"),
    [
        (b"<html>not json</html>", "is not JSON"),
        (json.dumps([1, 2]).encode(), "not a JSON object"),
        (json.dumps({"hello": "world"}).encode(), "no OpenAPI 3"),
        (json.dumps(_without(sdd(), "components")).encode(), "components is missing"),
        (json.dumps(_without(sdd(), *ACG, "x-imssf-registrationUrl")).encode(), "registration"),
        (
            json.dumps(_without(sdd(), *ACG, "flows", "authorizationCode", "tokenUrl")).encode(),
            "token URL",
        ),
        (json.dumps(sdd(servers=[{"url": "http://badges.example.org"}])).encode(), "plain http"),
    ],
)
def test_documents_that_are_not_usable_say_why(document: bytes, words: str) -> None:
    with pytest.raises(ProviderUrlError if words == "plain http" else DiscoveryError, match=words):
        parse_discovery(document, f"{BASE}/ims/ob/v3p0/discovery")


def test_a_provider_without_the_read_scope_is_refused() -> None:
    document = sdd()
    flow = document["components"]["securitySchemes"]["OAuth2ACG"]["flows"]["authorizationCode"]
    flow["scopes"] = {k: v for k, v in flow["scopes"].items() if "credential.readonly" not in k}
    with pytest.raises(DiscoveryError, match="credential.readonly"):
        parse_discovery(json.dumps(document).encode(), BASE)


def test_pkce_pair_is_what_the_provider_side_accepts() -> None:
    verifier, challenge = obclient.pkce_pair()
    assert pkce_matches(verifier, challenge)
    assert obclient.pkce_pair()[0] != verifier


def test_link_header_as_rpl_sends_it_reads_back() -> None:
    base = f"{BASE}/ims/ob/v3p0/credentials"
    header = link_header(base, PageRequest(limit=2, offset=2, since=None), 7, None)
    links = parse_link_header(header, base)
    assert links["next"] == f"{base}?limit=2&offset=4"
    assert links["prev"] == f"{base}?limit=2&offset=0"
    assert links["last"] == f"{base}?limit=2&offset=6"


def test_link_header_variants() -> None:
    value = '<c?offset=3>; rel=next, <https://x.example/a,b>; title="a, b"; rel="last first"'
    links = parse_link_header(value, f"{BASE}/ims/ob/v3p0/credentials")
    assert links == {
        "next": f"{BASE}/ims/ob/v3p0/c?offset=3",
        "last": "https://x.example/a,b",
        "first": "https://x.example/a,b",
    }
    assert parse_link_header("", BASE) == {}


def test_a_page_keeps_json_in_stored_form_and_jwts_as_sent() -> None:
    credential = {"id": "urn:uuid:1", "name": "Café"}
    body = json.dumps({"credential": [credential], "compactJwsString": ["a.b.c"]}).encode()
    found = page_credentials(HttpAnswer(200, {}, body))
    assert found == [json.dumps(credential, ensure_ascii=False, indent=2).encode(), b"a.b.c"]


def test_provider_errors_come_back_in_plain_words() -> None:
    answer = HttpAnswer(400, {}, json.dumps({"error": "invalid_grant"}).encode())
    with pytest.raises(ProviderRefusedError, match="no longer accepts this connection"):
        obclient.parse_token_response(answer)
    with pytest.raises(ProviderRefusedError, match="HTTP 500"):
        page_credentials(HttpAnswer(500, {}, b"oops"))
    words = obclient.refusal_words("access_denied", "the holder did not allow access")
    assert words.startswith("you (or the provider) said no")
    assert "the holder did not allow access" in words


def test_sealed_secrets_open_only_for_their_purpose() -> None:
    key = bytes(range(32))
    sealed = seal_secret(key, "ob_connection:1:refresh_token", "rt-123")
    assert b"rt-123" not in sealed
    assert open_secret(key, "ob_connection:1:refresh_token", sealed) == "rt-123"
    with pytest.raises(MasterKeyError):
        open_secret(key, "ob_connection:2:refresh_token", sealed)
    with pytest.raises(MasterKeyError):
        open_secret(bytes(32), "ob_connection:1:refresh_token", sealed)
