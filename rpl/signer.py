"""The signer interface: everything rpl signs (credentials, status lists, JWTs) goes through it.

A `Signer` signs bytes with one Ed25519 key and knows the verification method it signs as and the
public key a verifier will check against. A `KeyStore` creates keys and opens signers for them:

- `LocalKeyStore` (the built-in one, `RPL_SIGNER=local`): seeds sealed under the master key in the
  database (rpl.keys), opened in this process.
- `rpl.pkcs11_signer.Pkcs11KeyStore` (`RPL_SIGNER=pkcs11`): keys generated on a PKCS#11 token
  (an HSM, or SoftHSM2), never leaving it; the database keeps the public key and the key's label.

HashiCorp Vault's transit engine would be a third store, not built: `generate` would
`POST /v1/transit/keys/<name>` with `type=ed25519` and read the public key from
`GET /v1/transit/keys/<name>` (base64, 32 bytes); `open` would return a signer whose `sign`
posts `base64(data)` to `/v1/transit/sign/<name>` and strips the `vault:v1:` prefix from the
base64 signature (Vault's Ed25519 signs the message itself, as Data Integrity and JWS need).
The key's name would be kept in `ciphertext`, as the PKCS#11 label is, with `store="vault"`.

Which store holds a key is recorded with the key (`SealedKey.store`), so keys made before a
change of `RPL_SIGNER` keep working: the keyring opens each with the store that made it.
"""

from __future__ import annotations

from typing import Protocol

from rpl.config import Settings
from rpl.errors import RplError
from rpl.keys import LocalSigner, SealedKey, generate_sealed_key, open_sealed_key

LOCAL = "local"


class SignerUnavailableError(RplError):
    """The key store holding this key is not configured or cannot be reached."""


class Signer(Protocol):
    """Signs bytes with one Ed25519 key (RFC 8032 pure Ed25519: 64-byte signatures)."""

    @property
    def verification_method(self) -> str: ...

    @property
    def public_key(self) -> bytes: ...

    def sign(self, data: bytes) -> bytes: ...


class KeyStore(Protocol):
    """Where private keys live: makes new ones and opens signers for existing ones."""

    @property
    def name(self) -> str: ...

    def generate(self, owner_id: str, key_id: str) -> SealedKey: ...

    def open(self, verification_method: str, owner_id: str, sealed: SealedKey) -> Signer: ...


class LocalKeyStore:
    """The built-in store: Ed25519 seeds sealed with AES-256-GCM under the master key."""

    name = LOCAL

    def __init__(self, master_key: bytes) -> None:
        self.master_key = master_key

    def generate(self, owner_id: str, key_id: str) -> SealedKey:
        return generate_sealed_key(self.master_key, owner_id, key_id)

    def open(self, verification_method: str, owner_id: str, sealed: SealedKey) -> LocalSigner:
        return LocalSigner(verification_method, open_sealed_key(self.master_key, owner_id, sealed))


def key_store_for(keys: bytes | KeyStore) -> KeyStore:
    """A master key (the built-in store) or a store as given: what services accept as `keys`."""
    return LocalKeyStore(keys) if isinstance(keys, bytes) else keys


def key_store_from_settings(settings: Settings, master_key: bytes) -> KeyStore:
    """The store `RPL_SIGNER` names; PKCS#11 is imported only when chosen."""
    if settings.signer == "pkcs11":
        from rpl.pkcs11_signer import Pkcs11KeyStore

        assert settings.pkcs11_module and settings.pkcs11_token_label and settings.pkcs11_pin
        return Pkcs11KeyStore(
            settings.pkcs11_module, settings.pkcs11_token_label, settings.pkcs11_pin
        )
    return LocalKeyStore(master_key)
