"""The archive format: what is written reads back the same; what is wrong is refused by name."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import pytest

from rpl import archive
from rpl.archive import Limits, read_archive, sha256_hex, stream_zip

FILES = [("credentials/a.json", b'{"a": 1}'), ("claims.json", b"[]\n")]


def written(files: list[tuple[str, bytes]] = FILES, **fields: Any) -> bytes:
    return b"".join(stream_zip(iter(files), fields or {"origin": "http://here"}))


def raw_zip(entries: list[tuple[str, bytes]]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in entries:
            z.writestr(name, data)
    return out.getvalue()


def manifest_for(files: list[tuple[str, bytes]], version: int = 1) -> bytes:
    listed = [{"path": p, "sha256": sha256_hex(d), "size": len(d)} for p, d in files]
    doc = {"format": archive.FORMAT, "formatVersion": version, "files": listed}
    return json.dumps(doc).encode()


def test_what_is_streamed_reads_back_with_its_manifest() -> None:
    contents = read_archive(written())
    assert contents.files == dict(FILES)
    assert contents.credentials() == [FILES[0]]
    assert contents.manifest["origin"] == "http://here"
    listed = {f["path"]: f["sha256"] for f in contents.manifest["files"]}
    assert listed == {p: sha256_hex(d) for p, d in FILES}


def test_the_same_files_give_the_same_archive_bytes() -> None:
    assert written() == written()


def test_a_file_cannot_be_written_twice() -> None:
    with pytest.raises(archive.ArchiveError, match="twice"):
        written([FILES[0], FILES[0]])


@pytest.mark.parametrize(
    ("entries", "error", "words"),
    [
        ([("../evil.json", b"{}")], archive.ArchiveError, "unsafe file name"),
        ([("/abs.json", b"{}")], archive.ArchiveError, "unsafe file name"),
        ([("a/b/c/d.json", b"{}")], archive.ArchiveError, "unsafe file name"),
        ([("claims.json", b"[]")], archive.MissingManifestError, "no manifest"),
        ([("manifest.json", b"not json")], archive.MissingManifestError, "not valid JSON"),
        ([("manifest.json", b'{"format": "other"}')], archive.MissingManifestError, "describe"),
    ],
)
def test_malformed_archives_are_refused(
    entries: list[tuple[str, bytes]], error: type[Exception], words: str
) -> None:
    with pytest.raises(error, match=words):
        read_archive(raw_zip(entries))


def test_a_newer_format_is_refused_with_its_version() -> None:
    data = raw_zip([*FILES, ("manifest.json", manifest_for(FILES, version=2))])
    with pytest.raises(archive.MissingManifestError, match="format version 2"):
        read_archive(data)


def test_a_listed_file_missing_is_refused() -> None:
    data = raw_zip([FILES[1], ("manifest.json", manifest_for(FILES))])
    with pytest.raises(archive.HashMismatchError, match="missing"):
        read_archive(data)


def test_limits_on_entries_and_upload_size() -> None:
    data = written()
    with pytest.raises(archive.ArchiveTooLargeError, match="files"):
        read_archive(data, Limits(max_entries=2))
    with pytest.raises(archive.ArchiveTooLargeError, match="bytes"):
        read_archive(data, Limits(max_upload_bytes=10))
    with pytest.raises(archive.ArchiveTooLargeError, match="unpacks to"):
        read_archive(data, Limits(max_total_bytes=5))


def test_an_entry_larger_than_its_header_says_is_cut_off() -> None:
    """A forged header (small declared size, more data) must not get past the reader."""
    body = b"x" * 5000
    data = bytearray(raw_zip([("credentials/a.json", body)]))
    # Lower the declared uncompressed size in both headers; inflating yields more than that.
    declared = len(body).to_bytes(4, "little")
    data = bytes(data).replace(declared, (100).to_bytes(4, "little"))
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        info = z.infolist()[0]
    assert info.file_size == 100
    with pytest.raises(archive.ArchiveError):
        archive._read(zipfile.ZipFile(io.BytesIO(data)), info, Limits())
