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
from dataclasses import dataclass
from enum import Enum
from typing import Any

import pytest

from rpl.bootstrap import Container
from rpl.config import Settings
from rpl.organisations import Organisation
from rpl.services import accounts, members
from rpl.services.organisations import RegisterOrganisation, register_organisation
from tests.conftest import csrf_from, outbox_links
from tests.web.journey import credential_id, decide, file_claim
from tests.web.signin import add_member, new_client, sign_in

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
    ATTESTER = "an attester of the organisation"
    ADMIN = "an admin of the organisation, or the operator"
    ASSESSOR = "an assessor of the organisation"
    OPERATOR = "the site operator only"
    NOBODY_BY_ROLE = "no role: only a secret none of the roles presents (wallet, claim token)"


# Who owns "own" and "other" objects for each kind of access.
OWNERS: dict[Access, tuple[set[str], set[str]]] = {
    Access.HOLDER: ({"claimant"}, {"other_claimant"}),
    Access.OWN_TOKEN: ({"claimant"}, {"other_claimant"}),
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
    csrf: dict[str, str]


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
    # access: org admin (vcapi still takes AdminDep: operator only until switched)
    ("POST", "/credentials/issue"): Spec(A.OPERATOR, body(lambda w, o: "/credentials/issue", {})),
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
    # credit
    ("GET", "/credit/new"): Spec(A.PUBLIC, get(lambda w, o: "/credit/new")),
    ("POST", "/credit/new"): Spec(A.PUBLIC, form(lambda w, o: "/credit/new")),
    ("GET", "/credit/my/{token}"): Spec(
        A.CAPABILITY, get(lambda w, o: "/credit/my/unknown"), exists=False
    ),
    ("GET", "/credit/my/{token}/transcript.json"): Spec(
        A.CAPABILITY, get(lambda w, o: "/credit/my/unknown/transcript.json"), exists=False
    ),
    # access: assessor (credit still takes AdminDep: operator only until switched)
    ("GET", "/assess/credit"): Spec(A.OPERATOR, get(lambda w, o: "/assess/credit")),
    ("GET", "/assess/credit/{request_id}"): Spec(
        A.OPERATOR, get(lambda w, o: "/assess/credit/none"), exists=False
    ),
    ("POST", "/assess/credit/{request_id}"): Spec(
        A.OPERATOR, form(lambda w, o: "/assess/credit/none"), exists=False
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
            with container.uow() as tx:
                account = tx.accounts.by_email(EMAILS[role])
            assert account is not None
            _, secret = accounts.create_api_token(container.uow, account, "matrix", container.now())
            headers[role] = {"Authorization": f"Bearer {secret}"}
            if role in ("claimant", "other_claimant"):
                made, _ = accounts.create_api_token(
                    container.uow, account, "spare", container.now()
                )
                spare[role == "claimant"] = made.id
        elif role == "operator":
            headers[role] = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}
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
        csrf={role: csrf_from(clients[role].get("/sign-in").text) for role in ROLES},
    )
    return world, clients, headers


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
