"""The words of the messages rpl sends: pure functions from domain values to `Message`s."""

from __future__ import annotations

from rpl.claims import Claim
from rpl.mail import Message
from rpl.organisations import Organisation


def _summary(claim: Claim, org: Organisation) -> str:
    d = claim.details
    period = f"{d.start}–{d.end}" if d.end else f"since {d.start}"
    return f"{d.claimant_name}: {d.role} at {org.name} ({period})"


def attestation_request(claim: Claim, org: Organisation, link: str, expires: str) -> Message:
    d = claim.details
    text = (
        f"Hello,\n\n{d.claimant_name} asks {org.name} to confirm this {d.kind.value} record:\n\n"
        f"  {_summary(claim, org)}\n\n"
        f"Open this link to read the claim and confirm it, correct it, or decline it:\n\n  {link}\n\n"
        "Opening the link changes nothing; only the button on the page decides. "
        f"The link works once and until {expires}.\n\n"
        "You are confirming participation you know of, not assessing skill.\n"
    )
    return Message(
        to=d.attester_email, subject=f"Please confirm: {_summary(claim, org)}", text=text
    )


def claim_received(claim: Claim, org: Organisation, link: str) -> Message:
    d = claim.details
    text = (
        f"Hello {d.claimant_name},\n\nYour claim has been sent to {org.name} ({d.attester_email}).\n"
        f"Follow it, and find your credential once it is issued, at this private link:\n\n  {link}\n\n"
        "Keep the link to yourself: it is the key to your record.\n"
    )
    return Message(to=d.claimant_email, subject=f"Claim sent to {org.name}", text=text)


def claim_decided(claim: Claim, org: Organisation) -> Message:
    d = claim.details
    outcome = {
        "confirmed": "confirmed your claim. Your credential is being issued.",
        "amended": "proposed corrections to your claim. Please accept or reject them.",
        "declined": "declined your claim.",
    }.get(claim.state.value, f"changed your claim to {claim.state.value}.")
    text = (
        f"Hello {d.claimant_name},\n\n{org.name} {outcome}\n\n"
        "The private link we sent when you filed the claim shows the details.\n"
    )
    return Message(
        to=d.claimant_email, subject=f"{org.name} {claim.state.value} your claim", text=text
    )


def credential_issued(claim: Claim, org: Organisation, credential_url: str) -> Message:
    d = claim.details
    text = (
        f"Hello {d.claimant_name},\n\nYour credential from {org.name} is ready:\n\n"
        f"  {credential_url}\n\nAnyone you give this address to can check that it is genuine.\n"
    )
    return Message(to=d.claimant_email, subject=f"Your credential from {org.name}", text=text)
