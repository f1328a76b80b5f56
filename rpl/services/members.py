"""Use cases of an organisation's members: list, invite (add) and remove, each in the audit log.

The caller has already been found to be the organisation's admin (by the web layer's dependency,
through `rpl.access`); these functions record who did it. Removal ends the membership at once:
an attester removed now cannot decide anything from now on (the decision re-checks, in its own
transaction), while what they confirmed before stays valid.
"""

from __future__ import annotations

import logging
from datetime import datetime

from rpl.accounts import InvalidMembershipError, Membership, UnknownMembershipError, new_membership
from rpl.mail import Mailer, Message
from rpl.organisations import Organisation
from rpl.services.ports import UowFactory
from rpl.storage.unit_of_work import DuplicateError

log = logging.getLogger("rpl.members")


def list_members(
    uow: UowFactory, org: Organisation, include_removed: bool = False
) -> list[Membership]:
    with uow() as tx:
        return tx.members.of_organisation(org.id, include_removed)


def add_member(
    uow: UowFactory,
    mailer: Mailer | None,
    public_url: str,
    org: Organisation,
    email: str,
    role: str,
    title: str,
    actor: str,
    now: datetime,
) -> Membership:
    """Give `email` a role at `org`; tell them by mail how to sign in."""
    membership = new_membership(org.id, email, role, title, actor, now)
    with uow() as tx:
        if any(
            m.email == membership.email and m.role is membership.role
            for m in tx.members.of_organisation(org.id)
        ):
            raise DuplicateError(
                f"{membership.email} already is {membership.role.value} at {org.name}"
            )
        added = tx.members.add(membership)
        tx.audit.append(
            "MembershipAdded",
            actor,
            f"organisation:{org.id}",
            {
                "membership": added.id,
                "email": added.email,
                "role": added.role.value,
                "title": added.title,
            },
            now,
        )
        tx.commit()
    if mailer is not None:
        _tell(mailer, _invitation(added, org, public_url))
    return added


def remove_member(
    uow: UowFactory, org: Organisation, membership_id: int, reason: str, actor: str, now: datetime
) -> Membership:
    """End a membership now, with a reason kept in the record and the audit log."""
    why = " ".join(reason.split())
    if not why:
        raise InvalidMembershipError(
            {"reason": "say why this membership ends (it is kept on record)"}
        )
    with uow() as tx:
        found = tx.members.get(membership_id)
        if found is None or found.organisation_id != org.id or not found.active:
            raise UnknownMembershipError(f"{org.name} has no active membership {membership_id}")
        if not tx.members.remove(membership_id, actor, why, now):
            raise UnknownMembershipError(f"membership {membership_id} was just removed")
        tx.audit.append(
            "MembershipRemoved",
            actor,
            f"organisation:{org.id}",
            {
                "membership": membership_id,
                "email": found.email,
                "role": found.role.value,
                "reason": why,
            },
            now,
        )
        tx.commit()
        removed = tx.members.get(membership_id)
    assert removed is not None
    return removed


def _invitation(membership: Membership, org: Organisation, public_url: str) -> Message:
    text = (
        f"Hello,\n\n{org.name} has added you on rpl as {membership.title}"
        f" ({membership.role.value}).\n\nSign in with this address at {public_url}/sign-in"
        " to see what is waiting for you.\n"
    )
    return Message(to=membership.email, subject=f"{org.name} added you on rpl", text=text)


def _tell(mailer: Mailer, message: Message) -> None:
    try:
        mailer.send(message)
    except OSError as err:  # the membership is committed; the person can still sign in
        log.warning("could not tell %s about their membership: %s", message.to, err)
