"""The roster flow: issue an organisation's confirmed roster claims in few, large task runs.

Each task run issues a slice of `slice_size` claims (by default 25 signing pages of
RPL_ISSUE_BATCH_SIZE): inside it the pages are signed by the process pool and stored one
transaction each. A million rows are forty-odd task runs, so Prefect's per-task cost (milliseconds)
stays far below the signing time, and the run, its tasks and their counts show in the Prefect UI.
Every slice is safe to retry: it reads only the claims still confirmed.

Each task reports the seconds its body took; the flow returns their sum next to its own wall
time, so `rpl bench roster` can state Prefect's share of a run measured in that run.
"""

from __future__ import annotations

import time
from typing import Any

from prefect import flow, task

from flows import runtime
from rpl.services import roster_jobs

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
    settings = runtime.container().settings
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
