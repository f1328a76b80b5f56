"""Use cases of rosters: import an organisation's CSV of past participants, and a person's accept.

`import_roster` streams the file in chunks of `chunk_size` rows. Each chunk is one transaction:
its new claims (pre-confirmed, three events each), their roster entries, its rejected rows, the
import's counts and ONE audit entry for the chunk. That entry (`RosterRowsConfirmed`) names the
import, the lines it covers, how many claims it created and the sha256 of their "key claim-id"
lines in file order, so the chain stays verifiable and each claim can be traced to its entry
without a million entries. A re-run skips every row whose natural key is already stored, so an
import killed halfway is finished by uploading the same file again.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from itertools import islice
from typing import Any, TextIO

from rpl import audit, claims, roster
from rpl.claim_details import ClaimDetails
from rpl.claims import SYSTEM, Claim, ClaimKind
from rpl.errors import RplError
from rpl.mail import Mailer, Message
from rpl.roster import RejectedRow, RosterOptions, RosterRow
from rpl.services.attestation import Urls
from rpl.services.ports import UowFactory
from rpl.storage import codec
from rpl.storage.bulk import time_ordered_id
from rpl.storage.roster import RosterImport
from rpl.storage.unit_of_work import DuplicateError, UnitOfWork
from rpl.tokens import hash_token, new_token

log = logging.getLogger("rpl.roster")
CHUNK_SIZE = 2000


class UnknownImportError(RplError):
    """No roster import has this id (for this organisation)."""


class RosterRunnerError(RplError):
    """The configured runner has no way to issue a roster (the import itself is kept)."""


@dataclass(frozen=True)
class ImportRequest:
    """What the uploader chose for the whole file."""

    filename: str
    uploaded_by: str  # the actor: "admin:<who>" or "operator:<who>"
    attester_role: str = "Records Office"
    attester_email: str | None = None  # default: the organisation's address, or records@domain
    default_kind: ClaimKind = ClaimKind.CONTRIBUTION
    direct: bool = False  # issue to each identifier at once, or email each person to accept


@dataclass
class _Chunk:
    rows: list[RosterRow]
    rejected: list[RejectedRow]
    duplicates: int = 0


def start_import(
    uow: UowFactory,
    org_slug: str,
    request: ImportRequest,
    bytes_total: int,
    now: datetime,
    file_sha256: str | None = None,
) -> RosterImport:
    """Record a new import of `org_slug` before any row is read: `importing`, or `queued` when
    the file waits in the file store (`file_sha256`) for the job runner (`import_stored`)."""
    with uow() as tx:
        org = tx.orgs.by_slug(org_slug)
        record = RosterImport(
            id=str(uuid.uuid4()),
            organisation_id=org.id,
            filename=request.filename[:200],
            uploaded_by=request.uploaded_by,
            attester_email=request.attester_email or org.email or f"records@{org.domain}",
            attester_role=request.attester_role.strip() or ImportRequest.attester_role,
            default_kind=request.default_kind.value,
            direct=request.direct,
            status="queued" if file_sha256 else "importing",
            message=None,
            bytes_total=bytes_total,
            bytes_read=0,
            rows_read=0,
            rows_added=0,
            rows_duplicate=0,
            rows_rejected=0,
            created_at=now,
            updated_at=now,
            file_sha256=file_sha256,
        )
        tx.rosters.add_import(record)
        data = {"import": record.id, "file": record.filename, "direct": record.direct}
        tx.audit.append(
            "RosterImportStarted", request.uploaded_by, f"organisation:{org.id}", data, now
        )
        tx.commit()
    return record


def import_rows(
    uow: UowFactory,
    mailer: Mailer,
    urls: Urls,
    record: RosterImport,
    stream: TextIO,
    now: datetime,
    position: Callable[[], int] = lambda: 0,
    on_chunk: Callable[[RosterImport], None] | None = None,
    chunk_size: int = CHUNK_SIZE,
) -> RosterImport:
    """Read every row of `stream` into `record`'s import; returns the import as it ends.

    A file that is not a roster at all (no header, a required column missing) ends the import
    as `failed` with the reason; a bad row is only rejected. `position` tells how many bytes were
    read (for progress) and `on_chunk` is called after each committed chunk. A direct import
    signed as it is read goes through `roster_pipeline.import_into` instead.
    """
    options = RosterOptions(
        record.organisation_id,
        record.attester_email,
        record.attester_role,
        ClaimKind(record.default_kind),
    )
    try:
        rows = roster.read_roster(stream, options, (now.date()))
        for chunk in _chunks(rows, chunk_size):
            record = _store_chunk(uow, mailer, urls, record, options, chunk, position(), now)
            if on_chunk:
                on_chunk(record)
    except roster.RosterFormatError as err:
        return finish_import(uow, record, "failed", now, str(err))
    return finish_import(uow, record, "imported", now, None)


def _chunks(rows: Iterable[RosterRow | RejectedRow], size: int) -> Iterator[_Chunk]:
    iterator = iter(rows)
    while batch := list(islice(iterator, size)):
        chunk = _Chunk([], [])
        for item in batch:
            (chunk.rows if isinstance(item, RosterRow) else chunk.rejected).append(item)  # type: ignore[arg-type]
        yield chunk


def _store_chunk(
    uow: UowFactory,
    mailer: Mailer,
    urls: Urls,
    record: RosterImport,
    options: RosterOptions,
    chunk: _Chunk,
    bytes_read: int,
    now: datetime,
) -> RosterImport:
    for attempt in (1, 2):
        chunk.duplicates = 0
        try:
            with uow() as tx:
                added, tokens = _add_new_rows(tx, record, options, chunk, now)
                record = _count(tx, record, chunk, len(added), bytes_read, now)
                tx.commit()
            break
        except DuplicateError:  # another upload stored some of these keys between check and insert
            if attempt == 2:
                raise
            log.info("roster chunk raced another upload; checking its keys again")
    if not record.direct:
        _invite(uow, mailer, urls, record, tokens)
    return record


def _add_new_rows(
    tx: UnitOfWork, record: RosterImport, options: RosterOptions, chunk: _Chunk, now: datetime
) -> tuple[list[tuple[str, str]], list[tuple[RosterRow, str]]]:
    existing = tx.rosters.existing_keys([r.key for r in chunk.rows])
    claims, events, entries, added, tokens = [], [], [], [], []
    for row in chunk.rows:
        if row.key in existing:  # stored before, or earlier in this very chunk
            chunk.duplicates += 1
            continue
        existing.add(row.key)
        # A direct import mails no link (the organisation tells its people itself): no secret
        # is made that nobody would hold, and no random key lands in the token index.
        token = None if record.direct else new_token()
        claim_id = time_ordered_id()  # ids in order: bulk-friendly
        _, claim, claim_events, entry = new_claim_rows(record, options, row, claim_id, token, now)
        claims.append(claim)
        events += claim_events
        entries.append(entry)
        added.append((row.key, claim_id))
        if token:
            tokens.append((row, token))
    tx.rosters.add_rows(claims, events, entries)
    tx.rosters.add_rejections(record.id, ((r.line, r.cells, r.reason) for r in chunk.rejected))
    if added:
        lines = [r.line for r in chunk.rows] + [r.line for r in chunk.rejected]
        tx.audit.append(*chunk_audit(record, lines, added), now)
    return added, tokens


def new_claim_rows(
    record: RosterImport,
    options: RosterOptions,
    row: RosterRow,
    claim_id: str,
    token: str | None,
    now: datetime,
) -> tuple[Claim, dict[str, Any], list[dict[str, Any]], dict[str, Any]]:
    """A valid row as its pre-confirmed claim: the claim, its table row, its three events' rows
    and its roster entry, as `RosterRepository.add_rows` stores them. `token` is the person's
    link to accept (None for a direct import)."""
    claim = roster.preconfirmed_claim(claim_id, row, options, record.uploaded_by, record.id, now)
    claim_row = (
        _claim_row(claim, row)
        | {"version": 1, "claimant_token_hash": hash_token(token) if token else None}
        | {"created_at": now, "updated_at": now}
    )
    events = [
        {"claim_id": claim_id, "seq": seq, **codec.event_to_row(e)}
        for seq, e in enumerate(claim.events)
    ]
    entry = {
        "key": row.key,
        "organisation_id": record.organisation_id,
        "import_id": record.id,
        "claim_id": claim_id,
        "line": row.line,
        "direct": record.direct,
        "accepted_at": None,
    }
    return claim, claim_row, events, entry


_NO_ALIGNMENT = {"framework": None, "target_url": None, "code": None, "target_type": None}


def _claim_row(claim: Any, row: RosterRow) -> dict[str, Any]:
    """`codec.claim_to_row(claim)` for a roster claim, without `dataclasses.asdict`'s deep
    copies (a third of the import's time); tests/integration/test_roster.py holds them equal."""
    d = row.details
    by = claim.confirmed_by
    return {
        "id": claim.id,
        "organisation_id": d.organisation_id,
        "state": claim.state.value,
        "claimant_email": d.claimant_email.lower(),
        "details": details_row(d),
        "amendment": None,
        "confirmed_by": {
            "attester_email": by.attester_email,
            "attester_role": by.attester_role,
            "at": by.at.isoformat(),
        },
        "credential_id": None,
    }


def details_row(d: ClaimDetails) -> dict[str, Any]:
    """The `details` column of a roster row's claim (no evidence, no alignments), as
    `codec.claim_to_row` writes it."""
    return {
        "kind": d.kind.value,
        "claimant_name": d.claimant_name,
        "claimant_email": d.claimant_email,
        "organisation_id": d.organisation_id,
        "role": d.role,
        "start": str(d.start),
        "end": str(d.end) if d.end else None,
        "attester_email": d.attester_email,
        "claimant_did": d.claimant_did,
        "hours": d.hours,
        "fte": d.fte,
        "description": d.description,
        "skills": [{"name": s.name, **_NO_ALIGNMENT} for s in d.skills],
        "evidence": [],
    }


def chunk_audit(
    record: RosterImport, lines: Sequence[int], added: Sequence[tuple[str, str]]
) -> tuple[str, str, str, dict[str, Any]]:
    """The chunk's one audit entry: its `lines` (of every row read), and the sha256 of the
    "key claim-id" lines of the claims it `added`, in file order."""
    digest = hashlib.sha256("".join(f"{k} {c}\n" for k, c in added).encode()).hexdigest()
    data = {
        "import": record.id,
        "lines": [min(lines), max(lines)],
        "claims": len(added),
        "claims_sha256": digest,
        "attester_role": record.attester_role,
    }
    return "RosterRowsConfirmed", record.uploaded_by, f"organisation:{record.organisation_id}", data


def _count(
    tx: UnitOfWork, record: RosterImport, chunk: _Chunk, added: int, bytes_read: int, now: datetime
) -> RosterImport:
    read = len(chunk.rows) + len(chunk.rejected)
    return count_rows(
        tx, record, read, added, chunk.duplicates, len(chunk.rejected), bytes_read, now
    )


def count_rows(
    tx: UnitOfWork,
    record: RosterImport,
    read: int,
    added: int,
    duplicates: int,
    rejected: int,
    bytes_read: int,
    now: datetime,
) -> RosterImport:
    """Add a chunk's rows to the import's counts, in the chunk's transaction."""
    counts = {
        "rows_read": record.rows_read + read,
        "rows_added": record.rows_added + added,
        "rows_duplicate": record.rows_duplicate + duplicates,
        "rows_rejected": record.rows_rejected + rejected,
        "bytes_read": max(record.bytes_read, min(bytes_read, record.bytes_total or bytes_read)),
    }
    tx.rosters.update_import(record.id, now, **counts)
    return replace(record, **counts, updated_at=now)  # type: ignore[arg-type]


def finish_import(
    uow: UowFactory, record: RosterImport, status: str, now: datetime, message: str | None
) -> RosterImport:
    """The file is read: `imported`, or `failed` with the reason it is not a roster."""
    with uow() as tx:
        done = {"status": status, "message": message, "bytes_read": record.bytes_total}
        tx.rosters.update_import(record.id, now, **done)
        tx.commit()
    return replace(record, **done, updated_at=now)  # type: ignore[arg-type]


def set_status(
    uow: UowFactory, import_id: str, status: str, now: datetime, message: str | None = None
) -> None:
    with uow() as tx:
        values = {"status": status} if message is None else {"status": status, "message": message}
        tx.rosters.update_import(import_id, now, **values)
        tx.commit()


def fail_import(uow: UowFactory, import_id: str, reason: str, now: datetime) -> None:
    """The background import could not finish: the page and the API show why. Rows already
    stored stay (a re-upload of the same file adds only what is missing)."""
    with uow() as tx:
        tx.rosters.update_import(import_id, now, status="failed", message=reason[:500])
        record = tx.rosters.get_import(import_id)
        subject = f"organisation:{record.organisation_id}" if record else f"roster:{import_id}"
        data = {"import": import_id, "reason": reason[:500]}
        tx.audit.append("RosterImportFailed", SYSTEM, subject, data, now)
        tx.commit()


def _invite(
    uow: UowFactory,
    mailer: Mailer,
    urls: Urls,
    record: RosterImport,
    tokens: list[tuple[RosterRow, str]],
) -> None:
    """Email each new person their link to accept. After the commit: a lost message is re-sent
    by hand (the claim is safe); a message for a claim that was never stored cannot happen."""
    with uow() as tx:
        org = tx.orgs.get(record.organisation_id)
    for row, token in tokens:
        d = row.details
        text = (
            f"Dear {d.claimant_name},\n\n{org.name} confirms that you took part as {d.role} "
            f"from {d.start.in_words()}{' to ' + d.end.in_words() if d.end else ''}.\n\n"
            f"Accept it and receive a signed credential you keep: {accept_url(urls, token)}\n\n"
            "If something is wrong, the same page lets you say what."
        )
        message = Message(d.claimant_email, f"{org.name} confirmed your participation", text)
        try:
            mailer.send(message)
        except OSError as err:
            log.warning("could not invite %s: %s", d.claimant_email, err)


def accept_url(urls: Urls, token: str) -> str:
    return f"{urls.public_url}/rosters/accept/{token}"


def open_accept(uow: UowFactory, token: str) -> tuple[Any, Any, bool]:
    """The person's roster claim behind their link, its organisation, and whether it still waits
    for their acceptance. Reading changes nothing."""
    with uow() as tx:
        claim = tx.claims.by_token(hash_token(token))
        entry = tx.rosters.entry_for_claim(claim.id)
        if entry is None:
            raise UnknownImportError("this link is not for a roster claim")
        org = tx.orgs.get(claim.details.organisation_id)
        return claim, org, entry.accepted_at is None and not entry.direct


def accept(uow: UowFactory, runner: Any, token: str, now: datetime) -> bool:
    """The person accepts their roster claim: it becomes issuable and issuance starts.
    False if it had been accepted already (a second click changes nothing)."""
    with uow() as tx:
        claim = tx.claims.by_token(hash_token(token))
        if not tx.rosters.accept(claim.id, now):
            return False
        actor = f"claimant:{claim.details.claimant_email}"
        tx.audit.append("RosterClaimAccepted", actor, f"claim:{claim.id}", {}, now)
        tx.commit()
    runner.issue_credentials([claim.id])
    return True


def correct(
    uow: UowFactory, runner: Any, token: str, changes: dict[str, Any], now: datetime
) -> Claim:
    """The person corrects their roster claim instead of accepting it as it stands.

    The corrected claim is no longer pre-confirmed: it goes back to requested, and the
    organisation's attester is asked to confirm the changed facts (`request_attestation`, then
    the usual decision: confirm, amend or decline). Their answer counts as the person's
    acceptance, so the roster entry is marked accepted now. The audit entry holds the original
    and the corrected values.
    """
    with uow() as tx:
        claim = tx.claims.by_token(hash_token(token))
        if tx.rosters.entry_for_claim(claim.id) is None:
            raise UnknownImportError("this link is not for a roster claim")
        actor = claims.claimant_actor(claim.details.claimant_email)
        corrected = claims.correct(claim, actor, changes, now)
        if not tx.rosters.accept(claim.id, now):
            raise claims.IllegalTransitionError(claim.id, claim.state, "correct after accepting")
        tx.claims.save(corrected, now)
        kind, who, subject, data = audit.claim_event(corrected)
        event = corrected.events[-1].data
        data = {**data, "original": event["original"], "amended": event["amended"]}
        tx.audit.append(kind, who, subject, data, now)
        tx.commit()
    runner.request_attestation(claim.id)
    return corrected


# --- reading --------------------------------------------------------------------------------


def get_import(
    uow: UowFactory, org_slug: str, import_id: str
) -> tuple[RosterImport, dict[str, int]]:
    """The import and its claims by state; `UnknownImportError` unless it is `org_slug`'s."""
    with uow() as tx:
        org = tx.orgs.by_slug(org_slug)
        record = tx.rosters.get_import(import_id)
        if record is None or record.organisation_id != org.id:
            raise UnknownImportError(f"no roster import {import_id!r} for {org_slug!r}")
        return record, tx.rosters.counts(import_id)


def list_imports(uow: UowFactory, org_slug: str) -> list[RosterImport]:
    with uow() as tx:
        return tx.rosters.imports(tx.orgs.by_slug(org_slug).id)


def rejected_rows(uow: UowFactory, org_slug: str, import_id: str) -> Iterator[list[str]]:
    """The rejected-rows report as CSV records: line, reason, then the row's own cells."""
    get_import(uow, org_slug, import_id)
    yield ["line", "reason", "row"]
    with uow() as tx:
        for line, cells, reason in tx.rosters.rejections(import_id):
            yield [str(line), reason, *cells]
