"""A private record is reachable by its holder alone: through no page and no API of the app.

Holder X has a pending claim (its narrative and evidence file name), an issued credential, a
credential imported from elsewhere and, where the passport is built, notes. Every route the app
has — read from the app itself, so a route added later is scanned too — is called with X's ids
in its path parameters, as an anonymous visitor, as another signed-in claimant, and as an
attester and an admin of an unrelated organisation (session cookie on pages, API token on the
API, CSRF token on forms). No answer may carry any of X's private strings.

What is public by design (DESIGN.md, "the holder decides" and the credential's public page): an
issued credential is served at `/credentials/<id>` (and .json, .pdf, .png, .svg) to whoever has
its unguessable id, which only the holder hands out. Its content is therefore not among the
secrets; the pending claim, the evidence file's name, the imported record and the notes are.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from rpl.bootstrap import Container
from rpl.config import Settings
from rpl.organisations import Organisation
from rpl.services.organisations import RegisterOrganisation, register_organisation
from tests.conftest import PUBLIC_URL, csrf_from
from tests.credit.support import OtherIssuer, issued_here, unsigned_badge
from tests.security.test_authorization_matrix import app_routes
from tests.web.journey import file_claim
from tests.web.signin import add_member, api_headers, sign_in

X = "margaret@example.net"  # the holder `issued_here` issues to
NARRATIVE = "Night-shift triage lead; PRIVATE-NARRATIVE-7f3a"
EVIDENCE = "private-evidence-9c1d.pdf"
IMPORTED_NAME = "PRIVATE-IMPORTED-BADGE-51be"
IMPORTED_ID = "urn:uuid:5a1d3c4e-0000-4000-8000-00000000a7e9"
NOTE = "PRIVATE-NOTE-2d88"
ROLES = ("anonymous", "other_claimant", "foreign_attester", "foreign_admin")
EMAILS = {
    "other_claimant": "other@example.net",
    "foreign_attester": "coord@foodbank.example",
    "foreign_admin": "boss@foodbank.example",
}
# Sign-outs would end the role's session for the routes after them: called last.
LAST = ("/sign-out", "/account/sign-out-everywhere")


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.with_(rate_sign_in="10000/60", rate_links="10000/60", rate_verify="10000/60")


@dataclass
class Holder:
    secrets: tuple[str, ...]
    ids: dict[str, str]  # what X's records are called: claim, credential, held, account


def make_holder(client: Any, container: Container, hospital: Organisation) -> Holder:
    pdf = (EVIDENCE, b"%PDF-1.4\n% private\n", "application/pdf")
    filed = file_claim(
        client, files={"evidence_1": pdf}, claimant_email=X, description=NARRATIVE
    )  # pending: asked of the attester, not decided
    assert filed.status_code == 303, filed.text
    credential_id = issued_here(container, hospital)
    sign_in(client, container, X)
    badge = unsigned_badge(IMPORTED_NAME, [], "2023-01-01T00:00:00Z", n=0xA7E9)
    signed = OtherIssuer().sign(badge, container.now())
    form = csrf_from(client.get("/my/import").text)
    upload = {"files": ("elsewhere.json", signed.encode(), "application/json")}
    assert client.post("/my/import", data={"csrf_token": form}, files=upload).status_code == 200
    with container.uow() as tx:
        account = tx.accounts.by_email(X)
        assert account is not None
        [held] = tx.holdings.for_account(account.id)
        claim_ids = tx.claim_index.for_claimant(X)
        pending = next(i for i in claim_ids if tx.claims.get(i).credential_id is None)
        # Ids the caller puts in the path may be echoed ("no claim with id …"): not secrets.
        secrets = [NARRATIVE, EVIDENCE, IMPORTED_NAME, IMPORTED_ID]
        if getattr(tx, "passport", None) is not None:  # the passport's notes, where built
            from rpl.passport import HolderNote

            tx.passport.save_note(account.id, pending, HolderNote("", NOTE), container.now())
            tx.commit()
            secrets.append(NOTE)
    ids = {"claim": pending, "credential": credential_id, "held": held.id, "account": account.id}
    # The holder sees each of them: the strings are findable where they are shown.
    page = client.get(f"/my/claims/{pending}").text + client.get("/my").text
    assert NARRATIVE in page and EVIDENCE in page and IMPORTED_NAME in page
    return Holder(tuple(secrets), ids)


def role_clients(app: Any, container: Container) -> dict[str, tuple[Any, dict]]:
    food = register_organisation(
        container.uow,
        container.master_key,
        RegisterOrganisation(
            name="Food Bank",
            domain="foodbank.example",
            url="https://foodbank.example",
            slug="food-bank",
            domain_verified=True,
        ),
        container.now(),
    )
    add_member(container, food, EMAILS["foreign_attester"], "attester", "Coordinator")
    add_member(container, food, EMAILS["foreign_admin"], "admin", "Director")
    clients: dict[str, tuple[Any, dict]] = {}
    for role in ROLES:
        client = TestClient(app, base_url=PUBLIC_URL, raise_server_exceptions=False)
        headers: dict[str, str] = {}
        if role in EMAILS:
            sign_in(client, container, EMAILS[role])
            headers = api_headers(container, EMAILS[role], "scan")
        clients[role] = (client, headers)
    return clients


_PARAM = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(?::[a-z]+)?\}")


def fill(template: str, holder: Holder, slugs: tuple[str, ...]) -> Iterator[str]:
    """`template` with every path parameter set to each of X's ids (organisations: by slug)."""
    names = _PARAM.findall(template)
    ids = tuple(holder.ids.values())
    choices = [slugs if name == "slug" else ids for name in names]
    for values in itertools.product(*choices):
        path = template
        for name, value in zip(names, values, strict=True):
            path = _PARAM.sub(lambda m, v=value, n=name: v if m.group(1) == n else m.group(0), path)
        yield path


def call(client: Any, headers: dict[str, str], method: str, path: str) -> Any:
    api = path.startswith(("/api/", "/ims/", "/oauth/", "/oid4vci/")) or not path.startswith("/")
    sent = headers if api else {}
    if method == "GET":
        return client.get(path, headers=sent, follow_redirects=False)
    if api or method != "POST":
        return client.request(method, path, headers=sent, json={}, follow_redirects=False)
    token = csrf_from(client.get("/sign-in").text)
    return client.post(path, data={"csrf_token": token}, follow_redirects=False)


def scan(
    app: Any,
    clients: dict[str, tuple[Any, dict]],
    holder: Holder,
    slugs: tuple[str, ...],
    only: str = "/",
) -> list[str]:
    """Every (role, method, path) whose answer carries one of X's private strings."""
    routes = sorted(set(app_routes(app)), key=lambda r: (r[1] in LAST, r))
    routes = [r for r in routes if r[1].startswith(only)]
    found = []
    for role, (method, template) in itertools.product(ROLES, routes):
        if template.startswith("/static"):
            continue
        client, headers = clients[role]
        for path in fill(template, holder, slugs):
            answer = call(client, headers, method, path)
            body = answer.text + " ".join(answer.headers.values())
            leaked = [s for s in holder.secrets if s in body]
            if leaked:
                found.append(f"{role} {method} {path} → {answer.status_code} shows {leaked}")
    return found


def test_no_route_shows_a_private_record_to_anyone_but_its_holder(
    client: Any, container: Container, hospital: Organisation
) -> None:
    holder = make_holder(client, container, hospital)
    clients = role_clients(client.app, container)
    found = scan(client.app, clients, holder, (hospital.slug, "food-bank"))
    assert found == [], "\n".join(found)
    # Public by design, and nothing private on it: the issued credential's page.
    anonymous, _ = clients["anonymous"]
    assert anonymous.get(f"/credentials/{holder.ids['credential']}").status_code == 200


def test_the_scan_finds_a_route_that_leaks(
    client: Any, container: Container, hospital: Organisation
) -> None:
    """The test above can fail: a route added carelessly (here, a debug view) is caught."""
    holder = make_holder(client, container, hospital)

    @client.app.get("/debug/claims/{claim_id}")
    def leak(claim_id: str) -> dict[str, Any]:
        with container.uow() as tx:
            return {"description": tx.claims.get(claim_id).details.description}

    clients = role_clients(client.app, container)
    found = scan(client.app, clients, holder, (hospital.slug,), only="/debug/")
    assert found and all("/debug/claims/" in line for line in found)
    assert any(line.startswith("anonymous GET /debug/claims/") for line in found)
