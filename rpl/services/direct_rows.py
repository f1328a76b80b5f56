"""A direct roster import's rows, as a signer process builds them: tuples in each table's column
order, JSON columns already text, ready for `storage.bulk.insert_rows`.

`roster.new_claim_rows` (a claim, its events and its entry, as dicts) and `bulk.issued_rows`
(its credential, `CredentialIssued` and status allocations) define these rows; `DirectRows`
makes the same ones without the steps between: no `Event` objects to turn into dicts, no dict
to turn into a tuple, and what every row of an import shares (who confirmed, when, the JSON
around a row's line number) worked out once, not once a row. At a million rows those steps
were about a tenth of a signer's time. tests/integration/test_direct_rows.py holds the two
equal, row for row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from rpl.claims import Claim, ClaimState, Confirmation, EventKind
from rpl.roster import RosterOptions, RosterRow
from rpl.services.roster import details_row
from rpl.storage.bulk import TableRows, json_text
from rpl.storage.roster import RosterEntryRow, RosterImport
from rpl.storage.status import StatusAllocationRow
from rpl.storage.tables import ClaimEventRow, ClaimRow, CredentialRow

# The columns of the rows a signer hands back, in the order it gives them.
CLAIM_COLUMNS = (
    "id",
    "organisation_id",
    "state",
    "version",
    "claimant_email",
    "claimant_token_hash",
    "details",
    "amendment",
    "confirmed_by",
    "credential_id",
    "created_at",
    "updated_at",
)
EVENT_COLUMNS = (
    "claim_id",
    "seq",
    "kind",
    "actor",
    "at",
    "from_state",
    "to_state",
    "reason",
    "data",
)
ENTRY_COLUMNS = ("key", "organisation_id", "import_id", "claim_id", "line", "direct", "accepted_at")
CREDENTIAL_COLUMNS = (
    "id",
    "claim_id",
    "generation",
    "replaces",
    "organisation_id",
    "cryptosuite",
    "verification_method",
    "document",
    "issued_at",
)
ALLOCATION_COLUMNS = ("organisation_id", "purpose", "status_index", "credential_id")
# Each table's rows: its row class, its columns, and the column naming the claim a row is of
# (a status allocation names its credential).
TABLES = {
    "claims": (ClaimRow, CLAIM_COLUMNS, "id"),
    "events": (ClaimEventRow, EVENT_COLUMNS, "claim_id"),
    "entries": (RosterEntryRow, ENTRY_COLUMNS, "claim_id"),
    "credentials": (CredentialRow, CREDENTIAL_COLUMNS, "claim_id"),
    "allocations": (StatusAllocationRow, ALLOCATION_COLUMNS, "credential_id"),
}


@dataclass
class PreparedChunk:
    """A chunk as its signer hands it back: the rows to write, table by table, and what the
    audit entries and the report need."""

    rows: dict[str, TableRows] = field(
        default_factory=lambda: {
            name: TableRows(table.__table__, columns)  # type: ignore[attr-defined]
            for name, (table, columns, _) in TABLES.items()
        }
    )
    added: list[tuple[str, str]] = field(default_factory=list)  # (key, claim id), file order
    issued: list[tuple[str, str, str]] = field(default_factory=list)  # claim, credential, sha256
    failed: dict[str, str] = field(default_factory=dict)  # claim id: why it was not signed
    rejected: list[tuple[int, Sequence[str], str]] = field(default_factory=list)
    duplicates: int = 0

    def without(self, keys: set[str]) -> PreparedChunk:
        """This chunk without the rows of `keys` (stored meanwhile by another upload), which
        count as duplicates."""
        gone = {claim_id for key, claim_id in self.added if key in keys}
        if not gone:
            return self
        dropped = {credential for c, credential, _ in self.issued if c in gone}
        out = PreparedChunk(
            added=[(k, c) for k, c in self.added if c not in gone],
            issued=[i for i in self.issued if i[0] not in gone],
            failed={c: why for c, why in self.failed.items() if c not in gone},
            rejected=self.rejected,
            duplicates=self.duplicates + len(gone),
        )
        for name, (_, columns, owner) in TABLES.items():
            at, ids = columns.index(owner), dropped if owner == "credential_id" else gone
            out.rows[name].rows = [r for r in self.rows[name].rows if r[at] not in ids]
        return out


_S, _E = ClaimState, EventKind
# The three events of a pre-confirmed roster claim (`roster.preconfirmed_claim`), then the one
# of its issuance: (seq, kind, from state, to state), as stored.
_IMPORTED = (
    (0, _E.CLAIM_DRAFTED.value, None, _S.DRAFT.value),
    (1, _E.CLAIM_REQUESTED.value, _S.DRAFT.value, _S.REQUESTED.value),
    (2, _E.CLAIM_CONFIRMED.value, _S.REQUESTED.value, _S.CONFIRMED.value),
)
_ISSUED = (3, _E.CREDENTIAL_ISSUED.value, _S.CONFIRMED.value, _S.ISSUED.value)
_CONFIRMED_STATE, _ISSUED_STATE = _S.CONFIRMED.value, _S.ISSUED.value  # looked up once, not a row


class DirectRows:
    """The rows of a direct import's new claims, for one import at one moment (`now`)."""

    def __init__(
        self,
        record: RosterImport,
        options: RosterOptions,
        now: datetime,
        cryptosuite: str = "",
        verification_method: str = "",
    ) -> None:
        self.record, self.now = record, now
        self.org = record.organisation_id
        self.cryptosuite, self.verification_method = cryptosuite, verification_method
        self.confirmation = Confirmation(options.attester_email, options.attester_role, now)
        self._confirmed_by = json_text(
            {
                "attester_email": options.attester_email,
                "attester_role": options.attester_role,
                "at": now.isoformat(),
            }
        )
        where = {"roster_import": record.id}
        confirmed = {
            "attester_email": options.attester_email,
            "attester_role": options.attester_role,
            "confirmed_by": record.uploaded_by,
            **where,
        }
        # Each event's data JSON up to the row's line: '{…,"line":' + line + '}'.
        drafted = _open(where)  # drafted and requested say the same
        self._data = (drafted, drafted, _open(confirmed))

    def claim(self, claim_id: str, row: RosterRow) -> Claim:
        """The row's claim as it is signed: confirmed by the uploader's attester now. Its events
        (all of an import, none an accepted amendment) say nothing the credential words."""
        return Claim(
            id=claim_id,
            details=row.details,
            state=ClaimState.CONFIRMED,
            events=(),
            confirmed_by=self.confirmation,
        )

    def add(
        self,
        out: PreparedChunk,
        claim_id: str,
        row: RosterRow,
        issued: tuple[str, str, tuple[tuple[str, int], ...]] | None = None,
    ) -> None:
        """The row's claim, its events and its entry into `out`; with `issued` (credential id,
        document, status indexes), its credential too, the claim stored issued."""
        now, org, rows = self.now, self.org, out.rows
        d = row.details
        credential_id = issued[0] if issued else None
        rows["claims"].rows.append(
            (
                claim_id,
                org,
                _ISSUED_STATE if issued else _CONFIRMED_STATE,
                2 if issued else 1,
                d.claimant_email.lower(),
                None,  # a direct import mails no link
                json_text(details_row(d)),
                None,
                self._confirmed_by,
                credential_id,
                now,
                now,
            )
        )
        actor, line = self.record.uploaded_by, f"{row.line}}}"
        events = rows["events"].rows
        for (seq, kind, before, after), data in zip(_IMPORTED, self._data, strict=True):
            events.append((claim_id, seq, kind, actor, now, before, after, None, data + line))
        entry = (row.key, org, self.record.id, claim_id, row.line, self.record.direct, None)
        rows["entries"].rows.append(entry)
        if issued is None:
            return
        _, document, status = issued
        seq, kind, before, after = _ISSUED
        data = f'{{"credential_id":"{credential_id}"}}'
        events.append((claim_id, seq, kind, "system", now, before, after, None, data))
        rows["credentials"].rows.append(
            (
                credential_id,
                claim_id,
                1,
                None,
                org,
                self.cryptosuite,
                self.verification_method,
                document,
                now,
            )
        )
        allocations = rows["allocations"].rows
        for purpose, index in status:
            allocations.append((org, purpose, index, credential_id))


def _open(data: dict[str, str]) -> str:
    """`data`'s JSON with a "line" member to come: all of it but the closing brace, then
    ',"line":'."""
    return json_text(data)[:-1] + ',"line":'  # type: ignore[index]
