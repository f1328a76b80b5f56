"""Issuance: check, build, record intent, sign, verify what was signed, store, log — exactly once
per claim.

The intents of a batch (credential id, claim, key, digest of the unsigned document) are committed
in one statement before anything is signed, so a crash between signing and storing leaves a record
of what was about to be signed; the run that stores the claim's credential closes them.

Signing is pure CPU and happens outside any transaction. Storing is one transaction per batch in which
each claim moves confirmed → issued by compare-and-set and its credential row is added under a unique
claim id. If anything in the batch collides (another run got there first), the batch is rolled back and
stored claim by claim, so one collision costs one claim, not the batch. Prefect gives at-least-once;
this gives exactly-once.
"""

from __future__ import annotations

import json
import logging
import secrets
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from rpl import audit, claims, messages
from rpl.claims import Claim, ClaimState
from rpl.credentials import build_achievement_credential
from rpl.errors import RplError
from rpl.keys import SealedKey
from rpl.mail import Mailer
from rpl.organisations import Organisation
from rpl.proofs.dataintegrity import ProofOptions, Signer, add_proof, verify_proof
from rpl.proofs.jose import sign_vc_jwt, verify_vc_jwt
from rpl.schema import ensure_valid_achievement_credential
from rpl.securing import VC_JWT, mechanism_for
from rpl.services import issuance_checks as checks
from rpl.services.attestation import Urls
from rpl.services.organisations import issuer_profile, organisation_did
from rpl.services.ports import UowFactory
from rpl.services.status import StatusAllocator
from rpl.signer import LOCAL, KeyStore, LocalKeyStore, SignerUnavailableError
from rpl.signer import Signer as KeySigner
from rpl.storage.intents import Intent
from rpl.storage.status import Allocation
from rpl.storage.unit_of_work import ConcurrentUpdateError, DuplicateError, StoredCredential

log = logging.getLogger("rpl.issuance")
# A credential whose status index another run took is signed again; an index collision is a
# one-in-a-hundred-thousand event, so three tries in a row failing means something else is wrong.
_STORE_ATTEMPTS = 3


class SignedButInvalidError(RplError):
    """What we just signed does not verify: never stored, never sent."""


class IssuanceRefusedError(RplError):
    """Our own rules refuse to sign this claim now (e.g. the organisation's domain is unproved)."""


@dataclass
class IssueReport:
    issued: list[str] = field(default_factory=list)
    already_issued: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)

    def merge(self, other: IssueReport) -> None:
        self.issued += other.issued
        self.already_issued += other.already_issued
        self.failed.update(other.failed)


@dataclass(frozen=True)
class _Prepared:
    claim: Claim
    organisation: Organisation
    credential: StoredCredential
    # Status list indexes drawn for it: recorded with the credential, in the same transaction.
    status: tuple[Allocation, ...] = ()


@dataclass
class Keyring:
    """Opens organisation keys once per process: local ones under the master key, others with
    the external key store that holds them (`RPL_SIGNER`; see rpl.signer)."""

    master_key: bytes
    external: KeyStore | None = None
    _open: dict[tuple[str, str], KeySigner] = field(default_factory=dict)

    def signer(self, public_url: str, org: Organisation, sealed: SealedKey) -> KeySigner:
        cached = self._open.get((org.id, sealed.key_id))
        if cached is None:
            vm = f"{organisation_did(public_url, org)}#{sealed.key_id}"
            cached = self._store(sealed).open(vm, org.id, sealed)
            self._open[(org.id, sealed.key_id)] = cached
        return cached

    @property
    def keys(self) -> KeyStore:
        """Where new keys are made: the external store when one is configured."""
        return self.external or LocalKeyStore(self.master_key)

    def _store(self, sealed: SealedKey) -> KeyStore:
        if sealed.store == LOCAL:
            return LocalKeyStore(self.master_key)
        if self.external is None or self.external.name != sealed.store:
            raise SignerUnavailableError(
                f"key {sealed.key_id!r} is held by {sealed.store!r}, which is not configured here"
                " (RPL_SIGNER)"
            )
        return self.external


def sign_credential(
    claim: Claim,
    org: Organisation,
    signer: Signer,
    verification_method: str,
    public_key: bytes,
    urls: Urls,
    cryptosuite: str,
    now: datetime,
    credential_status: Sequence[dict[str, Any]] = (),
) -> tuple[str, dict | str]:  # type: ignore[type-arg]
    """Build, schema-check, sign and re-verify one credential. Returns (credential id, document),
    the document being a VC-JWT (compact JWS text) when `cryptosuite` is "vc-jwt".

    `credential_status` (BitstringStatusListEntry objects) is signed into the credential.
    """
    credential_id, unsigned = unsigned_credential(claim, org, urls, now, credential_status)
    signed = secure_credential(
        claim, unsigned, signer, verification_method, public_key, cryptosuite, now
    )
    return credential_id, signed


def unsigned_credential(
    claim: Claim,
    org: Organisation,
    urls: Urls,
    now: datetime,
    credential_status: Sequence[dict[str, Any]] = (),
) -> tuple[str, dict[str, Any]]:
    """Build and schema-check one credential, not yet signed: (credential id, document)."""
    credential_id = str(uuid.uuid4())
    unsigned = build_achievement_credential(
        claim,
        issuer_profile(urls.public_url, org),
        urls.credential(credential_id),
        f"urn:uuid:{uuid.uuid4()}",
        secrets.token_hex(16),
        now,
    )
    if len(credential_status) == 1:
        unsigned = {**unsigned, "credentialStatus": dict(credential_status[0])}
    elif credential_status:
        unsigned = {**unsigned, "credentialStatus": [dict(e) for e in credential_status]}
    ensure_valid_achievement_credential(unsigned)  # a credential that fails is never signed
    return credential_id, unsigned


def secure_credential(
    claim: Claim,
    unsigned: dict[str, Any],
    signer: Signer,
    verification_method: str,
    public_key: bytes,
    cryptosuite: str,
    now: datetime,
) -> dict[str, Any] | str:
    """Sign, then verify what was signed: a proof that fails is never stored."""
    if cryptosuite == VC_JWT:  # the organisation secures its credentials with VC-JOSE
        return _signed_jwt(claim, unsigned, signer, verification_method, public_key)
    options = ProofOptions(verification_method, created=now.strftime("%Y-%m-%dT%H:%M:%SZ"))
    signed = add_proof(unsigned, options, signer, cryptosuite)
    checks = verify_proof(signed, lambda vm: public_key)
    if not checks or not all(c.verified for c in checks):
        problems = "; ".join(e for c in checks for e in c.errors)
        raise SignedButInvalidError(f"claim {claim.id!r}: signed credential fails: {problems}")
    return signed


def _signed_jwt(
    claim: Claim, unsigned: dict[str, Any], signer: Signer, vm: str, public_key: bytes
) -> str:
    token = sign_vc_jwt(unsigned, signer, vm)
    check = verify_vc_jwt(token, lambda kid: public_key)
    if not check.verified:
        problems = "; ".join(check.errors)
        raise SignedButInvalidError(f"claim {claim.id!r}: signed VC-JWT fails: {problems}")
    return token


@dataclass(frozen=True)
class IssuePolicy:
    """How credentials are secured: the cryptosuite, and which status lists each one joins.

    OB 3.0 allows one `credentialStatus` ([0..1]), so by default a credential carries one
    revocation entry and stays valid against 1EdTech's schema. With ("revocation", "suspension")
    it carries both, as a list (VC 2.0 allows it; OB 3.1 is expected to), which 1EdTech's own
    validator refuses until then.
    """

    cryptosuite: str
    status_purposes: tuple[str, ...] = ("revocation",)


def issue_credentials(
    uow: UowFactory,
    keyring: Keyring,
    mailer: Mailer,
    urls: Urls,
    policy: IssuePolicy,
    claim_ids: Sequence[str],
    now: datetime,
) -> IssueReport:
    report = IssueReport()
    prepared = _prepare(uow, keyring, urls, policy, claim_ids, now, report)
    try:
        _store(uow, prepared, now)
        report.issued += [p.claim.id for p in prepared]
    except (ConcurrentUpdateError, DuplicateError):
        log.info("batch of %d collided with another run; storing one by one", len(prepared))
        alone = [_store_alone(uow, keyring, urls, policy, p, now, report) for p in prepared]
        prepared = [item for item in alone if item is not None]
    _notify(mailer, urls, [p for p in prepared if p.claim.id in set(report.issued)])
    return report


def _prepare(
    uow: UowFactory,
    keyring: Keyring,
    urls: Urls,
    policy: IssuePolicy,
    claim_ids: Iterable[str],
    now: datetime,
    report: IssueReport,
) -> list[_Prepared]:
    """Check and build the batch, commit its intents, then sign and verify each credential."""
    planned, refused = _plan(uow, keyring, urls, policy, claim_ids, now, report)
    checks.record_intents(uow, [p.intent for p in planned], refused, now)
    prepared: list[_Prepared] = []
    failed: dict[str, str] = {}
    for plan in planned:
        cid, claim = plan.intent.credential_id, plan.claim
        try:
            doc = secure_credential(
                claim, plan.unsigned, plan.signer, plan.intent.verification_method,
                plan.public_key, plan.cryptosuite, now,
            )  # fmt: skip
        except RplError as err:
            log.warning("claim %s not issued: %s", claim.id, err)
            report.failed[claim.id] = failed[cid] = str(err)
            continue
        document = doc if isinstance(doc, str) else json.dumps(doc, ensure_ascii=False, indent=2)
        credential = StoredCredential(
            id=cid,
            claim_id=claim.id,
            organisation_id=plan.org.id,
            cryptosuite=plan.cryptosuite,
            verification_method=plan.intent.verification_method,
            document=document,
            issued_at=now,
        )
        prepared.append(_Prepared(claim, plan.org, credential, plan.allocations))
    checks.close_intents(uow, {cid: f"failed: {why}" for cid, why in failed.items()}, now)
    return prepared


@dataclass(frozen=True)
class _Planned:
    """A credential checked and built, about to be signed: its intent is recorded first."""

    claim: Claim
    org: Organisation
    unsigned: dict[str, Any]
    signer: Signer
    public_key: bytes
    cryptosuite: str
    allocations: tuple[Allocation, ...]
    intent: Intent


def _plan(
    uow: UowFactory,
    keyring: Keyring,
    urls: Urls,
    policy: IssuePolicy,
    claim_ids: Iterable[str],
    now: datetime,
    report: IssueReport,
) -> tuple[list[_Planned], dict[str, str]]:
    """One read transaction: our checks, the unsigned documents, their status indexes.

    Returns what to sign, and the claims refused by our rules with the reason (recorded in the
    audit log with the intents; the claims stay confirmed and are issued once the reason is gone).
    """
    planned: list[_Planned] = []
    refused: dict[str, str] = {}
    allocator = StatusAllocator(urls.public_url, purposes=policy.status_purposes)
    with uow() as tx:
        checker = checks.Checker(tx, now)
        for claim_id in dict.fromkeys(claim_ids):  # a repeated id is one claim
            try:
                claim = tx.claims.get(claim_id)
                if claim.state is ClaimState.ISSUED or tx.credentials.by_claim(claim_id):
                    report.already_issued.append(claim_id)
                    continue
                org = tx.orgs.get(claim.details.organisation_id)
                refusal = checker.refusal(claim, org)
                if refusal:
                    refused[claim_id] = refusal
                    raise IssuanceRefusedError(refusal)
                sealed = tx.orgs.active_key(org.id)
                signer = keyring.signer(urls.public_url, org, sealed)
                cryptosuite = mechanism_for(org.securing, policy.cryptosuite)
                allocations, entries = allocator.draw(tx, org)
                cid, unsigned = unsigned_credential(claim, org, urls, now, entries)
                refusal = checker.document_refusal(unsigned)
                if refusal:
                    refused[claim_id] = refusal
                    raise IssuanceRefusedError(refusal)
            except RplError as err:
                log.warning("claim %s not issued: %s", claim_id, err)
                report.failed[claim_id] = str(err)
                continue
            vm = signer.verification_method
            intent = Intent(cid, claim.id, org.id, vm, checks.digest(unsigned), now)
            planned.append(
                _Planned(
                    claim,
                    org,
                    unsigned,
                    signer,
                    sealed.public_key,
                    cryptosuite,
                    allocations,
                    intent,
                )
            )
    return planned, refused


def _store_alone(
    uow: UowFactory,
    keyring: Keyring,
    urls: Urls,
    policy: IssuePolicy,
    item: _Prepared,
    now: datetime,
    report: IssueReport,
) -> _Prepared | None:
    """Store one credential of a batch that collided; the item stored, or None.

    A claim that another run issued meanwhile is reported as already issued. A credential whose
    status index another run took meanwhile is signed again with fresh indexes: its indexes were
    never stored (they are written with the credential), so none is lost.
    """
    for _ in range(_STORE_ATTEMPTS):
        try:
            _store(uow, [item], now)
        except ConcurrentUpdateError:
            report.already_issued.append(item.claim.id)
            checks.close_intents(uow, {item.credential.id: "superseded"}, now)
            return None
        except DuplicateError:
            again = _prepare(uow, keyring, urls, policy, [item.claim.id], now, report)
            if not again:  # issued meanwhile, or failed: `_prepare` reported which
                return None
            item = again[0]
            continue
        report.issued.append(item.claim.id)
        return item
    report.failed[item.claim.id] = "its status list indexes kept colliding with other runs"
    return None


def _store(uow: UowFactory, items: Sequence[_Prepared], now: datetime) -> None:
    if not items:
        return
    with uow() as tx:
        for item in items:
            current = tx.claims.get(item.claim.id)
            if current.state is not ClaimState.CONFIRMED:
                raise ConcurrentUpdateError(f"claim {current.id!r} is already {current.state}")
            tx.claims.save(claims.mark_issued(current, item.credential.id, now), now)
            tx.credentials.add(item.credential)
            for allocation in item.status:
                tx.status.allocate(allocation, item.credential.id, now)
        # The intents are kept, closed: the record of what was signed and what became of it.
        tx.intents.close([i.credential.id for i in items], "stored", now)
        tx.intents.close_claims([i.claim.id for i in items], "superseded", now)
        for item in items:  # last, after the other writes: the log's lock is held only to commit
            tx.audit.append(*audit.credential_issued(item.credential), now)
        tx.commit()


def _notify(mailer: Mailer, urls: Urls, items: Sequence[_Prepared]) -> None:
    for item in items:
        try:
            mailer.send(
                messages.credential_issued(
                    item.claim, item.organisation, urls.credential(item.credential.id)
                )
            )
        except OSError as err:  # the credential stands; a lost message is re-sent by the sweep
            log.warning("could not tell the claimant of %s: %s", item.claim.id, err)
