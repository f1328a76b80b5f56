"""Signing batches: in the flow's process in the embedded default, spread over Dask when distributed."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prefect import flow, task

from flows import runtime, spread
from flows.attestation import issue_batch_task
from rpl.bootstrap import Container, bootstrap
from rpl.config import Settings
from rpl.organisations import Organisation
from rpl.roster_bench import write_roster
from rpl.services import bulk_issuance, jobs, roster
from rpl.verify import verify_credential
from tests.conftest import import_only
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


@flow(name="roster-on-dask-under-test")
def _roster_on_dask(org_id: str, settings: Settings) -> Any:
    return spread.issue_roster_on_dask(org_id, settings, workers=1)


@pytest.mark.slow
@once_per_ci  # a local cluster's start-up is slow on a busy machine: once is enough
def test_roster_pages_are_signed_by_dask_workers_and_stored_once(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, hospital: Organisation, tmp_path: Path
) -> None:
    monkeypatch.setenv("RPL_HOME", str(settings.home))
    monkeypatch.setenv("RPL_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("RPL_PUBLIC_URL", settings.public_url)
    c = bootstrap(settings.with_(runner="deployments", issue_batch_size=2), runner="inline")
    runtime.use(c)
    try:
        path = tmp_path / "roster.csv"
        write_roster(path, 5, bad_every=0)
        request = roster.ImportRequest(path.name, "operator:test", direct=True)
        record = import_only(c, hospital.slug, path, request)
        bulk_issuance.use_signer(None)  # this process must not sign
        report = _roster_on_dask(hospital.id, c.settings)
        # Three pages, each a task run in a Dask worker process (this one has no signer), stored
        # here page by page: every row issued once, and each credential verifies.
        assert bulk_issuance.signer_state() is None
        assert (report.issued, report.pages, report.failed) == (record.rows_added, 3, {})
        with c.uow() as tx:
            assert tx.credentials.count() == 5 and tx.rosters.issuable(hospital.id) == 0
            documents = tx.bulk.sample_documents(5)
        for document in documents:
            result = verify_credential(
                document, c.resolver(), c.now(), status_lists=c.status_lists()
            )
            assert result.verified, result
    finally:
        runtime.use(None)
        c.close()
