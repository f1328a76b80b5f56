"""credentials issued through the VC API (no claim); roster uploads kept by content hash

A credential signed through `POST /credentials/issue` is stored like any other, but no claim
stands behind it: `credential.claim_id` and `issuance_intent.claim_id` become nullable. A roster
uploaded on the web or the API is stored by its sha256 and imported by the job runner, which
finds it by `roster_import.file_sha256`.

Revision ID: 0014
Revises: 0009
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0014"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TEXT = sqlmodel.sql.sqltypes.AutoString()


def upgrade() -> None:
    with op.batch_alter_table("credential", schema=None) as batch_op:
        batch_op.alter_column("claim_id", existing_type=_TEXT, nullable=True)
    with op.batch_alter_table("issuance_intent", schema=None) as batch_op:
        batch_op.alter_column("claim_id", existing_type=_TEXT, nullable=True)
    with op.batch_alter_table("roster_import", schema=None) as batch_op:
        batch_op.add_column(sa.Column("file_sha256", _TEXT, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("roster_import", schema=None) as batch_op:
        batch_op.drop_column("file_sha256")
    # Credentials without a claim cannot be kept under the older schema.
    op.execute(
        "DELETE FROM status_allocation WHERE credential_id IN "
        "(SELECT id FROM credential WHERE claim_id IS NULL)"
    )
    op.execute("DELETE FROM issuance_intent WHERE claim_id IS NULL")
    op.execute("DELETE FROM credential WHERE claim_id IS NULL")
    with op.batch_alter_table("issuance_intent", schema=None) as batch_op:
        batch_op.alter_column("claim_id", existing_type=_TEXT, nullable=False)
    with op.batch_alter_table("credential", schema=None) as batch_op:
        batch_op.alter_column("claim_id", existing_type=_TEXT, nullable=False)
