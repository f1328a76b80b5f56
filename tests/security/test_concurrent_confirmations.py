"""Fifty simultaneous confirmations of one claim over real HTTP: exactly one credential.

Runs on SQLite in `make test` and on PostgreSQL in `make test-postgres`.
"""

from __future__ import annotations

from rpl.bootstrap import Container
from rpl.organisations import Organisation
from tests.web.test_concurrency import (
    confirm_at_once,
    server,  # noqa: F401  (the live-server fixture)
)


def test_fifty_simultaneous_confirmations_issue_exactly_one_credential(
    server: str,  # noqa: F811
    container: Container,
    hospital: Organisation,
) -> None:
    statuses = confirm_at_once(server, container, 50)
    assert statuses.count(200) == 1 and statuses.count(409) == 49, statuses
