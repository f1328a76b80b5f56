"""Migration 0002: the listed attesters of an existing database become attester memberships."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine

from rpl.storage.database import MIGRATIONS, drop_schema, make_engine, migrate
from tests.conftest import database_url


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    built = make_engine(database_url(tmp_path))
    if built.dialect.name == "postgresql":
        drop_schema(built)
        with built.begin() as db:
            db.execute(text("DROP TABLE IF EXISTS attester"))
    yield built
    if built.dialect.name == "postgresql":
        drop_schema(built)
    built.dispose()


def upgrade_to(engine: Engine, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def test_listed_attesters_become_attester_memberships(engine: Engine) -> None:
    upgrade_to(engine, "0001")
    with engine.begin() as db:
        db.execute(
            text(
                "INSERT INTO organisation (id, slug, name, domain, url, created_at) VALUES "
                "('o1', 'st-marys', 'St Mary''s', 'stmarys.example', 'https://stmarys.example', "
                "'2020-01-01 00:00:00')"
            )
        )
        db.execute(
            text(
                "INSERT INTO attester (organisation_id, email, title, created_at) VALUES "
                "('o1', 'Registrar@Outside.example', 'Registrar', '2020-01-02 00:00:00'), "
                "('o1', 'hr@stmarys.example', 'HR Manager', '2020-01-03 00:00:00')"
            )
        )
    migrate(engine)
    assert "attester" not in inspect(engine).get_table_names()
    with engine.connect() as db:
        rows = db.execute(
            text(
                "SELECT organisation_id, email, role, title, added_by, removed_at "
                "FROM membership ORDER BY id"
            )
        ).all()
    assert [tuple(r) for r in rows] == [
        ("o1", "registrar@outside.example", "attester", "Registrar", "system", None),
        ("o1", "hr@stmarys.example", "attester", "HR Manager", "system", None),
    ]
