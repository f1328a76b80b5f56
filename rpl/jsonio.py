"""Strict JSON in, readable JSON out.

Credentials arrive as bytes from people we do not trust. Python's `json` quietly keeps the last
of two equal keys, so `{"name": "A", "name": "B"}` would be read differently by different
parsers — one could check a value another never saw. `loads_strict` refuses such documents,
and also the non-JSON constants `NaN` and `Infinity` that `json` accepts by default.
"""

from __future__ import annotations

import json
import re
from typing import Any

from rpl.errors import RplError


class InvalidJsonError(RplError):
    """Input that is not a single well-formed JSON text (UTF-8, standard constants only)."""


class DuplicateKeyError(RplError):
    """A JSON object with the same key twice; `path` names the object, e.g. `$.proof[0]`."""

    def __init__(self, key: str, path: str) -> None:
        super().__init__(f"duplicate key {key!r} in the JSON object at {path}")
        self.key = key
        self.path = path


class _DuplicateFound(Exception):
    """Internal signal: the fast parse met a duplicate; a second pass finds where it is."""


class _Pairs(list[tuple[str, Any]]):
    """An object's members in document order, duplicates kept, for locating a duplicate."""


def _refuse_constant(name: str) -> Any:
    raise InvalidJsonError(f"{name} is not a JSON value")


def _strict_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise _DuplicateFound
    return result


def loads_strict(text: str | bytes) -> Any:
    """Parse one JSON text; raise `DuplicateKeyError` or `InvalidJsonError` instead of guessing."""
    if isinstance(text, bytes | bytearray):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError as err:
            raise InvalidJsonError(f"JSON must be UTF-8: {err}") from err
    try:
        return json.loads(text, object_pairs_hook=_strict_object, parse_constant=_refuse_constant)
    except _DuplicateFound:
        # The fast path cannot say where the duplicate is (objects are built inside out), so
        # parse again keeping every member and walk down from the root with a path.
        tree = json.loads(text, object_pairs_hook=_Pairs)
        _raise_first_duplicate(tree, "$")
        raise AssertionError("a duplicate was found but could not be located") from None
    except json.JSONDecodeError as err:
        raise InvalidJsonError(f"not valid JSON: {err}") from err
    except RecursionError as err:
        raise InvalidJsonError("JSON nested too deeply to parse") from err


def _raise_first_duplicate(node: Any, path: str) -> None:
    if isinstance(node, _Pairs):
        seen: set[str] = set()
        for key, value in node:
            if key in seen:
                raise DuplicateKeyError(key, path)
            seen.add(key)
            _raise_first_duplicate(value, _member_path(path, key))
    elif isinstance(node, list):
        for index, item in enumerate(node):
            _raise_first_duplicate(item, f"{path}[{index}]")


_PLAIN_NAME = re.compile(r"[A-Za-z_@$][A-Za-z0-9_@$]*")


def _member_path(path: str, key: str) -> str:
    if _PLAIN_NAME.fullmatch(key):
        return f"{path}.{key}"
    return f"{path}[{json.dumps(key, ensure_ascii=False)}]"


def dumps_pretty(obj: Any) -> str:
    """JSON for people: two-space indent, non-ASCII kept as is, key order kept, no NaN."""
    return json.dumps(obj, indent=2, ensure_ascii=False, allow_nan=False)
