"""Signing batches: in the flow's process in the embedded default, spread over Dask when distributed."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from prefect import flow, task

from flows import runtime, spread
from flows.attestation import issue_batch_task
from rpl.bootstrap import Container, bootstrap
from rpl.config import Settings
from rpl.organisations import Organisation
from rpl.services import jobs
from tests.infra.processes import once_per_ci
from tests.integration.test_issuance import confirmed_claims


def test_the_embedded_default_never_starts_dask(settings: Settings) -> None:
    embedded = settings.with_(runner="prefect")
    assert not spread.uses_dask(embedded, 1) and not spread.uses_dask(embedded, 50)
    distributed = settings.with_(runner="deployments")
    # One batch is signed where the flow runs: a local cluster would only cost its start-up.
    assert not spread.uses_dask(distributed, 1) and spread.uses_dask(distributed, 2)
    assert spread.uses_dask(embedded.with_(dask_address="tcp://127.0.0.1:8786"), 1)


def test_a_local_cluster_has_one_single_threaded_process_per_core(settings: Settings) -> None:
    runner = spread.dask_task_runner(settings.with_(runner="deployments"), cpu_count=lambda: 3)
    assert runner.cluster_kwargs["n_workers"] == 3
    assert runner.cluster_kwargs["processes"] and runner.cluster_kwargs["threads_per_worker"] == 1
    remote = spread.dask_task_runner(settings.with_(dask_address="tcp://10.0.0.5:8786"))
    assert remote.address == "tcp://10.0.0.5:8786"


@pytest.fixture
def distributed_container(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Container]:
    # Dask's worker processes build their own container from the environment, as a remote
    # worker would: point it at this test's instance.
    monkeypatch.setenv("RPL_HOME", str(settings.home))
    monkeypatch.setenv("RPL_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("RPL_PUBLIC_URL", settings.public_url)
    monkeypatch.setenv("RPL_RUNNER", "deployments")
    built = bootstrap(settings.with_(runner="deployments"), runner="inline", network=False)
    runtime.use(built)
    yield built
    runtime.use(None)
    built.close()


@task(name="issue-batch-telling-pid")
def _issue_telling_pid(claim_ids: list[str]) -> dict[str, Any]:
    return {**issue_batch_task.fn(claim_ids), "pid": os.getpid()}


@flow(name="spread-under-test")
def _spread(ids: list[str], settings: Settings) -> list[dict[str, Any]]:
    return spread.run_batches(_issue_telling_pid, jobs.batches(ids, 2), settings)


@pytest.mark.slow
@once_per_ci  # a local cluster's start-up is slow on a busy machine: once is enough
def test_batches_are_signed_in_a_local_dask_clusters_processes(
    distributed_container: Container, hospital: Organisation
) -> None:
    c = distributed_container
    ids = confirmed_claims(c, hospital, 5)
    reports = _spread(ids, c.settings)
    # Three batches, each a Prefect task run in a Dask worker process that built its own container
    # from the environment, as a remote worker does; every claim issued once.
    assert len(reports) == 3 and os.getpid() not in {r["pid"] for r in reports}
    assert sorted(i for r in reports for i in r["issued"]) == sorted(ids)
    assert not any(r["failed"] or r["already_issued"] for r in reports)
    with c.uow() as tx:
        assert tx.credentials.count() == 5
