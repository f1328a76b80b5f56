"""Exactly-once issuance on a real PostgreSQL server, whichever database the rest of the run uses.

Skipped with the reason when no server answers at RPL_TEST_POSTGRES_URL (default: the local test
database); with RPL_REQUIRE_POSTGRES=1, as in CI, a missing server is a failure instead.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from rpl.bootstrap import Container, bootstrap
from rpl.config import Settings
from rpl.organisations import Attester
from rpl.services import jobs
from rpl.services.organisations import RegisterOrganisation, register_organisation
from rpl.storage.database import drop_schema, make_engine
from tests.integration.test_issuance import confirmed_claims
from tests.postgres_check import for_this_worker, reachable

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_container(tmp_path: Path) -> Iterator[Container]:
    url = os.environ.get("RPL_TEST_POSTGRES_URL", DEFAULT_URL)
    problem = reachable(url)
    if problem:
        if os.environ.get("RPL_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL is required but not reachable at {url}: {problem}")
        pytest.skip(f"no PostgreSQL at {url} ({problem}); set RPL_TEST_POSTGRES_URL to run this")
    url = for_this_worker(url)
    engine = make_engine(url)
    drop_schema(engine)  # bootstrap migrates it back
    engine.dispose()
    settings = Settings(
        home=tmp_path / "home", database_url=url, public_url="http://testserver", runner="inline"
    )
    built = bootstrap(settings, runner="inline", network=False)
    yield built
    built.close()


def test_postgres_racing_issuers_issue_each_claim_once(pg_container: Container) -> None:
    c = pg_container
    org = register_organisation(
        c.uow,
        c.master_key,
        RegisterOrganisation(
            name="St Mary's Hospital",
            domain="stmarys.example",
            url="https://stmarys.example",
            attesters=(Attester("coordinator@stmarys.example", "Coordinator"),),
            domain_verified=True,
        ),
        c.now(),
    )
    ids = confirmed_claims(c, org, 6)
    barrier = threading.Barrier(4)
    issued: list[str] = []

    def run() -> None:
        barrier.wait()
        issued.extend(jobs.issue_batch(c, ids).issued)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(issued) == sorted(ids)
    with c.uow() as tx:
        assert tx.credentials.count() == 6
