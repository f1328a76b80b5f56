"""The consumer side of the 1EdTech Open Badges 3.0 API, pure: what rpl needs to read and send
when a holder connects it to another provider and pulls their credentials from there.

- where the discovery document is (`discovery_url`) and what it must say (`parse_discovery`:
  an OpenAPI 3 Service Description Document, OB 3.0 §6.3, with an `OAuth2ACG` authorization-code
  scheme, §7.1.1.1, a registration URL and the credential.readonly scope);
- RFC 7591 registration (`registration_request`, `parse_registration`), the authorisation request
  with PKCE S256 (`pkce_pair`, `authorization_url`, RFC 7636), client authentication
  (`basic_authorization`, RFC 6749 §2.3.1) and token responses (`parse_token_response`, §5.1);
- the error a provider sends back, in plain words (`refusal_words`, §4.1.2.1);
- paging (`parse_link_header`, RFC 8288) and the credentials of a `GetOpenBadgeCredentialsResponse`
  (`page_credentials`).

Every URL we will send a secret to must be https (plain http only on a loopback address, as the
provider side allows for redirect URIs). No network, no clock, no framework here: `rpl.services.
connections` does the I/O through the `ProviderHttp` port.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import quote, urlencode, urljoin, urlsplit

from rpl.errors import RplError
from rpl.jsonio import loads_strict
from rpl.oauth import CREDENTIAL_READONLY, OFFLINE_ACCESS, s256, with_query

DISCOVERY_PATH = "/ims/ob/v3p0/discovery"
# Ask for what importing needs, and for refresh tokens (clients commonly say offline_access).
SCOPE = (CREDENTIAL_READONLY, OFFLINE_ACCESS)
MAX_BODY = 16 * 1024 * 1024


class ProviderError(RplError):
    """Connecting to, or pulling from, another provider went wrong; the message is for the holder."""


class ProviderUrlError(ProviderError):
    """The address given is not one rpl will connect to (not a URL, or http on a public host)."""


class DiscoveryError(ProviderError):
    """The discovery document is missing, or is not an Open Badges 3.0 service description."""


class ProviderUnreachableError(ProviderError):
    """The provider could not be reached at all (no such host, refused, timed out)."""


class ProviderRefusedError(ProviderError):
    """The provider answered with an error (an OAuth error code, or an HTTP error status)."""

    def __init__(self, message: str, code: str = "") -> None:
        super().__init__(message)
        self.code = code


# --- the HTTP port ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class HttpAnswer:
    status: int
    headers: Mapping[str, str]  # names in lower case
    body: bytes

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")


class ProviderHttp(Protocol):
    """How rpl talks to other providers. Never follows redirects; raises
    `ProviderUnreachableError` when no answer came at all."""

    def get(self, url: str, headers: Mapping[str, str]) -> HttpAnswer: ...

    def post(self, url: str, headers: Mapping[str, str], body: bytes) -> HttpAnswer: ...


# --- URLs ----------------------------------------------------------------------------------------


def _loopback(host: str) -> bool:
    return host in ("localhost", "127.0.0.1", "::1") or host.startswith("127.")


def check_url(url: str, what: str) -> str:
    """`url` if it is absolute https (http only on a loopback address), with no user part."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme not in ("http", "https") or not host or "@" in parts.netloc:
        raise ProviderUrlError(f"{what} {url!r} is not a web address (https://…)")
    if parts.scheme == "http" and not _loopback(host):
        raise ProviderUrlError(
            f"{what} {url!r} uses plain http: rpl only connects over https "
            "(plain http only to this machine, e.g. http://127.0.0.1:8000)"
        )
    return url


def discovery_url(entered: str) -> str:
    """The discovery document's URL from what the holder typed: a provider's base URL (the
    discovery path is added) or the discovery URL itself. `ProviderUrlError` for anything else."""
    text = entered.strip()
    if not text:
        raise ProviderUrlError("enter the provider's address, such as https://badges.example.org")
    if "://" not in text:
        text = "https://" + text
    parts = urlsplit(text)
    if parts.fragment or parts.query:
        raise ProviderUrlError(f"{entered!r}: give the address without ?… or #…")
    check_url(text, "the address")
    path = parts.path.rstrip("/")
    if not path.endswith(DISCOVERY_PATH):
        path += DISCOVERY_PATH
    return parts._replace(path=path).geturl()


def same_origin(a: str, b: str) -> bool:
    one, two = urlsplit(a), urlsplit(b)
    return (one.scheme, one.netloc.lower()) == (two.scheme, two.netloc.lower())


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


# --- the discovery document (OB 3.0 §6.3, §7.1.1.1) ----------------------------------------------


@dataclass(frozen=True)
class ProviderDescription:
    name: str
    api_url: str  # the server URL: <api_url>/credentials
    authorization_url: str
    token_url: str
    refresh_url: str
    registration_url: str
    scopes: tuple[str, ...]
    since_supported: bool  # getCredentials documents the `since` parameter

    @property
    def credentials_url(self) -> str:
        return self.api_url.rstrip("/") + "/credentials"


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise DiscoveryError(f"not an Open Badges 3.0 discovery document: {where} is missing")
    return value


def _url(value: Any, base: str, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise DiscoveryError(f"not an Open Badges 3.0 discovery document: no {where}")
    return check_url(urljoin(base, value.strip()), where)


def _acg_scheme(document: dict[str, Any]) -> dict[str, Any]:
    schemes = _object(
        _object(document.get("components"), "components").get("securitySchemes"),
        "components.securitySchemes",
    )
    found = schemes.get("OAuth2ACG")
    if not isinstance(found, dict):  # the spec names it OAuth2ACG; accept any oauth2 scheme
        found = next(
            (s for s in schemes.values() if isinstance(s, dict) and s.get("type") == "oauth2"),
            None,
        )
    scheme = _object(found, "an OAuth 2.0 security scheme (OAuth2ACG)")
    return scheme


def parse_discovery(body: bytes, url: str) -> ProviderDescription:
    """The provider's description, checked; `DiscoveryError` saying what is missing."""
    try:
        document = loads_strict(body)
    except RplError as err:
        raise DiscoveryError(f"the discovery document at {url} is not JSON ({err})") from err
    document = _object(document, "the document itself (it is not a JSON object)")
    if not str(document.get("openapi", "")).startswith("3."):
        raise DiscoveryError(
            f"{url} is not an Open Badges 3.0 discovery document (no OpenAPI 3 `openapi` field)"
        )
    scheme = _acg_scheme(document)
    flows = _object(scheme.get("flows"), "the OAuth 2.0 scheme's flows")
    flow = _object(flows.get("authorizationCode"), "an authorizationCode flow")
    scopes = flow.get("scopes")
    scopes = tuple(scopes) if isinstance(scopes, dict) else ()
    if CREDENTIAL_READONLY not in scopes:
        raise DiscoveryError(
            f"{url} does not offer the Open Badges scope for reading credentials "
            "(credential.readonly): rpl cannot import from it"
        )
    servers = document.get("servers")
    server = servers[0] if isinstance(servers, list) and servers else {}
    api_url = _url(_object(server, "servers").get("url"), url, "server URL")
    token_url = _url(flow.get("tokenUrl"), url, "token URL")
    info = document.get("info") if isinstance(document.get("info"), dict) else {}
    name = scheme.get("x-imssf-name") or info.get("title") or urlsplit(url).hostname
    return ProviderDescription(
        name=" ".join(str(name).split())[:200],
        api_url=api_url,
        authorization_url=_url(flow.get("authorizationUrl"), url, "authorization URL"),
        token_url=token_url,
        refresh_url=_url(flow.get("refreshUrl") or token_url, url, "refresh URL"),
        registration_url=_url(
            scheme.get("x-imssf-registrationUrl"), url, "registration URL (x-imssf-registrationUrl)"
        ),
        scopes=scopes,
        since_supported=_documents_since(document),
    )


def _documents_since(document: dict[str, Any]) -> bool:
    paths = document.get("paths") if isinstance(document.get("paths"), dict) else {}
    operation = (paths.get("/credentials") or {}).get("get") if isinstance(paths, dict) else None
    parameters = operation.get("parameters") if isinstance(operation, dict) else None
    return any(isinstance(p, dict) and p.get("name") == "since" for p in parameters or [])


# --- registration, authorisation, tokens --------------------------------------------------------


def registration_request(client_name: str, redirect_uri: str, client_uri: str) -> dict[str, Any]:
    """Our RFC 7591 registration: the authorization code grant, refreshing, Basic auth."""
    return {
        "client_name": client_name,
        "client_uri": client_uri,
        "redirect_uris": [redirect_uri],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "client_secret_basic",
        "scope": " ".join(SCOPE),
    }


def _json_object(answer: HttpAnswer, what: str) -> dict[str, Any]:
    try:
        found = loads_strict(answer.body)
    except RplError as err:
        raise ProviderRefusedError(f"the provider's {what} is not JSON ({err})") from err
    if not isinstance(found, dict):
        raise ProviderRefusedError(f"the provider's {what} is not a JSON object")
    return found


def refusal(answer: HttpAnswer, what: str) -> ProviderRefusedError:
    """A failed answer as an error for the holder: the OAuth error in plain words if it has one."""
    code, description = "", ""
    try:
        body = loads_strict(answer.body)
    except RplError:
        body = None
    if isinstance(body, dict):
        code = str(body.get("error") or "")
        description = str(body.get("error_description") or body.get("imsx_description") or "")
    if code:
        return ProviderRefusedError(refusal_words(code, description), code)
    detail = f": {description}" if description else ""
    return ProviderRefusedError(f"the provider refused the {what} (HTTP {answer.status}){detail}")


def parse_registration(answer: HttpAnswer) -> tuple[str, str]:
    """(client_id, client_secret) from an RFC 7591 §3.2.1 response."""
    if answer.status not in (200, 201):
        raise refusal(answer, "registration")
    body = _json_object(answer, "registration response")
    client_id, secret = body.get("client_id"), body.get("client_secret")
    if not isinstance(client_id, str) or not client_id:
        raise ProviderRefusedError("the provider registered rpl but sent no client_id")
    if not isinstance(secret, str) or not secret:
        raise ProviderRefusedError(
            "the provider registered rpl without a client secret (rpl authenticates with one)"
        )
    return client_id, secret


def pkce_pair() -> tuple[str, str]:
    """(code_verifier, S256 code_challenge), RFC 7636 §4.1-4.2: 64 random bytes, base64url."""
    verifier = secrets.token_urlsafe(64)  # 86 characters of [A-Za-z0-9_-]
    return verifier, s256(verifier)


def new_state() -> str:
    return secrets.token_urlsafe(32)


def authorization_url(
    provider: ProviderDescription, client_id: str, redirect_uri: str, state: str, challenge: str
) -> str:
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "scope": " ".join(SCOPE),
        "state": state,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    return with_query(provider.authorization_url, params)


def basic_authorization(client_id: str, secret: str) -> str:
    """The `Authorization` header of client_secret_basic: each half form-urlencoded (§2.3.1)."""
    pair = f"{quote(client_id, safe='')}:{quote(secret, safe='')}".encode()
    return "Basic " + base64.b64encode(pair).decode("ascii")


def form_body(fields: Mapping[str, str]) -> bytes:
    return urlencode(dict(fields)).encode("ascii")


@dataclass(frozen=True)
class TokenSet:
    access_token: str
    expires_in: int | None
    refresh_token: str | None


def parse_token_response(answer: HttpAnswer) -> TokenSet:
    """A token response (RFC 6749 §5.1), or the provider's refusal in plain words (§5.2)."""
    if answer.status != 200:
        raise refusal(answer, "token request")
    body = _json_object(answer, "token response")
    access = body.get("access_token")
    if not isinstance(access, str) or not access:
        raise ProviderRefusedError("the provider's token response has no access_token")
    if str(body.get("token_type", "")).lower() != "bearer":
        raise ProviderRefusedError("the provider's token is not a Bearer token")
    expires = body.get("expires_in")
    refresh = body.get("refresh_token")
    return TokenSet(
        access,
        expires if isinstance(expires, int) and expires > 0 else None,
        refresh if isinstance(refresh, str) and refresh else None,
    )


_WORDS = {
    "access_denied": "you (or the provider) said no, so nothing was shared and nothing was kept",
    "invalid_scope": "the provider does not offer the access rpl asked for (reading credentials)",
    "unauthorized_client": "the provider does not let rpl connect this way",
    "unsupported_response_type": "the provider does not support the sign-in flow rpl uses",
    "server_error": "the provider had a problem on its side; try again later",
    "temporarily_unavailable": "the provider is busy or down for now; try again later",
    "invalid_grant": "the provider no longer accepts this connection; connect again",
    "invalid_client": "the provider did not recognise rpl's registration; connect again",
    "invalid_request": "the provider found rpl's request malformed",
    "invalid_redirect_uri": "the provider does not accept rpl's return address",
    "invalid_client_metadata": "the provider refused rpl's registration",
}


def refusal_words(code: str, description: str = "") -> str:
    """An OAuth error code (and the provider's own description) in words for the holder."""
    words = _WORDS.get(code, f"the provider answered with the error {code!r}")
    said = " ".join(description.split())[:300]
    return f"{words} (the provider said: {said})" if said else words


# --- paging and the credentials of a page (OB 3.0 §6.4, RFC 8288) ------------------------------

# <target> then its parameters; a quoted value may hold ";" or "," (RFC 8288 §3).
_LINK = re.compile(r'<([^>]*)>((?:\s*;\s*(?:[^;,"]|"[^"]*")*)*)')
_REL = re.compile(r';\s*rel\s*=\s*(?:"([^"]*)"|([^\s;,"]+))', re.IGNORECASE)


def parse_link_header(value: str, base: str) -> dict[str, str]:
    """rel → absolute target URL, from an RFC 8288 `Link` header (the first link of each rel)."""
    links: dict[str, str] = {}
    for match in _LINK.finditer(value or ""):
        target, params = match.group(1).strip(), match.group(2)
        rel = _REL.search(params)
        if not rel:
            continue
        for name in (rel.group(1) or rel.group(2) or "").lower().split():
            links.setdefault(name, urljoin(base, target))
    return links


def stored_form(document: dict[str, Any]) -> bytes:
    """How a JSON credential from a page is kept: rpl's own stored form (UTF-8, two-space indent,
    members in the order received). A JSON credential travels inside the page's array, so its
    original bytes are not on the wire; its proof covers its content, not its whitespace. A
    credential from another rpl instance so keeps the very bytes (and SHA-256) its issuer stored."""
    return json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8")


def page_credentials(answer: HttpAnswer) -> list[bytes]:
    """The credentials of a `GetOpenBadgeCredentialsResponse` page: JSON ones (`credential`) in
    stored form, VC-JWTs (`compactJwsString`) exactly as sent."""
    if answer.status != 200:
        raise refusal(answer, "request for credentials")
    body = _json_object(answer, "list of credentials")
    found: list[bytes] = []
    for item in body.get("credential") or []:
        if not isinstance(item, dict):
            raise ProviderRefusedError("the provider's list holds a credential that is not JSON")
        found.append(stored_form(item))
    for token in body.get("compactJwsString") or []:
        if not isinstance(token, str):
            raise ProviderRefusedError("the provider's list holds a VC-JWT that is not text")
        found.append(token.strip().encode("ascii", "replace"))
    return found
