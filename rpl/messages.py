"""The messages rpl sends: which email, to whom, with which subject and facts.

The words live in `templates/email/<name>.txt` and `<name>.html` (a text part and an HTML part of
one email); this module picks the template and hands it the facts, and stays free of I/O.
"""

from __future__ import annotations

from typing import Any

from rpl.claims import Claim, ClaimState
from rpl.credentials import describe_period
from rpl.mail import Message
from rpl.mail_templates import render
from rpl.organisations import Organisation


def _summary(claim: Claim, org: Organisation) -> str:
    d = claim.details
    return f"{d.claimant_name}: {d.role} at {org.name} ({describe_period(d.start, d.end)})"


def _message(
    to: str, subject: str, template: str, claim: Claim, org: Organisation, **facts: Any
) -> Message:
    d = claim.details
    text, html = render(
        template,
        subject=subject,
        d=d,
        org=org,
        summary=_summary(claim, org),
        period=describe_period(d.start, d.end),
        **facts,
    )
    return Message(to=to, subject=subject, text=text, html=html)


def attestation_request(claim: Claim, org: Organisation, link: str, expires: str) -> Message:
    """To the attester: the claim, and the single-use link that decides it."""
    d = claim.details
    return _message(
        d.attester_email,
        f"Please confirm: {_summary(claim, org)}",
        "attestation_request",
        claim,
        org,
        link=link,
        expires=expires,
    )


def attestation_reminder(
    claim: Claim, org: Organisation, link: str, expires: str, first_asked: str
) -> Message:
    """To the attester who has not answered: a fresh link (the one before it stops working)."""
    d = claim.details
    return _message(
        d.attester_email,
        f"Reminder: please confirm {_summary(claim, org)}",
        "attestation_reminder",
        claim,
        org,
        link=link,
        expires=expires,
        first_asked=first_asked,
    )


def claim_received(claim: Claim, org: Organisation, link: str) -> Message:
    """To the claimant: we sent your claim; here is your private link to follow it."""
    d = claim.details
    return _message(
        d.claimant_email,
        f"Claim sent to {org.name}",
        "claim_received",
        claim,
        org,
        link=link,
    )


def claim_decided(claim: Claim, org: Organisation) -> Message:
    """To the claimant: the organisation's answer (corrections to answer have their own email)."""
    d = claim.details
    if claim.state is ClaimState.AMENDED and claim.amendment is not None:
        return _message(
            d.claimant_email,
            f"{org.name} proposes corrections to your claim",
            "amendment_proposed",
            claim,
            org,
            amendment=claim.amendment,
            changes=[(k, getattr(d, k), v) for k, v in claim.amendment.changes.items()],
        )
    reason = claim.events[-1].reason if claim.events else None
    return _message(
        d.claimant_email,
        f"{org.name} {claim.state.value} your claim",
        "claim_decided",
        claim,
        org,
        state=claim.state.value,
        reason=reason or "",
    )


def credential_issued(claim: Claim, org: Organisation, credential_url: str) -> Message:
    """To the claimant: the credential is signed; here is its public address."""
    d = claim.details
    return _message(
        d.claimant_email,
        f"Your credential from {org.name}",
        "credential_issued",
        claim,
        org,
        credential_url=credential_url,
    )


def credential_reissued(
    claim: Claim, org: Organisation, credential_url: str, replaced_url: str
) -> Message:
    """To the claimant: the key that signed their credential was compromised; a replacement,
    signed with a sound key, is at `credential_url` (the old one no longer verifies)."""
    d = claim.details
    return _message(
        d.claimant_email,
        f"A replacement for your credential from {org.name}",
        "credential_reissued",
        claim,
        org,
        credential_url=credential_url,
        replaced_url=replaced_url,
    )


def claim_expired(claim: Claim, org: Organisation, expired_on: str) -> Message:
    """To the claimant: nobody answered before the attester's link ran out."""
    d = claim.details
    return _message(
        d.claimant_email,
        f"{org.name} did not answer your claim in time",
        "claim_expired",
        claim,
        org,
        expired_on=expired_on,
    )
