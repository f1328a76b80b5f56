"""`DirectRows` makes the rows `roster.new_claim_rows` and `bulk.issued_rows` define, as the
tuples `TableRows` would hold them, and its claim words the same credential."""

from __future__ import annotations

from datetime import UTC, date, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from rpl.claims import ClaimKind
from rpl.credentials import IssuerProfile, build_achievement_credential
from rpl.roster import RosterOptions, RosterRow, parse_row, preconfirmed_claim
from rpl.services.direct_rows import DirectRows, PreparedChunk
from rpl.services.roster import new_claim_rows
from rpl.storage.bulk import IssuedItem, issued_rows
from rpl.storage.roster import RosterImport

NOW = datetime(2026, 11, 23, 9, 30, 15, 123456, tzinfo=UTC)
TODAY = date(2026, 11, 23)
HEADER = ("identifier", "name", "role", "kind", "start", "end", "hours", "skills", "email")
SUITE, METHOD = "eddsa-jcs-2022", "did:web:rpl.example:orgs:x#key-1"
ISSUER = IssuerProfile(
    "did:web:rpl.example:orgs:x", 'St Mary\'s \\ "Hospital"', "https://x.example"
)


def _record(uploaded_by: str, attester_role: str) -> RosterImport:
    return RosterImport(
        "0193a0e2-0000-7000-8000-000000000001",
        "org-1",
        "roster.csv",
        uploaded_by,
        "records@x.example",
        attester_role,
        "contribution",
        True,
        "importing",
        None,
        0,
        0,
        0,
        0,
        0,
        0,
        NOW,
        NOW,
    )


def _reference(
    record: RosterImport,
    options: RosterOptions,
    row: RosterRow,
    claim_id: str,
    issued: tuple[str, str, tuple[tuple[str, int], ...]] | None,
) -> PreparedChunk:
    """The rows as the dicts that define them, through `TableRows.add`."""
    out = PreparedChunk()
    _, claim_row, events, entry = new_claim_rows(record, options, row, claim_id, None, NOW)
    if issued:
        credential_id, document, status = issued
        item = IssuedItem(claim_id, credential_id, "org-1", SUITE, METHOD, document, status)
        credential, event, allocations = issued_rows(item, len(events), NOW)
        claim_row.update(state="issued", version=2, credential_id=credential_id)
        events.append(event)
        out.rows["credentials"].add(credential)
        for allocation in allocations:
            out.rows["allocations"].add(allocation)
    out.rows["claims"].add(claim_row)
    for event in events:
        out.rows["events"].add(event)
    out.rows["entries"].add(entry)
    return out


_WORDS = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=20
).filter(lambda t: t.strip() and "\x00" not in t and "\ufffd" not in t)
_CELLS = st.tuples(
    st.sampled_from(["ana@example.org", " Bo.Chen@Example.ORG ", "did:example:123"]),
    _WORDS,
    _WORDS,
    st.sampled_from(["", "employment", "Study", "contribution"]),
    st.sampled_from(["1998", "2001-02", "2010-06-30", "2019-13"]),
    st.sampled_from(["", "2012", "2020-02-29", "2024-01"]),
    st.sampled_from(["", "12", "40.5", "1,200", "0.25", "lots"]),
    st.sampled_from(["", "First aid", "A; B ;; C", "Listening; Teamwork"]),
    st.sampled_from(["", "bo@example.org"]),
)


@settings(max_examples=300, deadline=None)
@given(
    cells=_CELLS,
    uploaded_by=_WORDS,
    attester_role=_WORDS,
    line=st.integers(2, 10**7),
    status=st.sampled_from([(), (("revocation", 7),), (("revocation", 0), ("suspension", 99))]),
    signed=st.booleans(),
)
def test_direct_rows_are_the_rows_the_definitions_make(
    cells: tuple[str, ...],
    uploaded_by: str,
    attester_role: str,
    line: int,
    status: tuple[tuple[str, int], ...],
    signed: bool,
) -> None:
    record = _record(uploaded_by, attester_role)
    options = RosterOptions("org-1", record.attester_email, attester_role, ClaimKind.STUDY)
    row = parse_row(line, HEADER, cells, options, TODAY)
    if not isinstance(row, RosterRow):
        return  # a rejected row makes no rows
    claim_id = "0193a0e2-0000-7000-8000-0000000000c1"
    issued = ("0193a0e2-0000-7000-8000-0000000000d1", '{"doc": 1}', status) if signed else None
    made = PreparedChunk()
    DirectRows(record, options, NOW, SUITE, METHOD).add(made, claim_id, row, issued)
    expected = _reference(record, options, row, claim_id, issued)
    for name, rows in expected.rows.items():
        assert made.rows[name].rows == rows.rows, name
    assert len(made.rows["events"].rows) == (4 if signed else 3)


@settings(max_examples=100, deadline=None)
@given(cells=_CELLS, uploaded_by=_WORDS)
def test_the_claim_signed_words_the_credential_of_the_pre_confirmed_claim(
    cells: tuple[str, ...], uploaded_by: str
) -> None:
    """The signer's claim carries no events; the pre-confirmed claim's three say nothing the
    credential words (none is an accepted amendment)."""
    record = _record(uploaded_by, "Records Office")
    options = RosterOptions("org-1", record.attester_email, "Records Office")
    row = parse_row(5, HEADER, cells, options, TODAY)
    if not isinstance(row, RosterRow):
        return
    claim = DirectRows(record, options, NOW).claim("c-1", row)
    defined = preconfirmed_claim("c-1", row, options, uploaded_by, record.id, NOW)
    assert claim.confirmed_by == defined.confirmed_by and claim.details == defined.details
    ids = ("https://rpl.example/credentials/1", "urn:uuid:0000-1", "salt", NOW)
    assert build_achievement_credential(claim, ISSUER, *ids) == build_achievement_credential(
        defined, ISSUER, *ids
    )
