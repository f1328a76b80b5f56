"""RDF Dataset Canonicalization (W3C RDFC-1.0) of JSON-LD documents: offline and in safe mode.

JSON-LD → RDF (pyld) → canonical N-Quads. Three things are added on top of pyld:

* **Offline.** Contexts come only from the loader given (by default the bundled contexts,
  `rpl.contexts.document_loader`), through a resolver cache of our own, so nothing another
  pyld user put in pyld's process-wide cache can stand in for a bundled context.
* **Safe mode.** JSON-LD silently drops what its contexts do not define: an unknown property,
  a type or id that is not an absolute IRI. Dropped data is not in the N-Quads, so it would be
  neither signed nor checked, yet a reader of the JSON would still see it. Like the
  digitalbazaar implementations' `safe: true`, `canonicalize` refuses such documents and names
  the term. Dropped properties are reported by pyld's `on_property_dropped` hook; the rest is
  found by walking the expanded document for IRIs that `toRdf` would skip.
* **RDFC-1.0 output.** pyld implements URDNA2015, whose N-Quads escape fewer characters than
  RDFC-1.0's canonical N-Quads (which also escape \\b, \\f and the other control characters,
  and escape IRIs). `_Rdfc10` keeps pyld's algorithm and swaps in RDFC-1.0's serialization
  wherever quads are serialized, both for hashing and for the output; it also bounds the work on
  "poison" graphs the way rdf-canonize's `maxWorkFactor` does (RDFC-1.0 §4.4, §6).

That general path is `canonicalize_reference`. `canonicalize` first tries the compiled path
(`rdfc_fast`, over `jsonld_compiled`), which covers credentials under the bundled contexts about
twenty times faster and declines everything else; the differential tests hold the two equal.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pyld.canon import URDNA2015
from pyld.context_resolver import ContextResolver
from pyld.identifier_issuer import IdentifierIssuer
from pyld.jsonld import JsonLdError, JsonLdProcessor

from rpl.contexts import UnknownContextError, document_loader
from rpl.proofs import rdfc_fast
from rpl.proofs.dataintegrity import CanonicalizationError
from rpl.proofs.nquads import serialize_quad
from rpl.proofs.pyld_cache import PYLD_LOCK, DocumentLoader, resolver_cache_for

__all__ = ["canonicalize", "canonicalize_reference", "check_nothing_dropped", "serialize_quad"]

DEFAULT_MAX_WORK_FACTOR = 1
"""Like rdf-canonize: deep iterations allowed = (non-unique blank nodes) ** factor."""

_NOT_SIGNED = "so it would be left out of the signed data"


def canonicalize(
    document: Mapping[str, Any],
    *,
    loader: DocumentLoader = document_loader,
    max_work_factor: int = DEFAULT_MAX_WORK_FACTOR,
) -> str:
    """The RDFC-1.0 canonical N-Quads of a JSON-LD document.

    Documents under the bundled contexts that the compiled path covers (`rdfc_fast`) are done
    there; everything else, and every error, comes from `canonicalize_reference`, whose output
    the compiled path is tested to equal byte for byte.

    Raises `CanonicalizationError` (naming the term, id or context URL) when a context is not
    known to `loader`, when the document is not valid JSON-LD, when any of its data would be
    dropped by JSON-LD processing, or when the graph needs more work than `max_work_factor`.
    """
    if loader is document_loader:
        fast = rdfc_fast.canonicalize(document)
        if fast is not None:
            return fast
    return canonicalize_reference(document, loader=loader, max_work_factor=max_work_factor)


def canonicalize_reference(
    document: Mapping[str, Any],
    *,
    loader: DocumentLoader = document_loader,
    max_work_factor: int = DEFAULT_MAX_WORK_FACTOR,
) -> str:
    """`canonicalize` by the general path alone: pyld's JSON-LD expansion and toRdf, safe-mode
    checks, and the full RDFC-1.0 algorithm (§4.4) with RDFC-1.0 serialization."""
    dataset = to_rdf(document, loader=loader)
    return _Rdfc10(max_work_factor).canonical_nquads(dataset)


def to_rdf(
    document: Mapping[str, Any], *, loader: DocumentLoader = document_loader
) -> dict[str, list[dict[str, Any]]]:
    """The RDF dataset of a JSON-LD document (pyld's dataset shape), after the safe-mode checks."""
    dropped: list[str | None] = []
    processor = JsonLdProcessor(on_property_dropped=dropped.append)
    # base None: a relative IRI stays relative (and is refused below) instead of being resolved
    # against pyld's placeholder base http://example.org/base/.
    options: dict[str, Any] = {
        "documentLoader": loader,
        "contextResolver": ContextResolver(resolver_cache_for(loader), loader),
        "base": None,
    }
    try:
        with PYLD_LOCK:
            expanded = processor.expand(dict(document), options)
        if dropped:
            raise _dropped_property_error(dropped[0])
        check_nothing_dropped(expanded)
        with PYLD_LOCK:
            dataset: dict[str, list[dict[str, Any]]] = processor.to_rdf(expanded, options)
    except JsonLdError as err:
        raise _jsonld_error(err) from err
    except (TypeError, ValueError, KeyError, AttributeError, IndexError, RecursionError) as err:
        # pyld is not total over arbitrary JSON: some malformed inputs surface as plain Python
        # errors from deep inside it. They are input errors for us, not bugs to crash on.
        raise CanonicalizationError(f"JSON-LD processing failed: {err!r}") from err
    return dataset


def _dropped_property_error(term: str | None) -> CanonicalizationError:
    if term is None:
        # pyld reports terms mapped to null and @-words that are not keywords as None
        return CanonicalizationError(
            f"a property is mapped to null by the @context or is not a JSON-LD keyword, "
            f"{_NOT_SIGNED}"
        )
    return CanonicalizationError(
        f"property {term!r} is not defined by the document's @context, {_NOT_SIGNED}", term=term
    )


def _jsonld_error(err: JsonLdError) -> CanonicalizationError:
    """The most specific cause of a pyld error, as a readable `CanonicalizationError`."""
    innermost = err
    cause: BaseException | None = err
    while cause is not None:
        if isinstance(cause, UnknownContextError):
            return CanonicalizationError(str(cause), term=cause.url)
        if isinstance(cause, JsonLdError):
            innermost = cause
        cause = cause.__cause__
    message = innermost.args[0] if innermost.args else type(innermost).__name__
    code = f" ({innermost.code})" if innermost.code else ""
    return CanonicalizationError(f"JSON-LD processing failed: {message}{code}")


# --- safe mode: what toRdf would silently skip -----------------------------------------------

# RFC 3986 scheme, then no whitespace: a subset of what pyld's toRdf keeps, so anything it
# would skip is refused here (blank node labels `_:x` are kept too).
_ABSOLUTE_IRI = re.compile(r"(?:[A-Za-z][A-Za-z0-9+.\-]*|_):\S*")
# BCP 47 well-formedness as jsonld.js checks it.
_LANGUAGE_TAG = re.compile(r"[a-zA-Z]{1,8}(?:-[a-zA-Z0-9]{1,8})*")
_MAX_EXACT = 2**53
# Keys of an expanded object whose values are not (lists of) nodes and values to walk into.
_LEAF_KEYWORDS = frozenset({"@id", "@type", "@index", "@language", "@direction", "@value"})


def check_nothing_dropped(expanded: Any) -> None:
    """Raise `CanonicalizationError` if converting expanded JSON-LD to RDF would lose data."""
    if expanded == []:
        raise CanonicalizationError(f"the document has no statements, {_NOT_SIGNED}")
    _check_element(expanded)


def _check_element(element: Any) -> None:
    if isinstance(element, list):
        for item in element:
            _check_element(item)
    elif isinstance(element, dict):
        if "@value" in element:
            _check_value_object(element)
        else:
            _check_node_object(element)


def _check_node_object(node: dict[str, Any]) -> None:
    if "@id" in node:
        _require_id_iri(node["@id"])
    types = node.get("@type", [])
    for type_ in types if isinstance(types, list) else [types]:
        _require_type_iri(type_)
    for key, value in node.items():
        if key.startswith("_:"):
            raise CanonicalizationError(
                f"property {key!r} is a blank node, not an IRI, {_NOT_SIGNED}", term=key
            )
        if key not in _LEAF_KEYWORDS:
            # property values, @graph, @list, @set, @included, and @reverse maps alike
            _check_element(list(value.values()) if key == "@reverse" else value)


def _check_value_object(value: dict[str, Any]) -> None:
    if "@direction" in value:
        raise CanonicalizationError(
            f"value {value['@value']!r} has a base direction, which RDF without rdfDirection "
            f"cannot express, {_NOT_SIGNED}"
        )
    number = value["@value"]
    if isinstance(number, int) and not isinstance(number, bool) and _MAX_EXACT < abs(number) < 1e21:
        # JavaScript verifiers read this as a rounded double and would sign other N-Quads.
        raise CanonicalizationError(
            f"integer {number} is beyond the range JSON numbers hold exactly (2**53)"
        )
    language = value.get("@language")
    if language is not None and not _LANGUAGE_TAG.fullmatch(language):
        raise CanonicalizationError(f"language tag {language!r} is not well-formed", term=language)


def _require_type_iri(value: Any) -> None:
    if not (isinstance(value, str) and _ABSOLUTE_IRI.fullmatch(value)):
        raise CanonicalizationError(
            f"type {value!r} is not defined by the document's @context, {_NOT_SIGNED}",
            term=value if isinstance(value, str) else None,
        )


def _require_id_iri(value: Any) -> None:
    if not (isinstance(value, str) and _ABSOLUTE_IRI.fullmatch(value)):
        raise CanonicalizationError(
            f"id {value!r} is not an absolute IRI, so statements about it would be left out "
            "of the signed data",
            term=value if isinstance(value, str) else None,
        )


# --- RDFC-1.0 ----------------------------------------------------------------------------------


class _Rdfc10(URDNA2015):  # type: ignore[misc]  # pyld is untyped
    """pyld's URDNA2015 with RDFC-1.0 canonical N-Quads and a bound on deep iterations."""

    def __init__(self, max_work_factor: int) -> None:
        super().__init__()
        self._max_work_factor = max_work_factor
        self._deep_iterations_left: int | None = None

    def canonical_nquads(self, dataset: dict[str, list[dict[str, Any]]]) -> str:
        """RDFC-1.0 §4.4 Canonicalization Algorithm, serialized as canonical N-Quads."""
        self.main(dataset, {"format": "application/n-quads"})  # issues the canonical labels
        lines = [serialize_quad(self._relabelled(quad)) for quad in self.quads]
        return "".join(sorted(lines))

    def _relabelled(self, quad: dict[str, Any]) -> dict[str, Any]:
        # pyld relabels the quads in place as it finishes; doing it again here only matters if
        # a later pyld stops doing so, and costs nothing when it already has.
        issuer: IdentifierIssuer = self.canonical_issuer
        relabelled = dict(quad)
        for position in ("subject", "object", "name"):
            term = quad.get(position)
            if (
                term
                and term["type"] == "blank node"
                and not term["value"].startswith(issuer.prefix)
            ):
                relabelled[position] = {**term, "value": issuer.get_id(term["value"])}
        return relabelled

    def hash_first_degree_quads(self, id_: str) -> str:
        """RDFC-1.0 §4.6, hashing RDFC-1.0 N-Quads instead of pyld's URDNA2015 ones."""
        info = self.blank_node_info[id_]
        if "hash" not in info:
            nquads = []
            for quad in info["quads"]:
                marked = {
                    key: self.modify_first_degree_component(id_, term, key)
                    for key, term in quad.items()
                    if key != "predicate"
                }
                nquads.append(serialize_quad({**marked, "predicate": quad["predicate"]}))
            info["hash"] = self.hash_nquads(sorted(nquads))
        result: str = info["hash"]
        return result

    def hash_n_degree_quads(self, id_: str, issuer: IdentifierIssuer) -> dict[str, Any]:
        """RDFC-1.0 §4.8, refusing once the deep-iteration budget (§6 poison graphs) is spent."""
        if self._deep_iterations_left is None:
            # First call: hash_to_blank_nodes now holds exactly the non-unique blank nodes.
            non_unique = sum(len(ids) for ids in self.hash_to_blank_nodes.values())
            self._deep_iterations_left = non_unique**self._max_work_factor
        if self._deep_iterations_left <= 0:
            raise CanonicalizationError(
                "the document's blank nodes need too much work to canonicalize (RDFC-1.0 §6: "
                "a possible poison graph)"
            )
        self._deep_iterations_left -= 1
        result: dict[str, Any] = super().hash_n_degree_quads(id_, issuer)
        return result
