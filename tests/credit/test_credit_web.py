"""The credit pages and API through the real app: the student's bundle and view, the assessor's
queue and decisions, crosswalks in and out."""

from __future__ import annotations

import json
from typing import Any

from rpl import clr
from rpl.bootstrap import Container
from rpl.crosswalk_io import write_csv
from rpl.organisations import Organisation
from tests.conftest import csrf_from
from tests.credit.support import (
    OtherIssuer,
    institution,
    issued_here,
    sample_crosswalk,
    unsigned_badge,
)
from tests.web.signin import add_member, new_client, sign_in

ADMIN = {"Authorization": "Bearer test-admin-token"}


def _submit(
    client: Any, data: dict[str, str], files: list[tuple[str, tuple[str, bytes, str]]]
) -> Any:
    token = csrf_from(client.get("/credit/new").text)
    return client.post(
        "/credit/new", data={**data, "csrf_token": token}, files=files, follow_redirects=False
    )


def test_crosswalks_are_published_and_exported_as_json_and_csv(
    client: Any, container: Container, hospital: Organisation
) -> None:
    crosswalk = sample_crosswalk("community-work")
    sent = client.post(
        "/api/orgs/st-marys/crosswalks",
        content=write_csv(crosswalk),
        headers={**ADMIN, "content-type": "text/csv"},
    )
    assert sent.status_code == 201, sent.text
    assert sent.json()["digest"] == crosswalk.digest
    again = client.post(
        "/api/orgs/st-marys/crosswalks",
        content=write_csv(crosswalk),
        headers={**ADMIN, "content-type": "text/csv"},
    )
    assert again.status_code == 200 and again.json()["published"] is False
    exported = client.get("/api/credit/crosswalks/dipcw-community-work/1.json").json()
    assert exported["rules"][1]["k"] == 3
    assert client.get("/api/credit/crosswalks/dipcw-community-work/1.csv").text == write_csv(
        crosswalk
    )
    unauthorised = client.post("/api/orgs/st-marys/crosswalks", content=b"{}")
    assert unauthorised.status_code == 401


def test_a_bad_crosswalk_csv_is_refused_line_by_line(client: Any, hospital: Organisation) -> None:
    text = write_csv(sample_crosswalk("community-work")).replace(
        "rule,C2,,,,,,,,,,CW-102,any,3,", "rule,C2,,,,,,,,,,CW-102,any,three,"
    )
    sent = client.post(
        "/api/orgs/st-marys/crosswalks", content=text, headers={**ADMIN, "content-type": "text/csv"}
    )
    assert sent.status_code == 422
    assert any(
        p.startswith("line 10: k 'three' is not a number") for p in sent.json()["problems"]
    ), sent.json()


def test_a_student_submits_a_bundle_an_assessor_adjusts_and_the_transcript_is_downloaded(
    client: Any, container: Container, hospital: Organisation
) -> None:
    northfield = institution(container)
    nurse = issued_here(container, hospital)
    badge = OtherIssuer().sign(
        unsigned_badge("Mentoring", ["urn:northfield:skill:mentoring"], "2025-02-01T00:00:00Z"),
        container.now(),
    )
    data = {
        "crosswalk_id": "bsc-nursing",
        "learner_name": "Margaret Okafor",
        "learner_email": "m@example.net",
    }
    refused = _submit(
        client,
        {**data, "held": "not-a-credential"},
        [("files", ("x.png", b"\x89PNG\r\n\x1a\nzz", "image/png"))],
    )
    assert refused.status_code == 422
    assert "not a credential held here" in refused.text and "Margaret Okafor" in refused.text
    sent = _submit(
        client,
        {**data, "held": nurse},
        [("files", ("mentoring.json", badge.encode(), "application/json"))],
    )
    assert sent.status_code == 303, sent.text
    mine = sent.headers["location"]
    page = client.get(mine).text
    assert "awaiting assessor" in page
    assert "granted NURS-101" in page and "granted NURS-120" in page
    assert 'id="gap-NURS-102"' in page
    queue_path = "/orgs/northfield/assess/credit"
    assert (
        client.get(queue_path, follow_redirects=False)
        .headers["location"]
        .startswith("/sign-in?next=")
    )
    add_member(container, northfield, "registrar@northfield.example", "assessor", "Registrar")
    assessor = new_client(container)
    sign_in(assessor, container, "registrar@northfield.example")
    assert 'href="/orgs/northfield/assess/credit"' in assessor.get("/account").text
    queue = assessor.get(queue_path).text
    request_id = queue.split(f'href="{queue_path}/')[1].split('"')[0]
    form_page = assessor.get(f"{queue_path}/{request_id}").text
    csrf = csrf_from(form_page)
    missing_reason = assessor.post(
        f"{queue_path}/{request_id}",
        data={
            "decision": "adjust",
            "change": "add",
            "course": "NURS-110",
            "credits": "10",
            "csrf_token": csrf,
        },
    )
    assert missing_reason.status_code == 422 and "say why" in missing_reason.text
    assert 'value="10"' in missing_reason.text  # what the assessor typed is kept
    for form in (
        {
            "decision": "adjust",
            "change": "add",
            "course": "NURS-110",
            "credits": "10",
            "reason": "BLS card seen",
            "evidence_ids": "item-1",
        },
        {"decision": "accept"},
    ):
        done = assessor.post(
            f"{queue_path}/{request_id}",
            data={**form, "csrf_token": csrf},
            follow_redirects=False,
        )
        assert done.status_code == 303, done.text
    assert "issued" in client.get(mine).text
    transcript = client.get(f"{mine}/transcript.json")
    assert transcript.status_code == 200
    document = json.loads(transcript.text)
    assert clr.validate_clr(document) == []
    outer, inner = clr.verify_transcript(
        document, container.resolver(), container.now(), container.status_lists()
    )
    assert outer.verified and all(r.verified for r in inner)
    courses = sorted(
        a["targetId"].rsplit("/", 1)[1] for a in document["credentialSubject"]["association"]
    )
    assert courses == ["NURS-101", "NURS-110", "NURS-120"]
    with container.uow() as tx:
        events = tx.credit.get(request_id).events
        logged = [e for e in tx.audit.last(50) if e.subject == f"credit_request:{request_id}"]
    decided = [(e.kind, e.actor) for e in events if e.kind in ("CreditAdjusted", "CreditAccepted")]
    assert decided == [
        ("CreditAdjusted", "assessor:registrar@northfield.example"),
        ("CreditAccepted", "assessor:registrar@northfield.example"),
    ]
    assert ("CreditAdjusted", "assessor:registrar@northfield.example") in [
        (e.kind, e.actor) for e in logged
    ]
