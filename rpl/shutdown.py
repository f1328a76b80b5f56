"""A clean exit on SIGTERM, for `rpl serve` (what systemd, docker stop and Kubernetes send).

Why this exists: uvicorn catches SIGTERM, shuts the server down gracefully, then restores the
previous handler and raises the same signal again. With Python's default handler that second SIGTERM
kills the interpreter outright: no `finally`, no `atexit`. The embedded default's Prefect ephemeral
server is a child process stopped only by an `atexit` hook, so it was left running, orphaned.
Turning SIGTERM into SystemExit lets the `finally` blocks close the container and the `atexit`
hooks stop the child.
"""

from __future__ import annotations

import signal
from types import FrameType

EXIT_CODE = 128 + signal.SIGTERM  # what a shell reports for a process ended by SIGTERM


def _exit(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(EXIT_CODE)


def exit_on_sigterm() -> None:
    """From now on SIGTERM unwinds the main thread (SystemExit) instead of killing the process."""
    signal.signal(signal.SIGTERM, _exit)
