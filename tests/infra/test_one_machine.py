"""The distributed set-up, started on this machine by infra/one-machine.sh, does the whole job.

A Prefect server and the app on PostgreSQL (databases made for this test and dropped after), a Dask
scheduler and workers, Prefect workers in a process work pool and `rpl serve` with
RPL_RUNNER=deployments. Claims go in through the API (and a roster, where the roster API exists),
the workers issue them, and every credential is there exactly once and verifies with `rpl verify`.
Then the script stops everything, and nothing it started, directly or not, is left running.
"""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.infra.processes import free_port, once_per_ci, processes, wait_until
from tests.postgres_check import reachable

pytestmark = [pytest.mark.slow, once_per_ci]

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "infra" / "one-machine.sh"
SERVER = "postgres@127.0.0.1:5432"
ADMIN = {"Authorization": "Bearer ci-admin-token"}
ORG = {
    "name": "Riverside Food Bank",
    "domain": "riverside.example",
    "url": "https://riverside.example",
    "slug": "riverside",
    "attesters": [{"email": "sam@volunteers.example", "title": "Volunteer Coordinator"}],
    # The operator vouches for the domain (no DNS here); unproven, nothing would be issued.
    "domain_verified": True,
}
CLAIMS = 2
ROSTER_ROWS = 6
# Issuance signs in batches of this many: several batches per roster, spread over Dask.
BATCH = 2


def claim(n: int) -> dict[str, Any]:
    return {
        "kind": "contribution",
        "organisation": "riverside",
        "claimant_name": f"Volunteer {n}",
        "claimant_email": f"v{n}@example.net",
        "role": "Warehouse volunteer",
        "start": "2012-05",
        "end": "2019-09",
        "hours": 100 + n,
        "attester_email": "sam@volunteers.example",
        "skills": [{"name": "stock control"}],
        "evidence": [
            {
                "name": "Letter",
                "filename": "letter.txt",
                "content_base64": base64.b64encode(b"Thank you\n").decode(),
            }
        ],
    }


def _sql(url: str, statement: str) -> list[tuple[Any, ...]]:
    import psycopg

    with psycopg.connect(url, autocommit=True) as connection:
        cursor = connection.execute(statement)  # type: ignore[arg-type]
        return cursor.fetchall() if cursor.description else []


@pytest.fixture
def databases() -> Iterator[tuple[str, str]]:
    """An app database and a Prefect database of this test's own, dropped afterwards."""
    problem = reachable(f"postgresql+psycopg://{SERVER}/postgres")
    if problem:
        if os.environ.get("RPL_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"RPL_REQUIRE_POSTGRES=1 but PostgreSQL at {SERVER} is not: {problem}")
        pytest.skip(f"the distributed set-up needs PostgreSQL at {SERVER}: {problem}")
    suffix = secrets.token_hex(4)
    names = (f"rpl_ci_app_{suffix}", f"rpl_ci_prefect_{suffix}")
    admin = f"postgresql://{SERVER}/postgres"
    for name in names:
        _sql(admin, f'create database "{name}"')
    yield names
    for name in names:
        _sql(admin, f'drop database if exists "{name}" with (force)')


def marked(run_dir: Path) -> list[int]:
    """Live processes carrying the script's mark for this run: all it started, and their children."""
    mark = f"RPL_ONE_MACHINE_RUN={run_dir}".encode()
    found = []
    for proc in processes():
        try:
            environ = Path(f"/proc/{proc.pid}/environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if mark in environ:
            found.append(proc.pid)
    return found


def test_the_distributed_set_up_issues_every_credential_once(
    tmp_path: Path, databases: tuple[str, str]
) -> None:
    app_db, prefect_db = databases
    run_dir = tmp_path / "run"
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RPL_", "PREFECT_"))}
    env |= {
        "RPL_RUN_DIR": str(run_dir),
        "RPL_BIN": str(Path(sys.executable).parent),
        "RPL_DATABASE_URL": f"postgresql+psycopg://{SERVER}/{app_db}",
        "PREFECT_API_DATABASE_CONNECTION_URL": f"postgresql+asyncpg://{SERVER}/{prefect_db}",
        "RPL_PORT": str(port),
        "PREFECT_PORT": str(free_port()),
        "DASK_PORT": str(free_port()),
        "RPL_ADMIN_TOKEN": ADMIN["Authorization"].split()[1],
        "RPL_ISSUE_BATCH_SIZE": str(BATCH),
        "RPL_FLOW_WORKERS": "1",
        "RPL_DASK_WORKERS": "2",
        "RPL_SWEEP_MINUTES": "0",
        "PREFECT_UI_ENABLED": "false",
        "PREFECT_WORKER_QUERY_SECONDS": "1",
        # If this test's process is killed outright, the set-up's watchdog stops everything.
        "RPL_STOP_WHEN_GONE": str(os.getpid()),
    }
    started_at = time.monotonic()
    try:
        start = subprocess.run(
            [str(SCRIPT), "start"], env=env, capture_output=True, text=True, timeout=600
        )
        assert start.returncode == 0, start.stdout + start.stderr + _logs(run_dir)
        print(f"\nset-up started in {time.monotonic() - started_at:.0f}s")
        url = f"http://127.0.0.1:{port}"
        claim_ids, roster_rows = _issue_through_the_api(url, run_dir / "home" / "outbox")
        print(f"all issued by {time.monotonic() - started_at:.0f}s (roster rows: {roster_rows})")
        _check_exactly_once_and_verifiable(env, app_db, claim_ids, roster_rows, tmp_path)
    except BaseException:
        print(_logs(run_dir))  # the run folder goes with tmp_path; CI keeps only the output
        raise
    finally:
        stop = subprocess.run(
            [str(SCRIPT), "stop"], env=env, capture_output=True, text=True, timeout=300
        )
        left = marked(run_dir)
        for pid in left:  # a failed stop must not leave this machine busy
            os.kill(pid, 9)
        print(f"stopped; whole run {time.monotonic() - started_at:.0f}s")
    assert stop.returncode == 0, stop.stdout + stop.stderr
    assert left == [], f"still running after stop: {left}"


def _issue_through_the_api(url: str, outbox: Path) -> tuple[set[str], int]:
    """Claims filed and confirmed, and a roster issued where the API has rosters: the claims' ids
    and the roster's row count (0 without rosters). The roster goes in first, so that its flow
    run and the claims' run on the workers side by side."""
    with httpx.Client(base_url=url, timeout=60) as http:
        registered = http.post("/api/organisations", json=ORG, headers=ADMIN)
        assert registered.status_code == 201, registered.text
        has_rosters = (
            "/api/organisations/{slug}/rosters" in http.get("/openapi.json").json()["paths"]
        )
        roster = _import_roster(http) if has_rosters else None
        filed = {}
        for n in range(CLAIMS):
            response = http.post("/api/claims", json=claim(n))
            assert response.status_code == 201, response.text
            filed[response.json()["claim_id"]] = response.json()["token"]
        # A worker ran request_attestation for each: the attesters' links are in the outbox.
        wait_until(lambda: len(_attest_tokens(outbox, url)) == CLAIMS, 300, "attester links")
        for token in _attest_tokens(outbox, url):
            decided = http.post(
                f"/api/attestations/{token}",
                json={"action": "confirm", "attester_role": "Volunteer Coordinator"},
            )
            assert decided.status_code == 200, decided.text
        wait_until(lambda: _all_issued(http, filed), 300, "the workers to issue every claim")
        if roster is None:
            return set(filed), 0

        def roster_issued() -> bool:
            claims = http.get(roster, headers=ADMIN).json()["claims"]
            return claims.get("issued") == ROSTER_ROWS

        wait_until(roster_issued, 300, "the workers to issue the roster")
    return set(filed), ROSTER_ROWS


def _attest_tokens(outbox: Path, url: str) -> list[str]:
    found = []
    for path in sorted(outbox.glob("*.eml")):
        message = message_from_bytes(path.read_bytes(), policy=policy.default)
        text = message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
        found += re.findall(rf"{re.escape(url)}/attest/([A-Za-z0-9_-]+)", text)
    return list(dict.fromkeys(found))


def _all_issued(http: httpx.Client, filed: dict[str, str]) -> bool:
    for claim_id, token in filed.items():
        shown = http.get(f"/api/claims/{claim_id}", headers={"Authorization": f"Bearer {token}"})
        if shown.json()["state"] != "issued":
            return False
    return True


def _import_roster(http: httpx.Client) -> str:
    """A CSV imported and issued directly to the people it names; the import's status URL."""
    rows = ["identifier,name,role,start,end,hours"] + [
        f"r{n}@example.net,Roster Person {n},Driver,2015-01,2016-06,{10 + n}"
        for n in range(ROSTER_ROWS)
    ]
    upload = http.post(
        "/api/organisations/riverside/rosters",
        files={"file": ("roster.csv", "\n".join(rows).encode(), "text/csv")},
        data={"issue": "true", "attester_email": "sam@volunteers.example"},
        headers=ADMIN,
    )
    # Stored and handed to a worker (the import_roster flow): its status is at Location.
    assert upload.status_code == 202, upload.text
    return str(upload.headers["location"])


def _check_exactly_once_and_verifiable(
    env: dict[str, str], app_db: str, claim_ids: set[str], roster_rows: int, tmp_path: Path
) -> None:
    url = f"postgresql://{SERVER}/{app_db}"
    per_claim = _sql(url, "select claim_id, count(*) from credential group by claim_id")
    assert all(count == 1 for _, count in per_claim), per_claim
    assert claim_ids <= {claim_id for claim_id, _ in per_claim}
    total = CLAIMS + roster_rows
    assert len(per_claim) == total
    assert _sql(url, "select count(*) from claim where state <> 'issued'") == [(0,)]
    # Every credential verifies with `rpl verify`, against the organisation's keys in the database.
    files = []
    for credential_id, document in _sql(url, "select id, document from credential"):
        path = tmp_path / f"{credential_id.rsplit(':', 1)[-1]}.json"
        path.write_text(document)
        files.append(str(path))
    verify_env = {**env, "RPL_HOME": str(tmp_path / "run" / "home"), "RPL_RUNNER": "inline"}
    verify_env["RPL_PUBLIC_URL"] = f"http://127.0.0.1:{env['RPL_PORT']}"
    result = subprocess.run(
        [str(Path(sys.executable).parent / "rpl"), "verify", "--offline", "--json", *files],
        env=verify_env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    verdicts = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(verdicts) == total and all(v["verified"] for v in verdicts), result.stdout[-3000:]
    assert result.returncode == 0, result.stderr[-3000:]


def _logs(run_dir: Path) -> str:
    return "".join(
        f"\n--- {log.name}\n{log.read_text(errors='replace')[-3000:]}"
        for log in sorted((run_dir / "logs").glob("*.log"))
    )
