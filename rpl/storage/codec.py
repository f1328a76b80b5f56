"""Domain objects to table rows and back. JSON columns hold the value objects of a claim."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from rpl.claims import (
    Amendment,
    Claim,
    ClaimDetails,
    ClaimKind,
    ClaimState,
    Confirmation,
    Event,
    EventKind,
    EvidenceFile,
    PartialDate,
    Skill,
)
from rpl.organisations import Organisation
from rpl.storage.tables import ClaimEventRow, ClaimRow, OrganisationRow


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _jsonable(value: Any) -> Any:
    if isinstance(value, PartialDate):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def details_to_json(details: ClaimDetails) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in dataclasses.fields(details):
        value = getattr(details, f.name)
        if f.name in ("skills", "evidence"):
            out[f.name] = [dataclasses.asdict(item) for item in value]
        else:
            out[f.name] = _jsonable(value)
    return out


def details_from_json(data: dict[str, Any]) -> ClaimDetails:
    values = dict(data)
    values["kind"] = ClaimKind(values["kind"])
    values["start"] = PartialDate.parse(values["start"])
    values["end"] = PartialDate.parse(values["end"]) if values.get("end") else None
    values["skills"] = tuple(Skill(**s) for s in values.get("skills", ()))
    values["evidence"] = tuple(EvidenceFile(**e) for e in values.get("evidence", ()))
    return ClaimDetails(**values)


def _changes_to_json(changes: Any) -> dict[str, Any]:
    return {k: _jsonable(v) for k, v in changes.items()}


def _changes_from_json(changes: dict[str, Any]) -> dict[str, Any]:
    return {
        k: PartialDate.parse(v) if k in ("start", "end") and v else v for k, v in changes.items()
    }


def claim_to_row(claim: Claim) -> dict[str, Any]:
    amendment = claim.amendment
    confirmed = claim.confirmed_by
    return {
        "id": claim.id,
        "organisation_id": claim.details.organisation_id,
        "state": claim.state.value,
        "claimant_email": claim.details.claimant_email.lower(),
        "details": details_to_json(claim.details),
        "amendment": None
        if amendment is None
        else {
            "changes": _changes_to_json(amendment.changes),
            "reason": amendment.reason,
            "attester_email": amendment.attester_email,
            "attester_role": amendment.attester_role,
            "at": amendment.at.isoformat(),
        },
        "confirmed_by": None
        if confirmed is None
        else {
            "attester_email": confirmed.attester_email,
            "attester_role": confirmed.attester_role,
            "at": confirmed.at.isoformat(),
        },
        "credential_id": claim.credential_id,
    }


def claim_from_row(row: ClaimRow, events: Sequence[ClaimEventRow]) -> Claim:
    amendment = None
    if row.amendment:
        a = row.amendment
        amendment = Amendment(
            changes=_changes_from_json(a["changes"]),
            reason=a["reason"],
            attester_email=a["attester_email"],
            attester_role=a["attester_role"],
            at=datetime.fromisoformat(a["at"]),
        )
    confirmed = None
    if row.confirmed_by:
        c = row.confirmed_by
        confirmed = Confirmation(
            c["attester_email"], c["attester_role"], datetime.fromisoformat(c["at"])
        )
    return Claim(
        id=row.id,
        details=details_from_json(row.details),
        state=ClaimState(row.state),
        events=tuple(event_from_row(e) for e in events),
        amendment=amendment,
        confirmed_by=confirmed,
        credential_id=row.credential_id,
    )


def event_to_row(event: Event) -> dict[str, Any]:
    return {
        "kind": _TEXT[event.kind],
        "actor": event.actor,
        "at": event.at,
        "from_state": _TEXT[event.from_state] if event.from_state else None,
        "to_state": _TEXT[event.to_state],
        "reason": event.reason,
        "data": dict(event.data),
    }


# Each kind and state as the plain text stored: `member.value` is a descriptor call, and a
# roster import writes three events a row.
_TEXT: dict[str, str] = {m: m.value for enum in (EventKind, ClaimState) for m in enum}


def event_from_row(row: ClaimEventRow) -> Event:
    return Event(
        kind=EventKind(row.kind),
        actor=row.actor,
        at=_utc(row.at),
        from_state=ClaimState(row.from_state) if row.from_state else None,
        to_state=ClaimState(row.to_state),
        reason=row.reason,
        data=row.data or {},
    )


def organisation_to_row(org: Organisation) -> dict[str, Any]:
    return dataclasses.asdict(org)


def organisation_from_row(row: OrganisationRow) -> Organisation:
    return Organisation(
        id=row.id,
        slug=row.slug,
        name=row.name,
        domain=row.domain,
        url=row.url,
        email=row.email,
        description=row.description,
        domain_verified_at=_utc(row.domain_verified_at) if row.domain_verified_at else None,
        securing=row.securing,
    )
