"""Use cases of the Open Badges 3.0 API's resources, for the holder an access token speaks for.

`list_credentials` pages the holder's credentials, those issued here and those they imported that
verified (in order of arrival, so one that arrives later always comes after what a client already
read); `get_profile` / `update_profile`
read and change the holder's `Profile`; `upsert_credential` keeps a credential the client sends
as one the holder holds, through the holder-archive import (`rpl.services.archive`), which
verifies it and keeps its exact bytes.

Which scope each needs is the web layer's check (`rpl.web.routes.obapi`), made before any of these
is called; these only ever see the holder's own records.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from rpl.accounts import Account
from rpl.obapi import HolderProfile, PageRequest, profile_update
from rpl.services import archive
from rpl.services.ports import UowFactory


@dataclass(frozen=True)
class CredentialPage:
    total: int
    documents: list[str]  # as stored: JSON text, or a VC-JWT's compact JWS


def list_credentials(uow: UowFactory, account: Account, page: PageRequest) -> CredentialPage:
    with uow() as tx:
        total = tx.held_index.count_held_by(account.id, account.email, page.since)
        held = tx.held_index.held_by(account.id, account.email, page.since, page.limit, page.offset)
    return CredentialPage(total, [h.document for h in held])


def get_profile(uow: UowFactory, account: Account) -> HolderProfile:
    with uow() as tx:
        current = tx.accounts.get(account.id) or account
    return HolderProfile(current.id, current.display_name, current.email)


def update_profile(
    uow: UowFactory, account: Account, body: object, client_id: str, now: datetime
) -> HolderProfile:
    """Change what the holder's Profile may change here (the name); `ObApiError` (400) else."""
    current = get_profile(uow, account)
    name = profile_update(current, body)
    if name != current.name:
        with uow() as tx:
            tx.accounts.rename(account.id, name)
            tx.audit.append(
                "ProfileUpdated",
                f"client:{client_id}",
                f"account:{account.id}",
                {"name": name},
                now,
            )
            tx.commit()
    return HolderProfile(current.account_id, name, current.email)


def upsert_credential(
    uow: UowFactory,
    verifier: archive.Verifier,
    account: Account,
    data: bytes,
    client_id: str,
    now: datetime,
) -> archive.ImportOutcome:
    """Keep a credential the client sent as one the holder holds (verified, exact bytes).

    Raises `archive.NotACredentialError` for bytes that are not a credential (nothing stored).
    """
    return archive.import_credential(
        uow, verifier, account, data, now, source="api", label=f"from {client_id}"
    )
