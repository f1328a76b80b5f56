"""The compiled schema check agrees with `rpl.schema` (the `jsonschema` package) on valid,
generated and broken credentials, and refuses what it refuses with the same worded errors."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rpl import bench, fast_schema, schema

BREAKS: list[tuple[str, Any]] = [
    ("validFrom", "2024-13-01T00:00:00Z"),
    ("validFrom", "yesterday"),
    ("type", ["VerifiableCredential"]),
    ("issuer", None),
    ("credentialSubject", {"type": ["AchievementSubject"]}),
    ("credentialStatus", {"id": "https://x.example/1#5", "type": 3}),
    ("credentialStatus", [{"id": "https://x.example/1#5", "type": "BitstringStatusListEntry"}, 5]),
    ("@context", 7),
]


def test_a_realistic_credential_is_valid_for_both() -> None:
    doc = bench.realistic_credential()
    assert fast_schema.is_valid_achievement_credential(doc)
    assert schema.validate_achievement_credential(doc) == []


@pytest.mark.parametrize(("key", "value"), BREAKS)
def test_both_refuse_the_same_broken_credentials(key: str, value: Any) -> None:
    doc = {**bench.realistic_credential(), key: value}
    assert fast_schema.is_valid_achievement_credential(doc) is (
        schema.validate_achievement_credential(doc) == []
    )
    assert not fast_schema.is_valid_achievement_credential(doc)
    with pytest.raises(schema.SchemaValidationError) as refused:
        fast_schema.ensure_valid_achievement_credential(doc)
    assert (
        refused.value.errors
        == schema.SchemaValidationError(
            schema.ACHIEVEMENT_CREDENTIAL, schema.validate_achievement_credential(doc)
        ).errors
    )


_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.text(max_size=12),
    st.sampled_from(["2024-05-01T12:00:00Z", "2024-02-30T00:00:00Z", "2024-05-01", "x:y"]),
)
_paths = st.sampled_from(
    [
        ("validFrom",),
        ("validUntil",),
        ("name",),
        ("id",),
        ("issuer", "id"),
        ("issuer", "url"),
        ("issuer", "type"),
        ("credentialSubject", "activityStartDate"),
        ("credentialSubject", "role"),
        ("credentialSubject", "achievement", "achievementType"),
        ("credentialSubject", "achievement", "criteria"),
        ("credentialSubject", "identifier"),
        ("evidence",),
    ]
)


@settings(max_examples=300, deadline=None)
@given(changes=st.lists(st.tuples(_paths, _leaf), max_size=3))
def test_both_agree_on_generated_credentials(changes: list[tuple[tuple[str, ...], Any]]) -> None:
    doc = copy.deepcopy(bench.realistic_credential())
    for path, value in changes:
        target = doc
        for part in path[:-1]:
            target = target[part]
        target[path[-1]] = value
    assert fast_schema.is_valid_achievement_credential(doc) is (
        schema.validate_achievement_credential(doc) == []
    )
