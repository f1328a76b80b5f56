"""drop two indexes no query needs

`claim_event` is unique on (claim_id, seq), and that index already serves every lookup by
`claim_id` (its leading column), so `ix_claim_event_claim_id` only doubled the work of each event
insert: four a claim when a roster is imported and issued. `ix_roster_entry_direct` indexed a
boolean; the queries that test `direct` find their rows by organisation or claim first.

Revision ID: 0019
Revises: 0018
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_claim_event_claim_id", table_name="claim_event")
    op.drop_index("ix_roster_entry_direct", table_name="roster_entry")


def downgrade() -> None:
    op.create_index("ix_roster_entry_direct", "roster_entry", ["direct"])
    op.create_index("ix_claim_event_claim_id", "claim_event", ["claim_id"])
