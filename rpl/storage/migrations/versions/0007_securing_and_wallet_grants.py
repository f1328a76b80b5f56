"""per-organisation securing mechanism; OpenID4VCI wallet grants

Revision ID: 0007
Revises: 0001
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0007"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("organisation", schema=None) as batch_op:
        # NULL: the organisation follows the instance's RPL_CRYPTOSUITE, as before.
        batch_op.add_column(
            sa.Column("securing", sqlmodel.sql.sqltypes.AutoString(), nullable=True)
        )
    op.create_table(
        "wallet_grant",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("credential_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("code_hash", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("code_expires_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("code_used_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("token_expires_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("nonce_hash", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("nonce_expires_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("delivered_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("holder_did", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("delivered_id", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["credential_id"], ["credential.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code_hash"),
        sa.UniqueConstraint("token_hash"),
    )
    with op.batch_alter_table("wallet_grant", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_wallet_grant_credential_id"), ["credential_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("wallet_grant", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_wallet_grant_credential_id"))
    op.drop_table("wallet_grant")
    with op.batch_alter_table("organisation", schema=None) as batch_op:
        batch_op.drop_column("securing")
