"""The fast base58btc encoder against the `base58` package."""

from __future__ import annotations

import base58
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rpl.proofs.multibase import b58decode, b58encode, encode_z


@given(st.binary(max_size=100))
def test_b58encode_equals_the_reference_package(data: bytes) -> None:
    assert b58encode(data) == base58.b58encode(data).decode("ascii")
    assert b58decode(b58encode(data)) == data


def test_leading_zero_bytes_and_edges() -> None:
    for data in (b"", b"\0", b"\0\0\1", b"\1", b"\xff" * 64, b"\0" * 3 + b"\xff" * 61, bytes(64)):
        assert b58encode(data) == base58.b58encode(data).decode("ascii"), data
    assert encode_z(b"\0\1").startswith("z1")


@given(st.text(alphabet="123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz", max_size=120))
def test_b58decode_equals_the_reference_package(text: str) -> None:
    assert b58decode(text) == base58.b58decode(text)


@pytest.mark.parametrize("text", ["0", "O", "I", "l", "z+", "abc ", " abc", "ab\ncd", "é", "\0"])
def test_b58decode_refuses_what_is_not_base58(text: str) -> None:
    with pytest.raises(ValueError, match="not base58"):
        b58decode(text)
