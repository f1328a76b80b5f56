"""Two people (or a double click) confirming one claim at once, over real HTTP: one credential."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn

from rpl.bootstrap import Container
from rpl.claims import ClaimState
from rpl.organisations import Organisation
from rpl.web.app import create_app
from tests.conftest import csrf_from
from tests.web.journey import CLAIM, attester_path


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def server(container: Container) -> Iterator[str]:
    # Every simulated browser opens the one link from 127.0.0.1: lift the per-link rate limit.
    container.settings = container.settings.with_(rate_links="1000/60")
    port = _free_port()
    config = uvicorn.Config(create_app(container), host="127.0.0.1", port=port, log_level="error")
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not running.started:
        assert time.monotonic() < deadline, "the test server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    running.should_exit = True
    thread.join(timeout=10)


def confirm_at_once(server: str, container: Container, confirmers: int) -> list[int]:
    """File a claim, then have `confirmers` browsers POST its confirmation at the same moment.

    Returns the HTTP statuses; asserts the database holds one credential and one confirmation.
    """
    with httpx.Client(base_url=server) as claimant:
        token = csrf_from(claimant.get("/claims/new").text)
        filed = claimant.post("/claims/new", data={**CLAIM, "csrf_token": token})
        assert filed.status_code == 303, filed.text
    path = attester_path(container)
    browsers = [httpx.Client(base_url=server, timeout=60) for _ in range(confirmers)]
    tokens = [csrf_from(b.get(path).text) for b in browsers]
    barrier = threading.Barrier(confirmers)
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
    with container.uow() as tx:
        assert tx.credentials.count() == 1
        [claim_id] = tx.claims.ids_in_state(ClaimState.ISSUED)
        events = [e.kind.value for e in tx.claims.get(claim_id).events]
    assert events.count("ClaimConfirmed") == 1 and events.count("CredentialIssued") == 1
    return statuses


def test_simultaneous_confirmations_issue_one_credential(
    server: str, container: Container, hospital: Organisation
) -> None:
    assert sorted(confirm_at_once(server, container, 2)) == [200, 409]
