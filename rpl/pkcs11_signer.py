"""A key store on a PKCS#11 token (an HSM, or SoftHSM2 for tests): keys that never leave it.

Keys are Ed25519 pairs made on the token with CKM_EC_EDWARDS_KEY_PAIR_GEN (curve edwards25519,
OID 1.3.101.112), private part sensitive and not extractable, labelled `rpl:<owner id>:<key id>`
so each organisation's keys are found again by label. The database keeps the public key and the
label (in `SealedKey.ciphertext`, with `store="pkcs11"`); signing uses CKM_EDDSA (pure Ed25519).

Settings: RPL_SIGNER=pkcs11, RPL_PKCS11_MODULE (the library, e.g.
/usr/lib/softhsm/libsofthsm2.so), RPL_PKCS11_TOKEN_LABEL, RPL_PKCS11_PIN (the user PIN).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import pkcs11
from pkcs11 import Attribute, KeyType, Mechanism, ObjectClass
from pkcs11.util.ec import encode_named_curve_parameters

from rpl.keys import SealedKey
from rpl.signer import SignerUnavailableError

PKCS11 = "pkcs11"
ED25519_OID = "1.3.101.112"
_OCTET_STRING = 0x04
_ED25519_KEY_BYTES = 32


def label_for(owner_id: str, key_id: str) -> str:
    return f"rpl:{owner_id}:{key_id}"


def raw_public_key(ec_point: bytes) -> bytes:
    """CKA_EC_POINT of an Ed25519 key: DER OCTET STRING (04 20 …) per PKCS#11 3.0, or raw."""
    if len(ec_point) == _ED25519_KEY_BYTES + 2 and ec_point[:2] == bytes((_OCTET_STRING, 32)):
        return ec_point[2:]
    if len(ec_point) == _ED25519_KEY_BYTES:
        return ec_point
    raise SignerUnavailableError(f"the token returned an unexpected EC point ({len(ec_point)} B)")


class Pkcs11KeyStore:
    """One logged-in session to one token, shared by this process's signers under a lock."""

    name = PKCS11

    def __init__(self, module: str, token_label: str, pin: str) -> None:
        try:
            self._token = pkcs11.lib(module).get_token(token_label=token_label)
            self._session: Any = self._token.open(rw=True, user_pin=pin)
        except (RuntimeError, pkcs11.PKCS11Error) as err:
            raise SignerUnavailableError(
                f"PKCS#11 token {token_label!r} in {module} cannot be opened: {err!r}"
            ) from err
        self._lock = threading.Lock()

    def generate(self, owner_id: str, key_id: str) -> SealedKey:
        label = label_for(owner_id, key_id)
        with self._lock:
            public, _ = self._session.generate_keypair(
                KeyType.EC_EDWARDS,
                mechanism=Mechanism.EC_EDWARDS_KEY_PAIR_GEN,
                store=True,
                label=label,
                public_template={Attribute.EC_PARAMS: encode_named_curve_parameters(ED25519_OID)},
                private_template={Attribute.SENSITIVE: True, Attribute.EXTRACTABLE: False},
            )
            point = public[Attribute.EC_POINT]
        return SealedKey(key_id, raw_public_key(point), label.encode(), store=PKCS11)

    def open(self, verification_method: str, owner_id: str, sealed: SealedKey) -> Pkcs11Signer:
        label = sealed.ciphertext.decode()
        if label != label_for(owner_id, sealed.key_id):
            raise SignerUnavailableError(f"key {sealed.key_id!r} of {owner_id!r}: wrong label")
        with self._lock:
            try:
                key = self._session.get_key(object_class=ObjectClass.PRIVATE_KEY, label=label)
            except (pkcs11.NoSuchKey, pkcs11.MultipleObjectsReturned) as err:
                raise SignerUnavailableError(f"the token has no single key {label!r}") from err
        return Pkcs11Signer(verification_method, sealed.public_key, key, self._lock)

    def close(self) -> None:
        with self._lock:
            self._session.close()


@dataclass(frozen=True)
class Pkcs11Signer:
    verification_method: str
    public_key: bytes
    _key: Any
    _lock: threading.Lock

    def sign(self, data: bytes) -> bytes:
        with self._lock:  # one session: PKCS#11 forbids two operations on it at once
            return bytes(self._key.sign(data, mechanism=Mechanism.EDDSA))
