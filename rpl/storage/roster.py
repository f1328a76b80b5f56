"""Roster imports in the database: the import's record, one entry per imported row, the rejects.

`roster_entry.key` is the row's natural key (`rpl.roster.natural_key`): its primary key, so the
same participation uploaded twice — in the same file, a re-upload, or two uploads racing — gets
one claim. Its claim is unique too: a claim belongs to at most one roster row. Rows are written
with SQLAlchemy core `executemany` in chunks (a million ORM objects would cost minutes and
gigabytes); the ORM is kept for the import's own record.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, Text, func, insert, update
from sqlmodel import Field, Session, SQLModel, col, select

from rpl.storage.tables import ClaimEventRow, ClaimRow


class RosterImportRow(SQLModel, table=True):
    __tablename__ = "roster_import"

    id: str = Field(primary_key=True)
    organisation_id: str = Field(foreign_key="organisation.id", index=True)
    filename: str
    uploaded_by: str  # the actor who uploaded: who vouches for every row
    attester_email: str
    attester_role: str
    default_kind: str
    direct: bool  # issue at once to each identifier, or wait for each person to accept
    # importing → imported → issuing → done; failed when the file could not be read at all
    status: str
    message: str | None = None
    bytes_total: int = 0
    bytes_read: int = 0
    rows_read: int = 0
    rows_added: int = 0
    rows_duplicate: int = 0
    rows_rejected: int = 0
    created_at: datetime
    updated_at: datetime
    # The uploaded file in the file store, when the import runs in the background (0014).
    file_sha256: str | None = None


class RosterEntryRow(SQLModel, table=True):
    __tablename__ = "roster_entry"

    key: str = Field(primary_key=True)  # the natural key: one claim per participation
    organisation_id: str = Field(foreign_key="organisation.id", index=True)
    import_id: str = Field(foreign_key="roster_import.id", index=True)
    claim_id: str = Field(foreign_key="claim.id", unique=True)
    line: int
    direct: bool
    accepted_at: datetime | None = None


class RosterRejectionRow(SQLModel, table=True):
    __tablename__ = "roster_rejection"

    id: int | None = Field(default=None, primary_key=True)
    import_id: str = Field(foreign_key="roster_import.id", index=True)
    line: int
    cells: list[str] = Field(sa_column=Column(JSON, nullable=False))
    reason: str = Field(sa_column=Column(Text, nullable=False))


@dataclass(frozen=True)
class RosterImport:
    id: str
    organisation_id: str
    filename: str
    uploaded_by: str
    attester_email: str
    attester_role: str
    default_kind: str
    direct: bool
    status: str
    message: str | None
    bytes_total: int
    bytes_read: int
    rows_read: int
    rows_added: int
    rows_duplicate: int
    rows_rejected: int
    created_at: datetime
    updated_at: datetime
    file_sha256: str | None = None


@dataclass(frozen=True)
class ClaimToIssue:
    """What a signer needs of a confirmed roster claim, without loading its event log."""

    id: str
    details: dict[str, Any]
    confirmed_by: dict[str, Any]


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _import(row: RosterImportRow) -> RosterImport:
    values = row.model_dump()
    values["created_at"], values["updated_at"] = _utc(row.created_at), _utc(row.updated_at)
    return RosterImport(**values)


class RosterRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    # --- the import's record ----------------------------------------------------------------

    def add_import(self, record: RosterImport) -> None:
        self.session.add(RosterImportRow(**record.__dict__))

    def get_import(self, import_id: str) -> RosterImport | None:
        row = self.session.get(RosterImportRow, import_id, populate_existing=True)
        return _import(row) if row else None

    def imports(self, org_id: str, limit: int = 50) -> list[RosterImport]:
        rows = self.session.exec(
            select(RosterImportRow)
            .where(RosterImportRow.organisation_id == org_id)
            .order_by(col(RosterImportRow.created_at).desc(), col(RosterImportRow.id))
            .limit(limit)
        )
        return [_import(r) for r in rows]

    def update_import(self, import_id: str, now: datetime, **values: Any) -> None:
        self.session.execute(
            update(RosterImportRow)
            .where(col(RosterImportRow.id) == import_id)
            .values(**values, updated_at=now)
        )

    # --- rows -------------------------------------------------------------------------------

    def existing_keys(self, keys: Sequence[str]) -> set[str]:
        if not keys:
            return set()
        rows = self.session.exec(
            select(RosterEntryRow.key).where(col(RosterEntryRow.key).in_(list(keys)))
        )
        return set(rows)

    def add_rows(
        self,
        claims: Sequence[dict[str, Any]],
        events: Sequence[dict[str, Any]],
        entries: Sequence[dict[str, Any]],
    ) -> None:
        """Claims, their events and their roster entries, as table rows, in three executemany.
        Raises `DuplicateError` if a key was taken (another upload stored the same row)."""
        if not claims:
            return
        # One statement per table, rows as they are.
        from rpl.storage.bulk import insert_many, taken_as_duplicate

        with taken_as_duplicate():
            insert_many(self.session, ClaimRow.__table__, claims)  # type: ignore[attr-defined]
            insert_many(self.session, ClaimEventRow.__table__, events)  # type: ignore[attr-defined]
            insert_many(self.session, RosterEntryRow.__table__, entries)  # type: ignore[attr-defined]

    def add_rejections(
        self, import_id: str, rejected: Iterable[tuple[int, Sequence[str], str]]
    ) -> None:
        rows = [
            {"import_id": import_id, "line": line, "cells": list(cells), "reason": reason}
            for line, cells, reason in rejected
        ]
        if rows:
            self.session.execute(insert(RosterRejectionRow.__table__), rows)  # type: ignore[attr-defined]

    def rejections(self, import_id: str) -> Iterator[tuple[int, list[str], str]]:
        """The import's rejected rows in file order, streamed."""
        query = (
            select(RosterRejectionRow.line, RosterRejectionRow.cells, RosterRejectionRow.reason)
            .where(RosterRejectionRow.import_id == import_id)
            .order_by(col(RosterRejectionRow.line))
            .execution_options(yield_per=1000)
        )
        for line, cells, reason in self.session.exec(query):
            yield line, cells if isinstance(cells, list) else json.loads(cells), reason

    def accept(self, claim_id: str, now: datetime) -> bool:
        """The person accepted their roster claim; False if it was already accepted or direct."""
        result = self.session.execute(
            update(RosterEntryRow)
            .where(
                col(RosterEntryRow.claim_id) == claim_id,
                col(RosterEntryRow.accepted_at).is_(None),
                ~col(RosterEntryRow.direct),
            )
            .values(accepted_at=now)
        )
        return result.rowcount == 1  # type: ignore[attr-defined,no-any-return]

    def entry_for_claim(self, claim_id: str) -> RosterEntryRow | None:
        return self.session.exec(
            select(RosterEntryRow).where(RosterEntryRow.claim_id == claim_id)
        ).first()

    # --- issuance ---------------------------------------------------------------------------

    def claims_to_issue(self, org_id: str, after: str, limit: int) -> list[ClaimToIssue]:
        """Confirmed roster claims of `org_id` that may be issued (direct, or accepted) and are
        not yet, with ids after `after`, in id order: a keyset page."""
        query = (
            select(ClaimRow.id, ClaimRow.details, ClaimRow.confirmed_by)
            .join(RosterEntryRow, col(RosterEntryRow.claim_id) == col(ClaimRow.id))
            .where(
                RosterEntryRow.organisation_id == org_id,
                col(RosterEntryRow.direct) | col(RosterEntryRow.accepted_at).is_not(None),
                ClaimRow.state == "confirmed",
                col(ClaimRow.id) > after,
            )
            .order_by(col(ClaimRow.id))
            .limit(limit)
        )
        return [ClaimToIssue(i, d, c) for i, d, c in self.session.exec(query)]

    def issuable(self, org_id: str) -> int:
        """How many of `org_id`'s roster claims wait to be issued (direct or accepted)."""
        return int(self.session.exec(issuable_query(org_id)).one())

    def counts(self, import_id: str) -> dict[str, int]:
        """The import's claims by state (its rows only, not duplicates of earlier imports)."""
        rows = self.session.exec(
            select(ClaimRow.state, func.count())
            .join(RosterEntryRow, col(RosterEntryRow.claim_id) == col(ClaimRow.id))
            .where(RosterEntryRow.import_id == import_id)
            .group_by(ClaimRow.state)
        )
        return {state: int(n) for state, n in rows}


def issuable_query(org_id: str) -> Any:
    """SELECT the count of `org_id`'s roster claims waiting to be issued.

    Counted from the claims still confirmed, each looked up in the roster (EXISTS), not from
    the organisation's roster entries: SQLite planned that join by organisation, a walk of
    every entry ever imported (1.2 s at a million rows, on every poll of a progress bar) even
    with nothing left to issue.
    """
    in_roster = (
        select(RosterEntryRow.claim_id)
        .where(
            col(RosterEntryRow.claim_id) == col(ClaimRow.id),
            RosterEntryRow.organisation_id == org_id,
            col(RosterEntryRow.direct) | col(RosterEntryRow.accepted_at).is_not(None),
        )
        .exists()
    )
    return (
        select(func.count()).select_from(ClaimRow).where(ClaimRow.state == "confirmed", in_roster)
    )
