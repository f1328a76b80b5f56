"""Finding processes by session, free ports and patient waiting, for tests that start real servers."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass(frozen=True)
class Proc:
    pid: int
    sid: int
    cmdline: str


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def processes() -> list[Proc]:
    """Every live process (zombies, already dead and waiting to be reaped, left out)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue  # it ended while we looked
        # The command name in parentheses may hold spaces: the fields after it are fixed.
        fields = stat[stat.rindex(")") + 2 :].split()
        if fields[0] != "Z":
            found.append(Proc(int(entry.name), int(fields[3]), cmdline.strip()))
    return found


def session_processes(sid: int) -> list[Proc]:
    """The live processes of session `sid`: what a process started with start_new_session=True
    and its descendants are, even orphaned ones (unless one made a session of its own)."""
    return [p for p in processes() if p.sid == sid]


def wait_until(
    ready: Callable[[], bool],
    timeout: float,
    what: str,
    process: subprocess.Popen[bytes] | None = None,
) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if process is not None and process.poll() is not None:
            raise AssertionError(f"gave up waiting for {what}: exited with {process.returncode}")
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what} after {timeout}s")
        time.sleep(0.5)


def kill_session(sid: int) -> list[Proc]:
    """SIGKILL whatever is left of session `sid` (a failed test's clean-up); what was left."""
    left = session_processes(sid)
    for proc in left:
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while session_processes(sid) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


# `make test-postgres` runs the suite again with RPL_DATABASE_URL on PostgreSQL. Tests that start
# their own processes on settings of their own would only repeat themselves there.
def _in_postgres_pass() -> bool:
    return os.environ.get("RPL_DATABASE_URL", "").startswith("postgresql")


once_per_ci = pytest.mark.skipif(
    _in_postgres_pass(),
    reason="sets up its own databases and processes whatever RPL_DATABASE_URL says: "
    "run once, in the embedded-default pass",
)
