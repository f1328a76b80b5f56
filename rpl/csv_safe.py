"""CSV that a spreadsheet cannot turn into a formula (OWASP "CSV Injection").

A cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return may be run as a formula by
Excel, LibreOffice or Google Sheets (`=HYPERLINK(...)`, `@SUM(...)`, DDE). Every CSV rpl writes
goes through here: such a cell is prefixed with a single quote, which spreadsheets show as text
and do not evaluate. Numbers we write ourselves (ints, floats) are left alone, so `-3` stays a
number; the same text typed by a person is neutralised.

    writer = csv_safe.writer(handle)
    writer.writerow(["name", "=1+1"])      # written as: name,'=1+1
    csv_safe.safe_row(["-2", -2])           # ["'-2", "-2"]
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import Any, Protocol

# OWASP's list: the characters that start a formula, and the two that can hide one.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class _Writable(Protocol):
    def write(self, text: str, /) -> Any: ...


def safe_cell(value: Any) -> str:
    """One cell as text, neutralised if a spreadsheet could read it as a formula."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value) if isinstance(value, float) else str(value)
    text = str(value)
    if text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


def safe_row(values: Iterable[Any]) -> list[str]:
    return [safe_cell(v) for v in values]


class SafeWriter:
    """`csv.writer` with every row passed through `safe_row`."""

    def __init__(self, handle: _Writable, **options: Any) -> None:
        self._writer = csv.writer(handle, **options)

    def writerow(self, values: Iterable[Any]) -> Any:
        return self._writer.writerow(safe_row(values))

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def writer(handle: _Writable, **options: Any) -> SafeWriter:
    """Like `csv.writer(handle, **options)`, but formula-safe."""
    return SafeWriter(handle, **options)
