"""The flows through real Prefect (ephemeral mode): the embedded default's way of doing work."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from rpl.bootstrap import Container, bootstrap
from rpl.claims import ClaimState
from rpl.config import Settings
from rpl.organisations import Organisation
from rpl.services import attestation, jobs
from rpl.services.organisations import RegisterOrganisation, register_organisation
from tests.conftest import outbox_links
from tests.integration.test_issuance import _details


@pytest.fixture
def prefect_container(settings: Settings) -> Iterator[Container]:
    built = bootstrap(settings, runner="prefect", network=False)
    yield built
    built.close()


@pytest.fixture
def org(prefect_container: Container) -> Organisation:
    return register_organisation(
        prefect_container.uow,
        prefect_container.master_key,
        RegisterOrganisation(
            name="Food Bank",
            domain="foodbank.example",
            url="https://foodbank.example",
            domain_verified=True,
        ),
        prefect_container.now(),
    )


def _details_for(org: Organisation, n: int = 0):  # type: ignore[no-untyped-def]
    from dataclasses import replace

    return replace(_details(org, n), attester_email="coordinator@foodbank.example")


def test_the_runner_requests_and_issues_through_prefect_flows(
    prefect_container: Container, org: Organisation
) -> None:
    c = prefect_container
    submitted = attestation.submit_claim(
        c.uow, c.mailer, c.runner, jobs.urls(c), _details_for(org), c.now()
    )
    c.runner.wait(timeout=180)
    [link] = outbox_links(c, "attest")
    token = link.rsplit("/", 1)[1]
    attestation.decide_attestation(
        c.uow,
        c.mailer,
        c.runner,
        jobs.urls(c),
        token,
        attestation.Decision("confirm", "Coordinator"),
        c.now(),
    )
    c.runner.wait(timeout=180)
    with c.uow() as tx:
        claim = tx.claims.get(submitted.claim_id)
        assert claim.state is ClaimState.ISSUED
        assert tx.credentials.by_claim(claim.id) is not None
    assert _completed_flow_runs() >= {"request_attestation", "issue_credentials"}


def test_running_the_issue_flow_again_issues_nothing_twice(
    prefect_container: Container, org: Organisation
) -> None:
    from flows.attestation import issue_credentials
    from tests.integration.test_issuance import confirmed_claims

    c = prefect_container
    ids = confirmed_claims(c, org_with_domain(c, org), 3)
    first = asyncio.run(issue_credentials(ids, batch_size=2))
    second = asyncio.run(issue_credentials(ids, batch_size=2))
    assert sorted(first["issued"]) == sorted(ids)
    assert second["issued"] == [] and sorted(second["already_issued"]) == sorted(ids)
    with c.uow() as tx:
        assert tx.credentials.count() == 3


def org_with_domain(c: Container, org: Organisation) -> Organisation:
    """`confirmed_claims` confirms as coordinator@stmarys.example: list that address here."""
    from rpl.organisations import Attester

    with c.uow() as tx:
        tx.orgs.add_attester(
            org.id, Attester("coordinator@stmarys.example", "Coordinator"), c.now()
        )
        tx.commit()
    return org


def _completed_flow_runs() -> set[str]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType
    from prefect.client.schemas.sorting import FlowRunSort

    async def names() -> set[str]:
        async with get_client() as client:
            completed = FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.COMPLETED]))
            runs = await client.read_flow_runs(
                flow_run_filter=FlowRunFilter(state=completed),
                sort=FlowRunSort.START_TIME_DESC,
                limit=200,
            )
            flows = {f.id: f.name for f in await client.read_flows()}
            return {flows[r.flow_id] for r in runs}

    return asyncio.run(names())
