"""A holder connects rpl to another Open Badges 3.0 provider, and rpl keeps pulling from it.

1. `start_connection`: read the provider's discovery document, register rpl there (RFC 7591),
   keep the client credentials (the secret sealed under the master key), and return where to
   send the holder's browser: the provider's authorisation page, with PKCE S256 and a `state`
   that is single use and bound to this browser session and this connection.
2. `finish_connection`: the provider sends the browser back. The state is checked and spent, the
   code exchanged (client_secret_basic), the tokens kept sealed, and the first pull made. An
   error from the provider (the holder said no, say) removes the half-made connection.
3. `pull`: read every page of the holder's credentials there (following `Link: rel="next"`,
   from `since=` the last complete pull where the provider documents it), import each through
   the holder-archive import (verified, idempotent, kept even when it does not verify), and
   record what came of it. An expired access token is refreshed first; the new refresh token
   replaces the old at once (rotation). A lease keeps two pulls of one connection apart, so a
   refresh token is never spent twice.
4. `disconnect`: tell the provider (RFC 7009, where its RFC 8414 metadata names a revocation
   endpoint) and forget our tokens and client credentials.

All HTTP goes through the `ProviderHttp` port (`rpl.obclient`); the network adapter is
`rpl.provider_http`, chosen by the composition root.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

from rpl import obclient
from rpl.accounts import Account
from rpl.errors import RplError
from rpl.obclient import ProviderDescription, ProviderError, ProviderHttp, ProviderRefusedError
from rpl.sealing import open_secret, seal_secret
from rpl.services import archive, holder
from rpl.services.ports import UowFactory
from rpl.storage.connections import Connection, PendingState, PullOutcome
from rpl.tokens import hash_token

CALLBACK_PATH = "/my/connections/callback"
STATE_TTL = timedelta(minutes=15)  # time the holder has at the provider to say yes
LEASE = timedelta(minutes=10)  # a pull older than this is taken to have died
TOKEN_SKEW = timedelta(seconds=30)  # refresh a little before the provider's expiry
SINCE_MARGIN = timedelta(minutes=5)  # clocks differ; importing is idempotent, so overlap is free
PAGE_LIMIT = 50
MAX_PAGES = 1000


class UnknownConnectionError(RplError):
    """No connection of this holder has this id."""


class StateMismatchError(RplError):
    """The provider's answer does not belong to a connection this browser session started."""


class PullRunningError(RplError):
    """A pull of this connection is running already."""


@dataclass(frozen=True)
class Connector:
    """What connecting and pulling need from outside."""

    uow: UowFactory
    http: ProviderHttp
    master_key: bytes
    public_url: str
    verifier: archive.Verifier

    @property
    def redirect_uri(self) -> str:
        return self.public_url + CALLBACK_PATH


def connector_of(container: Any) -> Connector:
    """The connector of a composed instance (the composition root's container)."""
    return Connector(
        container.uow,
        container.provider_http(),
        container.master_key,
        container.settings.public_url,
        archive.Verifier(container.resolver(), container.status_lists()),
    )


# --- connecting ------------------------------------------------------------------------------------


def discover(http: ProviderHttp, entered: str) -> tuple[str, ProviderDescription]:
    """The discovery URL and what it describes; `ProviderError` in words otherwise."""
    url = obclient.discovery_url(entered)
    answer = http.get(url, {})
    if answer.status != 200:
        raise obclient.DiscoveryError(
            f"{url} answered HTTP {answer.status}: is this the address of an "
            "Open Badges 3.0 provider?"
        )
    return url, obclient.parse_discovery(answer.body, url)


def start_connection(
    c: Connector, account: Account, session_id: str, entered: str, now: datetime
) -> str:
    """Register with the provider at `entered`; returns its authorisation URL for the browser."""
    if not session_id:
        raise StateMismatchError("connect from a signed-in browser (a session is needed)")
    url, provider = discover(c.http, entered)
    body = obclient.registration_request(
        f"rpl at {urlsplit(c.public_url).netloc}", c.redirect_uri, c.public_url
    )
    answer = c.http.post(
        provider.registration_url,
        {"Content-Type": "application/json"},
        json.dumps(body).encode("utf-8"),
    )
    client_id, secret = obclient.parse_registration(answer)
    connection_id = str(uuid.uuid4())
    state = obclient.new_state()
    verifier, challenge = obclient.pkce_pair()
    _forget_abandoned(c.uow, account, now)
    with c.uow() as tx:
        tx.connections.add(
            Connection(
                id=connection_id,
                account_id=account.id,
                provider_name=provider.name,
                discovery_url=url,
                api_url=provider.api_url,
                authorization_url=provider.authorization_url,
                token_url=provider.token_url,
                refresh_url=provider.refresh_url,
                since_supported=provider.since_supported,
                client_id=client_id,
                client_secret=_seal(c, connection_id, "client_secret", secret),
                created_at=now,
            )
        )
        tx.session.flush()  # the state refers to the connection
        tx.connections.add_state(
            PendingState(
                hash_token(state),
                connection_id,
                hash_token(session_id),
                seal_secret(c.master_key, f"ob_connection_state:{hash_token(state)}", verifier),
                now + STATE_TTL,
                None,
            )
        )
        tx.commit()
    return obclient.authorization_url(provider, client_id, c.redirect_uri, state, challenge)


def _forget_abandoned(uow: UowFactory, account: Account, now: datetime) -> None:
    """Connections the holder started but never came back from: nothing of them is kept."""
    with uow() as tx:
        for connection_id in tx.connections.abandoned(account.id, now - STATE_TTL):
            tx.connections.delete(connection_id)
        tx.commit()


def _seal(c: Connector, connection_id: str, field: str, secret: str) -> bytes:
    return seal_secret(c.master_key, f"ob_connection:{connection_id}:{field}", secret)


def _open(c: Connector, connection_id: str, field: str, sealed: bytes) -> str:
    return open_secret(c.master_key, f"ob_connection:{connection_id}:{field}", sealed)


def _spend_state(
    c: Connector, account: Account, session_id: str, state: str, now: datetime
) -> tuple[Connection, str]:
    """The connection and PKCE verifier this state stands for, the state spent; else raises."""
    mismatch = StateMismatchError(
        "this answer from the provider does not match a connection you started in this "
        "browser (it may be old, used already, or meant for someone else); nothing was kept. "
        "Start the connection again from this page."
    )
    with c.uow() as tx:
        pending = tx.connections.state(hash_token(state)) if state else None
        connection = tx.connections.get(pending.connection_id) if pending else None
        if (
            pending is None
            or connection is None
            or connection.account_id != account.id
            or connection.connected_at is not None
            or not session_id
            or pending.session_hash != hash_token(session_id)
        ):
            raise mismatch
        if not tx.connections.use_state(pending.state_hash, now):
            raise mismatch
        if pending.expires_at <= now:
            tx.connections.delete(connection.id)
            tx.commit()
            raise StateMismatchError(
                f"you took longer than {STATE_TTL.seconds // 60} minutes at the provider; "
                "nothing was kept. Start the connection again."
            )
        tx.commit()
    purpose = f"ob_connection_state:{pending.state_hash}"
    return connection, open_secret(c.master_key, purpose, pending.code_verifier)


def finish_connection(
    c: Connector, account: Account, session_id: str, params: Mapping[str, str], now: datetime
) -> tuple[Connection, PullOutcome]:
    """Complete the connection the provider's redirect is about, then make the first pull."""
    connection, verifier = _spend_state(c, account, session_id, params.get("state", ""), now)
    try:
        if params.get("error"):
            raise ProviderRefusedError(
                obclient.refusal_words(params["error"], params.get("error_description", "")),
                params["error"],
            )
        if not params.get("code"):
            raise ProviderRefusedError("the provider sent you back without a code or an error")
        secret = _open(c, connection.id, "client_secret", connection.client_secret)
        answer = c.http.post(
            connection.token_url,
            _form_headers(connection.client_id, secret),
            obclient.form_body(
                {
                    "grant_type": "authorization_code",
                    "code": params["code"],
                    "redirect_uri": c.redirect_uri,
                    "code_verifier": verifier,
                }
            ),
        )
        tokens = obclient.parse_token_response(answer)
    except ProviderError:
        with c.uow() as tx:  # nothing half-way: the half-made connection goes
            tx.connections.delete(connection.id)
            tx.commit()
        raise
    _keep_tokens(c, connection, tokens, now)
    with c.uow() as tx:
        data = {"provider": connection.discovery_url, "client_id": connection.client_id}
        actor = holder.holder_actor(account)
        tx.audit.append("ProviderConnected", actor, f"ob_connection:{connection.id}", data, now)
        tx.commit()
    return connection, pull(c, account, connection.id, now)


def _form_headers(client_id: str, secret: str) -> dict[str, str]:
    return {
        "Authorization": obclient.basic_authorization(client_id, secret),
        "Content-Type": "application/x-www-form-urlencoded",
    }


def _keep_tokens(
    c: Connector, connection: Connection, tokens: obclient.TokenSet, now: datetime
) -> None:
    expires = now + timedelta(seconds=tokens.expires_in) if tokens.expires_in else None
    refresh = tokens.refresh_token
    with c.uow() as tx:
        tx.connections.store_tokens(
            connection.id,
            _seal(c, connection.id, "access_token", tokens.access_token),
            expires,
            _seal(c, connection.id, "refresh_token", refresh) if refresh else None,
            now,
        )
        tx.commit()


# --- pulling ---------------------------------------------------------------------------------------


def own_connection(uow: UowFactory, account: Account, connection_id: str) -> Connection:
    with uow() as tx:
        found = tx.connections.get(connection_id)
    if found is None or found.account_id != account.id or found.connected_at is None:
        raise UnknownConnectionError(f"you have no connection {connection_id!r}")
    return found


def connections_of(uow: UowFactory, account: Account) -> list[Connection]:
    with uow() as tx:
        return tx.connections.of_account(account.id)


def pull(c: Connector, account: Account, connection_id: str, now: datetime) -> PullOutcome:
    """Import what the provider holds for the holder now; the outcome is also recorded."""
    connection = own_connection(c.uow, account, connection_id)
    with c.uow() as tx:
        won = tx.connections.take_lease(connection.id, now, now - LEASE)
        tx.commit()
    if not won:
        raise PullRunningError(
            f"new credentials from {connection.provider_name} are being "
            "fetched already; look again in a minute"
        )
    counts = {"imported": 0, "present": 0, "failed": 0}
    problem: str | None = "the pull stopped on an unexpected error"  # replaced when it ends
    try:
        _read_pages(c, account, connection, now, counts)
        problem = None
    except ProviderError as err:
        problem = str(err)
    finally:
        outcome = PullOutcome(now, counts["imported"], counts["present"], counts["failed"], problem)
        with c.uow() as tx:
            tx.connections.finish_pull(connection.id, outcome)
            tx.commit()
    return outcome


def _first_page(connection: Connection) -> str:
    query = {"limit": str(PAGE_LIMIT), "offset": "0"}
    # `since` only after a pull that read everything: one cut short must not leave a gap.
    if connection.since_supported and connection.last_pull_at and not connection.last_problem:
        since = (connection.last_pull_at - SINCE_MARGIN).astimezone(UTC)
        query["since"] = since.strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"{connection.api_url.rstrip('/')}/credentials?{urlencode(query)}"


def _read_pages(
    c: Connector, account: Account, connection: Connection, now: datetime, counts: dict[str, int]
) -> None:
    token = _access_token(c, connection, now)
    url: str | None = _first_page(connection)
    seen: set[str] = set()
    refreshed = False
    while url and url not in seen and len(seen) < MAX_PAGES:
        answer = c.http.get(url, {"Authorization": f"Bearer {token}"})
        if answer.status == 401 and not refreshed:  # revoked early, or our clock is behind
            token, refreshed = _refresh(c, connection, now), True
            continue
        seen.add(url)
        for data in obclient.page_credentials(answer):
            counts[_import_one(c, account, connection, data, now)] += 1
        url = obclient.parse_link_header(answer.header("link"), url).get("next")
        if url and not obclient.same_origin(url, connection.api_url):
            raise ProviderRefusedError(
                f"the provider pointed the next page at another site ({url}); stopped there"
            )


def _import_one(
    c: Connector, account: Account, connection: Connection, data: bytes, now: datetime
) -> str:
    try:
        outcome = archive.import_credential(
            c.uow,
            c.verifier,
            account,
            data,
            now,
            source="api",
            label=f"from {connection.provider_name}"[:200],
        )
    except archive.NotACredentialError:
        return "failed"  # nothing to keep: it is not a credential at all
    if not outcome.created:
        return "present"
    return "imported" if outcome.verified else "failed"


def _access_token(c: Connector, connection: Connection, now: datetime) -> str:
    expires = connection.access_expires_at
    if connection.access_token and (expires is None or expires > now + TOKEN_SKEW):
        return _open(c, connection.id, "access_token", connection.access_token)
    return _refresh(c, connection, now)


def _refresh(c: Connector, connection: Connection, now: datetime) -> str:
    """A new access token; the rotated refresh token is kept before the access token is used."""
    with c.uow() as tx:
        current = tx.connections.get(connection.id)
    if current is None or current.refresh_token is None:
        raise ProviderRefusedError(
            "the provider's access has ended and it gave no way to renew it; connect again"
        )
    secret = _open(c, connection.id, "client_secret", current.client_secret)
    refresh = _open(c, connection.id, "refresh_token", current.refresh_token)
    answer = c.http.post(
        current.refresh_url,
        _form_headers(current.client_id, secret),
        obclient.form_body({"grant_type": "refresh_token", "refresh_token": refresh}),
    )
    tokens = obclient.parse_token_response(answer)
    _keep_tokens(c, current, tokens, now)
    return tokens.access_token


def pull_due(c: Connector, now: datetime, every: timedelta, limit: int = 100) -> list[PullOutcome]:
    """Pull each connection not pulled for `every` (the `rpl holder pull` command)."""
    with c.uow() as tx:
        due = [
            (x, tx.accounts.get(x.account_id))
            for x in tx.connections.due_for_pull(now - every, limit)
        ]
    outcomes = []
    for connection, account in due:
        if account is None:
            continue
        try:
            outcomes.append(pull(c, account, connection.id, now))
        except (PullRunningError, UnknownConnectionError):
            continue  # pulled (or disconnected) by someone else meanwhile
    return outcomes


# --- disconnecting ---------------------------------------------------------------------------------


def disconnect(c: Connector, account: Account, connection_id: str, now: datetime) -> bool:
    """Forget the connection; True if the provider was told to revoke its tokens (RFC 7009)."""
    connection = own_connection(c.uow, account, connection_id)
    told = _revoke_at_provider(c, connection)
    with c.uow() as tx:
        tx.connections.delete(connection.id)
        data = {"provider": connection.discovery_url, "provider_told": told}
        actor = holder.holder_actor(account)
        tx.audit.append("ProviderDisconnected", actor, f"ob_connection:{connection.id}", data, now)
        tx.commit()
    return told


def _revoke_at_provider(c: Connector, connection: Connection) -> bool:
    """Revoke our refresh token (which ends the grant) where the provider's authorisation
    server metadata (RFC 8414) names a revocation endpoint; False if it names none or fails."""
    sealed, hint = connection.refresh_token, "refresh_token"
    if sealed is None:
        sealed, hint = connection.access_token, "access_token"
    if sealed is None:
        return False
    metadata_url = obclient.origin(connection.token_url) + "/.well-known/oauth-authorization-server"
    try:
        answer = c.http.get(metadata_url, {})
        metadata = json.loads(answer.body) if answer.status == 200 else {}
        endpoint = metadata.get("revocation_endpoint") if isinstance(metadata, dict) else None
        if not isinstance(endpoint, str):
            return False
        obclient.check_url(endpoint, "revocation endpoint")
        secret = _open(c, connection.id, "client_secret", connection.client_secret)
        token = _open(c, connection.id, hint, sealed)
        done = c.http.post(
            endpoint,
            _form_headers(connection.client_id, secret),
            obclient.form_body({"token": token, "token_type_hint": hint}),
        )
    except (ProviderError, ValueError):
        return False
    return done.status == 200
