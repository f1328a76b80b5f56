"""Bulk issuance of an organisation's roster claims: signed across processes, stored in batches.

The parent reads confirmed, issuable roster claims a page at a time (keyset by claim id), draws
their status-list indexes in bulk, and hands each page to a pool of signer processes; each worker
unseals the organisation's key once, then builds, schema-checks (compiled, `rpl.fast_schema`),
signs, verifies what it signed and serialises every credential of the page. The parent stores
each signed page in ONE transaction (`tx.bulk.store_issued`): claims confirmed → issued by
compare-and-set, credentials, `CredentialIssued` events, status allocations, and ONE audit entry
`CredentialsIssued` with the sha256 of the page's "claim credential document-sha256" lines.

Exactly-once is the database's: if any claim of a page was issued meanwhile or any index was
taken, the page rolls back whole and is handed to `issuance.issue_credentials`, which stores
claim by claim. A process killed at any point leaves pages either stored whole or not at all;
the next run reads the claims still confirmed and issues those. No credential is emailed from
here: an organisation issuing a roster directly tells its people itself.
"""

from __future__ import annotations

import hashlib
import logging
import multiprocessing
import secrets
import uuid
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from rpl import fast_schema
from rpl.claims import Claim, ClaimState, Confirmation
from rpl.credentials import build_achievement_credential
from rpl.errors import RplError
from rpl.keys import SealedKey, open_sealed_key
from rpl.mail import Mailer
from rpl.organisations import Organisation
from rpl.proofs.dataintegrity import (
    ProofOptions,
    instantiate_cryptosuite,
    proof_options_map,
    verify_proof,
)
from rpl.services import issuance
from rpl.services.attestation import Urls
from rpl.services.organisations import issuer_profile, organisation_did
from rpl.services.ports import UowFactory
from rpl.services.status import status_list_url, status_purpose
from rpl.status import allocate_indexes, list_length, status_entry
from rpl.storage.bulk import IssuedItem
from rpl.storage.codec import details_from_json
from rpl.storage.unit_of_work import ConcurrentUpdateError, DuplicateError

log = logging.getLogger("rpl.bulk")
DATA_INTEGRITY_SUITES = ("eddsa-rdfc-2022", "eddsa-jcs-2022")


@dataclass
class BulkReport:
    issued: int = 0
    fallback: int = 0  # pages stored claim by claim after a collision
    failed: dict[str, str] = field(default_factory=dict)
    pages: int = 0
    seconds_signing: float = 0.0


# --- the signer: one per process ------------------------------------------------------------


@dataclass
class _SignerState:
    org: Organisation
    public_url: str
    cryptosuite: str
    verification_method: str
    key: Any
    public_key: bytes


_state: _SignerState | None = None


def init_signer(
    master_key: bytes, public_url: str, org: Organisation, sealed: SealedKey, cryptosuite: str
) -> None:
    """Unseal the organisation's key once in this process (a pool's initializer)."""
    global _state
    vm = f"{organisation_did(public_url, org)}#{sealed.key_id}"
    key = open_sealed_key(master_key, org.id, sealed)
    _state = _SignerState(org, public_url, cryptosuite, vm, key, sealed.public_key)


# (claim id, details JSON, confirmed_by JSON, status entries)
Job = tuple[str, dict[str, Any], dict[str, Any], list[dict[str, Any]]]
# (claim id, credential id, document) or (claim id, "", reason) when it could not be signed
Signed = tuple[str, str, str]


def sign_page(jobs: Sequence[Job], now: datetime) -> list[Signed]:
    """Build, check, sign, verify and serialise each job's credential (in a signer process)."""
    if _state is None:
        raise RplError("init_signer was not called in this process")
    out: list[Signed] = []
    for n, (claim_id, details, confirmed_by, entries) in enumerate(jobs):
        try:
            credential_id, document = _sign_one(
                _state, claim_id, details, confirmed_by, entries, now, full_check=n == 0
            )
        except RplError as err:
            out.append((claim_id, "", str(err)))
            continue
        out.append((claim_id, credential_id, document))
    return out


def _sign_one(
    st: _SignerState,
    claim_id: str,
    details: dict[str, Any],
    confirmed_by: dict[str, Any],
    entries: list[dict[str, Any]],
    now: datetime,
    full_check: bool = False,
) -> tuple[str, str]:
    by = Confirmation(
        confirmed_by["attester_email"],
        confirmed_by["attester_role"],
        datetime.fromisoformat(confirmed_by["at"]),
    )
    claim = Claim(claim_id, details_from_json(details), ClaimState.CONFIRMED, (), confirmed_by=by)
    credential_id = str(uuid.uuid4())
    unsigned = build_achievement_credential(
        claim,
        issuer_profile(st.public_url, st.org),
        Urls(st.public_url).credential(credential_id),
        f"urn:uuid:{uuid.uuid4()}",
        secrets.token_hex(16),
        now,
    )
    if entries:
        unsigned["credentialStatus"] = entries[0] if len(entries) == 1 else list(entries)
    fast_schema.ensure_valid_achievement_credential(unsigned)  # a failing one is never signed
    # The suite's own Create/Verify Proof (§3.x.1, §3.x.2), not `add_proof`: that deep-copies a
    # document we built ourselves a moment ago, which cost as much as signing it.
    suite = instantiate_cryptosuite(st.cryptosuite)
    created = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    options = proof_options_map(
        ProofOptions(st.verification_method, created=created), st.cryptosuite
    )
    proof = suite.create_proof(unsigned, options, st.key)
    if not suite.verify_proof(unsigned, proof, st.public_key).verified:
        raise issuance.SignedButInvalidError(f"claim {claim_id!r}: signed credential fails")
    signed = {**unsigned, "proof": proof}
    if full_check:  # the whole Data Integrity check, once a page: structure, purpose, method
        checks = verify_proof(signed, lambda vm: st.public_key)
        if not checks or not all(c.verified for c in checks):
            raise issuance.SignedButInvalidError(f"claim {claim_id!r}: signed credential fails")
    return credential_id, orjson.dumps(signed, option=orjson.OPT_INDENT_2).decode()


# --- status indexes, drawn in bulk ----------------------------------------------------------


@dataclass
class BulkStatusAllocator:
    """Draws each credential's indexes from a set of taken ones read once per run, not one
    query per draw. Another run's draws are not seen: the unique key catches those, and the
    page falls back to one-by-one storing."""

    public_url: str
    org: Organisation
    taken: dict[str, set[int]]
    rng: Any = field(default_factory=lambda: secrets.SystemRandom())

    def draw(self) -> tuple[tuple[tuple[str, int], ...], list[dict[str, Any]]]:
        allocations, entries = [], []
        for purpose, used in self.taken.items():
            length = list_length(len(used) + 1)
            [index] = allocate_indexes(self.rng, length, used, 1)
            used.add(index)
            allocations.append((purpose, index))
            url = status_list_url(self.public_url, self.org, status_purpose(purpose))
            entries.append(status_entry(url, status_purpose(purpose), index))
        return tuple(allocations), entries


# --- the run --------------------------------------------------------------------------------


@dataclass(frozen=True)
class BulkIssue:
    """Everything one run needs; `pool` None signs in this process (tests, small rosters)."""

    uow: UowFactory
    keyring: issuance.Keyring
    mailer: Mailer
    urls: Urls
    policy: issuance.IssuePolicy
    page_size: int = 2000
    pool: Executor | None = None


def signer_pool(
    master_key: bytes,
    public_url: str,
    org: Organisation,
    sealed: SealedKey,
    cryptosuite: str,
    workers: int,
) -> ProcessPoolExecutor:
    """Signer processes for one organisation's key. Spawned, not forked: the parent may be
    running Prefect's threads, which a fork would copy mid-step."""
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=init_signer,
        initargs=(master_key, public_url, org, sealed, cryptosuite),
    )


def issue_roster(
    run: BulkIssue,
    org_id: str,
    now: datetime,
    limit: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> BulkReport:
    """Issue up to `limit` (all if None) of `org_id`'s confirmed, issuable roster claims."""
    report = BulkReport()
    with run.uow() as tx:
        org = tx.orgs.get(org_id)
        sealed = tx.orgs.active_key(org_id)
        taken = {p: tx.bulk.allocated_indexes(org_id, p) for p in run.policy.status_purposes}
    if run.policy.cryptosuite not in DATA_INTEGRITY_SUITES:
        return _one_by_one(run, org_id, now, limit, progress)
    if run.pool is None:  # in this process, with whatever signer the keyring opens (KMS too)
        global _state
        signer = run.keyring.signer(run.urls.public_url, org, sealed)
        _state = _SignerState(
            org,
            run.urls.public_url,
            run.policy.cryptosuite,
            signer.verification_method,
            signer,
            sealed.public_key,
        )
    allocator = BulkStatusAllocator(run.urls.public_url, org, taken)
    vm = f"{organisation_did(run.urls.public_url, org)}#{sealed.key_id}"
    in_flight: deque[
        tuple[list[Job], list[tuple[tuple[str, int], ...]], Future[list[Signed]] | list[Signed]]
    ] = deque()
    depth = 2 * max(1, getattr(run.pool, "_max_workers", 1))
    after, left = "", limit
    while True:
        page_size = run.page_size if left is None else min(run.page_size, left)
        page = [] if page_size <= 0 else _page(run, org_id, after, page_size)
        if page:
            after = page[-1].id
            left = None if left is None else left - len(page)
            jobs, status = [], []
            for c in page:
                allocations, entries = allocator.draw()
                jobs.append((c.id, c.details, c.confirmed_by, entries))
                status.append(allocations)
            done = run.pool.submit(sign_page, jobs, now) if run.pool else sign_page(jobs, now)
            in_flight.append((jobs, status, done))
        while in_flight and (len(in_flight) >= depth or not page):
            jobs, status, done = in_flight.popleft()
            signed = done.result() if isinstance(done, Future) else done
            _store_page(run, org, vm, jobs, status, signed, now, report)
            if progress:
                progress(report.issued)
        if not page and not in_flight:
            return report


def _one_by_one(
    run: BulkIssue, org_id: str, now: datetime, limit: int | None, progress: Any
) -> BulkReport:
    """Suites the bulk signer does not make (VC-JWT) go through the one-by-one service."""
    report = BulkReport()
    after, left = "", limit
    while page := _page(
        run, org_id, after, run.page_size if left is None else min(run.page_size, left)
    ):
        after = page[-1].id
        left = None if left is None else left - len(page)
        one = issuance.issue_credentials(
            run.uow, run.keyring, run.mailer, run.urls, run.policy, [c.id for c in page], now
        )
        report.issued += len(one.issued)
        report.failed.update(one.failed)
        report.pages += 1
        if progress:
            progress(report.issued)
        if left is not None and left <= 0:
            break
    return report


def _page(run: BulkIssue, org_id: str, after: str, size: int) -> list[Any]:
    with run.uow() as tx:
        return tx.rosters.claims_to_issue(org_id, after, size)


def _store_page(
    run: BulkIssue,
    org: Organisation,
    vm: str,
    jobs: list[Job],
    status: list[tuple[tuple[str, int], ...]],
    signed: list[Signed],
    now: datetime,
    report: BulkReport,
) -> None:
    report.pages += 1
    items: list[IssuedItem] = []
    for (claim_id, credential_id, document), allocations in zip(signed, status, strict=True):
        if not credential_id:
            report.failed[claim_id] = document
            continue
        items.append(
            IssuedItem(
                claim_id, credential_id, org.id, run.policy.cryptosuite, vm, document, allocations
            )
        )
    if not items:
        return
    try:
        with run.uow() as tx:
            tx.bulk.store_issued(items, now)
            tx.audit.append(*_page_audit(org, items), now)
            tx.commit()
        report.issued += len(items)
    except (ConcurrentUpdateError, DuplicateError) as err:
        log.info("a page of %d collided (%s); storing it claim by claim", len(items), err)
        report.fallback += 1
        one_by_one = issuance.issue_credentials(
            run.uow, run.keyring, run.mailer, run.urls, run.policy, [i.claim_id for i in items], now
        )
        report.issued += len(one_by_one.issued)
        report.failed.update(one_by_one.failed)


def _page_audit(
    org: Organisation, items: Sequence[IssuedItem]
) -> tuple[str, str, str, dict[str, Any]]:
    lines = "".join(
        f"{i.claim_id} {i.credential_id} {hashlib.sha256(i.document.encode()).hexdigest()}\n"
        for i in items
    )
    data = {
        "credentials": len(items),
        "first": items[0].credential_id if items else None,
        "credentials_sha256": hashlib.sha256(lines.encode()).hexdigest(),
    }
    return "CredentialsIssued", "system", f"organisation:{org.id}", data
