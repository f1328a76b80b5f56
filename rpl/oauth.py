"""OAuth 2.0 for the Open Badges 3.0 API: the pure parts.

What another platform must get right to be let in, and what it is told when it does not:
client metadata (RFC 7591 dynamic registration), redirect URIs (https, or http on the loopback
address only, RFC 8252 §7.3; always an exact match), the authorisation request (RFC 6749 §4.1.1
with PKCE, RFC 7636: S256 only), the scopes of OB 3.0 §6.2.1, client authentication at the token
endpoint (`client_secret_basic` and `client_secret_post`, RFC 6749 §2.3.1) and the shapes of
token responses and errors (§5.1, §5.2).

Pure: no web framework, ORM or clock; secrets and times come in as arguments.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from ipaddress import ip_address
from typing import Any
from urllib.parse import parse_qsl, unquote_plus, urlencode, urlsplit, urlunsplit

from rpl.errors import RplError

_SCOPE_BASE = "https://purl.imsglobal.org/spec/ob/v3p0/scope/"
CREDENTIAL_READONLY = _SCOPE_BASE + "credential.readonly"
CREDENTIAL_UPSERT = _SCOPE_BASE + "credential.upsert"
PROFILE_READONLY = _SCOPE_BASE + "profile.readonly"
PROFILE_UPDATE = _SCOPE_BASE + "profile.update"
OFFLINE_ACCESS = "offline_access"
# The four scopes of OB 3.0 §6.2.1, in plain words for the consent page and the discovery document.
OB_SCOPES: dict[str, str] = {
    CREDENTIAL_READONLY: "See the credentials you hold here, now and as new ones are issued",
    CREDENTIAL_UPSERT: "Add credentials to your records here, or replace ones it added",
    PROFILE_READONLY: "See your profile: your name and email address",
    PROFILE_UPDATE: "Change the name on your profile",
}
# Clients (the spec's own example among them) also ask for `offline_access`; refresh tokens are
# given whenever the client registered the refresh_token grant, so it only needs to be understood.
KNOWN_SCOPES = (*OB_SCOPES, OFFLINE_ACCESS)

AUTHORIZATION_CODE = "authorization_code"
REFRESH_TOKEN = "refresh_token"
GRANT_TYPES = (AUTHORIZATION_CODE, REFRESH_TOKEN)
AUTH_METHODS = ("client_secret_basic", "client_secret_post")
S256 = "S256"
_VERIFIER = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")
_CHALLENGE = re.compile(r"^[A-Za-z0-9\-_]{43}$")
_STATE_MAX = 500
_URL_FIELDS = ("client_uri", "logo_uri", "tos_uri", "policy_uri")
_TEXT_FIELDS = ("software_id", "software_version")


class OAuthError(RplError):
    """A refused OAuth request; `code` is the RFC 6749 / 7591 / 7009 error code it answers with."""

    status = 400

    def __init__(self, code: str, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.description = description

    def body(self) -> dict[str, str]:
        return {"error": self.code, "error_description": self.description}


class InvalidClientError(OAuthError):
    """Client authentication failed (RFC 6749 §5.2): 401, with a WWW-Authenticate challenge."""

    status = 401

    def __init__(self, description: str = "client authentication failed") -> None:
        super().__init__("invalid_client", description)


class RedirectError(OAuthError):
    """An authorisation request refused after the client and its redirect URI were checked:
    the answer goes back to the client, at `redirect_uri` (RFC 6749 §4.1.2.1)."""

    def __init__(self, code: str, description: str, redirect_uri: str, state: str) -> None:
        super().__init__(code, description)
        self.redirect_uri = redirect_uri
        self.state = state

    def location(self) -> str:
        params = {"error": self.code, "error_description": self.description, "state": self.state}
        return with_query(self.redirect_uri, params)


@dataclass(frozen=True)
class ClientMetadata:
    """What a client registered (RFC 7591 §2), checked."""

    client_name: str
    redirect_uris: tuple[str, ...]
    grant_types: tuple[str, ...] = (AUTHORIZATION_CODE,)
    response_types: tuple[str, ...] = ("code",)
    token_endpoint_auth_method: str = "client_secret_basic"
    scope: tuple[str, ...] = tuple(OB_SCOPES)
    extra: tuple[tuple[str, Any], ...] = ()

    def as_json(self) -> dict[str, Any]:
        """The registered metadata as the registration response repeats it (RFC 7591 §3.2.1)."""
        return {
            "client_name": self.client_name,
            "redirect_uris": list(self.redirect_uris),
            "grant_types": list(self.grant_types),
            "response_types": list(self.response_types),
            "token_endpoint_auth_method": self.token_endpoint_auth_method,
            "scope": " ".join(self.scope),
            **{k: (list(v) if isinstance(v, tuple) else v) for k, v in self.extra},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ClientMetadata:
        """Read back what `as_json` stored (already checked when it was registered)."""
        known = {"client_name", "redirect_uris", "grant_types", "response_types"}
        known |= {"token_endpoint_auth_method", "scope"}
        return cls(
            client_name=data["client_name"],
            redirect_uris=tuple(data["redirect_uris"]),
            grant_types=tuple(data["grant_types"]),
            response_types=tuple(data["response_types"]),
            token_endpoint_auth_method=data["token_endpoint_auth_method"],
            scope=tuple(data["scope"].split()),
            extra=tuple((k, v) for k, v in data.items() if k not in known),
        )


# --- redirect URIs and scopes -------------------------------------------------------------------


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False


def check_redirect_uri(uri: object) -> str:
    """`uri` if a client may register it: absolute https (http only on the loopback address),
    no fragment (RFC 6749 §3.1.2), no user information; else `invalid_redirect_uri`."""
    if not isinstance(uri, str) or not uri:
        raise OAuthError("invalid_redirect_uri", "every redirect URI must be a non-empty string")
    parts = urlsplit(uri)
    host = parts.hostname or ""
    if parts.fragment or "#" in uri:
        raise OAuthError("invalid_redirect_uri", f"{uri!r} has a fragment, which is not allowed")
    if not host or "@" in parts.netloc:
        raise OAuthError("invalid_redirect_uri", f"{uri!r} is not an absolute URL with a host")
    if parts.scheme == "https" or (parts.scheme == "http" and _loopback(host)):
        return uri
    raise OAuthError(
        "invalid_redirect_uri",
        f"{uri!r}: use https (plain http only for a loopback address such as 127.0.0.1)",
    )


def parse_scope(text: object, allowed: tuple[str, ...] = KNOWN_SCOPES) -> tuple[str, ...]:
    """The space-separated scopes of `text` (RFC 6749 §3.3), each once, in the order given.

    Raises `OAuthError("invalid_scope")` naming any scope outside `allowed`.
    """
    if not isinstance(text, str):
        raise OAuthError("invalid_scope", "scope must be a space-separated string")
    scopes = tuple(dict.fromkeys(text.split()))
    unknown = [s for s in scopes if s not in allowed]
    if unknown:
        raise OAuthError("invalid_scope", f"scope not offered to this client: {' '.join(unknown)}")
    return scopes


def scope_text(scopes: tuple[str, ...]) -> str:
    return " ".join(scopes)


# --- dynamic client registration (RFC 7591) -----------------------------------------------------


def _string_list(data: Mapping[str, Any], name: str, default: tuple[str, ...]) -> tuple[str, ...]:
    value = data.get(name)
    if value is None:
        return default
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise OAuthError("invalid_client_metadata", f"{name} must be a list of strings")
    return tuple(dict.fromkeys(value))


def _one_of(values: tuple[str, ...], allowed: tuple[str, ...], name: str) -> tuple[str, ...]:
    wrong = [v for v in values if v not in allowed]
    if wrong or not values:
        raise OAuthError(
            "invalid_client_metadata", f"{name}: use {', '.join(allowed)} (not {', '.join(wrong)})"
        )
    return values


def _extras(data: Mapping[str, Any]) -> tuple[tuple[str, Any], ...]:
    extra: list[tuple[str, Any]] = []
    for name in _URL_FIELDS:
        value = data.get(name)
        if value is None:
            continue
        if not isinstance(value, str) or urlsplit(value).scheme not in ("https", "http"):
            raise OAuthError("invalid_client_metadata", f"{name} must be an http(s) URL")
        extra.append((name, value))
    for name in _TEXT_FIELDS:
        if data.get(name) is not None:
            if not isinstance(data[name], str):
                raise OAuthError("invalid_client_metadata", f"{name} must be a string")
            extra.append((name, data[name]))
    contacts = _string_list(data, "contacts", ())
    return (*extra, ("contacts", contacts)) if contacts else tuple(extra)


def client_metadata(data: object) -> ClientMetadata:
    """A registration request's metadata, checked (RFC 7591 §2, §3.2.2 errors)."""
    if not isinstance(data, Mapping):
        raise OAuthError("invalid_client_metadata", "the request body must be a JSON object")
    name = data.get("client_name")
    if not isinstance(name, str) or not name.strip():
        raise OAuthError("invalid_client_metadata", "client_name is required: who is asking?")
    uris = _string_list(data, "redirect_uris", ())
    if not uris:
        raise OAuthError("invalid_redirect_uri", "redirect_uris must list at least one URI")
    for uri in uris:
        check_redirect_uri(uri)
    grants = _one_of(
        _string_list(data, "grant_types", (AUTHORIZATION_CODE,)), GRANT_TYPES, "grant_types"
    )
    responses = _one_of(
        _string_list(data, "response_types", ("code",)), ("code",), "response_types"
    )
    if AUTHORIZATION_CODE not in grants:
        raise OAuthError("invalid_client_metadata", "grant_types must include authorization_code")
    method = data.get("token_endpoint_auth_method", "client_secret_basic")
    if method not in AUTH_METHODS:
        raise OAuthError(
            "invalid_client_metadata",
            f"token_endpoint_auth_method: use {' or '.join(AUTH_METHODS)}",
        )
    try:
        scope = parse_scope(data["scope"]) if "scope" in data else tuple(OB_SCOPES)
    except OAuthError as err:
        raise OAuthError("invalid_client_metadata", err.description) from err
    return ClientMetadata(
        client_name=" ".join(name.split())[:200],
        redirect_uris=uris,
        grant_types=grants,
        response_types=responses,
        token_endpoint_auth_method=method,
        scope=scope,
        extra=_extras(data),
    )


# --- the authorisation request (RFC 6749 §4.1.1, RFC 7636 §4.3) ---------------------------------


@dataclass(frozen=True)
class AuthorizationRequest:
    client_id: str
    redirect_uri: str
    scope: tuple[str, ...]
    state: str
    code_challenge: str

    def as_params(self) -> dict[str, str]:
        """The request again, as the consent form carries it to the POST."""
        return {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "scope": scope_text(self.scope),
            "state": self.state,
            "code_challenge": self.code_challenge,
            "code_challenge_method": S256,
        }


def redirect_uri_for(client: ClientMetadata, sent: str) -> str:
    """The redirect URI to use: the one sent, if registered exactly (or the only registered one
    when none was sent). Anything else raises: the request is never sent back to a stranger."""
    if not sent and len(client.redirect_uris) == 1:
        return client.redirect_uris[0]
    if sent not in client.redirect_uris:
        raise OAuthError(
            "invalid_request",
            "redirect_uri is not one this client registered (it must match exactly)",
        )
    return sent


def authorization_request(
    client_id: str, client: ClientMetadata, params: Mapping[str, str]
) -> AuthorizationRequest:
    """Check an authorisation request for a known client.

    Raises `OAuthError` (show an error page) for a bad redirect URI, and `RedirectError` (send the
    error to the client) for everything checked after it.
    """
    redirect_uri = redirect_uri_for(client, params.get("redirect_uri", ""))
    state = params.get("state", "")

    def refuse(code: str, description: str) -> RedirectError:
        return RedirectError(code, description, redirect_uri, state)

    if len(state) > _STATE_MAX:
        raise refuse("invalid_request", f"state is longer than {_STATE_MAX} characters")
    if params.get("response_type") != "code":
        raise refuse("unsupported_response_type", "response_type must be code")
    method = params.get("code_challenge_method", "")
    challenge = params.get("code_challenge", "")
    if method != S256:
        raise refuse("invalid_request", "PKCE is required with code_challenge_method=S256")
    if not _CHALLENGE.match(challenge):
        raise refuse(
            "invalid_request", "code_challenge must be the base64url SHA-256 of a verifier"
        )
    try:
        scope = parse_scope(params.get("scope", ""), (*client.scope, OFFLINE_ACCESS))
    except OAuthError as err:
        raise refuse("invalid_scope", err.description) from err
    if not any(s in OB_SCOPES for s in scope):
        raise refuse("invalid_scope", "ask for at least one Open Badges scope")
    return AuthorizationRequest(client_id, redirect_uri, scope, state, challenge)


def with_query(uri: str, params: Mapping[str, str]) -> str:
    """`uri` with `params` added to its query (keeping what it had, RFC 6749 §3.1.2)."""
    parts = urlsplit(uri)
    query = parse_qsl(parts.query, keep_blank_values=True) + [
        (k, v) for k, v in params.items() if v
    ]
    return urlunsplit(parts._replace(query=urlencode(query)))


def s256(verifier: str) -> str:
    """The S256 code challenge of a verifier (RFC 7636 §4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def pkce_matches(verifier: str, challenge: str) -> bool:
    """True if `verifier` is well-formed (RFC 7636 §4.1) and its S256 challenge is `challenge`."""
    if not _VERIFIER.match(verifier):
        return False
    return hmac.compare_digest(s256(verifier), challenge)


# --- client authentication at the token endpoint (RFC 6749 §2.3.1) -------------------------------


def client_credentials(authorization: str, form: Mapping[str, str]) -> tuple[str, str, str]:
    """(client_id, client_secret, method) from a Basic header or the form; exactly one way."""
    in_form = "client_secret" in form
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() == "basic":
        if in_form:
            raise OAuthError("invalid_request", "authenticate the client one way, not two")
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError) as err:
            raise InvalidClientError("the Basic credentials are not base64 of id:secret") from err
        client_id, colon, secret = decoded.partition(":")
        if not colon:
            raise InvalidClientError("the Basic credentials are not base64 of id:secret")
        # Both halves are form-urlencoded before they are joined (§2.3.1).
        return unquote_plus(client_id), unquote_plus(secret), "client_secret_basic"
    if in_form:
        return form.get("client_id", ""), form.get("client_secret", ""), "client_secret_post"
    raise InvalidClientError("authenticate the client: HTTP Basic, or client_id and client_secret")


def token_response(
    access_token: str, expires_in: int, scopes: tuple[str, ...], refresh_token: str | None
) -> dict[str, Any]:
    """A successful token response (RFC 6749 §5.1)."""
    answer: dict[str, Any] = {
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": expires_in,
        "scope": scope_text(scopes),
    }
    if refresh_token:
        answer["refresh_token"] = refresh_token
    return answer
