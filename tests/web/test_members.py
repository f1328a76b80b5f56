"""Organisation members, the attester inbox and the holder's list, through the real app."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import text

from rpl.bootstrap import Container
from rpl.claims import ClaimState
from rpl.organisations import Organisation
from rpl.services.organisations import RegisterOrganisation, register_organisation
from tests.conftest import csrf_from, outbox_links
from tests.web.journey import credential_id, decide, file_claim, issued_credential
from tests.web.signin import add_member, new_client, sign_in

ADMIN = "boss@stmarys.example"
PAT = "pat@outside.example"


def audit_kinds(container: Container) -> list[tuple[str, str]]:
    with container.engine.connect() as db:
        rows = db.execute(text("SELECT kind, actor FROM audit_entry ORDER BY seq")).all()
    return [(k, a) for k, a in rows]


def other_org(container: Container) -> Organisation:
    return register_organisation(
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


def members_form(client: Any) -> str:
    page = client.get("/orgs/st-marys/members")
    assert page.status_code == 200, page.text
    return csrf_from(page.text)


def invite(client: Any, **fields: str) -> Any:
    return client.post(
        "/orgs/st-marys/members", data={"csrf_token": members_form(client), **fields}
    )


def remove(client: Any, email: str, reason: str) -> Any:
    page = client.get("/orgs/st-marys/members").text
    row = page.split(f"<td>{email}</td>")[1]
    membership_id = row.split("/members/")[1].split("/remove")[0]
    return client.post(
        f"/orgs/st-marys/members/{membership_id}/remove",
        data={"csrf_token": csrf_from(page), "reason": reason},
    )


def test_an_admin_invites_and_removes_members_and_each_change_is_audited(
    client: Any, container: Container, hospital: Organisation
) -> None:
    add_member(container, hospital, ADMIN, "admin", "Head of HR")
    sign_in(client, container, ADMIN)
    bad = invite(client, email="not-an-address", role="attester", title="Ward Sister")
    assert bad.status_code == 422 and 'value="Ward Sister"' in bad.text
    assert (
        invite(
            client, email="Pat@Outside.example", role="attester", title="Ward Sister"
        ).status_code
        == 200
    )
    page = client.get("/orgs/st-marys/members").text
    assert f"<td>{PAT}</td><td>attester</td><td>Ward Sister</td>" in page
    assert any(
        "added you on rpl as Ward Sister" in p.read_text()
        for p in container.settings.outbox_dir.glob("*.eml")
    )
    assert invite(client, email=PAT, role="attester").status_code == 409
    no_reason = remove(client, PAT, "  ")
    assert no_reason.status_code == 422 and "say why" in no_reason.text
    assert remove(client, PAT, "left in March").status_code == 200
    page = client.get("/orgs/st-marys/members").text
    assert f"by admin:{ADMIN}: left in March" in page
    assert ("MembershipAdded", f"admin:{ADMIN}") in audit_kinds(container)
    assert ("MembershipRemoved", f"admin:{ADMIN}") in audit_kinds(container)


def test_members_pages_are_for_that_organisations_admins_only(
    client: Any, container: Container, hospital: Organisation
) -> None:
    other_org(container)
    assert client.get("/orgs/st-marys/members", follow_redirects=False).status_code == 303
    sign_in(client, container, "registrar@outside.example")  # the hospital's listed attester
    assert client.get("/orgs/st-marys/members").status_code == 403
    elsewhere = new_client(container)
    with container.uow() as tx:
        food = tx.orgs.by_slug("food-bank")
    add_member(container, food, "admin@foodbank.example", "admin")
    sign_in(elsewhere, container, "admin@foodbank.example")
    assert elsewhere.get("/orgs/st-marys/members").status_code == 403
    assert elsewhere.get("/orgs/food-bank/members").status_code == 200


def test_a_removed_attesters_link_stops_working_and_what_they_confirmed_stays_valid(
    client: Any, container: Container, hospital: Organisation
) -> None:
    add_member(container, hospital, PAT, "attester", "Ward Sister")
    first = file_claim(client, attester_email=PAT).headers["location"]
    decide(
        client, outbox_links(container, "attest")[-1], action="confirm", attester_role="Ward Sister"
    )
    credential = issued_credential(client, first)
    second = file_claim(client, attester_email=PAT, role="Night Nurse").headers["location"]
    link = outbox_links(container, "attest")[-1]
    form = csrf_from(client.get(link).text)

    operator = {"Authorization": "Bearer test-admin-token"}
    [pat] = [
        m
        for m in client.get("/api/organisations/st-marys/members", headers=operator).json()
        if m["email"] == PAT
    ]
    removed = client.post(
        f"/api/organisations/st-marys/members/{pat['id']}/remove",
        json={"reason": "left"},
        headers=operator,
    )
    assert removed.status_code == 200 and removed.json()["removed_at"]

    refused = client.post(
        link, data={"csrf_token": form, "action": "confirm", "attester_role": "Ward Sister"}
    )
    assert refused.status_code == 403
    assert "may no longer confirm claims for St Mary&#39;s Hospital" in refused.text
    assert client.get(link).status_code == 403
    with container.uow() as tx:  # the second claim still waits for a decision
        assert len(tx.claim_index.for_organisation(hospital.id, (ClaimState.REQUESTED,))) == 1
    assert client.get(second).status_code == 200
    verdict = client.post("/api/verify", content=json.dumps(credential)).json()
    assert verdict["verified"] is True, verdict["errors"]
    assert PAT not in json.dumps(credential) and "Ward Sister" in json.dumps(credential)


def test_a_signed_in_attester_decides_from_the_inbox_without_the_link(
    client: Any, container: Container, hospital: Organisation
) -> None:
    food = other_org(container)
    add_member(container, hospital, PAT, "attester", "Ward Sister")
    claimant = file_claim(client, attester_email="hr@stmarys.example").headers["location"]
    link = outbox_links(container, "attest")[-1]
    attester = new_client(container)
    sign_in(attester, container, PAT)
    inbox = attester.get("/orgs/st-marys/claims")
    assert inbox.status_code == 200 and "Registered Nurse" in inbox.text
    claim_path = inbox.text.split('href="/orgs/st-marys/claims/')[1].split('"')[0]
    page = attester.get(f"/orgs/st-marys/claims/{claim_path}")
    assert page.status_code == 200 and 'value="Ward Sister"' in page.text
    done = attester.post(
        f"/orgs/st-marys/claims/{claim_path}",
        data={
            "csrf_token": csrf_from(page.text),
            "action": "confirm",
            "attester_role": "Ward Sister",
        },
    )
    assert done.status_code == 200
    assert credential_id(client.get(claimant).text)
    assert "Registered Nurse" not in attester.get("/orgs/st-marys/claims").text
    assert client.get(link).status_code in (409, 410)  # the emailed link ended with the decision
    assert ("ClaimConfirmed", f"attester:{PAT}") in audit_kinds(container)
    # An attester of St Mary's has no business at the food bank, and the reverse.
    assert attester.get("/orgs/food-bank/claims").status_code == 403
    add_member(container, food, "coord@foodbank.example", "attester")
    foreign = new_client(container)
    sign_in(foreign, container, "coord@foodbank.example")
    assert foreign.get("/orgs/st-marys/claims").status_code == 403
    assert foreign.get(f"/orgs/food-bank/claims/{claim_path}").status_code == 403


def test_the_holder_sees_their_claims_and_credentials_and_nobody_elses(
    client: Any, container: Container, hospital: Organisation
) -> None:
    claimant = file_claim(client).headers["location"]
    decide(client, outbox_links(container, "attest")[-1], action="confirm", attester_role="HR")
    cid = credential_id(client.get(claimant).text)
    holder = new_client(container)
    sign_in(holder, container, "Margaret@example.net")
    mine = holder.get("/my")
    assert mine.status_code == 200 and f"/credentials/{cid}" in mine.text
    claim_id = mine.text.split('href="/my/claims/')[1].split('"')[0]
    assert holder.get(f"/my/claims/{claim_id}").status_code == 200
    assert client.get(claimant).status_code == 200  # the capability link keeps working
    stranger = new_client(container)
    sign_in(stranger, container, "sam@example.net")
    assert "Registered Nurse" not in stranger.get("/my").text
    assert stranger.get(f"/my/claims/{claim_id}").status_code == 404


def test_a_signed_in_admin_changes_status_on_the_page_without_the_token(
    client: Any, container: Container, hospital: Organisation
) -> None:
    claimant = file_claim(client).headers["location"]
    decide(client, outbox_links(container, "attest")[-1], action="confirm", attester_role="HR")
    cid = credential_id(client.get(claimant).text)
    add_member(container, hospital, ADMIN, "admin")
    sign_in(client, container, ADMIN)
    page = client.get(f"/admin/credentials/{cid}")
    assert page.status_code == 200 and 'name="admin_token"' not in page.text
    done = client.post(
        f"/admin/credentials/{cid}",
        data={"csrf_token": csrf_from(page.text), "action": "revoke", "reason": "issued in error"},
    )
    assert done.status_code == 200 and "revoked" in done.text
    assert ("CredentialRevoked", f"admin:{ADMIN}") in audit_kinds(container)
