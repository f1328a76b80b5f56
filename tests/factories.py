"""Small, fixed domain values that several test modules build credentials from."""

from __future__ import annotations

import functools
from datetime import UTC, datetime

from rpl.claims import (
    Claim,
    ClaimDetails,
    ClaimKind,
    PartialDate,
    claimant_actor,
    confirm,
    draft_claim,
    request,
)

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
ATTESTER = "hr@issuer.example"
CLAIMANT = claimant_actor("jane@example.org")


@functools.cache
def confirmed_claim() -> Claim:
    """Jane Doe, Registered Nurse at organisation A, March 1998 to June 2020, confirmed by HR."""
    details = ClaimDetails(
        kind=ClaimKind.EMPLOYMENT,
        claimant_name="Jane Doe",
        claimant_email="jane@example.org",
        organisation_id="org-a",
        role="Registered Nurse",
        start=PartialDate.parse("1998-03"),
        end=PartialDate.parse("2020-06"),
        attester_email=ATTESTER,
        fte=0.8,
    )
    claim = draft_claim("claim-1", details, CLAIMANT, NOW)
    return confirm(request(claim, CLAIMANT, NOW), ATTESTER, "HR Manager", NOW)
