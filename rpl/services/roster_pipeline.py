"""Import a roster and issue it in one pass: pages are signed while later rows still import.

Importing the whole file, then running the `issue_roster` flow, stores every claim and only then
reads them all back to sign them: one core works at a time. Here each chunk's new
claims go to the signer processes the moment the chunk commits (`import_rows(on_claims=...)`),
and this process goes on reading rows and storing the pages that come back signed, so both
cores work through the whole run and no claim is read back from the database.

The guarantees are those of the two halves: every chunk is one transaction, every signed page
is stored whole or not at all (compare-and-set on each claim's state). Claims left confirmed by
a run killed halfway, or by a page that could not be stored, are what the `issue_roster` flow
issues afterwards; `import_and_issue` only ever gets ahead of it.

`rpl roster import --issue` starts an import here (`import_and_issue`); a web or API upload, in
the background, reads its stored file into the import it recorded (`roster_jobs.import_stored`
calls `import_into`), so both sign while they import.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from datetime import datetime
from pathlib import Path

from rpl.errors import RplError
from rpl.services import bulk_issuance, jobs, roster, roster_jobs
from rpl.services.bulk_issuance import BulkIssue, BulkReport, PagePipeline
from rpl.services.issuance import IssuePolicy
from rpl.storage.roster import ClaimToIssue, RosterImport

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
    Integrity proofs, sign and store each chunk's claims while the next chunks import.

    Returns the import and the pipeline's report (None when nothing was issued on the way: an
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
    pipeline = _pipeline(deps, record, path.stat().st_size, now) if record.direct else None
    on_claims = None
    if pipeline is not None:

        def on_claims(claims: list[ClaimToIssue]) -> None:
            pipeline.submit(claims)

    with path.open("rb") as raw, roster_jobs._text(raw) as text:
        record = roster.import_rows(
            deps.uow,
            deps.mailer,
            jobs.urls(deps),
            record,
            text,
            now,
            raw.tell,
            on_chunk,
            on_claims=on_claims,
        )
    return record, pipeline.finish() if pipeline is not None else None


def _pipeline(
    deps: jobs.Deps, record: RosterImport, size: int, now: datetime
) -> PagePipeline | None:
    policy = IssuePolicy(deps.settings.cryptosuite, deps.settings.status_purposes)
    if policy.cryptosuite not in bulk_issuance.DATA_INTEGRITY_SUITES:
        return None
    workers = roster_jobs.signing_workers() if size >= POOL_FROM_BYTES else 0
    run = BulkIssue(
        uow=deps.uow,
        keyring=jobs.keyring(deps),
        mailer=deps.mailer,
        urls=jobs.urls(deps),
        policy=policy,
        page_size=deps.settings.issue_batch_size,
        pool=roster_jobs._pool(deps, record.organisation_id, workers),
    )
    return PagePipeline(run, record.organisation_id, now)


# --- signing pages elsewhere (Dask workers) ---------------------------------------------------


def issue_roster_through(deps: jobs.Deps, org_id: str, pool: Executor) -> BulkReport:
    """Issue `org_id`'s confirmed, issuable roster claims, pages signed by `pool` (e.g. Dask
    workers running `sign_page_for`). Reading, index drawing and storing stay in this process:
    one allocator sees every index drawn, so workers never race for one."""
    run = BulkIssue(
        uow=deps.uow,
        keyring=jobs.keyring(deps),
        mailer=deps.mailer,
        urls=jobs.urls(deps),
        policy=IssuePolicy(deps.settings.cryptosuite, deps.settings.status_purposes),
        page_size=deps.settings.issue_batch_size,
        pool=pool,
    )
    return bulk_issuance.issue_roster(run, org_id, deps.now())


def sign_page_for(
    deps: jobs.Deps,
    org_id: str,
    key_id: str,
    cryptosuite: str,
    page: Sequence[bulk_issuance.Job],
    now: datetime,
) -> list[bulk_issuance.Signed]:
    """`bulk_issuance.sign_page` in a process of its own container (a Dask worker): the
    organisation's key `key_id` is opened here once, through this process's keyring. A key
    rotated since the run began fails the page (its claims stay confirmed for the next run)."""
    state = bulk_issuance.signer_state()
    if state is None or (state.org.id, state.key_id, state.cryptosuite) != (
        org_id,
        key_id,
        cryptosuite,
    ):
        with deps.uow() as tx:
            org = tx.orgs.get(org_id)
            sealed = tx.orgs.active_key(org_id)
        if sealed.key_id != key_id:
            raise KeyRotatedError(f"organisation {org_id!r} now signs with {sealed.key_id!r}")
        signer = jobs.keyring(deps).signer(deps.settings.public_url, org, sealed)
        bulk_issuance.use_signer(
            bulk_issuance.SignerState(
                org,
                deps.settings.public_url,
                cryptosuite,
                signer.verification_method,
                signer,
                sealed.public_key,
                key_id,
            )
        )
    return bulk_issuance.sign_page(page, now)


class KeyRotatedError(RplError):
    """The organisation's active key changed while its roster was being signed."""


def active_key_id(deps: jobs.Deps, org_id: str) -> str:
    with deps.uow() as tx:
        return tx.orgs.active_key(org_id).key_id


def pages_waiting(deps: jobs.Deps, org_id: str) -> int:
    """How many signing pages `org_id`'s issuable roster claims fill."""
    with deps.uow() as tx:
        waiting = tx.rosters.issuable(org_id)
    return -(-waiting // max(1, deps.settings.issue_batch_size))
