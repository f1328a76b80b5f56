"""The `rpl` command as people run it: verify's exit codes and JSON lines, org add, the demo."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from rpl.bootstrap import Container
from rpl.claims import ClaimState
from rpl.cli import app
from rpl.organisations import Organisation
from rpl.services import jobs
from tests.integration.test_issuance import confirmed_claims


@pytest.fixture
def env(container: Container, monkeypatch: pytest.MonkeyPatch) -> Container:
    s = container.settings
    monkeypatch.setenv("RPL_HOME", str(s.home))
    monkeypatch.setenv("RPL_DATABASE_URL", s.database_url)
    monkeypatch.setenv("RPL_PUBLIC_URL", s.public_url)
    return container


def _issued(container: Container, org: Organisation, count: int) -> list[dict[str, Any]]:
    from rpl.organisations import Attester

    with container.uow() as tx:
        tx.orgs.add_attester(
            org.id, Attester("coordinator@stmarys.example", "Coordinator"), container.now()
        )
        tx.commit()
    jobs.issue_batch(container, confirmed_claims(container, org, count))
    with container.uow() as tx:
        ids = tx.claims.ids_in_state(ClaimState.ISSUED)
        return [json.loads(tx.credentials.by_claim(i).document) for i in ids]  # type: ignore[union-attr]


def test_verify_exits_0_1_2_and_prints_one_json_line_per_file(
    env: Container, hospital: Organisation, tmp_path: Path
) -> None:
    [good] = _issued(env, hospital, 1)
    tampered = json.loads(json.dumps(good))
    tampered["credentialSubject"]["role"] = "Director"
    files = {
        "good.json": json.dumps(good),
        "bad.json": json.dumps(tampered),
        "junk.json": "{not json",
        "dup.json": '{"a": 1, "a": 2}',
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    runner = CliRunner()
    ok = runner.invoke(app, ["verify", "--offline", str(tmp_path / "good.json")])
    assert ok.exit_code == 0, ok.output
    assert "VERIFIED" in ok.output
    bad = runner.invoke(
        app, ["verify", "--offline", str(tmp_path / "good.json"), str(tmp_path / "bad.json")]
    )
    assert bad.exit_code == 1
    mixed = runner.invoke(
        app,
        [
            "verify",
            "--offline",
            "--json",
            *(str(tmp_path / n) for n in files),
            str(tmp_path / "missing.json"),
        ],
    )
    assert mixed.exit_code == 2
    lines = [json.loads(line) for line in mixed.output.splitlines()]
    assert [line["verified"] for line in lines] == [True, False, False, False, False]
    assert all({"checks", "errors"} <= set(line) for line in lines)
    assert any("duplicate" in e.lower() for e in lines[3]["errors"])


def test_verify_takes_thousands_of_files_in_one_call(
    env: Container, hospital: Organisation, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    credentials = _issued(env, hospital, 2)
    paths = []
    for n in range(2000):
        path = tmp_path / f"c{n}.json"
        path.write_text(json.dumps(credentials[n % 2]))
        paths.append(str(path))
    result = CliRunner().invoke(app, ["verify", "--offline", "--json", *paths])
    assert result.exit_code == 0, result.output[-2000:]
    assert len(result.output.splitlines()) == 2000


def test_org_add_registers_and_refuses_bad_input(env: Container) -> None:
    runner = CliRunner()
    added = runner.invoke(
        app,
        [
            "org",
            "add",
            "Riverside Food Bank",
            "--domain",
            "riverside.example",
            "--url",
            "https://riverside.example",
        ],
    )
    assert added.exit_code == 0, added.output
    assert "riverside-food-bank\tdid:web:testserver:orgs:riverside-food-bank" in added.output
    again = runner.invoke(
        app,
        [
            "org",
            "add",
            "Riverside Food Bank",
            "--domain",
            "riverside.example",
            "--url",
            "https://riverside.example",
        ],
    )
    assert again.exit_code == 2 and "already exists" in again.output
    bad = runner.invoke(app, ["org", "add", "X", "--domain", "not a domain", "--url", "ftp://x"])
    assert bad.exit_code == 2 and "domain" in bad.output


@pytest.mark.backend_agnostic
def test_demo_runs_the_whole_journey_and_writes_a_verifiable_credential(tmp_path: Path) -> None:
    out = tmp_path / "out"
    env = {k: v for k, v in os.environ.items() if not k.startswith("RPL_")}
    env["PREFECT_HOME"] = str(tmp_path / "prefect")
    env["RPL_HOME"] = str(tmp_path / "verifier-home")  # never the user's own home
    done = subprocess.run(
        [sys.executable, "-m", "rpl.cli", "demo", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "7. Verification: VERIFIED" in done.stdout
    credential = json.loads((out / "credential.json").read_text())
    did = json.loads((out / "did.json").read_text())
    assert credential["issuer"]["id"] == did["id"]
    assert not (out / "status-suspension.json").exists()  # default: revocation entries only
    assert "22" not in credential["name"] and "Registered Nurse" in credential["name"]
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
            str(out / "credential.json"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert check.returncode == 0, check.stdout + check.stderr


def test_a_database_from_before_migrations_is_a_plain_error_not_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sqlite3

    home = tmp_path / "old-home"
    home.mkdir()
    sqlite3.connect(home / "rpl.db").execute("CREATE TABLE claim (id TEXT PRIMARY KEY)")
    monkeypatch.setenv("RPL_HOME", str(home))
    monkeypatch.delenv("RPL_DATABASE_URL", raising=False)
    result = CliRunner().invoke(app, ["org", "list"])
    assert result.exit_code == 2
    assert "created before rpl had migrations" in result.output
    assert "Traceback" not in result.output


def test_the_roster_benchmark_reports_each_phase_and_the_end_to_end_time(tmp_path: Path) -> None:
    """Figures only, not speed: the phases a person waits for add up to `end to end`."""
    result = CliRunner().invoke(
        app,
        ["bench", "roster", "--rows", "400", "--runner", "inline", "--sample", "5"]
        + ["--batch-size", "150", "--home", str(tmp_path)],
    )
    assert result.exit_code == 0, result.output
    assert result.output.startswith(
        "roster benchmark: 400 rows, eddsa-jcs-2022, chunks of 150 rows\n"
    )
    seconds, rows = {}, {}
    for line in result.output.splitlines()[1:]:
        if line.strip().endswith(")"):  # "  phase   1.2 s   345 rows/s (400)"
            phase, rest = line[:25].strip(), line[25:].split()
            seconds[phase], rows[phase] = float(rest[0]), int(rest[-1].strip("()").replace(",", ""))
    waited = ("import+sign", "issue rest (flow)", "verify sample")
    assert set(waited) | {"overall (import+issue)", "end to end"} <= set(seconds)
    assert seconds["end to end"] == pytest.approx(sum(seconds[p] for p in waited), abs=0.2)
    assert rows["verify sample"] == 5 and rows["import+sign"] == 400
    assert rows["end to end"] == 398  # every 200th generated row is rejected
    assert "cpu per row total" in result.output and "peak memory parent" in result.output
    (whole,) = [line.split() for line in result.output.splitlines() if "peak memory all" in line]
    assert float(whole[3]) > 0 and whole[4:6] == ["MiB", "PSS,"] and int(whole[6]) >= 1


class _RecordingRunner:
    """The container's own (inline) runner, with the Prefect runner's `warm_up`, noting calls."""

    def __init__(self, inner: Any, calls: list[str]) -> None:
        self.inner, self.calls = inner, calls

    def warm_up(self) -> None:
        self.calls.append("warm_up")

    def issue_roster(self, org_id: str) -> Any:
        self.calls.append("issue_roster")
        return self.inner.issue_roster(org_id)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_roster_import_with_issue_starts_prefect_before_the_rows_and_issues_them_all(
    env: Container, hospital: Organisation, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Prefect (a server, in the embedded default) starts while the rows import, not after."""
    import rpl.cli
    from rpl.services import roster_pipeline

    calls: list[str] = []
    monkeypatch.setattr(env, "runner", _RecordingRunner(env.runner, calls))
    monkeypatch.setattr(env, "close", lambda: None)  # the fixture closes it
    monkeypatch.setattr(rpl.cli, "_boot", lambda *_, **__: env)
    importing = roster_pipeline.import_and_issue

    def recorded(*args: Any, **kwargs: Any) -> Any:
        calls.append("import")
        return importing(*args, **kwargs)

    monkeypatch.setattr(roster_pipeline, "import_and_issue", recorded)
    path = tmp_path / "roster.csv"
    path.write_text(
        "identifier,name,role,start,end\n"
        "ana@example.org,Ana Lima,Porter,2019-03,2020\n"
        "bo@example.org,Bo Chen,Porter,2018,2019-13\n"
    )
    result = CliRunner().invoke(
        app, ["roster", "import", str(path), "--org", hospital.slug, "--issue"]
    )
    assert result.exit_code == 0, result.output
    assert calls == ["warm_up", "import", "issue_roster"]
    assert "1 added, 0 already there, 1 rejected" in result.output
    assert "issued all" in result.output
    with env.uow() as tx:
        assert tx.claims.ids_in_state(ClaimState.ISSUED) != []
        assert tx.rosters.issuable(hospital.id) == 0
