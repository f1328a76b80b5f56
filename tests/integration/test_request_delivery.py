"""The attester's link reaches them even when the mail server fails the first time."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from rpl.bootstrap import Container
from rpl.mail import Message
from rpl.organisations import Organisation
from rpl.services import attestation, jobs
from tests.conftest import outbox_links
from tests.integration.test_issuance import _details, _NoRunner


@dataclass
class FlakyMailer:
    """Refuses the first `failures` messages to the attester, then delivers to the real outbox."""

    inner: object
    failures: int = 1
    refused: list[str] = field(default_factory=list)

    def send(self, message: Message) -> None:
        if "/attest/" in message.text and self.failures:
            self.failures -= 1
            self.refused.append(message.text)
            raise ConnectionRefusedError("mail server down")
        self.inner.send(message)  # type: ignore[attr-defined]


def test_a_failed_send_is_retried_with_a_fresh_link_and_the_lost_one_is_dead(
    container: Container, hospital: Organisation
) -> None:
    flaky = FlakyMailer(container.mailer)
    container.mailer = flaky  # type: ignore[assignment]
    submitted = attestation.submit_claim(
        container.uow, flaky, _NoRunner(), jobs.urls(container), _details(hospital), container.now()
    )
    with pytest.raises(ConnectionRefusedError):
        jobs.request_attestation(container, submitted.claim_id)
    assert outbox_links(container, "attest") == []
    assert jobs.request_attestation(container, submitted.claim_id) is True  # the flow's retry
    assert jobs.request_attestation(container, submitted.claim_id) is False  # already delivered
    [delivered] = outbox_links(container, "attest")
    lost = flaky.refused[0].split("/attest/")[1].split()[0]
    with pytest.raises(attestation.LinkExpiredError):
        attestation.open_attestation(container.uow, lost, container.now())
    view, _ = attestation.open_attestation(
        container.uow, delivered.rsplit("/", 1)[1], container.now()
    )
    assert view.claim.id == submitted.claim_id


def test_a_failed_courtesy_message_does_not_undo_the_decision(
    container: Container, hospital: Organisation
) -> None:
    class Broken:
        def send(self, message: Message) -> None:
            raise ConnectionRefusedError("mail server down")

    submitted = attestation.submit_claim(
        container.uow,
        Broken(),
        _NoRunner(),  # type: ignore[arg-type]
        jobs.urls(container),
        _details(hospital),
        container.now(),
    )
    jobs.request_attestation(container, submitted.claim_id)
    token = outbox_links(container, "attest")[-1].rsplit("/", 1)[1]
    decided = attestation.decide_attestation(
        container.uow,
        Broken(),
        _NoRunner(),  # type: ignore[arg-type]
        jobs.urls(container),
        token,
        attestation.Decision("confirm", "Coordinator"),
        container.now(),
    )
    assert decided.state.value == "confirmed"
