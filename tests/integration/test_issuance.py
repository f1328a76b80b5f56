"""Issuance against the real database: exactly once, whatever retries, races and bad documents."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest

from rpl import claims
from rpl.bootstrap import Container
from rpl.claims import ClaimDetails, ClaimKind, ClaimState, PartialDate
from rpl.organisations import Organisation
from rpl.services import attestation, issuance, jobs
from rpl.storage.unit_of_work import ConcurrentUpdateError


def _details(org: Organisation, n: int = 0) -> ClaimDetails:
    return ClaimDetails(
        kind=ClaimKind.CONTRIBUTION,
        claimant_name=f"Volunteer {n}",
        claimant_email=f"v{n}@example.net",
        organisation_id=org.id,
        role="Food bank volunteer",
        start=PartialDate(2012, 5),
        end=PartialDate(2019, 9),
        hours=640.0,
        attester_email="coordinator@stmarys.example",
    )


def confirmed_claims(container: Container, org: Organisation, count: int) -> list[str]:
    """Claims filed, requested and confirmed through the services, as the web app would."""
    ids = []
    for n in range(count):
        submitted = attestation.submit_claim(
            container.uow,
            container.mailer,
            _NoRunner(),
            jobs.urls(container),
            _details(org, n),
            container.now(),
        )
        jobs.request_attestation(container, submitted.claim_id)
        with container.uow() as tx:
            claim = tx.claims.get(submitted.claim_id)
            tx.claims.save(
                claims.confirm(
                    claim, "coordinator@stmarys.example", "Coordinator", container.now()
                ),
                container.now(),
            )
            tx.commit()
        ids.append(submitted.claim_id)
    return ids


class _NoRunner:
    def request_attestation(self, claim_id: str) -> None: ...

    def issue_credentials(self, claim_ids: Any) -> None: ...


def _credential_count(container: Container) -> int:
    with container.uow() as tx:
        return tx.credentials.count()


def test_issuing_twice_issues_each_claim_once(container: Container, hospital: Organisation) -> None:
    ids = confirmed_claims(container, hospital, 3)
    first = jobs.issue_batch(container, ids)
    second = jobs.issue_batch(container, ids + ids)
    assert sorted(first.issued) == sorted(ids) and not first.failed
    assert second.issued == [] and sorted(second.already_issued) == sorted(ids)
    assert _credential_count(container) == 3
    with container.uow() as tx:
        states = {tx.claims.get(i).state for i in ids}
        events = [e.kind.value for e in tx.claims.get(ids[0]).events]
    assert states == {ClaimState.ISSUED}
    assert events.count("CredentialIssued") == 1


def test_racing_issuers_produce_one_credential_per_claim(
    container: Container, hospital: Organisation
) -> None:
    ids = confirmed_claims(container, hospital, 4)
    reports: list[issuance.IssueReport] = []
    start = threading.Barrier(3)

    def run() -> None:
        start.wait()
        reports.append(jobs.issue_batch(container, ids))

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    issued = [cid for r in reports for cid in r.issued]
    assert sorted(issued) == sorted(ids), reports
    assert _credential_count(container) == 4


def test_a_credential_that_fails_the_schema_is_never_signed(
    container: Container, hospital: Organisation, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = confirmed_claims(container, hospital, 1)
    signed: list[bytes] = []
    real_builder = issuance.build_achievement_credential

    def broken_builder(*args: Any, **kwargs: Any) -> dict[str, Any]:
        document = real_builder(*args, **kwargs)
        del document["credentialSubject"]["achievement"]["criteria"]
        return document

    real_signer = issuance.Keyring.signer

    def spying_signer(self: Any, *args: Any) -> Any:
        inner = real_signer(self, *args)
        return type(
            "Spy",
            (),
            {
                "verification_method": inner.verification_method,
                "sign": lambda _s, data: signed.append(data) or inner.sign(data),
            },
        )()

    monkeypatch.setattr(issuance, "build_achievement_credential", broken_builder)
    monkeypatch.setattr(issuance.Keyring, "signer", spying_signer)
    report = jobs.issue_batch(container, ids)
    assert list(report.failed) == ids and "criteria" in report.failed[ids[0]]
    assert signed == []
    assert _credential_count(container) == 0
    with container.uow() as tx:
        assert tx.claims.get(ids[0]).state is ClaimState.CONFIRMED


def test_unconfirmed_claims_are_reported_not_issued(
    container: Container, hospital: Organisation
) -> None:
    submitted = attestation.submit_claim(
        container.uow,
        container.mailer,
        _NoRunner(),
        jobs.urls(container),
        _details(hospital),
        container.now(),
    )
    report = jobs.issue_batch(container, [submitted.claim_id, "no-such-claim"])
    assert set(report.failed) == {submitted.claim_id, "no-such-claim"}
    assert "draft" in report.failed[submitted.claim_id]
    assert _credential_count(container) == 0


def test_a_stale_write_is_refused_by_compare_and_set(
    container: Container, hospital: Organisation
) -> None:
    [claim_id] = confirmed_claims(container, hospital, 1)
    now = container.now()
    with container.uow() as slow, container.uow() as fast:
        stale = slow.claims.get(claim_id)
        fresh = fast.claims.get(claim_id)
        fast.claims.save(claims.mark_issued(fresh, "urn:x:1", now), now)
        fast.commit()
        with pytest.raises(ConcurrentUpdateError):
            slow.claims.save(claims.mark_issued(stale, "urn:x:2", now), now)


def test_an_expired_link_decides_nothing(container: Container, hospital: Organisation) -> None:
    submitted = attestation.submit_claim(
        container.uow,
        container.mailer,
        _NoRunner(),
        jobs.urls(container),
        _details(hospital),
        container.now(),
    )
    jobs.request_attestation(container, submitted.claim_id)
    from tests.conftest import outbox_links

    token = outbox_links(container, "attest")[-1].rsplit("/", 1)[1]
    later = container.now() + timedelta(days=container.settings.link_ttl_days, seconds=1)
    with pytest.raises(attestation.LinkExpiredError):
        attestation.decide_attestation(
            container.uow,
            container.mailer,
            _NoRunner(),
            jobs.urls(container),
            token,
            attestation.Decision("confirm", "HR"),
            later,
        )
