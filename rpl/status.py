"""Bitstring Status List v1.0 (W3C Recommendation): the bitstring, its encoding, entries and lists.

Pure: no I/O. A list is a bitstring in which the left-most bit (the high bit of the first byte) is
index 0 (§2.1); it is published GZIP-compressed, base64url-encoded without padding and prefixed
with the multibase `u` (§2.2, `encodedList`). Indexes are allocated at random over a list at
most half full, so neighbouring indexes say nothing about who holds them (§5.2 herd privacy).
"""

from __future__ import annotations

import base64
import binascii
import gzip
import random
from collections.abc import Callable, Collection, Container, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from rpl.errors import RplError

VC_V2_CONTEXT = "https://www.w3.org/ns/credentials/v2"
# §2.1: "a minimum bitstring length of 131,072 bits (16KB)" — a list is never shorter.
MIN_LIST_LENGTH = 131_072
MULTIBASE_BASE64URL = "u"


class StatusPurpose(StrEnum):
    REVOCATION = "revocation"
    SUSPENSION = "suspension"


class StatusListError(RplError):
    """A status list that cannot be decoded or read (malformed, too short, index out of range)."""


class StatusListFullError(RplError):
    """No free index could be found in a status list."""


class StatusListUnavailableError(RplError):
    """A status list credential could not be obtained; the status it holds is unknown."""


@dataclass(frozen=True)
class FetchedStatusList:
    """A status list credential as a fetcher obtained it.

    `fetched_at` is when a cached copy was fetched; None means fetched for this verification.
    """

    document: dict[str, Any]
    fetched_at: datetime | None = None


# Obtains the status list credential at a URL; raises `StatusListUnavailableError` when it cannot.
StatusListFetcher = Callable[[str], FetchedStatusList]


# --- the bitstring ----------------------------------------------------------------------------


def new_bitstring(length: int = MIN_LIST_LENGTH) -> bytes:
    """All statuses zero; `length` bits, rounded up to whole bytes."""
    return bytes((max(length, MIN_LIST_LENGTH) + 7) // 8)


def get_bit(bits: bytes, index: int) -> bool:
    """The status at `index`; index 0 is the left-most bit (§2.1)."""
    if not 0 <= index < len(bits) * 8:
        raise StatusListError(f"index {index} is outside a list of {len(bits) * 8} entries")
    return bool(bits[index // 8] & (0x80 >> (index % 8)))


def set_bit(bits: bytes, index: int, value: bool) -> bytes:
    """A copy of `bits` with the status at `index` set to `value`."""
    if not 0 <= index < len(bits) * 8:
        raise StatusListError(f"index {index} is outside a list of {len(bits) * 8} entries")
    changed = bytearray(bits)
    mask = 0x80 >> (index % 8)
    changed[index // 8] = changed[index // 8] | mask if value else changed[index // 8] & ~mask
    return bytes(changed)


def resized(bits: bytes, length: int) -> bytes:
    """`bits` padded with zeros to `length` bits (never shortened)."""
    size = (length + 7) // 8
    return bits + bytes(size - len(bits)) if size > len(bits) else bits


def set_indexes(bits: bytes) -> list[int]:
    """Every index whose status is set, in order."""
    return [
        byte_no * 8 + bit
        for byte_no, byte in enumerate(bits)
        if byte
        for bit in range(8)
        if byte & (0x80 >> bit)
    ]


# --- encodedList (§2.2 and §3.2 "Bitstring Generation / Expansion Algorithm") ------------------


def encode_list(bits: bytes) -> str:
    """Bitstring Generation Algorithm: GZIP, base64url without padding, multibase prefix `u`."""
    # mtime=0: the same list always encodes to the same text, so ETags and signatures are stable.
    compressed = gzip.compress(bits, mtime=0)
    return MULTIBASE_BASE64URL + base64.urlsafe_b64encode(compressed).rstrip(b"=").decode("ascii")


def decode_list(encoded: str, min_length: int = MIN_LIST_LENGTH) -> bytes:
    """Bitstring Expansion Algorithm; raises `StatusListError` for anything malformed or short."""
    if not isinstance(encoded, str) or not encoded.startswith(MULTIBASE_BASE64URL):
        raise StatusListError("encodedList must be a multibase base64url string starting with 'u'")
    body = encoded[1:]
    try:
        compressed = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        bits = gzip.decompress(compressed)
    except (binascii.Error, ValueError, OSError, EOFError) as err:
        raise StatusListError(f"encodedList is not base64url-encoded GZIP data: {err}") from err
    if len(bits) * 8 < min_length:
        # §3.2 STATUS_LIST_LENGTH_ERROR: a short list would shrink the herd.
        raise StatusListError(
            f"the list holds {len(bits) * 8} entries, fewer than the minimum {min_length}"
        )
    return bits


# --- allocation -------------------------------------------------------------------------------


def list_length(entries: int) -> int:
    """The length of a list holding `entries` allocated indexes: at most half full, never short.

    Random allocation over a half-full list needs two draws on average, and growing by doubling
    keeps every index handed out earlier inside the list. Draw an index over
    `list_length(allocated + 1)`: the list as it will be once that index is taken.
    """
    length = MIN_LIST_LENGTH
    while entries * 2 > length:
        length *= 2
    return length


class TakenIndexes:
    """The indexes of a list handed out, as a bitmap: a million take 256 KB, where a set of
    ints takes ~60 MB (a bulk run reads every index taken once and keeps them for the run).
    A set's `in`, `add`, `update`, `len` and iteration (in ascending order)."""

    def __init__(self, indexes: Iterable[int] = ()) -> None:
        self._bits = bytearray()
        self._count = 0
        self.update(indexes)

    def __contains__(self, index: object) -> bool:
        if not isinstance(index, int) or index < 0:
            return False
        byte = index >> 3
        return byte < len(self._bits) and bool(self._bits[byte] >> (index & 7) & 1)

    def add(self, index: int) -> None:
        if index < 0:
            raise ValueError(f"a status index is 0 or more, not {index}")
        byte = index >> 3
        if byte >= len(self._bits):  # grow by doubling, as the lists do
            self._bits.extend(bytes(max(byte + 1, 2 * len(self._bits)) - len(self._bits)))
        bit = 1 << (index & 7)
        if not self._bits[byte] & bit:
            self._bits[byte] |= bit
            self._count += 1

    def update(self, indexes: Iterable[int]) -> None:
        for index in indexes:
            self.add(index)

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[int]:
        for at, byte in enumerate(self._bits):
            if byte:
                yield from (at * 8 + bit for bit in range(8) if byte >> bit & 1)


def allocate_indexes(
    rng: random.Random, length: int, used: Container[int], count: int, max_tries: int = 10_000
) -> list[int]:
    """`count` distinct indexes drawn at random from `range(length)`, none of them in `used`.

    `used` may be any container, e.g. one that asks the database; the indexes returned are not
    added to it. `StatusListFullError` when `max_tries` draws in a row find no free index (a
    bulk page draws thousands at once, about two draws each over a half-full list).
    """
    chosen: list[int] = []
    taken: set[int] = set()
    misses = 0
    while len(chosen) < count:
        index = rng.randrange(length)
        if index not in taken and index not in used:
            taken.add(index)
            chosen.append(index)
            misses = 0
            continue
        misses += 1
        if misses >= max_tries:
            raise StatusListFullError(f"no free index found in {max_tries} tries")
    return chosen


# --- documents --------------------------------------------------------------------------------


def status_entry(list_url: str, purpose: StatusPurpose, index: int) -> dict[str, Any]:
    """A BitstringStatusListEntry (§2.1) pointing at `index` of the list at `list_url`."""
    return {
        "id": f"{list_url}#{index}",
        "type": "BitstringStatusListEntry",
        "statusPurpose": purpose.value,
        "statusListIndex": str(index),
        "statusListCredential": list_url,
    }


def status_list_credential(
    list_url: str,
    issuer: str,
    purpose: StatusPurpose,
    bits: bytes,
    valid_from: datetime,
    valid_until: datetime,
    ttl_ms: int,
) -> dict[str, Any]:
    """An unsigned BitstringStatusListCredential (§2.2) for the list at `list_url`."""
    return {
        "@context": [VC_V2_CONTEXT],
        "id": list_url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": issuer,
        "validFrom": _timestamp(valid_from),
        "validUntil": _timestamp(valid_until),
        "credentialSubject": {
            "id": f"{list_url}#list",
            "type": "BitstringStatusList",
            "statusPurpose": purpose.value,
            "encodedList": encode_list(bits),
            "ttl": ttl_ms,
        },
    }


def _timestamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class StatusEntry:
    """A BitstringStatusListEntry read from a credential, checked for shape (§2.1)."""

    purpose: str
    index: int
    list_url: str
    status_size: int = 1


def read_entries(credential_status: Any) -> list[StatusEntry | str]:
    """Each entry of `credentialStatus`, or for an entry that cannot be read, why not."""
    items = credential_status if isinstance(credential_status, list) else [credential_status]
    return [_read_entry(item) for item in items]


def _read_entry(item: Any) -> StatusEntry | str:
    if not isinstance(item, Mapping):
        return "a credentialStatus entry must be an object"
    kind = item.get("type")
    if kind != "BitstringStatusListEntry":
        return f"status type {kind!r} is not one this verifier can check"
    index, url, size = item.get("statusListIndex"), item.get("statusListCredential"), 1
    if not isinstance(index, str) or not index.isdigit():
        return f"statusListIndex {index!r} is not a non-negative integer in a string"
    if not isinstance(url, str) or not url:
        return "the entry names no statusListCredential"
    if "statusSize" in item:
        size = item["statusSize"]
        if not isinstance(size, int) or isinstance(size, bool) or size < 1:
            return f"statusSize {size!r} is not a positive integer"
    return StatusEntry(str(item.get("statusPurpose")), int(index), url, size)


def read_status(bits: bytes, entry: StatusEntry) -> int:
    """The status value at `entry` (§3.2 step 9–11), `statusSize` bits read left to right."""
    value = 0
    for offset in range(entry.status_size):
        value = (value << 1) | get_bit(bits, entry.index * entry.status_size + offset)
    return value


def purposes_of(subject: Mapping[str, Any]) -> Collection[str]:
    """The status purposes a BitstringStatusList serves (one string or a list, §2.2)."""
    purpose = subject.get("statusPurpose")
    return (
        [purpose] if isinstance(purpose, str) else [p for p in purpose or [] if isinstance(p, str)]
    )


def indexes_to_bits(indexes: Iterable[int], length: int = MIN_LIST_LENGTH) -> bytes:
    """A bitstring of `length` bits with exactly `indexes` set."""
    bits = bytearray(new_bitstring(length))
    for index in indexes:
        bits[index // 8] |= 0x80 >> (index % 8)
    return bytes(bits)
