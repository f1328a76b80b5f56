"""`rpl serve` stopped with SIGTERM (docker stop, systemd, Kubernetes) leaves no process behind.

It used to leave Prefect's ephemeral server running: see rpl/shutdown.py for why.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.infra.processes import (
    free_port,
    kill_session,
    once_per_ci,
    session_processes,
    wait_until,
)

EPHEMERAL_SERVER = "prefect.server.api.server:create_app"


@pytest.mark.slow
@once_per_ci
def test_sigterm_stops_serve_and_every_process_it_started(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RPL_", "PREFECT_"))}
    # The embedded default on its own home: SQLite, and an ephemeral Prefect server of its own.
    env |= {
        "RPL_HOME": str(tmp_path / "home"),
        "PREFECT_HOME": str(tmp_path / "prefect"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    }
    log = (tmp_path / "serve.log").open("wb")
    serve = subprocess.Popen(
        [sys.executable, "-m", "rpl.cli", "serve", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its session id finds every descendant, orphaned or not
    )
    try:
        wait_until(lambda: _answers(port), 180, "rpl serve to answer", serve)
        wait_until(
            lambda: any(EPHEMERAL_SERVER in p.cmdline for p in session_processes(serve.pid)),
            180,
            "the ephemeral Prefect server to start",
            serve,
        )
        serve.send_signal(signal.SIGTERM)
        code = serve.wait(timeout=120)
        # Stopping the ephemeral server is done before serve exits; nothing may outlive it.
        assert session_processes(serve.pid) == [], (tmp_path / "serve.log").read_text()
        assert code == 128 + signal.SIGTERM  # a clean exit, not death by the signal
    finally:
        kill_session(serve.pid)
        if serve.poll() is None:
            serve.kill()
        serve.wait()
        log.close()


def _answers(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False
