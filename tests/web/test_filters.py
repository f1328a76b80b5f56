"""Template filters: what pages show of Markdown narratives, dates and states."""

from __future__ import annotations

from rpl.web.filters import day, paragraphs, state_words


def test_narratives_show_as_paragraphs_without_markdown_escapes() -> None:
    narrative = "O\\_Brien \\[HR\\] confirmed\n  it.\n\nNot an \\*assessment\\*."
    assert paragraphs(narrative) == ["O_Brien [HR] confirmed it.", "Not an *assessment*."]
    assert paragraphs(None) == [] and paragraphs("\n\n") == []


def test_dates_and_states_read_as_words() -> None:
    assert day("2026-11-23T01:40:09Z") == "23 November 2026"
    assert day("not a date") == "not a date"
    assert state_words("amended") == "The organisation proposed corrections"
