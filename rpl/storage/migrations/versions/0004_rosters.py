"""rosters: imports, one entry per imported row (its natural key), rejected rows

Revision ID: 0004
Revises: 0001
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0004"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TEXT = sqlmodel.sql.sqltypes.AutoString
_TIME = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "roster_import",
        sa.Column("id", _TEXT(), nullable=False),
        sa.Column("organisation_id", _TEXT(), nullable=False),
        sa.Column("filename", _TEXT(), nullable=False),
        sa.Column("uploaded_by", _TEXT(), nullable=False),
        sa.Column("attester_email", _TEXT(), nullable=False),
        sa.Column("attester_role", _TEXT(), nullable=False),
        sa.Column("default_kind", _TEXT(), nullable=False),
        sa.Column("direct", sa.Boolean(), nullable=False),
        sa.Column("status", _TEXT(), nullable=False),
        sa.Column("message", _TEXT(), nullable=True),
        sa.Column("bytes_total", sa.Integer(), nullable=False),
        sa.Column("bytes_read", sa.Integer(), nullable=False),
        sa.Column("rows_read", sa.Integer(), nullable=False),
        sa.Column("rows_added", sa.Integer(), nullable=False),
        sa.Column("rows_duplicate", sa.Integer(), nullable=False),
        sa.Column("rows_rejected", sa.Integer(), nullable=False),
        sa.Column("created_at", _TIME(), nullable=False),
        sa.Column("updated_at", _TIME(), nullable=False),
        sa.ForeignKeyConstraint(["organisation_id"], ["organisation.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_roster_import_organisation_id"), "roster_import", ["organisation_id"])
    op.create_table(
        "roster_entry",
        sa.Column("key", _TEXT(), nullable=False),
        sa.Column("organisation_id", _TEXT(), nullable=False),
        sa.Column("import_id", _TEXT(), nullable=False),
        sa.Column("claim_id", _TEXT(), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("direct", sa.Boolean(), nullable=False),
        sa.Column("accepted_at", _TIME(), nullable=True),
        sa.ForeignKeyConstraint(["claim_id"], ["claim.id"]),
        sa.ForeignKeyConstraint(["import_id"], ["roster_import.id"]),
        sa.ForeignKeyConstraint(["organisation_id"], ["organisation.id"]),
        sa.PrimaryKeyConstraint("key"),
        sa.UniqueConstraint("claim_id"),
    )
    op.create_index(op.f("ix_roster_entry_direct"), "roster_entry", ["direct"])
    op.create_index(op.f("ix_roster_entry_import_id"), "roster_entry", ["import_id"])
    op.create_index(op.f("ix_roster_entry_organisation_id"), "roster_entry", ["organisation_id"])
    op.create_table(
        "roster_rejection",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("import_id", _TEXT(), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("cells", sa.JSON(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["import_id"], ["roster_import.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_roster_rejection_import_id"), "roster_rejection", ["import_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_roster_rejection_import_id"), table_name="roster_rejection")
    op.drop_table("roster_rejection")
    op.drop_index(op.f("ix_roster_entry_organisation_id"), table_name="roster_entry")
    op.drop_index(op.f("ix_roster_entry_import_id"), table_name="roster_entry")
    op.drop_index(op.f("ix_roster_entry_direct"), table_name="roster_entry")
    op.drop_table("roster_entry")
    op.drop_index(op.f("ix_roster_import_organisation_id"), table_name="roster_import")
    op.drop_table("roster_import")
