"""Rosters: an organisation's CSV of past participants, read row by row into pre-confirmable claims.

Pure: no database, no clock. `read_roster` streams a text stream through the `csv` module and
yields, for every data row, either a `RosterRow` (the claim's facts and its natural key) or a
`RejectedRow` (the line, the cells and the reason in plain words). One bad row never stops the
rest, and nothing is held but the current row.

Columns (header row required, names case-insensitive, order free): `identifier` (an email address
or a DID), `name`, `role` (or `programme`), `start`; optional `end`, `kind` (employment, study,
contribution; the upload's default otherwise), `hours`, `skills` (`;`-separated), `description`
and `email` (how to reach a person whose identifier is a DID).
"""

from __future__ import annotations

import csv
import functools
import hashlib
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TextIO

from rpl.claim_details import (
    EMAIL_PATTERN,
    ClaimDetails,
    ClaimKind,
    InvalidDateError,
    PartialDate,
    Skill,
    check_details,
)
from rpl.claims import Claim, ClaimState, Confirmation, Event, EventKind
from rpl.errors import RplError

REQUIRED_COLUMNS = ("identifier", "name", "role", "start")
OPTIONAL_COLUMNS = ("end", "kind", "hours", "skills", "description", "email")
_ALIASES = {"programme": "role", "program": "role", "did": "identifier"}
SKILL_SEPARATOR = ";"
# A row longer than this is not a participant, it is a mistake or an attack on memory.
MAX_FIELD_CHARS = 10_000


class RosterFormatError(RplError):
    """The file cannot be read as a roster at all (no header, a required column missing)."""


@dataclass(frozen=True)
class RosterOptions:
    """What the uploader says once for every row: who confirms, and the default kind."""

    organisation_id: str
    attester_email: str  # the organisation's person who vouches for the roster
    attester_role: str  # their role, as the credential says it ("through its Records Office")
    default_kind: ClaimKind = ClaimKind.CONTRIBUTION


@dataclass(frozen=True)
class RosterRow:
    line: int
    key: str  # the natural key: the same person, role and start in one organisation
    details: ClaimDetails


@dataclass(frozen=True)
class RejectedRow:
    line: int
    cells: tuple[str, ...]
    reason: str


def natural_key(organisation_id: str, identifier: str, role: str, start: PartialDate) -> str:
    """sha256 of organisation, identifier, role and start, each normalised: re-uploading the
    same roster, or the same row in another file, names the same participation."""
    parts = (organisation_id, identifier.strip().lower(), " ".join(role.split()).casefold())
    text = "\x1f".join((*parts, str(start)))
    return hashlib.sha256(text.encode()).hexdigest()


def read_header(reader: Iterator[list[str]]) -> tuple[str, ...]:
    """The column names, normalised; `RosterFormatError` if a required one is missing."""
    try:
        header = next(reader)
    except StopIteration:
        raise RosterFormatError("the file is empty; the first line must name the columns") from None
    except csv.Error as err:
        raise RosterFormatError(f"the first line cannot be read as CSV: {err}") from err
    names = tuple(_ALIASES.get(h.strip().lower(), h.strip().lower()) for h in header)
    missing = [c for c in REQUIRED_COLUMNS if c not in names]
    if missing:
        raise RosterFormatError(
            f"the first line must name the columns; missing: {', '.join(missing)}"
            f" (found: {', '.join(h for h in header if h) or 'nothing'})"
        )
    return names


def read_roster(
    stream: TextIO, options: RosterOptions, today: date
) -> Iterator[RosterRow | RejectedRow]:
    """Every data row of `stream` as a `RosterRow` or a `RejectedRow`, in file order.

    `stream` should be opened with `newline=""` (csv's rule) and `errors="replace"`: an
    undecodable byte then rejects its row instead of ending the file. Blank lines are skipped.
    """
    header, records = read_records(stream)
    for record in records:
        if isinstance(record, RejectedRow):
            yield record
        else:
            yield parse_row(record[0], header, record[1], options, today)


def read_records(
    stream: TextIO,
) -> tuple[tuple[str, ...], Iterator[tuple[int, list[str]] | RejectedRow]]:
    """The header (`RosterFormatError` at once if it is not a roster's), then every non-blank
    record of `stream` as (line, cells), unchecked; a record csv cannot read is a
    `RejectedRow`. `read_roster` checks each; a bulk import hands them to other processes."""
    reader = csv.reader(stream)
    header = read_header(reader)

    def records() -> Iterator[tuple[int, list[str]] | RejectedRow]:
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as err:  # e.g. a field over csv's size limit: this row only
                yield RejectedRow(reader.line_num, (), f"this line cannot be read as CSV: {err}")
                continue
            if any(map(str.strip, cells)):  # not blank (map: no generator frame a row)
                yield reader.line_num, cells

    return header, records()


def row_key(header: Sequence[str], cells: Sequence[str], organisation_id: str) -> str | None:
    """The natural key `parse_row` gives this row if it is valid, without checking the rest of
    it (None when it could have none): lets a bulk import skip rows stored by an earlier
    upload before the work of checking and signing them. The row is still checked: a row that
    `parse_row` rejects is rejected whatever this says."""
    if len(cells) != len(header):
        return None
    values = dict(zip(header, cells, strict=True))
    try:
        start = _parse_date(values["start"].strip())
    except InvalidDateError:
        return None
    return natural_key(organisation_id, values["identifier"].strip(), values["role"].strip(), start)


def parse_row(
    line: int, header: Sequence[str], cells: Sequence[str], options: RosterOptions, today: date
) -> RosterRow | RejectedRow:
    """One row checked with the claims' own rules; the reason lists every problem found."""
    cells = tuple(cells)
    if len(cells) != len(header):
        return RejectedRow(line, cells, f"it has {len(cells)} cells; the header has {len(header)}")
    if any(len(c) > MAX_FIELD_CHARS or "\ufffd" in c or "\x00" in c for c in cells):
        return RejectedRow(line, cells, "a cell is too long or is not UTF-8 text")
    values = {name: cell.strip() for name, cell in zip(header, cells, strict=True)}
    problems: dict[str, list[str]] = {}
    details = _details(values, options, problems)
    if details is not None:
        for field_, messages in check_details(details, today).items():
            problems.setdefault(_COLUMN_OF.get(field_, field_), []).extend(messages)
    if problems or details is None:
        return RejectedRow(line, cells, _reason(problems))
    key = natural_key(options.organisation_id, values["identifier"], details.role, details.start)
    return RosterRow(line, key, details)


# Claim fields as the roster names them, so a reason points at the column to fix.
_COLUMN_OF = {
    "claimant_email": "identifier",
    "claimant_did": "identifier",
    "claimant_name": "name",
    "attester_email": "identifier",
}


def _reason(problems: Mapping[str, Sequence[str]]) -> str:
    return "; ".join(f"{column}: {m}" for column, ms in problems.items() for m in ms)


def _details(
    values: Mapping[str, str], options: RosterOptions, problems: dict[str, list[str]]
) -> ClaimDetails | None:
    email, did = _identity(values, problems)
    kind = _kind(values.get("kind", ""), options.default_kind, problems)
    start = _date(values, "start", problems, required=True)
    end = _date(values, "end", problems, required=False)
    hours = _hours(values.get("hours", ""), problems)
    skills = tuple(
        Skill(name=s.strip()) for s in values.get("skills", "").split(SKILL_SEPARATOR) if s.strip()
    )
    if problems or email is None or kind is None or start is None:
        return None
    return ClaimDetails(
        kind=kind,
        claimant_name=values["name"],
        claimant_email=email,
        claimant_did=did,
        organisation_id=options.organisation_id,
        role=values["role"],
        start=start,
        end=end,
        attester_email=options.attester_email,
        hours=hours,
        description=values.get("description", ""),
        skills=skills,
    )


def _identity(
    values: Mapping[str, str], problems: dict[str, list[str]]
) -> tuple[str | None, str | None]:
    identifier, email = values["identifier"], values.get("email", "")
    if identifier.startswith("did:"):
        if not email:
            problems["email"] = [
                f"{identifier} is a DID; add the person's email address in an email column"
            ]
            return None, None
        return email, identifier
    if not EMAIL_PATTERN.fullmatch(identifier):
        problems["identifier"] = [f"{identifier!r} is neither an email address nor a DID"]
        return None, None
    return identifier, None


def _kind(text: str, default: ClaimKind, problems: dict[str, list[str]]) -> ClaimKind | None:
    if not text:
        return default
    try:
        return ClaimKind(text.lower())
    except ValueError:
        problems["kind"] = [f"{text!r} is not employment, study or contribution"]
        return None


def _date(
    values: Mapping[str, str], column: str, problems: dict[str, list[str]], *, required: bool
) -> PartialDate | None:
    text = values.get(column, "")
    if not text:
        if required:
            problems[column] = ["give the date as YYYY, YYYY-MM or YYYY-MM-DD"]
        return None
    try:
        return _parse_date(text)
    except InvalidDateError as err:
        problems[column] = [err.reason if err.value == text else str(err)]
        return None


def _hours(text: str, problems: dict[str, list[str]]) -> float | None:
    if not text:
        return None
    try:
        value = float(text.replace(",", ""))
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        problems["hours"] = [f"{text!r} is not a number of hours"]
        return None
    return value


# A roster repeats few dates (a month of a year) a million times; a PartialDate is immutable,
# so each distinct text is parsed and checked once. Refused texts raise, and are not kept.
_parse_date = functools.lru_cache(maxsize=16_384)(PartialDate.parse)


def preconfirmed_claim(
    claim_id: str,
    row: RosterRow,
    options: RosterOptions,
    uploader: str,
    import_id: str,
    now: datetime,
) -> Claim:
    """The row as a claim the organisation has already confirmed: drafted and requested by the
    uploader, confirmed in the attester's role, each step an event `claims.replay` accepts.

    Built directly rather than through `claims.draft_claim`/`confirm`: those validate the facts
    again (the row was just checked) and the uploader, not a link holder, is who confirms here.
    """
    where = {"roster_import": import_id, "line": row.line}
    confirmed = {
        "attester_email": options.attester_email,
        "attester_role": options.attester_role,
        "confirmed_by": uploader,
        **where,
    }
    S, E = ClaimState, EventKind
    events = (
        Event(E.CLAIM_DRAFTED, uploader, now, None, S.DRAFT, None, where),
        Event(E.CLAIM_REQUESTED, uploader, now, S.DRAFT, S.REQUESTED, None, where),
        Event(E.CLAIM_CONFIRMED, uploader, now, S.REQUESTED, S.CONFIRMED, None, confirmed),
    )
    return Claim(
        id=claim_id,
        details=row.details,
        state=S.CONFIRMED,
        events=events,
        confirmed_by=Confirmation(options.attester_email, options.attester_role, now),
    )
