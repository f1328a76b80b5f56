"""a status list keeps the count of its allocated indexes

The length of an organisation's status list follows from how many of its indexes were handed
out. That was a COUNT over `status_allocation` on every lookup of the list (each verification
of one of its credentials, each `GET /orgs/<slug>/status/<purpose>`, each issuance's draw):
110-140 ms once an organisation had issued a million credentials. The count is now kept on the
list's row, by the transaction that allocates; lists no publisher created yet get their row.

Revision ID: 0020
Revises: 0019
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# An empty list of the minimum length (131,072 bits), as `rpl.status.new_bitstring()` makes it.
_EMPTY_BITS = bytes(131_072 // 8)


def upgrade() -> None:
    with op.batch_alter_table("status_list", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("allocated", sa.Integer(), nullable=False, server_default="0")
        )
    bind = op.get_bind()
    missing = bind.execute(
        sa.text(
            "SELECT DISTINCT a.organisation_id, a.purpose FROM status_allocation a"
            " WHERE NOT EXISTS (SELECT 1 FROM status_list l"
            " WHERE l.organisation_id = a.organisation_id AND l.purpose = a.purpose)"
        )
    ).all()
    lists = sa.table(
        "status_list",
        *(sa.column(name) for name in ("organisation_id", "purpose", "version")),
        *(sa.column(name) for name in ("document_version", "document_length")),
        sa.column("bits", sa.LargeBinary()),
        sa.column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime()),
    )
    now = datetime.now(UTC)
    for org_id, purpose in missing:
        bind.execute(
            sa.insert(lists).values(
                organisation_id=org_id,
                purpose=purpose,
                bits=_EMPTY_BITS,
                version=1,
                document_version=0,
                document_length=0,
                updated_at=now,
            )
        )
    op.execute(
        "UPDATE status_list SET allocated = (SELECT COUNT(*) FROM status_allocation a"
        " WHERE a.organisation_id = status_list.organisation_id"
        " AND a.purpose = status_list.purpose)"
    )


def downgrade() -> None:
    with op.batch_alter_table("status_list", schema=None) as batch_op:
        batch_op.drop_column("allocated")
