"""Secrets rpl must be able to read back (another provider's client secret, the tokens it gave
us), encrypted at rest under the master key the way organisations' keys are (`rpl.keys`):
AES-256-GCM with a random nonce, the associated data binding each ciphertext to what it is for,
so a sealed value copied onto another row (or into another field) does not open.
"""

from __future__ import annotations

import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from rpl.keys import MasterKeyError

_NONCE_BYTES = 12
_FORMAT = b"rpl-secret-v1"  # distinct from rpl.keys' "rpl-key-v1": the two never open as each other


def _aad(purpose: str) -> bytes:
    parts = (_FORMAT, purpose.encode("utf-8"))
    return b"".join(len(p).to_bytes(4, "big") + p for p in parts)


def seal_secret(master_key: bytes, purpose: str, secret: str) -> bytes:
    """`secret` encrypted for storage; `purpose` (e.g. "ob_connection:<id>:refresh_token") must be
    given again to open it."""
    nonce = secrets.token_bytes(_NONCE_BYTES)
    return nonce + AESGCM(master_key).encrypt(nonce, secret.encode("utf-8"), _aad(purpose))


def open_secret(master_key: bytes, purpose: str, sealed: bytes) -> str:
    nonce, body = sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:]
    try:
        return AESGCM(master_key).decrypt(nonce, body, _aad(purpose)).decode("utf-8")
    except InvalidTag as err:
        raise MasterKeyError(
            f"the secret for {purpose!r} does not open under this master key"
        ) from err
