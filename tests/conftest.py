"""Shared fixtures: a fresh instance per test on SQLite, or on PostgreSQL when RPL_DATABASE_URL says.

`.ci/run` runs the whole suite twice: once on the embedded default (a SQLite file per test) and once
with RPL_DATABASE_URL pointing at PostgreSQL, where each test starts from freshly created tables.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rpl.bootstrap import Container, bootstrap
from rpl.config import Settings
from rpl.organisations import Attester, Organisation
from rpl.services.organisations import RegisterOrganisation, register_organisation

PUBLIC_URL = "http://testserver"


def database_url(home: Path) -> str:
    from tests.postgres_check import for_this_worker

    url = os.environ.get("RPL_DATABASE_URL", "")
    return for_this_worker(url) if url.startswith("postgresql") else f"sqlite:///{home / 'rpl.db'}"


def _reset_postgres(url: str) -> None:
    from rpl.storage.database import drop_schema, make_engine

    engine = make_engine(url)
    try:
        if not _emptied_at_heads(engine):
            drop_schema(engine)  # bootstrap migrates a fresh schema
    finally:
        engine.dispose()


def _emptied_at_heads(engine: Any) -> bool:
    """Empty every table of a schema already at the newest migrations; False if it is not there.

    Migrating from nothing costs about a second per test on PostgreSQL; emptying the tables gives
    the same starting state (what the migrations insert is only the audit chain's genesis) in a
    fraction of it. tests/integration/test_migrations.py still migrates from nothing.
    """
    from alembic.config import Config
    from alembic.script import ScriptDirectory
    from sqlalchemy import inspect, text

    from rpl.audit import GENESIS
    from rpl.storage.database import MIGRATIONS

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    heads = set(ScriptDirectory.from_config(config).get_heads())
    with engine.begin() as connection:
        names = set(inspect(connection).get_table_names())
        if "alembic_version" not in names:
            return False
        found = {v for (v,) in connection.execute(text("SELECT version_num FROM alembic_version"))}
        if found != heads:
            return False
        tables = ", ".join(f'"{name}"' for name in sorted(names - {"alembic_version"}))
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        connection.execute(
            text("INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, :hash)"), {"hash": GENESIS}
        )
    return True


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    home = tmp_path / "home"
    url = database_url(home)
    if url.startswith("postgresql"):
        _reset_postgres(url)
    return Settings(
        home=home,
        database_url=url,
        public_url=PUBLIC_URL,
        runner="inline",
        admin_token="test-admin-token",
    )


@pytest.fixture
def container(settings: Settings) -> Iterator[Container]:
    built = bootstrap(settings, runner="inline", network=False)
    yield built
    built.close()


@pytest.fixture
def hospital(container: Container) -> Organisation:
    return register_organisation(
        container.uow,
        container.master_key,
        RegisterOrganisation(
            name="St Mary's Hospital",
            domain="stmarys.example",
            url="https://stmarys.example",
            slug="st-marys",
            attesters=(Attester("registrar@outside.example", "Registrar"),),
            domain_verified=True,
        ),
        container.now(),
    )


@pytest.fixture
def client(container: Container) -> Iterator[Any]:
    from fastapi.testclient import TestClient

    from rpl.web.app import create_app

    with TestClient(create_app(container), base_url=PUBLIC_URL) as test_client:
        yield test_client


def csrf_from(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "the page has no CSRF token"
    return match.group(1)


def import_only(container: Container, org_slug: str, path: Path, request: Any) -> Any:
    """Read the roster at `path` into claims without signing any (even a direct import's): for
    tests that issue them afterwards, their own way."""
    from rpl.services import jobs, roster

    record = roster.start_import(
        container.uow, org_slug, request, path.stat().st_size, container.now()
    )
    with path.open(newline="", encoding="utf-8") as text:
        return roster.import_rows(
            container.uow, container.mailer, jobs.urls(container), record, text, container.now()
        )


def outbox_links(container: Container, kind: str) -> list[str]:
    """Links of one kind (`attest` or `my`) found in the outbox, oldest first."""
    from email import message_from_bytes, policy

    found = []
    for path in sorted(container.settings.outbox_dir.glob("*.eml")):
        message = message_from_bytes(path.read_bytes(), policy=policy.default)
        text = message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
        found += re.findall(rf"{re.escape(PUBLIC_URL)}(/{kind}/[A-Za-z0-9_-]+)", text)
    return found


def pytest_configure(config: pytest.Config) -> None:
    # One Prefect home for the whole run, outside the user's own ~/.prefect; the ephemeral
    # server it starts is shared by every flow test in this process.
    import tempfile

    os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="rpl-test-prefect-"))
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    # Prefect's INFO lines at interpreter exit go to a stream pytest has already closed.
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # `make test-postgres` runs the suite again on PostgreSQL; tests whose outcome cannot depend on
    # the database (the tamper corpus, the OpenAPI fuzzing, the browser journeys on their own
    # embedded instance, the demos) would only repeat the first pass's minutes.
    if not os.environ.get("RPL_DATABASE_URL", "").startswith("postgresql"):
        return
    skip = pytest.mark.skip(
        reason="does not depend on the database backend: run in the SQLite pass"
    )
    for item in items:
        if item.get_closest_marker("backend_agnostic") or "tests/browser/" in item.nodeid:
            item.add_marker(skip)
