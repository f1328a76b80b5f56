"""What the services need from the outside world, as small interfaces the composition root fills."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from rpl.storage.unit_of_work import UnitOfWork

UowFactory = Callable[[], UnitOfWork]


class FlowRunner(Protocol):
    """How the front door starts work. Embedded: in-process flow runs; distributed: deployments.

    Calls return once the work is handed over, not when it is done; the database records the outcome.
    """

    def request_attestation(self, claim_id: str) -> None: ...

    def issue_credentials(self, claim_ids: Sequence[str]) -> None: ...

    def evaluate_credit(self, request_id: str) -> None: ...

    def issue_credit(self, request_id: str) -> None: ...
