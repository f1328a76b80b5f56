"""1EdTech's JSON schemas for OB 3.0 and CLR 2.0, bundled in `rpl/schemas` and resolved offline.

A credential is checked against its schema before it is signed; the messages name the JSON path
of each problem so an operator (or a test) can see at once what is wrong.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from datetime import date, datetime
from importlib import resources
from typing import Any, cast

from jsonschema import Draft201909Validator, FormatChecker
from jsonschema.exceptions import ValidationError
from referencing import Registry
from referencing.jsonschema import DRAFT201909

from rpl.errors import RplError

ACHIEVEMENT_CREDENTIAL = "ob_v3p0_achievementcredential"
_SUFFIX = "_schema.json"


class UnknownSchemaError(RplError):
    def __init__(self, name: str) -> None:
        super().__init__(f"no bundled schema named {name!r}; known: {', '.join(schema_names())}")
        self.name = name


class SchemaValidationError(RplError):
    """A document that does not match its schema; `errors` lists every problem found."""

    def __init__(self, schema_name: str, errors: list[str]) -> None:
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        super().__init__(f"document does not match {schema_name}: {errors[0]}{more}")
        self.schema_name = schema_name
        self.errors = tuple(errors)


# --- formats ---------------------------------------------------------------------------------
# Our own checkers, so that "date-time" is enforced whether or not jsonschema's optional
# format packages happen to be installed.
_FORMATS = FormatChecker(formats=())
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})")


@_FORMATS.checks("date-time", raises=ValueError)
def _is_date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True  # the schema's "type" speaks for other types
    if not _RFC3339.fullmatch(value):
        return False
    datetime.fromisoformat(value.upper())  # month 13, hour 25... raise ValueError
    return True


@_FORMATS.checks("date", raises=ValueError)
def _is_date(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return False
    date.fromisoformat(value)
    return True


# --- loading (once per process, on first use) -------------------------------------------------


@functools.cache
def _schemas() -> Mapping[str, Mapping[str, Any]]:
    folder = resources.files("rpl") / "schemas"
    found = {}
    for entry in folder.iterdir():
        if entry.name.endswith(_SUFFIX):
            found[entry.name.removesuffix(_SUFFIX)] = json.loads(entry.read_text("utf-8"))
    return found


def schema_names() -> tuple[str, ...]:
    """The bundled schemas, e.g. 'ob_v3p0_achievementcredential', 'clr_v2p0_clrcredential'."""
    return tuple(sorted(_schemas()))


@functools.cache
def _registry() -> Registry[Any]:
    # No `retrieve` function: a $ref outside the bundle fails instead of fetching from the network.
    resources_ = [(s["$id"], DRAFT201909.create_resource(s)) for s in _schemas().values()]
    return Registry().with_resources(resources_).crawl()


@functools.cache
def _validator(name: str) -> Draft201909Validator:
    schema = _schemas().get(name)
    if schema is None:
        raise UnknownSchemaError(name)
    return Draft201909Validator(schema, registry=_registry(), format_checker=_FORMATS)


# --- messages --------------------------------------------------------------------------------


def _json_path(parts: tuple[str | int, ...]) -> str:
    path = "$"
    for part in parts:
        if isinstance(part, int):
            path += f"[{part}]"
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", part):
            path += f".{part}"
        else:
            path += f"[{json.dumps(part)}]"
    return path


def _short(text: str, limit: int = 160) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _leaves(error: ValidationError) -> Iterator[ValidationError]:
    if not error.context:
        yield error
        return
    for sub in error.context:
        yield from _leaves(sub)


def _values(values: list[Any]) -> str:
    shown = ", ".join(json.dumps(v) for v in values[:6])
    return shown + (f", … ({len(values)} in all)" if len(values) > 6 else "")


def _reason(error: ValidationError) -> str:
    """One failed keyword in words; jsonschema's own message where it is already clear."""
    # A reported error always carries its keyword's value and the instance it judged.
    rule, value, instance = error.validator, cast(Any, error.validator_value), error.instance
    if rule == "enum":
        return f"{json.dumps(instance)} is not one of {_values(value)}"
    if rule == "contains" and isinstance(value, dict) and "enum" in value:
        return f"must include {' or '.join(json.dumps(v) for v in value['enum'])}"
    if rule == "minItems":
        return f"needs at least {value} items, has {len(cast(Any, instance))}"
    if rule == "format":
        return f"{json.dumps(instance)} is not a valid {value}"
    if rule == "pattern":
        return f"{json.dumps(instance)} does not match the pattern {value}"
    if rule == "type":
        return f"{_short(json.dumps(instance), 60)} is not of type {value}"
    return _short(error.message)


_Pair = tuple[tuple[str | int, ...], str]  # (path in the document, reason)


def _explain(error: ValidationError) -> list[_Pair]:
    """The problems behind one error; for oneOf/anyOf, those of the branches that got furthest."""
    where = tuple(error.absolute_path)
    if error.validator == "required":
        required, instance = cast(list[str], error.validator_value), cast(Any, error.instance)
        missing = [k for k in required if k not in instance]
        return [((*where, k), "is required but missing") for k in missing]
    if not error.context:
        return [(where, _reason(error))]
    leaves = list(_leaves(error))
    # A branch that failed only on "type" had the wrong shape altogether; say why the others failed.
    telling = [e for e in leaves if e.validator != "type"] or leaves
    deepest = max(len(e.absolute_path) for e in telling)
    return [pair for e in telling if len(e.absolute_path) == deepest for pair in _explain(e)]


def _lines(errors: Iterable[ValidationError]) -> list[str]:
    by_path: dict[tuple[str | int, ...], list[str]] = {}
    for error in errors:
        for path, reason in _explain(error):
            reasons = by_path.setdefault(path, [])
            if reason not in reasons:
                reasons.append(reason)
    # Several reasons at one path are the alternatives of a oneOf/anyOf: any one would do.
    ordered = sorted(by_path.items(), key=lambda item: [str(p) for p in item[0]])
    return [f"{_json_path(path)}: {' or '.join(reasons)}" for path, reasons in ordered]


# --- public API -------------------------------------------------------------------------------


def validate(doc: Any, schema_name: str) -> list[str]:
    """Every way `doc` breaks the bundled schema `schema_name`, as '<JSON path>: <problem>' lines.

    An empty list means the document is valid.
    """
    validator = _validator(schema_name)
    return _lines(validator.iter_errors(doc))


def _ob3_rules(doc: Any) -> list[str]:
    """OB 3.0 rules its JSON schema cannot express, which 1EdTech's validator checks too."""
    subject = doc.get("credentialSubject") if isinstance(doc, dict) else None
    if not isinstance(subject, dict):
        return []
    problems = []
    identifiers = subject.get("identifier")
    if not subject.get("id") and not (isinstance(identifiers, list) and identifiers):
        problems.append("$.credentialSubject: needs an id or a list of at least one identifier")
    achievement = subject.get("achievement")
    criteria = achievement.get("criteria") if isinstance(achievement, dict) else None
    if isinstance(criteria, dict) and not criteria.get("id") and not criteria.get("narrative"):
        problems.append("$.credentialSubject.achievement.criteria: needs an id or a narrative")
    return problems


def _one_status_each(doc: Any) -> list[Any]:
    """The document once per entry of a `credentialStatus` list, with that entry in its place.

    OB 3.0 allows one status entry ([0..1]); VC 2.0 allows a set, and Bitstring Status List needs
    two for revocation and suspension. 1EdTech proposes the same for 3.1 (openbadges-specification
    issue #623); until then each entry is held to OB 3.0's CredentialStatus on its own.
    """
    entries = doc.get("credentialStatus") if isinstance(doc, dict) else None
    if not isinstance(entries, list) or not entries:
        return [doc]
    return [{**doc, "credentialStatus": entry} for entry in entries]


def validate_achievement_credential(doc: Any) -> list[str]:
    """Problems with an OB 3.0 AchievementCredential (1EdTech's schema and the rules it cannot
    express); an empty list means valid."""
    problems: list[str] = []
    for one in _one_status_each(doc):
        problems += [p for p in validate(one, ACHIEVEMENT_CREDENTIAL) if p not in problems]
    return problems + _ob3_rules(doc)


def ensure_valid_achievement_credential(doc: Any) -> None:
    """Raise `SchemaValidationError` unless `doc` is a valid OB 3.0 AchievementCredential."""
    errors = validate_achievement_credential(doc)
    if errors:
        raise SchemaValidationError(ACHIEVEMENT_CREDENTIAL, errors)
