"""domain proof, external signers, issuance intents, re-issue generations

Revision ID: 0003
Revises: 0001
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0003"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# SQLite keeps 0001's unique(claim_id) unnamed: batch mode needs a name to drop it by.
_SQLITE_NAMES = {"uq": "uq_%(table_name)s_%(column_0_name)s"}


def upgrade() -> None:
    with op.batch_alter_table("organisation", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("domain_verified_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )
    # Organisations registered before domain proof existed keep issuing: an operator registered
    # them by hand, which is the out-of-band check `rpl org add --verified-domain` records.
    op.execute("UPDATE organisation SET domain_verified_at = created_at")
    with op.batch_alter_table("signing_key", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "store",
                sqlmodel.sql.sqltypes.AutoString(),
                nullable=False,
                server_default="local",
            )
        )
    _credential_generations()
    op.create_table(
        "domain_challenge",
        sa.Column("organisation_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("token", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["organisation_id"], ["organisation.id"]),
        sa.PrimaryKeyConstraint("organisation_id"),
    )
    op.create_table(
        "issuance_intent",
        sa.Column("credential_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("claim_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("organisation_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("verification_method", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("digest", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("started_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("finished_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("outcome", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.ForeignKeyConstraint(["claim_id"], ["claim.id"]),
        sa.ForeignKeyConstraint(["organisation_id"], ["organisation.id"]),
        sa.PrimaryKeyConstraint("credential_id"),
    )
    with op.batch_alter_table("issuance_intent", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_issuance_intent_claim_id"), ["claim_id"], unique=False)


def _credential_generations() -> None:
    """One credential per claim becomes one per (claim, generation); existing rows are gen 1."""
    sqlite = op.get_bind().dialect.name == "sqlite"
    with op.batch_alter_table(
        "credential", schema=None, naming_convention=_SQLITE_NAMES if sqlite else None
    ) as batch_op:
        batch_op.add_column(
            sa.Column("generation", sa.Integer(), nullable=False, server_default="1")
        )
        batch_op.add_column(
            sa.Column("replaces", sqlmodel.sql.sqltypes.AutoString(), nullable=True)
        )
        batch_op.drop_constraint(
            "uq_credential_claim_id" if sqlite else "credential_claim_id_key", type_="unique"
        )
        batch_op.create_unique_constraint(
            "credential_claim_id_generation_key", ["claim_id", "generation"]
        )


def downgrade() -> None:
    with op.batch_alter_table("issuance_intent", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_issuance_intent_claim_id"))
    op.drop_table("issuance_intent")
    op.drop_table("domain_challenge")
    with op.batch_alter_table("credential", schema=None) as batch_op:
        batch_op.drop_constraint("credential_claim_id_generation_key", type_="unique")
        batch_op.drop_column("replaces")
        batch_op.drop_column("generation")
        batch_op.create_unique_constraint("credential_claim_id_key", ["claim_id"])
    with op.batch_alter_table("signing_key", schema=None) as batch_op:
        batch_op.drop_column("store")
    with op.batch_alter_table("organisation", schema=None) as batch_op:
        batch_op.drop_column("domain_verified_at")
