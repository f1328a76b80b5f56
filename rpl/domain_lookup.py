"""The lookups domain proof needs: a DNS TXT query (dnspython) and an HTTPS GET (httpx).

Both are injectable: tests point the resolver at a DNS server on loopback and the HTTP lookup at
a local web server, and exercise the real code paths, not stand-ins.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import dns.exception
import dns.resolver
import httpx

from rpl.domain_proof import MAX_FILE_BYTES, WELL_KNOWN_PATH, DomainLookupError


@dataclass
class DnsTxtLookup:
    """TXT records of a name; an absent name or record is an empty list, not an error."""

    resolver: dns.resolver.Resolver = field(default_factory=dns.resolver.Resolver)
    timeout: float = 5.0

    def __call__(self, name: str) -> list[str]:
        try:
            answer = self.resolver.resolve(name, "TXT", lifetime=self.timeout)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return []
        except dns.exception.DNSException as err:
            raise DomainLookupError(f"DNS lookup of {name} failed: {err}") from err
        return [b"".join(rdata.strings).decode("utf-8", "replace") for rdata in answer]


def https_base(domain: str) -> str:
    return f"https://{domain}"


@dataclass
class HttpFileLookup:
    """The verification file of a domain. Redirects are not followed: the file must be served by
    the domain itself, not by wherever it points."""

    base_url: Callable[[str], str] = https_base
    transport: httpx.BaseTransport | None = None
    timeout: float = 10.0

    def __call__(self, domain: str) -> str | None:
        url = self.base_url(domain) + WELL_KNOWN_PATH
        try:
            with (
                httpx.Client(transport=self.transport, timeout=self.timeout) as client,
                client.stream("GET", url, follow_redirects=False) as response,
            ):
                if response.status_code != 200:
                    return None
                body = b""
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) > MAX_FILE_BYTES:
                        raise DomainLookupError(f"{url} is larger than {MAX_FILE_BYTES} bytes")
        except httpx.HTTPError as err:
            raise DomainLookupError(f"fetching {url} failed: {err}") from err
        return body.decode("utf-8", "replace")


@dataclass
class DomainLookups:
    dns_txt: Callable[[str], list[str]] = field(default_factory=DnsTxtLookup)
    http_file: Callable[[str], str | None] = field(default_factory=HttpFileLookup)
