"""The network adapter of `rpl.obclient.ProviderHttp`: HTTP to other Open Badges 3.0 providers
over httpx. Redirects are never followed (a bearer token or client secret must reach only the
URL it was meant for), answers are read up to a size cap, and a request that gets no answer at
all raises `ProviderUnreachableError`.

The composition root builds it over the network; a test hands in any `httpx.Client` (one whose
transport leads into another app, say) and exercises this same code.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import httpx

from rpl.obclient import MAX_BODY, HttpAnswer, ProviderUnreachableError


@dataclass
class HttpxProviderHttp:
    """`client`: a client to send through (a test's); None: a fresh one per request."""

    client: httpx.Client | None = None
    timeout: float = 15.0
    max_body: int = MAX_BODY

    @classmethod
    def over_network(cls) -> HttpxProviderHttp:
        return cls()

    def get(self, url: str, headers: Mapping[str, str]) -> HttpAnswer:
        return self._send("GET", url, headers, None)

    def post(self, url: str, headers: Mapping[str, str], body: bytes) -> HttpAnswer:
        return self._send("POST", url, headers, body)

    def _send(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes | None
    ) -> HttpAnswer:
        try:
            if self.client is not None:
                return self._exchange(self.client, method, url, headers, body)
            with httpx.Client(timeout=self.timeout, follow_redirects=False) as client:
                return self._exchange(client, method, url, headers, body)
        except httpx.HTTPError as err:
            raise ProviderUnreachableError(f"could not reach {url}: {err}") from err

    def _exchange(
        self,
        client: httpx.Client,
        method: str,
        url: str,
        headers: Mapping[str, str],
        body: bytes | None,
    ) -> HttpAnswer:
        sent = {"Accept": "application/json", "User-Agent": "rpl", **dict(headers)}
        with client.stream(
            method, url, headers=sent, content=body, follow_redirects=False
        ) as response:
            data = b""
            for chunk in response.iter_bytes():
                data += chunk
                if len(data) > self.max_body:
                    raise ProviderUnreachableError(
                        f"{url} answered with more than {self.max_body} bytes; stopped reading"
                    )
            answer_headers = {k.lower(): v for k, v in response.headers.items()}
        return HttpAnswer(response.status_code, answer_headers, data)


@dataclass
class OfflineProviderHttp:
    """What an instance started without network access uses: every request fails, saying why."""

    def get(self, url: str, headers: Mapping[str, str]) -> HttpAnswer:
        raise ProviderUnreachableError(f"could not reach {url}: this instance runs offline")

    def post(self, url: str, headers: Mapping[str, str], body: bytes) -> HttpAnswer:
        raise ProviderUnreachableError(f"could not reach {url}: this instance runs offline")
