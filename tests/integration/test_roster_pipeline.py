"""Import and issue in one pass, and the bulk signer's checks, on a real database.

`roster_pipeline.import_and_issue` signs each chunk's claims while the next chunks import; the
signer checks every credential against the compiled OB 3.0 schema before signing and every raw
signature after, so neither a bad document nor a bad signature is ever stored.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import event
from sqlmodel import select

from rpl.bootstrap import Container
from rpl.keys import LocalSigner, OwnSignatureCheck
from rpl.organisations import Organisation
from rpl.roster_bench import write_roster
from rpl.services import bulk_issuance, issuance, roster, roster_jobs, roster_pipeline
from rpl.services.issuance import IssuePolicy
from rpl.storage.bulk import (
    BULK_CACHE_KIB,
    BULK_WAL_PAGES,
    BulkRepository,
    TableRows,
    insert_many,
)
from rpl.storage.roster import RosterEntryRow, issuable_query
from rpl.storage.tables import ClaimEventRow, ClaimRow
from rpl.storage.unit_of_work import DuplicateError
from rpl.verify import verify_credential
from tests.conftest import import_only
from tests.integration.test_status import counted_as_allocated


def _request(path: Path, direct: bool = True) -> roster.ImportRequest:
    return roster.ImportRequest(path.name, "operator:test", direct=direct)


def _roster(tmp_path: Path, rows: int) -> Path:
    path = tmp_path / "roster.csv"
    write_roster(path, rows, bad_every=7)  # every seventh row rejected
    return path


def _verify_all(container: Container) -> int:
    with container.uow() as tx:
        documents = tx.bulk.sample_documents(1000)
    for document in documents:
        result = verify_credential(
            document, container.resolver(), container.now(), status_lists=container.status_lists()
        )
        assert result.verified, result
    return len(documents)


def test_a_direct_import_is_issued_while_it_imports_each_row_once(
    container: Container, hospital: Organisation, tmp_path: Path
) -> None:
    c = dataclasses.replace(container, settings=container.settings.with_(issue_batch_size=4))
    path = _roster(tmp_path, 30)
    record, report = roster_pipeline.import_and_issue(c, hospital.slug, path, _request(path))
    assert report is not None and (report.issued, report.failed) == (record.rows_added, {})
    assert record.rows_added == 30 - 30 // 7 and record.status == "imported"
    assert report.pages >= record.rows_added // 4  # signed page by page, not all at the end
    with c.uow() as tx:
        assert tx.rosters.issuable(hospital.id) == 0
        assert tx.claims.count_by_state() == {"issued": record.rows_added}
        assert tx.credentials.count() == record.rows_added
    assert _verify_all(c) == record.rows_added
    # The same file again: nothing new to import, nothing to issue, nothing issued twice.
    again, second = roster_pipeline.import_and_issue(c, hospital.slug, path, _request(path))
    assert (again.rows_added, again.rows_duplicate) == (0, record.rows_added)
    assert second is not None and second.issued == 0
    with c.uow() as tx:
        assert tx.credentials.count() == record.rows_added
    purposes = c.settings.status_purposes
    assert counted_as_allocated(c) == {(hospital.id, p): record.rows_added for p in purposes}


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("email,name\nx@example.org,X\n", "missing: identifier, role, start"),
        ("", "the file is empty"),
    ],
)
def test_a_direct_import_of_a_file_that_is_no_roster_fails_with_the_reason(
    container: Container, hospital: Organisation, tmp_path: Path, text: str, reason: str
) -> None:
    path = tmp_path / "not-a-roster.csv"
    path.write_text(text, encoding="utf-8")
    record, report = roster_pipeline.import_and_issue(
        container, hospital.slug, path, _request(path)
    )
    assert record.status == "failed" and record.message and reason in record.message
    assert report is not None and report.issued == 0
    with container.uow() as tx:
        assert tx.rosters.get_import(record.id).status == "failed"
        assert tx.claims.count_by_state() == {}


def test_an_import_to_be_accepted_issues_nothing(
    container: Container, hospital: Organisation, tmp_path: Path
) -> None:
    path = _roster(tmp_path, 10)
    record, report = roster_pipeline.import_and_issue(
        container, hospital.slug, path, _request(path, direct=False)
    )
    assert report is None and record.rows_added > 0
    with container.uow() as tx:
        assert tx.claims.count_by_state() == {"confirmed": record.rows_added}


def _stored(container: Container, org: Organisation, path: Path, direct: bool = True) -> str:
    """An upload as the web stores it: the file by hash, the import queued for the runner."""
    stored = container.files.put([path.read_bytes()], 10**8)
    request = _request(path, direct)
    size, sha = stored.size, stored.sha256
    return roster.start_import(container.uow, org.slug, request, size, container.now(), sha).id


def test_a_stored_upload_is_signed_while_it_imports_and_what_failed_is_issued_after(
    container: Container,
    hospital: Organisation,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    c = dataclasses.replace(container, settings=container.settings.with_(issue_batch_size=4))
    import_id = _stored(c, hospital, _roster(tmp_path, 30))
    build = bulk_issuance.build_achievement_credential
    failed_once: list[str] = []

    def flaky_build(claim: Any, *args: Any) -> dict[str, Any]:
        document = build(claim, *args)
        if not failed_once:  # the first claim fails once: the pipeline leaves it confirmed
            failed_once.append(claim.id)
            document["credentialSubject"]["activityStartDate"] = "not a date"
        return document

    monkeypatch.setattr(bulk_issuance, "build_achievement_credential", flaky_build)
    record, report = roster_jobs.import_stored(c, import_id)
    assert report is not None and set(report.failed) == set(failed_once)
    assert report.issued == record.rows_added - 1 and record.status == "imported"

    done = roster_jobs.import_roster(c, import_id)  # the rest of the job: issue what is left

    assert done.status == "done"
    with c.uow() as tx:
        assert tx.claims.count_by_state() == {"issued": record.rows_added}
        assert tx.credentials.count() == record.rows_added
    assert _verify_all(c) == record.rows_added


def test_a_stored_upload_to_be_accepted_issues_nothing(
    container: Container, hospital: Organisation, tmp_path: Path
) -> None:
    import_id = _stored(container, hospital, _roster(tmp_path, 10), direct=False)
    done = roster_jobs.import_roster(container, import_id)
    assert done.status == "done" and done.rows_added > 0
    with container.uow() as tx:
        assert tx.claims.count_by_state() == {"confirmed": done.rows_added}
        assert tx.credentials.count() == 0


def _pipeline(container: Container, org: Organisation) -> bulk_issuance.PagePipeline:
    run = bulk_issuance.BulkIssue(
        uow=container.uow,
        keyring=roster_jobs.jobs.keyring(container),
        mailer=container.mailer,
        urls=roster_jobs.jobs.urls(container),
        policy=IssuePolicy("eddsa-jcs-2022", ("revocation",)),
        page_size=3,
    )
    return bulk_issuance.PagePipeline(run, org.id, container.now())


def _confirmed(container: Container, org: Organisation, tmp_path: Path, rows: int) -> list[Any]:
    path = _roster(tmp_path, rows)
    import_only(container, org.slug, path, _request(path))
    with container.uow() as tx:
        return tx.rosters.claims_to_issue(org.id, "", 100)


def test_issuable_counts_the_confirmed_roster_claims_that_may_be_issued(
    container: Container, hospital: Organisation, tmp_path: Path
) -> None:
    claims = _confirmed(container, hospital, tmp_path, 12)  # a direct import: all may be issued
    ids = [c.id for c in claims]
    with container.uow() as tx:
        assert tx.rosters.issuable(hospital.id) == len(ids)
        entries = {
            e.claim_id: e
            for e in tx.session.exec(select(RosterEntryRow).where(RosterEntryRow.direct))
        }
        entries[ids[0]].direct = False  # waits for the person to accept: not issuable
        entries[ids[1]].direct, entries[ids[1]].accepted_at = False, container.now()  # accepted
        tx.session.get(ClaimRow, ids[2]).state = "issued"  # type: ignore[union-attr]
        tx.commit()
    with container.uow() as tx:
        assert tx.rosters.issuable(hospital.id) == len(ids) - 2
        assert tx.rosters.issuable("another-organisation") == 0
        if tx.session.get_bind().dialect.name == "sqlite":
            # Driven by the claims still confirmed, not by every roster entry ever imported.
            query = issuable_query(hospital.id).compile(
                dialect=tx.session.get_bind().dialect, compile_kwargs={"literal_binds": True}
            )
            rows = tx.session.connection().exec_driver_sql(f"EXPLAIN QUERY PLAN {query}")
            plan = " ".join(str(row[-1]) for row in rows)
            assert "ix_claim_state" in plan and "organisation_id" not in plan, plan


def test_a_credential_failing_the_schema_is_never_signed_and_the_rest_are(
    container: Container,
    hospital: Organisation,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    claims = _confirmed(container, hospital, tmp_path, 8)
    bad = claims[1].id
    build = bulk_issuance.build_achievement_credential

    def faulty_build(claim: Any, *args: Any) -> dict[str, Any]:
        # Whatever goes wrong between a row and its document (a template, a builder): here
        # a start date that is no date.
        document = build(claim, *args)
        if claim.id == bad:
            document["credentialSubject"]["activityStartDate"] = "2010-13-01T00:00:00Z"
        return document

    monkeypatch.setattr(bulk_issuance, "build_achievement_credential", faulty_build)
    pipeline = _pipeline(container, hospital)
    pipeline.submit(claims)
    report = pipeline.finish()
    assert set(report.failed) == {bad} and "activityStartDate" in report.failed[bad]
    assert report.issued == len(claims) - 1
    with container.uow() as tx:
        assert tx.claims.get(bad).state.value == "confirmed"  # left for a later run
        assert tx.credentials.count() == len(claims) - 1


def test_a_signature_that_does_not_verify_is_never_stored(
    container: Container, hospital: Organisation, tmp_path: Path
) -> None:
    claims = _confirmed(container, hospital, tmp_path, 5)
    pipeline = _pipeline(container, hospital)
    state = bulk_issuance.signer_state()
    assert state is not None
    wrong = Ed25519PrivateKey.from_private_bytes(bytes(range(1, 33)))  # not the organisation's
    bulk_issuance.use_signer(dataclasses.replace(state, key=wrong))
    pipeline.submit(claims)
    report = pipeline.finish()
    assert report.issued == 0 and set(report.failed) == {c.id for c in claims}
    assert all("signature fails" in reason for reason in report.failed.values())
    with container.uow() as tx:
        assert tx.credentials.count() == 0
        assert tx.rosters.issuable(hospital.id) == len(claims)
        assert not tx.bulk.allocated_indexes(hospital.id, "revocation")


def test_a_faulty_signature_of_the_organisations_own_key_is_never_stored(
    container: Container, hospital: Organisation, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The organisation's own key, checked with its secret scalar (`OwnSignatureCheck`): a
    signature that came out wrong (a fault flipped a bit of S or of R) is caught, never stored."""
    claims = _confirmed(container, hospital, tmp_path, 6)
    pipeline = _pipeline(container, hospital)
    state = bulk_issuance.signer_state()
    assert state is not None and isinstance(state.check, OwnSignatureCheck)
    sign, faults = LocalSigner.sign, iter(range(0, 512, 97))

    def faulty_sign(self: LocalSigner, data: bytes) -> bytes:
        signature = bytearray(sign(self, data))
        bit = next(faults, 3)
        signature[bit // 8] ^= 1 << bit % 8
        return bytes(signature)

    monkeypatch.setattr(LocalSigner, "sign", faulty_sign)
    pipeline.submit(claims)
    report = pipeline.finish()
    assert report.issued == 0 and set(report.failed) == {c.id for c in claims}
    assert all("fails" in reason for reason in report.failed.values())
    with container.uow() as tx:
        assert tx.credentials.count() == 0
        assert tx.rosters.issuable(hospital.id) == len(claims)


def test_insert_many_and_table_rows_store_what_the_orm_reads_back(
    container: Container, hospital: Organisation, tmp_path: Path
) -> None:
    """A row given to `insert_many` as a dict, and as a signer hands it back (`TableRows`:
    a tuple, JSON encoded, columns in any order), reads back as it was."""
    [claim] = _confirmed(container, hospital, tmp_path, 1)
    now = container.now()
    row = {
        "claim_id": claim.id,
        "seq": 9,
        "kind": "Noted",
        "actor": "system",
        "at": now,
        "from_state": None,
        "to_state": "confirmed",
        "reason": "ünïcode ✓",
        "data": {"n": 1, "x": [1.5, None, "é"], "nested": {"ok": True}},
    }
    table = ClaimEventRow.__table__  # type: ignore[attr-defined]
    rows = TableRows(
        table,
        ["data", "seq", "claim_id", "at", "kind", "actor", "from_state", "to_state", "reason"],
    )
    rows.add(row)
    with container.uow() as tx:
        tx.bulk.insert_tables([(table, rows)], now)
        insert_many(tx.session, table, [{**row, "seq": 10}])
        tx.commit()
    with container.uow() as tx:
        stored = tx.session.exec(
            table.select()
            .where(table.c.claim_id == claim.id, table.c.seq >= 9)
            .order_by(table.c.seq)
        ).all()
    assert len(stored) == 2
    for one in stored:
        assert one.data == row["data"] and one.reason == row["reason"]
        assert one.at.replace(tzinfo=now.tzinfo) == now and one.from_state is None
    with container.uow() as tx, pytest.raises(DuplicateError):
        tx.bulk.insert_tables([(table, rows)], now)  # (claim_id, seq) is taken


def test_a_direct_import_writes_each_claim_once_issued_with_its_four_events(
    container: Container, hospital: Organisation, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A chunk's claims are stored issued in the transaction that stores them: no claim is
    written confirmed and updated after, and no event is counted in the database."""
    c = dataclasses.replace(container, settings=container.settings.with_(issue_batch_size=4))
    counted: list[list[str]] = []
    count = BulkRepository._event_counts
    monkeypatch.setattr(
        BulkRepository, "_event_counts", lambda self, ids: counted.append(ids) or count(self, ids)
    )
    statements: list[str] = []
    engine = c.engine

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", seen)
    path = _roster(tmp_path, 12)
    try:
        record, report = roster_pipeline.import_and_issue(c, hospital.slug, path, _request(path))
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert report is not None and report.issued == record.rows_added > 0
    assert counted == []
    assert not [s for s in statements if s.lstrip().upper().startswith("UPDATE CLAIM")]
    assert sum(s.lstrip().upper().startswith("INSERT INTO CLAIM ") for s in statements) == 3
    with c.uow() as tx:
        rows = list(tx.session.exec(select(ClaimRow)))
        assert {(r.state, r.version) for r in rows} == {("issued", 2)}
        for row in rows:
            claim = tx.claims.get(row.id)  # replayed from its stored events
            assert claim.state.value == "issued" and claim.credential_id == row.credential_id
            assert [e.kind.value for e in claim.events] == [
                "ClaimDrafted",
                "ClaimRequested",
                "ClaimConfirmed",
                "CredentialIssued",
            ]
            credential = orjson.loads(tx.credentials.get(row.credential_id).document)
            subject = credential["credentialSubject"]
            assert subject["role"] == claim.details.role
            assert subject["activityStartDate"].startswith(str(claim.details.start))


def test_rows_another_upload_stored_meanwhile_are_dropped_and_the_chunk_stored_again(
    container: Container, hospital: Organisation, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two uploads of one file racing: the second signed rows the first stored after it
    looked (here: it could not tell which rows were stored). The unique natural key fails its
    chunk, which is stored again without them: nothing twice, nothing lost."""
    c = dataclasses.replace(container, settings=container.settings.with_(issue_batch_size=4))
    path = _roster(tmp_path, 10)
    first, _ = roster_pipeline.import_and_issue(c, hospital.slug, path, _request(path))
    with open(path, "a", encoding="utf-8") as more:
        more.write("latecomer@example.org,Lu Ray,Porter,,2001-02,2003,40,\n")
    monkeypatch.setattr(roster_pipeline.rules, "row_key", lambda *args: None)

    again, report = roster_pipeline.import_and_issue(c, hospital.slug, path, _request(path))

    assert (again.rows_added, again.rows_duplicate) == (1, first.rows_added)
    assert report is not None and report.issued == 1
    with c.uow() as tx:
        assert tx.credentials.count() == first.rows_added + 1
        assert tx.claims.count_by_state() == {"issued": first.rows_added + 1}
        assert tx.rosters.counts(again.id) == {"issued": 1}


def test_a_chunk_whose_indexes_another_run_took_is_stored_unsigned_and_issued_by_the_flow(
    container: Container, hospital: Organisation, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another run took the status indexes drawn for a chunk: storing it fails twice (checking
    the rows again changes nothing), so its claims are stored confirmed, for the flow."""
    c = dataclasses.replace(container, settings=container.settings.with_(issue_batch_size=50))
    first = tmp_path / "first.csv"
    write_roster(first, 6, seed=3, bad_every=0)
    roster_pipeline.import_and_issue(c, hospital.slug, first, _request(first))
    with c.uow() as tx:
        taken = sorted(tx.bulk.allocated_indexes(hospital.id, "revocation"))
    monkeypatch.setattr(
        bulk_issuance.BulkStatusAllocator,
        "draw",
        lambda self, count: [(("revocation", taken[n % len(taken)]),) for n in range(count)],
    )
    second = tmp_path / "second.csv"
    write_roster(second, 4, seed=4, bad_every=0)
    second.write_text(second.read_text().replace("person", "other"), encoding="utf-8")
    record, report = roster_pipeline.import_and_issue(c, hospital.slug, second, _request(second))
    assert report is not None and report.issued == 0 and record.rows_added == 4
    with c.uow() as tx:
        assert tx.claims.count_by_state() == {"issued": 6, "confirmed": 4}
        assert tx.credentials.count() == 6
    monkeypatch.undo()

    roster_jobs.issue_roster(c, hospital.id)

    with c.uow() as tx:
        assert tx.claims.count_by_state() == {"issued": 10}
        assert len(tx.bulk.allocated_indexes(hospital.id, "revocation")) == 10
    assert counted_as_allocated(c)[(hospital.id, "revocation")] == 10
    assert _verify_all(c) == 10


def test_a_chunk_whose_signer_failed_is_stored_unsigned_and_issued_by_the_flow(
    container: Container, hospital: Organisation, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    c = dataclasses.replace(container, settings=container.settings.with_(issue_batch_size=4))
    prepare = roster_pipeline.prepare_chunk
    calls: list[bool] = []

    def failing_once(job: Any, sign: bool = True) -> Any:
        calls.append(sign)
        if sign and len(calls) == 2:  # the second chunk's signer dies
            raise RuntimeError("signer process died")
        return prepare(job, sign)

    monkeypatch.setattr(roster_pipeline, "prepare_chunk", failing_once)
    path = _roster(tmp_path, 12)
    record, report = roster_pipeline.import_and_issue(c, hospital.slug, path, _request(path))
    assert report is not None and record.status == "imported"
    assert calls[1:3] == [True, False]  # the failed chunk, checked and stored here unsigned
    with c.uow() as tx:
        left = tx.rosters.issuable(hospital.id)
        assert left > 0 and report.issued == record.rows_added - left
        assert tx.claims.count_by_state() == {"issued": report.issued, "confirmed": left}

    roster_jobs.issue_roster(c, hospital.id)

    with c.uow() as tx:
        assert tx.claims.count_by_state() == {"issued": record.rows_added}
        assert tx.credentials.count() == record.rows_added
    assert _verify_all(c) == record.rows_added


def test_a_bulk_writing_sqlite_connection_caches_more_and_checkpoints_less(
    container: Container, hospital: Organisation, tmp_path: Path
) -> None:
    if not container.settings.database_url.startswith("sqlite"):
        pytest.skip("SQLite's page cache and WAL checkpoints; PostgreSQL has neither setting")
    [claim] = _confirmed(container, hospital, tmp_path, 1)
    row = {
        "claim_id": claim.id,
        "seq": 9,
        "kind": "Noted",
        "actor": "system",
        "at": container.now(),
        "to_state": "confirmed",
        "data": {},
    }
    with container.uow() as tx:
        pragma = tx.session.connection().exec_driver_sql
        insert_many(tx.session, ClaimEventRow.__table__, [row])  # type: ignore[attr-defined]
        assert pragma("PRAGMA wal_autocheckpoint").scalar() == BULK_WAL_PAGES
        assert pragma("PRAGMA cache_size").scalar() == -BULK_CACHE_KIB
        tx.commit()


def test_a_page_that_collides_with_another_issuer_is_stored_claim_by_claim_once(
    container: Container, hospital: Organisation, tmp_path: Path
) -> None:
    claims = _confirmed(container, hospital, tmp_path, 3)
    pipeline = _pipeline(container, hospital)
    run = pipeline.run
    pipeline.run = dataclasses.replace(run, pool=_HeldPool())  # type: ignore[arg-type]
    pipeline.submit(claims)  # signed, and held back from storing until `finish`
    issuance.issue_credentials(
        run.uow, run.keyring, run.mailer, run.urls, run.policy, [claims[0].id], container.now()
    )
    report = pipeline.finish()
    assert report.fallback == 1 and report.issued == 2 and not report.failed
    with container.uow() as tx:
        assert tx.credentials.count() == 3 and tx.rosters.issuable(hospital.id) == 0
        assert tx.claims.count_by_state() == {"issued": 3}
    assert set(counted_as_allocated(container).values()) == {3}


class _HeldPool:
    """Signs at once, but reports the page as still signing until it is asked for it."""

    _max_workers = 1

    def submit(self, sign: Any, *args: Any) -> Any:
        return _Held(sign(*args))


@dataclasses.dataclass
class _Held:
    value: Any

    def done(self) -> bool:
        return False

    def result(self) -> Any:
        return self.value
