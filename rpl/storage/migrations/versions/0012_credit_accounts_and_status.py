"""credit: requests owned by an account; status entries for credit awards and transcripts

A credit request submitted while signed in records the account's address (`holder_email`), so the
account finds it at /my/credit. Credentials issued for credit (course credentials, the CLR
transcript) draw status list indexes like claims' credentials do, so `status_allocation` no longer
points only at `credential`: its foreign key goes (the index stays).

Revision ID: 0012
Revises: 0009
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0012"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# SQLite's foreign keys have no name; batch mode names them by this convention to drop one.
_NAMING = {"fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s"}
_SQLITE_FK = "fk_status_allocation_credential_id_credential"


def _credential_fk() -> str | None:
    for fk in sa.inspect(op.get_bind()).get_foreign_keys("status_allocation"):
        if fk["referred_table"] == "credential" and fk["constrained_columns"] == ["credential_id"]:
            return fk.get("name") or _SQLITE_FK
    return None


def upgrade() -> None:
    with op.batch_alter_table("credit_request", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("holder_email", sqlmodel.sql.sqltypes.AutoString(), nullable=True)
        )
        batch_op.create_index(
            batch_op.f("ix_credit_request_holder_email"), ["holder_email"], unique=False
        )
    name = _credential_fk()
    if name is not None:
        with op.batch_alter_table(
            "status_allocation", schema=None, naming_convention=_NAMING
        ) as batch_op:
            batch_op.drop_constraint(name, type_="foreignkey")


def downgrade() -> None:
    # Indexes held by credit credentials cannot point at `credential`: they go with the key back.
    op.execute(
        "DELETE FROM status_allocation WHERE credential_id NOT IN (SELECT id FROM credential)"
    )
    with op.batch_alter_table(
        "status_allocation", schema=None, naming_convention=_NAMING
    ) as batch_op:
        batch_op.create_foreign_key(
            _SQLITE_FK
            if op.get_bind().dialect.name == "sqlite"
            else "status_allocation_credential_id_fkey",
            "credential",
            ["credential_id"],
            ["id"],
        )
    with op.batch_alter_table("credit_request", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_credit_request_holder_email"))
        batch_op.drop_column("holder_email")
