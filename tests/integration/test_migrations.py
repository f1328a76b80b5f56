"""The migrations own the schema: they build exactly what the models declare, on either database."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from rpl.bootstrap import Container
from rpl.storage.database import METADATA, MIGRATIONS, SchemaError, make_engine, migrate


def test_the_migrations_build_exactly_the_models_schema(container: Container) -> None:
    with container.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, METADATA)
    assert differences == []


def test_migrating_twice_changes_nothing_and_the_audit_chain_starts_at_genesis(
    container: Container,
) -> None:
    migrate(container.engine)
    with container.uow() as tx:
        head = tx.audit.head()
    assert head is not None and head.seq == 0
    with container.engine.connect() as connection:
        versions = connection.execute(text("SELECT version_num FROM alembic_version")).all()
    # Every head of the migration graph (features branch off 0001 until a merge revision).
    script = ScriptDirectory(str(MIGRATIONS))
    assert sorted(v for (v,) in versions) == sorted(script.get_heads())


def test_a_database_from_before_migrations_is_refused_clearly(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE claim (id TEXT PRIMARY KEY)"))
    with pytest.raises(SchemaError, match="created before rpl had migrations"):
        migrate(engine)
    assert "alembic_version" not in inspect(engine).get_table_names()
