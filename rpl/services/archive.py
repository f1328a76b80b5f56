"""The holder's way out and way in: export everything as one archive, import records from anywhere.

Export (`export_archive`) streams the archive `rpl.archive` describes: every credential's exact
stored bytes, a presentation of all of them signed with the holder's custodial key, a CLR of the
credentials issued here, the holder's claims and notes, and a manifest of SHA-256 hashes.

Import takes an archive (from this or another rpl instance) or single credentials (OB 3.0 /
VC 2.0 JSON with either EdDSA cryptosuite, a VC-JWT, a baked PNG/SVG badge, pasted text).
Everything given is checked first (`prepare_imports`): a bad archive or something that is not a
credential at all is refused with the reason, and nothing of that request is stored. Then each
credential is verified with the one verifier (`rpl.verify`) and stored as a held record: its
exact bytes, their hash, and the outcome. One that does not verify is kept, marked with why;
none is dropped. The same bytes imported again find their record (one per account and hash),
and a credential issued here to the same holder is recognised as the one already held. Each
credential is stored in its own transaction, so an import cut short leaves whole records only,
and running it again completes it without duplicates.

`import_credential` is the one-credential use case other front doors call (the OB 3.0 API's
upsert): bytes in, `ImportOutcome` out.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from rpl import archive, baking, bundle
from rpl.accounts import Account
from rpl.archive import ArchiveError, Limits
from rpl.bundle import BundleItemError
from rpl.clr import timestamp
from rpl.dids import DidResolver
from rpl.errors import RplError
from rpl.jsonio import loads_strict
from rpl.presentations import build_presentation, sign_presentation
from rpl.proofs.dataintegrity import EDDSA_JCS_2022
from rpl.securing import is_jwt
from rpl.services import holder
from rpl.services.ports import UowFactory
from rpl.status import StatusListFetcher
from rpl.storage import codec
from rpl.storage.holdings import HeldCredential, HeldDocument
from rpl.storage.unit_of_work import DuplicateError
from rpl.verify import VerificationResult, issuer_id, verify_credential

SOURCES = ("archive", "upload", "paste", "api")


class NotACredentialError(BundleItemError):
    """Bytes that are not a credential at all (nor a badge carrying one): nothing is stored."""


class InvalidImportError(BundleItemError):
    """Something in an import request is unusable; `problems` names each item. Nothing stored."""

    def __init__(self, problems: dict[str, list[str]]) -> None:
        super().__init__("; ".join(m for ms in problems.values() for m in ms))
        self.problems = problems


@dataclass(frozen=True)
class ImportOutcome:
    """What became of one imported credential."""

    record_id: str  # the held record's id, or the credential's id when it was issued here
    created: bool  # False: these exact bytes were already held by the account
    verified: bool
    reason: str  # "verified", or why not
    sha256: str
    label: str
    issued_here: bool = False  # the same bytes as a credential issued here to this holder
    checks: tuple[dict[str, Any], ...] = ()

    @property
    def status(self) -> str:
        return "created" if self.created else "already present"

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.record_id,
            "status": "created" if self.created else "present",
            "issuedHere": self.issued_here,
            "verified": self.verified,
            "reason": self.reason,
            "sha256": self.sha256,
            "label": self.label,
            "checks": list(self.checks),
        }


@dataclass(frozen=True)
class ImportReport:
    outcomes: list[ImportOutcome] = field(default_factory=list)
    documents_kept: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "credentials": [o.to_json() for o in self.outcomes],
            "created": sum(o.created for o in self.outcomes),
            "present": sum(not o.created for o in self.outcomes),
            "verified": sum(o.verified for o in self.outcomes),
            "documentsKept": self.documents_kept,
        }


@dataclass(frozen=True)
class Verifier:
    """How imports are verified: the DID resolver (did:web through its injectable fetcher) and
    where status lists come from (None: any status is unknown, so not verified)."""

    resolver: DidResolver
    status_lists: StatusListFetcher | None = None

    def verify(self, content: bytes, now: datetime) -> VerificationResult:
        return verify_credential(content, self.resolver, now, status_lists=self.status_lists)


# --- reading what was given -----------------------------------------------------------------------


def credential_bytes(data: bytes, label: str = "", source: str = "upload") -> bytes:
    """The credential's bytes as they will be kept: as given (a paste: trimmed), or the credential
    baked into a PNG/SVG badge. Raises `NotACredentialError` for anything else."""
    what = label or "the item"
    cap = archive.DEFAULT_LIMITS.max_entry_bytes
    if len(data) > cap:
        raise NotACredentialError(f"{what} is larger than {cap} bytes")
    try:
        text = bundle.text_of_upload(data, label)
    except BundleItemError as err:
        raise NotACredentialError(str(err)) from err
    document = bundle.document_of(text)
    if document is None:
        raise NotACredentialError(f"{what} is not readable as a credential (JSON or VC-JWT)")
    if not ({"@context", "type"} & set(document)):
        raise NotACredentialError(
            f"{what} is a JSON object but no credential (no @context, no type)"
        )
    if source == "paste" or baking.is_baked_image(data) or label.lower().endswith((".png", ".svg")):
        return text.encode("utf-8")
    return data


@dataclass(frozen=True)
class PreparedImport:
    """One item of a request, checked: a credential's bytes, or a whole checked archive."""

    label: str
    source: str
    content: bytes = b""
    archive: archive.ArchiveContents | None = None


def prepare_imports(
    items: Sequence[tuple[str, str, bytes]], limits: Limits = archive.DEFAULT_LIMITS
) -> list[PreparedImport]:
    """Check every (source, label, bytes) item; raises `InvalidImportError` naming each bad one."""
    prepared: list[PreparedImport] = []
    problems: dict[str, list[str]] = {}
    for source, label, data in items:
        key = "pasted" if source == "paste" else "files"
        what = label or source
        try:
            if archive.looks_like_zip(data) or label.lower().endswith(".zip"):
                contents = archive.read_archive(data, limits)
                for path, raw in contents.credentials():
                    try:
                        credential_bytes(raw, path, "archive")
                    except NotACredentialError as err:
                        raise ArchiveError(f"{path}: {err}") from err
                prepared.append(PreparedImport(label, "archive", archive=contents))
            else:
                content = credential_bytes(data, label, source)
                prepared.append(PreparedImport(label, source, content))
        except (ArchiveError, NotACredentialError) as err:
            problems.setdefault(key, []).append(f"{what}: {err}")
    if problems:
        raise InvalidImportError(problems)
    if not prepared:
        raise InvalidImportError({"files": ["choose a file or paste a credential"]})
    return prepared


# --- storing -------------------------------------------------------------------------------------


def import_credential(
    uow: UowFactory,
    verifier: Verifier,
    account: Account,
    data: bytes,
    now: datetime,
    *,
    source: str = "api",
    label: str = "",
) -> ImportOutcome:
    """Import ONE credential's raw bytes (JSON, VC-JWT, or a baked PNG/SVG) for `account`.

    Verifies it and keeps it as a held record (exact bytes and SHA-256, with the outcome), or
    finds the record these bytes already are. Returns whether it was created or already present,
    the record's id and the verification outcome; an unverifiable credential is kept and says
    why. Raises `NotACredentialError` (nothing stored) for bytes that are not a credential.
    """
    content = credential_bytes(data, label, source)
    return _Importer(uow, verifier, account, now).one(content, source, label or source)


def import_records(
    uow: UowFactory,
    verifier: Verifier,
    account: Account,
    items: Sequence[tuple[str, str, bytes]],
    now: datetime,
    *,
    here: str | None = None,
    limits: Limits = archive.DEFAULT_LIMITS,
) -> ImportReport:
    """Import what a holder gave: (source, label, bytes) items, each an archive or a credential.

    Everything is checked before anything is stored (`InvalidImportError` otherwise). Claims and
    notes carried in an archive are kept as they are, unless the archive came from `here` (this
    instance's public URL), where they are the live records already.
    """
    prepared = prepare_imports(items, limits)
    importer = _Importer(uow, verifier, account, now)
    outcomes: list[ImportOutcome] = []
    kept = 0
    for item in prepared:
        if item.archive is None:
            outcomes.append(importer.one(item.content, item.source, item.label))
            continue
        for path, raw in item.archive.credentials():
            content = credential_bytes(raw, path, "archive")
            outcomes.append(importer.one(content, "archive", path.rsplit("/", 1)[-1]))
        origin = str(item.archive.manifest.get("origin") or "unknown")
        if origin != here:
            kept += importer.documents(item.archive, origin)
    return ImportReport(outcomes, kept)


class _Importer:
    """Imports for one account in one request; knows the hashes of what was issued to it here."""

    def __init__(self, uow: UowFactory, verifier: Verifier, account: Account, now: datetime):
        self.uow, self.verifier, self.account, self.now = uow, verifier, account, now
        self._issued: dict[str, str] | None = None

    def issued_here(self) -> dict[str, str]:
        """SHA-256 of each credential issued here to this holder → its id."""
        if self._issued is None:
            views = holder.holdings_of(self.uow, self.account).issued
            self._issued = {
                archive.sha256_hex(v.credential.document.encode("utf-8")): v.credential.id
                for v in views
                if v.credential is not None
            }
        return self._issued

    def one(self, content: bytes, source: str, label: str) -> ImportOutcome:
        digest = archive.sha256_hex(content)
        with self.uow() as tx:
            found = tx.holdings.by_hash(self.account.id, digest)
        if found is not None:
            return _outcome(found, created=False)
        # Verification may fetch DID documents and status lists: outside any transaction.
        result = self.verifier.verify(content, self.now)
        if digest in self.issued_here():
            return _fresh_outcome(self.issued_here()[digest], result, digest, label, issued=True)
        held = _held_record(self.account.id, content, digest, source, label, result, self.now)
        with self.uow() as tx:
            tx.holdings.add(held)
            data = {"sha256": digest, "verified": held.verified, "source": source}
            actor = holder.holder_actor(self.account)
            tx.audit.append("CredentialImported", actor, f"held:{held.id}", data, self.now)
            try:
                tx.commit()
            except DuplicateError:  # the same bytes imported meanwhile by a parallel request
                with self.uow() as again:
                    found = again.holdings.by_hash(self.account.id, digest)
                assert found is not None
                return _outcome(found, created=False)
        return _outcome(held, created=True)

    def documents(self, contents: archive.ArchiveContents, origin: str) -> int:
        kept = 0
        for path, raw in contents.documents():
            try:
                if not _has_content(loads_strict(raw)):
                    continue
            except RplError:
                pass  # not JSON after all: kept as it came, like any carried record
            digest = archive.sha256_hex(raw)
            document = HeldDocument(
                id=str(uuid.uuid4()),
                account_id=self.account.id,
                sha256=digest,
                name=path.rsplit("/", 1)[-1],
                origin=origin,
                content=raw,
                imported_at=self.now,
            )
            with self.uow() as tx:
                if tx.holdings.document_by_hash(self.account.id, digest) is not None:
                    continue
                tx.holdings.add_document(document)
                try:
                    tx.commit()
                except DuplicateError:
                    continue
            kept += 1
        return kept


def _has_content(value: Any) -> bool:
    if isinstance(value, str):
        return bool(value.strip())
    if isinstance(value, dict):
        return any(_has_content(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_content(v) for v in value)
    return value is not None


def _checks(result: VerificationResult) -> tuple[dict[str, Any], ...]:
    return tuple({"check": c.name, "passed": c.passed, "detail": c.detail} for c in result.checks)


def _reason(result: VerificationResult) -> str:
    return "verified" if result.verified else "; ".join(result.errors) or "not verified"


def _held_record(
    account_id: str,
    content: bytes,
    digest: str,
    source: str,
    label: str,
    result: VerificationResult,
    now: datetime,
) -> HeldCredential:
    doc = bundle.document_of(content.decode("utf-8")) or {}
    subject = doc.get("credentialSubject")
    subject = subject[0] if isinstance(subject, list) and subject else subject
    achievement = subject.get("achievement") if isinstance(subject, dict) else None
    name = doc.get("name") or (achievement or {}).get("name")
    own_id = doc.get("id")
    return HeldCredential(
        id=str(uuid.uuid4()),
        account_id=account_id,
        sha256=digest,
        content=content,
        format="jwt" if is_jwt(content.decode("utf-8")) else "json",
        source=source if source in SOURCES else "api",
        label=label[:200],
        credential_id=own_id[:500] if isinstance(own_id, str) else None,
        issuer=(issuer_id(doc) or "")[:500] or None,
        name=str(name)[:300] if name else None,
        verified=result.verified,
        reason=_reason(result),
        checks=_checks(result),
        imported_at=now,
    )


def _outcome(held: HeldCredential, created: bool) -> ImportOutcome:
    return ImportOutcome(
        held.id, created, held.verified, held.reason, held.sha256, held.label, False, held.checks
    )


def _fresh_outcome(
    record_id: str, result: VerificationResult, digest: str, label: str, issued: bool
) -> ImportOutcome:
    reason = _reason(result)
    return ImportOutcome(
        record_id, False, result.verified, reason, digest, label, issued, _checks(result)
    )


# --- export ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportRequest:
    account: Account
    public_url: str
    now: datetime


def export_archive(uow: UowFactory, master_key: bytes, request: ExportRequest) -> Iterator[bytes]:
    """The holder's archive, streamed piece by piece (see `rpl.archive` for what is inside)."""
    holdings = holder.holdings_of(uow, request.account)
    signer = holder.holder_signer(uow, master_key, request.account, request.now)
    did = holder.holder_did(signer)
    credentials = _credential_files(holdings)
    challenge = holder.new_challenge()
    fields: dict[str, Any] = {
        "created": timestamp(request.now),
        "origin": request.public_url,
        "holder": {"id": did, "name": request.account.display_name},
        "counts": {
            "credentials": len(credentials),
            "claims": len(holdings.claims),
            "imported": len(holdings.held),
        },
    }
    if credentials:
        fields["presentation"] = {
            "path": "presentation.json",
            "challenge": challenge,
            "domain": request.public_url,
        }
    return archive.stream_zip(_files(holdings, credentials, signer, request, challenge), fields)


def _credential_files(holdings: holder.Holdings) -> list[tuple[str, bytes]]:
    files = []
    for view in holdings.issued:
        assert view.credential is not None
        text = view.credential.document
        files.append((archive.credential_path(view.credential.id, is_jwt(text)), text.encode()))
    for held in holdings.held:
        files.append((archive.credential_path(held.id, held.format == "jwt"), held.content))
    return files


def _files(
    holdings: holder.Holdings,
    credentials: list[tuple[str, bytes]],
    signer: Any,
    request: ExportRequest,
    challenge: str,
) -> Iterator[tuple[str, bytes]]:
    yield from credentials
    if credentials:
        yield (
            "presentation.json",
            archive.json_file(_presentation(credentials, signer, request, challenge)),
        )
    if any(v.credential is not None and not is_jwt(v.credential.document) for v in holdings.issued):
        clr = holder.holder_clr(holdings, signer, request.public_url, request.now)
        yield "clr.json", archive.json_file(clr)
    yield "claims.json", archive.json_file([_claim_json(v) for v in holdings.claims])
    yield "notes.json", archive.json_file(holdings.notes)
    for document in holdings.documents:
        path = f"{archive.IMPORTED_DIR}{document.sha256[:16]}/{archive.safe_name(document.name)}"
        yield path, document.content


def _presentation(
    credentials: list[tuple[str, bytes]], signer: Any, request: ExportRequest, challenge: str
) -> dict[str, Any]:
    # eddsa-jcs-2022: the presentation carries credentials from anywhere, whose contexts this
    # instance may not hold; JCS signs the JSON as it is, without expanding any context.
    items: list[Any] = [
        text if is_jwt(text) else json.loads(text)
        for text in (data.decode("utf-8") for _, data in credentials)
        if is_jwt(text) or isinstance(bundle.document_of(text), dict)
    ]
    unsigned = build_presentation(items, holder.holder_did(signer), f"urn:uuid:{uuid.uuid4()}")
    return sign_presentation(
        unsigned,
        signer,
        signer.verification_method,
        challenge=challenge,
        domain=request.public_url,
        created=timestamp(request.now),
        cryptosuite=EDDSA_JCS_2022,
    )


def _claim_json(view: Any) -> dict[str, Any]:
    claim = view.claim
    row = codec.claim_to_row(claim)
    return {
        "id": claim.id,
        "organisation": {"id": view.organisation.id, "name": view.organisation.name},
        "state": row["state"],
        "details": row["details"],
        "amendment": row["amendment"],
        "confirmedBy": row["confirmed_by"],
        "credential": view.credential.id if view.credential else None,
        "events": [
            {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in e.items()}
            for e in (codec.event_to_row(event) for event in claim.events)
        ],
    }
