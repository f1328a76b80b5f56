"""The Open Badges 3.0 API end to end: a platform connects with the holder's consent and keeps
pulling the holder's credentials, including one issued after it connected."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

from rpl import schema
from rpl.bootstrap import Container
from rpl.organisations import Organisation
from tests.web.obapi_platform import (
    CALLBACK,
    PROFILE_READ,
    READ,
    Platform,
    answer,
    callback_params,
    issue_to,
    sign_in_through,
)
from tests.web.signin import new_client

HOLDER = "margaret@example.net"
RESPONSE_SCHEMA = "ob_v3p0_getopenbadgecredentialsresponse"


def links(response: Any) -> dict[str, dict[str, str]]:
    """rel → the query of that link, from an RFC 8288 Link header."""
    found = {}
    for part in response.headers["link"].split(","):
        target, rel = part.split(";")
        url = target.strip().strip("<>")
        found[rel.split("=")[1].strip('"')] = {
            k: v[0] for k, v in parse_qs(urlsplit(url).query).items()
        }
    return found


def names(body: dict[str, Any]) -> list[str]:
    """The roles the page's credentials confirm ("Registered Nurse at St Mary's Hospital")."""
    return [
        c["credentialSubject"]["achievement"]["name"].split(" at ")[0] for c in body["credential"]
    ]


def test_a_platform_connects_with_consent_and_keeps_pulling_new_credentials(
    client: Any, container: Container, hospital: Organisation
) -> None:
    # The order is by issue time (whole seconds), then id: the clock moves on a second per issue.
    started = container.now()
    clock = [started]
    container.now = lambda: clock[0]  # type: ignore[method-assign]

    def issued(email: str, role: str) -> None:
        clock[0] += timedelta(seconds=1)
        issue_to(client, container, email, role)

    issued(HOLDER, "Registered Nurse")
    issued(HOLDER, "Ward Manager")
    issued("someone.else@example.net", "Porter")  # never shared

    platform = Platform(new_client(container))
    sdd = platform.discover()
    assert sdd["openapi"].startswith("3.0")
    assert sdd["servers"] == [{"url": "http://testserver/ims/ob/v3p0"}]
    assert sdd["info"]["x-imssf-privacyPolicyUrl"] == "http://testserver/privacy"
    assert platform.http.get(sdd["info"]["x-imssf-image"]).status_code == 200
    assert set(platform.flow["scopes"]) == {
        f"https://purl.imsglobal.org/spec/ob/v3p0/scope/{s}"
        for s in ("credential.readonly", "credential.upsert", "profile.readonly", "profile.update")
    }
    registered = platform.register()
    assert registered.status_code == 201, registered.text
    assert registered.json()["client_secret_expires_at"] == 0
    assert registered.json()["redirect_uris"] == [CALLBACK]

    # The holder follows the platform's link, is asked to sign in, then sees the consent page.
    asked = platform.authorization(scope=f"{READ} {PROFILE_READ} offline_access")
    browser = new_client(container)
    to_sign_in = browser.get(asked.url, follow_redirects=False)
    assert to_sign_in.status_code == 303, to_sign_in.headers.get("location")
    assert to_sign_in.headers["location"].startswith("/sign-in?next=%2Foauth%2Fauthorize%3F")
    next_path = parse_qs(urlsplit(to_sign_in.headers["location"]).query)["next"][0]
    consent = sign_in_through(browser, container, HOLDER, next_path)
    assert consent.status_code == 200
    assert "Platform Example" in consent.text and "platform.example" in consent.text
    assert "See the credentials you hold here" in consent.text
    assert (
        "form-action 'self' https://platform.example" in consent.headers["content-security-policy"]
    )
    back = callback_params(answer(browser, consent.text, "approve"))
    assert back["state"] == asked.state

    tokens = platform.exchange(back["code"], asked.verifier)
    assert tokens.status_code == 200, tokens.text
    assert tokens.headers["cache-control"] == "no-store"
    first = tokens.json()
    assert first["token_type"] == "Bearer" and first["expires_in"] == 60 * 60

    # Paging, one at a time: X-Total-Count, and Link next/last/first (prev once past the start).
    page1 = platform.get("/credentials?limit=1", first["access_token"])
    assert page1.status_code == 200, page1.text
    assert page1.headers["x-total-count"] == "2"
    assert schema.validate(page1.json(), RESPONSE_SCHEMA) == []
    assert names(page1.json()) == ["Registered Nurse"]
    assert links(page1)["next"] == {"limit": "1", "offset": "1"}
    assert links(page1)["last"] == {"limit": "1", "offset": "1"}
    assert "prev" not in links(page1)
    page2 = platform.get(page1.headers["link"].split(">")[0].lstrip("<"), first["access_token"])
    assert names(page2.json()) == ["Ward Manager"]
    assert "next" not in links(page2) and links(page2)["prev"] == {"limit": "1", "offset": "0"}

    profile = platform.get("/profile", first["access_token"])
    assert profile.json()["email"] == HOLDER
    assert schema.validate(profile.json(), "ob_v3p0_profile") == []

    # Later: a new credential is issued; the platform refreshes its token and receives it.
    issued(HOLDER, "Practice Educator")
    renewed = platform.refresh(first["refresh_token"])
    assert renewed.status_code == 200, renewed.text
    assert renewed.json()["refresh_token"] != first["refresh_token"]
    page3 = platform.get("/credentials?limit=1&offset=2", renewed.json()["access_token"])
    assert page3.headers["x-total-count"] == "3"
    assert names(page3.json()) == ["Practice Educator"]
    assert schema.validate(page3.json(), RESPONSE_SCHEMA) == []

    # The holder sees the platform among their connected applications.
    apps = browser.get("/my/apps")
    assert "Platform Example" in apps.text and "Disconnect" in apps.text
