"""How an organisation's credentials are secured: a Data Integrity cryptosuite, or VC-JOSE.

Each organisation chooses (`Organisation.securing`); None follows the instance's default
cryptosuite. A secured credential is either a JSON document with an embedded proof or a compact
JWS (`application/vc+jwt`); `secure` returns it as the text that is stored and served, and
`secured_document` reads the credential back out of either. The same verifier checks both.

Pure: no web framework, ORM or workflow engine; the signer and the time are passed in.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from rpl.errors import RplError
from rpl.proofs.dataintegrity import (
    EDDSA_JCS_2022,
    EDDSA_RDFC_2022,
    ProofOptions,
    Signer,
    add_proof,
    verify_proof,
)
from rpl.proofs.jose import compact_jws_in, decode_vc_jwt, sign_vc_jwt, verify_vc_jwt

VC_JWT = "vc-jwt"
MECHANISMS = (EDDSA_RDFC_2022, EDDSA_JCS_2022, VC_JWT)
JSON_LD_MEDIA_TYPE = "application/vc+ld+json"
JWT_MEDIA_TYPE = "application/vc+jwt"


class UnknownSecuringError(RplError):
    """A securing mechanism rpl does not offer."""


def check_mechanism(name: str) -> str:
    if name not in MECHANISMS:
        raise UnknownSecuringError(f"securing {name!r}: use one of {', '.join(MECHANISMS)}")
    return name


def mechanism_for(securing: str | None, default_cryptosuite: str) -> str:
    """The organisation's mechanism, or the instance's default cryptosuite when it chose none."""
    return check_mechanism(securing or default_cryptosuite)


def secure(
    credential: Mapping[str, Any],
    signer: Signer,
    verification_method: str,
    mechanism: str,
    created: str,
) -> str:
    """The credential secured with `mechanism`, as stored and served: JSON text or a JWS."""
    if check_mechanism(mechanism) == VC_JWT:
        return sign_vc_jwt(credential, signer, verification_method)
    options = ProofOptions(verification_method, created=created)
    signed = add_proof(credential, options, signer, mechanism)
    return json.dumps(signed, ensure_ascii=False, indent=2)


def is_jwt(text: str) -> bool:
    return compact_jws_in(text) is not None


def media_type(text: str) -> str:
    return JWT_MEDIA_TYPE if is_jwt(text) else JSON_LD_MEDIA_TYPE


def secured_document(text: str) -> dict[str, Any]:
    """The credential inside stored text: the JSON document, or a VC-JWT's payload (unchecked:
    this reads what we stored; verifying is `rpl.verify`'s business)."""
    token = compact_jws_in(text)
    if token is not None:
        return decode_vc_jwt(token)[1]
    document = json.loads(text)
    if not isinstance(document, dict):
        raise UnknownSecuringError("the stored credential is not a JSON object")
    return document


def verifies_under(text: str, public_key: bytes) -> bool:
    """Whether secured text verifies under the key that just signed it (a self-check before
    anything leaves: no resolver, no status, only the signature)."""
    if is_jwt(text):
        return verify_vc_jwt(text, lambda _: public_key).verified
    return verify_proof(secured_document(text), lambda _: public_key).verified
