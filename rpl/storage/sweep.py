"""The sweep's questions to the database: which claims wait for a reminder, an expiry, a resend.

Queries only; the changes go through the claim and link repositories, each with its own
compare-and-set, so a sweep that races another (or the attester) changes a claim once.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, func, select

from rpl.claims import ClaimState
from rpl.storage.tables import AttestationLinkRow, ClaimRow

_L = AttestationLinkRow


class SweepRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def _requested(self, limit: int, *conditions: object) -> list[str]:
        rows = self.session.exec(
            select(ClaimRow.id)
            .where(ClaimRow.state == ClaimState.REQUESTED.value, *conditions)  # type: ignore[arg-type]
            .order_by(col(ClaimRow.updated_at), col(ClaimRow.id))
            .limit(limit)
        )
        return list(rows)

    def due_for_reminder(self, asked_before: datetime, now: datetime, limit: int) -> list[str]:
        """Requested claims whose attester holds a live link, and was last written to (asked or
        reminded) before `asked_before`: at most one reminder per period."""
        live = select(_L.claim_id).where(
            col(_L.used_at).is_(None), col(_L.sent_at).is_not(None), col(_L.expires_at) > now
        )
        latest = (
            select(_L.claim_id)
            .where(col(_L.sent_at).is_not(None))
            .group_by(col(_L.claim_id))
            .having(func.max(_L.sent_at) <= asked_before)
        )
        return self._requested(limit, col(ClaimRow.id).in_(live), col(ClaimRow.id).in_(latest))

    def due_for_expiry(self, now: datetime, limit: int) -> list[str]:
        """Requested claims none of whose links can still be answered."""
        open_links = select(_L.claim_id).where(col(_L.used_at).is_(None), col(_L.expires_at) > now)
        return self._requested(limit, col(ClaimRow.id).not_in(open_links))

    def undelivered(self, made_before: datetime, now: datetime, limit: int) -> list[str]:
        """Requested claims whose attester was never sent a live link (the mail failed or the
        process died between the commit and the send), the link made before `made_before`."""
        sent_live = select(_L.claim_id).where(
            col(_L.used_at).is_(None), col(_L.sent_at).is_not(None), col(_L.expires_at) > now
        )
        unsent = select(_L.claim_id).where(
            col(_L.used_at).is_(None),
            col(_L.sent_at).is_(None),
            col(_L.expires_at) > now,
            col(_L.created_at) <= made_before,
        )
        return self._requested(
            limit, col(ClaimRow.id).in_(unsent), col(ClaimRow.id).not_in(sent_live)
        )

    def confirmed_before(self, before: datetime, limit: int) -> list[str]:
        """Claims confirmed before `before` and still without their credential."""
        rows = self.session.exec(
            select(ClaimRow.id)
            .where(
                ClaimRow.state == ClaimState.CONFIRMED.value,
                col(ClaimRow.updated_at) <= before,
            )
            .order_by(col(ClaimRow.updated_at), col(ClaimRow.id))
            .limit(limit)
        )
        return list(rows)
