"""Export → import into a fresh instance → export again: nothing is lost on the way.

Instance 1 issues credentials to a holder (Data Integrity rdfc, and a VC-JWT from a second
organisation) and the holder imports one from elsewhere (a did:key issuer, eddsa-jcs-2022).
The holder downloads the archive from instance 1's page and uploads it to instance 2 — its own
home, database and public URL — whose verifier resolves instance 1's `did:web` and status lists
through injected fetchers that read instance 1's own answers. Same credentials, same SHA-256,
all verify; exported again from instance 2, the credentials are the same bytes.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Iterator
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from rpl.archive import sha256_hex
from rpl.bootstrap import Container, bootstrap
from rpl.config import Settings
from rpl.dids import DidResolver, did_web_url
from rpl.organisations import Organisation
from rpl.presentations import verify_presentation
from rpl.services import securing
from rpl.services.organisations import RegisterOrganisation, register_organisation
from rpl.status import FetchedStatusList
from rpl.status_fetch import StatusListSource
from rpl.web.app import create_app
from tests.conftest import PUBLIC_URL, _reset_postgres, csrf_from, database_url
from tests.credit.support import OtherIssuer, issued_here, unsigned_badge

HOLDER = "margaret@example.net"
SECOND_URL = "http://second.example"


def _links(container: Container, base: str) -> list[str]:
    found = []
    for path in sorted(container.settings.outbox_dir.glob("*.eml")):
        message = message_from_bytes(path.read_bytes(), policy=policy.default)
        text = message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
        found += re.findall(rf"{re.escape(base)}(/sign-in/[A-Za-z0-9_-]+)", text)
    return found


def signed_in(container: Container, base: str, email: str) -> TestClient:
    client = TestClient(create_app(container), base_url=base)
    form = csrf_from(client.get("/sign-in").text)
    assert client.post("/sign-in", data={"email": email, "csrf_token": form}).status_code == 200
    link = _links(container, base)[-1]
    answer = client.post(link, data={"csrf_token": csrf_from(client.get(link).text)})
    assert answer.status_code == 200, answer.text  # followed to /account
    return client


def export(client: TestClient) -> bytes:
    form = csrf_from(client.get("/my/export").text)
    answer = client.post("/my/export", data={"csrf_token": form})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/zip"
    return answer.content


def unzip(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def credential_files(files: dict[str, bytes]) -> dict[str, bytes]:
    """SHA-256 → bytes of each credential file (names differ between instances, bytes must not)."""
    return {sha256_hex(v): v for k, v in files.items() if k.startswith("credentials/")}


@pytest.fixture
def second(tmp_path: Path) -> Iterator[Container]:
    """A fresh instance: its own home, database and public URL."""
    home = tmp_path / "second"
    url = database_url(home)
    if url.startswith("postgresql"):
        url = _own_database(url, "_second")
        _reset_postgres(url)
    settings = Settings(home=home, database_url=url, public_url=SECOND_URL, runner="inline")
    built = bootstrap(settings, runner="inline", network=False)
    yield built
    built.close()


def _own_database(url: str, suffix: str) -> str:
    from sqlalchemy import create_engine, make_url, text

    parsed = make_url(url)
    own = parsed.set(database=f"{parsed.database}{suffix}")
    engine = create_engine(parsed, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        exists = connection.execute(
            text("select 1 from pg_database where datname = :n"), {"n": own.database}
        ).first()
        if not exists:
            connection.execute(text(f'CREATE DATABASE "{own.database}"'))
    engine.dispose()
    return own.render_as_string(hide_password=False)


def reading_instance(first: TestClient) -> tuple[DidResolver, StatusListSource]:
    """Instance 2's view of the world: instance 1's did.json and status lists, as it serves them."""

    def fetch_did(did: str) -> dict[str, Any]:
        answer = first.get(urlsplit(did_web_url(did)).path)
        assert answer.status_code == 200, did
        return answer.json()  # type: ignore[no-any-return]

    def fetch_list(url: str) -> FetchedStatusList:
        return FetchedStatusList(first.get(urlsplit(url).path).json())

    return DidResolver(fetch_did_web=fetch_did), StatusListSource(fetch_remote=fetch_list)


def issue_three(container: Container, hospital: Organisation, now: Any) -> None:
    """rdfc from the hospital, a VC-JWT from a second organisation, and one from elsewhere."""
    issued_here(container, hospital)
    college = register_organisation(
        container.uow,
        container.master_key,
        RegisterOrganisation(
            name="Northfield College",
            domain="northfield.example",
            url="https://northfield.example",
            slug="northfield",
            domain_verified=True,
        ),
        now,
    )
    securing.choose_securing(container.uow, college.slug, "vc-jwt", "admin:test", now)
    issued_here(container, college, role="Evening class tutor", start="2010-09", end="2015-06")


def test_export_import_into_a_fresh_instance_keeps_every_credential_and_hash(
    container: Container, hospital: Organisation, second: Container, monkeypatch: Any
) -> None:
    now = container.now()
    issue_three(container, hospital, now)
    first = signed_in(container, PUBLIC_URL, HOLDER)
    elsewhere = OtherIssuer().sign(
        unsigned_badge("First aid", ["http://example.org/first-aid"], "2023-01-01T00:00:00Z"),
        now,
        suite="eddsa-jcs-2022",
    )
    upload = {"files": ("first-aid.json", elsewhere.encode(), "application/json")}
    form = csrf_from(first.get("/my/import").text)
    assert first.post("/my/import", data={"csrf_token": form}, files=upload).status_code == 200

    archive_1 = export(first)
    files_1 = unzip(archive_1)
    manifest = json.loads(files_1["manifest.json"])
    assert manifest["format"] == "rpl-holder-archive" and manifest["formatVersion"] == 1
    assert {f["path"] for f in manifest["files"]} == set(files_1) - {"manifest.json"}
    for entry in manifest["files"]:
        assert sha256_hex(files_1[entry["path"]]) == entry["sha256"]
    creds_1 = credential_files(files_1)
    assert len(creds_1) == 3
    assert sum(name.endswith(".jwt") for name in files_1) == 1
    assert {"presentation.json", "clr.json", "claims.json", "notes.json"} <= set(files_1)
    binding = manifest["presentation"]
    own_view = verify_presentation(
        files_1["presentation.json"],
        container.resolver(),
        now,
        challenge=binding["challenge"],
        domain=binding["domain"],
        status_lists=container.status_lists(),
    )
    assert own_view.verified, own_view.errors

    # A fresh instance: the holder signs in there and uploads the archive.
    resolver, lists = reading_instance(first)
    monkeypatch.setattr(second, "resolver", lambda: resolver)
    monkeypatch.setattr(second, "status_lists", lambda: lists)
    other = signed_in(second, SECOND_URL, HOLDER)
    form = csrf_from(other.get("/my/import").text)
    sent = {"files": ("records.zip", archive_1, "application/zip")}
    answer = other.post("/my/import", data={"csrf_token": form}, files=sent)
    assert answer.status_code == 200, answer.text
    assert answer.text.count("Verified") >= 3 and "Not verified" not in answer.text
    with second.uow() as tx:
        account = tx.accounts.by_email(HOLDER)
        assert account is not None
        held = tx.holdings.for_account(account.id)
    assert {h.sha256 for h in held} == set(creds_1)
    assert all(h.verified for h in held), [h.reason for h in held]
    assert {h.content for h in held} == set(creds_1.values())

    # Again: nothing new.
    answer = other.post("/my/import", data={"csrf_token": form}, files=sent)
    assert answer.status_code == 200 and "3 already with you" in " ".join(answer.text.split())
    with second.uow() as tx:
        assert len(tx.holdings.for_account(account.id)) == 3

    # Exported from instance 2: the same credential bytes, a presentation that verifies there,
    # and instance 1's claims handed on as they came.
    files_2 = unzip(export(other))
    assert credential_files(files_2) == creds_1
    manifest_2 = json.loads(files_2["manifest.json"])
    binding = manifest_2["presentation"]
    seen_from_2 = verify_presentation(
        files_2["presentation.json"],
        resolver,
        now,
        challenge=binding["challenge"],
        domain=SECOND_URL,
        status_lists=lists,
    )
    assert seen_from_2.verified, seen_from_2.errors
    carried = {k.rsplit("/", 1)[-1]: v for k, v in files_2.items() if k.startswith("imported/")}
    assert carried["claims.json"] == files_1["claims.json"]
    assert "clr.json" not in files_2  # nothing was issued by instance 2
