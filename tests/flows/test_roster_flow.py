"""The issue_roster flow through real Prefect: few task runs, every row issued once."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from rpl.bootstrap import Container, bootstrap
from rpl.config import Settings
from rpl.organisations import Organisation
from rpl.roster_bench import write_roster
from rpl.services import roster
from rpl.services.organisations import RegisterOrganisation, register_organisation


@pytest.fixture
def prefect_container(settings: Settings) -> Iterator[Container]:
    built = bootstrap(settings.with_(issue_batch_size=20), runner="prefect", network=False)
    yield built
    built.close()


@pytest.fixture
def org(prefect_container: Container) -> Organisation:
    return register_organisation(
        prefect_container.uow,
        prefect_container.master_key,
        RegisterOrganisation(
            name="Food Bank", domain="foodbank.example", url="https://foodbank.example", slug="food"
        ),
        prefect_container.now(),
    )


def test_the_roster_flow_issues_each_row_once_in_few_task_runs(
    prefect_container: Container, org: Organisation, tmp_path: object
) -> None:
    c = prefect_container
    path = tmp_path / "r.csv"  # type: ignore[operator]
    write_roster(path, 120, bad_every=0)
    request = roster.ImportRequest("r.csv", "admin:test", direct=True)
    record = roster.start_import(c.uow, "food", request, path.stat().st_size, c.now())
    with path.open(newline="") as stream:
        roster.import_rows(
            c.uow, c.mailer, roster.Urls(c.settings.public_url), record, stream, c.now()
        )
    totals = c.runner.issue_roster(org.id).result(timeout=300)
    c.runner.wait(timeout=60)
    assert totals["issued"] == 120 and totals["failed"] == {}
    # 120 claims in slices of 25 pages of 20: one slice that issues, one that finds nothing left.
    assert totals["tasks"] == 2
    assert totals["flow_seconds"] >= totals["task_seconds"] > 0
    with c.uow() as tx:
        assert tx.claims.count_by_state() == {"issued": 120}
        assert tx.credentials.count() == 120
