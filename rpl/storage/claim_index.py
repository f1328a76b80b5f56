"""Finding claims by who they concern: an organisation's inbox, a holder's own list."""

from __future__ import annotations

from sqlmodel import Session, col, func, select

from rpl.claims import ClaimState
from rpl.storage.tables import ClaimRow

_LIMIT = 500


class ClaimIndex:
    def __init__(self, session: Session) -> None:
        self.session = session

    def for_organisation(self, org_id: str, states: tuple[ClaimState, ...]) -> list[str]:
        """Ids of the claims sent to `org_id` in one of `states`, oldest first."""
        rows = self.session.exec(
            select(ClaimRow.id)
            .where(
                ClaimRow.organisation_id == org_id,
                col(ClaimRow.state).in_([s.value for s in states]),
            )
            .order_by(col(ClaimRow.created_at), col(ClaimRow.id))
            .limit(_LIMIT)
        )
        return list(rows)

    def for_claimant(self, email: str) -> list[str]:
        """Ids of the claims filed with this (normalised) address, newest first."""
        rows = self.session.exec(
            select(ClaimRow.id)
            .where(func.lower(ClaimRow.claimant_email) == email)
            .order_by(col(ClaimRow.created_at).desc(), col(ClaimRow.id))
            .limit(_LIMIT)
        )
        return list(rows)
