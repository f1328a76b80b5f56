"""Verification of a credential: every check is listed, every failure named, nothing raised.

A credential is verified only when each applicable check passed: it is well-formed JSON without
duplicate keys, its contexts are known, it satisfies its schema, every proof verifies, each proof's key
belongs to the issuer and is an assertion method of the issuer's DID document, and it is within its
validity period. A credential carrying a status entry is not verified until its status was checked.

A VC-JWT (`rpl.proofs.jose`) is checked the same way, its JWS (check `jws`) standing in for the
proof: the key named by `kid` must belong to the issuer, and the payload gets the document checks.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from rpl import schema
from rpl.contexts import KNOWN_CONTEXTS
from rpl.dids import DidResolver, ResolvedKey
from rpl.errors import RplError
from rpl.jsonio import loads_strict
from rpl.proofs.dataintegrity import verify_proof
from rpl.proofs.jose import ALG as JWS_ALG
from rpl.proofs.jose import compact_jws_in, verify_vc_jwt
from rpl.status import (
    StatusEntry,
    StatusListError,
    StatusListFetcher,
    StatusListUnavailableError,
    decode_list,
    purposes_of,
    read_entries,
    read_status,
)

log = logging.getLogger("rpl.verify")

OB_TYPES = {"OpenBadgeCredential", "AchievementCredential"}


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool
    detail: str


@dataclass(frozen=True)
class VerificationResult:
    checks: tuple[Check, ...]
    credential: dict[str, Any] | None = None

    @property
    def verified(self) -> bool:
        return bool(self.checks) and all(c.passed for c in self.checks)

    @property
    def errors(self) -> tuple[str, ...]:
        return tuple(f"{c.name}: {c.detail}" for c in self.checks if not c.passed)

    def to_json(self) -> dict[str, Any]:
        return {
            "verified": self.verified,
            "checks": [
                {"check": c.name, "passed": c.passed, "detail": c.detail} for c in self.checks
            ],
            "errors": list(self.errors),
        }


@dataclass
class _Run:
    checks: list[Check] = field(default_factory=list)
    # Where status lists come from; None: nowhere, so any status is unknown.
    status_lists: StatusListFetcher | None = None

    def add(self, name: str, passed: bool, detail: str) -> bool:
        self.checks.append(Check(name, passed, detail))
        return passed


def verify_credential(
    source: Any,
    resolver: DidResolver,
    now: datetime,
    *,
    status_lists: StatusListFetcher | None = None,
) -> VerificationResult:
    """Verify a credential given as JSON text or bytes, as an already parsed value, or as a
    VC-JWT (`application/vc+jwt`: a compact JWS, text or bytes, whose payload is the credential).
    """
    run = _Run(status_lists=status_lists)
    document: dict[str, Any] | None = None
    jws_keys: dict[str, ResolvedKey] = {}
    try:
        token = compact_jws_in(source)
        if token is None:
            document = _parse(source, run)
        else:
            document = _open_jws(token, _recording_resolver(resolver, jws_keys), now, run)
        if document is not None:
            _verify_document(document, resolver, now, run, jws_keys if token else None)
    except Exception as err:  # the outer edge: a bad credential must never crash a verifier
        log.exception("unexpected error while verifying a credential")
        run.add("internal", False, f"the verifier failed on this document: {err!r}")
    return VerificationResult(tuple(run.checks), document)


def _open_jws(
    token: str, resolve_key: Callable[[str], bytes], now: datetime, run: _Run
) -> dict[str, Any] | None:
    """The credential inside a VC-JWT, or None unless its JWS verifies (VC-JOSE-COSE, Verifying
    a Credential Secured with JOSE: a rejected JWT yields no document)."""
    check = verify_vc_jwt(token, resolve_key, now=now)
    if not check.verified:
        run.add("jws", False, "; ".join(check.errors))
        return None
    run.add("jws", True, f"{JWS_ALG} by {check.kid}: signature valid")
    return check.payload


def _parse(source: Any, run: _Run) -> dict[str, Any] | None:
    if not isinstance(source, (str, bytes, bytearray)):
        document: Any = source
    else:
        try:
            document = loads_strict(source)
        except RplError as err:
            run.add("json", False, str(err))
            return None
        run.add("json", True, "well-formed JSON, no duplicate keys")
    if not isinstance(document, dict):
        run.add("structure", False, "a credential is a JSON object")
        return None
    return document


def _verify_document(
    doc: dict[str, Any],
    resolver: DidResolver,
    now: datetime,
    run: _Run,
    jws_keys: dict[str, ResolvedKey] | None = None,
) -> None:
    """The document checks; `jws_keys` (the key that signed its VC-JWT) when it came as one."""
    if not _structure(doc, run):
        return
    if not _contexts(doc, run):
        return
    _schema(doc, run)
    keys: dict[str, ResolvedKey] = dict(jws_keys or {})
    # A VC-JWT is secured by its JWS; a proof it carries as well must still verify.
    if jws_keys is None or "proof" in doc:
        _proofs(doc, _recording_resolver(resolver, keys), now, run)
    _issuer(doc, keys, run)
    _validity(doc, now, run)
    _status(doc, resolver, now, run)


def _structure(doc: dict[str, Any], run: _Run) -> bool:
    types = doc.get("type")
    types = [types] if isinstance(types, str) else types
    if not isinstance(types, list) or not all(isinstance(t, str) for t in types):
        return run.add("structure", False, "type must be a string or a list of strings")
    if "VerifiableCredential" not in types:
        return run.add("structure", False, "type must include VerifiableCredential")
    if not issuer_id(doc):
        return run.add("structure", False, "the credential names no issuer")
    if "credentialSubject" not in doc:
        return run.add("structure", False, "the credential has no credentialSubject")
    return run.add("structure", True, "a Verifiable Credential with issuer and subject")


def issuer_id(doc: dict[str, Any]) -> str | None:
    issuer = doc.get("issuer")
    value = issuer.get("id") if isinstance(issuer, dict) else issuer
    return value if isinstance(value, str) and value else None


def _contexts(doc: dict[str, Any], run: _Run) -> bool:
    contexts = doc.get("@context")
    contexts = [contexts] if isinstance(contexts, (str, dict)) else contexts
    if not isinstance(contexts, list) or not contexts:
        return run.add("contexts", False, "@context is missing")
    if contexts[0] != "https://www.w3.org/ns/credentials/v2":
        return run.add("contexts", False, "the first @context must be the VC 2.0 context")
    unknown = [c for c in contexts if isinstance(c, str) and c not in KNOWN_CONTEXTS]
    if unknown:
        return run.add("contexts", False, f"unknown context(s), not fetched: {', '.join(unknown)}")
    return run.add("contexts", True, "every context is known and bundled")


def _schema(doc: dict[str, Any], run: _Run) -> None:
    types = doc.get("type") or []
    if not OB_TYPES.intersection(types if isinstance(types, list) else [types]):
        return
    errors = schema.validate_achievement_credential(doc)
    if errors:
        run.add("schema", False, "; ".join(errors[:5]) + (" …" if len(errors) > 5 else ""))
    else:
        run.add("schema", True, "valid against the 1EdTech Open Badges 3.0 schema")


def _recording_resolver(
    resolver: DidResolver, keys: dict[str, ResolvedKey]
) -> Callable[[str], bytes]:
    def resolve_key(verification_method: str) -> bytes:
        resolved = resolver.resolve_key(verification_method)
        keys[verification_method] = resolved
        return resolved.public_key

    return resolve_key


def _proofs(
    doc: dict[str, Any], resolve_key: Callable[[str], bytes], now: datetime, run: _Run
) -> None:
    if not doc.get("proof"):
        run.add("proof", False, "the credential carries no proof")
        return
    for check in verify_proof(doc, resolve_key, now=now):
        label = f"{check.cryptosuite or 'unknown suite'} by {check.verification_method or '?'}"
        if check.verified and check.proof_purpose != "assertionMethod":
            run.add(
                "proof",
                False,
                f"{label}: proof purpose is {check.proof_purpose!r}, "
                "a credential needs assertionMethod",
            )
        elif check.verified:
            run.add("proof", True, f"{label}: signature valid")
        else:
            run.add("proof", False, f"{label}: " + "; ".join(check.errors))


def _issuer(doc: dict[str, Any], keys: dict[str, ResolvedKey], run: _Run) -> None:
    issuer = issuer_id(doc)
    for vm, key in keys.items():
        if vm.split("#", 1)[0] != issuer or key.controller != issuer:
            run.add(
                "issuer",
                False,
                f"key {vm} is controlled by {key.controller!r}, not by the issuer {issuer!r}",
            )
        elif key.revoked is not None:
            run.add(
                "issuer",
                False,
                f"signed with key {vm}, which the issuer marked compromised on {key.revoked}",
            )
        elif not key.assertion_method:
            run.add("issuer", False, f"{issuer} does not list {vm} as an assertion method")
        else:
            run.add("issuer", True, f"signed with a key of the issuer {issuer}")


CLOCK_SKEW = timedelta(minutes=2)


def _validity(doc: dict[str, Any], now: datetime, run: _Run) -> None:
    problems: list[str] = []
    bounds = {}
    for name in ("validFrom", "validUntil"):
        if name in doc:
            try:
                bounds[name] = parse_datetime(doc[name])
            except ValueError:
                problems.append(f"{name} {doc[name]!r} is not a date-time")
    # Clocks disagree by seconds: a document signed "now" elsewhere may carry a validFrom that
    # is a moment ahead of ours. Past the tolerance it is not yet valid.
    if "validFrom" in bounds and bounds["validFrom"] > now + CLOCK_SKEW:
        problems.append(f"not valid before {doc['validFrom']}")
    if "validUntil" in bounds and bounds["validUntil"] < now:
        problems.append(f"expired on {doc['validUntil']}")
    if problems:
        run.add("validity", False, "; ".join(problems))
    else:
        run.add("validity", True, "within its validity period")


_STATUS_WORDS = {"revocation": "revoked", "suspension": "suspended"}


def _status(doc: dict[str, Any], resolver: DidResolver, now: datetime, run: _Run) -> None:
    """Bitstring Status List v1.0 §3.2, per entry: fetch the list, verify it, read the bit.

    A list that cannot be fetched or trusted leaves the status unknown, which fails the check:
    a verifier that could not look never says "not revoked".
    """
    if "credentialStatus" not in doc:
        return
    for entry in read_entries(doc["credentialStatus"]):
        if isinstance(entry, str):
            run.add("status", False, f"status unknown: {entry}")
        elif run.status_lists is None:
            run.add(
                "status",
                False,
                "status unknown: this verifier was given no way to fetch status lists, so it "
                f"cannot say it is not {_STATUS_WORDS.get(entry.purpose, entry.purpose)}",
            )
        else:
            run.add("status", *_entry_status(doc, entry, resolver, now, run.status_lists))


def _entry_status(
    doc: dict[str, Any],
    entry: StatusEntry,
    resolver: DidResolver,
    now: datetime,
    fetch: StatusListFetcher,
) -> tuple[bool, str]:
    word = _STATUS_WORDS.get(entry.purpose)
    if word is None or entry.status_size != 1:
        return False, f"status unknown: a {entry.purpose!r} entry is not one this verifier reads"
    where = f"index {entry.index} of {entry.list_url}"
    try:
        fetched = fetch(entry.list_url)
        problem = _status_list_problem(doc, entry, fetched.document, resolver, now)
        if problem is None and fetched.fetched_at is not None:
            problem = _stale(fetched.document, fetched.fetched_at, now)
        if problem is not None:
            return False, f"status unknown: the {entry.purpose} list {entry.list_url} {problem}"
        bits = decode_list(fetched.document["credentialSubject"]["encodedList"])
        value = read_status(bits, entry)
    except (StatusListUnavailableError, StatusListError) as err:
        return False, f"status unknown: {entry.purpose} ({where}): {err}"
    if value:
        return False, f"{word} ({where})"
    return True, f"not {word} ({where})"


def _status_list_problem(
    doc: dict[str, Any],
    entry: StatusEntry,
    status_list: dict[str, Any],
    resolver: DidResolver,
    now: datetime,
) -> str | None:
    """Why the fetched status list credential cannot be trusted for `entry`, or None."""
    if status_list.get("id") != entry.list_url:
        return f"answered with a document whose id is {status_list.get('id')!r}"
    types = status_list.get("type")
    if not isinstance(types, list) or "BitstringStatusListCredential" not in types:
        return "is not a BitstringStatusListCredential"
    result = verify_credential(status_list, resolver, now)  # proof, issuer key, validity period
    if not result.verified:
        return "did not verify: " + "; ".join(result.errors)
    if issuer_id(status_list) != issuer_id(doc):
        return f"is issued by {issuer_id(status_list)!r}, not by the credential's issuer"
    subject = status_list.get("credentialSubject")
    if not isinstance(subject, dict) or subject.get("type") != "BitstringStatusList":
        return "has no BitstringStatusList subject"
    if entry.purpose not in purposes_of(subject):
        return f"serves {subject.get('statusPurpose')!r}, not {entry.purpose!r}"
    if not isinstance(subject.get("encodedList"), str):
        return "has no encodedList"
    return None


def _stale(status_list: dict[str, Any], fetched_at: datetime, now: datetime) -> str | None:
    """A cached copy older than the list's `ttl` (milliseconds) must be fetched again."""
    ttl = status_list["credentialSubject"].get("ttl")
    if isinstance(ttl, int) and not isinstance(ttl, bool) and ttl >= 0:
        age = (now - fetched_at).total_seconds() * 1000
        if age > ttl:
            return f"copy is {age / 1000:.0f} s old, older than its ttl of {ttl / 1000:.0f} s"
    return None


def parse_datetime(value: Any) -> datetime:
    if not isinstance(value, str):
        raise ValueError(value)
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed
