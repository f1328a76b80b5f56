"""Status lists in the database: one row per (organisation, purpose), one row per allocated index.

A list row holds the bitstring and a `version` for compare-and-set: a change writes only if the
list still has the version it read, so two admins flipping bits at once cannot lose one another's
change. An allocation row ties an index to the credential that carries it; the unique key
(organisation, purpose, index) makes the database, not the allocator, the judge of "never reused":
two issuers that drew the same index cannot both commit. Allocation rows are written in the same
transaction as their credential, so a rolled-back batch leaves no index behind.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Column, LargeBinary, Text, UniqueConstraint, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, col, select

from rpl.status import new_bitstring


class StatusListRow(SQLModel, table=True):
    __tablename__ = "status_list"

    organisation_id: str = Field(foreign_key="organisation.id", primary_key=True)
    purpose: str = Field(primary_key=True)
    bits: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    # Compare-and-set guard: bumped by every change of `bits`.
    version: int = 1
    # The signed BitstringStatusListCredential last published, and what it was made from.
    document: str | None = Field(default=None, sa_column=Column(Text))
    document_version: int = 0
    document_length: int = 0
    document_until: datetime | None = None
    updated_at: datetime
    # How many indexes were ever handed out: added to by each allocating transaction (see
    # `count_allocations`), so the list's length is known without counting its allocations.
    allocated: int = Field(default=0, sa_column_kwargs={"server_default": "0"})


class StatusAllocationRow(SQLModel, table=True):
    __tablename__ = "status_allocation"
    # An index is handed out once per list, whatever runs race for it.
    __table_args__ = (UniqueConstraint("organisation_id", "purpose", "status_index"),)

    id: int | None = Field(default=None, primary_key=True)
    organisation_id: str = Field(foreign_key="organisation.id")
    purpose: str
    status_index: int
    # A credential issued for a claim (`credential.id`) or for credit (`credit_award.id`, and the
    # transcript's id): written in the transaction that stores that credential, hence no foreign key.
    credential_id: str = Field(index=True)


@dataclass(frozen=True)
class StoredStatusList:
    organisation_id: str
    purpose: str
    bits: bytes
    version: int
    document: str | None
    document_version: int
    document_length: int
    document_until: datetime | None
    allocated: int  # indexes handed out: the list's length follows (`rpl.status.list_length`)


@dataclass(frozen=True)
class Allocation:
    """An index of an organisation's list for one purpose, as drawn for a credential."""

    organisation_id: str
    purpose: str
    index: int


def _utc(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value and not value.tzinfo else value


class StatusRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, org_id: str, purpose: str) -> StoredStatusList | None:
        row = self.session.get(StatusListRow, (org_id, purpose), populate_existing=True)
        if row is None:
            return None
        return StoredStatusList(
            organisation_id=row.organisation_id,
            purpose=row.purpose,
            bits=bytes(row.bits),
            version=row.version,
            document=row.document,
            document_version=row.document_version,
            document_length=row.document_length,
            document_until=_utc(row.document_until),
            allocated=row.allocated,
        )

    def create(self, org_id: str, purpose: str, bits: bytes, now: datetime) -> None:
        """Add an empty list; a concurrent creator makes the commit raise `DuplicateError`."""
        self.session.add(
            StatusListRow(organisation_id=org_id, purpose=purpose, bits=bits, updated_at=now)
        )

    def save_bits(self, stored: StoredStatusList, bits: bytes, now: datetime) -> bool:
        """Write `bits` if the list is still at the version read; False if someone got there first."""
        result = self.session.execute(
            update(StatusListRow)
            .where(
                col(StatusListRow.organisation_id) == stored.organisation_id,
                col(StatusListRow.purpose) == stored.purpose,
                col(StatusListRow.version) == stored.version,
            )
            .values(bits=bits, version=stored.version + 1, updated_at=now)
        )
        return result.rowcount == 1  # type: ignore[attr-defined,no-any-return]

    def save_document(
        self, stored: StoredStatusList, document: str, length: int, until: datetime, now: datetime
    ) -> bool:
        """Keep a signed list made from `stored`; False if its bits changed meanwhile."""
        result = self.session.execute(
            update(StatusListRow)
            .where(
                col(StatusListRow.organisation_id) == stored.organisation_id,
                col(StatusListRow.purpose) == stored.purpose,
                col(StatusListRow.version) == stored.version,
            )
            .values(
                document=document,
                document_version=stored.version,
                document_length=length,
                document_until=until,
                updated_at=now,
            )
        )
        return result.rowcount == 1  # type: ignore[attr-defined,no-any-return]

    def allocated(self, org_id: str, purpose: str) -> int:
        """How many indexes of the list were handed out (the count its row keeps)."""
        count = self.session.exec(
            select(StatusListRow.allocated).where(
                StatusListRow.organisation_id == org_id, StatusListRow.purpose == purpose
            )
        ).first()
        return int(count or 0)

    def is_allocated(self, org_id: str, purpose: str, index: int) -> bool:
        return (
            self.session.exec(
                select(StatusAllocationRow.id).where(
                    StatusAllocationRow.organisation_id == org_id,
                    StatusAllocationRow.purpose == purpose,
                    StatusAllocationRow.status_index == index,
                )
            ).first()
            is not None
        )

    def allocate(self, allocation: Allocation, credential_id: str, now: datetime) -> None:
        """Record the index as the credential's; `DuplicateError` if another run holds it."""
        # Imported here: the unit of work imports this module for `tx.status`.
        from rpl.storage.unit_of_work import DuplicateError

        self.session.add(
            StatusAllocationRow(
                organisation_id=allocation.organisation_id,
                purpose=allocation.purpose,
                status_index=allocation.index,
                credential_id=credential_id,
            )
        )
        try:
            self.session.flush()
        except IntegrityError as err:
            self.session.rollback()
            raise DuplicateError(
                f"index {allocation.index} of the {allocation.purpose} list is taken"
            ) from err
        count_allocations(self.session, [(allocation.organisation_id, allocation.purpose)], now)

    def for_credential(self, credential_id: str) -> dict[str, int]:
        """The credential's index in each list, by purpose."""
        rows = self.session.exec(
            select(StatusAllocationRow.purpose, StatusAllocationRow.status_index).where(
                StatusAllocationRow.credential_id == credential_id
            )
        )
        return {purpose: index for purpose, index in rows}


def count_allocations(session: Session, lists: Iterable[tuple[str, str]], now: datetime) -> None:
    """Add one to the `allocated` count of the (organisation, purpose) list for each pair in
    `lists`: every transaction that writes `status_allocation` rows calls this after writing
    them. A list no publisher created yet is created empty, holding its count.

    The lists' rows stay locked until the transaction ends (PostgreSQL). They are taken in the
    order the pairs first appear, which is the order every allocator draws purposes in (the
    issue policy's, from `RPL_STATUS_PURPOSES`), whether it allocates one credential at a time
    or a page: two allocating transactions wait for each other instead of deadlocking."""
    table = StatusListRow.__table__  # type: ignore[attr-defined]
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    for (org_id, purpose), n in Counter(lists).items():  # Counter keeps first-seen order
        new = dialect.insert(table).values(
            organisation_id=org_id,
            purpose=purpose,
            bits=new_bitstring(),
            version=1,
            document_version=0,
            document_length=0,
            updated_at=now,
            allocated=n,
        )
        session.execute(
            new.on_conflict_do_update(
                index_elements=[table.c.organisation_id, table.c.purpose],
                set_={"allocated": table.c.allocated + n},
            )
        )
