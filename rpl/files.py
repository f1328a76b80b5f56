"""Evidence files: streamed in with a hard size cap, stored by content hash outside any served folder."""

from __future__ import annotations

import codecs
import hashlib
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from rpl.errors import RplError

# Magic numbers of the types we accept; the client's Content-Type is not trusted.
_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)


class FileTooLargeError(RplError):
    """An upload went past the size limit."""


class UnsupportedFileTypeError(RplError):
    """An upload's content is not a type we accept."""


def _size(limit: int) -> str:
    if limit >= 1024 * 1024:
        return f"{limit / (1024 * 1024):g} MiB"
    return f"{limit / 1024:g} KiB" if limit >= 1024 else f"{limit} bytes"


@dataclass(frozen=True)
class StoredFile:
    sha256: str
    size: int
    media_type: str


def sniff_media_type(head: bytes) -> str:
    for magic, media_type in _SIGNATURES:
        if head.startswith(magic):
            return media_type
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "image/webp"
    try:
        # Incremental: a multi-byte character cut off at the end of `head` is still text,
        # any other invalid byte is not.
        codecs.getincrementaldecoder("utf-8")().decode(head)
    except UnicodeDecodeError as err:
        raise UnsupportedFileTypeError(
            "only PDF, PNG, JPEG, GIF, WebP or plain-text files can be attached"
        ) from err
    if b"\x00" in head:
        raise UnsupportedFileTypeError("binary files of unknown type cannot be attached")
    return "text/plain"


@dataclass
class FileStore:
    root: Path

    def path_for(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256

    def put(self, chunks: Iterable[bytes], limit: int, name: str = "file") -> StoredFile:
        """Stream `chunks` to disk; over `limit` bytes the partial file is removed and we refuse."""
        self.root.mkdir(parents=True, exist_ok=True)
        digest, size, head = hashlib.sha256(), 0, b""
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as out:
                for chunk in chunks:
                    size += len(chunk)
                    if size > limit:
                        raise FileTooLargeError(f"{name} is larger than {_size(limit)}")
                    if len(head) < 512:
                        head += chunk[: 512 - len(head)]
                    digest.update(chunk)
                    out.write(chunk)
            if size == 0:
                raise UnsupportedFileTypeError(f"{name} is empty")
            media_type = sniff_media_type(head)
            final = self.path_for(digest.hexdigest())
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp, final)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return StoredFile(sha256=digest.hexdigest(), size=size, media_type=media_type)

    def open(self, sha256: str) -> bytes:
        return self.path_for(sha256).read_bytes()

    def describe(self, sha256: str) -> StoredFile:
        """Size and sniffed type of a stored file, read from the store itself."""
        path = self.path_for(sha256)
        with path.open("rb") as handle:
            head = handle.read(512)
        return StoredFile(
            sha256=sha256, size=path.stat().st_size, media_type=sniff_media_type(head)
        )
