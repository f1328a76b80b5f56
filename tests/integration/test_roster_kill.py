"""Exactly-once under kill -9: `rpl roster import … --issue` killed at random points, restarted.

Definitions checked at the end:
- issued exactly once: every valid row has one claim, in state issued, with one credential
  (credential.claim_id is unique) and one CredentialIssued event;
- no orphan rows: no credential without its claim issued, no claim without its roster entry, no
  claim still confirmed (the last run finished the work);
- no status index allocated twice: (organisation, purpose, index) pairs are distinct;
- no index leaked: every allocation row belongs to a stored credential whose signed document
  carries that very index, and every stored credential's index has its allocation row. An index
  allocated to nothing, or held by a credential that does not name it, would be leaked.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from rpl.bootstrap import bootstrap
from rpl.config import Settings
from rpl.roster_bench import write_roster
from rpl.services.organisations import RegisterOrganisation, register_organisation
from rpl.verify import verify_credential

pytestmark = pytest.mark.slow
ROWS = 3000
KILLS = 4


def _env(home: Path, database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RPL_")}
    env |= {
        "RPL_HOME": str(home),
        "RPL_DATABASE_URL": database_url,
        "RPL_RUNNER": "inline",
        "RPL_CRYPTOSUITE": "eddsa-jcs-2022",
        "RPL_ISSUE_BATCH_SIZE": "250",
        "RPL_PUBLIC_URL": "http://testserver",
    }
    return env


def _command(roster: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "rpl.cli",
        "roster",
        "import",
        str(roster),
        "--org",
        "st-marys",
        "--issue",
    ]


def test_killed_imports_and_issuance_finish_with_every_row_issued_exactly_once(
    settings: Settings, tmp_path: Path
) -> None:
    settings = settings.with_(cryptosuite="eddsa-jcs-2022")
    container = bootstrap(settings, runner="inline", network=False)
    register_organisation(
        container.uow,
        container.master_key,
        RegisterOrganisation(
            name="St Mary's",
            domain="stmarys.example",
            url="https://stmarys.example",
            slug="st-marys",
        ),
        container.now(),
    )
    roster = tmp_path / "roster.csv"
    write_roster(roster, ROWS, seed=7, bad_every=0)
    env = _env(settings.home, settings.database_url)
    rng = random.Random(20261123)
    for _ in range(KILLS):
        process = subprocess.Popen(
            _command(roster), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        time.sleep(rng.uniform(2.0, 12.0))
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
    finished = subprocess.run(
        _command(roster), env=env, capture_output=True, text=True, timeout=900
    )
    assert finished.returncode == 0, finished.stderr
    _check_exactly_once(container)
    container.close()


def _scalar(container: object, sql: str) -> int:
    with container.engine.connect() as connection:  # type: ignore[attr-defined]
        return int(connection.execute(text(sql)).scalar_one())


def _check_exactly_once(container: object) -> None:
    count = lambda sql: _scalar(container, sql)  # noqa: E731
    assert count("SELECT count(*) FROM roster_entry") == ROWS
    assert count("SELECT count(*) FROM claim") == ROWS
    assert count("SELECT count(*) FROM claim WHERE state = 'issued'") == ROWS
    assert count("SELECT count(*) FROM credential") == ROWS
    assert count("SELECT count(DISTINCT claim_id) FROM credential") == ROWS
    assert count("SELECT count(*) FROM claim_event WHERE kind = 'CredentialIssued'") == ROWS
    assert (
        count(
            "SELECT count(*) FROM credential c JOIN claim k ON k.id = c.claim_id"
            " WHERE k.state = 'issued' AND k.credential_id = c.id"
        )
        == ROWS
    )
    assert (
        count("SELECT count(*) FROM claim WHERE id NOT IN (SELECT claim_id FROM roster_entry)") == 0
    )
    # Status indexes: one per credential, never twice, none held by nothing.
    assert count("SELECT count(*) FROM status_allocation") == ROWS
    assert (
        count(
            "SELECT count(*) FROM (SELECT DISTINCT organisation_id, purpose, status_index"
            " FROM status_allocation) AS d"
        )
        == ROWS
    )
    _check_indexes_match_documents(container)
    with container.uow() as tx:  # type: ignore[attr-defined]
        assert tx.audit.verify().intact


def _check_indexes_match_documents(container: object) -> None:
    with container.engine.connect() as connection:  # type: ignore[attr-defined]
        rows = connection.execute(
            text(
                "SELECT a.status_index, c.document FROM status_allocation a"
                " JOIN credential c ON c.id = a.credential_id"
            )
        ).all()
    assert len(rows) == ROWS
    sample = random.Random(1).sample(rows, 25)
    for index, document in rows:
        signed = json.loads(document)["credentialStatus"]["statusListIndex"]
        assert int(signed) == index
    for _, document in sample:
        result = verify_credential(
            document,
            container.resolver(),  # type: ignore[attr-defined]
            container.now(),  # type: ignore[attr-defined]
            status_lists=container.status_lists(),  # type: ignore[attr-defined]
        )
        assert result.verified, result
