"""Domain proof against real servers on loopback: a DNS server (dnspython's message API over UDP)
and an HTTP server, with the real resolver and the real HTTP client pointed at them."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import dns.message
import dns.rcode
import dns.rdatatype
import dns.resolver
import dns.rrset
import pytest

from rpl import claims
from rpl.bootstrap import Container
from rpl.claims import ClaimState
from rpl.domain_lookup import DnsTxtLookup, DomainLookups, HttpFileLookup
from rpl.domain_proof import WELL_KNOWN_PATH
from rpl.organisations import Attester, Organisation
from rpl.services import attestation, domain_proof, jobs
from rpl.services.organisations import RegisterOrganisation, register_organisation
from tests.integration.test_issuance import _details, _NoRunner, confirmed_claims

ADMIN = {"Authorization": "Bearer test-admin-token"}


class TinyDns:
    """Answers TXT queries from `records` (name -> strings); NXDOMAIN for anything else."""

    def __init__(self) -> None:
        self.records: dict[str, list[str]] = {}
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.queries: list[str] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                wire, peer = self.sock.recvfrom(4096)
            except OSError:
                return
            query = dns.message.from_wire(wire)
            response = dns.message.make_response(query)
            question = query.question[0]
            name = question.name.to_text().rstrip(".").lower()
            self.queries.append(name)
            values = self.records.get(name)
            if values is None:
                response.set_rcode(dns.rcode.NXDOMAIN)
            elif question.rdtype == dns.rdatatype.TXT:
                texts = [f'"{v}"' for v in values]
                response.answer.append(dns.rrset.from_text(question.name, 60, "IN", "TXT", *texts))
            self.sock.sendto(response.to_wire(), peer)

    def resolver(self) -> dns.resolver.Resolver:
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers = ["127.0.0.1"]
        resolver.port = self.port
        return resolver

    def close(self) -> None:
        self.sock.close()
        self._thread.join(timeout=5)


class TokenFiles(ThreadingHTTPServer):
    """Serves `files` (path -> body); 404 otherwise; a redirect at /moved."""

    def __init__(self) -> None:
        self.files: dict[str, str] = {}
        files = self.files

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path in files:
                    body = files[self.path].encode()
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)
        self._thread.start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def close(self) -> None:
        self.shutdown()
        self.server_close()


@pytest.fixture
def dns_server() -> Iterator[TinyDns]:
    server = TinyDns()
    yield server
    server.close()


@pytest.fixture
def web_server() -> Iterator[TokenFiles]:
    server = TokenFiles()
    yield server
    server.close()


@pytest.fixture
def lookups(dns_server: TinyDns, web_server: TokenFiles) -> DomainLookups:
    return DomainLookups(
        dns_txt=DnsTxtLookup(dns_server.resolver(), timeout=2),
        http_file=HttpFileLookup(base_url=lambda domain: web_server.base, timeout=2),
    )


@pytest.fixture
def unproved(container: Container) -> Organisation:
    return register_organisation(
        container.uow,
        container.master_key,
        RegisterOrganisation(
            name="Riverside Food Bank",
            domain="riverside.example",
            url="https://riverside.example",
            slug="riverside",
            attesters=(Attester("coordinator@stmarys.example", "Coordinator"),),
        ),
        container.now(),
    )


def _audit_kinds(container: Container) -> list[str]:
    with container.uow() as tx:
        return [e.kind for e in tx.audit.entries()]


def test_an_unproved_organisation_receives_claims_but_does_not_issue_until_dns_proves_it(
    container: Container, unproved: Organisation, dns_server: TinyDns, lookups: DomainLookups
) -> None:
    [claim_id] = confirmed_claims(container, unproved, 1)
    report = jobs.issue_batch(container, [claim_id])
    assert "has not yet proved that it controls riverside.example" in report.failed[claim_id]
    with container.uow() as tx:
        assert tx.claims.get(claim_id).state is ClaimState.CONFIRMED  # kept, not lost
        assert tx.credentials.by_claim(claim_id) is None
        assert tx.intents.for_claim(claim_id) == []  # refused before any intent to sign
    assert "IssuanceRefused" in _audit_kinds(container)

    challenge = domain_proof.show_challenge(container.uow, "riverside", container.now())
    dns_server.records[challenge.dns_name] = ["v=spf1 -all", "rpl-domain-verification=wrong"]
    failed = domain_proof.verify_domain(
        container.uow, container.runner, lookups, "riverside", "dns", container.now()
    )
    assert not failed.outcome.proved and failed.verified_at is None
    assert "2 other TXT record(s)" in failed.outcome.detail

    dns_server.records[challenge.dns_name] = ["v=spf1 -all", challenge.token]
    proved = domain_proof.verify_domain(
        container.uow, container.runner, lookups, "riverside", "dns", container.now()
    )
    assert proved.outcome.proved and proved.verified_at is not None
    assert proved.resumed == [claim_id]
    assert dns_server.queries == ["_rpl-challenge.riverside.example"] * 2
    with container.uow() as tx:
        assert tx.claims.get(claim_id).state is ClaimState.ISSUED  # the inline runner issued it
        assert tx.orgs.by_slug("riverside").domain_verified_at is not None
    kinds = _audit_kinds(container)
    assert kinds.count("DomainVerificationAttempted") == 2 and kinds.count("DomainVerified") == 1


def test_the_challenge_token_is_kept_until_proved(
    container: Container, unproved: Organisation
) -> None:
    first = domain_proof.show_challenge(container.uow, "riverside", container.now())
    again = domain_proof.show_challenge(container.uow, "riverside", container.now())
    assert first == again and first.token.startswith("rpl-domain-verification=")
    assert first.url == "https://riverside.example/.well-known/rpl-domain-verification.txt"


def test_the_well_known_file_proves_the_domain_over_http(
    container: Container, unproved: Organisation, web_server: TokenFiles, lookups: DomainLookups
) -> None:
    challenge = domain_proof.show_challenge(container.uow, "riverside", container.now())
    missing = domain_proof.verify_domain(
        container.uow, container.runner, lookups, "riverside", "http", container.now()
    )
    assert not missing.outcome.proved and "not found" in missing.outcome.detail
    web_server.files[WELL_KNOWN_PATH] = "something else\n"
    wrong = domain_proof.verify_domain(
        container.uow, container.runner, lookups, "riverside", "http", container.now()
    )
    assert not wrong.outcome.proved and "does not hold the token" in wrong.outcome.detail
    web_server.files[WELL_KNOWN_PATH] = f"\ufeff  {challenge.token}  \r\n"
    proved = domain_proof.verify_domain(
        container.uow, container.runner, lookups, "riverside", "http", container.now()
    )
    assert proved.outcome.proved and proved.verified_at is not None


def test_the_claimant_page_says_why_the_credential_waits(
    client: Any, container: Container, unproved: Organisation
) -> None:
    submitted = attestation.submit_claim(
        container.uow, container.mailer, _NoRunner(), jobs.urls(container),
        _details(unproved, 0), container.now(),
    )  # fmt: skip
    page = client.get(f"/my/{submitted.claimant_token}")
    assert page.status_code == 200 and "Waiting for" not in page.text  # not confirmed yet
    jobs.request_attestation(container, submitted.claim_id)
    with container.uow() as tx:
        claim = tx.claims.get(submitted.claim_id)
        confirmed = claims.confirm(
            claim, "coordinator@stmarys.example", "Coordinator", container.now()
        )
        tx.claims.save(confirmed, container.now())
        tx.commit()
    jobs.issue_batch(container, [submitted.claim_id])
    page = client.get(f"/my/{submitted.claimant_token}")
    assert "Waiting for Riverside Food Bank to prove its domain" in page.text
    assert "has not yet proved that it controls" in page.text


def test_the_api_shows_the_challenge_and_verifies_only_for_the_admin(
    client: Any, container: Container, unproved: Organisation, dns_server: TinyDns,
    lookups: DomainLookups,
) -> None:  # fmt: skip
    assert client.get("/api/organisations/riverside/domain").status_code == 401
    assert client.post("/api/organisations/riverside/domain/verify", json={}).status_code == 401
    shown = client.get("/api/organisations/riverside/domain", headers=ADMIN)
    assert shown.status_code == 200 and shown.json()["verified_at"] is None
    container.domain_lookups = lookups  # type: ignore[attr-defined]
    bad = client.post(
        "/api/organisations/riverside/domain/verify", json={"method": "smoke"}, headers=ADMIN
    )
    assert bad.status_code == 422
    no = client.post("/api/organisations/riverside/domain/verify", json={}, headers=ADMIN)
    assert no.status_code == 200 and no.json()["proved"] is False
    dns_server.records[shown.json()["dns_name"]] = [shown.json()["token"]]
    yes = client.post(
        "/api/organisations/riverside/domain/verify", json={"method": "dns"}, headers=ADMIN
    )
    assert yes.status_code == 200 and yes.json()["proved"] is True, yes.text
    assert client.get("/api/organisations/nowhere/domain", headers=ADMIN).status_code == 404
