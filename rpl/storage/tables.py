"""The application's tables: the system of record. Only `rpl.storage` imports sqlmodel."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, LargeBinary, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


class OrganisationRow(SQLModel, table=True):
    __tablename__ = "organisation"

    id: str = Field(primary_key=True)
    slug: str = Field(unique=True, index=True)
    name: str
    domain: str = Field(index=True)
    url: str
    email: str | None = None
    description: str | None = None
    created_at: datetime


class AttesterRow(SQLModel, table=True):
    __tablename__ = "attester"
    __table_args__ = (UniqueConstraint("organisation_id", "email"),)

    id: int | None = Field(default=None, primary_key=True)
    organisation_id: str = Field(foreign_key="organisation.id", index=True)
    email: str
    title: str
    created_at: datetime


class SigningKeyRow(SQLModel, table=True):
    __tablename__ = "signing_key"
    __table_args__ = (UniqueConstraint("organisation_id", "key_id"),)

    id: int | None = Field(default=None, primary_key=True)
    organisation_id: str = Field(foreign_key="organisation.id", index=True)
    key_id: str
    public_key: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    ciphertext: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    active: bool = True
    created_at: datetime
    # Set when a rotation replaced it: it signs nothing new, its signatures still verify.
    retired_at: datetime | None = None
    # Set when the organisation declared it compromised: its signatures are no longer trusted.
    compromised_at: datetime | None = None


class ClaimRow(SQLModel, table=True):
    __tablename__ = "claim"

    id: str = Field(primary_key=True)
    organisation_id: str = Field(foreign_key="organisation.id", index=True)
    state: str = Field(index=True)
    # Compare-and-set guard: every write says which version it read.
    version: int = 1
    claimant_email: str = Field(index=True)
    claimant_token_hash: str = Field(unique=True)
    details: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    amendment: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    confirmed_by: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    credential_id: str | None = None
    created_at: datetime
    updated_at: datetime


class ClaimEventRow(SQLModel, table=True):
    __tablename__ = "claim_event"
    # One row per position in a claim's history: two writers cannot both append event n.
    __table_args__ = (UniqueConstraint("claim_id", "seq"),)

    id: int | None = Field(default=None, primary_key=True)
    claim_id: str = Field(foreign_key="claim.id", index=True)
    seq: int
    kind: str
    actor: str
    at: datetime
    from_state: str | None = None
    to_state: str
    reason: str | None = None
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class AttestationLinkRow(SQLModel, table=True):
    __tablename__ = "attestation_link"

    # Only the hash of the link's token is kept: a database reader cannot decide claims.
    token_hash: str = Field(primary_key=True)
    claim_id: str = Field(foreign_key="claim.id", index=True)
    attester_email: str
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None = None
    # Set once the message carrying the link was handed to the mailer.
    sent_at: datetime | None = None


class CredentialRow(SQLModel, table=True):
    __tablename__ = "credential"

    id: str = Field(primary_key=True)
    # The database's half of exactly-once issuance: one credential per claim, whatever retries.
    claim_id: str = Field(foreign_key="claim.id", unique=True)
    organisation_id: str = Field(foreign_key="organisation.id", index=True)
    cryptosuite: str
    verification_method: str
    document: str = Field(sa_column=Column(Text, nullable=False))
    issued_at: datetime
