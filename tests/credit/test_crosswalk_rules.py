"""Crosswalk rules, alone and combined: each kind, the allocation's promises as properties."""

from __future__ import annotations

import random
from datetime import date, timedelta
from types import MappingProxyType

from hypothesis import given, settings
from hypothesis import strategies as st

from rpl.crosswalk import Course, Crosswalk, Evidence, Match, Rule, StackKind
from rpl.crosswalk_rules import evaluate, years_before

AS_OF = date(2026, 6, 30)
SKILLS = ("s:care", "s:bls", "s:safety", "s:mentor", "s:youth")


def cw(
    rules: list[Rule],
    courses: list[Course] | None = None,
    caps: dict[str, float] | None = None,
    hpy: float | None = None,
) -> Crosswalk:
    codes = sorted({r.course for r in rules})
    courses = courses or [Course(c, f"Course {c}", 10, "a") for c in codes]
    return Crosswalk(
        "cw", 1, "T", "U", tuple(courses), tuple(rules), MappingProxyType(caps or {}), hpy
    )


def ev(i: int, skills: tuple[str, ...] = ("s:care",), **kw: object) -> Evidence:
    values: dict[str, object] = {"end": date(2025, 1, 1), "issuer": "did:key:z1"}
    values.update(kw)
    return Evidence(id=f"e{i:02d}", name=f"E{i}", skills=frozenset(skills), **values)  # type: ignore[arg-type]


def test_any_k_needs_k_distinct_achievements() -> None:
    rule = Rule("R1", "C1", Match(skills=("s:care",)), StackKind.ANY, k=2)
    same = [ev(1, achievement_id="urn:a"), ev(2, achievement_id="urn:a")]
    assert evaluate(cw([rule]), same, AS_OF).grants == ()
    gap = evaluate(cw([rule]), same, AS_OF).gaps[0].reasons[0]
    assert "has 1 of 2; 1 more needed" in gap
    distinct = [ev(1, achievement_id="urn:a"), ev(2, achievement_id="urn:b")]
    assert evaluate(cw([rule]), distinct, AS_OF).grants[0].evidence_ids == ("e01", "e02")


def test_hours_rule_adds_hours_across_evidence_and_estimates_from_dates_when_told() -> None:
    rule = Rule("R1", "C1", Match(skills=("s:care",)), StackKind.HOURS, total_hours=120)
    assert evaluate(cw([rule]), [ev(1, hours=60), ev(2, hours=50)], AS_OF).grants == ()
    granted = evaluate(
        cw([rule]), [ev(1, hours=60), ev(2, hours=50), ev(3, hours=30)], AS_OF
    ).grants[0]
    assert granted.evidence_ids == ("e01", "e02", "e03") and "140 hours in all" in granted.because
    dated = [ev(1, start=date(2024, 1, 1), end=date(2025, 1, 1))]
    assert evaluate(cw([rule]), dated, AS_OF).grants == ()
    assert evaluate(cw([rule], hpy=200), dated, AS_OF).grants[0].evidence_ids == ("e01",)


def test_identity_criteria_issuer_type_and_achievement_ids() -> None:
    match = Match(
        achievement_ids=("urn:x",), achievement_types=("Certificate",), issuers=("did:key:z1",)
    )
    rule = Rule("R1", "C1", match)
    good = ev(1, achievement_id="urn:x", achievement_type="Certificate")
    assert evaluate(cw([rule]), [good], AS_OF).grants
    for bad in (
        ev(2, achievement_id="urn:y", achievement_type="Certificate"),
        ev(3, achievement_id="urn:x", achievement_type="Badge"),
        ev(4, achievement_id="urn:x", achievement_type="Certificate", issuer="did:key:other"),
    ):
        assert not evaluate(cw([rule]), [bad], AS_OF).grants


def test_level_and_per_item_hours_qualifiers_explain_the_miss() -> None:
    rule = Rule("R1", "C1", Match(skills=("s:care",), min_level=5, min_hours=100))
    low = evaluate(cw([rule]), [ev(1, level=4, hours=200)], AS_OF)
    assert "level 4 is below level 5" in low.gaps[0].reasons[0]
    short = evaluate(cw([rule]), [ev(1, level=6, hours=20)], AS_OF)
    assert "shows 20 hours, fewer than the 100 required" in short.gaps[0].reasons[0]
    assert evaluate(cw([rule]), [ev(1, level=6, hours=100)], AS_OF).grants


def test_recency_counts_the_boundary_day_and_not_the_day_before() -> None:
    rule = Rule("R1", "C1", Match(skills=("s:care",), within_years=7))
    boundary = years_before(AS_OF, 7)
    assert evaluate(cw([rule]), [ev(1, end=boundary)], AS_OF).grants
    missed = evaluate(cw([rule]), [ev(1, end=boundary - timedelta(days=1))], AS_OF)
    assert "more than 7 years before 2026-06-30" in missed.gaps[0].reasons[0]
    assert evaluate(cw([rule]), [ev(1, start=date(2001, 1, 1), end=None)], AS_OF).grants  # ongoing
    undated = evaluate(cw([rule]), [ev(1, end=None)], AS_OF)
    assert "has no date" in undated.gaps[0].reasons[0]


def test_one_credential_never_counts_for_two_courses_and_the_gap_says_where_it_went() -> None:
    rules = [
        Rule("R1", "C1", Match(skills=("s:care",))),
        Rule("R2", "C2", Match(skills=("s:care",))),
    ]
    proposal = evaluate(cw(rules), [ev(1)], AS_OF)
    assert [g.course for g in proposal.grants] == ["C1"]
    assert "“E1” already counts for C1" in proposal.gaps[0].reasons[0]


def test_a_rule_leaves_contested_evidence_for_later_rules() -> None:
    # e01 serves only C1; e02 serves both. C1 takes e01, so C2 still gets e02.
    rules = [
        Rule("R1", "C1", Match(skills=("s:care", "s:bls"))),
        Rule("R2", "C2", Match(skills=("s:bls",))),
    ]
    proposal = evaluate(cw(rules), [ev(1, ("s:care",)), ev(2, ("s:bls",))], AS_OF)
    assert {g.course: g.evidence_ids for g in proposal.grants} == {"C1": ("e01",), "C2": ("e02",)}


def test_caps_per_area_stop_a_grant_and_say_so() -> None:
    courses = [Course("C1", "One", 20, "practice"), Course("C2", "Two", 20, "practice")]
    rules = [
        Rule("R1", "C1", Match(skills=("s:care",))),
        Rule("R2", "C2", Match(skills=("s:bls",))),
    ]
    proposal = evaluate(cw(rules, courses, {"practice": 30}), [ev(1), ev(2, ("s:bls",))], AS_OF)
    assert [g.course for g in proposal.grants] == ["C1"]
    assert "past its cap of 30 credits (20 already granted)" in proposal.gaps[0].reasons[0]


def test_alternatives_the_first_rule_met_grants_and_unverified_evidence_never_counts() -> None:
    rules = [
        Rule("R1", "C1", Match(skills=("s:bls",))),
        Rule("R2", "C1", Match(skills=("s:care",))),
    ]
    proposal = evaluate(cw(rules), [ev(1), ev(2, ("s:bls",), verified=False)], AS_OF)
    assert proposal.grants[0].rule_id == "R2"
    notes = {n.evidence_id: n.note for n in proposal.notes}
    assert "could not be verified" in notes["e02"]


def test_the_proposal_survives_its_json_form() -> None:
    from rpl.crosswalk_rules import Proposal

    rules = [Rule("R1", "C1", Match(skills=("s:care",)), StackKind.ANY, 2)]
    proposal = evaluate(cw(rules), [ev(1)], AS_OF)
    assert Proposal.from_json(proposal.to_json()) == proposal


# --- properties ----------------------------------------------------------------------------------

evidence_st = st.builds(
    lambda i, skills, hours, year, verified, ach: Evidence(
        id=f"e{i:02d}",
        name=f"E{i}",
        issuer="did:key:z1",
        skills=frozenset(skills),
        hours=hours,
        end=date(year, 6, 1),
        verified=verified,
        achievement_id=f"urn:a{ach}" if ach is not None else None,
    ),
    st.integers(0, 99),
    st.sets(st.sampled_from(SKILLS), min_size=1, max_size=3),
    st.one_of(st.none(), st.floats(0, 500, allow_nan=False)),
    st.integers(2010, 2026),
    st.booleans(),
    st.one_of(st.none(), st.integers(0, 5)),
)
bundles = st.lists(evidence_st, max_size=12, unique_by=lambda e: e.id)
rule_st = st.builds(
    lambda n, course, skills, kind, k, hours, years: Rule(
        f"R{n}",
        f"C{course}",
        Match(skills=tuple(sorted(skills)), within_years=years),
        kind,
        k if kind is StackKind.ANY else 1,
        hours if kind is StackKind.HOURS else None,
    ),
    st.integers(0, 1000),
    st.integers(0, 4),
    st.sets(st.sampled_from(SKILLS), min_size=1, max_size=3),
    st.sampled_from(list(StackKind)),
    st.integers(1, 4),
    st.floats(1, 600, allow_nan=False),
    st.one_of(st.none(), st.integers(1, 10)),
)
crosswalks = st.builds(
    lambda rules, cap: cw(
        rules,
        [Course(f"C{i}", f"Course {i}", 10, "even" if i % 2 == 0 else "odd") for i in range(5)],
        {"even": cap} if cap is not None else {},
    ),
    st.lists(rule_st, min_size=1, max_size=6, unique_by=lambda r: r.id),
    st.one_of(st.none(), st.sampled_from([0, 10, 20])),
)


@settings(max_examples=200, deadline=None)
@given(crosswalks, bundles)
def test_no_credential_is_counted_twice_and_caps_hold(
    crosswalk: Crosswalk, evidence: list[Evidence]
) -> None:
    proposal = evaluate(crosswalk, evidence, AS_OF)
    used = [i for g in proposal.grants for i in g.evidence_ids]
    assert len(used) == len(set(used))
    assert all(e.verified for e in evidence if e.id in used)
    for area, cap in crosswalk.caps.items():
        assert sum(g.credits for g in proposal.grants if g.area == area) <= cap
    assert {g.course for g in proposal.grants}.isdisjoint(g.course for g in proposal.gaps)
    assert len(proposal.grants) + len(proposal.gaps) == len(crosswalk.courses)


@settings(max_examples=100, deadline=None)
@given(crosswalks, bundles, st.randoms(use_true_random=False))
def test_the_allocation_is_deterministic_whatever_the_order_given(
    crosswalk: Crosswalk, evidence: list[Evidence], rnd: random.Random
) -> None:
    shuffled = list(evidence)
    rnd.shuffle(shuffled)
    assert evaluate(crosswalk, shuffled, AS_OF) == evaluate(crosswalk, evidence, AS_OF)


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 4), bundles, bundles)
def test_any_k_of_n_is_monotone_more_evidence_never_loses_the_grant(
    k: int, base: list[Evidence], more: list[Evidence]
) -> None:
    crosswalk = cw([Rule("R1", "C1", Match(skills=("s:care", "s:bls")), StackKind.ANY, k)])
    extra = [Evidence(**{**e.__dict__, "id": "x" + e.id}) for e in more]
    if evaluate(crosswalk, base, AS_OF).grants:
        assert evaluate(crosswalk, base + extra, AS_OF).grants


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 30), st.dates(date(2000, 1, 1), date(2030, 12, 31)))
def test_recency_boundary_is_inclusive_for_any_span_and_day(years: int, as_of: date) -> None:
    crosswalk = cw([Rule("R1", "C1", Match(skills=("s:care",), within_years=years))])
    edge = years_before(as_of, years)
    assert evaluate(crosswalk, [ev(1, end=edge)], as_of).grants
    assert not evaluate(crosswalk, [ev(1, end=edge - timedelta(days=1))], as_of).grants
