"""accounts, memberships (attesters become memberships), sign-in links, sessions, API tokens

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TEXT = sqlmodel.sql.sqltypes.AutoString
_TIME = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "account",
        sa.Column("id", _TEXT(), nullable=False),
        sa.Column("email", _TEXT(), nullable=False),
        sa.Column("display_name", _TEXT(), nullable=False),
        sa.Column("created_at", _TIME(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("account", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_account_email"), ["email"], unique=True)

    op.create_table(
        "membership",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", _TEXT(), nullable=False),
        sa.Column("email", _TEXT(), nullable=False),
        sa.Column("role", _TEXT(), nullable=False),
        sa.Column("title", _TEXT(), nullable=False),
        sa.Column("added_by", _TEXT(), nullable=False),
        sa.Column("added_at", _TIME(), nullable=False),
        sa.Column("removed_at", _TIME(), nullable=True),
        sa.Column("removed_by", _TEXT(), nullable=True),
        sa.Column("removal_reason", _TEXT(), nullable=True),
        sa.ForeignKeyConstraint(["organisation_id"], ["organisation.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("membership", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_membership_email"), ["email"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_membership_organisation_id"), ["organisation_id"], unique=False
        )

    # The listed attesters become attester memberships, added "by the system" when listed.
    op.execute(
        "INSERT INTO membership (organisation_id, email, role, title, added_by, added_at) "
        "SELECT organisation_id, lower(email), 'attester', title, 'system', created_at "
        "FROM attester ORDER BY id"
    )
    with op.batch_alter_table("attester", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_attester_organisation_id"))
    op.drop_table("attester")

    op.create_table(
        "sign_in_link",
        sa.Column("token_hash", _TEXT(), nullable=False),
        sa.Column("email", _TEXT(), nullable=False),
        sa.Column("created_at", _TIME(), nullable=False),
        sa.Column("expires_at", _TIME(), nullable=False),
        sa.Column("used_at", _TIME(), nullable=True),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    with op.batch_alter_table("sign_in_link", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sign_in_link_email"), ["email"], unique=False)

    op.create_table(
        "account_session",
        sa.Column("id_hash", _TEXT(), nullable=False),
        sa.Column("account_id", _TEXT(), nullable=False),
        sa.Column("created_at", _TIME(), nullable=False),
        sa.Column("expires_at", _TIME(), nullable=False),
        sa.Column("revoked_at", _TIME(), nullable=True),
        sa.Column("user_agent", _TEXT(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"]),
        sa.PrimaryKeyConstraint("id_hash"),
    )
    with op.batch_alter_table("account_session", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_account_session_account_id"), ["account_id"], unique=False
        )

    op.create_table(
        "api_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", _TEXT(), nullable=False),
        sa.Column("name", _TEXT(), nullable=False),
        sa.Column("token_hash", _TEXT(), nullable=False),
        sa.Column("created_at", _TIME(), nullable=False),
        sa.Column("revoked_at", _TIME(), nullable=True),
        sa.Column("last_used_at", _TIME(), nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_token_account_id"), ["account_id"], unique=False)


def downgrade() -> None:
    op.drop_table("api_token")
    op.drop_table("account_session")
    op.drop_table("sign_in_link")
    op.create_table(
        "attester",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", _TEXT(), nullable=False),
        sa.Column("email", _TEXT(), nullable=False),
        sa.Column("title", _TEXT(), nullable=False),
        sa.Column("created_at", _TIME(), nullable=False),
        sa.ForeignKeyConstraint(["organisation_id"], ["organisation.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("organisation_id", "email"),
    )
    with op.batch_alter_table("attester", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_attester_organisation_id"), ["organisation_id"], unique=False
        )
    # Only active attesters can go back: the old table had no notion of removal.
    op.execute(
        "INSERT INTO attester (organisation_id, email, title, created_at) "
        "SELECT organisation_id, email, min(title), min(added_at) FROM membership "
        "WHERE role = 'attester' AND removed_at IS NULL GROUP BY organisation_id, email"
    )
    op.drop_table("membership")
    op.drop_table("account")
