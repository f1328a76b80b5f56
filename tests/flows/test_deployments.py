"""The distributed runner: settings choose it, and it starts every flow the embedded runner starts
as a deployment run (tests/infra/test_one_machine.py runs it against real workers)."""

from __future__ import annotations

import asyncio
import importlib
import inspect
from uuid import UUID, uuid4

import pytest

from flows import runtime
from flows.deployments import ENTRYPOINTS, PROJECT, DeploymentRunner, register
from flows.runner import PrefectRunner
from rpl.bootstrap import bootstrap
from rpl.config import Settings
from rpl.credit import CreditState
from rpl.services import credit
from tests.credit.support import institution, issued_here

NOT_FLOWS = {"warm_up", "wait", "close"}


def test_settings_choose_the_distributed_runner_and_dask(settings: Settings) -> None:
    env = {
        "RPL_HOME": str(settings.home),
        "RPL_DATABASE_URL": settings.database_url,
        "RPL_RUNNER": "deployments",
        "RPL_DASK_ADDRESS": "tcp://dask-scheduler:8786",
    }
    chosen = Settings.from_env(env)
    assert chosen.distributed and chosen.dask_address == "tcp://dask-scheduler:8786"
    assert not Settings.from_env({"RPL_HOME": str(settings.home)}).distributed
    container = bootstrap(chosen, network=False)
    try:
        assert type(container.runner) is DeploymentRunner
    finally:
        container.close()
        runtime.use(None)  # the runner handed its container to the flows; take it back


def test_every_flow_the_app_starts_goes_to_a_deployment() -> None:
    """A flow added to the embedded runner but not here would quietly run inside the app."""
    starts = {
        name
        for name, member in inspect.getmembers(PrefectRunner, inspect.isfunction)
        if not name.startswith("_") and name not in NOT_FLOWS
    }
    assert starts <= set(ENTRYPOINTS)
    for name in starts:
        assert getattr(DeploymentRunner, name) is not getattr(PrefectRunner, name), name


def test_each_entrypoint_names_the_flow_it_deploys() -> None:
    for name, entrypoint in ENTRYPOINTS.items():
        path, function = entrypoint.split(":")
        if not (PROJECT / path).is_file():
            continue  # not in this tree (yet): not registered
        module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
        assert getattr(module, function).name == name


async def _run_as_a_worker_would(deployment_id: UUID) -> list[str]:
    """Execute the deployment's scheduled flow runs here: load the flow from the deployment's
    entrypoint, as a worker does, and run it; the final state of each."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId
    from prefect.flow_engine import run_flow
    from prefect.flows import load_flow_from_flow_run

    states = []
    async with get_client() as client:
        runs = await client.read_flow_runs(
            deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id]))
        )
        for flow_run in runs:
            flow = await load_flow_from_flow_run(flow_run)  # the client is injected
            await run_flow(flow, flow_run=flow_run, parameters=flow_run.parameters)  # type: ignore[misc]
            states.append((await client.read_flow_run(flow_run.id)).state_name or "")
    return states


@pytest.mark.slow
def test_the_credit_flows_are_deployments_that_run(settings: Settings) -> None:
    """Registered like the others, started by the distributed runner as deployment runs, and run
    from their entrypoints they take a request from the bundle to the issued transcript."""
    container = bootstrap(settings.with_(runner="deployments"), network=False)
    try:
        ids = asyncio.run(register(f"rpl-test-{uuid4().hex[:8]}"))
        assert {"evaluate_credit", "issue_credit"} <= set(ids)
        hospital = institution(container, "nursing")
        nurse = issued_here(container, hospital)
        command = credit.SubmitBundle("bsc-nursing", "M O", "m@example.net", held=(nurse,))
        request_id, _ = credit.submit_bundle(container.uow, command, container.now())

        container.runner.evaluate_credit(request_id)
        container.runner.wait(timeout=60)  # the flow run is created; a worker would now run it
        assert asyncio.run(_run_as_a_worker_would(ids["evaluate_credit"])) == ["Completed"]
        with container.uow() as tx:
            assert tx.credit.get(request_id).state is CreditState.AWAITING_ASSESSOR

        credit.decide_credit(container.uow, request_id, True, "assessor:x", "", container.now())
        container.runner.issue_credit(request_id)
        container.runner.wait(timeout=60)
        assert asyncio.run(_run_as_a_worker_would(ids["issue_credit"])) == ["Completed"]
        with container.uow() as tx:
            issued = tx.credit.get(request_id)
        assert issued.state is CreditState.ISSUED and issued.transcript
    finally:
        container.close()
        runtime.use(None)
