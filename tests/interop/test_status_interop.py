"""rpl's status lists and entries, checked by `@digitalbazaar/vc-bitstring-status-list` (2.0.1).

rpl issues credentials, revokes one and suspends another, and hands its signed status list
credentials, DID document and credentials to `status.mjs`, whose `checkStatus` verifies each list
(proof, issuer matching the credential's) and reads each entry's bit. Lists encoded on one side are
decoded on the other, for random index sets.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from rpl.bootstrap import Container
from rpl.config import Settings
from rpl.organisations import Organisation
from rpl.services import jobs, records
from rpl.services import status as status_service
from rpl.services.organisations import organisation_did, organisation_did_document
from rpl.status import MIN_LIST_LENGTH, decode_list, encode_list, indexes_to_bits, set_indexes
from tests.integration.test_issuance import confirmed_claims
from tests.interop.conftest import NodeSide

pytestmark = pytest.mark.interop
ADMIN = "admin:admin-token"


def _write(path: Path, document: Any) -> Path:
    path.write_text(json.dumps(document))
    return path


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Credentials here carry a revocation and a suspension entry."""
    return settings.with_(status_purposes=("revocation", "suspension"))


@pytest.fixture
def npm_checked(
    node_side: NodeSide, container: Container, hospital: Organisation, tmp_path: Path
) -> dict[str, dict[str, Any]]:
    ids = confirmed_claims(container, hospital, 3)
    jobs.issue_batch(container, ids)
    with container.uow() as tx:
        cids = [tx.credentials.by_claim(i).id for i in ids]  # type: ignore[union-attr]
    publisher = container.status_publisher()
    status_service.change_status(publisher, cids[1], "revoke", ADMIN, "fraud", container.now())
    status_service.change_status(publisher, cids[2], "suspend", ADMIN, "review", container.now())
    public_url = container.settings.public_url
    lists = {
        status_service.status_list_url(public_url, hospital, purpose): json.loads(
            status_service.publish_status_list(
                publisher, hospital, purpose, container.now()
            ).document
        )
        for purpose in status_service.StatusPurpose
    }
    did = organisation_did(public_url, hospital)
    dids_file = _write(
        tmp_path / "dids.json",
        {did: organisation_did_document(container.uow, public_url, "st-marys")},
    )
    files = [
        _write(tmp_path / f"{name}.json", records.get_credential(container.uow, cid).document)
        for name, cid in zip(("fine", "revoked", "suspended"), cids, strict=True)
    ]
    lines = node_side.run_json_lines(
        "status.mjs",
        ["check", "--dids", dids_file, "--lists", _write(tmp_path / "lists.json", lists), *files],
    )
    return {Path(line["file"]).stem: line for line in lines}


def test_npm_verifies_rpl_status_lists_and_reads_each_entry(
    npm_checked: dict[str, dict[str, Any]],
) -> None:
    assert {name: line["verified"] for name, line in npm_checked.items()} == {
        "fine": True,
        "revoked": True,
        "suspended": True,
    }, [line["error"] for line in npm_checked.values()]
    assert {name: line["statuses"] for name, line in npm_checked.items()} == {
        "fine": {"revocation": False, "suspension": False},
        "revoked": {"revocation": True, "suspension": False},
        "suspended": {"revocation": False, "suspension": True},
    }


@pytest.mark.parametrize("seed", range(5))
def test_npm_decodes_rpl_encoded_lists(node_side: NodeSide, seed: int) -> None:
    rng = random.Random(seed)
    indexes = sorted(rng.sample(range(MIN_LIST_LENGTH), rng.randint(0, 300)))
    encoded = encode_list(indexes_to_bits(indexes))
    [decoded] = node_side.run_json_lines("status.mjs", ["decode", encoded])
    assert decoded == {"length": MIN_LIST_LENGTH, "set": indexes}


@pytest.mark.parametrize("seed", range(5))
def test_rpl_decodes_npm_encoded_lists(node_side: NodeSide, seed: int) -> None:
    rng = random.Random(100 + seed)
    indexes = sorted(rng.sample(range(MIN_LIST_LENGTH), rng.randint(0, 300)))
    [encoded] = node_side.run_json_lines(
        "status.mjs", ["encode", str(MIN_LIST_LENGTH), *map(str, indexes)]
    )
    assert set_indexes(decode_list(encoded["encodedList"])) == indexes
