"""Roster uploads run in the background: the file is stored by hash, the answer comes at once,
and the progress page (refreshing without JavaScript) and the JSON status follow the job."""

from __future__ import annotations

import csv
import hashlib
import io
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from rpl.bootstrap import Container
from rpl.organisations import Organisation
from rpl.roster_bench import write_roster
from rpl.services import bulk_issuance, roster_jobs, roster_pipeline
from rpl.storage.roster import RosterImport
from rpl.verify import verify_credential
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


@pytest.fixture
def signers() -> Iterator[None]:
    yield
    roster_jobs.close_pools()  # the signer processes of this test's organisation key


def test_a_large_direct_upload_is_signed_while_it_imports_each_row_once(
    client: Any,
    container: Container,
    hospital: Organisation,
    held: HeldRunner,
    signers: None,
    tmp_path: Path,
) -> None:
    # Chunks of 250 rows: more than the pool keeps in flight (DEPTH_PER_SIGNER a signer).
    container.settings = container.settings.with_(issue_batch_size=250)
    path = tmp_path / "people.csv"
    write_roster(path, 5200, bad_every=7)
    assert path.stat().st_size > roster_pipeline.POOL_FROM_BYTES  # signed by the process pool
    files = {"file": ("people.csv", path.read_bytes(), "text/csv")}
    answer = client.post(
        "/api/organisations/st-marys/rosters", files=files, data={"issue": "true"}, headers=ADMIN
    )
    assert answer.status_code == 202
    status_url = answer.headers["location"]
    seen: list[dict[str, Any]] = []

    def watch(record: RosterImport) -> None:  # after each chunk commits, as a person polling
        seen.append(client.get(status_url, headers=ADMIN).json())

    roster_jobs.import_roster(container, held.imports[0], on_chunk=watch)

    # The progress moved while the rows were still importing, issued count included: each
    # chunk is stored issued (the old way, import everything then issue, shows nothing
    # issued before the import ends).
    assert [s["status"] for s in seen] == ["importing"] * 21
    assert [s["rows"]["read"] for s in seen] == [*range(250, 5200, 250), 5200]
    issued = [s["progress"]["issued"] for s in seen]
    assert 0 < issued[0] < issued[1] and issued == sorted(issued)
    assert roster_jobs._pools  # a signer pool did the signing
    # ... whose processes yield the CPU to this one, which stores what they sign.
    (pool,) = [p for key, p in roster_jobs._pools.items() if key[0] == hospital.id]
    expected = min(19, os.nice(0) + bulk_issuance.SIGNER_NICENESS)
    assert {pool.submit(os.nice, 0).result() for _ in range(8)} == {expected}
    status = client.get(status_url, headers=ADMIN).json()
    rejected = 5200 // 7
    added = 5200 - rejected
    assert issued[-1] == added
    assert status["status"] == "done" and status["running"] is False
    assert status["rows"] == {"read": 5200, "added": added, "duplicate": 0, "rejected": rejected}
    assert status["claims"] == {"issued": added}
    with container.uow() as tx:
        assert tx.credentials.count() == added  # one credential per claim: each issued once
        kinds = [(e.kind, e.data) for e in tx.audit.entries()]
        documents = tx.bulk.sample_documents(20)
    # In the audit chain, each chunk's rows are confirmed, then its credentials issued.
    chunks = [n for n, (kind, _) in enumerate(kinds) if kind == "RosterRowsConfirmed"]
    pages = [n for n, (kind, _) in enumerate(kinds) if kind == "CredentialsIssued"]
    assert len(chunks) == len(pages) == 21
    assert all(chunk + 1 == page for chunk, page in zip(chunks, pages, strict=True))
    assert sum(data["credentials"] for kind, data in kinds if kind == "CredentialsIssued") == added
    for document in documents:
        result = verify_credential(
            document, container.resolver(), container.now(), status_lists=container.status_lists()
        )
        assert result.verified, result
    report = client.get(status["rejected_report"], headers=ADMIN)
    assert len(list(csv.reader(io.StringIO(report.text)))) == 1 + rejected


def test_a_direct_upload_resumed_after_a_crash_issues_every_row_once(
    client: Any, container: Container, hospital: Organisation, held: HeldRunner
) -> None:
    page_url = upload_page(client, ROSTER.encode()).headers["location"]
    [import_id] = held.imports
    # A first run stored the first row's claim and died before signing it.
    first = ROSTER.splitlines(keepends=True)[:2]
    with container.uow() as tx:
        record = tx.rosters.get_import(import_id)
    assert record is not None
    roster_jobs.roster.set_status(container.uow, import_id, "importing", container.now())
    roster_jobs.roster.import_rows(
        container.uow,
        container.mailer,
        roster_jobs.jobs.urls(container),
        record,
        io.StringIO("".join(first)),
        container.now(),
    )
    roster_jobs.roster.set_status(container.uow, import_id, "importing", container.now())

    roster_jobs.import_roster(container, import_id)

    assert "Credentials issued: 2 of 2" in client.get(page_url, headers=ADMIN).text
    with container.uow() as tx:
        assert tx.claims.count_by_state() == {"issued": 2}
        assert tx.credentials.count() == 2
