"""Use cases of accounts: sign in by emailed link, sessions, sign out (everywhere), API tokens.

A sign-in link is a single-use secret (only its SHA-256 is stored) that lives a few minutes. It is
sent to any well-formed address: whether an account exists is never revealed, and redeeming the
link makes the account if there was none (anyone may be a claimant). Redeeming makes a session:
a random id given to the browser (signed, in a cookie) and stored here as its hash.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode

from rpl import access
from rpl.accounts import Account, ApiToken, Membership, Session, SignInLink, normalise_email
from rpl.errors import RplError
from rpl.mail import Mailer, Message
from rpl.organisations import Organisation
from rpl.services.ports import UowFactory
from rpl.tokens import hash_token, new_token

log = logging.getLogger("rpl.accounts")
SIGN_IN_TTL = timedelta(minutes=15)
API_TOKEN_PREFIX = "rpl_"


class SignInLinkError(RplError):
    """The sign-in link is unknown, used or expired (one message for all: nothing to probe)."""


class UnknownApiTokenError(RplError):
    """No live API token of this account has this id."""


@dataclass(frozen=True)
class SignedIn:
    account: Account
    session_id: str  # the secret the cookie carries; the database keeps only its hash
    created: bool


@dataclass(frozen=True)
class Overview:
    """What /account shows: memberships (with their organisations), live sessions, API tokens."""

    memberships: list[tuple[Membership, Organisation]]
    sessions: list[Session]
    tokens: list[ApiToken]


def request_sign_in(
    uow: UowFactory,
    mailer: Mailer,
    public_url: str,
    email: str,
    now: datetime,
    next_path: str = "",
) -> None:
    """Mail a single-use sign-in link to `email`, known or not; `next_path` rides along in it."""
    address = normalise_email(email)
    token = new_token()
    after = f"?{urlencode({'next': next_path})}" if next_path else ""
    link = SignInLink(hash_token(token), address, now, now + SIGN_IN_TTL)
    with uow() as tx:
        tx.accounts.add_link(link)
        tx.commit()
    text = (
        "Hello,\n\nSomeone (we hope you) asked to sign in to rpl with this address. To sign in,"
        f' open this link within 15 minutes and press "Sign in":\n\n{public_url}/sign-in/{token}{after}'
        "\n\nThe link works once. If you did not ask for it, ignore this message: nothing"
        " happens unless the link is used.\n"
    )
    try:
        mailer.send(Message(to=address, subject="Your sign-in link for rpl", text=text))
    except OSError as err:  # the same answer either way: the person can simply ask again
        log.warning("could not send a sign-in link to %s: %s", address, err)


def check_sign_in_link(uow: UowFactory, token: str, now: datetime) -> SignInLink:
    """The link behind `token` if it can still be redeemed; looking changes nothing."""
    with uow() as tx:
        return _usable(tx.accounts.link(hash_token(token)), now)


def _usable(link: SignInLink | None, now: datetime) -> SignInLink:
    if link is None or link.used_at is not None or link.expires_at <= now:
        raise SignInLinkError(
            "this sign-in link is not valid any more (they work once, for 15 minutes); "
            "ask for a new one"
        )
    return link


def redeem_sign_in(
    uow: UowFactory, token: str, session_ttl: timedelta, now: datetime, user_agent: str = ""
) -> SignedIn:
    """Spend the link and open a session, in one transaction: a second redeemer is refused."""
    session_id = new_token()
    with uow() as tx:
        link = _usable(tx.accounts.link(hash_token(token)), now)
        if not tx.accounts.use_link(link.token_hash, now):
            raise SignInLinkError("this sign-in link was just used; ask for a new one")
        account, created = tx.accounts.ensure(str(uuid.uuid4()), link.email, now)
        tx.accounts.add_session(
            Session(
                hash_token(session_id), account.id, now, now + session_ttl, None, user_agent[:200]
            )
        )
        if created:
            tx.audit.append(
                "AccountCreated", f"account:{account.email}", f"account:{account.id}", {}, now
            )
        tx.commit()
    return SignedIn(account, session_id, created)


def actor_for(uow: UowFactory, account: Account | None) -> access.Actor:
    if account is None:
        return access.ANONYMOUS
    with uow() as tx:
        memberships = tuple(tx.members.of_email(account.email))
    return access.Actor(account=account, memberships=memberships)


def session_actor(uow: UowFactory, session_id: str, now: datetime) -> access.Actor:
    """The actor behind a session id; anonymous if it is unknown, ended or expired."""
    with uow() as tx:
        session = tx.accounts.browser_session(hash_token(session_id))
        if session is None or not session.live(now):
            return access.ANONYMOUS
        account = tx.accounts.get(session.account_id)
        memberships = tuple(tx.members.of_email(account.email)) if account else ()
    return access.Actor(account=account, memberships=memberships)


def token_actor(uow: UowFactory, token: str, now: datetime) -> access.Actor:
    """The actor behind a personal API token; anonymous if it is unknown or revoked."""
    with uow() as tx:
        found = tx.accounts.token_by_hash(hash_token(token))
        if found is None or found.revoked_at is not None:
            return access.ANONYMOUS
        account = tx.accounts.get(found.account_id)
        tx.accounts.touch_token(found.id, now)
        memberships = tuple(tx.members.of_email(account.email)) if account else ()
        tx.commit()
    return access.Actor(account=account, memberships=memberships)


def sign_out(uow: UowFactory, session_id: str, now: datetime) -> None:
    with uow() as tx:
        tx.accounts.revoke_session(hash_token(session_id), now)
        tx.commit()


def sign_out_everywhere(uow: UowFactory, account: Account, now: datetime) -> int:
    """End every session of the account (this browser's too); returns how many were live."""
    with uow() as tx:
        ended = tx.accounts.revoke_all_sessions(account.id, now)
        tx.audit.append(
            "SignedOutEverywhere",
            f"account:{account.email}",
            f"account:{account.id}",
            {"sessions": ended},
            now,
        )
        tx.commit()
    return ended


def overview(uow: UowFactory, account: Account, now: datetime) -> Overview:
    with uow() as tx:
        memberships = [
            (m, tx.orgs.get(m.organisation_id)) for m in tx.members.of_email(account.email)
        ]
        return Overview(
            memberships, tx.accounts.live_sessions(account.id, now), tx.accounts.tokens(account.id)
        )


def create_api_token(
    uow: UowFactory, account: Account, name: str, now: datetime
) -> tuple[ApiToken, str]:
    """A new personal API token; the secret is returned once and only its hash is kept."""
    secret = API_TOKEN_PREFIX + new_token()
    label = " ".join(name.split())[:80] or "API token"
    with uow() as tx:
        token = tx.accounts.add_token(account.id, label, hash_token(secret), now)
        tx.audit.append(
            "ApiTokenCreated",
            f"account:{account.email}",
            f"account:{account.id}",
            {"token": token.id, "name": label},
            now,
        )
        tx.commit()
    return token, secret


def revoke_api_token(uow: UowFactory, account: Account, token_id: int, now: datetime) -> None:
    with uow() as tx:
        if not tx.accounts.revoke_token(account.id, token_id, now):
            raise UnknownApiTokenError(f"you have no live API token with id {token_id}")
        tx.audit.append(
            "ApiTokenRevoked",
            f"account:{account.email}",
            f"account:{account.id}",
            {"token": token_id},
            now,
        )
        tx.commit()
