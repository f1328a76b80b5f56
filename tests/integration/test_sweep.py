"""The sweep and the messages of each step, received by a real SMTP server on loopback.

Time is the container's clock, moved by the test: the services take `now` from it.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from rpl.bootstrap import Container, bootstrap
from rpl.claims import ClaimState
from rpl.config import Settings
from rpl.organisations import Attester, Organisation
from rpl.services import attestation, jobs
from rpl.services.organisations import RegisterOrganisation, register_organisation
from tests.conftest import _reset_postgres, database_url
from tests.integration.test_issuance import _details, _NoRunner
from tests.smtp_inbox import Inbox, html_links, html_part, smtp_server, text_links, text_part

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PUBLIC = "http://rpl.test"
ATTESTER = "coordinator@stmarys.example"


class Clock:
    def __init__(self) -> None:
        self.at = T0

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture
def world(tmp_path: Any) -> Iterator[tuple[Container, Inbox, Organisation, Clock]]:
    home = tmp_path / "home"
    with smtp_server() as (port, inbox):
        settings = Settings(
            home=home,
            database_url=database_url(home),
            public_url=PUBLIC,
            runner="inline",
            smtp_host="127.0.0.1",
            smtp_port=port,
            smtp_sender="rpl@stmarys.example",
            link_ttl_days=30,
            remind_after_days=7,
        )
        if settings.database_url.startswith("postgresql"):
            _reset_postgres(settings.database_url)
        container = bootstrap(settings, runner="inline", network=False)
        clock = Clock()
        container.now = clock  # type: ignore[method-assign]
        try:
            org = register_organisation(
                container.uow,
                container.master_key,
                RegisterOrganisation(
                    name="St Mary's Hospital",
                    domain="stmarys.example",
                    url="https://stmarys.example",
                    attesters=(Attester(ATTESTER, "Coordinator"),),
                    domain_verified=True,
                ),
                clock(),
            )
            yield container, inbox, org, clock
        finally:
            container.close()


def _requested(container: Container, org: Organisation, n: int = 0, **changes: Any) -> str:
    """A claim filed and requested at the clock's time; its messages are in the inbox."""
    details = _details(org, n)
    if changes:
        import dataclasses

        details = dataclasses.replace(details, **changes)
    submitted = attestation.submit_claim(
        container.uow, container.mailer, _NoRunner(), jobs.urls(container), details, container.now()
    )
    assert jobs.request_attestation(container, submitted.claim_id)
    return submitted.claim_id


def _state(container: Container, claim_id: str) -> ClaimState:
    with container.uow() as tx:
        return tx.claims.get(claim_id).state


def _token(link: str) -> str:
    return link.rsplit("/", 1)[1]


def _both_parts_link(message: Any, prefix: str) -> str:
    """The one link starting with `prefix`, present in the text part and the HTML part alike."""
    in_text = [u for u in text_links(message) if u.startswith(prefix)]
    in_html = [u for u in html_links(message) if u.startswith(prefix)]
    assert len(set(in_text)) == 1 and set(in_text) == set(in_html), (in_text, in_html)
    return in_text[0]


def test_a_silent_attester_is_reminded_once_per_period_with_a_link_that_replaces_the_first(
    world: tuple[Container, Inbox, Organisation, Clock],
) -> None:
    container, inbox, org, clock = world
    claim_id = _requested(container, org)
    (request,) = inbox.to(ATTESTER)
    first = _both_parts_link(request, f"{PUBLIC}/attest/")
    inbox.take()

    clock.at = T0 + timedelta(days=6, hours=23)
    assert jobs.sweep(container).reminded == []
    clock.at = T0 + timedelta(days=7)
    assert jobs.sweep(container).reminded == [claim_id]
    assert jobs.sweep(container).reminded == []  # idempotent: once per period
    clock.at = T0 + timedelta(days=13)
    assert jobs.sweep(container).reminded == []

    (reminder,) = inbox.take()
    assert reminder["To"] == ATTESTER and reminder["Subject"].startswith("Reminder: please confirm")
    second = _both_parts_link(reminder, f"{PUBLIC}/attest/")
    assert second != first
    assert "02 March 2026" in text_part(reminder)  # when they were first asked
    assert "01 April 2026" in text_part(reminder)  # the same expiry as the first link
    assert "replaces the one we sent before" in html_part(reminder)

    with pytest.raises(attestation.LinkExpiredError):
        attestation.open_attestation(container.uow, _token(first), clock())
    view, _ = attestation.open_attestation(container.uow, _token(second), clock())
    assert view.claim.id == claim_id

    clock.at = T0 + timedelta(days=14)
    assert jobs.sweep(container).reminded == [claim_id]
    third = _both_parts_link(inbox.take()[0], f"{PUBLIC}/attest/")
    decided = attestation.decide_attestation(
        container.uow,
        container.mailer,
        _NoRunner(),
        jobs.urls(container),
        _token(third),
        attestation.Decision("confirm", "Coordinator"),
        clock(),
    )
    assert decided.state is ClaimState.CONFIRMED
    clock.at = T0 + timedelta(days=21)
    assert jobs.sweep(container).reminded == []  # answered: no more reminders

    with container.uow() as tx:
        reminders = [e for e in tx.audit.entries() if e.kind == "AttesterReminded"]
    assert [e.data["reminder"] for e in reminders] == [1, 2]


def test_a_claim_nobody_answered_expires_once_and_the_claimant_is_told(
    world: tuple[Container, Inbox, Organisation, Clock],
) -> None:
    container, inbox, org, clock = world
    claim_id = _requested(container, org)
    inbox.take()
    clock.at = T0 + timedelta(days=29, hours=23)
    assert jobs.sweep(container).expired == []
    inbox.take()  # the reminders of the month
    clock.at = T0 + timedelta(days=30)
    report = jobs.sweep(container)
    assert report.expired == [claim_id] and report.reminded == []
    assert _state(container, claim_id) is ClaimState.EXPIRED
    assert jobs.sweep(container).expired == []

    (told,) = inbox.take()
    assert told["To"] == "v0@example.net"
    assert told["Subject"] == "St Mary's Hospital did not answer your claim in time"
    for part in (text_part(told), html_part(told)):
        assert "01 April 2026" in part and ATTESTER in part and "Food bank volunteer" in part


def test_a_link_that_never_left_is_sent_by_the_sweep(
    world: tuple[Container, Inbox, Organisation, Clock], tmp_path: Any
) -> None:
    container, inbox, org, clock = world
    working = container.mailer

    class Down:
        def send(self, message: Any) -> None:
            raise ConnectionRefusedError("the mail server is down")

    container.mailer = Down()
    submitted = attestation.submit_claim(
        container.uow, container.mailer, _NoRunner(), jobs.urls(container), _details(org), clock()
    )
    with pytest.raises(ConnectionRefusedError):
        jobs.request_attestation(container, submitted.claim_id)
    container.mailer = working
    assert jobs.sweep(container).resent == []  # not stuck yet: the flow's retry may still come
    clock.at = T0 + timedelta(minutes=11)
    assert jobs.sweep(container).resent == [submitted.claim_id]
    assert jobs.sweep(container).resent == []
    (request,) = inbox.to(ATTESTER)
    link = _both_parts_link(request, f"{PUBLIC}/attest/")
    attestation.open_attestation(container.uow, _token(link), clock())


def test_a_confirmed_claim_left_unissued_is_issued_by_the_sweep(
    world: tuple[Container, Inbox, Organisation, Clock],
) -> None:
    container, inbox, org, clock = world
    claim_id = _requested(container, org)
    link = _both_parts_link(inbox.to(ATTESTER)[0], f"{PUBLIC}/attest/")
    attestation.decide_attestation(  # a runner that drops the work: the process died
        container.uow,
        container.mailer,
        _NoRunner(),
        jobs.urls(container),
        _token(link),
        attestation.Decision("confirm", "Coordinator"),
        clock(),
    )
    assert jobs.sweep(container).reissued == []
    clock.at = T0 + timedelta(minutes=10)
    assert jobs.sweep(container).reissued == [claim_id]
    assert _state(container, claim_id) is ClaimState.ISSUED
    assert jobs.sweep(container).reissued == []
    issued = [m for m in inbox.to("v0@example.net") if "Your credential" in m["Subject"]]
    assert len(issued) == 1
    _both_parts_link(issued[0], f"{PUBLIC}/credentials/")


def test_every_step_sends_a_text_and_an_html_part_with_its_link(
    world: tuple[Container, Inbox, Organisation, Clock],
) -> None:
    container, inbox, org, clock = world
    tricky = "Zoë <b>O'Brien</b> & co"
    claim_id = _requested(container, org, claimant_name=tricky)
    received, request = inbox.take()
    assert received["To"] == "v0@example.net" and request["To"] == ATTESTER
    my = _both_parts_link(received, f"{PUBLIC}/my/")
    attest = _both_parts_link(request, f"{PUBLIC}/attest/")
    for message in (received, request):
        html = html_part(message)
        assert "Zoë &lt;b&gt;O&#39;Brien&lt;/b&gt; &amp; co" in html and "<b>O" not in html
        assert tricky in text_part(message)
    assert "only the button on the page decides" in text_part(request)

    attestation.decide_attestation(
        container.uow,
        container.mailer,
        _NoRunner(),
        jobs.urls(container),
        _token(attest),
        attestation.Decision("amend", "Coordinator", "Our records say 500 hours", {"hours": 500.0}),
        clock(),
    )
    (amendment,) = inbox.take()
    assert amendment["Subject"] == "St Mary's Hospital proposes corrections to your claim"
    for part in (text_part(amendment), html_part(amendment)):
        assert "Our records say 500 hours" in part and "640" in part and "500" in part

    runner = container.runner
    attestation.answer_amendment(container.uow, runner, _token(my), True, None, clock())
    (issued,) = inbox.take()
    assert issued["Subject"] == "Your credential from St Mary's Hospital"
    credential_url = _both_parts_link(issued, f"{PUBLIC}/credentials/")
    with container.uow() as tx:
        assert credential_url.endswith(tx.claims.get(claim_id).credential_id or "?")

    other = _requested(container, org, n=1)
    link = _both_parts_link(inbox.take()[1], f"{PUBLIC}/attest/")
    attestation.decide_attestation(
        container.uow,
        container.mailer,
        _NoRunner(),
        jobs.urls(container),
        _token(link),
        attestation.Decision("decline", reason="We have no record of this person"),
        clock(),
    )
    (declined,) = inbox.take()
    assert declined["Subject"] == "St Mary's Hospital declined your claim"
    for part in (text_part(declined), html_part(declined)):
        assert "We have no record of this person" in part
    assert _state(container, other) is ClaimState.DECLINED


def test_a_reminder_that_could_not_be_sent_leaves_the_first_link_working_and_is_tried_again(
    world: tuple[Container, Inbox, Organisation, Clock],
) -> None:
    container, inbox, org, clock = world
    claim_id = _requested(container, org)
    first = _both_parts_link(inbox.take()[1], f"{PUBLIC}/attest/")
    working = container.mailer

    class Down:
        def send(self, message: Any) -> None:
            raise ConnectionRefusedError("the mail server is down")

    container.mailer = Down()
    clock.at = T0 + timedelta(days=7)
    assert jobs.sweep(container).reminded == []  # logged, not raised: the sweep goes on
    attestation.open_attestation(container.uow, _token(first), clock())
    container.mailer = working
    clock.at = T0 + timedelta(days=7, hours=1)
    assert jobs.sweep(container).reminded == [claim_id]
    (reminder,) = inbox.take()
    second = _both_parts_link(reminder, f"{PUBLIC}/attest/")
    with container.uow() as tx:
        live = [k for k in tx.links.for_claim(claim_id) if k.expires_at > clock() and not k.used_at]
    assert len(live) == 1 and live[0].sent_at is not None  # the undelivered one was retired
    attestation.open_attestation(container.uow, _token(second), clock())
