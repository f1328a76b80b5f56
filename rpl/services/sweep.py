"""The sweep: what nobody's click will do. Reminds attesters who have not answered, expires claims
nobody answered in time, re-sends links that never left, and hands confirmed claims that were never
issued back to issuance.

Idempotent: every change re-checks its condition inside its own transaction and writes with
compare-and-set, so running the sweep twice, or two sweeps at once, reminds once per period and
expires once. Mail goes out after the commit, as everywhere else.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from rpl import audit, claims, messages
from rpl.claims import ClaimState
from rpl.mail import Mailer
from rpl.services.attestation import Urls, request_attestation
from rpl.services.ports import UowFactory
from rpl.storage.unit_of_work import AttestationLink, ConcurrentUpdateError
from rpl.tokens import hash_token, new_token

log = logging.getLogger("rpl.sweep")
REMINDED = "AttesterReminded"  # the audit entry that records each reminder


@dataclass(frozen=True)
class SweepPolicy:
    remind_after: timedelta  # an attester silent this long is reminded, at most once per period
    link_ttl: timedelta  # life of a link the sweep re-sends
    stuck_after: timedelta = timedelta(minutes=10)  # a middle state older than this is stuck
    limit: int = 1000  # claims of each kind per sweep; the next sweep takes the rest


@dataclass
class SweepReport:
    reminded: list[str] = field(default_factory=list)
    expired: list[str] = field(default_factory=list)
    resent: list[str] = field(default_factory=list)
    reissued: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, list[str]]:
        return {k: list(v) for k, v in self.__dict__.items()}


def sweep(
    uow: UowFactory,
    mailer: Mailer,
    urls: Urls,
    policy: SweepPolicy,
    now: datetime,
    issue: Callable[[Sequence[str]], Any],
) -> SweepReport:
    """One pass. `issue` is handed the confirmed claims still without a credential."""
    report = SweepReport()
    with uow() as tx:
        remind = tx.sweep.due_for_reminder(now - policy.remind_after, now, policy.limit)
        resend = tx.sweep.undelivered(now - policy.stuck_after, now, policy.limit)
        stuck = tx.sweep.confirmed_before(now - policy.stuck_after, policy.limit)
    report.reminded = _each(remind, lambda c: remind_attester(uow, mailer, urls, policy, c, now))
    report.resent = _each(
        resend, lambda c: request_attestation(uow, mailer, urls, policy.link_ttl, c, now)
    )
    with uow() as tx:  # after the reminders and resends, which may have made links live again
        expire = tx.sweep.due_for_expiry(now, policy.limit)
    report.expired = [c for c in expire if expire_claim(uow, mailer, c, now)]
    if stuck:
        issue(stuck)
        report.reissued = stuck
    log.info("sweep: %s", {k: len(v) for k, v in report.to_json().items()})
    return report


def _each(claim_ids: Sequence[str], act: Callable[[str], bool]) -> list[str]:
    """The claims `act` changed; one whose mail could not go is left for the next sweep."""
    done = []
    for claim_id in claim_ids:
        try:
            if act(claim_id):
                done.append(claim_id)
        except OSError as err:  # SMTP errors are OSErrors: the link stays as it was
            log.warning("sweep: could not write about claim %s: %s", claim_id, err)
    return done


def remind_attester(
    uow: UowFactory, mailer: Mailer, urls: Urls, policy: SweepPolicy, claim_id: str, now: datetime
) -> bool:
    """Send the attester a reminder with a fresh link (same expiry) that replaces the old one.

    Only the hash of a link's token is kept, so the old link cannot be sent again; the new one is
    made, recorded and sent, and only once it was handed to the mailer is the old one retired.
    If sending fails, the old link still works and the next sweep tries again.
    """
    token = new_token()
    with uow() as tx:
        claim = tx.claims.get(claim_id)
        links = list(tx.links.for_claim(claim_id))
        live = [k for k in links if k.used_at is None and k.sent_at and k.expires_at > now]
        sent = [k.sent_at for k in links if k.sent_at]
        if claim.state is not ClaimState.REQUESTED or not live:
            return False
        if max(sent) > now - policy.remind_after:  # reminded (or asked) within this period
            return False
        for unsent in (k for k in links if k.sent_at is None and k.used_at is None):
            tx.links.retire(unsent.token_hash, now)  # an earlier reminder that never left
        expires = max(k.expires_at for k in live)
        tx.links.add(
            AttestationLink(hash_token(token), claim.id, live[0].attester_email, now, expires, None)
        )
        try:  # writing the claim unchanged bumps its version: a racing sweep stops here
            tx.claims.save(claim, now)
        except ConcurrentUpdateError:
            return False
        data = {"organisation": claim.details.organisation_id, "reminder": len(sent)}
        tx.audit.append(*audit.Change(REMINDED, claims.SYSTEM, f"claim:{claim.id}", data), now)
        org = tx.orgs.get(claim.details.organisation_id)
        tx.commit()
    message = messages.attestation_reminder(
        claim, org, urls.attester(token), f"{expires:%d %B %Y}", f"{min(sent):%d %B %Y}"
    )
    mailer.send(message)
    with uow() as tx:
        tx.links.mark_sent(hash_token(token), now)
        for old in live:
            tx.links.retire(old.token_hash, now)
        tx.commit()
    return True


def expire_claim(uow: UowFactory, mailer: Mailer, claim_id: str, now: datetime) -> bool:
    """Move a requested claim none of whose links can be answered any more to expired."""
    with uow() as tx:
        claim = tx.claims.get(claim_id)
        links = list(tx.links.for_claim(claim_id))
        if claim.state is not ClaimState.REQUESTED:
            return False
        if any(k.used_at is None and k.expires_at > now for k in links):
            return False
        expired = claims.expire(claim, now)
        try:
            tx.claims.save(expired, now)
        except ConcurrentUpdateError:
            return False
        tx.audit.append(*audit.claim_event(expired), now)
        org = tx.orgs.get(claim.details.organisation_id)
        tx.commit()
    ended = max((k.expires_at for k in links), default=now)
    try:
        mailer.send(messages.claim_expired(expired, org, f"{ended:%d %B %Y}"))
    except OSError as err:  # the claim is expired either way; the claimant sees it on their page
        log.warning("could not tell the claimant that %s expired: %s", claim_id, err)
    return True


class Every:
    """Calls `job` every `minutes` on a daemon thread until `stop()`; a failing run is logged and
    the next one still happens. The embedded default's schedule for the sweep."""

    def __init__(self, minutes: float, job: Callable[[], Any], name: str = "rpl-sweep") -> None:
        self._interval = minutes * 60
        self._job = job
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)

    def start(self) -> Every:
        self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._stopped.wait(self._interval):
            try:
                self._job()
            except Exception:  # the outer edge of a background thread: log, keep the schedule
                log.exception("scheduled sweep failed")

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=10)
