"""Building blocks of the credit tests: an institution with a published crosswalk, credentials
issued here, and credentials signed elsewhere (by a did:key issuer with rpl's own proof code)."""

from __future__ import annotations

import json
from datetime import datetime
from importlib import resources
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from rpl import claims, multikey
from rpl.bootstrap import Container
from rpl.claims import ClaimDetails, ClaimKind, PartialDate, Skill
from rpl.crosswalk import Crosswalk
from rpl.crosswalk_io import read_json
from rpl.organisations import Organisation
from rpl.proofs.dataintegrity import ProofOptions, add_proof
from rpl.services import attestation, credit, jobs
from rpl.services.organisations import RegisterOrganisation, register_organisation

ISCO_NURSE = "http://data.europa.eu/esco/isco/C2221"
ISCO_CARE = "http://data.europa.eu/esco/isco/C5321"
ASSESSOR = "assessor:admin-token"


def sample_crosswalk(name: str) -> Crosswalk:
    folder = resources.files("rpl") / "data" / "crosswalks"
    return read_json((folder / f"{name}.json").read_text("utf-8"))


def institution(container: Container, crosswalk: str = "nursing") -> Organisation:
    org = register_organisation(
        container.uow,
        container.master_key,
        RegisterOrganisation(
            name="Northfield University",
            domain="northfield.example",
            url="https://northfield.example",
            slug="northfield",
            domain_verified=True,
        ),
        container.now(),
    )
    credit.publish_crosswalk(
        container.uow, org.id, sample_crosswalk(crosswalk), ASSESSOR, container.now()
    )
    return org


class _NoRunner:
    def request_attestation(self, claim_id: str) -> None: ...

    def issue_credentials(self, claim_ids: Any) -> None: ...


def issued_here(
    container: Container,
    org: Organisation,
    role: str = "Registered Nurse",
    start: str = "1998-03",
    end: str | None = "2020-06",
    skills: tuple[Skill, ...] = (Skill("nursing", "ESCO", ISCO_NURSE),),
    kind: ClaimKind = ClaimKind.EMPLOYMENT,
) -> str:
    """A credential issued here through the services, as the web app would; its id."""
    details = ClaimDetails(
        kind=kind,
        claimant_name="Margaret Okafor",
        claimant_email="margaret@example.net",
        organisation_id=org.id,
        role=role,
        start=PartialDate.parse(start),
        end=PartialDate.parse(end) if end else None,
        attester_email=f"hr@{org.domain}",
        skills=skills,
    )
    submitted = attestation.submit_claim(
        container.uow, container.mailer, _NoRunner(), jobs.urls(container), details, container.now()
    )
    jobs.request_attestation(container, submitted.claim_id)
    with container.uow() as tx:
        claim = tx.claims.get(submitted.claim_id)
        confirmed = claims.confirm(claim, f"hr@{org.domain}", "HR Manager", container.now())
        tx.claims.save(confirmed, container.now())
        tx.commit()
    jobs.issue_batch(container, [submitted.claim_id])
    with container.uow() as tx:
        stored = tx.credentials.by_claim(submitted.claim_id)
    assert stored is not None
    return stored.id


def unsigned_badge(
    name: str, skills: list[str], valid_from: str, achievement_type: str = "Certificate", n: int = 1
) -> dict[str, Any]:
    """An OB 3.0 credential as another issuer would make it (its issuer set when signed)."""
    return {
        "@context": [
            "https://www.w3.org/ns/credentials/v2",
            "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
        ],
        "id": f"urn:uuid:5a1d3c4e-0000-4000-8000-{n:012d}",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": name,
        "issuer": {"id": "did:example:replaced", "type": ["Profile"], "name": "Red Cross Training"},
        "validFrom": valid_from,
        "credentialSubject": {
            "type": ["AchievementSubject"],
            "id": "did:example:learner",
            "achievement": {
                "id": f"https://training.example/achievements/{n}",
                "type": ["Achievement"],
                "achievementType": achievement_type,
                "name": name,
                "description": name,
                "criteria": {"narrative": "Passed the practical assessment."},
                "alignment": [
                    {"type": ["Alignment"], "targetName": s, "targetUrl": s} for s in skills
                ],
            },
        },
    }


class OtherIssuer:
    """A did:key issuer that is not this instance, signing with rpl's proof code."""

    def __init__(self) -> None:
        self.key = Ed25519PrivateKey.generate()
        public = self.key.public_key().public_bytes_raw()
        self.did = "did:key:" + multikey.encode_public_key(public)
        self.vm = f"{self.did}#{self.did.removeprefix('did:key:')}"

    def sign(self, unsigned: dict[str, Any], now: datetime, suite: str = "eddsa-rdfc-2022") -> str:
        doc = {**unsigned, "issuer": {**unsigned["issuer"], "id": self.did}}
        created = now.strftime("%Y-%m-%dT%H:%M:%SZ")
        return json.dumps(add_proof(doc, ProofOptions(self.vm, created=created), self.key, suite))
