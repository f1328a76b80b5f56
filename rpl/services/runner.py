"""The inline runner: does the work in the caller's thread, at once. For tests and scripts that want
the outcome before the call returns; the embedded default uses the Prefect runner in `flows/`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rpl.services import credit_jobs, jobs


@dataclass
class InlineRunner:
    deps: jobs.Deps

    def request_attestation(self, claim_id: str) -> None:
        jobs.request_attestation(self.deps, claim_id)

    def issue_credentials(self, claim_ids: Sequence[str]) -> None:
        for batch in jobs.batches(claim_ids, self.deps.settings.issue_batch_size):
            jobs.issue_batch(self.deps, batch)

    def issue_roster(self, org_id: str) -> None:
        from rpl.services import roster_jobs

        roster_jobs.issue_roster(self.deps, org_id)

    def import_roster(self, import_id: str) -> None:
        from rpl.services import roster_jobs

        roster_jobs.import_roster(self.deps, import_id)

    def sweep(self) -> None:
        jobs.sweep(self.deps)

    def evaluate_credit(self, request_id: str) -> None:
        credit_jobs.evaluate_credit(self.deps, request_id)

    def issue_credit(self, request_id: str) -> None:
        credit_jobs.issue_credit(self.deps, request_id)

    def wait(self, timeout: float | None = None) -> None:
        """Nothing to wait for: the work was done in the call."""
