"""the holder's archive: imported credentials and documents, the custodial holder key

Revision ID: 0011
Revises: 0009
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0011"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TEXT = sqlmodel.sql.sqltypes.AutoString
_TIME = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "held_credential",
        sa.Column("id", _TEXT(), nullable=False),
        sa.Column("account_id", _TEXT(), nullable=False),
        sa.Column("sha256", _TEXT(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("format", _TEXT(), nullable=False),
        sa.Column("source", _TEXT(), nullable=False),
        sa.Column("label", _TEXT(), nullable=False),
        sa.Column("credential_id", _TEXT(), nullable=True),
        sa.Column("issuer", _TEXT(), nullable=True),
        sa.Column("name", _TEXT(), nullable=True),
        sa.Column("verified", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("checks", sa.JSON(), nullable=False),
        sa.Column("imported_at", _TIME(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("account_id", "sha256"),
    )
    with op.batch_alter_table("held_credential", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_held_credential_account_id"), ["account_id"], unique=False
        )
    op.create_table(
        "held_document",
        sa.Column("id", _TEXT(), nullable=False),
        sa.Column("account_id", _TEXT(), nullable=False),
        sa.Column("sha256", _TEXT(), nullable=False),
        sa.Column("name", _TEXT(), nullable=False),
        sa.Column("origin", _TEXT(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("imported_at", _TIME(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("account_id", "sha256"),
    )
    with op.batch_alter_table("held_document", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_held_document_account_id"), ["account_id"], unique=False
        )
    op.create_table(
        "holder_key",
        sa.Column("account_id", _TEXT(), nullable=False),
        sa.Column("key_id", _TEXT(), nullable=False),
        sa.Column("public_key", sa.LargeBinary(), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", _TIME(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"]),
        sa.PrimaryKeyConstraint("account_id"),
    )


def downgrade() -> None:
    op.drop_table("holder_key")
    with op.batch_alter_table("held_document", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_held_document_account_id"))
    op.drop_table("held_document")
    with op.batch_alter_table("held_credential", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_held_credential_account_id"))
    op.drop_table("held_credential")
