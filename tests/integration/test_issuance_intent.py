"""Issuance discipline: the intent to sign is committed before signing, so a crash between signing
and storing leaves a record of what was about to be signed; the retry completes and closes it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from rpl.bootstrap import Container
from rpl.claims import ClaimState
from rpl.organisations import Organisation
from rpl.services import issuance, jobs
from rpl.services.issuance_checks import digest
from rpl.storage.unit_of_work import UnitOfWork
from tests.integration.test_issuance import confirmed_claims


class Crash(BaseException):
    """The process dying: not an error any code path would catch."""


class CrashWhenStoring(UnitOfWork):
    """A transaction that dies when a credential is about to be stored."""

    def __enter__(self) -> UnitOfWork:
        tx = super().__enter__()

        def add(credential: Any) -> None:
            raise Crash(f"killed while storing {credential.id}")

        tx.credentials.add = add  # type: ignore[method-assign]
        return tx


def _issue(container: Container, uow: Any, ids: list[str]) -> issuance.IssueReport:
    return issuance.issue_credentials(
        uow,
        jobs.keyring(container),
        container.mailer,
        jobs.urls(container),
        issuance.IssuePolicy(container.settings.cryptosuite),
        ids,
        container.now(),
    )


def test_a_crash_between_signing_and_storing_leaves_an_open_intent_that_the_retry_closes(
    container: Container, hospital: Organisation
) -> None:
    ids = confirmed_claims(container, hospital, 3)
    with pytest.raises(Crash):
        _issue(container, lambda: CrashWhenStoring(container.engine), ids)
    with container.uow() as tx:
        open_ = tx.intents.open_intents()
        assert sorted(i.claim_id for i in open_) == sorted(ids)
        assert all(tx.claims.get(i).state is ClaimState.CONFIRMED for i in ids)
        assert tx.credentials.count() == 0
    crashed = {i.claim_id: i for i in open_}
    assert all(i.verification_method.endswith("#key-1") and len(i.digest) == 64 for i in open_)

    retry = jobs.issue_batch(container, ids)
    assert sorted(retry.issued) == sorted(ids)
    with container.uow() as tx:
        assert tx.intents.open_intents() == [] and tx.credentials.count() == 3
        for claim_id in ids:
            credential = tx.credentials.by_claim(claim_id)
            assert credential is not None
            intents = {i.credential_id: i for i in tx.intents.for_claim(claim_id)}
            assert intents[crashed[claim_id].credential_id].outcome == "superseded"
            stored = intents[credential.id]
            assert stored.outcome == "stored" and stored.finished_at is not None
            # The intent's digest is of exactly what was signed, less its proof.
            document = json.loads(credential.document)
            document.pop("proof")
            assert stored.digest == digest(document)


def test_intents_are_written_in_one_statement_per_batch(
    container: Container, hospital: Organisation
) -> None:
    """The batch's intents cost one INSERT, whatever its size: no round trip per credential."""
    from sqlalchemy import event

    ids = confirmed_claims(container, hospital, 5)
    inserts: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO ISSUANCE_INTENT"):
            inserts.append(statement)

    event.listen(container.engine, "before_cursor_execute", seen)
    try:
        assert sorted(jobs.issue_batch(container, ids).issued) == sorted(ids)
    finally:
        event.remove(container.engine, "before_cursor_execute", seen)
    assert len(inserts) == 1
