"""Where the signing batches of one `issue_credentials` run are done.

Embedded default: one after another in the flow's own process, exactly as before (no task runner to
start, nothing to ship). Distributed (RPL_RUNNER=deployments) or with RPL_DASK_ADDRESS set: spread
over Dask through prefect-dask's task runner, at the scheduler RPL_DASK_ADDRESS names, else on a
local cluster of one process per core. Each batch is still one Prefect task run, retried alone, and
safe to repeat: a claim already issued is reported as such, never signed twice.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

from rpl.config import Settings

Batch = list[str]


def uses_dask(settings: Settings, batches: int) -> bool:
    if settings.dask_address:
        return True
    # A local cluster takes seconds to start: worth it only when there is more than one batch.
    return settings.distributed and batches > 1


def run_batches(task: Any, batches: Sequence[Batch], settings: Settings) -> list[dict[str, Any]]:
    """Each batch's report, in the order of `batches`."""
    if not uses_dask(settings, len(batches)):
        return [task(batch) for batch in batches]
    with dask_task_runner(settings) as runner:
        futures = [runner.submit(task, parameters={"claim_ids": batch}) for batch in batches]
        return [future.result() for future in futures]


def dask_task_runner(settings: Settings, cpu_count: Callable[[], int | None] = os.cpu_count) -> Any:
    from prefect_dask import DaskTaskRunner

    if settings.dask_address:
        return DaskTaskRunner(address=settings.dask_address)
    # Signing is CPU-bound Python: processes, one thread each, not threads sharing one GIL.
    return DaskTaskRunner(
        cluster_kwargs={
            "n_workers": cpu_count() or 1,
            "threads_per_worker": 1,
            "processes": True,
            "dashboard_address": ":0",  # a free port: the default 8787 may be taken
        }
    )
