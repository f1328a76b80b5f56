"""What a signed-in person sees of claims: an attester's inbox, a holder's own claims and records.

Both are read-only listings; who may see them is decided by `rpl.access` before these are called.
"""

from __future__ import annotations

from rpl.claims import ClaimState
from rpl.organisations import Organisation
from rpl.services.attestation import ClaimView
from rpl.services.ports import UowFactory

AWAITING = (ClaimState.REQUESTED,)


def attester_inbox(uow: UowFactory, org: Organisation) -> list[ClaimView]:
    """The claims sent to `org` that wait for an attester's decision, oldest first."""
    with uow() as tx:
        ids = tx.claim_index.for_organisation(org.id, AWAITING)
        return [ClaimView(tx.claims.get(i), org) for i in ids]


def holder_claims(uow: UowFactory, email: str) -> list[ClaimView]:
    """Every claim filed with this address, newest first, each with its credential if issued."""
    with uow() as tx:
        views = []
        orgs: dict[str, Organisation] = {}
        for claim_id in tx.claim_index.for_claimant(email):
            claim = tx.claims.get(claim_id)
            org_id = claim.details.organisation_id
            org = orgs.setdefault(org_id, tx.orgs.get(org_id))
            views.append(ClaimView(claim, org, tx.credentials.by_claim(claim.id)))
        return views


def claim_view(uow: UowFactory, claim_id: str) -> ClaimView:
    """One claim with its organisation and credential (the caller checked who may see it)."""
    with uow() as tx:
        claim = tx.claims.get(claim_id)
        org = tx.orgs.get(claim.details.organisation_id)
        return ClaimView(claim, org, tx.credentials.by_claim(claim.id))
