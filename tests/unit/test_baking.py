"""Baked badges: PNG iTXt and SVG carry a credential and give it back unchanged."""

from __future__ import annotations

import io
import json
import struct
import zlib

import pytest
from PIL import Image, PngImagePlugin

from rpl import badge_image, baking
from rpl.baking import BakingError, NoCredentialError

CREDENTIAL = json.dumps(
    {"@context": ["https://www.w3.org/ns/credentials/v2"], "name": "Nurse — 22 ans, ça va"},
    ensure_ascii=False,
)
JWT = "eyJhbGciOiJFZERTQSJ9.eyJpc3N1ZXIiOiJkaWQ6a2V5OngifQ.c2lnbmF0dXJl"


def chunk_types(png: bytes) -> list[bytes]:
    return [kind for kind, _ in baking.png_chunks(png)]


def test_a_png_round_trip_gives_the_credential_back() -> None:
    baked = baking.bake_png(badge_image.badge_png("St Mary's"), CREDENTIAL)
    assert baking.unbake(baked) == CREDENTIAL
    assert chunk_types(baked)[-2:] == [b"iTXt", b"IEND"]  # inserted just before IEND


def test_the_png_chunk_is_uncompressed_itxt_with_the_keyword_and_a_right_crc() -> None:
    baked = baking.bake_png(badge_image.badge_png("A"), CREDENTIAL)
    at = baked.index(b"iTXt") - 4
    (length,) = struct.unpack(">I", baked[at : at + 4])
    data = baked[at + 8 : at + 8 + length]
    (crc,) = struct.unpack(">I", baked[at + 8 + length : at + 12 + length])
    assert crc == zlib.crc32(b"iTXt" + data)
    assert data.startswith(b"openbadgecredential\x00\x00\x00\x00\x00")  # flag 0, method 0
    assert data.endswith(CREDENTIAL.encode("utf-8"))


def test_baking_again_replaces_the_credential() -> None:
    once = baking.bake_png(badge_image.badge_png("A"), CREDENTIAL)
    twice = baking.bake_png(once, JWT)
    assert chunk_types(twice).count(b"iTXt") == 1
    assert baking.unbake(twice) == JWT


def test_the_baked_png_is_still_an_image_pillow_reads() -> None:
    baked = baking.bake_png(badge_image.badge_png("A"), CREDENTIAL)
    image = Image.open(io.BytesIO(baked))
    image.load()
    assert image.size == (256, 256)
    assert image.text["openbadgecredential"] == CREDENTIAL  # type: ignore[attr-defined]


@pytest.mark.parametrize("compressed", [False, True])
def test_a_png_baked_by_another_tool_reads_back(compressed: bool) -> None:
    info = PngImagePlugin.PngInfo()
    info.add_itxt("openbadgecredential", CREDENTIAL, zip=compressed)
    out = io.BytesIO()
    Image.new("RGB", (8, 8), "navy").save(out, "PNG", pnginfo=info)
    assert baking.unbake(out.getvalue()) == CREDENTIAL


def test_a_damaged_chunk_fails_its_crc_check() -> None:
    baked = bytearray(baking.bake_png(badge_image.badge_png("A"), CREDENTIAL))
    baked[baked.index(b"Nurse")] ^= 0x01
    with pytest.raises(BakingError, match="CRC"):
        baking.unbake(bytes(baked))


def test_a_truncated_png_is_refused_clearly() -> None:
    baked = baking.bake_png(badge_image.badge_png("A"), CREDENTIAL)
    with pytest.raises(BakingError, match="claims|cut short|IEND"):
        baking.unbake(baked[:-20])


def test_a_png_without_a_credential_says_so() -> None:
    with pytest.raises(NoCredentialError, match="no openbadgecredential"):
        baking.unbake(badge_image.badge_png("A"))


def test_a_malformed_itxt_chunk_is_refused() -> None:
    png = badge_image.badge_png("A")
    bad = b"openbadgecredential\x00\x01\x00\x00\x00not zlib"
    chunk = (
        struct.pack(">I", len(bad)) + b"iTXt" + bad + struct.pack(">I", zlib.crc32(b"iTXt" + bad))
    )
    broken = png[:-12] + chunk + png[-12:]
    with pytest.raises(BakingError, match="malformed iTXt"):
        baking.unbake(broken)


def test_an_svg_round_trip_keeps_json_in_cdata() -> None:
    svg = badge_image.badge_svg("Registered Nurse", "St Mary's <Hospital>")
    baked = baking.bake_svg(svg, CREDENTIAL)
    assert f'xmlns:openbadges="{baking.OB_NAMESPACE}"' in baked
    assert "<openbadges:credential><![CDATA[" in baked
    assert baking.unbake(baked.encode()) == CREDENTIAL


def test_an_svg_carries_a_vc_jwt_in_the_verify_attribute() -> None:
    baked = baking.bake_svg(badge_image.badge_svg("A", "B"), JWT)
    assert f'<openbadges:credential verify="{JWT}"/>' in baked
    assert baking.unbake(baked.encode()) == JWT


def test_an_svg_baked_twice_holds_one_credential() -> None:
    baked = baking.bake_svg(baking.bake_svg(badge_image.badge_svg("A", "B"), CREDENTIAL), JWT)
    assert baked.count("openbadges:credential") == 1
    assert baking.unbake(baked.encode()) == JWT


def test_an_svg_from_elsewhere_with_another_prefix_reads_back() -> None:
    svg = (
        '<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" '
        f'xmlns:ob="{baking.OB_NAMESPACE}"><ob:credential>'
        '{&quot;name&quot;: &quot;x&quot;}</ob:credential><circle r="3"/></svg>'
    )
    assert baking.unbake(svg.encode()) == '{"name": "x"}'


def test_an_svg_without_a_credential_and_other_files_say_so() -> None:
    with pytest.raises(NoCredentialError, match="openbadges:credential"):
        baking.unbake(badge_image.badge_svg("A", "B").encode())
    with pytest.raises(BakingError, match="neither"):
        baking.unbake(b"\xff\xfe binary")
    with pytest.raises(BakingError, match="neither"):
        baking.unbake(b"just text")


def test_json_that_would_end_the_cdata_is_refused() -> None:
    with pytest.raises(BakingError, match="CDATA"):
        baking.bake_svg(badge_image.badge_svg("A", "B"), '{"x": "]]>"}')


def test_images_are_told_apart_from_credentials() -> None:
    assert baking.is_baked_image(badge_image.badge_png("A"))
    assert baking.is_baked_image(badge_image.badge_svg("A", "B").encode())
    assert not baking.is_baked_image(CREDENTIAL.encode())
    assert not baking.is_baked_image(JWT.encode())
