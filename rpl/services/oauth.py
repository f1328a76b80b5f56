"""Use cases of the OAuth 2.0 authorisation server behind the Open Badges 3.0 API.

1. `register_client` (RFC 7591): a platform registers; it gets a client id and a secret shown
   this once (only its hash is kept).
2. `check_authorization` and `approve` / `deny` (RFC 6749 §4.1, PKCE S256): the holder, signed
   in, sees who asks for what and says yes or no. Yes makes a grant (the holder's consent to that
   client) and a single-use code that lives five minutes.
3. `exchange` (RFC 6749 §4.1.3, §6): the code (with its PKCE verifier and the same redirect URI)
   buys an access token that expires and a refresh token. Refreshing rotates: the old refresh
   token dies, and using a dead one again revokes the whole grant (a leaked token has been used).
   A refresh token not used for `REFRESH_TTL` expires (each rotation gives a new one the full
   time): an app nobody has run for months must ask the holder again.
   A code used twice revokes the grant too (RFC 6749 §4.1.2).
4. `bearer_grant`: what a resource request's access token allows, and for whom.
5. `revoke` (RFC 7009), `connected_apps` and `disconnect_app`: the client or the holder ends it.
"""

from __future__ import annotations

import hmac
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from rpl import oauth
from rpl.accounts import Account
from rpl.errors import RplError
from rpl.oauth import AuthorizationRequest, ClientMetadata, InvalidClientError, OAuthError
from rpl.services.ports import UowFactory
from rpl.storage.oauth import ACCESS, REFRESH, AuthorizationCode, Grant
from rpl.tokens import hash_token

CODE_TTL = timedelta(minutes=5)
REFRESH_TTL = timedelta(days=90)
CLIENT_PREFIX = "rplc_"


class UnknownClientError(RplError):
    """No registered client has this id (the authorisation page says so; it redirects nowhere)."""


class InvalidTokenError(RplError):
    """The bearer token is missing, unknown, expired or revoked (RFC 6750 `invalid_token`)."""


class NotConnectedError(RplError):
    """The holder has no live connection with this client."""


@dataclass(frozen=True)
class Client:
    id: str
    metadata: ClientMetadata

    @property
    def name(self) -> str:
        return self.metadata.client_name


@dataclass(frozen=True)
class TokenGrant:
    """What a live access token allows: the holder it speaks for, the client, the scopes."""

    account: Account
    client_id: str
    grant_id: str
    scope: tuple[str, ...]


@dataclass(frozen=True)
class ConnectedApp:
    client_id: str
    name: str
    client_uri: str | None
    scope: tuple[str, ...]
    since: datetime


def register_client(uow: UowFactory, body: object, now: datetime) -> dict[str, Any]:
    """The registration response (RFC 7591 §3.2.1); raises `OAuthError` for bad metadata."""
    metadata = oauth.client_metadata(body)
    client_id = CLIENT_PREFIX + secrets.token_urlsafe(16)
    secret = secrets.token_urlsafe(32)
    registered = metadata.as_json()
    with uow() as tx:
        tx.oauth.add_client(client_id, hash_token(secret), registered, now)
        tx.audit.append(
            "OAuthClientRegistered",
            f"client:{client_id}",
            f"oauth_client:{client_id}",
            {"client_name": metadata.client_name, "redirect_uris": list(metadata.redirect_uris)},
            now,
        )
        tx.commit()
    return {
        "client_id": client_id,
        "client_secret": secret,
        "client_id_issued_at": int(now.timestamp()),
        "client_secret_expires_at": 0,  # never
        **registered,
    }


def find_client(uow: UowFactory, client_id: str) -> Client:
    with uow() as tx:
        found = tx.oauth.client(client_id) if client_id else None
    if found is None:
        raise UnknownClientError(
            "the application that sent you here is not registered with rpl "
            "(unknown client_id); nothing was shared"
        )
    return Client(found.id, ClientMetadata.from_json(found.metadata))


def check_authorization(
    uow: UowFactory, params: Mapping[str, str]
) -> tuple[Client, AuthorizationRequest]:
    """The client and the checked request; `UnknownClientError` / `OAuthError` for an error page,
    `oauth.RedirectError` for an error the client is told at its redirect URI."""
    client = find_client(uow, params.get("client_id", ""))
    return client, oauth.authorization_request(client.id, client.metadata, params)


def approve(uow: UowFactory, account: Account, request: AuthorizationRequest, now: datetime) -> str:
    """The holder said yes: a grant and a single-use code; returns where to send the browser."""
    code = secrets.token_urlsafe(32)
    grant = Grant(str(uuid.uuid4()), request.client_id, account.id, request.scope, now)
    with uow() as tx:
        tx.oauth.add_grant(grant)
        tx.session.flush()  # the code refers to the grant
        tx.oauth.add_code(
            AuthorizationCode(
                hash_token(code),
                grant.id,
                request.redirect_uri,
                request.code_challenge,
                now + CODE_TTL,
                None,
            )
        )
        tx.audit.append(
            "AppConnected",
            f"account:{account.email}",
            f"oauth_client:{request.client_id}",
            {"grant": grant.id, "scope": list(request.scope)},
            now,
        )
        tx.commit()
    params = {"code": code, "scope": oauth.scope_text(request.scope), "state": request.state}
    return oauth.with_query(request.redirect_uri, params)


def deny(request: AuthorizationRequest) -> str:
    """The holder said no (RFC 6749 §4.1.2.1 `access_denied`)."""
    params = {
        "error": "access_denied",
        "error_description": "the holder did not allow access",
        "state": request.state,
    }
    return oauth.with_query(request.redirect_uri, params)


# --- the token endpoint ---------------------------------------------------------------------------


def authenticate_client(uow: UowFactory, authorization: str, form: Mapping[str, str]) -> Client:
    """The client the request authenticates as, by the method it registered; else 401."""
    client_id, secret, method = oauth.client_credentials(authorization, form)
    with uow() as tx:
        found = tx.oauth.client(client_id) if client_id else None
    if found is None or not hmac.compare_digest(found.secret_hash, hash_token(secret)):
        raise InvalidClientError("unknown client, or a wrong client secret")
    client = Client(found.id, ClientMetadata.from_json(found.metadata))
    if method != client.metadata.token_endpoint_auth_method:
        raise InvalidClientError(
            f"this client registered {client.metadata.token_endpoint_auth_method}, not {method}"
        )
    return client


def exchange(
    uow: UowFactory,
    authorization: str,
    form: Mapping[str, str],
    now: datetime,
    access_ttl: timedelta,
) -> dict[str, Any]:
    """The token response (RFC 6749 §5.1) for an authorization_code or refresh_token grant."""
    grant_type = form.get("grant_type", "")
    if grant_type not in oauth.GRANT_TYPES:
        raise OAuthError("unsupported_grant_type", f"grant_type {grant_type!r} is not offered")
    client = authenticate_client(uow, authorization, form)
    if grant_type not in client.metadata.grant_types:
        raise OAuthError("unauthorized_client", f"this client did not register {grant_type}")
    if grant_type == oauth.AUTHORIZATION_CODE:
        grant = _redeem_code(uow, client, form, now)
        scope = grant.scope
    else:
        grant, scope = _rotate_refresh(uow, client, form, now)
    return _issue_tokens(uow, client, grant, scope, now, access_ttl)


def _revoke_and_refuse(uow: UowFactory, grant_id: str, reason: str, now: datetime) -> OAuthError:
    """Revoke a grant (committed now, whatever the caller raises next) and say why, vaguely."""
    with uow() as tx:
        if tx.oauth.revoke_grant(grant_id, reason, now):
            tx.audit.append(
                "OAuthGrantRevoked", "oauth", f"oauth_grant:{grant_id}", {"why": reason}, now
            )
        tx.commit()
    return OAuthError("invalid_grant", f"refused, and every token of this grant revoked: {reason}")


def _redeem_code(uow: UowFactory, client: Client, form: Mapping[str, str], now: datetime) -> Grant:
    invalid = OAuthError("invalid_grant", "the code is unknown, expired or not this client's")
    with uow() as tx:
        code = tx.oauth.code(hash_token(form.get("code", "")))
        grant = tx.oauth.grant(code.grant_id) if code else None
        if code is None or grant is None or grant.client_id != client.id:
            raise invalid
        won = tx.oauth.use_code(code.code_hash, now)
        tx.commit()
    if not won:  # a code used twice: whoever holds it now may not be the client (§4.1.2)
        raise _revoke_and_refuse(uow, grant.id, "the authorisation code was used twice", now)
    problem = None
    if code.expires_at <= now:
        problem = "the code expired"
    elif form.get("redirect_uri", "") != code.redirect_uri:
        problem = "redirect_uri is not the one the code was sent to"
    elif not oauth.pkce_matches(form.get("code_verifier", ""), code.code_challenge):
        problem = "code_verifier does not match the code_challenge (PKCE S256)"
    if problem:  # the code is spent either way, and its grant with it
        _revoke_and_refuse(uow, grant.id, problem, now)
        raise OAuthError("invalid_grant", problem)
    if grant.revoked_at is not None:
        raise invalid
    return grant


def _rotate_refresh(
    uow: UowFactory, client: Client, form: Mapping[str, str], now: datetime
) -> tuple[Grant, tuple[str, ...]]:
    invalid = OAuthError(
        "invalid_grant", "the refresh token is unknown, expired, revoked or not this client's"
    )
    with uow() as tx:
        token = tx.oauth.token(hash_token(form.get("refresh_token", "")))
        grant = tx.oauth.grant(token.grant_id) if token and token.kind == REFRESH else None
        if token is None or grant is None or grant.client_id != client.id:
            raise invalid
        if grant.revoked_at is not None or token.revoked_at is not None:
            raise invalid
        if token.expires_at is not None and token.expires_at <= now:
            raise invalid  # unused too long; the grant stands, for the holder to see and end
        won = tx.oauth.use_refresh(token.token_hash, now)
        tx.commit()
    if not won:  # a rotated-out refresh token came back: it leaked, or the client is confused
        raise _revoke_and_refuse(uow, grant.id, "a spent refresh token was used again", now)
    scope = token.scope
    if "scope" in form:  # RFC 6749 §6: the same scope or less, never more
        scope = oauth.parse_scope(form["scope"], token.scope)
    return grant, scope


def _issue_tokens(
    uow: UowFactory,
    client: Client,
    grant: Grant,
    scope: tuple[str, ...],
    now: datetime,
    access_ttl: timedelta,
) -> dict[str, Any]:
    access = secrets.token_urlsafe(32)
    refresh = (
        secrets.token_urlsafe(32) if oauth.REFRESH_TOKEN in client.metadata.grant_types else None
    )
    with uow() as tx:
        tx.oauth.add_token(hash_token(access), grant.id, ACCESS, scope, now, now + access_ttl)
        if refresh:
            expires = now + REFRESH_TTL
            tx.oauth.add_token(hash_token(refresh), grant.id, REFRESH, scope, now, expires)
        tx.commit()
    return oauth.token_response(access, int(access_ttl.total_seconds()), scope, refresh)


def revoke(uow: UowFactory, authorization: str, form: Mapping[str, str], now: datetime) -> None:
    """RFC 7009: end a token of this client. A refresh token ends its whole grant (§2.1); an
    unknown token, or another client's, changes nothing and is answered the same way."""
    client = authenticate_client(uow, authorization, form)
    if not form.get("token"):
        raise OAuthError("invalid_request", "send the token to revoke as `token`")
    with uow() as tx:
        token = tx.oauth.token(hash_token(form["token"]))
        grant = tx.oauth.grant(token.grant_id) if token else None
        if token is None or grant is None or grant.client_id != client.id:
            return
        if token.kind == REFRESH:
            tx.oauth.revoke_grant(grant.id, "revoked by the client", now)
            tx.audit.append(
                "AppDisconnected", f"client:{client.id}", f"oauth_grant:{grant.id}", {}, now
            )
        else:
            tx.oauth.revoke_token(token.token_hash, now)
        tx.commit()


# --- resource requests and the holder's view -----------------------------------------------------


def bearer_grant(uow: UowFactory, access_token: str, now: datetime) -> TokenGrant:
    """What a live access token allows; `InvalidTokenError` if it is not live."""
    with uow() as tx:
        token = tx.oauth.token(hash_token(access_token)) if access_token else None
        grant = tx.oauth.grant(token.grant_id) if token and token.kind == ACCESS else None
        account = tx.accounts.get(grant.account_id) if grant else None
    if (
        token is None
        or grant is None
        or account is None
        or token.revoked_at is not None
        or grant.revoked_at is not None
        or token.expires_at is None
        or token.expires_at <= now
    ):
        raise InvalidTokenError("the access token is unknown, expired or revoked")
    return TokenGrant(account, grant.client_id, grant.id, token.scope)


def connected_apps(uow: UowFactory, account: Account) -> list[ConnectedApp]:
    """The applications the holder allowed in and has not disconnected, one entry each."""
    apps: dict[str, ConnectedApp] = {}
    with uow() as tx:
        for grant in tx.oauth.live_grants(account.id):
            found = apps.get(grant.client_id)
            if found is None:
                client = tx.oauth.client(grant.client_id)
                meta = client.metadata if client else {}
                found = ConnectedApp(
                    grant.client_id,
                    str(meta.get("client_name", grant.client_id)),
                    meta.get("client_uri"),
                    (),
                    grant.created_at,
                )
            scope = tuple(dict.fromkeys(found.scope + grant.scope))
            apps[grant.client_id] = ConnectedApp(
                found.client_id, found.name, found.client_uri, scope, found.since
            )
    return list(apps.values())


def disconnect_app(uow: UowFactory, account: Account, client_id: str, now: datetime) -> int:
    """End every live grant the holder gave this client, and every token they gave."""
    with uow() as tx:
        grants = [g for g in tx.oauth.live_grants(account.id) if g.client_id == client_id]
        if not grants:
            raise NotConnectedError(
                f"you have no live connection with the application {client_id!r}"
            )
        for grant in grants:
            tx.oauth.revoke_grant(grant.id, "disconnected by the holder", now)
        tx.audit.append(
            "AppDisconnected",
            f"account:{account.email}",
            f"oauth_client:{client_id}",
            {"grants": [g.id for g in grants]},
            now,
        )
        tx.commit()
    return len(grants)
