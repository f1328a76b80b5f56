"""The holder's archive: one ZIP with everything a person holds, and the rules for reading one.

Layout (format version 1):

    credentials/<id>.json | .jwt   every credential, its exact stored bytes (JSON, or a VC-JWT)
    presentation.json              a Verifiable Presentation of all of them, signed by the holder
    clr.json                       a CLR 2.0 ClrCredential of the credentials issued here (if any)
    claims.json                    the holder's claims: facts, states and events
    notes.json                     what the holder wrote around their records (never signed)
    imported/<sha256>/<name>       claims and notes carried in from earlier archives
    manifest.json                  written last: every other file with its SHA-256 and size

Writing streams: `stream_zip` yields the archive a piece at a time, so a large archive is never
held in memory whole. Reading refuses anything that is not such an archive before a single byte
of it is used: not a ZIP, no manifest, an unknown format, a file missing, altered (hash) or not
listed, an unsafe name, or sizes past `Limits` (a "zip bomb" is refused by its declared sizes and
again while inflating, since a ZIP's headers can lie).

Pure: no web framework, ORM or workflow engine.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from rpl.errors import RplError
from rpl.jsonio import loads_strict

FORMAT = "rpl-holder-archive"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
CREDENTIALS_DIR = "credentials/"
IMPORTED_DIR = "imported/"
ZIP_MAGIC = b"PK\x03\x04"
_SAFE_NAME = re.compile(r"[A-Za-z0-9._-]{1,200}")
_READ_CHUNK = 64 * 1024


class ArchiveError(RplError):
    """An archive that cannot be imported; the message says what is wrong with it."""


class NotAnArchiveError(ArchiveError):
    """The upload is not a ZIP file."""


class MissingManifestError(ArchiveError):
    """The ZIP has no manifest.json, or one that is not a holder archive's manifest."""


class HashMismatchError(ArchiveError):
    """A file of the archive is not the one its manifest lists (altered or truncated)."""


class ArchiveTooLargeError(ArchiveError):
    """The archive has too many entries, or entries (or a total) past the size limits."""


@dataclass(frozen=True)
class Limits:
    """What an imported archive may hold. Far above any person's records, far below harm."""

    max_upload_bytes: int = 64 * 1024 * 1024
    max_entries: int = 5_000
    max_entry_bytes: int = 8 * 1024 * 1024
    max_total_bytes: int = 256 * 1024 * 1024
    # Deflate reaches ~1000:1 at best; JSON compresses ~5-20:1. Past this, it is a bomb.
    max_ratio: int = 200


@dataclass(frozen=True)
class Entry:
    """A file of the archive as the manifest lists it."""

    path: str
    sha256: str
    size: int

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "sha256": self.sha256, "size": self.size}


@dataclass(frozen=True)
class ArchiveContents:
    """A checked archive: its manifest and every file it lists, each matching its hash."""

    manifest: dict[str, Any]
    files: dict[str, bytes] = field(default_factory=dict)

    def credentials(self) -> list[tuple[str, bytes]]:
        """(path, bytes) of each credential file, in name order."""
        return sorted(
            (path, data) for path, data in self.files.items() if path.startswith(CREDENTIALS_DIR)
        )

    def documents(self) -> list[tuple[str, bytes]]:
        """(path, bytes) of the files that are records but not credentials (claims, notes)."""
        return sorted(
            (path, data)
            for path, data in self.files.items()
            if path.endswith(".json")
            and (path in ("claims.json", "notes.json") or path.startswith(IMPORTED_DIR))
        )


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def safe_name(text: str) -> str:
    """`text` as one safe path segment: letters, digits, '.', '_' and '-' only."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._")[:200]
    return cleaned or "record"


def credential_path(record_id: str, is_jwt: bool) -> str:
    return f"{CREDENTIALS_DIR}{safe_name(record_id)}.{'jwt' if is_jwt else 'json'}"


def build_manifest(entries: Iterable[Entry], **fields: Any) -> dict[str, Any]:
    """The manifest: format, version, `fields` (holder, created, …) and every file listed."""
    return {
        "format": FORMAT,
        "formatVersion": FORMAT_VERSION,
        **fields,
        "files": [e.to_json() for e in sorted(entries, key=lambda e: e.path)],
    }


# --- writing ----------------------------------------------------------------------------------


class _Sink(io.RawIOBase):
    """A write-only stream whose bytes are taken away as they come (ZipFile writes into it)."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self._parts.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        out, self._parts = b"".join(self._parts), []
        return out


def stream_zip(
    files: Iterable[tuple[str, bytes]], manifest_fields: Mapping[str, Any]
) -> Iterator[bytes]:
    """The archive of `files` (path, bytes), piece by piece; the manifest is written last.

    `files` may be a generator: each file is read, hashed, compressed and passed on before
    the next one is asked for.
    """
    sink = _Sink()
    entries: list[Entry] = []
    seen: set[str] = set()
    # An unseekable stream: ZipFile writes data descriptors and tracks offsets itself.
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path, data in files:
            if path in seen or path == MANIFEST:
                raise ArchiveError(f"{path!r} would be written twice")
            seen.add(path)
            archive.writestr(_info(path), data)
            entries.append(Entry(path, sha256_hex(data), len(data)))
            yield sink.take()
        manifest = build_manifest(entries, **manifest_fields)
        archive.writestr(_info(MANIFEST), _json_bytes(manifest))
    yield sink.take()


def _info(path: str) -> zipfile.ZipInfo:
    # A fixed date: the same records give the same archive bytes, whenever exported.
    info = zipfile.ZipInfo(path, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    return info


def _json_bytes(value: Any) -> bytes:
    return (json.dumps(value, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def json_file(value: Any) -> bytes:
    """How the archive writes its own JSON files (claims, notes, presentation, CLR)."""
    return _json_bytes(value)


# --- reading ----------------------------------------------------------------------------------


DEFAULT_LIMITS = Limits()


def looks_like_zip(data: bytes) -> bool:
    return data.startswith(ZIP_MAGIC)


def read_archive(data: bytes, limits: Limits = DEFAULT_LIMITS) -> ArchiveContents:
    """Check an archive whole and return its files; raises `ArchiveError` saying what is wrong.

    Nothing is returned unless every check passed, so a caller never imports part of a bad one.
    """
    if len(data) > limits.max_upload_bytes:
        raise ArchiveTooLargeError(
            f"the archive is {len(data)} bytes; at most {limits.max_upload_bytes} are accepted"
        )
    if not looks_like_zip(data):
        raise NotAnArchiveError("this is not a ZIP archive")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError) as err:
        raise NotAnArchiveError(f"this is not a readable ZIP archive: {err}") from err
    with archive:
        infos = _checked_infos(archive, limits)
        if MANIFEST not in infos:
            raise MissingManifestError("the archive has no manifest.json: not an rpl archive")
        manifest = _manifest(_read(archive, infos[MANIFEST], limits))
        listed = _listed(manifest)
        unlisted = sorted(set(infos) - set(listed) - {MANIFEST})
        if unlisted:
            raise HashMismatchError(f"files not listed in the manifest: {', '.join(unlisted[:5])}")
        files: dict[str, bytes] = {}
        for entry in listed.values():
            if entry.path not in infos:
                raise HashMismatchError(f"{entry.path} is listed in the manifest but missing")
            content = _read(archive, infos[entry.path], limits)
            if len(content) != entry.size or sha256_hex(content) != entry.sha256:
                raise HashMismatchError(
                    f"{entry.path} does not match its SHA-256 in the manifest (altered?)"
                )
            files[entry.path] = content
    return ArchiveContents(manifest, files)


def _checked_infos(archive: zipfile.ZipFile, limits: Limits) -> dict[str, zipfile.ZipInfo]:
    infos = [i for i in archive.infolist() if not i.is_dir()]
    if len(infos) > limits.max_entries:
        raise ArchiveTooLargeError(
            f"the archive has {len(infos)} files; at most {limits.max_entries} are accepted"
        )
    found: dict[str, zipfile.ZipInfo] = {}
    total = 0
    for info in infos:
        _check_path(info.filename)
        if info.filename in found:
            raise ArchiveError(f"{info.filename} appears twice in the archive")
        if info.file_size > limits.max_entry_bytes:
            raise ArchiveTooLargeError(
                f"{info.filename} is {info.file_size} bytes unpacked; "
                f"at most {limits.max_entry_bytes} per file"
            )
        if info.file_size > 1024 * 1024 and info.file_size > limits.max_ratio * max(
            info.compress_size, 1
        ):
            raise ArchiveTooLargeError(f"{info.filename} unpacks to too much: a zip bomb?")
        total += info.file_size
        found[info.filename] = info
    if total > limits.max_total_bytes:
        raise ArchiveTooLargeError(
            f"the archive unpacks to {total} bytes; at most {limits.max_total_bytes}"
        )
    return found


def _check_path(path: str) -> None:
    parts = path.split("/")
    if path.startswith("/") or "\\" in path or not all(_SAFE_NAME.fullmatch(p) for p in parts):
        raise ArchiveError(f"unsafe file name in the archive: {path!r}")
    if any(p in (".", "..") for p in parts) or len(parts) > 3:
        raise ArchiveError(f"unsafe file name in the archive: {path!r}")


def _read(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limits: Limits) -> bytes:
    """The entry's bytes, never more than the limit whatever its header claims."""
    out = bytearray()
    try:
        with archive.open(info) as handle:
            while chunk := handle.read(_READ_CHUNK):
                out += chunk
                if len(out) > min(info.file_size, limits.max_entry_bytes):
                    raise ArchiveTooLargeError(f"{info.filename} unpacks past its declared size")
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as err:
        raise NotAnArchiveError(f"{info.filename} cannot be read: {err}") from err
    return bytes(out)


def _manifest(data: bytes) -> dict[str, Any]:
    try:
        manifest = loads_strict(data)
    except RplError as err:
        raise MissingManifestError(f"manifest.json is not valid JSON: {err}") from err
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise MissingManifestError(f"manifest.json does not describe an {FORMAT}")
    version = manifest.get("formatVersion")
    if not isinstance(version, int) or isinstance(version, bool):
        raise MissingManifestError("manifest.json names no formatVersion")
    if version > FORMAT_VERSION:
        raise MissingManifestError(
            f"the archive is format version {version}; this rpl reads up to {FORMAT_VERSION}"
        )
    return manifest


def _listed(manifest: Mapping[str, Any]) -> dict[str, Entry]:
    files = manifest.get("files")
    if not isinstance(files, list):
        raise MissingManifestError("manifest.json lists no files")
    listed: dict[str, Entry] = {}
    for item in files:
        if not isinstance(item, dict):
            raise MissingManifestError("manifest.json has a file entry that is not an object")
        path, digest, size = item.get("path"), item.get("sha256"), item.get("size")
        if not (
            isinstance(path, str)
            and isinstance(digest, str)
            and re.fullmatch(r"[0-9a-f]{64}", digest)
            and isinstance(size, int)
            and not isinstance(size, bool)
        ):
            raise MissingManifestError(f"manifest.json has a malformed file entry: {item!r}"[:200])
        _check_path(path)
        if path in listed or path == MANIFEST:
            raise MissingManifestError(f"manifest.json lists {path} twice")
        listed[path] = Entry(path, digest, size)
    return listed
