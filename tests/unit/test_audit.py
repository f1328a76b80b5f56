"""The audit log's pure core: canonical bytes, the hash chain, and each kind of damage named."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rpl import audit
from rpl.audit import (
    GENESIS,
    START,
    Anchor,
    AuditEntry,
    DamageKind,
    Head,
    InvalidAuditEntryError,
    UnreadableData,
    chain_hash,
    next_entry,
    verify_chain,
)
from rpl.claims import confirm, draft_claim, request
from rpl.organisations import Organisation
from tests.unit.test_claims import CLAIMANT, CLAIMANT_EMAIL, make_details

T0 = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
D = DamageKind


def make_chain(count: int, start: Head = START) -> list[AuditEntry]:
    entries, head = [], start
    for i in range(head.seq + 1, head.seq + count + 1):
        entry = next_entry(
            head,
            "ClaimConfirmed",
            f"attester:person{i}@stmarys.example",
            f"claim:{i}",
            {"from": "requested", "to": "confirmed", "n": i},
            T0 + timedelta(minutes=i),
        )
        entries.append(entry)
        head = Head(entry.seq, entry.hash)
    return entries


def head_of(entries: Sequence[AuditEntry]) -> Head:
    return Head(entries[-1].seq, entries[-1].hash) if entries else START


def rechain(entries: Sequence[AuditEntry], start: int = 0) -> list[AuditEntry]:
    """What someone who knows the algorithm does: renumber from 1 and recompute every hash."""
    out = list(entries[:start])
    head = head_of(out)
    for entry in entries[start:]:
        moved = dataclasses.replace(entry, seq=head.seq + 1, prev_hash=head.hash)
        moved = dataclasses.replace(moved, hash=chain_hash(head.hash, moved))
        out.append(moved)
        head = head_of(out)
    return out


def renumber(entries: Sequence[AuditEntry]) -> list[AuditEntry]:
    """Close the gaps in seq without touching hashes: what a careless hand in SQL does."""
    return [dataclasses.replace(e, seq=i) for i, e in enumerate(entries, start=1)]


def forged(after: Head, subject: str = "claim:forged") -> AuditEntry:
    return next_entry(after, "ClaimConfirmed", "attester:mallory@evil.example", subject, {}, T0)


def damage(
    entries: Sequence[AuditEntry], head: Head | None = None, anchor: Anchor | None = None
) -> tuple[DamageKind, int | None]:
    report = verify_chain(entries, head, anchor)
    assert report.damage is not None, "the damage went unnoticed"
    return report.damage.kind, report.damage.seq


# --- the format --------------------------------------------------------------------------------


def test_an_entry_is_hashed_as_sha256_of_the_previous_hash_and_its_jcs_bytes() -> None:
    entry = next_entry(START, "ClaimDrafted", "system", "claim:1", {"b": 1, "a": "é"}, T0)
    expected = (
        b'{"actor":"system","at":"2026-01-02T03:04:05.000000Z","data":{"a":"\xc3\xa9","b":1},'
        b'"kind":"ClaimDrafted","seq":1,"subject":"claim:1"}'
    )
    assert audit.canonical(entry) == expected
    assert entry.prev_hash == GENESIS
    assert entry.hash == hashlib.sha256(bytes.fromhex(GENESIS) + expected).hexdigest()


def test_the_genesis_and_a_known_chain_never_change() -> None:
    # Frozen values: if these change, every log already written stops verifying.
    assert GENESIS == "034fca7a496eb199d5ba77bde48ae4ef241f921d2b0bff7c294fce8c643c9915"
    assert hashlib.sha256(b"rpl audit log v1 genesis").hexdigest() == GENESIS
    assert make_chain(3)[-1].hash == (
        "d8a5473167340ee0974a6bc476471586d55f6c5f452f75f7069afd2a2e582536"
    )


def test_times_are_kept_as_fixed_width_utc_text() -> None:
    plus_two = datetime(2026, 1, 2, 5, 4, 5, 120, tzinfo=UTC).astimezone()
    assert audit.format_time(plus_two) == "2026-01-02T05:04:05.000120Z"


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"at": datetime(2026, 1, 1)}, "timezone-aware"),
        ({"kind": ""}, "kind"),
        ({"actor": " "}, "actor"),
        ({"data": {"x": float("nan")}}, "JCS"),
        ({"data": {"x": {1, 2}}}, "JCS"),
        ({"data": ["not", "an", "object"]}, "JSON object"),
    ],
)
def test_an_entry_that_cannot_be_hashed_is_refused(change: dict[str, object], problem: str) -> None:
    fields: dict[str, object] = {
        "kind": "ClaimDrafted",
        "actor": "system",
        "subject": "claim:1",
        "data": {},
        "at": T0,
        **change,
    }
    with pytest.raises(InvalidAuditEntryError, match=problem):
        next_entry(START, **fields)  # type: ignore[arg-type]


# --- an intact log -----------------------------------------------------------------------------


def test_an_untouched_log_is_intact_and_reports_its_head() -> None:
    entries = make_chain(5)
    report = verify_chain(entries, head_of(entries), Anchor(entries[2].hash, 3))
    assert report.intact and report.entries == 5 and report.head == head_of(entries)
    assert report.to_json() == {
        "intact": True,
        "entries": 5,
        "head": {"seq": 5, "hash": entries[-1].hash},
        "damage": None,
    }


def test_an_empty_log_is_intact_at_the_genesis() -> None:
    report = verify_chain([], START)
    assert report.intact and report.head == START


# --- each kind of damage -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "field_change",
    [
        {"kind": "ClaimDeclined"},
        {"actor": "attester:someone-else@stmarys.example"},
        {"subject": "claim:99"},
        {"at": "2025-01-01T00:00:00.000000Z"},
        {"data": {"from": "requested", "to": "declined", "n": 3}},
        {"data": UnreadableData("{not json")},
        {"prev_hash": "not a hash"},
        {"hash": "0" * 64},
    ],
)
def test_a_changed_field_is_named_changed_at_its_entry(field_change: dict[str, object]) -> None:
    entries = make_chain(5)
    entries[2] = dataclasses.replace(entries[2], **field_change)  # type: ignore[arg-type]
    assert damage(entries, head_of(make_chain(5))) == (D.CHANGED, 3)


def test_an_entry_rewritten_with_a_fresh_hash_is_found_by_the_next_one() -> None:
    entries = make_chain(5)
    edited = dataclasses.replace(entries[2], actor="attester:someone-else@stmarys.example")
    entries[2] = dataclasses.replace(edited, hash=chain_hash(edited.prev_hash, edited))
    assert damage(entries) == (D.CHANGED, 3)


def test_the_last_entry_rewritten_with_a_fresh_hash_is_found_by_the_stored_head() -> None:
    original = make_chain(5)
    last = dataclasses.replace(original[4], subject="claim:x")
    entries = [*original[:4], dataclasses.replace(last, hash=chain_hash(last.prev_hash, last))]
    assert verify_chain(entries).intact  # nothing inside the log shows it
    assert damage(entries, head_of(original)) == (D.CHANGED, 5)


@pytest.mark.parametrize(("gone", "first"), [([0], 1), ([2], 3), ([2, 3, 4], 3)])
def test_deleted_entries_leave_a_gap_named_deleted(gone: list[int], first: int) -> None:
    entries = [e for i, e in enumerate(make_chain(7)) if i not in gone]
    kind, seq = damage(entries)
    assert (kind, seq) == (D.DELETED, first)


def test_a_deletion_hidden_by_renumbering_is_still_named_deleted() -> None:
    entries = make_chain(6)
    assert damage(renumber(entries[:2] + entries[3:])) == (D.DELETED, 3)


def test_a_forged_entry_in_the_middle_is_named_inserted() -> None:
    entries = make_chain(6)
    fake = forged(head_of(entries[:3]))
    # A careful forger hashes the fake properly and moves the later entries up by one.
    assert damage(renumber([*entries[:3], fake, *entries[3:]])) == (D.INSERTED, 4)


def test_several_forged_entries_are_named_inserted_at_the_first() -> None:
    entries = make_chain(6)
    fakes = rechain([*entries[:2], forged(START), forged(START, "c:2")], 2)
    assert damage(renumber([*fakes, *entries[2:]])) == (D.INSERTED, 3)


def test_a_forged_entry_at_the_end_is_found_only_by_the_stored_head() -> None:
    entries = make_chain(4)
    stored_head = head_of(entries)
    entries.append(forged(stored_head))
    assert verify_chain(entries).intact  # a valid continuation: the chain alone cannot tell
    assert damage(entries, stored_head) == (D.INSERTED, 5)


def test_a_clumsy_forgery_at_the_end_is_named_inserted() -> None:
    entries = make_chain(4)
    entries.append(dataclasses.replace(forged(head_of(entries)), prev_hash="1" * 64))
    assert damage(entries, head_of(entries[:4])) == (D.INSERTED, 5)


@pytest.mark.parametrize(("a", "b"), [(1, 2), (2, 5), (0, 6)])
def test_swapped_seq_numbers_are_named_reordered(a: int, b: int) -> None:
    entries = make_chain(7)
    head = head_of(entries)
    entries[a], entries[b] = entries[b], entries[a]
    assert damage(renumber(entries), head) == (D.REORDERED, a + 1)


def test_an_entry_moved_earlier_is_named_reordered() -> None:
    entries = make_chain(6)
    moved = [*entries[:1], entries[4], *entries[1:4], entries[5]]
    assert damage(renumber(moved), head_of(entries)) == (D.REORDERED, 2)


# --- the end of the log ------------------------------------------------------------------------


def test_a_cut_tail_is_found_by_the_stored_head() -> None:
    entries = make_chain(6)
    assert damage(entries[:4], head_of(entries)) == (D.TRUNCATED, 5)


def test_a_cut_tail_with_its_head_moved_too_is_found_only_by_an_anchor() -> None:
    entries = make_chain(6)
    anchor = Anchor(entries[-1].hash)  # written down outside, after entry 6
    cut = entries[:4]
    assert verify_chain(cut, head_of(cut)).intact  # a valid shorter log: nothing inside shows it
    assert damage(cut, head_of(cut), anchor) == (D.TRUNCATED, 5)
    assert damage(cut, head_of(cut), Anchor(anchor.hash, 6)) == (D.TRUNCATED, 5)


def test_a_rewritten_suffix_is_found_only_by_an_anchor_taken_after_its_start() -> None:
    entries = make_chain(6)
    old_anchor, late_anchor = Anchor(entries[1].hash, 2), Anchor(entries[4].hash, 5)
    rewritten = rechain([*entries[:3], forged(START), *entries[3:]], 3)
    assert verify_chain(rewritten, head_of(rewritten), old_anchor).intact  # before the rewrite
    assert damage(rewritten, head_of(rewritten), late_anchor) == (D.CHANGED, 5)
    assert damage(rewritten, head_of(rewritten), Anchor(late_anchor.hash)) == (D.TRUNCATED, 8)


def test_an_anchor_is_still_found_after_the_log_grew() -> None:
    entries = make_chain(6)
    assert verify_chain(entries, head_of(entries), Anchor(entries[2].hash)).intact


def test_a_missing_stored_head_is_named_when_one_is_required() -> None:
    verifier = audit.ChainVerifier()
    for entry in make_chain(2):
        verifier.add(entry)
    report = verifier.report(None, require_head=True)
    assert report.damage is not None and report.damage.kind is D.HEAD_MISSING
    assert verifier.report(None).intact


def test_anchors_are_read_as_hash_or_seq_and_hash() -> None:
    digest = make_chain(1)[0].hash
    assert Anchor.parse(digest.upper()) == Anchor(digest)
    assert Anchor.parse(f"7:{digest}") == Anchor(digest, 7)
    assert str(Head(7, digest)) == f"7:{digest}"
    for bad in ("", "abc", f"x:{digest}", f"{digest}0"):
        with pytest.raises(InvalidAuditEntryError):
            Anchor.parse(bad)


# --- any one edit is found, and named -----------------------------------------------------------


@given(
    size=st.integers(min_value=2, max_value=25),
    edit=st.sampled_from(["change", "delete", "insert", "swap"]),
    data=st.data(),
)
def test_any_single_edit_is_found_and_named(size: int, edit: str, data: st.DataObject) -> None:
    entries = make_chain(size)
    head = head_of(entries)
    k = data.draw(st.integers(min_value=0, max_value=size - 1), label="position")
    if edit == "change":
        entries[k] = dataclasses.replace(entries[k], subject="claim:other")
        expected = (D.CHANGED, k + 1)
    elif edit == "delete":
        del entries[k]
        expected = (D.DELETED, k + 1) if k < size - 1 else (D.TRUNCATED, k + 1)
    elif edit == "insert":
        entries = renumber([*entries[:k], forged(head_of(entries[:k])), *entries[k:]])
        expected = (D.INSERTED, k + 1)
    else:
        pair = st.lists(st.integers(0, size - 1), min_size=2, max_size=2, unique=True)
        k, j = sorted(data.draw(pair, label="swapped"))
        entries[k], entries[j] = entries[j], entries[k]
        entries = renumber(entries)
        expected = (D.REORDERED, k + 1)
    assert damage(entries, head) == expected


# --- what the services record ------------------------------------------------------------------


def test_a_claim_event_names_who_and_which_states_but_none_of_the_claimants_facts() -> None:
    drafted = draft_claim("c-1", make_details(), CLAIMANT, T0)
    confirmed = confirm(request(drafted, "system", T0), "hr@stmarys.example", "HR", T0)
    assert audit.claim_event(drafted) == (
        "ClaimDrafted",
        CLAIMANT,
        "claim:c-1",
        {"organisation": "org-st-marys", "from": None, "to": "draft"},
    )
    change = audit.claim_event(confirmed)
    assert change.kind == "ClaimConfirmed" and change.actor == "attester:hr@stmarys.example"
    text = audit.canonical_data(change.data) + audit.canonical_data(audit.claim_event(drafted).data)
    for private in ("Jane Doe", "Registered Nurse", "Wound care", "surgical", CLAIMANT_EMAIL):
        assert private not in text


def test_an_issued_credential_is_recorded_by_id_and_document_hash_only() -> None:
    @dataclasses.dataclass
    class Stored:
        id: str = "cred-1"
        claim_id: str = "c-1"
        organisation_id: str = "org-1"
        verification_method: str = "did:web:x#key-1"
        document: str = '{"credentialSubject": {"name": "Jane Doe"}}'

    change = audit.credential_issued(Stored())
    assert change.subject == "credential:cred-1" and change.actor == "system"
    assert change.data["sha256"] == hashlib.sha256(Stored.document.encode()).hexdigest()
    assert "Jane" not in audit.canonical_data(change.data)


def test_a_registered_organisation_is_recorded_without_its_attesters() -> None:
    org = Organisation("o-1", "st-marys", "St Mary's", "stmarys.example", "https://stmarys.example")
    change = audit.organisation_registered(org, "key-1")
    assert change == (
        "OrganisationRegistered",
        "system",
        "organisation:o-1",
        {
            "slug": "st-marys",
            "name": "St Mary's",
            "domain": "stmarys.example",
            "signing_key": "key-1",
        },
    )
