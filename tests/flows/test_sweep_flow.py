"""The `sweep` flow through real Prefect, started as `rpl serve`'s schedule starts it."""

from __future__ import annotations

from datetime import timedelta

from rpl.bootstrap import Container
from rpl.claims import ClaimState
from rpl.organisations import Organisation
from rpl.services import attestation, jobs
from tests.conftest import outbox_links
from tests.flows.test_flows import _details_for, org, prefect_container  # noqa: F401


def test_the_scheduled_sweep_flow_expires_a_claim_nobody_answered(
    prefect_container: Container,  # noqa: F811
    org: Organisation,  # noqa: F811
) -> None:
    c = prefect_container
    asked = c.now() - timedelta(days=c.settings.link_ttl_days + 1)
    submitted = attestation.submit_claim(
        c.uow, c.mailer, c.runner, jobs.urls(c), _details_for(org), asked
    )
    c.runner.wait(timeout=180)  # the request flow sent the link, "now": it is still live
    assert outbox_links(c, "attest")
    with c.uow() as tx:  # ...so age it: the link ran out yesterday
        [link] = tx.links.for_claim(submitted.claim_id)
        tx.links.retire(link.token_hash, c.now() - timedelta(days=1))
        tx.commit()

    c.runner.sweep()  # what the schedule in `rpl serve` calls every RPL_SWEEP_MINUTES
    c.runner.wait(timeout=180)
    with c.uow() as tx:
        claim = tx.claims.get(submitted.claim_id)
    assert claim.state is ClaimState.EXPIRED
    assert [e.kind.value for e in claim.events].count("ClaimExpired") == 1
