"""The access policy (rpl.access), one rule at a time, without a database or a web app."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from rpl import access
from rpl.access import ANONYMOUS, OPERATOR, Actor, Operation, allows
from rpl.accounts import (
    Account,
    InvalidMembershipError,
    Membership,
    Role,
    new_membership,
    normalise_email,
)
from rpl.claims import Claim, ClaimDetails, ClaimKind, PartialDate, draft_claim, request
from rpl.organisations import AttesterNotAllowedError, Organisation

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
ORG = Organisation("org-a", "a", "Org A", "a.example", "https://a.example", domain_verified_at=NOW)
OTHER = Organisation(
    "org-b", "b", "Org B", "b.example", "https://b.example", domain_verified_at=NOW
)
UNVERIFIED = dataclasses.replace(ORG, domain_verified_at=None)


def account(email: str) -> Account:
    return Account(f"id-{email}", email, email.split("@")[0], NOW)


def member(email: str, role: Role, org: Organisation = ORG, removed: bool = False) -> Membership:
    return Membership(
        org.id,
        email,
        role,
        role.value.title(),
        "admin:boss@a.example",
        NOW,
        removed_at=NOW if removed else None,
    )


def actor(email: str, *roles: tuple[Role, Organisation], removed: bool = False) -> Actor:
    return Actor(account(email), tuple(member(email, r, o, removed) for r, o in roles))


def claim(
    org: Organisation = ORG, claimant: str = "Jane@Example.org", requested: bool = True
) -> Claim:
    details = ClaimDetails(
        kind=ClaimKind.EMPLOYMENT,
        claimant_name="Jane",
        claimant_email=claimant,
        organisation_id=org.id,
        role="Nurse",
        start=PartialDate.parse("2001"),
        end=PartialDate.parse("2010"),
        attester_email="someone@a.example",
    )
    drafted = draft_claim("c1", details, "claimant:jane@example.org", NOW)
    return request(drafted, "system", NOW) if requested else drafted


HOLDER = actor("jane@example.org")
STRANGER = actor("sam@example.org")
ATTESTER = actor("listed@elsewhere.example", (Role.ATTESTER, ORG))
REMOVED = actor("gone@elsewhere.example", (Role.ATTESTER, ORG), removed=True)
OTHER_ATTESTER = actor("x@elsewhere.example", (Role.ATTESTER, OTHER))
ADMIN = actor("boss@elsewhere.example", (Role.ADMIN, ORG))
ASSESSOR = actor("judge@elsewhere.example", (Role.ASSESSOR, ORG))
DOMAIN = actor("hr@a.example")
SUBDOMAIN = actor("hr@ward.a.example")


def test_the_holder_is_the_account_with_the_claimants_address_in_any_case() -> None:
    assert access.is_holder(HOLDER, claim())
    assert not access.is_holder(STRANGER, claim())
    assert not access.is_holder(ANONYMOUS, claim())
    assert not access.is_holder(OPERATOR, claim())


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        (ATTESTER, True),
        (DOMAIN, True),
        (SUBDOMAIN, True),
        (REMOVED, False),
        (OTHER_ATTESTER, False),
        (ADMIN, False),
        (ASSESSOR, False),
        (HOLDER, False),
        (ANONYMOUS, False),
        (OPERATOR, False),
    ],
)
def test_who_is_an_attester_of_the_organisation(who: Actor, expected: bool) -> None:
    assert access.is_attester(who, ORG) is expected
    assert allows(who, Operation.VIEW_INBOX, ORG) is expected
    assert allows(who, Operation.DECIDE_CLAIM, ORG, claim()) is expected


def test_an_address_at_the_domain_counts_only_once_the_domain_is_verified() -> None:
    assert access.is_attester(DOMAIN, ORG)
    assert not access.is_attester(DOMAIN, UNVERIFIED)
    assert not access.is_attester(actor("hr@nota.example"), ORG)  # a suffix, not a subdomain
    with pytest.raises(AttesterNotAllowedError, match="not verified yet"):
        access.ensure_attester_address("hr@a.example", UNVERIFIED, [])


def test_a_removed_attester_is_refused_at_decision_time_with_a_clear_message() -> None:
    listed = member("gone@elsewhere.example", Role.ATTESTER)
    access.ensure_still_attester("gone@elsewhere.example", UNVERIFIED, [listed])
    removed = dataclasses.replace(listed, removed_at=NOW)
    with pytest.raises(access.AttesterRemovedError, match="may no longer confirm claims for Org A"):
        access.ensure_still_attester("gone@elsewhere.example", UNVERIFIED, [removed])


def test_an_attester_sees_only_claims_sent_to_their_organisation() -> None:
    assert allows(ATTESTER, Operation.VIEW_CLAIM, ORG, claim(ORG))
    assert not allows(ATTESTER, Operation.VIEW_CLAIM, ORG, claim(OTHER))
    assert not allows(OTHER_ATTESTER, Operation.VIEW_CLAIM, OTHER, claim(ORG))
    assert not allows(ATTESTER, Operation.DECIDE_CLAIM, ORG, claim(requested=False))


def test_only_the_holder_answers_an_amendment_and_sees_their_claim_anywhere() -> None:
    assert allows(HOLDER, Operation.ANSWER_AMENDMENT, ORG, claim())
    assert allows(HOLDER, Operation.VIEW_CLAIM, OTHER, claim())
    for who in (STRANGER, ATTESTER, ADMIN, OPERATOR, ANONYMOUS):
        assert not allows(who, Operation.ANSWER_AMENDMENT, ORG, claim())


@pytest.mark.parametrize(
    "operation", [Operation.MANAGE_MEMBERS, Operation.CHANGE_STATUS, Operation.MANAGE_KEYS]
)
def test_admin_operations_need_the_admin_role_at_that_organisation_or_the_operator(
    operation: Operation,
) -> None:
    assert allows(ADMIN, operation, ORG)
    assert allows(OPERATOR, operation, ORG)
    assert not allows(ADMIN, operation, OTHER)
    for who in (
        ATTESTER,
        ASSESSOR,
        HOLDER,
        ANONYMOUS,
        actor("boss@elsewhere.example", (Role.ADMIN, ORG), removed=True),
    ):
        assert not allows(who, operation, ORG)


def test_assessing_needs_the_assessor_role() -> None:
    assert allows(ASSESSOR, Operation.ASSESS, ORG)
    assert not allows(ASSESSOR, Operation.ASSESS, OTHER)
    assert not allows(ADMIN, Operation.ASSESS, ORG)


def test_a_membership_of_another_address_does_not_count() -> None:
    borrowed = Actor(account("sam@example.org"), (member("boss@elsewhere.example", Role.ADMIN),))
    assert not access.is_org_admin(borrowed, ORG)


def test_require_says_sign_in_to_nobody_and_forbidden_to_somebody() -> None:
    with pytest.raises(access.NotSignedInError):
        access.require(ANONYMOUS, Operation.MANAGE_MEMBERS, ORG)
    with pytest.raises(access.ForbiddenError, match="manage members at Org A"):
        access.require(STRANGER, Operation.MANAGE_MEMBERS, ORG)
    access.require(ADMIN, Operation.MANAGE_MEMBERS, ORG)
    with pytest.raises(access.ForbiddenError):
        access.require_operator(ADMIN)
    access.require_operator(OPERATOR)


def test_emails_are_one_spelling_and_memberships_are_checked() -> None:
    assert normalise_email("  Jane@Example.ORG ") == "jane@example.org"
    made = new_membership("org-a", " HR@A.example", "attester", "  HR   Manager ", "admin:x", NOW)
    assert (made.email, made.role, made.title) == ("hr@a.example", Role.ATTESTER, "HR Manager")
    assert (
        new_membership("org-a", "x@a.example", "assessor", "", "admin:x", NOW).title == "Assessor"
    )
    with pytest.raises(InvalidMembershipError) as caught:
        new_membership("org-a", "nope", "owner", "x" * 200, "admin:x", NOW)
    assert set(caught.value.problems) == {"email", "role", "title"}


def test_actors_are_named_in_the_audit_trail_by_role_and_address() -> None:
    assert ADMIN.label() == "admin:boss@elsewhere.example"
    assert OPERATOR.label() == "admin:admin-token"
