"""What a holder has here, their custodial key, and the documents signed with it.

Every account that exports gets a `did:key` of its own (`holder_signer`), made on the first
export. The key is custodial: this service holds its private part, sealed under the instance's
master key exactly as organisations' signing keys are (`rpl.keys`, AES-256-GCM bound to the
account), and signs with it only when the holder asks (an export, `/my/clr.json`). What it signs
says "the holder of this account gathered these records", nothing more.

`holder_clr` is the CLR 2.0 `ClrCredential` of the credentials issued here to the holder. A CLR
needs an issuer; no organisation issued the collection, so the holder issues it (their `did:key`,
their name), and every credential inside keeps its own issuer's proof. VC-JWT credentials are left
out of the CLR (its schema holds credential objects, not JWS strings); they are in the archive and
in its presentation.
"""

from __future__ import annotations

import json
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from rpl import clr, multikey
from rpl.accounts import Account
from rpl.credentials import IssuerProfile
from rpl.errors import RplError
from rpl.keys import LocalSigner, generate_sealed_key, open_sealed_key
from rpl.proofs.dataintegrity import EDDSA_RDFC_2022, ProofOptions, add_proof, verify_proof
from rpl.securing import is_jwt
from rpl.services.attestation import ClaimView
from rpl.services.inbox import holder_claims
from rpl.services.ports import UowFactory
from rpl.storage.holdings import HeldCredential, HeldDocument
from rpl.storage.unit_of_work import DuplicateError

HOLDER_KEY_ID = "holder-key-1"


class NothingToBundleError(RplError):
    """The holder has no credential issued here to put in a CLR."""


def holder_actor(account: Account) -> str:
    return f"holder:{account.email}"


def _owner(account_id: str) -> str:
    # Binds the sealed seed to the account: copied onto another account's row, it does not open.
    return f"account:{account_id}"


def holder_signer(
    uow: UowFactory, master_key: bytes, account: Account, now: datetime
) -> LocalSigner:
    """The account's custodial `did:key` signer, made (and audited) the first time it is asked for."""
    with uow() as tx:
        sealed = tx.holdings.holder_key(account.id)
        if sealed is None:
            sealed = generate_sealed_key(master_key, _owner(account.id), HOLDER_KEY_ID)
            tx.holdings.add_holder_key(account.id, sealed, now)
            did = multikey.did_key(sealed.public_key)
            data = {"did": did}
            tx.audit.append(
                "HolderKeyCreated", holder_actor(account), _owner(account.id), data, now
            )
            try:
                tx.commit()
            except DuplicateError:  # made meanwhile by a parallel export: use that one
                sealed = None
    if sealed is None:
        with uow() as tx:
            sealed = tx.holdings.holder_key(account.id)
        assert sealed is not None
    did = multikey.did_key(sealed.public_key)
    method = f"{did}#{did.removeprefix(multikey.DID_KEY_PREFIX)}"
    return LocalSigner(method, open_sealed_key(master_key, _owner(account.id), sealed))


def holder_did(signer: LocalSigner) -> str:
    return signer.verification_method.split("#", 1)[0]


@dataclass(frozen=True)
class Holdings:
    """Everything an account holds here: its claims (with credentials issued), imported
    credentials, documents carried in from archives, and its own notes."""

    account: Account
    claims: list[ClaimView]
    held: list[HeldCredential]
    documents: list[HeldDocument]
    notes: dict[str, Any] = field(default_factory=dict)

    @property
    def issued(self) -> list[ClaimView]:
        return [v for v in self.claims if v.credential is not None]


def holdings_of(uow: UowFactory, account: Account) -> Holdings:
    claims = holder_claims(uow, account.email)
    with uow() as tx:
        held = tx.holdings.for_account(account.id)
        documents = tx.holdings.documents(account.id)
        notes = _notes(tx, account.id)
    return Holdings(account, claims, held, documents, notes)


def _notes(tx: Any, account_id: str) -> dict[str, Any]:
    """The holder's own words from the passport, when this instance has one."""
    passport = getattr(tx, "passport", None)
    if passport is None:
        return {}
    story = passport.story(account_id)
    notes = passport.notes(account_id)
    return {
        "story": {"headline": story.headline, "story": story.story},
        "notes": [
            {"claim": claim_id, "headline": note.headline, "notes": note.notes}
            for claim_id, note in sorted(notes.items())
        ],
    }


def holder_profile(public_url: str, account: Account, did: str) -> IssuerProfile:
    return IssuerProfile(did=did, name=account.display_name or account.email, url=public_url)


def holder_clr(
    holdings: Holdings, signer: LocalSigner, public_url: str, now: datetime
) -> dict[str, Any]:
    """A signed ClrCredential of the Data Integrity credentials issued here to the holder."""
    documents = [
        json.loads(v.credential.document)
        for v in holdings.issued
        if v.credential is not None and not is_jwt(v.credential.document)
    ]
    if not documents:
        raise NothingToBundleError("no credential has been issued to you here yet")
    did = holder_did(signer)
    account = holdings.account
    learner = clr.Learner(account.display_name or account.email, account.email, "", did=did)
    unsigned = clr.build_clr(
        holder_profile(public_url, account, did),
        learner,
        f"urn:uuid:{uuid.uuid4()}",
        (),
        documents,
        now,
    )
    unsigned |= {
        "name": f"Records of {learner.name}",
        "description": f"{len(documents)} credential(s) issued through {public_url}, "
        "gathered by their holder. Each keeps its own issuer's proof.",
    }
    clr.ensure_valid_clr(unsigned)
    return sign_as_holder(unsigned, signer, now)


def sign_as_holder(document: dict[str, Any], signer: LocalSigner, now: datetime) -> dict[str, Any]:
    """`document` with the holder's assertion proof, checked before it leaves."""
    options = ProofOptions(signer.verification_method, created=clr.timestamp(now))
    signed = add_proof(document, options, signer, EDDSA_RDFC_2022)
    checks = verify_proof(signed, lambda _: signer.public_key)
    if not checks or not all(c.verified for c in checks):
        raise clr.TranscriptError("the holder's signature does not verify; nothing was sent")
    return signed


def new_challenge() -> str:
    return secrets.token_urlsafe(16)


def imported_records(uow: UowFactory, account: Account) -> list[HeldCredential]:
    """The credentials the account brought in, oldest import first."""
    with uow() as tx:
        return tx.holdings.for_account(account.id)
