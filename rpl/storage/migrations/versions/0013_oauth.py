"""the Open Badges 3.0 API's OAuth 2.0 server: clients, grants, codes, tokens

Revision ID: 0013
Revises: 0009
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0013"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TEXT = sqlmodel.sql.sqltypes.AutoString
_TIME = sqlmodel.sql.sqltypes.UTCDateTime


def _index(table: str, column: str) -> None:
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.create_index(batch_op.f(f"ix_{table}_{column}"), [column], unique=False)


def upgrade() -> None:
    op.create_table(
        "oauth_client",
        sa.Column("id", _TEXT(), nullable=False),
        sa.Column("secret_hash", _TEXT(), nullable=False),
        sa.Column("client_metadata", sa.JSON(), nullable=False),
        sa.Column("created_at", _TIME(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "oauth_grant",
        sa.Column("id", _TEXT(), nullable=False),
        sa.Column("client_id", _TEXT(), nullable=False),
        sa.Column("account_id", _TEXT(), nullable=False),
        sa.Column("scope", _TEXT(), nullable=False),
        sa.Column("created_at", _TIME(), nullable=False),
        sa.Column("revoked_at", _TIME(), nullable=True),
        sa.Column("revoke_reason", _TEXT(), nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"]),
        sa.ForeignKeyConstraint(["client_id"], ["oauth_client.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    _index("oauth_grant", "account_id")
    _index("oauth_grant", "client_id")
    op.create_table(
        "oauth_code",
        sa.Column("code_hash", _TEXT(), nullable=False),
        sa.Column("grant_id", _TEXT(), nullable=False),
        sa.Column("redirect_uri", _TEXT(), nullable=False),
        sa.Column("code_challenge", _TEXT(), nullable=False),
        sa.Column("expires_at", _TIME(), nullable=False),
        sa.Column("used_at", _TIME(), nullable=True),
        sa.ForeignKeyConstraint(["grant_id"], ["oauth_grant.id"]),
        sa.PrimaryKeyConstraint("code_hash"),
    )
    _index("oauth_code", "grant_id")
    op.create_table(
        "oauth_token",
        sa.Column("token_hash", _TEXT(), nullable=False),
        sa.Column("grant_id", _TEXT(), nullable=False),
        sa.Column("kind", _TEXT(), nullable=False),
        sa.Column("scope", _TEXT(), nullable=False),
        sa.Column("created_at", _TIME(), nullable=False),
        sa.Column("expires_at", _TIME(), nullable=True),
        sa.Column("used_at", _TIME(), nullable=True),
        sa.Column("revoked_at", _TIME(), nullable=True),
        sa.ForeignKeyConstraint(["grant_id"], ["oauth_grant.id"]),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    _index("oauth_token", "grant_id")


def downgrade() -> None:
    indexes = {
        "oauth_token": ("grant_id",),
        "oauth_code": ("grant_id",),
        "oauth_grant": ("client_id", "account_id"),
    }
    for table, columns in indexes.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in columns:
                batch_op.drop_index(batch_op.f(f"ix_{table}_{column}"))
        op.drop_table(table)
    op.drop_table("oauth_client")
