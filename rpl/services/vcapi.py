"""Use cases behind the W3C CCG VC API: issue a credential for one of our organisations, verify
credentials and presentations sent by anyone.

Issuing signs what the caller sent, after checking it is a VC 2.0 credential whose issuer is an
organisation hosted here, with that organisation's active key and securing mechanism, and
verifies what it signed before answering. Nothing here stores the credential: the VC API issuer
is a signing service, and the system of record stays the claim → credential path.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from rpl.contexts import KNOWN_CONTEXTS
from rpl.dids import did_web_for
from rpl.errors import RplError
from rpl.issuance_rules import issuer_problems
from rpl.organisations import Organisation, UnknownOrganisationError
from rpl.presentations import envelope_vc_jwt
from rpl.proofs.dataintegrity import ProofError, parse_datetime
from rpl.securing import VC_JWT, mechanism_for, secure, secured_document, verifies_under
from rpl.services.issuance import Keyring
from rpl.services.ports import UowFactory
from rpl.verify import issuer_id

VC_V2_CONTEXT = "https://www.w3.org/ns/credentials/v2"
# Options this issuer understands; anything else is refused rather than silently ignored.
ISSUE_OPTIONS = {"created", "credentialStatus", "proofPurpose", "type", "cryptosuite"}


class InvalidRequestError(RplError):
    """A VC API request the service cannot act on (HTTP 400); the message says what is wrong."""


class UnsupportedOptionError(InvalidRequestError):
    """An option this issuer does not offer."""


def issue_credential(
    uow: UowFactory,
    keyring: Keyring,
    public_url: str,
    default_cryptosuite: str,
    credential: Any,
    options: Any,
    now: datetime,
) -> dict[str, Any]:
    """The credential secured by its issuer (one of our organisations): a document with a
    proof, or an `EnvelopedVerifiableCredential` holding a VC-JWT."""
    _check_unsigned(credential)
    opts = _check_options(options)
    org = _hosted_issuer(uow, public_url, issuer_id(credential) or "")
    problems = issuer_problems(org)
    if problems:
        raise InvalidRequestError("; ".join(problems))
    if "credentialStatus" in opts:
        raise UnsupportedOptionError(
            "options.credentialStatus is not offered through the VC API yet: credentials that "
            "carry status are issued through claims (status lists are tied to stored credentials)"
        )
    with uow() as tx:
        sealed = tx.orgs.active_key(org.id)
    signer = keyring.signer(public_url, org, sealed)
    mechanism = mechanism_for(org.securing, default_cryptosuite)
    if opts.get("cryptosuite") and mechanism != VC_JWT:
        mechanism = mechanism_for(str(opts["cryptosuite"]), default_cryptosuite)
    created = opts.get("created") or now.strftime("%Y-%m-%dT%H:%M:%SZ")
    document = dict(credential)
    document.setdefault("id", f"urn:uuid:{uuid.uuid4()}")
    text = secure(document, signer, signer.verification_method, mechanism, created)
    _check_signed(text, sealed.public_key, signer.verification_method)
    return envelope_vc_jwt(text) if mechanism == VC_JWT else secured_document(text)


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
