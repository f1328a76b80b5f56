"""The key endpoints of the JSON API: rotate and compromise, admin only, through the real app."""

from __future__ import annotations

from typing import Any

from rpl.bootstrap import Container
from rpl.organisations import Organisation
from tests.integration.test_keys_rotation import issued

ADMIN = {"Authorization": "Bearer test-admin-token"}


def test_key_endpoints_need_the_admin_token(client: Any, hospital: Organisation) -> None:
    assert client.post("/api/organisations/st-marys/keys").status_code == 401
    wrong = {"Authorization": "Bearer nope"}
    assert client.post("/api/organisations/st-marys/keys", headers=wrong).status_code == 401
    answer = client.post(
        "/api/organisations/st-marys/keys/key-1/compromise", json={"reason": "stolen"}
    )
    assert answer.status_code == 401
    assert [
        m["id"][-5:] for m in client.get("/orgs/st-marys/did.json").json()["verificationMethod"]
    ] == ["key-1"]


def test_rotate_then_compromise_through_the_api(
    client: Any, container: Container, hospital: Organisation
) -> None:
    [old] = issued(container, hospital)

    rotated = client.post("/api/organisations/st-marys/keys", headers=ADMIN)
    assert rotated.status_code == 201, rotated.text
    body = rotated.json()
    assert body["key_id"] == "key-2" and body["state"] == "active"
    assert body["verification_method"].endswith(":orgs:st-marys#key-2")

    compromised = client.post(
        "/api/organisations/st-marys/keys/key-1/compromise",
        json={"reason": "laptop stolen"},
        headers=ADMIN,
    )
    assert compromised.status_code == 200, compromised.text
    assert compromised.json() == {
        "key_id": "key-1",
        "newly_marked": True,
        "revoked": [old],
        "already_revoked": [],
        "failed": {},
    }

    did = client.get("/orgs/st-marys/did.json").json()
    assert [m["id"].rsplit("#")[1] for m in did["verificationMethod"]] == ["key-1", "key-2"]
    assert [ref.rsplit("#")[1] for ref in did["assertionMethod"]] == ["key-2"]

    credential = client.get(f"/api/credentials/{old}").content
    verdict = client.post(
        "/api/verify", content=credential, headers={"Content-Type": "application/json"}
    ).json()
    assert not verdict["verified"]
    assert any("marked compromised on" in e for e in verdict["errors"]), verdict["errors"]


def test_key_endpoints_name_what_is_wrong(client: Any, hospital: Organisation) -> None:
    active = client.post(
        "/api/organisations/st-marys/keys/key-1/compromise", json={"reason": "x"}, headers=ADMIN
    )
    assert active.status_code == 409 and active.json()["error"] == "ActiveKeyError"
    unknown = client.post(
        "/api/organisations/st-marys/keys/key-7/compromise", json={"reason": "x"}, headers=ADMIN
    )
    assert unknown.status_code == 404 and unknown.json()["error"] == "UnknownKeyError"
    no_reason = client.post(
        "/api/organisations/st-marys/keys/key-1/compromise", json={"reason": " "}, headers=ADMIN
    )
    assert no_reason.status_code == 422
    assert client.post("/api/organisations/nowhere/keys", headers=ADMIN).status_code == 404
