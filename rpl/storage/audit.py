"""The audit log's tables and repository: append inside the caller's transaction, read in order.

Appenders queue on one row. `audit_head` holds the last seq and hash; the first append of a
transaction takes that row's lock with an UPDATE that changes nothing (a row lock on PostgreSQL,
the database's single write lock on SQLite), then reads the head, adds entry seq+1 and moves the
head by compare-and-set. The lock lasts until the caller's commit or rollback, so the next appender
reads the head this one committed — or, after a rollback, the same head again: seqs have no gaps.

Services append just before they commit, after their other writes: every transaction takes the
head lock last, so it cannot be part of a deadlock, and holds it only for the commit.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, Column, Connection, Integer, Table, Text, event, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import SessionTransaction
from sqlmodel import Field, Session, SQLModel, col, select

from rpl import audit
from rpl.audit import AuditEntry, AuditHeadMissingError, AuditReport, Head

HEAD_ID = 1
_STREAM_BATCH = 1000


class AuditEntryRow(SQLModel, table=True):
    __tablename__ = "audit_entry"
    __table_args__ = (CheckConstraint("seq > 0", name="audit_entry_seq_positive"),)

    # The primary key: one entry per position; positions are handed out by the head, never reused.
    seq: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    kind: str = Field(index=True)
    actor: str = Field(index=True)
    subject: str = Field(index=True)
    at: str  # the RFC 3339 text that was hashed, not a timestamp the driver might shift
    data: str = Field(sa_column=Column(Text, nullable=False))  # canonical JSON, as hashed
    prev_hash: str
    hash: str = Field(unique=True)


class AuditHeadRow(SQLModel, table=True):
    __tablename__ = "audit_head"
    __table_args__ = (CheckConstraint(f"id = {HEAD_ID}", name="audit_head_single_row"),)

    id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    seq: int
    hash: str


def _start_at_genesis(table: Table, connection: Connection, **_: Any) -> None:
    connection.execute(table.insert().values(id=HEAD_ID, seq=0, hash=audit.GENESIS))


# The head row is born with its table, in the same transaction: there is never a log without one.
event.listen(
    AuditHeadRow.__table__,  # type: ignore[attr-defined]
    "after_create",
    _start_at_genesis,
)


class AuditRepository:
    def __init__(self, session: Session) -> None:
        self.session = session
        self._head: Head | None = None
        self._locked_in: SessionTransaction | None = None

    def append(
        self, kind: str, actor: str, subject: str, data: Mapping[str, Any], at: datetime
    ) -> AuditEntry:
        """Add the next entry in the caller's transaction; it is written when the caller commits."""
        head = self._lock_head()
        entry = audit.next_entry(head, kind, actor, subject, data, at)
        self.session.add(_row(entry))
        moved = self.session.execute(
            update(AuditHeadRow)
            .where(col(AuditHeadRow.id) == HEAD_ID, col(AuditHeadRow.seq) == head.seq)
            .values(seq=entry.seq, hash=entry.hash)
        )
        # We hold the lock: only a hand in the database can have moved the head.
        if moved.rowcount != 1:  # type: ignore[attr-defined]
            raise audit.AuditError(f"the audit head moved under a lock (expected {head.seq})")
        self._head = Head(entry.seq, entry.hash)
        return entry

    def _lock_head(self) -> Head:
        current = self.session.get_transaction()
        if self._head is not None and current is not None and current is self._locked_in:
            return self._head  # already ours in this transaction
        self._flush_caller_writes()
        locked = self.session.execute(
            update(AuditHeadRow)
            .where(col(AuditHeadRow.id) == HEAD_ID)
            .values(seq=AuditHeadRow.seq)  # changes nothing; takes the lock
        )
        if locked.rowcount != 1:  # type: ignore[attr-defined]
            raise AuditHeadMissingError("the audit log has no head row; run `rpl audit verify`")
        head = self.head()
        if head is None:  # cannot happen while we hold its lock
            raise AuditHeadMissingError("the audit head row vanished under its lock")
        self._head, self._locked_in = head, self.session.get_transaction()
        return head

    def _flush_caller_writes(self) -> None:
        """The caller's own writes go first: whatever they wait for (a unique key another
        transaction is inserting), they wait for before we hold the lock every appender needs."""
        from rpl.storage.unit_of_work import DuplicateError  # it imports this module

        try:
            self.session.flush()
        except IntegrityError as err:
            raise DuplicateError(f"a unique key was already taken: {err.orig}") from err

    def head(self) -> Head | None:
        row = self.session.execute(
            select(AuditHeadRow.seq, AuditHeadRow.hash).where(col(AuditHeadRow.id) == HEAD_ID)
        ).first()
        return Head(row.seq, row.hash) if row else None

    def entries(self, after: int = 0, upto: int | None = None) -> Iterator[AuditEntry]:
        """Entries with `after` < seq <= `upto`, in seq order, streamed in batches."""
        query = select(AuditEntryRow).where(col(AuditEntryRow.seq) > after)
        if upto is not None:
            query = query.where(col(AuditEntryRow.seq) <= upto)
        query = query.order_by(col(AuditEntryRow.seq)).execution_options(yield_per=_STREAM_BATCH)
        for row in self.session.exec(query):
            yield _entry(row)

    def last(self, limit: int) -> list[AuditEntry]:
        """The latest `limit` entries, oldest first."""
        rows = self.session.exec(
            select(AuditEntryRow).order_by(col(AuditEntryRow.seq).desc()).limit(limit)
        ).all()
        return [_entry(r) for r in reversed(rows)]

    def verify(self, anchor: audit.Anchor | None = None) -> AuditReport:
        """Check the whole stored log against itself, its head and, if given, an outside anchor."""
        verifier = audit.ChainVerifier(anchor)
        for entry in self.entries():
            verifier.add(entry)
        head = self.head()
        # Read after the entries: appends committed meanwhile are read now, up to the head we saw.
        if head is not None and head.seq > verifier.last_seq:
            for entry in self.entries(after=verifier.last_seq, upto=head.seq):
                verifier.add(entry)
        return verifier.report(head, require_head=True)


def _row(entry: AuditEntry) -> AuditEntryRow:
    return AuditEntryRow(
        seq=entry.seq,
        kind=entry.kind,
        actor=entry.actor,
        subject=entry.subject,
        at=entry.at,
        data=audit.canonical_data(entry.data),
        prev_hash=entry.prev_hash,
        hash=entry.hash,
    )


def _entry(row: AuditEntryRow) -> AuditEntry:
    try:
        data: Mapping[str, Any] | audit.UnreadableData = json.loads(row.data)
    except (TypeError, ValueError):
        data = audit.UnreadableData(str(row.data))
    return AuditEntry(
        seq=row.seq,
        kind=row.kind,
        actor=row.actor,
        subject=row.subject,
        at=row.at,
        data=data,
        prev_hash=row.prev_hash,
        hash=row.hash,
    )
