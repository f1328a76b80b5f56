"""An organisation's choice of securing mechanism (the `organisation.securing` column, 0007)."""

from __future__ import annotations

from sqlalchemy import update
from sqlmodel import Session, col

from rpl.storage.tables import OrganisationRow


class SecuringRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def set(self, org_id: str, securing: str | None) -> bool:
        """Record the mechanism (None: the instance default); False if there is no such row."""
        result = self.session.execute(
            update(OrganisationRow)
            .where(col(OrganisationRow.id) == org_id)
            .values(securing=securing)
        )
        return result.rowcount == 1  # type: ignore[attr-defined,no-any-return]
