"""`rpl sweep`: one pass now, reporting what it touched."""

from __future__ import annotations

import json
from datetime import timedelta

from typer.testing import CliRunner

from rpl.bootstrap import Container
from rpl.claims import ClaimState
from rpl.cli import app
from rpl.organisations import Organisation
from rpl.services import attestation, jobs
from tests.cli.test_cli import env  # noqa: F401
from tests.integration.test_issuance import _details, _NoRunner


def test_rpl_sweep_expires_a_claim_nobody_answered_and_says_so(
    env: Container,  # noqa: F811
    hospital: Organisation,
) -> None:
    from dataclasses import replace

    long_ago = env.now() - timedelta(days=env.settings.link_ttl_days + 1)
    details = replace(_details(hospital), attester_email="registrar@outside.example")
    submitted = attestation.submit_claim(
        env.uow, env.mailer, _NoRunner(), jobs.urls(env), details, long_ago
    )
    ttl = timedelta(days=env.settings.link_ttl_days)
    attestation.request_attestation(
        env.uow, env.mailer, jobs.urls(env), ttl, submitted.claim_id, long_ago
    )

    first = CliRunner().invoke(app, ["sweep", "--json"])
    assert first.exit_code == 0, first.output
    report = json.loads(first.output.strip().splitlines()[-1])
    assert report["expired"] == [submitted.claim_id]
    with env.uow() as tx:
        assert tx.claims.get(submitted.claim_id).state is ClaimState.EXPIRED

    again = CliRunner().invoke(app, ["sweep"])
    assert again.exit_code == 0 and "0 expired" in again.output
