"""A direct roster import, signed as it is read: each chunk checked, built and signed in the
signer processes, and stored here in ONE transaction, claims already issued.

This process reads the file's records (csv, unchecked), looks up which natural keys an earlier
upload stored (`roster.row_key`), draws the status indexes, and hands each chunk to the signer
pool. A signer checks every row with the roster's own rules (`roster.parse_row`), builds each
new row's pre-confirmed claim, events and roster entry (`direct_rows.DirectRows`: the rows
`roster.new_claim_rows` defines, as tuples) and signs its credential
(`bulk_issuance.sign_claim`: schema check, signature, its check). Back here, the chunk is
stored whole: its claims (issued, or confirmed when their credential could not be made),
their three import events and `CredentialIssued`, their entries, credentials, status
allocations, the rejected rows, the import's counts and the two audit entries of a chunk and
a page (`RosterRowsConfirmed`, `CredentialsIssued`). Nothing is written twice: a claim is not
stored confirmed to be read back and updated a moment later.

Exactly-once is the transaction's: a process killed at any point leaves each chunk stored
whole or not at all, and the next upload of the file skips every row stored (natural keys,
unique in the database: a row stored meanwhile by another upload fails the chunk, which is
stored again without it). A chunk whose signer failed is checked here and stored unsigned;
its claims, like any a signer could not sign, stay confirmed for the `issue_roster` flow.

`rpl roster import --issue` starts an import here (`import_and_issue`); a web or API upload, in
the background, reads its stored file into the import it recorded (`roster_jobs.import_stored`
calls `import_into`). An import to be accepted, or for an organisation signing VC-JWT, is read
by `roster.import_rows` and issued by the flow.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from pathlib import Path
from typing import Any

from rpl import roster as rules
from rpl.claims import ClaimKind
from rpl.errors import RplError
from rpl.roster import RejectedRow, RosterOptions
from rpl.services import bulk_issuance, jobs, roster, roster_jobs
from rpl.services.bulk_issuance import BulkIssue, BulkReport, PagePipeline
from rpl.services.direct_rows import TABLES, DirectRows, PreparedChunk
from rpl.services.issuance import IssuePolicy
from rpl.storage.bulk import time_ordered_id
from rpl.storage.roster import RosterImport
from rpl.storage.unit_of_work import DuplicateError, UnitOfWork

log = logging.getLogger("rpl.roster")

# Below this many bytes (about two signing pages of rows) spawning signer processes costs more
# than it saves: the rows are signed here, between chunks.
POOL_FROM_BYTES = 400_000


def import_and_issue(
    deps: jobs.Deps,
    org_slug: str,
    path: Path,
    request: roster.ImportRequest,
    on_chunk: Callable[[RosterImport], None] | None = None,
    now: datetime | None = None,
) -> tuple[RosterImport, BulkReport | None]:
    """Import the roster at `path`; when the request is direct and the organisation signs Data
    Integrity proofs, each chunk is signed and stored issued as it is read.

    Returns the import and the signing report (None when nothing was issued on the way: an
    import that is not direct, or VC-JWT). Whatever is still confirmed afterwards is for the
    `issue_roster` flow.
    """
    when = now or deps.now()
    record = roster.start_import(deps.uow, org_slug, request, path.stat().st_size, when)
    return import_into(deps, record, path, when, on_chunk)


def import_into(
    deps: jobs.Deps,
    record: RosterImport,
    path: Path,
    now: datetime,
    on_chunk: Callable[[RosterImport], None] | None = None,
) -> tuple[RosterImport, BulkReport | None]:
    """Read the roster at `path` into the import `record` already started, signing on the way
    as `import_and_issue` does (rows already stored, e.g. by an interrupted run, are skipped)."""
    policy = IssuePolicy(deps.settings.cryptosuite, deps.settings.status_purposes)
    with path.open("rb") as raw, roster_jobs._text(raw) as text:
        if not record.direct or policy.cryptosuite not in bulk_issuance.DATA_INTEGRITY_SUITES:
            record = roster.import_rows(
                deps.uow, deps.mailer, jobs.urls(deps), record, text, now, raw.tell, on_chunk
            )
            return record, None
        workers = roster_jobs.signing_workers() if path.stat().st_size >= POOL_FROM_BYTES else 0
        run = roster_jobs.bulk_run(deps, roster_jobs._pool(deps, record.organisation_id, workers))
        return SignedImport(run, record, now).read(text, raw.tell, on_chunk)


# --- a chunk, in a signer process ---------------------------------------------------------


@dataclass(frozen=True)
class ChunkJob:
    """A chunk of a direct import's records, as a signer process gets it."""

    record: RosterImport
    options: RosterOptions
    header: tuple[str, ...]
    records: list[tuple[int, list[str], bool]]  # (line, cells, its key stored before)
    status: list[tuple[tuple[str, int], ...]]  # drawn indexes, enough for each not stored
    now: datetime


def prepare_chunk(job: ChunkJob, sign: bool = True) -> PreparedChunk:
    """Check every record of the chunk; build each new valid row's claim, events and entry;
    sign its credential (`sign` False: leave it confirmed, for the flow to issue)."""
    state = bulk_issuance.signer_state()
    if sign and state is None:
        raise RplError("init_signer was not called in this process")
    signing = state if sign else None
    options = bulk_issuance.signing_options(signing, job.now) if signing else {}
    record, now = job.record, job.now
    made = DirectRows(
        record,
        job.options,
        now,
        signing.cryptosuite if signing else "",
        signing.verification_method if signing else "",
    )
    today = now.date()
    draws = iter(job.status)
    seen: set[str] = set()
    out = PreparedChunk()
    for line, cells, stored in job.records:
        row = rules.parse_row(line, job.header, cells, job.options, today)
        if isinstance(row, RejectedRow):
            out.rejected.append((row.line, row.cells, row.reason))
            continue
        if stored or row.key in seen:  # stored before, or earlier in this very chunk
            out.duplicates += 1
            continue
        seen.add(row.key)
        claim_id, status = time_ordered_id(), next(draws)
        issued = None
        if signing:
            try:
                credential_id, document = bulk_issuance.sign_claim(
                    signing,
                    made.claim(claim_id, row),
                    status,
                    options,
                    now,
                    full_check=not out.added,
                )
            except (RplError, ValueError, KeyError, TypeError) as err:  # this row, never the chunk
                out.failed[claim_id] = str(err) or type(err).__name__
            else:
                issued = (credential_id, document.decode(), status)
                out.issued.append((claim_id, credential_id, hashlib.sha256(document).hexdigest()))
        made.add(out, claim_id, row, issued)
        out.added.append((row.key, claim_id))
    return out


# --- reading and storing, in this process ---------------------------------------------------


@dataclass(frozen=True)
class _Sent:
    """What this process keeps of a chunk while it is signed."""

    job: ChunkJob
    rejected: list[tuple[int, Sequence[str], str]]  # records csv could not read
    lines: tuple[int, int]
    read: int
    bytes_read: int


class SignedImport:
    """One direct import: records read here, chunks prepared by the signer pool (a
    `PagePipeline`), each stored in one transaction as it comes back, in file order."""

    def __init__(self, run: BulkIssue, record: RosterImport, now: datetime) -> None:
        self.run, self.record, self.now = run, record, now
        self.pipeline = PagePipeline(run, record.organisation_id, now)
        self.options = RosterOptions(
            record.organisation_id,
            record.attester_email,
            record.attester_role,
            ClaimKind(record.default_kind),
        )
        self.on_chunk: Callable[[RosterImport], None] | None = None

    @property
    def report(self) -> BulkReport:
        return self.pipeline.report

    def read(
        self,
        text: Any,
        position: Callable[[], int],
        on_chunk: Callable[[RosterImport], None] | None = None,
    ) -> tuple[RosterImport, BulkReport]:
        """Read `text` through; `position` tells the bytes read, `on_chunk` hears of each
        stored chunk. Returns the import as it ends and what was signed."""
        self.on_chunk = on_chunk
        try:
            header, records = rules.read_records(text)
        except rules.RosterFormatError as err:
            done = roster.finish_import(self.run.uow, self.record, "failed", self.now, str(err))
            return done, self.report
        for batch in _batches(records, self.run.page_size):
            self._send(header, batch, position())
        self.pipeline.finish()
        done = roster.finish_import(self.run.uow, self.record, "imported", self.now, None)
        return done, self.report

    def _send(
        self,
        header: tuple[str, ...],
        batch: list[tuple[int, list[str]] | RejectedRow],
        bytes_read: int,
    ) -> None:
        unread = [(r.line, r.cells, r.reason) for r in batch if isinstance(r, RejectedRow)]
        records = [r for r in batch if not isinstance(r, RejectedRow)]
        org_id = self.record.organisation_id
        keys = [rules.row_key(header, cells, org_id) for _, cells in records]
        with self.run.uow() as tx:
            stored = tx.rosters.existing_keys([k for k in keys if k])
        flagged = [
            (line, cells, key in stored) for (line, cells), key in zip(records, keys, strict=True)
        ]
        fresh = sum(not flag for _, _, flag in flagged)
        job = ChunkJob(
            self.record,
            self.options,
            header,
            flagged,
            self.pipeline.allocator.draw(fresh) if fresh else [],
            self.now,
        )
        lines = [r.line if isinstance(r, RejectedRow) else r[0] for r in batch]
        sent = _Sent(job, unread, (min(lines), max(lines)), len(batch), bytes_read)
        self.pipeline.send(prepare_chunk, (job,), lambda done: self._store(sent, done))

    def _store(self, sent: _Sent, done: Any) -> None:
        try:
            prepared = done.result()
        except Exception as err:  # noqa: BLE001 - the signer failed, not the rows: check them here
            log.warning("a signer failed on a roster chunk (%s); storing it unsigned", err)
            prepared = prepare_chunk(sent.job, sign=False)
        for attempt in (1, 2, 3):
            try:
                with self.run.uow() as tx:
                    if attempt == 3:  # an index or a credential taken too: leave it to the flow
                        prepared = prepare_chunk(sent.job, sign=False)
                    if attempt > 1:  # another upload stored some of these rows meanwhile
                        taken = tx.rosters.existing_keys([key for key, _ in prepared.added])
                        prepared = prepared.without(taken)
                    record = self._write(tx, sent, prepared)
                    tx.commit()
                break
            except DuplicateError as err:
                if attempt == 3:
                    raise
                log.info("a roster chunk collided (%s); storing it again", err)
        self.record = record
        self.report.pages += 1
        self.report.issued += len(prepared.issued)
        self.report.failed.update(prepared.failed)
        if self.on_chunk:
            self.on_chunk(record)

    def _write(self, tx: UnitOfWork, sent: _Sent, prepared: PreparedChunk) -> RosterImport:
        """The chunk's rows, in `tx`; the import as it now stands."""
        tx.bulk.insert_tables(
            [(table.__table__, prepared.rows[name]) for name, (table, _, _) in TABLES.items()],  # type: ignore[attr-defined]
            self.now,
        )
        rejected = sent.rejected + prepared.rejected
        tx.rosters.add_rejections(self.record.id, rejected)
        if prepared.added:
            audit = roster.chunk_audit(self.record, sent.lines, prepared.added)
            tx.audit.append(*audit, self.now)
        if prepared.issued:
            audit = bulk_issuance.page_audit(self.pipeline.org, prepared.issued)
            tx.audit.append(*audit, self.now)
        return roster.count_rows(
            tx,
            self.record,
            sent.read,
            len(prepared.added),
            prepared.duplicates,
            len(rejected),
            sent.bytes_read,
            self.now,
        )


def _batches(records: Iterator[Any], size: int) -> Iterator[list[Any]]:
    while batch := list(islice(records, size)):
        yield batch
