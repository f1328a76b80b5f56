"""The OB 3.0 schema check at bulk speed: the same bundled schemas and formats, compiled.

`rpl.schema` (the `jsonschema` package) takes ~2 ms a credential here; a million-row roster cannot
spend half an hour on it. `jsonschema_rs` checks the same draft 2019-09 schemas, with the same
date-time and date rules (ours, passed in as format functions), in ~10 µs. It only answers
valid or not: a credential it refuses is checked again by `rpl.schema`, which words the errors.
tests/unit/test_fast_schema.py shows both agree on generated and broken credentials.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import jsonschema_rs

from rpl import schema


def _format(check: Callable[[object], bool]) -> Callable[[str], bool]:
    # Kept per text: a bulk run checks the same few dates (its `now`, the months people
    # started and ended) a million times, each a call back into Python.
    @functools.lru_cache(maxsize=4096)
    def valid(value: str) -> bool:
        try:
            return bool(check(value))
        except ValueError:
            return False

    return valid


@functools.cache
def _validator() -> Any:
    schemas = schema._schemas()
    registry = jsonschema_rs.Registry([(s["$id"], s) for s in schemas.values()])
    return jsonschema_rs.Draft201909Validator(
        schemas[schema.ACHIEVEMENT_CREDENTIAL],
        registry=registry,
        validate_formats=True,
        formats={
            "date-time": _format(schema._is_date_time),
            "date": _format(schema._is_date),
        },
    )


def is_valid_achievement_credential(doc: Any) -> bool:
    """The verdict of `rpl.schema.validate_achievement_credential(doc) == []`, fast."""
    validator = _validator()
    if not all(validator.is_valid(one) for one in schema._one_status_each(doc)):
        return False
    return not schema._ob3_rules(doc)


def ensure_valid_achievement_credential(doc: Any) -> None:
    """Raise `rpl.schema.SchemaValidationError` (with its worded errors) unless `doc` is valid."""
    if not is_valid_achievement_credential(doc):
        schema.ensure_valid_achievement_credential(doc)
        # The two disagree: trust the slower, older one, but never sign on the faster's word.
        raise schema.SchemaValidationError(
            schema.ACHIEVEMENT_CREDENTIAL, ["refused by the compiled check; see rpl.fast_schema"]
        )
