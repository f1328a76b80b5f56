"""OpenID4VCI, pre-authorised code flow, end to end with a wallet written here.

The wallet only knows what a wallet knows: the offer URI it scanned and the issuer's published
metadata. It signs its proof of possession with joserfc (an independent JOSE library) under its
own did:key, collects the credential, and checks it with rpl's verifier as any verifier would.
"""

from __future__ import annotations

import base64
import html
import json
import re
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from joserfc import jwt
from joserfc.jwk import OKPKey

from rpl import baking, multikey
from rpl.bootstrap import Container
from rpl.organisations import Organisation
from rpl.proofs.jose import decode_vc_jwt
from rpl.services.securing import choose_securing
from rpl.verify import verify_credential
from tests.conftest import PUBLIC_URL, csrf_from
from tests.web.journey import attester_path, decide, file_claim

pytestmark = pytest.mark.filterwarnings("ignore:EdDSA is deprecated via RFC 9864")
PRE_AUTH = "urn:ietf:params:oauth:grant-type:pre-authorized_code"


@dataclass
class Wallet:
    """A minimal holder wallet: one Ed25519 key, its did:key, and the OID4VCI client steps."""

    client: Any
    key: OKPKey

    @classmethod
    def new(cls, client: Any) -> Wallet:
        return cls(client, OKPKey.generate_key("Ed25519"))

    @property
    def did(self) -> str:
        x = self.key.as_dict(private=False)["x"]
        return multikey.did_key(base64.urlsafe_b64decode(x + "=" * (-len(x) % 4)))

    @property
    def kid(self) -> str:
        return f"{self.did}#{self.did.removeprefix('did:key:')}"

    def read_offer(self, uri: str) -> dict[str, Any]:
        assert uri.startswith("openid-credential-offer://")
        return json.loads(parse_qs(urlsplit(uri).query)["credential_offer"][0])

    def metadata(self, issuer: str) -> tuple[dict[str, Any], dict[str, Any]]:
        path = urlsplit(issuer).path.rstrip("/")
        meta = self.client.get(f"/.well-known/openid-credential-issuer{path}").json()
        server = meta["authorization_servers"][0]
        auth = self.client.get(f"{server}/.well-known/oauth-authorization-server").json()
        return meta, auth

    def token(self, token_endpoint: str, code: str) -> Any:
        return self.client.post(
            token_endpoint, data={"grant_type": PRE_AUTH, "pre-authorized_code": code}
        )

    def proof(self, audience: str, nonce: str, changes: dict[str, Any] | None = None) -> str:
        header = {"alg": "EdDSA", "typ": "openid4vci-proof+jwt", "kid": self.kid}
        claims = {"aud": audience, "iat": int(time.time()), "nonce": nonce, **(changes or {})}
        return jwt.encode(header, claims, self.key, algorithms=["EdDSA"])

    def request(self, endpoint: str, access_token: str, configuration: str, proof: str) -> Any:
        body = {"credential_configuration_id": configuration, "proofs": {"jwt": [proof]}}
        headers = {"Authorization": f"Bearer {access_token}"}
        return self.client.post(endpoint, json=body, headers=headers)


def issued_claimant(client: Any, container: Container) -> str:
    claimant = file_claim(client).headers["location"]
    decide(client, attester_path(container), action="confirm", attester_role="HR Manager")
    return str(claimant)


def scan_offer(client: Any, claimant: str) -> str:
    """What the claimant does: open their page, ask for a wallet code, show the QR."""
    page = client.get(claimant)
    assert "Keep it in a wallet app" in page.text
    shown = client.post(f"{claimant}/wallet", data={"csrf_token": csrf_from(page.text)})
    assert shown.status_code == 200
    assert "<svg" in shown.text  # the QR code
    match = re.search(r'href="(openid-credential-offer://[^"]+)"', shown.text)
    assert match, "the page shows no offer link"
    return html.unescape(match.group(1))


def collect(client: Any, claimant: str, configuration: str) -> tuple[Wallet, Any, dict[str, Any]]:
    wallet = Wallet.new(client)
    offer = wallet.read_offer(scan_offer(client, claimant))
    meta, auth = wallet.metadata(offer["credential_issuer"])
    assert configuration in offer["credential_configuration_ids"]
    assert PRE_AUTH in auth["grant_types_supported"]
    code = offer["grants"][PRE_AUTH]["pre-authorized_code"]
    tokens = wallet.token(auth["token_endpoint"], code)
    assert tokens.status_code == 200, tokens.text
    answer = tokens.json()
    proof = wallet.proof(meta["credential_issuer"], answer["c_nonce"])
    response = wallet.request(
        meta["credential_endpoint"], answer["access_token"], configuration, proof
    )
    return wallet, response, {**answer, "code": code, "meta": meta, "auth": auth}


def test_a_wallet_collects_an_ldp_vc_bound_to_its_did_and_it_verifies(
    client: Any, container: Container, hospital: Organisation
) -> None:
    claimant = issued_claimant(client, container)
    wallet, response, _ = collect(client, claimant, "AchievementCredential_ldp_vc")
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    credential = response.json()["credentials"][0]["credential"]
    assert credential["credentialSubject"]["id"] == wallet.did
    assert credential["proof"]["verificationMethod"].startswith("did:web:testserver:orgs:st-marys#")
    result = verify_credential(
        credential, container.resolver(), container.now(), status_lists=container.status_lists()
    )
    assert result.verified, result.errors
    original = json.loads(baking.unbake(client.get(_png_of(client, claimant)).content))
    assert credential["credentialStatus"] == original["credentialStatus"]  # revoked together
    assert credential["id"] != original["id"]


def _png_of(client: Any, claimant: str) -> str:
    match = re.search(r'href="(/credentials/[0-9a-f-]{36}\.png)"', client.get(claimant).text)
    assert match
    return match.group(1)


def test_a_wallet_collects_a_vc_jwt(
    client: Any, container: Container, hospital: Organisation
) -> None:
    claimant = issued_claimant(client, container)
    wallet, response, _ = collect(client, claimant, "AchievementCredential_jwt_vc_json")
    assert response.status_code == 200, response.text
    token = response.json()["credentials"][0]["credential"]
    assert decode_vc_jwt(token)[1]["credentialSubject"]["id"] == wallet.did
    result = verify_credential(
        token, container.resolver(), container.now(), status_lists=container.status_lists()
    )
    assert result.verified, result.errors


def test_the_code_and_the_token_work_once(
    client: Any, container: Container, hospital: Organisation
) -> None:
    claimant = issued_claimant(client, container)
    wallet, response, seen = collect(client, claimant, "AchievementCredential_ldp_vc")
    assert response.status_code == 200
    again = wallet.token(seen["auth"]["token_endpoint"], seen["code"])
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    proof = wallet.proof(PUBLIC_URL, seen["c_nonce"])
    spent = wallet.request(
        seen["meta"]["credential_endpoint"],
        seen["access_token"],
        "AchievementCredential_ldp_vc",
        proof,
    )
    assert spent.status_code == 401 and spent.json()["error"] == "invalid_token"


def test_a_newer_offer_retires_the_older_code(
    client: Any, container: Container, hospital: Organisation
) -> None:
    claimant = issued_claimant(client, container)
    wallet = Wallet.new(client)
    first = wallet.read_offer(scan_offer(client, claimant))
    scan_offer(client, claimant)
    code = first["grants"][PRE_AUTH]["pre-authorized_code"]
    assert wallet.token("/oid4vci/token", code).json()["error"] == "invalid_grant"


@pytest.mark.parametrize(
    "changes, error",
    [
        ({"nonce": "not-the-c-nonce"}, "invalid_nonce"),
        ({"aud": "https://elsewhere.example"}, "invalid_proof"),
        ({"iat": int(time.time()) - 3600}, "invalid_proof"),
    ],
)
def test_a_bad_proof_of_possession_is_refused(
    client: Any, container: Container, hospital: Organisation, changes: dict[str, Any], error: str
) -> None:
    claimant = issued_claimant(client, container)
    wallet = Wallet.new(client)
    offer = wallet.read_offer(scan_offer(client, claimant))
    code = offer["grants"][PRE_AUTH]["pre-authorized_code"]
    tokens = wallet.token("/oid4vci/token", code).json()
    proof = wallet.proof(PUBLIC_URL, tokens["c_nonce"], changes)
    refused = wallet.request(
        "/oid4vci/credential", tokens["access_token"], "AchievementCredential_ldp_vc", proof
    )
    assert refused.status_code == 400
    assert refused.json()["error"] == error
    # The refusal spends nothing: a right proof with the same token still works.
    good = wallet.request(
        "/oid4vci/credential",
        tokens["access_token"],
        "AchievementCredential_ldp_vc",
        wallet.proof(PUBLIC_URL, tokens["c_nonce"]),
    )
    assert good.status_code == 200, good.text


def test_a_proof_signed_by_another_key_than_its_kid_is_refused(
    client: Any, container: Container, hospital: Organisation
) -> None:
    claimant = issued_claimant(client, container)
    wallet, impostor = Wallet.new(client), Wallet.new(client)
    offer = wallet.read_offer(scan_offer(client, claimant))
    tokens = wallet.token("/oid4vci/token", offer["grants"][PRE_AUTH]["pre-authorized_code"]).json()
    header = {"alg": "EdDSA", "typ": "openid4vci-proof+jwt", "kid": wallet.kid}
    claims = {"aud": PUBLIC_URL, "iat": int(time.time()), "nonce": tokens["c_nonce"]}
    forged = jwt.encode(header, claims, impostor.key, algorithms=["EdDSA"])
    refused = wallet.request(
        "/oid4vci/credential", tokens["access_token"], "AchievementCredential_ldp_vc", forged
    )
    assert refused.json()["error"] == "invalid_proof"


def test_unknown_tokens_grants_and_configurations_are_refused(
    client: Any, hospital: Organisation
) -> None:
    assert (
        client.post(
            "/oid4vci/token", data={"grant_type": PRE_AUTH, "pre-authorized_code": "x"}
        ).json()["error"]
        == "invalid_grant"
    )
    assert (
        client.post("/oid4vci/token", data={"grant_type": "password"}).json()["error"]
        == "unsupported_grant_type"
    )
    anonymous = client.post("/oid4vci/credential", json={})
    assert anonymous.status_code == 401 and "Bearer" in anonymous.headers["www-authenticate"]
    unknown = client.post("/oid4vci/credential", json={}, headers={"Authorization": "Bearer nope"})
    assert unknown.json()["error"] == "invalid_token"


def test_the_metadata_describe_the_flow(client: Any) -> None:
    meta = client.get("/.well-known/openid-credential-issuer").json()
    assert meta["credential_issuer"] == PUBLIC_URL
    formats = {c["format"] for c in meta["credential_configurations_supported"].values()}
    assert formats == {"ldp_vc", "jwt_vc_json"}
    auth = client.get("/.well-known/oauth-authorization-server").json()
    assert auth["token_endpoint"] == f"{PUBLIC_URL}/oauth/token"
    assert auth["revocation_endpoint"] == f"{PUBLIC_URL}/oauth/revoke"
    assert {"authorization_code", "refresh_token", PRE_AUTH} <= set(auth["grant_types_supported"])
    assert auth["code_challenge_methods_supported"] == ["S256"]


def test_a_revoked_credential_cannot_be_collected(
    client: Any, container: Container, hospital: Organisation
) -> None:
    claimant = issued_claimant(client, container)
    wallet = Wallet.new(client)
    offer = wallet.read_offer(scan_offer(client, claimant))
    cid = _png_of(client, claimant).removeprefix("/credentials/").removesuffix(".png")
    revoked = client.post(
        f"/api/credentials/{cid}/revoke",
        json={"reason": "issued in error"},
        headers={"Authorization": "Bearer test-admin-token"},
    )
    assert revoked.status_code == 200, revoked.text
    tokens = wallet.token("/oid4vci/token", offer["grants"][PRE_AUTH]["pre-authorized_code"]).json()
    refused = wallet.request(
        "/oid4vci/credential",
        tokens["access_token"],
        "AchievementCredential_ldp_vc",
        wallet.proof(PUBLIC_URL, tokens["c_nonce"]),
    )
    assert refused.json()["error"] == "credential_request_denied"


def test_an_organisation_that_chose_jwt_issues_vc_jwts_joserfc_verifies(
    client: Any, container: Container, hospital: Organisation
) -> None:
    from joserfc import jws

    choose_securing(container.uow, hospital.slug, "jwt", "admin:test", container.now())
    claimant = issued_claimant(client, container)
    png = client.get(_png_of(client, claimant))
    token = baking.unbake(png.content)
    cid = _png_of(client, claimant).removeprefix("/credentials/").removesuffix(".png")
    served = client.get(f"/credentials/{cid}.json")
    assert served.headers["content-type"].startswith("application/vc+jwt")
    assert served.text == token
    header, payload, _, _ = decode_vc_jwt(token)
    did_doc = client.get("/orgs/st-marys/did.json").json()
    method = next(m for m in did_doc["verificationMethod"] if m["id"] == header["kid"])
    raw = multikey.decode_public_key(method["publicKeyMultibase"])
    x = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
    key = OKPKey.import_key({"kty": "OKP", "crv": "Ed25519", "x": x})
    verified = jws.deserialize_compact(token, key, algorithms=["EdDSA"])
    assert json.loads(verified.payload) == payload
    assert "Genuine: this credential verifies now" in client.get(f"/credentials/{cid}").text
