"""Use cases of the attestation workflow: claim → request → attester decision → (amendment answer).

Each function is one use case. Writes go through a unit of work; decisions use compare-and-set, so a
double-clicked or replayed POST decides once. Mail goes out after the commit: a crash in between
loses a message (the sweep re-sends), never a decision.
"""

from __future__ import annotations

import dataclasses
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from rpl import access, audit, claims, messages
from rpl.claims import Claim, ClaimDetails, ClaimState
from rpl.errors import RplError
from rpl.mail import Mailer, Message
from rpl.organisations import Organisation
from rpl.services.ports import FlowRunner, UowFactory
from rpl.storage.unit_of_work import AttestationLink, StoredCredential
from rpl.tokens import hash_token, new_token

log = logging.getLogger("rpl.attestation")


class UnknownLinkError(RplError):
    """No attestation link has this token."""


class LinkExpiredError(RplError):
    """The attestation link is past its expiry."""


class LinkUsedError(RplError):
    """The attestation link was already used to decide."""


@dataclass(frozen=True)
class SubmittedClaim:
    claim_id: str
    claimant_token: str


@dataclass(frozen=True)
class ClaimView:
    claim: Claim
    organisation: Organisation
    credential: StoredCredential | None = None


@dataclass(frozen=True)
class Decision:
    """An attester's answer: `confirm`, `amend` (with `changes`) or `decline` (with a reason)."""

    action: str
    attester_role: str = ""
    reason: str = ""
    changes: Mapping[str, Any] = dataclasses.field(default_factory=dict)


@dataclass(frozen=True)
class Urls:
    """Where people find things; the services put these links in messages."""

    public_url: str

    def claimant(self, token: str) -> str:
        return f"{self.public_url}/my/{token}"

    def attester(self, token: str) -> str:
        return f"{self.public_url}/attest/{token}"

    def credential(self, credential_id: str) -> str:
        return f"{self.public_url}/credentials/{credential_id}"


def submit_claim(
    uow: UowFactory,
    mailer: Mailer,
    runner: FlowRunner,
    urls: Urls,
    details: ClaimDetails,
    now: datetime,
) -> SubmittedClaim:
    """File a claim as a draft, send the claimant their private link, start the request."""
    token = new_token()
    claim = claims.draft_claim(
        str(uuid.uuid4()), details, claims.claimant_actor(details.claimant_email), now
    )
    with uow() as tx:
        org = tx.orgs.get(details.organisation_id)
        access.ensure_attester_address(
            details.attester_email, org, tx.members.of_organisation(org.id)
        )
        tx.claims.add(claim, hash_token(token), now)
        tx.audit.append(*audit.claim_event(claim), now)
        tx.commit()
    _tell(mailer, messages.claim_received(claim, org, urls.claimant(token)))
    runner.request_attestation(claim.id)
    return SubmittedClaim(claim.id, token)


def request_attestation(
    uow: UowFactory, mailer: Mailer, urls: Urls, ttl: timedelta, claim_id: str, now: datetime
) -> bool:
    """Move a draft to requested, make the attester's single-use link and send it.

    Safe to run again: once the link went out, nothing more happens (False). If sending failed
    the error propagates, so the flow retries; the retry retires the undelivered link (only its
    hash was kept) and sends a new one.
    """
    token = new_token()
    with uow() as tx:
        claim = tx.claims.get(claim_id)
        if claim.state in (ClaimState.DRAFT, ClaimState.EXPIRED):
            claim = claims.request(claim, claims.SYSTEM, now)
            tx.claims.save(claim, now)
            tx.audit.append(*audit.claim_event(claim), now)
        elif claim.state is ClaimState.REQUESTED:
            links = list(tx.links.for_claim(claim.id))
            if any(k.sent_at and k.used_at is None and k.expires_at > now for k in links):
                return False
            for undelivered in (k for k in links if k.sent_at is None and k.used_at is None):
                tx.links.retire(undelivered.token_hash, now)
            tx.audit.append(*audit.link_reissued(claim), now)
        else:
            return False
        org = tx.orgs.get(claim.details.organisation_id)
        tx.links.add(
            AttestationLink(
                token_hash=hash_token(token),
                claim_id=claim.id,
                attester_email=claim.details.attester_email.lower(),
                created_at=now,
                expires_at=now + ttl,
                used_at=None,
            )
        )
        tx.commit()
    expires = (now + ttl).strftime("%d %B %Y")
    mailer.send(messages.attestation_request(claim, org, urls.attester(token), expires))
    with uow() as tx:
        tx.links.mark_sent(hash_token(token), now)
        tx.commit()
    return True


def _tell(mailer: Mailer, message: Message) -> None:
    """Send a courtesy message; the change it reports is already committed, so failure is logged."""
    try:
        mailer.send(message)
    except OSError as err:
        log.warning("could not send %r to %s: %s", message.subject, message.to, err)


def open_attestation(
    uow: UowFactory, token: str, now: datetime
) -> tuple[ClaimView, AttestationLink]:
    """What the attester sees behind their link. Reading changes nothing."""
    with uow() as tx:
        link = _usable_link(tx.links.get(hash_token(token)), now)
        claim = tx.claims.get(link.claim_id)
        org = tx.orgs.get(claim.details.organisation_id)
        access.ensure_still_attester(link.attester_email, org, tx.members.of_organisation(org.id))
    return ClaimView(claim, org), link


def _usable_link(link: AttestationLink | None, now: datetime) -> AttestationLink:
    if link is None:
        raise UnknownLinkError("this link is not valid; check that it was copied whole")
    if link.used_at is not None:
        raise LinkUsedError(f"this link was already used on {link.used_at:%d %B %Y at %H:%M} UTC")
    if link.expires_at <= now:
        raise LinkExpiredError(f"this link expired on {link.expires_at:%d %B %Y}")
    return link


def decide_attestation(
    uow: UowFactory,
    mailer: Mailer,
    runner: FlowRunner,
    urls: Urls,
    token: str,
    decision: Decision,
    now: datetime,
) -> Claim:
    """Spend the link and record the attester's decision in one transaction; then start issuance."""
    with uow() as tx:
        link = _usable_link(tx.links.get(hash_token(token)), now)
        decided, org = _decide(tx, link.claim_id, link.attester_email, decision, now)
        tx.links.use(link.token_hash, now)
        tx.commit()
    return _decided(mailer, runner, decided, org)


def decide_as_attester(
    uow: UowFactory,
    mailer: Mailer,
    runner: FlowRunner,
    attester_email: str,
    claim_id: str,
    decision: Decision,
    now: datetime,
) -> Claim:
    """A signed-in attester decides from their inbox, without the emailed link (which then ends)."""
    with uow() as tx:
        decided, org = _decide(tx, claim_id, attester_email, decision, now)
        for link in tx.links.for_claim(claim_id):
            if link.used_at is None:
                tx.links.retire(link.token_hash, now)
        tx.commit()
    return _decided(mailer, runner, decided, org)


def _decide(
    tx: Any, claim_id: str, attester_email: str, decision: Decision, now: datetime
) -> tuple[Claim, Organisation]:
    claim = tx.claims.get(claim_id)
    org = tx.orgs.get(claim.details.organisation_id)
    # Checked at the moment of decision, inside its transaction: someone removed since the link
    # was sent (or since the page was opened) may not decide any more.
    access.ensure_still_attester(attester_email, org, tx.members.of_organisation(org.id))
    decided = _apply(claim, attester_email, decision, now)
    tx.claims.save(decided, now)
    tx.audit.append(*audit.claim_event(decided), now)
    return decided, org


def _decided(mailer: Mailer, runner: FlowRunner, decided: Claim, org: Organisation) -> Claim:
    if decided.state is ClaimState.CONFIRMED:
        runner.issue_credentials([decided.id])
    _tell(mailer, messages.claim_decided(decided, org))
    return decided


def _apply(claim: Claim, attester: str, decision: Decision, now: datetime) -> Claim:
    if decision.action == "confirm":
        return claims.confirm(claim, attester, decision.attester_role, now)
    if decision.action == "amend":
        return claims.amend(
            claim, attester, decision.attester_role, decision.changes, decision.reason, now
        )
    if decision.action == "decline":
        return claims.decline(claim, attester, decision.reason, now)
    raise claims.InvalidClaimError(
        {"action": [f"{decision.action!r} is not confirm, amend or decline"]}
    )


def claim_for_claimant(uow: UowFactory, token: str) -> ClaimView:
    """The claimant's view of their claim, found by their private link."""
    with uow() as tx:
        claim = tx.claims.by_token(hash_token(token))
        org = tx.orgs.get(claim.details.organisation_id)
        credential = tx.credentials.by_claim(claim.id)
    return ClaimView(claim, org, credential)


def answer_amendment(
    uow: UowFactory,
    runner: FlowRunner,
    token: str,
    accept: bool,
    reason: str | None,
    now: datetime,
) -> Claim:
    """The claimant accepts (then issuance starts) or rejects (back to draft) the corrections."""
    with uow() as tx:
        claim = tx.claims.by_token(hash_token(token))
        actor = claims.claimant_actor(claim.details.claimant_email)
        if accept:
            answered = claims.accept_amendment(claim, actor, now)
        else:
            answered = claims.reject_amendment(claim, actor, reason, now)
        tx.claims.save(answered, now)
        tx.audit.append(*audit.claim_event(answered), now)
        tx.commit()
    if answered.state is ClaimState.CONFIRMED:
        runner.issue_credentials([answered.id])
    return answered
