"""The audit log on the real database (SQLite, or PostgreSQL with RPL_DATABASE_URL): the journey
leaves its entries, racing appenders leave a whole chain, and hands in SQL are caught and named."""

from __future__ import annotations

import hashlib
import json
import threading
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from rpl import audit
from rpl.audit import Anchor, AuditHeadMissingError, DamageKind, Head
from rpl.bootstrap import Container
from rpl.cli import app
from rpl.organisations import Organisation
from tests.web.journey import CLAIM, attester_path, credential_id, decide, file_claim

D = DamageKind


def append(container: Container, count: int, tag: str = "t") -> None:
    with container.uow() as tx:
        for i in range(count):
            tx.audit.append("Tested", "system", f"thing:{tag}{i}", {"i": i}, container.now())
        tx.commit()


def sql(container: Container, statement: str, **params: Any) -> None:
    """A hand in the database, outside the application."""
    with container.engine.begin() as connection:
        connection.execute(text(statement), params)


def entries(container: Container) -> list[audit.AuditEntry]:
    with container.uow() as tx:
        return list(tx.audit.entries())


def verify(container: Container, anchor: Anchor | None = None) -> audit.AuditReport:
    with container.uow() as tx:
        return tx.audit.verify(anchor)


def found(container: Container, anchor: Anchor | None = None) -> tuple[DamageKind, int | None]:
    damage = verify(container, anchor).damage
    assert damage is not None, "the damage went unnoticed"
    return damage.kind, damage.seq


def insert_row(container: Container, entry: audit.AuditEntry) -> None:
    sql(
        container,
        "INSERT INTO audit_entry (seq, kind, actor, subject, at, data, prev_hash, hash) "
        "VALUES (:seq, :kind, :actor, :subject, :at, :data, :prev, :hash)",
        seq=entry.seq,
        kind=entry.kind,
        actor=entry.actor,
        subject=entry.subject,
        at=entry.at,
        data=audit.canonical_data(entry.data),
        prev=entry.prev_hash,
        hash=entry.hash,
    )


@pytest.fixture
def log(container: Container) -> Container:
    """A database whose log holds six entries."""
    append(container, 6)
    assert verify(container).intact
    return container


# --- the journey leaves its entries --------------------------------------------------------------


def test_the_web_journey_records_each_change_with_who_did_it_and_nothing_private(
    client: Any, container: Container, hospital: Organisation
) -> None:
    claimant = file_claim(client).headers["location"]
    decide(client, attester_path(container), action="confirm", attester_role="HR Manager")
    cid = credential_id(client.get(claimant).text)

    log = entries(container)
    assert [(e.kind, e.actor) for e in log] == [
        ("OrganisationRegistered", "system"),
        ("ClaimDrafted", f"claimant:{CLAIM['claimant_email']}"),
        ("ClaimRequested", "system"),
        ("ClaimConfirmed", f"attester:{CLAIM['attester_email']}"),
        ("CredentialIssued", "system"),
    ]
    assert log[0].subject == f"organisation:{hospital.id}"
    assert len({e.subject for e in log[1:4]}) == 1 and log[1].subject.startswith("claim:")
    with container.uow() as tx:
        stored = tx.credentials.get(cid)
    assert stored is not None and log[4].subject == f"credential:{cid}"
    assert log[4].data["sha256"] == hashlib.sha256(stored.document.encode()).hexdigest()

    report = verify(container)
    assert report.intact and report.head == Head(5, log[-1].hash)
    # Actors are kept (who did what); the claimant's facts and evidence are not.
    written = "".join(audit.canonical(e).decode() for e in log)
    for private in ("Margaret", "Registered Nurse", "Ward nursing", "patient care", "1998-03"):
        assert private not in written
    assert written.count(CLAIM["claimant_email"]) == 1  # the ClaimDrafted actor, nowhere else


def test_an_amendment_records_the_attesters_proposal_and_the_claimants_answer(
    client: Any, container: Container, hospital: Organisation
) -> None:
    claimant = file_claim(client).headers["location"]
    decide(
        client,
        attester_path(container),
        action="amend",
        attester_role="HR Manager",
        role="Staff Nurse",
        start="1999-01",
        end="2020-06",
        fte="0.8",
        reason="Our records show Staff Nurse from January 1999.",
    )
    token = client.get(claimant).text.split('name="csrf_token" value="')[1].split('"')[0]
    client.post(f"{claimant}/amendment", data={"answer": "accept", "csrf_token": token})

    log = entries(container)
    assert [e.kind for e in log][3:] == ["ClaimAmended", "AmendmentAccepted", "CredentialIssued"]
    assert log[4].actor == f"claimant:{CLAIM['claimant_email']}"
    assert log[3].data == {"organisation": hospital.id, "from": "requested", "to": "amended"}
    assert "Staff Nurse" not in "".join(audit.canonical(e).decode() for e in log)
    assert verify(container).intact


# --- appending -----------------------------------------------------------------------------------


def test_racing_appenders_leave_one_chain_without_gaps(container: Container) -> None:
    threads, each = 8, 12
    barrier = threading.Barrier(threads)
    errors: list[BaseException] = []

    def run(worker: int) -> None:
        try:
            barrier.wait()
            for i in range(each):
                with container.uow() as tx:
                    tx.audit.append("Raced", "system", f"w{worker}:{i}", {"i": i}, container.now())
                    if i % 4 == 3:
                        continue  # rolled back: its seq goes to the next appender
                    tx.commit()
        except BaseException as err:  # reported below, with the thread's own traceback
            errors.append(err)

    workers = [threading.Thread(target=run, args=(w,)) for w in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert not errors, errors
    log = entries(container)
    committed = threads * (each - each // 4)
    assert [e.seq for e in log] == list(range(1, committed + 1))
    assert len({e.subject for e in log}) == committed
    report = verify(container)
    assert report.intact and report.entries == committed


def test_a_rolled_back_append_leaves_no_trace(container: Container) -> None:
    append(container, 2)
    with container.uow() as tx:
        tx.audit.append("Abandoned", "system", "thing:x", {}, container.now())
    append(container, 1, tag="after")
    assert [(e.seq, e.subject) for e in entries(container)][-1] == (3, "thing:after0")
    assert verify(container).intact


def test_appending_after_a_commit_in_the_same_unit_of_work_takes_the_lock_again(
    container: Container,
) -> None:
    with container.uow() as tx:
        tx.audit.append("First", "system", "thing:1", {}, container.now())
        tx.commit()
        append(container, 1, tag="between")  # someone else, in between
        tx.audit.append("Second", "system", "thing:2", {}, container.now())
        tx.commit()
    assert [e.subject for e in entries(container)] == ["thing:1", "thing:between0", "thing:2"]
    assert verify(container).intact


def test_entries_stream_in_order_and_show_reads_the_latest(log: Container) -> None:
    with log.uow() as tx:
        assert [e.seq for e in tx.audit.entries(after=2, upto=4)] == [3, 4]
        assert [e.seq for e in tx.audit.last(2)] == [5, 6]
        assert tx.audit.head() == Head(6, entries(log)[-1].hash)


# --- hands in SQL: each kind of edit is found and named ------------------------------------------


def test_a_changed_field_is_found(log: Container) -> None:
    sql(log, "UPDATE audit_entry SET actor = 'attester:mallory@evil.example' WHERE seq = 3")
    assert found(log) == (D.CHANGED, 3)


def test_data_that_is_no_longer_json_is_found(log: Container) -> None:
    sql(log, "UPDATE audit_entry SET data = '{not json' WHERE seq = 2")
    assert found(log) == (D.CHANGED, 2)


def test_a_deleted_entry_is_found(log: Container) -> None:
    sql(log, "DELETE FROM audit_entry WHERE seq = 3")
    assert found(log) == (D.DELETED, 3)


def test_a_deletion_closed_up_by_renumbering_is_found(log: Container) -> None:
    sql(log, "DELETE FROM audit_entry WHERE seq = 3")
    sql(log, "UPDATE audit_entry SET seq = seq + 1000 WHERE seq > 3")
    sql(log, "UPDATE audit_entry SET seq = seq - 1001 WHERE seq > 1000")
    sql(log, "UPDATE audit_head SET seq = 5")
    assert found(log) == (D.DELETED, 3)


def test_a_forged_entry_in_the_middle_is_found(log: Container) -> None:
    second = entries(log)[1]
    fake = audit.next_entry(
        Head(2, second.hash), "ClaimConfirmed", "attester:mallory@evil.example", "claim:x", {},
        log.now(),
    )  # fmt: skip
    sql(log, "UPDATE audit_entry SET seq = seq + 1000 WHERE seq >= 3")
    sql(log, "UPDATE audit_entry SET seq = seq - 999 WHERE seq > 1000")
    insert_row(log, fake)
    sql(log, "UPDATE audit_head SET seq = 7")
    assert found(log) == (D.INSERTED, 3)


def test_a_forged_entry_at_the_end_is_found_by_the_head(log: Container) -> None:
    last = entries(log)[-1]
    fake = audit.next_entry(
        Head(6, last.hash), "ClaimConfirmed", "system", "claim:x", {}, log.now()
    )
    insert_row(log, fake)  # hashed right: only the stored head disagrees
    assert found(log) == (D.INSERTED, 7)


def test_swapped_seq_numbers_are_found(log: Container) -> None:
    sql(log, "UPDATE audit_entry SET seq = 1000000 WHERE seq = 2")
    sql(log, "UPDATE audit_entry SET seq = 2 WHERE seq = 5")
    sql(log, "UPDATE audit_entry SET seq = 5 WHERE seq = 1000000")
    assert found(log) == (D.REORDERED, 2)


def test_a_cut_end_is_found_by_the_head_and_a_cut_head_only_by_an_anchor(log: Container) -> None:
    anchor = Anchor.parse(str(verify(log).head))  # written down somewhere else, earlier
    sql(log, "DELETE FROM audit_entry WHERE seq > 4")
    assert found(log) == (D.TRUNCATED, 5)

    fourth = entries(log)[-1]
    sql(log, "UPDATE audit_head SET seq = 4, hash = :hash", hash=fourth.hash)
    assert verify(log).intact  # a shorter log, consistent with itself: the database cannot tell
    assert found(log, anchor) == (D.TRUNCATED, 5)


def test_a_missing_head_is_found_and_stops_appends(log: Container) -> None:
    sql(log, "DELETE FROM audit_head")
    assert found(log) == (D.HEAD_MISSING, None)
    with pytest.raises(AuditHeadMissingError), log.uow() as tx:
        tx.audit.append("Late", "system", "thing:late", {}, log.now())


# --- the command -------------------------------------------------------------------------------


@pytest.fixture
def env(log: Container, monkeypatch: pytest.MonkeyPatch) -> Container:
    s = log.settings
    monkeypatch.setenv("RPL_HOME", str(s.home))
    monkeypatch.setenv("RPL_DATABASE_URL", s.database_url)
    monkeypatch.setenv("RPL_PUBLIC_URL", s.public_url)
    return log


def test_audit_verify_exits_0_when_intact_and_prints_the_head(env: Container) -> None:
    head = verify(env).head
    result = CliRunner().invoke(app, ["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"intact: 6 entries; head {head}"
    anchored = CliRunner().invoke(app, ["audit", "verify", "--expect-head", head.hash])
    assert anchored.exit_code == 0, anchored.output


def test_audit_verify_exits_1_naming_the_damage(env: Container) -> None:
    sql(env, "DELETE FROM audit_entry WHERE seq = 4")
    result = CliRunner().invoke(app, ["audit", "verify"])
    assert result.exit_code == 1
    assert result.output.startswith("DAMAGED at entry 4: deleted")
    as_json = CliRunner().invoke(app, ["audit", "verify", "--json"])
    assert as_json.exit_code == 1
    report = json.loads(as_json.output)
    assert report["intact"] is False and report["entries"] == 5
    assert report["damage"]["kind"] == "deleted" and report["damage"]["seq"] == 4


def test_audit_verify_with_an_anchor_finds_a_clean_cut(env: Container) -> None:
    head = verify(env).head
    sql(env, "DELETE FROM audit_entry WHERE seq > 5")
    sql(env, "UPDATE audit_head SET seq = 5, hash = :hash", hash=entries(env)[-1].hash)
    assert CliRunner().invoke(app, ["audit", "verify"]).exit_code == 0
    result = CliRunner().invoke(app, ["audit", "verify", "--expect-head", str(head)])
    assert result.exit_code == 1 and "DAMAGED at entry 6: truncated" in result.output
    bad = CliRunner().invoke(app, ["audit", "verify", "--expect-head", "nonsense"])
    assert bad.exit_code == 2


def test_audit_show_prints_the_latest_entries_oldest_first(env: Container) -> None:
    result = CliRunner().invoke(app, ["audit", "show", "--limit", "2"])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert [line.split("\t")[0] for line in lines] == ["5", "6"]
    assert lines[1].split("\t")[2:5] == ["Tested", "system", "thing:t5"]


def test_entries_keep_the_time_they_were_given(container: Container) -> None:
    later = container.now() + timedelta(hours=5)
    with container.uow() as tx:
        tx.audit.append("Timed", "system", "thing:t", {}, later)
        tx.commit()
    assert entries(container)[0].at == audit.format_time(later)
