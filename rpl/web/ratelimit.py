"""In-process sliding-window rate limits: per client address and per target (an email, a link).

Each bucket (`sign-in`, `links`, `verify`) allows N tries per key in any window of SECONDS (settings
`RPL_RATE_*`). State is per process: with several app processes each counts on its own, which still
bounds what one client gets (a shared store can take its place behind `RateLimiter.hit`).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request

from rpl.config import Settings, parse_rate
from rpl.errors import RplError

_MAX_KEYS = 100_000  # past this, windows that have ended are swept out


class RateLimitedError(RplError):
    """Too many tries in too short a time; `retry_after` says how many seconds to wait."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RateLimiter:
    def __init__(
        self, limits: dict[str, tuple[int, int]], clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limits = limits
        self.clock = clock
        self._hits: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, bucket: str, key: str) -> int | None:
        """Count one try; None if allowed, else the seconds until the oldest try leaves the window."""
        limit, window = self.limits[bucket]
        now = self.clock()
        with self._lock:
            if len(self._hits) > _MAX_KEYS:
                self._sweep(now)
            seen = self._hits.setdefault((bucket, key), deque())
            while seen and seen[0] <= now - window:
                seen.popleft()
            if len(seen) >= limit:
                return max(1, int(seen[0] + window - now + 0.999))
            seen.append(now)
            return None

    def _sweep(self, now: float) -> None:
        for name, seen in list(self._hits.items()):
            if not seen or seen[-1] <= now - self.limits[name[0]][1]:
                del self._hits[name]


def limiter_for(settings: Settings) -> RateLimiter:
    return RateLimiter(
        {
            "sign-in": parse_rate("RPL_RATE_SIGN_IN", settings.rate_sign_in),
            "links": parse_rate("RPL_RATE_LINKS", settings.rate_links),
            "verify": parse_rate("RPL_RATE_VERIFY", settings.rate_verify),
            "oauth": parse_rate("RPL_RATE_OAUTH", settings.rate_oauth),
        }
    )


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def check(request: Request, bucket: str, *targets: str) -> None:
    """Count a try against the client's address and each target; raise once any is over."""
    limiter: RateLimiter = request.app.state.limiter
    waits = [limiter.hit(bucket, f"client:{client_address(request)}")]
    waits += [limiter.hit(bucket, f"target:{t}") for t in targets if t]
    wait = max((w for w in waits if w is not None), default=None)
    if wait is not None:
        raise RateLimitedError(
            f"Too many attempts. Please wait {wait} seconds and try again.", wait
        )


def _by_token(bucket: str) -> Callable[[Request], None]:
    def dependency(request: Request) -> None:
        check(request, bucket, str(request.path_params.get("token", "")))

    return dependency


def _verify(request: Request) -> None:
    check(request, "verify")


# Link redemption (attestation and sign-in links): per client and per link.
LinkRateDep = Annotated[None, Depends(_by_token("links"))]
# Verification (page and API): per client.
VerifyRateDep = Annotated[None, Depends(_verify)]
