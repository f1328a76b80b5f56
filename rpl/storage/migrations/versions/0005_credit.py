"""credit: published crosswalks, credit requests, their events and awards

Revision ID: 0005
Revises: 0001
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0005"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TEXT = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table(
        "credit_crosswalk",
        sa.Column("crosswalk_id", _TEXT(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("organisation_id", _TEXT(), nullable=False),
        sa.Column("digest", _TEXT(), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("published_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["organisation_id"], ["organisation.id"]),
        sa.PrimaryKeyConstraint("crosswalk_id", "version"),
    )
    with op.batch_alter_table("credit_crosswalk", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_credit_crosswalk_organisation_id"), ["organisation_id"], unique=False
        )
    op.create_table(
        "credit_request",
        sa.Column("id", _TEXT(), nullable=False),
        sa.Column("organisation_id", _TEXT(), nullable=False),
        sa.Column("crosswalk_id", _TEXT(), nullable=False),
        sa.Column("crosswalk_version", sa.Integer(), nullable=False),
        sa.Column("crosswalk_digest", _TEXT(), nullable=False),
        sa.Column("state", _TEXT(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("holder_token_hash", _TEXT(), nullable=False),
        sa.Column("learner", sa.JSON(), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("proposal", sa.JSON(), nullable=True),
        sa.Column("adjustments", sa.JSON(), nullable=False),
        sa.Column("transcript_id", _TEXT(), nullable=True),
        sa.Column("transcript", sa.Text(), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["organisation_id"], ["organisation.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("holder_token_hash"),
    )
    with op.batch_alter_table("credit_request", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_credit_request_organisation_id"), ["organisation_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_credit_request_state"), ["state"], unique=False)
    op.create_table(
        "credit_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", _TEXT(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("kind", _TEXT(), nullable=False),
        sa.Column("actor", _TEXT(), nullable=False),
        sa.Column("at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("from_state", _TEXT(), nullable=True),
        sa.Column("to_state", _TEXT(), nullable=False),
        sa.Column("reason", _TEXT(), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["request_id"], ["credit_request.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("request_id", "seq"),
    )
    with op.batch_alter_table("credit_event", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_credit_event_request_id"), ["request_id"], unique=False
        )
    op.create_table(
        "credit_award",
        sa.Column("id", _TEXT(), nullable=False),
        sa.Column("request_id", _TEXT(), nullable=False),
        sa.Column("course", _TEXT(), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("issued_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["request_id"], ["credit_request.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("request_id", "course"),
    )
    with op.batch_alter_table("credit_award", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_credit_award_request_id"), ["request_id"], unique=False
        )


def downgrade() -> None:
    for table in ("credit_award", "credit_event", "credit_request", "credit_crosswalk"):
        op.drop_table(table)
