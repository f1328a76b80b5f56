"""The credit workflow's units of background work, shared by the inline runner and the flows.

Each takes the composition root's container and an id, so a flow's parameters stay small and a
retry is safe: both use cases do nothing when the request has already moved on.
"""

from __future__ import annotations

from typing import Any

from rpl.services import credit, credit_issue, jobs
from rpl.services.issuance import IssuePolicy


def evaluate_credit(deps: Any, request_id: str) -> bool:
    return credit.evaluate_credit(
        deps.uow, deps.resolver(), deps.status_lists(), request_id, deps.now()
    )


def issue_credit(deps: Any, request_id: str) -> bool:
    return credit_issue.issue_credit(
        deps.uow,
        jobs.keyring(deps),
        deps.settings.public_url,
        IssuePolicy(deps.settings.cryptosuite, deps.settings.status_purposes),
        request_id,
        deps.now(),
    )
