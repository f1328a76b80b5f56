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
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

from pyld.canon import URDNA2015
from pyld.context_resolver import ContextResolver
from pyld.identifier_issuer import IdentifierIssuer
from pyld.jsonld import JsonLdError, JsonLdProcessor

from rpl.contexts import UnknownContextError, document_loader
from rpl.proofs.dataintegrity import CanonicalizationError

DocumentLoader = Callable[[str, dict[str, Any]], dict[str, Any]]

RDF_LANGSTRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"
XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
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

    Raises `CanonicalizationError` (naming the term, id or context URL) when a context is not
    known to `loader`, when the document is not valid JSON-LD, when any of its data would be
    dropped by JSON-LD processing, or when the graph needs more work than `max_work_factor`.
    """
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
        "contextResolver": ContextResolver(_resolver_cache_for(loader), loader),
        "base": None,
    }
    try:
        with _PYLD_LOCK:
            expanded = processor.expand(dict(document), options)
        if dropped:
            raise _dropped_property_error(dropped[0])
        check_nothing_dropped(expanded)
        with _PYLD_LOCK:
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


# --- context resolution cache ----------------------------------------------------------------


class _BoundedCache(OrderedDict[str, Any]):
    """pyld's resolved-context cache, with least recently used entries evicted.

    Bounded because inline contexts are cached too: a stream of hostile documents each with its
    own inline context must not grow memory without limit. Used only under `_PYLD_LOCK`.
    """

    def __init__(self, maxsize: int) -> None:
        super().__init__()
        self.maxsize = maxsize

    def get(self, key: str, default: Any = None) -> Any:
        if key not in self:
            return default
        self.move_to_end(key)
        return self[key]

    def __setitem__(self, key: str, value: Any) -> None:
        super().__setitem__(key, value)
        if len(self) > self.maxsize:
            self.popitem(last=False)


_BUNDLED_CONTEXTS_CACHE = _BoundedCache(maxsize=256)
# pyld keeps processed contexts in plain LRU caches inside the resolved contexts we cache, and
# those are not thread-safe; a web server verifying on several threads would otherwise see rare
# spurious KeyErrors. pyld is pure Python, so under the GIL the lock costs no parallelism.
_PYLD_LOCK = threading.Lock()


def _resolver_cache_for(loader: DocumentLoader) -> _BoundedCache:
    # Only the bundled loader shares a cache across calls: its URLs always mean the same
    # documents. Any other loader gets a fresh cache, so two loaders never see each other's.
    return _BUNDLED_CONTEXTS_CACHE if loader is document_loader else _BoundedCache(maxsize=256)


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


_LITERAL_SPECIAL = re.compile(r'[\x00-\x1f\x7f"\\]')
_LITERAL_ECHARS = {"\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r", '"': '\\"'}
_IRI_SPECIAL = re.compile(r'[\x00-\x20<>"{}|^`\\]')


def _uchar(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04X}"


def _escape_literal(value: str) -> str:
    def replace(match: re.Match[str]) -> str:
        char = match.group()
        return "\\\\" if char == "\\" else _LITERAL_ECHARS.get(char) or _uchar(match)

    return _LITERAL_SPECIAL.sub(replace, value)


def _term(term: Mapping[str, Any]) -> str:
    if term["type"] == "blank node":
        return str(term["value"])
    return "<" + _IRI_SPECIAL.sub(_uchar, term["value"]) + ">"


def serialize_quad(quad: Mapping[str, Any]) -> str:
    """One quad (pyld's dict shape) in RDFC-1.0 canonical N-Quads form, with its newline."""
    obj = quad["object"]
    if obj["type"] == "literal":
        rendered = '"' + _escape_literal(obj["value"]) + '"'
        if obj["datatype"] == RDF_LANGSTRING:
            rendered += "@" + obj["language"]
        elif obj["datatype"] != XSD_STRING:
            rendered += "^^" + _term({"type": "IRI", "value": obj["datatype"]})
    else:
        rendered = _term(obj)
    parts = [_term(quad["subject"]), _term(quad["predicate"]), rendered]
    name = quad.get("name")
    if name and name.get("value") is not None:
        parts.append(_term(name))
    return " ".join(parts) + " .\n"
