"""Organisations and who may speak for them (the minimal registry; the full trust model comes later)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from rpl.errors import RplError

_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
_DOMAIN = re.compile(r"^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class InvalidOrganisationError(RplError):
    """An organisation's registration data is unusable; the message lists each problem."""

    def __init__(self, problems: dict[str, str]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{k}: {v}" for k, v in problems.items()))


class UnknownOrganisationError(RplError):
    """No organisation has this id or slug."""


class AttesterNotAllowedError(RplError):
    """This address may not confirm claims for this organisation."""


@dataclass(frozen=True)
class Attester:
    email: str
    title: str


@dataclass(frozen=True)
class Organisation:
    id: str
    slug: str
    name: str
    domain: str
    url: str
    email: str | None = None
    description: str | None = None
    # When the organisation proved it controls `domain` (DNS TXT or .well-known file);
    # None means it may receive claims but not issue credentials.
    domain_verified_at: datetime | None = None
    # How its credentials are secured: "eddsa-rdfc-2022", "eddsa-jcs-2022" or "vc-jwt";
    # None follows the instance's default cryptosuite.
    securing: str | None = None


def slugify(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return slug[:64].strip("-") or "organisation"


def check_registration(
    slug: str, name: str, domain: str, url: str, attesters: list[Attester]
) -> None:
    problems: dict[str, str] = {}
    if not _SLUG.match(slug):
        problems["slug"] = "use lower-case letters, digits and dashes (at most 64)"
    if not name.strip():
        problems["name"] = "give the organisation's name"
    if not _DOMAIN.match(domain.lower()):
        problems["domain"] = f"{domain!r} is not a domain name such as example.org"
    if not url.startswith(("https://", "http://")):
        problems["url"] = "give the organisation's website, starting with https://"
    for attester in attesters:
        if not _EMAIL.match(attester.email):
            problems["attesters"] = f"{attester.email!r} is not an email address"
    if problems:
        raise InvalidOrganisationError(problems)


def email_domain(email: str) -> str:
    return email.rsplit("@", 1)[-1].lower()


def may_attest(org: Organisation, listed: list[Attester], email: str) -> bool:
    """An address at the organisation's verified domain (or a subdomain), or one it listed.

    The same rule as `rpl.access.is_attester_address` (the policy), for callers holding
    `Attester` values; the domain counts only once it is verified.
    """
    address = email.strip().lower()
    domain = email_domain(address)
    at_domain = domain == org.domain or domain.endswith("." + org.domain)
    if at_domain and org.domain_verified_at is not None:
        return True
    return any(a.email.lower() == address for a in listed)


def ensure_may_attest(org: Organisation, listed: list[Attester], email: str) -> None:
    if not may_attest(org, listed, email):
        raise AttesterNotAllowedError(
            f"{email!r} is neither at {org.domain} nor listed as an attester of {org.name}"
        )
