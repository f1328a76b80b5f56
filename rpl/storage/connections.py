"""The holder's connections to other Open Badges 3.0 providers (`ob_connection`), and the
authorisation requests in flight (`ob_connection_state`).

Secrets arrive here already sealed (`rpl.sealing`): the client secret and tokens are bytes this
module never opens. A `state` is kept as its hash and spent with compare-and-set (`… WHERE
used_at IS NULL`), as the OAuth server's codes are; a pull takes a lease the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, or_, update
from sqlmodel import Session, col, select

from rpl.storage.tables import ObConnectionRow, ObConnectionStateRow


@dataclass(frozen=True)
class Connection:
    id: str
    account_id: str
    provider_name: str
    discovery_url: str
    api_url: str
    authorization_url: str
    token_url: str
    refresh_url: str
    since_supported: bool
    client_id: str
    client_secret: bytes  # sealed
    created_at: datetime
    access_token: bytes | None = None  # sealed
    access_expires_at: datetime | None = None
    refresh_token: bytes | None = None  # sealed
    connected_at: datetime | None = None
    last_pull_at: datetime | None = None
    last_imported: int = 0
    last_present: int = 0
    last_failed: int = 0
    total_imported: int = 0
    last_problem: str | None = None


@dataclass(frozen=True)
class PendingState:
    state_hash: str
    connection_id: str
    session_hash: str
    code_verifier: bytes  # sealed
    expires_at: datetime
    used_at: datetime | None


@dataclass(frozen=True)
class PullOutcome:
    pulled_at: datetime
    imported: int
    present: int
    failed: int
    problem: str | None


def _utc(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def _connection(row: ObConnectionRow) -> Connection:
    return Connection(
        id=row.id,
        account_id=row.account_id,
        provider_name=row.provider_name,
        discovery_url=row.discovery_url,
        api_url=row.api_url,
        authorization_url=row.authorization_url,
        token_url=row.token_url,
        refresh_url=row.refresh_url,
        since_supported=row.since_supported,
        client_id=row.client_id,
        client_secret=row.client_secret,
        created_at=_utc(row.created_at) or row.created_at,
        access_token=row.access_token,
        access_expires_at=_utc(row.access_expires_at),
        refresh_token=row.refresh_token,
        connected_at=_utc(row.connected_at),
        last_pull_at=_utc(row.last_pull_at),
        last_imported=row.last_imported,
        last_present=row.last_present,
        last_failed=row.last_failed,
        total_imported=row.total_imported,
        last_problem=row.last_problem,
    )


class ConnectionRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, connection: Connection) -> None:
        c = connection
        self.session.add(
            ObConnectionRow(
                id=c.id,
                account_id=c.account_id,
                provider_name=c.provider_name,
                discovery_url=c.discovery_url,
                api_url=c.api_url,
                authorization_url=c.authorization_url,
                token_url=c.token_url,
                refresh_url=c.refresh_url,
                since_supported=c.since_supported,
                client_id=c.client_id,
                client_secret=c.client_secret,
                created_at=c.created_at,
            )
        )

    def get(self, connection_id: str) -> Connection | None:
        row = self.session.get(ObConnectionRow, connection_id, populate_existing=True)
        return _connection(row) if row else None

    def of_account(self, account_id: str) -> list[Connection]:
        """The account's connections that were completed, oldest first."""
        rows = self.session.exec(
            select(ObConnectionRow)
            .where(
                ObConnectionRow.account_id == account_id,
                col(ObConnectionRow.connected_at).is_not(None),
            )
            .order_by(col(ObConnectionRow.connected_at), col(ObConnectionRow.id))
        )
        return [_connection(r) for r in rows]

    def due_for_pull(self, pulled_before: datetime, limit: int) -> list[Connection]:
        """Completed connections not pulled since `pulled_before` (never pulled first)."""
        rows = self.session.exec(
            select(ObConnectionRow)
            .where(
                col(ObConnectionRow.connected_at).is_not(None),
                or_(
                    col(ObConnectionRow.last_pull_at).is_(None),
                    col(ObConnectionRow.last_pull_at) < pulled_before,
                ),
            )
            .order_by(col(ObConnectionRow.last_pull_at), col(ObConnectionRow.id))
            .limit(limit)
        )
        return [_connection(r) for r in rows]

    def store_tokens(
        self,
        connection_id: str,
        access_token: bytes,
        expires_at: datetime | None,
        refresh_token: bytes | None,
        now: datetime,
    ) -> None:
        """Keep new tokens (a refresh that returned none keeps the refresh token it had)."""
        values: dict[str, object] = {"access_token": access_token, "access_expires_at": expires_at}
        if refresh_token is not None:
            values["refresh_token"] = refresh_token
        row = self.session.get(ObConnectionRow, connection_id)
        if row is not None and row.connected_at is None:
            values["connected_at"] = now
        self.session.execute(
            update(ObConnectionRow).where(col(ObConnectionRow.id) == connection_id).values(**values)
        )

    def take_lease(self, connection_id: str, now: datetime, stale_before: datetime) -> bool:
        """Start a pull; False while another (started after `stale_before`) still runs."""
        result = self.session.execute(
            update(ObConnectionRow)
            .where(
                col(ObConnectionRow.id) == connection_id,
                or_(
                    col(ObConnectionRow.pull_started_at).is_(None),
                    col(ObConnectionRow.pull_started_at) < stale_before,
                ),
            )
            .values(pull_started_at=now)
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]

    def finish_pull(self, connection_id: str, outcome: PullOutcome) -> None:
        row = self.session.get(ObConnectionRow, connection_id)
        if row is None:  # disconnected while pulling: nothing to record on
            return
        self.session.execute(
            update(ObConnectionRow)
            .where(col(ObConnectionRow.id) == connection_id)
            .values(
                pull_started_at=None,
                last_pull_at=outcome.pulled_at,
                last_imported=outcome.imported,
                last_present=outcome.present,
                last_failed=outcome.failed,
                total_imported=ObConnectionRow.total_imported + outcome.imported,
                last_problem=outcome.problem,
            )
        )

    def delete(self, connection_id: str) -> None:
        self.session.execute(
            delete(ObConnectionStateRow).where(
                col(ObConnectionStateRow.connection_id) == connection_id
            )
        )
        self.session.execute(
            delete(ObConnectionRow).where(col(ObConnectionRow.id) == connection_id)
        )

    def abandoned(self, account_id: str, started_before: datetime) -> list[str]:
        """Connections of the account never completed, started before `started_before`."""
        rows = self.session.exec(
            select(ObConnectionRow.id).where(
                ObConnectionRow.account_id == account_id,
                col(ObConnectionRow.connected_at).is_(None),
                col(ObConnectionRow.created_at) < started_before,
            )
        )
        return list(rows)

    # --- authorisations in flight ------------------------------------------------------------

    def add_state(self, state: PendingState) -> None:
        self.session.add(
            ObConnectionStateRow(
                state_hash=state.state_hash,
                connection_id=state.connection_id,
                session_hash=state.session_hash,
                code_verifier=state.code_verifier,
                expires_at=state.expires_at,
            )
        )

    def state(self, state_hash: str) -> PendingState | None:
        row = self.session.get(ObConnectionStateRow, state_hash, populate_existing=True)
        if row is None:
            return None
        return PendingState(
            row.state_hash,
            row.connection_id,
            row.session_hash,
            row.code_verifier,
            _utc(row.expires_at) or row.expires_at,
            _utc(row.used_at),
        )

    def use_state(self, state_hash: str, now: datetime) -> bool:
        """Spend a state; False if it was spent already."""
        result = self.session.execute(
            update(ObConnectionStateRow)
            .where(
                col(ObConnectionStateRow.state_hash) == state_hash,
                col(ObConnectionStateRow.used_at).is_(None),
            )
            .values(used_at=now)
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]
