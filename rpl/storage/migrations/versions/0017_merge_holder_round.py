"""Join the branches of the third round into one head.

The holder's passport and share links (0010), holder archives and keys (0011), credit by account
and status entries on credit credentials (0012), the OAuth server of the OB 3.0 API (0013),
credentials issued through the VC API and stored roster files (0014) and connections to other
OB 3.0 providers (0016) were written side by side, each off 0009. They create their own tables;
of the existing ones, 0012 changes `credit_request` and `status_allocation` and 0014 changes
`credential`, `issuance_intent` and `roster_import`, so their order does not matter.

Revision ID: 0017
Revises: 0010, 0011, 0012, 0013, 0014, 0016
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0017"
down_revision: str | Sequence[str] | None = ("0010", "0011", "0012", "0013", "0014", "0016")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
