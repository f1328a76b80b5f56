"""The roster flows: import a stored upload (`import_roster`), and issue an organisation's
confirmed roster claims in few, large task runs (`issue_roster`).

A direct upload is signed as it is read: inside the `import-roster-file` task each chunk of rows
is checked and signed by the signer pool and stored issued (`roster_pipeline.import_into`). The
`issue_roster` subflow then issues whatever is left confirmed (a row that could not be signed, an
import whose signer failed, an organisation signing VC-JWT).

Each task run issues a slice of `slice_size` claims (by default 25 signing pages of
RPL_ISSUE_BATCH_SIZE): inside it the pages are signed by the process pool and stored one
transaction each. A million rows are forty-odd task runs, so Prefect's per-task cost (milliseconds)
stays far below the signing time, and the run, its tasks and their counts show in the Prefect UI.
Every slice is safe to retry: it reads only the claims still confirmed. With RPL_DASK_ADDRESS set
(or distributed, with more than one page waiting) the pages are signed by `sign-roster-page` task
runs on Dask instead (`flows.spread.issue_roster_on_dask`), and stored by the flow's process.

Each task reports the seconds its body took; the flow returns their sum next to its own wall
time, so `rpl bench roster` can state Prefect's share of a run measured in that run.
"""

from __future__ import annotations

import time
from typing import Any

from prefect import flow, task

from flows import runtime, spread
from rpl.services import roster_dask, roster_jobs

SLICE_PAGES = 25


@task(name="issue-roster-slice", retries=2, retry_delay_seconds=2)
def issue_roster_slice(org_id: str, limit: int) -> dict[str, Any]:
    start = time.perf_counter()
    report = roster_jobs.issue_roster(runtime.container(), org_id, limit)
    return {
        "issued": report.issued,
        "failed": report.failed,
        "pages": report.pages,
        "seconds": time.perf_counter() - start,
    }


@flow(name="issue_roster", log_prints=True)
async def issue_roster(org_id: str, slice_size: int | None = None) -> dict[str, Any]:
    """Issue every confirmed, issuable roster claim of `org_id`, a slice per task run."""
    start = time.perf_counter()
    container = runtime.container()
    settings = container.settings
    # Counting what waits takes a second at a million rows: only asked when Dask could take it.
    if (settings.dask_address or settings.distributed) and spread.uses_dask(
        settings, roster_dask.pages_waiting(container, org_id)
    ):
        return _on_dask(org_id, start)
    size = slice_size or SLICE_PAGES * settings.issue_batch_size
    totals: dict[str, Any] = {"issued": 0, "failed": {}, "tasks": 0, "task_seconds": 0.0}
    while True:
        report = issue_roster_slice(org_id, size)
        totals["issued"] += report["issued"]
        totals["failed"].update(report["failed"])
        totals["tasks"] += 1
        totals["task_seconds"] += report["seconds"]
        if report["issued"] == 0:  # nothing left, or only claims that cannot be signed
            break
    totals["flow_seconds"] = time.perf_counter() - start
    return totals


def _on_dask(org_id: str, start: float) -> dict[str, Any]:
    """Pages signed by `sign-roster-page` task runs on Dask; read and stored in this process."""
    working = time.perf_counter()
    report = spread.issue_roster_on_dask(org_id, runtime.container().settings)
    return {
        "issued": report.issued,
        "failed": report.failed,
        "tasks": report.pages,
        "task_seconds": time.perf_counter() - working,
        "flow_seconds": time.perf_counter() - start,
    }


@task(name="import-roster-file")
def import_roster_file(import_id: str) -> dict[str, Any]:
    """Read the stored file into claims, signing a direct import's on the way. Not retried
    here: a failure ends the import as failed with the reason on its page, and the flow run
    fails; uploading the file again resumes it (the rows already stored are skipped)."""
    container = runtime.container()
    record, report = roster_jobs.import_stored(container, import_id)
    issuing = roster_jobs.start_issuing(container, record)
    return {
        "organisation_id": record.organisation_id,
        "issue": issuing,
        "status": record.status,
        "issued_while_importing": report.issued if report else 0,
    }


@task(name="finish-roster-import")
def finish_roster_import(import_id: str) -> None:
    roster_jobs.finish(runtime.container(), import_id)


@flow(name="import_roster", log_prints=True)
async def import_roster(import_id: str) -> dict[str, Any]:
    """A web or API upload, in the background: import its rows (signing them on the way when
    the uploader asked for direct issuance), issue what that left confirmed (the `issue_roster`
    flow, as a subflow), then mark it done."""
    imported = import_roster_file(import_id)
    if imported["issue"]:
        try:
            imported["issued"] = await issue_roster(imported["organisation_id"])
        except Exception as err:  # the outer edge: the page says so, the run fails visibly
            container = runtime.container()
            roster_jobs.roster.fail_import(
                container.uow, import_id, f"issuing stopped: {err}", container.now()
            )
            raise
    finish_roster_import(import_id)
    return imported


if __name__ != "flows.roster":
    # A deployment's worker loads this file by its path, as a top-level module `roster` that only
    # that process can import. The flows it finds here must be those of `flows.roster`: a task run
    # shipped to Dask carries its flow by module name, and a Dask worker can import `flows.roster`
    # (the project is on its path), never `roster`.
    from flows.roster import import_roster, issue_roster  # noqa: F401, F811
