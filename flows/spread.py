"""Where the signing batches of one `issue_credentials` run are done.

Embedded default: one after another in the flow's own process, exactly as before (no task runner to
start, nothing to ship). Distributed (RPL_RUNNER=deployments) or with RPL_DASK_ADDRESS set: spread
over Dask through prefect-dask's task runner, at the scheduler RPL_DASK_ADDRESS names, else on a
local cluster of one process per core. Each batch is still one Prefect task run, retried alone, and
safe to repeat: a claim already issued is reported as such, never signed twice.

A roster's pages go the same way (`issue_roster_on_dask`): each page is a `sign-roster-page`
task run on a worker, which only signs; the flow's process reads the claims, draws their status
indexes (one allocator, so workers never race for an index) and stores each signed page in one
transaction, exactly as with the local signer processes.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from flows import runtime
from rpl.config import Settings
from rpl.services import roster_dask

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


# --- roster signing pages ---------------------------------------------------------------------


@task(name="sign-roster-page", retries=2, retry_delay_seconds=2, cache_policy=NO_CACHE)
def sign_roster_page(
    org_id: str, key_id: str, cryptosuite: str, page: list[Any], now: datetime
) -> list[Any]:
    """Sign one page of a roster in this worker (no database writes: the flow stores it, so a
    retried page costs a signature, never a second credential)."""
    return roster_dask.sign_page_for(runtime.container(), org_id, key_id, cryptosuite, page, now)


class _PageFuture:
    def __init__(self, future: Any) -> None:
        self.future = future

    def done(self) -> bool:
        wrapped = getattr(self.future, "wrapped_future", None)
        return bool(wrapped is not None and wrapped.done())

    def result(self) -> Any:
        return self.future.result()


class TaskRunnerPool:
    """What `bulk_issuance.PagePipeline` asks of a pool, over a Prefect task runner: each page
    is a `sign-roster-page` task run on a worker, visible in the Prefect UI."""

    def __init__(self, runner: Any, org_id: str, key_id: str, cryptosuite: str, workers: int):
        self.runner, self.org_id, self.key_id, self.cryptosuite = (
            runner,
            org_id,
            key_id,
            cryptosuite,
        )
        self._max_workers = workers  # pages in flight: two per worker

    def submit(self, _sign_page: Any, page: list[Any], now: datetime) -> _PageFuture:
        parameters = {
            "org_id": self.org_id,
            "key_id": self.key_id,
            "cryptosuite": self.cryptosuite,
            "page": page,
            "now": now,
        }
        return _PageFuture(self.runner.submit(sign_roster_page, parameters=parameters))


def issue_roster_on_dask(org_id: str, settings: Settings, workers: int | None = None) -> Any:
    """Issue `org_id`'s roster with its pages signed on Dask (RPL_DASK_ADDRESS, or a local
    cluster); reading, drawing status indexes and storing stay in this (the flow's) process."""
    container = runtime.container()
    key_id = roster_dask.active_key_id(container, org_id)
    with dask_task_runner(settings) as runner:
        pool = TaskRunnerPool(
            runner, org_id, key_id, settings.cryptosuite, workers or os.cpu_count() or 1
        )
        return roster_dask.issue_roster_through(container, org_id, pool)  # type: ignore[arg-type]
