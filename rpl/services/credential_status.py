"""Revoke, suspend or unsuspend any stored credential, with or without a claim behind it.

A credential issued for a claim changes status through its claim (`rpl.services.status`), whose
state machine decides what is allowed. A credential signed through the VC API has no claim: its
state is read from its own bits in the organisation's lists (revoked, suspended or issued), and
the same transition table (`rpl.claims.TRANSITIONS`) says what may follow, so both kinds obey one
set of rules. The change, the reason and the actor go to the audit log in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from rpl import claims
from rpl.claims import Action, ClaimState, IllegalTransitionError
from rpl.organisations import Organisation
from rpl.services import status
from rpl.services.ports import UowFactory
from rpl.services.records import UnknownCredentialError
from rpl.services.status import CHANGES, StatusChange, StatusPublisher
from rpl.status import StatusPurpose, get_bit
from rpl.storage.unit_of_work import (
    StoredCredential,
    UnitOfWork,
)

# The claim action each status change is, in the one transition table.
ACTIONS = {"revoke": Action.REVOKE, "suspend": Action.SUSPEND, "unsuspend": Action.REINSTATE}


@dataclass(frozen=True)
class StatusChanged:
    credential_id: str
    claim_id: str | None
    state: str


def change(
    publisher: StatusPublisher,
    credential_id: str,
    action: str | StatusChange,
    actor: str,
    reason: str,
    now: datetime,
) -> StatusChanged:
    """`status.change_status` for any credential; claimless ones change by their list bits."""
    with publisher.uow() as tx:
        stored = tx.credentials.get(credential_id)
    if stored is None:
        raise UnknownCredentialError(f"no credential with id {credential_id!r}")
    if stored.claim_id is not None:
        claim = status.change_status(publisher, credential_id, action, actor, reason, now)
        return StatusChanged(credential_id, claim.id, claim.state.value)
    step = status.status_change_of(action)
    why = status.required_reason(reason)
    state = status.change_and_publish(
        publisher,
        step.purpose,
        lambda: _change(publisher.uow, stored, step, actor, why, now),
        credential_id,
        now,
    )
    return StatusChanged(credential_id, None, state.value)


def _action(step: StatusChange) -> Action:
    if step.purpose is StatusPurpose.REVOCATION:
        return Action.REVOKE
    return Action.SUSPEND if step.value else Action.REINSTATE


def _change(
    uow: UowFactory,
    stored: StoredCredential,
    step: StatusChange,
    actor: str,
    reason: str,
    now: datetime,
) -> tuple[ClaimState, Organisation]:
    action = _action(step)
    with uow() as tx:
        org = tx.orgs.get(stored.organisation_id)
        current = state_of(tx, stored)
        target = claims.TRANSITIONS.get((current, action))
        if target is None:
            raise IllegalTransitionError(stored.id, current, action.value)
        index = status.set_status_bit(tx, org, stored.id, step.purpose, step.value, now)
        data = {
            "organisation": org.id,
            "from": current.value,
            "to": target[0].value,
            "reason": reason,
            "status": {step.purpose.value: index},
        }
        tx.audit.append(str(target[1]), actor, f"credential:{stored.id}", data, now)
        tx.commit()
    return target[0], org


def state_of(tx: UnitOfWork, stored: StoredCredential) -> ClaimState:
    """A claimless credential's state, from its bits: revoked, suspended, or issued."""
    indexes = tx.status.for_credential(stored.id)
    for purpose, state in (
        (StatusPurpose.REVOCATION, ClaimState.REVOKED),
        (StatusPurpose.SUSPENSION, ClaimState.SUSPENDED),
    ):
        index = indexes.get(purpose.value)
        current = tx.status.get(stored.organisation_id, purpose.value)
        bits = current.bits if current is not None else b""
        if index is not None and index < len(bits) * 8 and get_bit(bits, index):
            return state
    return ClaimState.ISSUED


def current_state(uow: UowFactory, stored: StoredCredential) -> ClaimState:
    with uow() as tx:
        return state_of(tx, stored)


def allowed_actions(uow: UowFactory, stored: StoredCredential) -> tuple[str, ...]:
    """The status changes a claimless credential's state allows, by name."""
    with uow() as tx:
        current = state_of(tx, stored)
        purposes = set(tx.status.for_credential(stored.id))
    names = []
    for name, action in ACTIONS.items():
        purpose = CHANGES[name].purpose.value
        if (current, action) in claims.TRANSITIONS and purpose in purposes:
            names.append(name)
    return tuple(names)
