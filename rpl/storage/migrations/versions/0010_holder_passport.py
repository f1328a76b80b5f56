"""the holder's passport: their own words, public profile, share links and their opening log

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TEXT = sqlmodel.sql.sqltypes.AutoString
_TIME = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "holder_passport",
        sa.Column("account_id", _TEXT(), nullable=False),
        sa.Column("headline", _TEXT(), nullable=False),
        sa.Column("story", sa.Text(), nullable=False),
        sa.Column("handle", _TEXT(), nullable=True),
        sa.Column("published", sa.Boolean(), nullable=False),
        sa.Column("show_story", sa.Boolean(), nullable=False),
        sa.Column("updated_at", _TIME(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"]),
        sa.PrimaryKeyConstraint("account_id"),
        sa.UniqueConstraint("handle"),
    )
    op.create_table(
        "passport_record",
        sa.Column("account_id", _TEXT(), nullable=False),
        sa.Column("claim_id", _TEXT(), nullable=False),
        sa.Column("headline", _TEXT(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("on_profile", sa.Boolean(), nullable=False),
        sa.Column("note_on_profile", sa.Boolean(), nullable=False),
        sa.Column("updated_at", _TIME(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"]),
        sa.ForeignKeyConstraint(["claim_id"], ["claim.id"]),
        sa.PrimaryKeyConstraint("account_id", "claim_id"),
    )
    op.create_table(
        "share_link",
        sa.Column("id", _TEXT(), nullable=False),
        sa.Column("account_id", _TEXT(), nullable=False),
        sa.Column("token_hash", _TEXT(), nullable=False),
        sa.Column("label", _TEXT(), nullable=False),
        sa.Column("include_notes", sa.Boolean(), nullable=False),
        sa.Column("created_at", _TIME(), nullable=False),
        sa.Column("expires_at", _TIME(), nullable=True),
        sa.Column("revoked_at", _TIME(), nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    with op.batch_alter_table("share_link", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_share_link_account_id"), ["account_id"], unique=False)
    op.create_table(
        "share_link_item",
        sa.Column("link_id", _TEXT(), nullable=False),
        sa.Column("claim_id", _TEXT(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["claim_id"], ["claim.id"]),
        sa.ForeignKeyConstraint(["link_id"], ["share_link.id"]),
        sa.PrimaryKeyConstraint("link_id", "claim_id"),
    )
    op.create_table(
        "share_link_open",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("link_id", _TEXT(), nullable=False),
        sa.Column("opened_at", _TIME(), nullable=False),
        sa.ForeignKeyConstraint(["link_id"], ["share_link.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("share_link_open", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_share_link_open_link_id"), ["link_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("share_link_open", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_share_link_open_link_id"))
    op.drop_table("share_link_open")
    op.drop_table("share_link_item")
    with op.batch_alter_table("share_link", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_share_link_account_id"))
    op.drop_table("share_link")
    op.drop_table("passport_record")
    op.drop_table("holder_passport")
