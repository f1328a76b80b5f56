"""Where a verifier gets status list credentials: our own lists locally, others' over HTTPS.

Split like `rpl.dids`: `StatusListSource` asks an injected `local` callable first and the network
adapter only for lists it does not hold, so verification stays testable offline.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from rpl.errors import RplError
from rpl.status import FetchedStatusList, StatusListUnavailableError

# A status list credential is a few kilobytes compressed; this only stops a hostile server.
MAX_LIST_BYTES = 4 * 1024 * 1024
_LOOPBACK = {"localhost", "127.0.0.1", "::1"}


def _no_local(url: str) -> FetchedStatusList | None:
    return None


@dataclass
class StatusListSource:
    """A `StatusListFetcher`: `local` answers for our lists, `fetch_remote` for everyone else's."""

    local: Callable[[str], FetchedStatusList | None] = _no_local
    fetch_remote: Callable[[str], FetchedStatusList] | None = None

    def __call__(self, url: str) -> FetchedStatusList:
        found = self.local(url)
        if found is not None:
            return found
        if self.fetch_remote is None:
            raise StatusListUnavailableError(f"{url} is not held here and fetching is off")
        return self.fetch_remote(url)


def fetch_status_list_over_https(timeout: float = 10.0) -> Callable[[str], FetchedStatusList]:
    """The network adapter: GET the list (HTTPS, or HTTP to this machine), no redirects, JSON only."""
    import httpx

    from rpl.jsonio import loads_strict

    def fetch(url: str) -> FetchedStatusList:
        parts = urlsplit(url)
        if parts.scheme != "https" and not (parts.scheme == "http" and parts.hostname in _LOOPBACK):
            raise StatusListUnavailableError(f"{url!r} is not an https URL")
        try:
            with httpx.stream("GET", url, timeout=timeout, follow_redirects=False) as response:
                response.raise_for_status()
                body = b""
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) > MAX_LIST_BYTES:
                        raise StatusListUnavailableError(f"{url} sent more than {MAX_LIST_BYTES}")
            document = loads_strict(body)
        except (httpx.HTTPError, RplError) as err:
            raise StatusListUnavailableError(f"could not fetch {url}: {err}") from err
        if not isinstance(document, dict):
            raise StatusListUnavailableError(f"{url} did not return a credential object")
        return FetchedStatusList(document)

    return fetch
