"""`created` and other xsd:dateTime values: the fast path for whole UTC seconds agrees with the rule."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rpl.proofs.dataintegrity import ProofError, parse_datetime


@given(
    st.integers(1, 9999),
    st.integers(0, 13),
    st.integers(0, 32),
    st.integers(0, 24),
    st.integers(0, 60),
    st.integers(0, 60),
)
def test_whole_utc_seconds_parse_as_the_calendar_says(
    year: int, month: int, day: int, hour: int, minute: int, second: int
) -> None:
    text = f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}Z"
    try:
        expected = datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError:
        with pytest.raises(ProofError):
            parse_datetime(text, "created")
        return
    assert parse_datetime(text, "created") == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2023-02-24T23:36:38Z", datetime(2023, 2, 24, 23, 36, 38, tzinfo=UTC)),
        ("2023-02-24T23:36:38", datetime(2023, 2, 24, 23, 36, 38, tzinfo=UTC)),
        ("2023-02-25T01:36:38+02:00", datetime(2023, 2, 24, 23, 36, 38, tzinfo=UTC)),
        ("2023-02-24T23:36:38.5Z", datetime(2023, 2, 24, 23, 36, 38, 500000, tzinfo=UTC)),
    ],
)
def test_other_forms_take_the_general_parser(text: str, expected: datetime) -> None:
    assert parse_datetime(text, "created") == expected


@pytest.mark.parametrize("text", ["2023-02-30T00:00:00Z", "2023-02-24 23:36:38Z", "", "2023"])
def test_impossible_or_malformed_values_are_refused(text: str) -> None:
    with pytest.raises(ProofError):
        parse_datetime(text, "created")
