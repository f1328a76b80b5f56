"""The master key on disk or in the environment, and organisation keys sealed under it."""

from __future__ import annotations

import dataclasses
import os
import secrets
import stat
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from hypothesis import given, settings
from hypothesis import strategies as st
from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey

from rpl.keys import (
    ED25519_ORDER,
    MASTER_KEY_BYTES,
    LocalSigner,
    MasterKeyError,
    OwnSignatureCheck,
    SealedKey,
    decode_master_key,
    encode_master_key,
    generate_sealed_key,
    load_or_create_master_key,
    open_sealed_key,
)
from rpl.proofs.dataintegrity import ProofOptions, add_proof, verify_proof

MASTER = bytes(range(MASTER_KEY_BYTES))
OTHER_MASTER = bytes(range(100, 100 + MASTER_KEY_BYTES))
OWNER, KEY_ID = "org-a", "key-1"


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# --- the master key ------------------------------------------------------------------------------


def test_the_first_run_creates_a_master_key_only_its_owner_can_read(tmp_path: Path):
    key_file = tmp_path / "home" / "master.key"

    key = load_or_create_master_key(None, key_file)

    assert len(key) == MASTER_KEY_BYTES
    assert mode_of(key_file) == 0o600
    assert decode_master_key(key_file.read_text()) == key


def test_the_second_run_reads_back_the_same_master_key(tmp_path: Path):
    key_file = tmp_path / "master.key"
    first = load_or_create_master_key(None, key_file)

    assert load_or_create_master_key(None, key_file) == first
    assert load_or_create_master_key("", key_file) == first


def test_two_homes_get_two_different_master_keys(tmp_path: Path):
    one = load_or_create_master_key(None, tmp_path / "one" / "master.key")
    two = load_or_create_master_key(None, tmp_path / "two" / "master.key")
    assert one != two


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_a_master_key_file_others_can_read_is_refused(tmp_path: Path, mode: int):
    key_file = tmp_path / "master.key"
    load_or_create_master_key(None, key_file)
    os.chmod(key_file, mode)

    with pytest.raises(MasterKeyError) as refused:
        load_or_create_master_key(None, key_file)

    assert str(refused.value) == (f"{key_file} is readable by others (mode {mode:o}); chmod 600 it")


def test_the_configured_master_key_takes_precedence_over_the_file(tmp_path: Path):
    key_file = tmp_path / "master.key"
    on_disk = load_or_create_master_key(None, key_file)

    key = load_or_create_master_key(encode_master_key(OTHER_MASTER), key_file)

    assert key == OTHER_MASTER != on_disk


def test_a_configured_master_key_leaves_no_key_file_behind(tmp_path: Path):
    key_file = tmp_path / "master.key"

    assert load_or_create_master_key(encode_master_key(MASTER), key_file) == MASTER
    assert not key_file.exists()


def test_a_configured_master_key_may_carry_padding_and_whitespace(tmp_path: Path):
    padded = encode_master_key(MASTER) + "=\n"
    assert load_or_create_master_key(padded, tmp_path / "master.key") == MASTER


@pytest.mark.parametrize(
    ("configured", "message"),
    [
        ("A", "RPL_MASTER_KEY is not base64url"),
        ("c2hvcnQ", "RPL_MASTER_KEY must decode to 32 bytes, not 5"),
        (encode_master_key(MASTER + b"x"), "RPL_MASTER_KEY must decode to 32 bytes, not 33"),
    ],
    ids=["not base64url", "too short", "too long"],
)
def test_a_malformed_configured_master_key_is_refused_naming_the_variable(
    tmp_path: Path, configured: str, message: str
):
    with pytest.raises(MasterKeyError, match=message):
        load_or_create_master_key(configured, tmp_path / "master.key")


def test_a_master_key_with_stray_characters_is_refused(tmp_path: Path):
    with pytest.raises(MasterKeyError):
        load_or_create_master_key("!!" + encode_master_key(MASTER), tmp_path / "master.key")


def test_a_corrupt_master_key_file_is_refused_naming_the_file(tmp_path: Path):
    key_file = tmp_path / "master.key"
    key_file.write_text("c2hvcnQ\n")
    os.chmod(key_file, 0o600)

    with pytest.raises(MasterKeyError, match=str(key_file)):
        load_or_create_master_key(None, key_file)


# --- sealed organisation keys --------------------------------------------------------------------


def test_a_sealed_key_opens_under_the_same_master_key_to_its_public_key():
    sealed = generate_sealed_key(MASTER, OWNER, KEY_ID)

    private = open_sealed_key(MASTER, OWNER, sealed)

    assert sealed.key_id == KEY_ID
    assert private.public_key().public_bytes_raw() == sealed.public_key


def test_a_sealed_key_does_not_open_under_another_master_key():
    sealed = generate_sealed_key(MASTER, OWNER, KEY_ID)

    with pytest.raises(MasterKeyError, match="key 'key-1' of 'org-a' does not open"):
        open_sealed_key(OTHER_MASTER, OWNER, sealed)


def test_a_sealed_key_copied_to_another_organisation_does_not_open():
    sealed = generate_sealed_key(MASTER, OWNER, KEY_ID)

    with pytest.raises(MasterKeyError, match="key 'key-1' of 'org-b' does not open"):
        open_sealed_key(MASTER, "org-b", sealed)


def test_a_sealed_key_relabelled_with_another_key_id_does_not_open():
    sealed = generate_sealed_key(MASTER, OWNER, KEY_ID)
    relabelled = dataclasses.replace(sealed, key_id="key-2")

    with pytest.raises(MasterKeyError, match="key 'key-2' of 'org-a' does not open"):
        open_sealed_key(MASTER, OWNER, relabelled)


def test_owner_and_key_id_cannot_be_shifted_across_the_separator():
    # ("org|a", "b") and ("org", "a|b") must not bind to the same associated data.
    sealed = generate_sealed_key(MASTER, "org|a", "b")

    with pytest.raises(MasterKeyError):
        open_sealed_key(MASTER, "org", dataclasses.replace(sealed, key_id="a|b"))


def test_a_tampered_ciphertext_does_not_open():
    sealed = generate_sealed_key(MASTER, OWNER, KEY_ID)
    flipped = bytearray(sealed.ciphertext)
    flipped[-1] ^= 1

    with pytest.raises(MasterKeyError, match="does not open"):
        open_sealed_key(MASTER, OWNER, dataclasses.replace(sealed, ciphertext=bytes(flipped)))


def test_a_sealed_key_whose_public_part_was_swapped_is_refused():
    sealed = generate_sealed_key(MASTER, OWNER, KEY_ID)
    stranger = generate_sealed_key(MASTER, OWNER, KEY_ID)
    swapped = dataclasses.replace(sealed, public_key=stranger.public_key)

    with pytest.raises(MasterKeyError, match="public part does not match"):
        open_sealed_key(MASTER, OWNER, swapped)


def test_the_ciphertext_does_not_contain_the_seed():
    sealed = generate_sealed_key(MASTER, OWNER, KEY_ID)
    seed = open_sealed_key(MASTER, OWNER, sealed).private_bytes_raw()

    assert seed not in sealed.ciphertext
    assert seed not in sealed.public_key


def test_sealing_twice_gives_different_keys_and_different_ciphertexts():
    one = generate_sealed_key(MASTER, OWNER, KEY_ID)
    two = generate_sealed_key(MASTER, OWNER, KEY_ID)

    assert one.public_key != two.public_key
    assert one.ciphertext[:12] != two.ciphertext[:12], "each sealing draws a fresh nonce"


# --- the local signer ----------------------------------------------------------------------------


def signer_for(sealed: SealedKey) -> LocalSigner:
    return LocalSigner(
        f"did:web:issuer.example:orgs:a#{sealed.key_id}", open_sealed_key(MASTER, OWNER, sealed)
    )


def test_a_local_signers_signature_verifies_with_the_sealed_public_key():
    sealed = generate_sealed_key(MASTER, OWNER, KEY_ID)
    message = secrets.token_bytes(64)

    signature = signer_for(sealed).sign(message)

    Ed25519PublicKey.from_public_bytes(sealed.public_key).verify(signature, message)


@settings(max_examples=200, deadline=None)
@given(seed=st.binary(min_size=32, max_size=32), message=st.binary(max_size=300))
def test_a_local_signer_signs_exactly_as_cryptography_does(seed: bytes, message: bytes):
    """It signs with libsodium; Ed25519 is deterministic, so the bytes are OpenSSL's."""
    key = Ed25519PrivateKey.from_private_bytes(seed)

    assert LocalSigner("did:example:a#k", key).sign(message) == key.sign(message)


def test_a_local_signer_signs_a_data_integrity_proof_that_verifies_with_the_sealed_key():
    sealed = generate_sealed_key(MASTER, OWNER, KEY_ID)
    signer = signer_for(sealed)
    document = {"@context": ["https://www.w3.org/ns/credentials/v2"], "name": "A note"}

    secured = add_proof(
        document, ProofOptions(signer.verification_method), signer, "eddsa-jcs-2022"
    )
    checks = verify_proof(secured, lambda vm: sealed.public_key)

    assert checks.verified, checks.errors
    assert secured["proof"]["verificationMethod"] == "did:web:issuer.example:orgs:a#key-1"


# --- checking our own signatures --------------------------------------------------------------


def _libsodium_verifies(public_key: bytes, message: bytes, signature: bytes) -> bool:
    try:
        VerifyKey(public_key).verify(message, signature)
    except (BadSignatureError, ValueError):
        return False
    return True


def _openssl_verifies(public_key: bytes, message: bytes, signature: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
    except Exception:  # cryptography raises InvalidSignature
        return False
    return True


_TAMPER = st.one_of(
    st.just(("none", 0)),
    st.tuples(st.just("flip signature bit"), st.integers(0, 511)),
    st.tuples(st.just("flip message bit"), st.integers(0, 8 * 64 - 1)),
    st.just(("S plus the order", 0)),
    st.tuples(st.just("random signature"), st.binary(min_size=64, max_size=64)),
)


@settings(max_examples=300, deadline=None)
@given(
    seed=st.binary(min_size=32, max_size=32),
    message=st.binary(min_size=64, max_size=64),
    tamper=_TAMPER,
)
def test_the_own_signature_check_agrees_with_libsodium_and_openssl(
    seed: bytes, message: bytes, tamper: tuple[str, Any]
):
    """The verification equation evaluated with the secret scalar gives verification's verdict,
    on good signatures and on every way a signature or its message can be wrong."""
    key = Ed25519PrivateKey.from_private_bytes(seed)
    public = key.public_key().public_bytes_raw()
    signature, signed = key.sign(message), message
    how, n = tamper
    if how == "flip signature bit":
        signature = _flip(signature, n)
    elif how == "flip message bit":
        signed = _flip(message, n)
    elif how == "S plus the order":  # the same point, a non-canonical S: RFC 8032 refuses it
        s = int.from_bytes(signature[32:], "little") + ED25519_ORDER
        signature = signature[:32] + s.to_bytes(32, "little")
    elif how == "random signature":
        signature = n
    check = OwnSignatureCheck.of(seed, public)
    assert check is not None

    verdict = check(signed, signature)

    assert verdict == _libsodium_verifies(public, signed, signature)
    assert verdict == _openssl_verifies(public, signed, signature)
    assert verdict is (how == "none")


def _flip(data: bytes, bit: int) -> bytes:
    out = bytearray(data)
    out[bit // 8] ^= 1 << bit % 8
    return bytes(out)


def test_an_own_signature_check_is_only_made_for_the_keys_own_public_key():
    seed, other = bytes(range(32)), bytes(range(1, 33))
    public = Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes_raw()

    assert OwnSignatureCheck.of(seed, public) is not None
    assert OwnSignatureCheck.of(other, public) is None
    signer = LocalSigner("did:example:a#k", Ed25519PrivateKey.from_private_bytes(other))
    assert signer.signature_check(public) is None


def test_a_signature_of_the_wrong_length_fails_the_check():
    seed = bytes(range(32))
    key = Ed25519PrivateKey.from_private_bytes(seed)
    check = OwnSignatureCheck.of(seed, key.public_key().public_bytes_raw())
    assert check is not None
    signature = key.sign(b"m")

    assert check(b"m", signature)
    assert not check(b"m", signature[:63])
    assert not check(b"m", signature + b"\0")
