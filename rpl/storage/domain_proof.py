"""Domain proof in the database: each organisation's challenge token, and marking the proof done.

The token is drawn once per organisation and kept until the domain is proved, so the admin can
publish it at leisure; `rotate` draws a fresh one (e.g. if the old one was published by mistake
somewhere it should not be).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import update
from sqlmodel import Field, Session, SQLModel, col, select

from rpl.claims import ClaimState
from rpl.storage.tables import ClaimRow, OrganisationRow


class DomainChallengeRow(SQLModel, table=True):
    __tablename__ = "domain_challenge"

    organisation_id: str = Field(foreign_key="organisation.id", primary_key=True)
    token: str
    created_at: datetime


@dataclass(frozen=True)
class DomainChallenge:
    organisation_id: str
    token: str
    created_at: datetime


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class DomainRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def challenge(self, org_id: str) -> DomainChallenge | None:
        row = self.session.get(DomainChallengeRow, org_id, populate_existing=True)
        if row is None:
            return None
        return DomainChallenge(row.organisation_id, row.token, _utc(row.created_at))

    def set_challenge(self, org_id: str, token: str, now: datetime) -> None:
        row = self.session.get(DomainChallengeRow, org_id)
        if row is None:
            self.session.add(
                DomainChallengeRow(organisation_id=org_id, token=token, created_at=now)
            )
        else:
            row.token, row.created_at = token, now
            self.session.add(row)
        self.session.flush()

    def mark_verified(self, org_id: str, now: datetime) -> None:
        self.session.execute(
            update(OrganisationRow)
            .where(col(OrganisationRow.id) == org_id)
            .values(domain_verified_at=now)
        )

    def waiting_claims(self, org_id: str, limit: int = 100_000) -> list[str]:
        """Ids of the organisation's confirmed claims (those waiting to be issued), oldest first."""
        rows = self.session.exec(
            select(ClaimRow.id)
            .where(
                ClaimRow.organisation_id == org_id,
                ClaimRow.state == ClaimState.CONFIRMED.value,
            )
            .order_by(col(ClaimRow.created_at))
            .limit(limit)
        )
        return list(rows)
