"""RDFC-1.0 canonical N-Quads (W3C RDF Dataset Canonicalization §4.3, RDF 1.2 N-Quads §7).

Shared by both RDFC paths (`rpl.proofs.rdfc` and `rpl.proofs.rdfc_fast`), so the bytes they
hash and return are written by one serializer. RDFC-1.0 escapes more than pyld's URDNA2015 does:
in literals `\\b`, `\\f` and the other control characters; in IRIs the characters IRIREF forbids.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

RDF_LANGSTRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"
XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"

_LITERAL_SPECIAL = re.compile(r'[\x00-\x1f\x7f"\\]')
_LITERAL_ECHARS = {"\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r", '"': '\\"'}
_IRI_SPECIAL = re.compile(r'[\x00-\x20<>"{}|^`\\]')


def _uchar(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04X}"


def _escape_char(match: re.Match[str]) -> str:
    char = match.group()
    return "\\\\" if char == "\\" else _LITERAL_ECHARS.get(char) or _uchar(match)


def escape_literal(value: str) -> str:
    """The lexical form of a literal as it appears between the quotes."""
    return _LITERAL_SPECIAL.sub(_escape_char, value)


def iri(value: str) -> str:
    """An IRI term: `<…>`, with what IRIREF forbids written as `\\uXXXX`."""
    return "<" + _IRI_SPECIAL.sub(_uchar, value) + ">"


def literal(value: str, datatype: str, language: str | None = None) -> str:
    """A literal term: plain for xsd:string, `@lang` for rdf:langString, else `^^<datatype>`."""
    rendered = '"' + escape_literal(value) + '"'
    if datatype == RDF_LANGSTRING:
        return rendered + "@" + str(language)
    if datatype == XSD_STRING:
        return rendered
    return rendered + "^^" + iri(datatype)


def _term(term: Mapping[str, Any]) -> str:
    if term["type"] == "blank node":
        return str(term["value"])
    return iri(term["value"])


def serialize_quad(quad: Mapping[str, Any]) -> str:
    """One quad (pyld's dict shape) in RDFC-1.0 canonical N-Quads form, with its newline."""
    obj = quad["object"]
    if obj["type"] == "literal":
        rendered = literal(obj["value"], obj["datatype"], obj.get("language"))
    else:
        rendered = _term(obj)
    parts = [_term(quad["subject"]), _term(quad["predicate"]), rendered]
    name = quad.get("name")
    if name and name.get("value") is not None:
        parts.append(_term(name))
    return " ".join(parts) + " .\n"
