"""Our own rules a credential must pass before it is signed, beyond the OB 3.0 JSON schema.

Pure: the service gathers the facts (the claim, its organisation, whether the confirming attester
was authorised when they confirmed) and this module says what is wrong, in words for the log and
for the claimant's page. An empty list means the credential may be signed.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from rpl.claims import Claim, ClaimState
from rpl.organisations import Organisation
from rpl.proofs.dataintegrity import ProofError, parse_datetime

# Clocks of the confirming process and the signing one may differ a little.
CLOCK_SKEW = timedelta(minutes=5)

DOMAIN_NOT_VERIFIED = (
    "{name} has not yet proved that it controls {domain}; the claim stays confirmed and its "
    "credential is issued as soon as the domain is verified"
)


def issuer_problems(org: Organisation) -> list[str]:
    """Why this organisation may not issue now (an unproved domain), or nothing."""
    if org.domain_verified_at is None:
        return [DOMAIN_NOT_VERIFIED.format(name=org.name, domain=org.domain)]
    return []


def claim_problems(claim: Claim, attester_authorised: bool, now: datetime) -> list[str]:
    """The claim is confirmed, by someone who could confirm then, with dates that make sense."""
    problems = []
    if claim.state is not ClaimState.CONFIRMED:
        problems.append(f"the claim is {claim.state.value}, not confirmed")
    confirmation = claim.confirmed_by
    if confirmation is None:
        problems.append("nobody confirmed the claim")
    else:
        if confirmation.at > now + CLOCK_SKEW:
            problems.append("the claim was confirmed in the future")
        if not attester_authorised:
            problems.append(
                f"{confirmation.attester_email} was not authorised to attest when they confirmed"
            )
    details = claim.details
    if details.start.first_day() > now.date():
        problems.append(f"the claim starts in the future ({details.start})")
    if details.end is not None:
        if details.end < details.start:
            problems.append(f"the claim ends ({details.end}) before it starts ({details.start})")
        if details.end.first_day() > now.date():
            problems.append(f"the claim ends in the future ({details.end})")
    return problems


def document_problems(unsigned: Mapping[str, Any], now: datetime) -> list[str]:
    """validFrom is now (give or take the clock skew); validUntil, if any, after it."""
    problems = []
    try:
        valid_from = parse_datetime(unsigned.get("validFrom"), "validFrom")
    except ProofError as err:
        return [f"validFrom: {err}"]
    if abs(valid_from - now) > CLOCK_SKEW:
        problems.append(f"validFrom {unsigned.get('validFrom')} is not the time of issue")
    if "validUntil" in unsigned:
        try:
            valid_until = parse_datetime(unsigned.get("validUntil"), "validUntil")
        except ProofError as err:
            return [*problems, f"validUntil: {err}"]
        if valid_until <= valid_from:
            problems.append("validUntil is not after validFrom")
    return problems
