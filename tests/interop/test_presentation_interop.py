"""Verifiable Presentations across implementations: rpl ↔ @digitalbazaar/vc.

A presentation rpl's holder signs (two OB 3.0 credentials inside, signed by rpl for a did:key
issuer) must verify in `vc.verify` with the same challenge and domain, and fail there with
another challenge; a presentation `vc.signPresentation` makes must verify in rpl, and fail with a
wrong domain or a changed credential. `tests/interop/node/presentation.mjs` is the node side.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from rpl import multikey
from rpl.dids import DidResolver
from rpl.presentations import build_presentation, sign_presentation, verify_presentation
from rpl.proofs.dataintegrity import ProofOptions, add_proof
from tests.interop.conftest import NodeSide
from tests.interop.test_npm_interop import raw_public_key, worked_here_credential

pytestmark = pytest.mark.interop

CHALLENGE = "8b0c6a0e-interop"
DOMAIN = "verifier.example"
CREATED = "2025-06-01T09:30:00Z"
NOW = datetime(2025, 6, 2, 12, 0, tzinfo=UTC)
SUITES = ("eddsa-rdfc-2022", "eddsa-jcs-2022")


def did_key_of(key: Ed25519PrivateKey) -> tuple[str, str]:
    did = multikey.did_key(raw_public_key(key))
    return did, f"{did}#{did.removeprefix('did:key:')}"


def issued(suite: str, count: int = 2) -> list[dict[str, Any]]:
    """OB 3.0 credentials signed by rpl for a did:key issuer (resolvable on both sides)."""
    key = Ed25519PrivateKey.generate()
    did, vm = did_key_of(key)
    out = []
    for number in range(count):
        unsigned = worked_here_credential(did)
        unsigned["id"] = f"urn:uuid:4f0b6a62-3c1e-4f4e-9a55-2b7f7d3c9e1{number}"
        out.append(add_proof(unsigned, ProofOptions(vm, created=CREATED), key, suite))
    return out


def write(path: Path, document: dict[str, Any]) -> Path:
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def npm_verify(node_side: NodeSide, path: Path, challenge: str = CHALLENGE) -> dict[str, Any]:
    [result] = node_side.run_json_lines(
        "presentation.mjs",
        ["verify", "--challenge", challenge, "--domain", DOMAIN, "--now", NOW.isoformat(), path],
        allowed_exit_codes=(0, 1),
    )
    return result


@pytest.mark.parametrize("suite", SUITES)
def test_npm_verifies_a_presentation_rpl_signed(
    node_side: NodeSide, tmp_path: Path, suite: str
) -> None:
    holder_key = Ed25519PrivateKey.generate()
    holder, vm = did_key_of(holder_key)
    vp = sign_presentation(
        build_presentation(issued(suite), holder),
        holder_key,
        vm,
        challenge=CHALLENGE,
        domain=DOMAIN,
        created=CREATED,
        cryptosuite=suite,
    )
    path = write(tmp_path / "vp.json", vp)
    result = npm_verify(node_side, path)
    assert result["verified"] is True, result["errors"]
    assert result["credentials"] == [True, True]
    assert npm_verify(node_side, path, challenge="another")["verified"] is False


@pytest.mark.parametrize("suite", SUITES)
def test_rpl_verifies_a_presentation_npm_signed(
    node_side: NodeSide, tmp_path: Path, suite: str
) -> None:
    files = [write(tmp_path / f"vc{n}.json", vc) for n, vc in enumerate(issued(suite))]
    [vp] = node_side.run_json_lines(
        "presentation.mjs",
        [
            "sign",
            "--challenge",
            CHALLENGE,
            "--domain",
            DOMAIN,
            "--cryptosuite",
            suite,
            "--created",
            CREATED,
            "--seed",
            "5e" * 32,
            *files,
        ],
    )
    assert vp["proof"]["proofPurpose"] == "authentication"
    resolver = DidResolver()  # did:key only: both layers resolve offline

    def check(document: dict[str, Any], domain: str = DOMAIN) -> Any:
        return verify_presentation(document, resolver, NOW, challenge=CHALLENGE, domain=domain)

    result = check(vp)
    assert result.verified, result.errors
    assert len(result.credentials) == 2
    assert not check(vp, domain="elsewhere.example").verified
    changed = copy.deepcopy(vp)
    changed["verifiableCredential"][0]["credentialSubject"]["role"] = "Warehouse manager"
    assert not check(changed).verified
