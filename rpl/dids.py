"""Decentralised identifiers: `did:web` for our organisations, `did:key` for holders and other issuers.

Resolution is split so verification stays testable offline: `DidResolver` knows the DID methods and
asks an injected `fetch_did_web` callable for `did:web` documents it does not hold itself.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from rpl import multikey
from rpl.errors import RplError

DID_CONTEXTS = ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"]


class DidResolutionError(RplError):
    """A DID or verification method could not be resolved to a usable key."""


def did_web_for(public_url: str, *path: str) -> str:
    """`did:web` of a document served under `public_url` at `/<path...>/did.json`."""
    parts = urlsplit(public_url)
    host = quote(parts.netloc, safe="")
    segments = [s for s in parts.path.split("/") if s] + list(path)
    return ":".join(["did:web", host, *(quote(s, safe="") for s in segments)])


def did_web_url(did: str) -> str:
    """The HTTPS URL of a `did:web` document (DID Web method spec §3.2.1)."""
    if not did.startswith("did:web:"):
        raise DidResolutionError(f"{did!r} is not a did:web")
    host, *segments = did[len("did:web:") :].split(":")
    host = unquote(host)
    if not host or any(not s for s in segments):
        raise DidResolutionError(f"{did!r} is not a well-formed did:web")
    path = "/".join(unquote(s) for s in segments) if segments else ".well-known"
    scheme = "http" if _is_loopback(host) else "https"
    return f"{scheme}://{host}/{path}/did.json"


def _is_loopback(host: str) -> bool:
    try:
        name = urlsplit("//" + host).hostname
    except ValueError:
        return False
    return name in {"localhost", "127.0.0.1", "::1"}


def did_document(
    did: str, public_keys: Mapping[str, bytes], revoked: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """A DID document listing each key (key id → raw Ed25519 public key) as an assertion method.

    Rotation adds keys and keeps the old ones, so credentials signed earlier still verify. A key in
    `revoked` (key id → XML Schema dateTime) stays listed, so a verifier can say what became of
    it, but carries `revoked` (a Multikey term, W3C Controlled Identifiers 1.0 §2.2.3) and is no
    assertion method any more.
    """
    methods = [
        {
            "id": f"{did}#{key_id}",
            "type": "Multikey",
            "controller": did,
            "publicKeyMultibase": multikey.encode_public_key(raw),
        }
        for key_id, raw in public_keys.items()
    ]
    gone = revoked or {}
    for method, key_id in zip(methods, public_keys, strict=True):
        if key_id in gone:
            method["revoked"] = gone[key_id]
    return {
        "@context": list(DID_CONTEXTS),
        "id": did,
        "verificationMethod": methods,
        "assertionMethod": [m["id"] for m in methods if "revoked" not in m],
    }


@dataclass(frozen=True)
class ResolvedKey:
    verification_method: str
    controller: str
    public_key: bytes
    assertion_method: bool
    revoked: str | None = None  # when its controller declared it unusable (its `revoked` text)


@dataclass
class DidResolver:
    """Resolves DIDs; `local` answers for our own organisations, `fetch_did_web` for everyone else."""

    local: Callable[[str], dict[str, Any] | None] = lambda did: None
    fetch_did_web: Callable[[str], dict[str, Any]] | None = None
    _cache: dict[str, dict[str, Any]] = field(default_factory=dict)

    def resolve(self, did: str) -> dict[str, Any]:
        if did in self._cache:
            return self._cache[did]
        document = self._resolve_uncached(did)
        if document.get("id") != did:
            raise DidResolutionError(f"document for {did!r} names itself {document.get('id')!r}")
        self._cache[did] = document
        return document

    def _resolve_uncached(self, did: str) -> dict[str, Any]:
        if did.startswith("did:key:"):
            try:
                return multikey.did_key_document(did)
            except RplError as err:
                raise DidResolutionError(f"{did!r}: {err}") from err
        if did.startswith("did:web:"):
            local = self.local(did)
            if local is not None:
                return local
            if self.fetch_did_web is None:
                raise DidResolutionError(f"{did!r} is not held here and fetching is off")
            return self.fetch_did_web(did)
        raise DidResolutionError(f"unsupported DID method in {did!r}")

    def resolve_key(self, verification_method: str) -> ResolvedKey:
        did = verification_method.split("#", 1)[0]
        if "#" not in verification_method:
            raise DidResolutionError(f"{verification_method!r} has no fragment naming a key")
        document = self.resolve(did)
        method = _find_method(document, verification_method)
        if method is None:
            raise DidResolutionError(f"{verification_method!r} is not listed in {did!r}")
        try:
            public = multikey.decode_public_key(method.get("publicKeyMultibase", ""))
        except RplError as err:
            raise DidResolutionError(f"{verification_method!r}: {err}") from err
        return ResolvedKey(
            verification_method=verification_method,
            controller=method.get("controller", ""),
            public_key=public,
            assertion_method=_lists(document.get("assertionMethod"), verification_method, did),
            revoked=method["revoked"] if isinstance(method.get("revoked"), str) else None,
        )


def _absolute(ref: str, did: str) -> str:
    return did + ref if ref.startswith("#") else ref


def _find_method(document: dict[str, Any], vm: str) -> dict[str, Any] | None:
    did = document.get("id", "")
    candidates = list(document.get("verificationMethod") or [])
    candidates += [m for m in document.get("assertionMethod") or [] if isinstance(m, dict)]
    for method in candidates:
        if isinstance(method, dict) and _absolute(str(method.get("id", "")), did) == vm:
            return method
    return None


def _lists(relation: Any, vm: str, did: str) -> bool:
    for entry in relation or []:
        ref = entry.get("id") if isinstance(entry, dict) else entry
        if isinstance(ref, str) and _absolute(ref, did) == vm:
            return True
    return False


def fetch_did_web_over_https(timeout: float = 10.0) -> Callable[[str], dict[str, Any]]:
    """The network adapter for `did:web`: GET the document, refuse redirects and non-JSON answers."""
    import httpx

    from rpl.jsonio import loads_strict

    def fetch(did: str) -> dict[str, Any]:
        url = did_web_url(did)
        try:
            response = httpx.get(url, timeout=timeout, follow_redirects=False)
            response.raise_for_status()
            document = loads_strict(response.content)
        except (httpx.HTTPError, RplError) as err:
            raise DidResolutionError(f"could not fetch {did!r} from {url}: {err}") from err
        if not isinstance(document, dict):
            raise DidResolutionError(f"{url} did not return a DID document object")
        return document

    return fetch
