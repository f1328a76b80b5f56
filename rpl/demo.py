"""`rpl demo`: the whole attestation journey on a fresh embedded instance, through the real app.

A retired nurse asks St Mary's Hospital to confirm 22 years of work; the hospital's HR manager opens
the emailed link and confirms; the credential is issued by the Prefect flow, verified, and written out
with the issuer's DID document.
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Callable
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

from rpl.bootstrap import bootstrap
from rpl.config import Settings
from rpl.organisations import Attester
from rpl.services.organisations import RegisterOrganisation, register_organisation

NURSE = {
    "kind": "employment",
    "role": "Registered Nurse",
    "start": "1998-03",
    "end": "2020-06",
    "fte": "0.8",
    "description": "Ward nursing on the cardiac and general medical wards; mentor to student nurses.",
    "skills": "patient care | http://data.europa.eu/esco/skill/4b1f0a4e-1f4b-4a4d-9f5c-0c3f2c2a5b0e"
    " | | ESCO\nmentoring student nurses",
    "claimant_name": "Margaret Okafor",
    "claimant_email": "margaret.okafor@example.net",
    "attester_email": "hr@stmarys.example",
    "evidence_title_1": "Long-service letter, 2018",
}


def run_demo(out: Path, cryptosuite: str, echo: Callable[[str], None] = print) -> bool:
    from fastapi.testclient import TestClient

    from rpl.web.app import create_app

    home = Path(tempfile.mkdtemp(prefix="rpl-demo-"))
    settings = Settings.from_env({"RPL_HOME": str(home), "RPL_CRYPTOSUITE": cryptosuite})
    echo(f"1. Fresh embedded instance in {home} (SQLite, Prefect ephemeral mode)")
    container = bootstrap(settings, runner="prefect", network=False)
    try:
        org = register_organisation(
            container.uow,
            container.master_key,
            RegisterOrganisation(
                name="St Mary's Hospital",
                domain="stmarys.example",
                url="https://stmarys.example",
                slug="st-marys",
                attesters=(Attester("hr@stmarys.example", "HR Manager"),),
                # The demo's domain is made up: the operator vouches for it, as `--verified-domain`.
                domain_verified=True,
            ),
            container.now(),
        )
        echo(f"2. Registered {org.name}; its signing key is sealed under the master key")
        client = TestClient(create_app(container), base_url=settings.public_url)
        return _journey(client, container, out, echo)
    finally:
        container.close()


def _csrf(client: Any, path: str) -> str:
    page = client.get(path)
    page.raise_for_status()
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    if not match:
        raise RuntimeError(f"no CSRF token on {path}")
    return match.group(1)


def _journey(client: Any, container: Any, out: Path, echo: Callable[[str], None]) -> bool:
    token = _csrf(client, "/claims/new")
    letter = b"St Mary's Hospital thanks Margaret Okafor for twenty years of service.\n"
    response = client.post(
        "/claims/new",
        data={**NURSE, "org": "st-marys", "csrf_token": token},
        files={"evidence_1": ("long-service.txt", letter, "text/plain")},
        follow_redirects=False,
    )
    if response.status_code != 303:
        raise RuntimeError(f"claim refused ({response.status_code}): {response.text[:500]}")
    claimant_path = response.headers["location"]
    echo(
        f"3. {NURSE['claimant_name']} filed her claim: {NURSE['role']}, "
        f"{NURSE['start']} to {NURSE['end']}"
    )
    container.runner.wait(timeout=120)
    link = _attester_link(container.settings.outbox_dir)
    echo(f"4. request_attestation flow sent the HR office a single-use link: {link}")
    path = link.removeprefix(container.settings.public_url)
    csrf = _csrf(client, path)
    decided = client.post(
        path, data={"action": "confirm", "attester_role": "HR Manager", "csrf_token": csrf}
    )
    decided.raise_for_status()
    echo("5. The HR Manager opened the link and confirmed")
    container.runner.wait(timeout=120)
    claim_page = client.get(claimant_path).text
    match = re.search(r'href="/credentials/([0-9a-f-]+)"', claim_page)
    if not match:
        raise RuntimeError("the credential was not issued")
    credential = client.get(f"/credentials/{match.group(1)}.json").text
    echo(f"6. issue_credentials flow signed the credential ({container.settings.cryptosuite})")
    result = client.post(
        "/api/verify", content=credential, headers={"content-type": "application/json"}
    ).json()
    for check in result["checks"]:
        echo(f"     {'ok  ' if check['passed'] else 'FAIL'} {check['check']}: {check['detail']}")
    echo(f"7. Verification: {'VERIFIED' if result['verified'] else 'NOT VERIFIED'}")
    out.mkdir(parents=True, exist_ok=True)
    (out / "credential.json").write_text(credential)
    did = client.get("/orgs/st-marys/did.json").json()
    (out / "did.json").write_text(json.dumps(did, indent=2) + "\n")
    for purpose in container.settings.status_purposes:  # so `rpl verify` can check status offline
        listed = client.get(f"/orgs/st-marys/status/{purpose}").text
        (out / f"status-{purpose}.json").write_text(listed + "\n")
    echo(f"8. Wrote {out / 'credential.json'}, {out / 'did.json'} and its status lists")
    return bool(result["verified"])


def _attester_link(outbox: Path) -> str:
    for path in sorted(outbox.glob("*.eml"), reverse=True):
        message = message_from_bytes(path.read_bytes(), policy=policy.default)
        body = message.get_body(preferencelist=("plain",))
        found = re.search(r"(https?://\S+/attest/[A-Za-z0-9_-]+)", body.get_content())
        if found:
            return found.group(1)
    raise RuntimeError(f"no attestation link in {outbox}")


def app_client(container: Any) -> Any:
    """The real app behind a TestClient, for the demos (`rpl demo credit` too)."""
    from fastapi.testclient import TestClient

    from rpl.web.app import create_app

    return TestClient(create_app(container), base_url=container.settings.public_url)
