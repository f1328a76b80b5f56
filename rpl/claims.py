"""Participation claims and their state machine.

A claim is what a person says happened ("I worked at St Mary's as a nurse from 1998 to 2020"); the
organisation that saw it confirms, amends or declines it. Each transition is a pure function that
returns a new `Claim` with one event appended, and `TRANSITIONS` is the one table that says which
transitions exist.
"""

from __future__ import annotations

import calendar
import dataclasses
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from functools import total_ordering
from types import MappingProxyType
from typing import Any

from rpl.errors import RplError

# English month names, not calendar.month_name, which follows the process locale.
MONTHS = ("January", "February", "March", "April", "May", "June") + (
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


class InvalidDateError(RplError):
    """A partial date that is not one; names the text that was given."""

    def __init__(self, value: str, reason: str) -> None:
        super().__init__(f"{value!r} is not a date: {reason}")
        self.value = value
        self.reason = reason


class InvalidClaimError(RplError):
    """Every problem found in a claim, keyed by field, in words people can act on."""

    def __init__(self, problems: Mapping[str, Sequence[str]]) -> None:
        self.problems: dict[str, tuple[str, ...]] = {k: tuple(v) for k, v in problems.items()}
        listed = "; ".join(f"{k}: {m}" for k, ms in self.problems.items() for m in ms)
        super().__init__(f"invalid claim: {listed}")


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


class InvalidEventError(RplError):
    """An event that cannot be recorded or replayed (naive time, unknown actor, broken log)."""


# --- dates -----------------------------------------------------------------------------------

_PARTIAL_DATE = re.compile(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?")


@total_ordering
@dataclass(frozen=True)
class PartialDate:
    """A date known to the year, the month or the day: people remember "March 1998", not the day."""

    year: int
    month: int | None = None
    day: int | None = None

    def __post_init__(self) -> None:
        text = "-".join(f"{p:02d}" for p in (self.year, self.month, self.day) if p is not None)
        if not 1 <= self.year <= 9999:
            raise InvalidDateError(text, "the year must have four digits")
        if self.month is None:
            if self.day is not None:
                raise InvalidDateError(text, "a day needs a month")
            return
        if not 1 <= self.month <= 12:
            raise InvalidDateError(text, "the month must be between 01 and 12")
        days = calendar.monthrange(self.year, self.month)[1]
        if self.day is not None and not 1 <= self.day <= days:
            raise InvalidDateError(text, f"{MONTHS[self.month - 1]} {self.year} has {days} days")

    @classmethod
    def parse(cls, text: str) -> PartialDate:
        """Read `YYYY`, `YYYY-MM` or `YYYY-MM-DD`."""
        match = _PARTIAL_DATE.fullmatch(text.strip()) if isinstance(text, str) else None
        if match is None:
            raise InvalidDateError(str(text), "write it as YYYY, YYYY-MM or YYYY-MM-DD")
        year, month, day = (int(p) if p else None for p in match.groups())
        return cls(year, month, day)  # type: ignore[arg-type]

    def __str__(self) -> str:
        parts = [f"{self.year:04d}"] + [f"{p:02d}" for p in (self.month, self.day) if p]
        return "-".join(parts)

    def _key(self) -> tuple[int, int, int]:
        # A bare month sorts before its days, a bare year before its months.
        return (self.year, self.month or 0, self.day or 0)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, PartialDate):
            return NotImplemented
        return self._key() < other._key()

    def first_day(self) -> date:
        return date(self.year, self.month or 1, self.day or 1)

    def last_day(self) -> date:
        if self.day is not None:
            return self.first_day()
        month = self.month or 12
        return date(self.year, month, calendar.monthrange(self.year, month)[1])

    def in_words(self) -> str:
        """'1998', 'March 1998' or '14 March 1998'."""
        if self.month is None:
            return str(self.year)
        month = f"{MONTHS[self.month - 1]} {self.year}"
        return month if self.day is None else f"{self.day} {month}"


# --- the claim's facts -----------------------------------------------------------------------


class ClaimKind(StrEnum):
    EMPLOYMENT = "employment"  # "worked here"
    STUDY = "study"  # "studied here"
    CONTRIBUTION = "contribution"  # "contributed"


@dataclass(frozen=True)
class Skill:
    """A skill in the claimant's words, optionally aligned to a public framework (ESCO...)."""

    name: str
    framework: str | None = None  # the framework's name, e.g. "ESCO"
    target_url: str | None = None  # the framework's page for this skill; makes it an alignment
    code: str | None = None  # the skill's code within the framework
    target_type: str | None = None  # an OB 3.0 AlignmentTargetType, or "ext:..."

    @property
    def is_aligned(self) -> bool:
        return self.target_url is not None


@dataclass(frozen=True)
class EvidenceFile:
    """An uploaded file, known by its content hash; the bytes are stored elsewhere."""

    name: str
    description: str
    sha256: str  # lower-case hex
    media_type: str
    size: int  # bytes
    filename: str


@dataclass(frozen=True, kw_only=True)
class ClaimDetails:
    kind: ClaimKind
    claimant_name: str
    claimant_email: str
    organisation_id: str
    role: str  # the role held, or the programme studied
    start: PartialDate
    end: PartialDate | None = None  # None: still ongoing
    attester_email: str
    claimant_did: str | None = None
    hours: float | None = None
    fte: float | None = None
    description: str = ""
    skills: tuple[Skill, ...] = ()
    evidence: tuple[EvidenceFile, ...] = ()


# --- validation ------------------------------------------------------------------------------

_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(?:\.[^@\s.]+)+")
# DID Core 1.0 §3.1: did:<method-name>:<method-specific-id>
_DID = re.compile(
    r"did:[a-z0-9]+:(?:[A-Za-z0-9._-]|%[0-9A-Fa-f]{2}|:)*(?:[A-Za-z0-9._-]|%[0-9A-Fa-f]{2})"
)
_HTTP_URL = re.compile(r"https?://[^\s/]+\S*")
_MEDIA_TYPE = re.compile(r"[A-Za-z0-9][\w!#$&^.+-]*/[A-Za-z0-9][\w!#$&^.+-]*")
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
# OB 3.0 AlignmentTargetType: the enumerated values, or an extension named "ext:<name>".
ALIGNMENT_TARGET_TYPES = frozenset(
    {"ceasn:Competency", "ceterms:Credential", "CFItem", "CFRubric", "CFRubricCriterion"}
    | {"CFRubricCriterionLevel", "CTDL"}
)
_EXT_TERM = re.compile(r"ext:[A-Za-z0-9._-]+")
MAX_FTE = 1.5
# More hours a day than this, averaged over a whole period, is a typing mistake, not a fact.
MAX_HOURS_PER_DAY = 12
EARLIEST_YEAR = 1900
_Problems = dict[str, list[str]]


def check_details(details: ClaimDetails, today: date) -> dict[str, list[str]]:
    """Every problem with `details`, keyed by field; empty when the claim can be filed."""
    problems: _Problems = {}
    _check_people(details, problems)
    _check_dates(details, today, problems)
    _check_extent(details, today, problems)
    _check_skills(details.skills, problems)
    _check_evidence(details.evidence, problems)
    return problems


def validate_details(details: ClaimDetails, today: date) -> None:
    """Raise `InvalidClaimError` listing every problem with `details`."""
    problems = check_details(details, today)
    if problems:
        raise InvalidClaimError(problems)


def _add(problems: _Problems, key: str, message: str) -> None:
    problems.setdefault(key, []).append(message)


def _blank(text: object) -> bool:
    return not isinstance(text, str) or not text.strip()


def _check_people(d: ClaimDetails, problems: _Problems) -> None:
    if d.kind not in set(ClaimKind):
        _add(problems, "kind", "Choose whether you worked, studied or contributed here.")
    if _blank(d.claimant_name):
        _add(problems, "claimant_name", "Please give your name.")
    if _blank(d.organisation_id):
        _add(problems, "organisation_id", "Please choose the organisation.")
    if _blank(d.role):
        what = "programme" if d.kind == ClaimKind.STUDY else "role"
        _add(problems, "role", f"Please give the {what}.")
    for key in ("claimant_email", "attester_email"):
        value = getattr(d, key)
        if not isinstance(value, str) or len(value) > 254 or not _EMAIL.fullmatch(value):
            _add(problems, key, f"{value!r} does not look like an email address.")
    emails_valid = "claimant_email" not in problems and "attester_email" not in problems
    if emails_valid and d.claimant_email.strip().lower() == d.attester_email.strip().lower():
        _add(problems, "attester_email", "Someone at the organisation other than you must confirm.")
    if d.claimant_did is not None and not _DID.fullmatch(str(d.claimant_did)):
        _add(problems, "claimant_did", f"{d.claimant_did!r} is not a DID (did:method:identifier).")


def _dates_given(d: ClaimDetails) -> bool:
    return isinstance(d.start, PartialDate) and (d.end is None or isinstance(d.end, PartialDate))


def _check_dates(d: ClaimDetails, today: date, problems: _Problems) -> None:
    if not isinstance(d.start, PartialDate):
        _add(problems, "start", "Please give the start date (a year, a month or a day).")
    if d.end is not None and not isinstance(d.end, PartialDate):
        _add(problems, "end", "Please give the end date, or leave it empty if ongoing.")
    if not _dates_given(d):
        return
    if d.start.year < EARLIEST_YEAR:
        _add(problems, "start", f"{d.start.in_words()} is too long ago; please check the year.")
    if d.start.first_day() > today:
        _add(problems, "start", f"{d.start.in_words()} is in the future.")
    if d.end is None:
        return
    if d.end.first_day() > today:
        _add(problems, "end", f"{d.end.in_words()} is in the future; leave it empty if ongoing.")
    if d.end.last_day() < d.start.first_day():
        _add(
            problems,
            "end",
            f"The end ({d.end.in_words()}) is before the start ({d.start.in_words()}).",
        )


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _check_extent(d: ClaimDetails, today: date, problems: _Problems) -> None:
    if d.fte is not None and not (_number(d.fte) and 0 < d.fte <= MAX_FTE):
        _add(problems, "fte", f"FTE must be more than 0 and at most {MAX_FTE} (1 is full time).")
    if d.hours is None:
        return
    if not (_number(d.hours) and d.hours >= 0):
        _add(problems, "hours", "Hours must be a number, 0 or more.")
        return
    if not _dates_given(d):
        return
    last = min(d.end.last_day(), today) if d.end is not None else today
    days = (last - d.start.first_day()).days + 1
    if days > 0 and d.hours > days * MAX_HOURS_PER_DAY:
        _add(
            problems,
            "hours",
            f"{d.hours:,g} hours do not fit in the {days:,} days of this period; please check.",
        )


def _check_skills(skills: Sequence[Skill], problems: _Problems) -> None:
    seen: set[str] = set()
    for number, skill in enumerate(skills, start=1):
        label = f"Skill {number}"
        if _blank(skill.name):
            _add(problems, "skills", f"{label} has no name.")
            continue
        label = f"{label} ({skill.name.strip()})"
        if skill.name.strip().casefold() in seen:
            _add(problems, "skills", f"{label} is listed twice.")
        seen.add(skill.name.strip().casefold())
        aligned = (skill.framework, skill.code, skill.target_type)
        if skill.target_url is None and any(v is not None for v in aligned):
            _add(problems, "skills", f"{label} names a framework but no link to the skill in it.")
        if skill.target_url is not None and not _HTTP_URL.fullmatch(skill.target_url):
            _add(problems, "skills", f"{label}: the link must start with https:// or http://.")
        if skill.target_type is not None and not valid_alignment_target_type(skill.target_type):
            _add(problems, "skills", f"{label}: {skill.target_type!r} is not a known target type.")


def valid_alignment_target_type(value: str) -> bool:
    """True for an OB 3.0 AlignmentTargetType or an `ext:` extension of it."""
    return value in ALIGNMENT_TARGET_TYPES or bool(_EXT_TERM.fullmatch(value))


def _check_evidence(files: Sequence[EvidenceFile], problems: _Problems) -> None:
    seen: set[str] = set()
    for number, file in enumerate(files, start=1):
        label = f"File {number} ({file.filename})"
        if _blank(file.name):
            _add(problems, "evidence", f"{label} needs a title.")
        if _blank(file.filename) or any(c in file.filename for c in "/\\\0"):
            _add(problems, "evidence", f"{label} has an unusable file name.")
        if not isinstance(file.sha256, str) or not _SHA256_HEX.fullmatch(file.sha256):
            _add(problems, "evidence", f"{label} has no valid SHA-256 content hash.")
        elif file.sha256 in seen:
            _add(problems, "evidence", f"{label} is the same file as one already attached.")
        seen.add(file.sha256)
        if not _MEDIA_TYPE.fullmatch(file.media_type or ""):
            _add(problems, "evidence", f"{label} has no valid media type.")
        if not isinstance(file.size, int) or file.size <= 0:
            _add(problems, "evidence", f"{label} is empty.")


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


_S, _A, _E = ClaimState, Action, EventKind
# The single source of truth: (current state, action) -> (next state, event recorded).
# Declined and revoked appear on no left-hand side: they are final. An amended claim has no way
# to `issued` except through `accept_amendment`.
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
        (_S.ISSUED, _A.SUSPEND): (_S.SUSPENDED, _E.CREDENTIAL_SUSPENDED),
        (_S.ISSUED, _A.REVOKE): (_S.REVOKED, _E.CREDENTIAL_REVOKED),
        (_S.SUSPENDED, _A.REINSTATE): (_S.ISSUED, _E.CREDENTIAL_REINSTATED),
        (_S.SUSPENDED, _A.REVOKE): (_S.REVOKED, _E.CREDENTIAL_REVOKED),
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
    problems: _Problems = {}
    if not isinstance(email, str) or not _EMAIL.fullmatch(email):
        _add(problems, "attester_email", f"{email!r} does not look like an email address.")
    elif email.strip().lower() == claim.details.claimant_email.strip().lower():
        _add(problems, "attester_email", "A claimant cannot confirm their own claim.")
    if role is not None and _blank(role):
        _add(problems, "attester_role", "Please give your role or title at the organisation.")
    if problems:
        raise InvalidClaimError(problems)


def _jsonable(changes: Mapping[str, Any]) -> dict[str, Any]:
    return {k: str(v) if isinstance(v, PartialDate) else v for k, v in changes.items()}


def draft_claim(claim_id: str, details: ClaimDetails, actor: str, now: datetime) -> Claim:
    """A new claim in draft, once `details` pass `validate_details`."""
    _require_time(now)
    _require_actor(actor)
    if _blank(claim_id):
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
    if _blank(credential_id):
        raise InvalidClaimError({"credential_id": ["An issued credential needs its id."]})
    data = {"credential_id": credential_id}
    return _advance(claim, Action.MARK_ISSUED, SYSTEM, now, data=data, credential_id=credential_id)


def revoke(claim: Claim, actor: str, reason: str, now: datetime) -> Claim:
    """Withdraw the credential for good; the reason is kept in the log."""
    _target(claim, Action.REVOKE)
    why = _reason(reason, required="Please say why the credential is revoked.")
    data = {"credential_id": claim.credential_id}
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
        if expected is None or expected != event.to_state:
            raise InvalidEventError(f"event {number} ({event.kind}) cannot follow state {state}")
        state = expected
    if state is None:
        raise InvalidEventError("an empty event log has no state")
    return state
