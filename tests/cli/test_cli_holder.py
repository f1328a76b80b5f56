"""`rpl holder export`: the holder's archive written to a file."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from rpl.bootstrap import Container
from rpl.cli import app
from rpl.organisations import Organisation
from tests.credit.support import issued_here


def test_export_writes_the_archive_of_an_account(
    container: Container, hospital: Organisation, tmp_path: Path, monkeypatch: Any
) -> None:
    credential_id = issued_here(container, hospital)
    with container.uow() as tx:
        tx.accounts.ensure("acct-1", "margaret@example.net", container.now())
        tx.commit()
    settings = container.settings
    monkeypatch.setenv("RPL_HOME", str(settings.home))
    monkeypatch.setenv("RPL_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("RPL_PUBLIC_URL", settings.public_url)
    out = tmp_path / "records.zip"
    runner = CliRunner()
    done = runner.invoke(
        app, ["holder", "export", "--email", "Margaret@example.net", "--out", str(out)]
    )
    assert done.exit_code == 0, done.output
    with zipfile.ZipFile(io.BytesIO(out.read_bytes())) as z:
        assert f"credentials/{credential_id}.json" in z.namelist()
        assert "manifest.json" in z.namelist()
    again = runner.invoke(
        app, ["holder", "export", "--email", "margaret@example.net", "--out", str(out)]
    )
    assert again.exit_code == 2 and "exists" in again.output
    nobody = runner.invoke(
        app, ["holder", "export", "--email", "nobody@example.net", "--out", str(tmp_path / "x.zip")]
    )
    assert nobody.exit_code == 2 and "no account" in nobody.output
