"""Schemathesis against the app's own OpenAPI document, in process (ASGI): no server errors and no
status codes the document does not list. Bounded: MAX_EXAMPLES cases per operation, derandomized,
so CI stays fast and repeatable."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import status_code_conformance

from rpl.bootstrap import Container
from rpl.organisations import Organisation
from rpl.web.app import create_app

MAX_EXAMPLES = 15

pytestmark = pytest.mark.backend_agnostic


def test_the_api_answers_every_generated_request_as_documented(
    container: Container, hospital: Organisation
) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(container))
    failures: dict[str, str] = {}
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @settings(
            max_examples=MAX_EXAMPLES,
            derandomize=True,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def run(case: Any) -> None:
            case.call_and_validate(checks=[not_a_server_error, status_code_conformance])

        try:
            run()
        except BaseException as err:  # noqa: BLE001  (collect each operation's failure)
            if isinstance(err, KeyboardInterrupt):
                raise
            failures[operation.label] = str(err)[:300]
    print(f"\nschemathesis: {operations} operations x up to {MAX_EXAMPLES} cases each")
    assert operations > 10
    assert failures == {}, "\n\n".join(f"{k}: {v}" for k, v in failures.items())
