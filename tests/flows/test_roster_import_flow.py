"""The import_roster flow through real Prefect: a stored upload imported, issued and done."""

from __future__ import annotations

from pathlib import Path

from rpl.bootstrap import Container
from rpl.organisations import Organisation
from rpl.roster_bench import write_roster
from rpl.services import roster
from tests.flows.test_roster_flow import org, prefect_container  # noqa: F401 (fixtures)


def _stored_import(c: Container, tmp_path: Path, rows: int, direct: bool) -> str:
    path = tmp_path / "r.csv"
    write_roster(path, rows, bad_every=0)
    stored = c.files.put([path.read_bytes()], 10**8)
    request = roster.ImportRequest("r.csv", "admin:test", direct=direct)
    record = roster.start_import(c.uow, "food", request, stored.size, c.now(), stored.sha256)
    assert record.status == "queued"
    return record.id


def test_the_import_flow_imports_a_stored_upload_and_issues_it(
    prefect_container: Container,  # noqa: F811
    org: Organisation,  # noqa: F811
    tmp_path: Path,
) -> None:
    c = prefect_container
    import_id = _stored_import(c, tmp_path, 60, direct=True)
    result = c.runner.import_roster(import_id).result(timeout=300)
    c.runner.wait(timeout=60)
    # Signed in the import task, page by page as chunks committed (a small file: in this
    # process); the issue_roster subflow still ran, and found nothing left.
    assert result["issue"] is True and result["issued_while_importing"] == 60
    assert result["issued"]["issued"] == 0 and result["issued"]["tasks"] == 1
    with c.uow() as tx:
        record = tx.rosters.get_import(import_id)
        assert record is not None
        assert (record.status, record.rows_added) == ("done", 60)
        assert tx.claims.count_by_state() == {"issued": 60}


def test_the_import_flow_of_an_upload_to_be_accepted_issues_nothing(
    prefect_container: Container,  # noqa: F811
    org: Organisation,  # noqa: F811
    tmp_path: Path,
) -> None:
    c = prefect_container
    import_id = _stored_import(c, tmp_path, 10, direct=False)
    result = c.runner.import_roster(import_id).result(timeout=300)
    c.runner.wait(timeout=60)
    assert result["issue"] is False and result["issued_while_importing"] == 0
    assert "issued" not in result  # no issue_roster subflow
    with c.uow() as tx:
        record = tx.rosters.get_import(import_id)
        assert record is not None and record.status == "done"
        assert tx.claims.count_by_state() == {"confirmed": 10}
        assert tx.credentials.count() == 0


def test_a_failing_import_flow_marks_the_import_failed(
    prefect_container: Container,  # noqa: F811
    org: Organisation,  # noqa: F811
    tmp_path: Path,
) -> None:
    c = prefect_container
    import_id = _stored_import(c, tmp_path, 5, direct=False)
    with c.uow() as tx:
        record = tx.rosters.get_import(import_id)
    assert record is not None and record.file_sha256 is not None
    c.files.path_for(record.file_sha256).unlink()
    future = c.runner.import_roster(import_id)
    try:
        future.result(timeout=300)
    except Exception as err:  # the flow run fails, as it should
        assert "No such file" in str(err) or "FileNotFoundError" in repr(err)
    else:
        raise AssertionError("the flow should have failed")
    with c.uow() as tx:
        record = tx.rosters.get_import(import_id)
    assert record is not None and record.status == "failed"
    assert "No such file" in (record.message or "")
