"""the holder's connections to other Open Badges 3.0 providers, and their authorisations in flight

Revision ID: 0016
Revises: 0009
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0016"
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
        "ob_connection",
        sa.Column("id", _TEXT(), nullable=False),
        sa.Column("account_id", _TEXT(), nullable=False),
        sa.Column("provider_name", _TEXT(), nullable=False),
        sa.Column("discovery_url", _TEXT(), nullable=False),
        sa.Column("api_url", _TEXT(), nullable=False),
        sa.Column("authorization_url", _TEXT(), nullable=False),
        sa.Column("token_url", _TEXT(), nullable=False),
        sa.Column("refresh_url", _TEXT(), nullable=False),
        sa.Column("since_supported", sa.Boolean(), nullable=False),
        sa.Column("client_id", _TEXT(), nullable=False),
        sa.Column("client_secret", sa.LargeBinary(), nullable=False),
        sa.Column("access_token", sa.LargeBinary(), nullable=True),
        sa.Column("access_expires_at", _TIME(), nullable=True),
        sa.Column("refresh_token", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", _TIME(), nullable=False),
        sa.Column("connected_at", _TIME(), nullable=True),
        sa.Column("pull_started_at", _TIME(), nullable=True),
        sa.Column("last_pull_at", _TIME(), nullable=True),
        sa.Column("last_imported", sa.Integer(), nullable=False),
        sa.Column("last_present", sa.Integer(), nullable=False),
        sa.Column("last_failed", sa.Integer(), nullable=False),
        sa.Column("total_imported", sa.Integer(), nullable=False),
        sa.Column("last_problem", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    _index("ob_connection", "account_id")
    op.create_table(
        "ob_connection_state",
        sa.Column("state_hash", _TEXT(), nullable=False),
        sa.Column("connection_id", _TEXT(), nullable=False),
        sa.Column("session_hash", _TEXT(), nullable=False),
        sa.Column("code_verifier", sa.LargeBinary(), nullable=False),
        sa.Column("expires_at", _TIME(), nullable=False),
        sa.Column("used_at", _TIME(), nullable=True),
        sa.ForeignKeyConstraint(["connection_id"], ["ob_connection.id"]),
        sa.PrimaryKeyConstraint("state_hash"),
    )
    _index("ob_connection_state", "connection_id")


def downgrade() -> None:
    for table, column in (
        ("ob_connection_state", "connection_id"),
        ("ob_connection", "account_id"),
    ):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(f"ix_{table}_{column}"))
        op.drop_table(table)
