"""The JSON Canonicalization Scheme (RFC 8785), the canonical form of eddsa-jcs-2022.

Two implementations that must give the same bytes:

* `canonicalize_reference`: the `rfc8785` package, pure Python, a direct reading of the RFC.
* `canonicalize`: orjson (compiled) wherever its output is provably the same, else the reference.

orjson with `OPT_SORT_KEYS` is JCS for most documents, and only a guard decides where it is:

* **Strings** (RFC 8785 §3.2.2.2): orjson escapes exactly what JCS escapes (`\\b \\f \\n \\r \\t
  \\" \\\\`, other controls as lowercase `\\u00xx`, nothing else: not `/`, not non-ASCII). Shown for
  every code point by the differential tests; lone surrogates make orjson fail, and then the
  reference raises its own error.
* **Key order** (§3.2.3): JCS sorts by UTF-16 code units, orjson by code points. The two orders
  differ only between a character in U+E000–U+FFFF and one beyond U+FFFF, so a member name with a
  character at or above U+E000 sends the document to the reference.
* **Numbers** (§3.2.2.3): integers within ±(2**53 - 1) print alike; floats (ECMAScript
  `Number.prototype.toString`, which orjson does not follow: `1.0`, `1e21`, NaN as null) and larger
  integers go to the reference, which formats or refuses them.
* **Types**: only exact `dict` (with `str` keys), `list`, `str`, `int`, `bool` and `None` take the
  fast path; subclasses, tuples and anything else go to the reference, which decides.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson
import rfc8785

from rpl.proofs.dataintegrity import CanonicalizationError

_INT_MAX = 2**53 - 1
_FIRST_UNSAFE_KEY_CHAR = "\ue000"  # from here on, UTF-16 and code point order may disagree
# Sorted keys; integers beyond ±(2**53 - 1) refused rather than printed (JCS cannot hold them);
# subclasses of JSON types, dataclasses and dates handed to `default`, which is absent: refused.
_ORJSON_OPTIONS = (
    orjson.OPT_SORT_KEYS
    | orjson.OPT_STRICT_INTEGER
    | orjson.OPT_PASSTHROUGH_SUBCLASS
    | orjson.OPT_PASSTHROUGH_DATACLASS
    | orjson.OPT_PASSTHROUGH_DATETIME
)


def canonicalize(obj: Any) -> bytes:
    """The RFC 8785 canonical UTF-8 bytes of a JSON value.

    Raises `CanonicalizationError` for what JCS cannot represent: NaN and infinities, integers
    beyond ±(2**53 - 1) (JSON numbers are IEEE doubles), non-string keys, lone surrogates and
    non-JSON types.
    """
    try:
        # Refuses unsupported types, non-string keys, lone surrogates, integers beyond 53 bits,
        # cycles and nesting deeper than 255, all of which the reference then reports itself.
        fast = orjson.dumps(obj, option=_ORJSON_OPTIONS)
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return canonicalize_reference(obj)
    if _fast_path_is_exact(obj, check_names=not fast.isascii()):
        return fast
    return canonicalize_reference(obj)


def canonicalize_reference(obj: Any) -> bytes:
    """`canonicalize` by the `rfc8785` package alone: the reference the fast path must equal."""
    try:
        return rfc8785.dumps(obj)
    except rfc8785.CanonicalizationError as err:
        raise CanonicalizationError(f"cannot canonicalize as JCS: {err}") from err
    except UnicodeError as err:  # a lone surrogate in a member name, met by its sort key
        raise CanonicalizationError(f"cannot canonicalize as JCS: {err}") from err
    except RecursionError as err:
        raise CanonicalizationError("cannot canonicalize as JCS: nested too deeply") from err


def _fast_path_is_exact(root: Any, *, check_names: bool) -> bool:
    """Whether orjson's sorted output of `root` is its JCS form (see the module docstring).

    Only called once orjson has serialized `root`, so it is finite and at most 255 levels deep
    (the recursion stays well within Python's limit). It runs on every signature: member names
    are checked only when the output is not ASCII (`check_names`), and a string, the commonest
    value, costs one type test.
    """
    return _members_are_exact((root,), check_names)


def _members_are_exact(members: Iterable[Any], check_names: bool) -> bool:
    for member in members:
        kind = type(member)
        if kind is str:
            continue
        if kind is dict:
            if check_names and not _names_sort_alike(member):
                return False
            if not _members_are_exact(member.values(), check_names):
                return False
        elif kind is list:
            if not _members_are_exact(member, check_names):
                return False
        elif not (
            kind is bool or member is None or (kind is int and -_INT_MAX <= member <= _INT_MAX)
        ):
            return False  # floats, and subclasses of JSON types: the reference decides
    return True


def _names_sort_alike(members: dict[Any, Any]) -> bool:
    """Whether UTF-16 code unit order (JCS) and code point order (orjson) agree on the names."""
    names = "".join(members)  # orjson already refused names that are not `str`
    return names.isascii() or max(names) < _FIRST_UNSAFE_KEY_CHAR
