"""Crosswalks in and out as JSON and CSV, with one clear message per bad line.

The CSV form is one file, a row per record, the `record` column saying which:
`crosswalk` (id, version, title, institution, description, hours_per_year), `course` (code, title,
credits, area), `cap` (area, max_credits) and `rule` (id, course, kind, k, total_hours, the match
criteria — lists separated by `|` — and note). Rows keep their order; rules are applied in it.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TextIO

from rpl.crosswalk import Crosswalk, CrosswalkError, from_json, to_json
from rpl.jsonio import loads_strict

COLUMNS = (
    "record",
    "id",
    "version",
    "title",
    "institution",
    "description",
    "hours_per_year",
    "code",
    "credits",
    "area",
    "max_credits",
    "course",
    "kind",
    "k",
    "total_hours",
    "achievement_ids",
    "achievement_types",
    "issuers",
    "skills",
    "min_hours",
    "min_level",
    "within_years",
    "note",
)
_LISTS = ("achievement_ids", "achievement_types", "issuers", "skills")
_MATCH_NUMBERS = ("min_hours", "min_level", "within_years")
_SEPARATOR = "|"


def read_json(text: str | bytes) -> Crosswalk:
    try:
        value = loads_strict(text)
    except Exception as err:  # noqa: BLE001 - any parse failure is the same problem for the user
        raise CrosswalkError([f"not JSON: {err}"]) from err
    return from_json(value)


def write_json(crosswalk: Crosswalk) -> str:
    return json.dumps(to_json(crosswalk), indent=2, ensure_ascii=False) + "\n"


# --- CSV out ----------------------------------------------------------------------------------


def _csv_writer(out: TextIO) -> Callable[[Sequence[Any]], None]:
    """The one place CSV rows are written: through the formula-injection-safe writer when the
    project has it (rpl.csv_safe), so a cell such as '=HYPERLINK(…)' is never run by a spreadsheet."""
    try:
        from rpl import csv_safe
    except ImportError:
        plain = csv.writer(out, lineterminator="\n")
        return lambda row: plain.writerow(_defuse(row))
    safe = csv_safe.writer(out, lineterminator="\n")
    return lambda row: safe.writerow(row)


def _defuse(row: Sequence[Any]) -> list[str]:
    # Until rpl.csv_safe is there: OWASP's advice, a leading quote before a formula trigger.
    cells = ["" if v is None else str(v) for v in row]
    return ["'" + c if c[:1] in _TRIGGERS else c for c in cells]


_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def _restore(cell: str | None) -> str:
    """Undo the export's defusing quote, so a cell such as '-1 week' reads back as written."""
    text = cell or ""
    return text[1:] if text[:1] == "'" and text[1:2] in _TRIGGERS else text


def _number(value: float | int | None) -> str:
    return "" if value is None else f"{value:g}"


def _rows(crosswalk: Crosswalk) -> Iterable[dict[str, str]]:
    doc = to_json(crosswalk)
    yield {
        "record": "crosswalk",
        "id": crosswalk.id,
        "version": str(crosswalk.version),
        "title": crosswalk.title,
        "institution": crosswalk.institution,
        "description": crosswalk.description,
        "hours_per_year": _number(crosswalk.hours_per_year),
    }
    for course in crosswalk.courses:
        yield {
            "record": "course",
            "code": course.code,
            "title": course.title,
            "credits": _number(course.credits),
            "area": course.area,
        }
    for area, cap in doc["caps"].items():
        yield {"record": "cap", "area": area, "max_credits": _number(cap)}
    for rule in crosswalk.rules:
        row = {
            "record": "rule",
            "id": rule.id,
            "course": rule.course,
            "kind": rule.kind.value,
            "k": str(rule.k) if rule.kind == "any" else "",
            "total_hours": _number(rule.total_hours),
            "note": rule.note,
        }
        row |= {name: _SEPARATOR.join(getattr(rule.match, name)) for name in _LISTS}
        row |= {name: _number(getattr(rule.match, name)) for name in _MATCH_NUMBERS}
        yield row


def write_csv(crosswalk: Crosswalk) -> str:
    out = io.StringIO()
    write = _csv_writer(out)
    write(COLUMNS)
    for row in _rows(crosswalk):
        write([row.get(c, "") for c in COLUMNS])
    return out.getvalue()


# --- CSV in -----------------------------------------------------------------------------------


def _cell_number(row: dict[str, str], name: str, line: int, problems: list[str]) -> Any:
    text = (row.get(name) or "").strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        problems.append(f"line {line}: {name} {text!r} is not a number")
        return None
    return int(value) if value.is_integer() else value


def _cell_list(row: dict[str, str], name: str) -> list[str]:
    return [p.strip() for p in (row.get(name) or "").split(_SEPARATOR) if p.strip()]


def _text(row: dict[str, str], name: str) -> str | None:
    return (row.get(name) or "").strip() or None


def _record(row: dict[str, str], line: int, doc: dict[str, Any], problems: list[str]) -> None:
    kind = (row.get("record") or "").strip()
    num = lambda name: _cell_number(row, name, line, problems)  # noqa: E731
    if kind == "crosswalk":
        if doc.get("id") is not None:
            problems.append(f"line {line}: a second crosswalk row; one file holds one crosswalk")
        doc.update(
            id=_text(row, "id"),
            version=num("version"),
            title=_text(row, "title"),
            institution=_text(row, "institution"),
        )
        for name, value in (
            ("description", _text(row, "description")),
            ("hours_per_year", num("hours_per_year")),
        ):
            if value is not None:
                doc[name] = value
    elif kind == "course":
        course = {
            "code": _text(row, "code"),
            "title": _text(row, "title"),
            "credits": num("credits"),
        }
        doc["courses"].append(
            course | ({"area": row["area"].strip()} if _text(row, "area") else {})
        )
    elif kind == "cap":
        doc["caps"][_text(row, "area") or ""] = num("max_credits")
    elif kind == "rule":
        doc["rules"].append(_rule_value(row, num))
    else:
        problems.append(f"line {line}: record {kind!r} is not one of crosswalk, course, cap, rule")
        return
    doc["_lines"].append((kind, line))


def _rule_value(row: dict[str, str], num: Callable[[str], Any]) -> dict[str, Any]:
    rule: dict[str, Any] = {"id": _text(row, "id"), "course": _text(row, "course")}
    rule["kind"] = _text(row, "kind") or "any"
    for name in ("k", "total_hours"):
        if (value := num(name)) is not None:
            rule[name] = value
    match: dict[str, Any] = {
        name: _cell_list(row, name) for name in _LISTS if _cell_list(row, name)
    }
    for name in _MATCH_NUMBERS:
        if (value := num(name)) is not None:
            match[name] = value
    rule["match"] = match
    if note := _text(row, "note"):
        rule["note"] = note
    return rule


def read_csv(text: str) -> Crosswalk:
    """Read the CSV form; `CrosswalkError` names the line of each problem."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    missing = [c for c in ("record",) if c not in (reader.fieldnames or [])]
    if missing:
        raise CrosswalkError(["line 1: the header has no 'record' column"])
    doc: dict[str, Any] = {"courses": [], "caps": {}, "rules": [], "_lines": []}
    problems: list[str] = []
    for row in reader:
        cells = {k: _restore(v) for k, v in row.items() if k is not None}
        _record(cells, reader.line_num, doc, problems)
    if doc.get("id") is None and not problems:
        problems.append("no crosswalk row (record=crosswalk) naming its id and version")
    lines = doc.pop("_lines")
    if problems:
        raise CrosswalkError(problems)
    try:
        return from_json(doc)
    except CrosswalkError as err:
        raise CrosswalkError([_with_line(p, lines) for p in err.problems]) from err


def _with_line(problem: str, lines: Sequence[tuple[str, int]]) -> str:
    """'$.rules[2].k: …' becomes 'line 9 (rule): k: …', the line that row came from."""
    for prefix, kind in (("$.courses[", "course"), ("$.rules[", "rule")):
        if problem.startswith(prefix):
            index_text, rest = problem[len(prefix) :].split("]", 1)
            rows = [line for k, line in lines if k == kind]
            index = int(index_text)
            if index < len(rows):
                return f"line {rows[index]} ({kind}) {rest.replace('.match', '', 1).lstrip('.')}"
    if problem.startswith("$."):
        crosswalk_line = next((line for k, line in lines if k == "crosswalk"), 2)
        return f"line {crosswalk_line} (crosswalk): {problem[2:]}"
    return problem
