"""Re-issue after a key compromise: every credential the compromised key signed gets a replacement
signed with the organisation's active key.

The discipline of a first issue (rpl.services.issuance) holds: check, build, record the intent,
sign, verify what was signed, store, log. The replacement is generation n+1 of its claim's
credential and names the one it `replaces`; it draws fresh status indexes. The claim moves by
`claims.reissue`, whose guard refuses a credential that the organisation revoked for its own
reasons. The old credential stays revoked: its revocation bit is set in the same transaction if
the compromise run had not set it already.

Safe to run again, and to run twice at once: a credential that has a replacement is reported, not
re-issued, and two runs cannot both store one (the claim's compare-and-set, and the unique
(claim, generation) key). A crash after the intents were recorded leaves them open; the run that
stores the claim's replacement closes them.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from rpl import audit, claims, messages
from rpl.claims import Action, Claim, ClaimState, IllegalTransitionError
from rpl.errors import RplError
from rpl.keys import SealedKey
from rpl.mail import Mailer
from rpl.organisations import Organisation
from rpl.proofs.dataintegrity import Signer
from rpl.securing import mechanism_for
from rpl.services import issuance_checks as checks
from rpl.services import keys
from rpl.services.attestation import Urls
from rpl.services.issuance import IssuePolicy, secure_credential, unsigned_credential
from rpl.services.status import (
    NoStatusEntryError,
    StatusAllocator,
    StatusPublisher,
    publish_status_list,
    set_status_bit,
)
from rpl.status import StatusPurpose
from rpl.storage.intents import Intent
from rpl.storage.status import Allocation
from rpl.storage.unit_of_work import (
    ConcurrentUpdateError,
    DuplicateError,
    StoredCredential,
    UnitOfWork,
)

log = logging.getLogger("rpl.reissue")
# Another run, an admin's status change or a status index drawn twice: the item is planned again.
_ATTEMPTS = 3


class KeyNotCompromisedError(RplError):
    """Only the credentials of a key marked compromised are re-issued."""


@dataclass
class ReissueReport:
    key_id: str
    reissued: dict[str, str] = field(default_factory=dict)  # old credential id -> replacement
    already_reissued: dict[str, str] = field(default_factory=dict)
    # Left as they are, and why: revoked by the organisation, suspended, ...
    skipped: dict[str, str] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class _Item:
    """One replacement, checked and built (then signed): its intent is recorded first."""

    old: StoredCredential
    claim: Claim
    org: Organisation
    unsigned: dict[str, Any]
    signer: Signer
    public_key: bytes
    cryptosuite: str
    allocations: tuple[Allocation, ...]
    intent: Intent
    document: str = ""  # the signed replacement, once signed


@dataclass(frozen=True)
class _Run:
    """What one re-issue run needs, passed along together."""

    publisher: StatusPublisher
    policy: IssuePolicy
    compromised_key: str  # the verification method of the compromised key
    actor: str
    now: datetime

    @property
    def urls(self) -> Urls:
        return Urls(self.publisher.public_url)


def reissue_compromised(
    publisher: StatusPublisher,
    mailer: Mailer,
    policy: IssuePolicy,
    org_slug: str,
    key_id: str,
    now: datetime,
    actor: str = claims.SYSTEM,
    batch_size: int = 500,
) -> ReissueReport:
    """Re-issue every credential that the compromised key `key_id` signed; tell each claimant."""
    method = keys.key_method(publisher.uow, publisher.public_url, org_slug, key_id)
    if method.key.compromised_at is None:
        raise KeyNotCompromisedError(
            f"{key_id!r} of {org_slug!r} is not marked compromised: mark it first"
        )
    run = _Run(publisher, policy, method.verification_method, actor, now)
    report = ReissueReport(key_id)
    old_ids = keys.credentials_signed_by(publisher.uow, publisher.public_url, org_slug, key_id)
    revoked_now = False
    for start in range(0, len(old_ids), batch_size):
        signed = _signed(run, old_ids[start : start + batch_size], report)
        for item, revoked in _store_batch(run, signed, report):
            revoked_now |= revoked
            _notify(mailer, run.urls, item)
    if revoked_now:
        try:  # the bits stand; a list that could not be signed now is signed when next asked for
            publish_status_list(publisher, method.organisation, StatusPurpose.REVOCATION, now)
        except RplError as err:
            log.warning("could not re-publish the revocation list of %s: %s", org_slug, err)
    return report


def _signed(run: _Run, old_ids: Sequence[str], report: ReissueReport) -> list[_Item]:
    """Plan the replacements, commit their intents, then sign and verify each one."""
    planned, refused = _plan(run, old_ids, report)
    checks.record_intents(run.publisher.uow, [i.intent for i in planned], refused, run.now)
    signed, failed = [], {}
    for item in planned:
        try:
            doc = secure_credential(
                item.claim, item.unsigned, item.signer, item.intent.verification_method,
                item.public_key, item.cryptosuite, run.now,
            )  # fmt: skip
        except RplError as err:
            log.warning("credential %s not re-issued: %s", item.old.id, err)
            report.failed[item.old.id] = failed[item.intent.credential_id] = str(err)
            continue
        text = doc if isinstance(doc, str) else json.dumps(doc, ensure_ascii=False, indent=2)
        signed.append(dataclasses.replace(item, document=text))
    checks.close_intents(run.publisher.uow, {c: f"failed: {w}" for c, w in failed.items()}, run.now)
    return signed


def _plan(
    run: _Run, old_ids: Sequence[str], report: ReissueReport
) -> tuple[list[_Item], dict[str, str]]:
    """One read transaction: what to re-issue, our checks, the unsigned replacements.

    Returns the items, and the claims our rules refuse (recorded in the audit log).
    """
    items: list[_Item] = []
    refused: dict[str, str] = {}
    allocator = StatusAllocator(run.publisher.public_url, purposes=run.policy.status_purposes)
    with run.publisher.uow() as tx:
        checker = checks.Checker(tx, run.now)
        orgs: dict[str, tuple[Organisation, SealedKey]] = {}  # read once per organisation
        for old_id in old_ids:
            try:
                item = _plan_one(run, tx, (checker, allocator, orgs), old_id, report)
            except RplError as err:
                log.warning("credential %s not re-issued: %s", old_id, err)
                report.failed[old_id] = str(err)
                if isinstance(err, _RefusedError):
                    refused[err.claim_id] = str(err)
                continue
            if item is not None:
                items.append(item)
    return items, refused


class _RefusedError(RplError):
    def __init__(self, claim_id: str, why: str) -> None:
        super().__init__(why)
        self.claim_id = claim_id


def _plan_one(
    run: _Run,
    tx: UnitOfWork,
    batch: tuple[checks.Checker, StatusAllocator, dict[str, tuple[Organisation, SealedKey]]],
    old_id: str,
    report: ReissueReport,
) -> _Item | None:
    checker, allocator, orgs = batch
    old = tx.credentials.get(old_id)
    assert old is not None  # listed by its verification method in this run
    replacement = tx.credentials.replacement(old)
    if replacement is not None:
        report.already_reissued[old_id] = replacement.id
        return None
    claim = tx.claims.get(old.claim_id)
    why = _not_reissuable(claim, old, run.compromised_key)
    if why is not None:
        report.skipped[old_id] = why
        return None
    # The replacement states the facts as they were confirmed: built and checked as a first
    # issue of the claim would be (the claim's real state is checked by `claims.reissue`).
    as_confirmed = dataclasses.replace(claim, state=ClaimState.CONFIRMED)
    if old.organisation_id not in orgs:
        org = tx.orgs.get(old.organisation_id)
        orgs[org.id] = (org, tx.orgs.active_key(org.id))
    org, sealed = orgs[old.organisation_id]
    refusal = checker.refusal(as_confirmed, org)
    if refusal:
        raise _RefusedError(claim.id, refusal)
    signer = run.publisher.keyring.signer(run.publisher.public_url, org, sealed)
    allocations, entries = allocator.draw(tx, org)
    cid, unsigned = unsigned_credential(as_confirmed, org, run.urls, run.now, entries)
    refusal = checker.document_refusal(unsigned)
    if refusal:
        raise _RefusedError(claim.id, refusal)
    vm = signer.verification_method
    intent = Intent(cid, claim.id, org.id, vm, checks.digest(unsigned), run.now)
    cryptosuite = mechanism_for(org.securing, run.policy.cryptosuite)
    return _Item(
        old,
        as_confirmed,
        org,
        unsigned,
        signer,
        sealed.public_key,
        cryptosuite,
        allocations,
        intent,
    )


def _not_reissuable(claim: Claim, old: StoredCredential, compromised_key: str) -> str | None:
    if claim.credential_id != old.id:
        return f"its claim's current credential is {claim.credential_id}"
    if Action.REISSUE not in claims.allowed_actions(claim.state):
        return f"its claim is {claim.state.value}; only issued or revoked credentials are re-issued"
    return claims.reissue_refusal(claim.state, claim.events, compromised_key)


def _store_batch(
    run: _Run, items: Sequence[_Item], report: ReissueReport
) -> list[tuple[_Item, bool]]:
    """Store a batch in one transaction; if anything in it collides, store it item by item.

    Returns each item stored, and whether its old credential was revoked just now.
    """
    if not items:
        return []
    try:
        with run.publisher.uow() as tx:
            written = [_write(run, tx, item) for item in items]
            # Last, after the other writes: the log's lock is held only to commit.
            for _, changes in written:
                for change in changes:
                    tx.audit.append(*change, run.now)
            tx.commit()
    except (ConcurrentUpdateError, DuplicateError, IllegalTransitionError) as err:
        log.info("re-issue batch of %d collided (%s); storing one by one", len(items), err)
        alone = [_store_alone(run, item, report) for item in items]
        return [stored for stored in alone if stored is not None]
    for item in items:
        report.reissued[item.old.id] = item.intent.credential_id
    return [(item, revoked) for item, (revoked, _) in zip(items, written, strict=True)]


def _store_alone(run: _Run, item: _Item, report: ReissueReport) -> tuple[_Item, bool] | None:
    """Store one replacement; on a collision, plan it again (another run may have stored it)."""
    for _ in range(_ATTEMPTS):
        try:
            with run.publisher.uow() as tx:
                revoked, changes = _write(run, tx, item)
                for change in changes:
                    tx.audit.append(*change, run.now)
                tx.commit()
            report.reissued[item.old.id] = item.intent.credential_id
            return item, revoked
        except (ConcurrentUpdateError, DuplicateError, IllegalTransitionError) as err:
            log.info("re-issue of %s collided (%s); planning it again", item.old.id, err)
            superseded = {item.intent.credential_id: "superseded"}
            checks.close_intents(run.publisher.uow, superseded, run.now)
        again = _signed(run, [item.old.id], report)
        if not again:  # re-issued meanwhile, now refused, or failed: `_plan` reported which
            return None
        item = again[0]
    report.failed[item.old.id] = "it kept colliding with other changes; run the re-issue again"
    return None


def _write(run: _Run, tx: UnitOfWork, item: _Item) -> tuple[bool, list[audit.Change]]:
    """In `tx`: the claim moves by `claims.reissue`, the replacement is added and the old
    credential revoked (if the compromise run had not). Returns whether it revoked now, and the
    audit entries to append."""
    new = StoredCredential(
        id=item.intent.credential_id,
        claim_id=item.claim.id,
        organisation_id=item.org.id,
        cryptosuite=item.cryptosuite,
        verification_method=item.intent.verification_method,
        document=item.document,
        issued_at=run.now,
        generation=item.old.generation + 1,
        replaces=item.old.id,
    )
    claim = tx.claims.get(item.claim.id)
    if claim.credential_id != item.old.id:
        raise ConcurrentUpdateError(f"claim {claim.id!r} was re-issued meanwhile")
    revoked_index = None
    if claim.state is ClaimState.ISSUED:
        try:
            revoked_index = set_status_bit(
                tx, item.org, item.old.id, StatusPurpose.REVOCATION, True, run.now
            )
        except NoStatusEntryError:  # issued before status lists: its key alone fails it now
            log.info("credential %s has no revocation entry to set", item.old.id)
    changed = claims.reissue(claim, new.id, run.compromised_key, run.actor, run.now)
    tx.claims.save(changed, run.now)
    tx.credentials.add(new)
    for allocation in item.allocations:
        tx.status.allocate(allocation, new.id, run.now)
    tx.intents.close([new.id], "stored", run.now)
    tx.intents.close_claims([claim.id], "superseded", run.now)
    changes = [audit.credential_issued(new), _reissued(changed, item.old, revoked_index)]
    return revoked_index is not None, changes


def _reissued(claim: Claim, old: StoredCredential, revoked_index: int | None) -> audit.Change:
    kind, actor, _, data = audit.claim_event(claim)
    event = claim.events[-1]
    data = {
        **data,
        "claim": claim.id,
        "replacement": claim.credential_id,
        "compromised_key": event.data["compromised_key"],
        "reason": event.reason,
        "status": {"revocation": revoked_index} if revoked_index is not None else None,
    }
    return audit.Change(kind, actor, f"credential:{old.id}", data)


def _notify(mailer: Mailer, urls: Urls, item: _Item) -> None:
    message = messages.credential_reissued(
        item.claim,
        item.org,
        urls.credential(item.intent.credential_id),
        urls.credential(item.old.id),
    )
    try:
        mailer.send(message)
    except OSError as err:  # the replacement stands; its page is where the old one's leads
        log.warning("could not tell the claimant of %s: %s", item.claim.id, err)
