"""RDFC-1.0 for the documents `jsonld_compiled` covers, when no blank node needs deep hashing.

RDF Dataset Canonicalization (W3C RDFC-1.0) §4.4 labels blank nodes by the hash of the quads
that mention them (§4.6, Hash First Degree Quads). Only when two blank nodes share that hash does
it need the costly Hash N-Degree Quads (§4.8). A credential's blank nodes (its subject, criteria,
alignments, identity objects…) almost always differ in their own quads, so here §4.4 runs for that
case alone, and `canonicalize` returns None for everything else: documents `jsonld_compiled`
does not cover, and shared first-degree hashes. The caller then takes the general path, which
runs the complete algorithm; the output is the same either way, as the differential tests check.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from rpl.proofs.jsonld_compiled import Quad, Unsupported, to_quads


def canonicalize(document: Any) -> str | None:
    """The RDFC-1.0 canonical N-Quads of a JSON-LD document, or None if not done here."""
    try:
        quads = to_quads(document)
    except (Unsupported, RecursionError):
        return None
    return canonical_nquads(quads)


def canonical_nquads(quads: Sequence[Quad]) -> str | None:
    """RDFC-1.0 §4.4 steps 1–3 and 6, or None if two blank nodes share a first-degree hash."""
    mentions: dict[str, list[Quad]] = {}  # step 2: blank node to quads map
    for quad in quads:
        subject, _, obj = quad
        if subject[0] == "_":
            mentions.setdefault(subject, []).append(quad)
        if obj[0] == "_" and obj != subject:
            mentions.setdefault(obj, []).append(quad)
    by_hash: dict[str, str] = {}
    for node, its_quads in mentions.items():  # step 3: hash to blank nodes map
        first_degree = hash_first_degree_quads(node, its_quads)
        if first_degree in by_hash:
            return None  # step 5 (Hash N-Degree Quads) would be needed
        by_hash[first_degree] = node
    canonical = {by_hash[h]: f"_:c14n{number}" for number, h in enumerate(sorted(by_hash))}
    lines = [
        f"{canonical.get(subject, subject)} {predicate} {canonical.get(obj, obj)} .\n"
        for subject, predicate, obj in quads
    ]
    lines.sort()  # step 6 with the canonical N-Quads of §4.3, in code point order
    return "".join(lines)


def hash_first_degree_quads(node: str, quads: Sequence[Quad]) -> str:
    """RDFC-1.0 §4.6: SHA-256 of the sorted quads, `node` written `_:a`, other blank nodes `_:z`."""
    lines = [
        f"{_marked(subject, node)} {predicate} {_marked(obj, node)} .\n"
        for subject, predicate, obj in quads
    ]
    lines.sort()
    return hashlib.sha256("".join(lines).encode("utf-8")).hexdigest()


def _marked(term: str, node: str) -> str:
    if term[0] != "_":
        return term
    return "_:a" if term == node else "_:z"
