"""OpenID for Verifiable Credential Issuance 1.0, pre-authorised code flow: the pure parts.

Metadata (§12.2 credential issuer, RFC 8414 authorisation server), the credential offer (§4.1)
and its `openid-credential-offer://` URI, the wallet's proof of possession (§F.1 `jwt` proof
type: a JWS typed `openid4vci-proof+jwt`, signed by the key the credential will be bound to,
with `aud` = the issuer and `nonce` = our c_nonce), and the credential rebound to the wallet.

What the wallet receives: a copy of the credential the organisation already issued for the
claim, with `credentialSubject.id` set to the wallet's DID (did:key), a new `id`, and signed
again by the organisation's current key. Its status entries are kept, so revoking the original
revokes the wallet's copy as well; the original stays the system of record.

Pure: no web framework, ORM or workflow engine; clock, keys and secrets come in as arguments.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from rpl import multikey, oauth
from rpl.errors import RplError
from rpl.proofs.dataintegrity import ED25519_SIGNATURE_LENGTH, ProofError, ed25519_verify
from rpl.proofs.jose import JoseError, decode_vc_jwt

PRE_AUTHORIZED_GRANT = "urn:ietf:params:oauth:grant-type:pre-authorized_code"
PROOF_TYP = "openid4vci-proof+jwt"
OFFER_SCHEME = "openid-credential-offer://"
LDP_VC = "ldp_vc"
JWT_VC_JSON = "jwt_vc_json"
OB_CONTEXTS = [
    "https://www.w3.org/ns/credentials/v2",
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
]
OB_TYPES = ["VerifiableCredential", "AchievementCredential"]
# The configuration id → its format.
CONFIGURATIONS = {
    "AchievementCredential_ldp_vc": LDP_VC,
    "AchievementCredential_jwt_vc_json": JWT_VC_JSON,
}
# A proof older than this is refused even with a fresh nonce: wallets sign just before sending.
PROOF_MAX_AGE = timedelta(minutes=5)
CLOCK_SKEW = timedelta(minutes=2)


class Oid4vciError(RplError):
    """A request the issuer refuses; `code` is the OAuth / OID4VCI error code it answers with."""

    status = 400

    def __init__(self, code: str, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.description = description


class InvalidTokenError(Oid4vciError):
    """The access token is missing, unknown, expired or spent (RFC 6750 invalid_token, 401)."""

    status = 401


def issuer_metadata(public_url: str, organisation_name: str = "rpl") -> dict[str, Any]:
    """The Credential Issuer Metadata (§12.2.4) served at /.well-known/openid-credential-issuer."""
    proof_types = {"jwt": {"proof_signing_alg_values_supported": ["EdDSA"]}}
    common = {
        "scope": "AchievementCredential",
        "cryptographic_binding_methods_supported": ["did:key"],
        "proof_types_supported": proof_types,
        "display": [{"name": "Recognised prior learning", "locale": "en"}],
    }
    return {
        "credential_issuer": public_url,
        "authorization_servers": [public_url],
        "credential_endpoint": f"{public_url}/oid4vci/credential",
        "nonce_endpoint": f"{public_url}/oid4vci/nonce",
        "display": [{"name": organisation_name, "locale": "en"}],
        "credential_configurations_supported": {
            "AchievementCredential_ldp_vc": {
                "format": LDP_VC,
                **common,
                "credential_signing_alg_values_supported": ["eddsa-rdfc-2022", "eddsa-jcs-2022"],
                "credential_definition": {"@context": OB_CONTEXTS, "type": OB_TYPES},
            },
            "AchievementCredential_jwt_vc_json": {
                "format": JWT_VC_JSON,
                **common,
                "credential_signing_alg_values_supported": ["EdDSA"],
                "credential_definition": {"type": OB_TYPES},
            },
        },
    }


def authorization_server_metadata(public_url: str) -> dict[str, Any]:
    """RFC 8414 metadata of rpl's one authorisation server: the OB 3.0 API's authorisation code
    grant with PKCE, refresh tokens, registration and revocation (`rpl.oauth`), and the
    pre-authorised code grant of OpenID4VCI, all at one token endpoint (`/oauth/token`; the older
    `/oid4vci/token` still takes pre-authorised codes)."""
    return {
        "issuer": public_url,
        "authorization_endpoint": f"{public_url}/oauth/authorize",
        "token_endpoint": f"{public_url}/oauth/token",
        "registration_endpoint": f"{public_url}/oauth/register",
        "revocation_endpoint": f"{public_url}/oauth/revoke",
        "scopes_supported": list(oauth.KNOWN_SCOPES),
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code", "refresh_token", PRE_AUTHORIZED_GRANT],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "pre-authorized_grant_anonymous_access_supported": True,
    }


def credential_offer(public_url: str, code: str) -> dict[str, Any]:
    """A Credential Offer (§4.1.1) with a pre-authorised code and no transaction code: the
    claimant's private page, where it is shown, already stands for who they are."""
    return {
        "credential_issuer": public_url,
        "credential_configuration_ids": list(CONFIGURATIONS),
        "grants": {PRE_AUTHORIZED_GRANT: {"pre-authorized_code": code}},
    }


def offer_uri(offer: Mapping[str, Any]) -> str:
    """The offer by value (§4.1.2), as wallets scan it from a QR code."""
    text = json.dumps(offer, separators=(",", ":"))
    return f"{OFFER_SCHEME}?credential_offer={quote(text, safe='')}"


def requested_format(body: Mapping[str, Any]) -> str:
    """The format a credential request (§8.2) asks for, by configuration id or by format."""
    configuration = body.get("credential_configuration_id")
    if isinstance(configuration, str):
        if configuration not in CONFIGURATIONS:
            raise Oid4vciError(
                "unknown_credential_configuration", f"no credential configuration {configuration!r}"
            )
        return CONFIGURATIONS[configuration]
    fmt = body.get("format")  # the form of drafts 13–15, which wallets still send
    if fmt in (LDP_VC, JWT_VC_JSON):
        return str(fmt)
    raise Oid4vciError(
        "invalid_credential_request", "name a credential_configuration_id from the offer"
    )


def proof_jwt_of(body: Mapping[str, Any]) -> str:
    """The one `jwt` proof of a credential request (`proofs.jwt[0]`, or a draft's `proof`)."""
    proofs = body.get("proofs")
    if isinstance(proofs, Mapping):
        jwts = proofs.get("jwt")
        if isinstance(jwts, list) and len(jwts) == 1 and isinstance(jwts[0], str):
            return jwts[0]
        raise Oid4vciError("invalid_proof", "send exactly one proof in proofs.jwt")
    proof = body.get("proof")
    jwt = proof.get("jwt") if isinstance(proof, Mapping) else None
    if isinstance(proof, Mapping) and proof.get("proof_type") == "jwt" and isinstance(jwt, str):
        return jwt
    raise Oid4vciError("invalid_proof", "the request carries no jwt proof of possession")


def verify_proof_jwt(token: str, audience: str, now: datetime) -> tuple[str, str]:
    """Check a `jwt` proof (§F.1, §F.4): (the wallet's DID, the nonce it signed).

    The key is the one named by `kid`, a did:key URL, and nothing in the token is trusted
    before its signature verifies. Whether the nonce is ours and fresh is the caller's check.
    """
    try:
        header, payload, signing_input, signature = decode_vc_jwt(token)
    except JoseError as err:
        raise Oid4vciError("invalid_proof", f"the proof is not a compact JWS: {err}") from err
    if header.get("typ") != PROOF_TYP:
        raise Oid4vciError("invalid_proof", f"the proof's typ must be {PROOF_TYP!r}")
    if header.get("alg") != "EdDSA":
        raise Oid4vciError("invalid_proof", f"alg {header.get('alg')!r} is not EdDSA")
    if "jwk" in header or "x5c" in header:
        raise Oid4vciError("invalid_proof", "bind with a did:key kid, not a key in the header")
    kid = header.get("kid")
    try:
        public_key = multikey.public_key_from_did_key_url(kid)  # type: ignore[arg-type]
        valid = len(signature) == ED25519_SIGNATURE_LENGTH and ed25519_verify(
            signing_input, signature, public_key
        )
    except (RplError, ProofError) as err:
        raise Oid4vciError("invalid_proof", f"kid {kid!r} is not a did:key URL: {err}") from err
    if not valid:
        raise Oid4vciError("invalid_proof", "the proof's signature does not verify")
    _check_claims(payload, audience, now)
    return str(kid).split("#", 1)[0], str(payload["nonce"])


def _check_claims(payload: Mapping[str, Any], audience: str, now: datetime) -> None:
    aud = payload.get("aud")
    if aud != audience and not (isinstance(aud, list) and audience in aud):
        raise Oid4vciError("invalid_proof", f"the proof's aud {aud!r} is not {audience!r}")
    iat = payload.get("iat")
    if isinstance(iat, bool) or not isinstance(iat, int | float):
        raise Oid4vciError("invalid_proof", "the proof has no iat")
    moment = now.timestamp()
    if iat > moment + CLOCK_SKEW.total_seconds() or iat < moment - PROOF_MAX_AGE.total_seconds():
        raise Oid4vciError("invalid_proof", "the proof's iat is not recent")
    if not isinstance(payload.get("nonce"), str):
        raise Oid4vciError("invalid_nonce", "the proof carries no nonce; ask for a fresh one")


def rebind(document: Mapping[str, Any], holder_did: str, new_id: str) -> dict[str, Any]:
    """The credential made out to `holder_did`, unsigned: a new id, the subject's id set."""
    bound = copy.deepcopy(dict(document))
    bound.pop("proof", None)
    bound["id"] = new_id
    subject = bound.get("credentialSubject")
    if not isinstance(subject, dict):
        raise Oid4vciError("invalid_credential_request", "the credential has no single subject")
    bound["credentialSubject"] = {
        "id": holder_did,
        **{k: v for k, v in subject.items() if k != "id"},
    }
    return bound
