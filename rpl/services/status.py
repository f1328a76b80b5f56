"""Use cases of credential status: draw entries at issuance, revoke/suspend/unsuspend, publish lists.

Each organisation has one revocation list and one suspension list (Bitstring Status List v1.0).
Indexes are drawn when a credential is signed and recorded in the transaction that stores it, so a
batch that rolls back gives its indexes back. A status change moves the claim through its state
machine and flips the bit in one transaction; the list's signed credential is then re-published
(and is re-published on demand whenever it is stale, so a lost publish only delays it).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from rpl import audit, claims
from rpl.claims import Claim, InvalidClaimError
from rpl.errors import RplError
from rpl.keys import SealedKey
from rpl.organisations import Organisation, UnknownOrganisationError
from rpl.proofs.dataintegrity import ProofOptions, add_proof, verify_proof
from rpl.services.organisations import organisation_did
from rpl.services.ports import UowFactory
from rpl.services.records import UnknownCredentialError
from rpl.status import (
    FetchedStatusList,
    StatusListUnavailableError,
    StatusPurpose,
    allocate_indexes,
    list_length,
    new_bitstring,
    resized,
    set_bit,
    status_entry,
    status_list_credential,
)
from rpl.storage.status import Allocation, StoredStatusList
from rpl.storage.unit_of_work import ConcurrentUpdateError, DuplicateError, UnitOfWork

if TYPE_CHECKING:  # issuance imports this module; the keyring is only passed through
    from rpl.services.issuance import Keyring

log = logging.getLogger("rpl.status")
_Result = TypeVar("_Result")

# A verifier may keep a fetched list this long (`ttl`, and the HTTP Cache-Control max-age).
LIST_TTL = timedelta(minutes=5)
# A signed list is valid for a day, so a copy from before a revocation cannot be replayed for
# longer; it is re-signed once half of that has passed.
LIST_VALIDITY = timedelta(days=1)
# Compare-and-set losers retry: two admins changing statuses in one list at once both succeed.
_ATTEMPTS = 5


class UnknownStatusListError(RplError):
    """No status list has this purpose (only revocation and suspension exist)."""


class NoStatusEntryError(RplError):
    """The credential carries no entry in the list a change needs (issued before status lists)."""


class ReplacedCredentialError(RplError):
    """The credential was re-issued: its claim's status now follows the replacement."""


def status_list_url(public_url: str, org: Organisation, purpose: StatusPurpose) -> str:
    """The stable URL of an organisation's list, signed into every entry that points at it."""
    return f"{public_url}/orgs/{org.slug}/status/{purpose.value}"


def status_purpose(name: str) -> StatusPurpose:
    try:
        return StatusPurpose(name)
    except ValueError:
        raise UnknownStatusListError(f"no status list for purpose {name!r}") from None


# --- allocation at issuance -------------------------------------------------------------------


@dataclass
class StatusAllocator:
    """Draws the revocation and suspension indexes for one batch of credentials.

    An index is free if the database holds no allocation for it and this batch has not drawn it.
    Two batches drawing the same free index at once is caught by the unique key when the second
    one commits.
    """

    public_url: str
    purposes: tuple[str, ...] = ("revocation", "suspension")
    rng: random.Random = field(default_factory=random.SystemRandom)
    _drawn: dict[tuple[str, str], set[int]] = field(default_factory=dict)
    _stored: dict[tuple[str, str], int] = field(default_factory=dict)

    def draw(
        self, tx: UnitOfWork, org: Organisation
    ) -> tuple[tuple[Allocation, ...], list[dict[str, Any]]]:
        """One index in each of `org`'s lists for `purposes`, and the BitstringStatusListEntry
        objects naming them."""
        allocations, entries = [], []
        for purpose in (status_purpose(name) for name in self.purposes):
            key = (org.id, purpose.value)
            if key not in self._stored:
                self._stored[key] = tx.status.allocated(org.id, purpose.value)
            drawn = self._drawn.setdefault(key, set())
            length = list_length(self._stored[key] + len(drawn) + 1)
            [index] = allocate_indexes(self.rng, length, _Used(tx, key, drawn), 1)
            drawn.add(index)
            allocations.append(Allocation(org.id, purpose.value, index))
            url = status_list_url(self.public_url, org, purpose)
            entries.append(status_entry(url, purpose, index))
        return tuple(allocations), entries


@dataclass(frozen=True)
class _Used:
    """The indexes of one list that are taken: drawn by this batch or stored in the database."""

    tx: UnitOfWork
    key: tuple[str, str]
    drawn: set[int]

    def __contains__(self, index: object) -> bool:
        if not isinstance(index, int):
            return False
        return index in self.drawn or self.tx.status.is_allocated(*self.key, index)


# --- revoke, suspend, unsuspend ---------------------------------------------------------------

_Transition = Callable[[Claim, str, str, datetime], Claim]


@dataclass(frozen=True)
class StatusChange:
    purpose: StatusPurpose
    value: bool
    transition: _Transition


CHANGES: dict[str, StatusChange] = {
    "revoke": StatusChange(StatusPurpose.REVOCATION, True, claims.revoke),
    "suspend": StatusChange(StatusPurpose.SUSPENSION, True, claims.suspend),
    "unsuspend": StatusChange(StatusPurpose.SUSPENSION, False, claims.reinstate),
}


@dataclass(frozen=True)
class StatusPublisher:
    """What publishing a list needs: the keys, where we live, how we sign."""

    uow: UowFactory
    keyring: Keyring
    public_url: str
    cryptosuite: str


def change_status(
    publisher: StatusPublisher,
    credential_id: str,
    action: str | StatusChange,
    actor: str,
    reason: str,
    now: datetime,
) -> Claim:
    """Revoke, suspend or unsuspend a credential: its claim and its list bit change together.

    The reason is required; it is kept in the claim's event and in the audit log. The list's
    signed credential is re-published at once. `action` is a name from `CHANGES`, or (from code,
    never from a form) a `StatusChange` such as a revocation for a compromised key.
    """
    change = status_change_of(action)
    why = required_reason(reason)
    return change_and_publish(
        publisher,
        change.purpose,
        lambda: _change(publisher.uow, credential_id, change, actor, why, now),
        credential_id,
        now,
    )


def status_change_of(action: str | StatusChange) -> StatusChange:
    """The change `action` names (`CHANGES`), or `action` itself; InvalidClaimError otherwise."""
    change = action if isinstance(action, StatusChange) else CHANGES.get(action)
    if change is None:
        raise InvalidClaimError({"action": [f"{action!r} is not revoke, suspend or unsuspend"]})
    return change


def required_reason(reason: object) -> str:
    """The reason, trimmed; InvalidClaimError when there is none (it is kept in the record)."""
    why = reason.strip() if isinstance(reason, str) else ""
    if not why:
        raise InvalidClaimError({"reason": ["Please give a reason; it is kept in the record."]})
    return why


def change_and_publish(
    publisher: StatusPublisher,
    purpose: StatusPurpose,
    change: Callable[[], tuple[_Result, Organisation]],
    subject: str,
    now: datetime,
) -> _Result:
    """Run `change` (one transaction that sets a list bit, giving its result and the list's
    organisation), again when it raced another change of the same list, then re-publish that
    list's signed credential. A failed publication leaves the change standing: the list is
    re-published when next asked for."""
    for attempt in range(1, _ATTEMPTS + 1):
        try:
            result, org = change()
            break
        except (ConcurrentUpdateError, DuplicateError):
            if attempt == _ATTEMPTS:
                raise
            log.info("status change of %s raced another; trying again", subject)
    try:
        publish_status_list(publisher, org, purpose, now)
    except RplError as err:
        log.warning("could not re-publish the %s list of %s: %s", purpose, org.slug, err)
    return result


def revoke_credential(
    publisher: StatusPublisher, credential_id: str, actor: str, reason: str, now: datetime
) -> Claim:
    return change_status(publisher, credential_id, "revoke", actor, reason, now)


def suspend_credential(
    publisher: StatusPublisher, credential_id: str, actor: str, reason: str, now: datetime
) -> Claim:
    return change_status(publisher, credential_id, "suspend", actor, reason, now)


def unsuspend_credential(
    publisher: StatusPublisher, credential_id: str, actor: str, reason: str, now: datetime
) -> Claim:
    return change_status(publisher, credential_id, "unsuspend", actor, reason, now)


def _change(
    uow: UowFactory,
    credential_id: str,
    change: StatusChange,
    actor: str,
    reason: str,
    now: datetime,
) -> tuple[Claim, Organisation]:
    purpose = change.purpose.value
    with uow() as tx:
        stored = tx.credentials.get(credential_id)
        if stored is None:
            raise UnknownCredentialError(f"no credential with id {credential_id!r}")
        claim = tx.claims.get(stored.claim_id)
        if claim.credential_id != credential_id:
            raise ReplacedCredentialError(
                f"credential {credential_id!r} was replaced by {claim.credential_id!r}"
            )
        changed = change.transition(claim, actor, reason, now)
        org = tx.orgs.get(stored.organisation_id)
        index = set_status_bit(tx, org, credential_id, change.purpose, change.value, now)
        tx.claims.save(changed, now)
        kind, actor_, _, data = audit.claim_event(changed)
        data = {**data, "claim": changed.id, "reason": reason, "status": {purpose: index}}
        # Last before the commit: appending holds the audit log's lock.
        tx.audit.append(kind, actor_, f"credential:{credential_id}", data, now)
        tx.commit()
    return changed, org


def set_status_bit(
    tx: UnitOfWork,
    org: Organisation,
    credential_id: str,
    purpose: StatusPurpose,
    value: bool,
    now: datetime,
) -> int:
    """Set the credential's bit in `org`'s list for `purpose` within `tx`; returns its index."""
    index = tx.status.for_credential(credential_id).get(purpose.value)
    if index is None:
        raise NoStatusEntryError(f"credential {credential_id!r} has no {purpose.value} entry")
    current = tx.status.get(org.id, purpose.value)
    length = list_length(current.allocated if current else 0)
    if current is None:
        tx.status.create(org.id, purpose.value, set_bit(new_bitstring(length), index, value), now)
    elif not tx.status.save_bits(
        current, set_bit(resized(current.bits, length), index, value), now
    ):
        raise ConcurrentUpdateError(f"the {purpose} list of {org.slug!r} changed meanwhile")
    return index


# --- publishing -------------------------------------------------------------------------------


@dataclass(frozen=True)
class PublishedStatusList:
    """A signed BitstringStatusListCredential as served: its text, tag and freshness."""

    document: str
    valid_until: datetime

    @property
    def etag(self) -> str:
        return '"' + hashlib.sha256(self.document.encode()).hexdigest()[:32] + '"'

    def max_age(self, now: datetime) -> int:
        """Seconds a cache may keep it: the list's ttl, never past its validUntil."""
        left = (self.valid_until - now).total_seconds()
        return max(0, int(min(LIST_TTL.total_seconds(), left)))


def current_status_list(
    publisher: StatusPublisher, slug: str, purpose: str, now: datetime
) -> PublishedStatusList:
    """The organisation's signed list for `purpose`, re-signed first if it is stale."""
    which = status_purpose(purpose)
    with publisher.uow() as tx:
        org = tx.orgs.by_slug(slug)
    return publish_status_list(publisher, org, which, now)


def publish_status_list(
    publisher: StatusPublisher, org: Organisation, purpose: StatusPurpose, now: datetime
) -> PublishedStatusList:
    """Sign the list as it stands unless the last signed copy is still current; keep and return it."""
    for _ in range(_ATTEMPTS):
        with publisher.uow() as tx:
            stored = tx.status.get(org.id, purpose.value)
            sealed = tx.orgs.active_key(org.id)
        if stored is None:
            _create_list(publisher.uow, org, purpose, now)
            continue
        length = list_length(stored.allocated)
        vm = f"{organisation_did(publisher.public_url, org)}#{sealed.key_id}"
        # After a rotation the list is signed again with the new key: a retired key signs
        # nothing new, and a compromised one must not vouch for the list at all.
        if _is_current(stored, length, now) and _signed_with(stored.document, vm):
            assert stored.document is not None and stored.document_until is not None
            return PublishedStatusList(stored.document, stored.document_until)
        until = now + LIST_VALIDITY
        document = _sign_list(publisher, org, sealed, purpose, resized(stored.bits, length), now)
        with publisher.uow() as tx:
            if tx.status.save_document(stored, document, length, until, now):
                tx.commit()
                return PublishedStatusList(document, until)
    raise ConcurrentUpdateError(f"the {purpose} list of {org.slug!r} kept changing; try again")


def _create_list(uow: UowFactory, org: Organisation, purpose: StatusPurpose, now: datetime) -> None:
    with uow() as tx:
        tx.status.create(org.id, purpose.value, new_bitstring(), now)
        with contextlib.suppress(DuplicateError):  # another publisher created it first
            tx.commit()


def _is_current(stored: StoredStatusList, length: int, now: datetime) -> bool:
    return (
        stored.document is not None
        and stored.document_version == stored.version
        and stored.document_length == length
        and stored.document_until is not None
        and stored.document_until - now > LIST_VALIDITY / 2
    )


def _signed_with(document: str | None, verification_method: str) -> bool:
    try:
        proof = json.loads(document or "{}").get("proof")
    except (ValueError, AttributeError):
        return False
    return isinstance(proof, dict) and proof.get("verificationMethod") == verification_method


def _sign_list(
    publisher: StatusPublisher,
    org: Organisation,
    sealed: SealedKey,
    purpose: StatusPurpose,
    bits: bytes,
    now: datetime,
) -> str:
    signer = publisher.keyring.signer(publisher.public_url, org, sealed)
    unsigned = status_list_credential(
        status_list_url(publisher.public_url, org, purpose),
        organisation_did(publisher.public_url, org),
        purpose,
        bits,
        now,
        now + LIST_VALIDITY,
        int(LIST_TTL.total_seconds() * 1000),
    )
    options = ProofOptions(signer.verification_method, created=now.strftime("%Y-%m-%dT%H:%M:%SZ"))
    signed = add_proof(unsigned, options, signer, publisher.cryptosuite)
    checks = verify_proof(signed, lambda vm: sealed.public_key)
    if not checks or not all(c.verified for c in checks):
        raise StatusListUnavailableError(f"the signed {purpose} list of {org.slug!r} fails")
    return json.dumps(signed, ensure_ascii=False, indent=2)


# --- the verifier's local source --------------------------------------------------------------


def local_status_lookup(
    publisher: StatusPublisher, clock: Callable[[], datetime]
) -> Callable[[str], FetchedStatusList | None]:
    """A `StatusListSource.local` answering for this instance's lists from the database.

    A URL under our organisations that names no list is answered here too (unavailable), never
    fetched from ourselves over the network.
    """
    prefix = f"{publisher.public_url}/orgs/"

    def lookup(url: str) -> FetchedStatusList | None:
        if not url.startswith(prefix):
            return None
        parts = url[len(prefix) :].split("/")
        if len(parts) != 3 or parts[1] != "status":
            raise StatusListUnavailableError(f"{url} is not a status list of this service")
        try:
            published = current_status_list(publisher, parts[0], parts[2], clock())
        except (UnknownOrganisationError, UnknownStatusListError) as err:
            raise StatusListUnavailableError(f"{url}: {err}") from err
        return FetchedStatusList(json.loads(published.document))

    return lookup
