"""The JSON Canonicalization Scheme (RFC 8785), the canonical form of eddsa-jcs-2022."""

from __future__ import annotations

from typing import Any

import rfc8785

from rpl.proofs.dataintegrity import CanonicalizationError


def canonicalize(obj: Any) -> bytes:
    """The RFC 8785 canonical UTF-8 bytes of a JSON value.

    Raises `CanonicalizationError` for what JCS cannot represent: NaN and infinities, integers
    beyond ±(2**53 - 1) (JSON numbers are IEEE doubles), non-string keys, lone surrogates and
    non-JSON types.
    """
    try:
        return rfc8785.dumps(obj)
    except rfc8785.CanonicalizationError as err:
        raise CanonicalizationError(f"cannot canonicalize as JCS: {err}") from err
    except RecursionError as err:
        raise CanonicalizationError("cannot canonicalize as JCS: nested too deeply") from err
