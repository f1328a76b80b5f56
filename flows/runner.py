"""The Prefect runner: the front door's way to start flows in the embedded default.

Flow runs go to one background thread with its own event loop, so a web request returns as soon as
the work is handed over. The database records every outcome; a run that dies leaves its claim in a
middle state that the next run (or the sweep) picks up, never a half-issued credential.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from collections.abc import Coroutine, Sequence
from typing import Any

from flows import runtime

log = logging.getLogger("rpl.flows")


class PrefectRunner:
    def __init__(self, container: Any) -> None:
        self.container = container
        runtime.use(container)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._pending: set[concurrent.futures.Future[Any]] = set()
        self._lock = threading.Lock()

    def _ensure_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                self._loop = asyncio.new_event_loop()
                self._thread = threading.Thread(
                    target=self._loop.run_forever, name="rpl-flows", daemon=True
                )
                self._thread.start()
            return self._loop

    def _submit(self, name: str, coro: Coroutine[Any, Any, Any]) -> concurrent.futures.Future[Any]:
        future = asyncio.run_coroutine_threadsafe(coro, self._ensure_loop())
        with self._lock:
            self._pending.add(future)
        future.add_done_callback(lambda f: self._done(name, f))
        return future

    def _done(self, name: str, future: concurrent.futures.Future[Any]) -> None:
        with self._lock:
            self._pending.discard(future)
        if not future.cancelled() and future.exception() is not None:
            log.error("flow %s failed: %s", name, future.exception())

    def warm_up(self) -> concurrent.futures.Future[Any]:
        """Start Prefect (the ephemeral server, in the embedded default) in the background now,
        so the first person to file a claim, or a roster import about to hand its rest to a
        flow, does not wait the several seconds it takes. The future is done once it answers."""
        return self._submit("warm_up", _healthcheck())

    def request_attestation(self, claim_id: str) -> None:
        from flows.attestation import request_attestation

        self._submit("request_attestation", request_attestation(claim_id))

    def issue_credentials(self, claim_ids: Sequence[str]) -> None:
        from flows.attestation import issue_credentials

        self._submit("issue_credentials", issue_credentials(list(claim_ids)))

    def issue_roster(self, org_id: str) -> concurrent.futures.Future[Any]:
        """Start the `issue_roster` flow; its future holds the flow's totals (for benchmarks)."""
        from flows.roster import issue_roster

        return self._submit("issue_roster", issue_roster(org_id))

    def import_roster(self, import_id: str) -> concurrent.futures.Future[Any]:
        """Start the `import_roster` flow for a stored upload (import, then issue if direct)."""
        from flows.roster import import_roster

        return self._submit("import_roster", import_roster(import_id))

    def sweep(self) -> None:
        from flows.sweep import sweep

        # One sweep at a time: a schedule shorter than a sweep must not pile runs up.
        running = getattr(self, "_sweeping", None)
        if running is None or running.done():
            self._sweeping = self._submit("sweep", sweep())

    def evaluate_credit(self, request_id: str) -> None:
        from flows.credit import evaluate_credit

        self._submit("evaluate_credit", evaluate_credit(request_id))

    def issue_credit(self, request_id: str) -> None:
        from flows.credit import issue_credit

        self._submit("issue_credit", issue_credit(request_id))

    def wait(self, timeout: float | None = None) -> None:
        """Block until every flow run handed over so far has finished (tests, `rpl demo`)."""
        while True:
            with self._lock:
                pending = list(self._pending)
            if not pending:
                return
            concurrent.futures.wait(pending, timeout=timeout)
            if timeout is not None and any(not f.done() for f in pending):
                raise TimeoutError(f"{len(pending)} flow run(s) still running after {timeout}s")

    def close(self) -> None:
        try:
            self.wait(timeout=60)
        finally:
            if self._loop is not None:
                self._loop.call_soon_threadsafe(self._loop.stop)
                if self._thread:
                    self._thread.join(timeout=10)


async def _healthcheck() -> None:
    from prefect.client.orchestration import get_client

    async with get_client() as client:
        problem = await client.api_healthcheck()
    if problem is not None:
        raise RuntimeError(f"Prefect API is not healthy: {problem}")
