"""Rate limits on sign-in, link redemption and verification: 429 with Retry-After past the limit."""

from __future__ import annotations

from typing import Any

import pytest

from rpl.bootstrap import Container
from rpl.config import Settings, SettingsError
from rpl.organisations import Organisation
from rpl.web.ratelimit import RateLimiter
from tests.conftest import csrf_from
from tests.web.journey import attester_path, file_claim


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.with_(
        rate_sign_in="2/600", rate_links="3/600", rate_verify="2/600", rate_oauth="2/600"
    )


def test_sign_in_requests_are_limited_per_address_and_per_client(client: Any) -> None:
    form = csrf_from(client.get("/sign-in").text)

    def ask(email: str) -> Any:
        return client.post("/sign-in", data={"email": email, "csrf_token": form})

    assert ask("a@example.net").status_code == 200
    assert ask("a@example.net").status_code == 200
    third = ask("b@example.net")  # another address, but the same client
    assert third.status_code == 429
    assert int(third.headers["retry-after"]) > 0
    assert "Too many attempts" in third.text and "<h1>Too many attempts</h1>" in third.text


def test_the_address_is_limited_whatever_client_asks(container: Container) -> None:
    limiter = RateLimiter({"sign-in": (2, 600)}, clock=lambda: 100.0)
    assert limiter.hit("sign-in", "target:a@example.net") is None
    assert limiter.hit("sign-in", "target:a@example.net") is None
    assert limiter.hit("sign-in", "target:a@example.net") == 600
    assert limiter.hit("sign-in", "target:b@example.net") is None


def test_the_window_slides(container: Container) -> None:
    now = [0.0]
    limiter = RateLimiter({"links": (2, 60)}, clock=lambda: now[0])
    assert limiter.hit("links", "k") is None
    now[0] = 30.0
    assert limiter.hit("links", "k") is None
    assert limiter.hit("links", "k") == 30
    now[0] = 60.5  # the first try has left the window
    assert limiter.hit("links", "k") is None


def test_attestation_links_are_limited_on_the_page_and_the_api(
    client: Any, container: Container, hospital: Organisation
) -> None:
    file_claim(client)
    path = attester_path(container)
    token = path.rsplit("/", 1)[1]
    assert client.get(path).status_code == 200
    assert client.get(f"/api/attestations/{token}").status_code == 200
    assert client.get(path).status_code == 200
    limited = client.get(f"/api/attestations/{token}")
    assert limited.status_code == 429 and limited.json()["error"] == "RateLimitedError"
    assert "retry-after" in limited.headers


def test_sign_in_links_are_limited(client: Any, container: Container) -> None:
    for _ in range(3):
        assert client.get("/sign-in/not-a-real-token").status_code == 410
    assert client.get("/sign-in/not-a-real-token").status_code == 429


def test_verification_is_limited_on_the_api_and_the_page(client: Any) -> None:
    assert client.post("/api/verify", content=b"{}").status_code == 200
    assert client.post("/api/verify", content=b"{}").status_code == 200
    assert client.post("/api/verify", content=b"{}").status_code == 429
    form = csrf_from(client.get("/verify").text)
    page = client.post("/verify", data={"csrf_token": form, "credential": "{}"})
    assert page.status_code == 429 and "Too many attempts" in page.text


def test_rate_settings_must_be_n_per_seconds() -> None:
    for bad in ("5", "0/60", "5/0", "x/60", "5/-1"):
        with pytest.raises(SettingsError, match="RPL_RATE_VERIFY"):
            Settings.from_env({"RPL_HOME": "/tmp/x", "RPL_RATE_VERIFY": bad})
    assert Settings.from_env({"RPL_HOME": "/tmp/x", "RPL_SESSION_DAYS": "3"}).session_days == 3


def test_oauth_registration_and_token_requests_are_limited(client: Any) -> None:
    for _ in range(2):  # wrong in every way, but counted all the same
        assert client.post("/oauth/token", data={"grant_type": "password"}).status_code == 400
    refused = client.post("/oauth/token", data={"grant_type": "password"})
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0
    # the registration endpoint shares the address's count
    assert client.post("/oauth/register", json={"client_name": "x"}).status_code == 429
