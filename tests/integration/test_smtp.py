"""Mail over SMTP to a real server on loopback (aiosmtpd), as when RPL_SMTP_HOST is set."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from rpl.bootstrap import bootstrap
from rpl.config import Settings
from rpl.mail import SmtpMailer
from rpl.organisations import Attester
from rpl.services import attestation, jobs
from rpl.services.organisations import RegisterOrganisation, register_organisation
from tests.conftest import database_url
from tests.integration.test_issuance import _details, _NoRunner


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))  # type: ignore[arg-type]
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[int, _Inbox]]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    inbox = _Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield port, inbox
    controller.stop()


def test_the_attester_link_arrives_by_smtp(smtp: tuple[int, _Inbox], tmp_path: Path) -> None:
    port, inbox = smtp
    home = tmp_path / "home"
    settings = Settings(
        home=home,
        database_url=database_url(home),
        public_url="http://testserver",
        runner="inline",
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_sender="rpl@stmarys.example",
    )
    if settings.database_url.startswith("postgresql"):
        from tests.conftest import _reset_postgres

        _reset_postgres(settings.database_url)
    container = bootstrap(settings, runner="inline", network=False)
    try:
        assert isinstance(container.mailer, SmtpMailer)
        org = register_organisation(
            container.uow,
            container.master_key,
            RegisterOrganisation(
                name="St Mary's Hospital",
                domain="stmarys.example",
                url="https://stmarys.example",
                attesters=(Attester("coordinator@stmarys.example", "Coordinator"),),
                domain_verified=True,
            ),
            container.now(),
        )
        submitted = attestation.submit_claim(
            container.uow,
            container.mailer,
            _NoRunner(),
            jobs.urls(container),
            _details(org),
            container.now(),
        )
        jobs.request_attestation(container, submitted.claim_id)
    finally:
        container.close()
    to = [(m["To"], m["From"]) for m in inbox.messages]
    assert to == [
        ("v0@example.net", "rpl@stmarys.example"),
        ("coordinator@stmarys.example", "rpl@stmarys.example"),
    ]
    body = inbox.messages[1].get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    assert "http://testserver/attest/" in body and "only the button on the page decides" in body
    assert not settings.outbox_dir.exists()
