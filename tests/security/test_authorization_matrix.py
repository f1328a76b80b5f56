"""Every role × every route of the app × own/other's object → the expected allow or deny.

The routes are read from the app itself: a route this table does not classify fails the test, so
nothing new can ship without someone saying who may use it. Each request is made for real, through
the app, by a client that holds that role (a session cookie on pages, a personal API token on the
API, the operator's token for the operator). Bodies that would change something are made invalid
*after* the access check (an empty reason, an unknown action), so an allowed request answers 4xx
from validation (422, 409, 410…) and changes nothing, while a denied one answers 401 or 403, a
redirect to sign-in, or — where an object is hidden from those who may not see it — 404.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import pytest

from rpl.bootstrap import Container
from rpl.config import Settings
from rpl.organisations import Organisation
from rpl.services import accounts, credit, credit_jobs, members
from rpl.services.organisations import (
    RegisterOrganisation,
    organisation_did,
    register_organisation,
)
from tests.conftest import PUBLIC_URL, csrf_from, outbox_links
from tests.credit.support import sample_crosswalk
from tests.web.journey import credential_id, decide, file_claim
from tests.web.signin import add_member, api_headers, new_client, sign_in

OPERATOR_TOKEN = "test-admin-token"
ROLES = (
    "anonymous",
    "claimant",
    "other_claimant",
    "attester",
    "other_attester",
    "removed_attester",
    "admin",
    "assessor",
    "operator",
)
EMAILS = {
    "claimant": "claimant@example.net",
    "other_claimant": "other@example.net",
    "attester": "pat@outside.example",  # attester of St Mary's
    "other_attester": "coord@elsewhere.example",  # attester of the food bank only
    "removed_attester": "gone@outside.example",  # was an attester of St Mary's
    "admin": "boss@outside.example",  # admin of St Mary's
    "assessor": "judge@outside.example",  # assessor at St Mary's
}


class Access(Enum):
    PUBLIC = "anyone"
    CAPABILITY = "whoever holds the link's secret"
    SIGNED_IN = "any signed-in account"
    HOLDER = "the holder of the claim"
    OWN_TOKEN = "the account that made the API token"
    OWN_LINK = "the account that made the share link"
    ATTESTER = "an attester of the organisation"
    ADMIN = "an admin of the organisation, or the operator"
    ASSESSOR = "an assessor of the organisation"
    OPERATOR = "the site operator only"
    NOBODY_BY_ROLE = "no role: only a secret none of the roles presents (wallet, claim token)"


# Who owns "own" and "other" objects for each kind of access.
OWNERS: dict[Access, tuple[set[str], set[str]]] = {
    Access.HOLDER: ({"claimant"}, {"other_claimant"}),
    Access.OWN_TOKEN: ({"claimant"}, {"other_claimant"}),
    Access.OWN_LINK: ({"claimant"}, {"other_claimant"}),
    Access.ATTESTER: ({"attester"}, {"other_attester"}),
    Access.ADMIN: ({"admin", "operator"}, {"operator"}),
    Access.ASSESSOR: ({"assessor"}, set()),
    Access.OPERATOR: ({"operator"}, {"operator"}),
}
ACCOUNTS = set(EMAILS)


def expected_allow(access: Access, role: str, own: bool) -> bool:
    if access in (Access.PUBLIC, Access.CAPABILITY):
        return True
    if access is Access.NOBODY_BY_ROLE:
        return False
    if access is Access.SIGNED_IN:
        return role in ACCOUNTS
    mine, others = OWNERS[access]
    return role in (mine if own else others)


@dataclass
class World:
    st_marys: Organisation
    food_bank: Organisation
    claim_token: dict[bool, str]  # own (St Mary's, claimant) / other (food bank, other claimant)
    claim_id: dict[bool, str]
    link: dict[bool, str]  # attestation link tokens of those claims
    credential: dict[bool, str]  # issued credentials: St Mary's / food bank
    membership: dict[bool, int]  # a member of St Mary's / of the food bank
    spare_token: dict[bool, int]  # API token ids of claimant / other claimant
    credit_request: dict[bool, str]  # claimant's (St Mary's) / other claimant's (food bank)
    csrf: dict[str, str]
    # each claimant's share link ("link_id", "secret") and published profile ("handle")
    passport: dict[str, dict[bool, str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Spec:
    access: Access
    # (world, own) → path, and keyword arguments for the client's request
    build: Callable[[World, bool], tuple[str, dict[str, Any]]]
    exists: bool = True  # does the object named exist? (then a 404 is a denial: it was hidden)
    ends_session: bool = False


def slug(w: World, own: bool) -> str:
    return w.st_marys.slug if own else w.food_bank.slug


def get(
    path: Callable[[World, bool], str], **kw: Any
) -> Callable[[World, bool], tuple[str, dict[str, Any]]]:
    return lambda w, own: (path(w, own), dict(kw))


def form(
    path: Callable[[World, bool], str], **fields: Any
) -> Callable[[World, bool], tuple[str, dict[str, Any]]]:
    """A page POST: the role's own CSRF token is added when sent."""
    return lambda w, own: (path(w, own), {"data": dict(fields), "csrf": True})


def body(
    path: Callable[[World, bool], str], payload: Any
) -> Callable[[World, bool], tuple[str, dict[str, Any]]]:
    return lambda w, own: (path(w, own), {"json": payload})


A = Access
CRED = lambda suffix="": lambda w, own: f"/credentials/{w.credential[own]}{suffix}"  # noqa: E731
ORG = lambda rest="": lambda w, own: f"/orgs/{slug(w, own)}{rest}"  # noqa: E731
API_ORG = lambda rest="": lambda w, own: f"/api/organisations/{slug(w, own)}{rest}"  # noqa: E731

# (method, path template) → who may use it. Keep in step with the app: unlisted routes fail.
ROUTES: dict[tuple[str, str], Spec] = {
    ("GET", "/openapi.json"): Spec(A.PUBLIC, get(lambda w, o: "/openapi.json")),
    ("GET", "/docs"): Spec(A.PUBLIC, get(lambda w, o: "/docs")),
    ("GET", "/docs/oauth2-redirect"): Spec(A.PUBLIC, get(lambda w, o: "/docs/oauth2-redirect")),
    ("GET", "/redoc"): Spec(A.PUBLIC, get(lambda w, o: "/redoc")),
    ("GET", "/static"): Spec(A.PUBLIC, get(lambda w, o: "/static/site.css")),
    ("GET", "/"): Spec(A.PUBLIC, get(lambda w, o: "/")),
    ("GET", "/orgs"): Spec(A.PUBLIC, get(lambda w, o: "/orgs")),
    ("GET", "/orgs/{slug}/did.json"): Spec(A.PUBLIC, get(ORG("/did.json"))),
    ("GET", "/orgs/{slug}/status/{purpose}"): Spec(A.PUBLIC, get(ORG("/status/revocation"))),
    # the claimant's journey: public form, then the private link is the key
    ("GET", "/claims/new"): Spec(A.PUBLIC, get(lambda w, o: "/claims/new")),
    ("POST", "/claims/new"): Spec(A.PUBLIC, form(lambda w, o: "/claims/new", kind="employment")),
    ("GET", "/my/{token}"): Spec(A.CAPABILITY, get(lambda w, o: f"/my/{w.claim_token[o]}")),
    ("POST", "/my/{token}/amendment"): Spec(
        A.CAPABILITY, form(lambda w, o: f"/my/{w.claim_token[o]}/amendment", answer="accept")
    ),
    ("POST", "/my/{token}/wallet"): Spec(
        A.CAPABILITY, form(lambda w, o: f"/my/{w.claim_token[o]}/wallet")
    ),
    ("GET", "/attest/{token}"): Spec(A.CAPABILITY, get(lambda w, o: f"/attest/{w.link[o]}")),
    ("POST", "/attest/{token}"): Spec(
        A.CAPABILITY, form(lambda w, o: f"/attest/{w.link[o]}", action="neither")
    ),
    # credentials: public by their unguessable id (the holder shares them)
    ("GET", "/credentials/{credential_id}"): Spec(A.PUBLIC, get(CRED())),
    ("GET", "/credentials/{credential_id}.json"): Spec(A.PUBLIC, get(CRED(".json"))),
    ("GET", "/credentials/{credential_id}.pdf"): Spec(A.PUBLIC, get(CRED(".pdf"))),
    ("GET", "/credentials/{credential_id}.png"): Spec(A.PUBLIC, get(CRED(".png"))),
    ("GET", "/credentials/{credential_id}.svg"): Spec(A.PUBLIC, get(CRED(".svg"))),
    ("GET", "/api/credentials/{credential_id}"): Spec(
        A.PUBLIC, get(lambda w, o: f"/api/credentials/{w.credential[o]}")
    ),
    ("GET", "/verify"): Spec(A.PUBLIC, get(lambda w, o: "/verify")),
    ("POST", "/verify"): Spec(A.PUBLIC, form(lambda w, o: "/verify", credential="{}")),
    ("POST", "/api/verify"): Spec(A.PUBLIC, body(lambda w, o: "/api/verify", {})),
    ("POST", "/credentials/verify"): Spec(A.PUBLIC, body(lambda w, o: "/credentials/verify", {})),
    ("POST", "/presentations/verify"): Spec(
        A.PUBLIC, body(lambda w, o: "/presentations/verify", {})
    ),
    # access: org admin of the issuer the body names (its DID), or the operator; the credential
    # is otherwise empty, so an allowed request is a 400 and issues nothing
    ("POST", "/credentials/issue"): Spec(
        A.ADMIN,
        lambda w, own: (
            "/credentials/issue",
            {
                "json": {
                    "credential": {
                        "issuer": organisation_did(PUBLIC_URL, w.st_marys if own else w.food_bank)
                    }
                }
            },
        ),
    ),
    # the JSON API
    ("GET", "/api/organisations"): Spec(A.PUBLIC, get(lambda w, o: "/api/organisations")),
    ("POST", "/api/organisations"): Spec(A.OPERATOR, body(lambda w, o: "/api/organisations", {})),
    ("POST", "/api/organisations/{slug}/keys"): Spec(A.ADMIN, body(API_ORG("/keys"), None)),
    ("POST", "/api/organisations/{slug}/keys/{key_id}/compromise"): Spec(
        A.ADMIN, body(API_ORG("/keys/key-99/compromise"), {"reason": "x"}), exists=False
    ),
    ("POST", "/api/organisations/{slug}/keys/{key_id}/reissue"): Spec(
        A.ADMIN, body(API_ORG("/keys/key-99/reissue"), None), exists=False
    ),
    ("POST", "/api/claims"): Spec(A.PUBLIC, body(lambda w, o: "/api/claims", {})),
    ("GET", "/api/claims/{claim_id}"): Spec(
        A.NOBODY_BY_ROLE, get(lambda w, o: f"/api/claims/{w.claim_id[o]}")
    ),
    ("POST", "/api/claims/{claim_id}/amendment"): Spec(
        A.NOBODY_BY_ROLE,
        body(lambda w, o: f"/api/claims/{w.claim_id[o]}/amendment", {"accept": True}),
    ),
    ("GET", "/api/attestations/{token}"): Spec(
        A.CAPABILITY, get(lambda w, o: f"/api/attestations/{w.link[o]}")
    ),
    ("POST", "/api/attestations/{token}"): Spec(
        A.CAPABILITY, body(lambda w, o: f"/api/attestations/{w.link[o]}", {"action": "neither"})
    ),
    ("POST", "/api/credentials/{credential_id}/{action}"): Spec(
        A.ADMIN, body(lambda w, o: f"/api/credentials/{w.credential[o]}/revoke", {"reason": " "})
    ),
    ("GET", "/admin/credentials/{credential_id}"): Spec(
        A.ADMIN, get(lambda w, o: f"/admin/credentials/{w.credential[o]}")
    ),
    ("POST", "/admin/credentials/{credential_id}"): Spec(
        A.ADMIN,
        form(lambda w, o: f"/admin/credentials/{w.credential[o]}", action="revoke", reason=""),
    ),
    # accounts
    ("GET", "/sign-in"): Spec(A.PUBLIC, get(lambda w, o: "/sign-in")),
    ("POST", "/sign-in"): Spec(A.PUBLIC, form(lambda w, o: "/sign-in", email="not-an-address")),
    ("GET", "/sign-in/{token}"): Spec(A.PUBLIC, get(lambda w, o: "/sign-in/unknown"), exists=False),
    ("POST", "/sign-in/{token}"): Spec(
        A.PUBLIC, form(lambda w, o: "/sign-in/unknown"), exists=False
    ),
    ("POST", "/sign-out"): Spec(A.PUBLIC, form(lambda w, o: "/sign-out"), ends_session=True),
    ("GET", "/account"): Spec(A.SIGNED_IN, get(lambda w, o: "/account")),
    ("POST", "/account/sign-out-everywhere"): Spec(
        A.SIGNED_IN, form(lambda w, o: "/account/sign-out-everywhere"), ends_session=True
    ),
    ("POST", "/account/tokens"): Spec(A.SIGNED_IN, form(lambda w, o: "/account/tokens", name="t")),
    ("POST", "/account/tokens/{token_id}/revoke"): Spec(
        A.OWN_TOKEN, form(lambda w, o: f"/account/tokens/{w.spare_token[o]}/revoke")
    ),
    ("GET", "/my"): Spec(A.SIGNED_IN, get(lambda w, o: "/my")),
    ("GET", "/my/claims/{claim_id}"): Spec(
        A.HOLDER, get(lambda w, o: f"/my/claims/{w.claim_id[o]}")
    ),
    # the holder's passport is their own; a share link answers to its secret, a profile to anyone
    # the holder's archive: every account has its own (the routes take no object id)
    ("GET", "/my/export"): Spec(A.SIGNED_IN, get(lambda w, o: "/my/export")),
    ("POST", "/my/export"): Spec(A.SIGNED_IN, form(lambda w, o: "/my/export")),
    ("GET", "/my/import"): Spec(A.SIGNED_IN, get(lambda w, o: "/my/import")),
    ("POST", "/my/import"): Spec(A.SIGNED_IN, form(lambda w, o: "/my/import", pasted="no")),
    ("POST", "/api/my/import"): Spec(A.SIGNED_IN, body(lambda w, o: "/api/my/import", {})),
    # 404 for an account with nothing issued: not a denial
    ("GET", "/my/clr.json"): Spec(A.SIGNED_IN, get(lambda w, o: "/my/clr.json"), exists=False),
    ("GET", "/my/passport"): Spec(A.SIGNED_IN, get(lambda w, o: "/my/passport")),
    ("POST", "/my/passport/story"): Spec(
        A.SIGNED_IN, form(lambda w, o: "/my/passport/story", headline="x" * 200)
    ),
    ("POST", "/my/passport/records/{claim_id}/note"): Spec(
        A.HOLDER,
        form(lambda w, o: f"/my/passport/records/{w.claim_id[o]}/note", headline="x" * 200),
    ),
    ("POST", "/my/passport/links"): Spec(
        A.SIGNED_IN, form(lambda w, o: "/my/passport/links", days="3")
    ),
    ("POST", "/my/passport/links/{link_id}/revoke"): Spec(
        A.OWN_LINK, form(lambda w, o: f"/my/passport/links/{w.passport['link_id'][o]}/revoke")
    ),
    ("POST", "/my/passport/profile"): Spec(
        A.SIGNED_IN, form(lambda w, o: "/my/passport/profile", handle="-")
    ),
    ("GET", "/shared/{token}"): Spec(
        A.CAPABILITY, get(lambda w, o: f"/shared/{w.passport['secret'][o]}")
    ),
    ("GET", "/shared/{token}.pdf"): Spec(
        A.CAPABILITY, get(lambda w, o: f"/shared/{w.passport['secret'][o]}.pdf")
    ),
    ("GET", "/people/{handle}"): Spec(
        A.PUBLIC, get(lambda w, o: f"/people/{w.passport['handle'][o]}")
    ),
    # members (org admin)
    ("GET", "/orgs/{slug}/members"): Spec(A.ADMIN, get(ORG("/members"))),
    ("POST", "/orgs/{slug}/members"): Spec(A.ADMIN, form(ORG("/members"), email="nope")),
    ("POST", "/orgs/{slug}/members/{membership_id}/remove"): Spec(
        A.ADMIN,
        lambda w, o: (
            f"{ORG()(w, o)}/members/{w.membership[o]}/remove",
            {"data": {"reason": ""}, "csrf": True},
        ),
    ),
    ("GET", "/api/organisations/{slug}/members"): Spec(A.ADMIN, get(API_ORG("/members"))),
    ("POST", "/api/organisations/{slug}/members"): Spec(
        A.ADMIN, body(API_ORG("/members"), {"email": "nope", "role": "attester"})
    ),
    ("POST", "/api/organisations/{slug}/members/{membership_id}/remove"): Spec(
        A.ADMIN,
        lambda w, o: (
            f"{API_ORG()(w, o)}/members/{w.membership[o]}/remove",
            {"json": {"reason": " "}},
        ),
    ),
    # the attester inbox
    ("GET", "/orgs/{slug}/claims"): Spec(A.ATTESTER, get(ORG("/claims"))),
    ("GET", "/orgs/{slug}/claims/{claim_id}"): Spec(
        A.ATTESTER, get(lambda w, o: f"{ORG()(w, o)}/claims/{w.claim_id[o]}")
    ),
    ("POST", "/orgs/{slug}/claims/{claim_id}"): Spec(
        A.ATTESTER,
        lambda w, o: (
            f"{ORG()(w, o)}/claims/{w.claim_id[o]}",
            {"data": {"action": "neither"}, "csrf": True},
        ),
    ),
    # rosters (org admin)
    ("POST", "/api/organisations/{slug}/rosters"): Spec(A.ADMIN, body(API_ORG("/rosters"), None)),
    ("GET", "/api/organisations/{slug}/rosters/{import_id}"): Spec(
        A.ADMIN, get(API_ORG("/rosters/none")), exists=False
    ),
    ("GET", "/api/organisations/{slug}/rosters/{import_id}/rejected.csv"): Spec(
        A.ADMIN, get(API_ORG("/rosters/none/rejected.csv")), exists=False
    ),
    ("GET", "/orgs/{slug}/rosters/{import_id}/rejected.csv"): Spec(
        A.ADMIN, get(ORG("/rosters/none/rejected.csv")), exists=False
    ),
    ("GET", "/orgs/{slug}/rosters"): Spec(A.ADMIN, get(ORG("/rosters"))),
    ("POST", "/orgs/{slug}/rosters"): Spec(A.ADMIN, form(ORG("/rosters"))),
    ("GET", "/orgs/{slug}/rosters/{import_id}"): Spec(
        A.ADMIN, get(ORG("/rosters/none")), exists=False
    ),
    ("GET", "/rosters/accept/{token}"): Spec(
        A.CAPABILITY, get(lambda w, o: "/rosters/accept/unknown"), exists=False
    ),
    ("POST", "/rosters/accept/{token}"): Spec(
        A.CAPABILITY, form(lambda w, o: "/rosters/accept/unknown"), exists=False
    ),
    ("POST", "/rosters/accept/{token}/correct"): Spec(
        A.CAPABILITY, form(lambda w, o: "/rosters/accept/unknown/correct"), exists=False
    ),
    # credit
    ("GET", "/credit/new"): Spec(A.PUBLIC, get(lambda w, o: "/credit/new")),
    ("POST", "/credit/new"): Spec(A.PUBLIC, form(lambda w, o: "/credit/new")),
    ("GET", "/credit/my/{token}"): Spec(
        A.CAPABILITY, get(lambda w, o: "/credit/my/unknown"), exists=False
    ),
    ("GET", "/credit/my/{token}/transcript.json"): Spec(
        A.CAPABILITY, get(lambda w, o: "/credit/my/unknown/transcript.json"), exists=False
    ),
    ("GET", "/my/credit/{request_id}"): Spec(
        A.HOLDER, get(lambda w, o: f"/my/credit/{w.credit_request[o]}")
    ),
    ("GET", "/my/credit/{request_id}/transcript.json"): Spec(
        A.HOLDER, get(lambda w, o: f"/my/credit/{w.credit_request[o]}/transcript.json")
    ),
    # the assessor's queue and review (an assessor of the organisation; not its admin)
    ("GET", "/orgs/{slug}/assess/credit"): Spec(A.ASSESSOR, get(ORG("/assess/credit"))),
    ("GET", "/orgs/{slug}/assess/credit/{request_id}"): Spec(
        A.ASSESSOR, get(lambda w, o: f"{ORG()(w, o)}/assess/credit/{w.credit_request[o]}")
    ),
    ("POST", "/orgs/{slug}/assess/credit/{request_id}"): Spec(
        A.ASSESSOR,
        lambda w, o: (
            f"{ORG()(w, o)}/assess/credit/{w.credit_request[o]}",
            {"data": {"decision": "neither"}, "csrf": True},
        ),
    ),
    ("POST", "/api/orgs/{slug}/credit/credentials/{credential_id}/revoke"): Spec(
        A.ADMIN,
        body(lambda w, o: f"/api/orgs/{slug(w, o)}/credit/credentials/none/revoke", {"reason": ""}),
    ),
    ("GET", "/api/credit/crosswalks"): Spec(A.PUBLIC, get(lambda w, o: "/api/credit/crosswalks")),
    ("GET", "/api/credit/crosswalks/{crosswalk_id}/{version}.{fmt}"): Spec(
        A.PUBLIC, get(lambda w, o: "/api/credit/crosswalks/none/1.json"), exists=False
    ),
    # org admin
    ("POST", "/api/orgs/{slug}/crosswalks"): Spec(
        A.ADMIN, body(lambda w, o: f"/api/orgs/{slug(w, o)}/crosswalks", {})
    ),
    ("GET", "/api/organisations/{slug}/domain"): Spec(A.ADMIN, get(API_ORG("/domain"))),
    ("POST", "/api/organisations/{slug}/domain/verify"): Spec(
        A.ADMIN, body(API_ORG("/domain/verify"), {"method": "neither"})
    ),
    # OpenID4VCI: open metadata; the rest answers only to the wallet's own secrets
    ("GET", "/.well-known/openid-credential-issuer"): Spec(
        A.PUBLIC, get(lambda w, o: "/.well-known/openid-credential-issuer")
    ),
    ("GET", "/.well-known/oauth-authorization-server"): Spec(
        A.PUBLIC, get(lambda w, o: "/.well-known/oauth-authorization-server")
    ),
    ("POST", "/oid4vci/token"): Spec(A.PUBLIC, form(lambda w, o: "/oid4vci/token"), exists=False),
    ("POST", "/oid4vci/credential"): Spec(
        A.NOBODY_BY_ROLE, body(lambda w, o: "/oid4vci/credential", {})
    ),
    ("POST", "/oid4vci/nonce"): Spec(A.NOBODY_BY_ROLE, body(lambda w, o: "/oid4vci/nonce", None)),
    # The Open Badges 3.0 API: open discovery; resources answer only to an OAuth access token
    # (which no role here holds); the OAuth server checks the request before asking to sign in.
    ("GET", "/ims/ob/v3p0/discovery"): Spec(A.PUBLIC, get(lambda w, o: "/ims/ob/v3p0/discovery")),
    ("GET", "/ims/ob/v3p0/credentials"): Spec(
        A.NOBODY_BY_ROLE, get(lambda w, o: "/ims/ob/v3p0/credentials")
    ),
    ("POST", "/ims/ob/v3p0/credentials"): Spec(
        A.NOBODY_BY_ROLE, body(lambda w, o: "/ims/ob/v3p0/credentials", {})
    ),
    ("GET", "/ims/ob/v3p0/profile"): Spec(
        A.NOBODY_BY_ROLE, get(lambda w, o: "/ims/ob/v3p0/profile")
    ),
    ("PUT", "/ims/ob/v3p0/profile"): Spec(
        A.NOBODY_BY_ROLE, body(lambda w, o: "/ims/ob/v3p0/profile", {})
    ),
    ("POST", "/oauth/register"): Spec(A.PUBLIC, body(lambda w, o: "/oauth/register", {})),
    ("GET", "/oauth/authorize"): Spec(
        A.PUBLIC, get(lambda w, o: "/oauth/authorize?client_id=none"), exists=False
    ),
    ("POST", "/oauth/authorize"): Spec(
        A.SIGNED_IN, form(lambda w, o: "/oauth/authorize", client_id="none"), exists=False
    ),
    ("POST", "/oauth/token"): Spec(A.PUBLIC, form(lambda w, o: "/oauth/token")),
    ("POST", "/oauth/revoke"): Spec(
        A.NOBODY_BY_ROLE, form(lambda w, o: "/oauth/revoke", token="x")
    ),
    ("GET", "/my/apps"): Spec(A.SIGNED_IN, get(lambda w, o: "/my/apps")),
    ("POST", "/my/apps/{client_id}/revoke"): Spec(
        A.SIGNED_IN, form(lambda w, o: "/my/apps/none/revoke"), exists=False
    ),
    ("GET", "/privacy"): Spec(A.PUBLIC, get(lambda w, o: "/privacy")),
    # The holder's connections to other OB 3.0 providers (an empty address is refused before any
    # request leaves; another holder's connection is a 404: tests/web/test_ob_connections.py).
    ("GET", "/my/connections"): Spec(A.SIGNED_IN, get(lambda w, o: "/my/connections")),
    ("POST", "/my/connections"): Spec(A.SIGNED_IN, form(lambda w, o: "/my/connections", url="")),
    ("GET", "/my/connections/callback"): Spec(
        A.SIGNED_IN, get(lambda w, o: "/my/connections/callback?state=x&code=y")
    ),
    ("POST", "/my/connections/{connection_id}/pull"): Spec(
        A.SIGNED_IN, form(lambda w, o: "/my/connections/none/pull"), exists=False
    ),
    ("POST", "/my/connections/{connection_id}/disconnect"): Spec(
        A.SIGNED_IN, form(lambda w, o: "/my/connections/none/disconnect"), exists=False
    ),
}


def app_routes(app: Any) -> Iterator[tuple[str, str]]:
    """(method, path) of every route, nested routers included; a mount counts as its GET."""

    def walk(routes: Any, prefix: str = "") -> Iterator[tuple[str, str]]:
        for route in routes:
            if type(route).__name__ == "_IncludedRouter":
                yield from walk(
                    route.original_router.routes,
                    prefix + (getattr(route.include_context, "prefix", "") or ""),
                )
                continue
            methods = getattr(route, "methods", None) or {"GET"}
            for method in sorted(set(methods) - {"HEAD"}):
                yield method, prefix + route.path

    return walk(app.routes)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.with_(rate_sign_in="10000/60", rate_links="10000/60", rate_verify="10000/60")


def build_world(
    client: Any, container: Container, hospital: Organisation
) -> tuple[World, dict[str, Any], dict[str, dict[str, str]]]:
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
    add_member(container, hospital, EMAILS["attester"], "attester", "Ward Sister")
    gone = add_member(container, hospital, EMAILS["removed_attester"], "attester", "Porter")
    members.remove_member(
        container.uow, hospital, gone.id or 0, "left", "admin:admin-token", container.now()
    )
    add_member(container, food, EMAILS["other_attester"], "attester", "Coordinator")
    add_member(container, hospital, EMAILS["admin"], "admin", "Head of HR")
    add_member(container, hospital, EMAILS["assessor"], "assessor", "Registrar")
    food_member = add_member(container, food, "helper@elsewhere.example", "attester")

    def claim(org: str, claimant: str, attester: str, confirm: bool) -> tuple[str, str, str | None]:
        location = file_claim(
            client, org=org, claimant_email=claimant, attester_email=attester
        ).headers["location"]
        link = outbox_links(container, "attest")[-1]
        if confirm:
            decide(client, link, action="confirm", attester_role="HR")
            return location, link, credential_id(client.get(location).text)
        return location, link, None

    own_path, own_link, _ = claim("st-marys", EMAILS["claimant"], "hr@stmarys.example", False)
    other_path, other_link, _ = claim(
        "food-bank", EMAILS["other_claimant"], EMAILS["other_attester"], False
    )
    _, _, own_cred = claim("st-marys", EMAILS["claimant"], "hr@stmarys.example", True)
    _, _, other_cred = claim("food-bank", EMAILS["other_claimant"], EMAILS["other_attester"], True)
    with container.uow() as tx:
        own_id = tx.claims.by_token(accounts.hash_token(own_path.rsplit("/", 1)[1])).id
        other_id = tx.claims.by_token(accounts.hash_token(other_path.rsplit("/", 1)[1])).id

    clients: dict[str, Any] = {}
    headers: dict[str, dict[str, str]] = {}
    spare: dict[bool, int] = {}
    for role in ROLES:
        clients[role] = new_client(container)
        headers[role] = {}
        if role in EMAILS:
            sign_in(clients[role], container, EMAILS[role])
            headers[role] = api_headers(container, EMAILS[role], "matrix")
            if role in ("claimant", "other_claimant"):
                with container.uow() as tx:
                    account = tx.accounts.by_email(EMAILS[role])
                assert account is not None
                made, _ = accounts.create_api_token(
                    container.uow, account, "spare", container.now()
                )
                spare[role == "claimant"] = made.id
        elif role == "operator":
            headers[role] = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}
    requests = {
        own: credit_request(container, org, EMAILS[who], credential)
        for own, org, who, credential in (
            (True, hospital, "claimant", own_cred),
            (False, food, "other_claimant", other_cred),
        )
    }
    [hospital_member] = [
        m for m in members.list_members(container.uow, hospital) if m.email == EMAILS["attester"]
    ]
    world = World(
        st_marys=hospital,
        food_bank=food,
        claim_token={True: own_path.rsplit("/", 1)[1], False: other_path.rsplit("/", 1)[1]},
        claim_id={True: own_id, False: other_id},
        link={True: own_link.rsplit("/", 1)[1], False: other_link.rsplit("/", 1)[1]},
        credential={True: own_cred or "", False: other_cred or ""},
        membership={True: hospital_member.id or 0, False: food_member.id or 0},
        spare_token=spare,
        credit_request=requests,
        csrf={role: csrf_from(clients[role].get("/sign-in").text) for role in ROLES},
    )
    world.passport = passport_world(container, world)
    return world, clients, headers


def passport_world(container: Container, w: World) -> dict[str, dict[bool, str]]:
    """Each claimant's share link of their issued record, and a profile publishing it."""
    from rpl.services import passport

    found: dict[str, dict[bool, str]] = {"link_id": {}, "secret": {}, "handle": {}}
    for own, email in ((True, EMAILS["claimant"]), (False, EMAILS["other_claimant"])):
        with container.uow() as tx:
            account = tx.accounts.by_email(email)
            stored = tx.credentials.get(w.credential[own])
        assert account is not None and stored is not None and stored.claim_id
        now, handle = container.now(), "own-holder" if own else "other-holder"
        link_id, secret = passport.create_share_link(
            container.uow, account, [stored.claim_id], "", "", False, now
        )
        passport.save_profile(
            container.uow, account, handle, True, False, [stored.claim_id], [], now
        )
        found["link_id"][own], found["secret"][own], found["handle"][own] = link_id, secret, handle
    return found


def credit_request(container: Container, org: Organisation, email: str, held: str | None) -> str:
    """A credit request to `org`, submitted by the signed-in account `email`, awaiting review."""
    crosswalk = sample_crosswalk("nursing")
    crosswalk = type(crosswalk)(**{**crosswalk.__dict__, "id": f"{org.slug}-nursing"})
    credit.publish_crosswalk(container.uow, org.id, crosswalk, "admin:x", container.now())
    command = credit.SubmitBundle(
        crosswalk.id, "A Student", email, held=(held or "",), holder_email=email
    )
    request_id, _ = credit.submit_bundle(container.uow, command, container.now())
    credit_jobs.evaluate_credit(container, request_id)
    return request_id


def outcome(response: Any, exists: bool) -> str:
    status = response.status_code
    if status >= 500:
        return f"error {status}"
    if status in (401, 403) or (status == 404 and exists):
        return "deny"
    if status in (302, 303, 307) and response.headers["location"].startswith("/sign-in?next="):
        return "deny"
    if status == 429:
        return "rate-limited"
    return "allow"


def send(
    world: World,
    clients: dict[str, Any],
    headers: dict[str, dict[str, str]],
    role: str,
    method: str,
    spec: Spec,
    own: bool,
) -> Any:
    path, kw = spec.build(world, own)
    client = clients[role]
    sent_headers = dict(headers[role]) if (path.startswith("/api/") or role == "operator") else {}
    if kw.pop("csrf", False):
        kw["data"] = {**kw.get("data", {}), "csrf_token": world.csrf[role]}
    if "json" in kw and kw["json"] is None:
        kw.pop("json")
    kept = list(client.cookies.jar)
    response = client.request(method, path, headers=sent_headers, follow_redirects=False, **kw)
    client.cookies.clear()
    for cookie in kept:  # a redemption or sign-out must not change who this client is
        client.cookies.jar.set_cookie(cookie)
    return response


def test_every_route_is_classified(client: Any) -> None:
    found = set(app_routes(client.app))
    assert found - set(ROUTES) == set(), "classify these routes in ROUTES"
    assert set(ROUTES) - found == set(), "these classified routes are gone from the app"


def test_every_role_gets_exactly_what_the_policy_allows(
    client: Any, container: Container, hospital: Organisation
) -> None:
    world, clients, headers = build_world(client, container, hospital)
    unexpected: list[str] = []
    checked = 0
    ordered = sorted(ROUTES.items(), key=lambda item: item[1].ends_session)  # sign-outs last
    for (method, template), spec in ordered:
        for role in ROLES:
            for own in (True, False):
                if spec.ends_session and role in EMAILS:
                    sign_in(clients[role], container, EMAILS[role])
                response = send(world, clients, headers, role, method, spec, own)
                got = outcome(response, spec.exists)
                want = "allow" if expected_allow(spec.access, role, own) else "deny"
                checked += 1
                if got != want:
                    unexpected.append(
                        f"{method} {template} as {role} on {'own' if own else 'other'}: "
                        f"{got} ({response.status_code}), expected {want} [{spec.access.value}]"
                    )
    print(f"authorization matrix: {checked} requests, {len(unexpected)} unexpected")
    print("\n".join(unexpected))
    assert unexpected == []
    assert checked == len(ROUTES) * len(ROLES) * 2
