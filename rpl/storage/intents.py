"""Issuance intents: what was about to be signed, written in its own transaction before signing.

A crash between signing and storing leaves an open intent (no `finished_at`): the credential id,
claim, key and digest of the unsigned document that were about to be signed. A later run that
stores the claim's credential closes the intents of that claim; `open_intents` lists the rest.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import insert, update
from sqlmodel import Field, Session, SQLModel, col, select


class IssuanceIntentRow(SQLModel, table=True):
    __tablename__ = "issuance_intent"

    credential_id: str = Field(primary_key=True)
    # None for a credential signed through the VC API (no claim behind it).
    claim_id: str | None = Field(default=None, foreign_key="claim.id", index=True)
    organisation_id: str = Field(foreign_key="organisation.id")
    verification_method: str
    # sha256 (hex) of the JCS form of the unsigned document: what the signature was to cover.
    digest: str
    started_at: datetime
    finished_at: datetime | None = None
    # "stored"; "superseded" when another run stored the claim's credential; "failed: why".
    outcome: str | None = None


@dataclass(frozen=True)
class Intent:
    credential_id: str
    claim_id: str | None
    organisation_id: str
    verification_method: str
    digest: str
    started_at: datetime
    finished_at: datetime | None = None
    outcome: str | None = None


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class IntentRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def record(self, intents: Sequence[Intent]) -> None:
        """All of a batch's intents in one statement: one round trip, however large the batch."""
        if intents:
            rows = [
                {k: v for k, v in i.__dict__.items() if k not in ("finished_at", "outcome")}
                for i in intents
            ]
            self.session.execute(insert(IssuanceIntentRow), rows)

    def close(self, credential_ids: Iterable[str], outcome: str, now: datetime) -> None:
        ids = list(credential_ids)
        if ids:
            self.session.execute(
                update(IssuanceIntentRow)
                .where(
                    col(IssuanceIntentRow.credential_id).in_(ids),
                    col(IssuanceIntentRow.finished_at).is_(None),
                )
                .values(finished_at=now, outcome=outcome)
            )

    def close_claims(self, claim_ids: Iterable[str], outcome: str, now: datetime) -> None:
        """Close every intent still open for these claims (earlier runs that never stored)."""
        ids = list(claim_ids)
        if ids:
            self.session.execute(
                update(IssuanceIntentRow)
                .where(
                    col(IssuanceIntentRow.claim_id).in_(ids),
                    col(IssuanceIntentRow.finished_at).is_(None),
                )
                .values(finished_at=now, outcome=outcome)
            )

    def for_claim(self, claim_id: str) -> list[Intent]:
        rows = self.session.exec(
            select(IssuanceIntentRow)
            .where(IssuanceIntentRow.claim_id == claim_id)
            .order_by(col(IssuanceIntentRow.started_at), col(IssuanceIntentRow.credential_id))
        )
        return [_intent(r) for r in rows]

    def open_intents(self, limit: int = 1000) -> list[Intent]:
        rows = self.session.exec(
            select(IssuanceIntentRow)
            .where(col(IssuanceIntentRow.finished_at).is_(None))
            .order_by(col(IssuanceIntentRow.started_at))
            .limit(limit)
        )
        return [_intent(r) for r in rows]


def _intent(row: IssuanceIntentRow) -> Intent:
    return Intent(
        credential_id=row.credential_id,
        claim_id=row.claim_id,
        organisation_id=row.organisation_id,
        verification_method=row.verification_method,
        digest=row.digest,
        started_at=_utc(row.started_at),
        finished_at=_utc(row.finished_at) if row.finished_at else None,
        outcome=row.outcome,
    )
