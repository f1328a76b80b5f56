"""The holder's import, export and CLR through the real app: every format, every refusal."""

from __future__ import annotations

import io
import json
import re
import zipfile
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft201909Validator

from rpl import badge_image, baking
from rpl.archive import sha256_hex
from rpl.bootstrap import Container
from rpl.organisations import Organisation
from rpl.proofs.jose import sign_vc_jwt
from rpl.services import archive
from rpl.verify import verify_credential
from tests.conftest import csrf_from
from tests.credit.support import OtherIssuer, issued_here, unsigned_badge
from tests.web.signin import api_headers, sign_in

HOLDER = "margaret@example.net"
CLR_SCHEMA = Path(
    "/work/shared/vectors/1edtech-ob3-clr2-schemas/clr_v2p0_clrcredential_schema.json"
)


def badge(now: datetime, n: int = 1, suite: str = "eddsa-rdfc-2022") -> str:
    doc = unsigned_badge(f"Badge {n}", ["http://example.org/skill"], "2023-01-01T00:00:00Z", n=n)
    return OtherIssuer().sign(doc, now, suite=suite)


def post_import(client: Any, files: list[tuple[str, bytes]] = (), pasted: str = "") -> Any:  # type: ignore[assignment]
    form = csrf_from(client.get("/my/import").text)
    sent = [("files", (name, data, "application/octet-stream")) for name, data in files]
    return client.post(
        "/my/import", data={"csrf_token": form, "pasted": pasted}, files=sent or None
    )


def held(container: Container, email: str = HOLDER) -> list[Any]:
    with container.uow() as tx:
        account = tx.accounts.by_email(email)
        return tx.holdings.for_account(account.id) if account else []


@pytest.fixture
def holder(client: Any, container: Container) -> Any:
    sign_in(client, container, HOLDER)
    return client


def test_pages_need_a_signed_in_holder(client: Any) -> None:
    for path in ("/my/export", "/my/import"):
        answer = client.get(path, follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/sign-in")
    assert client.get("/my/clr.json", follow_redirects=False).status_code == 303
    assert client.post("/api/my/import", content=b"{}").status_code == 401


def test_every_format_is_verified_kept_exactly_and_listed(
    holder: Any, container: Container
) -> None:
    now = container.now()
    rdfc, jcs = badge(now, 1), badge(now, 2, "eddsa-jcs-2022")
    other = OtherIssuer()
    doc = {**unsigned_badge("Badge 3", [], "2023-01-01T00:00:00Z", n=3)}
    doc["issuer"] = {**doc["issuer"], "id": other.did}
    jwt = sign_vc_jwt(doc, other.key, other.vm)  # type: ignore[arg-type]
    png = baking.bake_png(badge_image.badge_png("Elsewhere"), badge(now, 4))
    pasted = badge(now, 5)
    answer = post_import(
        holder,
        [("a.json", rdfc.encode()), ("b.json", jcs.encode()), ("c.jwt", jwt.encode()),
         ("d.png", png)],
        pasted="\n  " + pasted + "\n",
    )  # fmt: skip
    assert answer.status_code == 200, answer.text
    records = held(container)
    assert len(records) == 5
    assert all(r.verified for r in records), [r.reason for r in records]
    by_label = {r.label: r for r in records}
    assert by_label["a.json"].content == rdfc.encode()  # exact bytes
    assert by_label["a.json"].sha256 == sha256_hex(rdfc.encode())
    assert by_label["c.jwt"].format == "jwt"
    assert by_label["d.png"].content == baking.unbake(png).encode()  # the credential inside
    assert by_label["pasted text"].content == pasted.encode()  # a paste is trimmed
    page = holder.get("/my").text
    assert "Records you brought in" in page and "Badge 4" in page


def test_importing_the_same_bytes_again_creates_nothing(holder: Any, container: Container) -> None:
    credential = badge(container.now()).encode()
    post_import(holder, [("a.json", credential)])
    answer = post_import(holder, [("again.json", credential)])
    assert "already present" in answer.text
    assert len(held(container)) == 1


def test_an_unverifiable_credential_is_kept_with_the_reason(
    holder: Any, container: Container
) -> None:
    tampered = json.loads(badge(container.now()))
    tampered["name"] = "Something I did not earn"
    answer = post_import(holder, [("tampered.json", json.dumps(tampered).encode())])
    assert answer.status_code == 200
    [record] = held(container)
    assert not record.verified and "proof" in record.reason
    assert "Not verified" in holder.get("/my").text


def test_what_is_not_a_credential_is_refused_and_nothing_is_stored(
    holder: Any, container: Container
) -> None:
    good = badge(container.now()).encode()
    answer = post_import(holder, [("good.json", good), ("notes.txt", b"hello")], pasted="")
    assert answer.status_code == 422
    assert "Nothing was imported" in answer.text and "notes.txt" in answer.text
    answer = post_import(holder, pasted="not a credential at all")
    assert answer.status_code == 422 and "not a credential at all" in answer.text  # kept
    assert held(container) == []


def _zip(files: dict[str, bytes], manifest: Any = None) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            z.writestr(name, data)
        if manifest is not None:
            z.writestr("manifest.json", json.dumps(manifest))
    return out.getvalue()


def _manifest(files: dict[str, bytes]) -> dict[str, Any]:
    listed = [{"path": k, "sha256": sha256_hex(v), "size": len(v)} for k, v in files.items()]
    return {"format": "rpl-holder-archive", "formatVersion": 1, "files": listed}


@pytest.mark.parametrize(
    ("case", "words"),
    [
        ("not-zip", "not a readable ZIP archive"),
        ("no-manifest", "no manifest.json"),
        ("hash", "does not match its SHA-256"),
        ("unlisted", "not listed in the manifest"),
        ("bomb", "zip bomb"),
        ("huge", "bytes unpacked"),
    ],
)
def test_a_bad_archive_is_refused_whole(
    holder: Any, container: Container, case: str, words: str
) -> None:
    good = {"credentials/a.json": badge(container.now()).encode()}
    data = {
        "not-zip": b"PK\x03\x04 but not really a zip",
        "no-manifest": _zip(good),
        "hash": _zip(good, {**_manifest(good), "files": [
            {"path": "credentials/a.json", "sha256": "0" * 64, "size": len(good["credentials/a.json"])}
        ]}),
        "unlisted": _zip({**good, "credentials/b.json": b"{}"}, _manifest(good)),
        "bomb": _zip({**good, "credentials/big.json": b" " * (5 * 1024 * 1024)}, _manifest(good)),
        "huge": _zip({**good, "credentials/big.json": b"x" * (9 * 1024 * 1024)}, _manifest(good)),
    }[case]  # fmt: skip
    answer = post_import(holder, [("records.zip", data)])
    assert answer.status_code == 422, answer.text
    main = re.sub(r"\s+", " ", answer.text.split("<main", 1)[-1])[:1500]
    assert words in answer.text and "Nothing was imported" in answer.text, main
    assert held(container) == []


def test_the_api_imports_for_the_token_holder(client: Any, container: Container) -> None:
    now = container.now()
    headers = {**api_headers(container, HOLDER, "import"), "Content-Type": "application/json"}
    body = badge(now).encode()
    first = client.post("/api/my/import", content=body, headers=headers)
    assert first.status_code == 200, first.text
    [outcome] = first.json()["credentials"]
    assert outcome["status"] == "created" and outcome["verified"] is True
    again = client.post("/api/my/import", content=body, headers=headers).json()
    assert again["credentials"][0] == {**outcome, "status": "present"}
    bad = client.post("/api/my/import", content=b"hello", headers=headers)
    assert bad.status_code == 422 and "problems" in bad.json()
    assert len(held(container)) == 1


def test_import_credential_reports_created_or_present_with_the_outcome(
    container: Container,
) -> None:
    """The one-credential use case other front doors (the OB 3.0 API's upsert) call."""
    now = container.now()
    with container.uow() as tx:
        account, _ = tx.accounts.ensure("acct-1", HOLDER, now)
        tx.commit()
    verifier = archive.Verifier(container.resolver(), container.status_lists())
    data = badge(now).encode()
    made = archive.import_credential(container.uow, verifier, account, data, now)
    assert (made.created, made.verified, made.sha256) == (True, True, sha256_hex(data))
    again = archive.import_credential(container.uow, verifier, account, data, now)
    assert (again.created, again.record_id) == (False, made.record_id)
    with pytest.raises(archive.NotACredentialError):
        archive.import_credential(container.uow, verifier, account, b"[1, 2]", now)


def test_the_export_holds_what_was_issued_and_what_was_imported(
    holder: Any, container: Container, hospital: Organisation
) -> None:
    credential_id = issued_here(container, hospital)
    imported = badge(container.now()).encode()
    post_import(holder, [("elsewhere.json", imported)])
    form = csrf_from(holder.get("/my/export").text)
    answer = holder.post("/my/export", data={"csrf_token": form})
    assert answer.headers["content-disposition"].startswith("attachment;")
    with zipfile.ZipFile(io.BytesIO(answer.content)) as z:
        names = set(z.namelist())
        assert f"credentials/{credential_id}.json" in names
        contents = {z.read(n) for n in names if n.startswith("credentials/")}
        claims = json.loads(z.read("claims.json"))
    assert imported in contents
    assert claims[0]["state"] == "issued" and claims[0]["events"]


def test_clr_json_is_a_signed_clr_of_the_issued_credentials(
    holder: Any, container: Container, hospital: Organisation
) -> None:
    assert holder.get("/my/clr.json").status_code == 404  # nothing issued yet
    credential_id = issued_here(container, hospital)
    answer = holder.get("/my/clr.json")
    assert answer.status_code == 200
    clr = answer.json()
    schema = json.loads(CLR_SCHEMA.read_text())
    errors = [e.message for e in Draft201909Validator(schema).iter_errors(clr)]
    assert errors == []
    inner = clr["credentialSubject"]["verifiableCredential"]
    assert [c["id"] for c in inner] == [f"http://testserver/credentials/{credential_id}"]
    result = verify_credential(clr, container.resolver(), container.now())
    assert result.verified, result.errors
    assert clr["issuer"]["id"] == clr["credentialSubject"]["id"]  # issued by the holder
