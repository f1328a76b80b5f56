"""The passport's pure core: grouping, the skill summary, what the holder types, share links."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from rpl import passport as pp
from rpl.claims import ClaimKind, ClaimState, PartialDate, Skill

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
NO_NOTE = pp.HolderNote()
ESCO_CARE = pp.SkillRef("patient care", "ESCO", "S1", "http://data.europa.eu/esco/skill/abc")


def record(
    claim_id: str,
    organisation: str = "St Mary's Hospital",
    start: str = "1998-03",
    end: str | None = "2020-06",
    state: ClaimState = ClaimState.ISSUED,
    skills: tuple[pp.SkillRef, ...] = (),
    note: pp.HolderNote = NO_NOTE,
) -> pp.PassportRecord:
    return pp.PassportRecord(
        claim_id=claim_id,
        state=state,
        kind=ClaimKind.EMPLOYMENT,
        role="Nurse",
        organisation=organisation,
        start=PartialDate.parse(start),
        end=PartialDate.parse(end) if end else None,
        credential_id=f"cred-{claim_id}" if state is not ClaimState.REQUESTED else None,
        skills=skills,
        note=note,
    )


def titles(groups: tuple[pp.Group, ...]) -> list[tuple[str, list[str]]]:
    return [(g.title, [r.claim_id for r in g.records]) for g in groups]


def test_by_period_puts_ongoing_first_then_decades_newest_first() -> None:
    found = pp.group_records(
        [
            record("a", start="1998-03", end="2020-06"),
            record("b", start="2021-01", end=None),
            record("c", start="1995", end="1996"),
            record("d", start="2012-09", end="2014"),
        ],
        pp.GroupBy.PERIOD,
    )
    assert titles(found) == [
        ("Still going on", ["b"]),
        ("Began in the 2010s", ["d"]),
        ("Began in the 1990s", ["a", "c"]),
    ]


def test_by_organisation_is_alphabetical_and_ignores_case_and_spacing() -> None:
    found = pp.group_records(
        [
            record("a", "St Mary's Hospital"),
            record("b", "city food bank", start="2010"),
            record("c", "st  mary's hospital", start="2001"),
        ],
        pp.GroupBy.ORGANISATION,
    )
    assert titles(found) == [("city food bank", ["b"]), ("St Mary's Hospital", ["c", "a"])]


def test_by_skill_lists_a_record_under_each_skill_most_backed_first() -> None:
    mentoring, spaced = pp.SkillRef("mentoring"), pp.SkillRef(" Mentoring ")
    found = pp.group_records(
        [
            record("a", skills=(ESCO_CARE, mentoring)),
            record("b", start="2005", skills=(spaced, mentoring)),
            record("c"),
        ],
        pp.GroupBy.SKILL,
    )
    assert titles(found) == [
        ("mentoring", ["b", "a"]),
        ("patient care", ["a"]),
        ("No skills named", ["c"]),
    ]
    assert found[1].skill == ESCO_CARE and found[1].skill.term == "ESCO S1"


def test_the_same_framework_entry_from_two_organisations_is_one_skill() -> None:
    other_words = pp.SkillRef("caring for patients", "ESCO", "S1", ESCO_CARE.url)
    found = pp.skill_summary(
        [record("a", skills=(ESCO_CARE,)), record("b", "Other", skills=(other_words,))]
    )
    assert [(s.skill.name, len(s.records)) for s in found] == [("patient care", 2)]


def test_the_skill_summary_counts_only_confirmed_and_issued_records() -> None:
    care = (ESCO_CARE,)
    found = pp.skill_summary(
        [
            record("issued", skills=care),
            record("confirmed", state=ClaimState.CONFIRMED, skills=care),
            record("pending", state=ClaimState.REQUESTED, skills=care),
            record("revoked", state=ClaimState.REVOKED, skills=care),
            record("declined", state=ClaimState.DECLINED, skills=(pp.SkillRef("lying"),)),
        ]
    )
    assert [(s.skill.name, [r.claim_id for r in s.records]) for s in found] == [
        ("patient care", ["confirmed", "issued"])
    ]


def test_skills_come_from_what_was_signed_alignments_then_tags() -> None:
    document = {
        "credentialSubject": {
            "achievement": {
                "alignment": [
                    {
                        "targetName": "patient care",
                        "targetUrl": ESCO_CARE.url,
                        "targetCode": "S1",
                        "targetFramework": "ESCO",
                    }
                ],
                "tag": "mentoring",
            }
        }
    }
    assert pp.skills_of_document(document) == (ESCO_CARE, pp.SkillRef("mentoring"))
    claimed = pp.skills_of_claim(
        (Skill("patient care", "ESCO", ESCO_CARE.url, "S1"), Skill("mentoring"))
    )
    assert claimed == (ESCO_CARE, pp.SkillRef("mentoring"))


def test_an_unknown_grouping_is_named() -> None:
    assert pp.parse_grouping("") is pp.GroupBy.PERIOD
    assert pp.parse_grouping(" Skill ") is pp.GroupBy.SKILL
    with pytest.raises(pp.UnknownGroupingError, match="'colour' is not a way to group"):
        pp.parse_grouping("colour")


def test_notes_and_story_are_trimmed_and_limited() -> None:
    assert pp.check_note("  A headline\n", " notes \r\n more ") == pp.HolderNote(
        "A headline", "notes \n more"
    )
    with pytest.raises(pp.InvalidPassportInputError) as err:
        pp.check_note("h" * 161, "n\x00")
    assert err.value.problems == {
        "headline": ("Keep it to 160 characters (this is 161).",),
        "notes": ("Remove the invisible control characters.",),
    }
    with pytest.raises(pp.InvalidPassportInputError, match="story"):
        pp.check_story("", "s" * 4001)


@pytest.mark.parametrize("good", ["abc", "margaret-okafor", "M-1-2", "a" * 40])
def test_good_handles_are_kept_in_lower_case(good: str) -> None:
    assert pp.check_handle(f" {good} ") == good.lower()


@pytest.mark.parametrize("bad", ["ab", "-abc", "abc-", "a--b", "a b", "ab/c", "é-tienne", "a" * 41])
def test_bad_handles_are_refused(bad: str) -> None:
    with pytest.raises(pp.InvalidPassportInputError, match="3 to 40 letters"):
        pp.check_handle(bad)


def test_a_share_request_is_checked_against_what_may_be_shared() -> None:
    made = pp.check_share(["a", "b", "a", ""], " 7 ", " For the clinic ", True, {"a", "b"}, NOW)
    assert made == pp.ShareRequest(("a", "b"), "For the clinic", NOW + timedelta(days=7), True)
    assert pp.check_share(["a"], "", "", False, {"a"}, NOW).expires_at is None
    for claim_ids, days, field, message in (
        ([], "", "records", "Choose at least one record"),
        (["x"], "", "records", "Only your own records"),
        (["a"], "0", "days", "from 1 to 365"),
        (["a"], "366", "days", "from 1 to 365"),
        (["a"], "-1", "days", "from 1 to 365"),
        (["a"], "two", "days", "from 1 to 365"),
    ):
        with pytest.raises(pp.InvalidPassportInputError) as err:
            pp.check_share(claim_ids, days, "", False, {"a"}, NOW)
        assert message in err.value.problems[field][0]


def test_a_link_works_until_revoked_or_expired() -> None:
    link = pp.ShareLink("l", "acc", "", ("a",), False, NOW, NOW + timedelta(days=1), None)
    assert link.state(NOW) is pp.LinkState.ACTIVE
    assert link.state(NOW + timedelta(days=1)) is pp.LinkState.EXPIRED
    revoked = pp.ShareLink("l", "acc", "", ("a",), False, NOW, None, NOW)
    assert revoked.state(NOW) is pp.LinkState.REVOKED


def test_visibility_names_every_link_and_the_profile_per_record() -> None:
    noted = pp.HolderNote("mine")
    records = [record("a", note=noted), record("b"), record("c", note=noted)]
    live = pp.ShareLink("l1", "acc", "job", ("a",), False, NOW, None, None)
    dead = pp.ShareLink("l2", "acc", "old", ("a", "b"), False, NOW, None, NOW)
    profile = pp.Profile(
        "me", True, False, (pp.ProfileChoice("c", True), pp.ProfileChoice("b", True))
    )
    seen = pp.visibility(records, [live, dead], profile, NOW)
    assert seen["a"].links == ((live, pp.LinkState.ACTIVE), (dead, pp.LinkState.REVOKED))
    assert not seen["a"].private and not seen["a"].on_profile
    assert seen["b"].on_profile and not seen["b"].note_on_profile  # it has no note to show
    assert seen["c"].note_on_profile
    hidden = pp.visibility(records, [dead], pp.Profile("me", False, False, profile.choices), NOW)
    assert all(v.private for v in hidden.values())
