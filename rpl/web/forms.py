"""Form and API input turned into domain values, with every problem kept for the person to fix."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rpl.claims import (
    ClaimDetails,
    ClaimKind,
    EvidenceFile,
    InvalidClaimError,
    InvalidDateError,
    PartialDate,
    Skill,
)

KINDS = {k.value: k for k in ClaimKind}


def _text(form: Mapping[str, Any], name: str) -> str:
    value = form.get(name, "")
    return value.strip() if isinstance(value, str) else ""


def _number(raw: str, field: str, problems: dict[str, list[str]]) -> float | None:
    if not raw:
        return None
    try:
        return float(raw.replace(",", "."))
    except ValueError:
        problems.setdefault(field, []).append(f"{raw!r} is not a number.")
        return None


def read_date(raw: str, field: str, problems: dict[str, list[str]], required: bool) -> Any:
    if not raw:
        if required:
            problems.setdefault(field, []).append(
                "Please give a date (YYYY, YYYY-MM or YYYY-MM-DD)."
            )
        return None
    try:
        return PartialDate.parse(raw)
    except InvalidDateError as err:
        problems.setdefault(field, []).append(str(err))
        return None


def parse_skills(text: str) -> tuple[Skill, ...]:
    """One skill a line: `name`, or `name | framework URL | code | framework name`."""
    skills = []
    for line in text.splitlines():
        parts = [p.strip() for p in line.split("|")]
        if not parts[0]:
            continue
        url, code, framework = (parts[1:] + ["", "", ""])[:3]
        skills.append(
            Skill(
                name=parts[0],
                target_url=url or None,
                code=code or None,
                framework=framework or None,
            )
        )
    return tuple(skills)


def skills_text(skills: tuple[Skill, ...]) -> str:
    lines = []
    for s in skills:
        extra = [s.target_url or "", s.code or "", s.framework or ""]
        lines.append(" | ".join([s.name, *extra]).rstrip(" |"))
    return "\n".join(lines)


def details_from_form(
    form: Mapping[str, Any], organisation_id: str, evidence: tuple[EvidenceFile, ...]
) -> ClaimDetails:
    """Read a claim from the form's fields; raise `InvalidClaimError` listing every unreadable one."""
    problems: dict[str, list[str]] = {}
    kind = KINDS.get(_text(form, "kind"))
    if kind is None:
        problems["kind"] = ["Choose what kind of record this is."]
    start = read_date(_text(form, "start"), "start", problems, required=True)
    end = read_date(_text(form, "end"), "end", problems, required=False)
    hours = _number(_text(form, "hours"), "hours", problems)
    fte = _number(_text(form, "fte"), "fte", problems)
    if problems:
        raise InvalidClaimError(problems)
    return ClaimDetails(
        kind=kind,  # type: ignore[arg-type]
        claimant_name=_text(form, "claimant_name"),
        claimant_email=_text(form, "claimant_email"),
        claimant_did=_text(form, "claimant_did") or None,
        organisation_id=organisation_id,
        role=_text(form, "role"),
        start=start,
        end=end,
        hours=hours,
        fte=fte,
        description=_text(form, "description"),
        skills=parse_skills(_text(form, "skills")),
        evidence=evidence,
        attester_email=_text(form, "attester_email"),
    )


def amendment_changes(form: Mapping[str, Any], current: ClaimDetails) -> dict[str, Any]:
    """The fields an attester changed on the decision form (unchanged ones are left out)."""
    problems: dict[str, list[str]] = {}
    proposed: dict[str, Any] = {
        "role": _text(form, "role") or current.role,
        "start": read_date(_text(form, "start"), "start", problems, required=True),
        "end": read_date(_text(form, "end"), "end", problems, required=False),
        "hours": _number(_text(form, "hours"), "hours", problems),
        "fte": _number(_text(form, "fte"), "fte", problems),
    }
    if problems:
        raise InvalidClaimError(problems)
    return {k: v for k, v in proposed.items() if getattr(current, k) != v}


def correction_changes(form: Mapping[str, Any], current: ClaimDetails) -> dict[str, Any]:
    """The facts a person corrected on their roster claim (unchanged ones are left out).

    Skills are names separated by `;`; a skill kept by name keeps its framework alignment.
    """
    problems: dict[str, list[str]] = {}
    known = {s.name.casefold(): s for s in current.skills}
    names = [n.strip() for n in _text(form, "skills").split(";") if n.strip()]
    proposed: dict[str, Any] = {
        "role": _text(form, "role") or current.role,
        "start": read_date(_text(form, "start"), "start", problems, required=True),
        "end": read_date(_text(form, "end"), "end", problems, required=False),
        "hours": _number(_text(form, "hours"), "hours", problems),
        "skills": tuple(known.get(n.casefold(), Skill(n)) for n in dict.fromkeys(names)),
        "description": _text(form, "description"),
    }
    if problems:
        raise InvalidClaimError(problems)
    return {k: v for k, v in proposed.items() if getattr(current, k) != v}
