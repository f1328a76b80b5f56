"""Credit requests, published crosswalks and awarded course credentials, in the database.

A crosswalk version is written once: the primary key (crosswalk id, version) and the digest stored
beside the document make "a published version never changes" the database's rule, not a habit.
A request is written with compare-and-set on `version`, like a claim, so two assessors deciding at
once cannot both win; awards carry a unique (request, course), so a retried `issue_credit` cannot
award a course twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, Text, UniqueConstraint, update
from sqlmodel import Field, Session, SQLModel, col, select

from rpl.credit import CreditEvent, CreditRequest, CreditState
from rpl.errors import RplError


class UnknownCreditRequestError(RplError):
    """No credit request has this id or link."""


class CrosswalkVersionConflictError(RplError):
    """A published crosswalk version was offered again with different content."""


class CrosswalkRow(SQLModel, table=True):
    __tablename__ = "credit_crosswalk"

    crosswalk_id: str = Field(primary_key=True)
    version: int = Field(primary_key=True)
    organisation_id: str = Field(foreign_key="organisation.id", index=True)
    digest: str
    document: str = Field(sa_column=Column(Text, nullable=False))
    published_at: datetime


class CreditRequestRow(SQLModel, table=True):
    __tablename__ = "credit_request"

    id: str = Field(primary_key=True)
    organisation_id: str = Field(foreign_key="organisation.id", index=True)
    crosswalk_id: str
    crosswalk_version: int
    crosswalk_digest: str = ""
    state: str = Field(index=True)
    version: int = 1  # compare-and-set guard
    holder_token_hash: str = Field(unique=True)
    # The account that submitted it, when signed in (see `CreditRequest.holder_email`).
    holder_email: str | None = Field(default=None, index=True)
    learner: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    items: list[Any] = Field(sa_column=Column(JSON, nullable=False))
    proposal: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    adjustments: list[Any] = Field(sa_column=Column(JSON, nullable=False))
    transcript_id: str | None = None
    transcript: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime
    updated_at: datetime


class CreditEventRow(SQLModel, table=True):
    __tablename__ = "credit_event"
    __table_args__ = (UniqueConstraint("request_id", "seq"),)

    id: int | None = Field(default=None, primary_key=True)
    request_id: str = Field(foreign_key="credit_request.id", index=True)
    seq: int
    kind: str
    actor: str
    at: datetime
    from_state: str | None = None
    to_state: str
    reason: str | None = None
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class CreditAwardRow(SQLModel, table=True):
    __tablename__ = "credit_award"
    # One credential per course per request, whatever retries.
    __table_args__ = (UniqueConstraint("request_id", "course"),)

    id: str = Field(primary_key=True)
    request_id: str = Field(foreign_key="credit_request.id", index=True)
    course: str
    document: str = Field(sa_column=Column(Text, nullable=False))
    issued_at: datetime


@dataclass(frozen=True)
class StoredCrosswalk:
    crosswalk_id: str
    version: int
    organisation_id: str
    digest: str
    document: str
    published_at: datetime


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class CreditRepository:
    def __init__(self, session: Session) -> None:
        self.session = session
        self._versions: dict[str, tuple[int, int]] = {}

    # --- crosswalks ---

    def publish_crosswalk(self, stored: StoredCrosswalk) -> bool:
        """Store a version; False if that exact content was already there. A different content
        under a published (id, version) raises `CrosswalkVersionConflictError`."""
        row = self.session.get(CrosswalkRow, (stored.crosswalk_id, stored.version))
        if row is not None:
            if row.digest != stored.digest:
                raise CrosswalkVersionConflictError(
                    f"crosswalk {stored.crosswalk_id} v{stored.version} is published with digest "
                    f"{row.digest}; a change needs a new version"
                )
            return False
        self.session.add(CrosswalkRow(**stored.__dict__))
        self.session.flush()
        return True

    def crosswalk(self, crosswalk_id: str, version: int | None = None) -> StoredCrosswalk | None:
        query = select(CrosswalkRow).where(CrosswalkRow.crosswalk_id == crosswalk_id)
        if version is not None:
            query = query.where(CrosswalkRow.version == version)
        row = self.session.exec(query.order_by(col(CrosswalkRow.version).desc())).first()
        return _stored_crosswalk(row) if row else None

    def crosswalks(self, organisation_id: str | None = None) -> list[StoredCrosswalk]:
        query = select(CrosswalkRow).order_by(CrosswalkRow.crosswalk_id, CrosswalkRow.version)
        if organisation_id is not None:
            query = query.where(CrosswalkRow.organisation_id == organisation_id)
        return [_stored_crosswalk(r) for r in self.session.exec(query)]

    # --- requests ---

    def add(self, request: CreditRequest, holder_token_hash: str, now: datetime) -> None:
        self.session.add(
            CreditRequestRow(
                **_request_values(request),
                id=request.id,
                holder_token_hash=holder_token_hash,
                created_at=now,
                updated_at=now,
            )
        )
        self.session.flush()
        self._add_events(request, 0)
        self._versions[request.id] = (1, len(request.events))

    def get(self, request_id: str) -> CreditRequest:
        row = self.session.get(CreditRequestRow, request_id, populate_existing=True)
        if row is None:
            raise UnknownCreditRequestError(f"no credit request with id {request_id!r}")
        return self._load(row)

    def by_token(self, token_hash: str) -> CreditRequest:
        row = self.session.exec(
            select(CreditRequestRow).where(CreditRequestRow.holder_token_hash == token_hash)
        ).first()
        if row is None:
            raise UnknownCreditRequestError("no credit request has this link")
        return self._load(row)

    def ids_in_state(
        self, state: CreditState, limit: int = 500, organisation_id: str | None = None
    ) -> list[str]:
        """Oldest first; only `organisation_id`'s requests when it is given."""
        query = select(CreditRequestRow.id).where(CreditRequestRow.state == state.value)
        if organisation_id is not None:
            query = query.where(CreditRequestRow.organisation_id == organisation_id)
        rows = self.session.exec(query.order_by(col(CreditRequestRow.created_at)).limit(limit))
        return list(rows)

    def ids_for_holder(self, email: str, limit: int = 500) -> list[str]:
        """The requests an account submitted, newest first."""
        rows = self.session.exec(
            select(CreditRequestRow.id)
            .where(CreditRequestRow.holder_email == email)
            .order_by(col(CreditRequestRow.created_at).desc())
            .limit(limit)
        )
        return list(rows)

    def save(self, request: CreditRequest, now: datetime) -> None:
        """Write back if nobody changed it since it was read; append its new events."""
        version, stored_events = self._versions[request.id]
        result = self.session.execute(
            update(CreditRequestRow)
            .where(col(CreditRequestRow.id) == request.id, col(CreditRequestRow.version) == version)
            .values(**_request_values(request), version=version + 1, updated_at=now)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            from rpl.storage.unit_of_work import ConcurrentUpdateError

            raise ConcurrentUpdateError(
                f"credit request {request.id!r} was changed by someone else"
            )
        self._add_events(request, stored_events)
        self._versions[request.id] = (version + 1, len(request.events))

    def _load(self, row: CreditRequestRow) -> CreditRequest:
        events = self.session.exec(
            select(CreditEventRow)
            .where(CreditEventRow.request_id == row.id)
            .order_by(col(CreditEventRow.seq))
        ).all()
        self._versions[row.id] = (row.version, len(events))
        return CreditRequest(
            id=row.id,
            organisation_id=row.organisation_id,
            crosswalk_id=row.crosswalk_id,
            crosswalk_version=row.crosswalk_version,
            crosswalk_digest=row.crosswalk_digest,
            state=CreditState(row.state),
            learner=dict(row.learner),
            items=tuple(row.items),
            proposal=row.proposal,
            adjustments=tuple(row.adjustments),
            transcript_id=row.transcript_id,
            transcript=row.transcript,
            created_at=_utc(row.created_at),
            holder_email=row.holder_email,
            events=tuple(
                CreditEvent(
                    e.kind, e.actor, _utc(e.at), e.from_state, e.to_state, e.reason, dict(e.data)
                )
                for e in events
            ),
        )

    def _add_events(self, request: CreditRequest, start: int) -> None:
        for seq, e in enumerate(request.events[start:], start=start):
            self.session.add(
                CreditEventRow(
                    request_id=request.id,
                    seq=seq,
                    kind=e.kind,
                    actor=e.actor,
                    at=e.at,
                    from_state=e.from_state,
                    to_state=e.to_state,
                    reason=e.reason,
                    data=e.data or {},
                )
            )

    # --- awards ---

    def add_award(
        self, request_id: str, course: str, credential_id: str, document: str, now: datetime
    ) -> None:
        self.session.add(
            CreditAwardRow(
                id=credential_id,
                request_id=request_id,
                course=course,
                document=document,
                issued_at=now,
            )
        )

    def awards(self, request_id: str) -> list[tuple[str, str, str]]:
        """(course, credential id, document) of each award, in course order of issue."""
        rows = self.session.exec(
            select(CreditAwardRow)
            .where(CreditAwardRow.request_id == request_id)
            .order_by(col(CreditAwardRow.id))
        )
        return [(r.course, r.id, r.document) for r in rows]

    def issued_for(self, credential_id: str) -> tuple[str, str] | None:
        """(request id, organisation id) of the course credential or transcript with this id."""
        award = self.session.exec(
            select(CreditAwardRow.request_id, CreditRequestRow.organisation_id)
            .join(CreditRequestRow, col(CreditRequestRow.id) == col(CreditAwardRow.request_id))
            .where(CreditAwardRow.id == credential_id)
        ).first()
        if award is not None:
            return award[0], award[1]
        transcript = self.session.exec(
            select(CreditRequestRow.id, CreditRequestRow.organisation_id).where(
                CreditRequestRow.transcript_id == credential_id
            )
        ).first()
        return (transcript[0], transcript[1]) if transcript else None


def _request_values(request: CreditRequest) -> dict[str, Any]:
    return {
        "organisation_id": request.organisation_id,
        "crosswalk_id": request.crosswalk_id,
        "crosswalk_version": request.crosswalk_version,
        "crosswalk_digest": request.crosswalk_digest,
        "state": request.state.value,
        "learner": dict(request.learner),
        "items": list(request.items),
        "proposal": request.proposal,
        "adjustments": list(request.adjustments),
        "transcript_id": request.transcript_id,
        "transcript": request.transcript,
        "holder_email": request.holder_email,
    }


def _stored_crosswalk(row: CrosswalkRow) -> StoredCrosswalk:
    return StoredCrosswalk(
        row.crosswalk_id,
        row.version,
        row.organisation_id,
        row.digest,
        row.document,
        _utc(row.published_at),
    )
