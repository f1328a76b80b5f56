"""Applying a crosswalk to a bundle's evidence: a proposal that explains itself rule by rule.

The allocation is deterministic and explained:
- rules are tried in the crosswalk's order (its priority); the first rule a course satisfies grants
  it, and later rules for that course are alternatives no longer needed;
- one piece of evidence counts for at most one course (no double counting): once a rule uses it,
  later rules cannot;
- among the evidence a rule could use, it takes the pieces fewest later rules could also use (then
  by id), so that it leaves as much as it can for the courses after it; an `any k` rule takes k
  pieces with distinct achievements, an `hours` rule the fewest pieces that reach its hours;
- a grant that would take an area past its cap is not made (courses are whole), and says so;
- only verified evidence counts; unverified evidence is listed for the assessor with its reason.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from rpl.crosswalk import Course, Crosswalk, Evidence, Match, Rule, StackKind


@dataclass(frozen=True)
class Grant:
    course: str
    title: str
    credits: float
    area: str
    rule_id: str
    evidence_ids: tuple[str, ...]
    because: str


@dataclass(frozen=True)
class Gap:
    """A course not granted, and what is missing for it (one line per rule that could grant it)."""

    course: str
    title: str
    credits: float
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class EvidenceNote:
    evidence_id: str
    name: str
    counted_for: str | None
    note: str


@dataclass(frozen=True)
class Proposal:
    crosswalk_id: str
    crosswalk_version: int
    crosswalk_digest: str
    as_of: date
    grants: tuple[Grant, ...]
    gaps: tuple[Gap, ...]
    notes: tuple[EvidenceNote, ...]

    @property
    def total_credits(self) -> float:
        return sum(g.credits for g in self.grants)

    def to_json(self) -> dict[str, Any]:
        return {
            "crosswalk": {
                "id": self.crosswalk_id,
                "version": self.crosswalk_version,
                "digest": self.crosswalk_digest,
            },
            "as_of": self.as_of.isoformat(),
            "grants": [g.__dict__ | {"evidence_ids": list(g.evidence_ids)} for g in self.grants],
            "gaps": [g.__dict__ | {"reasons": list(g.reasons)} for g in self.gaps],
            "notes": [n.__dict__ for n in self.notes],
            "total_credits": self.total_credits,
        }

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> Proposal:
        cw = value["crosswalk"]
        return cls(
            crosswalk_id=cw["id"],
            crosswalk_version=cw["version"],
            crosswalk_digest=cw["digest"],
            as_of=date.fromisoformat(value["as_of"]),
            grants=tuple(
                Grant(**{**g, "evidence_ids": tuple(g["evidence_ids"])}) for g in value["grants"]
            ),
            gaps=tuple(Gap(**{**g, "reasons": tuple(g["reasons"])}) for g in value["gaps"]),
            notes=tuple(EvidenceNote(**n) for n in value["notes"]),
        )


def credits_text(value: float) -> str:
    return f"{value:g} credit{'' if value == 1 else 's'}"


def hours_of(evidence: Evidence, crosswalk: Crosswalk) -> tuple[float, bool]:
    """Hours the evidence shows, and whether they were estimated from its dates."""
    if evidence.hours is not None:
        return evidence.hours, False
    years = evidence.years
    if crosswalk.hours_per_year and years:
        return round(years * crosswalk.hours_per_year, 1), True
    return 0.0, False


def years_before(as_of: date, years: int) -> date:
    """The same calendar day `years` earlier (29 February falls back to the 28th)."""
    try:
        return as_of.replace(year=as_of.year - years)
    except ValueError:
        return as_of.replace(year=as_of.year - years, day=28)


# --- matching -----------------------------------------------------------------------------------


def identity_problem(match: Match, evidence: Evidence) -> str | None:
    """Why the evidence is not the kind this rule looks for at all, or None."""
    if match.achievement_ids and evidence.achievement_id not in match.achievement_ids:
        return "not one of the listed achievements"
    if match.achievement_types and evidence.achievement_type not in match.achievement_types:
        return f"its achievement type {evidence.achievement_type!r} is not one listed"
    if match.issuers and evidence.issuer not in match.issuers:
        return f"issued by {evidence.issuer}, not by a listed issuer"
    if match.skills and not evidence.skills.intersection(match.skills):
        return "aligned to none of the listed skills"
    return None


def qualifier_problem(
    match: Match, evidence: Evidence, as_of: date, crosswalk: Crosswalk
) -> str | None:
    """Why evidence of the right kind still does not count (hours, level, recency), or None."""
    hours, estimated = hours_of(evidence, crosswalk)
    if match.min_hours is not None and hours < match.min_hours:
        shown = f"{hours:g} hours{' (estimated)' if estimated else ''}"
        return f"shows {shown}, fewer than the {match.min_hours:g} required"
    if match.min_level is not None and (evidence.level or 0) < match.min_level:
        return f"level {evidence.level or 'unknown'} is below level {match.min_level}"
    if match.within_years is not None:
        since = years_before(as_of, match.within_years)
        if evidence.end is None and evidence.start is None:
            return f"has no date, so recency (within {match.within_years} years) cannot be shown"
        last = evidence.end or as_of  # a start with no end: still going on
        if last < since:
            return (
                f"ended {last.isoformat()}, more than {match.within_years} years before "
                f"{as_of.isoformat()}"
            )
    return None


def describe_rule(rule: Rule, crosswalk: Crosswalk) -> str:
    """The rule in words, e.g. 'any 3 of: achievement type Certificate; within the last 7 years'."""
    m = rule.match
    parts = []
    if m.achievement_ids:
        parts.append("achievement " + " or ".join(m.achievement_ids))
    if m.achievement_types:
        parts.append("achievement type " + " or ".join(m.achievement_types))
    if m.issuers:
        parts.append("issued by " + " or ".join(m.issuers))
    if m.skills:
        parts.append("aligned to skill " + " or ".join(m.skills))
    if m.min_hours is not None:
        parts.append(f"at least {m.min_hours:g} hours each")
    if m.min_level is not None:
        parts.append(f"level {m.min_level} or above")
    if m.within_years is not None:
        parts.append(f"within the last {m.within_years} years")
    what = "; ".join(parts) or "any verified credential"
    if rule.kind is StackKind.HOURS:
        head = f"at least {rule.total_hours:g} hours across evidence with"
    else:
        head = "one credential with" if rule.k == 1 else f"any {rule.k} distinct credentials with"
    return f"rule {rule.id} of {crosswalk.label} ({head}: {what})"


# --- choosing -----------------------------------------------------------------------------------


def _distinct_key(evidence: Evidence) -> str:
    return evidence.achievement_id or evidence.id


def _choose(
    rule: Rule,
    available: Sequence[Evidence],
    hours: Callable[[Evidence], float],
) -> tuple[Evidence, ...] | None:
    """The evidence this rule uses (in preference order `available`), or None if it falls short."""
    if rule.kind is StackKind.ANY:
        picked: dict[str, Evidence] = {}
        for evidence in available:
            picked.setdefault(_distinct_key(evidence), evidence)
            if len(picked) == rule.k:
                return tuple(picked.values())
        return None
    total, chosen = 0.0, []
    # Largest first: the fewest pieces of evidence reach the hours, leaving more for later rules.
    for evidence in sorted(available, key=lambda e: -hours(e)):
        if hours(evidence) <= 0:
            break
        chosen.append(evidence)
        total += hours(evidence)
        if total >= (rule.total_hours or 0):
            return tuple(sorted(chosen, key=lambda e: e.id))
    return None


def _label(evidence: Evidence) -> str:
    detail = f" ({evidence.summary})" if evidence.summary else ""
    return f"credential “{evidence.name}”{detail}"


# --- evaluation ---------------------------------------------------------------------------------


@dataclass
class _State:
    crosswalk: Crosswalk
    as_of: date
    evidence: tuple[Evidence, ...]
    used: dict[str, str]  # evidence id -> course it counted for
    grants: dict[str, Grant]
    area_credits: dict[str, float]
    reasons: dict[str, list[str]]
    cache: dict[str, list[Evidence]] = field(default_factory=dict)

    def hours(self, evidence: Evidence) -> float:
        return hours_of(evidence, self.crosswalk)[0]

    def eligible(self, rule: Rule) -> list[Evidence]:
        """Verified evidence that meets the rule's criteria, used or not (it never changes)."""
        if rule.id not in self.cache:
            self.cache[rule.id] = self._eligible(rule)
        return self.cache[rule.id]

    def _eligible(self, rule: Rule) -> list[Evidence]:
        return [
            e
            for e in self.evidence
            if e.verified
            and identity_problem(rule.match, e) is None
            and qualifier_problem(rule.match, e, self.as_of, self.crosswalk) is None
        ]


def evaluate(crosswalk: Crosswalk, evidence: Sequence[Evidence], as_of: date) -> Proposal:
    """Apply `crosswalk` to `evidence` as of the day `as_of` (recency is judged from it)."""
    state = _State(
        crosswalk,
        as_of,
        tuple(sorted(evidence, key=lambda e: e.id)),
        used={},
        grants={},
        area_credits={},
        reasons={c.code: [] for c in crosswalk.courses},
    )
    rules = list(crosswalk.rules)
    for position, rule in enumerate(rules):
        if rule.course not in state.grants:
            _apply(state, rule, rules[position + 1 :])
    grants = tuple(state.grants[c.code] for c in crosswalk.courses if c.code in state.grants)
    gaps = tuple(
        Gap(c.code, c.title, c.credits, tuple(state.reasons[c.code]) or ("no rule grants it",))
        for c in crosswalk.courses
        if c.code not in state.grants
    )
    return Proposal(
        crosswalk.id, crosswalk.version, crosswalk.digest, as_of, grants, gaps, _notes(state)
    )


def _apply(state: _State, rule: Rule, later: Sequence[Rule]) -> None:
    course = state.crosswalk.course(rule.course)
    eligible = state.eligible(rule)
    available = [e for e in eligible if e.id not in state.used]
    # Least contested first: evidence fewer later rules could use is spent before the rest.
    later_ids = [{e.id for e in state.eligible(r)} for r in later]
    demand = {e.id: sum(1 for ids in later_ids if e.id in ids) for e in available}
    available.sort(key=lambda e: (demand[e.id], e.id))
    chosen = _choose(rule, available, state.hours)
    if chosen is None:
        state.reasons[course.code].append(_shortfall(state, rule, eligible, available))
        return
    cap = state.crosswalk.caps.get(course.area) if course.area else None
    so_far = state.area_credits.get(course.area, 0.0)
    if cap is not None and so_far + course.credits > cap:
        state.reasons[course.code].append(
            f"{describe_rule(rule, state.crosswalk)} is met, but granting "
            f"{credits_text(course.credits)} would take area {course.area!r} past its cap of "
            f"{credits_text(cap)} ({so_far:g} already granted)"
        )
        return
    state.area_credits[course.area] = so_far + course.credits
    for evidence in chosen:
        state.used[evidence.id] = course.code
    state.grants[course.code] = _grant(state, course, rule, chosen)


def _grant(state: _State, course: Course, rule: Rule, chosen: Sequence[Evidence]) -> Grant:
    shown = ", ".join(_label(e) for e in chosen)
    verb = "satisfies" if len(chosen) == 1 else "together satisfy"
    because = (
        f"granted {course.code} ({course.title}), {credits_text(course.credits)}, because: "
        f"{shown} {verb} {describe_rule(rule, state.crosswalk)}"
    )
    if rule.kind is StackKind.HOURS:
        because += f": {sum(state.hours(e) for e in chosen):g} hours in all"
    if rule.note:
        because += f". {rule.note}"
    return Grant(
        course.code,
        course.title,
        course.credits,
        course.area,
        rule.id,
        tuple(e.id for e in chosen),
        because,
    )


def _shortfall(
    state: _State, rule: Rule, eligible: Sequence[Evidence], available: Sequence[Evidence]
) -> str:
    """What is missing for `rule`: how far the evidence got, and why the near misses did not count."""
    if rule.kind is StackKind.HOURS:
        have = sum(state.hours(e) for e in available)
        missing = f"{have:g} of {rule.total_hours:g} hours; {rule.total_hours - have:g} more needed"  # type: ignore[operator]
    else:
        have_k = len({_distinct_key(e) for e in available})
        missing = f"{have_k} of {rule.k}; {rule.k - have_k} more needed"
    why = []
    for evidence in state.evidence:
        if identity_problem(rule.match, evidence) is not None:
            continue
        if not evidence.verified:
            why.append(f"“{evidence.name}” is unverified")
        elif problem := qualifier_problem(rule.match, evidence, state.as_of, state.crosswalk):
            why.append(f"“{evidence.name}” {problem}")
        elif evidence in eligible and evidence.id in state.used:
            why.append(f"“{evidence.name}” already counts for {state.used[evidence.id]}")
    detail = f" (not counted: {'; '.join(why)})" if why else ""
    return f"{describe_rule(rule, state.crosswalk)}: has {missing}{detail}"


def _notes(state: _State) -> tuple[EvidenceNote, ...]:
    notes = []
    for evidence in state.evidence:
        course = state.used.get(evidence.id)
        if course is not None:
            grant = state.grants[course]
            note = f"counted for {course} under rule {grant.rule_id}"
        elif not evidence.verified:
            note = "not counted: it could not be verified; an assessor may still consider it"
        elif any(identity_problem(r.match, evidence) is None for r in state.crosswalk.rules):
            note = "not counted: it matches a rule but was not needed or fell short (see the gaps)"
        else:
            note = "not counted: no rule of this crosswalk recognises it"
        notes.append(EvidenceNote(evidence.id, evidence.name, course, note))
    return tuple(notes)
