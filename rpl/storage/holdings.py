"""What a holder keeps here besides the credentials issued here: imported records and their key.

- `held_credential`: a credential the holder imported (from an archive, a file, a paste or
  another platform through the API), its exact bytes and their SHA-256, and the verifier's
  outcome. One row per account and hash: importing the same bytes again finds the row.
- `held_document`: records carried in an archive that are not credentials (the claims and notes
  of the instance that exported it), kept as given so a later export hands them on.
- `holder_key`: the account's custodial `did:key`, its Ed25519 seed sealed under the master key
  exactly as organisations' keys are (`rpl.keys`), made on the first export.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, LargeBinary, Text, UniqueConstraint
from sqlmodel import Field, Session, SQLModel, col, select

from rpl.keys import SealedKey


class HeldCredentialRow(SQLModel, table=True):
    __tablename__ = "held_credential"
    __table_args__ = (UniqueConstraint("account_id", "sha256"),)

    id: str = Field(primary_key=True)
    account_id: str = Field(foreign_key="account.id", index=True)
    sha256: str
    content: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    format: str  # "json" or "jwt"
    source: str  # "archive", "upload", "paste", "api"
    label: str
    credential_id: str | None = None  # the credential's own `id`, when it names one
    issuer: str | None = None
    name: str | None = None
    verified: bool
    reason: str = Field(sa_column=Column(Text, nullable=False))
    checks: list[dict[str, Any]] = Field(sa_column=Column(JSON, nullable=False))
    imported_at: datetime


class HeldDocumentRow(SQLModel, table=True):
    __tablename__ = "held_document"
    __table_args__ = (UniqueConstraint("account_id", "sha256"),)

    id: str = Field(primary_key=True)
    account_id: str = Field(foreign_key="account.id", index=True)
    sha256: str
    name: str  # e.g. "claims.json"
    origin: str  # the exporting instance, as its manifest names it
    content: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    imported_at: datetime


class HolderKeyRow(SQLModel, table=True):
    __tablename__ = "holder_key"

    account_id: str = Field(foreign_key="account.id", primary_key=True)
    key_id: str
    public_key: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    ciphertext: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: datetime


@dataclass(frozen=True)
class HeldCredential:
    id: str
    account_id: str
    sha256: str
    content: bytes
    format: str
    source: str
    label: str
    credential_id: str | None
    issuer: str | None
    name: str | None
    verified: bool
    reason: str
    checks: tuple[dict[str, Any], ...]
    imported_at: datetime


@dataclass(frozen=True)
class HeldDocument:
    id: str
    account_id: str
    sha256: str
    name: str
    origin: str
    content: bytes
    imported_at: datetime


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _held(row: HeldCredentialRow) -> HeldCredential:
    return HeldCredential(
        id=row.id,
        account_id=row.account_id,
        sha256=row.sha256,
        content=bytes(row.content),
        format=row.format,
        source=row.source,
        label=row.label,
        credential_id=row.credential_id,
        issuer=row.issuer,
        name=row.name,
        verified=row.verified,
        reason=row.reason,
        checks=tuple(row.checks or ()),
        imported_at=_utc(row.imported_at),
    )


def _document(row: HeldDocumentRow) -> HeldDocument:
    return HeldDocument(
        id=row.id,
        account_id=row.account_id,
        sha256=row.sha256,
        name=row.name,
        origin=row.origin,
        content=bytes(row.content),
        imported_at=_utc(row.imported_at),
    )


class HoldingRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    # --- imported credentials -------------------------------------------------------------------

    def add(self, held: HeldCredential) -> None:
        """A new held credential; a second row with the same account and hash fails at commit."""
        values = {**held.__dict__, "checks": list(held.checks)}
        self.session.add(HeldCredentialRow(**values))

    def by_hash(self, account_id: str, sha256: str) -> HeldCredential | None:
        row = self.session.exec(
            select(HeldCredentialRow).where(
                HeldCredentialRow.account_id == account_id, HeldCredentialRow.sha256 == sha256
            )
        ).first()
        return _held(row) if row else None

    def for_account(self, account_id: str) -> list[HeldCredential]:
        """The account's held credentials, oldest import first."""
        rows = self.session.exec(
            select(HeldCredentialRow)
            .where(HeldCredentialRow.account_id == account_id)
            .order_by(col(HeldCredentialRow.imported_at), col(HeldCredentialRow.id))
        )
        return [_held(r) for r in rows]

    # --- carried documents ----------------------------------------------------------------------

    def add_document(self, document: HeldDocument) -> None:
        self.session.add(HeldDocumentRow(**document.__dict__))

    def document_by_hash(self, account_id: str, sha256: str) -> HeldDocument | None:
        row = self.session.exec(
            select(HeldDocumentRow).where(
                HeldDocumentRow.account_id == account_id, HeldDocumentRow.sha256 == sha256
            )
        ).first()
        return _document(row) if row else None

    def documents(self, account_id: str) -> list[HeldDocument]:
        rows = self.session.exec(
            select(HeldDocumentRow)
            .where(HeldDocumentRow.account_id == account_id)
            .order_by(col(HeldDocumentRow.imported_at), col(HeldDocumentRow.id))
        )
        return [_document(r) for r in rows]

    # --- the holder's key -----------------------------------------------------------------------

    def holder_key(self, account_id: str) -> SealedKey | None:
        row = self.session.get(HolderKeyRow, account_id)
        if row is None:
            return None
        return SealedKey(row.key_id, bytes(row.public_key), bytes(row.ciphertext))

    def add_holder_key(self, account_id: str, key: SealedKey, now: datetime) -> None:
        """The account's key; a second one for the same account fails at commit (one key each)."""
        self.session.add(
            HolderKeyRow(
                account_id=account_id,
                key_id=key.key_id,
                public_key=key.public_key,
                ciphertext=key.ciphertext,
                created_at=now,
            )
        )
