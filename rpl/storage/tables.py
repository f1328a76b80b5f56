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
    # None for a claim issued directly from a roster: no link was ever sent (migration 0018)
    claimant_token_hash: str | None = Field(default=None, unique=True)
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
    claim_id: str = Field(foreign_key="claim.id")  # found through the (claim_id, seq) index
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
    # None for a credential signed through the VC API: no claim stands behind it (0014).
    claim_id: str | None = Field(default=None, foreign_key="claim.id")
    generation: int = 1
    # The credential this one replaced (a re-issue); None for a first issue.
    replaces: str | None = None
    organisation_id: str = Field(foreign_key="organisation.id", index=True)
    cryptosuite: str
    verification_method: str
    document: str = Field(sa_column=Column(Text, nullable=False))
    issued_at: datetime


# --- the holder's passport (migration 0010; repository in rpl/storage/passport.py) ---------------


class HolderPassportRow(SQLModel, table=True):
    __tablename__ = "holder_passport"

    account_id: str = Field(foreign_key="account.id", primary_key=True)
    # The holder's own words for the whole passport: never signed, never part of a credential.
    headline: str = ""
    story: str = Field(default="", sa_column=Column(Text, nullable=False))
    # The public profile at /people/<handle>: shown only while `published`.
    handle: str | None = Field(default=None, unique=True)
    published: bool = False
    show_story: bool = False
    updated_at: datetime


class PassportRecordRow(SQLModel, table=True):
    __tablename__ = "passport_record"

    account_id: str = Field(foreign_key="account.id", primary_key=True)
    claim_id: str = Field(foreign_key="claim.id", primary_key=True)
    headline: str = ""
    notes: str = Field(default="", sa_column=Column(Text, nullable=False))
    on_profile: bool = False
    note_on_profile: bool = False
    updated_at: datetime


class ShareLinkRow(SQLModel, table=True):
    __tablename__ = "share_link"

    id: str = Field(primary_key=True)
    account_id: str = Field(foreign_key="account.id", index=True)
    # Only the hash of the link's secret is kept: a database reader cannot open anyone's link.
    token_hash: str = Field(unique=True)
    label: str = ""
    include_notes: bool = False
    created_at: datetime
    expires_at: datetime | None = None
    revoked_at: datetime | None = None


class ShareLinkItemRow(SQLModel, table=True):
    __tablename__ = "share_link_item"

    link_id: str = Field(foreign_key="share_link.id", primary_key=True)
    claim_id: str = Field(foreign_key="claim.id", primary_key=True)
    position: int = 0


class ShareLinkOpenRow(SQLModel, table=True):
    __tablename__ = "share_link_open"

    # When a link was opened, and nothing about who opened it (no address, no browser).
    id: int | None = Field(default=None, primary_key=True)
    link_id: str = Field(foreign_key="share_link.id", index=True)
    opened_at: datetime


# --- the Open Badges 3.0 API's OAuth 2.0 server (rpl/storage/oauth.py, migration 0013) ----------


class OAuthClientRow(SQLModel, table=True):
    __tablename__ = "oauth_client"

    id: str = Field(primary_key=True)  # the client_id
    # Only the SHA-256 of the client secret: a database reader cannot act as the client.
    secret_hash: str
    # The registered metadata (RFC 7591), as the registration response repeated it.
    client_metadata: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime


class OAuthGrantRow(SQLModel, table=True):
    __tablename__ = "oauth_grant"

    # One holder's consent to one client, from one authorisation; its tokens live and die with it.
    id: str = Field(primary_key=True)
    client_id: str = Field(foreign_key="oauth_client.id", index=True)
    account_id: str = Field(foreign_key="account.id", index=True)
    scope: str
    created_at: datetime
    revoked_at: datetime | None = None
    revoke_reason: str | None = None


class OAuthCodeRow(SQLModel, table=True):
    __tablename__ = "oauth_code"

    code_hash: str = Field(primary_key=True)
    grant_id: str = Field(foreign_key="oauth_grant.id", index=True)
    redirect_uri: str
    code_challenge: str
    expires_at: datetime
    used_at: datetime | None = None


class OAuthTokenRow(SQLModel, table=True):
    __tablename__ = "oauth_token"

    token_hash: str = Field(primary_key=True)
    grant_id: str = Field(foreign_key="oauth_grant.id", index=True)
    kind: str  # "access" or "refresh"
    # What the token allows: its grant's scope, or less when a refresh asked for less.
    scope: str
    created_at: datetime
    expires_at: datetime | None = None
    # A refresh token is spent by rotation; using it again revokes its grant.
    used_at: datetime | None = None
    revoked_at: datetime | None = None


# --- the holder's connections to other OB 3.0 providers (rpl/storage/connections.py, 0016) ------


class ObConnectionRow(SQLModel, table=True):
    __tablename__ = "ob_connection"

    id: str = Field(primary_key=True)
    account_id: str = Field(foreign_key="account.id", index=True)
    provider_name: str
    discovery_url: str
    api_url: str
    authorization_url: str
    token_url: str
    refresh_url: str
    since_supported: bool = False
    client_id: str
    # Secrets we must send back, sealed under the master key (rpl.sealing), never in the clear.
    client_secret: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    access_token: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    access_expires_at: datetime | None = None
    refresh_token: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    created_at: datetime
    connected_at: datetime | None = None  # None while the holder is still at the provider
    # A pull holds this lease (compare-and-set), so two never rotate one refresh token at once.
    pull_started_at: datetime | None = None
    last_pull_at: datetime | None = None
    last_imported: int = 0
    last_present: int = 0
    last_failed: int = 0
    total_imported: int = 0
    last_problem: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class ObConnectionStateRow(SQLModel, table=True):
    __tablename__ = "ob_connection_state"

    # One authorisation request in flight: its `state` (hash only), bound to the browser session
    # that started it and to its connection; single use.
    state_hash: str = Field(primary_key=True)
    connection_id: str = Field(foreign_key="ob_connection.id", index=True)
    session_hash: str
    code_verifier: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    expires_at: datetime
    used_at: datetime | None = None
