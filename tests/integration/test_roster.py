"""Rosters on a real database: streamed import, rejects, no duplicates, bulk issuance exactly once."""

from __future__ import annotations

import io
import json

from sqlmodel import select

from rpl import claims
from rpl.bootstrap import Container
from rpl.organisations import Organisation
from rpl.services import roster, roster_jobs
from rpl.storage import codec
from rpl.storage.tables import ClaimEventRow, ClaimRow
from rpl.verify import verify_credential
from tests.conftest import outbox_links

ROSTER = """identifier,name,role,kind,start,end,hours,skills
ana@example.org,Ana Lima,Ward volunteer,,2010,2012-06,400,Patient care; Listening
did:example:123,Bo Chen,Porter,employment,2015-03,2016,,
ben@example.org,Ben Ode,Nurse,employment,2031,,,
cy@example.org,Cy Ray,Nurse,study,2001-02-30,,,
dee@example.org,Dee Fox,Chaplain,contribution,2005-01-01,2006,lots,
eve@example.org,Eve Ng,Ward volunteer,,2010,2011,,
ANA@example.org,Ana Lima,Ward  volunteer,,2010,2012-06,400,
"""


def _import(container: Container, text: str, direct: bool = True) -> roster.RosterImport:
    request = roster.ImportRequest("roster.csv", "admin:test", direct=direct)
    record = roster.start_import(container.uow, "st-marys", request, len(text), container.now())
    return roster.import_rows(
        container.uow,
        container.mailer,
        roster.Urls(container.settings.public_url),
        record,
        io.StringIO(text, newline=""),
        container.now(),
        chunk_size=3,
    )


def test_valid_rows_become_confirmed_claims_and_each_bad_row_has_its_reason(
    container: Container, hospital: Organisation
) -> None:
    record = _import(container, ROSTER)
    assert (record.status, record.rows_read, record.rows_added) == ("imported", 7, 2)
    assert (record.rows_rejected, record.rows_duplicate) == (4, 1)
    report = list(roster.rejected_rows(container.uow, "st-marys", record.id))
    reasons = {int(line): reason for line, reason, *_ in report[1:]}
    assert set(reasons) == {3, 4, 5, 6}
    assert "email" in reasons[3] and "DID" in reasons[3]
    assert "future" in reasons[4]
    assert "February 2001 has 28 days" in reasons[5]
    assert "'lots' is not a number of hours" in reasons[6]
    with container.uow() as tx:
        rows = tx.session.exec(ClaimRow.__table__.select()).all()  # type: ignore[attr-defined]
        assert {r.state for r in rows} == {"confirmed"}
        claim = tx.claims.get(rows[0].id)
    assert claims.replay(claim.events) is claims.ClaimState.CONFIRMED
    assert claim.events[-1].actor == "admin:test"
    assert claim.confirmed_by is not None and claim.confirmed_by.attester_role == "Records Office"


def test_uploading_the_same_roster_again_adds_nothing(
    container: Container, hospital: Organisation
) -> None:
    _import(container, ROSTER)
    again = _import(container, ROSTER)
    assert (again.rows_added, again.rows_duplicate, again.rows_rejected) == (0, 3, 4)
    with container.uow() as tx:
        assert tx.claims.count_by_state() == {"confirmed": 2}


def test_a_file_without_the_required_columns_fails_with_the_reason(
    container: Container, hospital: Organisation
) -> None:
    record = _import(container, "email,name\nx@example.org,X\n")
    assert record.status == "failed"
    assert record.message and "missing: identifier, role, start" in record.message


def test_bulk_issuance_issues_every_direct_row_once_and_they_verify(
    container: Container, hospital: Organisation
) -> None:
    _import(container, ROSTER)
    report = roster_jobs.issue_roster(container, hospital.id, workers=0)
    again = roster_jobs.issue_roster(container, hospital.id, workers=0)
    assert (report.issued, again.issued) == (2, 0)
    with container.uow() as tx:
        assert tx.claims.count_by_state() == {"issued": 2}
        events = tx.session.exec(ClaimEventRow.__table__.select()).all()  # type: ignore[attr-defined]
        ids = [r.id for r in tx.session.exec(ClaimRow.__table__.select()).all()]  # type: ignore[attr-defined]
        stored = [tx.credentials.by_claim(i) for i in ids]
        for claim_id in ids:
            assert claims.replay(tx.claims.get(claim_id).events) is claims.ClaimState.ISSUED
        audit = tx.audit.verify()
    assert len(events) == 8
    assert audit.intact
    for credential in stored:
        assert credential is not None
        result = verify_credential(
            credential.document,
            container.resolver(),
            container.now(),
            status_lists=container.status_lists(),
        )
        assert result.verified, result


def test_rows_waiting_for_their_person_are_not_issued_until_accepted(
    container: Container, hospital: Organisation
) -> None:
    _import(container, ROSTER, direct=False)
    assert roster_jobs.issue_roster(container, hospital.id, workers=0).issued == 0
    links = outbox_links(container, "rosters/accept")
    assert len(links) == 2
    token = links[0].rsplit("/", 1)[1]
    assert roster.accept(container.uow, container.runner, token, container.now())
    assert not roster.accept(container.uow, container.runner, token, container.now())
    with container.uow() as tx:
        assert tx.claims.count_by_state() == {"issued": 1, "confirmed": 1}


def test_only_rows_waiting_for_their_person_hold_a_link(
    container: Container, hospital: Organisation
) -> None:
    """A direct import mails nobody, so its claims keep no link hash; the others each keep one."""
    _import(container, ROSTER, direct=True)
    assert outbox_links(container, "rosters/accept") == []
    with container.uow() as tx:
        direct = tx.session.exec(select(ClaimRow.claimant_token_hash)).all()
    assert len(direct) == 2 and all(hash_ is None for hash_ in direct)
    _import(container, ROSTER.replace("@example.org", "@example.net"), direct=False)
    with container.uow() as tx:
        hashes = [h for h in tx.session.exec(select(ClaimRow.claimant_token_hash)).all() if h]
    assert len(hashes) == 2 == len(set(hashes))
    assert len(outbox_links(container, "rosters/accept")) == 2


def test_claim_rows_round_trip_through_the_codec(
    container: Container, hospital: Organisation
) -> None:
    _import(container, ROSTER)
    with container.uow() as tx:
        row = tx.session.exec(ClaimRow.__table__.select()).first()  # type: ignore[attr-defined]
    details = codec.details_from_json(
        row.details if isinstance(row.details, dict) else json.loads(row.details)
    )
    assert details.organisation_id == hospital.id


def test_the_fast_claim_row_equals_the_codecs(hospital: Organisation) -> None:
    from datetime import UTC, datetime

    from rpl.roster import RosterOptions, parse_row, preconfirmed_claim
    from rpl.services.roster import _claim_row

    options = RosterOptions(hospital.id, "records@stmarys.example", "Records Office")
    header = ("identifier", "name", "role", "start", "end", "hours", "skills", "email")
    for cells in (
        ("ana@example.org", "Ana", "Porter", "2010", "2012-06", "40.5", "A; B", ""),
        ("did:example:1", "Bo", "Nurse", "2001-02-03", "", "", "", "bo@example.org"),
    ):
        row = parse_row(2, header, cells, options, datetime.now(UTC).date())
        assert isinstance(row, roster.RosterRow), row
        claim = preconfirmed_claim("c1", row, options, "admin:x", "i1", datetime.now(UTC))
        assert _claim_row(claim, row) == codec.claim_to_row(claim)
