"""Use cases around issued credentials: fetch one, verify any."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rpl.claims import Claim
from rpl.dids import DidResolver
from rpl.errors import RplError
from rpl.organisations import Organisation
from rpl.securing import secured_document
from rpl.services.ports import UowFactory
from rpl.status import StatusListFetcher
from rpl.storage.unit_of_work import StoredCredential
from rpl.verify import VerificationResult, verify_credential


class UnknownCredentialError(RplError):
    """No credential has this id."""


@dataclass(frozen=True)
class CredentialRecord:
    stored: StoredCredential
    document: dict[str, Any]
    # None for a credential signed through the VC API: no claim stands behind it.
    claim: Claim | None
    organisation: Organisation
    # The credential that replaced this one after its signing key was compromised, if any.
    replaced_by: str | None = None


def get_credential(uow: UowFactory, credential_id: str) -> CredentialRecord:
    with uow() as tx:
        stored = tx.credentials.get(credential_id)
        if stored is None:
            raise UnknownCredentialError(f"no credential with id {credential_id!r}")
        claim = tx.claims.get(stored.claim_id) if stored.claim_id else None
        org = tx.orgs.get(stored.organisation_id)
        replacement = tx.credentials.replacement(stored)
    document = secured_document(stored.document)
    return CredentialRecord(stored, document, claim, org, replacement.id if replacement else None)


def verify(
    resolver: DidResolver,
    source: str | bytes | dict[str, Any],
    now: datetime,
    status_lists: StatusListFetcher | None = None,
) -> VerificationResult:
    """Verify a credential; without `status_lists` any status it carries is unknown."""
    return verify_credential(source, resolver, now, status_lists=status_lists)
