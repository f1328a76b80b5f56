"""The JSON-LD contexts rpl bundles, and an offline document loader that serves only them.

Signing and verifying must never depend on the network: a context fetched at verification time
could differ from the one the issuer signed under, and fetching leaks who checks which credential.
So every context rpl understands is a file in this package, listed in `index.json` (URL → file),
and any other URL is refused with `UnknownContextError`. A network loader, if ever wanted, is a
separate adapter someone must choose deliberately.

The files are verbatim copies: the W3C VC 2.0 / 1.1 contexts (w3c/vc-data-model), the 1EdTech
Open Badges 3.0.x and CLR 2.0.1 contexts (1EdTech/openbadges-specification and the 1EdTech
validator), DID v1, Multikey v1 and Data Integrity v1/v2 (npm @digitalbazaar/*-context), the
Ed25519Signature2020 context (w3c/vc-di-eddsa), and the W3C CCG citizenship v4rc1 context
(w3c-ccg/citizenship-vocab 0f0cb67) that the W3C eddsa test vectors use.
"""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any

from pyld.jsonld import JsonLdError

from rpl.errors import RplError

_INDEX_FILE = "index.json"


class UnknownContextError(RplError):
    """A context URL that is not bundled; rpl never fetches one."""

    def __init__(self, url: str) -> None:
        super().__init__(f"JSON-LD context {url!r} is not bundled with rpl and is never fetched")
        self.url = url


def _read_text(filename: str) -> str:
    return resources.files(__name__).joinpath(filename).read_text(encoding="utf-8")


def _load_index() -> dict[str, str]:
    index = json.loads(_read_text(_INDEX_FILE))
    if not isinstance(index, dict):  # pragma: no cover - guards a hand-edited index
        raise RplError(f"{_INDEX_FILE} must map context URLs to file names")
    return {str(url): str(filename) for url, filename in index.items()}


_INDEX = _load_index()

KNOWN_CONTEXTS: frozenset[str] = frozenset(_INDEX)
"""Every context URL rpl can load, exactly as it must appear in `@context`."""


@functools.cache
def _context_text(url: str) -> str:
    try:
        filename = _INDEX[url]
    except KeyError as err:
        raise UnknownContextError(url) from err
    return _read_text(filename)


def load_context(url: str) -> dict[str, Any]:
    """The bundled context document for `url`, as a fresh dict the caller may change freely.

    Only the file text is cached; parsing it again on each call is cheaper than a deep copy and
    means no caller can corrupt what the next one gets.
    """
    document = json.loads(_context_text(url))
    if not isinstance(document, dict):  # pragma: no cover - guards a broken bundled file
        raise RplError(f"bundled context for {url!r} is not a JSON object")
    return document


def document_loader(url: str, options: dict[str, Any] | None = None) -> dict[str, Any]:
    """A pyld document loader that serves the bundled contexts and refuses everything else.

    The result is pyld's "remote document" shape. Its `tag` of "static" lets pyld keep the
    processed context in the resolver cache the caller passes in, which is what makes repeated
    canonicalization fast; the content behind a URL here never changes, so that is safe.
    Unknown URLs raise pyld's own `JsonLdError` (so pyld fails cleanly), chained from
    `UnknownContextError` so callers can still tell which URL it was.
    """
    try:
        document = load_context(url)
    except UnknownContextError as err:
        raise JsonLdError(
            str(err), "jsonld.LoadDocumentError", {"url": url}, code="loading document failed"
        ) from err
    return {"contextUrl": None, "documentUrl": url, "document": document, "tag": "static"}
