"""Join the feature branches of this round into one head.

Accounts (0002), domain proof / signer / issuance intents (0003), rosters (0004), credit (0005) and
securing / wallet grants (0007) were written side by side, each off 0001; they touch different tables
(0003 and 0007 each add one column to `organisation`), so their order does not matter.

Revision ID: 0009
Revises: 0002, 0003, 0004, 0005, 0007
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0009"
down_revision: str | Sequence[str] | None = ("0002", "0003", "0004", "0005", "0007")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
