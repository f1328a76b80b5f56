"""The scheduled `sweep` flow: reminders, expiries, links that never left, confirmations never
issued. One task around one idempotent job, so a retry or an overlapping run changes nothing twice."""

from __future__ import annotations

from prefect import flow, task

from flows import runtime
from rpl.services import jobs


@task(name="sweep", retries=2, retry_delay_seconds=5)
def sweep_task() -> dict[str, list[str]]:
    return jobs.sweep(runtime.container()).to_json()


@flow(name="sweep", log_prints=True)
async def sweep() -> dict[str, list[str]]:
    """One pass of the sweep; `rpl serve` starts it every RPL_SWEEP_MINUTES, `rpl sweep` once."""
    return sweep_task()
