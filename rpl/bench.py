"""Signing benchmarks: how fast this machine signs and verifies credentials, in one process.

Pure functions returning figures; `rpl bench signing` prints them. Every rate is measured in the
same run as the raw Ed25519 rate it is compared with, so the ratios hold on any machine.

The operations are timed in turns, and each rate is that of its fastest turn (`rates`): a load
that comes and goes during the run leaves every operation some undisturbed turns.

What is timed: the cryptosuites' own Create Proof and Verify Proof (vc-di-eddsa §3.2.1–§3.2.2,
§3.3.1–§3.3.2) on an unsigned credential, with the public key already known. Not timed: parsing
the JSON, resolving the verification method, and the deep copy `add_proof` makes of the document
so that its caller's dict is never changed.

The suites sign here with the same `cryptography` key as the raw rate, so each ratio is the cost
of the suite's own work against the signature alone. rpl's `LocalSigner` signs with libsodium,
which is faster (same signatures), so issuance itself signs faster than these rates.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from types import ModuleType
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from rpl import multikey
from rpl.proofs import eddsa_jcs_2022, eddsa_rdfc_2022, jose
from rpl.proofs.dataintegrity import ProofOptions, proof_options_map

FIGURES = (
    "raw_ed25519_sign_per_s",
    "jcs_sign_per_s",
    "jcs_verify_per_s",
    "rdfc_sign_per_s",
    "rdfc_verify_per_s",
    "jwt_sign_per_s",
)
NOTES = {"jwt_sign_per_s": "VC-JOSE-COSE compact JWS, EdDSA (rpl.proofs.jose.sign_vc_jwt)"}
_LABELS = {
    "raw_ed25519_sign_per_s": "Ed25519 sign, raw (cryptography)",
    "jcs_sign_per_s": "eddsa-jcs-2022 sign",
    "jcs_verify_per_s": "eddsa-jcs-2022 verify",
    "rdfc_sign_per_s": "eddsa-rdfc-2022 sign",
    "rdfc_verify_per_s": "eddsa-rdfc-2022 verify",
    "jwt_sign_per_s": "VC-JWT sign",
}
_CREATED = "2024-05-01T12:00:00Z"


def signing_figures(
    credential: Mapping[str, Any] | None, seconds: float
) -> dict[str, float | None]:
    """Operations per second for each of `FIGURES`, each timed for about `seconds`.

    `credential` is an unsigned JSON-LD credential (default: `realistic_credential()`). Raises
    `RplError` (e.g. `CanonicalizationError`) if it cannot be signed, or `AssertionError` if what
    was signed does not verify: a figure for a failing operation would mean nothing.
    """
    document = dict(credential) if credential is not None else realistic_credential()
    key = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
    public_key = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    did = multikey.did_key(public_key)
    method = f"{did}#{did.removeprefix('did:key:')}"
    message = bytes(64)  # what the suites sign: two SHA-256 hashes
    operations: dict[str, Callable[[], object]] = {
        "raw_ed25519_sign_per_s": lambda: key.sign(message)
    }
    for prefix, suite in (("jcs", eddsa_jcs_2022), ("rdfc", eddsa_rdfc_2022)):
        sign, verify = _suite_operations(suite, document, key, method, public_key)
        operations[f"{prefix}_sign_per_s"] = sign
        operations[f"{prefix}_verify_per_s"] = verify
    operations["jwt_sign_per_s"] = lambda: jose.sign_vc_jwt(document, key, method)
    return dict(rates(operations, seconds))


def _suite_operations(
    suite: ModuleType,
    document: dict[str, Any],
    key: Ed25519PrivateKey,
    method: str,
    public_key: bytes,
) -> tuple[Callable[[], object], Callable[[], object]]:
    options = proof_options_map(ProofOptions(method, created=_CREATED), suite.CRYPTOSUITE)
    proof = suite.create_proof(document, options, key)
    if not suite.verify_proof(document, proof, public_key).verified:
        raise AssertionError(f"{suite.CRYPTOSUITE}: the benchmark credential does not verify")
    return (
        lambda: suite.create_proof(document, options, key),
        lambda: suite.verify_proof(document, proof, public_key),
    )


ROUNDS = 5


def rates(
    operations: Mapping[str, Callable[[], object]],
    seconds: float,
    rounds: int = ROUNDS,
    clock: Callable[[], float] = time.perf_counter,
) -> dict[str, float]:
    """Calls per second of each operation in its fastest round, each timed for about
    `seconds` in all.

    The operations take turns, `rounds` times (after one warm-up call each, which fills the
    caches the steady state has), and each is credited with its best round: what else runs on
    the machine only ever slows a round down, so the fastest one is the closest reading of
    what the code itself costs (as `timeit`'s documentation argues for its minimum). Taking
    turns spreads each operation's rounds over the whole run, so a disturbance of a few
    seconds cannot spoil all the rounds of one operation.
    """
    for operation in operations.values():
        operation()
    best = dict.fromkeys(operations, 0.0)
    for _ in range(rounds):
        for name, operation in operations.items():
            calls, elapsed = _run_for(operation, seconds / rounds, clock)
            best[name] = max(best[name], calls / elapsed)
    return best


def _run_for(
    operation: Callable[[], object], seconds: float, clock: Callable[[], float]
) -> tuple[int, float]:
    """Run `operation` in growing batches until `seconds` have passed: (calls, seconds)."""
    calls, batch = 0, 1
    start = clock()
    while True:
        for _ in range(batch):
            operation()
        calls += batch
        elapsed = clock() - start
        if elapsed >= seconds:
            return calls, elapsed
        batch = min(batch * 2, 256)


def format_figures(figures: Mapping[str, float | None]) -> str:
    """The figures as a table, each rate also as a percentage of the raw Ed25519 signing rate."""
    raw = figures.get("raw_ed25519_sign_per_s")
    lines = []
    for name in FIGURES:
        value = figures.get(name)
        label = _LABELS[name]
        if value is None:
            lines.append(f"{label:<34} {'n/a':>10}   ({NOTES.get(name, 'not measured')})")
            continue
        ratio = f"{100 * value / raw:5.1f}% of raw Ed25519 signing" if raw else ""
        lines.append(f"{label:<34} {value:>10,.0f}/s {ratio if name != FIGURES[0] else ''}")
    return "\n".join(line.rstrip() for line in lines)


def realistic_credential() -> dict[str, Any]:
    """An unsigned OB 3.0 credential as `rpl.credentials.build_achievement_credential` writes
    one: an employment with a skill tag, an ESCO alignment, one evidence file, a hashed email."""
    narrative = (
        "St Mary's Hospital, through its HR Manager, confirmed that Jane Doe worked there as "
        "Registered Nurse from March 1998 to June 2020, about 0.8 FTE (part time).\n\nThis "
        "credential acknowledges participation. It is not an assessment of competence.\n\nThe "
        "skills and evidence listed are those Jane Doe gave in the claim that St Mary's Hospital "
        "confirmed."
    )
    return {
        "@context": [
            "https://www.w3.org/ns/credentials/v2",
            "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
            "https://purl.imsglobal.org/spec/ob/v3p0/extensions.json",
        ],
        "id": "https://rpl.example.org/credentials/7d4e",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": "Employment confirmed: Registered Nurse at St Mary's Hospital",
        "issuer": {
            "id": "did:web:rpl.example.org:orgs:st-marys",
            "type": ["Profile"],
            "name": "St Mary's Hospital",
            "url": "https://stmarys.example",
            "email": "hr@stmarys.example",
            "description": "A teaching hospital.",
            "image": {"id": "https://stmarys.example/logo.png", "type": "Image"},
        },
        "validFrom": "2024-05-01T12:00:00Z",
        "credentialSubject": {
            "type": ["AchievementSubject"],
            "identifier": [
                {
                    "type": "IdentityObject",
                    "identityType": "emailAddress",
                    "hashed": True,
                    "identityHash": "sha256$1bc55f8d42cd936bf7b7101a06629ab6886fd1f6ecb8c4a5a26c57fb3c19d78d",
                    "salt": "c2FsdC1mb3ItamFuZQ",
                }
            ],
            "activityStartDate": "1998-03-01T00:00:00Z",
            "activityEndDate": "2020-06-30T00:00:00Z",
            "role": "Registered Nurse",
            "achievement": {
                "id": "https://rpl.example.org/achievements/7d4e",
                "type": ["Achievement"],
                "achievementType": "ext:Employment",
                "name": "Registered Nurse at St Mary's Hospital",
                "description": (
                    "Employment at St Mary's Hospital: Registered Nurse, from March 1998 to "
                    "June 2020."
                ),
                "criteria": {"narrative": narrative},
                "tag": ["Wound care"],
                "alignment": [
                    {
                        "type": ["Alignment"],
                        "targetName": "provide first aid",
                        "targetUrl": "http://data.europa.eu/esco/skill/5a29a2c9-1b64-4e3c-a5b4-2fef0b3c4a4a",
                        "targetCode": "S3.2.1",
                        "targetFramework": "ESCO",
                        "targetType": "ext:ESCOSkill",
                    }
                ],
            },
        },
        "evidence": [
            {
                "id": "ni:///sha-256;LPJNul-wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ",
                "type": ["Evidence"],
                "name": "Payslip, May 2005",
                "description": "Shows role and hours",
                "mediaType": "application/pdf",
                "digestMultibase": "uEiAs8k26X7CjDiboOyrFueKeGxYeXB-nQl5zBDNik4uYJA",
            }
        ],
    }
