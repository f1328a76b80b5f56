"""Strict JSON parsing: duplicate keys and non-JSON constants are refused, with the place named."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rpl.errors import RplError
from rpl.jsonio import DuplicateKeyError, InvalidJsonError, dumps_pretty, loads_strict


def test_well_formed_json_parses_as_json_loads_would() -> None:
    text = '{"a": [1, 2.5, true, null, "é"], "b": {"c": {}}}'
    assert loads_strict(text) == json.loads(text)


def test_utf8_bytes_parse() -> None:
    assert loads_strict('{"name": "Zoë"}'.encode()) == {"name": "Zoë"}


@pytest.mark.parametrize(
    ("text", "key", "path"),
    [
        ('{"name": "A", "name": "B"}', "name", "$"),
        ('{"credentialSubject": {"id": "x", "id": "y"}}', "id", "$.credentialSubject"),
        ('{"proof": [{"a": 1}, {"a": 1, "a": 2}]}', "a", "$.proof[1]"),
        ('{"odd key": {"k": 1, "k": 1}}', "k", '$["odd key"]'),
        ('[{"x": {"y": [0, {"z": 1, "z": 1}]}}]', "z", "$[0].x.y[1]"),
        ('{"a": 1, "\\u0061": 2}', "a", "$"),
    ],
)
def test_duplicate_key_is_refused_naming_the_key_and_its_path(
    text: str, key: str, path: str
) -> None:
    with pytest.raises(DuplicateKeyError) as caught:
        loads_strict(text)
    assert (caught.value.key, caught.value.path) == (key, path)
    assert f"duplicate key {key!r}" in str(caught.value)
    assert path in str(caught.value)


def test_the_outermost_duplicate_is_reported_first() -> None:
    with pytest.raises(DuplicateKeyError) as caught:
        loads_strict('{"inner": {"k": 1, "k": 2}, "outer": 1, "outer": 2}')
    assert caught.value.path == "$.inner"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "{",
        '{"a": 1,}',
        "{'a': 1}",
        '{"a": 1} {"b": 2}',
        "NaN",
        '{"a": Infinity}',
        "[-Infinity]",
    ],
)
def test_text_that_is_not_json_is_refused(text: str) -> None:
    with pytest.raises(InvalidJsonError):
        loads_strict(text)


def test_bytes_that_are_not_utf8_are_refused() -> None:
    with pytest.raises(InvalidJsonError, match="UTF-8"):
        loads_strict(b'{"name": "\xff"}')


def test_deeply_nested_json_is_refused_not_crashed_on() -> None:
    with pytest.raises(InvalidJsonError):
        loads_strict("[" * 100_000 + "]" * 100_000)


def test_json_errors_are_rpl_errors() -> None:
    assert issubclass(DuplicateKeyError, RplError)
    assert issubclass(InvalidJsonError, RplError)


def test_dumps_pretty_indents_by_two_and_keeps_non_ascii_and_order() -> None:
    assert dumps_pretty({"b": "Zoë", "a": [1]}) == '{\n  "b": "Zoë",\n  "a": [\n    1\n  ]\n}'


def test_dumps_pretty_refuses_nan() -> None:
    with pytest.raises(ValueError):
        dumps_pretty({"x": float("nan")})


_json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: st.lists(children) | st.dictionaries(st.text(), children),
    max_leaves=20,
)


@given(_json_values)
def test_any_json_value_round_trips(value: Any) -> None:
    assert loads_strict(dumps_pretty(value)) == value
    assert loads_strict(json.dumps(value).encode()) == value
