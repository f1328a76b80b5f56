"""Claims: partial dates, validation of the details, and the state machine."""

from __future__ import annotations

import calendar
import dataclasses
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rpl.claims import (
    TRANSITIONS,
    Action,
    Claim,
    ClaimDetails,
    ClaimKind,
    ClaimState,
    EventKind,
    EvidenceFile,
    IllegalTransitionError,
    InvalidClaimError,
    InvalidDateError,
    InvalidEventError,
    PartialDate,
    ReissueRefusedError,
    Skill,
    accept_amendment,
    allowed_actions,
    amend,
    attester_actor,
    check_details,
    claimant_actor,
    confirm,
    correct,
    decline,
    draft_claim,
    expire,
    mark_issued,
    reinstate,
    reissue,
    reject_amendment,
    replay,
    request,
    revise,
    revoke,
    suspend,
    validate_details,
)
from rpl.errors import RplError

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
TODAY = NOW.date()
CLAIMANT_EMAIL = "jane@example.org"
CLAIMANT = claimant_actor(CLAIMANT_EMAIL)
ATTESTER = "hr@stmarys.example"
ADMIN = "admin:boss@stmarys.example"
KEY = "did:web:rpl.example:orgs:st-marys#key-1"  # the signing key that was compromised
S, A = ClaimState, Action


def make_details(**overrides: object) -> ClaimDetails:
    fields: dict[str, object] = {
        "kind": ClaimKind.EMPLOYMENT,
        "claimant_name": "Jane Doe",
        "claimant_email": CLAIMANT_EMAIL,
        "organisation_id": "org-st-marys",
        "role": "Registered Nurse",
        "start": PartialDate.parse("1998-03"),
        "end": PartialDate.parse("2020-06"),
        "attester_email": ATTESTER,
        "fte": 0.8,
        "description": "Ward nurse on the surgical floor.",
        "skills": (Skill("Wound care"),),
    }
    fields.update(overrides)
    return ClaimDetails(**fields)  # type: ignore[arg-type]


def _amend(claim: Claim) -> Claim:
    fte = 0.6 if claim.details.fte != 0.6 else 0.7
    return amend(claim, ATTESTER, "HR Manager", {"fte": fte}, "Our records say otherwise", NOW)


# One valid call per action, so that any state can be driven with any action.
DO: dict[Action, Callable[[Claim], Claim]] = {
    A.REVISE: lambda c: revise(c, make_details(role="Staff Nurse"), CLAIMANT, NOW),
    A.REQUEST: lambda c: request(c, CLAIMANT, NOW),
    A.CONFIRM: lambda c: confirm(c, ATTESTER, "HR Manager", NOW),
    A.AMEND: _amend,
    A.ACCEPT_AMENDMENT: lambda c: accept_amendment(c, CLAIMANT, NOW),
    A.REJECT_AMENDMENT: lambda c: reject_amendment(c, CLAIMANT, "That is not right", NOW),
    A.DECLINE: lambda c: decline(c, ATTESTER, "We have no record of this person", NOW),
    A.EXPIRE: lambda c: expire(c, NOW),
    A.MARK_ISSUED: lambda c: mark_issued(c, "urn:uuid:5f0c0c6e-credential", NOW),
    A.REVOKE: lambda c: revoke(c, ADMIN, "Issued in error", NOW),
    A.SUSPEND: lambda c: suspend(c, ADMIN, "Under review", NOW),
    A.REINSTATE: lambda c: reinstate(c, ADMIN, None, NOW),
    A.REISSUE: lambda c: reissue(c, f"urn:uuid:reissued-{len(c.events)}", KEY, ADMIN, NOW),
    A.CORRECT: lambda c: correct(c, CLAIMANT, {"role": f"Ward Sister {len(c.events)}"}, NOW),
}

# A legal way to reach every state from a fresh draft.
PATHS: dict[ClaimState, list[Action]] = {
    S.DRAFT: [],
    S.REQUESTED: [A.REQUEST],
    S.CONFIRMED: [A.REQUEST, A.CONFIRM],
    S.AMENDED: [A.REQUEST, A.AMEND],
    S.DECLINED: [A.REQUEST, A.DECLINE],
    S.EXPIRED: [A.REQUEST, A.EXPIRE],
    S.ISSUED: [A.REQUEST, A.CONFIRM, A.MARK_ISSUED],
    S.SUSPENDED: [A.REQUEST, A.CONFIRM, A.MARK_ISSUED, A.SUSPEND],
    S.REVOKED: [A.REQUEST, A.CONFIRM, A.MARK_ISSUED, A.REVOKE],
}


def fresh() -> Claim:
    return draft_claim("claim-1", make_details(), CLAIMANT, NOW)


def claim_in(state: ClaimState) -> Claim:
    claim = fresh()
    for action in PATHS[state]:
        claim = DO[action](claim)
    assert claim.state == state
    return claim


def revoked_for_compromise(key: str = KEY, via: ClaimState = S.ISSUED) -> Claim:
    return revoke(claim_in(via), "system", "signing key compromised", NOW, compromised_key=key)


ALLOWED = sorted(TRANSITIONS, key=str)
ILLEGAL = [(s, a) for s in ClaimState for a in Action if (s, a) not in TRANSITIONS]


# --- partial dates ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "words", "first", "last"),
    [
        ("1998", "1998", date(1998, 1, 1), date(1998, 12, 31)),
        ("1998-03", "March 1998", date(1998, 3, 1), date(1998, 3, 31)),
        ("1998-03-14", "14 March 1998", date(1998, 3, 14), date(1998, 3, 14)),
        ("2000-02", "February 2000", date(2000, 2, 1), date(2000, 2, 29)),
    ],
)
def test_partial_date_reads_writes_and_spans(text: str, words: str, first: date, last: date):
    value = PartialDate.parse(text)
    assert str(value) == text
    assert value.in_words() == words
    assert (value.first_day(), value.last_day()) == (first, last)


@pytest.mark.parametrize(
    "text", ["", "98", "1998-3", "1998-13", "1998-00", "1998-02-30", "1998/03", "March 1998", "x"]
)
def test_partial_date_refuses_bad_text_and_names_it(text: str):
    with pytest.raises(InvalidDateError) as caught:
        PartialDate.parse(text)
    assert repr(text) in str(caught.value)
    assert isinstance(caught.value, RplError)


def test_partial_date_needs_a_month_for_a_day():
    with pytest.raises(InvalidDateError, match="a day needs a month"):
        PartialDate(1998, None, 3)


def test_partial_dates_order_year_before_month_before_day():
    ordered = ["1997-12-31", "1998", "1998-01", "1998-03", "1998-03-01", "1998-03-14", "1999"]
    dates = [PartialDate.parse(t) for t in ordered]
    assert sorted(reversed(dates)) == dates
    assert PartialDate.parse("1998-03") == PartialDate(1998, 3)


@given(st.dates(min_value=date(1, 1, 1)), st.sampled_from(["year", "month", "day"]))
def test_partial_date_round_trips_through_text(day: date, precision: str):
    month = day.month if precision != "year" else None
    value = PartialDate(day.year, month, day.day if precision == "day" else None)
    assert PartialDate.parse(str(value)) == value
    assert value.first_day() <= day <= value.last_day()
    first = date(day.year, month or 1, day.day if precision == "day" else 1)
    last_month = month or 12
    last = (
        first
        if precision == "day"
        else date(day.year, last_month, calendar.monthrange(day.year, last_month)[1])
    )
    assert (value.first_day(), value.last_day()) == (first, last)


# --- details ---------------------------------------------------------------------------------


def test_valid_details_have_no_problems():
    assert check_details(make_details(), TODAY) == {}
    validate_details(make_details(), TODAY)


def test_every_problem_is_reported_at_once_keyed_by_field():
    bad = make_details(
        claimant_name=" ",
        role="",
        claimant_email="jane-at-example",
        claimant_did="did:nope",
        start=PartialDate.parse("2021-01"),
        end=PartialDate.parse("2020-06"),
        fte=0,
        hours=-1,
    )
    with pytest.raises(InvalidClaimError) as caught:
        validate_details(bad, TODAY)
    problems = caught.value.problems
    expected = {"claimant_name", "role", "claimant_email", "claimant_did", "end", "fte", "hours"}
    assert set(problems) == expected
    assert problems == {k: tuple(v) for k, v in check_details(bad, TODAY).items()}
    assert "before the start" in problems["end"][0]
    assert "January 2021" in problems["end"][0] and "June 2020" in problems["end"][0]


@pytest.mark.parametrize(
    ("overrides", "field", "words"),
    [
        ({"start": PartialDate.parse("2024-06")}, "start", "in the future"),
        ({"end": PartialDate.parse("2025")}, "end", "in the future"),
        ({"start": PartialDate.parse("1850")}, "start", "too long ago"),
        ({"fte": 1.6}, "fte", "at most 1.5"),
        ({"fte": 0.0}, "fte", "more than 0"),
        ({"fte": float("nan")}, "fte", "FTE"),
        ({"hours": -3.0}, "hours", "0 or more"),
        ({"hours": 1_000_000.0}, "hours", "do not fit"),
        ({"role": "  "}, "role", "give the role"),
        ({"kind": ClaimKind.STUDY, "role": ""}, "role", "give the programme"),
        ({"attester_email": "JANE@example.org"}, "attester_email", "other than you"),
        ({"attester_email": "hr@"}, "attester_email", "email address"),
        ({"organisation_id": ""}, "organisation_id", "organisation"),
        ({"start": "1998-03"}, "start", "start date"),
    ],
)
def test_details_problems_are_plain_words(overrides: dict[str, object], field: str, words: str):
    problems = check_details(make_details(**overrides), TODAY)
    assert field in problems
    assert any(words in message for message in problems[field]), problems


def test_a_period_ending_this_month_or_ongoing_is_fine():
    assert check_details(make_details(end=PartialDate(2024, 5)), TODAY) == {}
    assert check_details(make_details(end=None, hours=4000.0), TODAY) == {}


def test_plausible_hours_fit_the_period():
    one_month = {"start": PartialDate(2020, 1), "end": PartialDate(2020, 1)}
    assert check_details(make_details(**one_month, hours=160.0), TODAY) == {}
    assert "hours" in check_details(make_details(**one_month, hours=400.0), TODAY)


def test_skill_and_evidence_problems_name_the_item():
    pdf = EvidenceFile("Payslip", "", "ab" * 32, "application/pdf", 10, "payslip.pdf")
    details = make_details(
        skills=(
            Skill("Triage", framework="ESCO"),
            Skill("Triage"),
            Skill("Care", target_url="ftp://x"),
            Skill("Care plans", target_url="https://x.example/1", target_type="ESCO"),
        ),
        evidence=(pdf, dataclasses.replace(pdf, filename="../etc", size=0, media_type="pdf")),
    )
    problems = check_details(details, TODAY)
    skills = " | ".join(problems["skills"])
    assert "Skill 1 (Triage) names a framework but no link" in skills
    assert "Skill 2 (Triage) is listed twice" in skills
    assert "Skill 3 (Care): the link must start with https://" in skills
    assert "'ESCO' is not a known target type" in skills
    evidence = " | ".join(problems["evidence"])
    for words in ("same file", "unusable file name", "empty", "media type"):
        assert words in evidence


def test_aligned_skills_accept_ob3_and_extension_target_types():
    for target_type in ("CFItem", "ceasn:Competency", "ext:ESCOSkill"):
        skill = Skill("Triage", "ESCO", "http://data.europa.eu/esco/skill/1", "S1", target_type)
        assert check_details(make_details(skills=(skill,)), TODAY) == {}


# --- the transition table --------------------------------------------------------------------


def test_the_table_is_the_documented_state_machine():
    assert {(s.value, a.value): t.value for (s, a), (t, _) in TRANSITIONS.items()} == {
        ("draft", "revise"): "draft",
        ("draft", "request"): "requested",
        ("expired", "request"): "requested",
        ("requested", "confirm"): "confirmed",
        ("requested", "amend"): "amended",
        ("requested", "decline"): "declined",
        ("requested", "expire"): "expired",
        ("amended", "accept_amendment"): "confirmed",
        ("amended", "reject_amendment"): "draft",
        ("amended", "expire"): "expired",
        ("confirmed", "mark_issued"): "issued",
        ("confirmed", "correct"): "requested",
        ("issued", "suspend"): "suspended",
        ("issued", "revoke"): "revoked",
        ("suspended", "reinstate"): "issued",
        ("suspended", "revoke"): "revoked",
        ("issued", "reissue"): "issued",
        ("revoked", "reissue"): "issued",
    }


def test_declined_is_final_and_revoked_only_reissues():
    assert allowed_actions(S.DECLINED) == ()
    assert allowed_actions(S.REVOKED) == (A.REISSUE,)  # and only after a key compromise
    assert allowed_actions(S.AMENDED) == (A.ACCEPT_AMENDMENT, A.REJECT_AMENDMENT, A.EXPIRE)


def test_drafting_records_who_and_when():
    claim = fresh()
    assert claim.state == S.DRAFT
    (event,) = claim.events
    assert (event.kind, event.actor, event.at) == (EventKind.CLAIM_DRAFTED, CLAIMANT, NOW)
    assert (event.from_state, event.to_state) == (None, S.DRAFT)


def test_drafting_refuses_invalid_details():
    with pytest.raises(InvalidClaimError) as caught:
        draft_claim("claim-1", make_details(role=""), CLAIMANT, NOW)
    assert "role" in caught.value.problems


@pytest.mark.parametrize(("state", "action"), ALLOWED)
def test_every_allowed_transition_appends_one_event(state: ClaimState, action: Action):
    # An ordinarily revoked claim cannot be re-issued (see the guard's tests below).
    reissuing = (state, action) == (S.REVOKED, A.REISSUE)
    before = revoked_for_compromise() if reissuing else claim_in(state)
    after = DO[action](before)
    to_state, kind = TRANSITIONS[(state, action)]
    assert after.state == to_state
    assert after.events[:-1] == before.events
    event = after.events[-1]
    assert (event.kind, event.from_state, event.to_state, event.at) == (kind, state, to_state, NOW)
    assert event.actor
    assert replay(after.events) == to_state


@pytest.mark.parametrize(("state", "action"), ILLEGAL)
def test_every_illegal_transition_is_refused(state: ClaimState, action: Action):
    before = claim_in(state)
    with pytest.raises(IllegalTransitionError) as caught:
        DO[action](before)
    error = caught.value
    assert (error.claim_id, error.state, error.action) == ("claim-1", state, action.value)
    assert "'claim-1'" in str(error) and state.value in str(error) and action.value in str(error)


def test_events_say_who_decided():
    confirmed = claim_in(S.CONFIRMED)
    event = confirmed.events[-1]
    assert event.actor == attester_actor(ATTESTER) == f"attester:{ATTESTER}"
    assert event.data == {"attester_email": ATTESTER, "attester_role": "HR Manager"}
    assert confirmed.confirmed_by is not None
    assert (confirmed.confirmed_by.attester_email, confirmed.confirmed_by.attester_role) == (
        ATTESTER,
        "HR Manager",
    )
    declined = claim_in(S.DECLINED).events[-1]
    assert declined.actor == f"attester:{ATTESTER}"
    assert declined.reason == "We have no record of this person"
    assert claim_in(S.EXPIRED).events[-1].actor == "system"


def test_an_amendment_must_be_accepted_before_issuance():
    amended = claim_in(S.AMENDED)
    assert amended.amendment is not None and amended.amendment.changes == {"fte": 0.6}
    assert amended.details.fte == 0.8  # nothing changes until the claimant accepts
    with pytest.raises(IllegalTransitionError):
        mark_issued(amended, "urn:uuid:x", NOW)
    accepted = accept_amendment(amended, CLAIMANT, NOW + timedelta(days=2))
    assert accepted.state == S.CONFIRMED
    assert accepted.details.fte == 0.6
    assert accepted.amendment is None
    assert accepted.confirmed_by is not None
    assert accepted.confirmed_by.attester_email == ATTESTER
    assert accepted.confirmed_by.at == NOW  # when the attester vouched for the corrected facts
    assert accepted.events[-1].data == {"changes": {"fte": 0.6}}
    assert mark_issued(accepted, "urn:uuid:x", NOW).state == S.ISSUED


def test_a_rejected_amendment_returns_to_draft_for_editing():
    rejected = reject_amendment(claim_in(S.AMENDED), CLAIMANT, None, NOW)
    assert (rejected.state, rejected.amendment, rejected.details.fte) == (S.DRAFT, None, 0.8)
    revised = revise(rejected, make_details(fte=0.7), CLAIMANT, NOW)
    assert revised.events[-1].data == {"changed": ["fte"]}
    assert request(revised, CLAIMANT, NOW).state == S.REQUESTED


def test_amendment_records_changes_as_json_ready_values():
    changes = {"start": PartialDate(1998, 4), "end": None, "role": "Staff Nurse"}
    amended = amend(claim_in(S.REQUESTED), ATTESTER, "HR Manager", changes, "Checked", NOW)
    assert amended.events[-1].data["changes"] == {
        "start": "1998-04",
        "end": None,
        "role": "Staff Nurse",
    }
    assert amended.events[-1].reason == "Checked"
    assert accept_amendment(amended, CLAIMANT, NOW).details.end is None


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"claimant_name": "Bob"}, "changes", "cannot be amended"),
        ({"fte": 0.8}, "changes", "Nothing was changed"),
        ({"end": PartialDate(1990, 1)}, "end", "before the start"),
        ({"hours": -1.0}, "hours", "0 or more"),
    ],
)
def test_amendments_are_checked(changes: dict[str, object], field: str, words: str):
    requested = claim_in(S.REQUESTED)
    with pytest.raises(InvalidClaimError) as caught:
        amend(requested, ATTESTER, "HR Manager", changes, "Because", NOW)
    assert any(words in m for m in caught.value.problems[field])


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda c: decline(c, ATTESTER, "  ", NOW), "reason"),
        (lambda c: amend(c, ATTESTER, "HR", {"fte": 0.5}, "", NOW), "reason"),
        (lambda c: confirm(c, ATTESTER, " ", NOW), "attester_role"),
        (lambda c: confirm(c, CLAIMANT_EMAIL, "Nurse", NOW), "attester_email"),
        (lambda c: confirm(c, "not-an-email", "HR", NOW), "attester_email"),
    ],
)
def test_decisions_need_a_reason_a_role_and_someone_else(call, field: str):
    with pytest.raises(InvalidClaimError) as caught:
        call(claim_in(S.REQUESTED))
    assert field in caught.value.problems


def test_revoking_and_suspending_need_a_reason():
    for call in (revoke, suspend):
        with pytest.raises(InvalidClaimError):
            call(claim_in(S.ISSUED), ADMIN, "", NOW)


def test_issuance_records_the_credential():
    issued = claim_in(S.ISSUED)
    assert issued.credential_id == "urn:uuid:5f0c0c6e-credential"
    assert issued.events[-1].data == {"credential_id": issued.credential_id}
    revoked = revoke(issued, ADMIN, "Fraud", NOW)
    assert revoked.events[-1].data == {"credential_id": issued.credential_id}
    assert revoked.events[-1].reason == "Fraud"


def test_a_credential_revoked_for_its_compromised_key_is_reissued():
    revoked = revoked_for_compromise()
    assert revoked.events[-1].data == {
        "credential_id": "urn:uuid:5f0c0c6e-credential",
        "compromised_key": KEY,
    }
    again = reissue(revoked, "urn:uuid:replacement", KEY, ADMIN, NOW + timedelta(hours=1))
    assert (again.state, again.credential_id) == (S.ISSUED, "urn:uuid:replacement")
    event = again.events[-1]
    assert (event.kind, event.actor, event.reason) == (
        EventKind.CREDENTIAL_REISSUED,
        ADMIN,
        "key compromised",
    )
    assert event.data == {
        "credential_id": "urn:uuid:replacement",
        "replaces": "urn:uuid:5f0c0c6e-credential",
        "compromised_key": KEY,
    }
    assert replay(again.events) == S.ISSUED
    # The replacement is an ordinary issued credential: it can be revoked (for good) in turn.
    assert revoke(again, ADMIN, "Fraud", NOW).events[-1].data["credential_id"] == (
        "urn:uuid:replacement"
    )


def test_an_issued_credential_whose_key_was_compromised_is_reissued_in_one_step():
    again = reissue(claim_in(S.ISSUED), "urn:uuid:replacement", KEY, "system", NOW)
    assert again.state == S.ISSUED
    assert [e.kind for e in again.events][-2:] == [
        EventKind.CREDENTIAL_ISSUED,
        EventKind.CREDENTIAL_REISSUED,
    ]


@pytest.mark.parametrize(
    ("make", "key", "words"),
    [
        (lambda: claim_in(S.REVOKED), KEY, "revoked by the organisation"),
        (lambda: revoked_for_compromise(key=KEY + "0"), KEY, "revoked by the organisation"),
        (lambda: revoked_for_compromise(via=S.SUSPENDED), KEY, "was suspended"),
        (lambda: revoked_for_compromise(), " ", "names the compromised key"),
        (lambda: claim_in(S.ISSUED), "", "names the compromised key"),
    ],
)
def test_only_a_revocation_for_the_compromised_key_can_be_undone_by_a_reissue(
    make: Callable[[], Claim], key: str, words: str
):
    claim = make()
    with pytest.raises(ReissueRefusedError) as caught:
        reissue(claim, "urn:uuid:replacement", key, ADMIN, NOW)
    assert isinstance(caught.value, IllegalTransitionError)  # the API answers 409, as for others
    assert words in str(caught.value) and "'claim-1'" in str(caught.value)
    assert caught.value.action == "reissue"


def test_a_reissue_needs_a_new_credential_id_and_a_revocation_a_named_key():
    for credential_id in ("", "urn:uuid:5f0c0c6e-credential"):
        with pytest.raises(InvalidClaimError):
            reissue(revoked_for_compromise(), credential_id, KEY, ADMIN, NOW)
    with pytest.raises(InvalidClaimError) as caught:
        revoke(claim_in(S.ISSUED), "system", "key compromised", NOW, compromised_key=" ")
    assert "compromised_key" in caught.value.problems


def test_replay_refuses_a_reissue_after_an_ordinary_revocation():
    good = reissue(revoked_for_compromise(), "urn:uuid:replacement", KEY, ADMIN, NOW)
    ordinary = claim_in(S.REVOKED).events
    forged = (*ordinary, good.events[-1])  # the re-issue pasted after an ordinary revocation
    assert forged[-2].data == {"credential_id": "urn:uuid:5f0c0c6e-credential"}
    with pytest.raises(InvalidEventError, match="CredentialReissued"):
        replay(forged)


def test_an_unanswered_amendment_lapses_when_it_expires():
    expired = expire(claim_in(S.AMENDED), NOW)
    assert (expired.state, expired.amendment) == (S.EXPIRED, None)
    assert expired.events[-2].data["changes"] == {"fte": 0.6}


def test_an_expired_request_can_be_sent_again():
    again = request(claim_in(S.EXPIRED), CLAIMANT, NOW)
    assert again.state == S.REQUESTED
    assert [e.kind for e in again.events].count(EventKind.CLAIM_REQUESTED) == 2


def test_transitions_do_not_change_their_input():
    before = claim_in(S.REQUESTED)
    snapshot = dataclasses.replace(before)
    confirm(before, ATTESTER, "HR Manager", NOW)
    assert before == snapshot and before.state == S.REQUESTED


@pytest.mark.parametrize(
    "call",
    [
        lambda c: request(c, CLAIMANT, datetime(2024, 5, 1, 12)),
        lambda c: request(c, "jane@example.org", NOW),
        lambda c: request(c, "", NOW),
    ],
)
def test_events_need_an_aware_time_and_a_known_kind_of_actor(call):
    with pytest.raises(InvalidEventError):
        call(fresh())


def test_replay_refuses_a_log_that_breaks_the_table():
    issued = claim_in(S.ISSUED)
    with pytest.raises(InvalidEventError):
        replay(issued.events[:1] + issued.events[2:])  # confirmed without being requested
    with pytest.raises(InvalidEventError):
        replay(issued.events[1:])  # no ClaimDrafted first
    with pytest.raises(InvalidEventError):
        replay(())


@given(st.data())
def test_random_action_sequences_follow_the_table_and_replay(data: st.DataObject):
    claim = fresh()
    # The model of the re-issue guard: was the last revocation one of an issued credential
    # whose key was compromised? Revocations are drawn of both kinds.
    reissuable = False
    credentials = []
    for _ in range(data.draw(st.integers(0, 30))):
        # Mostly legal moves, so that sequences get deep; sometimes any action at all.
        legal = allowed_actions(claim.state)
        pick_legal = legal and data.draw(st.integers(0, 3)) > 0
        action = data.draw(st.sampled_from(legal if pick_legal else tuple(Action)))
        target = TRANSITIONS.get((claim.state, action))
        if target is None:
            with pytest.raises(IllegalTransitionError):
                DO[action](claim)
            continue
        if (claim.state, action) == (S.REVOKED, A.REISSUE) and not reissuable:
            with pytest.raises(ReissueRefusedError):
                DO[action](claim)
            continue
        if action is A.REVOKE and data.draw(st.booleans()):
            reissuable = claim.state is S.ISSUED
            claim = revoke(claim, "system", "key compromised", NOW, compromised_key=KEY)
        else:
            reissuable = False
            claim = DO[action](claim)
        if action in (A.MARK_ISSUED, A.REISSUE):
            credentials.append(claim.credential_id)
        assert claim.state == target[0]
        assert claim.state in ClaimState
    assert replay(claim.events) == claim.state
    # Each re-issue brings a new credential, and the claim names the latest one.
    assert len(set(credentials)) == len(credentials)
    assert claim.credential_id == (credentials[-1] if credentials else None)
    assert (claim.amendment is not None) == (claim.state == S.AMENDED)
    issued_ever = claim.state in {S.ISSUED, S.SUSPENDED, S.REVOKED}
    assert (claim.credential_id is not None) == issued_ever
    assert (claim.confirmed_by is not None) == (issued_ever or claim.state == S.CONFIRMED)


# --- a person correcting a pre-confirmed (roster) claim ---------------------------------------


def test_a_correction_drops_the_confirmation_and_keeps_original_and_corrected_values():
    confirmed = claim_in(S.CONFIRMED)
    corrected = correct(confirmed, CLAIMANT, {"role": "Charge Nurse", "hours": 900.0}, NOW)
    assert corrected.state == S.REQUESTED and corrected.confirmed_by is None
    assert corrected.details.role == "Charge Nurse"
    event = corrected.events[-1]
    assert event.kind is EventKind.CLAIM_CORRECTED
    assert event.data["original"] == {"role": confirmed.details.role, "hours": None}
    assert event.data["amended"] == {"role": "Charge Nurse", "hours": 900.0}
    assert replay(corrected.events) == S.REQUESTED


def test_a_correction_must_change_something_valid():
    confirmed = claim_in(S.CONFIRMED)
    with pytest.raises(InvalidClaimError, match="Nothing was changed"):
        correct(confirmed, CLAIMANT, {"role": confirmed.details.role}, NOW)
    with pytest.raises(InvalidClaimError, match="cannot be corrected"):
        correct(confirmed, CLAIMANT, {"claimant_email": "x@example.org"}, NOW)
    with pytest.raises(InvalidClaimError):
        correct(confirmed, CLAIMANT, {"role": ""}, NOW)
