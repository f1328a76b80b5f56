"""A request for credit: its states, the assessor's adjustments, and the grants finally awarded.

submitted ─evaluate→ awaiting_assessor ─accept→ accepted ─issue→ issued
                      │  ↺ adjust (add or remove credits, with a reason)
                      └─reject→ rejected

Waiting for the assessor is a database state, not a suspended flow. The proposal (from
`crosswalk_rules.evaluate`) is never edited: adjustments are recorded beside it, and `final_grants`
derives what is awarded from both, so the record shows what the rules said and what people changed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from rpl.crosswalk import Crosswalk
from rpl.crosswalk_rules import Proposal, credits_text
from rpl.errors import RplError


class CreditState(StrEnum):
    SUBMITTED = "submitted"
    AWAITING_ASSESSOR = "awaiting_assessor"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    ISSUED = "issued"


class CreditAction(StrEnum):
    EVALUATE = "evaluate"
    ADJUST = "adjust"
    ACCEPT = "accept"
    REJECT = "reject"
    ISSUE = "issue"


_MOVES: dict[tuple[CreditState, CreditAction], CreditState] = {
    (CreditState.SUBMITTED, CreditAction.EVALUATE): CreditState.AWAITING_ASSESSOR,
    (CreditState.AWAITING_ASSESSOR, CreditAction.ADJUST): CreditState.AWAITING_ASSESSOR,
    (CreditState.AWAITING_ASSESSOR, CreditAction.ACCEPT): CreditState.ACCEPTED,
    (CreditState.AWAITING_ASSESSOR, CreditAction.REJECT): CreditState.REJECTED,
    (CreditState.ACCEPTED, CreditAction.ISSUE): CreditState.ISSUED,
}


class IllegalCreditTransitionError(RplError):
    def __init__(self, request_id: str, state: CreditState, action: CreditAction) -> None:
        super().__init__(f"credit request {request_id!r} is {state.value}: cannot {action.value}")
        self.state = state
        self.action = action


class InvalidAdjustmentError(RplError):
    """An adjustment the assessor cannot make; `problems` maps form fields to messages."""

    def __init__(self, problems: dict[str, list[str]]) -> None:
        first = next(iter(problems.values()))[0]
        super().__init__(first)
        self.problems = problems


def next_state(request_id: str, state: CreditState, action: CreditAction) -> CreditState:
    try:
        return _MOVES[(state, action)]
    except KeyError:
        raise IllegalCreditTransitionError(request_id, state, action) from None


@dataclass(frozen=True)
class Adjustment:
    """'add' grants a course (credits, and the bundle items it rests on); 'remove' withdraws one."""

    action: str
    course: str
    reason: str
    credits: float | None = None
    evidence_ids: tuple[str, ...] = ()
    by: str = ""

    def to_json(self) -> dict[str, Any]:
        return {**self.__dict__, "evidence_ids": list(self.evidence_ids)}

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> Adjustment:
        return cls(**{**value, "evidence_ids": tuple(value.get("evidence_ids", ()))})


@dataclass(frozen=True)
class FinalGrant:
    course: str
    title: str
    credits: float
    evidence_ids: tuple[str, ...]
    because: str


def check_adjustment(crosswalk: Crosswalk, adjustment: Adjustment, item_ids: Sequence[str]) -> None:
    problems: dict[str, list[str]] = {}
    if adjustment.action not in ("add", "remove"):
        problems["action"] = [f"{adjustment.action!r} is not add or remove"]
    if adjustment.course not in {c.code for c in crosswalk.courses}:
        problems["course"] = [f"{adjustment.course!r} is not a course of {crosswalk.label}"]
    if not adjustment.reason.strip():
        problems["reason"] = ["say why: an adjustment is recorded with its reason"]
    if adjustment.action == "add":
        if adjustment.credits is None or adjustment.credits <= 0:
            problems["credits"] = ["credits to add must be a number above 0"]
        unknown = [i for i in adjustment.evidence_ids if i not in item_ids]
        if unknown:
            problems["evidence_ids"] = [f"not in this bundle: {', '.join(unknown)}"]
    if problems:
        raise InvalidAdjustmentError(problems)


def final_grants(
    crosswalk: Crosswalk, proposal: Proposal, adjustments: Sequence[Adjustment]
) -> list[FinalGrant]:
    """What is awarded: the proposal's grants, then each adjustment in the order made."""
    grants = {
        g.course: FinalGrant(g.course, g.title, g.credits, g.evidence_ids, g.because)
        for g in proposal.grants
    }
    for adj in adjustments:
        if adj.action == "remove":
            grants.pop(adj.course, None)
            continue
        course = crosswalk.course(adj.course)
        credits = float(adj.credits or 0)
        grants[adj.course] = FinalGrant(
            course.code,
            course.title,
            credits,
            adj.evidence_ids,
            f"granted {course.code} ({course.title}), {credits_text(credits)}, by the assessor"
            f"{' ' + adj.by if adj.by else ''}: {adj.reason}",
        )
    order = [c.code for c in crosswalk.courses]
    return sorted(grants.values(), key=lambda g: order.index(g.course))


@dataclass(frozen=True)
class CreditEvent:
    kind: str  # past tense: CreditRequested, CreditProposed, CreditAdjusted, …
    actor: str
    at: Any  # datetime
    from_state: str | None
    to_state: str
    reason: str | None = None
    data: dict[str, Any] | None = None


@dataclass(frozen=True)
class CreditRequest:
    """One returning student's request: the bundle, the proposal, and what people decided."""

    id: str
    organisation_id: str
    crosswalk_id: str
    crosswalk_version: int
    state: CreditState
    learner: dict[str, Any]  # name, email, salt, did
    items: tuple[dict[str, Any], ...]  # BundleItem.to_json() each
    proposal: dict[str, Any] | None = None  # Proposal.to_json()
    adjustments: tuple[dict[str, Any], ...] = ()
    crosswalk_digest: str = ""
    transcript_id: str | None = None
    transcript: str | None = None
    created_at: Any = None
    events: tuple[CreditEvent, ...] = ()
    # The signed-in account that submitted it (its address, as accounts name it); None when the
    # bundle came without an account and only its private link reaches it.
    holder_email: str | None = None
