"""Participation claims and their state machine.

A claim is what a person says happened ("I worked at St Mary's as a nurse from 1998 to 2020"); the
organisation that saw it confirms, amends or declines it. Each transition is a pure function that
returns a new `Claim` with one event appended, and `TRANSITIONS` is the one table that says which
transitions exist. The facts themselves (`ClaimDetails` and its parts) live in
`rpl.claim_details` and are re-exported here, since callers think of them as parts of a claim.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from types import MappingProxyType
from typing import Any

# The facts of a claim, re-exported: callers import the parts of a claim from here.
from rpl.claim_details import (  # noqa: F401
    ALIGNMENT_TARGET_TYPES,
    EARLIEST_YEAR,
    EMAIL_PATTERN,
    MAX_FTE,
    MAX_HOURS_PER_DAY,
    MONTHS,
    ClaimDetails,
    ClaimKind,
    EvidenceFile,
    InvalidClaimError,
    InvalidDateError,
    PartialDate,
    Problems,
    Skill,
    add_problem,
    check_details,
    is_blank,
    valid_alignment_target_type,
    validate_details,
)
from rpl.errors import RplError


class IllegalTransitionError(RplError):
    """An action that the claim's current state does not allow."""

    def __init__(self, claim_id: str, state: ClaimState, action: str) -> None:
        allowed = ", ".join(allowed_actions(state)) or "nothing, it is final"
        super().__init__(
            f"claim {claim_id!r} is {state.value}: cannot {action} (allowed: {allowed})"
        )
        self.claim_id = claim_id
        self.state = state
        self.action = action


class ReissueRefusedError(IllegalTransitionError):
    """The table allows a re-issue from this state, but not for this claim: only a credential
    whose signing key was compromised is re-issued (an ordinary revocation stays final)."""

    def __init__(self, claim_id: str, state: ClaimState, why: str) -> None:
        RplError.__init__(self, f"claim {claim_id!r} is {state.value}: cannot reissue: {why}")
        self.claim_id = claim_id
        self.state = state
        self.action = Action.REISSUE.value
        self.why = why


class InvalidEventError(RplError):
    """An event that cannot be recorded or replayed (naive time, unknown actor, broken log)."""


# --- states, events and the transition table -------------------------------------------------


class ClaimState(StrEnum):
    DRAFT = "draft"
    REQUESTED = "requested"
    CONFIRMED = "confirmed"
    AMENDED = "amended"
    DECLINED = "declined"
    EXPIRED = "expired"
    ISSUED = "issued"
    REVOKED = "revoked"
    SUSPENDED = "suspended"


class Action(StrEnum):
    """What can be done to a claim; each is one function below."""

    REVISE = "revise"
    REQUEST = "request"
    CONFIRM = "confirm"
    AMEND = "amend"
    ACCEPT_AMENDMENT = "accept_amendment"
    REJECT_AMENDMENT = "reject_amendment"
    DECLINE = "decline"
    EXPIRE = "expire"
    MARK_ISSUED = "mark_issued"
    REVOKE = "revoke"
    SUSPEND = "suspend"
    REINSTATE = "reinstate"
    REISSUE = "reissue"
    CORRECT = "correct"


class EventKind(StrEnum):
    CLAIM_DRAFTED = "ClaimDrafted"
    CLAIM_REVISED = "ClaimRevised"
    CLAIM_REQUESTED = "ClaimRequested"
    CLAIM_CONFIRMED = "ClaimConfirmed"
    CLAIM_AMENDED = "ClaimAmended"
    AMENDMENT_ACCEPTED = "AmendmentAccepted"
    AMENDMENT_REJECTED = "AmendmentRejected"
    CLAIM_DECLINED = "ClaimDeclined"
    CLAIM_EXPIRED = "ClaimExpired"
    CREDENTIAL_ISSUED = "CredentialIssued"
    CREDENTIAL_REVOKED = "CredentialRevoked"
    CREDENTIAL_SUSPENDED = "CredentialSuspended"
    CREDENTIAL_REINSTATED = "CredentialReinstated"
    CREDENTIAL_REISSUED = "CredentialReissued"
    CLAIM_CORRECTED = "ClaimCorrected"


_S, _A, _E = ClaimState, Action, EventKind
# The single source of truth: (current state, action) -> (next state, event recorded).
# Declined appears on no left-hand side: it is final. Revoked leads only to `reissue`, which a
# guard (`reissue_refusal`) allows just for a credential revoked because its signing key was
# compromised: an ordinary revocation stays final. An amended claim has no way to `issued`
# except through `accept_amendment`. A pre-confirmed (roster) claim that its person corrects
# goes back to requested: the organisation's attesters confirm the changed facts.
TRANSITIONS: Mapping[tuple[ClaimState, Action], tuple[ClaimState, EventKind]] = MappingProxyType(
    {
        (_S.DRAFT, _A.REVISE): (_S.DRAFT, _E.CLAIM_REVISED),
        (_S.DRAFT, _A.REQUEST): (_S.REQUESTED, _E.CLAIM_REQUESTED),
        (_S.EXPIRED, _A.REQUEST): (_S.REQUESTED, _E.CLAIM_REQUESTED),
        (_S.REQUESTED, _A.CONFIRM): (_S.CONFIRMED, _E.CLAIM_CONFIRMED),
        (_S.REQUESTED, _A.AMEND): (_S.AMENDED, _E.CLAIM_AMENDED),
        (_S.REQUESTED, _A.DECLINE): (_S.DECLINED, _E.CLAIM_DECLINED),
        (_S.REQUESTED, _A.EXPIRE): (_S.EXPIRED, _E.CLAIM_EXPIRED),
        (_S.AMENDED, _A.ACCEPT_AMENDMENT): (_S.CONFIRMED, _E.AMENDMENT_ACCEPTED),
        (_S.AMENDED, _A.REJECT_AMENDMENT): (_S.DRAFT, _E.AMENDMENT_REJECTED),
        (_S.AMENDED, _A.EXPIRE): (_S.EXPIRED, _E.CLAIM_EXPIRED),
        (_S.CONFIRMED, _A.MARK_ISSUED): (_S.ISSUED, _E.CREDENTIAL_ISSUED),
        (_S.CONFIRMED, _A.CORRECT): (_S.REQUESTED, _E.CLAIM_CORRECTED),
        (_S.ISSUED, _A.SUSPEND): (_S.SUSPENDED, _E.CREDENTIAL_SUSPENDED),
        (_S.ISSUED, _A.REVOKE): (_S.REVOKED, _E.CREDENTIAL_REVOKED),
        (_S.SUSPENDED, _A.REINSTATE): (_S.ISSUED, _E.CREDENTIAL_REINSTATED),
        (_S.SUSPENDED, _A.REVOKE): (_S.REVOKED, _E.CREDENTIAL_REVOKED),
        (_S.ISSUED, _A.REISSUE): (_S.ISSUED, _E.CREDENTIAL_REISSUED),
        (_S.REVOKED, _A.REISSUE): (_S.ISSUED, _E.CREDENTIAL_REISSUED),
    }
)


def allowed_actions(state: ClaimState) -> tuple[Action, ...]:
    """The actions `state` allows, in the order of `Action`; empty for a final state."""
    return tuple(a for a in Action if (state, a) in TRANSITIONS)


SYSTEM = "system"
_ACTOR = re.compile(r"system|(claimant|attester|admin|assessor|operator):\S+")


def claimant_actor(email: str) -> str:
    return f"claimant:{email}"


def attester_actor(email: str) -> str:
    return f"attester:{email}"


@dataclass(frozen=True)
class Event:
    """One recorded change: who did it, when, from which state to which, and why."""

    kind: EventKind
    actor: str  # "claimant:<email>", "attester:<email>", "admin:<email>" or "system"
    at: datetime  # timezone-aware
    from_state: ClaimState | None  # None only for ClaimDrafted
    to_state: ClaimState
    reason: str | None = None
    # JSON-ready values only (strings, numbers, None, lists, dicts), so storage can keep it as is.
    data: Mapping[str, Any] = field(default_factory=dict, hash=False)


AMENDABLE_FIELDS = ("role", "start", "end", "hours", "fte")


@dataclass(frozen=True)
class Amendment:
    """The attester's proposed corrections, waiting for the claimant to accept or reject them."""

    changes: Mapping[str, Any] = field(hash=False)  # field name (one of AMENDABLE_FIELDS) -> value
    reason: str
    attester_email: str
    attester_role: str
    at: datetime


@dataclass(frozen=True)
class Confirmation:
    """Who confirmed the claim, in which role at the organisation, and when."""

    attester_email: str
    attester_role: str
    at: datetime


@dataclass(frozen=True)
class Claim:
    id: str
    details: ClaimDetails
    state: ClaimState
    events: tuple[Event, ...]
    amendment: Amendment | None = None  # pending while the claim is amended
    confirmed_by: Confirmation | None = None
    credential_id: str | None = None


# --- transitions -----------------------------------------------------------------------------


def _require_time(now: datetime) -> None:
    if not isinstance(now, datetime) or now.utcoffset() is None:
        raise InvalidEventError(f"time {now!r} must be a timezone-aware datetime")


def _require_actor(actor: str) -> None:
    if not isinstance(actor, str) or not _ACTOR.fullmatch(actor):
        raise InvalidEventError(f"actor {actor!r} is not 'system' or '<role>:<identity>'")


def _today(now: datetime) -> date:
    # Somewhere it is already tomorrow (UTC+14): a claimant there may rightly enter that date.
    return (now + timedelta(days=1)).date()


def _target(claim: Claim, action: Action) -> tuple[ClaimState, EventKind]:
    try:
        return TRANSITIONS[(claim.state, action)]
    except KeyError:
        raise IllegalTransitionError(claim.id, claim.state, action.value) from None


def _advance(
    claim: Claim,
    action: Action,
    actor: str,
    now: datetime,
    *,
    reason: str | None = None,
    data: Mapping[str, Any] | None = None,
    **changes: Any,
) -> Claim:
    to_state, kind = _target(claim, action)
    _require_time(now)
    _require_actor(actor)
    event = Event(kind, actor, now, claim.state, to_state, reason, dict(data or {}))
    return dataclasses.replace(claim, state=to_state, events=(*claim.events, event), **changes)


def _reason(reason: str | None, *, required: str | None = None) -> str | None:
    """The reason, trimmed; `required` is the message to show when one must be given."""
    if isinstance(reason, str) and reason.strip():
        return reason.strip()
    if required is not None:
        raise InvalidClaimError({"reason": [required]})
    return None


def _check_attester(claim: Claim, email: str, role: str | None) -> None:
    problems: Problems = {}
    if not isinstance(email, str) or not EMAIL_PATTERN.fullmatch(email):
        add_problem(problems, "attester_email", f"{email!r} does not look like an email address.")
    elif email.strip().lower() == claim.details.claimant_email.strip().lower():
        add_problem(problems, "attester_email", "A claimant cannot confirm their own claim.")
    if role is not None and is_blank(role):
        add_problem(
            problems, "attester_role", "Please give your role or title at the organisation."
        )
    if problems:
        raise InvalidClaimError(problems)


def _jsonable(changes: Mapping[str, Any]) -> dict[str, Any]:
    return {k: str(v) if isinstance(v, PartialDate) else v for k, v in changes.items()}


def draft_claim(claim_id: str, details: ClaimDetails, actor: str, now: datetime) -> Claim:
    """A new claim in draft, once `details` pass `validate_details`."""
    _require_time(now)
    _require_actor(actor)
    if is_blank(claim_id):
        raise InvalidClaimError({"id": ["A claim needs an id."]})
    validate_details(details, _today(now))
    event = Event(EventKind.CLAIM_DRAFTED, actor, now, None, ClaimState.DRAFT, None, {})
    return Claim(claim_id, details, ClaimState.DRAFT, (event,))


def revise(claim: Claim, details: ClaimDetails, actor: str, now: datetime) -> Claim:
    """Replace a draft's details (the claimant editing, e.g. after rejecting an amendment)."""
    _target(claim, Action.REVISE)
    validate_details(details, _today(now))
    changed = [f.name for f in dataclasses.fields(details) if _differs(claim.details, details, f)]
    return _advance(claim, Action.REVISE, actor, now, data={"changed": changed}, details=details)


def _differs(old: ClaimDetails, new: ClaimDetails, f: dataclasses.Field[Any]) -> bool:
    return bool(getattr(old, f.name) != getattr(new, f.name))


def request(claim: Claim, actor: str, now: datetime) -> Claim:
    """Ask the attester to confirm; from a draft, or again once an earlier request expired."""
    data = {"attester_email": claim.details.attester_email}
    return _advance(claim, Action.REQUEST, actor, now, data=data)


def confirm(claim: Claim, attester_email: str, attester_role: str, now: datetime) -> Claim:
    """The attester confirms the claim as it stands, speaking in `attester_role`."""
    _target(claim, Action.CONFIRM)
    _check_attester(claim, attester_email, attester_role)
    role = attester_role.strip()
    return _advance(
        claim,
        Action.CONFIRM,
        attester_actor(attester_email),
        now,
        data={"attester_email": attester_email, "attester_role": role},
        confirmed_by=Confirmation(attester_email, role, now),
    )


def amend(
    claim: Claim,
    attester_email: str,
    attester_role: str,
    changes: Mapping[str, Any],
    reason: str,
    now: datetime,
) -> Claim:
    """The attester proposes corrections (field name -> new value) for the claimant to accept."""
    _target(claim, Action.AMEND)
    _check_attester(claim, attester_email, attester_role)
    why = _reason(reason, required="Please tell the claimant why the claim needs changing.")
    proposed = _proposed_changes(claim.details, changes, now)
    role = attester_role.strip()
    return _advance(
        claim,
        Action.AMEND,
        attester_actor(attester_email),
        now,
        reason=why,
        data={"changes": _jsonable(proposed), "attester_role": role},
        amendment=Amendment(proposed, why or "", attester_email, role, now),
    )


def _proposed_changes(
    details: ClaimDetails, changes: Mapping[str, Any], now: datetime
) -> dict[str, Any]:
    unknown = sorted(set(changes) - set(AMENDABLE_FIELDS))
    if unknown:
        message = f"{', '.join(unknown)} cannot be amended, only role, dates, hours and FTE."
        raise InvalidClaimError({"changes": [message]})
    proposed = {k: v for k, v in changes.items() if getattr(details, k) != v}
    if not proposed:
        raise InvalidClaimError({"changes": ["Nothing was changed; confirm the claim instead."]})
    validate_details(dataclasses.replace(details, **proposed), _today(now))
    return proposed


CORRECTABLE_FIELDS = ("role", "start", "end", "hours", "fte", "skills", "description")


def correct(claim: Claim, actor: str, changes: Mapping[str, Any], now: datetime) -> Claim:
    """The claimant corrects a claim confirmed on their behalf (a roster row) before accepting
    it: the confirmation lapses and the changed facts go back to the attesters to confirm.
    The event keeps the original and the corrected values of every changed field."""
    _target(claim, Action.CORRECT)
    unknown = sorted(set(changes) - set(CORRECTABLE_FIELDS))
    if unknown:
        message = f"{', '.join(unknown)} cannot be corrected here."
        raise InvalidClaimError({"changes": [message]})
    changed = {k: v for k, v in changes.items() if getattr(claim.details, k) != v}
    if not changed:
        raise InvalidClaimError({"changes": ["Nothing was changed; accept it as it is instead."]})
    corrected = dataclasses.replace(claim.details, **changed)
    validate_details(corrected, _today(now))
    data = {
        "original": _facts(claim.details, changed),
        "amended": _facts(corrected, changed),
        "attester_email": claim.details.attester_email,
    }
    return _advance(
        claim, Action.CORRECT, actor, now, data=data, details=corrected, confirmed_by=None
    )


def _facts(details: ClaimDetails, fields: Mapping[str, Any]) -> dict[str, Any]:
    """The named fields of `details`, JSON-ready (dates as text, skills by name)."""
    facts = _jsonable({k: getattr(details, k) for k in fields})
    if "skills" in facts:
        facts["skills"] = [s.name for s in details.skills]
    return facts


def accept_amendment(claim: Claim, actor: str, now: datetime) -> Claim:
    """The claimant accepts the attester's corrections; the claim is confirmed as corrected."""
    _target(claim, Action.ACCEPT_AMENDMENT)
    amendment = claim.amendment
    if amendment is None:
        raise InvalidEventError(f"claim {claim.id!r} is amended but holds no amendment")
    return _advance(
        claim,
        Action.ACCEPT_AMENDMENT,
        actor,
        now,
        data={"changes": _jsonable(amendment.changes)},
        details=dataclasses.replace(claim.details, **amendment.changes),
        amendment=None,
        # The attester vouched for the corrected facts when they proposed them.
        confirmed_by=Confirmation(amendment.attester_email, amendment.attester_role, amendment.at),
    )


def reject_amendment(claim: Claim, actor: str, reason: str | None, now: datetime) -> Claim:
    """The claimant rejects the corrections; the claim goes back to draft to edit and re-request."""
    return _advance(
        claim, Action.REJECT_AMENDMENT, actor, now, reason=_reason(reason), amendment=None
    )


def decline(claim: Claim, attester_email: str, reason: str, now: datetime) -> Claim:
    """The attester declines the claim; this is final, and they must say why."""
    _target(claim, Action.DECLINE)
    _check_attester(claim, attester_email, None)
    why = _reason(reason, required="Please say why you cannot confirm this claim.")
    return _advance(claim, Action.DECLINE, attester_actor(attester_email), now, reason=why)


def expire(claim: Claim, now: datetime) -> Claim:
    """Nobody answered in time; the claimant may request again.

    A pending amendment lapses with it (the event log keeps it): a new request asks afresh.
    """
    return _advance(claim, Action.EXPIRE, SYSTEM, now, amendment=None)


def mark_issued(claim: Claim, credential_id: str, now: datetime) -> Claim:
    """Record that the credential `credential_id` was signed and stored for this claim."""
    _target(claim, Action.MARK_ISSUED)
    if is_blank(credential_id):
        raise InvalidClaimError({"credential_id": ["An issued credential needs its id."]})
    data = {"credential_id": credential_id}
    return _advance(claim, Action.MARK_ISSUED, SYSTEM, now, data=data, credential_id=credential_id)


def revoke(
    claim: Claim,
    actor: str,
    reason: str,
    now: datetime,
    *,
    compromised_key: str | None = None,
) -> Claim:
    """Withdraw the credential; the reason is kept in the log.

    This is final unless `compromised_key` names the verification method that signed it and
    was compromised: then the claim may be re-issued (`reissue`) under a sound key.
    """
    _target(claim, Action.REVOKE)
    why = _reason(reason, required="Please say why the credential is revoked.")
    data: dict[str, Any] = {"credential_id": claim.credential_id}
    if compromised_key is not None:
        if is_blank(compromised_key):
            raise InvalidClaimError({"compromised_key": ["Name the key that was compromised."]})
        data["compromised_key"] = compromised_key
    return _advance(claim, Action.REVOKE, actor, now, reason=why, data=data)


def suspend(claim: Claim, actor: str, reason: str, now: datetime) -> Claim:
    """Put the credential on hold until it is reinstated or revoked."""
    _target(claim, Action.SUSPEND)
    why = _reason(reason, required="Please say why the credential is suspended.")
    data = {"credential_id": claim.credential_id}
    return _advance(claim, Action.SUSPEND, actor, now, reason=why, data=data)


def reinstate(claim: Claim, actor: str, reason: str | None, now: datetime) -> Claim:
    """Lift a suspension."""
    data = {"credential_id": claim.credential_id}
    return _advance(claim, Action.REINSTATE, actor, now, reason=_reason(reason), data=data)


REISSUE_REASON = "key compromised"


def reissue_refusal(
    state: ClaimState, events: Sequence[Event], compromised_key: object
) -> str | None:
    """Why a claim in `state` with history `events` may not be re-issued for `compromised_key`
    (the verification method that signed its credential and was compromised), or None.

    From `issued`, the caller vouches that the key was compromised (the credential is revoked in
    the same step). From `revoked`, the revocation itself must say it was for that compromised
    key, and the credential must have been issued (not suspended) when it was revoked: a hold the
    organisation placed is not lifted by a re-issue.
    """
    if not isinstance(compromised_key, str) or is_blank(compromised_key):
        return "a re-issue names the compromised key that signed the credential"
    if state is ClaimState.ISSUED:
        return None
    revocation = events[-1] if events else None  # `revoked` is entered only by a revocation
    if revocation is None or revocation.kind is not EventKind.CREDENTIAL_REVOKED:
        return "its history does not end with the revocation"
    if revocation.data.get("compromised_key") != compromised_key:
        return "its credential was revoked by the organisation, not for a compromised key"
    if revocation.from_state is not ClaimState.ISSUED:
        return f"its credential was {revocation.from_state} when its key was compromised"
    return None


def reissue(
    claim: Claim, credential_id: str, compromised_key: str, actor: str, now: datetime
) -> Claim:
    """Record that `credential_id` replaces the claim's credential, whose signing key
    (`compromised_key`) was compromised. The old credential is revoked, the new one current."""
    _target(claim, Action.REISSUE)
    refusal = reissue_refusal(claim.state, claim.events, compromised_key)
    if refusal is not None:
        raise ReissueRefusedError(claim.id, claim.state, refusal)
    if is_blank(credential_id) or credential_id == claim.credential_id:
        raise InvalidClaimError({"credential_id": ["A re-issue needs the new credential's id."]})
    data = {
        "credential_id": credential_id,
        "replaces": claim.credential_id,
        "compromised_key": compromised_key,
    }
    return _advance(
        claim,
        Action.REISSUE,
        actor,
        now,
        reason=REISSUE_REASON,
        data=data,
        credential_id=credential_id,
    )


# (state, event kind) -> next state: the transition table read from the event log's side.
_BY_EVENT = {(s, kind): to for (s, _), (to, kind) in TRANSITIONS.items()}


def replay(events: Sequence[Event]) -> ClaimState:
    """The state an event log leads to; raises `InvalidEventError` where it breaks the table."""
    state: ClaimState | None = None
    for number, event in enumerate(events):
        if state is None:
            starts = event.kind == EventKind.CLAIM_DRAFTED and event.from_state is None
            expected = ClaimState.DRAFT if starts and number == 0 else None
        else:
            expected = _BY_EVENT.get((state, event.kind)) if event.from_state == state else None
            if event.kind is EventKind.CREDENTIAL_REISSUED and reissue_refusal(
                state, events[:number], event.data.get("compromised_key")
            ):
                expected = None  # the table allows it, its guard does not
        if expected is None or expected != event.to_state:
            raise InvalidEventError(f"event {number} ({event.kind}) cannot follow state {state}")
        state = expected
    if state is None:
        raise InvalidEventError("an empty event log has no state")
    return state
