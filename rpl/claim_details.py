"""The facts of a participation claim and their validation: dates, kinds, skills, evidence.

What a person says happened, before anyone confirmed it. `check_details` lists every problem in
words the claimant or attester can act on; `rpl.claims` adds the state machine around these facts.
"""

from __future__ import annotations

import calendar
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from functools import total_ordering

from rpl.errors import RplError

MONTHS = ("January", "February", "March", "April", "May", "June") + (
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


class InvalidDateError(RplError):
    """A partial date that is not one; names the text that was given."""

    def __init__(self, value: str, reason: str) -> None:
        super().__init__(f"{value!r} is not a date: {reason}")
        self.value = value
        self.reason = reason


class InvalidClaimError(RplError):
    """Every problem found in a claim, keyed by field, in words people can act on."""

    def __init__(self, problems: Mapping[str, Sequence[str]]) -> None:
        self.problems: dict[str, tuple[str, ...]] = {k: tuple(v) for k, v in problems.items()}
        listed = "; ".join(f"{k}: {m}" for k, ms in self.problems.items() for m in ms)
        super().__init__(f"invalid claim: {listed}")


# --- dates -----------------------------------------------------------------------------------

_PARTIAL_DATE = re.compile(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?")


@total_ordering
@dataclass(frozen=True)
class PartialDate:
    """A date known to the year, the month or the day: people remember "March 1998", not the day."""

    year: int
    month: int | None = None
    day: int | None = None

    def __post_init__(self) -> None:
        text = "-".join(f"{p:02d}" for p in (self.year, self.month, self.day) if p is not None)
        # The ISO form and the first and last days, made once: a roster import reads each
        # date several times a row, and parses each distinct date once (`roster._parse_date`).
        iso = "-".join([f"{self.year:04d}"] + [f"{p:02d}" for p in (self.month, self.day) if p])
        object.__setattr__(self, "_iso", iso)
        if not 1 <= self.year <= 9999:
            raise InvalidDateError(text, "the year must have four digits")
        if self.month is None:
            if self.day is not None:
                raise InvalidDateError(text, "a day needs a month")
            self._days(date(self.year, 1, 1), date(self.year, 12, 31))
            return
        if not 1 <= self.month <= 12:
            raise InvalidDateError(text, "the month must be between 01 and 12")
        days = calendar.monthrange(self.year, self.month)[1]
        if self.day is not None and not 1 <= self.day <= days:
            raise InvalidDateError(text, f"{MONTHS[self.month - 1]} {self.year} has {days} days")
        first = date(self.year, self.month, self.day or 1)
        self._days(first, first if self.day else date(self.year, self.month, days))

    def _days(self, first: date, last: date) -> None:
        object.__setattr__(self, "_first", first)
        object.__setattr__(self, "_last", last)

    @classmethod
    def parse(cls, text: str) -> PartialDate:
        """Read `YYYY`, `YYYY-MM` or `YYYY-MM-DD`."""
        match = _PARTIAL_DATE.fullmatch(text.strip()) if isinstance(text, str) else None
        if match is None:
            raise InvalidDateError(str(text), "write it as YYYY, YYYY-MM or YYYY-MM-DD")
        year, month, day = (int(p) if p else None for p in match.groups())
        return cls(year, month, day)  # type: ignore[arg-type]

    def __str__(self) -> str:
        return self._iso  # type: ignore[attr-defined, no-any-return]

    def _key(self) -> tuple[int, int, int]:
        # A bare month sorts before its days, a bare year before its months.
        return (self.year, self.month or 0, self.day or 0)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, PartialDate):
            return NotImplemented
        return self._key() < other._key()

    def first_day(self) -> date:
        return self._first  # type: ignore[attr-defined, no-any-return]

    def last_day(self) -> date:
        return self._last  # type: ignore[attr-defined, no-any-return]

    def in_words(self) -> str:
        """'1998', 'March 1998' or '14 March 1998'."""
        if self.month is None:
            return str(self.year)
        month = f"{MONTHS[self.month - 1]} {self.year}"
        return month if self.day is None else f"{self.day} {month}"


# --- the claim's facts -----------------------------------------------------------------------


class ClaimKind(StrEnum):
    EMPLOYMENT = "employment"  # "worked here"
    STUDY = "study"  # "studied here"
    CONTRIBUTION = "contribution"  # "contributed"


@dataclass(frozen=True)
class Skill:
    """A skill in the claimant's words, optionally aligned to a public framework (ESCO...)."""

    name: str
    framework: str | None = None  # the framework's name, e.g. "ESCO"
    target_url: str | None = None  # the framework's page for this skill; makes it an alignment
    code: str | None = None  # the skill's code within the framework
    target_type: str | None = None  # an OB 3.0 AlignmentTargetType, or "ext:..."

    @property
    def is_aligned(self) -> bool:
        return self.target_url is not None


@dataclass(frozen=True)
class EvidenceFile:
    """An uploaded file, known by its content hash; the bytes are stored elsewhere."""

    name: str
    description: str
    sha256: str  # lower-case hex
    media_type: str
    size: int  # bytes
    filename: str


@dataclass(frozen=True, kw_only=True)
class ClaimDetails:
    kind: ClaimKind
    claimant_name: str
    claimant_email: str
    organisation_id: str
    role: str  # the role held, or the programme studied
    start: PartialDate
    end: PartialDate | None = None  # None: still ongoing
    attester_email: str
    claimant_did: str | None = None
    hours: float | None = None
    fte: float | None = None
    description: str = ""
    skills: tuple[Skill, ...] = ()
    evidence: tuple[EvidenceFile, ...] = ()


# --- validation ------------------------------------------------------------------------------

EMAIL_PATTERN = re.compile(r"[^@\s]+@[^@\s.]+(?:\.[^@\s.]+)+")
# DID Core 1.0 §3.1: did:<method-name>:<method-specific-id>
_DID = re.compile(
    r"did:[a-z0-9]+:(?:[A-Za-z0-9._-]|%[0-9A-Fa-f]{2}|:)*(?:[A-Za-z0-9._-]|%[0-9A-Fa-f]{2})"
)
_HTTP_URL = re.compile(r"https?://[^\s/]+\S*")
_MEDIA_TYPE = re.compile(r"[A-Za-z0-9][\w!#$&^.+-]*/[A-Za-z0-9][\w!#$&^.+-]*")
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
# OB 3.0 AlignmentTargetType: the enumerated values, or an extension named "ext:<name>".
ALIGNMENT_TARGET_TYPES = frozenset(
    {"ceasn:Competency", "ceterms:Credential", "CFItem", "CFRubric", "CFRubricCriterion"}
    | {"CFRubricCriterionLevel", "CTDL"}
)
_EXT_TERM = re.compile(r"ext:[A-Za-z0-9._-]+")
MAX_FTE = 1.5
# More hours a day than this, averaged over a whole period, is a typing mistake, not a fact.
MAX_HOURS_PER_DAY = 12
EARLIEST_YEAR = 1900
Problems = dict[str, list[str]]
_KINDS = frozenset(ClaimKind)  # once: a roster checks a million rows against it


def check_details(details: ClaimDetails, today: date) -> dict[str, list[str]]:
    """Every problem with `details`, keyed by field; empty when the claim can be filed."""
    problems: Problems = {}
    _check_people(details, problems)
    _check_dates(details, today, problems)
    _check_extent(details, today, problems)
    _check_skills(details.skills, problems)
    _check_evidence(details.evidence, problems)
    return problems


def validate_details(details: ClaimDetails, today: date) -> None:
    """Raise `InvalidClaimError` listing every problem with `details`."""
    problems = check_details(details, today)
    if problems:
        raise InvalidClaimError(problems)


def add_problem(problems: Problems, key: str, message: str) -> None:
    problems.setdefault(key, []).append(message)


def is_blank(text: object) -> bool:
    return not isinstance(text, str) or not text.strip()


def _check_people(d: ClaimDetails, problems: Problems) -> None:
    if d.kind not in _KINDS:
        add_problem(problems, "kind", "Choose whether you worked, studied or contributed here.")
    if is_blank(d.claimant_name):
        add_problem(problems, "claimant_name", "Please give your name.")
    if is_blank(d.organisation_id):
        add_problem(problems, "organisation_id", "Please choose the organisation.")
    if is_blank(d.role):
        what = "programme" if d.kind == ClaimKind.STUDY else "role"
        add_problem(problems, "role", f"Please give the {what}.")
    for key in ("claimant_email", "attester_email"):
        value = getattr(d, key)
        if not isinstance(value, str) or len(value) > 254 or not EMAIL_PATTERN.fullmatch(value):
            add_problem(problems, key, f"{value!r} does not look like an email address.")
    emails_valid = "claimant_email" not in problems and "attester_email" not in problems
    if emails_valid and d.claimant_email.strip().lower() == d.attester_email.strip().lower():
        add_problem(
            problems, "attester_email", "Someone at the organisation other than you must confirm."
        )
    if d.claimant_did is not None and not _DID.fullmatch(str(d.claimant_did)):
        add_problem(
            problems, "claimant_did", f"{d.claimant_did!r} is not a DID (did:method:identifier)."
        )


def _dates_given(d: ClaimDetails) -> bool:
    return isinstance(d.start, PartialDate) and (d.end is None or isinstance(d.end, PartialDate))


def _check_dates(d: ClaimDetails, today: date, problems: Problems) -> None:
    if not isinstance(d.start, PartialDate):
        add_problem(problems, "start", "Please give the start date (a year, a month or a day).")
    if d.end is not None and not isinstance(d.end, PartialDate):
        add_problem(problems, "end", "Please give the end date, or leave it empty if ongoing.")
    if not _dates_given(d):
        return
    if d.start.year < EARLIEST_YEAR:
        add_problem(
            problems, "start", f"{d.start.in_words()} is too long ago; please check the year."
        )
    if d.start.first_day() > today:
        add_problem(problems, "start", f"{d.start.in_words()} is in the future.")
    if d.end is None:
        return
    if d.end.first_day() > today:
        add_problem(
            problems, "end", f"{d.end.in_words()} is in the future; leave it empty if ongoing."
        )
    if d.end.last_day() < d.start.first_day():
        add_problem(
            problems,
            "end",
            f"The end ({d.end.in_words()}) is before the start ({d.start.in_words()}).",
        )


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _check_extent(d: ClaimDetails, today: date, problems: Problems) -> None:
    if d.fte is not None and not (_number(d.fte) and 0 < d.fte <= MAX_FTE):
        add_problem(
            problems, "fte", f"FTE must be more than 0 and at most {MAX_FTE} (1 is full time)."
        )
    if d.hours is None:
        return
    if not (_number(d.hours) and d.hours >= 0):
        add_problem(problems, "hours", "Hours must be a number, 0 or more.")
        return
    if not _dates_given(d):
        return
    last = min(d.end.last_day(), today) if d.end is not None else today
    days = (last - d.start.first_day()).days + 1
    if days > 0 and d.hours > days * MAX_HOURS_PER_DAY:
        add_problem(
            problems,
            "hours",
            f"{d.hours:,g} hours do not fit in the {days:,} days of this period; please check.",
        )


def _check_skills(skills: Sequence[Skill], problems: Problems) -> None:
    seen: set[str] = set()
    for number, skill in enumerate(skills, start=1):
        label = f"Skill {number}"
        if is_blank(skill.name):
            add_problem(problems, "skills", f"{label} has no name.")
            continue
        label = f"{label} ({skill.name.strip()})"
        if skill.name.strip().casefold() in seen:
            add_problem(problems, "skills", f"{label} is listed twice.")
        seen.add(skill.name.strip().casefold())
        aligned = (skill.framework, skill.code, skill.target_type)
        if skill.target_url is None and any(v is not None for v in aligned):
            add_problem(
                problems, "skills", f"{label} names a framework but no link to the skill in it."
            )
        if skill.target_url is not None and not _HTTP_URL.fullmatch(skill.target_url):
            add_problem(
                problems, "skills", f"{label}: the link must start with https:// or http://."
            )
        if skill.target_type is not None and not valid_alignment_target_type(skill.target_type):
            add_problem(
                problems, "skills", f"{label}: {skill.target_type!r} is not a known target type."
            )


def valid_alignment_target_type(value: str) -> bool:
    """True for an OB 3.0 AlignmentTargetType or an `ext:` extension of it."""
    return value in ALIGNMENT_TARGET_TYPES or bool(_EXT_TERM.fullmatch(value))


def _check_evidence(files: Sequence[EvidenceFile], problems: Problems) -> None:
    seen: set[str] = set()
    for number, file in enumerate(files, start=1):
        label = f"File {number} ({file.filename})"
        if is_blank(file.name):
            add_problem(problems, "evidence", f"{label} needs a title.")
        if is_blank(file.filename) or any(c in file.filename for c in "/\\\0"):
            add_problem(problems, "evidence", f"{label} has an unusable file name.")
        if not isinstance(file.sha256, str) or not _SHA256_HEX.fullmatch(file.sha256):
            add_problem(problems, "evidence", f"{label} has no valid SHA-256 content hash.")
        elif file.sha256 in seen:
            add_problem(problems, "evidence", f"{label} is the same file as one already attached.")
        seen.add(file.sha256)
        if not _MEDIA_TYPE.fullmatch(file.media_type or ""):
            add_problem(problems, "evidence", f"{label} has no valid media type.")
        if not isinstance(file.size, int) or file.size <= 0:
            add_problem(problems, "evidence", f"{label} is empty.")
