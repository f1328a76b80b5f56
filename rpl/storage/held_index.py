"""A holder's credentials, paged in a stable order (for the Open Badges 3.0 API).

A holder's credentials are those issued here on claims filed with their address, and those they
imported (an archive, a file, a paste, another platform's upsert) that verified when they came
in. The order is the order of arrival (issue or import time, then id), so a credential that
arrives in a later second lands after every page a client has already read: a platform that keeps
pulling with `offset` (or `since`) misses nothing. (Times are whole seconds, as in the credentials;
two arriving within one second are ordered by id.)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, literal, union_all
from sqlmodel import Session, col, func, select

from rpl.storage.holdings import HeldCredentialRow
from rpl.storage.tables import ClaimRow, CredentialRow

ISSUED, IMPORTED = "issued", "imported"


@dataclass(frozen=True)
class HeldCredential:
    id: str
    document: str  # as stored and served: JSON text, or a VC-JWT's compact JWS
    arrived_at: datetime


class HoldingIndex:
    def __init__(self, session: Session) -> None:
        self.session = session

    def _arrivals(self, account_id: str, email: str, since: datetime | None) -> Select:
        """(kind, id, arrived_at) of every credential the holder holds, issued or imported."""
        issued = (
            select(
                literal(ISSUED).label("kind"),
                col(CredentialRow.id).label("id"),
                col(CredentialRow.issued_at).label("at"),
            )
            .join(ClaimRow, col(ClaimRow.id) == col(CredentialRow.claim_id))
            .where(func.lower(ClaimRow.claimant_email) == email)
        )
        imported = select(
            literal(IMPORTED).label("kind"),
            col(HeldCredentialRow.id).label("id"),
            col(HeldCredentialRow.imported_at).label("at"),
        ).where(
            col(HeldCredentialRow.account_id) == account_id,
            col(HeldCredentialRow.verified).is_(True),
        )
        if since is not None:
            issued = issued.where(col(CredentialRow.issued_at) >= since)
            imported = imported.where(col(HeldCredentialRow.imported_at) >= since)
        return union_all(issued, imported)

    def count_held_by(self, account_id: str, email: str, since: datetime | None = None) -> int:
        arrivals = self._arrivals(account_id, email, since).subquery()
        return int(self.session.exec(select(func.count()).select_from(arrivals)).one())

    def held_by(
        self, account_id: str, email: str, since: datetime | None, limit: int, offset: int
    ) -> list[HeldCredential]:
        """One page of the holder's credentials (`email` normalised), oldest arrival first."""
        arrivals = self._arrivals(account_id, email, since).subquery()
        page = list(
            self.session.exec(
                select(arrivals.c.kind, arrivals.c.id, arrivals.c.at)
                .order_by(arrivals.c.at, arrivals.c.id)
                .offset(offset)
                .limit(limit)
            )
        )
        issued_ids = [i for kind, i, _ in page if kind == ISSUED]
        imported_ids = [i for kind, i, _ in page if kind == IMPORTED]
        documents: dict[str, str] = {}
        if issued_ids:
            rows = self.session.exec(
                select(CredentialRow.id, CredentialRow.document).where(
                    col(CredentialRow.id).in_(issued_ids)
                )
            )
            documents.update({i: d for i, d in rows})
        if imported_ids:
            rows = self.session.exec(
                select(HeldCredentialRow.id, HeldCredentialRow.content).where(
                    col(HeldCredentialRow.id).in_(imported_ids)
                )
            )
            documents.update({i: bytes(c).decode("utf-8") for i, c in rows})
        return [HeldCredential(i, documents[i], at) for _, i, at in page]
