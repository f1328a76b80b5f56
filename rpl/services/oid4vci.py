"""Use cases of OpenID4VCI (pre-authorised code): offer, token, credential.

1. `create_offer`: the claimant, on their private page, asks for a wallet offer for their issued
   credential. A single-use pre-authorised code (10 minutes) is made; only its hash is stored, and
   a new offer retires the older unused ones.
2. `exchange_code`: the wallet trades the code for an access token (10 minutes) and a c_nonce
   (5 minutes). Compare-and-set: of two wallets racing with one code, one wins.
3. `deliver_credential`: the wallet proves possession of its did:key (a `jwt` proof over our
   c_nonce, aud = this issuer) and receives the credential rebound to that DID
   (`rpl.oid4vci.rebind`), signed by the organisation's current key: Data Integrity for `ldp_vc`,
   a VC-JWT for `jwt_vc_json`. The token is then spent; the delivery is audited.
"""

from __future__ import annotations

import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from rpl import oid4vci
from rpl.claims import ClaimState
from rpl.oid4vci import InvalidTokenError, Oid4vciError
from rpl.securing import VC_JWT, mechanism_for, secure, secured_document, verifies_under
from rpl.services.issuance import Keyring
from rpl.services.ports import UowFactory
from rpl.storage.oid4vci import WalletGrant
from rpl.tokens import hash_token

CODE_TTL = timedelta(minutes=10)
TOKEN_TTL = timedelta(minutes=10)
NONCE_TTL = timedelta(minutes=5)


@dataclass(frozen=True)
class WalletOffer:
    uri: str
    offer: dict[str, Any]
    expires_at: datetime


def create_offer(
    uow: UowFactory, public_url: str, claimant_token: str, now: datetime
) -> WalletOffer:
    """A credential offer for the claim behind the claimant's private token."""
    code = secrets.token_urlsafe(32)
    with uow() as tx:
        claim = tx.claims.by_token(hash_token(claimant_token))
        stored = tx.credentials.by_claim(claim.id)
        if stored is None or claim.state is not ClaimState.ISSUED:
            raise Oid4vciError("invalid_request", "this claim has no credential to collect now")
        tx.wallet_grants.add(str(uuid.uuid4()), stored.id, hash_token(code), now + CODE_TTL, now)
        tx.commit()
    offer = oid4vci.credential_offer(public_url, code)
    return WalletOffer(oid4vci.offer_uri(offer), offer, now + CODE_TTL)


def exchange_code(uow: UowFactory, grant_type: str, code: str, now: datetime) -> dict[str, Any]:
    """The token response (RFC 6749 §5.1 with OID4VCI's c_nonce) for a pre-authorised code."""
    if grant_type != oid4vci.PRE_AUTHORIZED_GRANT:
        raise Oid4vciError("unsupported_grant_type", f"grant_type {grant_type!r} is not offered")
    token, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
    with uow() as tx:
        grant = tx.wallet_grants.by_code(hash_token(code or ""))
        if grant is None or grant.code_used_at is not None or grant.code_expires_at <= now:
            raise Oid4vciError(
                "invalid_grant", "the pre-authorised code is unknown, used or expired"
            )
        won = tx.wallet_grants.redeem_code(
            grant.id, hash_token(token), now + TOKEN_TTL, hash_token(nonce), now + NONCE_TTL, now
        )
        if not won:
            raise Oid4vciError("invalid_grant", "the pre-authorised code was used meanwhile")
        tx.commit()
    return {
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": int(TOKEN_TTL.total_seconds()),
        "c_nonce": nonce,
        "c_nonce_expires_in": int(NONCE_TTL.total_seconds()),
    }


def _live_grant(uow: UowFactory, access_token: str, now: datetime) -> WalletGrant:
    with uow() as tx:
        grant = tx.wallet_grants.by_token(hash_token(access_token or ""))
    if grant is None or grant.token_expires_at is None or grant.token_expires_at <= now:
        raise InvalidTokenError("invalid_token", "the access token is unknown or expired")
    if grant.delivered_at is not None:
        raise InvalidTokenError("invalid_token", "this access token was already used")
    return grant


def fresh_nonce(uow: UowFactory, access_token: str, now: datetime) -> dict[str, Any]:
    """A new c_nonce for the token's grant (after an `invalid_nonce`)."""
    grant = _live_grant(uow, access_token, now)
    nonce = secrets.token_urlsafe(24)
    with uow() as tx:
        tx.wallet_grants.renew_nonce(grant.id, hash_token(nonce), now + NONCE_TTL)
        tx.commit()
    return {"c_nonce": nonce, "c_nonce_expires_in": int(NONCE_TTL.total_seconds())}


@dataclass(frozen=True)
class WalletIssuer:
    """What delivering needs: the database, the keys, where we live, the default suite."""

    uow: UowFactory
    keyring: Keyring
    public_url: str
    default_cryptosuite: str


def deliver_credential(
    issuer: WalletIssuer, access_token: str, body: dict[str, Any], now: datetime
) -> dict[str, Any]:
    """The credential response (§8.3): the credential rebound to the wallet's DID."""
    grant = _live_grant(issuer.uow, access_token, now)
    fmt = oid4vci.requested_format(body)
    holder, nonce = oid4vci.verify_proof_jwt(oid4vci.proof_jwt_of(body), issuer.public_url, now)
    if (
        grant.nonce_hash is None
        or grant.nonce_expires_at is None
        or grant.nonce_expires_at <= now
        or not hmac.compare_digest(grant.nonce_hash, hash_token(nonce))
    ):
        raise Oid4vciError("invalid_nonce", "the proof's nonce is not the current c_nonce")
    secured, delivered_id = _sign_for(issuer, grant, holder, fmt, now)
    with issuer.uow() as tx:
        if not tx.wallet_grants.deliver(grant.id, holder, delivered_id, now):
            raise InvalidTokenError("invalid_token", "this access token was already used")
        data = {"holder": holder, "format": fmt, "delivered": delivered_id}
        tx.audit.append(
            "CredentialCollected",
            f"wallet:{holder}",
            f"credential:{grant.credential_id}",
            data,
            now,
        )
        tx.commit()
    return {"credentials": [{"credential": secured}]}


def _sign_for(
    issuer: WalletIssuer, grant: WalletGrant, holder: str, fmt: str, now: datetime
) -> tuple[Any, str]:
    with issuer.uow() as tx:
        stored = tx.credentials.get(grant.credential_id)
        if stored is None:
            raise Oid4vciError("invalid_credential_request", "the credential is gone")
        claim = tx.claims.get(stored.claim_id)
        org = tx.orgs.get(stored.organisation_id)
        sealed = tx.orgs.active_key(org.id)
    if claim.state is not ClaimState.ISSUED:
        raise Oid4vciError("credential_request_denied", f"the credential is {claim.state.value}")
    delivered_id = f"urn:uuid:{uuid.uuid4()}"
    bound = oid4vci.rebind(secured_document(stored.document), holder, delivered_id)
    signer = issuer.keyring.signer(issuer.public_url, org, sealed)
    if fmt == oid4vci.JWT_VC_JSON:
        mechanism = VC_JWT
    else:  # ldp_vc: the organisation's Data Integrity suite, or the instance's if it chose JWT
        mechanism = mechanism_for(org.securing, issuer.default_cryptosuite)
        mechanism = issuer.default_cryptosuite if mechanism == VC_JWT else mechanism
    created = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    text = secure(bound, signer, signer.verification_method, mechanism, created)
    if not verifies_under(text, sealed.public_key):
        raise Oid4vciError("credential_request_denied", "the signed credential does not verify")
    return (text if mechanism == VC_JWT else secured_document(text)), delivered_id
