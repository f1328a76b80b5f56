"""Reading rosters: every row becomes a claim's facts or a rejection with its reason; the file goes on."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rpl import claims
from rpl.roster import (
    RejectedRow,
    RosterFormatError,
    RosterOptions,
    RosterRow,
    natural_key,
    parse_row,
    preconfirmed_claim,
    read_records,
    read_roster,
    row_key,
)

OPTIONS = RosterOptions("org-1", "records@org.example", "Records Office")
TODAY = date(2026, 11, 23)


def _read(text: str) -> list[RosterRow | RejectedRow]:
    return list(read_roster(io.StringIO(text, newline=""), OPTIONS, TODAY))


def test_columns_are_found_by_name_in_any_order_and_aliases_count() -> None:
    [row] = _read(
        "Start,Programme,NAME,did,email\n2019-09,Nursing BSc,Ana,did:key:z6Mk1,ana@x.org\n"
    )
    assert isinstance(row, RosterRow)
    assert row.details.role == "Nursing BSc" and row.details.claimant_did == "did:key:z6Mk1"
    assert row.details.kind is claims.ClaimKind.CONTRIBUTION  # the upload's default


def test_a_bad_row_is_rejected_with_its_line_and_the_rest_goes_on() -> None:
    rows = _read(
        "identifier,name,role,start,kind\n"
        "a@x.org,A,Porter,2010,volunteering\n"
        "\n"
        "b@x.org,B,Porter\n"
        "c@x.org,C,Porter,2010-00,\n"
        "d@x.org,D,Porter,2010,employment\n"
    )
    assert [type(r).__name__ for r in rows] == ["RejectedRow"] * 3 + ["RosterRow"]
    first, short, month, good = rows
    assert (
        isinstance(first, RejectedRow)
        and first.line == 2
        and "'volunteering' is not" in first.reason
    )
    assert (
        isinstance(short, RejectedRow)
        and short.line == 4
        and "3 cells; the header has 5" in short.reason
    )
    assert isinstance(month, RejectedRow) and "month must be between 01 and 12" in month.reason
    assert isinstance(good, RosterRow) and good.line == 6


def test_undecodable_bytes_reject_their_row_only() -> None:
    raw = "identifier,name,role,start\na@x.org,\ufffd,Porter,2010\nb@x.org,B,Porter,2011\n"
    rows = _read(raw)
    assert isinstance(rows[0], RejectedRow) and "not UTF-8" in rows[0].reason
    assert isinstance(rows[1], RosterRow)


@pytest.mark.parametrize("text", ["", "name,role\nA,B\n"])
def test_a_file_without_the_required_columns_is_no_roster(text: str) -> None:
    with pytest.raises(RosterFormatError):
        _read(text)


def test_the_natural_key_ignores_case_and_spacing_but_not_the_start() -> None:
    start = claims.PartialDate(2010)
    same = natural_key("o", "Ana@X.org ", "Ward  Volunteer", start)
    assert same == natural_key("o", "ana@x.org", "ward volunteer", start)
    assert same != natural_key("o", "ana@x.org", "ward volunteer", claims.PartialDate(2011))
    assert same != natural_key("p", "ana@x.org", "ward volunteer", start)


def test_a_roster_claim_is_confirmed_by_the_uploader_with_a_valid_event_log() -> None:
    [row] = _read("identifier,name,role,start\nana@x.org,Ana,Porter,2010\n")
    assert isinstance(row, RosterRow)
    now = datetime(2026, 11, 23, tzinfo=UTC)
    claim = preconfirmed_claim("c-1", row, OPTIONS, "admin:boss@org.example", "imp-1", now)
    assert claims.replay(claim.events) is claims.ClaimState.CONFIRMED
    assert [e.actor for e in claim.events] == ["admin:boss@org.example"] * 3
    assert claim.events[-1].data["roster_import"] == "imp-1"
    assert claim.confirmed_by == claims.Confirmation("records@org.example", "Records Office", now)


_HEADER = ("identifier", "name", "role", "start", "end", "hours")
_CELL = st.one_of(
    st.sampled_from(["", " ", "ana@x.org", " Ana@X.org ", "did:key:z6Mk1", "x", "2019", "2019-13"]),
    st.sampled_from([" 2019-09 ", "2020-02-29", "2021-02-29", "Porter", " Ward  volunteer ", "12"]),
    st.text(max_size=12),
)


@settings(max_examples=400, deadline=None)
@given(cells=st.lists(_CELL, min_size=5, max_size=7))
def test_a_rows_key_is_known_before_it_is_checked_and_is_the_key_it_gets(cells: list[str]):
    """A bulk import looks a row's key up (`row_key`) before a signer checks it: whenever
    `parse_row` accepts the row, the key it gives is that one."""
    row = parse_row(2, _HEADER, cells, OPTIONS, TODAY)
    if isinstance(row, RosterRow):
        assert row_key(_HEADER, cells, OPTIONS.organisation_id) == row.key


def test_records_are_read_unchecked_blank_lines_skipped_and_unreadable_ones_rejected() -> None:
    huge = "x" * 200_000  # beyond csv's field size limit
    text = f"identifier,name,role,start\n\na@x.org,Ana,Porter,2019\n ,,,\nb@x.org,{huge}\n"
    header, records = read_records(io.StringIO(text, newline=""))
    assert header == ("identifier", "name", "role", "start")
    assert next(records) == (3, ["a@x.org", "Ana", "Porter", "2019"])
    unread = next(records)
    assert isinstance(unread, RejectedRow) and "cannot be read as CSV" in unread.reason
    assert unread.line == 5 and list(records) == []


def test_reading_records_of_a_file_that_is_no_roster_fails_at_once() -> None:
    with pytest.raises(RosterFormatError):
        read_records(io.StringIO("name,role\nAna,Porter\n", newline=""))
