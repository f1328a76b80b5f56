"""Use cases of domain proof: show the challenge, verify it, and resume the waiting issuance.

Every attempt, proved or not, is written to the audit log (`DomainVerificationAttempted`, and
`DomainVerified` when it succeeds). Claims confirmed while the domain was unproved stayed
confirmed; once it is proved they are handed to the runner to be issued.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from rpl import domain_proof as proof
from rpl.claims import SYSTEM
from rpl.domain_lookup import DomainLookups
from rpl.domain_proof import Challenge, DomainLookupError, Method, Outcome
from rpl.organisations import Organisation
from rpl.services.ports import FlowRunner, UowFactory


@dataclass(frozen=True)
class Verification:
    organisation: Organisation
    outcome: Outcome
    # When the domain counts as proved (this attempt, or an earlier one); None if it does not.
    verified_at: datetime | None
    resumed: list[str] = field(default_factory=list)  # claims handed to the runner to issue


def show_challenge(uow: UowFactory, slug: str, now: datetime) -> Challenge:
    """The organisation's token (drawn on first request and kept until the domain is proved)."""
    with uow() as tx:
        org = tx.orgs.by_slug(slug)
        stored = tx.domains.challenge(org.id)
        if stored is not None:
            return Challenge(org.domain, stored.token)
        token = proof.new_token()
        tx.domains.set_challenge(org.id, token, now)
        tx.commit()
    return Challenge(org.domain, token)


def verify_domain(
    uow: UowFactory,
    runner: FlowRunner,
    lookups: DomainLookups,
    slug: str,
    method: str,
    now: datetime,
    actor: str = SYSTEM,
) -> Verification:
    """Look for the token by `method`; on success mark the domain proved and resume issuance."""
    how = proof.method(method)
    challenge = show_challenge(uow, slug, now)
    outcome = _look(lookups, challenge, how)
    with uow() as tx:
        org = tx.orgs.by_slug(slug)
        data = {"slug": org.slug, "domain": org.domain, "method": how.value}
        attempt = {**data, "proved": outcome.proved, "detail": outcome.detail}
        subject = f"organisation:{org.id}"
        tx.audit.append("DomainVerificationAttempted", actor, subject, attempt, now)
        waiting: list[str] = []
        verified_at = org.domain_verified_at
        if outcome.proved and verified_at is None:
            tx.domains.mark_verified(org.id, now)
            tx.audit.append("DomainVerified", actor, subject, data, now)
            verified_at = now
            waiting = tx.domains.waiting_claims(org.id)
        tx.commit()
    if waiting:
        runner.issue_credentials(waiting)
    return Verification(replace(org, domain_verified_at=verified_at), outcome, verified_at, waiting)


def _look(lookups: DomainLookups, challenge: Challenge, how: Method) -> Outcome:
    try:
        if how is Method.DNS:
            records = lookups.dns_txt(challenge.dns_name)
            if proof.txt_proves(records, challenge.token):
                return Outcome(how, True, f"TXT record at {challenge.dns_name} matches")
            found = f"{len(records)} other TXT record(s)" if records else "no TXT record"
            return Outcome(how, False, f"{found} at {challenge.dns_name}")
        text = lookups.http_file(challenge.domain)
        if text is None:
            return Outcome(how, False, f"{challenge.url} was not found (or not 200 OK)")
        if proof.file_proves(text, challenge.token):
            return Outcome(how, True, f"{challenge.url} holds the token")
        return Outcome(how, False, f"{challenge.url} does not hold the token")
    except DomainLookupError as err:
        return Outcome(how, False, str(err))
