"""JSON-LD → RDF for documents under the bundled contexts, with contexts processed once.

The general path (`rpl.proofs.rdfc.canonicalize_reference`) runs pyld's Expansion (JSON-LD 1.1
API §5.1) and then Deserialize JSON-LD to RDF (§8.1) on every document, processing contexts and
building the whole expanded form each time. This module walks the compact document once and
writes the RDF terms directly, following the same steps of §5.1 (the Expansion Algorithm, §5.1.2)
for the part of JSON-LD that credentials under the bundled contexts use:

* Contexts are pyld's own processed contexts, cached per (context, scoped context) pair, so
  type-scoped contexts (§4.1.9, non-propagating, reverted on entering a nested node, step 7) and
  property-scoped contexts (step 8) mean exactly what pyld makes them mean.
* What each member name means under a context (its IRI, container, type and language mapping,
  scoped context) is compiled once into a `_Rule` and reused.

Anything outside that part raises `Unsupported`, and the caller takes the general path, so the
output is never different, only slower: an embedded `@context`, keywords other than `@id` and
`@type`, containers other than `@set`, `@json` / `@none` / reverse terms, value objects, lists,
nested arrays, nulls, empty objects, floats, integers beyond 2**53, base directions, ids or types
that are not absolute IRIs, blank node identifiers written in the document, and documents with
no statements. Safe mode is therefore the general path's: an undefined term is unsupported here
and refused there, with its name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pyld.context_resolver import ContextResolver
from pyld.jsonld import JsonLdProcessor

from rpl.contexts import KNOWN_CONTEXTS, document_loader
from rpl.proofs.nquads import RDF_LANGSTRING, XSD_STRING, iri, literal
from rpl.proofs.pyld_cache import BUNDLED_CONTEXTS_CACHE, PYLD_LOCK

RDF_TYPE = iri("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
XSD_BOOLEAN = "http://www.w3.org/2001/XMLSchema#boolean"
XSD_INTEGER = "http://www.w3.org/2001/XMLSchema#integer"
XSD_DOUBLE = "http://www.w3.org/2001/XMLSchema#double"
_MAX_EXACT = 2**53
# As `rdfc` requires of ids and types (RFC 3986 scheme, no whitespace), minus blank nodes.
_ABSOLUTE_IRI = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:\S*")
_LANGUAGE_TAG = re.compile(r"[a-zA-Z]{1,8}(?:-[a-zA-Z0-9]{1,8})*")
_MAX_CACHED = 4096  # compiled contexts and rules; a hostile stream cannot grow memory further

Quad = tuple[str, str, str]
"""Subject, predicate and object, each already an N-Quads term (`<iri>`, `_:bN`, `"lit"…`)."""


class Unsupported(Exception):  # noqa: N818 - a signal to take the general path, not an error
    """The document uses JSON-LD this module does not cover; the general path must do it."""


@dataclass(frozen=True)
class _Rule:
    """What a member name means under one active context (JSON-LD 1.1 §4.1 term definition)."""

    keyword: str | None  # "@id" or "@type" for those keywords and their aliases
    predicate: str = ""  # the N-Quads IRI term
    type_mapping: str | None = None  # "@id", "@vocab" or a datatype IRI
    language: str | None = None  # the term's (or default) language for strings
    scoped: Any = None  # the property-scoped context, as pyld holds it


_ID_RULE = _Rule("@id")
_TYPE_RULE = _Rule("@type")


class _Context:
    """One processed pyld active context, with what has been compiled against it."""

    def __init__(self, active: dict[str, Any]) -> None:
        self.active = active
        previous = active.get("previousContext")
        self.previous = _compiled(previous) if previous is not None else None
        self.rules: dict[str, _Rule] = {}
        self.children: dict[tuple[int, bool], _Context] = {}
        self.type_iris: dict[str, str] = {}
        self.expansions: dict[str, Any] = {}

    def expanded(self, name: Any) -> Any:
        """A member name's IRI expansion (§5.2, vocab true), whatever it is; never raises."""
        found = self.expansions.get(name, self) if isinstance(name, str) else None
        if found is self:
            found = _PROCESSOR._expand_iri(self.active, name, base=None, vocab=True)
            if len(self.expansions) < _MAX_CACHED:
                self.expansions[name] = found
        return found

    def type_scope(self, type_name: str) -> Any:
        """The type-scoped context a type term defines, as pyld holds it, or None."""
        definition = self.active["mappings"].get(type_name)
        scope = definition.get("@context") if definition else None
        return None if scope is False else scope

    def rule(self, name: str) -> _Rule:
        rule = self.rules.get(name)
        if rule is None:
            rule = _compile_rule(self.active, name)
            if len(self.rules) < _MAX_CACHED:
                self.rules[name] = rule
        return rule

    def scoped(self, local: Any, *, type_scoped: bool) -> _Context:
        """The context after a type-scoped (non-propagating) or property-scoped one (§4.1.8)."""
        key = (id(local), type_scoped)
        child = self.children.get(key)
        if child is None:
            child = _process(self.active, local, type_scoped=type_scoped)
            if len(self.children) < _MAX_CACHED:
                # `local` lives in a term definition of a context kept alive here: its id holds
                self.children[key] = child
        return child

    def type_iri(self, value: Any) -> str:
        """A type's IRI term (Expansion step 13.4.4: IRI expansion with vocab true)."""
        term = self.type_iris.get(value) if isinstance(value, str) else None
        if term is None:
            term = iri(_require_iri(_expand_iri(self.active, value, vocab=True)))
            if len(self.type_iris) < _MAX_CACHED:
                self.type_iris[value] = term
        return term


_PROCESSOR = JsonLdProcessor()
_REGISTRY: dict[int, _Context] = {}
_TOP: dict[tuple[str, ...], _Context] = {}


def _compiled(active: dict[str, Any]) -> _Context:
    found = _REGISTRY.get(id(active))
    if found is None or found.active is not active:
        if len(_REGISTRY) >= _MAX_CACHED:
            _REGISTRY.clear()
            _TOP.clear()
        found = _REGISTRY[id(active)] = _Context(active)
    return found


def _options() -> dict[str, Any]:
    # As `rdfc.to_rdf` gives pyld's expand, after expand's own defaults.
    return {
        "documentLoader": document_loader,
        "contextResolver": ContextResolver(BUNDLED_CONTEXTS_CACHE, document_loader),
        "base": None,
        "isFrame": False,
        "keepFreeFloatingNodes": False,
        "extractAllScripts": False,
        "processingMode": "json-ld-1.1",
    }


def _process(active: dict[str, Any], local: Any, *, type_scoped: bool) -> _Context:
    try:
        with PYLD_LOCK:
            if type_scoped:
                result = _PROCESSOR._process_context(active, local, _options(), propagate=False)
            else:
                result = _PROCESSOR._process_context(
                    active, local, _options(), override_protected=True
                )
    except Exception as err:  # any failure is the general path's to report, in its words
        raise Unsupported from err
    return _compiled(result)


def _top_context(contexts: Any) -> _Context:
    urls = tuple(contexts) if isinstance(contexts, list) else (contexts,)
    if not all(isinstance(url, str) and url in KNOWN_CONTEXTS for url in urls):
        raise Unsupported
    found = _TOP.get(urls)
    if found is None:
        initial = _PROCESSOR._get_initial_context({"processingMode": "json-ld-1.1"})
        found = _TOP[urls] = _process(initial, list(urls), type_scoped=False)
    return found


def _expand_iri(active: dict[str, Any], value: Any, *, vocab: bool) -> Any:
    if not isinstance(value, str):
        raise Unsupported
    return _PROCESSOR._expand_iri(active, value, base=None, vocab=vocab)


def _require_iri(value: Any) -> str:
    if not (isinstance(value, str) and _ABSOLUTE_IRI.fullmatch(value)):
        raise Unsupported
    return value


def _compile_rule(active: dict[str, Any], name: str) -> _Rule:
    """JSON-LD 1.1 §5.1.2 step 13.2 and the term definition parts steps 13.5–13.13 consult."""
    expanded = _expand_iri(active, name, vocab=True)
    if expanded in ("@id", "@type"):
        return _ID_RULE if expanded == "@id" else _TYPE_RULE
    definition = active["mappings"].get(name) or {}
    container = JsonLdProcessor.arrayify(definition.get("@container") or [])
    type_mapping = definition.get("@type")
    direction = JsonLdProcessor.get_context_value(active, name, "@direction")
    language = JsonLdProcessor.get_context_value(active, name, "@language")
    if (
        definition.get("@reverse")
        or any(kind != "@set" for kind in container)
        or type_mapping in ("@json", "@none", RDF_LANGSTRING)
        or direction is not None
        or definition.get("@context") is False
        or (language is not None and not _LANGUAGE_TAG.fullmatch(language))
    ):
        raise Unsupported
    return _Rule(
        None, iri(_require_iri(expanded)), type_mapping, language, definition.get("@context")
    )


# --- the walk: Expansion (§5.1.2) and Deserialize JSON-LD to RDF (§8.1) in one pass -----------


class _Graph:
    """The default graph being written: a set of quads (RDF datasets have no duplicates)."""

    def __init__(self) -> None:
        self.quads: dict[Quad, None] = {}
        self._blank_nodes = 0

    def blank_node(self) -> str:
        """A fresh blank node (§8.1's node map generation labels every node without an @id)."""
        self._blank_nodes += 1
        return f"_:b{self._blank_nodes}"


def to_quads(document: Any) -> list[Quad]:
    """The RDF quads of a JSON-LD document, as `rdfc.to_rdf` would give them (blank node labels
    aside). Raises `Unsupported` for what this module does not cover (see the module docstring).
    """
    if type(document) is not dict or "@context" not in document:
        raise Unsupported
    graph = _Graph()
    _node_object(_top_context(document["@context"]), document, graph)
    if not graph.quads:
        raise Unsupported  # pyld drops some such documents entirely; let it say so
    return list(graph.quads)


def _nested_node(term_ctx: _Context, name: str, element: dict[str, Any], graph: _Graph) -> str:
    """Expansion steps 7–8 for a node object that is the value of member `name`."""
    if not element or "@context" in element:
        raise Unsupported
    ctx = term_ctx
    if term_ctx.previous is not None:
        # step 7: a type-scoped context does not reach into nested nodes, except references
        reference = len(element) == 1 and term_ctx.rule(next(iter(element))).keyword == "@id"
        if not reference:
            ctx = term_ctx.previous
    scoped = term_ctx.rule(name).scoped
    if scoped is not None:
        ctx = ctx.scoped(scoped, type_scoped=False)  # step 8: the property-scoped context
    return _node_object(ctx, element, graph)


def _node_object(ctx: _Context, element: dict[str, Any], graph: _Graph) -> str:
    """Expansion steps 11–13 for a node object; returns its subject term."""
    type_scoped = ctx
    for name in sorted(name for name in element if ctx.expanded(name) == "@type"):
        values = element[name]
        for type_name in sorted(v for v in _as_list(values) if isinstance(v, str)):
            scope = type_scoped.type_scope(type_name)
            if scope is not None:
                ctx = ctx.scoped(scope, type_scoped=True)  # step 11.2
    subject: str | None = None
    types: list[str] = []
    members: list[tuple[str, _Rule, Any]] = []
    for name, value in element.items():
        if name == "@context":
            continue  # only the document's own, already applied (nested ones are unsupported)
        rule = ctx.rule(name)
        if rule.keyword == "@id":
            if subject is not None or type(value) is not str:
                raise Unsupported
            subject = iri(_require_iri(_expand_iri(ctx.active, value, vocab=False)))
        elif rule.keyword == "@type":
            types.extend(type_scoped.type_iri(type_name) for type_name in _as_list(value))
        else:
            members.append((name, rule, value))
    if subject is None:
        subject = graph.blank_node()
    for type_term in types:
        graph.quads[(subject, RDF_TYPE, type_term)] = None
    for name, rule, value in members:
        _member(ctx, name, rule, value, subject, graph)
    return subject


def _member(ctx: _Context, name: str, rule: _Rule, value: Any, subject: str, graph: _Graph) -> None:
    """Expansion step 13.9 for one member, its values written as quads about `subject`."""
    term_ctx = ctx if rule.scoped is None else ctx.scoped(rule.scoped, type_scoped=False)
    for item in _as_list(value):
        kind = type(item)
        if kind is dict:
            obj = _nested_node(term_ctx, name, item, graph)
        elif kind is list or item is None:
            raise Unsupported  # nested arrays are flattened and nulls dropped: leave that to pyld
        else:
            obj = _value(term_ctx, name, item)
        graph.quads[(subject, rule.predicate, obj)] = None


def _value(term_ctx: _Context, name: str, value: Any) -> str:
    """Value Expansion (§5.3.2) then RDF term (§8.1 Object to RDF Conversion) of a scalar."""
    rule = term_ctx.rule(name)
    mapping = rule.type_mapping
    kind = type(value)
    if rule.keyword is not None:
        raise Unsupported
    if kind is str:
        if mapping in ("@id", "@vocab"):
            expanded = _expand_iri(term_ctx.active, value, vocab=mapping == "@vocab")
            return iri(_require_iri(expanded))
        if mapping is not None:
            return literal(value, _require_iri(mapping))
        if rule.language is not None:
            return literal(value, RDF_LANGSTRING, rule.language)
        return literal(value, XSD_STRING)
    datatype = None if mapping in ("@id", "@vocab") else mapping  # those coerce strings only
    if kind is bool:
        return literal("true" if value else "false", _require_iri(datatype or XSD_BOOLEAN))
    if kind is int and -_MAX_EXACT <= value <= _MAX_EXACT and datatype != XSD_DOUBLE:
        return literal(str(value), _require_iri(datatype or XSD_INTEGER))
    raise Unsupported  # floats and xsd:double (its canonical form), huge integers, other types


def _as_list(value: Any) -> list[Any]:
    return value if type(value) is list else [value]
