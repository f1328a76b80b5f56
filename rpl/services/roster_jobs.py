"""The roster's units of background work, shared by the runners, the flows and the CLI.

Like `rpl.services.jobs`: each takes the container (`jobs.Deps`) and ids. The signer pool lives
as long as the process, one per organisation key, so a flow's successive tasks do not pay for
spawning processes and unsealing the key again.
"""

from __future__ import annotations

import atexit
import logging
import os
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor
from typing import Any

from rpl.services import bulk_issuance, jobs, roster
from rpl.services.bulk_issuance import BulkIssue, BulkReport
from rpl.services.issuance import IssuePolicy
from rpl.storage.roster import RosterImport

log = logging.getLogger("rpl.roster")
_pools: dict[tuple[str, str, str, int], ProcessPoolExecutor] = {}


def signing_workers() -> int:
    """Signer processes: one per core (the parent stores while they sign)."""
    return max(1, os.cpu_count() or 1)


def _pool(deps: jobs.Deps, org_id: str, workers: int) -> ProcessPoolExecutor | None:
    if workers <= 1:
        return None
    with deps.uow() as tx:
        org = tx.orgs.get(org_id)
        sealed = tx.orgs.active_key(org_id)
    if (
        sealed.store != "local"
        or deps.settings.cryptosuite not in bulk_issuance.DATA_INTEGRITY_SUITES
    ):
        return None  # a KMS key is opened once, in this process; VC-JWT goes one by one
    key = (org_id, sealed.key_id, deps.settings.cryptosuite, workers)
    pool = _pools.get(key)
    if pool is None:
        pool = bulk_issuance.signer_pool(
            deps.master_key,
            deps.settings.public_url,
            org,
            sealed,
            deps.settings.cryptosuite,
            workers,
        )
        _pools[key] = pool
    return pool


def close_pools() -> None:
    while _pools:
        _, pool = _pools.popitem()
        pool.shutdown(wait=True, cancel_futures=True)


atexit.register(close_pools)


def issue_roster(
    deps: jobs.Deps,
    org_id: str,
    limit: int | None = None,
    workers: int | None = None,
    progress: Any = None,
) -> BulkReport:
    """Issue `org_id`'s confirmed, issuable roster claims (up to `limit`) in signed pages."""
    run = bulk_run(deps, _pool(deps, org_id, _workers(deps, org_id, workers)))
    return bulk_issuance.issue_roster(run, org_id, deps.now(), limit, progress)


def bulk_run(deps: jobs.Deps, pool: Executor | None) -> BulkIssue:
    """A bulk run with the instance's settings, its pages signed by `pool` (None: here)."""
    return BulkIssue(
        uow=deps.uow,
        keyring=jobs.keyring(deps),
        mailer=deps.mailer,
        urls=jobs.urls(deps),
        policy=IssuePolicy(deps.settings.cryptosuite, deps.settings.status_purposes),
        page_size=deps.settings.issue_batch_size,
        pool=pool,
    )


def _workers(deps: jobs.Deps, org_id: str, asked: int | None) -> int:
    if asked is not None:
        return asked
    with deps.uow() as tx:
        waiting = tx.rosters.issuable(org_id)
    # Spawning signers costs seconds (each imports the proof stack): not for a page or two.
    return signing_workers() if waiting > 2 * deps.settings.issue_batch_size else 0


# An upload stored for the background import is read by these steps; `import_roster` (inline)
# and the `import_roster` flow run them in this order.
WAITING = ("queued", "importing")


def import_stored(
    deps: jobs.Deps, import_id: str, on_chunk: Callable[[RosterImport], None] | None = None
) -> tuple[RosterImport, BulkReport | None]:
    """Import the roster file an upload stored (by content hash) for `import_id`; a direct
    import is signed while it imports (`roster_pipeline.import_into`), and the report of what
    was issued on the way comes back with the import (None when nothing was to be).

    Safe to run again: an import that finished is returned as it is, and one interrupted while
    importing reads the file again, skipping every row already stored (natural keys); its claims
    left confirmed are for `issue_roster`. A failure to read the file at all ends the import as
    `failed` with the reason, shown on its page.
    """
    # Imported here: the pipeline builds on this module's signer pools.
    from rpl.services import roster_pipeline

    with deps.uow() as tx:
        record = tx.rosters.get_import(import_id)
    if record is None:
        raise roster.UnknownImportError(f"no roster import {import_id!r}")
    if record.status not in WAITING or record.file_sha256 is None:
        return record, None
    now = deps.now()
    roster.set_status(deps.uow, import_id, "importing", now)
    path = deps.files.path_for(record.file_sha256)  # type: ignore[attr-defined]
    try:
        return roster_pipeline.import_into(deps, record, path, now, on_chunk)
    except Exception as err:  # the outer edge of a background job: record it, log, re-raise
        log.exception("roster import %s failed", import_id)
        roster.fail_import(deps.uow, import_id, f"the import stopped: {err}", deps.now())
        raise


def start_issuing(deps: jobs.Deps, record: RosterImport) -> bool:
    """Mark a direct import that read its file as issuing; False if there is nothing to issue."""
    if not (record.direct and record.status == "imported"):
        return False
    roster.set_status(deps.uow, record.id, "issuing", deps.now())
    return True


def finish(deps: jobs.Deps, import_id: str) -> None:
    """The import is over: `done`, unless it failed meanwhile."""
    with deps.uow() as tx:
        record = tx.rosters.get_import(import_id)
    if record is not None and record.status in ("imported", "issuing"):
        roster.set_status(deps.uow, import_id, "done", deps.now())


def import_roster(
    deps: jobs.Deps, import_id: str, on_chunk: Callable[[RosterImport], None] | None = None
) -> RosterImport:
    """The whole background job in this thread: import (signing on the way when direct), issue
    whatever the import left confirmed, finish."""
    record, _ = import_stored(deps, import_id, on_chunk)
    if start_issuing(deps, record):
        try:
            issue_roster(deps, record.organisation_id)
        except Exception as err:
            log.exception("issuing roster import %s failed", import_id)
            roster.fail_import(deps.uow, import_id, f"issuing stopped: {err}", deps.now())
            raise
    finish(deps, import_id)
    with deps.uow() as tx:
        return tx.rosters.get_import(import_id) or record


def _text(raw: Any) -> Any:
    import io

    # utf-8-sig: spreadsheets write a byte-order mark; `replace` rejects a bad row, not the file.
    return io.TextIOWrapper(raw, encoding="utf-8-sig", errors="replace", newline="")
