"""The distributed runner: settings choose it, and it starts every flow the embedded runner starts
as a deployment run (tests/infra/test_one_machine.py runs it against real workers)."""

from __future__ import annotations

import importlib
import inspect

from flows import runtime
from flows.deployments import ENTRYPOINTS, PROJECT, DeploymentRunner
from flows.runner import PrefectRunner
from rpl.bootstrap import bootstrap
from rpl.config import Settings

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
