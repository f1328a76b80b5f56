"""Fixtures for the interop tests: the Node.js side (tests/interop/node) run as a subprocess.

The npm packages are not installed by `uv sync`; without them the tests skip, unless
`RPL_REQUIRE_INTEROP=1` (set by CI), where a missing Node side is a failure.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

NODE_DIR = Path(__file__).parent / "node"
INSTALL_HINT = "npm ci --prefix tests/interop/node"
# One node process verifies a whole batch in well under a second; this only stops a hang.
NODE_TIMEOUT_SECONDS = 60


@dataclass(frozen=True)
class NodeSide:
    """Runs the scripts in tests/interop/node with one `node` executable."""

    node: str
    directory: Path

    def run(self, script: str, *args: str | Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [self.node, str(self.directory / script), *map(str, args)],
            capture_output=True,
            text=True,
            timeout=NODE_TIMEOUT_SECONDS,
            check=False,
        )

    def run_json_lines(
        self, script: str, args: Sequence[str | Path], allowed_exit_codes: Sequence[int] = (0,)
    ) -> list[dict[str, Any]]:
        """Runs a script that prints one JSON object per line and returns those objects."""
        process = self.run(script, *args)
        if process.returncode not in allowed_exit_codes:
            raise AssertionError(
                f"{script} exited {process.returncode}\n"
                f"stdout:\n{process.stdout}\nstderr:\n{process.stderr}"
            )
        return [json.loads(line) for line in process.stdout.split("\n") if line.strip()]


def _missing_node_side() -> str | None:
    if shutil.which("node") is None:
        return "`node` is not on PATH (Node.js >= 20 is needed)"
    if not (NODE_DIR / "node_modules" / "@digitalbazaar" / "vc").is_dir():
        return f"{NODE_DIR / 'node_modules'} is missing; install it with `{INSTALL_HINT}`"
    return None


@pytest.fixture(scope="session")
def node_side() -> NodeSide:
    missing = _missing_node_side()
    if missing is not None:
        if os.environ.get("RPL_REQUIRE_INTEROP") == "1":
            pytest.fail(f"RPL_REQUIRE_INTEROP=1 but {missing}", pytrace=False)
        pytest.skip(f"interop tests need the Node.js side: {missing}")
    node = shutil.which("node")
    assert node is not None
    return NodeSide(node=node, directory=NODE_DIR)
