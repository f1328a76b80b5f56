"""did:web identifiers and URLs, the DID documents rpl serves, and resolving keys from DIDs."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from rpl import multikey
from rpl.dids import (
    DidResolutionError,
    DidResolver,
    ResolvedKey,
    did_document,
    did_web_for,
    did_web_url,
)

KEY_1 = Ed25519PrivateKey.from_private_bytes(bytes(range(32))).public_key().public_bytes_raw()
KEY_2 = Ed25519PrivateKey.from_private_bytes(bytes(range(1, 33))).public_key().public_bytes_raw()
DID = "did:web:issuer.example:orgs:a"
DID_KEY = multikey.did_key(KEY_1)
DID_KEY_VM = f"{DID_KEY}#{DID_KEY.removeprefix('did:key:')}"


# --- did:web identifiers and where their documents live ------------------------------------------

ROUND_TRIPS = [
    # public URL, path, did:web, document URL
    (
        "https://rpl.example.org",
        (),
        "did:web:rpl.example.org",
        "https://rpl.example.org/.well-known/did.json",
    ),
    (
        "https://rpl.example.org",
        ("orgs", "st-marys"),
        "did:web:rpl.example.org:orgs:st-marys",
        "https://rpl.example.org/orgs/st-marys/did.json",
    ),
    (
        "https://example.org:8443/",
        ("orgs", "a"),
        "did:web:example.org%3A8443:orgs:a",
        "https://example.org:8443/orgs/a/did.json",
    ),
    (
        "https://example.org/rpl",
        ("orgs", "a"),
        "did:web:example.org:rpl:orgs:a",
        "https://example.org/rpl/orgs/a/did.json",
    ),
    (
        "http://localhost:8000",
        ("orgs", "a"),
        "did:web:localhost%3A8000:orgs:a",
        "http://localhost:8000/orgs/a/did.json",
    ),
    (
        "http://127.0.0.1:8000",
        (),
        "did:web:127.0.0.1%3A8000",
        "http://127.0.0.1:8000/.well-known/did.json",
    ),
    ("http://localhost", (), "did:web:localhost", "http://localhost/.well-known/did.json"),
    ("http://[::1]", (), "did:web:%5B%3A%3A1%5D", "http://[::1]/.well-known/did.json"),
]


@pytest.mark.parametrize(("public_url", "path", "did", "url"), ROUND_TRIPS)
def test_a_did_web_names_the_document_served_under_the_public_url(
    public_url: str, path: tuple[str, ...], did: str, url: str
):
    assert did_web_for(public_url, *path) == did
    assert did_web_url(did) == url


@pytest.mark.parametrize(
    "did",
    ["did:web:issuer.example", "did:web:issuer.example%3A8443:orgs:a", "did:web:localhost.example"],
)
def test_anything_but_loopback_is_fetched_over_https(did: str):
    assert did_web_url(did).startswith("https://")


@pytest.mark.parametrize("public_url", ["http://[::1]:8000", "http://LOCALHOST:8000"])
def test_every_loopback_address_is_fetched_over_http(public_url: str):
    assert did_web_url(did_web_for(public_url)).startswith("http://")


@pytest.mark.parametrize(
    "did",
    [
        "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
        "did:web:",
        "did:web::orgs:a",
        "did:web:issuer.example::a",
        "did:web:issuer.example:orgs:",
        "web:issuer.example",
    ],
)
def test_a_malformed_did_web_is_refused(did: str):
    with pytest.raises(DidResolutionError, match="did:web"):
        did_web_url(did)


# --- the DID documents rpl serves ----------------------------------------------------------------


def test_a_did_document_lists_every_key_as_an_assertion_method():
    document = did_document(DID, {"key-1": KEY_1, "key-2": KEY_2})

    assert document == {
        "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"],
        "id": DID,
        "verificationMethod": [
            {
                "id": f"{DID}#key-1",
                "type": "Multikey",
                "controller": DID,
                "publicKeyMultibase": multikey.encode_public_key(KEY_1),
            },
            {
                "id": f"{DID}#key-2",
                "type": "Multikey",
                "controller": DID,
                "publicKeyMultibase": multikey.encode_public_key(KEY_2),
            },
        ],
        "assertionMethod": [f"{DID}#key-1", f"{DID}#key-2"],
    }


def test_every_key_of_a_did_document_resolves_to_itself():
    document = did_document(DID, {"key-1": KEY_1, "key-2": KEY_2})
    resolver = DidResolver(local={DID: document}.get)

    assert resolver.resolve_key(f"{DID}#key-1").public_key == KEY_1
    assert resolver.resolve_key(f"{DID}#key-2").public_key == KEY_2


# --- resolving -----------------------------------------------------------------------------------


def test_a_did_key_resolves_without_any_document_held_or_fetched():
    resolved = DidResolver().resolve_key(DID_KEY_VM)

    assert resolved == ResolvedKey(
        verification_method=DID_KEY_VM, controller=DID_KEY, public_key=KEY_1, assertion_method=True
    )


def test_a_did_web_resolves_from_the_local_documents():
    resolver = DidResolver(local={DID: did_document(DID, {"key-1": KEY_1})}.get)

    resolved = resolver.resolve_key(f"{DID}#key-1")

    assert resolved == ResolvedKey(
        verification_method=f"{DID}#key-1", controller=DID, public_key=KEY_1, assertion_method=True
    )


class FakeWeb:
    """Stands in for the HTTPS adapter: serves a fixed set of documents and counts requests."""

    def __init__(self, *documents: dict[str, Any]) -> None:
        self.documents = {doc["id"]: doc for doc in documents}
        self.requests: list[str] = []

    def __call__(self, did: str) -> dict[str, Any]:
        self.requests.append(did)
        if did not in self.documents:
            raise DidResolutionError(f"could not fetch {did!r}: 404 Not Found")
        return self.documents[did]


def test_local_documents_are_preferred_and_only_others_are_fetched_once():
    other = "did:web:other.example"
    web = FakeWeb(did_document(other, {"k": KEY_2}), did_document(DID, {"key-1": KEY_2}))
    resolver = DidResolver(local={DID: did_document(DID, {"key-1": KEY_1})}.get, fetch_did_web=web)

    assert resolver.resolve_key(f"{DID}#key-1").public_key == KEY_1
    assert resolver.resolve_key(f"{other}#k").public_key == KEY_2
    assert resolver.resolve_key(f"{other}#k").public_key == KEY_2
    assert web.requests == [other]


def test_a_did_web_neither_held_nor_fetchable_is_refused():
    with pytest.raises(DidResolutionError, match="is not held here and fetching is off"):
        DidResolver().resolve_key(f"{DID}#key-1")


def test_a_failed_fetch_is_refused_with_its_reason():
    with pytest.raises(DidResolutionError, match="404 Not Found"):
        DidResolver(fetch_did_web=FakeWeb()).resolve_key(f"{DID}#key-1")


@pytest.mark.parametrize("did", ["did:example:123", "did:ion:abc", "https://issuer.example"])
def test_an_unknown_did_method_is_refused(did: str):
    with pytest.raises(DidResolutionError, match="unsupported DID method"):
        DidResolver().resolve_key(f"{did}#key-1")


@pytest.mark.parametrize("vm", [DID, DID_KEY])
def test_a_verification_method_without_a_fragment_is_refused(vm: str):
    resolver = DidResolver(local={DID: did_document(DID, {"key-1": KEY_1})}.get)
    with pytest.raises(DidResolutionError, match="has no fragment naming a key"):
        resolver.resolve_key(vm)


def test_a_key_the_document_does_not_list_is_refused():
    resolver = DidResolver(local={DID: did_document(DID, {"key-1": KEY_1})}.get)
    with pytest.raises(DidResolutionError, match=f"'{DID}#key-2' is not listed in '{DID}'"):
        resolver.resolve_key(f"{DID}#key-2")


@pytest.mark.parametrize("named", ["did:web:evil.example", None])
def test_a_document_that_names_another_did_is_refused(named: str | None):
    document = did_document(DID, {"key-1": KEY_1})
    if named is None:
        del document["id"]
    else:
        document["id"] = named

    with pytest.raises(DidResolutionError, match="names itself"):
        DidResolver(local=lambda did: document).resolve_key(f"{DID}#key-1")


@pytest.mark.parametrize(
    "did",
    ["did:key:not-multibase", "did:key:z6Mk", f"did:key:{multikey.encode_secret_key(bytes(32))}"],
)
def test_a_malformed_did_key_is_refused(did: str):
    with pytest.raises(DidResolutionError, match=did):
        DidResolver().resolve_key(f"{did}#x")


def test_a_did_key_url_with_a_foreign_fragment_is_refused():
    with pytest.raises(DidResolutionError, match="is not listed"):
        DidResolver().resolve_key(f"{DID_KEY}#key-1")


def test_a_key_with_an_unreadable_public_key_is_refused():
    document = did_document(DID, {"key-1": KEY_1})
    document["verificationMethod"][0]["publicKeyMultibase"] = "zNotAKey"

    with pytest.raises(DidResolutionError, match=f"'{DID}#key-1'"):
        DidResolver(local={DID: document}.get).resolve_key(f"{DID}#key-1")


def test_a_key_listed_only_for_authentication_is_not_an_assertion_method():
    document = did_document(DID, {"key-1": KEY_1})
    document["authentication"] = document.pop("assertionMethod")

    resolved = DidResolver(local={DID: document}.get).resolve_key(f"{DID}#key-1")

    assert resolved.public_key == KEY_1
    assert resolved.assertion_method is False


def test_relative_and_embedded_methods_resolve_against_the_document():
    embedded = {
        "id": "#key-2",
        "type": "Multikey",
        "controller": DID,
        "publicKeyMultibase": multikey.encode_public_key(KEY_2),
    }
    document = did_document(DID, {"key-1": KEY_1})
    document["verificationMethod"][0]["id"] = "#key-1"
    document["assertionMethod"] = ["#key-1", embedded]
    resolver = DidResolver(local={DID: document}.get)

    assert resolver.resolve_key(f"{DID}#key-1").assertion_method is True
    assert resolver.resolve_key(f"{DID}#key-2") == ResolvedKey(f"{DID}#key-2", DID, KEY_2, True)
