"""Bulk writes of issuance: thousands of credentials stored in one transaction with executemany.

The same guarantees as `UnitOfWork` one by one, kept by the database: every claim moves
confirmed → issued by a compare-and-set UPDATE (`state = 'confirmed'` in its WHERE, its version
bumped), `credential.claim_id` is unique, `(claim_id, seq)` of events is unique and status indexes
are unique per list. Any of them failing raises, and the caller's transaction rolls back whole.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from rpl.storage.status import StatusAllocationRow
from rpl.storage.tables import ClaimEventRow, ClaimRow, CredentialRow


@dataclass(frozen=True)
class IssuedItem:
    claim_id: str
    credential_id: str
    organisation_id: str
    cryptosuite: str
    verification_method: str
    document: str
    status: tuple[tuple[str, int], ...]  # (purpose, index) signed into the document


class BulkRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def allocated_indexes(self, org_id: str, purpose: str) -> set[int]:
        """Every index of the list handed out so far (a million ints is ~60 MB: read once a run)."""
        rows = self.session.execute(
            select(StatusAllocationRow.status_index).where(  # type: ignore[call-overload]
                col(StatusAllocationRow.organisation_id) == org_id,
                col(StatusAllocationRow.purpose) == purpose,
            )
        )
        return {index for (index,) in rows}

    def sample_documents(self, limit: int) -> list[str]:
        """Up to `limit` stored credentials picked at random (benchmarks and checks verify them)."""
        rows = self.session.execute(
            select(CredentialRow.document).order_by(func.random()).limit(limit)  # type: ignore[call-overload]
        )
        return [document for (document,) in rows]

    def store_issued(self, items: Sequence[IssuedItem], now: datetime) -> None:
        """Mark the claims issued and add their credentials, events and status allocations.

        Raises `ConcurrentUpdateError` if any claim was no longer confirmed, `DuplicateError` if
        any unique key was taken (another run issued the claim or took an index).
        """
        from rpl.storage.unit_of_work import ConcurrentUpdateError, DuplicateError

        if not items:
            return
        ids = [i.claim_id for i in items]
        seqs = self._event_counts(ids)
        claim = ClaimRow.__table__  # type: ignore[attr-defined]
        moved = self.session.execute(
            update(claim)
            .where(claim.c.id == bindparam("b_id"), claim.c.state == "confirmed")
            .values(
                state="issued",
                version=claim.c.version + 1,
                credential_id=bindparam("b_credential"),
                updated_at=now,
            ),
            [{"b_id": i.claim_id, "b_credential": i.credential_id} for i in items],
        )
        if self._moved(moved, ids) != len(items):
            raise ConcurrentUpdateError("a claim of the batch is no longer confirmed")
        try:
            self._insert(items, seqs, now)
        except IntegrityError as err:
            raise DuplicateError(f"a unique key was already taken: {err.orig}") from err

    def _moved(self, result: object, ids: list[str]) -> int:
        if self.session.get_bind().dialect.supports_sane_multi_rowcount:
            return int(result.rowcount)  # type: ignore[attr-defined]
        # A driver that cannot count an executemany: count what the batch now holds.
        return int(
            self.session.execute(
                select(func.count())
                .select_from(ClaimRow)
                .where(col(ClaimRow.id).in_(ids), col(ClaimRow.state) == "issued")
            ).scalar_one()
        )

    def _event_counts(self, ids: list[str]) -> dict[str, int]:
        rows = self.session.execute(
            select(ClaimEventRow.claim_id, func.count())  # type: ignore[call-overload]
            .where(col(ClaimEventRow.claim_id).in_(ids))
            .group_by(ClaimEventRow.claim_id)
        )
        return {claim_id: int(n) for claim_id, n in rows}

    def _insert(self, items: Sequence[IssuedItem], seqs: dict[str, int], now: datetime) -> None:
        self.session.execute(
            insert(CredentialRow.__table__),  # type: ignore[attr-defined]
            [
                {
                    "id": i.credential_id,
                    "claim_id": i.claim_id,
                    "organisation_id": i.organisation_id,
                    "cryptosuite": i.cryptosuite,
                    "verification_method": i.verification_method,
                    "document": i.document,
                    "issued_at": now,
                }
                for i in items
            ],
        )
        self.session.execute(
            insert(ClaimEventRow.__table__),  # type: ignore[attr-defined]
            [
                {
                    "claim_id": i.claim_id,
                    "seq": seqs.get(i.claim_id, 0),
                    "kind": "CredentialIssued",
                    "actor": "system",
                    "at": now,
                    "from_state": "confirmed",
                    "to_state": "issued",
                    "reason": None,
                    "data": {"credential_id": i.credential_id},
                }
                for i in items
            ],
        )
        allocations = [
            {
                "organisation_id": i.organisation_id,
                "purpose": purpose,
                "status_index": index,
                "credential_id": i.credential_id,
            }
            for i in items
            for purpose, index in i.status
        ]
        if allocations:
            self.session.execute(insert(StatusAllocationRow.__table__), allocations)  # type: ignore[attr-defined]
        self.session.flush()
