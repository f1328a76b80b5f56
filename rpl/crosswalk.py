"""Crosswalks: an institution's rules that turn evidence into course credit, as versioned data.

A crosswalk names its courses (code, title, credits, area), caps per area, and rules. A rule maps
evidence — achievement id or type, issuer, skill alignments (ESCO, O*NET, RSD, CASE/CTDL target
URLs or codes), hours, level, recency — to one course. Stacking is part of a rule: `any` needs k
distinct pieces of matching evidence ("any 3 of these 5"), `hours` needs at least H hours summed
across matching evidence ("120 hours across these skills"). Evaluation is in `crosswalk_rules`.

A crosswalk's identity is (id, version) and its content digest: the SHA-256 of its JCS form. A
published version never changes; a decision records the version and digest it used, so anyone can
later check which rules produced it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from rpl.errors import RplError
from rpl.proofs.jcs import canonicalize

_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}")


class CrosswalkError(RplError):
    """A crosswalk that cannot be read; `problems` lists each one with where it is."""

    def __init__(self, problems: Sequence[str]) -> None:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(f"invalid crosswalk: {problems[0]}{more}")
        self.problems = tuple(problems)


class StackKind(StrEnum):
    ANY = "any"  # k distinct pieces of matching evidence
    HOURS = "hours"  # at least `total_hours` hours across matching evidence


@dataclass(frozen=True)
class Course:
    code: str
    title: str
    credits: float
    area: str = ""


@dataclass(frozen=True)
class Match:
    """What a piece of evidence must show to count for a rule. Every criterion given must hold;
    a list is "any of these"."""

    achievement_ids: tuple[str, ...] = ()
    achievement_types: tuple[str, ...] = ()
    issuers: tuple[str, ...] = ()
    skills: tuple[str, ...] = ()
    min_hours: float | None = None  # per piece of evidence
    min_level: int | None = None
    within_years: int | None = None  # its learning ended no more than this many years ago


@dataclass(frozen=True)
class Rule:
    id: str
    course: str
    match: Match = field(default_factory=Match)
    kind: StackKind = StackKind.ANY
    k: int = 1
    total_hours: float | None = None
    note: str = ""


@dataclass(frozen=True)
class Crosswalk:
    id: str
    version: int
    title: str
    institution: str
    courses: tuple[Course, ...]
    rules: tuple[Rule, ...]
    caps: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    # Hours to assume per year of dated activity when a credential states none (None: assume none).
    hours_per_year: float | None = None
    description: str = ""

    def course(self, code: str) -> Course:
        return next(c for c in self.courses if c.code == code)

    @property
    def digest(self) -> str:
        """'sha256:<hex>' of the JCS (RFC 8785) form of `to_json()`: the content, not its layout."""
        return "sha256:" + hashlib.sha256(canonicalize(to_json(self))).hexdigest()

    @property
    def label(self) -> str:
        return f"{self.id} v{self.version}"


# --- JSON form --------------------------------------------------------------------------------


def _match_json(match: Match) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in ("achievement_ids", "achievement_types", "issuers", "skills"):
        if getattr(match, name):
            out[name] = list(getattr(match, name))
    for name in ("min_hours", "min_level", "within_years"):
        if getattr(match, name) is not None:
            out[name] = getattr(match, name)
    return out


def _rule_json(rule: Rule) -> dict[str, Any]:
    out: dict[str, Any] = {"id": rule.id, "course": rule.course, "kind": rule.kind.value}
    if rule.kind is StackKind.ANY:
        out["k"] = rule.k
    else:
        out["total_hours"] = rule.total_hours
    out["match"] = _match_json(rule.match)
    if rule.note:
        out["note"] = rule.note
    return out


def to_json(crosswalk: Crosswalk) -> dict[str, Any]:
    """The crosswalk as a JSON value; `from_json` reads it back unchanged."""
    out: dict[str, Any] = {
        "id": crosswalk.id,
        "version": crosswalk.version,
        "title": crosswalk.title,
        "institution": crosswalk.institution,
    }
    if crosswalk.description:
        out["description"] = crosswalk.description
    if crosswalk.hours_per_year is not None:
        out["hours_per_year"] = crosswalk.hours_per_year
    out["courses"] = [
        {
            "code": c.code,
            "title": c.title,
            "credits": c.credits,
            **({"area": c.area} if c.area else {}),
        }
        for c in crosswalk.courses
    ]
    out["caps"] = {area: cap for area, cap in sorted(crosswalk.caps.items())}
    out["rules"] = [_rule_json(r) for r in crosswalk.rules]
    return out


class _Reader:
    """Reads values out of JSON, collecting every problem with where it was found."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def fail(self, where: str, message: str) -> None:
        self.problems.append(f"{where}: {message}")

    def text(self, obj: Mapping[str, Any], key: str, where: str, required: bool = True) -> str:
        value = obj.get(key)
        if value is None and not required:
            return ""
        if not isinstance(value, str) or not value.strip():
            self.fail(f"{where}.{key}", f"must be a non-empty text, got {value!r}")
            return ""
        return value.strip()

    def code(self, obj: Mapping[str, Any], key: str, where: str) -> str:
        value = self.text(obj, key, where)
        if value and not _CODE.fullmatch(value):
            self.fail(f"{where}.{key}", f"{value!r} is not a code (letters, digits, . _ : / -)")
        return value

    def number(
        self, obj: Mapping[str, Any], key: str, where: str, *, whole: bool = False
    ) -> float | None:
        value = obj.get(key)
        if value is None:
            return None
        ok = isinstance(value, int | float) and not isinstance(value, bool) and value >= 0
        if not ok or (whole and value != int(value)):
            kind = "a whole number" if whole else "a number"
            self.fail(f"{where}.{key}", f"must be {kind} of at least 0, got {value!r}")
            return None
        return int(value) if whole else float(value)

    def texts(self, obj: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
        value = obj.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            self.fail(f"{where}.{key}", f"must be a list of non-empty texts, got {value!r}")
            return ()
        return tuple(dict.fromkeys(v.strip() for v in value))


def _match_from(reader: _Reader, value: Any, where: str) -> Match:
    if not isinstance(value, dict):
        reader.fail(where, "must be an object")
        return Match()
    known = {"achievement_ids", "achievement_types", "issuers", "skills"}
    known |= {"min_hours", "min_level", "within_years"}
    for key in sorted(set(value) - known):
        reader.fail(f"{where}.{key}", f"is not a criterion; known: {', '.join(sorted(known))}")
    level = reader.number(value, "min_level", where, whole=True)
    years = reader.number(value, "within_years", where, whole=True)
    return Match(
        achievement_ids=reader.texts(value, "achievement_ids", where),
        achievement_types=reader.texts(value, "achievement_types", where),
        issuers=reader.texts(value, "issuers", where),
        skills=reader.texts(value, "skills", where),
        min_hours=reader.number(value, "min_hours", where),
        min_level=None if level is None else int(level),
        within_years=None if years is None else int(years),
    )


def _rule_from(reader: _Reader, value: Any, where: str) -> Rule | None:
    if not isinstance(value, dict):
        reader.fail(where, "must be an object")
        return None
    kind_text = value.get("kind", "any")
    if kind_text not in {k.value for k in StackKind}:
        reader.fail(f"{where}.kind", f"{kind_text!r} is not one of any, hours")
        return None
    kind = StackKind(kind_text)
    k = reader.number(value, "k", where, whole=True)
    total = reader.number(value, "total_hours", where)
    if kind is StackKind.ANY and k is not None and k < 1:
        reader.fail(f"{where}.k", "must be at least 1")
    if kind is StackKind.HOURS and not total:
        reader.fail(f"{where}.total_hours", "an hours rule needs total_hours above 0")
    return Rule(
        id=reader.code(value, "id", where),
        course=reader.code(value, "course", where),
        match=_match_from(reader, value.get("match", {}), f"{where}.match"),
        kind=kind,
        k=int(k) if kind is StackKind.ANY and k else 1,
        total_hours=total if kind is StackKind.HOURS else None,
        note=reader.text(value, "note", where, required=False),
    )


def _course_from(reader: _Reader, value: Any, where: str) -> Course | None:
    if not isinstance(value, dict):
        reader.fail(where, "must be an object")
        return None
    credits = reader.number(value, "credits", where)
    if credits is None and "credits" not in value:
        reader.fail(f"{where}.credits", "is required")
    return Course(
        code=reader.code(value, "code", where),
        title=reader.text(value, "title", where),
        credits=credits or 0.0,
        area=reader.text(value, "area", where, required=False),
    )


def from_json(value: Any) -> Crosswalk:
    """Read a crosswalk from its JSON value; `CrosswalkError` lists every problem found."""
    reader = _Reader()
    if not isinstance(value, dict):
        raise CrosswalkError(["$: a crosswalk is a JSON object"])
    version = reader.number(value, "version", "$", whole=True)
    if version is None or version < 1:
        reader.fail("$.version", "must be a whole number of at least 1")
    courses = [
        _course_from(reader, c, f"$.courses[{i}]")
        for i, c in enumerate(_list(value, "courses", reader))
    ]
    rules = [
        _rule_from(reader, r, f"$.rules[{i}]") for i, r in enumerate(_list(value, "rules", reader))
    ]
    caps_value = value.get("caps", {})
    caps: dict[str, float] = {}
    if not isinstance(caps_value, dict):
        reader.fail("$.caps", "must be an object of area → maximum credits")
    else:
        for area, cap in caps_value.items():
            number = reader.number({area: cap}, area, "$.caps")
            if number is not None:
                caps[area] = number
    crosswalk = Crosswalk(
        id=reader.code(value, "id", "$"),
        version=int(version or 0),
        title=reader.text(value, "title", "$"),
        institution=reader.text(value, "institution", "$"),
        courses=tuple(c for c in courses if c is not None),
        rules=tuple(r for r in rules if r is not None),
        caps=MappingProxyType(caps),
        hours_per_year=reader.number(value, "hours_per_year", "$"),
        description=reader.text(value, "description", "$", required=False),
    )
    reader.problems += consistency_problems(crosswalk)
    if reader.problems:
        raise CrosswalkError(reader.problems)
    return crosswalk


def _list(value: Mapping[str, Any], key: str, reader: _Reader) -> list[Any]:
    found = value.get(key)
    if not isinstance(found, list) or not found:
        reader.fail(f"$.{key}", "must be a non-empty list")
        return []
    return found


def consistency_problems(crosswalk: Crosswalk) -> list[str]:
    """What makes a well-formed crosswalk still unusable: duplicates and dangling references."""
    problems = []
    codes = [c.code for c in crosswalk.courses]
    for code in sorted({c for c in codes if codes.count(c) > 1}):
        problems.append(f"course {code!r} is listed more than once")
    ids = [r.id for r in crosswalk.rules]
    for rule_id in sorted({r for r in ids if ids.count(r) > 1}):
        problems.append(f"rule {rule_id!r} is listed more than once")
    for rule in crosswalk.rules:
        if rule.course and rule.course not in codes:
            problems.append(f"rule {rule.id!r} names course {rule.course!r}, which is not listed")
    areas = {c.area for c in crosswalk.courses}
    for area in sorted(set(crosswalk.caps) - areas):
        problems.append(f"cap for area {area!r}, which no course belongs to")
    return problems


# --- evidence ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Evidence:
    """One piece of evidence, as the rules see it: facts read from a credential in a bundle."""

    id: str  # stable within the bundle
    name: str
    issuer: str
    issuer_name: str = ""
    verified: bool = True
    achievement_id: str | None = None
    achievement_type: str | None = None
    skills: frozenset[str] = frozenset()
    hours: float | None = None
    level: int | None = None
    start: date | None = None
    end: date | None = None  # when the learning was last evidenced (activity end or award)
    summary: str = ""  # e.g. "employment, 22 years, confirmed by St Mary's Hospital"

    @property
    def years(self) -> float | None:
        if self.start is None or self.end is None:
            return None
        return max(0.0, (self.end - self.start).days / 365.25)
