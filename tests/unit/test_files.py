"""Evidence files: streamed in under a size cap, stored by content hash, typed by their content."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from rpl.files import (
    FileStore,
    FileTooLargeError,
    StoredFile,
    UnsupportedFileTypeError,
    sniff_media_type,
)

PDF = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
TEXT = "Payslip, May 2005 — Registered Nurse, 0.8 FTE\n".encode()
WINDOWS_EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 48
LINUX_ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 56


def chunked(data: bytes, size: int = 7) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def everything_under(root: Path) -> list[Path]:
    return sorted(path for path in root.rglob("*") if path.is_file()) if root.exists() else []


@pytest.fixture
def store(tmp_path: Path) -> FileStore:
    return FileStore(tmp_path / "files")


# --- storing -------------------------------------------------------------------------------------


def test_a_file_is_stored_under_its_content_hash(store: FileStore):
    digest = hashlib.sha256(PDF).hexdigest()

    stored = store.put(chunked(PDF), limit=1024, name="payslip.pdf")

    assert stored == StoredFile(sha256=digest, size=len(PDF), media_type="application/pdf")
    assert store.path_for(digest) == store.root / digest[:2] / digest
    assert everything_under(store.root) == [store.root / digest[:2] / digest]
    assert store.open(digest) == PDF
    assert store.describe(digest) == stored


def test_the_same_content_twice_is_one_file(store: FileStore):
    first = store.put(chunked(PDF), limit=1024, name="a.pdf")
    second = store.put(chunked(PDF, 3), limit=1024, name="copy of a.pdf")

    assert first == second
    assert everything_under(store.root) == [store.path_for(first.sha256)]


def test_a_file_exactly_at_the_limit_is_accepted(store: FileStore):
    stored = store.put(chunked(TEXT), limit=len(TEXT))
    assert stored.size == len(TEXT)


def test_a_file_over_the_limit_is_refused_and_nothing_is_left_behind(store: FileStore):
    big = b"a" * (2048 + 1)

    with pytest.raises(FileTooLargeError) as refused:
        store.put(chunked(big, 256), limit=2048, name="notes.txt")

    assert str(refused.value) == "notes.txt is larger than 2 KiB"
    assert everything_under(store.root) == []


def test_reading_stops_at_the_limit_rather_than_at_the_end_of_the_stream(store: FileStore):
    read: list[int] = []

    def endless() -> Iterator[bytes]:
        while True:
            read.append(1)
            yield b"x" * 100

    with pytest.raises(FileTooLargeError):
        store.put(endless(), limit=1000)

    assert len(read) == 11
    assert everything_under(store.root) == []


def test_a_failing_upload_stream_leaves_nothing_behind(store: FileStore):
    def broken() -> Iterator[bytes]:
        yield PDF
        raise ConnectionResetError("the client went away")

    with pytest.raises(ConnectionResetError):
        store.put(broken(), limit=1024)

    assert everything_under(store.root) == []


# --- typing by content ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "name", "media_type"),
    [
        (PDF, "photo.png", "application/pdf"),
        (PNG, "report.pdf", "image/png"),
        (JPEG, "notes.txt", "image/jpeg"),
        (b"GIF89a\x01\x00\x01\x00", "x.pdf", "image/gif"),
        (b"RIFF\x24\x00\x00\x00WEBPVP8 ", "x.pdf", "image/webp"),
        (TEXT, "setup.exe", "text/plain"),
    ],
    ids=["PDF", "PNG", "JPEG", "GIF", "WebP", "text"],
)
def test_the_type_comes_from_the_content_not_the_name(
    store: FileStore, content: bytes, name: str, media_type: str
):
    assert store.put(chunked(content), limit=1024, name=name).media_type == media_type


def test_a_signature_split_across_chunks_is_still_recognised(store: FileStore):
    assert store.put(chunked(PNG, 1), limit=1024).media_type == "image/png"


def test_text_whose_sniffed_head_ends_inside_a_character_is_still_text(store: FileStore):
    content = b"a" * 511 + "é".encode() * 100  # byte 512 is the first half of an "é"
    assert store.put(chunked(content, 64), limit=4096).media_type == "text/plain"


@pytest.mark.parametrize(
    "content",
    [WINDOWS_EXE, LINUX_ELF, b"\x00\x01\x02\x03" * 10, b"\xca\xfe\xba\xbe\x00\x00\x00\x34"],
    ids=["Windows executable", "ELF executable", "binary with NULs", "Java class"],
)
def test_an_executable_or_unknown_binary_is_refused_and_not_kept(store: FileStore, content: bytes):
    with pytest.raises(UnsupportedFileTypeError):
        store.put(chunked(content), limit=1024, name="invoice.pdf")

    assert everything_under(store.root) == []


def test_an_empty_file_is_refused_and_not_kept(store: FileStore):
    with pytest.raises(UnsupportedFileTypeError, match="empty.pdf is empty"):
        store.put(iter([b"", b""]), limit=1024, name="empty.pdf")

    assert everything_under(store.root) == []


@pytest.mark.parametrize("content", [b"\xff", b"\xfe\xff", b"hello\xff"])
def test_short_content_ending_in_bytes_that_are_not_utf8_is_not_text(content: bytes):
    with pytest.raises(UnsupportedFileTypeError):
        sniff_media_type(content)
