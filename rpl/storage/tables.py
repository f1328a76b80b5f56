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
    # Set once the organisation proved its domain; until then it cannot issue.
    domain_verified_at: datetime | None = None
    # How its credentials are secured: a Data Integrity cryptosuite or "vc-jwt" (VC-JOSE);
    # None follows the instance's RPL_CRYPTOSUITE (migration 0007).
    securing: str | None = None


# Attesters are memberships with role "attester" (rpl/storage/accounts.py, migration 0002).


class SigningKeyRow(SQLModel, table=True):
    __tablename__ = "signing_key"
    __table_args__ = (UniqueConstraint("organisation_id", "key_id"),)

    id: int | None = Field(default=None, primary_key=True)
    organisation_id: str = Field(foreign_key="organisation.id", index=True)
    key_id: str
    public_key: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    ciphertext: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    # Who holds the private part: "local" (`ciphertext` is the seed sealed under the master key)
    # or an external signer such as "pkcs11" (`ciphertext` is then the key's label on the token).
    store: str = "local"
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
    # The database's half of exactly-once issuance: one credential per claim and generation,
    # whatever retries. Generation 1 is the first issue; a re-issue (after a key compromise)
    # adds generation n+1, so two re-issues racing cannot both add a replacement either.
    __table_args__ = (UniqueConstraint("claim_id", "generation"),)

    id: str = Field(primary_key=True)
    claim_id: str = Field(foreign_key="claim.id")
    generation: int = 1
    # The credential this one replaced (a re-issue); None for a first issue.
    replaces: str | None = None
    organisation_id: str = Field(foreign_key="organisation.id", index=True)
    cryptosuite: str
    verification_method: str
    document: str = Field(sa_column=Column(Text, nullable=False))
    issued_at: datetime
