"""Accounts, roles and memberships: who someone is here, and what they are to an organisation.

Pure: no database, no clock. One account per email address; everyone with an account may be a
claimant (a holder of their own claims and credentials) without any membership. Roles at an
organisation — admin, attester, assessor — are memberships, given by an organisation admin by
email (the person need not have signed in yet) and ended by removal, which keeps the row: the
history of who could speak for the organisation, and from when to when, stays readable.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from rpl.errors import RplError

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_TITLE = 120


class InvalidEmailError(RplError):
    """The text is not an email address."""


class InvalidMembershipError(RplError):
    """A membership cannot be given as asked; `problems` names each field."""

    def __init__(self, problems: dict[str, str]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{k}: {v}" for k, v in problems.items()))


class UnknownMembershipError(RplError):
    """No active membership has this id at this organisation."""


class Role(StrEnum):
    ADMIN = "admin"
    ATTESTER = "attester"
    ASSESSOR = "assessor"


ROLE_NAMES = {
    Role.ADMIN: "Administrator",
    Role.ATTESTER: "Attester",
    Role.ASSESSOR: "Assessor",
}


def normalise_email(email: str) -> str:
    """One spelling per address: trimmed and lower-case (how accounts and memberships match)."""
    address = email.strip().lower()
    if not _EMAIL.match(address):
        raise InvalidEmailError(f"{email!r} is not an email address")
    return address


def is_email(text: str) -> bool:
    return bool(_EMAIL.match(text.strip()))


@dataclass(frozen=True)
class Account:
    id: str
    email: str
    display_name: str
    created_at: datetime


@dataclass(frozen=True)
class Membership:
    organisation_id: str
    email: str
    role: Role
    title: str
    added_by: str
    added_at: datetime
    removed_at: datetime | None = None
    id: int | None = None
    removed_by: str | None = None
    removal_reason: str | None = None

    @property
    def active(self) -> bool:
        return self.removed_at is None


def new_membership(
    organisation_id: str, email: str, role: str, title: str, added_by: str, now: datetime
) -> Membership:
    """A membership to add, checked: a real address, a known role, a title of sane length."""
    problems: dict[str, str] = {}
    address = email.strip().lower()
    if not is_email(address):
        problems["email"] = f"{email!r} is not an email address"
    if role not in set(Role):
        problems["role"] = f"{role!r} is not one of {', '.join(Role)}"
    title = " ".join(title.split())
    if len(title) > MAX_TITLE:
        problems["title"] = f"keep the title under {MAX_TITLE} characters"
    if problems:
        raise InvalidMembershipError(problems)
    role_ = Role(role)
    return Membership(
        organisation_id=organisation_id,
        email=address,
        role=role_,
        title=title or ROLE_NAMES[role_],
        added_by=added_by,
        added_at=now,
    )


def display_name_for(email: str) -> str:
    """Until someone says otherwise, an account is named after its address's local part."""
    return email.split("@", 1)[0]


@dataclass(frozen=True)
class SignInLink:
    token_hash: str
    email: str
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None = None


@dataclass(frozen=True)
class Session:
    """A signed-in browser. Only the hash of its id is stored; the cookie carries the id, signed."""

    id_hash: str
    account_id: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None = None
    user_agent: str = ""

    def live(self, now: datetime) -> bool:
        return self.revoked_at is None and self.expires_at > now


@dataclass(frozen=True)
class ApiToken:
    """A personal API token: shown once when made, kept only as its hash."""

    id: int
    account_id: str
    name: str
    created_at: datetime
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None
