"""Another platform, written here, that connects to rpl through the Open Badges 3.0 API.

It knows only what such a platform knows: rpl's address. Everything else it reads from the
discovery document (registration, authorisation and token URLs, the scopes), and it speaks
RFC 7591, RFC 6749 with PKCE (RFC 7636, S256) and the OB 3.0 resource endpoints. The holder's
side (signing in, the consent page's form with its CSRF token) is driven as a browser would.
"""

from __future__ import annotations

import base64
import hashlib
import html
import re
import secrets
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from rpl.bootstrap import Container
from tests.conftest import PUBLIC_URL, csrf_from
from tests.web.journey import attester_path, decide, file_claim
from tests.web.signin import sign_in_link

CALLBACK = "https://platform.example/callback"
SCOPE_BASE = "https://purl.imsglobal.org/spec/ob/v3p0/scope/"
READ = SCOPE_BASE + "credential.readonly"
UPSERT = SCOPE_BASE + "credential.upsert"
PROFILE_READ = SCOPE_BASE + "profile.readonly"
PROFILE_UPDATE = SCOPE_BASE + "profile.update"


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


@dataclass
class Authorization:
    url: str
    state: str
    verifier: str


@dataclass
class Platform:
    http: Any  # a client with no cookies of the holder's
    sdd: dict[str, Any] = field(default_factory=dict)
    client_id: str = ""
    client_secret: str = ""

    @property
    def flow(self) -> dict[str, Any]:
        scheme = self.sdd["components"]["securitySchemes"]["OAuth2ACG"]
        return scheme["flows"]["authorizationCode"]  # type: ignore[no-any-return]

    def discover(self) -> dict[str, Any]:
        answer = self.http.get("/ims/ob/v3p0/discovery")
        assert answer.status_code == 200, answer.text
        self.sdd = answer.json()
        return self.sdd

    def register(self, **changes: Any) -> Any:
        scheme = self.sdd["components"]["securitySchemes"]["OAuth2ACG"]
        body = {
            "client_name": "Platform Example",
            "client_uri": "https://platform.example/",
            "redirect_uris": [CALLBACK],
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "client_secret_basic",
            "scope": " ".join(self.flow["scopes"]),
            **changes,
        }
        answer = self.http.post(scheme["x-imssf-registrationUrl"], json=body)
        if answer.status_code == 201:
            self.client_id = answer.json()["client_id"]
            self.client_secret = answer.json()["client_secret"]
        return answer

    def authorization(self, scope: str = READ, **changes: str) -> Authorization:
        verifier, challenge = pkce_pair()
        state = secrets.token_urlsafe(12)
        params = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": CALLBACK,
            "scope": scope,
            "state": state,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            **changes,
        }
        return Authorization(
            f"{self.flow['authorizationUrl']}?{urlencode(params)}", state, verifier
        )

    def basic(self) -> dict[str, str]:
        pair = f"{self.client_id}:{self.client_secret}".encode()
        return {"Authorization": "Basic " + base64.b64encode(pair).decode()}

    def token(self, **form: str) -> Any:
        return self.http.post(self.flow["tokenUrl"], data=form, headers=self.basic())

    def exchange(self, code: str, verifier: str, redirect_uri: str = CALLBACK) -> Any:
        return self.token(
            grant_type="authorization_code",
            code=code,
            redirect_uri=redirect_uri,
            code_verifier=verifier,
        )

    def refresh(self, refresh_token: str) -> Any:
        return self.http.post(
            self.flow["refreshUrl"],
            data={"grant_type": "refresh_token", "refresh_token": refresh_token},
            headers=self.basic(),
        )

    def get(self, path_or_url: str, access_token: str) -> Any:
        url = path_or_url
        if not url.startswith("http"):
            url = self.sdd["servers"][0]["url"] + path_or_url
        return self.http.get(url, headers={"Authorization": f"Bearer {access_token}"})


def consent_form(page_html: str) -> dict[str, str]:
    """The consent page's hidden fields (the request again, and the CSRF token)."""
    fields = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page_html)
    return {name: html.unescape(value) for name, value in fields}


def answer(browser: Any, consent_html: str, decision: str) -> Any:
    form = {**consent_form(consent_html), "decision": decision}
    assert form["csrf_token"] == csrf_from(consent_html)
    return browser.post("/oauth/authorize", data=form, follow_redirects=False)


def callback_params(response: Any) -> dict[str, str]:
    """What the platform's callback receives: the redirect's query."""
    assert response.status_code in (302, 303), response.text
    location = response.headers["location"]
    assert location.startswith(CALLBACK + "?"), location
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def mailed_link(container: Container) -> str:
    """The newest sign-in link in the outbox, with its `?next=` (conftest's helper drops it)."""
    newest = sorted(container.settings.outbox_dir.glob("*.eml"))[-1]
    message = message_from_bytes(newest.read_bytes(), policy=policy.default)
    text = message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    found = re.search(rf"{re.escape(PUBLIC_URL)}(/sign-in/[A-Za-z0-9_-]+(\?next=\S+)?)", text)
    assert found, "no sign-in link in the newest mail"
    return found.group(1)


def sign_in_through(browser: Any, container: Container, email: str, next_path: str) -> Any:
    """Sign in from the sign-in page that `next_path` led to; returns the page it leads back to."""
    sign_in_link(browser, container, email, next_path)
    link = mailed_link(container)
    page = browser.get(link)
    done = browser.post(link, data=consent_form(page.text), follow_redirects=False)
    assert done.status_code == 303
    return browser.get(done.headers["location"], follow_redirects=False)


def issue_to(client: Any, container: Container, email: str, role: str) -> str:
    """A credential issued to `email` through the real journey (claim, attester confirms);
    returns the claimant's private page."""
    filed = file_claim(client, claimant_email=email, role=role)
    assert filed.status_code == 303, filed.text
    decided = decide(client, attester_path(container), action="confirm", attester_role="HR")
    assert decided.status_code == 200, decided.text
    return str(filed.headers["location"])
