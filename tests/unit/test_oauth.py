"""The pure rules of the OB 3.0 API's OAuth server and its documents."""

from __future__ import annotations

import pytest

from rpl import oauth, obapi
from rpl.oauth import OAuthError


def test_s256_matches_rfc_7636_appendix_b() -> None:
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert oauth.s256(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    assert oauth.pkce_matches(verifier, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")
    assert not oauth.pkce_matches("short", oauth.s256("short"))


@pytest.mark.parametrize(
    "uri",
    ["http://platform.example/cb", "ftp://x.example/", "https:///nohost", "https://a.example/#f"],
)
def test_redirect_uris_must_be_https_or_loopback(uri: str) -> None:
    with pytest.raises(OAuthError) as refused:
        oauth.check_redirect_uri(uri)
    assert refused.value.code == "invalid_redirect_uri"


@pytest.mark.parametrize(
    "uri", ["https://a.example/cb?x=1", "http://127.0.0.1:9/cb", "http://[::1]/"]
)
def test_https_and_loopback_redirects_are_accepted(uri: str) -> None:
    assert oauth.check_redirect_uri(uri) == uri


def test_unknown_scopes_are_named() -> None:
    with pytest.raises(OAuthError, match="everything"):
        oauth.parse_scope(f"{oauth.CREDENTIAL_READONLY} everything")


def test_basic_credentials_are_form_decoded() -> None:
    import base64

    header = "Basic " + base64.b64encode(b"my%20id:s%3Acret").decode()
    assert oauth.client_credentials(header, {}) == ("my id", "s:cret", "client_secret_basic")
    with pytest.raises(OAuthError):
        oauth.client_credentials(header, {"client_secret": "x"})
    with pytest.raises(oauth.InvalidClientError):
        oauth.client_credentials("", {})


def test_the_link_header_names_next_last_first_and_prev() -> None:
    page = obapi.PageRequest(limit=2, offset=2, since=None)
    header = obapi.link_header("https://rpl.example/c", page, 5, None)
    assert '<https://rpl.example/c?limit=2&offset=4>; rel="next"' in header
    assert '<https://rpl.example/c?limit=2&offset=4>; rel="last"' in header
    assert '<https://rpl.example/c?limit=2&offset=0>; rel="first"' in header
    assert '<https://rpl.example/c?limit=2&offset=0>; rel="prev"' in header
    empty = obapi.link_header("https://rpl.example/c", obapi.PageRequest(2, 0, None), 0, None)
    assert "next" not in empty and "prev" not in empty


def test_limit_is_capped_and_checked() -> None:
    assert obapi.page_request("1000", None, None).limit == obapi.MAX_LIMIT
    with pytest.raises(obapi.ObApiError):
        obapi.page_request("0", None, None)
