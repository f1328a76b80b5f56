"""a claim issued directly from a roster has no claimant link

A roster imported for direct issuance never mails its people a link (the organisation tells them
itself), so the secret whose hash `claim.claimant_token_hash` keeps would be one nobody holds.
Such claims now store none: the column becomes nullable (its unique index allows any number of
NULLs on SQLite and PostgreSQL), and the import no longer inserts a random key per row into it.

Revision ID: 0018
Revises: 0017
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlmodel
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TEXT = sqlmodel.sql.sqltypes.AutoString()


def upgrade() -> None:
    with op.batch_alter_table("claim", schema=None) as batch_op:
        batch_op.alter_column("claimant_token_hash", existing_type=_TEXT, nullable=True)


def downgrade() -> None:
    # The older schema wants a value: one no token hashes to (hashes are hex), unique by id.
    op.execute(
        "UPDATE claim SET claimant_token_hash = 'none:' || id WHERE claimant_token_hash IS NULL"
    )
    with op.batch_alter_table("claim", schema=None) as batch_op:
        batch_op.alter_column("claimant_token_hash", existing_type=_TEXT, nullable=False)
