"""OpenID4VCI grants in the database: one row per credential offer, through its whole life.

Only hashes of the pre-authorised code, the access token and the c_nonce are kept, so a database
reader cannot collect anyone's credential. Each step moves the row forward with a
compare-and-set update (`WHERE <the previous step's field> IS NULL`), which is what makes codes
and tokens single-use even when two wallets race with the same one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import update
from sqlmodel import Field, Session, SQLModel, col, select


class WalletGrantRow(SQLModel, table=True):
    __tablename__ = "wallet_grant"

    id: str = Field(primary_key=True)
    credential_id: str = Field(foreign_key="credential.id", index=True)
    code_hash: str = Field(unique=True)
    code_expires_at: datetime
    # Set when the code was exchanged for a token (or superseded by a newer offer).
    code_used_at: datetime | None = None
    token_hash: str | None = Field(default=None, unique=True)
    token_expires_at: datetime | None = None
    nonce_hash: str | None = None
    nonce_expires_at: datetime | None = None
    # Set when the wallet collected its credential: the token is then spent.
    delivered_at: datetime | None = None
    holder_did: str | None = None
    delivered_id: str | None = None
    created_at: datetime


@dataclass(frozen=True)
class WalletGrant:
    id: str
    credential_id: str
    code_expires_at: datetime
    code_used_at: datetime | None
    token_expires_at: datetime | None
    nonce_hash: str | None
    nonce_expires_at: datetime | None
    delivered_at: datetime | None
    holder_did: str | None
    delivered_id: str | None


def _utc(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def _grant(row: WalletGrantRow) -> WalletGrant:
    return WalletGrant(
        id=row.id,
        credential_id=row.credential_id,
        code_expires_at=_utc(row.code_expires_at) or row.code_expires_at,
        code_used_at=_utc(row.code_used_at),
        token_expires_at=_utc(row.token_expires_at),
        nonce_hash=row.nonce_hash,
        nonce_expires_at=_utc(row.nonce_expires_at),
        delivered_at=_utc(row.delivered_at),
        holder_did=row.holder_did,
        delivered_id=row.delivered_id,
    )


class WalletGrantRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(
        self, grant_id: str, credential_id: str, code_hash: str, expires_at: datetime, now: datetime
    ) -> None:
        """A new offer; older unused offers of the same credential stop working."""
        self.session.execute(
            update(WalletGrantRow)
            .where(
                col(WalletGrantRow.credential_id) == credential_id,
                col(WalletGrantRow.code_used_at).is_(None),
            )
            .values(code_used_at=now)
        )
        self.session.add(
            WalletGrantRow(
                id=grant_id,
                credential_id=credential_id,
                code_hash=code_hash,
                code_expires_at=expires_at,
                created_at=now,
            )
        )

    def by_code(self, code_hash: str) -> WalletGrant | None:
        row = self.session.exec(
            select(WalletGrantRow).where(WalletGrantRow.code_hash == code_hash)
        ).first()
        return _grant(row) if row else None

    def by_token(self, token_hash: str) -> WalletGrant | None:
        row = self.session.exec(
            select(WalletGrantRow).where(WalletGrantRow.token_hash == token_hash)
        ).first()
        return _grant(row) if row else None

    def redeem_code(
        self,
        grant_id: str,
        token_hash: str,
        token_expires_at: datetime,
        nonce_hash: str,
        nonce_expires_at: datetime,
        now: datetime,
    ) -> bool:
        """Spend the code for a token; False if it was spent meanwhile."""
        result = self.session.execute(
            update(WalletGrantRow)
            .where(col(WalletGrantRow.id) == grant_id, col(WalletGrantRow.code_used_at).is_(None))
            .values(
                code_used_at=now,
                token_hash=token_hash,
                token_expires_at=token_expires_at,
                nonce_hash=nonce_hash,
                nonce_expires_at=nonce_expires_at,
            )
        )
        return result.rowcount == 1  # type: ignore[attr-defined,no-any-return]

    def renew_nonce(self, grant_id: str, nonce_hash: str, expires_at: datetime) -> None:
        self.session.execute(
            update(WalletGrantRow)
            .where(col(WalletGrantRow.id) == grant_id)
            .values(nonce_hash=nonce_hash, nonce_expires_at=expires_at)
        )

    def deliver(self, grant_id: str, holder_did: str, delivered_id: str, now: datetime) -> bool:
        """Record the credential handed to the wallet; False if the token was spent meanwhile."""
        result = self.session.execute(
            update(WalletGrantRow)
            .where(col(WalletGrantRow.id) == grant_id, col(WalletGrantRow.delivered_at).is_(None))
            .values(
                delivered_at=now, holder_did=holder_did, delivered_id=delivered_id, nonce_hash=None
            )
        )
        return result.rowcount == 1  # type: ignore[attr-defined,no-any-return]
