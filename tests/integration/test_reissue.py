"""Re-issue after a key compromise, against the real database: the compromised key's credentials
get replacements signed with the active key; the old ones stay revoked and fail, the new ones
verify; an ordinary revocation stays final; a second run issues nothing."""

from __future__ import annotations

import threading
from email import message_from_bytes, policy
from typing import Any

import pytest

from rpl.bootstrap import Container
from rpl.claims import ClaimState, EventKind
from rpl.organisations import Organisation
from rpl.services import keys, records, reissue, status
from rpl.services.issuance import IssuePolicy
from tests.integration.test_keys_rotation import (
    ADMIN,
    audit_intact,
    compromise,
    issued,
    rotate,
    signed_by,
    verify,
)

SUBJECT = "A replacement for your credential from St Mary's Hospital"


def run(container: Container, key_id: str = "key-1", **kw: Any) -> reissue.ReissueReport:
    s = container.settings
    return reissue.reissue_compromised(
        container.status_publisher(),
        container.mailer,
        IssuePolicy(s.cryptosuite, s.status_purposes),
        "st-marys",
        key_id,
        container.now(),
        ADMIN,
        **kw,
    )


def replacement_mails(container: Container) -> list[str]:
    """The plain text of every "replacement" message in the outbox."""
    found = []
    for path in sorted(container.settings.outbox_dir.glob("*.eml")):
        message = message_from_bytes(path.read_bytes(), policy=policy.default)
        if message["Subject"] == SUBJECT:
            found.append(message.get_body(("plain",)).get_content())  # type: ignore[union-attr]
    return found


def stored(container: Container, credential_id: str) -> Any:
    with container.uow() as tx:
        return tx.credentials.get(credential_id)


def indexes(container: Container, credential_id: str) -> dict[str, int]:
    with container.uow() as tx:
        return tx.status.for_credential(credential_id)


def test_the_compromised_keys_credentials_are_reissued_and_the_old_ones_fail(
    container: Container, hospital: Organisation
) -> None:
    old = issued(container, hospital, 3)
    ordinary = old[2]
    publisher = container.status_publisher()
    status.revoke_credential(publisher, ordinary, ADMIN, "Issued in error", container.now())
    rotate(container, hospital)
    compromise(container, hospital, "key-1")

    report = run(container, batch_size=2)  # two batches

    assert sorted(report.reissued) == sorted(old[:2]), report
    assert report.already_reissued == {} and report.failed == {}
    assert list(report.skipped) == [ordinary]
    assert "revoked by the organisation" in report.skipped[ordinary]
    for before, after in report.reissued.items():
        result = verify(container, before)
        assert not result.verified
        failed = {c.name: c.detail for c in result.checks if not c.passed}
        assert "marked compromised" in failed["issuer"] and failed["status"].startswith("revoked")
        good = verify(container, after)
        assert good.verified, good.errors
        assert signed_by(container, after) == "key-2"
        new = stored(container, after)
        assert (new.generation, new.replaces) == (2, before)
        assert indexes(container, after)["revocation"] != indexes(container, before)["revocation"]
        record = records.get_credential(container.uow, before)
        assert record.replaced_by == after
        claim = record.claim
        assert (claim.state, claim.credential_id) == (ClaimState.ISSUED, after)
        assert [e.kind for e in claim.events][-3:] == [
            EventKind.CREDENTIAL_ISSUED,
            EventKind.CREDENTIAL_REVOKED,
            EventKind.CREDENTIAL_REISSUED,
        ]
        assert claim.events[-1].data == {
            "credential_id": after,
            "replaces": before,
            "compromised_key": "did:web:testserver:orgs:st-marys#key-1",
        }
        with container.uow() as tx:
            outcomes = {i.credential_id: i.outcome for i in tx.intents.for_claim(claim.id)}
        assert outcomes[after] == "stored"
    # The ordinarily revoked one stays as it was: revoked, its only credential.
    left = records.get_credential(container.uow, ordinary)
    assert (left.claim.state, left.replaced_by) == (ClaimState.REVOKED, None)
    mails = replacement_mails(container)
    assert len(mails) == 2
    assert all(any(f"/credentials/{new}" in m for m in mails) for new in report.reissued.values())
    with container.uow() as tx:
        kinds = [e.kind for e in tx.audit.last(50)]
    assert kinds.count("CredentialReissued") == 2
    assert audit_intact(container)


def test_a_second_run_issues_nothing(container: Container, hospital: Organisation) -> None:
    issued(container, hospital, 2)
    rotate(container, hospital)
    compromise(container, hospital, "key-1")
    first = run(container)
    with container.uow() as tx:
        count = tx.credentials.count()
        open_intents = tx.intents.open_intents()

    again = run(container)

    assert again.reissued == {} and again.failed == {} and again.skipped == {}
    assert again.already_reissued == first.reissued
    with container.uow() as tx:
        assert tx.credentials.count() == count == 4
        assert tx.intents.open_intents() == open_intents == []
    assert len(replacement_mails(container)) == 2
    # Marking the key compromised again leaves the replacements alone.
    repeated = compromise(container, hospital, "key-1")
    assert repeated.revoked == [] and sorted(repeated.already_revoked) == sorted(first.reissued)
    assert all(verify(container, new).verified for new in first.reissued.values())


def test_an_issued_credential_of_a_compromised_key_is_revoked_by_the_reissue(
    container: Container, hospital: Organisation
) -> None:
    both = issued(container, hospital, 2)
    rotate(container, hospital)
    # Marked without revoking (as a compromise run cut short would leave it).
    keys.mark_key_compromised(container.uow, "st-marys", "key-1", "stolen", container.now())

    report = run(container)  # one batch: both bits of one list set in one transaction

    assert sorted(report.reissued) == sorted(both)
    with container.uow() as tx:
        entries = {e.subject: e for e in tx.audit.last(20) if e.kind == "CredentialReissued"}
    for old, new in report.reissued.items():
        result = verify(container, old)
        assert any(c.name == "status" and c.detail.startswith("revoked") for c in result.checks)
        assert verify(container, new).verified
        claim = records.get_credential(container.uow, new).claim
        assert [e.kind for e in claim.events][-2:] == [
            EventKind.CREDENTIAL_ISSUED,
            EventKind.CREDENTIAL_REISSUED,
        ]
        assert claim.events[-1].reason == "key compromised"
        entry = entries[f"credential:{old}"]
        assert entry.data["status"] == {"revocation": indexes(container, old)["revocation"]}
    assert audit_intact(container)


def test_only_a_compromised_key_is_reissued(container: Container, hospital: Organisation) -> None:
    issued(container, hospital)
    rotate(container, hospital)
    with pytest.raises(reissue.KeyNotCompromisedError, match="mark it first"):
        run(container, "key-1")
    with pytest.raises(keys.UnknownKeyError):
        run(container, "key-9")


def test_a_replaced_credential_cannot_have_its_status_changed(
    container: Container, hospital: Organisation
) -> None:
    [old] = issued(container, hospital)
    rotate(container, hospital)
    compromise(container, hospital, "key-1")
    new = run(container).reissued[old]
    publisher = container.status_publisher()
    with pytest.raises(status.ReplacedCredentialError, match=new):
        status.suspend_credential(publisher, old, ADMIN, "Checking", container.now())
    # The replacement is an ordinary credential: its status changes, for good.
    status.revoke_credential(publisher, new, ADMIN, "Fraud", container.now())
    assert not verify(container, new).verified


def test_a_replacement_whose_key_is_compromised_in_turn_is_reissued_again(
    container: Container, hospital: Organisation
) -> None:
    [first] = issued(container, hospital)
    rotate(container, hospital)
    compromise(container, hospital, "key-1")
    second = run(container).reissued[first]
    rotate(container, hospital)
    compromise(container, hospital, "key-2")

    third = run(container, "key-2").reissued[second]

    assert (stored(container, third).generation, stored(container, third).replaces) == (3, second)
    assert signed_by(container, third) == "key-3" and verify(container, third).verified
    assert records.get_credential(container.uow, first).replaced_by == second
    assert records.get_credential(container.uow, second).replaced_by == third


def test_a_run_that_died_after_recording_its_intents_is_finished_by_the_next(
    container: Container, hospital: Organisation
) -> None:
    [old] = issued(container, hospital)
    rotate(container, hospital)
    compromise(container, hospital, "key-1")
    s = container.settings
    died = reissue._Run(
        container.status_publisher(),
        IssuePolicy(s.cryptosuite, s.status_purposes),
        "did:web:testserver:orgs:st-marys#key-1",
        ADMIN,
        container.now(),
    )
    # Planned, intents committed, signed: then the process is gone before storing.
    [signed] = reissue._signed(died, [old], reissue.ReissueReport("key-1"))
    with container.uow() as tx:
        assert [i.credential_id for i in tx.intents.open_intents()] == [signed.intent.credential_id]

    report = run(container)

    assert list(report.reissued) == [old]
    with container.uow() as tx:
        assert tx.intents.open_intents() == []
        outcomes = {i.credential_id: i.outcome for i in tx.intents.for_claim(signed.claim.id)}
    assert outcomes[signed.intent.credential_id] == "superseded"
    assert outcomes[report.reissued[old]] == "stored"


def test_two_runs_at_once_store_one_replacement_per_credential(
    container: Container, hospital: Organisation
) -> None:
    old = issued(container, hospital, 4)
    rotate(container, hospital)
    compromise(container, hospital, "key-1")
    reports: list[reissue.ReissueReport] = []
    start = threading.Barrier(2)

    def racer() -> None:
        start.wait()
        reports.append(run(container))

    threads = [threading.Thread(target=racer) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert len(reports) == 2 and all(r.failed == {} for r in reports)
    done = {**reports[0].reissued, **reports[1].reissued}
    assert sorted(done) == sorted(old)
    assert not set(reports[0].reissued) & set(reports[1].reissued)
    with container.uow() as tx:
        assert tx.credentials.count() == 8
    assert all(verify(container, new).verified for new in done.values())
    assert len(replacement_mails(container)) == 4
    assert audit_intact(container)
