"""Roster uploads run in the background: the file is stored by hash, the answer comes at once,
and the progress page (refreshing without JavaScript) and the JSON status follow the job."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import pytest

from rpl.bootstrap import Container
from rpl.organisations import Organisation
from rpl.services import roster_jobs
from tests.conftest import csrf_from
from tests.web.test_rosters import ADMIN, ROSTER

REFRESH = '<meta http-equiv="refresh"'


@dataclass
class HeldRunner:
    """The app's runner, except that roster imports wait until the test runs them."""

    inner: Any
    imports: list[str] = field(default_factory=list)

    def import_roster(self, import_id: str) -> None:
        self.imports.append(import_id)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


@pytest.fixture
def held(container: Container) -> HeldRunner:
    runner = HeldRunner(container.runner)
    container.runner = runner  # type: ignore[misc]
    return runner


def upload_page(
    client: Any, body: bytes, issue: bool = True, role: str = "Volunteer Office"
) -> Any:
    form = client.get("/orgs/st-marys/rosters", headers=ADMIN)
    data = {"csrf_token": csrf_from(form.text), "attester_role": role}
    if issue:
        data["issue"] = "true"
    files = {"file": ("people.csv", body, "text/csv")}
    return client.post(
        "/orgs/st-marys/rosters", files=files, data=data, headers=ADMIN, follow_redirects=False
    )


def test_the_page_answers_at_once_and_refreshes_until_the_job_is_done(
    client: Any, container: Container, hospital: Organisation, held: HeldRunner
) -> None:
    answer = upload_page(client, ROSTER.encode())
    assert answer.status_code == 303
    page_url = answer.headers["location"]
    [import_id] = held.imports
    assert page_url == f"/orgs/st-marys/rosters/{import_id}"
    sha = hashlib.sha256(ROSTER.encode()).hexdigest()
    assert container.files.path_for(sha).read_bytes() == ROSTER.encode()
    waiting = client.get(page_url, headers=ADMIN)
    assert REFRESH in waiting.text and "queued" in waiting.text
    status_url = f"/api/organisations/st-marys/rosters/{import_id}"
    assert client.get(status_url, headers=ADMIN).json()["running"] is True

    roster_jobs.import_roster(container, import_id)

    done = client.get(page_url, headers=ADMIN)
    assert REFRESH not in done.text
    assert 'id="status">done<' in done.text and "Credentials issued: 2 of 2" in done.text
    status = client.get(status_url, headers=ADMIN).json()
    assert status["running"] is False and status["status"] == "done"
    assert status["rows"] == {"read": 3, "added": 2, "duplicate": 0, "rejected": 1}
    assert status["claims"] == {"issued": 2}


def test_the_api_answers_202_with_the_status_location(
    client: Any, container: Container, hospital: Organisation, held: HeldRunner
) -> None:
    files = {"file": ("people.csv", ROSTER.encode(), "text/csv")}
    answer = client.post(
        "/api/organisations/st-marys/rosters", files=files, data={"issue": "false"}, headers=ADMIN
    )
    assert answer.status_code == 202
    assert answer.json()["status"] == "queued" and answer.json()["running"] is True
    roster_jobs.import_roster(container, held.imports[0])
    status = client.get(answer.headers["location"], headers=ADMIN).json()
    # Not direct: the claims wait for each person to accept.
    assert status["status"] == "done" and status["claims"] == {"confirmed": 2}


def test_a_failed_import_shows_on_the_page(
    client: Any, container: Container, hospital: Organisation, held: HeldRunner
) -> None:
    page_url = upload_page(client, ROSTER.encode()).headers["location"]
    container.files.path_for(hashlib.sha256(ROSTER.encode()).hexdigest()).unlink()
    with pytest.raises(FileNotFoundError):
        roster_jobs.import_roster(container, held.imports[0])
    page = client.get(page_url, headers=ADMIN)
    assert "The import failed" in page.text and "No such file" in page.text
    assert REFRESH not in page.text
    status = client.get(
        f"/api/organisations/st-marys/rosters/{held.imports[0]}", headers=ADMIN
    ).json()
    assert status["status"] == "failed" and status["running"] is False


def test_a_file_that_is_not_a_roster_at_all_ends_failed_with_the_reason(
    client: Any, container: Container, hospital: Organisation, held: HeldRunner
) -> None:
    page_url = upload_page(client, b"who,what\nx,y\n").headers["location"]
    roster_jobs.import_roster(container, held.imports[0])
    page = client.get(page_url, headers=ADMIN)
    assert "The import failed" in page.text and "missing: identifier" in page.text


def test_a_binary_file_is_refused_on_the_form_keeping_the_input(
    client: Any, container: Container, hospital: Organisation, held: HeldRunner
) -> None:
    answer = upload_page(client, b"\x89PNG\r\n\x1a\n\x00\x00", role="Archivist")
    assert answer.status_code == 422
    assert "a roster is a CSV text file" in answer.text
    assert 'value="Archivist"' in answer.text and "checked" in answer.text
    assert held.imports == []
