"""The access policy, written once: may this actor do this operation on this object?

Pure functions over an `Actor` (who is asking, with their active memberships), an organisation and,
where it matters, a claim. The web layer's dependencies build the actor and call `require`; the
services call `is_attester_address` at the moment of a decision. Nothing else decides who may do what.

- A holder of a claim is the account whose email is the claim's claimant email; no membership needed.
- An attester of an organisation holds an active attester membership there, or signs in with an
  address at the organisation's domain (or a subdomain) once that domain is verified.
- An organisation admin holds an active admin membership; the site operator (RPL_ADMIN_TOKEN) may
  act as the admin of any organisation.
- An assessor holds an active assessor membership.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from rpl.accounts import Account, Membership, Role
from rpl.claims import Claim, ClaimState
from rpl.errors import RplError
from rpl.organisations import AttesterNotAllowedError, Organisation, email_domain

# How the audit trail names the operator acting through the admin token.
OPERATOR_LABEL = "admin:admin-token"


class NotSignedInError(RplError):
    """This needs someone signed in (or an API token), and nobody is."""


class ForbiddenError(RplError):
    """The actor is known, and this is not theirs to do."""


class AttesterRemovedError(ForbiddenError):
    """The address a link was sent to may no longer attest for the organisation."""


class Operation(StrEnum):
    VIEW_CLAIM = "view-claim"
    DECIDE_CLAIM = "decide-claim"
    ANSWER_AMENDMENT = "answer-amendment"
    VIEW_INBOX = "view-inbox"
    MANAGE_MEMBERS = "manage-members"
    CHANGE_STATUS = "change-status"
    MANAGE_KEYS = "manage-keys"
    ASSESS = "assess"


@dataclass(frozen=True)
class Actor:
    """Who is asking: an account (with its active memberships), the operator, or nobody."""

    account: Account | None = None
    memberships: tuple[Membership, ...] = ()
    operator: bool = False

    @property
    def email(self) -> str | None:
        return self.account.email if self.account else None

    @property
    def known(self) -> bool:
        return self.account is not None or self.operator

    def label(self, role: str = "admin") -> str:
        """The actor as the audit trail and claim events name it (`role:identity`)."""
        if self.account is not None:
            return f"{role}:{self.account.email}"
        return OPERATOR_LABEL if self.operator else "system"


ANONYMOUS = Actor()
OPERATOR = Actor(operator=True)


def has_role(actor: Actor, organisation_id: str, role: Role) -> bool:
    return any(
        m.active
        and m.organisation_id == organisation_id
        and m.role is role
        and m.email == actor.email
        for m in actor.memberships
    )


def at_verified_domain(email: str, org: Organisation) -> bool:
    """An address at the organisation's domain or a subdomain, counted only once it is verified."""
    if org.domain_verified_at is None:
        return False
    domain = email_domain(email)
    return domain == org.domain or domain.endswith("." + org.domain)


def is_attester_address(email: str, org: Organisation, members: Iterable[Membership]) -> bool:
    """May this address attest for `org` now? `members` are the organisation's memberships."""
    address = email.strip().lower()
    listed = any(
        m.active and m.role is Role.ATTESTER and m.organisation_id == org.id and m.email == address
        for m in members
    )
    return listed or at_verified_domain(address, org)


def ensure_attester_address(email: str, org: Organisation, members: Iterable[Membership]) -> None:
    """Refuse, naming why, an address that may not attest for `org` (checked when a claim names it)."""
    if is_attester_address(email, org, members):
        return
    unverified = " (its domain is not verified yet)" if org.domain_verified_at is None else ""
    raise AttesterNotAllowedError(
        f"{email!r} is neither at {org.domain}{unverified} nor listed as an attester of {org.name}"
    )


def ensure_still_attester(email: str, org: Organisation, members: Iterable[Membership]) -> None:
    """Refuse a decision by someone who may no longer attest (removed, or the domain rule lapsed)."""
    if not is_attester_address(email, org, members):
        raise AttesterRemovedError(
            f"{email} may no longer confirm claims for {org.name}, so this link no longer works; "
            f"{org.name} can send the request to someone else"
        )


def is_attester(actor: Actor, org: Organisation) -> bool:
    email = actor.email
    return email is not None and is_attester_address(email, org, actor.memberships)


def is_org_admin(actor: Actor, org: Organisation) -> bool:
    return actor.operator or has_role(actor, org.id, Role.ADMIN)


def is_assessor(actor: Actor, org: Organisation) -> bool:
    return has_role(actor, org.id, Role.ASSESSOR)


def is_holder(actor: Actor, claim: Claim) -> bool:
    email = actor.email
    return email is not None and email == claim.details.claimant_email.strip().lower()


def acts_as(actor: Actor, org: Organisation, role: Role) -> bool:
    """Does the actor hold `role` at `org` now, by whatever the policy counts for that role?"""
    checks = {Role.ADMIN: is_org_admin, Role.ATTESTER: is_attester, Role.ASSESSOR: is_assessor}
    return checks[role](actor, org)


def require_role(actor: Actor, org: Organisation, role: Role) -> None:
    if acts_as(actor, org, role):
        return
    if not actor.known:
        raise NotSignedInError("sign in to do this")
    raise ForbiddenError(f"this needs the {role.value} role at {org.name}")


def _sent_to(claim: Claim | None, org: Organisation) -> bool:
    return claim is not None and claim.details.organisation_id == org.id


def allows(
    actor: Actor, operation: Operation, org: Organisation, claim: Claim | None = None
) -> bool:
    """The whole policy: True if `actor` may do `operation` on `org` (and on `claim`, if given)."""
    if operation is Operation.VIEW_CLAIM:
        return claim is not None and (
            is_holder(actor, claim) or (_sent_to(claim, org) and is_attester(actor, org))
        )
    if operation is Operation.DECIDE_CLAIM:
        return (
            _sent_to(claim, org)
            and claim is not None
            and claim.state is ClaimState.REQUESTED
            and is_attester(actor, org)
        )
    if operation is Operation.ANSWER_AMENDMENT:
        return claim is not None and is_holder(actor, claim)
    if operation is Operation.VIEW_INBOX:
        return is_attester(actor, org)
    if operation in (Operation.MANAGE_MEMBERS, Operation.CHANGE_STATUS, Operation.MANAGE_KEYS):
        return is_org_admin(actor, org)
    if operation is Operation.ASSESS:
        return is_assessor(actor, org)
    return False


def require(
    actor: Actor, operation: Operation, org: Organisation, claim: Claim | None = None
) -> None:
    """Raise unless allowed: `NotSignedInError` for nobody, `ForbiddenError` for the wrong somebody."""
    if allows(actor, operation, org, claim):
        return
    if not actor.known:
        raise NotSignedInError("sign in to do this")
    raise ForbiddenError(f"your account may not {operation.value.replace('-', ' ')} at {org.name}")


def require_operator(actor: Actor) -> None:
    """Site-wide operations (registering organisations) are the operator's alone."""
    if actor.operator:
        return
    if not actor.known:
        raise NotSignedInError("this needs the operator's token (RPL_ADMIN_TOKEN)")
    raise ForbiddenError("only the site operator may do this")
