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


@pytest.mark.backend_agnostic
def test_a_new_sqlite_database_has_8_kib_pages_and_an_old_one_keeps_its_own(
    tmp_path: Path,
) -> None:
    """Two credential rows to a page (see `SQLITE_PAGE_SIZE`); a database made before keeps
    its page size (SQLite cannot change it in WAL mode), and works as before."""
    import sqlite3

    from rpl.storage.database import SQLITE_PAGE_SIZE

    new = make_engine(f"sqlite:///{tmp_path / 'new.db'}")
    migrate(new)
    old_path = tmp_path / "old.db"
    made = sqlite3.connect(old_path)
    made.execute("PRAGMA page_size=4096")
    made.execute("PRAGMA journal_mode=WAL")
    made.close()
    old = make_engine(f"sqlite:///{old_path}")
    migrate(old)
    sizes = {}
    for name, engine in (("new", new), ("old", old)):
        with engine.connect() as connection:
            sizes[name] = connection.execute(text("PRAGMA page_size")).scalar()
            assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert connection.execute(text("SELECT count(*) FROM claim")).scalar() == 0
        engine.dispose()
    assert sizes == {"new": SQLITE_PAGE_SIZE, "old": 4096}
