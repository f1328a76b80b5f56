"""`rpl demo credit` as people run it: the whole credit journey through the real flows, written out."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rpl import clr

pytestmark = pytest.mark.backend_agnostic


def test_demo_credit_writes_a_clr_transcript_and_the_institutions_did(tmp_path: Path) -> None:
    out = tmp_path / "out"
    env = {k: v for k, v in os.environ.items() if not k.startswith("RPL_")}
    env["PREFECT_HOME"] = str(tmp_path / "prefect")
    env["RPL_HOME"] = str(tmp_path / "verifier-home")
    done = subprocess.run(
        [sys.executable, "-m", "rpl.cli", "demo", "credit", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "transcript VERIFIED" in done.stdout
    assert "FAIL mentoring-in-practice.json" in done.stdout  # the altered badge stays, unverified
    transcript = json.loads((out / "transcript.json").read_text())
    did = json.loads((out / "did.json").read_text())
    assert transcript["issuer"]["id"] == did["id"]
    assert clr.validate_clr(transcript) == []
    assert transcript["credentialStatus"]["type"] == "BitstringStatusListEntry"
    check = subprocess.run(
        [
            sys.executable,
            "-m",
            "rpl.cli",
            "verify",
            "--offline",
            "--did",
            str(out / "did.json"),
            "--status-list",
            str(out / "status-revocation.json"),
            str(out / "transcript.json"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert check.returncode == 0, check.stdout + check.stderr
