"""The OAuth 2.0 server's records: registered clients, holders' grants, codes and tokens.

Secrets are kept as their SHA-256 only (client secrets, codes, access and refresh tokens), so a
database reader can neither act as a client nor read anyone's credentials. Single use is a
compare-and-set update (`… WHERE used_at IS NULL`): of two requests racing with one code or one
refresh token, one wins. A grant is one holder's consent to one client; revoking it ends every
token it gave at once, because every token check reads its grant.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from rpl.storage.tables import OAuthClientRow, OAuthCodeRow, OAuthGrantRow, OAuthTokenRow

ACCESS = "access"
REFRESH = "refresh"


@dataclass(frozen=True)
class OAuthClient:
    id: str
    secret_hash: str
    metadata: dict[str, Any]
    created_at: datetime


@dataclass(frozen=True)
class Grant:
    id: str
    client_id: str
    account_id: str
    scope: tuple[str, ...]
    created_at: datetime
    revoked_at: datetime | None = None


@dataclass(frozen=True)
class AuthorizationCode:
    code_hash: str
    grant_id: str
    redirect_uri: str
    code_challenge: str
    expires_at: datetime
    used_at: datetime | None


@dataclass(frozen=True)
class Token:
    token_hash: str
    grant_id: str
    kind: str
    scope: tuple[str, ...]
    expires_at: datetime | None
    used_at: datetime | None
    revoked_at: datetime | None


def _utc(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def _grant(row: OAuthGrantRow) -> Grant:
    return Grant(
        id=row.id,
        client_id=row.client_id,
        account_id=row.account_id,
        scope=tuple(row.scope.split()),
        created_at=_utc(row.created_at) or row.created_at,
        revoked_at=_utc(row.revoked_at),
    )


class OAuthRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    # --- clients ------------------------------------------------------------------------------

    def add_client(
        self, client_id: str, secret_hash: str, metadata: dict[str, Any], now: datetime
    ) -> None:
        self.session.add(
            OAuthClientRow(
                id=client_id, secret_hash=secret_hash, client_metadata=metadata, created_at=now
            )
        )

    def client(self, client_id: str) -> OAuthClient | None:
        row = self.session.get(OAuthClientRow, client_id)
        if row is None:
            return None
        created = _utc(row.created_at) or row.created_at
        return OAuthClient(row.id, row.secret_hash, dict(row.client_metadata), created)

    # --- grants -------------------------------------------------------------------------------

    def add_grant(self, grant: Grant) -> None:
        self.session.add(
            OAuthGrantRow(
                id=grant.id,
                client_id=grant.client_id,
                account_id=grant.account_id,
                scope=" ".join(grant.scope),
                created_at=grant.created_at,
            )
        )

    def grant(self, grant_id: str) -> Grant | None:
        row = self.session.get(OAuthGrantRow, grant_id, populate_existing=True)
        return _grant(row) if row else None

    def live_grants(self, account_id: str) -> list[Grant]:
        """The account's grants that still stand, oldest first."""
        rows = self.session.exec(
            select(OAuthGrantRow)
            .where(OAuthGrantRow.account_id == account_id, col(OAuthGrantRow.revoked_at).is_(None))
            .order_by(col(OAuthGrantRow.created_at), col(OAuthGrantRow.id))
        )
        return [_grant(r) for r in rows]

    def revoke_grant(self, grant_id: str, reason: str, now: datetime) -> bool:
        """End a grant and every token it gave; False if it had already ended."""
        result = self.session.execute(
            update(OAuthGrantRow)
            .where(col(OAuthGrantRow.id) == grant_id, col(OAuthGrantRow.revoked_at).is_(None))
            .values(revoked_at=now, revoke_reason=reason)
        )
        self.session.execute(
            update(OAuthTokenRow)
            .where(col(OAuthTokenRow.grant_id) == grant_id, col(OAuthTokenRow.revoked_at).is_(None))
            .values(revoked_at=now)
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]

    # --- authorisation codes ------------------------------------------------------------------

    def add_code(self, code: AuthorizationCode) -> None:
        self.session.add(
            OAuthCodeRow(
                code_hash=code.code_hash,
                grant_id=code.grant_id,
                redirect_uri=code.redirect_uri,
                code_challenge=code.code_challenge,
                expires_at=code.expires_at,
            )
        )

    def code(self, code_hash: str) -> AuthorizationCode | None:
        row = self.session.get(OAuthCodeRow, code_hash, populate_existing=True)
        if row is None:
            return None
        return AuthorizationCode(
            row.code_hash,
            row.grant_id,
            row.redirect_uri,
            row.code_challenge,
            _utc(row.expires_at) or row.expires_at,
            _utc(row.used_at),
        )

    def use_code(self, code_hash: str, now: datetime) -> bool:
        """Spend a code; False if it was spent already (by this caller or a racing one)."""
        result = self.session.execute(
            update(OAuthCodeRow)
            .where(col(OAuthCodeRow.code_hash) == code_hash, col(OAuthCodeRow.used_at).is_(None))
            .values(used_at=now)
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]

    # --- tokens -------------------------------------------------------------------------------

    def add_token(
        self,
        token_hash: str,
        grant_id: str,
        kind: str,
        scope: tuple[str, ...],
        now: datetime,
        expires_at: datetime | None,
    ) -> None:
        self.session.add(
            OAuthTokenRow(
                token_hash=token_hash,
                grant_id=grant_id,
                kind=kind,
                scope=" ".join(scope),
                created_at=now,
                expires_at=expires_at,
            )
        )

    def token(self, token_hash: str) -> Token | None:
        row = self.session.get(OAuthTokenRow, token_hash, populate_existing=True)
        if row is None:
            return None
        return Token(
            row.token_hash,
            row.grant_id,
            row.kind,
            tuple(row.scope.split()),
            _utc(row.expires_at),
            _utc(row.used_at),
            _utc(row.revoked_at),
        )

    def use_refresh(self, token_hash: str, now: datetime) -> bool:
        """Spend a refresh token by rotation; False if it was spent or revoked meanwhile."""
        result = self.session.execute(
            update(OAuthTokenRow)
            .where(
                col(OAuthTokenRow.token_hash) == token_hash,
                col(OAuthTokenRow.kind) == REFRESH,
                col(OAuthTokenRow.used_at).is_(None),
                col(OAuthTokenRow.revoked_at).is_(None),
            )
            .values(used_at=now)
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]

    def revoke_token(self, token_hash: str, now: datetime) -> None:
        self.session.execute(
            update(OAuthTokenRow)
            .where(
                col(OAuthTokenRow.token_hash) == token_hash, col(OAuthTokenRow.revoked_at).is_(None)
            )
            .values(revoked_at=now)
        )
