"""The credit journey end to end with credentials from an independent implementation.

A returning student's bundle: two records issued here (one since revoked), and credentials signed
elsewhere with the npm `@digitalbazaar` stack — an OB 3.0 certificate by a `did:key` issuer
(eddsa-rdfc-2022), a plain VC 2.0 and an OB 3.0 certificate by a `did:web` issuer (eddsa-jcs-2022
and eddsa-rdfc-2022) whose DID document a local HTTP server serves, a VC-JWT by the same `did:web`
key made with joserfc, and one did:key certificate altered after signing. rpl resolves the did:web
over HTTP, verifies each, proposes credit, an assessor adjusts and accepts, and the CLR 2.0
transcript is issued, valid against 1EdTech's schema and verified by rpl.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from joserfc import jws
from joserfc.jwk import OKPKey

from rpl import clr
from rpl.bootstrap import Container, bootstrap
from rpl.claims import Skill
from rpl.config import Settings
from rpl.credit import Adjustment, CreditState
from rpl.crosswalk import from_json, to_json
from rpl.organisations import Organisation
from rpl.services import credit, credit_jobs
from rpl.services import status as status_service
from tests.credit.support import ASSESSOR, ISCO_CARE, institution, issued_here, unsigned_badge
from tests.interop.conftest import NodeSide

pytestmark = [
    pytest.mark.interop,
    pytest.mark.filterwarnings("ignore:EdDSA is deprecated via RFC 9864"),
]
SEED = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"


class _DidServer:
    """Serves DID documents over HTTP on 127.0.0.1 (did:web on loopback resolves over http)."""

    def __init__(self) -> None:
        self.documents: dict[str, bytes] = {}
        documents = self.documents

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the http.server API
                body = documents.get(self.path)
                self.send_response(200 if body else 404)
                self.send_header("Content-Type", "application/did+json")
                self.end_headers()
                self.wfile.write(body or b"{}")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def did(self) -> str:
        return f"did:web:127.0.0.1%3A{self.server.server_address[1]}:issuers:lakeside"


@pytest.fixture
def did_server() -> Iterator[_DidServer]:
    served = _DidServer()
    served.thread.start()
    yield served
    served.server.shutdown()
    served.server.server_close()


@pytest.fixture
def networked(settings: Settings) -> Iterator[Container]:
    """This instance with did:web resolution over the network (here: the loopback server)."""
    built = bootstrap(settings, runner="inline", network=True)
    yield built
    built.close()


def _write(path: Path, value: Any) -> Path:
    path.write_text(json.dumps(value))
    return path


def _plain_vc(n: int) -> dict[str, Any]:
    return {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": f"urn:uuid:0c9e4d7a-8f1b-4e2a-9d3c-{n:012d}",
        "type": ["VerifiableCredential"],
        "issuer": "did:example:replaced",
        "validFrom": "2025-03-01T00:00:00Z",
        "credentialSubject": {"id": "did:example:margaret"},
    }


def _npm_signed(node_side: NodeSide, tmp_path: Path, did_server: _DidServer) -> dict[str, str]:
    files = {
        "bls": _write(
            tmp_path / "bls.json",
            unsigned_badge(
                "Basic Life Support",
                ["urn:northfield:skill:basic-life-support"],
                "2025-06-01T00:00:00Z",
                n=1,
            ),
        ),
        "tampered": _write(
            tmp_path / "tampered.json",
            unsigned_badge(
                "Infection Control",
                ["urn:northfield:skill:infection-control"],
                "2025-06-01T00:00:00Z",
                n=2,
            ),
        ),
        "safety": _write(
            tmp_path / "safety.json",
            unsigned_badge(
                "Patient Safety",
                ["urn:northfield:skill:patient-safety"],
                "2025-08-01T00:00:00Z",
                n=3,
            ),
        ),
        "mentor": _write(tmp_path / "mentor.json", _plain_vc(4)),
    }
    by_key = node_side.run_json_lines(
        "sign.mjs", ["--cryptosuite", "eddsa-rdfc-2022", files["bls"], files["tampered"]]
    )
    by_web_rdfc = node_side.run_json_lines(
        "sign-didweb.mjs",
        [
            "--did",
            did_server.did,
            "--seed",
            SEED,
            "--cryptosuite",
            "eddsa-rdfc-2022",
            files["safety"],
        ],
    )
    by_web_jcs = node_side.run_json_lines(
        "sign-didweb.mjs",
        [
            "--did",
            did_server.did,
            "--seed",
            SEED,
            "--cryptosuite",
            "eddsa-jcs-2022",
            files["mentor"],
        ],
    )
    path = "/" + "/".join(did_server.did.split(":")[3:]) + "/did.json"
    did_server.documents[path] = json.dumps(by_web_rdfc[0]["didDocument"]).encode()
    tampered = by_key[1]["credential"]
    tampered["credentialSubject"]["achievement"]["name"] = "Infection Control (Advanced)"
    return {
        "bls.json": json.dumps(by_key[0]["credential"]),
        "tampered.json": json.dumps(tampered),
        "safety.json": json.dumps(by_web_rdfc[1]["credential"]),
        "mentor.json": json.dumps(by_web_jcs[1]["credential"]),
    }


def _jwt(did: str) -> str:
    """A VC-JWT by the did:web's key (same seed), serialised by joserfc."""
    import base64

    d = base64.urlsafe_b64encode(bytes.fromhex(SEED)).rstrip(b"=").decode()
    key = OKPKey.import_key({"kty": "OKP", "crv": "Ed25519", "d": d, "x": _x(SEED)})
    badge = unsigned_badge(
        "Infection Control Update",
        ["urn:northfield:skill:infection-control"],
        "2025-10-01T00:00:00Z",
        n=5,
    )
    badge["issuer"] = {**badge["issuer"], "id": did}
    header = {"alg": "EdDSA", "typ": "vc+jwt", "cty": "vc", "kid": f"{did}#key-1"}
    return jws.serialize_compact(header, json.dumps(badge).encode(), key, algorithms=["EdDSA"])


def _x(seed_hex: str) -> str:
    import base64

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    public = (
        Ed25519PrivateKey.from_private_bytes(bytes.fromhex(seed_hex))
        .public_key()
        .public_bytes_raw()
    )
    return base64.urlsafe_b64encode(public).rstrip(b"=").decode()


def _crosswalk_with_issuer_rule(container: Container, org: Organisation, did: str) -> None:
    """The sample nursing crosswalk, v2: mentoring may also be shown by this issuer's record."""
    from tests.credit.support import sample_crosswalk

    doc = to_json(sample_crosswalk("nursing"))
    doc["version"] = 2
    doc["rules"].append(
        {"id": "N6", "course": "NURS-120", "kind": "any", "k": 1, "match": {"issuers": [did]}}
    )
    credit.publish_crosswalk(container.uow, org.id, from_json(doc), ASSESSOR, container.now())


def test_a_mixed_bundle_becomes_a_verified_clr_transcript(
    node_side: NodeSide,
    networked: Container,
    hospital: Organisation,
    did_server: _DidServer,
    tmp_path: Path,
) -> None:
    container = networked
    northfield = institution(container)
    _crosswalk_with_issuer_rule(container, northfield, did_server.did)
    nurse = issued_here(container, hospital)
    carer = issued_here(
        container,
        hospital,
        role="Care assistant",
        start="2021-01",
        end="2023-12",
        skills=(Skill("care", "ESCO", ISCO_CARE),),
    )
    status_service.change_status(
        container.status_publisher(), carer, "revoke", ASSESSOR, "issued in error", container.now()
    )
    external = _npm_signed(node_side, tmp_path, did_server)
    uploads = tuple(("upload", name, text.encode()) for name, text in external.items())
    uploads += (("paste", "pasted", _jwt(did_server.did).encode()),)
    request_id, token = credit.submit_bundle(
        container.uow,
        credit.SubmitBundle(
            "bsc-nursing",
            "Margaret Okafor",
            "margaret@example.net",
            held=(nurse, carer),
            external=uploads,
        ),
        container.now(),
    )
    assert credit_jobs.evaluate_credit(container, request_id)
    view = credit.credit_for_holder(container.uow, token)
    assert view.request.state is CreditState.AWAITING_ASSESSOR
    verified = {i.label: i.verified for i in view.items}
    assert verified == {
        "Employment confirmed: Registered Nurse at St Mary's Hospital": True,
        "Employment confirmed: Care assistant at St Mary's Hospital": False,
        "bls.json": True,
        "tampered.json": False,
        "safety.json": True,
        "mentor.json": True,
        "pasted": True,
    }, [i.reason for i in view.items]
    reasons = {i.label: i.reason for i in view.items}
    assert "revoked" in reasons["Employment confirmed: Care assistant at St Mary's Hospital"]
    assert "proof" in reasons["tampered.json"]
    assert view.proposal is not None
    granted = {g.course: g.evidence_ids for g in view.proposal.grants}
    labels = {i.id: i.label for i in view.items}
    assert {c: sorted(labels[i] for i in ids) for c, ids in granted.items()} == {
        "NURS-101": ["Employment confirmed: Registered Nurse at St Mary's Hospital"],
        "NURS-110": ["bls.json", "safety.json"],
        "NURS-120": ["mentor.json"],
    }
    gap = next(g for g in view.proposal.gaps if g.course == "NURS-102").reasons[0]
    assert "“Care assistant at St Mary's Hospital” is unverified" in gap
    assert "already counts for NURS-101" in gap

    item = next(i for i in view.items if i.label == "pasted")
    credit.adjust_credit(
        container.uow,
        request_id,
        Adjustment(
            "add",
            "NURS-102",
            "placement hours seen in the revoked record's replacement letter",
            20,
            (item.id,),
        ),
        ASSESSOR,
        container.now(),
    )
    credit.decide_credit(container.uow, request_id, True, ASSESSOR, "", container.now())
    assert credit_jobs.issue_credit(container, request_id)

    issued = credit.credit_for_holder(container.uow, token)
    transcript = json.loads(issued.request.transcript or "")
    assert clr.validate_clr(transcript) == []
    outer, inner = clr.verify_transcript(
        transcript, container.resolver(), container.now(), container.status_lists()
    )
    assert outer.verified, outer.errors
    assert [r.verified for r in inner] == [True] * len(inner), [r.errors for r in inner]
    held = transcript["credentialSubject"]["verifiableCredential"]
    issuers = {c["issuer"]["id"] if isinstance(c["issuer"], dict) else c["issuer"] for c in held}
    assert did_server.did in issuers and any(i.startswith("did:key:") for i in issuers)
    targets = {
        a["targetId"].rsplit("/", 1)[1] for a in transcript["credentialSubject"]["association"]
    }
    assert targets == {"NURS-101", "NURS-102", "NURS-110", "NURS-120"}
