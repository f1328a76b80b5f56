"""Steps of the attestation journey as people take them through the real app's pages."""

from __future__ import annotations

import json
import re
from typing import Any

from tests.conftest import csrf_from, outbox_links

CLAIM = {
    "kind": "employment",
    "org": "st-marys",
    "role": "Registered Nurse",
    "start": "1998-03",
    "end": "2020-06",
    "fte": "0.8",
    "description": "Ward nursing; mentor to student nurses.",
    "skills": "patient care | http://data.europa.eu/esco/skill/abc | S1 | ESCO\nmentoring",
    "claimant_name": "Margaret Okafor",
    "claimant_email": "margaret@example.net",
    "attester_email": "hr@stmarys.example",
}


def file_claim(client: Any, files: dict[str, Any] | None = None, **changes: str) -> Any:
    token = csrf_from(client.get("/claims/new").text)
    data = {**CLAIM, **changes, "csrf_token": token}
    return client.post("/claims/new", data=data, files=files or {}, follow_redirects=False)


def attester_path(container: Any) -> str:
    links = outbox_links(container, "attest")
    assert links, "no attestation link was sent"
    return links[-1]


def decide(client: Any, path: str, **fields: str) -> Any:
    token = csrf_from(client.get(path).text)
    return client.post(path, data={**fields, "csrf_token": token})


def credential_id(html: str) -> str:
    match = re.search(r'href="/credentials/([0-9a-f-]{36})"', html)
    assert match, "the page links no credential"
    return match.group(1)


def issued_credential(client: Any, claimant_path: str) -> dict[str, Any]:
    cid = credential_id(client.get(claimant_path).text)
    return json.loads(client.get(f"/credentials/{cid}.json").text)
