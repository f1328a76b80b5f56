"""Domain proof: an organisation shows it controls its domain before it may issue.

Two ways, either one enough: a DNS TXT record at `_rpl-challenge.<domain>` holding the token, or
the token in a file at `https://<domain>/.well-known/rpl-domain-verification.txt`. Pure: the
lookups themselves (DNS, HTTPS) are adapters in rpl.domain_lookup, handed in by the service.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from enum import StrEnum

from rpl.errors import RplError

CHALLENGE_LABEL = "_rpl-challenge"
WELL_KNOWN_PATH = "/.well-known/rpl-domain-verification.txt"
TOKEN_PREFIX = "rpl-domain-verification="
# A token file is a line or two; anything longer is not ours and is not read further.
MAX_FILE_BYTES = 4096


class UnknownMethodError(RplError):
    """A domain can be proved by "dns" or "http"; nothing else."""


class DomainLookupError(RplError):
    """The record or file could not be fetched; the message says what happened."""


class Method(StrEnum):
    DNS = "dns"
    HTTP = "http"


def method(name: str) -> Method:
    try:
        return Method(name.strip().lower())
    except ValueError as err:
        raise UnknownMethodError(f"{name!r}: prove a domain by 'dns' or 'http'") from err


def new_token() -> str:
    """What the organisation publishes: a prefix that says whose it is, and 192 random bits."""
    return TOKEN_PREFIX + secrets.token_urlsafe(24)


def challenge_name(domain: str) -> str:
    return f"{CHALLENGE_LABEL}.{domain.rstrip('.').lower()}"


def well_known_url(domain: str) -> str:
    return f"https://{domain.rstrip('.').lower()}{WELL_KNOWN_PATH}"


def txt_proves(records: list[str], token: str) -> bool:
    """One TXT record (its strings joined, as RFC 7208 does) is exactly the token."""
    return any(secrets.compare_digest(r.strip(), token) for r in records)


def file_proves(text: str, token: str) -> bool:
    """A line of the file is exactly the token (spaces around it and a BOM are forgiven)."""
    lines = text.lstrip("\ufeff").splitlines()
    return any(secrets.compare_digest(line.strip(), token) for line in lines)


@dataclass(frozen=True)
class Challenge:
    """What an organisation admin is asked to publish, by either method."""

    domain: str
    token: str

    @property
    def dns_name(self) -> str:
        return challenge_name(self.domain)

    @property
    def url(self) -> str:
        return well_known_url(self.domain)


@dataclass(frozen=True)
class Outcome:
    """One verification attempt: by which method, whether it proved the domain, and why not."""

    method: Method
    proved: bool
    detail: str
