"""W3C Verifiable Credential Data Integrity 1.0: adding and verifying proofs, whatever the suite.

`add_proof` (VC-DI §4.2 Add Proof, §4.3 Add Proof Set/Chain) and `verify_proof` (§4.4 Verify
Proof, §4.5 Verify Proof Sets and Chains) do the suite-independent work and hand the rest to a
cryptosuite module (`eddsa_rdfc_2022`, `eddsa_jcs_2022`) chosen by `instantiate_cryptosuite`.
The pieces those suites share (errors, options, the proofValue encoding, Ed25519 itself) live
here too.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, NamedTuple, Protocol

from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey

from rpl.errors import RplError
from rpl.proofs.multibase import b58decode, encode_z

DATA_INTEGRITY_PROOF = "DataIntegrityProof"
EDDSA_RDFC_2022 = "eddsa-rdfc-2022"
EDDSA_JCS_2022 = "eddsa-jcs-2022"
ED25519_SIGNATURE_LENGTH = 64

KeyResolver = Callable[[str], bytes]
"""Verification method URL → raw 32-byte Ed25519 public key; raises an `RplError` if it cannot."""


class ProofError(RplError):
    """A proof that cannot be created or checked as asked (VC-DI §4.7 PROOF_*_ERROR)."""


class CanonicalizationError(ProofError):
    """A document that cannot be put in canonical form; `term` names the culprit when known."""

    def __init__(self, message: str, *, term: str | None = None) -> None:
        super().__init__(message)
        self.term = term


class Signer(Protocol):
    """Anything that signs bytes with an Ed25519 key (e.g. cryptography's Ed25519PrivateKey)."""

    def sign(self, data: bytes) -> bytes: ...


@dataclass(frozen=True)
class ProofOptions:
    """What the issuer chooses about a proof (VC-DI §2.1). `created` is passed in, never read
    from a clock here. `id` and `previous_proof` build proof sets and chains (§2.1.1, §2.1.2).
    """

    verification_method: str
    created: str | None = None
    proof_purpose: str = "assertionMethod"
    challenge: str | None = None
    domain: str | None = None
    expires: str | None = None
    id: str | None = None
    previous_proof: str | tuple[str, ...] | None = None


def proof_options_map(options: ProofOptions, cryptosuite: str) -> dict[str, Any]:
    """The proof options as a JSON map, members in the order the W3C test vectors use."""
    previous = options.previous_proof
    members = {
        "type": DATA_INTEGRITY_PROOF,
        "id": options.id,
        "cryptosuite": cryptosuite,
        "created": options.created,
        "expires": options.expires,
        "verificationMethod": options.verification_method,
        "proofPurpose": options.proof_purpose,
        "challenge": options.challenge,
        "domain": options.domain,
        "previousProof": list(previous) if isinstance(previous, tuple) else previous,
    }
    return {name: value for name, value in members.items() if value is not None}


@dataclass(frozen=True)
class ProofCheck:
    """The outcome of checking one proof; `errors` is empty exactly when `verified`."""

    verified: bool
    cryptosuite: str | None
    verification_method: str | None
    proof_purpose: str | None
    errors: tuple[str, ...]


@dataclass(frozen=True)
class ProofChecks:
    """VC-DI §4.5's combined verification result: one `ProofCheck` per proof, in document order.

    Iterating yields the checks. `verified` needs at least one check and every check verified,
    so an empty result can never pass.
    """

    checks: tuple[ProofCheck, ...]

    @property
    def verified(self) -> bool:
        return bool(self.checks) and all(check.verified for check in self.checks)

    @property
    def errors(self) -> tuple[str, ...]:
        """Every error; numbered by proof when there are several proofs."""
        if len(self.checks) == 1:
            return self.checks[0].errors
        return tuple(
            f"proof {number}: {error}"
            for number, check in enumerate(self.checks, start=1)
            for error in check.errors
        )

    def __iter__(self) -> Iterator[ProofCheck]:
        return iter(self.checks)

    def __len__(self) -> int:
        return len(self.checks)


class ProofConfigHashes:
    """Remembered SHA-256 digests of canonical proof configurations (§3.x.5), by configuration.

    Every credential a key signs in the same second under the same contexts has the same proof
    configuration; canonicalizing it again for each would cost a JCS pass, or an RDFC-1.0 one as
    dear as the signature. Only a configuration of string options and a string or list-of-strings
    `@context` is remembered, and its key is then exactly the configuration (`key`): anything
    else is canonicalized every time. A full table is emptied (a new second, a new key: the old
    entries are done with).
    """

    def __init__(self, limit: int = 256) -> None:
        self._digests: dict[tuple[Any, ...], bytes] = {}
        self._limit = limit

    @staticmethod
    def key(options: Mapping[str, Any], context: Any) -> tuple[Any, ...] | None:
        """The configuration as a hashable value that names it exactly, or None."""
        if type(options) is not dict:
            return None
        for name, value in options.items():
            if type(value) is not str or type(name) is not str:
                return None
        if type(context) is list:
            for entry in context:
                if type(entry) is not str:
                    return None
            context = ("[list]", *context)  # a tuple no string equals
        elif type(context) is not str and context is not None:
            return None
        return (context, *options.items())

    def get(self, key: tuple[Any, ...] | None) -> bytes | None:
        return None if key is None else self._digests.get(key)

    def remember(self, key: tuple[Any, ...], digest: bytes) -> None:
        if len(self._digests) >= self._limit:
            self._digests.clear()
        self._digests[key] = digest


class CreatedProof(NamedTuple):
    """A cryptosuite's Create Proof result with what it signed: the §3.x.4 hash data and the raw
    signature, so a bulk signer can check the signature without canonicalizing again."""

    proof: dict[str, Any]
    hash_data: bytes
    signature: bytes


@dataclass(frozen=True)
class CryptosuiteVerification:
    """A cryptosuite's verification result (vc-di-eddsa §3.2.2, §3.3.2)."""

    verified: bool
    verified_document: dict[str, Any] | None


class Cryptosuite(Protocol):
    """What a cryptosuite module offers (vc-di-eddsa §3.1 Instantiate Cryptosuite)."""

    def create_proof(
        self, unsecured_document: Mapping[str, Any], options: Mapping[str, Any], signer: Signer
    ) -> dict[str, Any]: ...

    def verify_proof(
        self, unsecured_document: Mapping[str, Any], proof: Mapping[str, Any], public_key: bytes
    ) -> CryptosuiteVerification: ...

    def create_proof_and_hash(
        self, unsecured_document: Mapping[str, Any], options: Mapping[str, Any], signer: Signer
    ) -> CreatedProof: ...


def instantiate_cryptosuite(cryptosuite: str) -> Cryptosuite:
    """vc-di-eddsa §3.1 Instantiate Cryptosuite: the suite module for a cryptosuite name."""
    # Imported here rather than at the top because the suites import this module's shared
    # pieces; this is the one place the two layers meet.
    from rpl.proofs import eddsa_jcs_2022, eddsa_rdfc_2022

    suites: dict[str, Cryptosuite] = {
        EDDSA_RDFC_2022: eddsa_rdfc_2022,
        EDDSA_JCS_2022: eddsa_jcs_2022,
    }
    suite = suites.get(cryptosuite) if isinstance(cryptosuite, str) else None
    if suite is None:
        raise ProofError(f"unsupported cryptosuite {cryptosuite!r}")
    return suite


# --- shared steps ----------------------------------------------------------------------------


def encode_proof_value(proof_bytes: bytes) -> str:
    """A proofValue: multibase base58btc (`z…`) of the signature."""
    return encode_z(proof_bytes)


def decode_proof_value(proof_value: Any) -> bytes:
    """The 64 signature bytes in a proofValue; `ProofError` if it is anything else."""
    if not isinstance(proof_value, str) or not proof_value.startswith("z"):
        raise ProofError(f"proofValue {proof_value!r} is not a base58btc multibase string")
    try:
        proof_bytes = b58decode(proof_value[1:])
    except ValueError as err:
        raise ProofError(f"proofValue {proof_value!r} is not valid base58btc") from err
    if len(proof_bytes) != ED25519_SIGNATURE_LENGTH:
        raise ProofError(f"proofValue holds {len(proof_bytes)} bytes, an Ed25519 signature is 64")
    return proof_bytes


def ed25519_sign(hash_data: bytes, signer: Signer) -> bytes:
    """Sign hash data with Pure Ed25519 (RFC 8032); the signature is exactly 64 bytes."""
    proof_bytes = signer.sign(hash_data)
    if len(proof_bytes) != ED25519_SIGNATURE_LENGTH:
        raise ProofError(f"the signer returned {len(proof_bytes)} bytes, not an Ed25519 signature")
    return proof_bytes


def ed25519_verify(hash_data: bytes, proof_bytes: bytes, public_key: bytes) -> bool:
    """Whether `proof_bytes` is a Pure Ed25519 signature of `hash_data` by `public_key`.

    libsodium checks it (RFC 8032 §5.1.7, and it refuses public keys and `R` values of small
    order, which no honest signer produces)."""
    try:
        key = VerifyKey(public_key)
    except (TypeError, ValueError) as err:
        raise ProofError(f"the resolved public key is not a 32-byte Ed25519 key: {err}") from err
    return ed25519_check(key, hash_data, proof_bytes)


def ed25519_check(key: VerifyKey, hash_data: bytes, proof_bytes: bytes) -> bool:
    """`ed25519_verify` with the key already made (a bulk signer checks thousands with one)."""
    try:
        key.verify(hash_data, proof_bytes)
    except (BadSignatureError, ValueError, TypeError):  # a forged, corrupt or mis-sized signature
        return False
    return True


# XML Schema 1.1 dateTime, time zone optional (vc-di-eddsa §3.2.5 step 3, §3.3.5 step 3)
_XSD_DATETIME = re.compile(
    r"(-?\d{4,})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|([+-])(\d{2}):(\d{2}))?"
)


# The form nearly every `created` takes, parsed on every signature: whole seconds in UTC, with a
# time of day that XML Schema and every Python's `fromisoformat` read alike (no `24:00:00`, no
# leap second)
_XSD_DATETIME_UTC_SECONDS = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]Z"
)


def parse_datetime(value: Any, name: str) -> datetime:
    """An XML Schema dateTime as an aware UTC datetime (UTC too when it names no zone).

    Values Python cannot hold (years outside 1–9999, the rare `24:00:00`) are refused.
    """
    if isinstance(value, str) and _XSD_DATETIME_UTC_SECONDS.fullmatch(value):
        usual = _parse_utc_seconds(value)
        if usual is not None:
            return usual
    match = _XSD_DATETIME.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise ProofError(f"{name} {value!r} is not an XML Schema dateTime")
    year, month, day, hour, minute, second = map(int, match.group(1, 2, 3, 4, 5, 6))
    fraction, sign, zone_hours, zone_minutes = match.group(7, 9, 10, 11)
    microsecond = int(fraction[:6].ljust(6, "0")) if fraction else 0
    try:
        zone = UTC  # also when the value names no zone
        if sign:
            offset = timedelta(hours=int(zone_hours), minutes=int(zone_minutes))
            if offset > timedelta(hours=14) or int(zone_minutes) > 59:
                raise ValueError("time zone offset out of range")
            zone = timezone(-offset if sign == "-" else offset)
        moment = datetime(year, month, day, hour, minute, second, microsecond, tzinfo=zone)
    except ValueError as err:
        raise ProofError(f"{name} {value!r} is not a valid date and time: {err}") from err
    # Signing and checking parse every `created`, so the common UTC case skips the conversion.
    return moment if zone is UTC else moment.astimezone(UTC)


def _parse_utc_seconds(value: str) -> datetime | None:
    """`parse_datetime` of a `YYYY-MM-DDThh:mm:ssZ` value, several times faster; None when the
    general parser must decide (an invalid date such as February 30, which it explains)."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is UTC else None


# --- VC-DI §4.2, §4.3 ---------------------------------------------------------------------------


def add_proof(
    document: Mapping[str, Any],
    options: ProofOptions,
    signer: Signer,
    cryptosuite: str = EDDSA_RDFC_2022,
) -> dict[str, Any]:
    """A new document with one more proof; `document` itself is never changed.

    VC-DI §4.2 Add Proof. If the document already has a proof, the new one joins it as a proof
    set (§4.3 Add Proof Set/Chain); with `options.previous_proof` it also signs the proofs it
    names, making a chain. Raises `ProofError` (or its `CanonicalizationError`) if it cannot.
    """
    suite = instantiate_cryptosuite(cryptosuite)
    secured = copy.deepcopy(dict(document))
    all_proofs = _as_proof_list(secured.pop("proof", None))
    input_document = _with_previous_proofs(secured, all_proofs, options.previous_proof)
    proof = suite.create_proof(input_document, proof_options_map(options, cryptosuite), signer)
    _check_created_proof(proof, options)
    secured["proof"] = [*all_proofs, proof] if all_proofs else proof
    return secured


def _as_proof_list(proof: Any) -> list[dict[str, Any]]:
    proofs = [] if proof is None else proof if isinstance(proof, list) else [proof]
    if not all(isinstance(item, dict) for item in proofs):
        raise ProofError("the document's existing proof is not a JSON object or list of them")
    return proofs


def _with_previous_proofs(
    unsecured: dict[str, Any], all_proofs: Sequence[Any], previous: Any
) -> dict[str, Any]:
    """The document to sign or check: `unsecured` plus the proofs `previous` names (§4.3, §4.5)."""
    if previous is None:
        return unsecured
    wanted = [previous] if isinstance(previous, str) else previous
    if not isinstance(wanted, list | tuple) or not all(isinstance(w, str) for w in wanted):
        raise ProofError(f"previousProof {previous!r} is not a string or a list of strings")
    by_id = {_text(proof, "id"): proof for proof in all_proofs if isinstance(proof, Mapping)}
    missing = [proof_id for proof_id in wanted if proof_id not in by_id]
    if missing:
        raise ProofError(f"previousProof {missing[0]!r} names no proof in this document")
    return {**unsecured, "proof": [by_id[proof_id] for proof_id in wanted]}


def _check_created_proof(proof: Mapping[str, Any], options: ProofOptions) -> None:
    """VC-DI §4.2 steps 2–4."""
    for name in ("type", "verificationMethod", "proofPurpose"):
        if not proof.get(name):
            raise ProofError(f"the cryptosuite produced a proof without {name!r}")
    if options.domain is not None and proof.get("domain") != options.domain:
        raise ProofError("the cryptosuite produced a proof for another domain")
    if options.challenge is not None and proof.get("challenge") != options.challenge:
        raise ProofError("the cryptosuite produced a proof for another challenge")


# --- VC-DI §4.4, §4.5 ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Expectations:
    proof_purpose: str | None
    domain: frozenset[str] | None
    challenge: str | None
    now: datetime | None


def verify_proof(
    document: Any,
    resolve_key: KeyResolver,
    *,
    expected_proof_purpose: str | None = "assertionMethod",
    domain: str | Sequence[str] | None = None,
    challenge: str | None = None,
    now: datetime | None = None,
) -> ProofChecks:
    """Check every proof on a document (VC-DI §4.4 Verify Proof, §4.5 Verify Proof Sets and
    Chains). Never raises for a bad document: each problem becomes an error string.

    `resolve_key` turns a verification method URL into its raw public key (or raises an
    `RplError`). `expected_proof_purpose` defaults to assertionMethod, the purpose of a
    credential's proof; pass None to accept any. `domain` and `challenge`, when given, must
    match the proof's. With `now` (naive means UTC), a proof past its `expires` fails.
    """
    if now is not None and now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    if not isinstance(document, Mapping):
        return _failed("the document is not a JSON object")
    raw_proofs = document.get("proof")
    if raw_proofs is None:
        return _failed("the document has no proof")
    proofs = raw_proofs if isinstance(raw_proofs, list) else [raw_proofs]
    if not proofs:
        return _failed("the document's proof set is empty")
    domains = frozenset([domain] if isinstance(domain, str) else domain) if domain else None
    expected = _Expectations(expected_proof_purpose, domains, challenge, now)
    unsecured = {name: value for name, value in document.items() if name != "proof"}
    return ProofChecks(
        tuple(_check_proof(unsecured, proof, proofs, resolve_key, expected) for proof in proofs)
    )


def _string_set(value: Any) -> frozenset[str]:
    """A proof's `domain`: one string or a list of them, compared as a set (VC-DI §4.4 step 5)."""
    values = [value] if isinstance(value, str) else value if isinstance(value, list) else []
    return frozenset(item for item in values if isinstance(item, str))


def _failed(error: str) -> ProofChecks:
    return ProofChecks((ProofCheck(False, None, None, None, (error,)),))


def _text(proof: Mapping[str, Any], name: str) -> str | None:
    value = proof.get(name)
    return value if isinstance(value, str) else None


def _check_proof(
    unsecured: dict[str, Any],
    proof: Any,
    all_proofs: list[Any],
    resolve_key: KeyResolver,
    expected: _Expectations,
) -> ProofCheck:
    if not isinstance(proof, Mapping):
        return ProofCheck(False, None, None, None, ("the proof is not a JSON object",))
    suite_name, method = _text(proof, "cryptosuite"), _text(proof, "verificationMethod")

    def outcome(*errors: str) -> ProofCheck:
        purpose = _text(proof, "proofPurpose")
        return ProofCheck(not errors, suite_name, method, purpose, errors)

    errors = _proof_errors(proof, expected)
    if errors or method is None or suite_name is None:
        return outcome(*errors)
    try:
        suite = instantiate_cryptosuite(suite_name)
        decode_proof_value(proof.get("proofValue"))  # cheap; fail before resolving any key
        input_document = _with_previous_proofs(unsecured, all_proofs, proof.get("previousProof"))
    except ProofError as err:
        return outcome(str(err))
    try:
        public_key = resolve_key(method)
    except RplError as err:
        return outcome(f"cannot resolve verification method {method!r}: {err}")
    try:
        result = suite.verify_proof(input_document, proof, public_key)
    except RplError as err:
        return outcome(str(err))
    if not result.verified:
        return outcome(f"the signature does not match the document and the key of {method!r}")
    return outcome()


def _proof_errors(proof: Mapping[str, Any], expected: _Expectations) -> tuple[str, ...]:
    """VC-DI §4.4 steps 3–6, plus `expires`: everything checkable before any cryptography."""
    errors = [
        f"the proof has no {name!r}" if name not in proof else f"the proof's {name!r} is not text"
        for name in ("type", "cryptosuite", "verificationMethod", "proofPurpose", "proofValue")
        if _text(proof, name) is None
    ]
    if _text(proof, "type") not in (None, DATA_INTEGRITY_PROOF):
        errors.append(f"unsupported proof type {proof['type']!r}")
    purpose = _text(proof, "proofPurpose")
    if expected.proof_purpose is not None and purpose not in (None, expected.proof_purpose):
        errors.append(f"proof purpose is {purpose!r}, expected {expected.proof_purpose!r}")
    if expected.domain is not None:
        found = proof.get("domain")
        if _string_set(found) != expected.domain:
            errors.append(f"proof domain {found!r} is not {sorted(expected.domain)!r}")
    if expected.challenge is not None and proof.get("challenge") != expected.challenge:
        errors.append(f"proof challenge {proof.get('challenge')!r} is not the one expected")
    if "expires" in proof:
        try:
            expires = parse_datetime(proof["expires"], "expires")
            if expected.now is not None and expires <= expected.now:
                errors.append(f"the proof expired at {proof['expires']}")
        except ProofError as err:
            errors.append(str(err))
    return tuple(errors)
