"""A roster's signing pages done elsewhere: on Dask workers, for the `issue_roster` flow.

`flows.spread.issue_roster_on_dask` has each page signed by a `sign-roster-page` task run on a
worker (`sign_page_for`, which opens the organisation's key there once); reading the claims,
drawing their status indexes and storing each signed page stay in the flow's process
(`issue_roster_through`), so workers never race for an index.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Executor
from datetime import datetime

from rpl.errors import RplError
from rpl.services import bulk_issuance, jobs, roster_jobs
from rpl.services.bulk_issuance import BulkReport


def issue_roster_through(deps: jobs.Deps, org_id: str, pool: Executor) -> BulkReport:
    """Issue `org_id`'s confirmed, issuable roster claims, pages signed by `pool` (e.g. Dask
    workers running `sign_page_for`). Reading, index drawing and storing stay in this process:
    one allocator sees every index drawn, so workers never race for one."""
    return bulk_issuance.issue_roster(roster_jobs.bulk_run(deps, pool), org_id, deps.now())


def sign_page_for(
    deps: jobs.Deps,
    org_id: str,
    key_id: str,
    cryptosuite: str,
    page: Sequence[bulk_issuance.Job],
    now: datetime,
) -> list[bulk_issuance.Signed]:
    """`bulk_issuance.sign_page` in a process of its own container (a Dask worker): the
    organisation's key `key_id` is opened here once, through this process's keyring. A key
    rotated since the run began fails the page (its claims stay confirmed for the next run)."""
    state = bulk_issuance.signer_state()
    if state is None or (state.org.id, state.key_id, state.cryptosuite) != (
        org_id,
        key_id,
        cryptosuite,
    ):
        with deps.uow() as tx:
            org = tx.orgs.get(org_id)
            sealed = tx.orgs.active_key(org_id)
        if sealed.key_id != key_id:
            raise KeyRotatedError(f"organisation {org_id!r} now signs with {sealed.key_id!r}")
        signer = jobs.keyring(deps).signer(deps.settings.public_url, org, sealed)
        bulk_issuance.use_signer(
            bulk_issuance.SignerState(
                org,
                deps.settings.public_url,
                cryptosuite,
                signer.verification_method,
                signer,
                sealed.public_key,
                key_id,
            )
        )
    return bulk_issuance.sign_page(page, now)


class KeyRotatedError(RplError):
    """The organisation's active key changed while its roster was being signed."""


def active_key_id(deps: jobs.Deps, org_id: str) -> str:
    with deps.uow() as tx:
        return tx.orgs.active_key(org_id).key_id


def pages_waiting(deps: jobs.Deps, org_id: str) -> int:
    """How many signing pages `org_id`'s issuable roster claims fill."""
    with deps.uow() as tx:
        waiting = tx.rosters.issuable(org_id)
    return -(-waiting // max(1, deps.settings.issue_batch_size))
