"""Prefect flows of the credit workflow. Each orders calls to `rpl` services and ends in a database
state: `evaluate_credit` leaves the request awaiting an assessor (a person, not a suspended flow);
`issue_credit` runs once the assessor accepted."""

from __future__ import annotations

from prefect import flow, task

from flows import runtime
from rpl.services import credit_jobs


@task(name="evaluate-credit", retries=2, retry_delay_seconds=2)
def evaluate_credit_task(request_id: str) -> bool:
    return credit_jobs.evaluate_credit(runtime.container(), request_id)


@task(name="issue-credit", retries=2, retry_delay_seconds=2)
def issue_credit_task(request_id: str) -> bool:
    return credit_jobs.issue_credit(runtime.container(), request_id)


@flow(name="evaluate_credit", log_prints=True)
async def evaluate_credit(request_id: str) -> bool:
    """Verify the bundle, apply the crosswalk, store the proposal: it then awaits an assessor."""
    return evaluate_credit_task(request_id)


@flow(name="issue_credit", log_prints=True)
async def issue_credit(request_id: str) -> bool:
    """One OB 3.0 credential per course granted and a CLR 2.0 transcript, signed and stored."""
    return issue_credit_task(request_id)
