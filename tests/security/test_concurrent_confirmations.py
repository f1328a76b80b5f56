"""Fifty simultaneous confirmations of one claim over real HTTP: exactly one credential.

Runs on SQLite in `make test` and on PostgreSQL in `make test-postgres`.
"""

from __future__ import annotations

import threading

import httpx

from rpl.bootstrap import Container
from rpl.claims import ClaimState
from rpl.organisations import Organisation
from tests.conftest import csrf_from
from tests.web.journey import CLAIM, attester_path
from tests.web.test_concurrency import server  # noqa: F401  (the live-server fixture)

CONFIRMERS = 50


def test_fifty_simultaneous_confirmations_issue_exactly_one_credential(
    server: str,  # noqa: F811
    container: Container,
    hospital: Organisation,
) -> None:
    with httpx.Client(base_url=server) as claimant:
        token = csrf_from(claimant.get("/claims/new").text)
        assert claimant.post("/claims/new", data={**CLAIM, "csrf_token": token}).status_code == 303
    path = attester_path(container)
    browsers = [httpx.Client(base_url=server, timeout=60) for _ in range(CONFIRMERS)]
    tokens = [csrf_from(b.get(path).text) for b in browsers]
    barrier = threading.Barrier(CONFIRMERS)
    statuses: list[int] = []

    def confirm(browser: httpx.Client, csrf: str) -> None:
        barrier.wait()
        response = browser.post(
            path, data={"action": "confirm", "attester_role": "HR", "csrf_token": csrf}
        )
        statuses.append(response.status_code)

    threads = [
        threading.Thread(target=confirm, args=pair) for pair in zip(browsers, tokens, strict=True)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for b in browsers:
        b.close()
    assert statuses.count(200) == 1
    assert sorted(set(statuses)) == [200, 409], statuses
    with container.uow() as tx:
        assert tx.credentials.count() == 1
        [claim_id] = tx.claims.ids_in_state(ClaimState.ISSUED)
        events = [e.kind.value for e in tx.claims.get(claim_id).events]
    assert events.count("ClaimConfirmed") == 1 and events.count("CredentialIssued") == 1
