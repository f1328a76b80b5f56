"""Accounts, memberships, sign-in links, sessions and API tokens: tables and repositories.

Secrets are never stored: sign-in links, session ids and API tokens are kept as their SHA-256, so
someone who reads the database can neither sign in nor act as anyone. Single use and revocation are
compare-and-set updates (`… WHERE used_at IS NULL`), so two redeemers of one link cannot both win.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import update
from sqlmodel import Field, Session, SQLModel, col, select

from rpl.accounts import Account, ApiToken, Membership, Role, SignInLink, display_name_for
from rpl.accounts import Session as BrowserSession


class AccountRow(SQLModel, table=True):
    __tablename__ = "account"

    id: str = Field(primary_key=True)
    email: str = Field(unique=True, index=True)
    display_name: str
    created_at: datetime


class MembershipRow(SQLModel, table=True):
    __tablename__ = "membership"

    id: int | None = Field(default=None, primary_key=True)
    organisation_id: str = Field(foreign_key="organisation.id", index=True)
    # By address, not account: an admin can name someone who has never signed in.
    email: str = Field(index=True)
    role: str
    title: str
    added_by: str
    added_at: datetime
    # Removal keeps the row: who could speak for the organisation, and until when, stays on record.
    removed_at: datetime | None = None
    removed_by: str | None = None
    removal_reason: str | None = None


class SignInLinkRow(SQLModel, table=True):
    __tablename__ = "sign_in_link"

    token_hash: str = Field(primary_key=True)
    email: str = Field(index=True)
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None = None


class SessionRow(SQLModel, table=True):
    __tablename__ = "account_session"

    id_hash: str = Field(primary_key=True)
    account_id: str = Field(foreign_key="account.id", index=True)
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None = None
    user_agent: str = ""


class ApiTokenRow(SQLModel, table=True):
    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True)
    account_id: str = Field(foreign_key="account.id", index=True)
    name: str
    token_hash: str = Field(unique=True)
    created_at: datetime
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _account(row: AccountRow) -> Account:
    return Account(row.id, row.email, row.display_name, _utc(row.created_at) or row.created_at)


def _session(row: SessionRow) -> BrowserSession:
    return BrowserSession(
        id_hash=row.id_hash,
        account_id=row.account_id,
        created_at=_utc(row.created_at) or row.created_at,
        expires_at=_utc(row.expires_at) or row.expires_at,
        revoked_at=_utc(row.revoked_at),
        user_agent=row.user_agent,
    )


def _token(row: ApiTokenRow) -> ApiToken:
    assert row.id is not None
    return ApiToken(
        id=row.id,
        account_id=row.account_id,
        name=row.name,
        created_at=_utc(row.created_at) or row.created_at,
        revoked_at=_utc(row.revoked_at),
        last_used_at=_utc(row.last_used_at),
    )


class AccountRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, account_id: str) -> Account | None:
        row = self.session.get(AccountRow, account_id)
        return _account(row) if row else None

    def by_email(self, email: str) -> Account | None:
        row = self.session.exec(select(AccountRow).where(AccountRow.email == email)).first()
        return _account(row) if row else None

    def rename(self, account_id: str, display_name: str) -> None:
        self.session.execute(
            update(AccountRow)
            .where(col(AccountRow.id) == account_id)
            .values(display_name=display_name)
        )

    def add(self, account: Account) -> None:
        self.session.add(AccountRow(**account.__dict__))
        self.session.flush()

    def ensure(self, account_id: str, email: str, now: datetime) -> tuple[Account, bool]:
        """The account for `email`, made with `account_id` if there is none; True if made now."""
        found = self.by_email(email)
        if found:
            return found, False
        account = Account(account_id, email, display_name_for(email), now)
        self.add(account)
        return account, True

    # --- sign-in links --------------------------------------------------------------------------

    def add_link(self, link: SignInLink) -> None:
        self.session.add(SignInLinkRow(**link.__dict__))

    def link(self, token_hash: str) -> SignInLink | None:
        row = self.session.get(SignInLinkRow, token_hash, populate_existing=True)
        if row is None:
            return None
        return SignInLink(
            row.token_hash,
            row.email,
            _utc(row.created_at) or row.created_at,
            _utc(row.expires_at) or row.expires_at,
            _utc(row.used_at),
        )

    def use_link(self, token_hash: str, now: datetime) -> bool:
        """Spend a sign-in link; False if it was already spent (by this caller or a racing one)."""
        result = self.session.execute(
            update(SignInLinkRow)
            .where(
                col(SignInLinkRow.token_hash) == token_hash, col(SignInLinkRow.used_at).is_(None)
            )
            .values(used_at=now)
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]

    # --- sessions -------------------------------------------------------------------------------

    def add_session(self, session: BrowserSession) -> None:
        self.session.add(SessionRow(**session.__dict__))

    def browser_session(self, id_hash: str) -> BrowserSession | None:
        row = self.session.get(SessionRow, id_hash, populate_existing=True)
        return _session(row) if row else None

    def live_sessions(self, account_id: str, now: datetime) -> list[BrowserSession]:
        rows = self.session.exec(
            select(SessionRow)
            .where(
                SessionRow.account_id == account_id,
                col(SessionRow.revoked_at).is_(None),
                col(SessionRow.expires_at) > now,
            )
            .order_by(col(SessionRow.created_at).desc())
        )
        return [_session(r) for r in rows]

    def revoke_session(self, id_hash: str, now: datetime) -> None:
        self.session.execute(
            update(SessionRow)
            .where(col(SessionRow.id_hash) == id_hash, col(SessionRow.revoked_at).is_(None))
            .values(revoked_at=now)
        )

    def revoke_all_sessions(self, account_id: str, now: datetime) -> int:
        result = self.session.execute(
            update(SessionRow)
            .where(col(SessionRow.account_id) == account_id, col(SessionRow.revoked_at).is_(None))
            .values(revoked_at=now)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    # --- API tokens -----------------------------------------------------------------------------

    def add_token(self, account_id: str, name: str, token_hash: str, now: datetime) -> ApiToken:
        row = ApiTokenRow(account_id=account_id, name=name, token_hash=token_hash, created_at=now)
        self.session.add(row)
        self.session.flush()
        return _token(row)

    def token_by_hash(self, token_hash: str) -> ApiToken | None:
        row = self.session.exec(
            select(ApiTokenRow).where(ApiTokenRow.token_hash == token_hash)
        ).first()
        return _token(row) if row else None

    def tokens(self, account_id: str) -> list[ApiToken]:
        rows = self.session.exec(
            select(ApiTokenRow)
            .where(ApiTokenRow.account_id == account_id, col(ApiTokenRow.revoked_at).is_(None))
            .order_by(col(ApiTokenRow.id))
        )
        return [_token(r) for r in rows]

    def revoke_token(self, account_id: str, token_id: int, now: datetime) -> bool:
        result = self.session.execute(
            update(ApiTokenRow)
            .where(
                col(ApiTokenRow.id) == token_id,
                col(ApiTokenRow.account_id) == account_id,
                col(ApiTokenRow.revoked_at).is_(None),
            )
            .values(revoked_at=now)
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]

    def touch_token(self, token_id: int, now: datetime) -> None:
        self.session.execute(
            update(ApiTokenRow).where(col(ApiTokenRow.id) == token_id).values(last_used_at=now)
        )


def _membership(row: MembershipRow) -> Membership:
    return Membership(
        organisation_id=row.organisation_id,
        email=row.email,
        role=Role(row.role),
        title=row.title,
        added_by=row.added_by,
        added_at=_utc(row.added_at) or row.added_at,
        removed_at=_utc(row.removed_at),
        id=row.id,
        removed_by=row.removed_by,
        removal_reason=row.removal_reason,
    )


class MembershipRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, membership: Membership) -> Membership:
        values = {k: v for k, v in membership.__dict__.items() if k != "id"}
        row = MembershipRow(**{**values, "role": membership.role.value})
        self.session.add(row)
        self.session.flush()
        return _membership(row)

    def get(self, membership_id: int) -> Membership | None:
        row = self.session.get(MembershipRow, membership_id, populate_existing=True)
        return _membership(row) if row else None

    def of_organisation(self, org_id: str, include_removed: bool = False) -> list[Membership]:
        query = select(MembershipRow).where(MembershipRow.organisation_id == org_id)
        if not include_removed:
            query = query.where(col(MembershipRow.removed_at).is_(None))
        rows = self.session.exec(query.order_by(col(MembershipRow.id)))
        return [_membership(r) for r in rows]

    def of_email(self, email: str) -> list[Membership]:
        """Active memberships of one address, at every organisation."""
        rows = self.session.exec(
            select(MembershipRow)
            .where(MembershipRow.email == email, col(MembershipRow.removed_at).is_(None))
            .order_by(col(MembershipRow.id))
        )
        return [_membership(r) for r in rows]

    def remove(self, membership_id: int, by: str, reason: str, now: datetime) -> bool:
        """End an active membership; False if it had already ended."""
        result = self.session.execute(
            update(MembershipRow)
            .where(col(MembershipRow.id) == membership_id, col(MembershipRow.removed_at).is_(None))
            .values(removed_at=now, removed_by=by, removal_reason=reason)
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]
