"""The OB 3.0 API's OAuth server refuses what it must: each rule with the case that breaks it."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Any

import pytest

from rpl import schema
from rpl.bootstrap import Container
from rpl.organisations import Organisation
from tests.conftest import csrf_from
from tests.web.journey import issued_credential
from tests.web.obapi_platform import (
    CALLBACK,
    PROFILE_READ,
    PROFILE_UPDATE,
    READ,
    UPSERT,
    Authorization,
    Platform,
    answer,
    callback_params,
    issue_to,
)
from tests.web.signin import new_client, sign_in

HOLDER = "margaret@example.net"


@pytest.fixture
def platform(container: Container) -> Platform:
    made = Platform(new_client(container))
    made.discover()
    assert made.register().status_code == 201
    return made


@pytest.fixture
def browser(container: Container) -> Any:
    holder = new_client(container)
    sign_in(holder, container, HOLDER)
    return holder


def consent(browser: Any, asked: Authorization, decision: str = "approve") -> dict[str, str]:
    page = browser.get(asked.url, follow_redirects=False)
    assert page.status_code == 200, page.text
    return callback_params(answer(browser, page.text, decision))


def connect(platform: Platform, browser: Any, scope: str = READ) -> tuple[dict[str, Any], str]:
    """(the token response, the code) for a holder who said yes."""
    asked = platform.authorization(scope=scope)
    code = consent(browser, asked)["code"]
    tokens = platform.exchange(code, asked.verifier)
    assert tokens.status_code == 200, tokens.text
    return tokens.json(), code


def refused(response: Any, status: int, error: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["error"] == error, response.text


def test_a_wrong_pkce_verifier_is_refused_and_spends_the_code(
    platform: Platform, browser: Any
) -> None:
    asked = platform.authorization()
    code = consent(browser, asked)["code"]
    refused(platform.exchange(code, "x" * 50), 400, "invalid_grant")
    refused(platform.exchange(code, asked.verifier), 400, "invalid_grant")


def test_a_code_used_twice_revokes_what_it_gave(platform: Platform, browser: Any) -> None:
    asked = platform.authorization()
    code = consent(browser, asked)["code"]
    first = platform.exchange(code, asked.verifier).json()
    assert platform.get("/credentials", first["access_token"]).status_code == 200
    refused(platform.exchange(code, asked.verifier), 400, "invalid_grant")
    assert platform.get("/credentials", first["access_token"]).status_code == 401
    refused(platform.refresh(first["refresh_token"]), 400, "invalid_grant")


def test_an_unregistered_redirect_uri_gets_an_error_page_never_a_redirect(
    platform: Platform, browser: Any
) -> None:
    asked = platform.authorization(redirect_uri="https://evil.example/callback")
    page = browser.get(asked.url, follow_redirects=False)
    assert page.status_code == 400 and "evil.example" not in page.headers.get("location", "")
    assert "redirect_uri is not one this client registered" in page.text
    unknown = platform.authorization(client_id="rplc_nobody")
    assert browser.get(unknown.url, follow_redirects=False).status_code == 400


def test_the_token_request_must_name_the_same_redirect_uri(
    platform: Platform, browser: Any
) -> None:
    asked = platform.authorization()
    code = consent(browser, asked)["code"]
    other = "https://platform.example/elsewhere"
    refused(platform.exchange(code, asked.verifier, redirect_uri=other), 400, "invalid_grant")


def test_plain_pkce_and_no_pkce_are_refused_at_the_client(platform: Platform, browser: Any) -> None:
    for changes in ({"code_challenge_method": "plain"}, {"code_challenge": ""}):
        asked = platform.authorization(**changes)
        back = callback_params(browser.get(asked.url, follow_redirects=False))
        assert back["error"] == "invalid_request" and back["state"] == asked.state


def test_the_holder_can_say_no(platform: Platform, browser: Any) -> None:
    back = consent(browser, platform.authorization(), "deny")
    assert back["error"] == "access_denied" and "code" not in back


def test_a_token_without_the_scope_gets_403_with_a_status_info(
    platform: Platform, browser: Any
) -> None:
    tokens, _ = connect(platform, browser, scope=READ)
    answer = platform.get("/profile", tokens["access_token"])
    assert answer.status_code == 403
    assert 'error="insufficient_scope"' in answer.headers["www-authenticate"]
    assert answer.json()["imsx_codeMajor"] == "failure"
    assert schema.validate(answer.json(), "ob_v3p0_imsx_statusinfo") == []
    missing = platform.http.get("/ims/ob/v3p0/credentials")
    assert missing.status_code == 401
    assert schema.validate(missing.json(), "ob_v3p0_imsx_statusinfo") == []


def test_a_reused_refresh_token_revokes_the_grant(platform: Platform, browser: Any) -> None:
    tokens, _ = connect(platform, browser)
    renewed = platform.refresh(tokens["refresh_token"]).json()
    assert platform.get("/credentials", renewed["access_token"]).status_code == 200
    refused(platform.refresh(tokens["refresh_token"]), 400, "invalid_grant")
    assert platform.get("/credentials", renewed["access_token"]).status_code == 401
    refused(platform.refresh(renewed["refresh_token"]), 400, "invalid_grant")


def test_a_refresh_token_unused_for_its_lifetime_expires_and_each_rotation_renews_it(
    container: Container, platform: Platform, browser: Any
) -> None:
    from rpl.services.oauth import REFRESH_TTL

    tokens, _ = connect(platform, browser)
    start = container.now()
    later = start + REFRESH_TTL - timedelta(minutes=1)
    container.now = lambda: later  # type: ignore[method-assign]
    renewed = platform.refresh(tokens["refresh_token"])
    assert renewed.status_code == 200, renewed.text
    assert platform.get("/credentials", renewed.json()["access_token"]).status_code == 200
    container.now = lambda: later + REFRESH_TTL  # type: ignore[method-assign]
    refused(platform.refresh(renewed.json()["refresh_token"]), 400, "invalid_grant")
    # Expired, not leaked: the grant stands (the holder, signed in again after months, sees
    # the app and can end it), and the holder's yes gives the app new tokens.
    sign_in(browser, container, HOLDER)
    assert "Platform Example" in browser.get("/my/apps").text
    again, _ = connect(platform, browser)
    assert platform.get("/credentials", again["access_token"]).status_code == 200


def test_a_disconnected_app_gets_401(platform: Platform, browser: Any) -> None:
    tokens, _ = connect(platform, browser)
    apps = browser.get("/my/apps")
    assert "Platform Example" in apps.text
    gone = browser.post(
        f"/my/apps/{platform.client_id}/revoke",
        data={"csrf_token": csrf_from(apps.text)},
        follow_redirects=False,
    )
    assert gone.status_code == 303
    assert "No application is connected" in browser.get("/my/apps").text
    assert platform.get("/credentials", tokens["access_token"]).status_code == 401
    refused(platform.refresh(tokens["refresh_token"]), 400, "invalid_grant")


def test_the_client_can_revoke_its_refresh_token(platform: Platform, browser: Any) -> None:
    tokens, _ = connect(platform, browser)
    done = platform.http.post(
        "/oauth/revoke", data={"token": tokens["refresh_token"]}, headers=platform.basic()
    )
    assert done.status_code == 200
    assert platform.get("/credentials", tokens["access_token"]).status_code == 401


def test_client_authentication_is_checked(platform: Platform, browser: Any) -> None:
    asked = platform.authorization()
    code = consent(browser, asked)["code"]
    wrong = base64.b64encode(f"{platform.client_id}:not-the-secret".encode()).decode()
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK}
    answer = platform.http.post(
        "/oauth/token",
        data={**form, "code_verifier": asked.verifier},
        headers={"Authorization": f"Basic {wrong}"},
    )
    refused(answer, 401, "invalid_client")
    assert answer.headers["www-authenticate"].startswith("Basic")
    refused(platform.token(grant_type="password"), 400, "unsupported_grant_type")


def test_client_secret_post_works_when_registered(container: Container, browser: Any) -> None:
    platform = Platform(new_client(container))
    platform.discover()
    assert platform.register(token_endpoint_auth_method="client_secret_post").status_code == 201
    asked = platform.authorization()
    code = consent(browser, asked)["code"]
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": CALLBACK,
        "code_verifier": asked.verifier,
        "client_id": platform.client_id,
        "client_secret": platform.client_secret,
    }
    assert platform.http.post("/oauth/token", data=form).status_code == 200


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"redirect_uris": ["http://platform.example/cb"]}, "invalid_redirect_uri"),
        ({"redirect_uris": ["https://platform.example/cb#frag"]}, "invalid_redirect_uri"),
        ({"redirect_uris": []}, "invalid_redirect_uri"),
        ({"client_name": ""}, "invalid_client_metadata"),
        ({"grant_types": ["client_credentials"]}, "invalid_client_metadata"),
        ({"scope": "https://example.org/scope/everything"}, "invalid_client_metadata"),
    ],
)
def test_registration_refuses_bad_metadata(
    container: Container, changes: dict[str, Any], error: str
) -> None:
    platform = Platform(new_client(container))
    platform.discover()
    refused(platform.register(**changes), 400, error)


def test_a_loopback_http_redirect_may_be_registered(container: Container) -> None:
    platform = Platform(new_client(container))
    platform.discover()
    assert platform.register(redirect_uris=["http://127.0.0.1:8765/cb"]).status_code == 201


def test_the_profile_can_be_read_and_renamed(platform: Platform, browser: Any) -> None:
    tokens, _ = connect(platform, browser, scope=f"{PROFILE_READ} {PROFILE_UPDATE}")
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    profile = platform.get("/profile", tokens["access_token"]).json()
    renamed = platform.http.put(
        "/ims/ob/v3p0/profile", json={**profile, "name": "Margaret Okafor"}, headers=bearer
    )
    assert renamed.status_code == 200 and renamed.json()["name"] == "Margaret Okafor"
    assert platform.get("/profile", tokens["access_token"]).json()["name"] == "Margaret Okafor"
    for bad in ({**profile, "type": "Person"}, {**profile, "email": "x@example.org"}, []):
        answer = platform.http.put("/ims/ob/v3p0/profile", json=bad, headers=bearer)
        assert answer.status_code == 400, answer.text
        assert schema.validate(answer.json(), "ob_v3p0_imsx_statusinfo") == []


def test_paging_parameters_are_checked(
    platform: Platform, browser: Any, client: Any, container: Container, hospital: Organisation
) -> None:
    issue_to(client, container, HOLDER, "Registered Nurse")
    tokens, _ = connect(platform, browser)
    for query in ("limit=0", "offset=-1", "limit=x", "since=yesterday", "since=2020-01-01T00:00"):
        answer = platform.get(f"/credentials?{query}", tokens["access_token"])
        assert answer.status_code == 400, query
    later = platform.get("/credentials?since=2999-01-01T00:00:00Z", tokens["access_token"])
    assert later.headers["x-total-count"] == "0" and later.json()["credential"] == []
    assert (
        platform.get("/credentials?since=2000-01-01T00:00:00Z", tokens["access_token"]).headers[
            "x-total-count"
        ]
        == "1"
    )


def test_upsert_keeps_a_credential_for_the_holder(
    platform: Platform, browser: Any, client: Any, container: Container, hospital: Organisation
) -> None:
    elsewhere = issue_to(client, container, "colleague@example.net", "Porter")
    document = json.dumps(issued_credential(client, elsewhere)).encode()
    tokens, _ = connect(platform, browser, scope=UPSERT)
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    sent = {**bearer, "Content-Type": "application/json"}
    url = "/ims/ob/v3p0/credentials"
    created = platform.http.post(url, content=document, headers=sent)
    assert created.status_code == 201, created.text
    assert created.json()["id"] == json.loads(document)["id"]
    assert platform.http.post(url, content=document, headers=sent).status_code == 200
    garbage = {**bearer, "Content-Type": "text/plain"}
    refusal = platform.http.post(url, content=b"not a credential", headers=garbage)
    assert refusal.status_code == 400
    assert schema.validate(refusal.json(), "ob_v3p0_imsx_statusinfo") == []
    # credential.upsert alone does not let the platform read the holder's credentials
    assert platform.get("/credentials", tokens["access_token"]).status_code == 403


def test_what_a_platform_upserts_it_reads_back_after_what_was_issued_here(
    platform: Platform, browser: Any, client: Any, container: Container, hospital: Organisation
) -> None:
    own = issue_to(client, container, HOLDER, "Registered Nurse")
    elsewhere = issue_to(client, container, "colleague@example.net", "Porter")
    document = json.dumps(issued_credential(client, elsewhere)).encode()
    tokens, _ = connect(platform, browser, scope=f"{READ} {UPSERT}")
    assert platform.get("/credentials", tokens["access_token"]).headers["x-total-count"] == "1"
    sent = {"Authorization": f"Bearer {tokens['access_token']}", "Content-Type": "text/plain"}
    tampered = document.replace(b"Porter", b"Surgeon")
    kept = platform.http.post("/ims/ob/v3p0/credentials", content=tampered, headers=sent)
    assert kept.status_code == 201, kept.text  # kept for the holder, marked as failing
    sent["Content-Type"] = "application/json"
    later = container.now() + timedelta(seconds=1)  # arrivals are ordered by whole seconds
    container.now = lambda: later  # type: ignore[method-assign]
    created = platform.http.post("/ims/ob/v3p0/credentials", content=document, headers=sent)
    assert created.status_code == 201, created.text
    listed = platform.get("/credentials", tokens["access_token"])
    assert listed.headers["x-total-count"] == "2"  # the tampered one is not handed on
    ids = [c["id"] for c in listed.json()["credential"]]
    assert ids == [issued_credential(client, own)["id"], json.loads(document)["id"]]
