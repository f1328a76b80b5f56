"""Baked badges through the real app: the PNG and SVG of an issued credential carry it, and the
verify page accepts either image as an upload."""

from __future__ import annotations

from typing import Any

from rpl import baking
from rpl.bootstrap import Container
from rpl.organisations import Organisation
from tests.conftest import csrf_from
from tests.web.journey import attester_path, credential_id, decide, file_claim


def issued_id(client: Any, container: Container) -> str:
    claimant = file_claim(client).headers["location"]
    decide(client, attester_path(container), action="confirm", attester_role="HR Manager")
    return credential_id(client.get(claimant).text)


def test_the_png_and_svg_carry_exactly_the_stored_credential(
    client: Any, container: Container, hospital: Organisation
) -> None:
    cid = issued_id(client, container)
    stored = client.get(f"/credentials/{cid}.json").text
    png = client.get(f"/credentials/{cid}.png")
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    assert baking.unbake(png.content) == stored
    svg = client.get(f"/credentials/{cid}.svg")
    assert svg.headers["content-type"].startswith("image/svg+xml")
    assert baking.unbake(svg.content) == stored
    assert "Registered Nurse" in svg.text


def test_an_unknown_credential_has_no_image(client: Any, hospital: Organisation) -> None:
    assert client.get("/credentials/00000000-0000-0000-0000-000000000000.png").status_code == 404


def _upload(client: Any, name: str, content: bytes, media_type: str) -> Any:
    token = csrf_from(client.get("/verify").text)
    return client.post(
        "/verify", data={"csrf_token": token}, files={"file": (name, content, media_type)}
    )


def test_a_baked_badge_uploaded_to_verify_is_checked(
    client: Any, container: Container, hospital: Organisation
) -> None:
    cid = issued_id(client, container)
    for extension, media_type in (("png", "image/png"), ("svg", "image/svg+xml")):
        image = client.get(f"/credentials/{cid}.{extension}").content
        answer = _upload(client, f"badge.{extension}", image, media_type)
        assert answer.status_code == 200
        assert "Genuine: this credential verifies now" in answer.text, extension


def test_a_tampered_baked_badge_does_not_verify(
    client: Any, container: Container, hospital: Organisation
) -> None:
    cid = issued_id(client, container)
    stored = client.get(f"/credentials/{cid}.json").text
    forged = baking.bake_png(
        client.get(f"/credentials/{cid}.png").content,
        stored.replace("Registered Nurse", "Chief Surgeon"),
    )
    answer = _upload(client, "badge.png", forged, "image/png")
    assert answer.status_code == 200
    assert "Not verified" in answer.text


def test_an_image_without_a_credential_is_refused_with_the_reason(
    client: Any, hospital: Organisation
) -> None:
    from rpl import badge_image

    answer = _upload(client, "plain.png", badge_image.badge_png("x"), "image/png")
    assert answer.status_code == 422
    assert "no openbadgecredential" in answer.text
