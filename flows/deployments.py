"""The distributed set-up's runner and deployments (RPL_RUNNER=deployments).

The app does not run flows itself here: it creates flow runs of the Prefect deployments registered by
`python -m flows.deploy`, and workers of a `process` work pool pick them up, each run in a fresh
process that builds its own container from the same `RPL_…` settings (see `flows.runtime`). The
flows are the very ones the embedded default runs in-process; only where they run differs.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from uuid import UUID

from flows.runner import PrefectRunner

# Every deployment is named after its flow and this: `issue_credentials/rpl`.
DEPLOYMENT = "rpl"
# The flows the app starts, by name, and where each is defined. A flow whose file is absent is not
# registered (and its runs would fail, logged); a flow missing here runs in the app's own process.
ENTRYPOINTS = {
    "request_attestation": "flows/attestation.py:request_attestation",
    "issue_credentials": "flows/attestation.py:issue_credentials",
    "issue_roster": "flows/roster.py:issue_roster",
    "import_roster": "flows/roster.py:import_roster",
    "sweep": "flows/sweep.py:sweep",
    "evaluate_credit": "flows/credit.py:evaluate_credit",
    "issue_credit": "flows/credit.py:issue_credit",
}
# A sweep started while one still runs waits for it: two would only do the same work twice.
CONCURRENCY = {"sweep": 1}
# The project folder holding flows/ and rpl/: where a process worker's flow runs start.
PROJECT = Path(__file__).resolve().parents[1]


class DeploymentRunner(PrefectRunner):
    """Hands work over as flow runs of deployments; workers do it.

    Creating the flow run happens on the runner's background loop, like an in-process run in the
    embedded default, so a web request never waits on the Prefect server; a failure is logged, and the
    claim stays in its middle state for the next run to pick up.
    """

    def __init__(self, container: Any) -> None:
        super().__init__(container)
        self._deployment_ids: dict[str, UUID] = {}

    def request_attestation(self, claim_id: str) -> None:
        self._submit("request_attestation", self._run("request_attestation", claim_id=claim_id))

    def issue_credentials(self, claim_ids: Sequence[str]) -> None:
        self._submit("issue_credentials", self._run("issue_credentials", claim_ids=list(claim_ids)))

    def issue_roster(self, org_id: str) -> concurrent.futures.Future[Any]:
        """Its future holds the id of the flow run created, not the flow's totals."""
        return self._submit("issue_roster", self._run("issue_roster", org_id=org_id))

    def import_roster(self, import_id: str) -> concurrent.futures.Future[Any]:
        """The worker reads the upload from the shared file store (RPL_HOME/files)."""
        return self._submit("import_roster", self._run("import_roster", import_id=import_id))

    def sweep(self) -> None:
        self._submit("sweep", self._run("sweep"))

    def evaluate_credit(self, request_id: str) -> None:
        self._submit("evaluate_credit", self._run("evaluate_credit", request_id=request_id))

    def issue_credit(self, request_id: str) -> None:
        self._submit("issue_credit", self._run("issue_credit", request_id=request_id))

    async def _run(self, flow_name: str, **parameters: Any) -> UUID:
        from prefect.client.orchestration import get_client

        async with get_client() as client:
            deployment_id = self._deployment_ids.get(flow_name)
            if deployment_id is None:
                deployment = await client.read_deployment_by_name(f"{flow_name}/{DEPLOYMENT}")
                deployment_id = self._deployment_ids[flow_name] = deployment.id
            run = await client.create_flow_run_from_deployment(deployment_id, parameters=parameters)
        return run.id


async def register(pool: str, source: Path = PROJECT) -> dict[str, UUID]:
    """Create the `process` work pool if it is missing and (re)register one deployment per flow.

    The flows are loaded from `source`, a folder every worker can read at the same path (the project
    folder on one machine; /app in the container image), so nothing is built or pushed.
    """
    from prefect import Flow
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectNotFound

    async with get_client() as client:
        try:
            await client.read_work_pool(pool)
        except ObjectNotFound:
            await client.create_work_pool(WorkPoolCreate(name=pool, type="process"))
    ids = {}
    for name, entrypoint in ENTRYPOINTS.items():
        if not (source / entrypoint.split(":")[0]).is_file():
            continue
        flow = await Flow.afrom_source(source=str(source), entrypoint=entrypoint)
        ids[name] = await flow.adeploy(
            name=DEPLOYMENT,
            work_pool_name=pool,
            concurrency_limit=CONCURRENCY.get(name),
            build=False,
            push=False,
            print_next_steps=False,
            ignore_warnings=True,
        )
    return ids
