"""Data Integrity proofs for credentials: canonical forms, the EdDSA cryptosuites, add and verify.

Layers, each importing only those below it:

* `dataintegrity` — VC Data Integrity 1.0: `add_proof`, `verify_proof`, `ProofOptions`,
  `ProofCheck`/`ProofChecks`, the `Signer` protocol, errors, and the pieces the suites share.
* `eddsa_rdfc_2022`, `eddsa_jcs_2022` — the two cryptosuites of W3C Data Integrity EdDSA
  Cryptosuites v1.0, one function per algorithm of the specification.
* `rdfc` (RDFC-1.0 canonical N-Quads of JSON-LD, offline, safe mode) and `jcs` (RFC 8785).

Pure Python: no web framework, ORM or workflow engine, no network, no clock.
"""

from rpl.proofs.dataintegrity import (
    EDDSA_JCS_2022,
    EDDSA_RDFC_2022,
    CanonicalizationError,
    ProofCheck,
    ProofChecks,
    ProofError,
    ProofOptions,
    Signer,
    add_proof,
    verify_proof,
)

__all__ = [
    "EDDSA_JCS_2022",
    "EDDSA_RDFC_2022",
    "CanonicalizationError",
    "ProofCheck",
    "ProofChecks",
    "ProofError",
    "ProofOptions",
    "Signer",
    "add_proof",
    "verify_proof",
]
