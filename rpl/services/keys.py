"""Use cases of organisation signing keys: rotate, declare one compromised, list what it signed.

Rotation adds a key and retires the active one; the retired key stays in the organisation's DID
document, so everything it signed still verifies. A compromised key stays listed too, so a verifier
can say what happened, but it carries the date it was marked `revoked` and is no assertion method:
nothing it signed verifies any more, and its credentials are revoked so the status lists say so too.

Those revocations record the compromised key in the claim's event, which is what lets
`rpl.services.reissue` give each claim a replacement signed with the active key; a credential the
organisation revoked for its own reasons stays revoked.
"""

from __future__ import annotations

import functools
import logging
import re
from dataclasses import dataclass, field
from datetime import datetime

from rpl import claims
from rpl.claims import SYSTEM, ClaimState, IllegalTransitionError
from rpl.errors import RplError
from rpl.organisations import Organisation
from rpl.services import credential_status
from rpl.services.organisations import organisation_did
from rpl.services.ports import UowFactory
from rpl.services.status import StatusChange, StatusPublisher
from rpl.signer import KeyStore, key_store_for
from rpl.status import StatusPurpose
from rpl.storage.unit_of_work import KeyRecord

log = logging.getLogger("rpl.keys")

_KEY_ID = re.compile(r"key-(\d+)")


class UnknownKeyError(RplError):
    """The organisation has no signing key with this id."""


class ActiveKeyError(RplError):
    """The key still signs: rotate first, then mark the old key compromised."""


class MissingReasonError(RplError):
    """Marking a key compromised needs a reason; it is kept in the audit log."""


@dataclass(frozen=True)
class CompromiseReport:
    key_id: str
    newly_marked: bool  # False when the key had been marked before (a repeated command)
    revoked: list[str] = field(default_factory=list)
    already_revoked: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)

    @property
    def credentials(self) -> list[str]:
        return self.revoked + self.already_revoked + list(self.failed)


def next_key_id(keys: list[KeyRecord]) -> str:
    """`key-N`, one past the highest number used so far."""
    numbers = [int(m.group(1)) for k in keys if (m := _KEY_ID.fullmatch(k.key_id))]
    return f"key-{max(numbers, default=0) + 1}"


def rotate_key(
    uow: UowFactory,
    master_key: bytes | KeyStore,
    org_slug: str,
    now: datetime,
    actor: str = SYSTEM,
) -> str:
    """Give the organisation a new signing key; returns its id. Old keys are retired, not removed.

    Two rotations at once both draw the same next id; the second is refused (`DuplicateError`).
    """
    with uow() as tx:
        org = tx.orgs.by_slug(org_slug)
        key_id = next_key_id(tx.orgs.keys_with_state(org.id))
        new_key = key_store_for(master_key).generate(org.id, key_id)
        retired = tx.orgs.rotate(org.id, new_key, now)
        data = {"slug": org.slug, "signing_key": key_id, "retired": retired}
        tx.audit.append("SigningKeyRotated", actor, f"organisation:{org.id}", data, now)
        tx.commit()
    return key_id


def list_keys(uow: UowFactory, org_slug: str) -> list[KeyRecord]:
    with uow() as tx:
        return tx.orgs.keys_with_state(tx.orgs.by_slug(org_slug).id)


def mark_key_compromised(
    uow: UowFactory, org_slug: str, key_id: str, reason: str, now: datetime, actor: str = SYSTEM
) -> bool:
    """Mark a retired key compromised; False if it already was (nothing is written then)."""
    why = reason.strip() if isinstance(reason, str) else ""
    if not why:
        raise MissingReasonError("please say why the key is compromised; it is kept in the log")
    with uow() as tx:
        org = tx.orgs.by_slug(org_slug)
        key = _key(tx.orgs.keys_with_state(org.id), org, key_id)
        if key.compromised_at is not None:
            return False
        if key.active:
            raise ActiveKeyError(
                f"{key_id!r} is the active key of {org.slug!r}: rotate first, then mark it"
            )
        if not tx.orgs.mark_compromised(org.id, key_id, now):  # marked meanwhile by another run
            return False
        data = {"slug": org.slug, "signing_key": key_id, "reason": why}
        tx.audit.append("SigningKeyCompromised", actor, f"organisation:{org.id}", data, now)
        tx.commit()
    return True


def key_method(uow: UowFactory, public_url: str, org_slug: str, key_id: str) -> KeyMethod:
    """The key as the registry keeps it, and the verification method that names it."""
    with uow() as tx:
        org = tx.orgs.by_slug(org_slug)
        key = _key(tx.orgs.keys_with_state(org.id), org, key_id)
    return KeyMethod(org, key, f"{organisation_did(public_url, org)}#{key_id}")


@dataclass(frozen=True)
class KeyMethod:
    organisation: Organisation
    key: KeyRecord
    verification_method: str


def credentials_signed_by(
    uow: UowFactory, public_url: str, org_slug: str, key_id: str
) -> list[str]:
    """Ids of the organisation's credentials signed with `key_id`, oldest first."""
    method = key_method(uow, public_url, org_slug, key_id)
    with uow() as tx:
        return tx.credentials.by_verification_method(method.verification_method)


def compromise_revocation(verification_method: str) -> StatusChange:
    """A revocation that names the compromised key in the claim's event, so that the claim may
    be re-issued (an ordinary revocation is final)."""
    revoke = functools.partial(claims.revoke, compromised_key=verification_method)
    return StatusChange(StatusPurpose.REVOCATION, True, revoke)


def compromise_key(
    publisher: StatusPublisher,
    org_slug: str,
    key_id: str,
    reason: str,
    now: datetime,
    actor: str = SYSTEM,
) -> CompromiseReport:
    """Mark the key compromised and revoke every credential it signed. Safe to run again: a
    repeated run revokes what an interrupted one left."""
    marked = mark_key_compromised(publisher.uow, org_slug, key_id, reason, now, actor)
    report = CompromiseReport(key_id, marked)
    why = f"signing key {key_id} compromised: {reason.strip()}"
    method = key_method(publisher.uow, publisher.public_url, org_slug, key_id)
    revocation = compromise_revocation(method.verification_method)
    for credential_id in credentials_signed_by(
        publisher.uow, publisher.public_url, org_slug, key_id
    ):
        if _revoked(publisher.uow, credential_id):
            report.already_revoked.append(credential_id)
            continue
        try:
            credential_status.change(publisher, credential_id, revocation, actor, why, now)
        except IllegalTransitionError:  # revoked meanwhile by someone else
            report.already_revoked.append(credential_id)
        except RplError as err:
            log.warning(
                "credential %s of compromised %s not revoked: %s", credential_id, key_id, err
            )
            report.failed[credential_id] = str(err)
        else:
            report.revoked.append(credential_id)
    return report


def _key(keys: list[KeyRecord], org: Organisation, key_id: str) -> KeyRecord:
    for key in keys:
        if key.key_id == key_id:
            return key
    raise UnknownKeyError(f"{org.slug!r} has no signing key {key_id!r}")


def _revoked(uow: UowFactory, credential_id: str) -> bool:
    """Revoked, or replaced by a re-issue (which revoked it): either way, nothing to do."""
    with uow() as tx:
        stored = tx.credentials.get(credential_id)
        if stored is None:
            return False
        if stored.claim_id is None:  # signed through the VC API: its own bits say
            return credential_status.state_of(tx, stored) is ClaimState.REVOKED
        claim = tx.claims.get(stored.claim_id)
        return claim.credential_id != credential_id or claim.state is ClaimState.REVOKED
