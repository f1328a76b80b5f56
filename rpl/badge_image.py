"""A plain badge image for a credential, to bake the credential into (see `rpl.baking`).

The image is a seal: a ring in a colour derived from the organisation, around a tick. The PNG is
written by hand (zlib and four chunks), so no imaging library is needed for so little; the SVG
adds the achievement's name and the organisation in words.

Pure: values in, bytes or text out.
"""

from __future__ import annotations

import functools
import hashlib
import struct
import zlib
from html import escape

SIZE = 256


def colour_for(name: str) -> tuple[int, int, int]:
    """A stable, dark enough colour for an organisation, so its badges look alike."""
    digest = hashlib.sha256(name.encode("utf-8")).digest()
    return tuple(40 + b % 120 for b in digest[:3])  # type: ignore[return-value]


def _pixel(x: int, y: int, ring: tuple[int, int, int]) -> bytes:
    c = SIZE / 2
    dx, dy = x - c + 0.5, y - c + 0.5
    r2 = dx * dx + dy * dy
    if r2 > (c - 4) ** 2:
        return b"\x00\x00\x00\x00"  # transparent outside the seal
    if r2 > (c - 28) ** 2:
        return bytes(ring) + b"\xff"
    # the tick: two thick strokes, (-45,0)→(-10,35) and (-10,35)→(55,-40)
    if _near(dx, dy, (-45, 0), (-10, 35)) or _near(dx, dy, (-10, 35), (55, -40)):
        return bytes(ring) + b"\xff"
    return b"\xff\xff\xff\xff"


def _near(x: float, y: float, a: tuple[int, int], b: tuple[int, int], width: float = 11) -> bool:
    (ax, ay), (bx, by) = a, b
    vx, vy = bx - ax, by - ay
    t = max(0.0, min(1.0, ((x - ax) * vx + (y - ay) * vy) / (vx * vx + vy * vy)))
    px, py = ax + t * vx - x, ay + t * vy - y
    return px * px + py * py <= width * width


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


# Drawing costs a few hundred milliseconds in pure Python; an organisation's seal never changes.
@functools.lru_cache(maxsize=256)
def badge_png(organisation: str) -> bytes:
    """A 256×256 RGBA PNG seal in the organisation's colour."""
    ring = colour_for(organisation)
    rows = b"".join(
        b"\x00" + b"".join(_pixel(x, y, ring) for x in range(SIZE)) for y in range(SIZE)
    )
    header = struct.pack(">IIBBBBB", SIZE, SIZE, 8, 6, 0, 0, 0)  # 8-bit RGBA
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(rows, 9))
        + _chunk(b"IEND", b"")
    )


def badge_svg(title: str, organisation: str) -> str:
    """The same seal as SVG, with the achievement and the organisation named under it."""
    r, g, b = colour_for(organisation)
    colour = f"#{r:02x}{g:02x}{b:02x}"
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="256" height="320" '
        'viewBox="0 0 256 320" role="img">'
        f"<title>{escape(title)} — {escape(organisation)}</title>"
        f'<circle cx="128" cy="128" r="112" fill="#fff" stroke="{colour}" stroke-width="24"/>'
        f'<path d="M83 128 L118 163 L183 88" fill="none" stroke="{colour}" '
        'stroke-width="22" stroke-linecap="round" stroke-linejoin="round"/>'
        '<text x="128" y="280" text-anchor="middle" font-family="sans-serif" font-size="16">'
        f"{escape(title[:40])}</text>"
        '<text x="128" y="304" text-anchor="middle" font-family="sans-serif" font-size="12">'
        f"{escape(organisation[:48])}</text>"
        "</svg>"
    )
