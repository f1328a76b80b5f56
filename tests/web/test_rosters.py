"""Rosters through the real app: API upload, status, rejected-rows report, the page, accepting."""

from __future__ import annotations

import csv
import io
from typing import Any

from rpl.bootstrap import Container
from rpl.organisations import Organisation
from tests.conftest import csrf_from, outbox_links

ADMIN = {"Authorization": "Bearer test-admin-token"}
ROSTER = (
    "identifier,name,role,start,end,hours,skills\n"
    "ana@example.org,Ana Lima,Ward volunteer,2010,2012,400,Listening\n"
    'bo@example.org,=HYPERLINK("http://evil"),Porter,2999,,,\n'
    "cy@example.org,Cy Ray,Porter,2015-03,2016,,\n"
)


def _upload(client: Any, issue: bool, body: str = ROSTER) -> Any:
    files = {"file": ("people.csv", body.encode(), "text/csv")}
    data = {"issue": "true" if issue else "false", "attester_role": "Volunteer Office"}
    return client.post("/api/organisations/st-marys/rosters", files=files, data=data, headers=ADMIN)


def test_api_upload_returns_counts_and_issues_directly(
    client: Any, container: Container, hospital: Organisation
) -> None:
    response = _upload(client, issue=True)
    assert response.status_code == 202, response.text
    body = response.json()
    assert response.headers["location"] == f"/api/organisations/st-marys/rosters/{body['id']}"
    # The inline runner of the tests has done the work before answering.
    status = client.get(response.headers["location"], headers=ADMIN).json()
    assert status["rows"] == {"read": 3, "added": 2, "duplicate": 0, "rejected": 1}
    assert status["status"] == "done" and status["running"] is False
    assert status["claims"] == {"issued": 2}
    assert status["progress"]["issued"] == 2
    again = _upload(client, issue=True).json()
    assert again["rows"]["duplicate"] == 2 and again["rows"]["added"] == 0


def test_the_rejected_rows_report_gives_line_reason_and_row_and_defuses_formulas(
    client: Any, hospital: Organisation
) -> None:
    import_id = _upload(client, issue=False).json()["id"]
    report = client.get(
        f"/api/organisations/st-marys/rosters/{import_id}/rejected.csv", headers=ADMIN
    )
    assert report.status_code == 200
    assert report.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(report.text)))
    assert rows[0] == ["line", "reason", "row"]
    assert rows[1][0] == "3" and "future" in rows[1][1]
    assert '\'=HYPERLINK("http://evil")' in rows[1]


def test_roster_routes_need_the_organisations_admin(client: Any, hospital: Organisation) -> None:
    files = {"file": ("people.csv", ROSTER.encode(), "text/csv")}
    assert client.post("/api/organisations/st-marys/rosters", files=files).status_code in (401, 403)
    assert client.get("/api/organisations/st-marys/rosters/nope", headers=ADMIN).status_code == 404


def test_a_file_that_is_no_roster_is_refused_with_the_reason(
    client: Any, hospital: Organisation
) -> None:
    response = _upload(client, issue=False, body="who,what\nx,y\n")
    assert response.status_code == 202
    status = client.get(response.headers["location"], headers=ADMIN).json()
    assert status["status"] == "failed"
    assert "missing: identifier, name, role, start" in status["message"]


def test_the_page_uploads_shows_progress_and_the_person_accepts(
    client: Any, container: Container, hospital: Organisation
) -> None:
    form = client.get("/orgs/st-marys/rosters", headers=ADMIN)
    assert form.status_code == 200
    files = {"file": ("people.csv", ROSTER.encode(), "text/csv")}
    data = {"csrf_token": csrf_from(form.text), "attester_role": "Volunteer Office"}
    done = client.post("/orgs/st-marys/rosters", files=files, data=data, headers=ADMIN)
    assert done.status_code == 200 and "Rejected" in done.text and "people.csv" in done.text
    links = outbox_links(container, "rosters/accept")
    assert len(links) == 2
    page = client.get(links[0])
    assert "Accept and receive my credential" in page.text
    accepted = client.post(links[0], data={"csrf_token": csrf_from(page.text)})
    assert accepted.status_code == 200 and "Accepted." in accepted.text
    with container.uow() as tx:
        assert tx.claims.count_by_state() == {"issued": 1, "confirmed": 1}
