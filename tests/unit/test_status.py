"""Bitstring Status List v1.0, the pure core: bits, encoding, allocation, entries and documents."""

from __future__ import annotations

import base64
import gzip
import random
import sys
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rpl.status import (
    MIN_LIST_LENGTH,
    StatusEntry,
    StatusListError,
    StatusListFullError,
    StatusPurpose,
    TakenIndexes,
    allocate_indexes,
    decode_list,
    encode_list,
    get_bit,
    indexes_to_bits,
    list_length,
    new_bitstring,
    read_entries,
    read_status,
    set_bit,
    set_indexes,
    status_entry,
    status_list_credential,
)

NOW = datetime(2025, 6, 2, 12, 0, tzinfo=UTC)
LIST_URL = "https://rpl.example/orgs/harbour/status/revocation"
INDEXES = st.sets(st.integers(0, MIN_LIST_LENGTH - 1), max_size=200)


def spec_decode(encoded: str) -> bytes:
    """The spec's expansion algorithm written out longhand, independent of `decode_list`."""
    assert encoded[0] == "u"
    text = encoded[1:]
    return gzip.decompress(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))


def test_a_new_list_has_at_least_131072_entries_all_zero() -> None:
    bits = new_bitstring(10)
    assert len(bits) * 8 == MIN_LIST_LENGTH == 131_072
    assert set_indexes(bits) == []


def test_index_zero_is_the_left_most_bit() -> None:
    bits = set_bit(new_bitstring(), 0, True)
    assert bits[0] == 0b1000_0000
    assert set_bit(new_bitstring(), 7, True)[0] == 0b0000_0001
    assert set_bit(new_bitstring(), 8, True)[1] == 0b1000_0000


def test_the_encoded_list_is_u_prefixed_base64url_gzip_without_padding() -> None:
    encoded = encode_list(set_bit(new_bitstring(), 94567, True))
    assert encoded.startswith("u")
    assert "=" not in encoded and "+" not in encoded and "/" not in encoded
    bits = spec_decode(encoded)
    assert len(bits) == 16_384
    assert bits[94567 // 8] == 0x80 >> (94567 % 8)


def test_the_w3c_example_list_decodes_to_131072_zero_bits() -> None:
    # encodedList of the BitstringStatusListCredential example in the specification (§2.2)
    example = "uH4sIAAAAAAAAA-3BMQEAAADCoPVPbQwfoAAAAAAAAAAAAAAAAAAAAIC3AYbSVKsAQAAA"
    bits = decode_list(example)
    assert len(bits) * 8 == MIN_LIST_LENGTH and set_indexes(bits) == []


@pytest.mark.parametrize(
    ("encoded", "problem"),
    [
        ("H4sIAAAAAAAAA-3BMQEAAADCoPVPbQwfoAAAAAAAAAAAAAAAAAAAAIC3AYbSVKsAQAAA", "start"),
        ("u!!!not-base64", "base64url"),
        ("u" + base64.urlsafe_b64encode(b"not gzip").decode(), "GZIP"),
        (encode_list(bytes(1024)), "fewer than the minimum"),
    ],
)
def test_a_malformed_or_short_list_is_refused(encoded: str, problem: str) -> None:
    with pytest.raises(StatusListError, match=problem):
        decode_list(encoded)


def test_encoding_is_deterministic() -> None:
    bits = indexes_to_bits({1, 2, 3})
    assert encode_list(bits) == encode_list(bytes(bits))


@settings(max_examples=60, deadline=None)
@given(INDEXES)
def test_any_set_of_indexes_survives_encoding(indexes: set[int]) -> None:
    bits = new_bitstring()
    for index in indexes:
        bits = set_bit(bits, index, True)
    decoded = decode_list(encode_list(bits))
    assert set_indexes(decoded) == sorted(indexes)
    assert spec_decode(encode_list(bits)) == decoded
    assert all(get_bit(decoded, i) for i in indexes)


@settings(max_examples=60, deadline=None)
@given(INDEXES, st.integers(0, MIN_LIST_LENGTH - 1))
def test_clearing_a_bit_changes_only_that_bit(indexes: set[int], extra: int) -> None:
    bits = indexes_to_bits(indexes | {extra})
    cleared = set_bit(bits, extra, False)
    assert set(set_indexes(cleared)) == indexes - {extra}


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1), INDEXES, st.integers(1, 50))
def test_allocation_never_hands_out_a_used_or_repeated_index(
    seed: int, used: set[int], count: int
) -> None:
    chosen = allocate_indexes(random.Random(seed), MIN_LIST_LENGTH, used, count)
    assert len(chosen) == len(set(chosen)) == count
    assert not set(chosen) & used
    assert all(0 <= i < MIN_LIST_LENGTH for i in chosen)


def test_allocation_is_random_not_sequential() -> None:
    chosen = allocate_indexes(random.Random(7), MIN_LIST_LENGTH, set(), 100)
    assert chosen != sorted(chosen)
    assert max(chosen) > MIN_LIST_LENGTH // 2


def test_a_full_list_is_reported_not_looped_over() -> None:
    with pytest.raises(StatusListFullError):
        allocate_indexes(random.Random(1), 4, {0, 1, 2, 3}, 1, max_tries=100)


def test_a_page_of_thousands_is_drawn_from_a_list_filling_to_half() -> None:
    """A bulk page draws its indexes at once, about two draws each as the list fills: the
    limit is on draws in a row that find nothing free, not on the page's draws in all."""
    length = list_length(20_000)
    used = set(range(0, length // 2, 4))  # a quarter of the first half taken
    count = length // 2 - len(used)  # the page fills the list to half
    chosen = allocate_indexes(random.Random(3), length, used, count)
    assert len(set(chosen)) == count and not set(chosen) & used
    with pytest.raises(StatusListFullError):  # one index free in 1,000: not met in 100 draws
        allocate_indexes(random.Random(1), 1_000, set(range(999)), 1, max_tries=100)


@pytest.mark.parametrize(
    ("entries", "length"),
    [(0, MIN_LIST_LENGTH), (65_536, MIN_LIST_LENGTH), (65_537, 2 * MIN_LIST_LENGTH)],
)
def test_a_list_grows_by_doubling_to_stay_at_most_half_full(entries: int, length: int) -> None:
    assert list_length(entries) == length


def test_a_status_entry_names_its_list_and_index() -> None:
    entry = status_entry(LIST_URL, StatusPurpose.REVOCATION, 94567)
    assert entry == {
        "id": f"{LIST_URL}#94567",
        "type": "BitstringStatusListEntry",
        "statusPurpose": "revocation",
        "statusListIndex": "94567",
        "statusListCredential": LIST_URL,
    }
    assert read_entries([entry]) == [StatusEntry("revocation", 94567, LIST_URL)]


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ({"type": "StatusList2021Entry"}, "not one this verifier can check"),
        ({"type": "BitstringStatusListEntry", "statusListIndex": 5}, "statusListIndex"),
        ({"type": "BitstringStatusListEntry", "statusListIndex": "-1"}, "statusListIndex"),
        ({"type": "BitstringStatusListEntry", "statusListIndex": "5"}, "statusListCredential"),
        ("revoked", "must be an object"),
    ],
)
def test_an_unreadable_entry_says_why(entry: object, problem: str) -> None:
    [found] = read_entries(entry)
    assert isinstance(found, str) and problem in found


def test_a_wider_status_is_read_left_to_right() -> None:
    bits = indexes_to_bits({2 * 10 + 1})
    assert read_status(bits, StatusEntry("message", 10, LIST_URL, status_size=2)) == 1


def test_the_status_list_credential_follows_the_specification() -> None:
    bits = indexes_to_bits({3})
    document = status_list_credential(
        LIST_URL,
        "did:web:rpl.example:orgs:harbour",
        StatusPurpose.SUSPENSION,
        bits,
        NOW,
        NOW + timedelta(days=1),
        300_000,
    )
    assert document["type"] == ["VerifiableCredential", "BitstringStatusListCredential"]
    assert document["id"] == LIST_URL
    assert document["validUntil"] == "2025-06-03T12:00:00Z"
    subject = document["credentialSubject"]
    assert subject["type"] == "BitstringStatusList" and subject["statusPurpose"] == "suspension"
    assert subject["ttl"] == 300_000
    assert set_indexes(decode_list(subject["encodedList"])) == [3]


@given(
    st.lists(st.integers(0, 5_000), max_size=300),
    st.lists(st.integers(-3, 5_100), max_size=50),
)
def test_taken_indexes_behave_as_a_set_of_them(added: list[int], asked: list[int]) -> None:
    taken, reference = TakenIndexes(added[: len(added) // 2]), set(added[: len(added) // 2])
    for index in added[len(added) // 2 :]:
        taken.add(index)
        reference.add(index)
    taken.update(added[:5])
    reference.update(added[:5])
    assert len(taken) == len(reference)
    assert list(taken) == sorted(reference)
    assert [i in taken for i in asked] == [i in reference for i in asked]
    assert "7" not in taken and None not in taken


def test_taken_indexes_refuse_a_negative_index_and_hold_a_million_in_kilobytes() -> None:
    with pytest.raises(ValueError, match="0 or more"):
        TakenIndexes([-1])
    rng = random.Random(5)
    drawn = rng.sample(range(2**21), 1_000_000)
    taken = TakenIndexes(drawn)
    assert len(taken) == 1_000_000 and sys.getsizeof(taken._bits) < 600_000
    assert all(i in taken for i in drawn[:1000])
    chosen = allocate_indexes(rng, 2**21, taken, 1000)
    assert not any(i in taken for i in chosen)
