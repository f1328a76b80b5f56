"""A person corrects their roster claim before accepting it: the claim is no longer
pre-confirmed, the organisation's attester confirms the corrected facts, and the audit log keeps
the original next to the correction."""

from __future__ import annotations

from typing import Any

from rpl.bootstrap import Container
from rpl.claims import ClaimState, EventKind
from rpl.organisations import Organisation
from rpl.services.accounts import hash_token
from tests.conftest import csrf_from, outbox_links
from tests.web.journey import decide
from tests.web.test_rosters import ADMIN, ROSTER

WRONG = {"role": "Ward volunteer", "start": "2010", "end": "2012", "hours": "400"}


def accept_link(client: Any, container: Container) -> str:
    files = {"file": ("people.csv", ROSTER.encode(), "text/csv")}
    upload = client.post(
        "/api/organisations/st-marys/rosters", files=files, data={"issue": "false"}, headers=ADMIN
    )
    assert upload.status_code == 202, upload.text
    return outbox_links(container, "rosters/accept")[0]  # Ana Lima's


def correct(client: Any, link: str, **fields: str) -> Any:
    form = {**WRONG, "skills": "Listening", "description": "", **fields}
    token = csrf_from(client.get(link).text)
    return client.post(f"{link}/correct", data={**form, "csrf_token": token})


def claim_of(container: Container, link: str) -> Any:
    with container.uow() as tx:
        return tx.claims.by_token(hash_token(link.rsplit("/", 1)[1]))


def test_a_corrected_roster_claim_goes_back_to_the_attester_and_is_issued_as_corrected(
    client: Any, container: Container, hospital: Organisation
) -> None:
    link = accept_link(client, container)
    assert "Send my corrections" in client.get(link).text
    answer = correct(client, link, role="Ward volunteer coordinator", hours="650")
    assert answer.status_code == 200, answer.text
    assert "You corrected it" in answer.text
    claim = claim_of(container, link)
    assert claim.state is ClaimState.REQUESTED and claim.confirmed_by is None
    event = claim.events[-1]
    assert event.kind is EventKind.CLAIM_CORRECTED
    assert event.data["original"] == {"role": "Ward volunteer", "hours": 400.0}
    assert event.data["amended"] == {"role": "Ward volunteer coordinator", "hours": 650.0}
    with container.uow() as tx:
        [entry] = [e for e in tx.audit.entries() if e.kind == "ClaimCorrected"]
    assert entry.subject == f"claim:{claim.id}" and entry.actor == "claimant:ana@example.org"
    assert entry.data["original"]["role"] == "Ward volunteer"
    assert entry.data["amended"]["role"] == "Ward volunteer coordinator"
    # Accepting afterwards changes nothing: the correction stands, waiting for the attester.
    page = client.get(link)
    assert "Accept and receive" not in page.text
    accepted = client.post(link, data={"csrf_token": csrf_from(client.get("/claims/new").text)})
    assert accepted.status_code == 200
    assert claim_of(container, link).state is ClaimState.REQUESTED

    [attest] = outbox_links(container, "attest")
    decided = decide(client, attest, action="confirm", attester_role="Volunteer Office")
    assert decided.status_code == 200, decided.text
    issued = claim_of(container, link)
    assert issued.state is ClaimState.ISSUED
    with container.uow() as tx:
        stored = tx.credentials.by_claim(issued.id)
    assert stored is not None and "Ward volunteer coordinator" in stored.document


def test_an_unchanged_correction_is_refused_keeping_the_form(
    client: Any, container: Container, hospital: Organisation
) -> None:
    link = accept_link(client, container)
    answer = correct(client, link)
    assert answer.status_code == 422
    assert "Nothing was changed" in answer.text
    assert claim_of(container, link).state is ClaimState.CONFIRMED


def test_a_bad_date_is_refused_and_the_input_kept(
    client: Any, container: Container, hospital: Organisation
) -> None:
    link = accept_link(client, container)
    answer = correct(client, link, start="2010-13", role="Night porter")
    assert answer.status_code == 422
    assert 'value="2010-13"' in answer.text and 'value="Night porter"' in answer.text
    claim = claim_of(container, link)
    assert claim.state is ClaimState.CONFIRMED and claim.details.role == "Ward volunteer"
    assert outbox_links(container, "attest") == []
