"""Issuance discipline around signing: our own checks before, and the intent record.

"Record intent, check, sign, verify what was signed, store, log": `issuance.issue_credentials`
orders the steps; this module holds the parts that are not signing or storing. Intents of a whole
batch are written in one statement and committed before anything is signed, so a crash between
signing and storing leaves the record of what was about to be signed (`tx.intents.open_intents`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import orjson

from rpl import issuance_rules
from rpl.claims import SYSTEM, Claim
from rpl.organisations import Attester, Organisation, may_attest
from rpl.services.ports import UowFactory
from rpl.storage.intents import Intent
from rpl.storage.unit_of_work import UnitOfWork

ISSUANCE_REFUSED = "IssuanceRefused"


def digest(unsigned: Mapping[str, Any]) -> str:
    """sha256 (hex) of the unsigned document with its keys sorted: what the signature is to cover."""
    return hashlib.sha256(orjson.dumps(unsigned, option=orjson.OPT_SORT_KEYS)).hexdigest()


class Checker:
    """Our rules for one batch; caches what it read per organisation, so no extra round trips."""

    def __init__(self, tx: UnitOfWork, now: datetime) -> None:
        self.tx = tx
        self.now = now
        self._attesters: dict[str, list[Attester]] = {}

    def refusal(self, claim: Claim, org: Organisation) -> str | None:
        """Why this claim may not be signed now, or None."""
        problems = issuance_rules.issuer_problems(org)
        problems += issuance_rules.claim_problems(claim, self._authorised(claim, org), self.now)
        return "; ".join(problems) or None

    def _authorised(self, claim: Claim, org: Organisation) -> bool:
        """Was the confirming attester allowed to confirm when they did?

        A spent attestation link for their address, spent at the moment of confirmation, proves
        it: the decision re-checked the right to attest inside that transaction. Otherwise (a
        roster, an amendment accepted by the claimant) the address must be one that may attest
        for the organisation now.
        """
        confirmation = claim.confirmed_by
        if confirmation is None:
            return False
        if org.id not in self._attesters:
            self._attesters[org.id] = self.tx.orgs.attesters(org.id)
        if may_attest(org, self._attesters[org.id], confirmation.attester_email):
            return True
        address = confirmation.attester_email.lower()
        return any(
            link.attester_email.lower() == address and link.used_at == confirmation.at
            for link in self.tx.links.for_claim(claim.id)
        )

    def document_refusal(self, unsigned: Mapping[str, Any]) -> str | None:
        return "; ".join(issuance_rules.document_problems(unsigned, self.now)) or None


def record_intents(
    uow: UowFactory, intents: Sequence[Intent], refused: Mapping[str, str], now: datetime
) -> None:
    """Commit the batch's intents (one statement) and the refusals (one audit entry each)."""
    if not intents and not refused:
        return
    with uow() as tx:
        tx.intents.record(intents)
        for claim_id, reason in refused.items():
            data = {"claim": claim_id, "reason": reason}
            tx.audit.append(ISSUANCE_REFUSED, SYSTEM, f"claim:{claim_id}", data, now)
        tx.commit()


def close_intents(uow: UowFactory, outcomes: Mapping[str, str], now: datetime) -> None:
    """Close intents that will not be stored (signing failed, another run issued the claim)."""
    if not outcomes:
        return
    with uow() as tx:
        for credential_id, outcome in outcomes.items():
            tx.intents.close([credential_id], outcome, now)
        tx.commit()
