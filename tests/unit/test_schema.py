"""1EdTech's OB 3.0 / CLR 2.0 JSON schemas, bundled and applied offline."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from rpl import schema
from rpl.schema import (
    SchemaValidationError,
    UnknownSchemaError,
    ensure_valid_achievement_credential,
    schema_names,
    validate,
    validate_achievement_credential,
)

BUNDLED = Path(schema.__file__).parent / "schemas"
SHARED = Path(__file__).resolve().parents[3] / "shared" / "vectors" / "1edtech-ob3-clr2-schemas"

# Written by hand from the OB 3.0 data model, independently of rpl.credentials.
VALID: dict[str, Any] = {
    "@context": [
        "https://www.w3.org/ns/credentials/v2",
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
    ],
    "id": "http://example.edu/credentials/3732",
    "type": ["VerifiableCredential", "AchievementCredential"],
    "issuer": {"id": "did:web:example.edu", "type": ["Profile"], "name": "Example University"},
    "validFrom": "2010-01-01T00:00:00Z",
    "name": "Teamwork Badge",
    "credentialSubject": {
        "id": "did:example:ebfeb1f712ebc6f1c276e12ec21",
        "type": ["AchievementSubject"],
        "activityStartDate": "2009-09-01T00:00:00Z",
        "achievement": {
            "id": "https://example.com/achievements/21st-century-skills/teamwork",
            "type": ["Achievement"],
            "achievementType": "Competency",
            "criteria": {"narrative": "Team members are nominated for this badge by their peers."},
            "description": "This badge recognizes the development of the capacity to collaborate.",
            "name": "Teamwork",
            "alignment": [
                {
                    "type": ["Alignment"],
                    "targetName": "Teamwork",
                    "targetUrl": "https://example.org/frameworks/teamwork",
                    "targetType": "CFItem",
                }
            ],
        },
    },
}


def broken(change) -> dict[str, Any]:
    doc = copy.deepcopy(VALID)
    change(doc)
    return doc


def test_a_valid_credential_passes():
    assert validate_achievement_credential(VALID) == []
    ensure_valid_achievement_credential(VALID)


@pytest.mark.parametrize(
    "field", ["@context", "id", "type", "credentialSubject", "issuer", "validFrom"]
)
def test_a_missing_required_field_is_named_with_its_path(field: str):
    errors = validate_achievement_credential(broken(lambda d: d.pop(field)))
    path = f'$["{field}"]' if field.startswith("@") else f"$.{field}"
    assert f"{path}: is required but missing" in errors


def test_a_missing_nested_field_is_named_with_its_path():
    errors = validate_achievement_credential(
        broken(lambda d: d["credentialSubject"]["achievement"].pop("criteria"))
    )
    assert errors == ["$.credentialSubject.achievement.criteria: is required but missing"]


def test_a_bad_achievement_type_says_what_is_allowed():
    doc = broken(lambda d: d["credentialSubject"]["achievement"].update(achievementType="Job"))
    (error,) = validate_achievement_credential(doc)
    assert error.startswith('$.credentialSubject.achievement.achievementType: "Job" is not one of')
    assert '"Achievement"' in error and "(ext:)" in error


def test_extension_values_are_allowed():
    def extend(d: dict[str, Any]) -> None:
        achievement = d["credentialSubject"]["achievement"]
        achievement["achievementType"] = "ext:Employment"
        achievement["alignment"][0]["targetType"] = "ext:ESCOSkill"

    assert validate_achievement_credential(broken(extend)) == []


def test_a_bad_alignment_target_type_is_named():
    doc = broken(
        lambda d: d["credentialSubject"]["achievement"]["alignment"][0].update(targetType="ESCO")
    )
    (error,) = validate_achievement_credential(doc)
    assert error.startswith('$.credentialSubject.achievement.alignment[0].targetType: "ESCO"')


@pytest.mark.parametrize(
    "value",
    [
        "2010-01-01",
        "2010-13-01T00:00:00Z",
        "2010-02-30T00:00:00Z",
        "2010-01-01T00:00:00",
        "yesterday",
    ],
)
def test_a_bad_date_is_named(value: str):
    errors = validate_achievement_credential(broken(lambda d: d.update(validFrom=value)))
    assert errors == [f'$.validFrom: "{value}" is not a valid date-time']


def test_nested_dates_are_checked_too():
    doc = broken(lambda d: d["credentialSubject"].update(activityStartDate="2009-09"))
    assert validate_achievement_credential(doc) == [
        '$.credentialSubject.activityStartDate: "2009-09" is not a valid date-time'
    ]


@pytest.mark.parametrize(
    "value", ["2010-01-01T00:00:00+02:00", "2010-01-01T00:00:00.5Z", "2010-01-01t00:00:00z"]
)
def test_rfc3339_date_times_pass(value: str):
    assert validate_achievement_credential(broken(lambda d: d.update(validFrom=value))) == []


def test_the_credential_type_must_be_an_achievement_credential():
    errors = validate_achievement_credential(
        broken(lambda d: d.update(type=["VerifiableCredential"]))
    )
    assert errors == ['$.type: must include "AchievementCredential" or "OpenBadgeCredential"']


def test_every_problem_is_listed():
    def ruin(d: dict[str, Any]) -> None:
        del d["validFrom"]
        d["@context"] = ["https://www.w3.org/ns/credentials/v2"]
        d["credentialSubject"]["achievement"]["achievementType"] = "Job"

    errors = validate_achievement_credential(broken(ruin))
    assert [e.split(":")[0] for e in errors] == [
        '$["@context"]',
        "$.credentialSubject.achievement.achievementType",
        "$.validFrom",
    ]
    assert errors[0] == '$["@context"]: needs at least 2 items, has 1'


def test_rules_the_schema_cannot_express_are_checked():
    def anonymise(d: dict[str, Any]) -> None:
        del d["credentialSubject"]["id"]
        d["credentialSubject"]["achievement"]["criteria"] = {}

    assert validate_achievement_credential(broken(anonymise)) == [
        "$.credentialSubject: needs an id or a list of at least one identifier",
        "$.credentialSubject.achievement.criteria: needs an id or a narrative",
    ]


def test_ensure_valid_raises_with_every_error():
    with pytest.raises(SchemaValidationError) as caught:
        ensure_valid_achievement_credential(broken(lambda d: (d.pop("id"), d.pop("issuer"))))
    assert caught.value.errors == (
        "$.id: is required but missing",
        "$.issuer: is required but missing",
    )
    assert "ob_v3p0_achievementcredential" in str(caught.value) and "(and 1 more)" in str(
        caught.value
    )


def test_not_an_object_at_all():
    assert validate_achievement_credential([]) == ["$: [] is not of type object"]


def test_other_bundled_schemas_can_be_used():
    profile = {"id": "did:web:example.edu", "type": ["Profile"], "name": "Example University"}
    assert validate(profile, "ob_v3p0_profile") == []
    assert validate({"name": "x"}, "ob_v3p0_profile") == [
        "$.id: is required but missing",
        "$.type: is required but missing",
    ]
    assert "clr_v2p0_clrcredential" in schema_names()
    assert validate({}, "clr_v2p0_clrcredential")


def test_an_unknown_schema_is_an_error():
    with pytest.raises(UnknownSchemaError, match="'ob_v9'"):
        validate({}, "ob_v9")


@pytest.mark.parametrize("name", schema_names())
def test_every_bundled_schema_loads_and_applies(name: str):
    document = json.loads((BUNDLED / f"{name}_schema.json").read_text())
    assert document["$schema"].startswith("https://json-schema.org/draft/2019-09/schema")
    assert isinstance(validate({"id": 1, "type": 2}, name), list)


@pytest.mark.skipif(not SHARED.is_dir(), reason="needs ../shared/vectors")
def test_bundled_schemas_are_1edtechs_verbatim():
    shared = sorted(p.name for p in SHARED.glob("*.json"))
    assert sorted(p.name for p in BUNDLED.glob("*.json")) == shared
    for name in shared:
        assert (BUNDLED / name).read_bytes() == (SHARED / name).read_bytes(), name
