"""The bundled JSON-LD contexts: complete, verbatim, usable by pyld, and never fetched."""

from __future__ import annotations

import json
import socket
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from pyld.jsonld import JsonLdError

from rpl.contexts import KNOWN_CONTEXTS, UnknownContextError, document_loader, load_context
from rpl.errors import RplError
from rpl.jsonio import loads_strict
from rpl.proofs import rdfc
from rpl.proofs.dataintegrity import CanonicalizationError

VECTORS = Path(__file__).parents[3] / "shared" / "vectors"
BUNDLE = resources.files("rpl.contexts")
INDEX: dict[str, str] = json.loads(BUNDLE.joinpath("index.json").read_text())
REQUIRED = {
    "https://www.w3.org/ns/credentials/v2",
    "https://www.w3.org/2018/credentials/v1",
    "https://www.w3.org/ns/credentials/examples/v2",
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.2.json",
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.1.json",
    "https://purl.imsglobal.org/spec/ob/v3p0/extensions.json",
    "https://purl.imsglobal.org/spec/clr/v2p0/context-2.0.1.json",
    "https://www.w3.org/ns/did/v1",
    "https://w3id.org/security/multikey/v1",
    "https://w3id.org/security/data-integrity/v2",
    "https://w3id.org/security/data-integrity/v1",
    "https://w3id.org/security/suites/ed25519-2020/v1",
}
# where each bundled file was copied from, for those the shared vectors hold
SHARED_INDEX = VECTORS / "contexts" / "index.json"
_SHARED_URLS = json.loads(SHARED_INDEX.read_text()) if SHARED_INDEX.is_file() else {}
SOURCES = {url: SHARED_INDEX.parent / relative for url, relative in _SHARED_URLS.items()} | {
    "https://w3id.org/security/suites/ed25519-2020/v1": VECTORS
    / "w3c-vc-di-eddsa"
    / "contexts"
    / "lds-ed25519-2020-v1.json",
    "https://www.w3.org/ns/credentials/undefined-terms/v2": VECTORS
    / "w3c-vc-data-model-contexts"
    / "credentials_undefined-terms_v2.jsonld",
}


def test_every_required_context_is_known() -> None:
    assert REQUIRED <= KNOWN_CONTEXTS


def test_known_contexts_are_exactly_the_index() -> None:
    assert frozenset(INDEX) == KNOWN_CONTEXTS


def test_every_context_file_in_the_package_is_indexed() -> None:
    files = {entry.name for entry in BUNDLE.iterdir() if entry.name.endswith((".json", ".jsonld"))}
    assert files - {"index.json"} == set(INDEX.values())


@pytest.mark.skipif(
    not SHARED_INDEX.is_file(),
    reason="the provenance check needs ../shared/vectors beside the checkout",
)
@pytest.mark.parametrize("url", sorted(SOURCES))
def test_bundled_context_is_a_verbatim_copy(url: str) -> None:
    bundled = BUNDLE.joinpath(INDEX[url]).read_bytes()
    assert bundled == SOURCES[url].read_bytes()


@pytest.mark.parametrize("url", sorted(KNOWN_CONTEXTS))
def test_bundled_context_is_strict_json_with_a_context(url: str) -> None:
    document = loads_strict(BUNDLE.joinpath(INDEX[url]).read_bytes())
    assert isinstance(document, dict)
    assert isinstance(document["@context"], dict | list)
    assert load_context(url) == document


@pytest.mark.parametrize("url", sorted(KNOWN_CONTEXTS))
def test_pyld_can_process_every_bundled_context(url: str) -> None:
    document = {"@context": url, "@id": "urn:example:thing", "@type": "urn:example:Thing"}
    assert rdfc.canonicalize(document) == (
        "<urn:example:thing> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> "
        "<urn:example:Thing> .\n"
    )


def test_load_context_returns_a_fresh_copy_each_time() -> None:
    url = "https://www.w3.org/ns/credentials/v2"
    first = load_context(url)
    first["@context"]["name"] = "https://evil.example/name"
    assert load_context(url)["@context"]["name"] == "https://schema.org/name"


def test_unknown_context_is_refused_naming_the_url() -> None:
    with pytest.raises(
        UnknownContextError, match="'https://example.com/ctx' is not bundled"
    ) as err:
        load_context("https://example.com/ctx")
    assert err.value.url == "https://example.com/ctx"
    assert isinstance(err.value, RplError)


@pytest.mark.parametrize(
    "url",
    [
        "https://www.w3.org/ns/credentials/v2/",  # a trailing slash is another URL
        "http://www.w3.org/ns/credentials/v2",
        "https://w3id.org/security/v2",
    ],
)
def test_near_misses_of_known_urls_are_unknown(url: str) -> None:
    with pytest.raises(UnknownContextError):
        load_context(url)


def test_document_loader_returns_pylds_remote_document_shape() -> None:
    url = "https://w3id.org/security/multikey/v1"
    remote = document_loader(url, {})
    assert remote["contextUrl"] is None
    assert remote["documentUrl"] == url
    assert remote["document"] == load_context(url)


def test_document_loader_raises_pylds_error_chained_to_ours() -> None:
    with pytest.raises(JsonLdError) as caught:
        document_loader("https://example.com/ctx")
    assert isinstance(caught.value.__cause__, UnknownContextError)


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the network was used")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


@pytest.mark.usefixtures("no_network")
def test_canonicalizing_with_an_unknown_context_fails_cleanly_without_the_network() -> None:
    document = {"@context": ["https://example.com/remote"], "@id": "urn:x", "name": "x"}
    with pytest.raises(CanonicalizationError, match="'https://example.com/remote' is not") as err:
        rdfc.canonicalize(document)
    assert err.value.term == "https://example.com/remote"


def test_a_custom_loader_never_sees_another_loaders_contexts() -> None:
    """The bundled contexts are cached; a test or network loader must not be served from it."""
    url = "https://www.w3.org/ns/credentials/examples/v2"
    document = {"@context": url, "@id": "urn:x", "alumniOf": "Somewhere"}
    assert "examples#alumniOf" in rdfc.canonicalize(document)

    def renaming_loader(requested: str, options: dict[str, Any]) -> dict[str, Any]:
        renamed = {"@context": {"@vocab": "https://other.example/vocab#"}}
        return {"contextUrl": None, "documentUrl": requested, "document": renamed}

    assert "other.example/vocab#alumniOf" in rdfc.canonicalize(document, loader=renaming_loader)
