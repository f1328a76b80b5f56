"""Use cases behind the W3C CCG VC API: issue a credential for one of our organisations, verify
credentials and presentations sent by anyone.

Issuing signs what the caller sent, after checking it is a VC 2.0 credential whose issuer is an
organisation hosted here, with that organisation's active key and securing mechanism. With
`options.credentialStatus` it first joins the organisation's revocation and/or suspension list,
indexes drawn exactly as for claims (`StatusAllocator`). It follows issuance's discipline (see
`rpl.services.issuance`): the intent is committed before signing, what was signed is verified,
and the credential, its status indexes, the closed intent and the audit entry are stored in one
transaction. No claim stands behind such a credential: it is stored with none, and its status
changes by its own list bits (`rpl.services.credential_status`).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rpl import audit
from rpl.contexts import KNOWN_CONTEXTS
from rpl.dids import did_web_for
from rpl.errors import RplError
from rpl.issuance_rules import issuer_problems
from rpl.organisations import Organisation, UnknownOrganisationError
from rpl.presentations import envelope_vc_jwt
from rpl.proofs.dataintegrity import ProofError, parse_datetime
from rpl.securing import VC_JWT, mechanism_for, secure, secured_document, verifies_under
from rpl.services import issuance_checks as checks
from rpl.services.issuance import Keyring
from rpl.services.ports import UowFactory
from rpl.services.status import StatusAllocator
from rpl.status import StatusPurpose
from rpl.storage.intents import Intent
from rpl.storage.status import Allocation
from rpl.storage.unit_of_work import DuplicateError, StoredCredential
from rpl.verify import issuer_id

log = logging.getLogger("rpl.vcapi")
VC_V2_CONTEXT = "https://www.w3.org/ns/credentials/v2"
# Options this issuer understands; anything else is refused rather than silently ignored.
ISSUE_OPTIONS = {"created", "credentialStatus", "proofPurpose", "type", "cryptosuite"}
STATUS_ENTRY_TYPE = "BitstringStatusListEntry"
# An index another request took between drawing and storing is drawn again; see issuance.
_STORE_ATTEMPTS = 3


class InvalidRequestError(RplError):
    """A VC API request the service cannot act on (HTTP 400); the message says what is wrong."""


class UnsupportedOptionError(InvalidRequestError):
    """An option this issuer does not offer."""


@dataclass(frozen=True)
class IssuedCredential:
    """What the API answers: the stored credential's id here, and the secured credential."""

    credential_id: str
    secured: dict[str, Any]


def hosted_issuer(uow: UowFactory, public_url: str, credential: Any) -> Organisation:
    """The organisation hosted here that `credential` names as its issuer (400 otherwise)."""
    if not isinstance(credential, Mapping):
        raise InvalidRequestError("credential must be a JSON object")
    return _hosted_issuer(uow, public_url, issuer_id(dict(credential)) or "")


def issue_credential(
    uow: UowFactory,
    keyring: Keyring,
    public_url: str,
    default_cryptosuite: str,
    credential: Any,
    options: Any,
    now: datetime,
    actor: str = "system",
) -> IssuedCredential:
    """The credential secured by its issuer (one of our organisations) and stored: a document
    with a proof, or an `EnvelopedVerifiableCredential` holding a VC-JWT."""
    _check_unsigned(credential)
    opts = _check_options(options)
    purposes = status_purposes(opts.get("credentialStatus"))
    if purposes and "credentialStatus" in credential:
        raise InvalidRequestError(
            "the credential already has a credentialStatus; this issuer allocates the entry "
            "when options.credentialStatus asks for one"
        )
    org = hosted_issuer(uow, public_url, credential)
    problems = issuer_problems(org)
    if problems:
        raise InvalidRequestError("; ".join(problems))
    mechanism = mechanism_for(org.securing, default_cryptosuite)
    if opts.get("cryptosuite") and mechanism != VC_JWT:
        mechanism = mechanism_for(str(opts["cryptosuite"]), default_cryptosuite)
    created = opts.get("created") or now.strftime("%Y-%m-%dT%H:%M:%SZ")
    signing = _Signing(uow, keyring, public_url, org, mechanism, created, actor, now)
    for _ in range(_STORE_ATTEMPTS):
        try:
            credential_id, text = signing.issue(dict(credential), purposes)
        except DuplicateError:
            log.info("a status index of a VC API credential was taken meanwhile; drawing again")
            continue
        secured = envelope_vc_jwt(text) if mechanism == VC_JWT else secured_document(text)
        return IssuedCredential(credential_id, secured)
    raise InvalidRequestError("status list indexes kept colliding with other issuers; try again")


def status_purposes(option: Any) -> tuple[str, ...]:
    """The lists `options.credentialStatus` asks to join: one entry object, or a list of them,
    each `{"type": "BitstringStatusListEntry", "statusPurpose": "revocation"|"suspension"}`."""
    if option is None:
        return ()
    entries = option if isinstance(option, list) else [option]
    purposes: list[str] = []
    for entry in entries:
        if not isinstance(entry, Mapping):
            raise UnsupportedOptionError("options.credentialStatus must be a JSON object")
        if entry.get("type") != STATUS_ENTRY_TYPE:
            raise UnsupportedOptionError(
                f"options.credentialStatus.type {entry.get('type')!r} is not offered; "
                f"this issuer offers {STATUS_ENTRY_TYPE}"
            )
        purpose = entry.get("statusPurpose", StatusPurpose.REVOCATION.value)
        if purpose not in {p.value for p in StatusPurpose}:
            raise UnsupportedOptionError(
                f"options.credentialStatus.statusPurpose {purpose!r} is not offered; "
                "use revocation or suspension"
            )
        if purpose in purposes:
            raise UnsupportedOptionError(f"statusPurpose {purpose!r} is asked for twice")
        purposes.append(purpose)
    return tuple(purposes)


@dataclass(frozen=True)
class _Signing:
    """One VC API issue: draw status indexes, record intent, sign, verify, store, log."""

    uow: UowFactory
    keyring: Keyring
    public_url: str
    org: Organisation
    mechanism: str
    created: str
    actor: str
    now: datetime

    def issue(self, document: dict[str, Any], purposes: tuple[str, ...]) -> tuple[str, str]:
        credential_id = str(uuid.uuid4())
        document.setdefault("id", f"urn:uuid:{uuid.uuid4()}")
        with self.uow() as tx:
            sealed = tx.orgs.active_key(self.org.id)
            allocations: tuple[Allocation, ...] = ()
            if purposes:
                allocator = StatusAllocator(self.public_url, purposes=purposes)
                allocations, entries = allocator.draw(tx, self.org)
                document["credentialStatus"] = entries[0] if len(entries) == 1 else entries
        signer = self.keyring.signer(self.public_url, self.org, sealed)
        vm = signer.verification_method
        intent = Intent(credential_id, None, self.org.id, vm, checks.digest(document), self.now)
        checks.record_intents(self.uow, [intent], {}, self.now)
        try:
            text = secure(document, signer, vm, self.mechanism, self.created)
            _check_signed(text, sealed.public_key, vm)
        except RplError as err:
            checks.close_intents(self.uow, {credential_id: f"failed: {err}"}, self.now)
            raise
        stored = StoredCredential(
            credential_id, None, self.org.id, self.mechanism, vm, text, self.now
        )
        try:
            self._store(stored, allocations)
        except DuplicateError:
            checks.close_intents(self.uow, {credential_id: "superseded"}, self.now)
            raise
        return credential_id, text

    def _store(self, stored: StoredCredential, allocations: tuple[Allocation, ...]) -> None:
        with self.uow() as tx:
            tx.credentials.add(stored)
            for allocation in allocations:
                tx.status.allocate(allocation, stored.id, self.now)
            tx.intents.close([stored.id], "stored", self.now)
            kind, _, subject, data = audit.credential_issued(stored)
            data = {**data, "via": "vc-api"}
            tx.audit.append(kind, self.actor, subject, data, self.now)  # last: holds the lock
            tx.commit()


def _check_unsigned(credential: Any) -> None:
    if not isinstance(credential, Mapping):
        raise InvalidRequestError("credential must be a JSON object")
    if "proof" in credential:
        raise InvalidRequestError("credential already has a proof; send it unsigned")
    contexts = credential.get("@context")
    contexts = [contexts] if isinstance(contexts, str) else contexts
    if not isinstance(contexts, list) or not contexts or contexts[0] != VC_V2_CONTEXT:
        raise InvalidRequestError(f"the first @context must be {VC_V2_CONTEXT}")
    unknown = [c for c in contexts if isinstance(c, str) and c not in KNOWN_CONTEXTS]
    if unknown or not all(isinstance(c, str | dict) for c in contexts):
        raise InvalidRequestError(f"unknown @context, not fetched: {', '.join(map(str, unknown))}")
    types = credential.get("type")
    types = [types] if isinstance(types, str) else types
    if not isinstance(types, list) or "VerifiableCredential" not in types:
        raise InvalidRequestError("type must include VerifiableCredential")
    if not credential.get("credentialSubject"):
        raise InvalidRequestError("credential has no credentialSubject")
    if not issuer_id(dict(credential)):
        raise InvalidRequestError("credential names no issuer")


def _check_options(options: Any) -> dict[str, Any]:
    if options is None:
        return {}
    if not isinstance(options, Mapping):
        raise InvalidRequestError("options must be a JSON object")
    unknown = sorted(set(options) - ISSUE_OPTIONS)
    if unknown:
        raise UnsupportedOptionError(f"unsupported option(s): {', '.join(unknown)}")
    if options.get("proofPurpose", "assertionMethod") != "assertionMethod":
        raise UnsupportedOptionError("a credential's proofPurpose is assertionMethod")
    if "created" in options:
        try:
            parse_datetime(options["created"], "options.created")
        except ProofError as err:
            raise InvalidRequestError(str(err)) from err
    return dict(options)


def _hosted_issuer(uow: UowFactory, public_url: str, issuer: str) -> Organisation:
    prefix = did_web_for(public_url, "orgs") + ":"
    if not issuer.startswith(prefix) or ":" in issuer[len(prefix) :]:
        raise InvalidRequestError(f"issuer {issuer!r} is not an organisation hosted here")
    try:
        with uow() as tx:
            return tx.orgs.by_slug(issuer[len(prefix) :])
    except UnknownOrganisationError as err:
        raise InvalidRequestError(f"issuer {issuer!r} is not an organisation hosted here") from err


def _check_signed(text: str, public_key: bytes, vm: str) -> None:
    """What we signed must verify under the key we signed with, before anyone sees it."""
    if not verifies_under(text, public_key):
        raise InvalidRequestError(f"the credential signed with {vm} does not verify")
