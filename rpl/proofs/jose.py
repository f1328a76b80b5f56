"""VC-JWT: a credential secured as a JWS, per W3C Securing Verifiable Credentials using JOSE and
COSE 1.0 (VC-JOSE-COSE), with EdDSA over Ed25519 (RFC 8037). Section names cite that spec.

What rpl writes (§ Securing JSON-LD Verifiable Credentials with JOSE, #securing-with-jose):

* the JWS compact serialization (RFC 7515 §7.1), the one form implementations must support;
* the protected header `{"alg": "EdDSA", "typ": "vc+jwt", "cty": "vc", "kid": <method URL>}`.
  `kid` is the DID URL of the issuer's key, which § kid requires when the key is a DID URL;
* the payload is the unsecured credential itself and nothing else. No JWT claims are added:
  `issuer`, `id`, `validFrom` and `validUntil` already say what `iss`, `jti`, `nbf` and `exp`
  would, and § JOSE Header Parameters and JWT Claims asks that such pairs never conflict.

What rpl accepts: the same header (`typ`/`cty` with or without `application/`, RFC 7515
§4.1.9), no `crit` (rpl understands no extension, RFC 7515 §4.1.11), and the key found through
`kid` only; a key carried in the token (`jwk`, `x5c`, …) is never trusted. Claims it finds are
checked as RFC 7519 and VC-JOSE-COSE say: `iss` must be the issuer (§ iss), `exp` and `nbf` bound
the signature's life, and `vc`/`vp` must not be present. Header and payload are read with
`loads_strict`, so a duplicate key is refused rather than resolved one way or another.

Pure Python: no web framework, ORM or workflow engine, no network, no clock.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from rpl.errors import RplError
from rpl.jsonio import loads_strict
from rpl.proofs.dataintegrity import (
    ED25519_SIGNATURE_LENGTH,
    ProofError,
    Signer,
    ed25519_verify,
)

MEDIA_TYPE = "application/vc+jwt"
ALG = "EdDSA"
TYP = "vc+jwt"
CTY = "vc"
# Claims VC-JOSE-COSE forbids outright: they belong to the VC 1.1 JWT encoding, not to VC 2.0.
FORBIDDEN_CLAIMS = ("vc", "vp")

KeyResolver = Callable[[str], bytes]
"""Verification method URL → raw 32-byte Ed25519 public key; raises an `RplError` if it cannot."""

_BASE64URL = re.compile(r"[A-Za-z0-9_-]*")
# Loose on purpose: padded or standard-alphabet segments are still routed here, to be refused
# with a precise message rather than as "not JSON".
_COMPACT_SHAPE = re.compile(r"[A-Za-z0-9_\-+/=]+\.[A-Za-z0-9_\-+/=]*\.[A-Za-z0-9_\-+/=]*")


class JoseError(RplError):
    """A token that is not a well-formed VC-JWT, or a credential that cannot be secured as one."""


@dataclass(frozen=True)
class JwsCheck:
    """The outcome of checking a VC-JWT; `errors` is empty exactly when `verified`.

    `payload` is the credential, given only when the signature verified (VC-JOSE-COSE
    § Verifying a Credential or Presentation Secured with JOSE sets the document to null
    otherwise); `kid` is the header's key id when there was one.
    """

    verified: bool
    kid: str | None
    errors: tuple[str, ...]
    header: dict[str, Any] = field(default_factory=dict)
    payload: dict[str, Any] | None = None


# --- base64url (RFC 7515 §2, Appendix C) --------------------------------------------------------


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str, what: str) -> bytes:
    """Unpadded base64url, refusing padding, other alphabets and non-canonical trailing bits."""
    if not _BASE64URL.fullmatch(text):
        raise JoseError(f"the JWS {what} is not unpadded base64url: {_excerpt(text)}")
    if len(text) % 4 == 1:
        raise JoseError(f"the JWS {what} has an impossible base64url length ({len(text)})")
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    # Unused low bits must be zero, so a token has exactly one spelling (no malleable copies).
    if b64url_encode(data) != text:
        raise JoseError(f"the JWS {what} is not canonical base64url (stray trailing bits)")
    return data


def _excerpt(text: str, limit: int = 40) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "…")


# --- writing ------------------------------------------------------------------------------------


def protected_header(verification_method: str) -> dict[str, str]:
    """The JOSE header rpl writes for a credential signed with `verification_method`."""
    if not isinstance(verification_method, str) or "#" not in verification_method:
        raise JoseError(
            f"kid {verification_method!r} must be a verification method URL with a fragment"
        )
    return {"alg": ALG, "typ": TYP, "cty": CTY, "kid": verification_method}


def _json_bytes(value: Mapping[str, Any]) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


def sign_vc_jwt(credential: Mapping[str, Any], signer: Signer, verification_method: str) -> str:
    """The credential secured as a VC-JWT (`application/vc+jwt`), signed by `signer`.

    The credential is not changed; it becomes the payload as it is. Raises `JoseError` for a
    document that is not an object, carries a forbidden `vc`/`vp` claim or holds NaN.
    """
    if not isinstance(credential, Mapping):
        raise JoseError("a VC-JWT secures a credential, which is a JSON object")
    forbidden = [name for name in FORBIDDEN_CLAIMS if name in credential]
    if forbidden:
        raise JoseError(f"a VC-JWT must not carry the JWT claim {forbidden[0]!r}")
    header = protected_header(verification_method)
    try:
        payload = _json_bytes(credential)
    except (TypeError, ValueError) as err:
        raise JoseError(f"the credential cannot be written as JSON: {err}") from err
    signing_input = f"{b64url_encode(_json_bytes(header))}.{b64url_encode(payload)}"
    signature = signer.sign(signing_input.encode("ascii"))
    if len(signature) != ED25519_SIGNATURE_LENGTH:
        raise JoseError(f"the signer returned {len(signature)} bytes, not an Ed25519 signature")
    return f"{signing_input}.{b64url_encode(signature)}"


# --- reading ------------------------------------------------------------------------------------


def compact_jws_in(source: Any) -> str | None:
    """The compact JWS in `source` (text or bytes, surrounding whitespace dropped), or None.

    Only the shape is looked at: three dot-separated runs of base64 characters, which no JSON
    text has. Whether the parts decode is `decode_vc_jwt`'s business.
    """
    if isinstance(source, bytes | bytearray):
        try:
            source = bytes(source).decode("ascii")
        except UnicodeDecodeError:
            return None
    if not isinstance(source, str):
        return None
    text = source.strip()
    return text if _COMPACT_SHAPE.fullmatch(text) else None


def decode_vc_jwt(token: str) -> tuple[dict[str, Any], dict[str, Any], bytes, bytes]:
    """Split and decode a compact JWS: (header, payload, signing input, signature).

    Nothing is verified here. Raises `JoseError` if the token is not three base64url parts, if
    header or payload is not a JSON object (duplicate keys refused), or the payload is detached.
    """
    if not isinstance(token, str):
        raise JoseError("a VC-JWT is text")
    parts = token.split(".")
    if len(parts) != 3:
        raise JoseError(
            f"a compact JWS has 3 dot-separated parts, this has {len(parts)}"
            + (" (5 parts is JWE, which rpl does not read)" if len(parts) == 5 else "")
        )
    encoded_header, encoded_payload, encoded_signature = parts
    if not encoded_payload:
        raise JoseError("the JWS payload is empty (detached payloads are not accepted)")
    header = _json_object(b64url_decode(encoded_header, "header"), "header")
    payload = _json_object(b64url_decode(encoded_payload, "payload"), "payload")
    signature = b64url_decode(encoded_signature, "signature")
    signing_input = f"{encoded_header}.{encoded_payload}".encode("ascii")
    return header, payload, signing_input, signature


def _json_object(data: bytes, what: str) -> dict[str, Any]:
    try:
        value = loads_strict(data)
    except RplError as err:
        raise JoseError(f"the JWS {what} is not acceptable JSON: {err}") from err
    if not isinstance(value, dict):
        raise JoseError(f"the JWS {what} is not a JSON object")
    return value


# --- verifying ----------------------------------------------------------------------------------


def verify_vc_jwt(token: Any, resolve_key: KeyResolver, *, now: datetime | None = None) -> JwsCheck:
    """Check a VC-JWT: its shape, header, signature (key from `kid` via `resolve_key`) and the
    JWT claims it may carry. Never raises for a bad token: each problem becomes an error string.

    With `now` (naive means UTC), `exp` and `nbf` are enforced; without it they are not read.
    """
    try:
        header, payload, signing_input, signature = decode_vc_jwt(token)
    except JoseError as err:
        return JwsCheck(False, None, (str(err),))
    kid = header.get("kid") if isinstance(header.get("kid"), str) else None

    def failed(*errors: str) -> JwsCheck:
        return JwsCheck(False, kid, errors, header)

    errors = header_errors(header)
    if not errors and len(signature) != ED25519_SIGNATURE_LENGTH:
        errors = (f"the signature holds {len(signature)} bytes, an Ed25519 signature is 64",)
    if errors or kid is None:
        return failed(*errors)
    try:
        public_key = resolve_key(kid)
    except RplError as err:
        return failed(f"cannot resolve kid {kid!r}: {err}")
    try:
        valid = ed25519_verify(signing_input, signature, public_key)
    except ProofError as err:
        return failed(str(err))
    if not valid:
        return failed(f"the signature does not match the token and the key of {kid!r}")
    errors = claim_errors(header, payload, now)
    if errors:
        return failed(*errors)
    return JwsCheck(True, kid, (), header, payload)


def header_errors(header: Mapping[str, Any]) -> tuple[str, ...]:
    """What is wrong with a protected header, checked before any key is looked up."""
    errors: list[str] = []
    alg = header.get("alg")
    if alg == "none":
        errors.append("alg 'none' means the token is not signed; it is refused")
    elif alg != ALG:
        errors.append(f"alg {alg!r} is not accepted; a VC-JWT from rpl is signed with {ALG!r}")
    if _media_type(header.get("typ")) != TYP:
        errors.append(f"typ {header.get('typ')!r} is not {TYP!r}")
    if "cty" in header and _media_type(header["cty"]) != CTY:
        errors.append(f"cty {header['cty']!r} is not {CTY!r}")
    kid = header.get("kid")
    if kid is None:
        errors.append("the header has no kid naming the issuer's verification method")
    elif not isinstance(kid, str) or not kid:
        errors.append(f"kid {kid!r} is not a verification method URL")
    if "crit" in header:
        errors.append(f"crit {header['crit']!r} names extensions this verifier does not understand")
    return tuple(errors)


def _media_type(value: Any) -> str | None:
    # Media type names are case-insensitive; `application/` may be left out (RFC 7515 §4.1.9).
    return value.lower().removeprefix("application/") if isinstance(value, str) else None


def claim_errors(
    header: Mapping[str, Any], payload: Mapping[str, Any], now: datetime | None
) -> tuple[str, ...]:
    """The registered JWT claims a token may carry beside the credential, checked."""
    errors = [
        f"the JWT claim {name!r} must not be present"
        for name in FORBIDDEN_CLAIMS
        if name in payload
    ]
    issuer = _issuer_id(payload)
    for where, values in (("header", header), ("payload", payload)):
        if "iss" in values and values["iss"] != issuer:
            errors.append(f"iss {values['iss']!r} in the {where} is not the issuer {issuer!r}")
    if now is not None:
        now = now if now.tzinfo is not None else now.replace(tzinfo=UTC)
        errors += _time_claim_errors(payload, now)
    return tuple(errors)


def _time_claim_errors(payload: Mapping[str, Any], now: datetime) -> list[str]:
    errors: list[str] = []
    for name in ("exp", "nbf"):
        if name not in payload:
            continue
        value = payload[name]
        if isinstance(value, bool) or not isinstance(value, int | float):
            errors.append(f"{name} {value!r} is not a NumericDate (seconds since 1970)")
        elif name == "exp" and now.timestamp() >= value:
            errors.append(f"the token expired at {_moment(value)} (exp)")
        elif name == "nbf" and now.timestamp() < value:
            errors.append(f"the token is not valid before {_moment(value)} (nbf)")
    return errors


def _moment(seconds: float) -> str:
    try:
        return datetime.fromtimestamp(seconds, UTC).isoformat().replace("+00:00", "Z")
    except (OverflowError, OSError, ValueError):
        return str(seconds)


def _issuer_id(payload: Mapping[str, Any]) -> str | None:
    issuer = payload.get("issuer")
    value = issuer.get("id") if isinstance(issuer, Mapping) else issuer
    return value if isinstance(value, str) else None
