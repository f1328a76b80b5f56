"""Crosswalks in and out: JSON and CSV round trips, digests, and a clear message per bad line."""

from __future__ import annotations

import csv
import io
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rpl.crosswalk import CrosswalkError, from_json, to_json
from rpl.crosswalk_io import read_csv, read_json, write_csv, write_json
from tests.credit.support import sample_crosswalk

NAMES = ("nursing", "community-work")


@pytest.mark.parametrize("name", NAMES)
def test_the_shipped_crosswalks_round_trip_through_json_and_csv(name: str) -> None:
    crosswalk = sample_crosswalk(name)
    assert read_json(write_json(crosswalk)) == crosswalk
    assert read_csv(write_csv(crosswalk)) == crosswalk
    assert read_csv(write_csv(crosswalk)).digest == crosswalk.digest


def test_the_digest_names_content_not_layout() -> None:
    crosswalk = sample_crosswalk("nursing")
    reordered = json.loads(write_json(crosswalk), object_pairs_hook=lambda p: dict(reversed(p)))
    assert from_json(reordered).digest == crosswalk.digest
    changed = to_json(crosswalk)
    changed["courses"][0]["credits"] = 15
    assert from_json(changed).digest != crosswalk.digest


text_st = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=20
).filter(lambda s: s.strip() == s and "|" not in s and not s.startswith("'"))


@settings(max_examples=100, deadline=None)
@given(
    title=text_st,
    note=text_st,
    skills=st.lists(text_st, min_size=1, max_size=4, unique=True),
    k=st.integers(1, 9),
)
def test_any_texts_survive_the_csv_round_trip(
    title: str, note: str, skills: list[str], k: int
) -> None:
    doc = to_json(sample_crosswalk("community-work"))
    doc["title"] = title
    doc["rules"][1] |= {"note": note, "k": k, "match": {"skills": skills}}
    crosswalk = from_json(doc)
    assert read_csv(write_csv(crosswalk)) == crosswalk


def test_bad_json_names_every_problem_with_its_path() -> None:
    doc = to_json(sample_crosswalk("nursing"))
    doc["version"] = 0
    doc["courses"][1]["credits"] = "twenty"
    doc["rules"][0]["match"]["within"] = 3
    doc["rules"][1]["kind"] = "some"
    doc["rules"][2]["course"] = "NURS-999"
    with pytest.raises(CrosswalkError) as caught:
        from_json(doc)
    problems = caught.value.problems
    assert "$.version: must be a whole number of at least 1" in problems
    assert "$.courses[1].credits: must be a number of at least 0, got 'twenty'" in problems
    assert any(p.startswith("$.rules[0].match.within: is not a criterion") for p in problems)
    assert "$.rules[1].kind: 'some' is not one of any, hours" in problems
    assert "rule 'N3' names course 'NURS-999', which is not listed" in problems
    with pytest.raises(CrosswalkError, match="not JSON"):
        read_json('{"id": "a", "id": "b"}')


def test_bad_csv_names_the_line_of_each_problem() -> None:
    rows = list(csv.reader(io.StringIO(write_csv(sample_crosswalk("community-work")))))
    rows[3][8] = "lots"  # line 4: a course's credits
    rows[10][13] = "0"  # line 11: rule C3's k
    rows.append(["chapter"] + [""] * (len(rows[0]) - 1))
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    with pytest.raises(CrosswalkError) as caught:
        read_csv(out.getvalue())
    assert caught.value.problems == (
        "line 4: credits 'lots' is not a number",
        "line 13: record 'chapter' is not one of crosswalk, course, cap, rule",
    )
    rows.pop()
    rows[3][8] = "15"
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    with pytest.raises(CrosswalkError) as caught:
        read_csv(out.getvalue())
    assert caught.value.problems == ("line 11 (rule) k: must be at least 1",)


def test_csv_cells_that_a_spreadsheet_would_run_are_defused() -> None:
    doc = to_json(sample_crosswalk("community-work"))
    doc["rules"][0]["note"] = '=HYPERLINK("http://evil.example","x")'
    text = write_csv(from_json(doc))
    assert ",=HYPERLINK" not in text and '"=HYPERLINK' not in text
