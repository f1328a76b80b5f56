"""Baked badges: an Open Badges 3.0 credential carried inside its own image (OB 3.0 §5.3).

PNG (§5.3.1): one `iTXt` chunk with the keyword `openbadgecredential`, uncompressed, inserted
before `IEND`; its text is the credential's JSON (embedded proof) or its compact JWS (VC-JWT).
A chunk already carrying a credential is replaced, so an image never holds two.

SVG (§5.3.2): the root `<svg>` declares `xmlns:openbadges="https://purl.imsglobal.org/ob/v3p0"`
and holds one `<openbadges:credential>` element: the JSON in a CDATA section, or for a VC-JWT an
empty element whose `verify` attribute is the compact JWS.

`unbake` reads the credential back out of either, as text, and says clearly when a file holds
none or holds a damaged one. SVG is read with patterns, never handed to an XML parser, so an
uploaded file cannot make us expand entities or fetch anything.

Pure: bytes in, bytes out.
"""

from __future__ import annotations

import re
import struct
import zlib
from html import escape, unescape

from rpl.errors import RplError
from rpl.proofs.jose import compact_jws_in

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
KEYWORD = b"openbadgecredential"
OB_NAMESPACE = "https://purl.imsglobal.org/ob/v3p0"
# A credential is kilobytes; a chunk claiming more than this is damage, not a badge.
MAX_CHUNK = 16 * 1024 * 1024


class BakingError(RplError):
    """An image that cannot be baked or read: not PNG/SVG, damaged, or without a credential."""


class NoCredentialError(BakingError):
    """The image is well-formed but carries no Open Badges credential."""


# --- PNG ------------------------------------------------------------------------------------------


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_chunks(png: bytes) -> list[tuple[bytes, bytes]]:
    """The (type, data) chunks of a PNG, each CRC checked; `BakingError` names the first bad one."""
    if not png.startswith(PNG_SIGNATURE):
        raise BakingError("this is not a PNG file (its signature is missing)")
    chunks, at = [], len(PNG_SIGNATURE)
    while at < len(png):
        if at + 8 > len(png):
            raise BakingError(f"the PNG is cut short at byte {at}")
        length, kind = struct.unpack(">I4s", png[at : at + 8])
        end = at + 8 + length + 4
        if length > MAX_CHUNK or end > len(png):
            raise BakingError(f"the PNG chunk at byte {at} claims {length} bytes it does not have")
        data = png[at + 8 : at + 8 + length]
        (crc,) = struct.unpack(">I", png[end - 4 : end])
        if crc != zlib.crc32(kind + data):
            raise BakingError(f"the PNG chunk {kind!r} at byte {at} fails its CRC check")
        chunks.append((kind, data))
        at = end
        if kind == b"IEND":
            break
    if not chunks or chunks[0][0] != b"IHDR" or chunks[-1][0] != b"IEND":
        raise BakingError("the PNG does not start with IHDR and end with IEND")
    return chunks


def itxt(keyword: bytes, text: str) -> bytes:
    """An uncompressed iTXt chunk's data: keyword, flags 0/0, no language, no translation."""
    return keyword + b"\x00\x00\x00" + b"\x00" + b"\x00" + text.encode("utf-8")


def _read_itxt(data: bytes) -> tuple[bytes, str]:
    """(keyword, text) of an iTXt chunk; compressed text is inflated (other tools may write it)."""
    try:
        keyword, rest = data.split(b"\x00", 1)
        compressed, method, rest = rest[0], rest[1], rest[2:]
        _language, rest = rest.split(b"\x00", 1)
        _translated, text = rest.split(b"\x00", 1)
        if compressed:
            if method != 0:
                raise BakingError(f"iTXt compression method {method} is not zlib")
            text = zlib.decompress(text)
        return keyword, text.decode("utf-8")
    except (ValueError, IndexError, zlib.error, UnicodeDecodeError) as err:
        raise BakingError(f"a malformed iTXt chunk: {err}") from err


def bake_png(png: bytes, credential: str) -> bytes:
    """The PNG with `credential` (JSON text or compact JWS) in an `openbadgecredential` chunk."""
    kept = [(k, d) for k, d in png_chunks(png) if not _is_credential_chunk(k, d)]
    out = [PNG_SIGNATURE]
    for kind, data in kept:
        if kind == b"IEND":
            out.append(_chunk(b"iTXt", itxt(KEYWORD, credential)))
        out.append(_chunk(kind, data))
    return b"".join(out)


def _is_credential_chunk(kind: bytes, data: bytes) -> bool:
    return kind == b"iTXt" and data.split(b"\x00", 1)[0] == KEYWORD


def unbake_png(png: bytes) -> str:
    for kind, data in png_chunks(png):
        if _is_credential_chunk(kind, data):
            return _read_itxt(data)[1]
    raise NoCredentialError("this PNG carries no openbadgecredential iTXt chunk")


# --- SVG ------------------------------------------------------------------------------------------

_SVG_OPEN = re.compile(r"<svg\b[^>]*>", re.IGNORECASE)
_PREFIX = re.compile(r'xmlns:([A-Za-z_][\w.-]*)\s*=\s*["\']' + re.escape(OB_NAMESPACE) + r'["\']')


def _credential_element(prefix: str) -> re.Pattern[str]:
    name = re.escape(prefix) + r":credential"
    return re.compile(rf"<{name}\b(?P<attrs>[^>]*?)(?:/>|>(?P<body>.*?)</{name}\s*>)", re.DOTALL)


def bake_svg(svg: str, credential: str) -> str:
    """The SVG with one `<openbadges:credential>` holding `credential`, first in the root."""
    svg = _without_credential(svg)
    root = _SVG_OPEN.search(svg)
    if root is None:
        raise BakingError("this is not an SVG document (no <svg> element)")
    tag = root.group(0)
    if not _PREFIX.search(tag):
        tag = (
            tag[:-2] + f' xmlns:openbadges="{OB_NAMESPACE}"/>'
            if tag.endswith("/>")
            else (tag[:-1] + f' xmlns:openbadges="{OB_NAMESPACE}">')
        )
    if compact_jws_in(credential) is not None:
        element = f'<openbadges:credential verify="{escape(credential.strip())}"/>'
    else:
        if "]]>" in credential:
            raise BakingError("the credential contains ']]>', which a CDATA section cannot hold")
        element = f"<openbadges:credential><![CDATA[{credential}]]></openbadges:credential>"
    if tag.endswith("/>"):  # an empty <svg/> gains content
        tag = tag[:-2] + ">"
        return svg[: root.start()] + tag + element + "</svg>" + svg[root.end() :]
    return svg[: root.start()] + tag + element + svg[root.end() :]


def _without_credential(svg: str) -> str:
    prefixes = set(_PREFIX.findall(svg)) | {"openbadges"}
    for prefix in prefixes:
        svg = _credential_element(prefix).sub("", svg)
    return svg


def unbake_svg(svg: str) -> str:
    if _SVG_OPEN.search(svg) is None:
        raise BakingError("this is not an SVG document (no <svg> element)")
    for prefix in set(_PREFIX.findall(svg)) | {"openbadges"}:
        found = _credential_element(prefix).search(svg)
        if found is None:
            continue
        verify = re.search(r'\bverify\s*=\s*(["\'])(.*?)\1', found.group("attrs"), re.DOTALL)
        if verify:
            return unescape(verify.group(2)).strip()
        body = (found.group("body") or "").strip()
        cdata = re.fullmatch(r"<!\[CDATA\[(.*)\]\]>", body, re.DOTALL)
        text = cdata.group(1) if cdata else unescape(body)
        if not text.strip():
            raise BakingError("the SVG's openbadges:credential element is empty")
        return text.strip()
    raise NoCredentialError("this SVG carries no openbadges:credential element")


# --- either -----------------------------------------------------------------------------------


def unbake(data: bytes) -> str:
    """The credential (JSON text or compact JWS) baked into a PNG or SVG file."""
    if data.startswith(PNG_SIGNATURE):
        return unbake_png(data)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise BakingError("this file is neither a PNG nor an SVG (UTF-8) image") from err
    if "<svg" not in text[:4096].lower() and _SVG_OPEN.search(text) is None:
        raise BakingError("this file is neither a PNG nor an SVG image")
    return unbake_svg(text)


def is_baked_image(data: bytes) -> bool:
    """Whether `data` looks like an image to unbake rather than a credential to parse."""
    head = data[:4096].lstrip()
    return data.startswith(PNG_SIGNATURE) or head.startswith((b"<?xml", b"<svg", b"<!DOCTYPE svg"))
