"""Bulk issuance of an organisation's roster claims: signed across processes, stored in batches.

The parent hands confirmed, issuable roster claims to a `PagePipeline` a page at a time (read
keyset by claim id by `issue_roster`), draws their status-list indexes in bulk, and gives each
page to a pool of signer processes. Each signer unseals the organisation's key once, then for
every claim of the page builds the credential, checks it against the compiled OB 3.0 schema
(`rpl.fast_schema`; a failing one is never signed), signs it (`sign_claim`), checks the
signature with the Ed25519 verification equation over the very bytes signed, and serialises
it; the first credential of every page also goes through the whole Data Integrity verifier
from its serialised bytes. A direct import's chunks go through the same pool and checks
(`roster_pipeline`), stored with the claims they make. The parent stores each signed page in
ONE transaction (`tx.bulk.store_issued`): claims confirmed → issued by compare-and-set, credentials,
`CredentialIssued` events, status allocations, and ONE audit entry `CredentialsIssued` with the
sha256 of the page's "claim credential document-sha256" lines.

Exactly-once is the database's: if any claim of a page was issued meanwhile or any index was
taken, the page rolls back whole and is handed to `issuance.issue_credentials`, which stores
claim by claim. A process killed at any point leaves pages either stored whole or not at all;
the next run reads the claims still confirmed and issues those. No credential is emailed from
here: an organisation issuing a roster directly tells its people itself.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import multiprocessing
import os
import secrets
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from nacl.signing import VerifyKey

from rpl import fast_schema
from rpl.claim_details import ClaimDetails, ClaimKind, PartialDate, Skill
from rpl.claims import Claim, ClaimState, Confirmation
from rpl.credentials import IssuerProfile, build_achievement_credential
from rpl.errors import RplError
from rpl.keys import LocalSigner, SealedKey, open_sealed_key
from rpl.mail import Mailer
from rpl.organisations import Organisation
from rpl.proofs.dataintegrity import (
    ProofOptions,
    ed25519_check,
    instantiate_cryptosuite,
    proof_options_map,
    verify_proof,
)
from rpl.services import issuance
from rpl.services.attestation import Urls
from rpl.services.organisations import issuer_profile, organisation_did
from rpl.services.ports import UowFactory
from rpl.services.status import status_list_url, status_purpose
from rpl.status import StatusPurpose, TakenIndexes, allocate_indexes, list_length, status_entry
from rpl.storage.bulk import IssuedItem, random_uuid, time_ordered_id
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
class SignerState:
    """One process's signer: the organisation, its opened key and what every credential of the
    run shares, worked out once."""

    org: Organisation
    public_url: str
    cryptosuite: str
    verification_method: str
    key: Any
    public_key: bytes
    key_id: str = ""
    issuer: IssuerProfile = field(init=False)
    # The check of every signature made (message, signature) -> bool: the verification
    # equation with the secret scalar for a key of ours (`LocalSigner.signature_check`), a
    # verification with the organisation's public key for any other signer.
    check: Callable[[bytes, bytes], bool] = field(init=False)
    status_urls: dict[str, str] = field(init=False)
    suite: Any = field(init=False)

    def __post_init__(self) -> None:
        # What every credential of the run shares is worked out once, not once a row.
        self.issuer = issuer_profile(self.public_url, self.org)
        own = getattr(self.key, "signature_check", None)
        check = own(self.public_key) if own else None
        self.check = check or functools.partial(ed25519_check, VerifyKey(self.public_key))
        self.status_urls = {
            p.value: status_list_url(self.public_url, self.org, p) for p in StatusPurpose
        }
        self.suite = instantiate_cryptosuite(self.cryptosuite)


_state: SignerState | None = None


# How much lower than their parent's the signers' CPU priority is (os.nice). The parent
# stores every chunk the signers make, one after another: it is the pipeline's serial part.
# At equal priority the signers took its CPU whenever all three processes were runnable on
# two cores, so it fell behind, and the signers then waited for work (/proc: each signer
# asleep ~24% of the time, waiting to read its next chunk). `rpl bench roster --rows 300000
# --runner inline`, import+sign, runs in turn: niceness 0: 30.1, 30.8, 30.5 s; 5: 28.5,
# 28.9 s; 10: 27.3, 27.9 s; 19: 26.6, 27.3 s. A web server or Prefect server beside them keeps
# its priority, too.
SIGNER_NICENESS = 10


def init_signer(
    master_key: bytes, public_url: str, org: Organisation, sealed: SealedKey, cryptosuite: str
) -> None:
    """Unseal the organisation's key once in this process (a pool's initializer), and yield
    the CPU to the process that stores what it signs (`SIGNER_NICENESS`)."""
    if hasattr(os, "nice"):
        os.nice(SIGNER_NICENESS)
    vm = f"{organisation_did(public_url, org)}#{sealed.key_id}"
    key = LocalSigner(vm, open_sealed_key(master_key, org.id, sealed))
    use_signer(SignerState(org, public_url, cryptosuite, vm, key, sealed.public_key, sealed.key_id))


def use_signer(state: SignerState | None) -> None:
    """Sign this process's pages with `state` (a worker that opens keys its own way)."""
    global _state
    _state = state


def signer_state() -> SignerState | None:
    return _state


# (claim id, details JSON, confirmed_by JSON, status (purpose, index) pairs)
Job = tuple[str, dict[str, Any], dict[str, Any], tuple[tuple[str, int], ...]]
# (claim id, credential id, document, sha256 hex of the document), or
# (claim id, "", reason, "") when it could not be signed
Signed = tuple[str, str, str, str]


def sign_page(jobs: Sequence[Job], now: datetime) -> list[Signed]:
    """Build, check, sign, verify and serialise each job's credential (in a signer process)."""
    if _state is None:
        raise RplError("init_signer was not called in this process")
    st = _state
    options = signing_options(st, now)
    out: list[Signed] = []
    for n, (claim_id, details, confirmed_by, status) in enumerate(jobs):
        try:
            credential_id, document = _sign_one(
                st, claim_id, details, confirmed_by, status, options, now, full_check=n == 0
            )
        except (RplError, ValueError, KeyError, TypeError) as err:  # this row; never the page
            out.append((claim_id, "", str(err) or type(err).__name__, ""))
            continue
        digest = hashlib.sha256(document).hexdigest()  # for the page's audit entry
        out.append((claim_id, credential_id, document.decode(), digest))
    return out


def _sign_one(
    st: SignerState,
    claim_id: str,
    details: dict[str, Any],
    confirmed_by: dict[str, Any],
    status: tuple[tuple[str, int], ...],
    options: dict[str, Any],
    now: datetime,
    full_check: bool = False,
) -> tuple[str, bytes]:
    by = Confirmation(
        confirmed_by["attester_email"],
        confirmed_by["attester_role"],
        datetime.fromisoformat(confirmed_by["at"]),
    )
    claim = Claim(claim_id, _details(details), ClaimState.CONFIRMED, (), confirmed_by=by)
    return sign_claim(st, claim, status, options, now, full_check)


def sign_claim(
    st: SignerState,
    claim: Claim,
    status: tuple[tuple[str, int], ...],
    options: dict[str, Any],
    now: datetime,
    full_check: bool = False,
) -> tuple[str, bytes]:
    """The confirmed `claim`'s credential, built, checked, signed, checked again and serialised
    (in a signer process): (credential id, document). Raises if it must not be stored."""
    credential_id = time_ordered_id()  # index-friendly: see `time_ordered_id`
    unsigned = build_achievement_credential(
        claim,
        st.issuer,
        Urls(st.public_url).credential(credential_id),
        f"urn:uuid:{random_uuid()}",
        secrets.token_hex(16),
        now,
    )
    entries = [status_entry(st.status_urls[p], StatusPurpose(p), i) for p, i in status]
    if entries:
        unsigned["credentialStatus"] = entries[0] if len(entries) == 1 else entries
    # Every credential gets the whole compiled OB 3.0 schema check (~30 µs): rows come from
    # people's spreadsheets, so no part of the document is taken as valid by construction.
    fast_schema.ensure_valid_achievement_credential(unsigned)  # a failing one is never signed
    # The suite's own Create Proof (§3.x.1), not `add_proof`: that deep-copies a document built
    # here a moment ago, which cost as much as signing it.
    made = st.suite.create_proof_and_hash(unsigned, options, st.key)
    # Verify before store, every signature: the Ed25519 verification equation over the very
    # bytes signed (a fault while signing, or a key that is not the organisation's, fails here;
    # a faulty deterministic signature must never leave, it can leak the key). Canonicalizing
    # again and decoding the proofValue would only repeat what was just done.
    if not st.check(made.hash_data, made.signature):
        raise issuance.SignedButInvalidError(f"claim {claim.id!r}: signature fails")
    unsigned["proof"] = made.proof
    document = orjson.dumps(unsigned, option=orjson.OPT_INDENT_2)
    if full_check:
        _check_stored_form(st, claim.id, document)
    return credential_id, document


def signing_options(st: SignerState, now: datetime) -> dict[str, Any]:
    """The proof options every credential a signer makes at `now` shares."""
    created = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    return proof_options_map(ProofOptions(st.verification_method, created=created), st.cryptosuite)


def _check_stored_form(st: SignerState, claim_id: str, document: bytes) -> None:
    """The first credential of every page, as it will be stored, through the whole Data
    Integrity verification: parsed back from its bytes, structure, purpose, method, the suite's
    own Verify Proof with its canonicalization. Catches what the raw check cannot see (a
    proofValue or serialization that does not carry the signature), for every page."""
    checks = verify_proof(orjson.loads(document), lambda vm: st.public_key)
    if not checks or not all(c.verified for c in checks):
        raise issuance.SignedButInvalidError(f"claim {claim_id!r}: signed credential fails")


@functools.lru_cache(maxsize=8192)
def _date(text: str) -> PartialDate:
    return PartialDate.parse(text)  # immutable; a roster has few distinct dates


def _details(data: dict[str, Any]) -> ClaimDetails:
    """`codec.details_from_json` for a roster claim (no evidence), dates parsed once a run."""
    if data.get("evidence"):
        return details_from_json(data)
    values = dict(data)
    values["kind"] = ClaimKind(values["kind"])
    values["start"] = _date(values["start"])
    values["end"] = _date(values["end"]) if values.get("end") else None
    values["skills"] = tuple(Skill(**s) for s in values.get("skills", ()))
    values["evidence"] = ()
    return ClaimDetails(**values)


# --- status indexes, drawn in bulk ----------------------------------------------------------


@dataclass
class BulkStatusAllocator:
    """Draws each credential's indexes from a set of taken ones read once per run, not one
    query per draw. Another run's draws are not seen: the unique key catches those, and the
    page falls back to one-by-one storing."""

    taken: dict[str, TakenIndexes]
    rng: Any = field(default_factory=lambda: secrets.SystemRandom())

    def draw(self, count: int) -> list[tuple[tuple[str, int], ...]]:
        """(purpose, index) pairs for `count` credentials: each list is drawn over its length
        once these are taken (at most half full), all at once."""
        per_purpose = []
        for purpose, used in self.taken.items():
            length = list_length(len(used) + count)
            indexes = allocate_indexes(self.rng, length, used, count)
            used.update(indexes)
            name = status_purpose(purpose).value
            per_purpose.append([(name, index) for index in indexes])
        return list(zip(*per_purpose, strict=True)) if per_purpose else [()] * count


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


# Work a `PagePipeline` keeps in flight per signer process: one being done, three waiting. With
# one waiting, the signers ran out of work whenever a store took longer than usual (a commit
# waiting for the disk): a 300,000-row import kept both cores 175% busy with two a signer, 189%
# with four (`rpl bench roster --rows 300000 --runner inline`, run in turn).
DEPTH_PER_SIGNER = 4


class PagePipeline:
    """Work in, done by the pool while the caller goes on, results stored in order.

    `submit` hands claims over in pages to be signed; `send` any other work (a direct import's
    chunks, `roster_pipeline`). Once enough are in flight (`DEPTH_PER_SIGNER` a signer) the
    oldest results are stored, and `finish` stores the rest. Signing overlaps
    whatever the caller does meanwhile: reading the next page, or the next rows of a file.
    """

    def __init__(self, run: BulkIssue, org_id: str, now: datetime) -> None:
        self.run, self.now, self.report = run, now, BulkReport()
        with run.uow() as tx:
            self.org = tx.orgs.get(org_id)
            sealed = tx.orgs.active_key(org_id)
        self.vm = f"{organisation_did(run.urls.public_url, self.org)}#{sealed.key_id}"
        if run.pool is None:  # in this process, with whatever signer the keyring opens (KMS too)
            signer = run.keyring.signer(run.urls.public_url, self.org, sealed)
            use_signer(
                SignerState(
                    self.org,
                    run.urls.public_url,
                    run.policy.cryptosuite,
                    signer.verification_method,
                    signer,
                    sealed.public_key,
                    sealed.key_id,
                )
            )
        self.key_id = sealed.key_id
        self._allocator: BulkStatusAllocator | None = None
        # (what stores the result, the future of the work)
        self.in_flight: deque[tuple[Callable[[Any], None], Any]] = deque()
        self.depth = DEPTH_PER_SIGNER * max(1, getattr(run.pool, "_max_workers", 1))

    @property
    def allocator(self) -> BulkStatusAllocator:
        """Status indexes, drawn clear of those taken when the first page came (a million
        taken indexes take a second to read: a run with nothing to sign reads none)."""
        if self._allocator is None:
            purposes = self.run.policy.status_purposes
            with self.run.uow() as tx:
                taken = {p: tx.bulk.allocated_indexes(self.org.id, p) for p in purposes}
            self._allocator = BulkStatusAllocator(taken)
        return self._allocator

    def send(
        self, work: Callable[..., Any], args: tuple[Any, ...], store: Callable[[Any], None]
    ) -> None:
        """`work(*args)` in the pool (here without one); `store` gets its future (of a process
        pool, of this process, or e.g. a Dask task's: `result()` raises what the work raised),
        in the order sent, once enough work is in flight."""
        pool = self.run.pool
        self.in_flight.append((store, pool.submit(work, *args) if pool else _here(work, args)))
        while self.in_flight and (len(self.in_flight) >= self.depth or self.in_flight[0][1].done()):
            self._store_oldest()

    def submit(self, claims: Sequence[Any], progress: Callable[[int], None] | None = None) -> None:
        """Sign `claims` (each with `id`, `details` and `confirmed_by`), storing as pages finish."""
        size = self.run.page_size
        for start in range(0, len(claims), size):
            page = claims[start : start + size]
            status = self.allocator.draw(len(page))
            jobs = [
                (c.id, c.details, c.confirmed_by, drawn)
                for c, drawn in zip(page, status, strict=True)
            ]
            self.send(sign_page, (jobs, self.now), functools.partial(self._store, jobs, progress))

    def finish(self) -> BulkReport:
        while self.in_flight:
            self._store_oldest()
        return self.report

    def _store_oldest(self) -> None:
        store, done = self.in_flight.popleft()
        store(done)

    def _store(self, jobs: list[Job], progress: Callable[[int], None] | None, done: Any) -> None:
        _store_page(self.run, self.org, self.vm, jobs, done.result(), self.now, self.report)
        if progress:
            progress(self.report.issued)


def _here(work: Callable[..., Any], args: tuple[Any, ...]) -> Future[Any]:
    """`work(*args)` done in this process, as a finished future: what it raised is raised
    where its result is stored, as with a pool's."""
    done: Future[Any] = Future()
    try:
        done.set_result(work(*args))
    except Exception as err:  # noqa: BLE001 - handed to whoever stores the result
        done.set_exception(err)
    return done


def issue_roster(
    run: BulkIssue,
    org_id: str,
    now: datetime,
    limit: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> BulkReport:
    """Issue up to `limit` (all if None) of `org_id`'s confirmed, issuable roster claims."""
    if run.policy.cryptosuite not in DATA_INTEGRITY_SUITES:
        return _one_by_one(run, org_id, now, limit, progress)
    pipeline = PagePipeline(run, org_id, now)
    after, left = "", limit
    while left is None or left > 0:
        page = _page(
            run, org_id, after, run.page_size if left is None else min(run.page_size, left)
        )
        if not page:
            break
        after = page[-1].id
        left = None if left is None else left - len(page)
        pipeline.submit(page, progress)
    return pipeline.finish()


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
    signed: list[Signed],
    now: datetime,
    report: BulkReport,
) -> None:
    report.pages += 1
    items: list[IssuedItem] = []
    digests: list[str] = []
    suite = run.policy.cryptosuite
    for (claim_id, credential_id, document, digest), job in zip(signed, jobs, strict=True):
        if not credential_id:
            report.failed[claim_id] = document
            continue
        items.append(IssuedItem(claim_id, credential_id, org.id, suite, vm, document, job[3]))
        digests.append(digest)
    if not items:
        return
    try:
        with run.uow() as tx:
            tx.bulk.store_issued(items, now)
            issued = [(i.claim_id, i.credential_id, d) for i, d in zip(items, digests, strict=True)]
            tx.audit.append(*page_audit(org, issued), now)
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


def page_audit(
    org: Organisation, issued: Sequence[tuple[str, str, str]]
) -> tuple[str, str, str, dict[str, Any]]:
    """One entry for a page of (claim, credential, document sha256): the sha256 of its
    "claim credential document-sha256" lines."""
    lines = "".join(f"{claim} {credential} {digest}\n" for claim, credential, digest in issued)
    data = {
        "credentials": len(issued),
        "first": issued[0][1] if issued else None,
        "credentials_sha256": hashlib.sha256(lines.encode()).hexdigest(),
    }
    return "CredentialsIssued", "system", f"organisation:{org.id}", data
