"""The holder's passport: their records grouped the way a working life reads, and their own words.

Pure: records come in already built from claims, organisations and signed documents; nothing here
reads a database or a clock (`now` is an argument). What the holder writes (a headline and a story
for the whole passport, a headline and notes per record) is kept apart from what was attested in
`HolderNote` and `Story`: it is never signed and never merged into a credential's facts.

Sharing: only records that carry a credential can be shared or published, because a claim nobody
has confirmed yet is only the holder's own word.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from rpl.claims import ClaimKind, ClaimState, PartialDate, Skill
from rpl.errors import RplError

MAX_HEADLINE = 160
MAX_NOTES = 4000
MAX_LABEL = 80
MAX_LINK_DAYS = 365
# Records whose evidence backs a skill in the summary: confirmed by the organisation, not withdrawn.
BACKED_STATES = frozenset({ClaimState.CONFIRMED, ClaimState.ISSUED})
_HANDLE = re.compile(r"[a-z0-9](?:[a-z0-9-]{1,38})[a-z0-9]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class InvalidPassportInputError(RplError):
    """What the holder typed cannot be kept as it is; `problems` names each field."""

    def __init__(self, problems: Mapping[str, Sequence[str]]) -> None:
        self.problems: dict[str, tuple[str, ...]] = {k: tuple(v) for k, v in problems.items()}
        listed = "; ".join(f"{k}: {m}" for k, ms in self.problems.items() for m in ms)
        super().__init__(f"please check: {listed}")


class UnknownGroupingError(RplError):
    """A grouping other than period, organisation or skill."""


class GroupBy(StrEnum):
    PERIOD = "period"
    ORGANISATION = "organisation"
    SKILL = "skill"


GROUP_NAMES = {
    GroupBy.PERIOD: "By period",
    GroupBy.ORGANISATION: "By organisation",
    GroupBy.SKILL: "By skill",
}


def parse_grouping(text: str) -> GroupBy:
    try:
        return GroupBy(text.strip().lower() or GroupBy.PERIOD.value)
    except ValueError as err:
        names = ", ".join(g.value for g in GroupBy)
        raise UnknownGroupingError(f"{text!r} is not a way to group records ({names})") from err


# --- the records and what the holder wrote about them -------------------------------------------


@dataclass(frozen=True)
class SkillRef:
    """A skill as a record carries it: plain words, and the framework's term and code if aligned."""

    name: str
    framework: str | None = None
    code: str | None = None
    url: str | None = None

    @property
    def aligned(self) -> bool:
        return bool(self.url)

    @property
    def key(self) -> tuple[str, str]:
        # The same framework entry from two organisations is one skill; plain words match by name.
        if self.url:
            return ("aligned", self.url)
        return ("plain", " ".join(self.name.casefold().split()))

    @property
    def term(self) -> str:
        """'ESCO S1', 'ESCO', or '' for a skill in the holder's words."""
        if not self.aligned:
            return ""
        return " ".join(p for p in (self.framework or "framework", self.code) if p)


@dataclass(frozen=True)
class HolderNote:
    """The holder's own headline and notes about one record: unsigned, never attested."""

    headline: str = ""
    notes: str = ""

    @property
    def empty(self) -> bool:
        return not (self.headline or self.notes)


@dataclass(frozen=True)
class Story:
    """The holder's headline and story for the whole passport: unsigned, never attested."""

    headline: str = ""
    story: str = ""

    @property
    def empty(self) -> bool:
        return not (self.headline or self.story)


@dataclass(frozen=True)
class PassportRecord:
    claim_id: str
    state: ClaimState
    kind: ClaimKind
    role: str
    organisation: str
    start: PartialDate
    end: PartialDate | None
    credential_id: str | None
    skills: tuple[SkillRef, ...]
    note: HolderNote = field(default_factory=HolderNote)

    @property
    def shareable(self) -> bool:
        return self.credential_id is not None

    @property
    def backed(self) -> bool:
        return self.state in BACKED_STATES


def skills_of_document(document: Mapping[str, Any]) -> tuple[SkillRef, ...]:
    """The skills a signed credential names: its alignments, then its tags (the holder's words)."""
    achievement = document.get("credentialSubject", {}).get("achievement", {})
    found = [
        SkillRef(
            name=str(al.get("targetName", "")),
            framework=al.get("targetFramework"),
            code=al.get("targetCode"),
            url=al.get("targetUrl"),
        )
        for al in _as_list(achievement.get("alignment"))
        if isinstance(al, Mapping)
    ]
    found += [SkillRef(name=str(tag)) for tag in _as_list(achievement.get("tag"))]
    return tuple(s for s in found if s.name.strip())


def skills_of_claim(skills: Iterable[Skill]) -> tuple[SkillRef, ...]:
    """The skills of a claim not (yet) issued: what the holder asked the organisation to confirm."""
    return tuple(
        SkillRef(s.name, s.framework, s.code, s.target_url) if s.is_aligned else SkillRef(s.name)
        for s in skills
    )


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


# --- grouping ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Group:
    key: str
    title: str
    records: tuple[PassportRecord, ...]
    skill: SkillRef | None = None


def _newest_first(records: Iterable[PassportRecord]) -> tuple[PassportRecord, ...]:
    # Ongoing records first, then by start, newest first; the claim id keeps the order stable.
    ordered = sorted(records, key=lambda r: r.claim_id)
    ordered.sort(key=lambda r: (r.end is None, r.start), reverse=True)
    return tuple(ordered)


def group_records(records: Iterable[PassportRecord], by: GroupBy) -> tuple[Group, ...]:
    """The records in groups: by the decade they began (ongoing ones first), by organisation
    (A to Z), or by skill (most-backed first; a record appears under each of its skills)."""
    records = tuple(records)
    if by is GroupBy.PERIOD:
        return _by_period(records)
    if by is GroupBy.ORGANISATION:
        return _by_organisation(records)
    return _by_skill(records)


def _by_period(records: Sequence[PassportRecord]) -> tuple[Group, ...]:
    ongoing = [r for r in records if r.end is None]
    decades: dict[int, list[PassportRecord]] = {}
    for r in records:
        if r.end is not None:
            decades.setdefault(r.start.year // 10 * 10, []).append(r)
    groups = [Group("ongoing", "Still going on", _newest_first(ongoing))] if ongoing else []
    for decade in sorted(decades, reverse=True):
        groups.append(
            Group(f"{decade}s", f"Began in the {decade}s", _newest_first(decades[decade]))
        )
    return tuple(groups)


def _by_organisation(records: Sequence[PassportRecord]) -> tuple[Group, ...]:
    found: dict[str, list[PassportRecord]] = {}
    names: dict[str, str] = {}
    for r in records:
        key = " ".join(r.organisation.casefold().split())
        found.setdefault(key, []).append(r)
        names.setdefault(key, r.organisation)
    return tuple(Group(k, names[k], _newest_first(found[k])) for k in sorted(found))


def _by_skill(records: Sequence[PassportRecord]) -> tuple[Group, ...]:
    found: dict[tuple[str, str], list[PassportRecord]] = {}
    skills: dict[tuple[str, str], SkillRef] = {}
    for r in records:
        for s in {s.key: s for s in r.skills}.values():  # a skill named twice counts once
            found.setdefault(s.key, []).append(r)
            skills.setdefault(s.key, s)
    keys = sorted(found, key=lambda k: (-len(found[k]), skills[k].name.casefold(), k))
    groups = [Group(":".join(k), skills[k].name, _newest_first(found[k]), skills[k]) for k in keys]
    unskilled = [r for r in records if not r.skills]
    if unskilled:
        groups.append(Group("none", "No skills named", _newest_first(unskilled)))
    return tuple(groups)


@dataclass(frozen=True)
class SkillBacking:
    skill: SkillRef
    records: tuple[PassportRecord, ...]


def skill_summary(records: Iterable[PassportRecord]) -> tuple[SkillBacking, ...]:
    """Skills that confirmed or issued records back (pending, declined and revoked ones do not),
    most-backed first."""
    backed = [r for r in records if r.backed]
    return tuple(SkillBacking(g.skill, g.records) for g in _by_skill(backed) if g.skill is not None)


# --- what the holder writes ---------------------------------------------------------------------


def _clean(text: str) -> str:
    return text.replace("\r\n", "\n").strip()


def _check_text(problems: dict[str, list[str]], name: str, text: str, limit: int) -> str:
    cleaned = _clean(text)
    if len(cleaned) > limit:
        problems.setdefault(name, []).append(
            f"Keep it to {limit} characters (this is {len(cleaned)})."
        )
    if _CONTROL.search(cleaned):
        problems.setdefault(name, []).append("Remove the invisible control characters.")
    return cleaned


def check_note(headline: str, notes: str) -> HolderNote:
    problems: dict[str, list[str]] = {}
    note = HolderNote(
        _check_text(problems, "headline", headline, MAX_HEADLINE).replace("\n", " "),
        _check_text(problems, "notes", notes, MAX_NOTES),
    )
    if problems:
        raise InvalidPassportInputError(problems)
    return note


def check_story(headline: str, story: str) -> Story:
    problems: dict[str, list[str]] = {}
    checked = Story(
        _check_text(problems, "headline", headline, MAX_HEADLINE).replace("\n", " "),
        _check_text(problems, "story", story, MAX_NOTES),
    )
    if problems:
        raise InvalidPassportInputError(problems)
    return checked


def check_handle(text: str) -> str:
    """The public profile's address part: 3 to 40 of a-z, 0-9 and '-', not at either end."""
    handle = text.strip().lower()
    if not _HANDLE.fullmatch(handle) or "--" in handle:
        raise InvalidPassportInputError(
            {
                "handle": [
                    "Use 3 to 40 letters (a to z), digits and hyphens, starting and ending "
                    "with a letter or digit, for example 'margaret-okafor'."
                ]
            }
        )
    return handle


# --- share links ---------------------------------------------------------------------------------


class LinkState(StrEnum):
    ACTIVE = "active"
    EXPIRED = "expired"
    REVOKED = "revoked"


@dataclass(frozen=True)
class ShareRequest:
    """A share link as the holder asked for it, checked: what it shows and for how long."""

    claim_ids: tuple[str, ...]
    label: str
    expires_at: datetime | None
    include_notes: bool


def check_share(
    claim_ids: Iterable[str],
    days: str,
    label: str,
    include_notes: bool,
    shareable: Iterable[str],
    now: datetime,
) -> ShareRequest:
    """Check a request for a share link; `shareable` are the holder's records that may be shared."""
    problems: dict[str, list[str]] = {}
    chosen = tuple(dict.fromkeys(c for c in claim_ids if c))
    allowed = set(shareable)
    if not chosen:
        problems["records"] = ["Choose at least one record to share."]
    elif any(c not in allowed for c in chosen):
        problems["records"] = ["Only your own records that carry a credential can be shared."]
    expires_at = None
    if days.strip():
        if not days.strip().isdigit() or not 1 <= int(days) <= MAX_LINK_DAYS:
            problems["days"] = [
                f"Give a whole number of days from 1 to {MAX_LINK_DAYS}, or leave it empty."
            ]
        else:
            expires_at = now + timedelta(days=int(days))
    checked_label = _check_text(problems, "label", label, MAX_LABEL).replace("\n", " ")
    if problems:
        raise InvalidPassportInputError(problems)
    return ShareRequest(chosen, checked_label, expires_at, include_notes)


@dataclass(frozen=True)
class ShareLink:
    """A share link as stored: its secret is not here (only the secret's hash is kept)."""

    id: str
    account_id: str
    label: str
    claim_ids: tuple[str, ...]
    include_notes: bool
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    opened: int = 0
    recent_opens: tuple[datetime, ...] = ()

    def state(self, now: datetime) -> LinkState:
        if self.revoked_at is not None:
            return LinkState.REVOKED
        if self.expires_at is not None and now >= self.expires_at:
            return LinkState.EXPIRED
        return LinkState.ACTIVE


# --- the public profile and who can see what ----------------------------------------------------


@dataclass(frozen=True)
class ProfileChoice:
    """One record on the public profile, and whether the holder's note goes with it."""

    claim_id: str
    show_note: bool


@dataclass(frozen=True)
class Profile:
    handle: str | None = None
    published: bool = False
    show_story: bool = False
    choices: tuple[ProfileChoice, ...] = ()

    def shows(self, claim_id: str) -> ProfileChoice | None:
        return next((c for c in self.choices if c.claim_id == claim_id), None)


@dataclass(frozen=True)
class Visibility:
    """Who can see one record: the share links that show it (and their state), the profile."""

    links: tuple[tuple[ShareLink, LinkState], ...]
    on_profile: bool
    note_on_profile: bool

    @property
    def private(self) -> bool:
        live = any(state is LinkState.ACTIVE for _, state in self.links)
        return not (live or self.on_profile)


def visibility(
    records: Iterable[PassportRecord], links: Iterable[ShareLink], profile: Profile, now: datetime
) -> dict[str, Visibility]:
    links = tuple(links)
    found = {}
    for r in records:
        choice = profile.shows(r.claim_id) if profile.published else None
        found[r.claim_id] = Visibility(
            links=tuple((ln, ln.state(now)) for ln in links if r.claim_id in ln.claim_ids),
            on_profile=choice is not None,
            note_on_profile=choice is not None and choice.show_note and not r.note.empty,
        )
    return found
