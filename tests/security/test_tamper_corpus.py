"""A tamper corpus: ≥10,000 deterministic mutations of signed credentials, none of which verifies.

A handful of base credentials are signed (eddsa-rdfc-2022, eddsa-jcs-2022, VC-JWT); each is then
mutated many ways with a seeded generator: field edits, deletions and additions, proof edits,
duplicated keys in the raw JSON, a reordered @context, swapped issuer, swapped key (and a key of
another issuer), expiry and not-yet-valid (both correctly re-signed, so only the dates are wrong),
a status entry added or removed, JWT header/payload/signature edits, `alg` downgrades. Each is
checked with rpl's full verifier. As a control, the bases and semantically-equal variants (keys
of an object reordered in the raw JSON) do verify: the corpus fails for the tampering, not for
being unreadable. The figure printed (mutations/second) is measured on the run.
"""

from __future__ import annotations

import copy
import json
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from rpl.credentials import IssuerProfile, build_achievement_credential
from rpl.dids import DidResolver, did_document
from rpl.proofs.dataintegrity import ProofOptions, add_proof
from rpl.proofs.jose import b64url_decode, b64url_encode, sign_vc_jwt
from rpl.verify import verify_credential
from tests.factories import confirmed_claim

SEED = 20261123
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
ISSUED = NOW - timedelta(days=30)
ORG_A, ORG_B = "did:web:rpl.example:orgs:a", "did:web:rpl.example:orgs:b"
SUITES = ("eddsa-rdfc-2022", "eddsa-jcs-2022", "jwt")
# Mutations per base credential (2 bases per suite): 2 × (1,000 + 2,100 + 2,100) = 10,400.
# eddsa-rdfc-2022 gets fewer because canonicalising RDF is what costs most per check.
PER_BASE = {"eddsa-rdfc-2022": 1_000, "eddsa-jcs-2022": 2_100, "jwt": 2_100}

pytestmark = pytest.mark.backend_agnostic


def _key(seed: int) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(bytes([seed]) * 32)


def _public(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


KEYS = {f"{ORG_A}#key-1": _key(1), f"{ORG_A}#key-2": _key(2), f"{ORG_B}#key-1": _key(3)}
DIDS = {
    ORG_A: did_document(ORG_A, {"key-1": _public(KEYS[f"{ORG_A}#key-1"]),
                                "key-2": _public(KEYS[f"{ORG_A}#key-2"])}),
    ORG_B: did_document(ORG_B, {"key-1": _public(KEYS[f"{ORG_B}#key-1"])}),
}  # fmt: skip


def _resolver() -> DidResolver:
    return DidResolver(local=lambda did: copy.deepcopy(DIDS.get(did)))


def _unsigned(subject: int, issuer: str = ORG_A) -> dict[str, Any]:
    claim = confirmed_claim()
    if subject:
        claim = replace(claim, details=replace(claim.details, role="Ward Sister"))
    profile = IssuerProfile(did=issuer, name="St Mary's", url="https://stmarys.example")
    return build_achievement_credential(
        claim, profile, f"https://rpl.example/credentials/{subject}",
        f"urn:uuid:00000000-0000-4000-8000-00000000000{subject}", "ab" * 16, ISSUED,
    )  # fmt: skip


def _sign(unsigned: dict[str, Any], suite: str, vm: str, key: Ed25519PrivateKey) -> Any:
    if suite == "jwt":
        return sign_vc_jwt(unsigned, key, vm)
    options = ProofOptions(vm, created=ISSUED.strftime("%Y-%m-%dT%H:%M:%SZ"))
    return add_proof(unsigned, options, key, suite)


def _verifies(source: Any) -> bool:
    return verify_credential(source, _resolver(), NOW).verified


# --- Data Integrity mutations ------------------------------------------------------------------


def _paths(node: Any, at: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, (*at, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, (*at, i))
    else:
        yield at


def _set(doc: Any, path: tuple[Any, ...], value: Any) -> None:
    for step in path[:-1]:
        doc = doc[step]
    doc[path[-1]] = value


def _get(doc: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        doc = doc[step]
    return doc


def _changed(value: Any, rng: random.Random) -> Any:
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | float):
        return value + rng.choice((1, -1, 0.5))
    text = str(value)
    if not text:
        return "x"
    i = rng.randrange(len(text))
    replacement = rng.choice([c for c in "abcdefXYZ0189:/#-" if c != text[i]])
    return text[:i] + replacement + text[i + 1 :]


def _edit_field(doc: dict[str, Any], rng: random.Random) -> Any:
    paths = list(_paths(doc))
    path = rng.choice(paths)
    _set(doc, path, _changed(_get(doc, path), rng))
    return doc


def _delete_key(doc: dict[str, Any], rng: random.Random) -> Any:
    path = rng.choice([p for p in _paths(doc) if len(p) > 0 and isinstance(p[-1], str)])
    parent = _get(doc, path[:-1])
    del parent[path[-1]]
    return doc


def _add_key(doc: dict[str, Any], rng: random.Random) -> Any:
    objects = [p[:-1] for p in _paths(doc) if p and isinstance(p[-1], str)]
    target = _get(doc, rng.choice(objects))
    target[rng.choice(["name", "description", "validUntil", "extra", "id", "type"]) + "x" * rng.randrange(2)] = (
        rng.choice(["tampered", "2099-01-01T00:00:00Z", 42])
    )  # fmt: skip
    return doc


_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def _edit_proof(doc: dict[str, Any], rng: random.Random) -> Any:
    proof = doc["proof"]
    how = rng.randrange(9)
    if how == 0:  # one character of the signature
        value = proof["proofValue"]
        i = rng.randrange(1, len(value))
        proof["proofValue"] = value[:i] + rng.choice(_B58.replace(value[i], "")) + value[i + 1 :]
    elif how == 1:
        proof["created"] = (ISSUED - timedelta(seconds=rng.randrange(1, 10**6))).strftime(
            "%Y-%m-%dT%H:%M:%SZ"
        )
    elif how == 2:
        proof["verificationMethod"] = rng.choice([f"{ORG_A}#key-2", f"{ORG_B}#key-1"])
    elif how == 3:
        other = {"eddsa-rdfc-2022": "eddsa-jcs-2022", "eddsa-jcs-2022": "eddsa-rdfc-2022"}
        proof["cryptosuite"] = other[proof["cryptosuite"]]
    elif how == 4:
        proof["proofPurpose"] = rng.choice(["authentication", "capabilityInvocation"])
    elif how == 5:
        del doc["proof"]
    elif how == 6:
        proof["type"] = rng.choice(["Ed25519Signature2020", "DataIntegrityProofs"])
    elif how == 7:
        proof["proofValue"] = proof["proofValue"][: rng.randrange(1, len(proof["proofValue"]))]
    else:
        del proof[rng.choice(["proofValue", "verificationMethod", "cryptosuite", "type"])]
    return doc


def _swap_issuer(doc: dict[str, Any], rng: random.Random) -> Any:
    if isinstance(doc["issuer"], dict):
        doc["issuer"]["id"] = ORG_B
    else:
        doc["issuer"] = ORG_B
    if rng.random() < 0.5:  # and claim the other issuer's key too
        doc["proof"]["verificationMethod"] = f"{ORG_B}#key-1"
    return doc


def _status(doc: dict[str, Any], rng: random.Random) -> Any:
    if "credentialStatus" in doc:
        del doc["credentialStatus"]
    else:
        doc["credentialStatus"] = {
            "id": f"https://rpl.example/status#{rng.randrange(10**6)}",
            "type": "BitstringStatusListEntry",
            "statusPurpose": "revocation",
            "statusListIndex": str(rng.randrange(131072)),
            "statusListCredential": "https://rpl.example/status",
        }
    return doc


DOC_MUTATIONS: list[Callable[[dict[str, Any], random.Random], Any]] = [
    _edit_field, _delete_key, _add_key, _edit_proof, _swap_issuer, _status,
]  # fmt: skip


def _duplicate_key_text(doc: dict[str, Any], rng: random.Random) -> str:
    """The signed document with one key of one object repeated (a different value first, the
    signed one last: a parser that keeps the last value would see the signed document)."""
    text = json.dumps(doc)
    objects = [p[:-1] for p in _paths(doc) if p and isinstance(p[-1], str)]
    path = rng.choice(objects)
    target = _get(doc, path)
    key = rng.choice(list(target))
    marker = "__DUP__"
    target[marker] = None
    text = json.dumps(doc).replace(
        f'"{marker}": null', f'{json.dumps(key)}: "tampered", {json.dumps(key)}: {json.dumps(target[key])}'
    )  # fmt: skip
    del target[marker]
    return text


def _reordered_context_text(doc: dict[str, Any], rng: random.Random) -> str:
    doc["@context"] = list(reversed(doc["@context"]))
    return json.dumps(doc)


# --- VC-JWT mutations -------------------------------------------------------------------------


def _jwt_mutation(token: str, unsigned: dict[str, Any], rng: random.Random) -> str:
    header, payload, signature = token.split(".")
    how = rng.randrange(8)
    if how == 0:  # one character of one segment
        parts = [header, payload, signature]
        which = rng.randrange(3)
        seg = parts[which]
        i = rng.randrange(len(seg))
        parts[which] = seg[:i] + rng.choice("ABCDabcd0123-_".replace(seg[i], "")) + seg[i + 1 :]
        return ".".join(parts)
    if how == 1:  # a payload field edited, not re-signed
        claims = json.loads(b64url_decode(payload, "payload"))
        _edit_field(claims, rng)
        return f"{header}.{b64url_encode(json.dumps(claims).encode())}.{signature}"
    if how == 2:  # alg downgrades
        head = json.loads(b64url_decode(header, "header"))
        head["alg"] = rng.choice(["none", "HS256", "ES256", "EdDSA "])
        sig = "" if head["alg"] == "none" else signature
        return f"{b64url_encode(json.dumps(head).encode())}.{payload}.{sig}"
    if how == 3:  # kid swapped to another key
        head = json.loads(b64url_decode(header, "header"))
        head["kid"] = rng.choice([f"{ORG_A}#key-2", f"{ORG_B}#key-1"])
        return f"{b64url_encode(json.dumps(head).encode())}.{payload}.{signature}"
    if how == 4:  # signature cut or dropped
        return f"{header}.{payload}.{signature[: rng.randrange(len(signature))]}"
    if how == 5:  # the issuer swapped in the payload
        claims = json.loads(b64url_decode(payload, "payload"))
        claims["issuer"] = {"id": ORG_B, "type": ["Profile"], "name": "Other"}
        claims.pop("iss", None)
        return f"{header}.{b64url_encode(json.dumps(claims).encode())}.{signature}"
    if how == 6:  # a segment added
        return f"{token}.{signature}"
    # signed by another issuer's key, claiming to be A's key
    other = sign_vc_jwt(unsigned, KEYS[f"{ORG_B}#key-1"], f"{ORG_A}#key-1")
    return other if rng.random() < 0.5 else f"{header}.{payload}.{other.split('.')[2]}"


# --- the corpus --------------------------------------------------------------------------------


def _bases() -> list[tuple[str, dict[str, Any], Any]]:
    key = KEYS[f"{ORG_A}#key-1"]
    return [
        (suite, _unsigned(n), _sign(_unsigned(n), suite, f"{ORG_A}#key-1", key))
        for suite in SUITES
        for n in (0, 1)
    ]


def _resigned(suite: str, unsigned: dict[str, Any], rng: random.Random) -> list[Any]:
    """Correctly signed, but wrong: expired, not yet valid, issuer's key of another issuer."""
    vm, key = f"{ORG_A}#key-1", KEYS[f"{ORG_A}#key-1"]
    expired = {**unsigned, "validUntil": (NOW - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")}
    future = {**unsigned, "validFrom": (NOW + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")}
    return [
        _sign(expired, suite, vm, key),
        _sign(future, suite, vm, key),
        _sign(unsigned, suite, f"{ORG_B}#key-1", KEYS[f"{ORG_B}#key-1"]),  # not A's key
        _sign(unsigned, suite, vm, KEYS[f"{ORG_A}#key-2"]),  # key-2 claiming to be key-1
    ]


def _mutations(
    suite: str, unsigned: dict[str, Any], signed: Any, rng: random.Random
) -> Iterator[Any]:
    yield from _resigned(suite, unsigned, rng)
    for _ in range(PER_BASE[suite] - 4):
        if suite == "jwt":
            yield _jwt_mutation(signed, unsigned, rng)
            continue
        doc = copy.deepcopy(signed)
        roll = rng.random()
        if roll < 0.08:
            yield _duplicate_key_text(doc, rng)
        elif roll < 0.10:
            yield _reordered_context_text(doc, rng)
        else:
            mutated = rng.choice(DOC_MUTATIONS)(doc, rng)
            yield json.dumps(mutated) if rng.random() < 0.5 else mutated


def test_the_bases_and_their_key_reordered_copies_verify() -> None:
    rng = random.Random(SEED)
    for suite, _, signed in _bases():
        assert _verifies(signed), suite
        if suite != "jwt":
            items = list(signed.items())
            rng.shuffle(items)
            assert _verifies(json.dumps(dict(items))), suite


def test_no_tampered_credential_verifies() -> None:
    rng = random.Random(SEED)
    started = time.perf_counter()
    total, verified = 0, []
    for suite, unsigned, signed in _bases():
        for mutated in _mutations(suite, unsigned, signed, rng):
            total += 1
            if _verifies(mutated):
                verified.append((suite, mutated))
    elapsed = time.perf_counter() - started
    print(f"\ntamper corpus: {total} mutations in {elapsed:.1f} s ({total / elapsed:.0f}/s)")
    assert total >= 10_000
    assert verified == [], f"{len(verified)} tampered credentials verified; first: {verified[0]}"
