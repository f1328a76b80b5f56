"""Credit with accounts, through the real app: an institution's assessors review only its own
requests, on pages under the institution; a signed-in student's bundle is the account's, may pick
the records the account holds here, and is listed and reachable by that account alone."""

from __future__ import annotations

from typing import Any

import pytest

from rpl.bootstrap import Container
from rpl.organisations import Organisation
from rpl.services import credit, credit_jobs
from tests.conftest import csrf_from
from tests.credit.support import institution, issued_here, sample_crosswalk
from tests.web.signin import add_member, new_client, sign_in

ADMIN = {"Authorization": "Bearer test-admin-token"}
STUDENT = "margaret@example.net"  # the claimant of `issued_here`'s claims


def _request(container: Container, crosswalk_id: str, held: str, email: str | None = None) -> str:
    command = credit.SubmitBundle(
        crosswalk_id, "Margaret Okafor", email or STUDENT, held=(held,), holder_email=email
    )
    request_id, _ = credit.submit_bundle(container.uow, command, container.now())
    assert credit_jobs.evaluate_credit(container, request_id)
    return request_id


def _document(container: Container, credential_id: str) -> str:
    with container.uow() as tx:
        stored = tx.credentials.get(credential_id)
    assert stored is not None
    return stored.document


def _signed_in(container: Container, email: str) -> Any:
    browser = new_client(container)
    sign_in(browser, container, email)
    return browser


@pytest.fixture
def two_institutions(container: Container, hospital: Organisation) -> tuple[str, str]:
    """A request to Northfield and one to St Mary's (which publishes a crosswalk of its own)."""
    northfield = institution(container)
    mine = sample_crosswalk("nursing")
    theirs = type(mine)(**{**mine.__dict__, "id": "st-marys-nursing"})
    credit.publish_crosswalk(container.uow, hospital.id, theirs, "admin:x", container.now())
    nurse = issued_here(container, hospital)
    add_member(container, northfield, "registrar@northfield.example", "assessor", "Registrar")
    add_member(container, northfield, "dean@northfield.example", "admin", "Dean")
    return _request(container, "bsc-nursing", nurse), _request(container, "st-marys-nursing", nurse)


def test_an_assessor_sees_and_decides_only_their_institutions_requests(
    container: Container, two_institutions: tuple[str, str]
) -> None:
    ours, theirs = two_institutions
    assessor = _signed_in(container, "registrar@northfield.example")
    queue = assessor.get("/orgs/northfield/assess/credit")
    assert queue.status_code == 200
    assert f"/orgs/northfield/assess/credit/{ours}" in queue.text and theirs not in queue.text
    csrf = csrf_from(queue.text)
    # Another institution's request, through the assessor's own pages: it does not exist.
    assert assessor.get(f"/orgs/northfield/assess/credit/{theirs}").status_code == 404
    reject = {"decision": "reject", "reason": "no", "csrf_token": csrf}
    assert assessor.post(f"/orgs/northfield/assess/credit/{theirs}", data=reject).status_code == 404
    # ... and through the other institution's pages: not theirs to open.
    assert assessor.get(f"/orgs/st-marys/assess/credit/{theirs}").status_code == 403
    with container.uow() as tx:
        assert tx.credit.get(theirs).state.value == "awaiting_assessor"
    done = assessor.post(
        f"/orgs/northfield/assess/credit/{ours}", data=reject, follow_redirects=False
    )
    assert done.status_code == 303
    with container.uow() as tx:
        last = tx.credit.get(ours).events[-1]
    assert (last.kind, last.actor) == ("CreditRejected", "assessor:registrar@northfield.example")


def test_admins_and_the_operator_do_not_assess(
    container: Container, two_institutions: tuple[str, str]
) -> None:
    ours, _ = two_institutions
    dean = _signed_in(container, "dean@northfield.example")
    assert dean.get("/orgs/northfield/assess/credit").status_code == 403
    operator = new_client(container)
    assert operator.get("/orgs/northfield/assess/credit", headers=ADMIN).status_code == 403
    assert operator.get(f"/orgs/northfield/assess/credit/{ours}", headers=ADMIN).status_code == 403


def test_a_signed_in_student_picks_their_records_and_finds_the_request_on_my(
    container: Container, hospital: Organisation
) -> None:
    institution(container)
    nurse = issued_here(container, hospital)
    student = _signed_in(container, STUDENT)
    form = student.get("/credit/new").text
    assert f'name="chosen" value="{nurse}"' in form and "Registered Nurse" in form
    assert 'name="learner_email"' not in form  # the account's address is used
    data = {
        "crosswalk_id": "bsc-nursing",
        "learner_name": "Margaret Okafor",
        "chosen": [nurse, "not-mine"],
        "csrf_token": csrf_from(form),
    }
    refused = student.post("/credit/new", data=data)
    assert refused.status_code == 422
    assert "&#39;not-mine&#39; is not one of your records" in refused.text
    assert f'value="{nurse}" checked' in refused.text and "Margaret Okafor" in refused.text
    sent = student.post("/credit/new", data={**data, "chosen": [nurse]}, follow_redirects=False)
    assert sent.status_code == 303
    path = sent.headers["location"]
    request_id = path.removeprefix("/my/credit/")
    with container.uow() as tx:
        stored = tx.credit.get(request_id)
    assert stored.holder_email == STUDENT and stored.learner["email"] == STUDENT
    assert [(i["source"], i["raw"]) for i in stored.items] == [("rpl", _document(container, nurse))]
    page = student.get(path)
    assert page.status_code == 200 and "granted NURS-101" in page.text
    assert "its address is the key" not in page.text
    assert student.get(f"{path}/transcript.json").status_code == 409  # not issued yet
    assert f'href="{path}"' in student.get("/my").text
    stranger = _signed_in(container, "someone@example.net")
    assert stranger.get(path).status_code == 404
    assert stranger.get(f"{path}/transcript.json").status_code == 404
    assert path not in stranger.get("/my").text
    anonymous = new_client(container)
    assert anonymous.get(path, follow_redirects=False).headers["location"].startswith("/sign-in")


def test_a_record_of_someone_else_cannot_be_picked(
    container: Container, hospital: Organisation
) -> None:
    institution(container)
    nurse = issued_here(container, hospital)  # Margaret's
    command = credit.SubmitBundle(
        "bsc-nursing", "Eve", "eve@example.net", holder_email="eve@example.net", chosen=(nurse,)
    )
    with pytest.raises(credit.InvalidBundleError) as caught:
        credit.submit_bundle(container.uow, command, container.now())
    assert caught.value.problems == {"chosen": [f"{nurse!r} is not one of your records"]}
