"""Verifiable Presentations (VC Data Model 2.0 §4.13): a holder shows several credentials at once.

A presentation is signed by its holder with a Data Integrity proof whose purpose is
`authentication` and which carries the verifier's `challenge` and `domain` (VC-DI §2.1), so a
copy cannot be replayed to another verifier or for another request. Verifying checks both layers:
the presentation's own proof (key listed under the holder's `authentication`, holder == the
key's controller, challenge and domain as asked) and each credential inside it, with the same
checks `rpl.verify` makes for a credential shown alone.

Credentials travel as they are (Data Integrity) or, for a VC-JWT, as an
`EnvelopedVerifiableCredential` whose id is a `data:application/vc+jwt,` URL (VC 2.0 §4.13.1).

Pure: no web framework, ORM or workflow engine; keys, clock and resolvers are passed in.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rpl.dids import DidResolver
from rpl.errors import RplError
from rpl.jsonio import loads_strict
from rpl.proofs.dataintegrity import (
    EDDSA_RDFC_2022,
    ProofOptions,
    Signer,
    add_proof,
    verify_proof,
)
from rpl.status import StatusListFetcher
from rpl.verify import Check, VerificationResult, verify_credential

log = logging.getLogger("rpl.presentations")

VC_V2_CONTEXT = "https://www.w3.org/ns/credentials/v2"
AUTHENTICATION = "authentication"
ENVELOPED_VC = "EnvelopedVerifiableCredential"
VC_JWT_DATA_URL = "data:application/vc+jwt,"


class PresentationError(RplError):
    """A presentation that cannot be built or signed as asked."""


@dataclass(frozen=True)
class PresentationResult:
    """The presentation's own checks and one `VerificationResult` per credential in it."""

    checks: tuple[Check, ...]
    credentials: tuple[VerificationResult, ...]

    @property
    def verified(self) -> bool:
        own = bool(self.checks) and all(c.passed for c in self.checks)
        return own and all(result.verified for result in self.credentials)

    @property
    def errors(self) -> tuple[str, ...]:
        own = [f"{c.name}: {c.detail}" for c in self.checks if not c.passed]
        inner = [
            f"credential {number}: {error}"
            for number, result in enumerate(self.credentials, start=1)
            for error in result.errors
        ]
        return tuple(own + inner)

    def to_json(self) -> dict[str, Any]:
        return {
            "verified": self.verified,
            "checks": [
                {"check": c.name, "passed": c.passed, "detail": c.detail} for c in self.checks
            ],
            "credentialResults": [result.to_json() for result in self.credentials],
            "errors": list(self.errors),
        }


# --- building and signing ---------------------------------------------------------------------


def envelope_vc_jwt(token: str) -> dict[str, Any]:
    """A VC-JWT as an item of `verifiableCredential` (VC 2.0 §4.13.1 enveloped credentials)."""
    return {"@context": VC_V2_CONTEXT, "id": VC_JWT_DATA_URL + token, "type": ENVELOPED_VC}


def build_presentation(
    credentials: Sequence[Mapping[str, Any] | str], holder: str, presentation_id: str | None = None
) -> dict[str, Any]:
    """An unsigned presentation of `credentials` (documents, or VC-JWT strings) by `holder`."""
    if not credentials:
        raise PresentationError("a presentation needs at least one credential")
    if not isinstance(holder, str) or not holder.startswith("did:"):
        raise PresentationError(f"holder {holder!r} is not a DID")
    items = [envelope_vc_jwt(c) if isinstance(c, str) else dict(c) for c in credentials]
    presentation: dict[str, Any] = {"@context": [VC_V2_CONTEXT]}
    if presentation_id:
        presentation["id"] = presentation_id
    presentation |= {
        "type": ["VerifiablePresentation"],
        "holder": holder,
        "verifiableCredential": items,
    }
    return presentation


def sign_presentation(
    presentation: Mapping[str, Any],
    signer: Signer,
    verification_method: str,
    *,
    challenge: str,
    domain: str,
    created: str,
    cryptosuite: str = EDDSA_RDFC_2022,
) -> dict[str, Any]:
    """The presentation with the holder's `authentication` proof; the input is not changed."""
    if not challenge or not domain:
        raise PresentationError("a presentation proof needs the verifier's challenge and domain")
    options = ProofOptions(
        verification_method,
        created=created,
        proof_purpose=AUTHENTICATION,
        challenge=challenge,
        domain=domain,
    )
    return add_proof(presentation, options, signer, cryptosuite)


# --- verifying ----------------------------------------------------------------------------------


def verify_presentation(
    source: Any,
    resolver: DidResolver,
    now: datetime,
    *,
    challenge: str | None,
    domain: str | None,
    status_lists: StatusListFetcher | None = None,
    require_binding: bool = True,
) -> PresentationResult:
    """Check a presentation and every credential in it. Never raises for a bad presentation.

    `challenge` and `domain` are what this verifier asked for; a proof without them, or with
    others, fails. With `require_binding`, passing None for either fails too: an unbound
    presentation can be replayed. Without it (a VC API caller that asked for none), None
    means that value is not checked.
    """
    checks: list[Check] = []
    results: list[VerificationResult] = []
    try:
        document = _parse(source, checks)
        if document is not None and _structure(document, checks):
            _proof(document, resolver, now, challenge, domain, checks, require_binding)
            for item in _credentials(document):
                results.append(_inner(item, resolver, now, status_lists))
    except Exception as err:  # the outer edge: a bad presentation must never crash a verifier
        log.exception("unexpected error while verifying a presentation")
        checks.append(Check("internal", False, f"the verifier failed on this document: {err!r}"))
    return PresentationResult(tuple(checks), tuple(results))


def _parse(source: Any, checks: list[Check]) -> dict[str, Any] | None:
    document = source
    if isinstance(source, str | bytes | bytearray):
        try:
            document = loads_strict(source)
        except RplError as err:
            checks.append(Check("json", False, str(err)))
            return None
    if not isinstance(document, dict):
        checks.append(Check("structure", False, "a presentation is a JSON object"))
        return None
    return document


def _structure(doc: dict[str, Any], checks: list[Check]) -> bool:
    contexts = doc.get("@context")
    contexts = [contexts] if isinstance(contexts, str) else contexts
    types = doc.get("type")
    types = [types] if isinstance(types, str) else types
    problem = None
    if not isinstance(contexts, list) or not contexts or contexts[0] != VC_V2_CONTEXT:
        problem = "the first @context must be the VC 2.0 context"
    elif not isinstance(types, list) or "VerifiablePresentation" not in types:
        problem = "type must include VerifiablePresentation"
    elif not isinstance(doc.get("holder"), str | dict):
        problem = "the presentation names no holder"
    elif not _credentials(doc):
        problem = "the presentation carries no credential"
    if problem:
        checks.append(Check("structure", False, problem))
        return False
    checks.append(Check("structure", True, "a Verifiable Presentation with holder and credentials"))
    return True


def holder_id(doc: Mapping[str, Any]) -> str | None:
    holder = doc.get("holder")
    value = holder.get("id") if isinstance(holder, Mapping) else holder
    return value if isinstance(value, str) and value else None


def _credentials(doc: Mapping[str, Any]) -> list[Any]:
    items = doc.get("verifiableCredential")
    if items is None:
        return []
    return items if isinstance(items, list) else [items]


def _proof(
    doc: dict[str, Any],
    resolver: DidResolver,
    now: datetime,
    challenge: str | None,
    domain: str | None,
    checks: list[Check],
    require_binding: bool,
) -> None:
    if require_binding and (challenge is None or domain is None):
        missing = " and ".join(
            n for n, v in (("challenge", challenge), ("domain", domain)) if v is None
        )
        checks.append(Check("binding", False, f"no {missing} was asked for; it could be a replay"))
    methods: list[str] = []

    def resolve_key(verification_method: str) -> bytes:
        methods.append(verification_method)
        return resolver.resolve_key(verification_method).public_key

    outcome = verify_proof(
        doc,
        resolve_key,
        expected_proof_purpose=AUTHENTICATION,
        challenge=challenge,
        domain=domain,
        now=now,
    )
    for check in outcome:
        label = f"{check.cryptosuite or 'unknown suite'} by {check.verification_method or '?'}"
        detail = "signature valid" if check.verified else "; ".join(check.errors)
        checks.append(Check("presentation proof", check.verified, f"{label}: {detail}"))
    for method in methods:
        checks.append(_holder_check(doc, method, resolver))


def _holder_check(doc: Mapping[str, Any], method: str, resolver: DidResolver) -> Check:
    """The key that signed must be the holder's, listed for authentication in its DID document."""
    holder = holder_id(doc)
    did = method.split("#", 1)[0]
    try:
        key = resolver.resolve_key(method)
        listed = _lists(resolver.resolve(did).get(AUTHENTICATION), method, did)
    except RplError as err:
        return Check("holder", False, f"cannot resolve {method!r}: {err}")
    if holder is None or did != holder or key.controller != holder:
        return Check(
            "holder",
            False,
            f"the presentation was signed by {key.controller or did!r}, not by its holder {holder!r}",
        )
    if not listed:
        return Check("holder", False, f"{holder} does not list {method} for authentication")
    return Check("holder", True, f"signed with an authentication key of the holder {holder}")


def _lists(relation: Any, method: str, did: str) -> bool:
    for entry in relation or []:
        ref = entry.get("id") if isinstance(entry, dict) else entry
        if isinstance(ref, str) and (did + ref if ref.startswith("#") else ref) == method:
            return True
    return False


def _inner(
    item: Any, resolver: DidResolver, now: datetime, status_lists: StatusListFetcher | None
) -> VerificationResult:
    """One credential of the presentation, verified as if it had been shown alone."""
    if isinstance(item, Mapping) and _is_enveloped(item):
        token = str(item.get("id", ""))[len(VC_JWT_DATA_URL) :]
        return verify_credential(token, resolver, now, status_lists=status_lists)
    return verify_credential(item, resolver, now, status_lists=status_lists)


def _is_enveloped(item: Mapping[str, Any]) -> bool:
    types = item.get("type")
    types = [types] if isinstance(types, str) else types or []
    identifier = item.get("id")
    return (
        ENVELOPED_VC in types
        and isinstance(identifier, str)
        and identifier.startswith(VC_JWT_DATA_URL)
    )
