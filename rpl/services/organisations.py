"""Use cases of the organisation registry: register, describe as issuer, publish the DID document."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from rpl import audit
from rpl.credentials import IssuerProfile
from rpl.dids import did_document, did_web_for
from rpl.organisations import (
    Attester,
    Organisation,
    UnknownOrganisationError,
    check_registration,
    slugify,
)
from rpl.services.ports import UowFactory
from rpl.signer import KeyStore, key_store_for
from rpl.storage.unit_of_work import DuplicateError

FIRST_KEY_ID = "key-1"


@dataclass(frozen=True)
class RegisterOrganisation:
    name: str
    domain: str
    url: str
    slug: str | None = None
    email: str | None = None
    description: str | None = None
    attesters: tuple[Attester, ...] = ()
    # Only for an operator who checked the domain out of band (local use, the demo, tests):
    # the organisation may issue at once. Otherwise it proves its domain first (rpl.domain_proof).
    domain_verified: bool = False


def organisation_did(public_url: str, org: Organisation) -> str:
    return did_web_for(public_url, "orgs", org.slug)


def issuer_profile(public_url: str, org: Organisation) -> IssuerProfile:
    return IssuerProfile(
        did=organisation_did(public_url, org),
        name=org.name,
        url=org.url,
        email=org.email,
        description=org.description,
    )


def register_organisation(
    uow: UowFactory, master_key: bytes | KeyStore, command: RegisterOrganisation, now: datetime
) -> Organisation:
    """Create an organisation with its first signing key, sealed under the master key (or made
    by the key store given instead)."""
    slug = command.slug or slugify(command.name)
    attesters = list(command.attesters)
    check_registration(slug, command.name, command.domain, command.url, attesters)
    org = Organisation(
        id=str(uuid.uuid4()),
        slug=slug,
        name=command.name.strip(),
        domain=command.domain.lower(),
        url=command.url,
        email=command.email,
        description=command.description,
        domain_verified_at=now if command.domain_verified else None,
    )
    with uow() as tx:
        try:
            tx.orgs.by_slug(slug)
        except UnknownOrganisationError:
            pass
        else:
            raise DuplicateError(f"an organisation with slug {slug!r} already exists")
        key = key_store_for(master_key).generate(org.id, FIRST_KEY_ID)
        tx.orgs.add(org, attesters, key, now)
        tx.audit.append(*audit.organisation_registered(org, FIRST_KEY_ID), now)
        tx.commit()
    return org


def organisation_did_document(uow: UowFactory, public_url: str, slug: str) -> dict[str, Any]:
    """The `did:web` document of an organisation: every key it ever had, old ones kept.

    A key marked compromised stays listed with its `revoked` date but is no assertion method.
    """
    with uow() as tx:
        org = tx.orgs.by_slug(slug)
        keys = tx.orgs.keys_with_state(org.id)
    did = organisation_did(public_url, org)
    revoked = {
        k.key_id: k.compromised_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        for k in keys
        if k.compromised_at is not None
    }
    document = did_document(did, {k.key_id: k.public_key for k in keys}, revoked)
    document["alsoKnownAs"] = [org.url]
    return document


def local_did_lookup(uow: UowFactory, public_url: str) -> Any:
    """A `DidResolver.local` callable answering for this instance's organisations from the database."""
    prefix = did_web_for(public_url, "orgs") + ":"

    def lookup(did: str) -> dict[str, Any] | None:
        if not did.startswith(prefix) or ":" in did[len(prefix) :]:
            return None
        try:
            return organisation_did_document(uow, public_url, did[len(prefix) :])
        except UnknownOrganisationError:
            return None

    return lookup
