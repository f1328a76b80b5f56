"""Prefect flows of the attestation workflow. A flow orders calls; each task wraps one job; parameters
are ids; retries are safe because every job is idempotent. Flows are async: a sync flow run costs
about a second of Prefect overhead here, an async one about a tenth of that."""

from __future__ import annotations

from typing import Any

from prefect import flow, task

from flows import runtime, spread
from rpl.services import jobs


@task(name="request-attestation", retries=2, retry_delay_seconds=2)
def request_attestation_task(claim_id: str) -> bool:
    return jobs.request_attestation(runtime.container(), claim_id)


@task(name="issue-batch", retries=2, retry_delay_seconds=2)
def issue_batch_task(claim_ids: list[str]) -> dict[str, Any]:
    report = jobs.issue_batch(runtime.container(), claim_ids)
    return {
        "issued": report.issued,
        "already_issued": report.already_issued,
        "failed": report.failed,
    }


@flow(name="request_attestation", log_prints=True)
async def request_attestation(claim_id: str) -> bool:
    """Validate and record the request, and send the attester their single-use link."""
    return request_attestation_task(claim_id)


@flow(name="issue_credentials", log_prints=True)
async def issue_credentials(claim_ids: list[str], batch_size: int | None = None) -> dict[str, Any]:
    """Build, check, sign, verify, store and announce credentials for confirmed claims, in batches."""
    settings = runtime.container().settings
    size = batch_size or settings.issue_batch_size
    totals: dict[str, Any] = {"issued": [], "already_issued": [], "failed": {}}
    # In-process one after another (embedded default), or spread over Dask (distributed).
    for report in spread.run_batches(issue_batch_task, jobs.batches(claim_ids, size), settings):
        totals["issued"] += report["issued"]
        totals["already_issued"] += report["already_issued"]
        totals["failed"].update(report["failed"])
    return totals
