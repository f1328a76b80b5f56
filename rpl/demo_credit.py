"""`rpl demo credit`: a returning student's journey to credit on a fresh embedded instance.

Margaret Okafor nursed at St Mary's Hospital for 22 years and then worked as a care assistant;
both are confirmed and issued here. She also holds two certificates from another issuer (a did:key
she does not control) and one badge whose text was altered after signing. She brings them to
Northfield University's BSc Nursing; the `evaluate_credit` flow verifies each and applies the
published crosswalk; the university's assessor signs in (an emailed link) and, on the university's
assessment pages, adds credit for mentoring seen at interview and accepts; the `issue_credit` flow
issues a course credential per grant and a CLR 2.0 transcript, each with a revocation entry.
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Callable
from datetime import datetime
from email import message_from_bytes, policy
from importlib import resources
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from rpl import claims, clr, multikey
from rpl.access import OPERATOR_LABEL
from rpl.bootstrap import Container, bootstrap
from rpl.claims import ClaimDetails, ClaimKind, PartialDate, Skill
from rpl.config import Settings
from rpl.crosswalk_io import read_json
from rpl.organisations import Attester, Organisation
from rpl.proofs.dataintegrity import ProofOptions, add_proof
from rpl.services import attestation, credit, jobs, members
from rpl.services.organisations import RegisterOrganisation, register_organisation

ASSESSOR_EMAIL = "registrar@northfield.example"


class _Later:
    """Attestation requests are sent by the demo itself, in order."""

    def request_attestation(self, claim_id: str) -> None: ...

    def issue_credentials(self, claim_ids: Any) -> None: ...


def _org(container: Container, name: str, slug: str, domain: str) -> Organisation:
    return register_organisation(
        container.uow,
        container.master_key,
        RegisterOrganisation(
            name=name,
            domain=domain,
            url=f"https://{domain}",
            slug=slug,
            attesters=(Attester(f"hr@{domain}", "HR Manager"),),
            # The demo's domains are made up: the operator vouches for them.
            domain_verified=True,
        ),
        container.now(),
    )


def prior_record(
    container: Container, org: Organisation, role: str, start: str, end: str, skill: Skill
) -> str:
    """A record confirmed by the organisation's HR manager and issued here; its credential id."""
    details = ClaimDetails(
        kind=ClaimKind.EMPLOYMENT,
        claimant_name="Margaret Okafor",
        claimant_email="margaret.okafor@example.net",
        organisation_id=org.id,
        role=role,
        start=PartialDate.parse(start),
        end=PartialDate.parse(end),
        attester_email=f"hr@{org.domain}",
        skills=(skill,),
    )
    now = container.now()
    submitted = attestation.submit_claim(
        container.uow, container.mailer, _Later(), jobs.urls(container), details, now
    )
    jobs.request_attestation(container, submitted.claim_id)
    with container.uow() as tx:
        claim = tx.claims.get(submitted.claim_id)
        tx.claims.save(claims.confirm(claim, f"hr@{org.domain}", "HR Manager", now), now)
        tx.commit()
    jobs.issue_batch(container, [submitted.claim_id])
    with container.uow() as tx:
        stored = tx.credentials.by_claim(submitted.claim_id)
    if stored is None:
        raise RuntimeError(f"the {role} record was not issued")
    return stored.id


def external_badges(now: datetime) -> list[tuple[str, bytes]]:
    """Two certificates by another issuer (a did:key), and a third altered after signing."""
    key = Ed25519PrivateKey.generate()
    did = "did:key:" + multikey.encode_public_key(key.public_key().public_bytes_raw())
    vm = f"{did}#{did.removeprefix('did:key:')}"
    out = []
    for n, (name, skill, day) in enumerate(
        (
            ("Basic Life Support", "urn:northfield:skill:basic-life-support", "2025-06-01"),
            ("Patient Safety Essentials", "urn:northfield:skill:patient-safety", "2025-09-15"),
            ("Mentoring in Practice", "urn:northfield:skill:mentoring", "2024-11-20"),
        ),
        start=1,
    ):
        doc = _badge(did, name, skill, f"{day}T00:00:00Z", n)
        signed = add_proof(doc, ProofOptions(vm, created=clr.timestamp(now)), key)
        if n == 3:  # altered after signing: it must stay in the bundle, unverified
            signed["credentialSubject"]["achievement"]["name"] = "Mentoring in Practice (Advanced)"
        out.append((f"{name.lower().replace(' ', '-')}.json", json.dumps(signed).encode()))
    return out


def _badge(did: str, name: str, skill: str, valid_from: str, n: int) -> dict[str, Any]:
    return {
        "@context": [
            "https://www.w3.org/ns/credentials/v2",
            "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
        ],
        "id": f"urn:uuid:7d0c6a52-3c2b-4f55-9a4e-00000000000{n}",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": name,
        "issuer": {"id": did, "type": ["Profile"], "name": "Lakeside Red Cross Training"},
        "validFrom": valid_from,
        "credentialSubject": {
            "type": ["AchievementSubject"],
            "id": "did:example:margaret",
            "achievement": {
                "id": f"https://training.example/achievements/{n}",
                "type": ["Achievement"],
                "achievementType": "Certificate",
                "name": name,
                "description": f"{name}, with a practical assessment.",
                "criteria": {"narrative": "Passed the practical assessment."},
                "alignment": [{"type": ["Alignment"], "targetName": name, "targetUrl": skill}],
            },
        },
    }


def run_credit_demo(out: Path, echo: Callable[[str], None] = print) -> bool:
    from rpl.demo import app_client

    home = Path(tempfile.mkdtemp(prefix="rpl-demo-credit-"))
    settings = Settings.from_env({"RPL_HOME": str(home)})
    echo(f"1. Fresh embedded instance in {home} (SQLite, Prefect ephemeral mode)")
    container = bootstrap(settings, runner="prefect", network=False)
    try:
        hospital = _org(container, "St Mary's Hospital", "st-marys", "stmarys.example")
        university = _org(container, "Northfield University", "northfield", "northfield.example")
        folder = resources.files("rpl") / "data" / "crosswalks"
        crosswalk = read_json((folder / "nursing.json").read_text("utf-8"))
        now = container.now()
        credit.publish_crosswalk(container.uow, university.id, crosswalk, OPERATOR_LABEL, now)
        members.add_member(
            container.uow, None, settings.public_url, university, ASSESSOR_EMAIL, "assessor",
            "Registrar", OPERATOR_LABEL, now,
        )  # fmt: skip
        echo(
            f"2. {university.name} published {crosswalk.label} ({crosswalk.digest}) and named "
            f"{ASSESSOR_EMAIL} its assessor"
        )
        client = app_client(container)
        return _journey(client, container, hospital, out, echo)
    finally:
        container.close()


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    if not match:
        raise RuntimeError("no CSRF token on the page")
    return match.group(1)


def _journey(
    client: Any,
    container: Container,
    hospital: Organisation,
    out: Path,
    echo: Callable[[str], None],
) -> bool:
    held = _prior_records(container, hospital)
    echo("3. St Mary's confirmed 22 years of nursing and 3 years of care work; both issued here")
    mine = _submit(client, container, held)
    echo("4. Margaret submitted 2 records held here and 3 external badges (one altered)")
    container.runner.wait(timeout=180)
    view = credit.credit_for_holder(container.uow, mine.rsplit("/", 1)[1])
    _show_proposal(view, echo)
    _assess(_assessor(container), view)
    echo(
        f"6. {ASSESSOR_EMAIL} signed in, added NURS-120 (10 credits, reason recorded) and accepted"
    )
    container.runner.wait(timeout=180)
    return _write_out(client, container, mine, out, echo)


def _prior_records(container: Container, hospital: Organisation) -> list[str]:
    isco = "http://data.europa.eu/esco/isco/"
    return [
        prior_record(
            container,
            hospital,
            "Registered Nurse",
            "1998-03",
            "2020-06",
            Skill("nursing", "ESCO", f"{isco}C2221", "2221"),
        ),
        prior_record(
            container,
            hospital,
            "Care Assistant",
            "2021-01",
            "2023-12",
            Skill("personal care", "ESCO", f"{isco}C5321", "5321"),
        ),
    ]


def _submit(client: Any, container: Container, held: list[str]) -> str:
    """The bundle form, as the student fills it in; the student's private page."""
    form = client.get("/credit/new").text
    files = [
        ("files", (name, body, "application/json"))
        for name, body in external_badges(container.now())
    ]
    data = {
        "crosswalk_id": "bsc-nursing",
        "learner_name": "Margaret Okafor",
        "learner_email": "margaret.okafor@example.net",
        "held": "\n".join(held),
        "csrf_token": _csrf(form),
    }
    sent = client.post("/credit/new", data=data, files=files, follow_redirects=False)
    if sent.status_code != 303:
        raise RuntimeError(f"bundle refused ({sent.status_code}): {sent.text[:500]}")
    return str(sent.headers["location"])


def _assessor(container: Container) -> Any:
    """A browser signed in as the university's assessor, through the emailed link."""
    from rpl.demo import app_client

    browser = app_client(container)
    asked = browser.post(
        "/sign-in",
        data={"email": ASSESSOR_EMAIL, "csrf_token": _csrf(browser.get("/sign-in").text)},
    )
    if asked.status_code != 200:
        raise RuntimeError(f"sign-in refused ({asked.status_code}): {asked.text[:500]}")
    path = _sign_in_link(container.settings.outbox_dir).removeprefix(container.settings.public_url)
    done = browser.post(
        path, data={"csrf_token": _csrf(browser.get(path).text)}, follow_redirects=False
    )
    if done.status_code != 303:
        raise RuntimeError(f"sign-in link refused ({done.status_code}): {done.text[:500]}")
    return browser


def _sign_in_link(outbox: Path) -> str:
    for path in sorted(outbox.glob("*.eml"), reverse=True):
        message = message_from_bytes(path.read_bytes(), policy=policy.default)
        body = message.get_body(preferencelist=("plain",))
        found = re.search(r"(https?://\S+/sign-in/[A-Za-z0-9_-]+)", body.get_content())
        if found:
            return found.group(1)
    raise RuntimeError(f"no sign-in link in {outbox}")


def _assess(client: Any, view: Any) -> None:
    path = f"/orgs/northfield/assess/credit/{view.request.id}"
    csrf = _csrf(client.get(path).text)
    mentoring = next(i.id for i in view.items if "mentoring" in i.label)
    adjust = {
        "decision": "adjust",
        "change": "add",
        "course": "NURS-120",
        "credits": "10",
        "reason": "mentoring of students confirmed at interview",
        "evidence_ids": mentoring,
    }
    for data in (adjust, {"decision": "accept"}):
        done = client.post(path, data={**data, "csrf_token": csrf}, follow_redirects=False)
        if done.status_code != 303:
            raise RuntimeError(f"assessor step refused ({done.status_code}): {done.text[:500]}")


def _write_out(
    client: Any, container: Container, mine: str, out: Path, echo: Callable[[str], None]
) -> bool:
    transcript = client.get(f"{mine}/transcript.json")
    transcript.raise_for_status()
    document = transcript.json()
    outer, inner = clr.verify_transcript(
        document, container.resolver(), container.now(), container.status_lists()
    )
    problems = clr.validate_clr(document)
    echo(
        f"7. issue_credit issued {len(inner)} credentials in a CLR 2.0 transcript: "
        f"schema {'valid' if not problems else 'INVALID'}, transcript "
        f"{'VERIFIED' if outer.verified else 'NOT VERIFIED'}, "
        f"{sum(r.verified for r in inner)}/{len(inner)} inner credentials verified"
    )
    out.mkdir(parents=True, exist_ok=True)
    (out / "transcript.json").write_text(transcript.text)
    did = client.get("/orgs/northfield/did.json").json()
    (out / "did.json").write_text(json.dumps(did, indent=2) + "\n")
    for purpose in container.settings.status_purposes:  # so `rpl verify` can check status offline
        listed = client.get(f"/orgs/northfield/status/{purpose}").text
        (out / f"status-{purpose}.json").write_text(listed + "\n")
    echo(f"8. Wrote {out / 'transcript.json'}, {out / 'did.json'} and its status lists")
    return outer.verified and not problems and all(r.verified for r in inner)


def _show_proposal(view: Any, echo: Callable[[str], None]) -> None:
    echo("5. evaluate_credit verified each item and proposed, awaiting an assessor:")
    for item in view.items:
        echo(f"     {'ok  ' if item.verified else 'FAIL'} {item.label}: {item.reason[:100]}")
    for grant in view.proposal.grants:
        echo(f"     + {grant.because}")
    for gap in view.proposal.gaps:
        echo(f"     - {gap.course} not granted: {gap.reasons[0][:160]}")
