"""Unit of work and repositories: the services' only door to the database.

Repositories speak domain objects. Claims are written with compare-and-set: `claims.save` updates a row
only if it still has the version that `claims.get` read, so two deciders racing on one claim cannot
both win — the loser gets `ConcurrentUpdateError` and its whole transaction is rolled back.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from rpl.claims import Claim, ClaimState
from rpl.errors import RplError
from rpl.keys import SealedKey
from rpl.organisations import Attester, Organisation, UnknownOrganisationError
from rpl.storage import codec
from rpl.storage.accounts import AccountRepository, MembershipRepository, MembershipRow
from rpl.storage.audit import AuditRepository
from rpl.storage.bulk import BulkRepository
from rpl.storage.claim_index import ClaimIndex
from rpl.storage.connections import ConnectionRepository
from rpl.storage.credit import CreditRepository
from rpl.storage.domain_proof import DomainRepository
from rpl.storage.held_index import HoldingIndex
from rpl.storage.holdings import HoldingRepository
from rpl.storage.intents import IntentRepository
from rpl.storage.oauth import OAuthRepository
from rpl.storage.oid4vci import WalletGrantRepository
from rpl.storage.passport import PassportRepository
from rpl.storage.roster import RosterRepository
from rpl.storage.securing import SecuringRepository
from rpl.storage.status import StatusRepository
from rpl.storage.sweep import SweepRepository
from rpl.storage.tables import (
    AttestationLinkRow,
    ClaimEventRow,
    ClaimRow,
    CredentialRow,
    OrganisationRow,
    SigningKeyRow,
)


class ConcurrentUpdateError(RplError):
    """Someone else changed this row between our read and our write."""


class UnknownClaimError(RplError):
    """No claim has this id or token."""


class DuplicateError(RplError):
    """A row with this unique key already exists."""


def utc(value: datetime) -> datetime:
    """SQLite hands datetimes back naive; everything we store is UTC."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@dataclass(frozen=True)
class AttestationLink:
    token_hash: str
    claim_id: str
    attester_email: str
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None
    sent_at: datetime | None = None


@dataclass(frozen=True)
class KeyRecord:
    """A signing key as the registry keeps it: its public part, when it was made, and its state."""

    key_id: str
    public_key: bytes
    created_at: datetime
    active: bool
    retired_at: datetime | None = None
    compromised_at: datetime | None = None

    @property
    def state(self) -> str:
        if self.compromised_at is not None:
            return "compromised"
        return "active" if self.active else "retired"


@dataclass(frozen=True)
class StoredCredential:
    id: str
    claim_id: str | None  # None: signed through the VC API, no claim behind it
    organisation_id: str
    cryptosuite: str
    verification_method: str
    document: str
    issued_at: datetime
    # 1 for a first issue; n+1 for the replacement of generation n (see `CredentialRow`).
    generation: int = 1
    replaces: str | None = None


class UnitOfWork:
    """One transaction. Use as a context manager; nothing is written unless `commit()` is called."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def __enter__(self) -> UnitOfWork:
        self.session = Session(self._engine, expire_on_commit=False)
        self.orgs = OrganisationRepository(self.session)
        self.claims = ClaimRepository(self.session)
        self.links = LinkRepository(self.session)
        self.credentials = CredentialRepository(self.session)
        self.audit = AuditRepository(self.session)
        self.status = StatusRepository(self.session)
        self.credit = CreditRepository(self.session)
        self.rosters = RosterRepository(self.session)
        self.bulk = BulkRepository(self.session)
        self.accounts = AccountRepository(self.session)
        self.members = MembershipRepository(self.session)
        self.claim_index = ClaimIndex(self.session)
        self.domains = DomainRepository(self.session)
        self.intents = IntentRepository(self.session)
        self.holdings = HoldingRepository(self.session)
        self.wallet_grants = WalletGrantRepository(self.session)
        self.oauth = OAuthRepository(self.session)
        self.connections = ConnectionRepository(self.session)
        self.held_index = HoldingIndex(self.session)
        self.passport = PassportRepository(self.session)
        self.sweep = SweepRepository(self.session)
        self.securing = SecuringRepository(self.session)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.session.rollback()
        self.session.close()

    def commit(self) -> None:
        try:
            self.session.commit()
        except IntegrityError as err:
            self.session.rollback()
            raise DuplicateError(f"a unique key was already taken: {err.orig}") from err
        self.claims.forget()


class OrganisationRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(
        self, org: Organisation, attesters: list[Attester], key: SealedKey, now: datetime
    ) -> None:
        self.session.add(OrganisationRow(**codec.organisation_to_row(org), created_at=now))
        self.session.flush()  # no ORM relationships: the parent row must exist before children
        for attester in attesters:
            self.add_attester(org.id, attester, now)
        self.add_key(org.id, key, now)

    def add_attester(
        self, org_id: str, attester: Attester, now: datetime, added_by: str = "system"
    ) -> None:
        """An attester membership (attesters are memberships with role "attester")."""
        self.session.add(
            MembershipRow(
                organisation_id=org_id,
                email=attester.email.strip().lower(),
                role="attester",
                title=attester.title,
                added_by=added_by,
                added_at=now,
            )
        )

    def add_key(self, org_id: str, key: SealedKey, now: datetime) -> None:
        self.session.add(
            SigningKeyRow(
                organisation_id=org_id,
                key_id=key.key_id,
                public_key=key.public_key,
                ciphertext=key.ciphertext,
                store=key.store,
                created_at=now,
            )
        )

    def get(self, org_id: str) -> Organisation:
        row = self.session.get(OrganisationRow, org_id)
        if row is None:
            raise UnknownOrganisationError(f"no organisation with id {org_id!r}")
        return codec.organisation_from_row(row)

    def by_slug(self, slug: str) -> Organisation:
        row = self.session.exec(select(OrganisationRow).where(OrganisationRow.slug == slug)).first()
        if row is None:
            raise UnknownOrganisationError(f"no organisation with slug {slug!r}")
        return codec.organisation_from_row(row)

    def list(self) -> list[Organisation]:
        rows = self.session.exec(select(OrganisationRow).order_by(OrganisationRow.name)).all()
        return [codec.organisation_from_row(r) for r in rows]

    def attesters(self, org_id: str) -> list[Attester]:
        """The organisation's active attester memberships (removed ones no longer count)."""
        rows = self.session.exec(
            select(MembershipRow).where(
                MembershipRow.organisation_id == org_id,
                MembershipRow.role == "attester",
                col(MembershipRow.removed_at).is_(None),
            )
        )
        return [Attester(email=r.email, title=r.title) for r in rows]

    def keys(self, org_id: str) -> list[SealedKey]:
        rows = self.session.exec(
            select(SigningKeyRow)
            .where(SigningKeyRow.organisation_id == org_id)
            .order_by(col(SigningKeyRow.id))
        )
        return [SealedKey(r.key_id, r.public_key, r.ciphertext, r.store) for r in rows]

    def active_key(self, org_id: str) -> SealedKey:
        row = self.session.exec(
            select(SigningKeyRow)
            .where(SigningKeyRow.organisation_id == org_id, col(SigningKeyRow.active))
            .order_by(col(SigningKeyRow.id).desc())
        ).first()
        if row is None:
            raise UnknownOrganisationError(f"organisation {org_id!r} has no active signing key")
        return SealedKey(row.key_id, row.public_key, row.ciphertext, row.store)

    def keys_with_state(self, org_id: str) -> list[KeyRecord]:
        """Every key the organisation ever had, oldest first, with its state; no private parts."""
        rows = self.session.exec(
            select(SigningKeyRow)
            .where(SigningKeyRow.organisation_id == org_id)
            .order_by(col(SigningKeyRow.id))
        )
        return [
            KeyRecord(
                key_id=r.key_id,
                public_key=r.public_key,
                created_at=utc(r.created_at),
                active=r.active,
                retired_at=utc(r.retired_at) if r.retired_at else None,
                compromised_at=utc(r.compromised_at) if r.compromised_at else None,
            )
            for r in rows
        ]

    def rotate(self, org_id: str, new_key: SealedKey, now: datetime) -> list[str]:
        """Make `new_key` the one that signs; the keys active until now are retired, not removed.

        Returns the key ids retired.
        """
        retired = list(
            self.session.exec(
                select(SigningKeyRow.key_id).where(
                    SigningKeyRow.organisation_id == org_id, col(SigningKeyRow.active)
                )
            )
        )
        self.session.execute(
            update(SigningKeyRow)
            .where(col(SigningKeyRow.organisation_id) == org_id, col(SigningKeyRow.active))
            .values(active=False, retired_at=now)
        )
        self.add_key(org_id, new_key, now)
        self.session.flush()
        return retired

    def mark_compromised(self, org_id: str, key_id: str, now: datetime) -> bool:
        """Mark a key compromised (it stops signing too); False if it already was."""
        result = self.session.execute(
            update(SigningKeyRow)
            .where(
                col(SigningKeyRow.organisation_id) == org_id,
                col(SigningKeyRow.key_id) == key_id,
                col(SigningKeyRow.compromised_at).is_(None),
            )
            .values(active=False, compromised_at=now)
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]


class ClaimRepository:
    def __init__(self, session: Session) -> None:
        self.session = session
        self._versions: dict[str, tuple[int, int]] = {}

    def forget(self) -> None:
        self._versions.clear()

    def add(self, claim: Claim, claimant_token_hash: str, now: datetime) -> None:
        self.session.add(
            ClaimRow(
                **codec.claim_to_row(claim),
                version=1,
                claimant_token_hash=claimant_token_hash,
                created_at=now,
                updated_at=now,
            )
        )
        self.session.flush()
        self._add_events(claim, start=0)
        self._versions[claim.id] = (1, len(claim.events))

    def get(self, claim_id: str) -> Claim:
        row = self.session.get(ClaimRow, claim_id, populate_existing=True)
        if row is None:
            raise UnknownClaimError(f"no claim with id {claim_id!r}")
        return self._load(row)

    def by_token(self, token_hash: str) -> Claim:
        row = self.session.exec(
            select(ClaimRow).where(ClaimRow.claimant_token_hash == token_hash)
        ).first()
        if row is None:
            raise UnknownClaimError("no claim has this link")
        return self._load(row)

    def _load(self, row: ClaimRow) -> Claim:
        events = self.session.exec(
            select(ClaimEventRow)
            .where(ClaimEventRow.claim_id == row.id)
            .order_by(col(ClaimEventRow.seq))
        ).all()
        claim = codec.claim_from_row(row, events)
        self._versions[row.id] = (row.version, len(events))
        return claim

    def save(self, claim: Claim, now: datetime) -> None:
        """Write `claim` back if nobody changed it since we read it; append its new events."""
        version, stored_events = self._versions[claim.id]
        values = codec.claim_to_row(claim)
        values.pop("id")
        result = self.session.execute(
            update(ClaimRow)
            .where(col(ClaimRow.id) == claim.id, col(ClaimRow.version) == version)
            .values(**values, version=version + 1, updated_at=now)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise ConcurrentUpdateError(f"claim {claim.id!r} was changed by someone else")
        self._add_events(claim, start=stored_events)
        self._versions[claim.id] = (version + 1, len(claim.events))

    def _add_events(self, claim: Claim, start: int) -> None:
        for seq, event in enumerate(claim.events[start:], start=start):
            self.session.add(ClaimEventRow(claim_id=claim.id, seq=seq, **codec.event_to_row(event)))

    def ids_in_state(self, state: ClaimState, limit: int = 10_000) -> list[str]:
        rows = self.session.exec(
            select(ClaimRow.id)
            .where(ClaimRow.state == state.value)
            .order_by(col(ClaimRow.created_at))
            .limit(limit)
        )
        return list(rows)

    def count_by_state(self) -> dict[str, int]:
        rows = self.session.exec(select(ClaimRow.state, func.count()).group_by(ClaimRow.state))
        return {state: count for state, count in rows}


class LinkRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, link: AttestationLink) -> None:
        self.session.add(AttestationLinkRow(**link.__dict__))

    def get(self, token_hash: str) -> AttestationLink | None:
        row = self.session.get(AttestationLinkRow, token_hash, populate_existing=True)
        if row is None:
            return None
        return AttestationLink(
            token_hash=row.token_hash,
            claim_id=row.claim_id,
            attester_email=row.attester_email,
            created_at=utc(row.created_at),
            expires_at=utc(row.expires_at),
            used_at=utc(row.used_at) if row.used_at else None,
            sent_at=utc(row.sent_at) if row.sent_at else None,
        )

    def for_claim(self, claim_id: str) -> Iterator[AttestationLink]:
        rows = self.session.exec(
            select(AttestationLinkRow.token_hash).where(AttestationLinkRow.claim_id == claim_id)
        )
        for token_hash in rows:
            link = self.get(token_hash)
            if link:
                yield link

    def mark_sent(self, token_hash: str, now: datetime) -> None:
        self.session.execute(
            update(AttestationLinkRow)
            .where(col(AttestationLinkRow.token_hash) == token_hash)
            .values(sent_at=now)
        )

    def retire(self, token_hash: str, now: datetime) -> None:
        """End an unused link now (its token was never delivered, so nobody can hold it)."""
        self.session.execute(
            update(AttestationLinkRow)
            .where(
                col(AttestationLinkRow.token_hash) == token_hash,
                col(AttestationLinkRow.used_at).is_(None),
            )
            .values(expires_at=now)
        )

    def use(self, token_hash: str, now: datetime) -> None:
        """Spend a single-use link; a second spender (even a concurrent one) is refused."""
        result = self.session.execute(
            update(AttestationLinkRow)
            .where(
                col(AttestationLinkRow.token_hash) == token_hash,
                col(AttestationLinkRow.used_at).is_(None),
            )
            .values(used_at=now)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise ConcurrentUpdateError("this link has already been used")


class CredentialRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, credential: StoredCredential) -> None:
        self.session.add(CredentialRow(**credential.__dict__))
        self.session.flush()

    def get(self, credential_id: str) -> StoredCredential | None:
        row = self.session.get(CredentialRow, credential_id)
        return _credential(row) if row else None

    def by_claim(self, claim_id: str) -> StoredCredential | None:
        """The claim's current credential: its latest generation."""
        row = self.session.exec(
            select(CredentialRow)
            .where(CredentialRow.claim_id == claim_id)
            .order_by(col(CredentialRow.generation).desc())
        ).first()
        return _credential(row) if row else None

    def replacement(self, credential: StoredCredential) -> StoredCredential | None:
        """The credential that replaced this one (its claim's next generation), if any."""
        if credential.claim_id is None:  # only claims are re-issued
            return None
        row = self.session.exec(
            select(CredentialRow).where(
                CredentialRow.claim_id == credential.claim_id,
                CredentialRow.generation == credential.generation + 1,
            )
        ).first()
        return _credential(row) if row else None

    def count(self) -> int:
        return int(self.session.exec(select(func.count()).select_from(CredentialRow)).one())

    def by_verification_method(self, verification_method: str) -> list[str]:
        """Ids of the credentials signed with this key, oldest first."""
        rows = self.session.exec(
            select(CredentialRow.id)
            .where(CredentialRow.verification_method == verification_method)
            .order_by(col(CredentialRow.issued_at), col(CredentialRow.id))
        )
        return list(rows)


def _credential(row: CredentialRow) -> StoredCredential:
    return StoredCredential(
        id=row.id,
        claim_id=row.claim_id,
        organisation_id=row.organisation_id,
        cryptosuite=row.cryptosuite,
        verification_method=row.verification_method,
        document=row.document,
        issued_at=utc(row.issued_at),
        generation=row.generation,
        replaces=row.replaces,
    )
